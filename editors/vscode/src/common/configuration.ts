/**
 * Settings for a running server: the answer to its workspace/configuration pull, and what a
 * settings change needs. The server applies its own settings live (it restarts its engine when
 * the model or the index folder change), so only the settings that choose the process itself
 * need a new process.
 */
import { CancellationToken, ConfigurationParams, ConfigurationRequest, ResponseError } from "vscode-languageclient/node";
import { CONFIGURATION_SECTION, InitializationOptions } from "./protocol";

export type SettingsChange = "restart" | "notify" | "none";

// What `python -m findcode serve` runs with; a running server cannot change them.
const PROCESS_SETTINGS = ["findcode.serverCommand", "findcode.interpreter", "python.defaultInterpreterPath"];

export function settingsChange(event: { affectsConfiguration(section: string): boolean }): SettingsChange {
  if (PROCESS_SETTINGS.some((section) => event.affectsConfiguration(section))) {
    return "restart";
  }
  return event.affectsConfiguration(CONFIGURATION_SECTION) ? "notify" : "none";
}

/**
 * The findcode section as the server reads it (paths expanded, defaults as null), the way the
 * initializationOptions carry it; VS Code's raw section would undo the expansion. Any other
 * section is answered by the client as usual.
 */
export async function answerConfiguration(
  params: ConfigurationParams,
  token: CancellationToken,
  next: ConfigurationRequest.HandlerSignature,
  section: () => InitializationOptions,
): Promise<unknown[] | ResponseError> {
  const others = params.items.some((item) => item.section !== CONFIGURATION_SECTION) ? await next(params, token) : [];
  if (others instanceof ResponseError) {
    return others;
  }
  return params.items.map((item, i) =>
    item.section === CONFIGURATION_SECTION ? section() : (others as unknown[])[i] ?? null,
  );
}

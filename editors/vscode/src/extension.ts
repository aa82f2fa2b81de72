/**
 * Activation only: create the log, the status item and the server manager, register the
 * commands, and restart the server when its settings or the selected Python change.
 * Everything else lives in src/common/, one concern a file.
 */
import * as vscode from "vscode";
import { registerCommands } from "./common/commands";
import { onInterpreterChange } from "./common/python";
import { debounce } from "./common/restart";
import { ServerManager } from "./common/server";
import { affectsServer } from "./common/settings";
import { StatusItem } from "./common/statusItem";

let server: ServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel("findcode", { log: true });
  const status = new StatusItem();
  server = new ServerManager(log, status);
  const manager = server;
  // Settings are often edited a key at a time; wait for a pause, then restart once.
  const restartSoon = debounce(() => void manager.restart(), 500);
  context.subscriptions.push(
    log,
    status,
    ...registerCommands(manager, log),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (affectsServer(event)) {
        restartSoon();
      }
    }),
    { dispose: () => { restartSoon.cancel(); } },
    await onInterpreterChange(restartSoon),
  );
  // Not awaited: commands work (and say the server is starting) while the server starts.
  void manager.restart();
}

export async function deactivate(): Promise<void> {
  await server?.dispose();
  server = undefined;
}

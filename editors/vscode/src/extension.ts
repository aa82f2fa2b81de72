/**
 * Activation only: create the log, the status item and the server manager, register the
 * commands, pass changed settings on to the server, and restart it when the settings that
 * choose its process or the selected Python change.
 * Everything else lives in src/common/, one concern a file.
 */
import * as vscode from "vscode";
import { registerCommands } from "./common/commands";
import { settingsChange } from "./common/configuration";
import { onInterpreterChange } from "./common/python";
import { debounce } from "./common/restart";
import { ServerManager } from "./common/server";
import { StatusItem } from "./common/statusItem";

let server: ServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel("findcode", { log: true });
  const status = new StatusItem();
  server = new ServerManager(log, status);
  const manager = server;
  // Settings are often edited a key at a time; wait for a pause, then act once.
  const restartSoon = debounce(() => void manager.restartForChange(), 500);
  const pushSoon = debounce(() => void manager.pushSettings(), 500);
  context.subscriptions.push(
    log,
    status,
    ...registerCommands(manager, log),
    vscode.workspace.onDidChangeConfiguration((event) => {
      const change = settingsChange(event);
      if (change === "restart") {
        restartSoon();
      } else if (change === "notify") {
        pushSoon();
      }
    }),
    { dispose: () => { restartSoon.cancel(); pushSoon.cancel(); } },
    await onInterpreterChange(restartSoon),
  );
  // Not awaited: commands work (and say the server is starting) while the server starts.
  void manager.restart();
}

export async function deactivate(): Promise<void> {
  await server?.dispose();
  server = undefined;
}

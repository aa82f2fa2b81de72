/**
 * The extension's commands (package.json "contributes.commands"). Their ids differ from the
 * server's own executeCommand ids on purpose: see protocol.ts.
 */
import * as vscode from "vscode";
import { errorText } from "./notify";
import { Status } from "./protocol";
import { findByMeaning, findSimilar, workspaceRoots, PickContext } from "./searchPick";
import { ServerManager } from "./server";
import { readSettings } from "./settings";

export const COMMAND_IDS = {
  findByMeaning: "findcode.findByMeaning",
  findSimilar: "findcode.findSimilar",
  reindex: "findcode.reindexWorkspace",
  showStatus: "findcode.showStatus",
  showLog: "findcode.showLog",
  restart: "findcode.restartServer",
  pause: "findcode.pauseIndexing",
  resume: "findcode.resumeIndexing",
} as const;

/** Why indexing is paused, in words; "" when it is not. */
export function pausedText(status: Status): string {
  if (status.paused === "user") return "paused by you";
  if (status.paused === "battery") return "paused on battery";
  return status.state === "paused" ? "paused" : "";
}

export function statusReport(status: Status): string {
  const lines = [
    `State: ${status.state}`,
    `Roots: ${status.roots.join(", ") || "none"}`,
    `Files: ${status.files.toLocaleString("en-US")}, symbols: ${status.symbols.toLocaleString("en-US")}, vectors: ${status.vectors.toLocaleString("en-US")}`,
    `Pending: ${status.pending.toLocaleString("en-US")}; embedded since start: ${status.embedded.toLocaleString("en-US")}`,
    `Model: ${status.model.name} (${status.model.dims} dims, ${status.model.quantization}) at ${status.model.path}`,
    `Index: ${status.indexPaths.join(", ")}`,
  ];
  if (pausedText(status) !== "") {
    lines.push(`Indexing ${pausedText(status)} (findcode: Resume Indexing goes on)`);
  }
  if (status.waiting) {
    lines.push(`Waiting: ${status.waiting}`);
  }
  if (status.switching) {
    lines.push(`Switching models: ${status.switching}`);
  }
  if (status.lastError !== null && status.lastError !== "") {
    lines.push(`Last error: ${status.lastError}`);
  }
  return lines.join("\n");
}

// A one-line selection is most likely a name or phrase to search for; longer ones are code.
function selectedPhrase(): string {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined || editor.selection.isEmpty || !editor.selection.isSingleLine) {
    return "";
  }
  return editor.document.getText(editor.selection).trim().slice(0, 200);
}

export function registerCommands(server: ServerManager, log: vscode.LogOutputChannel): vscode.Disposable[] {
  const context: PickContext = {
    api: () => server.api,
    notRunning: () => { server.explainNotRunning(); },
    settings: readSettings,
    roots: workspaceRoots,
  };
  let lastQuery = "";
  const running = (): NonNullable<typeof server.api> | undefined => {
    const api = server.api;
    if (api === undefined) {
      server.explainNotRunning();
    }
    return api;
  };
  return [
    vscode.commands.registerCommand(COMMAND_IDS.findByMeaning, async () => {
      // A server that is starting answers soon, so the list opens; a failed one will not.
      if (server.failed) {
        server.explainNotRunning();
        return;
      }
      // Reopening the list continues the last search, unless a phrase is selected.
      lastQuery = await findByMeaning(context, selectedPhrase() || lastQuery);
    }),
    vscode.commands.registerCommand(COMMAND_IDS.findSimilar, async () => {
      const editor = vscode.window.activeTextEditor;
      if (editor === undefined) {
        void vscode.window.showInformationMessage("findcode: open a file and put the cursor in a function first.");
        return;
      }
      await findSimilar(context, editor);
    }),
    vscode.commands.registerCommand(COMMAND_IDS.reindex, async () => {
      const api = running();
      if (api === undefined) return;
      try {
        await api.reindex();
        void vscode.window.showInformationMessage("findcode: re-indexing the workspace from scratch.");
        void server.refreshStatus();
      } catch (error) {
        void vscode.window.showErrorMessage(`findcode: re-index failed: ${errorText(error)}`);
      }
    }),
    vscode.commands.registerCommand(COMMAND_IDS.showStatus, async () => {
      const api = running();
      if (api === undefined) return;
      try {
        const status = await api.status();
        log.info(`Index status:\n${statusReport(status)}`);
        const choice = await vscode.window.showInformationMessage(
          `findcode: ${status.symbols.toLocaleString("en-US")} symbols in ${status.files.toLocaleString("en-US")} files (${status.state})`,
          { modal: true, detail: statusReport(status) },
          "Show Log",
        );
        if (choice === "Show Log") log.show(true);
      } catch (error) {
        void vscode.window.showErrorMessage(`findcode: status failed: ${errorText(error)}`);
      }
    }),
    ...([["pause", "paused"], ["resume", "resumed"]] as const).map(([verb, done]) =>
      vscode.commands.registerCommand(COMMAND_IDS[verb], async () => {
        const api = running();
        if (api === undefined) return;
        try {
          const status = await api[verb]();
          log.info(`indexing ${done}: ${status.state}`);
          void server.refreshStatus(); // and the progress bar's end or begin follows
        } catch (error) {
          void vscode.window.showErrorMessage(`findcode: ${verb} failed: ${errorText(error)}`);
        }
      }),
    ),
    vscode.commands.registerCommand(COMMAND_IDS.showLog, () => { log.show(true); }),
    vscode.commands.registerCommand(COMMAND_IDS.restart, () => server.restart()),
  ];
}

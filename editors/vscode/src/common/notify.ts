/**
 * Telling a person why findcode is not working, with buttons that lead to the fix, instead of
 * the client's generic "connection closed" and a stack trace.
 */
import * as vscode from "vscode";
import { hasPythonExtension } from "./python";

const SHOW_LOG = "Show Log";
const OPEN_SETTINGS = "Open Settings";
const SELECT_INTERPRETER = "Select Interpreter";
const RESTART = "Restart Server";

export async function notifyServerProblem(
  message: string,
  log: vscode.OutputChannel,
  restart: () => Promise<void>,
): Promise<void> {
  const actions = [SHOW_LOG, OPEN_SETTINGS, ...(hasPythonExtension() ? [SELECT_INTERPRETER] : []), RESTART];
  const choice = await vscode.window.showErrorMessage(`findcode: ${message}`, ...actions);
  switch (choice) {
    case SHOW_LOG:
      log.show(true);
      break;
    case OPEN_SETTINGS:
      await vscode.commands.executeCommand("workbench.action.openSettings", "findcode.");
      break;
    case SELECT_INTERPRETER:
      // Picking an interpreter fires ms-python's change event, which restarts the server.
      await vscode.commands.executeCommand("python.setInterpreter");
      break;
    case RESTART:
      await restart();
      break;
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

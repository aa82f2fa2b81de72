/**
 * Telling a person why findcode is not working, with buttons that lead to the fix, instead of
 * the client's generic "connection closed" and a stack trace.
 */
import * as vscode from "vscode";
import { chooseServer } from "./chooseServer";
import { hasPythonExtension } from "./python";

/** "launch": nothing can start the server (its buttons find one); "run": it started and failed. */
export type Cause = "launch" | "run";

const CHOOSE = "Choose Python or findcode…";
const SELECT_INTERPRETER = "Select Interpreter";
const SHOW_LOG = "Show Log";
const OPEN_SETTINGS = "Open Settings";
const RESTART = "Restart Server";

export async function notifyServerProblem(
  message: string,
  cause: Cause,
  log: Pick<vscode.OutputChannel, "show">,
  restart: () => Promise<void>,
): Promise<void> {
  const actions =
    cause === "launch"
      ? [CHOOSE, ...(hasPythonExtension() ? [SELECT_INTERPRETER] : []), SHOW_LOG]
      : [SHOW_LOG, OPEN_SETTINGS, RESTART];
  const choice = await vscode.window.showErrorMessage(`findcode: ${message}`, ...actions);
  switch (choice) {
    case CHOOSE:
      // The new setting restarts the server.
      await chooseServer();
      break;
    case SELECT_INTERPRETER:
      // Picking an interpreter fires ms-python's change event, which restarts the server.
      await vscode.commands.executeCommand("python.setInterpreter");
      break;
    case SHOW_LOG:
      log.show(true);
      break;
    case OPEN_SETTINGS:
      await vscode.commands.executeCommand("workbench.action.openSettings", "findcode.");
      break;
    case RESTART:
      await restart();
      break;
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

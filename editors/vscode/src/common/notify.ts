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
  // With no server found: find one, or restart after the pip install that the message gives.
  const actions =
    cause === "launch"
      ? [CHOOSE, ...(hasPythonExtension() ? [SELECT_INTERPRETER] : []), RESTART, SHOW_LOG]
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

/**
 * One notification per cause. A problem found again (by an automatic restart, or a crash that
 * ends the same way) is not shown again; a command that needs the server shows the same
 * notification again, in the same words, which VS Code puts in place of the earlier one.
 */
export class ProblemNotice {
  private current: { message: string; cause: Cause } | undefined;

  constructor(private readonly present: (message: string, cause: Cause) => Promise<void>) {}

  get active(): boolean {
    return this.current !== undefined;
  }

  report(message: string, cause: Cause): void {
    if (this.current?.message === message) {
      return;
    }
    this.current = { message, cause };
    void this.present(message, cause);
  }

  /** Shows the current problem again; false when there is none. */
  remind(): boolean {
    if (this.current === undefined) {
      return false;
    }
    void this.present(this.current.message, this.current.cause);
    return true;
  }

  /** The server runs, or a person asked for a fresh start: the next problem is news. */
  clear(): void {
    this.current = undefined;
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The status bar entry and the language status item ({} in the status bar), both showing the
 * same view: indexing progress while the server reports work-done progress, the symbol count
 * when idle, and errors that open the log when clicked.
 */
import * as vscode from "vscode";
import { Phase, statusView } from "./statusModel";

export class StatusItem implements vscode.Disposable {
  private readonly bar: vscode.StatusBarItem;
  private readonly language: vscode.LanguageStatusItem;
  private phase: Phase = { kind: "stopped" };

  constructor() {
    this.bar = vscode.window.createStatusBarItem("findcode.status", vscode.StatusBarAlignment.Left, 10);
    this.bar.name = "findcode";
    this.language = vscode.languages.createLanguageStatusItem("findcode.status", { scheme: "file" });
    this.language.name = "findcode";
    this.show(this.phase);
    this.bar.show();
  }

  get current(): Phase {
    return this.phase;
  }

  show(phase: Phase): void {
    this.phase = phase;
    const view = statusView(phase);
    this.bar.text = view.text;
    this.bar.tooltip = view.detail;
    this.bar.command = view.command.id;
    this.bar.backgroundColor =
      view.severity === "error" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.language.text = view.text;
    this.language.detail = view.detail;
    this.language.busy = view.busy;
    this.language.command = { command: view.command.id, title: view.command.title };
    this.language.severity =
      view.severity === "error"
        ? vscode.LanguageStatusSeverity.Error
        : view.severity === "warning"
          ? vscode.LanguageStatusSeverity.Warning
          : vscode.LanguageStatusSeverity.Information;
  }

  dispose(): void {
    this.bar.dispose();
    this.language.dispose();
  }
}

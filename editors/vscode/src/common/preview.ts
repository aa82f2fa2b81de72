/**
 * Shows a result's location while it is highlighted in a list, without taking focus from the
 * list, and puts the user back where they were if they close the list without choosing.
 */
import * as vscode from "vscode";
import { Range, SearchResult } from "./protocol";

export function toRange(range: Range): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

function toSelection(range: Range): vscode.Selection {
  // The cursor goes to the start of the symbol; its whole range would select pages of code.
  return new vscode.Selection(range.start.line, range.start.character, range.start.line, range.start.character);
}

export async function openResult(result: SearchResult): Promise<void> {
  const editor = await vscode.window.showTextDocument(vscode.Uri.parse(result.uri), {
    preview: false,
    selection: toSelection(result.range),
  });
  editor.revealRange(toRange(result.range), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

export class Preview {
  private readonly original = vscode.window.activeTextEditor;
  private readonly originalSelection = this.original?.selection;
  private sequence = 0;
  private moved = false;

  /** Previews `result`; a slower earlier preview that finishes late is skipped. */
  async show(result: SearchResult): Promise<void> {
    const sequence = ++this.sequence;
    const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(result.uri));
    if (sequence !== this.sequence) {
      return;
    }
    this.moved = true;
    const editor = await vscode.window.showTextDocument(document, {
      preview: true,
      preserveFocus: true,
      selection: toSelection(result.range),
    });
    editor.revealRange(toRange(result.range), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  async restore(): Promise<void> {
    this.sequence++;
    if (!this.moved || this.original === undefined) {
      return;
    }
    await vscode.window.showTextDocument(this.original.document, {
      viewColumn: this.original.viewColumn,
      selection: this.originalSelection,
    });
  }
}

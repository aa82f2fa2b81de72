/**
 * Shows a result's location while it is highlighted in a list, without taking focus from the
 * list, and puts the user back where they were if they close the list without choosing, the
 * way Quick Open does: the editors it opened to preview are closed again, those the user had
 * open stay.
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

// An editor that reports no visible lines yet is taken to show this many.
const DEFAULT_VISIBLE_LINES = 30;
// Where the previewed line goes, as a share of the editor's height. VS Code's result list is at
// most 40% of the window high, below the title bar and above it its own title and input box:
// a full list covers the top 44-47% of the editor (1400 to 900 pixels high). Just below that,
// the line is in sight, and so is the code after it; what is above it is under the list anyway.
const PREVIEW_AT = 0.55;

/**
 * The line to put at the top of the editor so that `line` is drawn just below a full result
 * list (rather than under it, wherever it was before).
 */
export function previewTop(line: number, visibleLines: number): number {
  const lines = visibleLines > 0 ? visibleLines : DEFAULT_VISIBLE_LINES;
  return Math.max(0, line - Math.round(lines * PREVIEW_AT));
}

function visibleLineCount(editor: vscode.TextEditor): number {
  const [range] = editor.visibleRanges;
  return range === undefined ? 0 : range.end.line - range.start.line + 1;
}

function textTabs(): { tab: vscode.Tab; uri: string }[] {
  return vscode.window.tabGroups.all.flatMap((group) =>
    group.tabs.flatMap((tab) => (tab.input instanceof vscode.TabInputText ? [{ tab, uri: tab.input.uri.toString() }] : [])),
  );
}

export class Preview {
  private readonly original = vscode.window.activeTextEditor;
  private readonly originalSelection = this.original?.selection;
  // The files the user had open: a preview of one of them must not close it.
  private readonly openBefore = new Set(textTabs().map(({ uri }) => uri));
  private readonly previewed = new Set<string>();
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
    this.previewed.add(document.uri.toString());
    const editor = await vscode.window.showTextDocument(document, {
      preview: true,
      preserveFocus: true,
      selection: toSelection(result.range),
    });
    const top = previewTop(result.range.start.line, visibleLineCount(editor));
    editor.revealRange(new vscode.Range(top, 0, top, 0), vscode.TextEditorRevealType.AtTop);
  }

  /** The list closed without a choice: close what it opened, go back to the original editor. */
  async restore(): Promise<void> {
    this.sequence++;
    await this.closePreviews();
    if (!this.moved || this.original === undefined) {
      return;
    }
    await vscode.window.showTextDocument(this.original.document, {
      viewColumn: this.original.viewColumn,
      selection: this.originalSelection,
    });
  }

  /**
   * A result was chosen: previews of other files close (with preview editors turned off in the
   * settings, every highlighted result opened a tab of its own), the chosen one stays.
   */
  async accept(result: SearchResult): Promise<void> {
    this.sequence++;
    await this.closePreviews(vscode.Uri.parse(result.uri).toString());
  }

  private async closePreviews(keep?: string): Promise<void> {
    const tabs = textTabs()
      .filter(({ tab, uri }) => this.previewed.has(uri) && !this.openBefore.has(uri) && uri !== keep && !tab.isDirty)
      .map(({ tab }) => tab);
    if (tabs.length > 0) {
      await vscode.window.tabGroups.close(tabs, true);
    }
  }
}

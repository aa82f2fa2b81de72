/**
 * The result lists: "Find Code by Meaning" (asks the server as the user types) and
 * "Find Similar Code" (one answer for the code at the cursor). Both preview the highlighted
 * result and open the chosen one.
 */
import * as vscode from "vscode";
import { FindcodeApi } from "./api";
import { formatRow, groupResults, indexNote, relativePath, Root } from "./format";
import { LiveQuery } from "./liveQuery";
import { errorText } from "./notify";
import { openResult, Preview } from "./preview";
import { closeMatchCount, SearchResponse, SearchResult } from "./protocol";
import { searchParams, similarParams } from "./requests";
import { FindcodeSettings } from "./settings";

/** A row of the list; separators have no result. */
export interface ResultItem extends vscode.QuickPickItem {
  result?: SearchResult;
}

export interface PickContext {
  /** The running server, or undefined when it is not running. */
  api(): FindcodeApi | undefined;
  /** Says why the server is not running, where that was said before (no new wording). */
  notRunning(): void;
  settings(): FindcodeSettings;
  roots(): Root[];
}

const NOT_RUNNING = "The findcode server is not running; see findcode: Show Log.";

export function workspaceRoots(): Root[] {
  return (vscode.workspace.workspaceFolders ?? []).map((folder) => ({
    name: folder.name,
    uri: folder.uri.toString(),
  }));
}

export const WEAK_MATCHES = "weak matches";
export const NO_CLOSE_MATCH = "no close match";

/**
 * The rows in the server's order, except that weak matches go below a separator (with a note
 * on each row): they are shown, but not as sure as the close ones.
 */
function toItems(response: SearchResponse, roots: Root[], query = ""): ResultItem[] {
  // alwaysShow: the QuickPick would otherwise hide every result whose label does not contain
  // the typed words, which is most of them: they match by meaning, not by text.
  const rows = groupResults(response.results);
  const item = (row: (typeof rows)[number]): ResultItem => ({ ...formatRow(row, roots, query), alwaysShow: true, result: row.result });
  const close = rows.filter((row) => !row.weak).map(item);
  const weak = rows.filter((row) => row.weak).map(item);
  if (weak.length === 0) {
    return close;
  }
  const label = closeMatchCount(response) === 0 ? `${NO_CLOSE_MATCH}: ${WEAK_MATCHES} only` : WEAK_MATCHES;
  return [...close, { label, kind: vscode.QuickPickItemKind.Separator, alwaysShow: true }, ...weak];
}

/**
 * Keeps the server's order, and the separators, while text is in the box. VS Code's QuickPick
 * otherwise moves the rows whose label matches the typed words to the top, and drops the
 * separators, whenever it filters. `sortByLabel` is not in the typings of the oldest VS Code
 * the extension supports; where setting it fails, that VS Code re-sorts.
 */
function keepOrder(pick: vscode.QuickPick<ResultItem>): void {
  try {
    (pick as vscode.QuickPick<ResultItem> & { sortByLabel: boolean }).sortByLabel = false;
  } catch {
    // an older VS Code that guards the property
  }
}

function summary(response: SearchResponse): string {
  const n = response.results.length;
  const close = closeMatchCount(response);
  const plural = (count: number, what: string): string => `${count} ${what}${count === 1 ? "" : "es"}`;
  const found =
    n === 0
      ? "No results"
      : close === 0
        ? `No close match, ${plural(n, "weak match")}`
        : close < n
          ? `${plural(close, "close match")}, ${n - close} weak`
          : `${n} result${n === 1 ? "" : "s"}`;
  const note = indexNote(response.index);
  return `${found} in ${Math.round(response.tookMs)} ms${note === undefined ? "" : ` · ${note}`}`;
}

/** Wires preview-on-highlight, open-on-accept and restore-on-cancel; resolves when closed. */
function runPick(pick: vscode.QuickPick<ResultItem>, onHide: () => void): Promise<void> {
  const preview = new Preview();
  let accepted = false;
  return new Promise((resolve) => {
    pick.onDidChangeActive((items) => {
      const result = items[0]?.result;
      if (result !== undefined) {
        void preview.show(result).catch(() => undefined);
      }
    });
    pick.onDidAccept(() => {
      const result = (pick.selectedItems[0] ?? pick.activeItems[0])?.result;
      if (result === undefined) {
        return;
      }
      accepted = true;
      pick.hide();
      void openResult(result)
        .then(() => preview.accept(result))
        .catch(() => undefined);
    });
    pick.onDidHide(() => {
      onHide();
      if (!accepted) {
        void preview.restore().catch(() => undefined);
      }
      pick.dispose();
      resolve();
    });
    pick.show();
  });
}

/** Resolves with what was typed when the list closed. */
export async function findByMeaning(context: PickContext, initialQuery: string, delayMs = 150): Promise<string> {
  const pick = vscode.window.createQuickPick<ResultItem>();
  const title = "findcode: Find Code by Meaning";
  pick.title = title;
  pick.placeholder = 'Describe what the code does, e.g. "retry an HTTP request with backoff"';
  pick.matchOnDescription = false;
  pick.matchOnDetail = false;
  keepOrder(pick);
  const live = new LiveQuery<SearchResponse>(
    {
      fetch: (query, signal) => {
        const api = context.api();
        return api === undefined
          ? Promise.reject(new Error(NOT_RUNNING))
          : api.search(searchParams(query, context.settings()), signal);
      },
      onResult: (query, response) => {
        const items = toItems(response, context.roots(), query);
        pick.items = items;
        // Enter opens the best result of this answer. While the words were typed, VS Code may
        // have moved the highlight to a row of the previous answer whose label matched them,
        // and it can keep a highlight at that place when the rows change.
        const best = items.find((item) => item.result !== undefined);
        pick.activeItems = best === undefined ? [] : [best];
        pick.title = `${title} — ${summary(response)}`;
      },
      onError: (_query, error) => {
        pick.items = [];
        pick.title = `${title} — ${errorText(error)}`;
      },
      onEmpty: () => {
        pick.items = [];
        pick.title = title;
      },
      onBusy: (busy) => {
        pick.busy = busy;
      },
    },
    delayMs,
  );
  pick.onDidChangeValue((value) => { live.update(value); });
  pick.value = initialQuery;
  const closed = runPick(pick, () => { live.dispose(); });
  if (initialQuery.trim() !== "") {
    live.flush(initialQuery);
  }
  let last = initialQuery;
  pick.onDidChangeValue((value) => {
    last = value;
  });
  await closed;
  return last;
}

export async function findSimilar(context: PickContext, editor: vscode.TextEditor): Promise<void> {
  const api = context.api();
  if (api === undefined) {
    context.notRunning();
    return;
  }
  const uri = editor.document.uri.toString();
  const params = similarParams(uri, editor.selection, context.settings().resultLimit);
  let response: SearchResponse;
  try {
    response = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: "findcode: finding similar code" },
      () => api.similar(params),
    );
  } catch (error) {
    void vscode.window.showWarningMessage(`findcode: ${errorText(error)}`);
    return;
  }
  const where = `${relativePath(uri, context.roots())}:${editor.selection.start.line + 1}`;
  if (response.results.length === 0) {
    const note = indexNote(response.index);
    void vscode.window.showInformationMessage(
      `findcode: no code similar to ${where} was found${note === undefined ? "" : ` (${note})`}.`,
    );
    return;
  }
  const pick = vscode.window.createQuickPick<ResultItem>();
  pick.title = `findcode: Code similar to ${where} — ${summary(response)}`;
  pick.placeholder = "Filter the results by name or path";
  // The path starts the detail line.
  pick.matchOnDetail = true;
  keepOrder(pick);
  pick.items = toItems(response, context.roots()).map((item) => ({ ...item, alwaysShow: false }));
  await runPick(pick, () => undefined);
}

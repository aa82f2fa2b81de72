// The result lists against a fake server: typing, stale answers, preview, open, restore, similar.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FakeQuickPick, recorded, reset, Selection, TabInputText, Uri, vscode } from "./support/vscodeMock";
import { FindcodeApi } from "../src/common/api";
import { SearchParams, SearchResponse, SearchResult, SimilarParams } from "../src/common/protocol";
import { previewTop } from "../src/common/preview";
import { findByMeaning, findSimilar, PickContext, ResultItem } from "../src/common/searchPick";
import { DEFAULTS } from "../src/common/settings";

const hit = (name: string, file: string, line: number): SearchResult => ({
  uri: `file:///w/${file}`,
  range: { start: { line, character: 0 }, end: { line: line + 3, character: 0 } },
  name,
  qualifiedName: name,
  kind: "function",
  language: "python",
  score: 0.5,
  snippet: `def ${name}():`,
});

const answer = (results: SearchResult[], state: "idle" | "indexing" = "idle"): SearchResponse => ({
  results,
  index: { state, indexed: 3, total: state === "idle" ? 3 : 9 },
  tookMs: 4.2,
});

/** A server whose answers the test releases by hand, in any order. */
class FakeServer implements FindcodeApi {
  searches: { params: SearchParams; signal: AbortSignal | undefined; reply(r: SearchResponse): void }[] = [];
  similarCalls: SimilarParams[] = [];
  similarAnswer: SearchResponse | Error = answer([]);
  search(params: SearchParams, signal?: AbortSignal): Promise<SearchResponse> {
    return new Promise((resolve) => this.searches.push({ params, signal, reply: resolve }));
  }
  similar(params: SimilarParams): Promise<SearchResponse> {
    this.similarCalls.push(params);
    const { similarAnswer } = this;
    return similarAnswer instanceof Error ? Promise.reject(similarAnswer) : Promise.resolve(similarAnswer);
  }
  status(): never {
    throw new Error("not used");
  }
  reindex(): never {
    throw new Error("not used");
  }
  pause(): never {
    throw new Error("not used");
  }
  resume(): never {
    throw new Error("not used");
  }
}

function context(server: FindcodeApi | undefined): PickContext {
  return {
    api: () => server,
    notRunning: () => {
      recorded.log.push("notRunning");
    },
    settings: () => ({ ...DEFAULTS, resultLimit: 7, searchMode: "semantic" }),
    roots: () => [{ name: "w", uri: "file:///w" }],
  };
}

const lastPick = (): FakeQuickPick<ResultItem> => recorded.quickPicks.at(-1) as FakeQuickPick<ResultItem>;

describe("Find Code by Meaning", () => {
  beforeEach(reset);

  it("queries as the user types, shows formatted results, ignores the stale answer", async () => {
    const server = new FakeServer();
    const closed = findByMeaning(context(server), "", 10);
    const pick = lastPick();
    pick.type("retry");
    await sleep(30);
    pick.type("retry with backoff");
    assert.equal(server.searches[0]?.signal?.aborted, true, "the superseded request is cancelled");
    await sleep(30);
    assert.deepEqual(server.searches[1]?.params, { query: "retry with backoff", limit: 7, mode: "semantic" });
    assert.equal(pick.busy, true);
    server.searches[1]?.reply(answer([hit("fetch_with_retry", "net/http.py", 9)], "indexing"));
    server.searches[0]?.reply(answer([hit("stale", "old.py", 1)]));
    await sleep(1);
    assert.equal(pick.busy, false);
    assert.deepEqual(
      pick.items.map(({ label, description, detail, alwaysShow }) => ({ label, description, detail, alwaysShow })),
      [
        {
          label: "$(symbol-function) fetch_with_retry",
          description: "",
          detail: "net/http.py:10 — def fetch_with_retry():",
          alwaysShow: true,
        },
      ],
    );
    assert.match(pick.title ?? "", /1 result in 4 ms · Indexing: 3 of 9 files/);
    pick.hide();
    assert.equal(await closed, "retry with backoff", "the query is kept for next time");
    assert.equal(pick.disposed, true);
  });

  it("previews the highlighted result without focus and opens the accepted one", async () => {
    const server = new FakeServer();
    const closed = findByMeaning(context(server), "load config", 10);
    const pick = lastPick();
    assert.equal(server.searches.length, 1, "an initial query is sent at once");
    server.searches[0]?.reply(answer([hit("load_config", "cfg.py", 4), hit("parse", "p.py", 0)]));
    await sleep(1);
    const [first, second] = pick.items;
    assert.ok(first && second);
    pick.highlight(second);
    await sleep(1);
    assert.equal(recorded.shown.at(-1)?.uri, "file:///w/p.py");
    assert.equal(recorded.shown.at(-1)?.options?.preserveFocus, true);
    assert.equal(recorded.shown.at(-1)?.options?.preview, true);
    pick.selectedItems = [first];
    pick.accept.fire(undefined);
    await closed;
    await sleep(1);
    const opened = recorded.shown.at(-1);
    assert.equal(opened?.uri, "file:///w/cfg.py");
    assert.equal(opened?.options?.preview, false);
    assert.equal(opened?.options?.selection?.start.line, 4);
  });

  it("goes back to the original editor when closed without choosing", async () => {
    const server = new FakeServer();
    vscode.window.activeTextEditor = {
      document: { uri: Uri.parse("file:///w/main.py") },
      selection: new Selection(20, 2, 20, 2),
      viewColumn: 1,
    };
    void findByMeaning(context(server), "x", 10);
    const pick = lastPick();
    server.searches[0]?.reply(answer([hit("a", "a.py", 1)]));
    await sleep(1);
    const [item] = pick.items;
    assert.ok(item);
    pick.highlight(item);
    await sleep(1);
    pick.hide();
    await sleep(1);
    const restored = recorded.shown.at(-1);
    assert.equal(restored?.uri, "file:///w/main.py");
    assert.equal(restored?.options?.selection?.start.line, 20);
  });

  it("closes the preview it opened on Escape, not the files the user had open", async () => {
    const server = new FakeServer();
    const main = Uri.parse("file:///w/main.py");
    recorded.tabs = [{ input: new TabInputText(main), isPreview: false, isDirty: false, label: "main.py" }];
    vscode.window.activeTextEditor = { document: { uri: main }, selection: new Selection(20, 2, 20, 2), viewColumn: 1 };
    void findByMeaning(context(server), "x", 10);
    const pick = lastPick();
    server.searches[0]?.reply(answer([hit("a", "a.py", 1), hit("b", "b.py", 2), hit("m", "main.py", 50)]));
    await sleep(1);
    for (const item of pick.items) {
      pick.highlight(item);
      await sleep(1);
    }
    assert.deepEqual(recorded.tabs.map((tab) => [tab.label, tab.isPreview]), [["main.py", false], ["b.py", true]]);
    pick.hide();
    await sleep(1);
    assert.deepEqual(recorded.closedTabs, ["b.py"]);
    assert.deepEqual(recorded.tabs.map((tab) => tab.label), ["main.py"]);
  });

  it("keeps the chosen file open and closes the other previews", async () => {
    const server = new FakeServer();
    void findByMeaning(context(server), "x", 10);
    const pick = lastPick();
    server.searches[0]?.reply(answer([hit("a", "a.py", 1), hit("b", "b.py", 2)]));
    await sleep(1);
    const [first, second] = pick.items;
    assert.ok(first && second);
    pick.highlight(second);
    await sleep(1);
    // With preview editors turned off in the settings, each highlighted result has its own tab.
    recorded.tabs.forEach((tab) => (tab.isPreview = false));
    pick.highlight(first);
    await sleep(1);
    pick.selectedItems = [first];
    pick.accept.fire(undefined);
    await sleep(5);
    assert.deepEqual(recorded.closedTabs, ["b.py"]);
    assert.deepEqual(recorded.tabs.map((tab) => [tab.label, tab.isPreview]), [["a.py", false]]);
  });

  it("highlights the best result of each new answer, not the row highlighted before", async () => {
    const server = new FakeServer();
    void findByMeaning(context(server), "checksum", 10);
    const pick = lastPick();
    server.searches[0]?.reply(answer([hit("file_checksum", "sum.py", 4), hit("download", "dl.py", 6)]));
    await sleep(1);
    pick.highlight(pick.items[1] as ResultItem);
    pick.type("retry");
    await sleep(30);
    server.searches[1]?.reply(answer([hit("fetch_with_retry", "net.py", 3), hit("download", "dl.py", 6)]));
    await sleep(1);
    assert.deepEqual(
      pick.activeItems.map((item) => item.label),
      ["$(symbol-function) fetch_with_retry"],
    );
  });

  it("reveals the previewed line just below where a full list ends, wherever it was", async () => {
    assert.equal(previewTop(100, 40), 78);
    assert.equal(previewTop(5, 40), 0);
    assert.equal(previewTop(100, 0), 83, "an editor that reports no lines yet counts as 30");
    const server = new FakeServer();
    void findByMeaning(context(server), "x", 10);
    const pick = lastPick();
    server.searches[0]?.reply(answer([hit("deep", "deep.py", 120)]));
    await sleep(1);
    pick.highlight(pick.items[0] as ResultItem);
    await sleep(1);
    const revealed = recorded.revealed.at(-1);
    assert.equal(revealed?.type, vscode.TextEditorRevealType.AtTop);
    assert.equal(revealed?.range.start.line, previewTop(120, recorded.visibleLines));
    assert.equal(recorded.shown.at(-1)?.options?.selection?.start.line, 120);
  });

  it("lists weak matches below a separator, after the close ones", async () => {
    const server = new FakeServer();
    void findByMeaning(context(server), "retry", 10);
    const pick = lastPick();
    const weak = (name: string): SearchResult => ({ ...hit(name, `${name}.py`, 1), relevance: 0.2, weak: true });
    server.searches[0]?.reply({
      ...answer([{ ...hit("fetch_with_retry", "net.py", 3), relevance: 0.8, weak: false }, weak("slugify"), weak("load")]),
      closeMatches: 1,
    });
    await sleep(1);
    assert.deepEqual(
      pick.items.map((item) => [item.label, item.kind ?? 0, item.description ?? ""]),
      [
        ["$(symbol-function) fetch_with_retry", 0, ""],
        ["weak matches", vscode.QuickPickItemKind.Separator, ""],
        ["$(symbol-function) slugify", 0, "weak match"],
        ["$(symbol-function) load", 0, "weak match"],
      ],
    );
    assert.match(pick.title ?? "", /1 close match, 2 weak in 4 ms/);
    // VS Code would otherwise re-sort by label matches and drop the separator as it filters.
    assert.equal((pick as unknown as { sortByLabel: boolean }).sortByLabel, false);
    assert.deepEqual(pick.activeItems, [pick.items[0]], "the best result is highlighted");
    // The separator is no result: highlighting it previews nothing.
    pick.highlight(pick.items[1] as ResultItem);
    await sleep(1);
    assert.equal(recorded.shown.length, 0);
  });

  it('says "no close match" when nothing passes the server\'s threshold', async () => {
    const server = new FakeServer();
    void findByMeaning(context(server), "retry with backoff", 10);
    const pick = lastPick();
    const weak = (name: string): SearchResult => ({ ...hit(name, `${name}.py`, 1), relevance: 0.1, weak: true });
    server.searches[0]?.reply({ ...answer([weak("slugify"), weak("load")]), closeMatches: 0 });
    await sleep(1);
    assert.match(pick.title ?? "", /No close match, 2 weak matches in 4 ms/);
    assert.equal(pick.items[0]?.kind, vscode.QuickPickItemKind.Separator);
    assert.equal(pick.items[0]?.label, "no close match: weak matches only");
    assert.equal(pick.items.length, 3);
    assert.deepEqual(pick.activeItems, [pick.items[1]], "the first result, not the separator, is highlighted");
  });

  it("treats an older server's answer, without relevance, as close matches", async () => {
    const server = new FakeServer();
    void findByMeaning(context(server), "x", 10);
    const pick = lastPick();
    server.searches[0]?.reply(answer([hit("a", "a.py", 1), hit("b", "b.py", 2)]));
    await sleep(1);
    assert.equal(pick.items.length, 2);
    assert.ok(pick.items.every((item) => item.kind === undefined && item.description === ""));
    assert.match(pick.title ?? "", /— 2 results in 4 ms$/);
  });

  it("shows @overload stubs of one name as one row", async () => {
    const server = new FakeServer();
    void findByMeaning(context(server), "prompt", 10);
    const pick = lastPick();
    const stub = (line: number): SearchResult => ({ ...hit("prompt", "term.py", line), snippet: "@overload\ndef prompt(text: str) -> str: ..." });
    server.searches[0]?.reply(answer([stub(10), stub(14), hit("ask", "a.py", 1), { ...hit("prompt", "term.py", 18), snippet: "def prompt(text, default=None):\n    return input(text)" }]));
    await sleep(1);
    assert.deepEqual(
      pick.items.map((item) => [item.label, item.description, item.detail]),
      [
        ["$(symbol-function) prompt", "3 overloads", "term.py:19 — def prompt(text, default=None): … return input(text)"],
        ["$(symbol-function) ask", "", "a.py:2 — def ask():"],
      ],
    );
  });

  it("says the server is not running instead of hanging", async () => {
    void findByMeaning(context(undefined), "anything", 10);
    await sleep(1);
    assert.match(lastPick().title ?? "", /server is not running/);
    assert.equal(lastPick().busy, false);
  });
});

describe("Find Similar Code", () => {
  beforeEach(reset);
  const editor = (selection: Selection) => ({
    document: { uri: Uri.parse("file:///w/net/http.py") },
    selection,
    viewColumn: 1,
  });

  it("sends the cursor position when nothing is selected, the range otherwise", async () => {
    const server = new FakeServer();
    server.similarAnswer = answer([hit("download_with_retries", "dl.py", 2)]);
    const done = findSimilar(context(server), editor(new Selection(12, 5, 12, 5)) as never);
    await sleep(1);
    assert.deepEqual(server.similarCalls[0], {
      textDocument: { uri: "file:///w/net/http.py" },
      position: { line: 12, character: 5 },
      limit: 7,
    });
    const pick = lastPick();
    assert.match(pick.title ?? "", /Code similar to net\/http.py:13/);
    assert.equal(pick.items[0]?.detail, "dl.py:3 — def download_with_retries():");
    pick.hide();
    await done;
    const again = findSimilar(context(server), editor(new Selection(3, 0, 9, 1)) as never);
    await sleep(1);
    lastPick().hide();
    await again;
    assert.deepEqual(server.similarCalls[1]?.range, { start: { line: 3, character: 0 }, end: { line: 9, character: 1 } });
  });

  it("says when no similar code is a close match", async () => {
    const server = new FakeServer();
    server.similarAnswer = { ...answer([{ ...hit("slugify", "web.py", 2), relevance: 0.3, weak: true }]), closeMatches: 0 };
    const done = findSimilar(context(server), editor(new Selection(12, 5, 12, 5)) as never);
    await sleep(1);
    const pick = lastPick();
    assert.match(pick.title ?? "", /Code similar to net\/http.py:13 — No close match, 1 weak match in 4 ms/);
    assert.deepEqual(pick.items.map((item) => item.label), ["no close match: weak matches only", "$(symbol-function) slugify"]);
    assert.equal((pick as unknown as { sortByLabel: boolean }).sortByLabel, false);
    pick.hide();
    await done;
  });

  it("shows the server's error message, and says when nothing is similar", async () => {
    const server = new FakeServer();
    server.similarAnswer = new Error("No symbol at line 1 of net/http.py; select the code to compare");
    await findSimilar(context(server), editor(new Selection(0, 0, 0, 0)) as never);
    assert.deepEqual(recorded.messages.at(-1), {
      level: "warning",
      text: "findcode: No symbol at line 1 of net/http.py; select the code to compare",
    });
    server.similarAnswer = answer([]);
    await findSimilar(context(server), editor(new Selection(0, 0, 0, 0)) as never);
    assert.match(recorded.messages.at(-1)?.text ?? "", /no code similar to net\/http.py:1 was found/);
    assert.equal(recorded.quickPicks.length, 0);
  });
});

// How results read in the list: icons, names, paths relative to the right root, one-line snippets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatResult, formatRow, groupResults, indexNote, kindIcon, relativePath, snippetLine, snippetParts } from "../src/common/format";
import { SearchResult } from "../src/common/protocol";

const result = (overrides: Partial<SearchResult> = {}): SearchResult => ({
  uri: "file:///home/ada/proj/src/net/client.py",
  range: { start: { line: 41, character: 4 }, end: { line: 60, character: 0 } },
  name: "get",
  qualifiedName: "HttpClient.get",
  kind: "method",
  language: "python",
  score: 0.83,
  snippet: "def get(self, url):\n        return self._retry(url)",
  ...overrides,
});

describe("format", () => {
  it("gives each kind its codicon and unknown kinds a neutral one", () => {
    assert.equal(kindIcon("function"), "$(symbol-function)");
    assert.equal(kindIcon("method"), "$(symbol-method)");
    assert.equal(kindIcon("class"), "$(symbol-class)");
    assert.equal(kindIcon("interface"), "$(symbol-interface)");
    assert.equal(kindIcon("module"), "$(symbol-module)");
    assert.equal(kindIcon("file"), "$(symbol-file)");
    assert.equal(kindIcon("struct"), "$(symbol-misc)");
  });

  it("renders the name, then 1-based path:line with the signature and a body line", () => {
    const view = formatResult(result(), [{ name: "proj", uri: "file:///home/ada/proj" }]);
    assert.deepEqual(view, {
      label: "$(symbol-method) HttpClient.get",
      description: "",
      detail: "src/net/client.py:42 — def get(self, url): … return self._retry(url)",
    });
  });

  it("starts the second line with path:line, however long the qualified name", () => {
    const qualifiedName = `${"VeryLongModuleName.".repeat(8)}AbstractRequestHandlerFactory.create_handler`;
    const view = formatResult(result({ qualifiedName }), [{ name: "proj", uri: "file:///home/ada/proj" }]);
    assert.equal(view.label, `$(symbol-method) ${qualifiedName}`);
    assert.ok(view.detail.startsWith("src/net/client.py:42 — "), view.detail);
    assert.equal(view.description, "");
  });

  it("falls back to the name when there is no qualified name", () => {
    const view = formatResult(result({ qualifiedName: "", name: "main", kind: "function" }), []);
    assert.equal(view.label, "$(symbol-function) main");
  });

  it("prefixes the folder name in multi-root workspaces and decodes escapes", () => {
    const roots = [
      { name: "api", uri: "file:///w/api" },
      { name: "web app", uri: "file:///w/web%20app/" },
    ];
    assert.equal(relativePath("file:///w/web%20app/src/a%20b.ts", roots), "web app/src/a b.ts");
    assert.equal(relativePath("file:///w/api/main.go", roots), "api/main.go");
    // A sibling folder whose name starts the same is not inside the root.
    assert.equal(relativePath("file:///w/api2/x.go", roots), "/w/api2/x.go");
  });

  it("cuts long snippets with an ellipsis", () => {
    const line = snippetLine("x".repeat(300), 50);
    assert.equal(line.length, 50);
    assert.ok(line.endsWith("…"));
  });

  it("warns only while the index is not idle", () => {
    assert.equal(indexNote({ state: "idle", indexed: 5, total: 5 }), undefined);
    assert.equal(indexNote({ state: "indexing", indexed: 1200, total: 3400 }), "Indexing: 1,200 of 3,400 files searchable so far");
    assert.match(indexNote({ state: "error", indexed: 0, total: 0 }) ?? "", /error/);
  });

  it("keeps signature and body apart: the line of the body with the most query words", () => {
    const snippet = [
      "def __getattr__(name: str) -> object:",
      "    import warnings",
      "    if name in {'Retry', 'Backoff'}:",
      "        warnings.warn(f'{name} is deprecated', DeprecationWarning)",
      "    raise AttributeError(name)",
    ].join("\n");
    assert.deepEqual(snippetParts(snippet, "warn when a deprecated name is used"), {
      signature: "def __getattr__(name: str) -> object:",
      best: "warnings.warn(f'{name} is deprecated', DeprecationWarning)",
      overload: false,
    });
    // Word forms count: "retries" matches "retry"; with no query word, the first body line.
    assert.equal(snippetParts(snippet, "retries with backoff").best, "if name in {'Retry', 'Backoff'}:");
    assert.equal(snippetParts(snippet, "").best, "import warnings");
    assert.equal(snippetParts("class Empty:", "anything").best, undefined);
  });

  it("skips decorators and the echo of a multi-line signature", () => {
    const snippet = [
      "def prompt(text: str, *, default: str | None = None) -> str:",
      "def prompt(",
      "    text: str,",
      "    *,",
      "    default: str | None = None,",
      ") -> str:",
      "    return input(text) or default",
    ].join("\n");
    assert.deepEqual(snippetParts(`@overload\n${snippet}`, "default text"), {
      signature: "def prompt(text: str, *, default: str | None = None) -> str:",
      best: "return input(text) or default",
      overload: true,
    });
  });

  it("makes one row of the overloads of a name in a file, opening the implementation", () => {
    const member = (line: number, snippet: string) =>
      result({ name: "prompt", qualifiedName: "prompt", kind: "function", range: { start: { line, character: 0 }, end: { line, character: 9 } }, snippet });
    const other = result({ uri: "file:///home/ada/proj/src/other.py", name: "prompt", qualifiedName: "prompt", kind: "function" });
    const rows = groupResults([
      member(10, "@overload\ndef prompt(text: str) -> str: ..."),
      other,
      member(13, "@overload\ndef prompt(text: str, default: int) -> int: ..."),
      member(16, "def prompt(text, default=None):\n    return input(text) or default"),
    ]);
    assert.deepEqual(
      rows.map((row) => [row.result.uri.split("/").at(-1), row.result.range.start.line, row.count, row.overloads]),
      [
        ["client.py", 16, 3, true],
        ["other.py", 41, 1, false],
      ],
    );
    const [first] = rows;
    assert.ok(first);
    const view = formatRow(first, [{ name: "proj", uri: "file:///home/ada/proj" }], "prompt");
    assert.equal(view.label, "$(symbol-function) prompt");
    assert.equal(view.description, "3 overloads");
    assert.equal(view.detail, "src/net/client.py:17 — def prompt(text, default=None): … return input(text) or default");
  });

  it("notes weak matches on their row; a group is weak only when all its members are", () => {
    assert.equal(formatResult(result({ weak: true }), []).description, "weak match");
    const [row] = groupResults([result({ weak: false }), result({ weak: true })]);
    assert.ok(row);
    assert.equal(row.weak, false);
    assert.equal(formatRow(row, []).description, "2 definitions");
  });
});

// How results read in the list: icons, names, paths relative to the right root, one-line snippets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatResult, indexNote, kindIcon, relativePath, snippetLine } from "../src/common/format";
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

  it("renders label, 1-based path:line and the snippet on one line", () => {
    const view = formatResult(result(), [{ name: "proj", uri: "file:///home/ada/proj" }]);
    assert.deepEqual(view, {
      label: "$(symbol-method) HttpClient.get",
      description: "src/net/client.py:42",
      detail: "def get(self, url): return self._retry(url)",
    });
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
});

/**
 * How a search result reads in a list: kind icon and name, where it is, one line of code.
 * Pure functions, so the rendering is tested without VS Code.
 */
import { IndexSummary, SearchResult } from "./protocol";

const ICONS: Readonly<Record<string, string>> = {
  function: "symbol-function",
  method: "symbol-method",
  class: "symbol-class",
  interface: "symbol-interface",
  module: "symbol-module",
  file: "symbol-file",
};

export function kindIcon(kind: string): string {
  return `$(${ICONS[kind] ?? "symbol-misc"})`;
}

export interface Root {
  name: string;
  uri: string;
}

export interface ResultView {
  label: string;
  description: string;
  detail: string;
}

function decode(uri: string): string {
  try {
    return decodeURIComponent(uri);
  } catch {
    return uri;
  }
}

/** Path relative to its workspace folder; prefixed by the folder's name when there are several. */
export function relativePath(uri: string, roots: readonly Root[]): string {
  const target = decode(uri);
  for (const root of roots) {
    const base = decode(root.uri).replace(/\/+$/, "");
    if (target.startsWith(base + "/")) {
      const rel = target.slice(base.length + 1);
      return roots.length > 1 ? `${root.name}/${rel}` : rel;
    }
  }
  return target.replace(/^file:\/\//, "");
}

/** The snippet as one line: whitespace runs collapsed, cut at `max` characters. */
export function snippetLine(snippet: string, max = 120): string {
  const line = snippet.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function formatResult(result: SearchResult, roots: readonly Root[]): ResultView {
  const name = result.qualifiedName !== "" ? result.qualifiedName : result.name;
  return {
    label: `${kindIcon(result.kind)} ${name}`,
    description: `${relativePath(result.uri, roots)}:${result.range.start.line + 1}`,
    detail: snippetLine(result.snippet),
  };
}

/** A warning for the list's title while answers may be incomplete; undefined when idle. */
export function indexNote(index: IndexSummary): string | undefined {
  switch (index.state) {
    case "idle":
      return undefined;
    case "error":
      return "The index has an error (see findcode: Show Log); results may be incomplete";
    default:
      return `Indexing: ${index.indexed.toLocaleString("en-US")} of ${index.total.toLocaleString("en-US")} files searchable so far`;
  }
}

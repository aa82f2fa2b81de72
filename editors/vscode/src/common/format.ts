/**
 * How a search result reads in a list: kind icon and name on the first line; where it is, its
 * signature and the line of its body that best matches the query on the second. Overloads of
 * one name in one file are one row. Pure functions, so the rendering is tested without VS Code.
 */
import { IndexSummary, isWeak, SearchResult } from "./protocol";

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

/** One line of code for the list: whitespace runs collapsed, cut at `max` characters. */
export function snippetLine(snippet: string, max = 120): string {
  const line = snippet.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

// Words of a query that say nothing about which line of code is meant.
const STOP_WORDS = new Set(
  "a an and are as at be by code does for from how in into is it of on or that the this to what when which with".split(" "),
);

/** "retries" and "retry", "parsing" and "parse" count as the same word. */
function stem(word: string): string {
  if (word.length > 4 && /(ies|ied)$/.test(word)) return `${word.slice(0, -3)}y`;
  if (word.length > 5 && word.endsWith("ing")) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith("ed")) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith("s") && !word.endsWith("ss")) return word.slice(0, -1);
  return word;
}

/** The words of a text or an identifier (fetchWithRetry, fetch_with_retry: fetch, with, retry). */
export function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 1);
}

// Lines before a signature that are not it: decorators, annotations, Rust attributes.
const ATTRIBUTE = /^(@|#\[)/;
// Lines that say nothing on their own: brackets, quotes, `else:`-like punctuation.
const TRIVIAL = /^[\s"'`{}()[\];:,.]*$/;

export interface SnippetParts {
  /** The symbol's signature, on one line. */
  signature: string;
  /** The body line with the most query words (the first body line when none has any). */
  best: string | undefined;
  /** Whether the snippet declares an `@overload` stub. */
  overload: boolean;
}

/**
 * Picks from a snippet (the signature, then the first lines of the body) the two lines a list
 * row has room for: the signature, and the line of the body that best matches the query.
 */
export function snippetParts(snippet: string, query = ""): SnippetParts {
  const lines = snippet.split(/\r?\n/).map((line) => line.trim());
  const at = lines.findIndex((line) => line !== "" && !ATTRIBUTE.test(line));
  const overload = lines.slice(0, Math.max(at, 0)).some((line) => /^@(typing\.)?overload\b/.test(line));
  if (at === -1) {
    return { signature: lines.find((line) => line !== "") ?? "", best: undefined, overload };
  }
  const signature = lines[at] ?? "";
  const collapsed = signature.replace(/\s+/g, " ");
  // The server puts a multi-line signature on one line, then the code from its start: the
  // signature's own lines are no body line.
  const body = lines.slice(at + 1).filter((line) => !TRIVIAL.test(line) && !collapsed.includes(line.replace(/\s+/g, " ")));
  const wanted = new Set(words(query).filter((word) => !STOP_WORDS.has(word)).map(stem));
  let best = body[0];
  let bestScore = 0;
  for (const line of body) {
    const found = new Set(words(line).map(stem).filter((word) => wanted.has(word)));
    if (found.size > bestScore) {
      best = line;
      bestScore = found.size;
    }
  }
  return { signature, best, overload };
}

/** A row of the list: a result, or a name declared several times in one file (overloads). */
export interface ResultRow {
  /** The member the row opens: the implementation of overloads, else the best-ranked one. */
  result: SearchResult;
  /** How many results the row stands for. */
  count: number;
  overloads: boolean;
  /** Every member is a weak match. */
  weak: boolean;
}

/**
 * One row per name per file, where the best-ranked member ranked: `@overload` stubs and their
 * implementation (or a getter and its setter) are one thing to the person choosing.
 */
export function groupResults(results: readonly SearchResult[]): ResultRow[] {
  const groups = new Map<string, SearchResult[]>();
  for (const result of results) {
    const key = [result.uri, result.kind, result.qualifiedName || result.name].join("\0");
    const members = groups.get(key);
    if (members === undefined) groups.set(key, [result]);
    else members.push(result);
  }
  return [...groups.values()].map((members) => {
    const stubs = members.map((member) => snippetParts(member.snippet).overload);
    const first = members[0] as SearchResult;
    return {
      result: members[stubs.indexOf(false)] ?? first,
      count: members.length,
      overloads: stubs.some(Boolean),
      weak: members.every(isWeak),
    };
  });
}

/**
 * The row: kind and name first; the location starts the second line, so a long qualified name
 * cannot push it out of view; then the signature and the body line that best matches `query`.
 */
export function formatRow(row: ResultRow, roots: readonly Root[], query = ""): ResultView {
  const { result } = row;
  const name = result.qualifiedName !== "" ? result.qualifiedName : result.name;
  const { signature, best } = snippetParts(result.snippet, query);
  const where = `${relativePath(result.uri, roots)}:${result.range.start.line + 1}`;
  const code = [signature, best].filter((line): line is string => line !== undefined && line !== "").map((line) => snippetLine(line, 100));
  const notes = [];
  if (row.count > 1) notes.push(`${row.count} ${row.overloads ? "overloads" : "definitions"}`);
  if (row.weak) notes.push("weak match");
  return {
    label: `${kindIcon(result.kind)} ${name}`,
    description: notes.join(" · "),
    detail: code.length === 0 ? where : `${where} — ${code.join(" … ")}`,
  };
}

/** One result as a row of its own. */
export function formatResult(result: SearchResult, roots: readonly Root[], query = ""): ResultView {
  return formatRow({ result, count: 1, overloads: false, weak: isWeak(result) }, roots, query);
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

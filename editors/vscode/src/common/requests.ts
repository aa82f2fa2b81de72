/**
 * The params of every findcode request the extension sends, built in one place so that the
 * protocol test sends byte-for-byte what the extension would.
 */
import { Mode, Range, SearchParams, SimilarParams } from "./protocol";

export function searchParams(query: string, options: { resultLimit: number; searchMode: Mode }): SearchParams {
  return { query: query.trim(), limit: options.resultLimit, mode: options.searchMode };
}

/**
 * findcode/status takes no params, but is sent with `{}`: pygls cannot parse a request whose
 * message has no "params" member, which is what a params-less sendRequest produces.
 */
export function statusParams(): Record<string, never> {
  return {};
}

/** A collapsed selection means "the symbol around the cursor"; otherwise exactly the selection. */
export function similarParams(uri: string, selection: Range, limit: number): SimilarParams {
  const { start, end } = selection;
  const empty = start.line === end.line && start.character === end.character;
  return empty
    ? { textDocument: { uri }, position: { line: start.line, character: start.character }, limit }
    : {
        textDocument: { uri },
        range: { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } },
        limit,
      };
}

/**
 * The custom LSP surface of findcode, mirrored from server/findcode/protocol.py.
 *
 * Change the two files together. Positions on the wire are LSP positions (0-based lines,
 * 0-based UTF-16 offsets), which is also what VS Code uses, so no conversion is needed.
 */

export const SEARCH = "findcode/search";
export const SIMILAR = "findcode/similar";
export const STATUS = "findcode/status";

// Server-side commands (workspace/executeCommand). The extension's own VS Code command ids
// must differ from these: vscode-languageclient registers a VS Code command for each one the
// server advertises, and a second registration of the same id would throw.
export const COMMAND_SEARCH = "findcode.search";
export const COMMAND_REINDEX = "findcode.reindex";
export const COMMAND_STATUS = "findcode.status";
// No arguments; both answer Status. A pause holds through a settings change, not a server restart.
export const COMMAND_PAUSE = "findcode.pause";
export const COMMAND_RESUME = "findcode.resume";
export const COMMANDS = [COMMAND_SEARCH, COMMAND_REINDEX, COMMAND_STATUS, COMMAND_PAUSE, COMMAND_RESUME] as const;

export const MODES = ["hybrid", "semantic", "lexical"] as const;
export type Mode = (typeof MODES)[number];
export type IndexState = "starting" | "indexing" | "idle" | "paused" | "error";
/** Why indexing is paused: findcode.pause ("user"), or pauseOnBattery on battery power. */
export type PauseReason = "user" | "battery";
export const MAX_LIMIT = 200;

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface SearchParams {
  query: string;
  limit?: number;
  paths?: string[];
  languages?: string[];
  kinds?: string[];
  mode?: Mode;
}

export interface TextDocumentIdentifier {
  uri: string;
}

export interface SimilarParams {
  textDocument: TextDocumentIdentifier;
  position?: Position;
  range?: Range;
  limit?: number;
}

export interface SearchResult {
  uri: string;
  range: Range;
  name: string;
  qualifiedName: string;
  kind: string;
  language: string;
  score: number;
  snippet: string;
  /**
   * Calibrated relevance, 0..1, on one scale for search and similar. Optional: servers before
   * it send none.
   */
  relevance?: number;
  /** Below the server's threshold for a close match. Missing (older servers): not weak. */
  weak?: boolean;
}

export interface IndexSummary {
  state: IndexState;
  indexed: number;
  total: number;
}

export interface SearchResponse {
  results: SearchResult[];
  index: IndexSummary;
  tookMs: number;
  /** How many results are not weak. Missing (older servers): all of them. */
  closeMatches?: number;
}

/** Whether a result is a weak match; a server that does not say is taken as sure of it. */
export function isWeak(result: SearchResult): boolean {
  return result.weak === true;
}

/** How many results are close matches, counted from `weak` when the server does not say. */
export function closeMatchCount(response: SearchResponse): number {
  return response.closeMatches ?? response.results.filter((result) => !isWeak(result)).length;
}

export interface ModelInfo {
  name: string;
  path: string;
  dims: number;
  quantization: string;
}

export interface Status {
  state: IndexState;
  roots: string[];
  files: number;
  symbols: number;
  vectors: number;
  pending: number;
  embedded: number;
  model: ModelInfo;
  indexPaths: string[];
  lastError: string | null;
  /** With state "paused". Missing (older servers): not paused. */
  paused?: PauseReason | null;
  /**
   * Why embedding waits ("embedding server unreachable: retrying in 30 s (...)"); parsing and
   * search by words go on. Missing (older servers) or null: it does not wait.
   */
  waiting?: string | null;
  /**
   * A change of model in progress ("re-embedding for <model>: 3,200/20,000 symbols"): searches
   * answer with `model`, the old one, until it ends. Missing (older servers) or null: none.
   */
  switching?: string | null;
}

/**
 * The section the server pulls with workspace/configuration (and reads from
 * didChangeConfiguration's settings): the same names and values as the initializationOptions.
 */
export const CONFIGURATION_SECTION = "findcode";

/**
 * A serving engine's OpenAI-compatible /v1/embeddings (server/findcode/config.py's
 * EmbeddingSettings); the server checks each value and warns about a bad one.
 */
export interface EmbeddingOptions {
  url: string;
  model?: string;
  apiKeyEnv?: string;
  dimensions?: number;
  batchSize?: number;
  concurrency?: number;
  timeoutS?: number;
  retries?: number;
  profile?: string;
}

/** The initializationOptions the server parses (camelCase names from server/findcode/config.py). */
export interface InitializationOptions {
  model: string | null;
  embedding: EmbeddingOptions | null;
  indexDir: string | null;
  cacheDir: string | null;
  exclude: string[];
  languages: string[] | null;
  maxFileBytes: number;
  watch: boolean;
  threads: number | null;
  searchDefaults: { limit: number; mode: Mode };
  pauseOnBattery: boolean;
}

/** didChangeConfiguration's settings, for a server that cannot pull them. */
export interface ChangedSettings {
  [CONFIGURATION_SECTION]: InitializationOptions;
}

/**
 * The `findcode.*` settings: read when the server starts or asks for them, and turned into the
 * options the server parses (initializationOptions and its workspace/configuration section).
 */
import * as os from "node:os";
import * as vscode from "vscode";
import { EmbeddingOptions, InitializationOptions, MAX_LIMIT, Mode, MODES } from "./protocol";

export const SECTION = "findcode";

export interface FindcodeSettings {
  serverCommand: string[];
  interpreter: string;
  model: string;
  embedding: EmbeddingOptions | null;
  indexDir: string;
  cacheDir: string;
  exclude: string[];
  languages: string[];
  watch: boolean;
  maxFileBytes: number;
  threads: number;
  pauseOnBattery: boolean;
  resultLimit: number;
  searchMode: Mode;
}

export const DEFAULTS: FindcodeSettings = {
  serverCommand: [],
  interpreter: "",
  model: "",
  embedding: null,
  indexDir: "",
  cacheDir: "",
  exclude: [],
  languages: [],
  watch: true,
  maxFileBytes: 1_000_000,
  threads: 0,
  pauseOnBattery: false,
  resultLimit: 20,
  searchMode: "hybrid",
};

export function readSettings(): FindcodeSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const strings = (key: keyof FindcodeSettings): string[] => {
    const value = config.get<unknown>(key);
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
  };
  const text = (key: keyof FindcodeSettings): string => {
    const value = config.get<unknown>(key);
    return typeof value === "string" ? value.trim() : "";
  };
  const count = (key: keyof FindcodeSettings, fallback: number): number => {
    const value = config.get<unknown>(key);
    return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : fallback;
  };
  const mode = config.get<unknown>("searchMode");
  return {
    serverCommand: strings("serverCommand").filter((part) => part.length > 0),
    interpreter: text("interpreter"),
    model: text("model"),
    embedding: readEmbedding(config.get<unknown>("embedding")),
    indexDir: text("indexDir"),
    cacheDir: text("cacheDir"),
    exclude: strings("exclude"),
    languages: strings("languages"),
    watch: config.get<unknown>("watch") !== false,
    maxFileBytes: count("maxFileBytes", DEFAULTS.maxFileBytes) || DEFAULTS.maxFileBytes,
    threads: count("threads", DEFAULTS.threads),
    pauseOnBattery: config.get<unknown>("pauseOnBattery") === true,
    resultLimit: Math.min(count("resultLimit", DEFAULTS.resultLimit) || DEFAULTS.resultLimit, MAX_LIMIT),
    searchMode: MODES.includes(mode as Mode) ? (mode as Mode) : DEFAULTS.searchMode,
  };
}

const EMBEDDING_STRINGS = ["model", "apiKeyEnv", "profile"] as const;
const EMBEDDING_NUMBERS = ["dimensions", "batchSize", "concurrency", "timeoutS", "retries"] as const;

/**
 * The `findcode.embedding` object: null without a url (the local model). Values of the wrong
 * type are dropped here; the server checks ranges and names, and warns about what it drops.
 */
function readEmbedding(value: unknown): EmbeddingOptions | null {
  if (typeof value !== "object" || value === null) {
    return null;
  }
  const raw = value as Record<string, unknown>;
  if (typeof raw.url !== "string" || raw.url.trim() === "") {
    return null;
  }
  const options: EmbeddingOptions = { url: raw.url.trim() };
  for (const key of EMBEDDING_STRINGS) {
    const item = raw[key];
    if (typeof item === "string" && item.trim() !== "") {
      options[key] = item.trim();
    }
  }
  for (const key of EMBEDDING_NUMBERS) {
    const item = raw[key];
    if (typeof item === "number" && Number.isFinite(item)) {
      options[key] = item;
    }
  }
  return options;
}

export interface PathVariables {
  home: string;
  workspaceFolder: string | undefined;
}

export function currentPathVariables(): PathVariables {
  return { home: os.homedir(), workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath };
}

/** Expands `~`, `${userHome}` and `${workspaceFolder}` the way VS Code users expect in paths. */
export function expandPath(value: string, vars: PathVariables): string {
  let result = value.replace(/\$\{userHome\}/g, vars.home);
  if (vars.workspaceFolder !== undefined) {
    result = result.replace(/\$\{workspaceFolder\}/g, vars.workspaceFolder);
  }
  if (result === "~" || result.startsWith("~/")) {
    result = vars.home + result.slice(1);
  }
  return result;
}

/** The server's options: empty settings become null so the server picks its own default. */
export function toInitializationOptions(s: FindcodeSettings, vars: PathVariables): InitializationOptions {
  const path = (value: string): string | null => (value === "" ? null : expandPath(value, vars));
  return {
    model: path(s.model),
    embedding: s.embedding === null ? null : { ...s.embedding },
    indexDir: path(s.indexDir),
    cacheDir: path(s.cacheDir),
    exclude: [...s.exclude],
    // An empty list would index nothing; nobody means that, so it stands for "every language".
    languages: s.languages.length > 0 ? [...s.languages] : null,
    maxFileBytes: s.maxFileBytes,
    watch: s.watch,
    threads: s.threads > 0 ? s.threads : null,
    searchDefaults: { limit: s.resultLimit, mode: s.searchMode },
    pauseOnBattery: s.pauseOnBattery,
  };
}

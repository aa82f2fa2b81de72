/**
 * The `findcode.*` settings: read when the server starts or asks for them, and turned into the
 * options the server parses (initializationOptions and its workspace/configuration section).
 */
import * as os from "node:os";
import * as vscode from "vscode";
import { InitializationOptions, MAX_LIMIT, Mode, MODES } from "./protocol";

export const SECTION = "findcode";

export interface FindcodeSettings {
  serverCommand: string[];
  interpreter: string;
  model: string;
  indexDir: string;
  cacheDir: string;
  exclude: string[];
  languages: string[];
  watch: boolean;
  maxFileBytes: number;
  threads: number;
  resultLimit: number;
  searchMode: Mode;
}

export const DEFAULTS: FindcodeSettings = {
  serverCommand: [],
  interpreter: "",
  model: "",
  indexDir: "",
  cacheDir: "",
  exclude: [],
  languages: [],
  watch: true,
  maxFileBytes: 1_000_000,
  threads: 0,
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
    indexDir: text("indexDir"),
    cacheDir: text("cacheDir"),
    exclude: strings("exclude"),
    languages: strings("languages"),
    watch: config.get<unknown>("watch") !== false,
    maxFileBytes: count("maxFileBytes", DEFAULTS.maxFileBytes) || DEFAULTS.maxFileBytes,
    threads: count("threads", DEFAULTS.threads),
    resultLimit: Math.min(count("resultLimit", DEFAULTS.resultLimit) || DEFAULTS.resultLimit, MAX_LIMIT),
    searchMode: MODES.includes(mode as Mode) ? (mode as Mode) : DEFAULTS.searchMode,
  };
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
    indexDir: path(s.indexDir),
    cacheDir: path(s.cacheDir),
    exclude: [...s.exclude],
    // An empty list would index nothing; nobody means that, so it stands for "every language".
    languages: s.languages.length > 0 ? [...s.languages] : null,
    maxFileBytes: s.maxFileBytes,
    watch: s.watch,
    threads: s.threads > 0 ? s.threads : null,
    searchDefaults: { limit: s.resultLimit, mode: s.searchMode },
  };
}

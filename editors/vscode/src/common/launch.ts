/**
 * Which process to start as the findcode server, and why it would not start.
 *
 * Checked before the Language Server client starts, because a client that spawns a missing
 * program or a Python without findcode only reports "connection closed"; a person needs to
 * hear "findcode is not installed for /usr/bin/python3" and what to do about it.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface Launch {
  command: string;
  args: string[];
  /** Where the command came from, for messages: a setting, the Python extension, or PATH. */
  source: string;
}

export interface LaunchChoice {
  launch: Launch | undefined;
  /** One sentence per candidate that cannot work, in the order they were tried. */
  problems: string[];
}

const SERVE = ["-m", "findcode", "serve"];
// find_spec instead of import: answers in milliseconds without loading numpy or the model.
const HAS_FINDCODE = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('findcode') else 3)";

/** The candidates in order: explicit settings win and are never second-guessed by a fallback. */
export function candidates(serverCommand: string[], interpreter: string, selectedPython: string | undefined): Launch[] {
  const [command, ...args] = serverCommand;
  if (command !== undefined) {
    return [{ command, args, source: "the findcode.serverCommand setting" }];
  }
  if (interpreter !== "") {
    return [{ command: interpreter, args: SERVE, source: "the findcode.interpreter setting" }];
  }
  const found: Launch[] = [];
  if (selectedPython !== undefined) {
    found.push({ command: selectedPython, args: SERVE, source: "the Python interpreter selected in VS Code" });
  }
  found.push({ command: "findcode", args: ["serve"], source: "PATH" });
  return found;
}

export function findOnPath(command: string, envPath: string | undefined = process.env.PATH): string | undefined {
  if (command.includes("/") || command.includes("\\")) {
    return isExecutable(command) ? command : undefined;
  }
  const extensions = process.platform === "win32" ? ["", ".exe", ".cmd", ".bat"] : [""];
  for (const dir of (envPath ?? "").split(path.delimiter).filter(Boolean)) {
    for (const ext of extensions) {
      const candidate = path.join(dir, command + ext);
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function isPythonModuleLaunch(launch: Launch): boolean {
  return launch.args.join(" ") === SERVE.join(" ");
}

function runStatus(command: string, args: string[], timeoutMs: number): Promise<number | "timeout" | "error"> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "ignore" });
    const timer = setTimeout(() => {
      child.kill();
      resolve("timeout");
    }, timeoutMs);
    child.on("error", () => {
      clearTimeout(timer);
      resolve("error");
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
}

/** Why this launch cannot work, as a sentence with the fix in it; undefined when it looks fine. */
export async function problemWith(launch: Launch, timeoutMs = 10_000): Promise<string | undefined> {
  const resolved = findOnPath(launch.command);
  if (resolved === undefined) {
    if (launch.source === "PATH") {
      return "The `findcode` command is not on PATH. Install findcode (`pip install findcode`), select a Python interpreter that has it, or set findcode.interpreter.";
    }
    return `\`${launch.command}\` (from ${launch.source}) does not exist or is not executable. Fix the setting or pick another interpreter.`;
  }
  if (!isPythonModuleLaunch(launch)) {
    return undefined;
  }
  const status = await runStatus(resolved, ["-c", HAS_FINDCODE], timeoutMs);
  if (status === 0) {
    return undefined;
  }
  if (status === 3) {
    return `findcode is not installed for ${launch.command} (from ${launch.source}). Install it there (\`${launch.command} -m pip install findcode\`), or choose another interpreter, or set findcode.serverCommand.`;
  }
  return `${launch.command} (from ${launch.source}) did not run as a Python interpreter (${status === "timeout" ? "it timed out" : `exit status ${String(status)}`}). Set findcode.interpreter to a working Python 3.11+.`;
}

/** The first candidate that can work, and what is wrong with the ones before it. */
export async function chooseLaunch(list: Launch[], check = problemWith): Promise<LaunchChoice> {
  const problems: string[] = [];
  for (const launch of list) {
    const problem = await check(launch);
    if (problem === undefined) {
      return { launch, problems };
    }
    problems.push(problem);
  }
  return { launch: undefined, problems };
}

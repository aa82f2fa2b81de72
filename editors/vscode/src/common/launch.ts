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

export interface Problem {
  launch: Launch;
  /** One sentence with the fix in it. */
  text: string;
  /** The command ran as Python but has no findcode: the interpreter to install it into. */
  lacksFindcode: boolean;
}

export interface LaunchChoice {
  launch: Launch | undefined;
  /** What is wrong with each candidate tried before it, in order. */
  problems: Problem[];
}

/** Pythons found without a findcode setting, in the order VS Code's Python tooling prefers them. */
export interface FoundPythons {
  /** The interpreter selected with the Python extension. */
  selected: string | undefined;
  /** Virtual environments inside the workspace folders (see workspaceEnvironments). */
  workspace: string[];
  /** The python.defaultInterpreterPath setting. */
  defaultPath: string | undefined;
}

const SERVE = ["-m", "findcode", "serve"];
// Cheap (no model, no index) and it imports findcode, so a broken install fails here too.
const VERSION = ["-m", "findcode", "--version"];

/** The candidates in order: explicit settings win and are never second-guessed by a fallback. */
export function candidates(serverCommand: string[], interpreter: string, found: FoundPythons): Launch[] {
  const [command, ...args] = serverCommand;
  if (command !== undefined) {
    return [{ command, args, source: "the findcode.serverCommand setting" }];
  }
  if (interpreter !== "") {
    return [{ command: interpreter, args: SERVE, source: "the findcode.interpreter setting" }];
  }
  const pythons: [string | undefined, string][] = [
    [found.selected, "the Python interpreter selected in VS Code"],
    ...found.workspace.map((python): [string, string] => [python, "a virtual environment in the workspace"]),
    [found.defaultPath, "the python.defaultInterpreterPath setting"],
  ];
  const list: Launch[] = [];
  for (const [python, source] of pythons) {
    if (python !== undefined && python !== "" && !list.some((launch) => launch.command === python)) {
      list.push({ command: python, args: SERVE, source });
    }
  }
  list.push({ command: "findcode", args: ["serve"], source: "PATH" });
  return list;
}

/** The Pythons of `.venv`, `venv` and `.tox/*` / `.nox/*` environments in these folders. */
export function workspaceEnvironments(folders: readonly string[], platform = process.platform): string[] {
  const python = platform === "win32" ? path.join("Scripts", "python.exe") : path.join("bin", "python");
  const pythons: string[] = [];
  for (const folder of folders) {
    const envs = [".venv", "venv"].map((name) => path.join(folder, name));
    for (const runner of [".tox", ".nox"]) {
      try {
        const names = fs.readdirSync(path.join(folder, runner)).sort();
        envs.push(...names.map((name) => path.join(folder, runner, name)));
      } catch {
        // no such folder: nothing to add
      }
    }
    pythons.push(...envs.map((env) => path.join(env, python)).filter(isExecutable));
  }
  return pythons;
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

function run(command: string, args: string[], timeoutMs: number): Promise<{ status: number | "timeout" | "error"; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill();
      resolve({ status: "timeout", stderr });
    }, timeoutMs);
    child.on("error", () => {
      clearTimeout(timer);
      resolve({ status: "error", stderr });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stderr });
    });
  });
}

/** The command that installs findcode for this Python, as a person would type it. */
export function installCommand(python: string): string {
  return `${/\s/.test(python) ? `"${python}"` : python} -m pip install findcode`;
}

/** Why this launch cannot work; undefined when `<python> -m findcode --version` answers. */
export async function problemWith(launch: Launch, timeoutMs = 10_000): Promise<Problem | undefined> {
  const problem = (text: string, lacksFindcode = false): Problem => ({ launch, text, lacksFindcode });
  const resolved = findOnPath(launch.command);
  if (resolved === undefined) {
    if (launch.source === "PATH") {
      return problem(
        `The \`findcode\` command is not on PATH. Install findcode (\`${installCommand(defaultPython())}\`), select a Python interpreter that has it, or set findcode.interpreter.`,
      );
    }
    return problem(`\`${launch.command}\` (from ${launch.source}) does not exist or is not executable. Fix the setting or pick another interpreter.`);
  }
  if (!isPythonModuleLaunch(launch)) {
    return undefined;
  }
  const { status, stderr } = await run(resolved, VERSION, timeoutMs);
  if (status === 0) {
    return undefined;
  }
  if (/No module named '?findcode'?\s*$/m.test(stderr)) {
    return problem(
      `findcode is not installed for ${launch.command} (from ${launch.source}). Install it there (\`${installCommand(launch.command)}\`), or choose another interpreter, or set findcode.serverCommand.`,
      true,
    );
  }
  const why = status === "timeout" ? "it timed out" : `exit status ${String(status)}`;
  const lastLine = stderr.trim().split("\n").at(-1) ?? "";
  return problem(
    `\`${launch.command} ${VERSION.join(" ")}\` (from ${launch.source}) failed (${why})${lastLine === "" ? "" : `: ${lastLine}`}. Set findcode.interpreter to a working Python 3.11+ with findcode.`,
  );
}

function defaultPython(): string {
  return process.platform === "win32" ? "python" : "python3";
}

/** The first candidate that can work, and what is wrong with the ones before it. */
export async function chooseLaunch(list: Launch[], check = problemWith): Promise<LaunchChoice> {
  const problems: Problem[] = [];
  for (const launch of list) {
    const problem = await check(launch);
    if (problem === undefined) {
      return { launch, problems };
    }
    problems.push(problem);
  }
  return { launch: undefined, problems };
}

/**
 * One message for "nothing can start the server": a lone candidate (an explicit setting) in its
 * own words, else the install command for the best Python found and what was tried.
 */
export function nothingWorks(problems: readonly Problem[]): string {
  const [only] = problems;
  if (only === undefined) {
    return "No way to start the findcode server was found.";
  }
  if (problems.length === 1) {
    return only.text;
  }
  const python = problems.find((problem) => problem.lacksFindcode)?.launch.command ?? defaultPython();
  const tried = problems.map((problem) => problem.launch.source).join(", ");
  return `No Python with findcode was found (tried ${tried}). Install it with \`${installCommand(python)}\`, or choose the Python interpreter or findcode executable to use.`;
}

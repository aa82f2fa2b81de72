/**
 * The Pythons VS Code knows of: the interpreter selected through the ms-python extension's
 * public API when that extension is installed, and the python.defaultInterpreterPath setting.
 */
import * as vscode from "vscode";

// The slice of ms-python's exported API used here (see @vscode/python-extension).
interface EnvironmentPath {
  readonly path: string;
}
interface PythonEnvironments {
  getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath;
  resolveEnvironment(env: EnvironmentPath): Promise<{ executable: { uri: vscode.Uri | undefined } } | undefined>;
  readonly onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
}
interface PythonApi {
  environments?: PythonEnvironments;
}

const PYTHON_EXTENSION = "ms-python.python";

async function environments(): Promise<PythonEnvironments | undefined> {
  const extension = vscode.extensions.getExtension<PythonApi | undefined>(PYTHON_EXTENSION);
  if (extension === undefined) {
    return undefined;
  }
  const api = extension.isActive ? extension.exports : await extension.activate();
  return api?.environments;
}

/** The selected interpreter's executable, or undefined without ms-python or a selection. */
export async function selectedInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  try {
    const envs = await environments();
    if (envs === undefined) {
      return undefined;
    }
    const resolved = await envs.resolveEnvironment(envs.getActiveEnvironmentPath(resource));
    return resolved?.executable.uri?.fsPath;
  } catch {
    // A broken or older Python extension must not stop findcode: PATH is still tried.
    return undefined;
  }
}

/** Fires when the user picks another interpreter, so the server restarts with it. */
export async function onInterpreterChange(listener: () => void): Promise<vscode.Disposable> {
  try {
    const envs = await environments();
    if (envs !== undefined) {
      return envs.onDidChangeActiveEnvironmentPath(() => { listener(); });
    }
  } catch {
    // Same as above: without the event, a restart command still picks up a new interpreter.
  }
  return new vscode.Disposable(() => undefined);
}

export function hasPythonExtension(): boolean {
  return vscode.extensions.getExtension(PYTHON_EXTENSION) !== undefined;
}

/** python.defaultInterpreterPath, which the Python extension reads when nothing is selected. */
export function defaultInterpreterPath(): string | undefined {
  const value = vscode.workspace.getConfiguration("python").get<unknown>("defaultInterpreterPath");
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

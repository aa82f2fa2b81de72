// Finding the server: the order of the places looked in, workspace environments on disk, and the
// check of each candidate with real processes (missing programs, a Python without findcode).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { recorded, reset, Uri, vscode } from "./support/vscodeMock";
import { settingFor } from "../src/common/chooseServer";
import { candidates, chooseLaunch, findOnPath, Launch, nothingWorks, problemWith, workspaceEnvironments } from "../src/common/launch";
import { notifyServerProblem } from "../src/common/notify";

let dir = "";
let bare = "";

const line = (launch: Launch): string => [launch.command, ...launch.args].join(" ");
const none = { selected: undefined, workspace: [], defaultPath: undefined };

function executable(file: string, script: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, script, { mode: 0o755 });
  return file;
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "findcode-launch-"));
  // A Python that cannot see site-packages, so findcode (installed there) is missing for it.
  bare = executable(path.join(dir, "bare-python"), '#!/bin/sh\nexec python3 -S -I "$@"\n');
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("launch candidates", () => {
  it("explicit settings win, and are the only candidate", () => {
    const found = { selected: "/venv/python", workspace: ["/w/.venv/bin/python"], defaultPath: "/usr/bin/python3" };
    assert.deepEqual(candidates(["/opt/fc/bin/findcode", "serve", "--log", "debug"], "/usr/bin/python3", found), [
      { command: "/opt/fc/bin/findcode", args: ["serve", "--log", "debug"], source: "the findcode.serverCommand setting" },
    ]);
    assert.deepEqual(candidates([], "/usr/bin/python3", found).map(line), ["/usr/bin/python3 -m findcode serve"]);
  });

  it("otherwise: the selected interpreter, workspace environments, python.defaultInterpreterPath, PATH", () => {
    const found = {
      selected: "/w/.venv/bin/python",
      workspace: ["/w/.venv/bin/python", "/w/.tox/py311/bin/python"],
      defaultPath: "/opt/py/bin/python3",
    };
    assert.deepEqual(candidates([], "", found).map(line), [
      "/w/.venv/bin/python -m findcode serve",
      "/w/.tox/py311/bin/python -m findcode serve",
      "/opt/py/bin/python3 -m findcode serve",
      "findcode serve",
    ]);
    assert.deepEqual(candidates([], "", none).map((c) => c.source), ["PATH"]);
  });

  it("finds .venv, venv, .tox/* and .nox/* environments in each workspace folder", () => {
    const w = path.join(dir, "w");
    const python = (env: string) => executable(path.join(w, env, "bin", "python"), "#!/bin/sh\n");
    const expected = [python(".venv"), python("venv"), python(".tox/lint"), python(".tox/py311"), python(".nox/tests")];
    fs.mkdirSync(path.join(w, "env-without-python", "bin"), { recursive: true });
    assert.deepEqual(workspaceEnvironments([w, path.join(dir, "missing")], "linux"), expected);
  });
});

describe("launch problems (real processes)", () => {
  it("finds executables on PATH and only executables", () => {
    assert.equal(findOnPath("bare-python", dir), bare);
    fs.writeFileSync(path.join(dir, "not-exec"), "");
    assert.equal(findOnPath("not-exec", dir), undefined);
    assert.equal(findOnPath("no-such-program-xyz", dir), undefined);
  });

  it("accepts a Python that has findcode, asking it `-m findcode --version`", async () => {
    assert.equal(await problemWith({ command: "python3", args: ["-m", "findcode", "serve"], source: "test" }), undefined);
    const argsFile = path.join(dir, "args");
    const recorder = executable(path.join(dir, "recording-python"), `#!/bin/sh\necho "$@" > ${argsFile}\n`);
    assert.equal(await problemWith({ command: recorder, args: ["-m", "findcode", "serve"], source: "test" }), undefined);
    assert.equal(fs.readFileSync(argsFile, "utf8").trim(), "-m findcode --version");
  });

  it("says how to install findcode for a Python that lacks it", async () => {
    const launch = { command: bare, args: ["-m", "findcode", "serve"], source: "the findcode.interpreter setting" };
    assert.deepEqual(await problemWith(launch), {
      launch,
      text: `findcode is not installed for ${bare} (from the findcode.interpreter setting). Install it there (\`${bare} -m pip install findcode\`), or choose another interpreter, or set findcode.serverCommand.`,
      lacksFindcode: true,
    });
  });

  it("names a missing interpreter or command and the setting it came from", async () => {
    const missing = path.join(dir, "nope", "python");
    const fromSetting = await problemWith({ command: missing, args: ["-m", "findcode", "serve"], source: "the findcode.interpreter setting" });
    assert.match(fromSetting?.text ?? "", /does not exist or is not executable/);
    const onPath = await problemWith({ command: "findcode-not-installed-xyz", args: ["serve"], source: "PATH" });
    assert.match(onPath?.text ?? "", /not on PATH/);
  });

  it("says when the interpreter is not a working Python, with its last words", async () => {
    const broken = executable(path.join(dir, "broken-python"), "#!/bin/sh\necho 'bad interpreter' >&2\nexit 7\n");
    const problem = await problemWith({ command: broken, args: ["-m", "findcode", "serve"], source: "test" });
    assert.match(problem?.text ?? "", /failed \(exit status 7\): bad interpreter/);
    assert.equal(problem?.lacksFindcode, false);
  });

  it("falls back from a selected Python without findcode to the next candidate", async () => {
    const choice = await chooseLaunch([
      { command: bare, args: ["-m", "findcode", "serve"], source: "the Python interpreter selected in VS Code" },
      { command: "python3", args: ["-m", "findcode", "serve"], source: "PATH" },
    ]);
    assert.equal(choice.launch?.command, "python3");
    assert.equal(choice.problems.length, 1);
    assert.match(choice.problems[0]?.text ?? "", /not installed for .*bare-python/);
  });

  it("when nothing works, gives the pip command for the Python found and what was tried", async () => {
    const venvPython = executable(path.join(dir, "proj", ".venv", "bin", "python"), '#!/bin/sh\nexec python3 -S -I "$@"\n');
    const list = candidates([], "", { selected: undefined, workspace: [venvPython], defaultPath: undefined });
    const choice = await chooseLaunch(list, (launch) =>
      problemWith(launch.source === "PATH" ? { ...launch, command: "findcode-not-installed-xyz" } : launch),
    );
    assert.equal(choice.launch, undefined);
    assert.equal(
      nothingWorks(choice.problems),
      `No Python with findcode was found (tried a virtual environment in the workspace, PATH). Install it with \`${venvPython} -m pip install findcode\`, or choose the Python interpreter or findcode executable to use.`,
    );
  });
});

describe("choosing the server by hand", () => {
  beforeEach(reset);

  it("stores a Python as findcode.interpreter and anything else as findcode.serverCommand", () => {
    assert.deepEqual(settingFor("/w/.venv/bin/python3.12"), { key: "interpreter", value: "/w/.venv/bin/python3.12" });
    assert.deepEqual(settingFor("/usr/bin/python3"), { key: "interpreter", value: "/usr/bin/python3" });
    assert.deepEqual(settingFor("/opt/fc/bin/findcode"), { key: "serverCommand", value: ["/opt/fc/bin/findcode", "serve"] });
  });

  it("the notification's button opens a file dialog and stores the file in the workspace settings", async () => {
    vscode.workspace.workspaceFolders = [{ name: "w", uri: Uri.file("/w"), index: 0 }];
    let buttons: string[] = [];
    recorded.answer = (_text, offered) => {
      buttons = offered;
      return offered[0];
    };
    recorded.openDialog = ["/w/.venv/bin/python"];
    await notifyServerProblem("No Python with findcode was found.", "launch", vscode.window.createOutputChannel(), () => Promise.resolve());
    assert.deepEqual(buttons, ["Choose Python or findcode…", "Restart Server", "Show Log"]);
    const workspace = vscode.ConfigurationTarget.Workspace;
    assert.deepEqual(recorded.updates, [
      { key: "serverCommand", value: undefined, target: workspace },
      { key: "interpreter", value: "/w/.venv/bin/python", target: workspace },
    ]);
  });
});

// Choosing the server command, with real processes: missing programs, a Python without findcode.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { candidates, chooseLaunch, findOnPath, problemWith } from "../src/common/launch";

let dir = "";
let bare = "";

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "findcode-launch-"));
  // A Python that cannot see site-packages, so findcode (installed there) is missing for it.
  bare = path.join(dir, "bare-python");
  fs.writeFileSync(bare, '#!/bin/sh\nexec python3 -S -I "$@"\n', { mode: 0o755 });
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("launch candidates", () => {
  it("explicit settings win, and are the only candidate", () => {
    assert.deepEqual(candidates(["/opt/fc/bin/findcode", "serve", "--log", "debug"], "/usr/bin/python3", "/venv/python"), [
      { command: "/opt/fc/bin/findcode", args: ["serve", "--log", "debug"], source: "the findcode.serverCommand setting" },
    ]);
    assert.deepEqual(
      candidates([], "/usr/bin/python3", "/venv/python").map((c) => [c.command, ...c.args].join(" ")),
      ["/usr/bin/python3 -m findcode serve"],
    );
  });

  it("otherwise tries the selected interpreter, then findcode on PATH", () => {
    assert.deepEqual(
      candidates([], "", "/venv/bin/python").map((c) => [c.command, ...c.args].join(" ")),
      ["/venv/bin/python -m findcode serve", "findcode serve"],
    );
    assert.deepEqual(
      candidates([], "", undefined).map((c) => c.source),
      ["PATH"],
    );
  });
});

describe("launch problems (real processes)", () => {
  it("finds executables on PATH and only executables", () => {
    assert.equal(findOnPath("bare-python", dir), bare);
    fs.writeFileSync(path.join(dir, "not-exec"), "");
    assert.equal(findOnPath("not-exec", dir), undefined);
    assert.equal(findOnPath("no-such-program-xyz", dir), undefined);
  });

  it("accepts a Python that has findcode", async () => {
    assert.equal(await problemWith({ command: "python3", args: ["-m", "findcode", "serve"], source: "test" }), undefined);
  });

  it("says how to install findcode for a Python that lacks it", async () => {
    const problem = await problemWith({ command: bare, args: ["-m", "findcode", "serve"], source: "the findcode.interpreter setting" });
    assert.equal(
      problem,
      `findcode is not installed for ${bare} (from the findcode.interpreter setting). Install it there (\`${bare} -m pip install findcode\`), or choose another interpreter, or set findcode.serverCommand.`,
    );
  });

  it("names a missing interpreter or command and the setting it came from", async () => {
    const missing = path.join(dir, "nope", "python");
    assert.match((await problemWith({ command: missing, args: ["-m", "findcode", "serve"], source: "the findcode.interpreter setting" })) ?? "", /does not exist or is not executable/);
    const onPath = await problemWith({ command: "findcode-not-installed-xyz", args: ["serve"], source: "PATH" });
    assert.match(onPath ?? "", /not on PATH/);
  });

  it("says when the interpreter is not a working Python", async () => {
    const broken = path.join(dir, "broken-python");
    fs.writeFileSync(broken, "#!/bin/sh\nexit 7\n", { mode: 0o755 });
    assert.match((await problemWith({ command: broken, args: ["-m", "findcode", "serve"], source: "test" })) ?? "", /exit status 7/);
  });

  it("falls back from a selected Python without findcode to the next candidate", async () => {
    const choice = await chooseLaunch([
      { command: bare, args: ["-m", "findcode", "serve"], source: "the Python interpreter selected in VS Code" },
      { command: "python3", args: ["-m", "findcode", "serve"], source: "PATH" },
    ]);
    assert.equal(choice.launch?.command, "python3");
    assert.equal(choice.problems.length, 1);
    assert.match(choice.problems[0] ?? "", /not installed for .*bare-python/);
  });
});

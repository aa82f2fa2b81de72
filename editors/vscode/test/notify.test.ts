// A server that cannot start: one notification per cause, in one wording, however many restarts
// and commands follow; commands show that same notification again instead of new toasts.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type * as vs from "vscode";
import { recorded, reset, Selection, Uri, vscode } from "./support/vscodeMock";
import { COMMAND_IDS, registerCommands } from "../src/common/commands";
import { ProblemNotice } from "../src/common/notify";
import { ServerManager } from "../src/common/server";
import { StatusItem } from "../src/common/statusItem";

const MISSING =
  "findcode: `/nonexistent/findcode-server` (from the findcode.serverCommand setting) does not exist or is not executable. Fix the setting or pick another interpreter.";

async function run(id: string): Promise<void> {
  await recorded.commands.get(id)?.();
}

describe("server problems", () => {
  beforeEach(reset);

  it("are shown once per cause, and commands show the same notification, not new wordings", async () => {
    recorded.configuration = { serverCommand: ["/nonexistent/findcode-server", "serve"] };
    const log = vscode.window.createOutputChannel() as unknown as vs.LogOutputChannel;
    const server = new ServerManager(log, new StatusItem());
    const disposables = registerCommands(server, log);
    try {
      await server.restart();
      // The Python extension's interpreter event and a settings edit restart it again.
      await server.restartForChange();
      await server.restartForChange();
      assert.deepEqual(recorded.messages, [{ level: "error", text: MISSING }]);

      vscode.window.activeTextEditor = {
        document: { uri: Uri.file("/w/a.py"), getText: () => "" },
        selection: new Selection(0, 0, 0, 0),
      };
      for (const id of [COMMAND_IDS.findByMeaning, COMMAND_IDS.findSimilar, COMMAND_IDS.reindex, COMMAND_IDS.showStatus]) {
        await run(id);
      }
      assert.equal(recorded.quickPicks.length, 0, "no search list for a server that failed");
      assert.deepEqual(new Set(recorded.messages.map((m) => `${m.level}: ${m.text}`)), new Set([`error: ${MISSING}`]));
      assert.equal(recorded.messages.length, 5, "each command shows the one notification again");

      // Asked for by a person, a restart that fails the same way says so again.
      await run(COMMAND_IDS.restart);
      assert.equal(recorded.messages.length, 6);
    } finally {
      disposables.forEach((d) => { d.dispose(); });
      await server.dispose();
    }
  });

  it("while the server starts, commands say so in the status bar, not in a toast", async () => {
    const server = new ServerManager(vscode.window.createOutputChannel() as unknown as vs.LogOutputChannel, new StatusItem());
    server.explainNotRunning();
    assert.deepEqual(recorded.statusBarMessages, ["$(loading~spin) findcode: the server is starting"]);
    assert.deepEqual(recorded.messages, []);
    await server.dispose();
  });

  it("a new cause is shown, a repeat is not, until cleared", () => {
    const shown: string[] = [];
    const notice = new ProblemNotice((message) => {
      shown.push(message);
      return Promise.resolve();
    });
    assert.equal(notice.remind(), false);
    notice.report("A", "launch");
    notice.report("A", "launch");
    notice.report("B", "run");
    assert.equal(notice.remind(), true);
    notice.clear();
    assert.equal(notice.active, false);
    notice.report("B", "run");
    assert.deepEqual(shown, ["A", "B", "B", "B"]);
  });
});

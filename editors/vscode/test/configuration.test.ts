// Settings for a running server: the workspace/configuration answer and what a change needs.
import assert from "node:assert/strict";
import { describe, it, beforeEach } from "node:test";
import { recorded, reset, Uri, vscode } from "./support/vscodeMock";
import { CancellationTokenSource, ConfigurationParams, ResponseError } from "vscode-languageclient/node";
import { answerConfiguration, settingsChange } from "../src/common/configuration";
import { currentPathVariables, readSettings, toInitializationOptions } from "../src/common/settings";

const token = new CancellationTokenSource().token;
const findcodeSection = () => toInitializationOptions(readSettings(), currentPathVariables());
const event = (...keys: string[]) => ({
  // VS Code reports a change to `findcode.model` as affecting `findcode` too.
  affectsConfiguration: (section: string) => keys.some((key) => key === section || key.startsWith(`${section}.`)),
});

describe("workspace/configuration", () => {
  beforeEach(reset);

  it("answers the findcode section with the settings, paths expanded, not null", async () => {
    vscode.workspace.workspaceFolders = [{ name: "proj", uri: Uri.file("/w/proj"), index: 0 }];
    recorded.configuration = { indexDir: "${workspaceFolder}/.idx", model: "~/m.gguf", threads: 2 };
    const params: ConfigurationParams = { items: [{ section: "findcode" }] };
    const answer = await answerConfiguration(params, token, () => { throw new Error("not asked"); }, findcodeSection);
    assert.ok(Array.isArray(answer));
    const [section] = answer as Record<string, unknown>[];
    assert.equal(section?.indexDir, "/w/proj/.idx");
    assert.equal(section?.model, `${currentPathVariables().home}/m.gguf`);
    assert.equal(section?.threads, 2);
  });

  it("leaves other sections to the client's own answer, in order", async () => {
    const params: ConfigurationParams = { items: [{ section: "editor" }, { section: "findcode" }, { section: "files" }] };
    const next = (asked: ConfigurationParams) => asked.items.map((item) => `vscode:${item.section ?? ""}`);
    const answer = await answerConfiguration(params, token, next, () => findcodeSection());
    assert.deepEqual((answer as unknown[]).map((value) => (typeof value === "string" ? value : "findcode")), [
      "vscode:editor",
      "findcode",
      "vscode:files",
    ]);
    const failed = new ResponseError<void>(-32603, "broken");
    assert.equal(await answerConfiguration(params, token, () => failed, findcodeSection), failed);
  });
});

describe("settings changes", () => {
  it("restart the process only for the settings that choose it", () => {
    assert.equal(settingsChange(event("findcode.interpreter")), "restart");
    assert.equal(settingsChange(event("findcode.serverCommand")), "restart");
    assert.equal(settingsChange(event("python.defaultInterpreterPath")), "restart");
    assert.equal(settingsChange(event("findcode.model", "findcode.interpreter")), "restart");
  });

  it("reach the running server as didChangeConfiguration otherwise", () => {
    for (const key of ["model", "indexDir", "cacheDir", "exclude", "languages", "watch", "maxFileBytes", "threads", "resultLimit"]) {
      assert.equal(settingsChange(event(`findcode.${key}`)), "notify", key);
    }
    assert.equal(settingsChange(event("editor.fontSize")), "none");
  });
});

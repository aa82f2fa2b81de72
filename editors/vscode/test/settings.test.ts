// settings -> initializationOptions, with the camelCase names server/findcode/config.py parses.
import assert from "node:assert/strict";
import { describe, it, beforeEach } from "node:test";
import { recorded, reset, Uri, vscode } from "./support/vscodeMock";
import { expandPath, readSettings, toInitializationOptions } from "../src/common/settings";

const vars = { home: "/home/ada", workspaceFolder: "/w/proj" };

describe("settings", () => {
  beforeEach(reset);

  it("defaults give the server its own defaults (nulls), never empty strings or []", () => {
    const options = toInitializationOptions(readSettings(), vars);
    assert.deepEqual(options, {
      model: null,
      embedding: null,
      indexDir: null,
      cacheDir: null,
      exclude: [],
      languages: null,
      maxFileBytes: 1_000_000,
      watch: true,
      threads: null,
      searchDefaults: { limit: 20, mode: "hybrid" },
      pauseOnBattery: false,
    });
  });

  it("maps every setting to its option, expanding ~ and ${workspaceFolder}", () => {
    recorded.configuration = {
      model: "~/models/qwen3-embedding-0.6b.gguf",
      indexDir: "${workspaceFolder}/../.findcode-index",
      cacheDir: "~/ci/findcode-cache",
      exclude: ["vendor/**", "**/*_pb2.py"],
      languages: ["python", "go"],
      watch: false,
      maxFileBytes: 250_000,
      threads: 2,
      pauseOnBattery: true,
      resultLimit: 50,
      searchMode: "semantic",
    };
    assert.deepEqual(toInitializationOptions(readSettings(), vars), {
      model: "/home/ada/models/qwen3-embedding-0.6b.gguf",
      embedding: null,
      indexDir: "/w/proj/../.findcode-index",
      cacheDir: "/home/ada/ci/findcode-cache",
      exclude: ["vendor/**", "**/*_pb2.py"],
      languages: ["python", "go"],
      maxFileBytes: 250_000,
      watch: false,
      threads: 2,
      searchDefaults: { limit: 50, mode: "semantic" },
      pauseOnBattery: true,
    });
  });

  it("replaces wrong values (hand-edited settings.json) with defaults instead of sending them", () => {
    recorded.configuration = {
      exclude: "vendor/**",
      languages: ["python", 3],
      resultLimit: 5000,
      searchMode: "fuzzy",
      threads: -1,
      maxFileBytes: "big",
      serverCommand: ["", "findcode", "serve"],
      interpreter: "  /usr/bin/python3 ",
    };
    const settings = readSettings();
    assert.deepEqual(settings.exclude, []);
    assert.deepEqual(settings.languages, ["python"]);
    assert.equal(settings.resultLimit, 200, "capped at protocol MAX_LIMIT");
    assert.equal(settings.searchMode, "hybrid");
    assert.equal(settings.threads, 0);
    assert.equal(settings.maxFileBytes, 1_000_000);
    assert.deepEqual(settings.serverCommand, ["findcode", "serve"]);
    assert.equal(settings.interpreter, "/usr/bin/python3");
  });

  it("passes the embedding server's settings, dropping values of the wrong type", () => {
    recorded.configuration = {
      embedding: {
        url: " http://gpu-box:8000/v1 ",
        model: "Qwen/Qwen3-Embedding-0.6B",
        apiKeyEnv: "FINDCODE_EMBEDDING_KEY",
        dimensions: 1024,
        batchSize: "32",
        concurrency: 4,
        profile: "",
      },
    };
    assert.deepEqual(toInitializationOptions(readSettings(), vars).embedding, {
      url: "http://gpu-box:8000/v1",
      model: "Qwen/Qwen3-Embedding-0.6B",
      apiKeyEnv: "FINDCODE_EMBEDDING_KEY",
      dimensions: 1024,
      concurrency: 4,
    });
    recorded.configuration = { embedding: { url: "", model: "x" } };
    assert.equal(readSettings().embedding, null, "no url: the local model");
    recorded.configuration = { embedding: "http://gpu-box:8000/v1" };
    assert.equal(readSettings().embedding, null);
  });

  it("expands paths only where the variables are known", () => {
    assert.equal(expandPath("${userHome}/m.gguf", vars), "/home/ada/m.gguf");
    assert.equal(expandPath("~", vars), "/home/ada");
    assert.equal(expandPath("a~/b", vars), "a~/b");
    assert.equal(expandPath("${workspaceFolder}/i", { home: "/h", workspaceFolder: undefined }), "${workspaceFolder}/i");
  });

  it("uses the first workspace folder for ${workspaceFolder}", async () => {
    const { currentPathVariables } = await import("../src/common/settings");
    vscode.workspace.workspaceFolders = [{ name: "proj", uri: Uri.file("/w/proj"), index: 0 }];
    assert.equal(currentPathVariables().workspaceFolder, "/w/proj");
  });
});

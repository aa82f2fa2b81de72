// The shipped artifact: `npm run package` builds a .vsix whose manifest, commands and settings are
// right, and whose bundled extension activates, registers every contributed command, and explains
// a server that cannot start.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as yauzl from "yauzl";
import { recorded, reset } from "./support/vscodeMock";

const root = path.resolve(__dirname, "..", "..");
const vsix = path.join(root, "findcode.vsix");

interface Manifest {
  name: string;
  publisher: string;
  main: string;
  engines: { vscode: string };
  activationEvents: string[];
  contributes: {
    commands: { command: string; title: string; category: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    configuration: { properties: Record<string, { type: string; scope?: string; default: unknown }> };
  };
}

function readZip(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (error, zip) => {
      if (error !== null) {
        reject(error);
        return;
      }
      const entries = new Map<string, Buffer>();
      zip.on("entry", (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError !== null) {
            reject(streamError);
            return;
          }
          const chunks: Buffer[] = [];
          stream.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
          });
          stream.on("end", () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on("end", () => { resolve(entries); });
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}

let files = new Map<string, Buffer>();
let manifest: Manifest;

before(async () => {
  fs.rmSync(vsix, { force: true });
  execFileSync("npm", ["run", "--silent", "package"], { cwd: root, stdio: "pipe" });
  files = await readZip(vsix);
  manifest = JSON.parse(files.get("extension/package.json")?.toString() ?? "{}") as Manifest;
});

describe("the .vsix", () => {
  it("holds the bundle, the manifest and the README, and no node_modules or sources", () => {
    const names = [...files.keys()].sort();
    assert.ok(names.includes("extension.vsixmanifest"));
    assert.ok(names.includes("extension/dist/extension.js"));
    assert.ok(names.includes("extension/readme.md"));
    assert.deepEqual(
      names.filter((n) => n.includes("node_modules") || n.endsWith(".ts") || n.includes("/test/")),
      [],
    );
    const vsixManifest = files.get("extension.vsixmanifest")?.toString() ?? "";
    assert.match(vsixManifest, /<Identity [^>]*Id="findcode"[^>]*Version="0\.1\.0"[^>]*Publisher="findcode"/);
  });

  it("declares the engine, activation and entry point", () => {
    assert.equal(manifest.engines.vscode, "^1.82.0");
    assert.deepEqual(manifest.activationEvents, ["onStartupFinished"]);
    assert.equal(manifest.main, "./dist/extension.js");
  });

  it("contributes the eight commands in category findcode, Find Similar in the editor menu", () => {
    const commands = Object.fromEntries(manifest.contributes.commands.map((c) => [c.command, `${c.category}: ${c.title}`]));
    assert.deepEqual(commands, {
      "findcode.findByMeaning": "findcode: Find Code by Meaning",
      "findcode.findSimilar": "findcode: Find Similar Code",
      "findcode.reindexWorkspace": "findcode: Re-index Workspace",
      "findcode.showStatus": "findcode: Show Index Status",
      "findcode.showLog": "findcode: Show Log",
      "findcode.restartServer": "findcode: Restart Server",
      "findcode.pauseIndexing": "findcode: Pause Indexing",
      "findcode.resumeIndexing": "findcode: Resume Indexing",
    });
    assert.deepEqual(
      manifest.contributes.menus["editor/context"]?.map((m) => m.command),
      ["findcode.findSimilar"],
    );
  });

  // A `machine` setting is read from User settings only (Remote settings in a remote window) and
  // is missing from the workspace tabs. The ones that name the server machine's paths or cores
  // (interpreter, serverCommand, model, indexDir, cacheDir, threads) are `machine-overridable`: still
  // per machine, and a workspace can set them too.
  it("contributes every setting with a scope and the documented default", () => {
    const props = manifest.contributes.configuration.properties;
    const summary = Object.fromEntries(Object.entries(props).map(([key, p]) => [key, [p.type, p.scope, p.default]]));
    assert.deepEqual(summary, {
      "findcode.serverCommand": ["array", "machine-overridable", []],
      "findcode.interpreter": ["string", "machine-overridable", ""],
      "findcode.model": ["string", "machine-overridable", ""],
      "findcode.embedding": ["object", "machine-overridable", {}],
      "findcode.indexDir": ["string", "machine-overridable", ""],
      "findcode.cacheDir": ["string", "machine-overridable", ""],
      "findcode.exclude": ["array", "window", []],
      "findcode.languages": ["array", "window", []],
      "findcode.watch": ["boolean", "window", true],
      "findcode.maxFileBytes": ["integer", "window", 1000000],
      "findcode.threads": ["integer", "machine-overridable", 0],
      "findcode.pauseOnBattery": ["boolean", "machine-overridable", false],
      "findcode.resultLimit": ["integer", "window", 20],
      "findcode.searchMode": ["string", "window", "hybrid"],
      "findcode.trace.server": ["string", "window", "off"],
    });
  });
});

describe("the bundled extension", () => {
  it("activates, registers exactly the contributed commands, and explains a server that cannot start", async () => {
    reset();
    const bundle = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "findcode-vsix-")), "extension.js");
    fs.writeFileSync(bundle, files.get("extension/dist/extension.js") ?? "");
    recorded.configuration = { serverCommand: ["/nonexistent/findcode-server", "serve"] };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const extension = require(bundle) as { activate(c: unknown): Promise<void>; deactivate(): Promise<void> };
    await extension.activate({ subscriptions: [] });
    assert.deepEqual(
      [...recorded.commands.keys()].sort(),
      manifest.contributes.commands.map((c) => c.command).sort(),
    );
    for (let i = 0; i < 100 && recorded.messages.length === 0; i++) await sleep(20);
    assert.deepEqual(recorded.messages, [
      {
        level: "error",
        text: "findcode: `/nonexistent/findcode-server` (from the findcode.serverCommand setting) does not exist or is not executable. Fix the setting or pick another interpreter.",
      },
    ]);
    assert.equal(recorded.statusBarItems[0]?.text, "$(error) findcode");
    assert.equal(recorded.statusBarItems[0]?.command, "findcode.showLog");
    await extension.deactivate();
  });
});

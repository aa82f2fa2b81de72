// The real server: starts `python3 -m findcode serve` the way the extension does (same launch
// checks, same initializationOptions from the same settings code), sends the requests the
// extension sends, and checks what the extension would render from the answers.
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CancellationToken,
  createMessageConnection,
  MessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";
import type { ConfigurationParams } from "vscode-languageclient/node";
import { recorded, reset, Uri, vscode } from "./support/vscodeMock";
import { answerConfiguration } from "../src/common/configuration";
import { formatResult, Root } from "../src/common/format";
import { candidates, chooseLaunch } from "../src/common/launch";
import { ProgressTracker, ProgressValue } from "../src/common/progress";
import { ChangedSettings, COMMAND_REINDEX, SEARCH, SearchResponse, SIMILAR, Status, STATUS } from "../src/common/protocol";
import { searchParams, similarParams, statusParams } from "../src/common/requests";
import { currentPathVariables, readSettings, toInitializationOptions } from "../src/common/settings";
import { statusView } from "../src/common/statusModel";

const FIXTURE = path.resolve(__dirname, "..", "..", "test", "fixtures", "workspace");
const PYTHON = process.env.FINDCODE_TEST_PYTHON ?? "python3";
const INDEX_TIMEOUT_MS = 150_000;

let tmp = "";
let workspace = "";
let server: ChildProcess | undefined;
let connection: MessageConnection;
let roots: Root[];
const serverLog: string[] = [];
const progressEvents: { token: string; value: ProgressValue }[] = [];
const createdTokens: string[] = [];

const fileUri = (rel: string): string => pathToFileURL(path.join(workspace, rel)).href;

/** 0-based line of the first line containing `text` in a workspace file. */
function lineOf(rel: string, text: string): number {
  const line = fs.readFileSync(path.join(workspace, rel), "utf8").split("\n").findIndex((l) => l.includes(text));
  assert.notEqual(line, -1, `${text} not in ${rel}`);
  return line;
}

const serverSection = () => toInitializationOptions(readSettings(), currentPathVariables());

let exited: Promise<never>;

/** A request that fails with the server's own output if the process dies, instead of hanging. */
function request<R>(method: string, params?: unknown): Promise<R> {
  return Promise.race([connection.sendRequest<R>(method, params), exited]);
}

const status = (): Promise<Status> => request<Status>(STATUS, statusParams());

async function waitIdle(minSymbols: number): Promise<Status> {
  const deadline = Date.now() + INDEX_TIMEOUT_MS;
  let last: Status | undefined;
  while (Date.now() < deadline) {
    last = await status();
    if (last.state === "idle" && last.pending === 0 && last.symbols >= minSymbols) return last;
    if (last.state === "error") break;
    await sleep(250);
  }
  assert.fail(`index not idle in time; last status ${JSON.stringify(last)}\n${serverLog.join("\n")}`);
}

before(async () => {
  reset();
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "findcode-protocol-")));
  workspace = path.join(tmp, "workspace");
  fs.cpSync(FIXTURE, workspace, { recursive: true });
  // The extension's own path from settings to a command line and initializationOptions.
  vscode.workspace.workspaceFolders = [{ name: "workspace", uri: Uri.file(workspace), index: 0 }];
  recorded.configuration = { interpreter: PYTHON, indexDir: "${workspaceFolder}/../index", resultLimit: 5 };
  const settings = readSettings();
  const choice = await chooseLaunch(candidates(settings.serverCommand, settings.interpreter, { selected: undefined, workspace: [], defaultPath: undefined }));
  assert.ok(choice.launch, `cannot start the server: ${choice.problems.map((problem) => problem.text).join("; ")}`);
  server = spawn(choice.launch.command, choice.launch.args, { cwd: workspace, stdio: ["pipe", "pipe", "pipe"] });
  server.stderr?.on("data", (chunk: Buffer) => serverLog.push(chunk.toString()));
  const child = server;
  exited = new Promise<never>((_resolve, reject) => {
    child.once("exit", (code, signal) => {
      reject(new Error(`findcode serve exited (${signal ?? `status ${String(code)}`}):\n${serverLog.join("").slice(-3000)}`));
    });
  });
  exited.catch(() => undefined); // Observed by whichever request is waiting, if any.
  assert.ok(server.stdout && server.stdin);
  connection = createMessageConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  connection.onRequest("window/workDoneProgress/create", (params: { token: string | number }) => {
    createdTokens.push(String(params.token));
    return null;
  });
  // The extension's own answer; no other section is asked for here.
  connection.onRequest("workspace/configuration", (params: ConfigurationParams, token: CancellationToken) =>
    answerConfiguration(params, token, () => params.items.map(() => null), serverSection),
  );
  connection.onRequest(() => null);
  connection.onNotification("$/progress", (params: { token: string | number; value: ProgressValue }) => {
    progressEvents.push({ token: String(params.token), value: params.value });
  });
  connection.onNotification("window/logMessage", (params: { message: string }) => serverLog.push(params.message));
  connection.onNotification(() => undefined);
  connection.listen();
  roots = [{ name: "workspace", uri: pathToFileURL(workspace).href }];
  await request("initialize", {
    processId: process.pid,
    clientInfo: { name: "Visual Studio Code", version: "1.82.0" },
    rootPath: workspace,
    rootUri: roots[0]?.uri,
    workspaceFolders: [{ uri: roots[0]?.uri, name: "workspace" }],
    capabilities: {
      window: { workDoneProgress: true, showMessage: {} },
      workspace: { workspaceFolders: true, configuration: true, didChangeWatchedFiles: { dynamicRegistration: true } },
      textDocument: { synchronization: { didSave: true, dynamicRegistration: true } },
    },
    initializationOptions: toInitializationOptions(settings, currentPathVariables()),
  });
  await connection.sendNotification("initialized", {});
}, { timeout: 120_000 });

after(async () => {
  if (server !== undefined && server.exitCode === null) {
    const gone = new Promise((resolve) => server?.once("exit", resolve));
    try {
      await request("shutdown");
      await connection.sendNotification("exit");
    } catch {
      // Already gone: the kill below still ends it.
    }
    await Promise.race([gone, sleep(5_000)]);
    server.kill();
  }
  connection.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// Generous: the first run builds the default model; a hung server must still end `npm test`.
describe("findcode serve, driven like the extension drives it", { timeout: 300_000 }, () => {
  it("indexes the workspace into the indexDir from the settings, reporting progress", async () => {
    const ready = await waitIdle(8);
    // protocol.py says only "str": a path or a file URI, both name the workspace.
    assert.deepEqual(ready.roots.map((r) => fs.realpathSync(r.startsWith("file:") ? fileURLToPath(r) : r)), [workspace]);
    assert.ok(ready.indexPaths.length > 0 && ready.indexPaths.every((p) => fs.realpathSync(p).startsWith(path.join(tmp, "index"))), JSON.stringify(ready.indexPaths));
    assert.equal(ready.lastError, null);
    assert.equal(ready.model.dims > 0, true);
    assert.equal(statusView({ kind: "ready", status: ready }).text, `$(search) findcode: ${ready.symbols.toLocaleString("en-US")} symbols`);
    // The status item's view of the work-done progress: it began, and it has all ended.
    assert.ok(createdTokens.length > 0, "the server asks for a progress token");
    const tracker = new ProgressTracker();
    let shown = 0;
    for (const { token, value } of progressEvents) if (tracker.update(token, value) !== undefined) shown++;
    assert.ok(shown > 0 && progressEvents.some((e) => e.value.kind === "begin"));
    assert.equal(tracker.busy, false, "every progress that began has ended");
  });

  it("finds code by meaning and renders the result the way the QuickPick shows it", async () => {
    const response = await request<SearchResponse>(
      SEARCH,
      searchParams("  retry an HTTP request with exponential backoff ", readSettings()),
    );
    assert.equal(response.index.state, "idle");
    assert.ok(response.results.length > 0 && response.results.length <= 5);
    assert.equal(typeof response.tookMs, "number");
    const top = response.results[0];
    assert.ok(top);
    const query = "retry an HTTP request with exponential backoff";
    const view = formatResult(top, roots, query);
    assert.equal(view.label, "$(symbol-function) fetch_with_retry");
    // A close match: no "weak match" note (an older server sends no `weak`: close too).
    assert.equal(view.description, "");
    // Where it is, the signature, then the body line with the most query words.
    assert.ok(
      view.detail.startsWith(`net/http_client.py:${lineOf("net/http_client.py", "def fetch_with_retry") + 1} — def fetch_with_retry(`),
      view.detail,
    );
    assert.match(view.detail, / … .*(retr|backoff)/i);
    assert.equal(top.uri, fileUri("net/http_client.py"));
    assert.equal(top.language, "python");
  });

  it("finds exact names in lexical mode, across languages", async () => {
    const response = await request<SearchResponse>(SEARCH, searchParams("slugify", { resultLimit: 3, searchMode: "lexical" }));
    const top = response.results[0];
    assert.ok(top);
    assert.equal(formatResult(top, roots).label, "$(symbol-function) slugify");
    assert.ok(formatResult(top, roots).detail.startsWith(`web/slug.ts:${lineOf("web/slug.ts", "export function slugify") + 1} — `));
    assert.equal(top.language, "typescript");
  });

  it("finds code similar to the function at the cursor, leaving that function out", async () => {
    const line = lineOf("net/http_client.py", "delay *= 2");
    const params = similarParams(fileUri("net/http_client.py"), { start: { line, character: 12 }, end: { line, character: 12 } }, 5);
    assert.ok(params.position && !params.range);
    const response = await request<SearchResponse>(SIMILAR, params);
    assert.equal(response.results[0]?.name, "download_file_with_retries");
    assert.ok(!response.results.some((r) => r.name === "fetch_with_retry"));
  });

  it("finds code similar to a selection", async () => {
    const start = lineOf("storage/download.py", "def download_file_with_retries");
    const end = lineOf("storage/download.py", "pause *= 2");
    const params = similarParams(fileUri("storage/download.py"), { start: { line: start, character: 0 }, end: { line: end, character: 22 } }, 5);
    assert.ok(params.range);
    const response = await request<SearchResponse>(SIMILAR, params);
    assert.equal(response.results[0]?.name, "fetch_with_retry");
  });

  it("answers a bad query with InvalidParams and a message a person can act on, then keeps serving", async () => {
    await assert.rejects(request(SEARCH, searchParams("   ", readSettings())), (error: unknown) => {
      assert.ok(error instanceof ResponseError);
      assert.equal(error.code, -32602);
      assert.ok(error.message.length > 0);
      return true;
    });
    assert.equal((await status()).state, "idle");
  });

  it("re-indexes a saved file first", async () => {
    const rel = "storage/checksum.py";
    fs.writeFileSync(
      path.join(workspace, rel),
      'import hashlib\n\n\ndef file_checksum(path):\n    """Compute the sha256 digest of a file, reading it in chunks."""\n    digest = hashlib.sha256()\n    with open(path, "rb") as handle:\n        for block in iter(lambda: handle.read(65536), b""):\n            digest.update(block)\n    return digest.hexdigest()\n',
    );
    await connection.sendNotification("textDocument/didSave", { textDocument: { uri: fileUri(rel) } });
    const deadline = Date.now() + 30_000;
    let names: string[] = [];
    while (Date.now() < deadline) {
      const response = await request<SearchResponse>(SEARCH, searchParams("sha256 hash of a file's contents", readSettings()));
      names = response.results.map((r) => r.name);
      if (names[0] === "file_checksum") break;
      await sleep(200);
    }
    assert.equal(names[0], "file_checksum");
  });

  it("re-indexes the workspace on the extension's Re-index command", async () => {
    const before = await status();
    await request("workspace/executeCommand", { command: COMMAND_REINDEX, arguments: [] });
    const after = await waitIdle(before.symbols);
    assert.equal(after.symbols, before.symbols);
    assert.equal(after.files, before.files);
  });

  it("applies changed settings in the same process: it pulls the section the extension answers", async () => {
    const pid = server?.pid;
    recorded.configuration = { ...recorded.configuration, indexDir: "${workspaceFolder}/../index-moved" };
    const settings: ChangedSettings = { findcode: serverSection() };
    await connection.sendNotification("workspace/didChangeConfiguration", { settings });
    // While its engine restarts the server reports no index paths; wait for the new ones.
    const inMoved = (s: Status) => s.indexPaths.length > 0 && s.indexPaths.every((p) => fs.realpathSync(p).startsWith(path.join(tmp, "index-moved")));
    const deadline = Date.now() + 60_000;
    let moved = await status();
    while (Date.now() < deadline && !inMoved(moved)) {
      await sleep(200);
      moved = await status();
    }
    assert.ok(inMoved(moved), JSON.stringify(moved.indexPaths));
    assert.equal(server?.pid, pid);
    assert.equal(server?.exitCode, null);
  });
});

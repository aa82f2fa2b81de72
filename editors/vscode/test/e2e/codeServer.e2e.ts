// The extension in a real VS Code: code-server (4.100.x) serves the workbench, headless Chromium
// drives it. Installs the built .vsix, opens the fixture workspace, waits for the status bar to
// count symbols, runs Find Code by Meaning and Find Similar Code through the command palette.
//
// Opt-in (`npm run test:e2e`), not part of `npm test`: it needs code-server and Chromium, which
// test/e2e/install.sh sets up offline from npm and Debian packages. With FINDCODE_E2E_SCREENSHOTS
// set to a folder (`npm run test:e2e:screenshots`: media/), it saves the README's pictures there.
import assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import puppeteer, { Browser, Page } from "puppeteer-core";
import { findOnPath } from "../../src/common/launch";

const root = path.resolve(__dirname, "..", "..", "..");
const codeServer = process.env.CODE_SERVER ?? findOnPath("code-server");
const chromium = process.env.CHROMIUM ?? findOnPath("chromium") ?? findOnPath("chromium-browser");
const python = findOnPath(process.env.FINDCODE_TEST_PYTHON ?? "python3");

let tmp = "";
let userData = "";
let workspaceDir = "";
let server: ChildProcess | undefined;
let browser: Browser | undefined;
let page: Page;
const serverOutput: string[] = [];
const screenshots = process.env.FINDCODE_E2E_SCREENSHOTS;
// The README's pictures stay small: cropped to what they show, and at most this many bytes.
const MAX_SCREENSHOT_BYTES = 150_000;

// A file whose function sits far down, to see where a preview puts the line (written into the
// copy of the fixture workspace: the protocol test indexes the fixture itself).
const DEEP_FILE = "tools/checksum.py";
const DEEP_LINE = 105;
const deepFile = [
  '"""CRC-32 over files, with the table spelled out."""',
  "",
  "import zlib",
  "",
  "TABLE = [",
  ...Array.from({ length: DEEP_LINE - 8 }, (_, i) => `    0x${((i * 2654435761) >>> 0).toString(16).padStart(8, "0")},`),
  "]",
  "",
  "def file_checksum(path, chunk_size=65536):",
  '    """The CRC-32 checksum of a file, read in chunks so that large files fit in memory."""',
  "    crc = 0",
  '    with open(path, "rb") as handle:',
  "        while chunk := handle.read(chunk_size):",
  "            crc = zlib.crc32(chunk, crc)",
  "    return crc",
  "",
].join("\n");

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Saves a picture of `clip` (scaled) for the README, when asked to, and checks it stays small.
 * With `still`, only if that is still true once the picture is taken (the page moves on).
 */
async function screenshot(name: string, clip: Box, scale = 1, still?: () => Promise<boolean>): Promise<boolean> {
  if (screenshots === undefined) return false;
  const png = await page.screenshot({ clip: { ...clip, scale } });
  if (still !== undefined && !(await still())) return false;
  fs.mkdirSync(screenshots, { recursive: true });
  const file = path.join(screenshots, `${name}.png`);
  fs.writeFileSync(file, png);
  assert.ok(png.length < MAX_SCREENSHOT_BYTES, `${file} is ${png.length} bytes`);
  return true;
}

const box = (selector: string): Promise<Box | undefined> =>
  page.evaluate((css) => {
    const rect = document.querySelector(css)?.getBoundingClientRect();
    return rect === undefined ? undefined : { x: rect.x, y: rect.y, width: rect.width, height: rect.height };
  }, selector);

/** The open editor tabs: their labels, and whether each is a preview (italic) tab. */
const tabs = (): Promise<{ label: string; preview: boolean }[]> =>
  page.evaluate(() =>
    [...document.querySelectorAll(".tabs-container .tab")].map((tab) => ({
      label: tab.querySelector(".label-name")?.textContent?.trim() ?? tab.textContent?.trim() ?? "",
      preview: tab.classList.contains("italic") || tab.querySelector(".italic") !== null,
    })),
  );

/** Where line `line` (1-based) of the active editor is drawn, or undefined when it is not. */
const lineBox = (line: number): Promise<Box | undefined> =>
  page.evaluate((wanted) => {
    const editor = document.querySelector(".editor-group-container.active .monaco-editor");
    const number = [...(editor?.querySelectorAll(".line-numbers") ?? [])].find((e) => e.textContent?.trim() === String(wanted));
    const rect = number?.getBoundingClientRect();
    return rect === undefined ? undefined : { x: rect.x, y: rect.y, width: rect.width, height: rect.height };
  }, line);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => {
        resolve(typeof address === "object" && address !== null ? address.port : 0);
      });
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(everyMs);
  }
  // A picture of the workbench says more than any log about why a UI step did not happen.
  const shot = `${path.join(os.tmpdir(), "findcode-e2e-failure")}.png` as const;
  await page.screenshot({ path: shot }).catch(() => undefined);
  throw new Error(`timed out waiting for ${what} (screenshot: ${shot})\n${extensionLog().slice(-3000)}\n${serverOutput.join("").slice(-2000)}`);
}

/** The extension's own log lines (its LogOutputChannel is written under the user data dir). */
function extensionLog(): string {
  const logs = path.join(userData, "logs");
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === "findcode.log") found.push(fs.readFileSync(full, "utf8"));
    }
  };
  if (fs.existsSync(logs)) walk(logs);
  return found.join("\n");
}

const statusText = (): Promise<string> =>
  page.evaluate(() =>
    [...document.querySelectorAll(".statusbar-item")]
      .map((item) => item.textContent?.trim() ?? "")
      .filter((text) => text.includes("findcode"))
      .join(" | "),
  );

// The rows of the open list; none while it is hidden (its last rows stay in the DOM).
const quickPickRows = (): Promise<string[]> =>
  page.evaluate(() => {
    const widget = document.querySelector<HTMLElement>(".quick-input-widget");
    if (widget === null || getComputedStyle(widget).display === "none") return [];
    // In the order shown: a list reuses its row elements, so the DOM's order is not the list's.
    return [...widget.querySelectorAll(".monaco-list-row")]
      .sort((a, b) => Number(a.getAttribute("data-index")) - Number(b.getAttribute("data-index")))
      .map((row) => row.textContent?.trim() ?? "");
  });

async function runCommand(title: string): Promise<void> {
  // Through the command center (the box atop the window) with ">", as a mouse user would:
  // synthetic key chords such as F1 do not reach the workbench once an editor has the focus.
  // The title bar re-renders when the active editor changes; a click can land on a stale node.
  await until("the command center to open", async () => {
    try {
      await page.click(".command-center-quick-pick");
      await page.waitForSelector(".quick-input-widget input", { visible: true, timeout: 2_000 });
      return true;
    } catch {
      return undefined;
    }
  }, 15_000);
  await page.keyboard.type(`>${title}`);
  // Every key reached the palette (a list closing meanwhile would send the rest to the editor).
  const typed = await page.$eval(".quick-input-widget input", (input) => input.value);
  assert.equal(typed, `>${title}`, "the command palette lost the focus while the command was typed");
  const label = title.split(": ")[1] ?? title;
  await until("the command in the palette", async () => ((await quickPickRows()).some((row) => row.includes(label)) ? true : undefined), 10_000);
  await page.keyboard.press("Enter");
}

/** Whether the findcode that the extension starts sends relevance, weak and closeMatches. */
function serverSendsWeakMatches(): boolean {
  try {
    const check = "from findcode import protocol; assert 'closeMatches' in protocol.SearchResponse.__annotations__";
    execFileSync(python ?? "python3", ["-c", check], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Types a query into the open list, replacing the last query that it comes back with. */
async function typeQuery(text: string): Promise<void> {
  await page.waitForSelector(".quick-input-widget input", { visible: true, timeout: 10_000 });
  await page.$eval(".quick-input-widget input", (input) => {
    input.select();
  });
  await page.keyboard.type(text);
}

before(async () => {
  assert.ok(codeServer, "code-server not found: set CODE_SERVER (see test/e2e/install.sh)");
  assert.ok(chromium, "Chromium not found: set CHROMIUM (see test/e2e/install.sh)");
  assert.ok(python, "python3 with findcode installed is needed");
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "findcode-e2e-")));
  const [data, extensions, workspace] = ["user-data", "extensions", "workspace"].map((d) => path.join(tmp, d)) as [string, string, string];
  userData = data;
  workspaceDir = workspace;
  fs.cpSync(path.join(root, "test", "fixtures", "workspace"), workspace, { recursive: true });
  fs.mkdirSync(path.join(workspace, path.dirname(DEEP_FILE)), { recursive: true });
  fs.writeFileSync(path.join(workspace, DEEP_FILE), deepFile);
  fs.mkdirSync(path.join(userData, "User"), { recursive: true });
  fs.writeFileSync(
    path.join(userData, "User", "settings.json"),
    JSON.stringify({
      "findcode.interpreter": python,
      "findcode.indexDir": path.join(tmp, "index"),
      "security.workspace.trust.enabled": false,
      "workbench.startupEditor": "none",
      "telemetry.telemetryLevel": "off",
      // VS Code in a browser saves after a delay by default; the unsaved-edits test needs a
      // buffer that stays unsaved. Typed code lands as typed: no indentation, brackets or
      // suggestions added by the editor.
      "files.autoSave": "off",
      "editor.autoIndent": "none",
      "editor.autoClosingBrackets": "never",
      "editor.autoClosingQuotes": "never",
      "editor.quickSuggestions": { other: "off", comments: "off", strings: "off" },
      "editor.suggestOnTriggerCharacters": false,
      "editor.acceptSuggestionOnEnter": "off",
      "editor.wordBasedSuggestions": "off",
    }),
  );
  const common = ["--config", "/dev/null", "--user-data-dir", userData, "--extensions-dir", extensions];
  execFileSync(codeServer, [...common, "--install-extension", path.join(root, "findcode.vsix")], { stdio: "pipe" });
  const port = await freePort();
  server = spawn(codeServer, [...common, "--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--disable-telemetry", "--disable-update-check", workspace], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout?.on("data", (chunk: Buffer) => serverOutput.push(chunk.toString()));
  server.stderr?.on("data", (chunk: Buffer) => serverOutput.push(chunk.toString()));
  await until("code-server to listen", () => Promise.resolve(serverOutput.join("").includes("HTTP server listening") ? true : undefined), 60_000);
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    // --no-sandbox: Chromium's sandbox cannot start as root or in most containers.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true });
});

describe("findcode in code-server", () => {
  it("indexes the workspace, showing progress, then the symbol count (no count before)", async () => {
    // Every text the status bar shows on the way, polled faster than the server reports.
    const seen: string[] = [];
    let pictured = false;
    const text = await until("the status bar to count symbols", async () => {
      const current = await statusText();
      if (current === seen.at(-1)) return undefined;
      seen.push(current);
      // The picture is of the last progress between 0% and 99% (of any, if there is none).
      const percent = Number(/findcode (\d+)%/.exec(current)?.[1] ?? NaN);
      if (percent >= 0 && (!pictured || (percent > 0 && percent < 99))) {
        const bar = await box(".part.statusbar");
        const still = async (): Promise<boolean> => (await statusText()) === current;
        const taken = bar !== undefined && (await screenshot("status-progress", { x: 0, y: bar.y, width: 520, height: bar.height }, 1.5, still));
        pictured = pictured || taken;
      }
      return /findcode: \d+ symbols/.test(current) ? current : undefined;
    }, 180_000, 50);
    console.log(`status bar texts: ${JSON.stringify(seen)}`);
    // The first count shown is the finished index's: no "0 symbols" while the server starts.
    assert.match(text, /findcode: ([89]|\d\d+) symbols/, JSON.stringify(seen));
    assert.ok(seen.some((t) => /findcode \d+%|indexing|starting/.test(t)), `no progress shown: ${JSON.stringify(seen)}`);
  });

  it("previews results below the list and closes the preview on Escape", async () => {
    assert.deepEqual(await tabs(), [], "no editor is open before the list");
    await runCommand("findcode: Find Code by Meaning");
    await typeQuery("CRC-32 checksum of a file read in chunks");
    await until("the deep result", async () => ((await quickPickRows())[0]?.includes("file_checksum") ? true : undefined), 30_000);
    // The first row is highlighted, so previewed: its line is drawn below the list. (Showing
    // the editor scrolls it once, the preview's own reveal again: wait for it to settle.)
    const line = await until("the previewed line to settle", async () => {
      const before = await lineBox(DEEP_LINE);
      await sleep(500);
      const after = await lineBox(DEEP_LINE);
      return before !== undefined && after?.y === before.y ? after : undefined;
    }, 15_000);
    const list = await box(".quick-input-widget");
    const editor = await box(".editor-group-container.active .monaco-editor");
    assert.ok(list && editor);
    console.log(`preview: line ${JSON.stringify(line)}, list ${JSON.stringify(list)}, editor ${JSON.stringify(editor)}`);
    assert.ok(line.y >= list.y + list.height, `line ${DEEP_LINE} at y=${line.y} is under the list (bottom ${list.y + list.height})`);
    assert.ok(line.y < editor.y + editor.height * 0.75, `line ${DEEP_LINE} at y=${line.y} is low in the editor (${JSON.stringify(editor)})`);
    // The list, and the previewed code below it from its line numbers on.
    const left = Math.min(line.x - 8, list.x - 20);
    const right = list.x + list.width + 20;
    await screenshot("search-results", { x: left, y: 0, width: right - left, height: Math.min(900, line.y + 8 * line.height) }, 0.9);
    assert.deepEqual(await tabs(), [{ label: "checksum.py", preview: true }]);
    await page.keyboard.press("Escape");
    // As Quick Open does: the file opened only to preview it is closed again.
    await until("the preview to close", async () => ((await tabs()).length === 0 ? true : undefined), 10_000);
  });

  it("finds code by meaning, previews and opens the result", async () => {
    await runCommand("findcode: Find Code by Meaning");
    await typeQuery("retry an HTTP request with exponential backoff");
    // The list opens on the last query's results; these are the new query's.
    const rows = await until("results", async () => {
      const current = await quickPickRows();
      return current[0]?.includes("fetch_with_retry") ? current : undefined;
    }, 30_000);
    assert.ok(rows[0]?.includes("fetch_with_retry") && rows[0].includes("net/http_client.py:7"), rows.join("\n"));
    // Enter opens the highlighted row: the best result of this answer.
    const focused = await page.evaluate(() => document.querySelector(".quick-input-widget .monaco-list-row.focused")?.textContent ?? "");
    assert.ok(focused.includes("fetch_with_retry"), `highlighted: ${focused}\n${rows.join("\n")}`);
    await page.keyboard.press("Enter");
    await until("the editor at the result", async () => {
      const tab = await page.evaluate(() => document.querySelector(".tab.active")?.textContent?.trim());
      const cursor = await page.evaluate(() => [...document.querySelectorAll(".statusbar-item")].map((e) => e.textContent?.trim() ?? "").find((t) => t.startsWith("Ln ")));
      return tab?.includes("http_client.py") && cursor?.startsWith("Ln 7,") ? true : undefined;
    }, 15_000);
    // The chosen file stays open, pinned (no longer a preview).
    await until("the chosen file's tab to be pinned", async () => {
      const open = await tabs();
      return open.length === 1 && open[0]?.label === "http_client.py" && !open[0].preview ? true : undefined;
    }, 10_000);
  });

  it("finds code similar to the function at the cursor", async () => {
    await runCommand("findcode: Find Similar Code");
    const rows = await until("similar code", async () => {
      const current = await quickPickRows();
      return current.length > 0 && !current.some((row) => row.includes("Find Similar Code")) ? current : undefined;
    }, 30_000);
    assert.ok(rows[0]?.includes("download_file_with_retries"), rows.join("\n"));
    await page.keyboard.press("Escape");
  });

  it("finds a function typed but not saved, and forgets it when the buffer closes unsaved", async () => {
    // The same function and question as the LSP and Neovim tests of unsaved edits.
    const shared = path.join(root, "..", "..", "tests", "fixtures", "unsaved_function.json");
    const { name, query, lines: added } = JSON.parse(fs.readFileSync(shared, "utf8")) as { name: string; query: string; lines: string[] };
    const file = path.join(workspaceDir, "net", "http_client.py");
    const onDisk = fs.readFileSync(file, "utf8");
    // The file is open from the tests before; the cursor goes to its end (an empty last line).
    const lastLine = onDisk.split("\n").length;
    const defLine = lastLine + added.findIndex((line) => line.startsWith("def "));
    // The list of the test before may still be closing, and the editor re-rendering under it.
    await until("the file's editor to take the focus", async () => {
      const open = await tabs();
      if (open.length !== 1 || open[0]?.label !== "http_client.py") return undefined;
      try {
        await page.click(".editor-group-container.active .monaco-editor .view-lines");
        return true;
      } catch {
        return undefined;
      }
    }, 15_000);
    await page.keyboard.down("Control");
    await page.keyboard.press("End");
    await page.keyboard.up("Control");
    await page.keyboard.type(added.join("\n"));
    await until("the tab to show unsaved changes", async () => (await page.evaluate(() => document.querySelector(".tab.active")?.classList.contains("dirty") ?? false)) || undefined, 10_000);

    await runCommand("findcode: Find Code by Meaning");
    await typeQuery(query);
    const rows = await until("the unsaved function first", async () => {
      const current = await quickPickRows();
      return current[0]?.includes(name) ? current : undefined;
    }, 60_000);
    assert.ok(rows[0]?.includes(`net/http_client.py:${defLine}`), `expected line ${defLine}:\n${rows.join("\n")}`);
    await page.keyboard.press("Escape");
    assert.equal(fs.readFileSync(file, "utf8"), onDisk, "searching wrote nothing to the file");

    // Closed without saving: the function was never in the file, and findcode forgets it.
    await runCommand("View: Close Editor");
    const dontSave = await until("the save dialog", async () => {
      const buttons = await page.$$(".monaco-dialog-box .dialog-buttons .monaco-button");
      for (const button of buttons) {
        if (/Don.t Save/.test((await button.evaluate((b) => b.textContent)) ?? "")) return button;
      }
      return undefined;
    }, 10_000);
    await dontSave.click();
    await until("the editor to close", async () => ((await tabs()).length === 0 ? true : undefined), 10_000);
    assert.equal(fs.readFileSync(file, "utf8"), onDisk, "the file on disk is as it was");
    await runCommand("findcode: Find Code by Meaning");
    await typeQuery(query);
    const after = await until("an answer without the unsaved function", async () => {
      const current = await quickPickRows();
      return current.length > 0 && !current.some((row) => row.includes("Find Code by Meaning")) && !current[0]?.includes(name) ? current : undefined;
    }, 30_000);
    assert.ok(!after.some((row) => row.includes(name)), after.join("\n"));
    await page.keyboard.press("Escape");
  });

  it("says no close match when nothing in the workspace does what was asked", async (t) => {
    if (!serverSendsWeakMatches()) {
      t.skip("this findcode server does not mark weak matches yet (no closeMatches in its protocol)");
      return;
    }
    await runCommand("findcode: Find Code by Meaning");
    await typeQuery("compile a GLSL shader for a 3D mesh");
    // The list opens on the last query's answer, which has weak matches too: this one has no
    // close match, which the title says.
    const title = (): Promise<string> => page.evaluate(() => document.querySelector(".quick-input-title")?.textContent ?? "");
    await until("no close match in the title", async () => (/No close match/.test(await title()) ? true : undefined), 30_000);
    const rows = await quickPickRows();
    assert.ok(rows.length > 0 && rows.every((row) => row.includes("weak match")), rows.join("\n"));
    // The separator above them is drawn (VS Code drops separators while filtering by label).
    const separators = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>(".quick-input-widget .monaco-list-row *")]
        .filter((e) => e.children.length === 0 && e.getClientRects().length > 0 && /no close match/.test(e.textContent ?? ""))
        .map((e) => e.textContent),
    );
    assert.deepEqual(separators, ["no close match: weak matches only"], rows.join("\n"));
    const list = await box(".quick-input-widget");
    if (list !== undefined) await screenshot("weak-matches", { x: list.x - 10, y: 0, width: list.width + 20, height: list.y + Math.min(list.height, 300) });
    await page.keyboard.press("Escape");
  });

  it("hands changed settings to the running server instead of restarting it", async () => {
    const starts = (): number => extensionLog().split("\n").filter((line) => line.includes("Starting ")).length;
    assert.equal(starts(), 1, extensionLog());
    const symbols = async (): Promise<number | undefined> => {
      const match = /findcode: ([\d,]+) symbols/.exec(await statusText());
      return match?.[1] === undefined ? undefined : Number(match[1].replace(/,/g, ""));
    };
    const before = await symbols();
    assert.ok(before !== undefined && before > 0, await statusText());
    // Workspace settings, as a project would set its own excludes. (code-server does not notice
    // a user settings.json rewritten on disk behind its back; the workspace file it watches.)
    const file = path.join(workspaceDir, ".vscode", "settings.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Two changes in a row, as when editing settings.json by hand.
    fs.writeFileSync(file, JSON.stringify({ "findcode.exclude": ["web/**"] }));
    await sleep(100);
    fs.writeFileSync(file, JSON.stringify({ "findcode.exclude": ["web/**"], "findcode.watch": false }));
    // The server re-indexes without web/ (its engine restarts); the process stays.
    await until("fewer symbols", async () => {
      const now = await symbols();
      return now !== undefined && now < before ? true : undefined;
    }, 120_000);
    assert.equal(starts(), 1, extensionLog());
  });

  const notifications = (): Promise<string[]> =>
    page.evaluate(() => [...document.querySelectorAll(".notifications-toasts .notification-toast")].map((t) => t.textContent?.trim() ?? ""));

  async function changeSettings(settings: Record<string, unknown>): Promise<void> {
    const file = path.join(workspaceDir, ".vscode", "settings.json");
    fs.writeFileSync(file, JSON.stringify(settings));
    await until("the status bar to leave the symbol count", async () => (/symbols/.test(await statusText()) ? undefined : true), 30_000);
  }

  it("says findcode is not installed for an interpreter that lacks it, with what to do", async () => {
    // A Python that cannot see site-packages, where findcode is installed.
    const bare = path.join(tmp, "bare-python");
    fs.writeFileSync(bare, `#!/bin/sh\nexec ${python ?? "python3"} -S -I "$@"\n`, { mode: 0o755 });
    await changeSettings({ "findcode.interpreter": bare });
    const toast = await until("the notification", async () => (await notifications()).find((t) => t.includes("not installed")), 30_000);
    assert.match(toast, new RegExp(`findcode: findcode is not installed for ${bare} \\(from the findcode.interpreter setting\\)`));
    assert.match(toast, /Choose Python or findcode/);
    assert.match(toast, /Show Log/);
    assert.equal(await statusText(), "findcode");
  });

  it("says the server failed to start when it exits at once, and leaves it stopped", async () => {
    await page.evaluate(() => {
      document.querySelectorAll<HTMLElement>(".notifications-toasts .codicon-notifications-clear").forEach((b) => {
        b.click();
      });
    });
    await changeSettings({ "findcode.serverCommand": ["sh", "-c", "echo findcode exploded >&2; exit 3"] });
    const toast = await until("the notification", async () => (await notifications()).find((t) => t.includes("failed to start")), 30_000);
    assert.match(toast, /The server \(sh, from the findcode.serverCommand setting\) failed to start/);
    await sleep(3_000);
    assert.ok(extensionLog().includes("findcode exploded"), "the server's stderr is in the log");
    // A server that cannot start is not restarted in a loop.
    assert.equal(extensionLog().split("\n").filter((line) => line.includes("Starting sh")).length, 1, extensionLog());
    assert.equal(await statusText(), "findcode");
  });

  it("restarts a server that crashes after starting, at most 3 times, then says so", async () => {
    // Answers initialize like a server, then dies a second later: a crash, not a failed start.
    const crasher = [
      "import json, sys, time",
      "length = 0",
      "while True:",
      "    line = sys.stdin.buffer.readline().strip()",
      "    if not line: break",
      "    if line.lower().startswith(b'content-length:'): length = int(line.split(b':')[1])",
      "request = json.loads(sys.stdin.buffer.read(length))",
      "body = json.dumps({'jsonrpc': '2.0', 'id': request['id'], 'result': {'capabilities': {}}}).encode()",
      "sys.stdout.buffer.write(b'Content-Length: %d\\r\\n\\r\\n' % len(body) + body)",
      "sys.stdout.buffer.flush()",
      "time.sleep(1)",
      "sys.exit('findcode crashed on purpose')",
    ].join("\n");
    await changeSettings({ "findcode.serverCommand": [python ?? "python3", "-c", crasher] });
    const toast = await until("the notification", async () => (await notifications()).find((t) => t.includes("stopped unexpectedly")), 60_000);
    assert.match(toast, /stopped unexpectedly 3 times within 3 minutes and was left stopped/);
    // Its stderr line, once per run (the logged command line quotes the script: not counted).
    const starts = extensionLog().split("\n").filter((line) => line.endsWith("] findcode crashed on purpose")).length;
    assert.equal(starts, 4, `the first start and 3 restarts:\n${extensionLog().slice(-2500)}`);
  });
});

// The status item: progress from work-done notifications, symbol count when idle, errors -> log.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recorded, reset, ThemeColor } from "./support/vscodeMock";
import { statusReport } from "../src/common/commands";
import { ProgressTracker } from "../src/common/progress";
import { Status } from "../src/common/protocol";
import { StatusItem } from "../src/common/statusItem";
import { FIND, RESUME, SHOW_LOG, statusView } from "../src/common/statusModel";

const status = (overrides: Partial<Status> = {}): Status => ({
  state: "idle",
  roots: ["/w"],
  files: 120,
  symbols: 12345,
  vectors: 12345,
  pending: 0,
  embedded: 3,
  model: { name: "all-MiniLM-L6-v2", path: "/c/m.gguf", dims: 384, quantization: "Q8_0" },
  indexPaths: ["/c/idx"],
  lastError: null,
  ...overrides,
});

describe("ProgressTracker", () => {
  it("follows begin/report/end and keeps the title across reports", () => {
    const tracker = new ProgressTracker();
    assert.deepEqual(tracker.update("t1", { kind: "begin", title: "Indexing", message: "walking", percentage: 0 }), {
      kind: "progress",
      title: "Indexing",
      message: "walking",
      percentage: 0,
    });
    assert.deepEqual(tracker.update("t1", { kind: "report", message: "embedding 40/100", percentage: 40 }), {
      kind: "progress",
      title: "Indexing",
      message: "embedding 40/100",
      percentage: 40,
    });
    assert.equal(tracker.busy, true);
    assert.equal(tracker.update("t1", { kind: "end" }), undefined);
    assert.equal(tracker.busy, false);
  });

  it("shows the newest of overlapping progress and falls back when it ends", () => {
    const tracker = new ProgressTracker();
    tracker.update(1, { kind: "begin", title: "Full scan" });
    const newest = tracker.update(2, { kind: "begin", title: "Saved file" });
    assert.equal(newest?.kind === "progress" && newest.title, "Saved file");
    const back = tracker.update(2, { kind: "end" });
    assert.equal(back?.kind === "progress" && back.title, "Full scan");
  });
});

describe("statusView", () => {
  it("says indexing is paused, and why, and clicking resumes it", () => {
    const byYou = statusView({ kind: "ready", status: status({ state: "paused", paused: "user", pending: 40, vectors: 12305 }) });
    assert.equal(byYou.text, "$(debug-pause) findcode: paused");
    assert.equal(byYou.detail, "Indexing paused by you: 40 pending; 12,345 symbols searchable by name, 12,305 by meaning");
    assert.equal(byYou.busy, false);
    assert.equal(byYou.command.id, RESUME);
    const battery = statusView({ kind: "ready", status: status({ state: "paused", paused: "battery" }) });
    assert.match(battery.detail, /^Indexing paused on battery: /);
    assert.match(statusReport(status({ state: "paused", paused: "user" })), /Indexing paused by you/);
    assert.doesNotMatch(statusReport(status()), /paused/);
  });

  it("shows percentage and message while indexing, busy", () => {
    const view = statusView({ kind: "progress", title: "Indexing", message: "embedding 40/100", percentage: 40.4 });
    assert.equal(view.text, "$(sync~spin) findcode 40%");
    assert.equal(view.detail, "Indexing: embedding 40/100");
    assert.equal(view.busy, true);
  });

  it("shows the symbol count when idle, and clicking searches", () => {
    const view = statusView({ kind: "ready", status: status() });
    assert.equal(view.text, "$(search) findcode: 12,345 symbols");
    assert.match(view.detail, /120 files, model all-MiniLM-L6-v2/);
    assert.equal(view.busy, false);
    assert.equal(view.command.id, FIND);
  });

  it("shows no count before the first pass is done: no \"0 symbols\" while starting", () => {
    const starting = statusView({ kind: "ready", status: status({ state: "starting", files: 0, symbols: 0 }) });
    assert.equal(starting.text, "$(loading~spin) findcode: starting");
    assert.equal(starting.busy, true);
    const indexing = statusView({ kind: "ready", status: status({ state: "indexing", files: 3, symbols: 40, pending: 2 }) });
    assert.equal(indexing.text, "$(sync~spin) findcode: indexing");
    assert.equal(indexing.detail, "Indexing: 2 pending; 3 files, 40 symbols so far");
    assert.doesNotMatch(starting.text + indexing.text, /symbols/);
  });

  it("says the embedding server is unreachable as a warning, with the server's message", () => {
    const waiting = "embedding server unreachable: retrying in 30 s (http://gpu:8000/v1: cannot connect)";
    const view = statusView({ kind: "ready", status: status({ state: "indexing", pending: 9, waiting }) });
    assert.equal(view.text, "$(warning) findcode: waiting for the embedding server");
    assert.equal(view.detail, waiting);
    assert.equal(view.severity, "warning");
    assert.match(statusReport(status({ waiting })), /\nWaiting: embedding server unreachable: retrying in 30 s/);
    assert.equal(statusView({ kind: "ready", status: status({ waiting: null }) }).severity, "info");
  });

  it("says a switch of models is under way, with its progress", () => {
    const switching = "re-embedding for all-MiniLM-L6-v2: 3,200/20,000 symbols";
    const view = statusView({ kind: "ready", status: status({ state: "indexing", switching }) });
    assert.equal(view.text, "$(sync~spin) findcode: switching models");
    assert.equal(view.detail, switching);
    assert.equal(view.busy, true);
    assert.match(statusReport(status({ switching })), /\nSwitching models: re-embedding for all-MiniLM-L6-v2: 3,200/);
  });

  it("turns an index error into an error that opens the log", () => {
    const view = statusView({ kind: "ready", status: status({ state: "error", lastError: "disk full" }) });
    assert.equal(view.severity, "error");
    assert.equal(view.detail, "Index error: disk full");
    assert.equal(view.command.id, SHOW_LOG);
    const failed = statusView({ kind: "failed", message: "findcode is not installed" });
    assert.equal(failed.command.id, SHOW_LOG);
    assert.equal(failed.severity, "error");
  });
});

describe("StatusItem", () => {
  it("copies the view onto the status bar and language status items", () => {
    reset();
    const item = new StatusItem();
    item.show({ kind: "failed", message: "no interpreter" });
    const [bar] = recorded.statusBarItems;
    const [language] = recorded.languageStatusItems;
    assert.equal(bar?.text, "$(error) findcode");
    assert.equal(bar?.tooltip, "no interpreter");
    assert.equal(bar?.command, SHOW_LOG);
    assert.deepEqual(bar?.backgroundColor, new ThemeColor("statusBarItem.errorBackground"));
    assert.equal(language?.severity, 2);
    assert.deepEqual(language?.command, { command: SHOW_LOG, title: "Show Log" });
    item.show({ kind: "progress", title: "Indexing", percentage: 10 });
    assert.equal(language?.busy, true);
    assert.equal(bar?.backgroundColor, undefined);
    item.dispose();
  });
});

describe("Show Index Status", () => {
  it("reports every part of the status, the last error only when there is one", () => {
    const report = statusReport(status({ pending: 1500, lastError: null }));
    assert.equal(
      report,
      [
        "State: idle",
        "Roots: /w",
        "Files: 120, symbols: 12,345, vectors: 12,345",
        "Pending: 1,500; embedded since start: 3",
        "Model: all-MiniLM-L6-v2 (384 dims, Q8_0) at /c/m.gguf",
        "Index: /c/idx",
      ].join("\n"),
    );
    assert.match(statusReport(status({ state: "error", lastError: "disk full" })), /\nLast error: disk full$/);
  });
});

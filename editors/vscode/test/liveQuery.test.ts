// Search-as-you-type: one request per pause in typing, aborted when superseded, stale answers dropped.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LiveQuery } from "../src/common/liveQuery";

interface Call {
  query: string;
  signal: AbortSignal;
  resolve(answer: string): void;
  reject(error: Error): void;
}

function harness(delayMs = 20) {
  const calls: Call[] = [];
  const events: string[] = [];
  const live = new LiveQuery<string>(
    {
      fetch: (query, signal) =>
        new Promise<string>((resolve, reject) => calls.push({ query, signal, resolve, reject })),
      onResult: (query, answer) => events.push(`result ${query} -> ${answer}`),
      onError: (query, error) => events.push(`error ${query}: ${(error as Error).message}`),
      onEmpty: () => events.push("empty"),
      onBusy: (busy) => events.push(busy ? "busy" : "idle"),
    },
    delayMs,
  );
  return { live, calls, events };
}

describe("LiveQuery", () => {
  it("sends one request for a burst of keystrokes, with the last text", async () => {
    const { live, calls, events } = harness();
    for (const text of ["r", "re", "ret", "retry"]) {
      live.update(text);
      await sleep(2);
    }
    await sleep(40);
    assert.deepEqual(
      calls.map((c) => c.query),
      ["retry"],
    );
    calls[0]?.resolve("A");
    await sleep(1);
    assert.deepEqual(events, ["busy", "result retry -> A", "idle"]);
  });

  it("aborts the request in flight and drops its late answer", async () => {
    const { live, calls, events } = harness();
    live.update("parse");
    await sleep(40);
    live.update("parse config");
    assert.equal(calls[0]?.signal.aborted, true);
    await sleep(40);
    // The new answer arrives first, then the old one: only the new one is shown.
    calls[1]?.resolve("new");
    calls[0]?.resolve("old");
    await sleep(1);
    assert.deepEqual(
      events.filter((e) => e.startsWith("result")),
      ["result parse config -> new"],
    );
    assert.equal(events.at(-1), "idle");
  });

  it("drops a stale error too, but reports a current one", async () => {
    const { live, calls, events } = harness();
    live.update("a");
    await sleep(40);
    live.update("ab");
    await sleep(40);
    calls[0]?.reject(new Error("cancelled"));
    calls[1]?.reject(new Error("bad query"));
    await sleep(1);
    assert.deepEqual(
      events.filter((e) => e.startsWith("error")),
      ["error ab: bad query"],
    );
  });

  it("does not ask again for the text it already asked for", async () => {
    const { live, calls } = harness();
    live.flush("walk tree");
    live.update("walk tree");
    await sleep(40);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.signal.aborted, false);
  });

  it("clears at once on an empty query and sends nothing", async () => {
    const { live, calls, events } = harness();
    live.update("x");
    live.update("   ");
    await sleep(40);
    assert.equal(calls.length, 0);
    assert.deepEqual(events, ["idle", "empty"]);
  });

  it("flush sends without waiting; dispose silences answers in flight", async () => {
    const { live, calls, events } = harness(10_000);
    live.flush("now");
    assert.equal(calls.length, 1);
    live.dispose();
    assert.equal(calls[0]?.signal.aborted, true);
    calls[0]?.resolve("late");
    await sleep(1);
    assert.deepEqual(events, ["busy"]);
  });
});

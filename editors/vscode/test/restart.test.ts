// Restart policy: bounded crash restarts; bursts of restart requests coalesce into one follow-up.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Coalescer, debounce, RestartBudget } from "../src/common/restart";

describe("RestartBudget", () => {
  it("allows max restarts per window, then refuses until old ones age out", () => {
    let now = 0;
    const budget = new RestartBudget(3, 1000, () => now);
    assert.deepEqual([budget.allow(), budget.allow(), budget.allow(), budget.allow()], [true, true, true, false]);
    now = 999;
    assert.equal(budget.allow(), false);
    now = 1001;
    assert.equal(budget.allow(), true);
    budget.reset();
    assert.equal(budget.allow(), true);
  });
});

describe("Coalescer", () => {
  it("runs one at a time and folds every call made meanwhile into one more run", async () => {
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const coalescer = new Coalescer(async () => {
      runs++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await sleep(20);
      concurrent--;
    });
    const first = coalescer.run();
    const queued = [coalescer.run(), coalescer.run(), coalescer.run()];
    assert.equal(queued[0], queued[2], "calls while one runs share one promise");
    await Promise.all([first, ...queued]);
    assert.equal(runs, 2);
    assert.equal(maxConcurrent, 1);
    await coalescer.run();
    assert.equal(runs, 3);
  });

  it("still runs the queued restart when the running one fails", async () => {
    let runs = 0;
    const coalescer = new Coalescer(async () => {
      runs++;
      await sleep(5);
      if (runs === 1) throw new Error("first start failed");
    });
    const first = coalescer.run();
    const second = coalescer.run();
    await assert.rejects(first, /first start failed/);
    await second;
    assert.equal(runs, 2);
  });
});

describe("debounce", () => {
  it("fires once after the last call of a burst, and not at all once cancelled", async () => {
    let fired = 0;
    const fn = debounce(() => fired++, 20);
    fn();
    fn();
    await sleep(10);
    fn();
    await sleep(40);
    assert.equal(fired, 1);
    fn();
    fn.cancel();
    await sleep(40);
    assert.equal(fired, 1);
  });
});

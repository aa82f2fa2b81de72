/**
 * Restart policy: crashes get a bounded number of restarts, and bursts of restart requests
 * (settings edited key by key, interpreter switches) collapse into one restart at a time.
 */

/** Allows at most `max` restarts within any `windowMs`; past that the server stays down. */
export class RestartBudget {
  private recent: number[] = [];

  constructor(
    private readonly max = 3,
    private readonly windowMs = 3 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a crash; true when one more restart is allowed. */
  allow(): boolean {
    const time = this.now();
    this.recent = this.recent.filter((earlier) => time - earlier < this.windowMs);
    if (this.recent.length >= this.max) {
      return false;
    }
    this.recent.push(time);
    return true;
  }

  reset(): void {
    this.recent = [];
  }
}

/**
 * Runs an async task one at a time. Calls made while it runs share a single follow-up run,
 * which reads the newest settings anyway, so restarting more often would only waste time.
 */
export class Coalescer {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly task: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.queued !== undefined) {
      return this.queued;
    }
    if (this.running !== undefined) {
      this.queued = this.running
        .catch(() => undefined)
        .then(() => {
          this.queued = undefined;
          return this.start();
        });
      return this.queued;
    }
    return this.start();
  }

  private start(): Promise<void> {
    const current: Promise<void> = this.task().finally(() => {
      if (this.running === current) {
        this.running = undefined;
      }
    });
    this.running = current;
    return current;
  }
}

/** Calls `fn` once, `delayMs` after the last of a burst of calls. */
export function debounce(fn: () => void, delayMs: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const debounced = (): void => {
    clearTimeout(timer);
    timer = setTimeout(fn, delayMs);
  };
  debounced.cancel = (): void => { clearTimeout(timer); };
  return debounced;
}

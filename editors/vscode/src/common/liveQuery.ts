/**
 * Search-as-you-type without flooding the server or showing stale answers.
 *
 * Each keystroke restarts a short timer; only when typing pauses is a request sent. Every
 * request gets a sequence number and an AbortSignal: a newer keystroke aborts the request in
 * flight (the client turns that into $/cancelRequest), and an answer that still arrives for an
 * older sequence number is dropped, because answers can come back out of order.
 */

export interface LiveQueryHandlers<T> {
  fetch(query: string, signal: AbortSignal): Promise<T>;
  onResult(query: string, result: T): void;
  onError(query: string, error: unknown): void;
  /** The query became empty: show nothing rather than the last answer. */
  onEmpty(): void;
  onBusy(busy: boolean): void;
}

export class LiveQuery<T> {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sequence = 0;
  private inFlight: AbortController | undefined;
  // The text the shown (or awaited) answer is for; the same text again needs no new request.
  private current: string | undefined;

  constructor(
    private readonly handlers: LiveQueryHandlers<T>,
    private readonly delayMs = 150,
  ) {}

  update(query: string): void {
    if (query === this.current) {
      return;
    }
    this.current = query;
    clearTimeout(this.timer);
    const sequence = ++this.sequence;
    this.inFlight?.abort();
    this.inFlight = undefined;
    if (query.trim() === "") {
      this.handlers.onBusy(false);
      this.handlers.onEmpty();
      return;
    }
    this.timer = setTimeout(() => void this.send(query, sequence), this.delayMs);
  }

  /** Sends now, skipping the pause (used for the initial value and for explicit refreshes). */
  flush(query: string): void {
    this.update(query);
    if (query.trim() !== "") {
      clearTimeout(this.timer);
      void this.send(query, this.sequence);
    }
  }

  dispose(): void {
    this.current = undefined;
    clearTimeout(this.timer);
    this.sequence++;
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  private async send(query: string, sequence: number): Promise<void> {
    const controller = new AbortController();
    this.inFlight = controller;
    this.handlers.onBusy(true);
    try {
      const result = await this.handlers.fetch(query, controller.signal);
      if (sequence === this.sequence) {
        this.handlers.onResult(query, result);
      }
    } catch (error) {
      if (sequence === this.sequence) {
        this.handlers.onError(query, error);
      }
    } finally {
      if (sequence === this.sequence) {
        this.inFlight = undefined;
        this.handlers.onBusy(false);
      }
    }
  }
}

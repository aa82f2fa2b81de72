/**
 * Tracks the server's work-done progress tokens (begin/report/end) and says which one to show.
 * Several can overlap (a full scan and a saved file); the most recently begun one is shown.
 */
import { Phase } from "./statusModel";

export interface ProgressValue {
  kind: "begin" | "report" | "end";
  title?: string;
  message?: string;
  percentage?: number;
}

export class ProgressTracker {
  private readonly active = new Map<string, Extract<Phase, { kind: "progress" }>>();

  /** Applies one $/progress value; answers the phase to show, or undefined once all have ended. */
  update(token: string | number, value: ProgressValue): Phase | undefined {
    const key = String(token);
    if (value.kind === "end") {
      this.active.delete(key);
    } else {
      const previous = this.active.get(key);
      // Re-inserting moves a begun token to the end of the map: the newest wins.
      if (value.kind === "begin") {
        this.active.delete(key);
      }
      this.active.set(key, {
        kind: "progress",
        title: value.title ?? previous?.title ?? "Indexing",
        message: value.message ?? previous?.message,
        percentage: value.percentage ?? previous?.percentage,
      });
    }
    return [...this.active.values()].at(-1);
  }

  get busy(): boolean {
    return this.active.size > 0;
  }

  clear(): void {
    this.active.clear();
  }
}

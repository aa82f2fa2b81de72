/**
 * What the status item says in each server phase. Pure, so each wording is tested without
 * VS Code; statusItem.ts only copies the view onto the real items.
 */
import { Status } from "./protocol";

export const SHOW_LOG = "findcode.showLog";
export const SHOW_STATUS = "findcode.showStatus";
export const FIND = "findcode.findByMeaning";
export const RESUME = "findcode.resumeIndexing";

export type Phase =
  | { kind: "starting" }
  | { kind: "progress"; title: string; message?: string | undefined; percentage?: number | undefined }
  | { kind: "ready"; status: Status }
  | { kind: "failed"; message: string }
  | { kind: "stopped" };

export interface StatusView {
  text: string;
  detail: string;
  severity: "info" | "warning" | "error";
  busy: boolean;
  command: { id: string; title: string };
}

const count = (n: number): string => n.toLocaleString("en-US");

export function statusView(phase: Phase): StatusView {
  switch (phase.kind) {
    case "starting":
      return {
        text: "$(loading~spin) findcode: starting",
        detail: "Starting the findcode server",
        severity: "info",
        busy: true,
        command: { id: SHOW_LOG, title: "Show Log" },
      };
    case "progress": {
      const percent = phase.percentage === undefined ? "" : ` ${Math.round(phase.percentage)}%`;
      const message = phase.message ? `: ${phase.message}` : "";
      return {
        text: `$(sync~spin) findcode${percent}`,
        detail: `${phase.title}${message}`,
        severity: "info",
        busy: true,
        command: { id: SHOW_STATUS, title: "Show Index Status" },
      };
    }
    case "ready": {
      const { status } = phase;
      if (status.state === "error" || (status.lastError !== null && status.lastError !== "")) {
        return {
          text: "$(error) findcode",
          detail: `Index error: ${status.lastError ?? "unknown"}`,
          severity: "error",
          busy: false,
          command: { id: SHOW_LOG, title: "Show Log" },
        };
      }
      if (status.state === "starting") {
        // The server is up but its index is not open yet (the model loads): no count to show,
        // and a "0 symbols" here would read as an empty, finished index.
        return {
          text: "$(loading~spin) findcode: starting",
          detail: "Loading the model and opening the index",
          severity: "info",
          busy: true,
          command: { id: SHOW_LOG, title: "Show Log" },
        };
      }
      if (status.state === "paused") {
        const why = status.paused === "battery" ? "on battery" : status.paused === "user" ? "by you" : "";
        return {
          text: "$(debug-pause) findcode: paused",
          detail: `Indexing paused${why ? ` ${why}` : ""}: ${count(status.pending)} pending; ${count(status.symbols)} symbols searchable by name, ${count(status.vectors)} by meaning`,
          severity: "warning",
          busy: false,
          command: { id: RESUME, title: "Resume Indexing" },
        };
      }
      if (status.waiting) {
        // The embedding server is away: the index completes by itself once it answers, and
        // search answers by words meanwhile. A warning, not an error: nothing to fix here.
        return {
          text: "$(warning) findcode: waiting for the embedding server",
          detail: status.waiting,
          severity: "warning",
          busy: false,
          command: { id: SHOW_STATUS, title: "Show Index Status" },
        };
      }
      if (status.switching) {
        // Searches answer with the old model meanwhile: busy, but nothing to act on.
        return {
          text: "$(sync~spin) findcode: switching models",
          detail: status.switching,
          severity: "info",
          busy: true,
          command: { id: SHOW_STATUS, title: "Show Index Status" },
        };
      }
      if (status.state !== "idle") {
        // A count while the pass runs would look final; the count of a finished index is the
        // one the status bar shows.
        return {
          text: "$(sync~spin) findcode: indexing",
          detail: `Indexing: ${count(status.pending)} pending; ${count(status.files)} files, ${count(status.symbols)} symbols so far`,
          severity: "info",
          busy: true,
          command: { id: SHOW_STATUS, title: "Show Index Status" },
        };
      }
      return {
        text: `$(search) findcode: ${count(status.symbols)} symbols`,
        detail: `${count(status.symbols)} symbols in ${count(status.files)} files, model ${status.model.name}`,
        severity: "info",
        busy: false,
        command: { id: FIND, title: "Find Code by Meaning" },
      };
    }
    case "failed":
      return {
        text: "$(error) findcode",
        detail: phase.message,
        severity: "error",
        busy: false,
        command: { id: SHOW_LOG, title: "Show Log" },
      };
    case "stopped":
      return {
        text: "$(circle-slash) findcode: stopped",
        detail: "The findcode server is not running",
        severity: "warning",
        busy: false,
        command: { id: SHOW_LOG, title: "Show Log" },
      };
  }
}

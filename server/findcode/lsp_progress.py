"""Indexing progress as LSP work-done progress (window/workDoneProgress/create, $/progress).

The indexer reports from its own thread; everything here runs on the server's event loop.
One progress token spans one indexing pass: created when the engine starts loading its model
or when work starts, reported while files are parsed and symbols embedded, ended when the index
is idle ("indexed 400 files, 1,200 symbols in 32 s", for a "done" notification) or when the
engine stops under it (a restart, shutdown), so no bar is left spinning. Editors show it in
their status line (VS Code's status bar item, Neovim's LspProgress / fidget.nvim).

A pass is one bar: parsing and embedding share one percentage, weighed by what each costs, that
never goes back and says 100 only when the pass ends. The bar begins before the engine has
loaded, so a client never shows the empty index of the moment before the first scan.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from findcode.engine import Progress

log = logging.getLogger("findcode.lsp")

TITLE = "findcode: indexing"
# What a symbol costs to embed until a pass has measured it: the default model embeds about
# 40 symbols/s on two cores. The last pass's measured cost is the next pass's guess.
EMBED_S_GUESS = 0.025
# What a file costs to read, parse and store until the first one is measured.
PARSE_S_GUESS = 0.005
# While any work remains the bar stops short of 100: a full bar means the pass has ended.
BUSY_MAX = 99


@dataclass(frozen=True, slots=True)
class Reading:
    """What the bar shows: the phase in words (with an ETA) and the pass's percentage."""

    message: str
    percentage: int


class PassMeter:
    """One indexing pass as one percentage that only rises, fed the indexer's Progress events.

    Work is counted in seconds: a file costs what the files parsed so far cost on average, a
    symbol what the embedded ones did (guessed until measured). How many symbols need vectors
    is known only once every file is parsed; until then it is extrapolated from the files parsed
    so far. Each event moves the bar by the share of the remaining work done since the last
    one, so an estimate that grows slows the bar instead of pushing it back, and the bar reaches
    the end only when nothing remains.
    """

    def __init__(self, started: float, embed_s: float | None = None) -> None:
        self.started = started
        self.embed_s = embed_s  # seconds a symbol, as measured (here or by an earlier pass)
        self._fraction = 0.0
        self._done_s: float | None = None  # work done at the last event
        self._first_symbols = 0  # symbols known to need vectors when the pass began

    def update(self, progress: Progress) -> Reading:
        """The reading for a busy event (walking, parsing, embedding)."""
        if progress.rate > 0:
            self.embed_s = 1 / progress.rate
        done_s = progress.parse_s + (progress.symbols_done / progress.rate if progress.rate else 0)
        if self._done_s is None:  # the first event: nothing done yet in this pass
            self._done_s, self._first_symbols = done_s, progress.symbols_total
        left_s = self.remaining_s(progress)
        step = max(0.0, done_s - self._done_s)
        self._done_s = max(done_s, self._done_s)
        if step > 0:
            self._fraction += (1 - self._fraction) * step / (step + left_s)
        message = _phase(progress)
        # A guessed cost, a guessed ETA: none; and none while the embedding server is away.
        if left_s > 0 and self.embed_s is not None and progress.waiting is None:
            message += f", {_seconds(left_s)} left"
        return Reading(message, min(BUSY_MAX, int(100 * self._fraction)))

    def remaining_s(self, progress: Progress) -> float:
        """Seconds of work left: files still to parse and symbols still to embed."""
        files_left = max(0, progress.files_total - progress.files_done)
        parsed = progress.files_done
        per_file = progress.parse_s / parsed if parsed and progress.parse_s > 0 else PARSE_S_GUESS
        symbols = float(progress.symbols_total)
        if files_left and parsed:
            found = max(0, progress.symbols_total - self._first_symbols)
            symbols = self._first_symbols + found * progress.files_total / parsed
        symbols_left = max(0.0, symbols - progress.symbols_done)
        per_symbol = EMBED_S_GUESS if self.embed_s is None else self.embed_s
        return files_left * per_file + symbols_left * per_symbol

    def finished(self, progress: Progress, now: float) -> str:
        """The end message: what the pass did, and in how long."""
        if not progress.files_done and not progress.symbols_done:
            return "up to date"
        files = f"{progress.files_done:,} file{'s' if progress.files_done != 1 else ''}"
        symbols = f"{progress.symbols_done:,} symbol{'s' if progress.symbols_done != 1 else ''}"
        return f"indexed {files}, {symbols} in {_seconds(now - self.started)}"


def _phase(progress: Progress) -> str:
    if progress.waiting is not None:
        return progress.waiting
    if progress.phase == "loading":
        return "loading the vector index"
    if progress.phase == "parsing":
        return f"parsing {progress.files_done:,}/{progress.files_total:,} files"
    if progress.phase == "re-embedding" and progress.switching is not None:
        return progress.switching  # "re-embedding for <model>: 3,200/20,000 symbols"
    if progress.phase == "embedding":
        message = f"embedding {progress.symbols_done:,}/{progress.symbols_total:,} symbols"
        return message + (f", {progress.rate:.0f}/s" if progress.rate > 0 else "")
    return "scanning the workspace"


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:,.0f} s"


class IndexingProgress:
    """Turns the indexer's Progress events into one work-done progress per indexing pass."""

    def __init__(self, server: LanguageServer) -> None:
        self._server = server
        self.enabled = False  # the client said window.workDoneProgress
        self._token: str | None = None
        self._created = False
        self._meter: PassMeter | None = None
        self._latest = Reading("loading the model", 0)  # what the begin shows, once created
        self._ending: str | None = None  # the pass ended while the client was answering
        self._creating: asyncio.Future[None] | None = None  # held: a task needs a reference
        self._embed_s: float | None = None  # a symbol's cost, measured by an earlier pass

    def starting(self) -> None:
        """The engine is loading its model: the bar begins now, before any count is known."""
        if self.enabled and self._token is None:
            self._create()

    def update(self, progress: Progress) -> None:
        if not self.enabled:
            return
        if self._token is None:
            if progress.phase in ("idle", "paused"):
                return
            self._create()
        if self._meter is None:
            self._meter = PassMeter(time.monotonic(), self._embed_s)
        if progress.phase == "idle":
            self._embed_s = self._meter.embed_s
            self._finish(self._meter.finished(progress, time.monotonic()))
            return
        if progress.phase == "paused":  # the bar ends; resuming begins a new one
            self._finish("paused")
            return
        self._latest = self._meter.update(progress)
        if self._created and self._token is not None:
            self._server.work_done_progress.report(
                self._token,
                types.WorkDoneProgressReport(
                    message=self._latest.message, percentage=self._latest.percentage
                ),
            )

    def end(self) -> None:
        """The engine stopped: end the pass it left open; a token still being created is
        dropped when the client answers (its token is no longer the current one)."""
        token, self._token, self._meter = self._token, None, None
        if token is not None and self._created:
            self._server.work_done_progress.end(token, types.WorkDoneProgressEnd(message="stopped"))

    def _create(self) -> None:
        self._token = f"findcode-index-{uuid.uuid4().hex[:8]}"
        self._created, self._meter, self._ending = False, None, None
        self._latest = Reading("loading the model", 0)  # an engine event replaces it at once
        self._creating = asyncio.ensure_future(self._begin(self._token))

    async def _begin(self, token: str) -> None:
        try:
            await self._server.work_done_progress.create_async(token)
        except Exception as error:  # the client refused: no bar, indexing goes on
            log.warning("the client refused a progress token: %s", error)
            if token == self._token:
                self._token = None
            return
        if token != self._token:
            return
        self._created = True
        self._server.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=TITLE,
                message=self._latest.message,
                percentage=self._latest.percentage,
                cancellable=False,
            ),
        )
        if self._ending is not None:
            self._finish(self._ending)

    def _finish(self, message: str) -> None:
        """The index is idle: end the bar with what the pass did."""
        token = self._token
        if token is None or not self._created:
            self._ending = message  # said once the client has answered the create
            return
        self._token, self._meter = None, None
        self._server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

"""Indexing progress as LSP work-done progress (window/workDoneProgress/create, $/progress).

The indexer reports from its own thread; everything here runs on the server's event loop.
One progress token spans one indexing pass: created when work starts, reported while files
are parsed and symbols embedded, ended when the index is idle or when the engine stops under it
(a restart, shutdown), so no bar is left spinning. Editors show it in their
status line (VS Code's status bar item, Neovim's LspProgress / fidget.nvim).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from findcode.engine import Progress

log = logging.getLogger("findcode.lsp")

TITLE = "findcode: indexing"


def describe(progress: Progress) -> tuple[str, int]:
    """A message such as "parsing 120/400 files" and a percentage for one event."""
    if progress.phase == "walking":
        return "scanning the workspace", 0
    if progress.phase == "parsing":
        done, total = progress.files_done, max(progress.files_total, 1)
        return f"parsing {done}/{progress.files_total} files", min(100, 100 * done // total)
    if progress.phase == "embedding":
        done, total = progress.symbols_done, max(progress.symbols_total, 1)
        message = f"embedding {done}/{progress.symbols_total} symbols"
        if progress.rate > 0:
            message += f", {progress.rate:.0f}/s"
        if progress.eta_s:
            message += f", {progress.eta_s:.0f} s left"
        return message, min(100, 100 * done // total)
    return "up to date", 100


class IndexingProgress:
    """Turns the indexer's Progress events into one work-done progress per indexing pass."""

    def __init__(self, server: LanguageServer) -> None:
        self._server = server
        self.enabled = False  # the client said window.workDoneProgress
        self._token: str | None = None
        self._created = False
        self._latest: Progress | None = None
        self._creating: asyncio.Future[None] | None = None

    def update(self, progress: Progress) -> None:
        self._latest = progress
        if not self.enabled:
            return
        if self._token is None:
            if progress.phase != "idle":
                self._token = f"findcode-index-{uuid.uuid4().hex[:8]}"
                self._created = False
                self._creating = asyncio.ensure_future(self._begin(self._token))
            return
        if self._created:
            self._send(progress)

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
        message, percentage = describe(self._latest) if self._latest else ("starting", 0)
        self._server.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=TITLE, message=message, percentage=percentage, cancellable=False
            ),
        )
        if self._latest is not None and self._latest.phase == "idle":
            self._send(self._latest)  # the pass ended while the client was answering

    def end(self) -> None:
        """The engine stopped: end the pass it left open; a token still being created is
        dropped when the client answers (its token is no longer the current one)."""
        token, self._token, self._latest = self._token, None, None
        if token is not None and self._created:
            self._server.work_done_progress.end(token, types.WorkDoneProgressEnd(message="stopped"))

    def _send(self, progress: Progress) -> None:
        token = self._token
        if token is None:
            return
        message, percentage = describe(progress)
        if progress.phase == "idle":
            self._token = None
            self._server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        else:
            self._server.work_done_progress.report(
                token, types.WorkDoneProgressReport(message=message, percentage=percentage)
            )

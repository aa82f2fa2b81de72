"""The engine's lifecycle in the Language Server: start, stop, roots and settings, in order.

An editor sends `initialized`, a folder change and a settings change within milliseconds, while
the engine takes a second or more to load its model. Applied as they come, on threads of their
own, they race: a folder added while the engine starts is lost, a failed start leaves the
server "starting" for good, and a restart closes the index under a search in flight. So every
change is an operation in one queue, and one task on the event loop applies them one after
another, the way the indexer applies its `control` calls.

Why a task on the event loop rather than a worker thread: the host's state (the engine, its
readiness, the searches using it) is then touched by one thread only, without locks, and a
search can simply await readiness. Only the blocking parts of an operation (loading the model,
closing the index) run on the loop's executor. A search holds a lease on the engine while it
runs; a restart takes the engine away from new searches at once (they wait for the new one)
and closes the old one only when the last search on it has finished.

Open buffers are kept here too, as a way to read their latest text: opening a file and each
edit schedule a parse into the engine's overlay (overlay.py), at once after a quiet spell
and then at most every BUFFER_DEBOUNCE_S while typing goes on, so a burst of keystrokes is one
parse and a single edit is searchable by name within milliseconds. A new engine (a restart)
parses them all again; a save or a close waits for the parse in flight, so an overlay of text
older than the save cannot outlive it.

A change of model alone does not restart the engine: the running one switches models in the
background (Engine.switch_model) and answers with the old model meanwhile. A model that will
not load leaves the old one running, and the user is told why.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from findcode.config import Settings
from findcode.engine import Engine, Progress
from findcode.errors import FindcodeError
from findcode.roots import index_base
from findcode.watcher import Watcher

log = logging.getLogger("findcode.lsp")

# How long a request waits for the engine to load its model before it gives up. Building the
# default model on first use takes longer than loading it; the request then asks to retry.
START_WAIT_S = 120.0
# Settings whose change needs a new engine: another model, other files, another index.
ENGINE_SETTINGS = (
    "model",
    "embedding",
    "index_dir",
    "cache_dir",
    "exclude",
    "languages",
    "max_file_bytes",
    "threads",
    "low_priority",
    "pause_on_battery",
)
# Of those, the ones a running engine can change by itself, without a restart.
MODEL_SETTINGS = ("model", "embedding")
STOPPED = "findcode has shut down"
# An unsaved buffer is parsed again at most this often while it is being typed in.
BUFFER_DEBOUNCE_S = 0.3


class ProgressListener(Protocol):
    """Where indexing progress goes (the client's progress bar); called on the event loop."""

    def starting(self) -> None:
        """The engine is loading: the bar can begin before indexing has any figures."""

    def update(self, progress: Progress) -> None: ...

    def end(self) -> None:
        """The engine stopped: a pass it left unfinished ends here."""


@dataclass
class _Buffer:
    """An open buffer: how to read its text, and its parse's schedule."""

    read: Callable[[], str | None]  # its latest text; None once it is closed
    changed: bool = True  # edited since its last parse began
    parsing: bool = False
    last: float = -math.inf  # when its last parse began (loop time)
    task: asyncio.Task[None] | None = None


class EngineUnavailable(FindcodeError):
    """No engine can answer: it failed to start, has shut down, or is still loading."""


class EngineHost:
    """Owns the engine, the watcher, the roots and the settings the engine runs with."""

    def __init__(self, progress: ProgressListener, on_failure: Callable[[str], None]) -> None:
        self._progress_listener = progress
        self._on_failure = on_failure  # the engine could not start or switch: tell the user
        self.roots: list[Path] = []
        self.settings = Settings()
        self.error: str | None = None  # why there is no engine, when it failed or stopped
        self._started = False  # a start was applied (and no stop since)
        self._engine: Engine | None = None  # set from the start of a start, until its close
        self._watcher: Watcher | None = None
        self._generation = 0  # progress events of an engine that is gone are dropped
        self._ops: collections.deque[tuple[Callable[[], Awaitable[None]], asyncio.Future[None]]]
        self._ops = collections.deque()
        self._drainer: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None  # settled: `_engine` runs, or `error`
        self._leases = 0
        self._unused: asyncio.Event | None = None  # set while no search holds the engine
        self._buffers: dict[Path, _Buffer] = {}
        # Paused by the user: every engine this host starts is paused until resumed (a settings
        # change restarts the engine; a new server starts unpaused).
        self.paused = False

    # -- requests from the server's handlers (on the event loop)

    def start(self, settings: Settings) -> None:
        """Start the engine over the roots given so far (and any given before it runs)."""
        self._submit(lambda: self._restart(settings))

    def change_settings(self, settings: Settings) -> None:
        self._submit(lambda: self._apply_settings(settings))

    def change_roots(self, added: Sequence[Path], removed: Sequence[Path] = ()) -> None:
        self._submit(lambda: self._apply_roots(added, removed))

    async def stop(self) -> None:
        """Stop the watcher and the indexer and save the index (shutdown)."""
        await self._submit(self._stop)

    def close_now(self) -> None:
        """The event loop is gone (a vanished client): close whatever runs, on this thread."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self.error = STOPPED

    @contextlib.asynccontextmanager
    async def engine(self) -> AsyncIterator[Engine]:
        """The running engine, once it is ready; it stays open until the block ends.

        Waits (without polling) through a start or a restart; EngineUnavailable when it failed.
        """
        ready = self._readiness()
        while not ready.done():
            _, waiting = await asyncio.wait({ready}, timeout=START_WAIT_S)
            if waiting:
                raise EngineUnavailable("findcode is still loading its model; try again soon")
            ready = self._readiness()  # a restart may have begun since this one settled
        engine = self._engine
        if engine is None:
            raise EngineUnavailable(self.error or "findcode is not running")
        self._leases += 1
        self._idle_event().clear()
        try:
            yield engine
        finally:
            self._leases -= 1
            if not self._leases:
                self._idle_event().set()

    def running(self) -> Engine | None:
        """The engine if it is ready now, else None (status, notifications about files)."""
        ready = self._ready
        return self._engine if ready is not None and ready.done() else None

    def pause(self) -> None:
        """Pause indexing now, in the engine running or starting, and in any later one."""
        self.paused = True
        if self._engine is not None:
            self._engine.pause()

    def resume(self) -> None:
        self.paused = False
        if self._engine is not None:
            self._engine.resume()

    def notify_changed(self, paths: Iterable[Path], *, urgent: bool = False) -> None:
        """Files changed; while no engine is ready, its start's walk will find them instead
        (and puts the open buffers' files first)."""
        engine = self.running()
        if engine is not None:
            engine.notify_changed(list(paths), urgent=urgent)

    # -- unsaved buffers (on the event loop)

    def buffer_changed(self, path: Path, read: Callable[[], str | None]) -> None:
        """A buffer was opened or edited: parse it into the engine's overlay (debounced)."""
        buffer = self._buffers.get(path)
        if buffer is None:
            buffer = self._buffers[path] = _Buffer(read)
        buffer.read, buffer.changed = read, True
        self._schedule(path, buffer)

    def buffer_saved(self, path: Path) -> None:
        """Index the saved file first; its overlay goes once the index has it."""
        self._end_buffer(path, lambda engine: engine.buffer_saved(path))

    def buffer_closed(self, path: Path) -> None:
        """Closed: unsaved edits are gone, and the stored symbols are the truth again."""
        self._end_buffer(path, lambda engine: engine.close_buffer(path))

    def _end_buffer(self, path: Path, then: Callable[[Engine], None]) -> None:
        buffer = self._buffers.pop(path, None)

        def apply(_: object = None) -> None:
            engine = self.running()
            if engine is not None:
                then(engine)

        task = buffer.task if buffer is not None else None
        if task is not None and not task.done() and buffer is not None and buffer.parsing:
            task.add_done_callback(apply)  # after the overlay that parse puts
            return
        if task is not None:
            task.cancel()  # waiting out the debounce: nothing to wait for
        apply()

    def _schedule(self, path: Path, buffer: _Buffer) -> None:
        if buffer.task is None or buffer.task.done():
            buffer.task = asyncio.get_running_loop().create_task(
                self._parse_buffer(path, buffer), name="findcode-buffer"
            )

    async def _parse_buffer(self, path: Path, buffer: _Buffer) -> None:
        loop = asyncio.get_running_loop()
        while buffer.changed and self._buffers.get(path) is buffer:
            wait = buffer.last + BUFFER_DEBOUNCE_S - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue  # saved or closed meanwhile: the loop's test ends it
            engine = self.running()
            text = buffer.read()
            if engine is None or text is None:
                return  # no engine: its start parses the buffer (`_open`)
            buffer.changed, buffer.last, buffer.parsing = False, loop.time(), True
            try:
                await asyncio.to_thread(engine.update_buffer, path, text)
            except FindcodeError as error:  # the engine stopped under the parse
                log.debug("unsaved edits of %s not parsed: %s", path, error)
            finally:
                buffer.parsing = False

    # -- the queue

    def _submit(self, op: Callable[[], Awaitable[None]]) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._ops.append((op, done))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain(), name="findcode-host")
        return done

    async def _drain(self) -> None:
        while self._ops:
            op, done = self._ops.popleft()
            try:
                await op()
            except Exception:  # a bug in one operation must not stop the ones after it
                log.exception("findcode could not apply a change to its engine")
            finally:
                if not done.done():
                    done.set_result(None)

    def _readiness(self) -> asyncio.Future[None]:
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
        return self._ready

    def _idle_event(self) -> asyncio.Event:
        if self._unused is None:
            self._unused = asyncio.Event()
            self._unused.set()
        return self._unused

    def _unready(self) -> None:
        """New searches wait from now on, for the engine the running operation makes."""
        if self._readiness().done():
            self._ready = asyncio.get_running_loop().create_future()

    def _settle(self) -> None:
        ready = self._readiness()
        if not ready.done():
            ready.set_result(None)

    # -- the operations, one at a time

    async def _restart(self, settings: Settings) -> None:
        self.settings, self._started = settings, True
        self._unready()
        try:
            await self._close()
            await self._open()
        finally:
            self._settle()

    async def _apply_settings(self, settings: Settings) -> None:
        old, self.settings = self.settings, settings
        if not self._started:
            return  # the start, still to come, uses these settings
        changed = {
            name for name in ENGINE_SETTINGS if getattr(old, name) != getattr(settings, name)
        }
        engine = self.running()
        if changed and (engine is None or not changed <= set(MODEL_SETTINGS)):
            log.info("settings changed: restarting the engine")
            await self._restart(settings)
            return
        if changed and engine is not None:
            await self._switch_model(engine, settings)
        if old.watch != settings.watch and self._engine is not None:
            if self._watcher is not None:
                await asyncio.to_thread(self._watcher.stop)
                self._watcher = None
            if settings.watch:
                self._watcher = await asyncio.to_thread(self._watch, self._engine)

    async def _switch_model(self, engine: Engine, settings: Settings) -> None:
        """The model changed: the running engine re-embeds in the background, and keeps
        answering with the model it has until that is done."""
        log.info("the model setting changed: switching models in the background")
        try:
            await asyncio.to_thread(engine.switch_model, settings)
        except FindcodeError as error:
            message = f"findcode cannot switch models: {error}; still using {engine.embedder.name}"
            log.error("%s", message)
            self._on_failure(message)

    async def _apply_roots(self, added: Sequence[Path], removed: Sequence[Path]) -> None:
        engine, watcher = self.running(), self._watcher
        for root in removed:
            if root in self.roots:
                self.roots.remove(root)
                if engine is not None:
                    engine.remove_root(root)
                if watcher is not None:
                    watcher.remove_root(root)
        for root in added:
            if root not in self.roots:
                self.roots.append(root)
                if engine is not None:
                    engine.add_root(root)  # opened and walked on the indexer's thread
                if watcher is not None:
                    await asyncio.to_thread(watcher.add_root, root)  # inotify walks the tree

    async def _stop(self) -> None:
        self._unready()
        try:
            await self._close()
        finally:
            self.error, self._started = STOPPED, False
            self._settle()

    async def _open(self) -> None:
        self._generation += 1
        generation, loop = self._generation, asyncio.get_running_loop()

        def report(progress: Progress) -> None:  # on the indexer's thread
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._progress, generation, progress)

        engine = self._engine = Engine(
            self.roots, self.settings, on_progress=report, on_log=_engine_log
        )
        if self.paused:
            engine.pause()
        self._progress_listener.starting()
        self.error = None
        try:
            await asyncio.to_thread(engine.start)
            log.info("indexing %s", ", ".join(map(str, self.roots)) or "no folder")
            if self.settings.watch:
                self._watcher = await asyncio.to_thread(self._watch, engine)
            # Last, with nothing awaited between here and readiness: the buffers opened while
            # no engine was ready (their didOpen found none) go first in its first pass, as a
            # didOpen to a ready engine puts them, and into its overlay (it has none yet).
            engine.notify_changed(list(self._buffers), urgent=True)
            for path, buffer in self._buffers.items():
                buffer.changed = True
                self._schedule(path, buffer)
        except FindcodeError as error:
            self.error = str(error)
        except OSError as error:  # a folder that cannot be made or read, named in the error
            self.error = f"findcode cannot open its index: {error}"
        except Exception as error:
            log.exception("findcode failed to start")
            self.error = f"findcode failed to start: {error!r}"
        finally:
            if self.error is not None:
                self._engine = None
                self._progress_listener.end()
                log.error("findcode cannot start: %s", self.error)
                self._on_failure(f"findcode cannot start: {self.error}")
                await asyncio.to_thread(engine.close)  # the model, if it was loaded

    async def _close(self) -> None:
        engine, watcher = self._engine, self._watcher
        self._engine = self._watcher = None
        self._generation += 1
        try:
            await self._idle_event().wait()  # the searches on the old engine finish first
            if watcher is not None:
                await asyncio.to_thread(watcher.stop)
            if engine is not None:
                await asyncio.to_thread(engine.close)
        finally:
            self._progress_listener.end()

    def _watch(self, engine: Engine) -> Watcher | None:
        # The index folders (and server.log) all live under one base, which may be in a root.
        ignore = [index_base(self.settings.index_dir)]
        watcher = Watcher(self.settings, lambda paths: engine.notify_changed(paths), ignore=ignore)
        try:
            watcher.start(self.roots)
        except OSError as error:  # inotify limits, a vanished folder: saves still work
            log.warning("cannot watch the workspace for outside changes: %s", error)
            return None
        return watcher

    def _progress(self, generation: int, progress: Progress) -> None:
        if generation == self._generation:
            self._progress_listener.update(progress)


def log_folder(settings: Settings) -> Path:
    """Where server.log goes: beside the indexes."""
    return index_base(settings.index_dir)


def _engine_log(level: str, message: str) -> None:
    number = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    logging.getLogger("findcode.engine").log(number, message)

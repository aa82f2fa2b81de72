"""The one background worker: it owns the embedder's document side and every write.

Work arrives as paths (a full walk, a save, a watcher event) and control requests (scan,
reindex, roots added or removed). One thread does all of it, so the store never sees two
writers and the hnswlib index never races its own resize. The order is what a person at the
keyboard wants: the file just saved is parsed and embedded before the background walk goes
on; every file is parsed (and searchable by its words) before any background embedding
starts; and embedding goes in small batches so a query's own embedding waits one batch at
most.

Nothing here costs more than its change: a file whose size and mtime are unchanged is not
read, one whose content hash is unchanged is not parsed, and of a changed file only the
symbols whose body hash has no stored vector are embedded. All state lives in the store, so a
killed process resumes where it stopped: what is pending is simply what has no vector.
The hnswlib file is only a cache of the stored vectors, so it is written after a quiet spell,
not at every idle: a crash in between costs a rebuild from the store on open, never an embed.

A change of model does not take search by meaning away: the indexer keeps the current model
for searches and saves while the new one embeds, after all other work, whatever has no vector
of it yet (a saved file's new symbols included), into a vector index of its own; once nothing
is left, one step makes the new model the store's and the searches' (`switch_to`). A process
killed before that step reopens with the old model recorded in the store, every vector made so
far kept; after it, with the new one.

The editor's own work comes before indexing: the thread runs at the lowest OS priority
(priority.py), its embedding threads follow what other processes leave free (load.py), and a
pause (by the user, or on battery) stops it taking background work between two batches.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import os
import stat
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from findcode.config import Settings
from findcode.documents import document_text
from findcode.embedder import usable_cores
from findcode.embedding import TextEmbedder
from findcode.errors import EmbeddingServerUnreachable, FindcodeError
from findcode.load import CpuMeter, threads_for
from findcode.loaded_model import LoadedModel
from findcode.overlay import Overlays
from findcode.power import on_battery
from findcode.priority import lower_this_thread
from findcode.recency import recent_files
from findcode.roots import RootIndex, open_root, reset_index
from findcode.store import SymbolRow
from findcode.symbols import extract_symbols, language_for_path
from findcode.vector_cache import SharedCache
from findcode.vectors import VectorIndex
from findcode.workspace import SkipFile, check_root, is_excluded, read_source, walk

# Unsaved buffers' symbols embedded per call: fewer, so the one just typed (first in line) is
# searchable by meaning after a short batch, even on a loaded machine.
OVERLAY_BATCH = 4
# Progress events at most this often (a rich bar or an LSP client needs no more).
PROGRESS_INTERVAL_S = 0.2
# The vector file is saved once nothing has changed for this long, if enough has changed since
# it was written (vectors.RESAVE_FRACTION; the rest waits for close). Saving costs ~150 ms at
# 20k symbols (write, fsync, checksum) and ~3 s at 10^6, which used to be paid after every
# save in the editor: a save arriving meanwhile waited for it.
SAVE_AFTER_QUIET_S = 5.0
# ...or at the next idle once changes have been waiting this long, so a stream of edits cannot
# put the save off forever.
SAVE_AT_MOST_EVERY_S = 60.0
# With pauseOnBattery, how often an idle or paused worker looks at the power supply.
POWER_CHECK_S = 10.0
# Why indexing is paused: by the user's command, or because the machine went on battery.
PAUSED_BY_USER = "user"
PAUSED_ON_BATTERY = "battery"
# Marks in a written root's index folder, "<pid> <text>": how `findcode status`, in another
# process, learns what the server indexing the root is doing. Paused: "<pid> <reason>".
PAUSE_MARK = "paused"
# Embedding waits for its server: "<pid> <retry time, seconds since the epoch> <why>".
WAITING_MARK = "waiting"
# Switching models: "<pid> <the new model's key> <its name>" (its progress is in the store).
SWITCH_MARK = "switching"


@dataclass(frozen=True, slots=True)
class Progress:
    # "loading" | "walking" | "parsing" | "embedding" | "re-embedding" | "waiting" | "paused"
    # | "idle"
    phase: str
    files_done: int
    files_total: int
    symbols_done: int
    symbols_total: int
    rate: float  # symbols/s embedded
    eta_s: float | None
    # Seconds spent on files this pass: with `rate`, what a file and a symbol cost, so a bar
    # can weigh the parse against the embed.
    parse_s: float
    # Why embedding waits ("embedding server unreachable: retrying in 30 s (...)"), if it does.
    waiting: str | None = None
    # A switch of models in progress: "re-embedding for <model>: 3,200/20,000 symbols".
    switching: str | None = None


def waiting_message(left_s: float, detail: str) -> str:
    return f"embedding server unreachable: retrying in {left_s:.0f} s ({detail})"


def switching_message(model: str, done: int, total: int) -> str:
    return f"re-embedding for {model}: {done:,}/{total:,} symbols"


def root_of(roots: Iterable[Path], path: Path) -> Path | None:
    """The innermost root containing `path`."""
    best: Path | None = None
    for root in roots:
        inside = path == root or root in path.parents
        if inside and (best is None or len(root.parts) > len(best.parts)):
            best = root
    return best


def read_mark(directory: Path, name: str) -> tuple[int, str] | None:
    """(pid, text) of a mark in this index folder, if a process left one."""
    try:
        pid, text = (directory / name).read_text(encoding="utf-8").strip().split(maxsplit=1)
        return int(pid), text
    except (OSError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class View:
    """What one search reads: a model, and the vector index of that model in each root."""

    model: LoadedModel
    roots: list[tuple[RootIndex, VectorIndex]]

    def release(self) -> None:
        self.model.release()


@dataclass
class _Switch:
    """A switch to another model in progress: that model, its vector index of each root
    (complete once nothing is pending), and where its background pass stands."""

    model: LoadedModel
    shared: SharedCache | None  # the cacheDir folder, for this model's vectors
    vectors: dict[Path, VectorIndex] = field(default_factory=dict)
    pending: dict[Path, int] = field(default_factory=dict)  # as the indexer's own `_pending`
    cursor: dict[Path, int] = field(default_factory=dict)
    done: dict[Path, int] = field(default_factory=dict)  # symbols with a vector of the model

    def forget(self, root: Path) -> None:
        for table in (self.vectors, self.pending, self.cursor, self.done):
            table.pop(root, None)

    def message(self) -> str:
        done = sum(self.done.values())
        return switching_message(self.model.name, done, done + sum(self.pending.values()))


class Indexer:
    def __init__(
        self,
        settings: Settings,
        model: LoadedModel,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        log: Callable[[str, str], None],
        overlays: Overlays | None = None,
        adapt_threads: bool = False,
    ) -> None:
        self.settings = settings
        # Open buffers' unsaved symbols: embedded here, after saves and before the background
        # pass, and never stored (overlay.py).
        self.overlays = overlays if overlays is not None else Overlays()
        # The model searches and saves use; owned from here on (retired at `stop`).
        self.model = model
        self._switch: _Switch | None = None  # the model being switched to, if any
        self._on_progress = on_progress
        self._log = log
        # The cacheDir folder: vectors made elsewhere, looked up before embedding.
        self._shared = self._shared_cache(model.key)
        self._cond = threading.Condition()
        self._roots: dict[Path, RootIndex] = {}
        self._control: collections.deque[Callable[[], None]] = collections.deque()
        self._scans: list[Path] = []
        # path -> root, insertion-ordered and de-duplicated: a burst of saves is one parse.
        self._urgent: dict[Path, Path] = {}
        self._normal: dict[Path, Path] = {}
        self._urgent_files: dict[Path, set[int]] = collections.defaultdict(set)
        self._pending: dict[Path, int] = {}
        self._cursor: dict[Path, int] = {}  # embedding goes up the symbol ids of each root
        self._dirty: set[Path] = set()  # roots whose vector file is older than their store
        self._dirty_since: float | None = None
        self._stopping = False
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self.embedded_count = 0
        self.embed_seconds = 0.0  # time inside embed_documents, for the bench's baseline
        self.skipped: collections.Counter[str] = collections.Counter()
        self._warned: set[str] = set()  # each unusable glob is told once, not at every scan
        self.last_error: str | None = None
        # The embedding server is unreachable: embedding (only) waits until this monotonic
        # time, keeping what is pending; parsing and everything else go on.
        self._retry_at: float | None = None
        self._unreachable = ""  # the server's failure, for the waiting message
        self._retry_wall = 0.0  # _retry_at in seconds since the epoch (WAITING_MARK)
        self.phase = "idle"
        self._pass = _PassCounters()
        self._last_progress = 0.0
        self._last_phase = ""
        # Why the worker takes no background work, "user" before "battery" (empty: it does).
        self._paused: set[str] = set()
        self._on_battery: bool | None = None  # last seen, to pause on the change only
        self._power_checked = -POWER_CHECK_S
        self.priority = "normal"  # what the OS granted the worker thread (status, the bench)
        # The embedder's threads follow the load between batches (load.py).
        self._meter = CpuMeter() if adapt_threads else None
        self._marked: dict[tuple[Path, str], str] = {}  # (root, mark name) -> its text
        self._pause_told = True  # False: a pause or resume the worker has not yet acted on

    @property
    def embedder(self) -> TextEmbedder:
        return self.model.embedder

    @property
    def embed_key(self) -> str:
        return self.model.key

    def _shared_cache(self, key: str) -> SharedCache | None:
        folder = self.settings.cache_dir
        if folder is None:
            return None
        return SharedCache(folder, key, lambda message: self._log("warning", message))

    # -- roots (opened by the caller before start; later ones through the queue)

    def open_root(self, root: Path) -> RootIndex:
        check_root(root)
        index = open_root(root, self.settings.index_dir, self.embed_key, self.embedder.dims)
        with self._cond:
            self._roots[index.root] = index
            if index.writer:  # else another process embeds them
                self._pending[index.root] = index.store.counts(self.embed_key)["pending"]
        self.control(functools.partial(self._load_vectors, index))
        if self._switch is not None:
            self._prepare_switch(index)
        return index

    def _load_vectors(self, index: RootIndex) -> None:
        """Load a root's saved vector index, or rebuild it from the stored vectors: before any
        other work on the root, and on this thread, so that a large index (seconds at 10^6
        vectors) does not hold up the first search, which answers by words meanwhile."""
        if self._roots.get(index.root) is not index:  # removed or reopened since
            return
        if index.store.vector_count(self.embed_key):  # a first index has none to load
            self.phase = "loading"
            self._emit()
        index.sync_vectors(lambda message: self._log("warning", message))
        if index.writer and index.vectors.unsaved:  # its file was behind the store
            with self._cond:
                self._changed(index.root)

    def roots(self) -> list[RootIndex]:
        with self._cond:
            return list(self._roots.values())

    def view(self) -> View:
        """The model and the vector index of each root that one search uses, taken together:
        a switch of models changes both at once. `release()` it when the search is done."""
        with self._cond:
            self.model.acquire()
            return View(self.model, [(index, index.vectors) for index in self._roots.values()])

    # -- requests from any thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="findcode-indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        # The batch in hand is given up (it stays pending in the store): at idle priority on
        # a busy machine it could hold a shutdown or a restart for minutes.
        switch = self._switch
        for model in (self.model, switch.model if switch is not None else None):
            if model is not None:
                model.embedder.interrupt()
        if self._thread is not None:
            self._thread.join()
        # A stopped server pauses, waits for and switches nothing; what a switch has embedded
        # stays stored, for the next switch to that model.
        self._paused.clear()
        self._retry_at = None
        self._drop_switch()
        self._mark_state()
        for index in self.roots():
            index.close(save=index.root in self._dirty)
        self._dirty.clear()
        if self._shared is not None:
            self._shared.close()
        self.model.retire()

    def _submit(self, fn: Callable[[], None]) -> None:
        with self._cond:
            fn()
            if self._has_work():  # a path outside every root, say, is no work at all
                self._idle.clear()
                self._cond.notify_all()

    def scan(self, roots: Iterable[Path] | None = None) -> None:
        def add() -> None:
            for root in roots if roots is not None else self._roots:
                if root not in self._scans:
                    self._scans.append(root)

        self._submit(add)

    def paths_changed(self, paths: Iterable[Path], urgent: bool) -> None:
        def add() -> None:
            for path in paths:
                path = Path(os.path.abspath(path))
                root = root_of(self._roots, path)
                if root is None:
                    continue
                queued = path in self._urgent or path in self._normal
                if urgent:
                    self._normal.pop(path, None)
                    self._urgent[path] = root
                elif path not in self._urgent:
                    self._normal[path] = root
                if not queued:
                    self._pass.files_total += 1

        self._submit(add)

    def wake(self) -> None:
        """An overlay changed: its symbols may need vectors. Not index work: `busy` stays as
        it is, and a status still says idle while a buffer's edit is embedded."""
        with self._cond:
            self._cond.notify_all()

    def pause(self, reason: str = PAUSED_BY_USER) -> None:
        """Take no more parsing or embedding work after the batch in hand; control requests
        and saved files still run (a save is parsed, so its names stay searchable)."""
        with self._cond:
            self._paused.add(reason)
            self._pause_told = False
            self._idle.clear()  # wait_idle: until the worker has stopped and said so
            self._cond.notify_all()

    def resume(self) -> None:
        """Go on where the pause stopped; a later switch to battery pauses again."""
        with self._cond:
            self._paused.clear()
            self._pause_told = False
            self._idle.clear()
            self._cond.notify_all()

    @property
    def paused(self) -> str | None:
        """Why indexing is paused: PAUSED_BY_USER, PAUSED_ON_BATTERY, or None."""
        with self._cond:
            if PAUSED_BY_USER in self._paused:
                return PAUSED_BY_USER
            return PAUSED_ON_BATTERY if self._paused else None

    def control(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the worker thread, before any other queued work."""
        self._submit(lambda: self._control.append(fn))

    def add_root(self, root: Path) -> None:
        def run() -> None:
            if root not in self._roots:
                self.open_root(root)
                self.scan([root])

        self.control(run)

    def remove_root(self, root: Path) -> None:
        def run() -> None:
            with self._cond:
                index = self._roots.pop(root, None)
                self._pending.pop(root, None)
                if self._switch is not None:
                    self._switch.forget(root)
                self._scans = [r for r in self._scans if r != root]
                for queue in (self._urgent, self._normal):
                    for path in [p for p, r in queue.items() if r == root]:
                        del queue[path]
            if index is not None:
                index.close(save=root in self._dirty)
                self._dirty.discard(root)

        self.control(run)

    def reindex(self) -> None:
        def run() -> None:
            for root in list(self._roots):
                with self._cond:
                    index = self._roots.pop(root)
                index.store.close()
                reset_index(root, self.settings.index_dir, keep_vectors=False)
                self.open_root(root)
            self.scan()

        self.control(run)

    def switch_to(self, model: LoadedModel) -> None:
        """Embed with `model` from now on, without a pause in search by meaning: the current
        model goes on answering until `model` has a vector for every symbol, then both change
        at once. Switching to the current model (back, before a switch ended) ends the
        switch. The indexer owns `model` from here on."""

        def run() -> None:
            self._drop_switch()
            if model.key == self.model.key:
                model.retire()
                return
            self._switch = _Switch(model, self._shared_cache(model.key))
            for index in self.roots():
                self._prepare_switch(index)
            self._log("info", self._switch.message())

        self.control(run)

    @property
    def switching(self) -> str | None:
        """The switch of models in progress, in words ("re-embedding for ..."), or None."""
        with self._cond:
            return self._switch.message() if self._switch is not None else None

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    # -- the worker

    def _has_work(self) -> bool:
        """Work the worker would take now: while paused, only control requests and saves."""
        return bool(self._control or self._urgent or (self._paused_work() and not self._paused))

    def _paused_work(self) -> bool:
        """Work a pause holds back (embedding and switching too, unless it waits for its
        server)."""
        embedding = any(self._pending.values()) or self._switch is not None
        return bool(self._scans or self._normal or (embedding and not self._embedding_waits()))

    def _embedding_waits(self) -> bool:
        return self._retry_at is not None and time.monotonic() < self._retry_at

    @property
    def waiting(self) -> str | None:
        """Why embedding waits, with the seconds left; None when it does not."""
        if self._retry_at is None:
            return None
        return waiting_message(max(0.0, self._retry_at - time.monotonic()), self._unreachable)

    def _take(self) -> Callable[[], None] | None:
        with self._cond:
            embed = not self._embedding_waits()
            if self._control:
                return self._control.popleft()
            if self._urgent:
                path, root = next(iter(self._urgent.items()))
                del self._urgent[path]
                return lambda: self._process(root, path, urgent=True)
            if self._paused:
                return None
            for root, ids in self._urgent_files.items():
                if embed and ids and self._pending.get(root):
                    return functools.partial(self._embed, root, urgent_only=True)
            # Behind saves, ahead of the background pass: a buffer being typed in must be
            # searchable by meaning within a second, not after the whole first index.
            overlay_rows = self.overlays.unembedded(OVERLAY_BATCH) if embed else []
            if overlay_rows:
                return lambda: self._embed_overlay(overlay_rows)
            if self._scans:
                root = self._scans.pop(0)
                return lambda: self._scan(root)
            if self._normal:
                path, root = next(iter(self._normal.items()))
                del self._normal[path]
                return lambda: self._process(root, path, urgent=False)
            for root, count in self._pending.items():
                if embed and count:
                    return functools.partial(self._embed, root, urgent_only=False)
            # Last of all, a switch of models: every other vector is made first.
            switch = self._switch
            if switch is not None and embed:
                for root, count in switch.pending.items():
                    if count:
                        return functools.partial(self._embed_for_switch, root)
                return self._finish_switch
            return None

    def _run(self) -> None:
        if self.settings.low_priority:
            # Before the first batch: llama.cpp's compute threads, created by this thread's
            # first embedding, inherit it.
            self.priority = lower_this_thread()
        while True:
            self._check_power()
            self._mark_state()
            task = self._take()
            if task is None:
                self._settle()
                if not self._wait_for_work():
                    return
                continue
            with self._cond:
                if self._stopping:
                    return
            try:
                task()
            except FindcodeError as error:
                if self._stopping:
                    return  # an interrupted batch (stop), not a failure
                self._fail(str(error))
            except Exception as error:  # the worker must outlive any one bad file
                self._fail(f"indexing failed: {error!r}\n{traceback.format_exc()}")

    def _wait_for_work(self) -> bool:
        """Sleep until there is work (True) or the indexer stops (False).

        Unsaved vectors are written once no work has come for SAVE_AFTER_QUIET_S.
        """
        save_at = time.monotonic() + SAVE_AFTER_QUIET_S
        while True:
            with self._cond:
                while not self._has_work() and not self._stopping:
                    if not self._pause_told:
                        return True  # marked and told (_settle) on the way back here
                    if (
                        not self._paused
                        and not self._embedding_waits()
                        and self.overlays.unembedded(1)
                    ):
                        return True
                    now = time.monotonic()
                    due = self._due()
                    if due and save_at <= now:
                        break
                    times = [save_at if due else None, self._retry_at]
                    if self.settings.pause_on_battery:
                        power_at = self._power_checked + POWER_CHECK_S
                        if power_at <= now:
                            return True  # _run looks at the power supply
                        times.append(power_at)
                    wakes = [t for t in times if t is not None and t > now]
                    self._cond.wait(min(wakes) - now if wakes else None)
                if self._stopping:
                    return False
                if self._has_work():
                    return True
            self._save_vectors()  # outside the lock: a save arriving meanwhile is queued

    def _check_power(self) -> None:
        """With pauseOnBattery: pause when the machine goes on battery, resume back on mains
        (a pause the user asked for stays). A resume on battery holds until the next change."""
        if not self.settings.pause_on_battery:
            return
        now = time.monotonic()
        if now - self._power_checked < POWER_CHECK_S:
            return
        self._power_checked = now
        battery = on_battery()
        if battery is None or battery == self._on_battery:
            return
        self._on_battery = battery
        if battery:
            self.pause(PAUSED_ON_BATTERY)
        else:
            with self._cond:
                self._paused.discard(PAUSED_ON_BATTERY)
                self._pause_told = False
                if self._has_work():
                    self._idle.clear()

    def _mark_state(self) -> None:
        """Say in each written root's folder whether indexing is paused (and why), waits for
        its server, or switches models: what `findcode status` in another process shows."""
        with self._cond:
            self._pause_told = True
            waits = self._retry_at is not None
            switch = self._switch
        texts = {
            PAUSE_MARK: self.paused,
            WAITING_MARK: f"{self._retry_wall:.0f} {self._unreachable}" if waits else None,
            SWITCH_MARK: f"{switch.model.key} {switch.model.name}" if switch else None,
        }
        for index in self.roots():
            if index.writer:
                for name, text in texts.items():
                    self._mark(index, name, text)

    def _mark(self, index: RootIndex, name: str, text: str | None) -> None:
        if self._marked.get((index.root, name)) == text:
            return
        mark = index.directory / name
        try:
            if text is None:
                mark.unlink(missing_ok=True)
            else:  # whole or not at all: `findcode status` may read it meanwhile
                temp = mark.with_suffix(".tmp")
                temp.write_text(f"{os.getpid()} {text}\n", encoding="utf-8")
                temp.chmod(0o600)  # like every file of the index
                os.replace(temp, mark)
        except OSError as error:
            self._log("warning", f"cannot mark {index.directory} {name}: {error}")
        if text is None:
            self._marked.pop((index.root, name), None)
        else:
            self._marked[(index.root, name)] = text

    def _adapt_threads(self, embedder: TextEmbedder) -> None:
        """Before a batch: as many threads as the cores other processes leave free."""
        if self._meter is None:
            return
        others = self._meter.others_busy()
        if others is not None:
            embedder.set_threads(threads_for(usable_cores(), others))

    def _fail(self, message: str) -> None:
        self.last_error = message.splitlines()[0]
        self._pass.failed = True
        self._log("error", message)

    def _settle(self) -> None:
        """No work left: tell everyone the index is idle (and save, if it is long overdue)."""
        since = self._dirty_since
        if since is not None and time.monotonic() - since >= SAVE_AT_MOST_EVERY_S:
            self._save_vectors()
        with self._cond:
            held = bool(self._paused) and self._paused_work()
            if not any(self._pending.values()) and self._switch is None:
                self._retry_at = None  # nothing left to embed: nothing to wait for
            waits = self._retry_at is not None
        self.phase = "paused" if held else "waiting" if waits else "idle"
        self._emit(force=True)
        if self._shared is not None:
            self._shared.close()  # the pass is over: files added to the folder count next time
        with self._cond:
            # Waiting for the server is not idle: the index is incomplete, and completes by
            # itself once the server answers (`findcode index` waits for that too).
            if not self._has_work() and not waits:
                if not self._pass.failed:
                    self.last_error = None  # a clean pass: whatever failed before is fixed
                self._pass = _PassCounters()
                self._idle.set()

    def _changed(self, root: Path) -> None:
        """The vectors of `root` differ from its saved file from now on."""
        self._dirty.add(root)
        if self._dirty_since is None:
            self._dirty_since = time.monotonic()

    def _due(self) -> list[Path]:
        """The changed roots whose vector file is worth writing now; the others' is written at
        close (or brought up to date by the next open)."""
        due = []
        for root in self._dirty:
            index = self._roots.get(root)
            if index is None or index.vectors.worth_saving():
                due.append(root)
        return due

    def _save_vectors(self) -> None:
        for root in self._due():
            index = self._roots.get(root)
            if index is not None:
                try:
                    index.vectors.save(index.store.generation)
                except (OSError, FindcodeError) as error:
                    self._fail(f"could not save the vector index of {root}: {error}")
            self._dirty.discard(root)
        self._dirty_since = None

    # -- progress

    def progress(self) -> Progress:
        counters = self._pass
        switch = self._switch
        pending = sum(self._pending.values())
        if switch is not None:
            pending += sum(switch.pending.values())
        rate = counters.symbols_done / counters.embed_s if counters.embed_s > 0 else 0.0
        return Progress(
            phase=self.phase,
            files_done=counters.files_done,
            files_total=max(counters.files_total, counters.files_done),
            symbols_done=counters.symbols_done,
            symbols_total=counters.symbols_done + pending,
            rate=rate,
            eta_s=pending / rate if rate > 0 else (0.0 if not pending else None),
            parse_s=counters.parse_s,
            waiting=self.waiting,
            switching=self.switching,
        )

    def _emit(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self._on_progress is None:
            return
        # Every change of phase is told; within a phase, at most one event per interval.
        recent = now - self._last_progress < PROGRESS_INTERVAL_S
        if not force and self.phase == self._last_phase and recent:
            return
        self._last_progress = now
        self._last_phase = self.phase
        try:
            self._on_progress(self.progress())
        except Exception as error:  # a broken listener must not stop indexing
            self._log("warning", f"progress listener failed: {error!r}")

    # -- tasks

    def _writable(self, index: RootIndex) -> bool:
        """This process writes the root's index: it held the lease, or takes it now that the
        process that held it is gone (and then picks up what that one left)."""
        if index.writer:
            return True
        if not index.claim(lambda message: self._log("warning", message)):
            return False
        with self._cond:
            self._pending[index.root] = index.store.counts(self.embed_key)["pending"]
        if self._switch is not None:
            self._prepare_switch(index)  # what the other process stored meanwhile
        return True

    def _scan(self, root: Path) -> None:
        index = self._roots.get(root)
        if index is None or not self._writable(index):
            return
        self.phase = "walking"
        self._emit(force=True)
        result = walk([root], self.settings)
        self.skipped.update(result.skipped)
        for warning in result.warnings:
            if warning not in self._warned:
                self._warned.add(warning)
                self._log("warning", warning)
        known = index.store.files()
        seen: set[str] = set()
        changed: list[Path] = []
        for source in result.files:
            seen.add(source.rel)
            row = known.get(source.rel)
            if row is None or row.size != source.size or row.mtime_ns != source.mtime_ns:
                changed.append(source.path)
        for rel in set(known) - seen:
            self._forget(index, rel)
        changed = self._first_things_first(root, changed)
        with self._cond:
            for path in changed:
                if path not in self._urgent:
                    self._normal[path] = root
            self._pass.files_total += len(changed)

    def _first_things_first(self, root: Path, paths: list[Path]) -> list[Path]:
        """`paths` in the order a person waiting for the first index wants them: open buffers,
        then the files changed lately (recency.py), then the rest in walk order.

        Symbol ids are given in parse order and the first pass embeds up the ids, so this
        order is the embedding's too."""
        if len(paths) < 2:
            return paths
        rank = {rel: place for place, rel in enumerate(recent_files(root))}
        rank.update((rel, -1) for rel in self.overlays.files(root))
        unranked = len(rank)
        return sorted(paths, key=lambda path: rank.get(path.relative_to(root).as_posix(), unranked))

    def _forget(self, index: RootIndex, rel: str) -> None:
        change = index.store.remove_file(rel)
        _unlink(index, index.vectors, change.unused_hashes)
        if self._switch is not None:
            _unlink(index, self._switch.vectors[index.root], change.unused_hashes)
        self._changed(index.root)

    def _process(self, root: Path, path: Path, *, urgent: bool) -> None:
        started = time.monotonic()
        try:
            self._parse(root, path, urgent=urgent)
        finally:
            self._pass.parse_s += time.monotonic() - started
            # A saved buffer's symbols are stored now (or the file is out of the index).
            self.overlays.drop_saved(root, path.relative_to(root).as_posix())

    def _parse(self, root: Path, path: Path, *, urgent: bool) -> None:
        index = self._roots.get(root)
        if index is None:
            return
        if not index.writer:
            if self._writable(index):
                self.scan([root])  # what changed while the other process held the root
            return
        self.phase = "parsing"
        self._pass.files_done += 1
        self._emit()
        rel = path.relative_to(root).as_posix()
        try:
            info = path.stat()
        except OSError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            # A folder appeared or was restored (git checkout, copy): walk the root again.
            self.scan([root])
            return
        if info is None or is_excluded(root, path, self.settings):
            for known in index.store.files():
                if known == rel or known.startswith(rel + "/"):
                    self._forget(index, known)
            return
        row = index.store.file(rel)
        if row is not None and row.size == info.st_size and row.mtime_ns == info.st_mtime_ns:
            if urgent:  # opened in the editor: what it holds still without vectors goes first
                self._urgent_files[root].add(row.id)
            return
        try:
            text = read_source(path, self.settings.max_file_bytes)
        except SkipFile as skip:
            self.skipped[skip.reason] += 1
            if row is not None:
                self._forget(index, rel)
            return
        content_hash = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if row is not None and row.content_hash == content_hash:
            index.store.touch_file(row.id, info.st_size, info.st_mtime_ns)
            return
        symbols = extract_symbols(rel, text)
        change = index.store.replace_file(
            rel,
            size=info.st_size,
            mtime_ns=info.st_mtime_ns,
            content_hash=content_hash,
            language=language_for_path(rel) or "text",
            symbols=symbols,
        )
        _unlink(index, index.vectors, change.unused_hashes)
        missing = self._known_vectors(
            index, change.added, self.model.key, self._shared, index.vectors, typed=True
        )
        switch = self._switch
        if switch is not None:  # the new model's index follows the file too
            _unlink(index, switch.vectors[root], change.unused_hashes)
            waits = self._known_vectors(
                index, change.added, switch.model.key, switch.shared, switch.vectors[root]
            )
            # Embedded by the switch's pass: the cursor walks up to these new ids.
            with self._cond:
                switch.pending[root] = switch.pending.get(root, 0) + len(waits)
        if change.removed_ids or change.added:
            self._changed(root)
        if missing:
            with self._cond:
                self._pending[root] = self._pending.get(root, 0) + len(missing)
            if urgent:
                file_row = index.store.file(rel)
                if file_row is not None:
                    self._urgent_files[root].add(file_row.id)

    def _known_vectors(
        self,
        index: RootIndex,
        added: list[tuple[int, str]],
        key: str,
        shared: SharedCache | None,
        vectors: VectorIndex,
        *,
        typed: bool = False,
    ) -> set[str]:
        """Give new symbols the vectors of `key` that exist (stored, in the cacheDir folder,
        or, with `typed`, made while their buffer was typed); the body hashes still missing."""
        cached = index.store.vectors_for(key, (h for _, h in added))
        if typed:  # a saved buffer's symbols were embedded while typed: cache those now
            found = self.overlays.vectors_for(h for _, h in added if h not in cached)
            if found:
                index.store.put_vectors(key, list(found.items()))
                cached.update(found)
        cached.update(
            self._from_shared(index, shared, key, [h for _, h in added if h not in cached])
        )
        _link(index, vectors, {h: cached[h] for _, h in added if h in cached})
        return {h for _, h in added if h not in cached}

    def _embed(self, root: Path, *, urgent_only: bool) -> None:
        def give_up() -> None:
            with self._cond:
                self._pending[root] = 0
                self._urgent_files[root].clear()

        self._embedding(
            functools.partial(self._embed_batch, root, urgent_only=urgent_only), give_up
        )

    def _embed_for_switch(self, root: Path) -> None:
        self._embedding(functools.partial(self._switch_batch, root), self._give_up_switch)

    def _embedding(self, batch: Callable[[], None], give_up: Callable[[], None]) -> None:
        embedded = self.embedded_count
        try:
            batch()
        except EmbeddingServerUnreachable as error:
            self._server_unreachable(error)  # the rows stay pending, for when it answers
        except BaseException:
            # The same rows would fail again at once: stop this embedding until new work
            # (a save, a scan, another switch) arrives, rather than spin on the error.
            give_up()
            raise
        else:
            # Only an embedding says the server answers: a batch may find nothing to do (a
            # cursor walk's end) or only vectors the cacheDir folder holds.
            if self.embedded_count > embedded:
                self._server_answered()

    def _server_unreachable(self, error: EmbeddingServerUnreachable) -> None:
        first = self._retry_at is None
        with self._cond:
            self._retry_at = time.monotonic() + error.retry_in
            self._retry_wall = time.time() + error.retry_in
            self._unreachable = error.detail
        self.phase = "waiting"
        self._log("warning" if first else "info", f"{error}; lexical search works meanwhile")
        self._emit(force=True)

    def _server_answered(self) -> None:
        if self._retry_at is not None:
            with self._cond:
                self._retry_at = None
            self._log("info", "the embedding server answers again: embedding resumes")

    def _embed_batch(self, root: Path, *, urgent_only: bool) -> None:
        index = self._roots.get(root)
        if index is None:
            return
        if urgent_only:
            file_ids = sorted(self._urgent_files[root])
            rows = index.store.pending(
                self.embed_key, self.embedder.documents_per_call, file_ids=file_ids
            )
            if not rows:
                self._urgent_files[root].clear()
                return
        else:
            rows = self._next_pending(index, self.model, self._cursor, self._pending)
            if not rows:
                return
        self.phase = "embedding"
        by_hash = self._fill(index, rows, self.model, self._shared, index.vectors)
        with self._cond:
            _count_off(self._pending, root, len(rows))
        self.overlays.add_vectors(by_hash)  # an open buffer's unchanged symbols, deferred
        self._emit()

    def _next_pending(
        self,
        index: RootIndex,
        model: LoadedModel,
        cursor: dict[Path, int],
        pending: dict[Path, int],
    ) -> list[SymbolRow]:
        """The next symbols with no vector of `model`, up the root's ids from its cursor."""
        root = index.root
        at = cursor.get(root, 0)
        rows = index.store.pending(model.key, model.embedder.documents_per_call, after_id=at)
        if not rows:
            if at:
                cursor[root] = 0  # one more look from the start before calling it done
            else:
                with self._cond:
                    pending[root] = 0  # the estimate was high: nothing is left
            return rows
        cursor[root] = max(at, rows[-1].id)
        return rows

    def _fill(
        self,
        index: RootIndex,
        rows: list[SymbolRow],
        model: LoadedModel,
        shared: SharedCache | None,
        vectors: VectorIndex,
    ) -> dict[str, np.ndarray]:
        """Vectors of `model` for these rows, from the cacheDir folder or embedded: stored, and
        added to `vectors` (once for all the symbols with one of their bodies)."""
        self._emit()
        self._adapt_threads(model.embedder)
        started = time.monotonic()
        # Rows left pending by an earlier run, or parsed before the folder had their file.
        by_hash = self._from_shared(index, shared, model.key, [row.body_hash for row in rows])
        todo = [row for row in rows if row.body_hash not in by_hash]
        if todo:
            texts = [document_text(r.as_symbol()) for r in todo]
            embedded = dict(
                zip((r.body_hash for r in todo), model.embedder.embed_documents(texts), strict=True)
            )
            index.store.put_vectors(model.key, list(embedded.items()))
            by_hash.update(embedded)
        _link(index, vectors, by_hash)
        self._changed(index.root)  # the store's generation moved: the saved file is old
        self.embedded_count += len(todo)
        self._pass.symbols_done += len(rows)
        self._pass.embed_s += time.monotonic() - started
        self.embed_seconds += time.monotonic() - started
        return by_hash

    def _from_shared(
        self, index: RootIndex, shared: SharedCache | None, key: str, hashes: list[str]
    ) -> dict[str, np.ndarray]:
        """Vectors the cacheDir folder holds for these hashes, stored in the root's index."""
        if shared is None or not hashes:
            return {}
        found = shared.lookup(hashes)
        if found:
            index.store.put_vectors(key, list(found.items()))
        return found

    # -- switching models

    def _prepare_switch(self, index: RootIndex) -> None:
        """The switch's vector index of a root (what the store holds of the new model), and
        what remains to embed there."""
        switch = self._switch
        if switch is None:
            return
        model = switch.model
        vectors = index.other_vectors(model.key, model.embedder.dims)
        counts = index.store.counts(model.key) if index.writer else None
        with self._cond:
            switch.vectors[index.root] = vectors
            switch.cursor.pop(index.root, None)
            if counts is not None:  # else another process embeds there, for its own model
                switch.pending[index.root] = counts["pending"]
                switch.done[index.root] = counts["symbols"] - counts["pending"]

    def _switch_batch(self, root: Path) -> None:
        switch, index = self._switch, self._roots.get(root)
        if switch is None or index is None:
            return
        rows = self._next_pending(index, switch.model, switch.cursor, switch.pending)
        if rows:
            self.phase = "re-embedding"
            self._fill(index, rows, switch.model, switch.shared, switch.vectors[root])
            with self._cond:
                _count_off(switch.pending, root, len(rows))
                switch.done[root] = switch.done.get(root, 0) + len(rows)
                last = not any(switch.pending.values())
            # The last batch is told even within the interval: a switch ends at N/N, not short.
            self._emit(force=last)

    def _finish_switch(self) -> None:
        """The new model has a vector for every symbol: make it the one the store records and
        searches use, all at once, and keep the old model's vector index for a switch back."""
        switch = self._switch
        if switch is None:
            return
        model = switch.model
        recorded: list[RootIndex] = []
        try:
            for index in self.roots():
                if index.writer:  # a root another process writes keeps the model it records
                    index.store.check_model(model.key, model.embedder.dims)
                    recorded.append(index)
        except BaseException:  # a store that cannot be written: every root stays as it was
            for index in recorded:
                index.store.check_model(self.model.key, self.model.embedder.dims)
            self._give_up_switch()
            raise
        with self._cond:
            old, self.model, self._switch = self.model, model, None
            replaced = {}
            for root, index in self._roots.items():
                replaced[root], index.vectors = index.vectors, switch.vectors[root]
                if index.writer:
                    self._pending[root] = index.store.counts(model.key)["pending"]
            self._cursor.clear()
            # Unsaved buffers' vectors are the old model's: made again with the new one.
            self.overlays.forget_vectors()
        if self._shared is not None:
            self._shared.close()
        self._shared = switch.shared
        for root, vectors in replaced.items():
            index = self._roots[root]
            if not index.writer:
                continue
            try:
                # The store records the new model from now on, so its graph becomes the main
                # file at once: read from its kept file or built, it was never saved there, and
                # little may have changed since (vectors.worth_saving would wait for close).
                index.vectors.save(index.store.generation)
            except (OSError, FindcodeError) as error:
                self._changed(root)  # tried again after a quiet spell, and at close
                self._log("warning", f"cannot save the vector index of {model.name}: {error}")
            try:
                vectors.save(index.store.generation, kept=True)
                index.vectors.drop_kept()
            except (OSError, FindcodeError) as error:
                self._log("warning", f"cannot keep the vector index of {old.name}: {error}")
        old.retire()
        self._log("info", f"switched to {model.name} from {old.name}")

    def _give_up_switch(self) -> None:
        """The new model failed: the old one goes on, as if no switch had been asked for."""
        switch = self._switch
        if switch is not None and not self._stopping:
            self._log(
                "error", f"cannot switch to {switch.model.name}: staying with {self.model.name}"
            )
        self._drop_switch()

    def _drop_switch(self) -> None:
        """End a switch before its end (another asked for, a stop); its vectors stay stored."""
        with self._cond:
            switch, self._switch = self._switch, None
        if switch is not None:
            if switch.shared is not None:
                switch.shared.close()
            switch.model.retire()

    def _embed_overlay(self, rows: list[tuple[Path, SymbolRow]]) -> None:
        """Vectors for unsaved buffers' symbols: from a store's cache, else embedded. Nothing
        is written: the overlay keeps them until the buffer is saved or closed."""
        hashes = {row.body_hash for _, row in rows}
        found: dict[str, np.ndarray] = {}
        for root in {root for root, _ in rows}:
            index = self._roots.get(root)
            if index is not None:
                found.update(index.store.vectors_for(self.embed_key, hashes - set(found)))
        todo = [row for _, row in rows if row.body_hash not in found]
        # Symbols the file on disk holds too, still waiting for the first pass: that pass
        # embeds them once for the index, and hands the vectors over (_embed_batch).
        stored: set[str] = set()
        for root in {root for root, _ in rows}:
            index = self._roots.get(root)
            if index is not None and todo:
                stored.update(h for _, h in index.store.ids_with_body(r.body_hash for r in todo))
        if stored:
            self.overlays.defer(stored)
            todo = [row for row in todo if row.body_hash not in stored]
        try:
            if todo:
                self._adapt_threads(self.embedder)
                vectors = self.embedder.embed_documents(
                    [document_text(row.as_symbol()) for row in todo]
                )
                found.update((row.body_hash, v) for row, v in zip(todo, vectors, strict=True))
        except EmbeddingServerUnreachable as error:
            self._server_unreachable(error)  # embedded once the server answers
            return
        except BaseException:
            self.overlays.failed(row.body_hash for row in todo)  # not retried in a loop
            raise
        if todo:
            self._server_answered()
        self.overlays.add_vectors(found)


def _count_off(pending: dict[Path, int], root: Path, done: int) -> None:
    """The estimate starts exact and only ever over-counts (a hash new in two files, a pending
    symbol deleted before its turn), so reaching zero means none is left; an over-count ends
    in a cursor walk that finds nothing (Indexer._next_pending)."""
    pending[root] = max(0, pending.get(root, 0) - done)


@dataclass
class _PassCounters:
    """Counters of one busy stretch, from idle to idle."""

    files_done: int = 0
    files_total: int = 0
    symbols_done: int = 0
    parse_s: float = 0.0
    embed_s: float = 0.0
    failed: bool = False


def _link(index: RootIndex, vectors: VectorIndex, by_hash: dict[str, np.ndarray]) -> None:
    """Put these stored vectors into `vectors` under their store ids (present ones stay)."""
    if by_hash:
        ids = index.store.vector_ids(vectors.model_key, by_hash)
        hashes = [h for h in by_hash if h in ids]
        vectors.add([ids[h] for h in hashes], [by_hash[h] for h in hashes])


def _unlink(index: RootIndex, vectors: VectorIndex, body_hashes: list[str]) -> None:
    """Take out of `vectors` the vectors of bodies no symbol has any more."""
    if body_hashes:
        vectors.remove(index.store.vector_ids(vectors.model_key, body_hashes).values())

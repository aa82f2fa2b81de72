"""Changes made outside the editor: a watchdog observer over the workspace roots.

Editors tell the server about files they save, but not about `git checkout`, a code
generator or another editor. The watcher turns filesystem events into the same path
notifications a save produces. Events are debounced: nothing is sent until the tree has been
quiet for `quiet_s` (or `max_wait_s` have passed since the first event), so the thousands of
events of a branch switch become one batch, and the indexer then costs only what changed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from findcode.config import Settings
from findcode.indexer import root_of
from findcode.workspace import is_excluded

QUIET_S = 0.3
MAX_WAIT_S = 2.0


class _Collector(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reads change nothing
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                self._watcher.add(Path(os.fsdecode(raw)))


class Watcher:
    """Watches roots recursively; calls `on_changes(paths)` with each quiet batch of paths."""

    def __init__(
        self,
        settings: Settings,
        on_changes: Callable[[list[Path]], None],
        *,
        ignore: Iterable[Path] = (),
        quiet_s: float = QUIET_S,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        self._settings = settings
        self._on_changes = on_changes
        self._ignore = [Path(p) for p in ignore]  # the index folders, when inside a root
        self._quiet_s = quiet_s
        self._max_wait_s = max_wait_s
        self._observer = Observer()
        self._watches: dict[Path, ObservedWatch] = {}
        self._lock = threading.Condition()
        self._paths: dict[Path, None] = {}
        self._first = self._last = 0.0
        self._stopping = False
        self._flusher = threading.Thread(
            target=self._flush_loop, name="findcode-watcher", daemon=True
        )

    def start(self, roots: Iterable[Path]) -> None:
        for root in roots:
            self.add_root(root)
        self._observer.start()
        self._flusher.start()

    def add_root(self, root: Path) -> None:
        root = Path(root).resolve()
        if root not in self._watches:
            self._watches[root] = self._observer.schedule(
                _Collector(self), str(root), recursive=True
            )

    def remove_root(self, root: Path) -> None:
        watch = self._watches.pop(Path(root).resolve(), None)
        if watch is not None:
            self._observer.unschedule(watch)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._observer.stop()
        self._observer.join(timeout=5)
        if self._flusher.is_alive():
            self._flusher.join(timeout=5)

    def add(self, path: Path) -> None:
        if any(path == p or p in path.parents for p in self._ignore):
            return
        root = root_of(self._watches, path)
        if root is None or (path != root and is_excluded(root, path, self._settings)):
            return
        with self._lock:
            now = time.monotonic()
            if not self._paths:
                self._first = now
            self._last = now
            self._paths[path] = None
            self._lock.notify_all()

    def _flush_loop(self) -> None:
        while True:
            with self._lock:
                while not self._paths and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                now = time.monotonic()
                due = min(self._last + self._quiet_s, self._first + self._max_wait_s)
                if now < due:
                    self._lock.wait(due - now)
                    continue
                batch = list(self._paths)
                self._paths.clear()
            self._on_changes(batch)

"""The watcher's debounce, without a server: bursts become one batch, a stream is not starved.

A real watchdog observer over a temporary folder; the debounce is driven through `add` (what
the observer's handler calls) so the timings are the test's, not the filesystem's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from findcode.config import Settings
from findcode.watcher import Watcher

QUIET_S = 0.2
MAX_WAIT_S = 0.8


class Batches:
    """What the watcher hands on, and when."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[Path]]] = []
        self.arrived = threading.Event()

    def __call__(self, paths: list[Path]) -> None:
        self.batches.append((time.monotonic(), paths))
        self.arrived.set()

    def wait(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.batches) < count and time.monotonic() < deadline:
            self.arrived.wait(0.05)
            self.arrived.clear()
        assert len(self.batches) >= count, self.batches

    def wait_paths(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.paths) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.paths) == count

    @property
    def paths(self) -> list[Path]:
        return [path for _, batch in self.batches for path in batch]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    (folder / "src").mkdir(parents=True)
    return folder.resolve()


@pytest.fixture
def batches() -> Batches:
    return Batches()


@pytest.fixture
def watcher(root: Path, batches: Batches) -> Iterator[Watcher]:
    watcher = Watcher(
        Settings(exclude=("*.md",)),
        batches,
        ignore=[root / ".index"],
        quiet_s=QUIET_S,
        max_wait_s=MAX_WAIT_S,
    )
    watcher.start([root])
    yield watcher
    watcher.stop()


def test_a_burst_is_one_batch_of_distinct_paths(watcher: Watcher, root: Path, batches: Batches):
    paths = [root / "src" / f"m{i}.py" for i in range(200)]
    for path in paths + paths:  # every path twice, as a save and its rename would
        watcher.add(path)
    batches.wait(1)
    time.sleep(QUIET_S * 3)
    assert len(batches.batches) == 1
    assert batches.paths == paths


def test_nothing_is_sent_before_the_tree_is_quiet(watcher: Watcher, root: Path, batches: Batches):
    started = time.monotonic()
    watcher.add(root / "src" / "a.py")
    batches.wait(1)
    assert batches.batches[0][0] - started >= QUIET_S


def test_a_stream_that_never_pauses_is_sent_every_max_wait(
    watcher: Watcher, root: Path, batches: Batches
):
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < MAX_WAIT_S * 3:
        watcher.add(root / "src" / f"gen{sent}.py")
        sent += 1
        time.sleep(QUIET_S / 4)  # never quiet for QUIET_S
    batches.wait(2)
    first = batches.batches[0][0] - started
    assert first < MAX_WAIT_S + 0.5, first  # not held back until the stream ends
    batches.wait_paths(sent)  # the tail too, once the stream stops


def test_ignored_excluded_and_outside_paths_are_dropped(
    watcher: Watcher, root: Path, tmp_path: Path, batches: Batches
):
    for path in (
        root / ".index" / "index.sqlite3",  # findcode's own index inside the root
        root / "README.md",  # the user's exclude
        root / "node_modules" / "dep.js",  # a built-in exclude
        tmp_path / "elsewhere.py",  # outside every root
    ):
        watcher.add(path)
    watcher.add(root / "src" / "kept.py")
    batches.wait(1)
    time.sleep(QUIET_S * 2)
    assert batches.paths == [root / "src" / "kept.py"]


def test_a_file_written_on_disk_arrives(watcher: Watcher, root: Path, batches: Batches):
    (root / "src" / "new.py").write_text("def new():\n    return 1\n")
    batches.wait(1)
    assert root / "src" / "new.py" in batches.paths


def test_stop_ends_the_flusher_with_events_pending(root: Path, batches: Batches):
    watcher = Watcher(Settings(), batches, quiet_s=5.0, max_wait_s=10.0)
    watcher.start([root])
    watcher.add(root / "src" / "a.py")
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 3.0
    assert batches.batches == []

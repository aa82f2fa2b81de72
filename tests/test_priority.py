"""The indexer's threads run at idle priority, its queries at normal priority (Linux, /proc).

Every thread that burns CPU while the engine embeds documents (the indexer thread and the
compute threads llama.cpp creates from it) must be nice 19 under SCHED_IDLE, while the thread
that embeds a query keeps the process's nice value (0 unless the tests run under `nice`) under
SCHED_OTHER. Which threads embedded is read from their
CPU time in /proc, so a compute thread made some other way would be caught too.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest
from findcode.config import Settings
from findcode.embedder import Embedder
from findcode.engine import Engine
from findcode.priority import lower_this_thread
from index_support import copy_repo, wait_for

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread nice and SCHED_IDLE are Linux's"
)
SCHED_OTHER, SCHED_IDLE = 0, 5
BUSY_TICKS = 5  # CPU time (clock ticks) that counts as having embedded


def threads() -> dict[int, tuple[int, int, int]]:
    """tid -> (CPU ticks, nice, scheduling policy) for every thread of this process."""
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            sched = (task / "sched").read_text().splitlines()
        except OSError:  # the thread ended meanwhile
            continue
        policy = next(int(line.split()[-1]) for line in sched if line.startswith("policy"))
        out[int(task.name)] = (int(fields[11]) + int(fields[12]), int(fields[16]), policy)
    return out


def busy_since(before: dict, after: dict) -> dict[int, tuple[int, int]]:
    return {
        tid: (nice, policy)
        for tid, (ticks, nice, policy) in after.items()
        if ticks - before.get(tid, (0, 0, 0))[0] >= BUSY_TICKS
    }


def test_documents_embed_at_idle_priority_and_queries_at_normal(tmp_path: Path):
    repo = copy_repo(tmp_path)
    me = threading.get_native_id()
    started_nice = os.getpriority(os.PRIO_PROCESS, me)  # 0, or what `nice pytest` gave it
    engine = Engine([repo], Settings(index_dir=tmp_path / "index", watch=False))
    with engine:
        before = threads()
        # One batch is enough to see who embeds; an idle-priority indexer on a machine others
        # keep busy gets little CPU, so the test does not wait for the whole pass.
        wait_for(lambda: engine.embedded_count > 0, 300, "no batch embedded in time")
        embedders = busy_since(before, threads())
        embedders.pop(me, None)  # this thread loaded the model; it embeds no document
        assert embedders, "no thread did the embedding?"
        assert all(value == (19, SCHED_IDLE) for value in embedders.values()), embedders
        assert engine.indexing_priority == "nice 19, SCHED_IDLE"

        before = threads()
        for _ in range(30):
            engine.search("retry an http request with exponential backoff", mode="semantic")
        queried = busy_since(before, threads())
        assert queried.get(me) == (started_nice, SCHED_OTHER), queried


def test_low_priority_off_keeps_the_old_behaviour(tmp_path: Path):
    repo = copy_repo(tmp_path)
    settings = Settings(index_dir=tmp_path / "index", watch=False, low_priority=False)
    with Engine([repo], settings) as engine:
        before = threads()
        wait_for(lambda: engine.embedded_count > 0, 300, "no batch embedded in time")
        embedders = busy_since(before, threads())
        normal = (os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), SCHED_OTHER)
        assert embedders and all(v == normal for v in embedders.values()), embedders
        assert engine.indexing_priority == "normal"


def test_every_lane_of_a_call_runs_at_its_callers_priority(model_path: Path):
    """A call shares its batches out to threads it starts (the embedder's lanes): started by a
    lowered thread, they are lowered too, and /proc would not show them once they end."""
    embedder = Embedder(model_path, threads=2)
    seen: dict[int, tuple[int, int]] = {}
    decode = embedder._decode

    def watched(lane, *args) -> None:
        tid = threading.get_native_id()
        seen[tid] = (os.getpriority(os.PRIO_PROCESS, tid), os.sched_getscheduler(tid))
        decode(lane, *args)

    embedder._decode = watched  # type: ignore[method-assign]

    def lowered() -> None:
        lower_this_thread()
        embedder.embed_documents([f"def f{i}(x):\n    return x * {i}" * 9 for i in range(16)])

    worker = threading.Thread(target=lowered)
    worker.start()
    worker.join()
    embedder.close()
    assert len(seen) == 2 and set(seen.values()) == {(19, SCHED_IDLE)}, seen

"""Pausing indexing (engine.pause / resume) with the real model: a pause stops embedding
between two batches and leaves the pending work pending; a resume finishes it; a save while
paused is parsed (its names searchable) but not embedded; `findcode status` tells it."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from findcode import indexer
from findcode.config import Settings
from findcode.embedder import DOCUMENTS_PER_CALL
from findcode.engine import Engine
from findcode.indexer import Progress
from index_support import copy_repo, findcode

FUNCTIONS = 6 * DOCUMENTS_PER_CALL  # several batches, so a pause lands with work left


def settings(tmp_path: Path) -> Settings:
    # Normal priority: these tests are about what a pause holds back, and an idle-priority
    # indexer on a machine other processes keep busy may get no CPU at all (test_priority.py).
    return Settings(index_dir=tmp_path / "index", watch=False, low_priority=False)


def add_functions(repo: Path, count: int) -> None:
    lines = [
        f"def measure_{n}(values):\n    return sum(v * {n} for v in values) / (len(values) + {n})\n"
        for n in range(count)
    ]
    (repo / "measures.py").write_text("\n\n".join(lines))


def settle(engine: Engine, predicate, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = engine.status()
        if predicate(status):
            return status
        time.sleep(0.1)
    raise AssertionError(f"not reached in {timeout} s: {engine.status()}")


def test_pause_stops_embedding_between_batches_and_resume_finishes(tmp_path: Path):
    repo = copy_repo(tmp_path)
    add_functions(repo, FUNCTIONS)
    paused = threading.Event()
    engines: list[Engine] = []

    def on_progress(progress: Progress) -> None:  # on the indexer thread, between batches
        ready = progress.phase == "embedding" and progress.symbols_done >= DOCUMENTS_PER_CALL
        if ready and not paused.is_set():
            engines[0].pause()
            paused.set()

    engine = Engine([repo], settings(tmp_path), on_progress=on_progress)
    engines.append(engine)
    with engine:
        assert engine.wait_idle(120) and paused.is_set()
        held = engine.status()
        assert (held["state"], held["paused"]) == ("paused", "user")
        assert held["pending"] > 0 and held["vectors"] < held["symbols"]
        embedded = engine.embedded_count
        time.sleep(1.5)  # several batches' time: none is taken
        assert engine.embedded_count == embedded
        assert engine.status()["pending"] == held["pending"]
        # Searches still answer: by name everything parsed, by meaning what is embedded.
        lexical = engine.search("measure_90", mode="lexical", limit=3)
        assert lexical.hits[0].name == "measure_90" and lexical.state == "paused"
        assert engine.search("turn a title into a url slug", mode="semantic").hits

        engine.resume()
        done = settle(engine, lambda s: s["state"] == "idle" and s["pending"] == 0)
        assert done["paused"] is None and done["vectors"] == done["symbols"]
        assert engine.embedded_count == done["symbols"]  # nothing embedded twice


def test_a_save_while_paused_is_parsed_not_embedded_and_a_walked_change_waits(tmp_path: Path):
    repo = copy_repo(tmp_path)
    with Engine([repo], settings(tmp_path)) as engine:
        ready = settle(engine, lambda s: s["state"] == "idle" and s["pending"] == 0)
        engine.pause()
        saved = repo / "saved.py"
        saved.write_text("def frobnicate_widgets(widgets):\n    return sorted(widgets)\n")
        engine.buffer_saved(saved)
        background = repo / "background.py"
        background.write_text("def quux_the_gadgets(gadgets):\n    return list(gadgets)\n")
        engine.notify_changed([background])  # a watcher's event: background work
        assert engine.wait_idle(60)
        held = engine.status()
        assert held["files"] == ready["files"] + 1  # the save only
        assert held["vectors"] == ready["vectors"] and held["pending"] == 1
        assert engine.search("frobnicate_widgets", mode="lexical").hits[0].name == (
            "frobnicate_widgets"
        )
        assert not engine.search("quux_the_gadgets", mode="lexical").hits

        engine.resume()
        done = settle(engine, lambda s: s["state"] == "idle" and s["pending"] == 0)
        assert done["files"] == ready["files"] + 2
        assert done["vectors"] == ready["vectors"] + 2


def test_paused_before_start_nothing_is_walked_until_resumed(tmp_path: Path):
    repo = copy_repo(tmp_path)
    engine = Engine([repo], settings(tmp_path))
    engine.pause()  # what the LSP host does for an engine a settings change restarts
    with engine:
        assert engine.wait_idle(60)
        held = engine.status()
        assert (held["state"], held["files"], held["embedded"]) == ("paused", 0, 0)
        engine.resume()
        done = settle(engine, lambda s: s["state"] == "idle" and s["pending"] == 0)
        assert done["files"] > 0 and done["vectors"] == done["symbols"] > 0


def test_findcode_status_tells_a_running_servers_pause(tmp_path: Path):
    repo = copy_repo(tmp_path)
    index_dir = tmp_path / "index"
    with Engine([repo], settings(tmp_path)) as engine:
        settle(engine, lambda s: s["state"] == "idle" and s["pending"] == 0)
        engine.pause()
        assert engine.wait_idle(30)  # the worker has stopped, and marked the folder
        text = findcode("status", "--index-dir", index_dir, repo)
        assert "indexing paused by you" in text.stdout
        report = json.loads(findcode("status", "--json", "--index-dir", index_dir, repo).stdout)
        assert report["paused"] == "user"
        engine.resume()
        assert engine.wait_idle(30)
        assert (
            json.loads(findcode("status", "--json", "--index-dir", index_dir, repo).stdout)[
                "paused"
            ]
            is None
        )
        engine.pause()
        engine.wait_idle(30)
    # The server stopped: nothing is paused any more.
    assert "paused" not in findcode("status", "--index-dir", index_dir, repo).stdout


def test_pause_on_battery_and_on_again_on_mains(tmp_path: Path, monkeypatch):
    """pauseOnBattery with the power supply's answer stood in for (power.py reads sysfs, tested
    on its own): on battery nothing is walked; back on mains indexing goes on; a pause of the
    user's outlasts the battery's, and a resume on battery holds until the power changes."""
    power = {"battery": True}
    monkeypatch.setattr(indexer, "on_battery", lambda: power["battery"])
    monkeypatch.setattr(indexer, "POWER_CHECK_S", 0.2)
    repo = copy_repo(tmp_path)
    with Engine([repo], settings(tmp_path).replace(pause_on_battery=True)) as engine:
        held = settle(engine, lambda s: s["state"] == "paused")
        assert (held["paused"], held["files"], held["embedded"]) == ("battery", 0, 0)

        power["battery"] = False
        done = settle(engine, lambda s: s["state"] == "idle" and s["files"] and not s["pending"])
        assert done["paused"] is None and done["vectors"] == done["symbols"]

        engine.pause()
        power["battery"] = True
        settle(engine, lambda s: s["paused"] == "user")
        time.sleep(0.5)  # power checked again meanwhile
        assert engine.status()["paused"] == "user"  # the user's reason is the one told
        power["battery"] = False
        time.sleep(0.5)
        assert engine.status()["paused"] == "user"  # mains power does not undo the user's pause

        engine.resume()
        power["battery"] = True
        settle(engine, lambda s: s["paused"] == "battery")
        engine.resume()  # the user insists: indexing goes on, on battery
        time.sleep(0.5)
        assert engine.status()["paused"] is None

"""The worker's ordering and bookkeeping, with a gated fake embedder (these tests are about
WHEN things happen, not about vectors; the real model is tested end to end elsewhere)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from findcode import indexer, vectors
from findcode.config import Settings
from findcode.embedder import DOCUMENTS_PER_CALL
from findcode.engine import Engine
from findcode.errors import ModelError
from findcode.indexer import Progress
from findcode.roots import index_dir_for
from findcode.store import Store
from findcode.vectors import HEADER_NAME
from index_support import copy_repo, made_up_vector, wait_for

DIMS = 8


class GatedEmbedder:
    """Deterministic vectors; `embed_documents` waits for `gate` and records every batch."""

    model_id = "fake-1"
    name = "fake"
    quantization = "none"
    location = "/dev/null"
    dims = DIMS
    documents_per_call = DOCUMENTS_PER_CALL

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[str]] = []

    def embed_documents(self, texts):
        self.entered.set()
        assert self.gate.wait(30), "test never opened the gate"
        self.batches.append(list(texts))
        return np.stack([made_up_vector(t, DIMS) for t in texts]) if texts else np.zeros((0, DIMS))

    def embed_query(self, text):
        return made_up_vector(text, DIMS)

    def interrupt(self) -> None:
        pass  # a batch of this fake ends when the test opens the gate

    def set_threads(self, threads: int) -> None:
        pass

    def close(self) -> None:
        pass


@contextlib.contextmanager
def idle_engine(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    """An engine over a copy of the fixture repository, its first pass done."""
    repo = copy_repo(tmp_path)
    fake = GatedEmbedder()
    fake.gate.set()
    engine = Engine([repo], Settings(index_dir=tmp_path / "index"), embedder=fake)
    engine.start()
    try:
        assert engine.wait_idle(30)
        yield engine, repo
    finally:
        engine.close()


def save_an_edit(engine: Engine, repo: Path) -> None:
    """Change one function, as an editor's save does, and wait for the index to take it."""
    source = repo / "web" / "debounce.ts"
    source.write_text(source.read_text().replace("toFixed(unit === 0 ? 0 : 1)", "toFixed(2)"))
    engine.notify_changed([source], urgent=True)
    assert engine.wait_idle(30)


def test_words_are_searchable_before_any_vector_exists(tmp_path):
    repo = copy_repo(tmp_path)
    fake = GatedEmbedder()
    engine = Engine([repo], Settings(index_dir=tmp_path / "index"), embedder=fake)
    engine.start()
    try:
        assert fake.entered.wait(30)  # the first batch is waiting at the gate
        status = engine.status()
        assert status["files"] == 6 and status["symbols"] == 24  # every file parsed first
        assert status["vectors"] == 0 and status["state"] == "indexing"
        outcome = engine.search("levenshtein distance", mode="hybrid", limit=3)
        assert outcome.hits[0].qualified_name == "levenshtein_distance"
        assert outcome.state == "indexing" and outcome.indexed_files == 0
        assert engine.search("anything", mode="semantic").hits == []
        fake.gate.set()
        assert engine.wait_idle(30)
        assert engine.status()["vectors"] == 24
        assert all(len(batch) <= DOCUMENTS_PER_CALL for batch in fake.batches)
    finally:
        fake.gate.set()
        engine.close()


def test_a_saved_file_is_embedded_before_the_background_work(tmp_path):
    repo = copy_repo(tmp_path)
    fake = GatedEmbedder()
    engine = Engine([repo], Settings(index_dir=tmp_path / "index"), embedder=fake)
    engine.start()
    try:
        assert fake.entered.wait(30)
        source = repo / "web" / "debounce.ts"
        source.write_text(source.read_text().replace("toFixed(unit === 0 ? 0 : 1)", "toFixed(2)"))
        engine.notify_changed([source], urgent=True)
        fake.gate.set()
        assert engine.wait_idle(30)
        first, second = fake.batches[0], fake.batches[1]
        assert len(first) == DOCUMENTS_PER_CALL  # the background batch already under way
        # Then the saved file's symbols (its new formatBytes has the newest id of all), before
        # the background symbols that were queued long before it.
        assert [text.splitlines()[0] for text in second] == [
            "function debounce",
            "class event emitter",
            "method event emitter on",
            "method event emitter emit",
            "function format bytes",
        ]
        assert "toFixed(2)" in second[-1]
        assert all("text/" not in t and "slugify" not in t for t in first + second)
        # The old formatBytes was replaced before its turn came: it is never embedded.
        assert sum(len(batch) for batch in fake.batches) == 24
    finally:
        fake.gate.set()
        engine.close()


def test_progress_events_tell_the_whole_story(tmp_path):
    repo = copy_repo(tmp_path)
    fake = GatedEmbedder()
    fake.gate.set()
    events: list[Progress] = []
    engine = Engine(
        [repo], Settings(index_dir=tmp_path / "index"), embedder=fake, on_progress=events.append
    )
    engine.start()
    try:
        assert engine.wait_idle(30)
        wait_for(lambda: events and events[-1].phase == "idle")
        phases = [event.phase for event in events]
        assert phases[0] == "walking" and "embedding" in phases
        last_busy = [event for event in events if event.phase != "idle"][-1]
        assert last_busy.symbols_total == 24 and last_busy.files_total == 6
        assert all(event.files_done <= event.files_total for event in events)
        assert events[-1].eta_s == 0.0
        # A second pass over an unchanged tree does nothing and says so.
        events.clear()
        engine.scan()
        assert engine.wait_idle(30)
        wait_for(lambda: events and events[-1].phase == "idle")
        assert all(event.symbols_done == 0 for event in events)
        assert engine.embedded_count == 24
    finally:
        engine.close()


def test_many_notifications_for_one_path_are_one_parse(tmp_path):
    repo = copy_repo(tmp_path)
    fake = GatedEmbedder()
    events: list[Progress] = []
    engine = Engine(
        [repo], Settings(index_dir=tmp_path / "index"), embedder=fake, on_progress=events.append
    )
    engine.start()
    try:
        assert fake.entered.wait(30)
        source = repo / "text" / "slugify.py"
        original = source.read_text()
        for width in range(60, 70):  # ten saves while the worker is busy embedding
            source.write_text(original.replace("width: int = 72", f"width: int = {width}"))
            engine.notify_changed([source], urgent=True)
        fake.gate.set()
        assert engine.wait_idle(30)
        wait_for(lambda: events and events[-1].phase == "idle")
        busy = [event for event in events if event.phase != "idle"]
        assert (busy[-1].files_done, busy[-1].files_total) == (7, 7)  # six walked, one saved
        # Only the last version was embedded: the first was replaced before its turn.
        assert engine.embedded_count == 24
        hit = engine.search("wrap paragraph", mode="lexical", limit=1).hits[0]
        assert "width: int = 69" in hit.snippet
    finally:
        fake.gate.set()
        engine.close()


class BrokenEmbedder(GatedEmbedder):
    def embed_documents(self, texts):
        self.batches.append(list(texts))
        raise ModelError("llama.cpp failed to embed a batch (status=-1)")


def test_an_embedding_failure_is_reported_not_spun_on(tmp_path):
    repo = copy_repo(tmp_path)
    broken = BrokenEmbedder()
    engine = Engine([repo], Settings(index_dir=tmp_path / "index"), embedder=broken)
    engine.start()
    try:
        assert engine.wait_idle(30)  # it gives up on the batch instead of retrying forever
        assert len(broken.batches) == 1
        status = engine.status()
        assert status["state"] == "error" and "failed to embed" in status["lastError"]
        assert status["symbols"] == 24 and status["vectors"] == 0
        outcome = engine.search("levenshtein", mode="lexical")  # words still work
        assert outcome.hits[0].qualified_name == "levenshtein_distance"
        assert (outcome.indexed_files, outcome.total_files) == (0, 6)
        # A clean pass after it (a save that changes nothing) clears the error, but the
        # symbols given up on still have no vectors, and the figures must keep saying so.
        engine.notify_changed([repo / "web" / "debounce.ts"], urgent=True)
        assert engine.wait_idle(30)
        outcome = engine.search("levenshtein", mode="lexical")
        assert outcome.state == "idle"
        assert (outcome.indexed_files, outcome.total_files) == (0, 6)
    finally:
        engine.close()


def test_roots_come_and_go_and_reindex_starts_over(tmp_path):
    second = tmp_path / "b"
    second.mkdir()
    (second / "units.py").write_text("def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n")
    with idle_engine(tmp_path / "a") as (engine, first):
        engine.add_root(second)
        assert engine.wait_idle(30)
        assert engine.status()["roots"] == [str(first.resolve()), str(second.resolve())]
        (hit,) = engine.search("celsius fahrenheit", mode="lexical", limit=1).hits
        assert (hit.root, hit.rel) == (second.resolve(), "units.py")
        assert hit.path == second.resolve() / "units.py"
        engine.remove_root(second)
        assert engine.wait_idle(30)
        assert engine.search("celsius fahrenheit", mode="lexical").hits == []
        assert len(engine.status()["indexPaths"]) == 1

        before = engine.embedded_count
        engine.reindex()
        assert engine.wait_idle(30)
        assert engine.embedded_count - before == 24  # dropped means dropped: all again
        status = engine.status()
        assert (status["files"], status["symbols"], status["vectors"]) == (6, 24, 24)


def test_a_path_outside_every_root_leaves_the_index_idle(tmp_path):
    with idle_engine(tmp_path) as (engine, _):
        engine.notify_changed([tmp_path / "elsewhere" / "x.py"], urgent=True)
        assert engine.wait_idle(0)  # no work arrived, so "indexing" must not start
        assert engine.status()["state"] == "idle"


def saved_generation(engine: Engine) -> tuple[int, int]:
    """(generation named by the saved vector file's header, the store's generation now)."""
    (index,) = engine._worker.roots()
    header_path = index.directory / HEADER_NAME
    saved = json.loads(header_path.read_text())["generation"] if header_path.exists() else -1
    return saved, index.store.generation


def _matches(engine: Engine) -> bool:
    saved, now = saved_generation(engine)
    return saved == now


def test_the_vector_file_is_saved_after_a_quiet_spell_not_at_every_idle(tmp_path, monkeypatch):
    monkeypatch.setattr(indexer, "SAVE_AFTER_QUIET_S", 1.0)
    with idle_engine(tmp_path) as (engine, repo):
        wait_for(lambda: _matches(engine))  # the first pass is saved once all is quiet
        save_an_edit(engine, repo)
        saved, now = saved_generation(engine)
        assert saved < now  # idle, searchable, and the file not yet written
        wait_for(lambda: _matches(engine))


def test_a_change_too_small_for_a_write_of_the_vector_file_waits_for_close(tmp_path, monkeypatch):
    """Writing the vector file costs O(all symbols) (seconds at 10^6, and a save arriving
    meanwhile waited for it): quiet spells and overdue idles write it only once enough has
    changed (here, with RESAVE_FRACTION 1, as many symbols as the index holds); close writes
    the rest."""
    monkeypatch.setattr(indexer, "SAVE_AFTER_QUIET_S", 0.1)
    monkeypatch.setattr(indexer, "SAVE_AT_MOST_EVERY_S", 0.0)
    monkeypatch.setattr(vectors, "RESAVE_FRACTION", 1.0)
    with idle_engine(tmp_path) as (engine, repo):
        wait_for(lambda: _matches(engine))  # the first pass added every symbol: written
        save_an_edit(engine, repo)  # one symbol out, one in: 2 of 24
        save_an_edit(engine, repo)  # the same text again: nothing changes
        time.sleep(1.0)  # ten quiet spells
        saved, now = saved_generation(engine)
        assert saved < now
        (index,) = engine._worker.roots()
    assert json.loads((index.directory / HEADER_NAME).read_text())["generation"] == now


def test_a_vector_file_brought_up_to_date_at_open_is_written_after_a_quiet_spell(
    tmp_path, monkeypatch
):
    """A file behind the store (changes it never saw, as after a crash) is brought up to date
    by the open, and written like any change: the next start has nothing to repair."""
    monkeypatch.setattr(indexer, "SAVE_AFTER_QUIET_S", 0.1)
    with idle_engine(tmp_path) as (engine, repo):
        wait_for(lambda: _matches(engine))
    (repo / "web" / "debounce.ts").unlink()
    store = Store(index_dir_for(repo, tmp_path / "index"))
    assert store.take_lease()
    assert store.remove_file("web/debounce.ts")
    store.close()
    fake = GatedEmbedder()
    fake.gate.set()
    logs: list[tuple[str, str]] = []
    settings = Settings(index_dir=tmp_path / "index")
    engine = Engine([repo], settings, embedder=fake, on_log=lambda *log: logs.append(log))
    engine.start()
    try:
        assert engine.wait_idle(30)
        assert [message for level, message in logs if level == "warning"] == []  # no rebuild
        wait_for(lambda: _matches(engine))
        (index,) = engine._worker.roots()
        assert index.vectors.unsaved == 0 and len(index.vectors) == engine.status()["symbols"] < 24
    finally:
        engine.close()


def test_a_stream_of_changes_cannot_put_the_save_off_forever(tmp_path, monkeypatch):
    monkeypatch.setattr(indexer, "SAVE_AT_MOST_EVERY_S", 0.0)
    with idle_engine(tmp_path) as (engine, repo):
        save_an_edit(engine, repo)
        assert _matches(engine)  # overdue: saved before the index said idle

"""Switching models without downtime, with the real models (the packaged default `findcode`
and the base `minilm`), tree-sitter, hnswlib and files on disk.

While the new model embeds, searches answer with the old model's vectors; the progress is
told (engine status, progress events, `findcode status` in another process); the switch ends
at once with the new model's vectors; switching back embeds nothing; and a process killed in
the middle of a switch reopens with either model, nothing lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from findcode.config import Settings
from findcode.documents import document_text, embed_key, split_identifiers
from findcode.embedder import Embedder
from findcode.engine import Engine
from findcode.errors import ModelError
from findcode.indexer import Progress
from findcode.model import resolve_model_path
from findcode.roots import index_dir_for
from findcode.store import Store
from findcode.vectors import HEADER_NAME
from index_support import Recorder, findcode, immutable

FIXTURE_SYMBOLS = 24
OLD, NEW = "findcode-minilm-code", "all-MiniLM-L6-v2"
QUERIES = [
    "retry a failed http request with exponential backoff",
    "edit distance between two strings",
    "evict the least recently used entry when the cache is full",
]


def settings(tmp_path: Path, model: str | None = None) -> Settings:
    # Normal priority: an idle-priority indexer on a machine other processes keep busy may get
    # no CPU at all (test_priority.py), and these tests wait for it.
    return Settings(index_dir=tmp_path / "index", watch=False, low_priority=False, model=model)


def answers(engine: Engine) -> list[list[tuple[str, float]]]:
    """What the queries find, with each hit's cosine: the model's fingerprint."""
    return [
        [(hit.qualified_name, hit.cosine) for hit in engine.search(query, limit=3).hits]
        for query in QUERIES
    ]


def saved_model(directory: Path) -> str:
    """The model whose graph the index folder's main vector file holds."""
    return json.loads((directory / HEADER_NAME).read_text())["model"]


def started(repo: Path, tmp_path: Path, **kwargs) -> Engine:
    engine = Engine([repo], settings(tmp_path), **kwargs)
    engine.start()
    assert engine.wait_idle(120)
    return engine


@pytest.fixture(scope="module")
def base_model() -> Embedder:
    return Embedder(resolve_model_path("minilm"))


def test_searches_use_the_old_model_until_the_new_one_has_every_vector(repo, tmp_path, base_model):
    events: list[Progress] = []
    log = Recorder()
    engine = started(repo, tmp_path, on_progress=events.append, on_log=log)
    try:
        before = answers(engine)
        old_key = engine._worker.embed_key
        engine.pause()  # the switch is asked for, and held where it begins
        engine.switch_model(settings(tmp_path, "minilm"))
        assert engine.wait_idle(60)
        status = engine.status()
        assert status["model"]["name"] == OLD
        assert status["switching"] == f"re-embedding for {NEW}: 0/24 symbols"
        assert answers(engine) == before  # the old model, its vectors and its hnswlib index
        # `findcode status` in another process tells the switch and its progress.
        report = findcode("status", "--json", "--index-dir", tmp_path / "index", repo).stdout
        assert json.loads(report)["switching"] == f"re-embedding for {NEW}: 0/24 symbols"

        engine.resume()
        assert engine.wait_idle(120)
        status = engine.status()
        assert status["model"]["name"] == NEW and status["switching"] is None
        assert status["vectors"] == status["symbols"] == FIXTURE_SYMBOLS
        assert status["pending"] == 0 and status["lastError"] is None
        assert engine.embedded_count == 2 * FIXTURE_SYMBOLS
        told = [e.switching for e in events if e.phase == "re-embedding"]
        assert told and told[-1] == f"re-embedding for {NEW}: 24/24 symbols", told
        after = answers(engine)
        assert after != before
        assert [names[0][0] for names in after] == [names[0][0] for names in before]
        # The store records the new model, and its vectors are the new model's.
        directory = index_dir_for(repo, tmp_path / "index")
        store = Store(directory, create=False)
        try:
            assert store.meta("embed_key") == embed_key(base_model.model_id)
            row = store.symbols_at("text/slugify.py", 14)[0]
            stored = store.vectors_for(store.meta("embed_key") or "", [row.body_hash])
        finally:
            store.close()
        fresh = base_model.embed_documents([document_text(row.as_symbol())])[0]
        assert float(np.dot(stored[row.body_hash], fresh)) > 0.99
        query = base_model.embed_query(split_identifiers(QUERIES[1]))
        hit = engine.search(QUERIES[1], limit=1).hits[0]
        assert hit.name == row.name
        assert abs(hit.cosine - float(np.dot(query, fresh))) < 0.01
        # The old model's hnswlib index is kept for a switch back, and the new model's is the
        # saved one at once (a kill now would not rebuild it).
        (kept_old,) = directory.glob("vectors-*.hnsw")
        assert saved_model(directory) == embed_key(base_model.model_id)

        # Switching back embeds nothing: every vector of the old model is still stored, and
        # its kept index is loaded as it was (the very same cosines).
        engine.switch_model(settings(tmp_path))
        assert engine.wait_idle(60)
        status = engine.status()
        assert status["model"]["name"] == OLD and status["switching"] is None
        assert engine.embedded_count == 2 * FIXTURE_SYMBOLS
        assert answers(engine) == before
        assert log.warnings() == []
        # Now the new model's index is the one kept, and the old one's kept copy is gone. The
        # old model's graph, loaded from its kept file with nothing changed since, is the saved
        # one again.
        (kept_new,) = directory.glob("vectors-*.hnsw")
        assert kept_new != kept_old
        assert saved_model(directory) == old_key
    finally:
        engine.close()
    # `findcode gc` drops the vectors and the kept index of the model no longer used.
    result = findcode("gc", "--index-dir", tmp_path / "index", repo)
    assert "models no longer used" in result.stdout and NEW in result.stdout
    assert list(directory.glob("vectors-*")) == []
    store = Store(directory, create=False)
    try:
        assert list(store.vector_keys()) == [store.meta("embed_key")]
    finally:
        store.close()


def test_a_file_saved_during_a_switch_is_embedded_for_both_models(repo, tmp_path):
    engine = started(repo, tmp_path)
    try:
        engine.pause()
        engine.switch_model(settings(tmp_path, "minilm"))
        source = repo / "text" / "slugify.py"
        source.write_text(
            source.read_text()
            + "\n\ndef count_vowels(text: str) -> int:\n"
            + '    return sum(ch in "aeiou" for ch in text.lower())\n'
        )
        engine.buffer_saved(source)
        assert engine.wait_idle(60)  # parsed while paused: searchable by name at once
        hit = engine.search("count_vowels", limit=1, mode="lexical").hits[0]
        assert hit.name == "count_vowels"
        engine.resume()
        assert engine.wait_idle(120)
        status = engine.status()
        assert status["model"]["name"] == NEW and status["pending"] == 0
        # Once for the old model (it answered meanwhile), once for the new; nothing twice.
        assert engine.embedded_count == FIXTURE_SYMBOLS + 1 + FIXTURE_SYMBOLS + 1
        hits = engine.search("how many vowels are in a string", limit=3, mode="semantic").hits
        assert "count_vowels" in [hit.name for hit in hits]
        # Neither model went stale: switching back has nothing to embed.
        engine.switch_model(settings(tmp_path))
        assert engine.wait_idle(60)
        assert engine.status()["model"]["name"] == OLD
        assert engine.embedded_count == 2 * (FIXTURE_SYMBOLS + 1)
    finally:
        engine.close()


def test_a_model_that_cannot_load_leaves_the_old_one_answering(repo, tmp_path):
    engine = started(repo, tmp_path)
    try:
        before = answers(engine)
        with pytest.raises(ModelError, match="does not exist"):
            engine.switch_model(settings(tmp_path, str(tmp_path / "missing.gguf")))
        assert engine.wait_idle(10)
        status = engine.status()
        assert status["model"]["name"] == OLD and status["switching"] is None
        assert answers(engine) == before
    finally:
        engine.close()


def test_asking_for_the_current_model_mid_switch_ends_the_switch(repo, tmp_path):
    engine = started(repo, tmp_path)
    try:
        engine.pause()
        engine.switch_model(settings(tmp_path, "minilm"))
        assert engine.wait_idle(60) and engine.status()["switching"] is not None
        engine.switch_model(settings(tmp_path, "findcode"))
        engine.resume()
        assert engine.wait_idle(60)
        status = engine.status()
        assert status["model"]["name"] == OLD and status["switching"] is None
        assert engine.embedded_count == FIXTURE_SYMBOLS  # nothing embedded for minilm
    finally:
        engine.close()


def test_a_store_that_cannot_record_the_new_model_keeps_the_old_one(repo, tmp_path):
    engine = started(repo, tmp_path)
    try:
        engine.switch_model(settings(tmp_path, "minilm"))
        assert engine.wait_idle(120) and engine.status()["model"]["name"] == NEW
        before = answers(engine)
        wal = index_dir_for(repo, tmp_path / "index") / "index.sqlite3-wal"
        with immutable(wal):  # every write to the store fails from now on
            engine.switch_model(settings(tmp_path))  # every vector stored: ends at once
            assert engine.wait_idle(60)
            status = engine.status()
            assert status["model"]["name"] == NEW and status["switching"] is None
            assert status["lastError"] and status["state"] == "error"
            assert answers(engine) == before
    finally:
        engine.close()


KILLED_MID_SWITCH = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from findcode.config import Settings
    from findcode.engine import Engine

    repo, index_dir = Path(sys.argv[1]), Path(sys.argv[2])

    def settings(model=None):
        return Settings(index_dir=index_dir, watch=False, low_priority=False, model=model)

    def progress(event):  # on the indexer thread, right after a batch is stored
        if event.phase == "re-embedding" and event.switching.endswith(": 16/24 symbols"):
            os.kill(os.getpid(), signal.SIGKILL)

    engine = Engine([repo], settings(), on_progress=progress)
    engine.start()
    engine.wait_idle(120)
    engine.switch_model(settings("minilm"))
    engine.wait_idle(120)
    """
)


def test_killed_mid_switch_reopens_with_either_model_and_loses_nothing(repo, tmp_path):
    started(repo, tmp_path).close()
    index_dir = tmp_path / "index"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_SWITCH, str(repo), str(index_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr
    # The switch had not ended: the store still records the old model, which answers as
    # before, embedding nothing.
    engine = started(repo, tmp_path)
    try:
        assert engine.status()["model"]["name"] == OLD and engine.embedded_count == 0
        assert engine.status()["vectors"] == FIXTURE_SYMBOLS
        assert "fetch_with_retry" in [hit.name for hit in engine.search(QUERIES[0]).hits[:3]]
    finally:
        engine.close()
    # Opened with the new model: the 16 vectors the switch had stored are used, not re-made.
    engine = Engine([repo], settings(tmp_path, "minilm"))
    engine.start()
    try:
        assert engine.wait_idle(120)
        assert engine.status()["model"]["name"] == NEW
        assert engine.embedded_count == FIXTURE_SYMBOLS - 16
        assert engine.status()["vectors"] == FIXTURE_SYMBOLS
    finally:
        engine.close()

"""Indexing through an embedding server, end to end: the engine, the real default model served
by llama-cpp-python's OpenAI-compatible server, real files, tree-sitter, hnswlib and SQLite.

The server is killed mid-index and started again on its port: embedding waits (parsing and
lexical search do not), then finishes by itself, every vector stored once.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from findcode.config import EmbeddingSettings, Settings
from findcode.documents import document_text
from findcode.embedder import Embedder
from findcode.engine import Engine
from findcode.roots import index_dir_for
from findcode.store import DB_NAME
from index_support import Recorder, copy_repo, findcode, open_engine, wait_for
from remote_support import LlamaServer, ScriptedServer, embeddings_body, llama_server

MODEL = "findcode-minilm-code"


@pytest.fixture(scope="module")
def server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with llama_server(model_path, log) as running:
        yield running


def remote_settings(index_dir: Path, url: str, **changes: object) -> Settings:
    embedding = EmbeddingSettings(url=url, model=MODEL, retries=1, timeout_s=20)
    return Settings(
        index_dir=index_dir, watch=False, embedding=dataclasses.replace(embedding, **changes)
    )


def stored_vectors(engine: Engine) -> dict[str, tuple[np.ndarray, str]]:
    """file:qualified name -> the symbol's stored vector and its document text."""
    (index,) = engine._worker.roots()
    db = sqlite3.connect(index_dir_for(index.root, engine.settings.index_dir) / DB_NAME)
    try:
        ids = [row[0] for row in db.execute("SELECT id FROM symbols")]
    finally:
        db.close()
    rows = index.store.symbols(ids).values()
    vectors = index.store.vectors_for(engine._worker.embed_key, {r.body_hash for r in rows})
    return {
        f"{r.rel}:{r.qualified_name}": (vectors[r.body_hash], document_text(r.as_symbol()))
        for r in rows
        if r.body_hash in vectors
    }


def test_an_index_built_remotely_equals_one_built_locally(
    server: LlamaServer, embedder: Embedder, tmp_path: Path
) -> None:
    repo = copy_repo(tmp_path)
    local = open_engine([repo], tmp_path / "local", embedder)
    far = Engine([repo], remote_settings(tmp_path / "remote", server.url, batch_size=5))
    far.start()
    try:
        assert far.wait_idle(300)
        status = far.status()
        assert status["lastError"] is None and status["waiting"] is None
        assert status["symbols"] == status["vectors"] == local.status()["symbols"] == 24
        assert status["model"] == {
            "name": MODEL,
            "path": server.url,
            "dims": 384,
            "quantization": "remote",
        }
        near, remote = stored_vectors(local), stored_vectors(far)
        assert near.keys() == remote.keys() and len(near) == 24
        for key, (vector, text) in near.items():
            cosine = float(vector @ remote[key][0])
            # A text longer than the model's window is cut by each side its own way (the
            # server cannot be told findcode's token limit): close, not the same.
            # The store keeps vectors as int8 with a scale (store.py), which costs both sides a
            # little: the raw vectors' 0.999 is tests/test_remote_embedder's.
            cut = len(embedder.token_ids(text)) >= embedder.max_tokens
            assert cosine >= (0.99 if cut else 0.998), (key, cosine)
        for query in ("retry a failed http request", "make a url slug from a title"):
            expected = [hit.qualified_name for hit in local.search(query, limit=3).hits]
            assert [hit.qualified_name for hit in far.search(query, limit=3).hits] == expected
    finally:
        local.close()
        far.close()


def write_corpus(root: Path, files: int = 12, functions: int = 8) -> int:
    """A repository of distinct small functions; returns how many symbols it holds."""
    root.mkdir()
    for f in range(files):
        body = "\n\n".join(
            f"def compute_{f}_{g}(values):\n    return sum(v * {f * 100 + g} for v in values)"
            for g in range(functions)
        )
        (root / f"module_{f}.py").write_text(body + "\n")
    return files * functions


def test_the_server_killed_mid_index_pauses_and_resumes_it(
    model_path: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    symbols = write_corpus(repo)
    log = Recorder()
    with llama_server(model_path, tmp_path / "server.log") as server:
        settings = remote_settings(tmp_path / "index", server.url, batch_size=4, concurrency=1)
        engine = Engine([repo], settings, on_log=log)
        engine.start()
        try:
            wait_for(lambda: engine.embedded_count >= 8, timeout=60)
            server.kill()
            wait_for(lambda: engine.status()["waiting"] is not None, timeout=60)
            status = engine.status()
            assert status["waiting"].startswith("embedding server unreachable: retrying in ")
            assert server.url in status["waiting"]
            assert status["state"] == "indexing" and status["lastError"] is None
            assert 8 <= status["vectors"] < symbols  # what was stored stays stored
            assert status["symbols"] == symbols  # parsing went on
            assert engine.progress().phase == "waiting"
            assert not engine.wait_idle(0.5)  # waiting for the server is not idle

            outcome = engine.search("compute_7_3", limit=3)  # by words, while it is down
            assert outcome.hits[0].qualified_name == "compute_7_3"
            assert any("searching by words only" in message for _, message in log.lines)

            server.start()  # the same port
            assert engine.wait_idle(300)
            status = engine.status()
            assert status["waiting"] is None and status["lastError"] is None
            assert status["vectors"] == status["symbols"] == symbols and status["pending"] == 0
            assert engine.embedded_count == symbols  # nothing embedded twice
            unreachable = [
                line for line in log.warnings() if line.startswith("embedding server unreachable")
            ]
            assert len(unreachable) == 1  # told once; later retries are info
            assert any("answers again" in message for _, message in log.lines)
            hits = engine.search("compute_7_3", limit=3, mode="semantic").hits
            assert hits[0].qualified_name == "compute_7_3"
        finally:
            engine.close()


def test_a_wrong_key_is_one_clear_error_and_stores_nothing(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINDCODE_TEST_KEY", "wrong")
    repo = copy_repo(tmp_path)
    log = Recorder()
    with llama_server(model_path, tmp_path / "server.log", api_key="right") as server:
        settings = remote_settings(
            tmp_path / "index", server.url, api_key_env="FINDCODE_TEST_KEY", dimensions=384
        )
        with Engine([repo], settings, on_log=log) as engine:
            assert engine.wait_idle(120)
            status = engine.status()
            assert status["vectors"] == 0 and status["symbols"] == 24
            assert "FINDCODE_TEST_KEY" in status["lastError"] and "401" in status["lastError"]
            errors = [message for level, message in log.lines if level == "error"]
            assert len(errors) == 1 and "wrong" not in errors[0]
            # Searches still answer, by words.
            assert engine.search("slugify", limit=1).hits[0].name == "slugify"


@pytest.mark.parametrize("answer", [b"{not json", embeddings_body(["a"] * 64, 3)])
def test_a_broken_server_stores_nothing(tmp_path: Path, answer: bytes) -> None:
    repo = copy_repo(tmp_path)
    with ScriptedServer(lambda _body, _attempt: (200, {}, answer, 0.0)) as broken:
        settings = remote_settings(tmp_path / "index", broken.url, dimensions=4)
        with Engine([repo], settings) as engine:
            assert engine.wait_idle(60)
            status = engine.status()
            assert status["vectors"] == 0
            assert "not an OpenAI embeddings response" in status["lastError"]
            assert status["waiting"] is None


def test_cli_indexes_and_searches_through_the_server(server: LlamaServer, tmp_path: Path) -> None:
    repo = copy_repo(tmp_path)
    flags = ("--index-dir", tmp_path / "index", "--embedding-url", server.url)
    result = findcode("index", repo, *flags, "--embedding-model", MODEL)
    assert result.returncode == 0, result.stderr
    assert "24 symbols (24 embedded)" in result.stdout
    status = findcode("status", repo, "--index-dir", tmp_path / "index", "--json")
    assert '"model": "remote:findcode-minilm-code-d384"' in status.stdout
    found = findcode(
        "search", "make a url slug", "--root", repo, *flags, "--embedding-model", MODEL
    )
    assert found.returncode == 0 and "slugify" in found.stdout.splitlines()[0]

    no_model = findcode("index", repo, *flags)
    assert no_model.returncode == 1
    assert "url needs model" in no_model.stderr
    bad = findcode("index", repo, "--embedding-url", "ftp://x", "--embedding-model", MODEL)
    assert bad.returncode == 1
    assert "expected an http:// or https:// URL" in bad.stderr

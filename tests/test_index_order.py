"""The first index's order: open files, then the files changed lately (git), then the rest.

A real git repository, the real model and engine (and the Language Server's engine host); the
order is what the embedder is asked to embed, recorded as it goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from findcode import host as host_module
from findcode.config import Settings
from findcode.embedder import Embedder
from findcode.engine import Engine
from findcode.host import EngineHost
from findcode.recency import recent_files
from index_support import NoProgressBar, run_git

FUNCTIONS_PER_FILE = 20  # more than one embedding batch per file


class RecordingEmbedder(Embedder):
    """The real embedder, noting which file each document it embeds comes from."""

    def __init__(self, model_path: Path) -> None:
        super().__init__(model_path)
        self.files: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        for text in texts:
            found = re.search(r"\bfunction ([a-z]) ", text)
            if found:
                self.files.append(found.group(1))
        return super().embed_documents(texts)


def write_module(repo: Path, name: str, version: int = 0) -> None:
    (repo / f"{name}.py").write_text(
        "".join(
            f"def {name}_step_{i}(value):\n    return value * {i} + {version}\n\n\n"
            for i in range(FUNCTIONS_PER_FILE)
        )
    )


def first_seen(files: list[str]) -> list[str]:
    return list(dict.fromkeys(files))


def make_repo(tmp_path: Path) -> Path:
    """a..f.py: all committed, then c.py changed in a later commit, d.py edited and not yet
    committed, f.py new and untracked."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in "abcde":
        write_module(repo, name)
    run_git(repo, "init", "-q", "-b", "main")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "first")
    write_module(repo, "c", 1)
    run_git(repo, "commit", "-q", "-am", "second")
    write_module(repo, "d", 2)
    write_module(repo, "f")
    return repo


def test_open_then_recently_changed_then_the_rest(tmp_path, model_path):
    repo = make_repo(tmp_path)
    embedder = RecordingEmbedder(model_path)
    engine = Engine([repo], Settings(index_dir=tmp_path / "index"), embedder=embedder)
    try:
        engine.start()
        engine.notify_changed([repo / "b.py"], urgent=True)  # didOpen
        assert engine.wait_idle(300)
    finally:
        engine.close()
    assert first_seen(embedder.files) == ["b", "d", "c", "a", "e", "f"]
    assert len(embedder.files) == 6 * FUNCTIONS_PER_FILE  # each embedded once


def test_a_file_opened_after_its_parse_is_embedded_next(tmp_path, model_path):
    """Parsed but not embedded yet (the pass was killed, say): opening it moves it ahead."""
    repo = make_repo(tmp_path)
    settings = Settings(index_dir=tmp_path / "index")
    embedder = RecordingEmbedder(model_path)
    engine = Engine([repo], settings, embedder=embedder)
    engine.start()
    assert engine.wait_idle(300)
    engine.close()
    # Forget every vector: each symbol is pending again, its file unchanged on disk.
    (index_db,) = (tmp_path / "index").glob("*/index.sqlite3")
    with contextlib.closing(sqlite3.connect(index_db)) as db, db:
        db.execute("DELETE FROM vectors")
        db.execute("UPDATE symbols SET embedded = 0")  # the store's own mark of a vector
    embedder.files.clear()
    engine = Engine([repo], settings, embedder=embedder)
    try:
        engine.start()
        engine.notify_changed([repo / "e.py"], urgent=True)
        assert engine.wait_idle(300)
    finally:
        engine.close()
    assert first_seen(embedder.files)[0] == "e"


async def test_a_file_opened_before_the_engine_is_ready_goes_first(
    tmp_path, model_path, monkeypatch
):
    """didOpen while the model loads: the host has no engine to tell yet, and tells the one
    it starts."""
    repo = make_repo(tmp_path)
    embedder = RecordingEmbedder(model_path)
    monkeypatch.setattr(host_module, "Engine", functools.partial(Engine, embedder=embedder))
    failures: list[str] = []
    host = EngineHost(NoProgressBar(), failures.append)
    host.change_roots([repo])
    opened = repo / "e.py"
    # What the server's didOpen does (lsp.did_open), before any engine is ready.
    host.notify_changed([opened], urgent=True)
    host.buffer_changed(opened, opened.read_text)
    host.start(Settings(index_dir=tmp_path / "index"))
    try:
        async with host.engine() as engine:
            assert await asyncio.to_thread(engine.wait_idle, 300)
    finally:
        await host.stop()
    assert failures == []
    assert first_seen(embedder.files) == ["e", "d", "c", "a", "b", "f"]


def test_recent_files_of_a_subfolder_and_of_no_repository(tmp_path):
    repo = make_repo(tmp_path)
    (repo / "pkg").mkdir()
    (repo / "pkg" / "g.py").write_text("x = 1\n")
    run_git(repo, "add", "pkg")
    run_git(repo, "commit", "-q", "-m", "third")
    assert recent_files(repo)[:3] == ["d.py", "pkg/g.py", "c.py"]
    assert recent_files(repo / "pkg") == ["g.py"]  # relative to the root, nothing outside it
    plain = tmp_path / "plain"
    plain.mkdir()
    assert recent_files(plain) == []


def test_no_git_on_the_path_is_no_hint(tmp_path, monkeypatch):
    repo = make_repo(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert recent_files(repo) == []

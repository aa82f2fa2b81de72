"""The token cut is part of the vector key: an index embedded at one cut, opened with another,
embeds again instead of mixing the two kinds of vectors (real model, files and index)."""

from __future__ import annotations

from pathlib import Path

from findcode.config import Settings
from findcode.embedder import Embedder
from findcode.engine import Engine
from findcode.roots import index_dir_for
from findcode.store import Store

SYMBOLS = 24  # in tests/fixtures/repo


def index_with(embedder: Embedder, repo: Path, index_dir: Path) -> int:
    """Index `repo` to idle with `embedder`; how many symbols it embedded."""
    settings = Settings(index_dir=index_dir, watch=False, low_priority=False)
    with Engine([repo], settings, embedder=embedder) as engine:
        engine.wait_idle()
        return engine.embedded_count


def test_vectors_of_another_cut_are_not_reused(
    repo: Path, tmp_path: Path, embedder: Embedder, model_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shorter = Embedder(model_path, max_tokens=128)
    try:
        assert index_with(shorter, repo, index_dir) == SYMBOLS
    finally:
        shorter.close()
    # The default cut (256): every symbol again, under a key of its own.
    assert index_with(embedder, repo, index_dir) == SYMBOLS
    store = Store(index_dir_for(repo, index_dir))
    try:
        keys = store.vector_keys()
    finally:
        store.close()
    assert sorted(keys.values()) == [SYMBOLS, SYMBOLS]
    assert {key.partition("/")[0] for key in keys} == {embedder.model_id, shorter.model_id}

"""The unsaved-buffer overlay's bookkeeping: its bm25 equals the index's for the same symbol,
an edit replaces a buffer's symbols, a save drops it only once stored and only if unchanged
since, vectors are kept per body hash while a symbol uses them, and filters apply.

The vectors here are made up (this tests bookkeeping, not meaning); the LSP and Neovim tests
find unsaved code with the real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from findcode import overlay as overlay_module
from findcode.overlay import Overlays
from findcode.store import Store
from findcode.symbols import extract_symbols

ROOT = Path("/work/repo")
REL = "net/client.py"
WEIGHTS = (10.0, 0.0, 0.5)
SOURCE = '''
def parse_http_header(line):
    """Split a raw header line."""
    return line.split(":", 1)


def retryRequest(url, attempts=3):
    for _ in range(attempts):
        request(url)


class TokenBucket:
    def take(self, tokens):
        return tokens
'''
OTHER = '''
def slugify(title):
    """Turn a title into a URL slug."""
    return "-".join(title.lower().split())


def fetch_with_retry(url, retries):
    return request(url, retries)
'''


def stored(tmp_path: Path) -> Store:
    store = Store(tmp_path / "index")
    store.take_lease()
    for rel, text in ((REL, SOURCE), ("text/slug.py", OTHER)):
        store.replace_file(
            rel, size=1, mtime_ns=1, content_hash=rel, language="python",
            symbols=extract_symbols(rel, text),
        )  # fmt: skip
    return store


def test_bm25_of_a_buffer_symbol_equals_the_index_score_of_the_same_symbol(tmp_path: Path):
    store = stored(tmp_path)
    overlays = Overlays()
    overlays.put(ROOT, REL, extract_symbols(REL, SOURCE))
    overlays.put(ROOT, "text/slug.py", extract_symbols("text/slug.py", OTHER))
    words = ["retry", "request", "header", "slug", "tokens"]
    expected = store.symbols([i for i, _ in store.lexical(words, 50, WEIGHTS)])
    index_scores = {expected[i].name: s for i, s in store.lexical(words, 50, WEIGHTS)}
    found = overlays.lexical(ROOT, words, 50, WEIGHTS, store.lexical_stats)
    rows = overlays.rows(i for i, _ in found)
    overlay_scores = {rows[i].name: s for i, s in found}
    assert overlay_scores.keys() == index_scores.keys()
    for name, score in index_scores.items():
        assert abs(overlay_scores[name] - score) < 1e-9, name
    assert all(i < 0 for i, _ in found)  # never a stored id or hnswlib label
    assert overlays.lexical(Path("/elsewhere"), words, 50, WEIGHTS, store.lexical_stats) == []


def test_a_buffer_is_searched_by_name_before_its_index_stores_anything(tmp_path: Path):
    """Opened while the first pass has stored nothing: bm25's figures count no rows."""
    store = Store(tmp_path / "index")
    overlays = Overlays()
    overlays.put(ROOT, REL, extract_symbols(REL, SOURCE))
    found = overlays.lexical(ROOT, ["retry", "request"], 50, WEIGHTS, store.lexical_stats)
    assert [overlays.rows([i])[i].name for i, _ in found][:1] == ["retryRequest"]


def test_an_edit_replaces_the_buffer_and_vectors_follow_body_hashes():
    overlays = Overlays()
    overlays.put(ROOT, REL, extract_symbols(REL, SOURCE))
    pending = overlays.unembedded(16)
    assert sorted(row.name for _, row in pending) == [
        "TokenBucket", "parse_http_header", "retryRequest", "take",
    ]  # fmt: skip
    fake = {row.body_hash: np.eye(4, dtype=np.float32)[n] for n, (_, row) in enumerate(pending)}
    overlays.add_vectors(fake)
    assert overlays.unembedded(16) == []

    # Typing changes one function: only it needs a vector, the others keep theirs.
    edited = SOURCE.replace("return tokens", "return tokens * 2")
    overlays.put(ROOT, REL, extract_symbols(REL, edited))
    assert sorted(row.name for _, row in overlays.unembedded(16)) == ["TokenBucket", "take"]
    header = next(row for row in overlays.rows(range(-1, -20, -1)).values())
    assert overlays.vector(header.id) is not None
    nearest = overlays.dense(ROOT, fake[header.body_hash], 1)
    assert overlays.rows([nearest[0][0]])[nearest[0][0]].name == header.name
    assert overlays.dense(ROOT, fake[header.body_hash], 5, lambda row: row.kind == "class") == []

    assert overlays.files(ROOT) == [REL]
    assert overlays.drop(ROOT, REL)
    assert overlays.files(ROOT) == [] and len(overlays) == 0
    assert overlays.vectors_for(fake) == {}  # nothing uses them now


def test_a_save_drops_the_overlay_once_stored_unless_typed_in_since():
    overlays = Overlays()
    overlays.put(ROOT, REL, extract_symbols(REL, SOURCE))
    overlays.drop_saved(ROOT, REL)  # the indexer stored the file, but it was not saved
    assert overlays.files(ROOT) == [REL]
    overlays.mark_saved(ROOT, REL)
    overlays.put(ROOT, REL, extract_symbols(REL, SOURCE + "\n\ndef later():\n    pass\n"))
    overlays.drop_saved(ROOT, REL)  # edited after the save: the index lacks `later`
    assert overlays.files(ROOT) == [REL]
    overlays.mark_saved(ROOT, REL)
    overlays.drop_saved(ROOT, REL)
    assert overlays.files(ROOT) == []


def test_symbols_at_reads_the_buffer_lines():
    overlays = Overlays()
    overlays.put(ROOT, REL, extract_symbols(REL, "\n\n\n" + SOURCE))
    inner = overlays.symbols_at(ROOT, REL, 16, 16)
    assert [row.name for row in inner] == ["take", "TokenBucket"]
    assert overlays.symbols_at(ROOT, "other.py", 1, 1) == []


def test_a_file_prepared_at_open_costs_its_first_edit_only_the_changed_symbols(monkeypatch):
    overlays = Overlays()
    overlays.prepare(ROOT, REL, extract_symbols(REL, SOURCE))
    assert overlays.files(ROOT) == []  # an unedited buffer hides nothing

    counted: list[str] = []
    real = overlay_module._terms_of
    monkeypatch.setattr(
        overlay_module, "_terms_of", lambda symbol: counted.append(symbol.name) or real(symbol)
    )
    # The first edit changes `take`, and with it the class that holds it.
    overlays.put(ROOT, REL, extract_symbols(REL, SOURCE.replace("return tokens", "return 0")))
    assert sorted(counted) == ["TokenBucket", "take"]

    # Its words outlive the overlay while the file is open (edited back to the file), not after.
    overlays.drop(ROOT, REL)
    counted.clear()
    overlays.put(ROOT, REL, extract_symbols(REL, SOURCE.replace("return tokens", "return 0")))
    assert counted == []
    overlays.close(ROOT, REL)
    overlays.put(ROOT, REL, extract_symbols(REL, SOURCE))
    assert len(counted) == 4

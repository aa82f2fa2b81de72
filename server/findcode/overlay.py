"""Unsaved buffers: the symbols of open files as the editor has them, searched beside the index.

A function typed but not saved is what a person most often wants to find again, and the index
only knows the file on disk. So each dirty buffer gets an overlay: its symbols, parsed from
the buffer's text, stand in for the stored symbols of that file in every search until the
buffer is saved (then the index has them) or closed unsaved (then the stored ones are right).
Nothing here is ever written to SQLite or hnswlib: the persistent index is the saved files'.

An overlay is small (one file's symbols, a few open buffers), so it is searched exactly: its
words by the same bm25 the index uses, with the index's own figures (row count, mean length,
how many rows hold a word), so a buffer's symbol scores what it would once saved and the two
lists merge by score; its vectors by exact cosine. Overlay symbols have negative ids, which
no stored symbol or hnswlib label ever has, so the engine tells the two apart by sign.

Vectors come from the indexer's thread (overlays are its input too, after saves and before
the background pass): first from the store's vector cache by body hash (an edit elsewhere in
the file leaves the other symbols' vectors valid), else embedded. On save the indexer stores
the file, takes the buffer's vectors into its cache instead of embedding them again, and drops
the overlay.
"""

from __future__ import annotations

import collections
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from findcode.store import LexicalStats, SymbolRow, identifier_words, stems
from findcode.symbols import Symbol

# FTS5's bm25 constants (fts5_aux.c): scores here must equal the index's.
BM25_K1 = 1.2
BM25_B = 0.75

Allow = Callable[[SymbolRow], bool]


@dataclass(slots=True)
class _Terms:
    """One symbol's stemmed words per lexical column (names, doc, code) and its length."""

    columns: tuple[collections.Counter[str], ...]
    length: int


@dataclass(slots=True)
class _Buffer:
    root: Path
    rel: str
    rows: list[SymbolRow]
    terms: dict[int, _Terms]
    saved: bool = False  # saved by the user: dropped once the indexer has stored the file


@dataclass
class Overlays:
    """Every open buffer's overlay. Thread-safe: the server's loop, searches and the indexer
    all use it."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _buffers: dict[tuple[Path, str], _Buffer] = field(default_factory=dict)
    _rows: dict[int, tuple[Path, SymbolRow]] = field(default_factory=dict)
    _vectors: dict[str, np.ndarray] = field(default_factory=dict)  # by body hash
    _failed: set[str] = field(default_factory=set)  # could not be embedded: not retried
    # Unchanged symbols the index holds but has not embedded yet (its first pass is still on
    # its way): the index's pass embeds them once, for good, and hands the vectors over.
    _deferred: set[str] = field(default_factory=set)
    _next_id: int = -1
    _terms: dict[tuple[Path, str], dict[str, _Terms]] = field(default_factory=dict)

    # -- buffers

    def put(self, root: Path, rel: str, symbols: Sequence[Symbol]) -> None:
        """The buffer's symbols now (replacing its earlier overlay)."""
        rows: list[SymbolRow] = []
        terms: dict[int, _Terms] = {}
        with self._lock:
            known = self._terms.get((root, rel), {})
        for symbol in symbols:
            with self._lock:
                symbol_id, self._next_id = self._next_id, self._next_id - 1
            rows.append(_row(symbol_id, rel, symbol))
            # A keystroke changes one symbol (and those around it): the rest keep their words.
            terms[symbol_id] = known.get(symbol.body_hash) or _terms_of(symbol)
        with self._lock:
            self._remove(root, rel)
            self._buffers[(root, rel)] = _Buffer(root, rel, rows, terms)
            self._terms[(root, rel)] = {row.body_hash: terms[row.id] for row in rows}
            for row in rows:
                self._rows[row.id] = (root, row)
            self._prune()  # after the new rows: an unchanged symbol keeps its vector

    def prepare(self, root: Path, rel: str, symbols: Sequence[Symbol]) -> None:
        """The words of a file open in the editor and not yet edited: its first edit (`put`)
        then reuses them for every symbol it leaves unchanged."""
        with self._lock:
            known = self._terms.get((root, rel), {})
        terms = {s.body_hash: known.get(s.body_hash) or _terms_of(s) for s in symbols}
        with self._lock:
            if (root, rel) not in self._buffers:
                self._terms[(root, rel)] = terms

    def drop(self, root: Path, rel: str) -> bool:
        """The buffer matches its file again (or the index would not take it): the file's
        stored symbols are the truth. Its words stay for its next edit."""
        with self._lock:
            removed = self._remove(root, rel)
            self._prune()
            return removed

    def close(self, root: Path, rel: str) -> None:
        """The buffer closed, saved or not: nothing of it is kept."""
        self.drop(root, rel)
        with self._lock:
            self._terms.pop((root, rel), None)

    def mark_saved(self, root: Path, rel: str) -> None:
        with self._lock:
            buffer = self._buffers.get((root, rel))
            if buffer is not None:
                buffer.saved = True

    def drop_saved(self, root: Path, rel: str) -> None:
        """The indexer has stored the file: a buffer saved as it stands is no overlay now (one
        changed again since its save stays)."""
        with self._lock:
            buffer = self._buffers.get((root, rel))
            if buffer is not None and buffer.saved:
                self._remove(root, rel)
                self._prune()

    def _remove(self, root: Path, rel: str) -> bool:
        buffer = self._buffers.pop((root, rel), None)
        if buffer is None:
            return False
        for row in buffer.rows:
            self._rows.pop(row.id, None)
        return True

    def _prune(self) -> None:
        """Forget the vectors no overlay symbol uses any more."""
        used = {row.body_hash for _, row in self._rows.values()}
        for body_hash in [h for h in self._vectors if h not in used]:
            del self._vectors[body_hash]
        self._failed &= used
        self._deferred &= used

    def files(self, root: Path) -> list[str]:
        """The files of `root` whose stored symbols the overlays hide."""
        with self._lock:
            return [rel for r, rel in self._buffers if r == root]

    def __len__(self) -> int:
        with self._lock:
            return len(self._buffers)

    def rows(self, ids: Iterable[int]) -> dict[int, SymbolRow]:
        with self._lock:
            return {i: self._rows[i][1] for i in ids if i in self._rows}

    def symbols_at(self, root: Path, rel: str, line: int, end_line: int) -> list[SymbolRow]:
        """The buffer's symbols containing [line, end_line], innermost first (None: no buffer)."""
        with self._lock:
            buffer = self._buffers.get((root, rel))
            rows = buffer.rows if buffer is not None else []
        inside = [r for r in rows if r.start_line <= line and r.end_line >= end_line]
        return sorted(inside, key=lambda r: (r.end_line - r.start_line, -r.id))

    # -- vectors (the indexer's thread fills them)

    def unembedded(self, limit: int) -> list[tuple[Path, SymbolRow]]:
        """Symbols with no vector yet, one per body hash, newest buffers' first."""
        out: dict[str, tuple[Path, SymbolRow]] = {}
        with self._lock:
            for root, row in sorted(self._rows.values(), key=lambda item: item[1].id):
                h = row.body_hash
                if h in self._vectors or h in self._failed or h in self._deferred:
                    continue
                if h not in out:
                    out[h] = (root, row)
                    if len(out) == limit:
                        break
        return list(out.values())

    def add_vectors(self, vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            used = {row.body_hash for _, row in self._rows.values()}
            self._vectors.update((h, v) for h, v in vectors.items() if h in used)
            self._deferred.difference_update(vectors)

    def forget_vectors(self) -> None:
        """Another model answers from now on: every symbol is embedded again, with it."""
        with self._lock:
            self._vectors.clear()
            self._failed.clear()
            self._deferred.clear()

    def defer(self, body_hashes: Iterable[str]) -> None:
        """Stored symbols waiting for the index's own pass: not embedded here."""
        with self._lock:
            self._deferred.update(body_hashes)

    def failed(self, body_hashes: Iterable[str]) -> None:
        with self._lock:
            self._failed.update(body_hashes)

    def vectors_for(self, body_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        with self._lock:
            return {h: self._vectors[h] for h in body_hashes if h in self._vectors}

    def vector(self, symbol_id: int) -> np.ndarray | None:
        with self._lock:
            item = self._rows.get(symbol_id)
            return self._vectors.get(item[1].body_hash) if item is not None else None

    # -- searching

    def dense(
        self, root: Path, vector: np.ndarray, k: int, allow: Allow | None = None
    ) -> list[tuple[int, float]]:
        """(id, cosine) of the k nearest embedded overlay symbols of `root`, best first."""
        with self._lock:
            found = [
                (row.id, self._vectors[row.body_hash])
                for r, row in self._rows.values()
                if r == root and row.body_hash in self._vectors and (allow is None or allow(row))
            ]
        if not found:
            return []
        data = np.stack([v for _, v in found]).astype(np.float32)
        norms = np.linalg.norm(data, axis=1) * max(float(np.linalg.norm(vector)), 1e-12)
        norms[norms == 0] = 1.0
        scores = data @ vector / norms
        order = np.argsort(-scores)[:k]
        return [(found[i][0], float(scores[i])) for i in order]

    def lexical(
        self,
        root: Path,
        words: Sequence[str],
        k: int,
        weights: tuple[float, float, float],
        stats: Callable[[Sequence[str]], LexicalStats],
        allow: Allow | None = None,
    ) -> list[tuple[int, float]]:
        """(id, bm25) of the overlay symbols of `root` holding any of `words`, best first:
        FTS5's bm25 with the index's figures (`stats`, read only when a symbol matches)."""
        stemmed = stems(words)
        with self._lock:
            candidates = [
                (row, terms)
                for buffer in self._buffers.values()
                if buffer.root == root
                for row in buffer.rows
                if (terms := buffer.terms[row.id])
                and any(term in column for column in terms.columns for term in stemmed)
                and (allow is None or allow(row))
            ]
        if not candidates:
            return []
        figures = stats(words)
        # The figures count the file as stored, which the buffer differs from by an edit or so.
        mean = figures.mean_length or 1.0
        scored = []
        for row, terms in candidates:
            score = 0.0
            for word, term in zip(words, stemmed, strict=True):
                if not any(term in c for c in terms.columns):
                    continue
                frequency = sum(w * c[term] for w, c in zip(weights, terms.columns, strict=True))
                hits = max(figures.rows_with.get(word, 0), 1)  # this symbol holds it
                # As FTS5: a word at least half the rows hold weighs next to nothing. So does
                # any word while the index has stored fewer rows than that (its first pass).
                ratio = (figures.rows - hits + 0.5) / (hits + 0.5)
                idf = math.log(ratio) if ratio > 1 else 1e-6
                norm = BM25_K1 * (1 - BM25_B + BM25_B * terms.length / mean)
                score += idf * frequency * (BM25_K1 + 1) / (frequency + norm)
            scored.append((row.id, score))
        scored.sort(key=lambda item: -item[1])
        return scored[:k]


def _terms_of(symbol: Symbol) -> _Terms:
    columns = []
    for text in (symbol.qualified_name, symbol.doc, symbol.code):
        counts: collections.Counter[str] = collections.Counter()
        words = collections.Counter(identifier_words(text))  # each distinct word stemmed once
        for word, stem in zip(words, stems(list(words)), strict=True):
            counts[stem] += words[word]
        columns.append(counts)
    return _Terms(tuple(columns), sum(sum(c.values()) for c in columns))


def _row(symbol_id: int, rel: str, symbol: Symbol) -> SymbolRow:
    return SymbolRow(
        id=symbol_id,
        file_id=0,  # no stored file
        rel=rel,
        language=symbol.language,
        kind=symbol.kind,
        name=symbol.name,
        qualified_name=symbol.qualified_name,
        start_line=symbol.start_line,
        start_col=symbol.start_col,
        end_line=symbol.end_line,
        end_col=symbol.end_col,
        signature=symbol.signature,
        doc=symbol.doc,
        code=symbol.code,
        body_hash=symbol.body_hash,
    )

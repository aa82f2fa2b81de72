"""The engine: one object the CLI, the Language Server and the evaluation all drive.

It opens one index per workspace root, runs the single indexer thread, and answers searches
on the caller's thread while indexing goes on: a search reads the store and the vector index
(both safe to read during the indexer's writes) and embeds its query between two indexing
batches. A change of model (`switch_model`) goes on in the background the same way: searches
use the old model and its vectors until the new one has embedded everything.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from findcode.config import Settings
from findcode.documents import document_text, split_identifiers
from findcode.embedding import TextEmbedder
from findcode.errors import EmbeddingServerError, FindcodeError, QueryError
from findcode.indexer import PAUSED_BY_USER, Indexer, Progress, View, root_of
from findcode.loaded_model import LoadedModel, load_model
from findcode.overlay import Overlays
from findcode.relevance import calibration_for, field_of
from findcode.roots import RootIndex
from findcode.search import (
    DEFAULT_RANKING,
    Ranking,
    affordable_words,
    check_filters,
    clean_query,
    fuse,
    path_spec,
    query_words,
    rerank,
    snippet,
)
from findcode.store import SymbolRow
from findcode.symbols import extract_symbols
from findcode.vectors import VectorIndex
from findcode.workspace import content_problem, holds_secret, inside_root, is_excluded

__all__ = ["Engine", "Hit", "Progress", "SearchOutcome"]

# A filtered search asks each list for this many times the candidates it needs and keeps those
# that pass, asking again for more up to OVERFETCH_CAP: reading only what it returns. A filter
# that lets fewer through falls back to listing every symbol that passes (store.filtered_ids).
OVERFETCH = 4
OVERFETCH_CAP = 4096


@dataclass(frozen=True, slots=True)
class Hit:
    path: Path
    root: Path
    rel: str
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    name: str
    qualified_name: str
    kind: str
    language: str
    score: float  # the mode's own ranking score (votes, cosine or bm25)
    snippet: str
    cosine: float = 0.0  # with the query (or the symbol, for similar code)
    relevance: float = 0.0  # calibrated, [0, 1], one scale for every mode (relevance.py)
    weak: bool = False  # below the model's calibrated threshold: probably not what was asked


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    hits: list[Hit]
    took_ms: float
    state: str
    indexed_files: int
    total_files: int


# A candidate across roots: (root, symbol id).
_Key = tuple[Path, int]


class Engine:
    def __init__(
        self,
        roots: Sequence[Path],
        settings: Settings,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        on_log: Callable[[str, str], None] | None = None,
        embedder: TextEmbedder | None = None,
        ranking: Ranking = DEFAULT_RANKING,
    ) -> None:
        self.settings = settings
        self.ranking = ranking
        self._initial_roots = [Path(r).resolve() for r in roots]
        self._on_progress = on_progress
        self._on_log = on_log
        self._embedder = embedder  # handed in (tests, the evaluation): used for every model
        self._indexer: Indexer | None = None
        self.overlays = Overlays()  # open buffers' unsaved symbols (overlay.py)
        self.state = "starting"
        # Paused by the user: held here too, so a pause before start (or during it) applies.
        self._pause_lock = threading.Lock()
        self._paused_by_user = False

    # -- lifecycle

    def _log(self, level: str, message: str) -> None:
        if self._on_log is not None:
            self._on_log(level, message)

    def start(self) -> None:
        """Load the model, open (and repair) each root's index, start the worker, queue a scan.

        Raises ModelError or IndexCorruptError with a message for the user.
        """
        model = self._load(self.settings)
        indexer = Indexer(
            self.settings,
            model,
            on_progress=self._on_progress,
            log=self._log,
            overlays=self.overlays,
            # Threads follow the load on the model this engine loaded, unless the user chose
            # a count; one handed in (tests, the evaluation) keeps its own.
            adapt_threads=self._embedder is None and self.settings.threads is None,
        )
        opened: list[RootIndex] = []
        try:
            for root in self._initial_roots:
                opened.append(indexer.open_root(root))
        except BaseException:
            for index in opened:
                index.store.close()
            model.retire()
            raise
        with self._pause_lock:
            self._indexer = indexer
            if self._paused_by_user:
                indexer.pause(PAUSED_BY_USER)
        indexer.scan()  # queued first, so the worker's first event is the walk, not "idle"
        indexer.start()
        self.state = "indexing"

    def _load(self, settings: Settings) -> LoadedModel:
        if self._embedder is not None:
            return LoadedModel(self._embedder, owned=False)
        return load_model(settings)

    def switch_model(self, settings: Settings) -> None:
        """Embed with the model `settings` name (`model`, `embedding`), without a pause in
        search by meaning: the current model answers until the new one has a vector for every
        symbol (indexer.py), and switching back to a model whose vectors are stored embeds
        nothing. Loads the new model on this thread.

        ModelError (EmbeddingServerError) when it cannot load: the current model goes on.
        """
        model = self._load(settings)
        self.settings = settings
        self._worker.switch_to(model)

    def close(self) -> None:
        if self._indexer is not None:
            self._indexer.stop()  # and closes the models it was handed
            self._indexer = None
        self.state = "starting"

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _worker(self) -> Indexer:
        if self._indexer is None:
            raise FindcodeError("the findcode engine is not started")
        return self._indexer

    # -- work requests

    def scan(self) -> None:
        self._worker.scan()

    def notify_changed(self, paths: Iterable[Path], *, urgent: bool = False) -> None:
        self._worker.paths_changed(paths, urgent)

    def add_root(self, root: Path) -> None:
        self._worker.add_root(Path(root).resolve())

    def remove_root(self, root: Path) -> None:
        self._worker.remove_root(Path(root).resolve())

    def reindex(self) -> None:
        self._worker.reindex()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the indexer has nothing it would do: while paused, that is the work a
        pause leaves to do (a save's parse), not the whole index."""
        return self._worker.wait_idle(timeout)

    def pause(self) -> None:
        """Stop indexing after the batch in hand: no walking, background parsing or embedding.
        Saved files are still parsed (milliseconds), so their names stay searchable; searches
        by meaning find what is embedded. Works before `start` too."""
        with self._pause_lock:
            self._paused_by_user = True
            if self._indexer is not None:
                self._indexer.pause(PAUSED_BY_USER)

    def resume(self) -> None:
        """Index on from where the pause stopped (a pause on battery too)."""
        with self._pause_lock:
            self._paused_by_user = False
            if self._indexer is not None:
                self._indexer.resume()

    @property
    def indexing_priority(self) -> str:
        """What the OS granted the indexer's threads, in words (priority.py)."""
        return self._worker.priority

    @property
    def paused(self) -> str | None:
        """Why indexing is paused ("user" or "battery"), or None."""
        with self._pause_lock:
            if self._indexer is None:
                return PAUSED_BY_USER if self._paused_by_user else None
            return self._indexer.paused

    # -- unsaved buffers (overlay.py)

    def update_buffer(self, path: Path, text: str) -> bool:
        """An open buffer's text as the editor has it (opened or edited). Where it differs from
        its file, its symbols stand in for the file's in searches, by name at once and by
        meaning once the indexer has embedded them; nothing is stored. False (and no overlay)
        for a buffer that matches its file, or that the index would not take: outside the
        roots, excluded, too large, binary or holding a secret.

        A buffer that matches its file (just opened, or edited back) gets its words prepared,
        so that the first keystroke in it costs one parse, not the words of every symbol.
        Parses on the caller's thread (tree-sitter keeps a parser per thread): the indexer's
        may be in the middle of an embedding batch, and a name search must not wait for it.
        """
        place = self._buffer_place(path)
        if place is None:
            return False
        root, rel = place
        data = text.encode("utf-8", "surrogatepass")
        if (
            len(data) > self.settings.max_file_bytes
            or content_problem(data)
            or holds_secret(data)
            or is_excluded(root, path, self.settings)
        ):
            self.overlays.drop(root, rel)
            return False
        symbols = extract_symbols(rel, text)
        if _matches_file(path, data):
            self.overlays.drop(root, rel)
            self.overlays.prepare(root, rel, symbols)
            return False
        self.overlays.put(root, rel, symbols)
        self._worker.wake()
        return True

    def close_buffer(self, path: Path) -> None:
        """The buffer closed unsaved: the file's stored symbols show again."""
        place = self._buffer_place(path)
        if place is not None:
            self.overlays.close(*place)

    def buffer_saved(self, path: Path) -> None:
        """The buffer was saved: index the file first; its overlay goes once that is stored."""
        place = self._buffer_place(path)
        if place is not None:
            self.overlays.mark_saved(*place)
        self.notify_changed([path], urgent=True)

    def _buffer_place(self, path: Path) -> tuple[Path, str] | None:
        path = Path(os.path.abspath(path))
        root = root_of([index.root for index in self._worker.roots()], path)
        if root is None:
            return None
        return root, path.relative_to(root).as_posix()

    @property
    def embedded_count(self) -> int:
        return self._indexer.embedded_count if self._indexer is not None else 0

    @property
    def embedder(self) -> TextEmbedder:
        """The model's document side: the model searches use until a switch ends."""
        return self._worker.model.embedder

    @property
    def skipped(self) -> dict[str, int]:
        return dict(self._worker.skipped)

    def progress(self) -> Progress:
        return self._worker.progress()

    # -- searching

    def _index_state(self) -> str:
        worker = self._worker
        if worker.last_error and not worker.busy:
            return "error"
        if worker.paused:
            return "paused"
        if worker.busy or not all(index.writer for index in worker.roots()):
            return "indexing"  # here or, for a root whose lease another process holds, there
        return "idle"

    def indexed_elsewhere(self) -> list[tuple[Path, int, int, int | None]]:
        """Roots another process holds the writer lease of, which this engine only searches:
        (root, symbols searchable by meaning, symbols stored so far, that process's pid)."""
        out = []
        for index in self._worker.roots():
            if not index.writer:
                counts = index.store.counts(self._worker.embed_key)
                searchable = counts["symbols"] - counts["pending"]
                out.append((index.root, searchable, counts["symbols"], index.store.lease_holder()))
        return out

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        mode: str = "hybrid",
        paths: Sequence[str] | None = None,
        languages: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> SearchOutcome:
        started = time.perf_counter()
        text = clean_query(query)
        check_filters(mode, languages, kinds, limit)
        # The query form: compound identifiers as words ("_.forEach" -> "for each").
        query_text = split_identifiers(text)
        # Embedded in every mode: lexical results get their relevance from it too.
        vector: np.ndarray | None
        with self._view() as view:
            try:
                vector = view.model.for_queries.embed_query(query_text)
            except EmbeddingServerError as error:
                # The embedding server is down or refuses: answer by words rather than not at
                # all. Info, not a warning: typing a live query would repeat it at every
                # keystroke, and the indexer has already warned.
                self._log("info", f"searching by words only: {error}")
                vector, mode = None, "lexical"
            words = query_words(text) if mode != "semantic" else []
            return self._ranked(view, vector, words, limit, mode, paths, languages, kinds, started)

    def similar(
        self, path: Path, line: int, end_line: int | None = None, *, limit: int = 20
    ) -> SearchOutcome:
        """Code like the symbol around these lines (or like these lines, outside symbols)."""
        started = time.perf_counter()
        path = Path(os.path.abspath(path))
        if isinstance(line, bool) or not isinstance(line, int) or line < 1:
            raise QueryError(f"line must be a positive 1-based number, not {line!r}")
        with self._view() as view:
            index, vectors = _root_index(view, path)
            if not inside_root(index.root, path):
                raise QueryError(f"{path} leads outside the workspace root {index.root}")
            rel = path.relative_to(index.root).as_posix()
            if rel in self.overlays.files(index.root):  # lines of the unsaved buffer
                around = self.overlays.symbols_at(index.root, rel, line, end_line or line)
            else:
                around = index.store.symbols_at(rel, line, end_line)
            exclude: set[_Key] = set()
            vector: np.ndarray | None = None
            embedder = view.model.for_queries
            if around:
                symbol = around[0]
                exclude.add((index.root, symbol.id))
                if symbol.id < 0:
                    vector = self.overlays.vector(symbol.id)
                else:
                    stored = index.store.vectors_for(vectors.model_key, [symbol.body_hash])
                    vector = stored.get(symbol.body_hash)
                if vector is None:
                    vector = embedder.embed_documents([document_text(symbol.as_symbol())])[0]
            else:
                vector = embedder.embed_documents([_lines(path, line, end_line)])[0]
            return self._ranked(
                view, vector, [], limit, "semantic", None, None, None, started, exclude=exclude
            )

    @contextlib.contextmanager
    def _view(self) -> Iterator[View]:
        """The model and vector indexes of one search: a switch of models ending meanwhile
        changes neither under it, and closes the old model only once the search is done."""
        view = self._worker.view()
        try:
            yield view
        finally:
            view.release()

    def _ranked(
        self,
        view: View,
        vector: np.ndarray | None,
        words: list[str],
        limit: int,
        mode: str,
        paths: Sequence[str] | None,
        languages: Sequence[str] | None,
        kinds: Sequence[str] | None,
        started: float,
        *,
        exclude: set[_Key] = frozenset(),  # type: ignore[assignment]
    ) -> SearchOutcome:
        wanted = max(self.ranking.candidates, limit) + len(exclude)
        dense: list[tuple[_Key, float]] = []
        lexical: list[tuple[_Key, float]] = []
        files = total = 0
        filtered = bool(paths) or bool(languages) or bool(kinds)
        allow_row = _row_filter(paths, languages, kinds) if filtered else None
        weights = self.ranking.bm25_weights
        for index, vectors in view.roots:
            # An open buffer's unsaved symbols stand in for its file's stored ones.
            overlaid = self.overlays.files(index.root)
            hidden = index.store.symbol_ids_in(overlaid) if overlaid else set()
            needed = wanted + len(hidden)
            if vector is not None:
                nearest = partial(_nearest, index, vectors, vector)
                found = _filtered(index, nearest, needed, allow_row)
                if found is None:  # few pass the filter: hnswlib searches only those
                    allowed = index.store.filtered_ids(
                        vectors.model_key, _allowed_files(index, paths), languages, kinds
                    )
                    found = nearest(needed, allowed)
                dense.extend(((index.root, i), s) for i, s in found if i not in hidden)
                if overlaid:
                    dense.extend(
                        ((index.root, i), s)
                        for i, s in self.overlays.dense(index.root, vector, wanted, allow_row)
                    )
            if words:
                budget = self.ranking.scored_rows
                chosen = affordable_words(words, index.store.rows_with(words), budget)
                lexical_search = partial(
                    index.store.lexical, words, weights=weights, among=chosen, scored_rows=budget
                )
                found = _filtered(index, lexical_search, needed, allow_row)
                if found is None:
                    found = lexical_search(
                        needed,
                        allowed_files=_allowed_files(index, paths),
                        languages=languages,
                        kinds=kinds,
                    )
                lexical.extend(((index.root, i), s) for i, s in found if i not in hidden)
                if overlaid:
                    lexical.extend(
                        ((index.root, i), s)
                        for i, s in self.overlays.lexical(
                            index.root,
                            words,
                            wanted,
                            self.ranking.bm25_weights,
                            index.store.lexical_stats,
                            allow_row,
                        )
                    )
        dense = [item for item in sorted(dense, key=lambda c: -c[1]) if item[0] not in exclude]
        lexical = sorted(lexical, key=lambda c: -c[1])
        cosines = dict(dense)
        field = field_of([cosine for _, cosine in dense[:wanted]])
        if mode == "semantic":
            ranked = dense
        elif mode == "lexical":
            ranked = lexical
        else:
            ranked = fuse(
                [k for k, _ in dense[:wanted]], [k for k, _ in lexical[:wanted]], self.ranking
            )
        rows = self._rows([key for key, _ in ranked])
        ranked = rerank(ranked, rows, self.ranking)[:limit]
        result_cosines = self._result_cosines(view, ranked, rows, cosines, field, vector)
        hits = self._hits(view, ranked, rows, result_cosines)
        worker = self._worker
        for index in worker.roots():
            # Reads only the symbols still waiting for vectors (store.py), not every symbol.
            counts = index.store.file_counts(worker.embed_key)
            files += counts[0]
            total += counts[1]
        return SearchOutcome(
            hits=hits,
            took_ms=(time.perf_counter() - started) * 1000,
            state=self._index_state(),
            indexed_files=files,
            total_files=total,
        )

    def _rows(self, keys: Sequence[_Key]) -> dict[_Key, SymbolRow]:
        by_root: dict[Path, list[int]] = {}
        for root, symbol_id in keys:
            by_root.setdefault(root, []).append(symbol_id)
        rows: dict[_Key, SymbolRow] = {}
        overlay_ids = [symbol_id for _, symbol_id in keys if symbol_id < 0]
        if overlay_ids:  # an unsaved buffer's (overlay.py): ids below zero
            found = self.overlays.rows(overlay_ids)
            rows.update(((root, i), found[i]) for root, i in keys if i in found)
        for index in self._worker.roots():
            if index.root in by_root:
                for symbol_id, row in index.store.symbols(by_root[index.root]).items():
                    rows[(index.root, symbol_id)] = row
        return rows

    def _result_cosines(
        self,
        view: View,
        ranked: Sequence[tuple[_Key, float]],
        rows: dict[_Key, SymbolRow],
        cosines: dict[_Key, float],
        field: float,
        vector: np.ndarray | None,
    ) -> dict[_Key, float]:
        """Each result's cosine with the query; a result outside the dense candidates (found
        by bm25 alone) gets it from its stored vector."""
        stored: dict[_Key, np.ndarray] = {}
        outside = [key for key, _ in ranked if key not in cosines and key in rows]
        for index, vectors in view.roots if vector is not None else ():
            keys = [key for key in outside if key[0] == index.root and key[1] >= 0]
            by_hash = index.store.vectors_for(vectors.model_key, (rows[k].body_hash for k in keys))
            stored.update(
                (k, by_hash[rows[k].body_hash]) for k in keys if rows[k].body_hash in by_hash
            )
        out = {}
        for key, _score in ranked:
            cosine = cosines.get(key)
            if cosine is None and vector is not None:
                found = self.overlays.vector(key[1]) if key[1] < 0 else stored.get(key)
                if found is not None:
                    cosine = float(np.dot(found, vector)) / max(float(np.linalg.norm(found)), 1e-30)
            # Not embedded yet: nothing says it is close, nor far; it sits at the field.
            out[key] = field if cosine is None else cosine
        return out

    def _hits(
        self,
        view: View,
        ranked: Sequence[tuple[_Key, float]],
        rows: dict[_Key, SymbolRow],
        cosines: dict[_Key, float],
    ) -> list[Hit]:
        calibration = calibration_for(view.model.for_queries.name)
        hits: list[Hit] = []
        for key, score in ranked:
            row = rows.get(key)
            if row is None:  # deleted between the two reads
                continue
            relevance = calibration.relevance(cosines[key])
            hits.append(
                Hit(
                    path=key[0] / row.rel,
                    root=key[0],
                    rel=row.rel,
                    start_line=row.start_line,
                    start_col=row.start_col,
                    end_line=row.end_line,
                    end_col=row.end_col,
                    name=row.name,
                    qualified_name=row.qualified_name,
                    kind=row.kind,
                    language=row.language,
                    score=round(float(score), 6),
                    snippet=snippet(row.signature, row.code, row.start_col),
                    cosine=round(cosines[key], 4),
                    relevance=round(relevance, 3),
                    weak=relevance < calibration.threshold,
                )
            )
        return hits

    # -- status

    def status(self) -> dict:
        worker = self._worker
        model = worker.model
        embedder = model.embedder
        files = symbols = vectors = pending = 0
        for index in worker.roots():
            counts = index.store.counts(model.key)
            files += counts["files"]
            symbols += counts["symbols"]
            vectors += counts["vectors"]
            pending += counts["pending"]
        return {
            "state": self._index_state(),
            "roots": [str(index.root) for index in worker.roots()],
            "files": files,
            "symbols": symbols,
            "vectors": vectors,
            "pending": pending,
            "embedded": worker.embedded_count,
            "model": {
                "name": embedder.name,
                "path": embedder.location,
                "dims": embedder.dims,
                "quantization": embedder.quantization,
            },
            "indexPaths": [str(index.directory) for index in worker.roots()],
            "lastError": worker.last_error,
            "paused": worker.paused,
            "waiting": worker.waiting,
            "switching": worker.switching,
        }


def _root_index(view: View, path: Path) -> tuple[RootIndex, VectorIndex]:
    indexes = {index.root: (index, vectors) for index, vectors in view.roots}
    root = root_of(indexes, path)
    if root is None:
        raise QueryError(f"{path} is not inside a findcode workspace root")
    return indexes[root]


def _nearest(
    index: RootIndex,
    vectors: VectorIndex,
    query: np.ndarray,
    k: int,
    allowed: dict[int, int | None] | None = None,
) -> list[tuple[int, float]]:
    """(symbol id, cosine) of the k symbols nearest `query`, best first (or all there are);
    `allowed`: only these (Store.filtered_ids). hnswlib holds each distinct vector once, and a
    hit stands for every symbol with its body (copies of a function tie)."""
    allow = None
    if allowed is not None:
        labels = {label for label in allowed.values() if label is not None}
        allow = labels.__contains__
    scores = dict(vectors.search(query, k, allow))
    found = [
        (symbol_id, scores[label])
        for label, symbol_id in index.store.symbols_of_vectors(scores)
        if allowed is None or symbol_id in allowed
    ]
    found.sort(key=lambda hit: -hit[1])  # stable: copies stay by symbol id
    return found[:k]


def _filtered(
    index: RootIndex,
    ask: Callable[[int], list[tuple[int, float]]],
    wanted: int,
    allow_row: Callable[[SymbolRow], bool] | None,
) -> list[tuple[int, float]] | None:
    """The best `wanted` of `ask(k)` (ranked candidates) that pass the filters, asking for
    OVERFETCH times more until enough pass: it reads only the candidates, where listing every
    symbol that passes reads them all. None when a filter lets too few through for that."""
    if allow_row is None:
        return ask(wanted)
    k = wanted * OVERFETCH
    while True:
        found = ask(k)
        rows = index.store.symbols([i for i, _ in found])
        kept = [(i, s) for i, s in found if i in rows and allow_row(rows[i])]
        if len(kept) >= wanted or len(found) < k:  # enough, or every candidate there is
            return kept[:wanted]
        if k >= OVERFETCH_CAP:
            return None
        k *= OVERFETCH


def _allowed_files(index: RootIndex, globs: Sequence[str] | None) -> list[int] | None:
    if not globs:
        return None
    spec = path_spec(tuple(globs))
    return [row.id for rel, row in index.store.files().items() if spec.match_file(rel)]


def _row_filter(
    globs: Sequence[str] | None, languages: Sequence[str] | None, kinds: Sequence[str] | None
) -> Callable[[SymbolRow], bool]:
    """The search filters over a symbol row (an unsaved buffer's, which no store holds)."""
    spec = path_spec(tuple(globs)) if globs else None
    return lambda row: (
        (spec is None or spec.match_file(row.rel))
        and (not languages or row.language in languages)
        and (not kinds or row.kind in kinds)
    )


def _matches_file(path: Path, data: bytes) -> bool:
    """The file on disk holds exactly these bytes (a size that differs needs no read)."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:  # gone or unreadable: the buffer is all there is
        return False


def _lines(path: Path, line: int, end_line: int | None) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        raise QueryError(f"cannot read {path}: {error}") from None
    last = end_line if end_line is not None else line + 20
    text = "\n".join(lines[line - 1 : last])
    if not text.strip():
        raise QueryError(f"{path} has no code at lines {line}-{last}")
    return text

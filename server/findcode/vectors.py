"""The dense index: hnswlib's graph over the stored vectors, a cache that can always be rebuilt.

SQLite (store.py) is the truth, vectors included (int8 codes with a scale); this module only
makes k-NN fast. It holds each distinct vector in use once, labelled by its store id: copies of
a function (vendored trees, generated code) share one vector, and one element, which a search
expands to every symbol with that body (`Store.symbols_of_vectors`). HNSW loses recall over
exact duplicates (0.71 recall@10 at 10^6 symbols with 7 copies of each vector on average), and
each element costs ~1.7 KB of memory.

hnswlib's own file format keeps a float32 copy of every vector (1,536 bytes at 384 dims, more
than the store's whole row), so the file here holds the graph alone: hnswlib's pickled state
with the vector bytes cut out of every element (~150 bytes a vector). Opening puts the store's
vectors back into their slots. Only the slots of deleted vectors, which hnswlib still walks
through but no symbol uses any more, keep their vectors in the file.

The index holds each vector as the unit vector of its int8 codes, in hnswlib's inner-product
space (cosine on unit vectors): a vector embedded now and the same vector read back from the
store become the same bits, so a reopened index answers exactly as the one that was saved.

The file is saved atomically (temp file, fsync, rename) together with a small header naming the
store generation, model and count it was built from. Writing it costs O(all vectors) (seconds
at 10^6; on Linux in a forked child, elsewhere mostly holding the GIL, `_fork_writer`), so it
is not written after every change: an open brings a file that is behind the store up to date
instead, marking deleted the vectors no symbol uses any more and inserting the ones it lacks
(as many as changed since the write), and the file is written again once the changes since the
last write reach RESAVE_FRACTION of the index (the write's cost per change stays constant; so
does the next open's repair), and at close. On open, anything else that does not match
(another model, a file of an earlier format, a truncated, emptied, garbage or missing file, a
graph that lacks more than half of the vectors in use) is answered by rebuilding from the
stored vectors, with a warning: nothing is ever re-embedded for it. hnswlib follows the links
it is given unchecked, so every link is checked before it sees them.

Both files are written 0600, like the store: vectors can be matched back to the code.

Besides the index of the model the store embeds with, the index of a model switched away from
is kept (`kept=True`: a file named after its model), so that switching back loads it (brought
up to date) instead of rebuilding it.

This is the only module that imports hnswlib: its API moves between releases. A vector that
leaves is marked deleted and its slot reused (`allow_replace_deleted`), so the index does not
grow with every save; its label (its store id) never comes back (AUTOINCREMENT).
"""

from __future__ import annotations

import gc
import hashlib
import json
import mmap
import os
import sys
import threading
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from findcode.store import quantize

INDEX_NAME = "vectors.hnsw"
HEADER_NAME = "vectors.json"
# A kept index (of another model than the store's): "vectors-<hash of its model key>.hnsw/.json".
KEPT_PREFIX = "vectors-"
# 2: "fingerprint" (sampled) in place of "sha256" (the whole file).
# 3: the graph alone (hnswlib's pickled state less the vectors, which come from the store).
# 4: labels are vector ids, one element per distinct vector (they were symbol ids): earlier
#    files are rebuilt, from the store's vectors and without embedding.
HEADER_VERSION = 4
FILE_MODE = 0o600

# M: links per node. More links give better recall and steadier latency on large indexes but
# cost memory (~M*8 bytes a vector) and insert time; 16 is the usual sweet spot for 384 dims.
M = 16
# ef_construction: how hard an insert searches for its neighbours. Higher builds a better
# graph (recall) at the price of slower inserts and rebuilds; 200 keeps a 20k rebuild in seconds.
EF_CONSTRUCTION = 200
# ef: candidates examined per query, at least k. Higher is closer to exact search but slower;
# 64 gives recall near 1 at 20k vectors in well under a millisecond.
EF_SEARCH = 64
# Capacity grows geometrically so a stream of inserts costs amortised O(1) resizes.
GROWTH = 1.5
MIN_CAPACITY = 1024
# The open-time check hashes a file this small whole; a larger one (150 MB at 10^6 vectors)
# by its head, its tail and evenly spaced blocks, about this many bytes: damage the samples
# miss is caught by the structure check before hnswlib sees the graph.
FULL_HASH_BYTES = 32 << 20
HEAD_BYTES = 1 << 16
TAIL_BYTES = 16 << 20
SAMPLES = 1024
SAMPLE_BYTES = 4096
# hnswlib's link list header: the link count in its low 16 bits, flags in the third byte.
LINK_COUNT_MASK = 0xFFFF
DELETED_FLAG_BYTE = 2
DELETED_FLAG = 0x01
# The file is written again once the vectors added or removed since the last write reach this
# fraction of the index: at 10^6, a write (~3 s, O(n)) per thousand changed vectors, and at most
# a thousand inserts (~1 s) for the next open if the process dies before the next write.
RESAVE_FRACTION = 1 / 1000
# A graph that lacks more than this fraction of the vectors in use is rebuilt, not repaired:
# inserting them one by one would cost as much and give a worse graph.
REPAIR_AT_MOST = 0.5
# Vectors are normalised and put back this many rows at a time (bounded temporary memory).
CHUNK_ROWS = 1 << 16
WRITE_BYTES = 1 << 20


class VectorIndex:
    """hnswlib cosine index labelled by the store's vector ids; all methods are thread-safe."""

    def __init__(self, directory: Path, dims: int, model_key: str) -> None:
        self.directory = Path(directory)
        self.dims = dims
        self.model_key = model_key
        self._lock = threading.Lock()
        self._index = self._empty(MIN_CAPACITY)
        self._labels: set[int] = set()
        self._unsaved = 0  # labels added or removed since the file was last written or read

    def _empty(self, capacity: int) -> hnswlib.Index:
        index = hnswlib.Index(space="ip", dim=self.dims)
        index.init_index(
            max_elements=capacity, M=M, ef_construction=EF_CONSTRUCTION, allow_replace_deleted=True
        )
        return _tuned(index)

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, label: int) -> bool:
        return label in self._labels

    # -- loading and saving

    def _paths(self, kept: bool) -> tuple[Path, Path]:
        """(index file, header file): the store's model's, or this model's kept pair."""
        if not kept:
            return self.directory / INDEX_NAME, self.directory / HEADER_NAME
        stem = KEPT_PREFIX + hashlib.sha256(self.model_key.encode()).hexdigest()[:12]
        return self.directory / f"{stem}.hnsw", self.directory / f"{stem}.json"

    def load(self, ids: np.ndarray, codes: np.ndarray, *, kept: bool = False) -> str | None:
        """Load the saved graph, put the store's vectors into it (`ids`, `codes`: by id, from
        `Store.used_codes`) and bring it up to date with them; otherwise say why not."""
        index_path, header_path = self._paths(kept)
        if not index_path.exists() and not header_path.exists():
            return "no saved vector index" if len(ids) else None
        try:
            header = json.loads(header_path.read_text())
        except (OSError, ValueError) as error:
            return f"unreadable vector index header ({error})"
        if not isinstance(header, dict):
            return "vector index header is not an object"
        expected = {
            "version": HEADER_VERSION,
            "model": self.model_key,
            "dims": self.dims,
            "size": index_path.stat().st_size if index_path.exists() else -1,
        }
        for key, value in expected.items():
            if header.get(key) != value:
                return f"vector index {key} is {header.get(key)!r}, expected {value!r}"
        if _fingerprint(index_path) != header.get("fingerprint"):
            return "vector index checksum does not match: the file is corrupt"
        try:
            fixed = self._fixed_state()
            graph = _read_graph(index_path, header, fixed, self.dims)
            state, stale, missing = self._state(graph, fixed, ids, codes)
            index = hnswlib.Index(state)
            index.set_num_threads(os.cpu_count() or 1)
            for start in range(0, len(missing), CHUNK_ROWS):
                rows = missing[start : start + CHUNK_ROWS]
                _insert(index, ids[rows], _unit(codes[rows]))
            _tuned(index)
        except (RuntimeError, ValueError, MemoryError, TypeError, KeyError) as error:
            return f"corrupt vector index ({error})"
        with self._lock:
            self._index = index
            self._labels = set(ids.tolist())
            self._unsaved = stale + len(missing)
        return None

    def _state(
        self, graph: _Graph, fixed: dict, ids: np.ndarray, codes: np.ndarray
    ) -> tuple[dict, int, np.ndarray]:
        """hnswlib's pickled state from a saved graph and the store's vectors, with the vectors
        no symbol uses any more marked deleted; how many those are, and the rows of `ids` the
        graph lacks (to insert). Those it holds deleted (back in use since) are undeleted.

        ValueError when the graph is damaged (a link to nowhere, levels that disagree) or lacks
        more than REPAIR_AT_MOST of the vectors in use.
        """
        level0, levels = graph.level0, graph.levels
        count = len(levels)
        if count == 0:
            if len(ids):
                raise ValueError("an empty graph for a store with vectors")
            return self._empty(graph.capacity).__getstate__()[0], 0, np.zeros(0, np.int64)
        vector_start, label_start = fixed["offset_data"], fixed["label_offset"]
        _check_links(np.ascontiguousarray(level0[:, :vector_start]), fixed["max_M0"], count)
        _check_links(graph.links, fixed["max_M"], count)
        top, entry = graph.top, graph.entry
        if levels.max() != top or not 0 <= entry < count or levels[entry] != top:
            raise ValueError("the entry point or the top level disagrees with the levels")
        labels = np.ascontiguousarray(level0[:, label_start : label_start + 8]).view(np.uint64)
        labels = labels.ravel()
        deleted = _deleted(level0, fixed)
        slots, stale = _match(labels, deleted, ids)
        missing = np.flatnonzero(slots < 0)
        if len(missing) > REPAIR_AT_MOST * len(ids):
            raise ValueError(f"it lacks {len(missing)} of the {len(ids)} vectors in use")
        # Held slots get the store's vectors; deleted ones keep the file's (the store has none),
        # and so do the slots of vectors deleted since (zero if the file kept none).
        vectors = level0[:, vector_start:label_start].view(np.float32)
        held = np.flatnonzero(slots >= 0)
        for start in range(0, len(held), CHUNK_ROWS):
            rows = held[start : start + CHUNK_ROWS]
            vectors[slots[rows]] = _unit(codes[rows])
        flags = fixed["offset_level0"] + DELETED_FLAG_BYTE
        back = slots[held][deleted[slots[held]]]
        level0[back, flags] &= ~np.uint8(DELETED_FLAG)
        level0[stale, flags] |= DELETED_FLAG
        deleted[back] = False
        deleted[stale] = True
        element_levels = np.zeros(graph.capacity, dtype=np.int32)
        element_levels[:count] = levels
        state = {
            **fixed,
            "max_elements": graph.capacity,
            "cur_element_count": count,
            "max_level": top,
            "enterpoint_node": entry,
            "ep_added": True,
            "has_deletions": bool(deleted.any()),
            "label_lookup_external": labels,
            "label_lookup_internal": np.arange(count, dtype=np.uint32),
            "element_levels": element_levels,
            "data_level0": level0.reshape(-1).view(np.int8),
            "link_lists": graph.links.view(np.int8),
        }
        return state, len(stale) + len(back), missing

    def _fixed_state(self) -> dict:
        """The fields of hnswlib's state that follow from dims and M (offsets, sizes, mult)."""
        state = self._empty(1).__getstate__()[0]
        return {key: value for key, value in state.items() if not isinstance(value, np.ndarray)}

    def rebuild(self, ids: np.ndarray, codes: np.ndarray) -> None:
        """Replace the whole index with these vectors (the store's int8 codes)."""
        index = self._empty(max(MIN_CAPACITY, int(len(ids) * GROWTH)))
        index.set_num_threads(os.cpu_count() or 1)
        for start in range(0, len(ids), CHUNK_ROWS):
            part = slice(start, start + CHUNK_ROWS)
            index.add_items(_unit(codes[part]), ids[part])
        index.set_num_threads(1)
        with self._lock:
            self._index = index
            self._labels = set(ids.tolist())

    def save(self, generation: int, *, kept: bool = False) -> None:
        """Write the graph and its header atomically: a reader sees the old pair or the new."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        index_path, header_path = self._paths(kept)
        tmp_index = index_path.with_suffix(".hnsw.tmp")
        tmp_header = header_path.with_suffix(".json.tmp")
        with self._lock:
            count = len(self._labels)
            self._unsaved = 0
            finish = _start_graph_write(self._index, tmp_index, self.dims)
        shape = finish()
        header = {
            "version": HEADER_VERSION,
            "generation": generation,
            "count": count,
            "model": self.model_key,
            "dims": self.dims,
            **shape,
            "size": tmp_index.stat().st_size,
            "fingerprint": _fingerprint(tmp_index),
        }
        _write_private(tmp_header, [np.frombuffer(json.dumps(header).encode(), np.uint8)])
        # The header is renamed last, and names the size and generation of the index file: a
        # crash between the two renames leaves a header that does not match, hence a rebuild.
        os.replace(tmp_index, index_path)
        os.replace(tmp_header, header_path)

    def drop_kept(self) -> None:
        """Remove this model's kept pair: it is the store's model now, saved under the names
        of the store's own index, and the kept copy would only go stale."""
        for path in self._paths(kept=True):
            path.unlink(missing_ok=True)

    # -- changes

    def add(self, ids: Sequence[int], vectors: np.ndarray | Sequence[np.ndarray]) -> None:
        """Add vectors under their labels; labels already present are left as they are. A label
        hnswlib still holds deleted (its body came back: an undo, a checkout) gets its slot
        back: inserted again, it would be held twice."""
        with self._lock:
            keep = [n for n, label in enumerate(ids) if label not in self._labels]
            if not keep:
                return
            labels = np.asarray([ids[n] for n in keep], dtype=np.int64)
            _, codes = quantize(np.asarray(vectors, dtype=np.float32)[keep])
            units = _unit(codes)
            back = np.array([_undeleted(self._index, int(label)) for label in labels])
            if back.any():
                # Its slot may hold zeros (deleted since the file was written): the vector again.
                self._index.add_items(units[back], labels[back], replace_deleted=False)
            if not back.all():
                _insert(self._index, labels[~back], units[~back])
            self._labels.update(int(label) for label in labels)
            self._unsaved += len(labels)

    def remove(self, ids: Collection[int]) -> None:
        with self._lock:
            for label in ids:
                if label in self._labels:
                    self._index.mark_deleted(label)
                    self._labels.discard(label)
                    self._unsaved += 1

    @property
    def unsaved(self) -> int:
        """Labels added or removed since the file was written (or read and brought up to
        date): the caller writes the file at close when there are any."""
        return self._unsaved

    def worth_saving(self) -> bool:
        """Enough has changed since the file was written for a write of all of it now."""
        with self._lock:
            return self._unsaved > 0 and self._unsaved >= RESAVE_FRACTION * len(self._labels)

    # -- queries

    def search(
        self, vector: np.ndarray, k: int, allow: Callable[[int], bool] | None = None
    ) -> list[tuple[int, float]]:
        """(vector id, cosine similarity) of the k nearest, best first; `allow` over vector
        ids. Each vector stands for every symbol with its body (Store.symbols_of_vectors)."""
        query = np.asarray(vector, dtype=np.float32).ravel()
        query = query / max(float(np.linalg.norm(query)), 1e-30)
        with self._lock:
            k = min(k, len(self._labels))
            if k <= 0:
                return []
            self._index.set_ef(max(EF_SEARCH, k))
            try:
                labels, distances = self._index.knn_query(query, k=k, filter=allow)
            except RuntimeError:
                # hnswlib raises when fewer than k items pass the filter; ask for what exists.
                return self._exact(query, k, allow)
        return [
            (int(label), 1.0 - float(d)) for label, d in zip(labels[0], distances[0], strict=True)
        ]

    def _exact(
        self, query: np.ndarray, k: int, allow: Callable[[int], bool] | None
    ) -> list[tuple[int, float]]:
        labels = [label for label in self._labels if allow is None or allow(label)]
        if not labels:
            return []
        scores = np.asarray(self._index.get_items(labels), dtype=np.float32) @ query
        order = np.argsort(-scores)[:k]
        return [(labels[i], float(scores[i])) for i in order]

    def vector(self, label: int) -> np.ndarray | None:
        """The unit vector the index holds for `label` (the direction of its stored vector)."""
        with self._lock:
            if label not in self._labels:
                return None
            return np.asarray(self._index.get_items([label])[0], dtype=np.float32)


def kept_files(directory: Path) -> list[Path]:
    """The kept indexes of models other than the store's (gc and reindex remove them)."""
    return sorted(
        path for path in directory.glob(KEPT_PREFIX + "*") if path.suffix in (".hnsw", ".json")
    )


def _tuned(index: hnswlib.Index) -> hnswlib.Index:
    index.set_ef(EF_SEARCH)
    # Queries run one at a time per caller; hnswlib's own thread pool would only contend
    # with the indexer for the same cores.
    index.set_num_threads(1)
    return index


def _insert(index: hnswlib.Index, labels: np.ndarray, units: np.ndarray) -> None:
    """Add unit vectors under new labels, into deleted slots first."""
    capacity = index.get_max_elements()
    # Deleted slots are reused first, but counting them out would make the arithmetic depend
    # on hnswlib internals; growing a little early is cheap.
    needed = index.get_current_count() + len(labels)
    if needed > capacity:
        index.resize_index(max(int(capacity * GROWTH), needed))
    index.add_items(units, labels, replace_deleted=True)


def _undeleted(index: hnswlib.Index, label: int) -> bool:
    """Unmark `label` deleted if hnswlib still holds it; False if it does not (never added, or
    its slot was given to another label since)."""
    try:
        index.unmark_deleted(label)
    except RuntimeError:  # "Label not found"
        return False
    return True


def _unit(codes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Unit float32 rows of int8 codes (into `out` if given), the same bits however the rows
    are batched: a squared norm of int8 codes is an integer below 2**24, so float32 sums it
    exactly in any order; the rest is one multiply per value."""
    rows = np.empty(codes.shape, dtype=np.float32) if out is None else out
    rows[...] = codes
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows).astype(np.float64))
    inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    rows *= inverse.astype(np.float32)[:, None]
    return rows


@dataclass(frozen=True)
class _Graph:
    """A saved graph as hnswlib holds it, not yet checked: every element's level-0 row (links,
    vector slot, label; the vectors of deleted slots filled in), levels, upper-level links."""

    capacity: int
    top: int
    entry: int
    level0: np.ndarray  # (elements, size_data_per_element) uint8
    levels: np.ndarray  # int64, one per element
    links: np.ndarray  # uint8: the upper-level link lists, element after element


def _read_graph(path: Path, header: dict, fixed: dict, dims: int) -> _Graph:
    """The graph from a file of this format (`_graph_sections`); ValueError when its length is
    not the one its counts give."""
    capacity, count = int(header["capacity"]), int(header["elements"])
    data = np.fromfile(path, dtype=np.uint8)
    if not 0 <= count <= capacity:
        raise ValueError(f"{count} elements in a capacity of {capacity}")
    width, vector_start, links_width = _row_layout(fixed)
    if data.size < count * (width + 4):
        raise ValueError("the file's length does not match its counts")
    graph = data[: count * width].reshape(count, width)
    levels = np.frombuffer(data, np.int32, count, count * width).astype(np.int64)
    if count and levels.min() < 0:
        raise ValueError("a negative level")
    links_end = count * width + 4 * count + int(levels.sum()) * links_width
    deleted = _deleted(graph, fixed)
    if data.size != links_end + int(deleted.sum()) * 4 * dims:
        raise ValueError("the file's length does not match its counts")
    # Zeros: the slots of vectors deleted since the write stay empty (the caller has none).
    level0 = _zeroed_rows(count, fixed["size_data_per_element"])
    level0[:, :vector_start] = graph[:, :vector_start]
    level0[:, fixed["label_offset"] :] = graph[:, vector_start:]
    vectors = level0[:, vector_start : fixed["label_offset"]].view(np.float32)
    vectors[deleted] = data[links_end:].view(np.float32).reshape(-1, dims)
    links = data[count * width + 4 * count : links_end]
    return _Graph(
        capacity, int(header["max_level"]), int(header["enterpoint"]), level0, levels, links
    )


def _zeroed_rows(count: int, width: int) -> np.ndarray:
    """A zeroed (count, width) byte array in ordinary pages. For a big array numpy asks Linux
    for huge pages (madvise), and once SQLite's reads have fragmented memory the kernel
    compacts it to find them: 4.3-6.9 s for the 1.7 GB of 10^6 rows against 2.2 s in ordinary
    pages, in the same process after reading the stored vectors."""
    if count * width == 0:
        return np.zeros((count, width), dtype=np.uint8)
    return np.frombuffer(mmap.mmap(-1, count * width), dtype=np.uint8).reshape(count, width)


def _row_layout(fixed: dict) -> tuple[int, int, int]:
    """(bytes of an element's row in the file, where its vector starts in hnswlib's row, bytes
    of one upper-level link list). A row in the file is hnswlib's less the vector."""
    vector_start, label_start = fixed["offset_data"], fixed["label_offset"]
    width = fixed["size_data_per_element"] - (label_start - vector_start)
    return width, vector_start, fixed["size_links_per_element"]


def _graph_sections(state: dict, dims: int) -> list[np.ndarray]:
    """The file's parts from hnswlib's state: every element's row less its vector, the levels,
    the upper levels' links, then the vectors of deleted slots (not in the store any more)."""
    count = state["cur_element_count"]
    vector_start, label_start = state["offset_data"], state["label_offset"]
    rows = state["data_level0"].view(np.uint8).reshape(count, state["size_data_per_element"])
    graph = np.concatenate((rows[:, :vector_start], rows[:, label_start:]), axis=1)
    deleted = _deleted(rows, state)
    kept = rows[deleted, vector_start:label_start]
    levels = state["element_levels"][:count].astype(np.int32)
    return [graph, levels, state["link_lists"].view(np.uint8), kept]


def _deleted(rows: np.ndarray, fixed: dict) -> np.ndarray:
    """Which elements hnswlib marked deleted (a flag in their level-0 link list header)."""
    return (rows[:, fixed["offset_level0"] + DELETED_FLAG_BYTE] & DELETED_FLAG).astype(bool)


def _check_links(lists: np.ndarray, most: int, count: int) -> None:
    """Each link list (a count, then `most` slots) holds at most `most` links, each to one of
    the `count` elements: hnswlib follows them unchecked, so a bad one would crash, not raise."""
    table = lists.reshape(-1).view(np.uint32).reshape(-1, most + 1)
    sizes = table[:, 0] & LINK_COUNT_MASK
    if (sizes > most).any():
        raise ValueError("a link list longer than M allows")
    used = np.arange(most) < sizes[:, None]
    if ((table[:, 1:] >= count) & used).any():
        raise ValueError("a link to an element that does not exist")


def _match(
    labels: np.ndarray, deleted: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(the slot of each of `ids`, -1 for those the graph lacks; the live slots of labels not
    in `ids`). A vector back in use since the write (its body came back: an undo, a checkout)
    gets its deleted slot back. ValueError for a label held by two elements: hnswlib finds an
    element by its label, and would lose one of them."""
    order = np.argsort(labels, kind="stable")
    ranked = labels[order]
    if (ranked[1:] == ranked[:-1]).any():
        raise ValueError("a label held by two elements")
    wanted = ids.astype(np.uint64)
    at = np.searchsorted(ranked, wanted)
    found = at < len(ranked)
    found[found] = ranked[at[found]] == wanted[found]
    slots = np.full(len(ids), -1, dtype=np.int64)
    slots[found] = order[at[found]]
    held = np.zeros(len(labels), dtype=bool)
    held[slots[found]] = True
    return slots, np.flatnonzero(~deleted & ~held)


def _shape(state: dict) -> dict[str, int]:
    """The header's account of the graph, from hnswlib's state."""
    return {
        "capacity": int(state["max_elements"]),
        "elements": int(state["cur_element_count"]),
        "max_level": int(state["max_level"]),
        "enterpoint": int(state["enterpoint_node"]),
    }


def _write_graph(state: dict, path: Path, dims: int) -> dict[str, int]:
    """Write the graph file from hnswlib's state; the graph's shape, for the header."""
    _write_private(path, _graph_sections(state, dims))
    return _shape(state)


def _start_graph_write(index: hnswlib.Index, path: Path, dims: int) -> Callable[[], dict[str, int]]:
    """Begin writing the graph file, holding the index's lock; the function that finishes it
    (to call without the lock) and returns the graph's shape."""
    child = _fork_writer(index, path, dims)
    if child:
        return lambda: _wait_for_writer(*child)
    # Where no child can write it, the copy of hnswlib's state is made here, holding the GIL
    # (1-2 s at 10^6 distinct vectors: searches wait that long); the file is then written from
    # it in blocks, with the lock and the GIL free.
    state = index.__getstate__()[0]
    return lambda: _write_graph(state, path, dims)


def _fork_writer(index: hnswlib.Index, path: Path, dims: int) -> tuple[int, int] | None:
    """Write the graph file from a forked copy of this process: (its pid, the read end of a
    pipe that brings back the graph's shape), or None where that cannot be done.

    Copying hnswlib's state holds the GIL for as long as the copy takes, which every search
    (every thread) then waits for. A child gets the index as of the fork (the pages are shared
    until either side writes them) and spends that time in its own process. The caller forks
    holding the index's lock, so no thread is inside hnswlib then; the child runs nothing but
    hnswlib, numpy and writes to its own file, takes no lock another thread may hold, never
    touches the parent's streams, and leaves by os._exit. Linux only: elsewhere a forked copy of
    a process that has loaded llama.cpp's frameworks (Metal, Accelerate on macOS) is not safe,
    and Windows has no fork.
    """
    if sys.platform != "linux":
        return None
    read_end, write_end = os.pipe()
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns that a fork of a threaded process may deadlock in the child:
            # this child takes no lock (above).
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child
        status = 1
        try:
            # A collection here could run the finalizer of an object the server no longer
            # holds (an embedder: llama.cpp would join threads this copy does not have).
            gc.disable()
            os.close(read_end)
            shape = _write_graph(index.__getstate__()[0], path, dims)
            os.write(write_end, json.dumps(shape).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _wait_for_writer(pid: int, read_end: int) -> dict[str, int]:
    """The shape of the graph the child wrote, once it has ended; OSError if it failed."""
    try:
        with os.fdopen(read_end, "rb") as pipe:
            report = pipe.read()
    finally:
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not report:
        raise OSError(f"the process writing the vector index failed (status {status})")
    shape: dict[str, int] = json.loads(report)
    return shape


def _write_private(path: Path, parts: Iterable[np.ndarray]) -> None:
    """Write `parts` to a new 0600 file and fsync it, in blocks: the GIL is free during each
    write, so searches go on while a large file is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # a leftover from a crash keeps the mode it was made with
        for part in parts:
            view = part.data.cast("B") if part.nbytes else part.data
            while view:
                view = view[os.write(fd, view[:WRITE_BYTES]) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fingerprint(path: Path) -> str:
    """sha256 of the file, or of its size, head, tail and sampled blocks when it is large.

    The file is only ever written whole and renamed into place, so the damage to expect is a
    truncation, a file swapped or overwritten, a disk returning garbage: all change the size,
    the head, the tail or most blocks. A lone flipped byte deep in the graph may pass; the
    structure check turns a bad link into a rebuild, a bad level costs some recall, and the
    next save replaces the file.
    """
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size <= FULL_HASH_BYTES:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
            return sha.hexdigest()
        sha.update(str(size).encode())
        body_end = size - TAIL_BYTES
        stride = (body_end - HEAD_BYTES) // SAMPLES
        offsets = [0] + [HEAD_BYTES + n * stride for n in range(SAMPLES)]
        lengths = [HEAD_BYTES] + [SAMPLE_BYTES] * SAMPLES
        for offset, length in zip(offsets, lengths, strict=True):
            sha.update(os.pread(handle.fileno(), length, offset))
        handle.seek(body_end)
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return "sampled:" + sha.hexdigest()

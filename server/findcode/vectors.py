"""The dense index: hnswlib over the stored vectors, a cache that can always be rebuilt.

SQLite (store.py) is the truth; this file only makes k-NN fast. It is saved atomically (temp
file, fsync, rename) together with a small header naming the store generation, model and
count it was built from. On open, anything that does not match (another generation after a
crash, another model, a truncated, emptied, garbage or missing file) is answered by
rebuilding from the stored vectors, with a warning: nothing is ever re-embedded for it.

Both files are written 0600, like the store: vectors can be matched back to the code.

Besides the index of the model the store embeds with, the index of a model switched away from
is kept (`kept=True`: a file named after its model), so that switching back loads it instead of
rebuilding it, if nothing has changed since.

This is the only module that imports hnswlib: its API moves between releases.
Labels are symbol ids. A changed symbol's old id is marked deleted and its slot reused
(`allow_replace_deleted`), so the index does not grow with every save.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import hnswlib
import numpy as np

INDEX_NAME = "vectors.hnsw"
HEADER_NAME = "vectors.json"
# A kept index (of another model than the store's): "vectors-<hash of its model key>.hnsw/.json".
KEPT_PREFIX = "vectors-"
# 2: "fingerprint" (sampled) in place of "sha256" (the whole file).
HEADER_VERSION = 2
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
# The open-time check hashes a file this small whole; a larger one (1.7 GB at 10^6 vectors:
# seconds to hash) by its head, its tail and evenly spaced blocks, about this many bytes.
# hnswlib reads the sizes it allocates by from the head (counts) and the tail (the upper
# layers' link lists, ~12 bytes a vector): those are hashed whole up to TAIL_BYTES.
FULL_HASH_BYTES = 32 << 20
HEAD_BYTES = 1 << 16
TAIL_BYTES = 16 << 20
SAMPLES = 1024
SAMPLE_BYTES = 4096


class VectorIndex:
    """hnswlib cosine index with symbol-id labels; all methods are thread-safe."""

    def __init__(self, directory: Path, dims: int, model_key: str) -> None:
        self.directory = Path(directory)
        self.dims = dims
        self.model_key = model_key
        self._lock = threading.Lock()
        self._index = self._empty(MIN_CAPACITY)
        self._labels: set[int] = set()

    def _empty(self, capacity: int) -> hnswlib.Index:
        index = hnswlib.Index(space="cosine", dim=self.dims)
        index.init_index(
            max_elements=capacity, M=M, ef_construction=EF_CONSTRUCTION, allow_replace_deleted=True
        )
        index.set_ef(EF_SEARCH)
        # Queries run one at a time per caller; hnswlib's own thread pool would only contend
        # with the indexer for the same cores.
        index.set_num_threads(1)
        return index

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

    def load(self, generation: int, count: int, *, kept: bool = False) -> str | None:
        """Load the saved index if it is the picture of this store; otherwise say why not."""
        index_path, header_path = self._paths(kept)
        if not index_path.exists() and not header_path.exists():
            return "no saved vector index" if count else None
        try:
            header = json.loads(header_path.read_text())
        except (OSError, ValueError) as error:
            return f"unreadable vector index header ({error})"
        if not isinstance(header, dict):
            return "vector index header is not an object"
        expected = {
            "version": HEADER_VERSION,
            "generation": generation,
            "count": count,
            "model": self.model_key,
            "dims": self.dims,
            "size": index_path.stat().st_size if index_path.exists() else -1,
        }
        for key, value in expected.items():
            if header.get(key) != value:
                return f"vector index {key} is {header.get(key)!r}, expected {value!r}"
        # hnswlib trusts the sizes written in its file; garbage of the right length could make
        # it allocate wildly or crash the process, so the bytes are checked before it sees them.
        if _fingerprint(index_path) != header.get("fingerprint"):
            return "vector index checksum does not match: the file is corrupt"
        index = hnswlib.Index(space="cosine", dim=self.dims)
        try:
            index.load_index(
                str(index_path), max_elements=header["capacity"], allow_replace_deleted=True
            )
            labels = set(int(x) for x in index.get_ids_list())
        except (RuntimeError, ValueError, MemoryError, TypeError, KeyError) as error:
            return f"corrupt vector index ({error})"
        deleted = set(header.get("deleted", []))
        labels -= deleted
        if len(labels) != count:
            return f"vector index holds {len(labels)} vectors, the store {count}"
        index.set_ef(EF_SEARCH)
        index.set_num_threads(1)
        with self._lock:
            self._index = index
            self._labels = labels
        return None

    def rebuild(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace the whole index with these vectors (from the store)."""
        index = self._empty(max(MIN_CAPACITY, int(len(ids) * GROWTH)))
        if len(ids):
            index.set_num_threads(os.cpu_count() or 1)
            index.add_items(vectors, ids)
            index.set_num_threads(1)
        with self._lock:
            self._index = index
            self._labels = set(int(i) for i in ids)

    def save(self, generation: int, *, kept: bool = False) -> None:
        """Write the index and its header atomically: a reader sees the old pair or the new."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        index_path, header_path = self._paths(kept)
        tmp_index = index_path.with_suffix(".hnsw.tmp")
        tmp_header = header_path.with_suffix(".json.tmp")
        with self._lock:
            self._index.save_index(str(tmp_index))
            all_ids = set(int(x) for x in self._index.get_ids_list())
            header = {
                "version": HEADER_VERSION,
                "generation": generation,
                "count": len(self._labels),
                "model": self.model_key,
                "dims": self.dims,
                "capacity": self._index.get_max_elements(),
                "deleted": sorted(all_ids - self._labels),
            }
        tmp_index.chmod(FILE_MODE)  # hnswlib creates it with the umask's mode
        _fsync(tmp_index)
        header["size"] = tmp_index.stat().st_size
        header["fingerprint"] = _fingerprint(tmp_index)
        fd = os.open(tmp_header, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        os.fchmod(fd, FILE_MODE)  # a leftover from a crash keeps the mode it was made with
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(header))
            handle.flush()
            os.fsync(handle.fileno())
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
        """Add vectors under new labels; labels already present are left as they are."""
        vectors = np.asarray(vectors, dtype=np.float32)
        with self._lock:
            keep = [n for n, label in enumerate(ids) if label not in self._labels]
            if not keep:
                return
            capacity = self._index.get_max_elements()
            # Deleted slots are reused first, but counting them out would make the arithmetic
            # depend on hnswlib internals; growing a little early is cheap.
            needed = self._index.get_current_count() + len(keep)
            if needed > capacity:
                self._index.resize_index(max(int(capacity * GROWTH), needed))
            labels = np.asarray([ids[n] for n in keep], dtype=np.int64)
            self._index.add_items(vectors[keep], labels, replace_deleted=True)
            self._labels.update(int(label) for label in labels)

    def remove(self, ids: Collection[int]) -> None:
        with self._lock:
            for label in ids:
                if label in self._labels:
                    self._index.mark_deleted(label)
                    self._labels.discard(label)

    # -- queries

    def search(
        self, vector: np.ndarray, k: int, allow: Callable[[int], bool] | None = None
    ) -> list[tuple[int, float]]:
        """(symbol id, cosine similarity) of the k nearest, best first."""
        with self._lock:
            k = min(k, len(self._labels))
            if k <= 0:
                return []
            self._index.set_ef(max(EF_SEARCH, k))
            try:
                labels, distances = self._index.knn_query(vector, k=k, filter=allow)
            except RuntimeError:
                # hnswlib raises when fewer than k items pass the filter; ask for what exists.
                return self._exact(vector, k, allow)
        return [
            (int(label), 1.0 - float(d)) for label, d in zip(labels[0], distances[0], strict=True)
        ]

    def _exact(
        self, vector: np.ndarray, k: int, allow: Callable[[int], bool] | None
    ) -> list[tuple[int, float]]:
        labels = [label for label in self._labels if allow is None or allow(label)]
        if not labels:
            return []
        data = np.asarray(self._index.get_items(labels), dtype=np.float32)
        norms = np.linalg.norm(data, axis=1)
        norms[norms == 0] = 1.0
        scores = data @ vector / norms / max(float(np.linalg.norm(vector)), 1e-12)
        order = np.argsort(-scores)[:k]
        return [(labels[i], float(scores[i])) for i in order]

    def vector(self, label: int) -> np.ndarray | None:
        with self._lock:
            if label not in self._labels:
                return None
            return np.asarray(self._index.get_items([label])[0], dtype=np.float32)


def kept_files(directory: Path) -> list[Path]:
    """The kept indexes of models other than the store's (gc and reindex remove them)."""
    return sorted(
        path for path in directory.glob(KEPT_PREFIX + "*") if path.suffix in (".hnsw", ".json")
    )


def _fingerprint(path: Path) -> str:
    """sha256 of the file, or of its size, head, tail and sampled blocks when it is large.

    The file is only ever written whole and renamed into place, so the damage to expect is a
    truncation, a file swapped or overwritten, a disk returning garbage: all change the size,
    the head, the tail or most blocks. A lone flipped byte deep in the graph may pass; it costs
    some recall, never a crash, and the next save replaces the file.
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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

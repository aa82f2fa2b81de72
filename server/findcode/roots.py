"""One workspace root's index on disk: where it lives, and opening it whole.

Each root gets its own folder under the user cache directory (never inside the repository:
indexing must not dirty a checkout), named after the root and a hash of its absolute path so
two checkouts called `app` do not collide. Opening a root's index checks the hnswlib cache
against the store and rebuilds it from the stored vectors when they disagree.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from findcode.store import DB_NAME, Store
from findcode.vectors import HEADER_NAME, INDEX_NAME, VectorIndex


def index_base(index_dir: Path | None) -> Path:
    if index_dir is not None:
        return Path(index_dir).expanduser()
    return Path(platformdirs.user_cache_dir("findcode")) / "indexes"


def index_dir_for(root: Path, index_dir: Path | None) -> Path:
    root = Path(root).resolve()
    digest = hashlib.sha256(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return index_base(index_dir) / f"{root.name or 'root'}-{digest}"


@dataclass
class RootIndex:
    root: Path
    directory: Path
    store: Store
    vectors: VectorIndex

    def close(self, *, save: bool) -> None:
        """`save`: the vector index changed since it was last saved (else its file matches)."""
        if save:
            self.vectors.save(self.store.generation)
        self.store.close()


def open_root(
    root: Path,
    index_dir: Path | None,
    embed_key: str,
    dims: int,
    warn: Callable[[str], None],
) -> RootIndex:
    """Open (or create) a root's index; IndexCorruptError when the store is unreadable."""
    root = Path(root).resolve()
    directory = index_dir_for(root, index_dir)
    store = Store(directory)
    store.check_model(embed_key, dims)
    vectors = VectorIndex(directory, dims, embed_key)
    count = store.vector_symbol_count(embed_key)
    reason = vectors.load(store.generation, count)
    if reason:
        warn(f"rebuilding the vector index of {root} from {count} stored vectors: {reason}")
        ids, data = store.symbol_vectors(embed_key)
        vectors.rebuild(ids, data)
        vectors.save(store.generation)
    return RootIndex(root=root, directory=directory, store=store, vectors=vectors)


def drop_index(root: Path, index_dir: Path | None) -> Path:
    """Delete a root's index folder (reindex); only the files findcode writes there."""
    directory = index_dir_for(root, index_dir)
    names = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", INDEX_NAME, HEADER_NAME)
    for name in names:
        (directory / name).unlink(missing_ok=True)
    for leftover in directory.glob("*.tmp"):
        leftover.unlink(missing_ok=True)
    if directory.exists() and not any(directory.iterdir()):
        shutil.rmtree(directory, ignore_errors=True)
    return directory

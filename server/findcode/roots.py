"""One workspace root's index on disk: where it lives, and opening it whole.

Each root gets its own folder under the user cache directory (never inside the repository:
indexing must not dirty a checkout), named after the root and a hash of its absolute path so
two checkouts called `app` do not collide. Opening a root's index checks the hnswlib cache
against the store and rebuilds it from the stored vectors when they disagree, and takes the
store's writer lease: a second process on the same root searches what the first has stored
and leaves the indexing to it.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from findcode.errors import IndexBusyError, IndexCorruptError
from findcode.store import (
    DB_NAME,
    DB_NAMES,
    LEASE_NAME,
    Store,
    WriterLease,
    read_only_error,
    tighten,
)
from findcode.vectors import HEADER_NAME, INDEX_NAME, VectorIndex, kept_files


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
    # The saved vector index is loaded (sync_vectors): until then `vectors` is empty, searches
    # answer by words alone, and closing must not write the empty graph over the file.
    vectors_loaded: bool = False

    @property
    def writer(self) -> bool:
        """This process holds the store's writer lease. Without it another process is indexing
        the root, and this one only searches what that one has stored so far."""
        return self.store.writer

    def sync_vectors(self, warn: Callable[[str], None]) -> None:
        """Load the saved vector index, or rebuild it from the stored vectors if it differs.
        A rebuilt index is saved at once."""
        reason = self._load_or_rebuild(self.vectors, kept=False)
        self.vectors_loaded = True
        if not self.writer:  # a reader's rebuild is its own: the saved file is the writer's
            return
        if reason:
            warn(
                f"rebuilding the vector index of {self.root} from {len(self.vectors)} stored "
                f"vectors: {reason}"
            )
            self.vectors.save(self.store.generation)

    def other_vectors(self, model_key: str, dims: int) -> VectorIndex:
        """Another model's vector index, for a switch to it: its kept file if that is still the
        picture of the store, else rebuilt from what the store holds of that model (nothing is
        embedded; the switch embeds the rest)."""
        vectors = VectorIndex(self.directory, dims, model_key)
        self._load_or_rebuild(vectors, kept=True)
        return vectors

    def _load_or_rebuild(self, vectors: VectorIndex, *, kept: bool) -> str | None:
        """Why the saved file could not be used (then it was rebuilt), or None."""
        # Read either way: the saved file is the graph alone, these are its vectors.
        ids, codes = self.store.used_codes(vectors.model_key)
        reason = vectors.load(ids, codes, kept=kept)
        if reason:
            vectors.rebuild(ids, codes)
        return reason

    def claim(self, warn: Callable[[str], None]) -> bool:
        """Become the writer if the process that held the lease is gone (then reload what it
        stored); False while it still holds it."""
        if self.writer:
            return True
        if not self.store.take_lease():
            return False
        self.store.check_model(self.vectors.model_key, self.vectors.dims)
        self.sync_vectors(warn)
        return True

    def close(self, *, save: bool) -> None:
        """`save`: the vector index changed since it was last saved. So did one brought up to
        date at open (`unsaved`): written, the next open has nothing to repair."""
        if (save or self.vectors.unsaved) and self.writer and self.vectors_loaded:
            self.vectors.save(self.store.generation)
        self.store.close()


def open_root(root: Path, index_dir: Path | None, embed_key: str, dims: int) -> RootIndex:
    """Open (or create) a root's index and take its writer lease if no other process holds it.
    Its vector index starts empty: `sync_vectors` loads it (seconds at 10^6 vectors; the indexer
    does it first thing on its own thread, so that searches answer by words meanwhile).

    IndexCorruptError when the store is unreadable, IndexAccessError when the folder cannot be
    written.
    """
    root = Path(root).resolve()
    directory = index_dir_for(root, index_dir)
    store = Store(directory)
    try:
        for name in (INDEX_NAME, HEADER_NAME):
            if (directory / name).is_dir():
                raise IndexCorruptError(
                    f"{directory / name} is a folder where findcode keeps its vector index; "
                    "run `findcode reindex` to replace it"
                )
        if store.take_lease():
            store.check_model(embed_key, dims)
            for name in (INDEX_NAME, HEADER_NAME):
                tighten(directory / name)
        index = RootIndex(root, directory, store, VectorIndex(directory, dims, embed_key))
    except BaseException:
        store.close()
        raise
    return index


def reset_index(root: Path, index_dir: Path | None, *, keep_vectors: bool) -> Path:
    """Empty a root's index for a rebuild (reindex), without trusting it to open.

    `keep_vectors`: a store that opens and passes its check keeps its vector cache, so the
    rebuild embeds nothing it had; a damaged one is deleted whole, with anything else found at
    the names of findcode's files (a folder in place of one, say). The lease file stays.
    IndexBusyError while another process holds the lease.
    """
    directory = index_dir_for(root, index_dir)
    if not directory.is_dir():
        return directory
    lock = directory / LEASE_NAME
    if lock.is_dir():  # nobody can hold a lease there
        _remove(directory, lock)
    lease = WriterLease(directory)
    if not lease.acquire():
        pid = lease.holder()
        raise IndexBusyError(
            f"another findcode process{f' (pid {pid})' if pid else ''} is indexing {root}: "
            "stop it (or let it finish), then run this again"
        )
    try:
        kept = keep_vectors and _forget_files(directory)
        names = (INDEX_NAME, HEADER_NAME) if kept else (*DB_NAMES, INDEX_NAME, HEADER_NAME)
        leftovers = kept_files(directory) + list(directory.glob("*.tmp"))
        for path in [directory / name for name in names] + leftovers:
            _remove(directory, path)
    finally:
        lease.release()
    return directory


def _forget_files(directory: Path) -> bool:
    """Empty a healthy store of its files and symbols; False if it is missing or damaged."""
    if not (directory / DB_NAME).is_file():
        return False
    try:
        store = Store(directory, create=False)
    except IndexCorruptError:
        return False
    try:
        store.check()
        store.forget_files()
    except IndexCorruptError:
        return False
    finally:
        store.close()
    return True


def _remove(directory: Path, path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        raise read_only_error(directory, path) from None

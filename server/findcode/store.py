"""The index's source of truth: one SQLite database per workspace root.

Files, their symbols, the vectors those symbols were embedded to and a full-text index of
their words all live in one SQLite file, so one transaction changes them together: a process
killed at any instant leaves either the old state of a file or the new one, never half. The
hnswlib file beside it is only a cache rebuilt from here (see vectors.py); the `generation`
in the meta table tells whether that cache is still the picture of this database.

Vectors are keyed by (body hash, embed key), not by symbol: code that moves, is renamed or
comes back with a branch switch finds its vector already here and is never embedded twice.

The schema carries a version; opening an older database runs the migrations in order inside
one transaction instead of throwing the user's index away.

Large indexes (10^5-10^6 symbols) shaped schema v5: vectors are int8 with a scale, code is
compressed, the lexical index keeps no copy of the words, and the counts that status and every
search read (files, symbols, vectors, symbols waiting for one) come from tallies kept by
triggers and from a partial index of the waiting symbols, never from a walk over all of them.

One process at a time writes an index: the one holding its writer lease (an flock the kernel
drops when the holder dies, kill -9 included). Others only read it, so two processes never embed
the same symbols. The holder marks the store while it holds the lease; a mark found by the next
holder means the last one died, and the store is checked (`PRAGMA quick_check`) before use.

The folder and files are created 0700/0600: they hold the code they index.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from findcode.errors import FindcodeError, IndexAccessError, IndexCorruptError
from findcode.symbols import Symbol

SCHEMA_VERSION = 6
DB_NAME = "index.sqlite3"
DB_NAMES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm")
LEASE_NAME = "writer.lock"
# The index holds the code it indexes: its owner's alone.
FOLDER_MODE = 0o700
FILE_MODE = 0o600
# meta key set while a process holds the writer lease and removed when it closes cleanly.
_WRITER_KEY = "writer_pid"
T = TypeVar("T")

_SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    rel TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    language TEXT NOT NULL
);
-- AUTOINCREMENT: ids only grow (the first pass embeds up them). Until schema v6 a symbol id
-- was an hnswlib label, which must never come back: vector ids are now (v6's comment).
CREATE TABLE symbols (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    qualified_name TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    start_col INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    end_col INTEGER NOT NULL,
    signature TEXT NOT NULL,
    doc TEXT NOT NULL,
    code TEXT NOT NULL,
    body_hash TEXT NOT NULL
);
CREATE INDEX symbols_by_file ON symbols(file_id);
CREATE INDEX symbols_by_body ON symbols(body_hash);
CREATE TABLE vectors (
    body_hash TEXT NOT NULL,
    embed_key TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (body_hash, embed_key)
) WITHOUT ROWID;
"""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
_WORD_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_TOKENIZER = "'porter unicode61'"  # the lexical index's (schema v4); stems() cuts the same
# rows_with counts again once the number of symbols has moved by this fraction: a search only
# needs to tell rare words from common ones, which a few saves do not change.
FREQUENCIES_DRIFT = 0.125
FREQUENCIES_KEPT = 20_000  # words: a server typed into for days does not grow without end
_CORRUPT_HINT = "run `findcode reindex` to rebuild it from the source files"
_MOVE_HINT = "or put the index elsewhere with --index-dir (the indexDir setting in an editor)"


def identifier_words(text: str) -> list[str]:
    """'parseHTTPHeader2 retry_count' -> parse http header 2 parsehttpheader2 retry count ...

    Each identifier gives its parts (snake_case, camelCase, digits) and itself joined, so both
    a query for "http header" and one for "parseHTTPHeader2" match.
    """
    words: list[str] = []
    for identifier in _IDENTIFIER.findall(text):
        parts = [p.lower() for p in _WORD_PARTS.findall(identifier)]
        words.extend(parts)
        whole = identifier.lower().replace("_", "")
        if len(parts) > 1 and whole:
            words.append(whole)
    return words


# Stems of identifier words, as the index's tokenizer makes them: an in-memory FTS5 table with
# the same tokenizer cuts them (one per thread: a connection stays on its thread). Words recur
# endlessly in code, so each is stemmed once.
_STEMS: dict[str, str] = {}
_MAX_STEMS = 200_000
_stemmer = threading.local()


def stems(words: Sequence[str]) -> list[str]:
    """Each word ([a-z0-9]+, from identifier_words) as the lexical index stores it."""
    unknown = [word for word in dict.fromkeys(words) if word not in _STEMS]
    if unknown:
        db = getattr(_stemmer, "db", None)
        if db is None:
            db = _stemmer.db = sqlite3.connect(":memory:")
            db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize = {_TOKENIZER})")
            db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        if len(_STEMS) > _MAX_STEMS:
            _STEMS.clear()
        with db:
            db.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", enumerate(unknown, 1))
            for doc, term in db.execute("SELECT doc, term FROM v"):
                _STEMS[unknown[doc - 1]] = term
            db.execute("DELETE FROM t")
    return [_STEMS.get(word, word) for word in words]


@dataclass(frozen=True, slots=True)
class LexicalStats:
    """What bm25 reads from the whole index: rows, their mean length in words (all columns),
    and how many rows hold each word. Scoring a symbol that is not stored (an unsaved buffer's)
    with these gives the score the index would give it."""

    rows: int
    mean_length: float
    rows_with: dict[str, int]


@dataclass(frozen=True, slots=True)
class FileRow:
    id: int
    rel: str
    size: int
    mtime_ns: int
    content_hash: str
    language: str


@dataclass(frozen=True, slots=True)
class SymbolRow:
    id: int
    file_id: int
    rel: str
    language: str
    kind: str
    name: str
    qualified_name: str
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    signature: str
    doc: str
    code: str
    body_hash: str

    def as_symbol(self) -> Symbol:
        return Symbol(
            path=self.rel,
            language=self.language,
            kind=self.kind,
            name=self.name,
            qualified_name=self.qualified_name,
            start_line=self.start_line,
            start_col=self.start_col,
            end_line=self.end_line,
            end_col=self.end_col,
            signature=self.signature,
            doc=self.doc,
            code=self.code,
        )


_SYMBOL_COLUMNS = (
    "s.id, s.file_id, f.rel, s.language, s.kind, s.name, s.qualified_name, s.start_line, "
    "s.start_col, s.end_line, s.end_col, s.signature, s.doc, s.code, s.body_hash"
)


def _symbol_row(row: Sequence) -> SymbolRow:
    """A row of _SYMBOL_COLUMNS, its code unpacked (stored compressed since schema v5)."""
    values = list(row)
    values[13] = _unpack_code(values[13])
    return SymbolRow(*values)


def _pack_code(code: str) -> bytes:
    # Code compresses 2-3x and is read only for the few results shown: the bytes saved on a
    # large index outweigh a decompression per result.
    return zlib.compress(code.encode("utf-8", "surrogatepass"), 6)


def _unpack_code(code: bytes | str) -> str:
    if isinstance(code, str):  # written before v5 and not yet migrated (never after it)
        return code
    return zlib.decompress(code).decode("utf-8", "surrogatepass")


# A start reads every stored vector; in batches of this many rows (bounded memory).
ROWS_PER_FETCH = 1 << 14


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of float32 as stored since schema v5: (a float32 scale per row, int8 codes).

    A quarter of float32's bytes. The scale is per vector (its largest magnitude maps to 127),
    so each component keeps about 2 significant digits; cosine rankings barely move
    (bench/scale_bench.py measures recall@10 of int8 against float32 exact search). Codes of a
    vector the store gave back are the codes it holds: a row's peak is always +-127.
    """
    v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    peaks = np.max(np.abs(v), axis=1) if v.shape[1] else np.zeros(len(v), dtype=np.float32)
    scales = np.where(peaks > 0, peaks.astype(np.float64) / 127.0, 1.0).astype(np.float32)
    codes = np.clip(np.rint(v / scales[:, None]), -127, 127).astype(np.int8)
    return scales, codes


def _dequantize(scales: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return codes.astype(np.float32) * scales.reshape(-1, 1)


def pack_vector(vector: np.ndarray) -> bytes:
    """One vector's row: its float32 scale, then one int8 per dimension (see `quantize`)."""
    scales, codes = quantize(np.asarray(vector, dtype=np.float32).ravel())
    return scales.tobytes() + codes.tobytes()


def unpack_vector(blob: bytes) -> np.ndarray:
    return _unpack_vectors([blob])[0]


def _split_rows(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stored rows (bytes, one a row: one model's, so equal lengths) as (scales, int8 codes)."""
    return raw[:, :4].copy().view(np.float32).ravel(), raw[:, 4:].view(np.int8)


def _unpack_vectors(blobs: Sequence[bytes]) -> np.ndarray:
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), -1)
    return _dequantize(*_split_rows(raw))


@dataclass(frozen=True, slots=True)
class FileChange:
    """What replacing or removing one file's symbols did, for the vector index to follow."""

    removed_ids: list[int]  # symbols gone
    added: list[tuple[int, str]]  # (new symbol id, body hash): add when a vector exists
    # Body hashes no symbol has any more: their vectors leave hnswlib (it holds one element
    # per body in use; the store keeps the vector itself until gc, for the code to come back).
    unused_hashes: list[str]


def make_private_dir(directory: Path) -> None:
    """Create `directory` and the folders missing above it, each 0700; IndexAccessError when
    it cannot be (a file in the way, /proc, no permission), naming the folder to change."""
    directory = Path(directory)
    missing: list[Path] = []
    probe = directory
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    if not probe.is_dir():
        raise IndexAccessError(
            f"cannot create the index folder {directory}: {probe} is a file, not a folder; "
            f"remove it {_MOVE_HINT}"
        )
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
            folder.chmod(FOLDER_MODE)  # mkdir's mode passes through the umask
        except FileExistsError:
            continue  # another process made it meanwhile
        except OSError as error:
            raise IndexAccessError(
                f"cannot create the index folder {directory} ({error.strerror} in {probe}): "
                "give --index-dir a folder you can write (the indexDir setting in an editor)"
            ) from None


def read_only_error(directory: Path, path: Path) -> IndexAccessError:
    return IndexAccessError(
        f"the index folder {directory} is read-only ({path.name} cannot be written): make it "
        f"writable again (chmod u+w, chattr -i, or a read-write mount) {_MOVE_HINT}"
    )


def tighten(path: Path) -> None:
    """An index file made by an older findcode may be group- or world-readable."""
    with contextlib.suppress(OSError):
        info = path.stat()
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            path.chmod(FILE_MODE if path.is_file() else FOLDER_MODE)


class WriterLease:
    """The right to write one index folder, held by one process at a time.

    An exclusive flock on `writer.lock`: the kernel drops it when the holder exits or is
    killed, so a dead holder never blocks anyone. The holder's pid is in the file, for messages.
    The file is never deleted: a lock on a deleted file would not exclude a newcomer's.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LEASE_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lease if no live process holds it; never waits."""
        if self._fd is not None:
            return True
        if self.path.is_dir():
            raise IndexCorruptError(
                f"{self.path} is a folder where findcode keeps a lock file; {_CORRUPT_HINT}"
            )
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError:
            raise read_only_error(self.directory, self.path) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> int | None:
        """The pid of the process holding the lease (as it wrote it), if known."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


class Store:
    """One root's database. A Store belongs to one thread: the indexer writes through its own,
    every searching thread opens another (WAL lets them read while the indexer writes).

    Only a store that took the writer lease (`take_lease`) should be written; the others read.
    """

    def __init__(self, directory: Path, *, create: bool = True) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        if not create and not self.path.exists():
            raise IndexCorruptError(f"no index at {self.path}; run `findcode index` first")
        make_private_dir(self.directory)
        self._check_files(create=create)
        try:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a power cut may lose the last commits but never corrupts;
            # a killed process loses nothing committed.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise self._corrupt(error) from None
        self._lock = threading.RLock()
        self._lease = WriterLease(self.directory)
        # rows_with's counts, and the symbol count they were made at (see rows_with).
        self._frequencies: dict[str, int] = {}
        self._frequencies_at = 0

    def _check_files(self, *, create: bool) -> None:
        """Say what is wrong with the folder before SQLite says "unable to open database file"."""
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise read_only_error(self.directory, self.directory)
        if create:
            tighten(self.directory)
        for path in (self.directory / name for name in DB_NAMES):
            if path.is_dir():
                raise IndexCorruptError(
                    f"{path} is a folder where findcode keeps its database; {_CORRUPT_HINT}"
                )
            if path.exists() and not os.access(path, os.W_OK):
                raise read_only_error(self.directory, path)
            if create:
                tighten(path)
        if create and not self.path.exists():
            # SQLite creates its -wal and -shm files with the database's own mode.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE))

    def _corrupt(self, error: Exception) -> FindcodeError:
        if isinstance(error, sqlite3.OperationalError) and "readonly" in str(error):
            return read_only_error(self.directory, self.path)
        return IndexCorruptError(
            f"the index at {self.path} is unreadable ({error}); {_CORRUPT_HINT}"
        )

    def close(self) -> None:
        if self._lease.held:
            # A clean end: the next writer need not check the store.
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("DELETE FROM meta WHERE key = ?", (_WRITER_KEY,))
            # Fold the write-ahead log back into the database and truncate it: a closed index
            # should not keep megabytes of WAL beside it. A busy database skips it; the next
            # does. Readers skip it: it would wait for the writer's transactions.
            with contextlib.suppress(sqlite3.DatabaseError):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
        self._lease.release()

    # -- the writer lease

    @property
    def writer(self) -> bool:
        """This store holds the writer lease."""
        return self._lease.held

    def take_lease(self) -> bool:
        """Become the index's one writer; False while another live process is.

        A mark left by the last holder means it died mid-work (kill -9, power cut): the
        store is checked first, and IndexCorruptError says to reindex if it is damaged.
        """
        if not self._lease.acquire():
            return False
        try:
            if self.meta(_WRITER_KEY) is not None:
                self.check()
            with self.transaction(bump=False):
                self._meta_set(_WRITER_KEY, str(os.getpid()))
        except BaseException:
            self._lease.release()
            raise
        return True

    def lease_holder(self) -> int | None:
        """The pid of the process holding the writer lease, if known."""
        return self._lease.holder()

    def check(self) -> None:
        """IndexCorruptError unless `PRAGMA quick_check` finds every page and record intact
        (a second or so at 20k symbols: run after an unclean shutdown and by `status`)."""
        with self._lock:
            try:
                rows = self._db.execute("PRAGMA quick_check").fetchall()
            except sqlite3.DatabaseError as error:  # too damaged to list its problems
                rows = [(str(error),)]
        problems = [row[0] for row in rows if row[0] != "ok"]
        if problems:
            more = f", and {len(problems) - 1} more problems" if len(problems) > 1 else ""
            raise IndexCorruptError(
                f"the index at {self.path} is damaged ({problems[0]}{more}); {_CORRUPT_HINT}"
            )

    # -- schema

    def _migrate(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            has_meta = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
            if not has_meta:
                for statement in _split_sql(_SCHEMA_V1):
                    db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('generation', '0')")
            version = int(self._meta_get("schema_version") or 0)
            if version > SCHEMA_VERSION:
                raise IndexCorruptError(
                    f"the index at {self.path} was written by a newer findcode (schema "
                    f"{version}, this one reads {SCHEMA_VERSION}); upgrade, or {_CORRUPT_HINT}"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                _MIGRATIONS[target](db)
                self._meta_set("schema_version", str(target))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _meta_get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _meta_set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        return self._read(lambda: self._meta_get(key))

    @property
    def schema_version(self) -> int:
        return int(self.meta("schema_version") or 0)

    @property
    def generation(self) -> int:
        """Bumped by every commit that changes which symbol has which vector."""
        return int(self.meta("generation") or 0)

    # -- transactions

    @contextmanager
    def transaction(self, *, bump: bool = True) -> Iterator[None]:
        """All writes inside commit together or not at all.

        `bump`: the writes change which symbol has which vector, so the saved hnswlib index
        no longer pictures this store; its generation is bumped in the same commit.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield
                if bump:
                    self._db.execute(
                        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                        "WHERE key = 'generation'"
                    )
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise self._corrupt(error) from None
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _read(self, fn: Callable[[], T]) -> T:
        with self._lock:
            try:
                return fn()
            except sqlite3.DatabaseError as error:
                raise self._corrupt(error) from None

    def check_model(self, embed_key: str, dims: int) -> None:
        """Record the model this index embeds with (vectors of other models stay cached)."""
        if self.meta("embed_key") == embed_key and self.meta("dims") == str(dims):
            return
        with self.transaction():
            self._meta_set("embed_key", embed_key)
            self._meta_set("dims", str(dims))
            _flag_embedded(self._db)  # walks every symbol: once per change of model

    # -- files

    def files(self) -> dict[str, FileRow]:
        rows = self._read(
            lambda: self._db.execute(
                "SELECT id, rel, size, mtime_ns, content_hash, language FROM files"
            ).fetchall()
        )
        return {row[1]: FileRow(*row) for row in rows}

    def file(self, rel: str) -> FileRow | None:
        row = self._read(
            lambda: self._db.execute(
                "SELECT id, rel, size, mtime_ns, content_hash, language FROM files WHERE rel = ?",
                (rel,),
            ).fetchone()
        )
        return FileRow(*row) if row else None

    def touch_file(self, file_id: int, size: int, mtime_ns: int) -> None:
        """Same content, new stat: remember it so the next walk skips reading the file."""
        with self.transaction(bump=False):
            self._db.execute(
                "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, file_id)
            )

    def replace_file(
        self,
        rel: str,
        *,
        size: int,
        mtime_ns: int,
        content_hash: str,
        language: str,
        symbols: Sequence[Symbol],
    ) -> FileChange:
        """Put a file's new symbols in place of its old ones, in one transaction.

        A symbol whose body hash an old symbol of the file had keeps that old id (its position
        is updated), so the vector index is not touched for code that did not change.
        """
        db = self._db
        with self.transaction():
            row = db.execute("SELECT id FROM files WHERE rel = ?", (rel,)).fetchone()
            if row:
                file_id = row[0]
                db.execute(
                    "UPDATE files SET size = ?, mtime_ns = ?, content_hash = ?, language = ? "
                    "WHERE id = ?",
                    (size, mtime_ns, content_hash, language, file_id),
                )
            else:
                file_id = db.execute(
                    "INSERT INTO files (rel, size, mtime_ns, content_hash, language) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (rel, size, mtime_ns, content_hash, language),
                ).lastrowid
            reusable: dict[str, list[int]] = {}
            for symbol_id, body_hash in db.execute(
                "SELECT id, body_hash FROM symbols WHERE file_id = ? ORDER BY id", (file_id,)
            ):
                reusable.setdefault(body_hash, []).append(symbol_id)
            added: list[tuple[int, str]] = []
            for symbol in symbols:
                ids = reusable.get(symbol.body_hash)
                if ids:
                    db.execute(
                        "UPDATE symbols SET name = ?, start_line = ?, start_col = ?, "
                        "end_line = ?, end_col = ? WHERE id = ?",
                        (
                            symbol.name,
                            symbol.start_line,
                            symbol.start_col,
                            symbol.end_line,
                            symbol.end_col,
                            ids.pop(0),
                        ),
                    )
                    continue
                symbol_id = self._insert_symbol(file_id, symbol)
                added.append((symbol_id, symbol.body_hash))
            removed = [symbol_id for ids in reusable.values() for symbol_id in ids]
            self._delete_symbols(removed)
            unused = self._unused([h for h, ids in reusable.items() if ids])
        return FileChange(removed_ids=removed, added=added, unused_hashes=unused)

    def _unused(self, body_hashes: Sequence[str]) -> list[str]:
        """Those of `body_hashes` no symbol has (read inside the transaction that removed)."""
        return [
            body_hash
            for body_hash in body_hashes
            if not self._db.execute(
                "SELECT 1 FROM symbols WHERE body_hash = ? LIMIT 1", (body_hash,)
            ).fetchone()
        ]

    def _insert_symbol(self, file_id: int, symbol: Symbol) -> int:
        symbol_id = self._db.execute(
            "INSERT INTO symbols (file_id, language, kind, name, qualified_name, start_line, "
            "start_col, end_line, end_col, signature, doc, code, body_hash, embedded) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, EXISTS (SELECT 1 FROM vectors "
            "WHERE body_hash = ? AND embed_key = "
            "(SELECT value FROM meta WHERE key = 'embed_key')))",
            (
                file_id,
                symbol.language,
                symbol.kind,
                symbol.name,
                symbol.qualified_name,
                symbol.start_line,
                symbol.start_col,
                symbol.end_line,
                symbol.end_col,
                symbol.signature,
                symbol.doc,
                _pack_code(symbol.code),
                symbol.body_hash,
                symbol.body_hash,
            ),
        ).lastrowid
        assert symbol_id is not None, "an INSERT sets lastrowid"
        _index_words(self._db, symbol_id, symbol.qualified_name, symbol.doc, symbol.code)
        return symbol_id

    def _delete_symbols(self, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT id, qualified_name, doc, code FROM symbols WHERE id IN ({marks})", chunk
            ).fetchall()
            for symbol_id, qualified_name, doc, code in rows:
                _forget_words(self._db, symbol_id, qualified_name, doc, _unpack_code(code))
            self._db.execute(f"DELETE FROM symbols WHERE id IN ({marks})", chunk)

    def forget_files(self) -> None:
        """Drop every file and symbol but keep the vector cache: a reindex parses everything
        again and embeds only what no stored vector covers."""
        with self.transaction():
            self._db.execute("INSERT INTO symbols_fts (symbols_fts) VALUES ('delete-all')")
            self._db.execute("DELETE FROM symbols")
            self._db.execute("DELETE FROM files")

    def remove_file(self, rel: str) -> FileChange:
        """Forget a file and its symbols."""
        with self.transaction():
            row = self._db.execute("SELECT id FROM files WHERE rel = ?", (rel,)).fetchone()
            if not row:
                return FileChange(removed_ids=[], added=[], unused_hashes=[])
            symbols = self._db.execute(
                "SELECT id, body_hash FROM symbols WHERE file_id = ?", (row[0],)
            ).fetchall()
            ids = [symbol_id for symbol_id, _ in symbols]
            self._delete_symbols(ids)
            self._db.execute("DELETE FROM files WHERE id = ?", (row[0],))
            unused = self._unused(list(dict.fromkeys(h for _, h in symbols)))
        return FileChange(removed_ids=ids, added=[], unused_hashes=unused)

    # -- symbols

    def symbols(self, ids: Iterable[int]) -> dict[int, SymbolRow]:
        rows = self._rows_in(
            f"SELECT {_SYMBOL_COLUMNS} FROM symbols s JOIN files f ON f.id = s.file_id "
            "WHERE s.id IN ({marks})",
            [int(i) for i in ids],
        )
        return {row[0]: _symbol_row(row) for row in rows}

    def symbols_at(self, rel: str, line: int, end_line: int | None = None) -> list[SymbolRow]:
        """Symbols of a file that contain [line, end_line], innermost first."""
        end = end_line if end_line is not None else line
        rows = self._read(
            lambda: self._db.execute(
                f"SELECT {_SYMBOL_COLUMNS} FROM symbols s JOIN files f ON f.id = s.file_id "
                "WHERE f.rel = ? AND s.start_line <= ? AND s.end_line >= ? "
                "ORDER BY s.end_line - s.start_line, s.id",
                (rel, line, end),
            ).fetchall()
        )
        return [_symbol_row(row) for row in rows]

    def all_symbol_keys(self) -> list[tuple[str, str, str, int, int]]:
        """(rel, qualified_name, kind, start_line, end_line) of every symbol: for comparisons."""
        return self._read(
            lambda: self._db.execute(
                "SELECT f.rel, s.qualified_name, s.kind, s.start_line, s.end_line "
                "FROM symbols s JOIN files f ON f.id = s.file_id ORDER BY 1, 4, 2, 3, 5"
            ).fetchall()
        )

    def counts(self, embed_key: str) -> dict[str, int]:
        """Files, symbols, vectors of this model, and symbols waiting for one: read from the
        tallies and the waiting symbols' index, never by walking every symbol."""

        def fetch() -> dict[str, int]:
            tallies = dict(self._db.execute("SELECT name, n FROM tallies").fetchall())
            return {
                "files": tallies.get("files", 0),
                "symbols": tallies.get("symbols", 0),
                "vectors": tallies.get(f"vectors {embed_key}", 0),
                "pending": self._waiting(embed_key, "count(*)"),
            }

        return self._read(fetch)

    def vector_count(self, embed_key: str) -> int:
        """Vectors stored for this model, from its tally (counts() also counts what waits, which
        for a model other than the index's own walks every symbol)."""
        row = self._read(
            lambda: self._db.execute(
                "SELECT n FROM tallies WHERE name = ?", (f"vectors {embed_key}",)
            ).fetchone()
        )
        return row[0] if row else 0

    def _waiting(self, embed_key: str, what: str) -> int:
        """`what` (a count) over the symbols with no vector of this model yet. For the index's
        own model the flag says it (reading only the waiting symbols); for another, each
        symbol is looked up (all of them: a reader whose model differs from the writer's)."""
        db = self._db
        if embed_key == self._meta_get("embed_key"):
            sql = f"SELECT {what} FROM symbols INDEXED BY symbols_waiting WHERE embedded = 0"
            return db.execute(sql).fetchone()[0]
        return db.execute(
            f"SELECT {what} FROM symbols WHERE NOT EXISTS (SELECT 1 FROM vectors v "
            "WHERE v.body_hash = symbols.body_hash AND v.embed_key = ?)",
            (embed_key,),
        ).fetchone()[0]

    def file_counts(self, embed_key: str) -> tuple[int, int]:
        """(files whose symbols all have vectors, all files)."""

        def fetch() -> tuple[int, int]:
            row = self._db.execute("SELECT n FROM tallies WHERE name = 'files'").fetchone()
            total = row[0] if row else 0
            return total - self._waiting(embed_key, "count(DISTINCT file_id)"), total

        return self._read(fetch)

    def pending(
        self, embed_key: str, limit: int, *, after_id: int = 0, file_ids: Sequence[int] = ()
    ) -> list[SymbolRow]:
        """Up to `limit` symbols with no vector yet, one per body hash, in id order: those of
        `file_ids` if given (a just-saved file), else those with an id above `after_id`.

        Walking ids upward (the caller keeps the cursor) makes each call read only the rows
        it returns, where "the first pending rows" would rescan the whole table every batch.
        Ids only grow (AUTOINCREMENT), so nothing new can appear below the cursor.
        """
        if file_ids:
            where, params = f"s.file_id IN ({','.join('?' * len(file_ids))})", tuple(file_ids)
        else:
            where, params = "s.id > ?", (after_id,)
        query = (
            f"SELECT {_SYMBOL_COLUMNS} FROM symbols s JOIN files f ON f.id = s.file_id "
            "WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.body_hash = s.body_hash "
            f"AND v.embed_key = ?) AND {where} ORDER BY s.id LIMIT ?"
        )

        def fetch() -> list[SymbolRow]:
            out: dict[str, SymbolRow] = {}
            # Shared hashes come back once; a few extra rows cover the duplicates skipped.
            for row in self._db.execute(query, (embed_key, *params, limit * 2)):
                if len(out) >= limit:
                    break
                out.setdefault(row[-1], _symbol_row(row))
            return list(out.values())

        return self._read(fetch)

    def ids_with_body(self, body_hashes: Iterable[str]) -> list[tuple[int, str]]:
        return self._rows_in(
            "SELECT id, body_hash FROM symbols WHERE body_hash IN ({marks})", list(body_hashes)
        )

    def _rows_in(self, sql: str, values: Sequence[object], *params: object) -> list:
        """The rows of `sql`, whose `{marks}` is an IN list of `values`, read 500 values at a
        time (SQLite limits the parameters of a statement); `params` bind before the list."""

        def fetch() -> list:
            rows = []
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows += self._db.execute(sql.format(marks=marks), (*params, *chunk)).fetchall()
            return rows

        return self._read(fetch)

    # -- vectors

    def put_vectors(self, embed_key: str, items: Sequence[tuple[str, np.ndarray]]) -> None:
        """Store float32 vectors (kept as int8 with a scale: pack_vector). A body that has a
        vector of this model keeps it: hnswlib holds it under its id, and a changed vector
        there would differ from the one a reopen puts back."""
        with self.transaction():
            # Not INSERT OR IGNORE/REPLACE: REPLACE deletes without firing the tallies' delete
            # trigger, and would count a replaced vector twice.
            self._db.executemany(
                "INSERT INTO vectors (body_hash, embed_key, vector) VALUES (?, ?, ?) "
                "ON CONFLICT (body_hash, embed_key) DO NOTHING",
                [(body_hash, embed_key, pack_vector(v)) for body_hash, v in items],
            )
            if embed_key == self._meta_get("embed_key"):
                self._db.executemany(
                    "UPDATE symbols SET embedded = 1 WHERE body_hash = ? AND embedded = 0",
                    [(body_hash,) for body_hash, _ in items],
                )

    def vectors_for(self, embed_key: str, body_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        rows = self._rows_in(
            "SELECT body_hash, vector FROM vectors WHERE embed_key = ? AND body_hash IN ({marks})",
            list(dict.fromkeys(body_hashes)),
            embed_key,
        )
        return {body_hash: unpack_vector(blob) for body_hash, blob in rows}

    def vector_ids(self, embed_key: str, body_hashes: Iterable[str]) -> dict[str, int]:
        """body hash -> the id of its vector of this model (its hnswlib label), where stored."""
        rows = self._rows_in(
            "SELECT body_hash, id FROM vectors WHERE embed_key = ? AND body_hash IN ({marks})",
            list(dict.fromkeys(body_hashes)),
            embed_key,
        )
        return dict(rows)

    def symbols_of_vectors(self, vector_ids: Iterable[int]) -> list[tuple[int, int]]:
        """(vector id, symbol id) for every symbol whose body has one of these vectors, by
        symbol id within a chunk of 500: copies of a function share one vector, and a search
        finds them all through it."""
        return self._rows_in(
            "SELECT v.id, s.id FROM vectors v JOIN symbols s INDEXED BY symbols_by_body "
            "ON s.body_hash = v.body_hash WHERE v.id IN ({marks}) ORDER BY s.id",
            [int(i) for i in vector_ids],
        )

    def used_vectors(self, embed_key: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, float32 vectors), by id, of this model's vectors some symbol uses."""
        ids, scales, codes = self._used_rows(embed_key)
        return ids, _dequantize(scales, codes)

    def used_codes(self, embed_key: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, int8 codes), by id, of this model's vectors some symbol uses: what the hnswlib
        index is made of (cosine needs a direction, not its scale)."""
        ids, _, codes = self._used_rows(embed_key)
        return ids, codes

    def _used_rows(self, embed_key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, scales, codes) of the vectors in use. Each distinct vector is read once
        (copies of a function share one), and whether a symbol uses it is one probe of the
        body-hash index, never a visit to the symbols' own rows (their code makes them most
        of the file)."""

        def fetch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            vector_ids: list[int] = []
            blobs: list[bytes] = []
            cursor = self._db.execute(
                "SELECT id, vector FROM vectors v WHERE embed_key = ? AND EXISTS (SELECT 1 "
                "FROM symbols s INDEXED BY symbols_by_body WHERE s.body_hash = v.body_hash) "
                "ORDER BY id",
                (embed_key,),
            )
            while batch := cursor.fetchmany(ROWS_PER_FETCH):
                for vector_id, blob in batch:
                    vector_ids.append(vector_id)
                    blobs.append(blob)
            if not blobs:
                empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
                return *empty, np.zeros((0, 0), dtype=np.int8)
            raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), -1)
            return np.array(vector_ids, dtype=np.int64), *_split_rows(raw)

        return self._read(fetch)

    def gc(self, keep_embed_key: str | None = None) -> int:
        """Drop vectors no symbol uses (and, given a key, those of other models)."""
        # No bump: the vectors hnswlib holds are those symbols use, and they all stay.
        with self.transaction(bump=False):
            removed = self._db.execute(
                "DELETE FROM vectors WHERE body_hash NOT IN (SELECT body_hash FROM symbols)"
                + (" OR embed_key != ?" if keep_embed_key else ""),
                (keep_embed_key,) if keep_embed_key else (),
            ).rowcount
            if keep_embed_key and keep_embed_key != self._meta_get("embed_key"):
                _flag_embedded(self._db)  # the index's own model lost its vectors
        self._read(lambda: self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        return removed

    # -- lexical search

    def lexical(
        self,
        words: Sequence[str],
        limit: int,
        weights: tuple[float, float, float],
        *,
        allowed_files: Sequence[int] | None = None,
        languages: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
        among: Sequence[str] | None = None,
        scored_rows: int | None = None,
    ) -> list[tuple[int, float]]:
        """(symbol id, bm25 score: higher is better) for any of these words, best first.

        FTS5 scores every matching row before it sorts, at several microseconds a row, so a
        word that a third of a million symbols hold would cost a second. Two bounds:
        - `among` (some of `words`): only the rows holding one of these are scored, by bm25
          over `among` and all `words` (so `among` counts twice, the other words once);
        - `scored_rows`: at most this many rows are scored, the first ones by id (the first
          pass gives ids to open and lately changed files first).
        """
        if not words:
            return []
        among = list(among) if among is not None else list(words)
        rest = [word for word in words if word not in among]
        match = _any_of(words)
        if rest:
            # FTS5 meets an AND by seeking each side to the other's next row, so only the rows
            # of `among` are visited and scored. (Exact bm25 over `words` alone, as
            # "words NOT (rest NOT among)", walks every row of the common words: 2x slower.)
            match = f"({_any_of(among)}) AND ({match})"
        where = ["symbols_fts MATCH ?"]
        params: list[object] = [*weights, match]
        if scored_rows is not None and sum(self.rows_with(among).values()) > scored_rows:
            last = self._read(
                lambda: self._db.execute(
                    "SELECT rowid FROM symbols_fts WHERE symbols_fts MATCH ? LIMIT 1 OFFSET ?",
                    (_any_of(among), scored_rows - 1),
                ).fetchone()
            )
            if last is not None:  # walking the matches in id order costs no scoring
                where.append("rowid <= ?")
                params.append(last[0])
        if allowed_files is not None or languages or kinds:
            sub = []
            if allowed_files is not None:
                sub.append(f"file_id IN ({','.join('?' * len(allowed_files))})")
                params.extend(allowed_files)
            if languages:
                sub.append(f"language IN ({','.join('?' * len(languages))})")
                params.extend(languages)
            if kinds:
                sub.append(f"kind IN ({','.join('?' * len(kinds))})")
                params.extend(kinds)
            where.append(f"rowid IN (SELECT id FROM symbols WHERE {' AND '.join(sub)})")
        params.append(limit)
        sql = (
            "SELECT rowid, bm25(symbols_fts, ?, ?, ?) AS rank FROM symbols_fts "
            f"WHERE {' AND '.join(where)} ORDER BY rank LIMIT ?"
        )
        rows = self._read(lambda: self._db.execute(sql, params).fetchall())
        return [(row[0], -row[1]) for row in rows]

    def filtered_ids(
        self,
        embed_key: str,
        allowed_files: Sequence[int] | None,
        languages: Sequence[str] | None,
        kinds: Sequence[str] | None,
    ) -> dict[int, int | None]:
        """symbol id -> the id of its vector of this model (None: not embedded yet), for every
        symbol that passes the filters."""
        sub = ["1"]
        params: list[object] = [embed_key]
        if allowed_files is not None:
            sub.append(f"s.file_id IN ({','.join('?' * len(allowed_files))})")
            params.extend(allowed_files)
        if languages:
            sub.append(f"s.language IN ({','.join('?' * len(languages))})")
            params.extend(languages)
        if kinds:
            sub.append(f"s.kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        rows = self._read(
            lambda: self._db.execute(
                "SELECT s.id, v.id FROM symbols s LEFT JOIN vectors v "
                "ON v.body_hash = s.body_hash AND v.embed_key = ? "
                f"WHERE {' AND '.join(sub)}",
                params,
            ).fetchall()
        )
        return dict(rows)

    def symbol_ids_in(self, rels: Iterable[str]) -> set[int]:
        """The stored symbols of these files (an unsaved buffer hides them from searches)."""
        rels = list(rels)
        if not rels:
            return set()
        marks = ",".join("?" * len(rels))
        rows = self._read(
            lambda: self._db.execute(
                "SELECT s.id FROM symbols s JOIN files f ON f.id = s.file_id "
                f"WHERE f.rel IN ({marks})",
                rels,
            ).fetchall()
        )
        return {row[0] for row in rows}

    def lexical_stats(self, words: Sequence[str]) -> LexicalStats:
        """bm25's figures for these (unstemmed) words, as FTS5's own bm25() reads them."""

        def fetch() -> LexicalStats:
            db = self._db
            # FTS5's "averages" record (rowid 1 of its data table): the row count, then each
            # column's total number of words, as SQLite varints (fts5_storage.c).
            row = db.execute("SELECT block FROM symbols_fts_data WHERE id = 1").fetchone()
            totals = _varints(row[0]) if row and row[0] else [0]
            rows_with = {word: self._count_rows_with(word) for word in dict.fromkeys(words)}
            rows = totals[0]
            return LexicalStats(rows, sum(totals[1:]) / rows if rows else 0.0, rows_with)

        return self._read(fetch)

    def rows_with(self, words: Sequence[str]) -> dict[str, int]:
        """How many symbols hold each of these (unstemmed) words, roughly: counted once, then
        kept until the number of symbols has moved by a FREQUENCIES_DRIFT fraction. Which
        words a search can afford to score (search.affordable_words) needs them at every
        query, and counting a common word walks every row that holds it."""

        def fetch() -> dict[str, int]:
            symbols = self._db.execute("SELECT n FROM tallies WHERE name = 'symbols'").fetchone()
            count = symbols[0] if symbols else 0
            drift = abs(count - self._frequencies_at) > self._frequencies_at * FREQUENCIES_DRIFT
            if drift or len(self._frequencies) > FREQUENCIES_KEPT:
                self._frequencies, self._frequencies_at = {}, count
            for word in words:
                if word not in self._frequencies:
                    self._frequencies[word] = self._count_rows_with(word)
            return {word: self._frequencies[word] for word in words}

        return self._read(fetch)

    def _count_rows_with(self, word: str) -> int:
        # Walks the word's row list without scoring it: ~25x cheaper a row than bm25.
        return self._db.execute(
            "SELECT count(*) FROM symbols_fts WHERE symbols_fts MATCH ?", (f'"{word}"',)
        ).fetchone()[0]

    # -- the vector cache as a whole (cache export, gc)

    def vector_keys(self) -> dict[str, int]:
        """embed key -> how many vectors are stored under it."""
        rows = self._read(
            lambda: self._db.execute(
                "SELECT embed_key, count(*) FROM vectors GROUP BY embed_key"
            ).fetchall()
        )
        return dict(rows)

    def vector_hashes(self, embed_key: str) -> list[str]:
        """The body hashes that have a vector under `embed_key` (read them with vectors_for)."""
        rows = self._read(
            lambda: self._db.execute(
                "SELECT body_hash FROM vectors WHERE embed_key = ? ORDER BY body_hash",
                (embed_key,),
            ).fetchall()
        )
        return [row[0] for row in rows]

    def compact(self) -> None:
        """Give the space of deleted rows back to the file system (VACUUM): deleting alone
        leaves free pages inside the file."""
        with self._lock:
            try:
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError as error:
                raise self._corrupt(error) from None


def _varints(data: bytes) -> list[int]:
    """SQLite's varints: big-endian 7-bit groups, high bit set on all but the last; the ninth
    byte, when there is one, carries 8 bits."""
    out: list[int] = []
    i = 0
    while i < len(data):
        value = 0
        for n in range(9):
            byte = data[i]
            i += 1
            if n == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        out.append(value)
    return out


def _any_of(words: Sequence[str]) -> str:
    """An FTS5 query for rows holding any of these words (quoted: no word is an operator)."""
    return " OR ".join(f'"{word}"' for word in words)


def _words(symbol_id: int, qualified_name: str, doc: str, code: str) -> tuple:
    return (
        symbol_id,
        " ".join(identifier_words(qualified_name)),
        " ".join(identifier_words(doc)),
        " ".join(identifier_words(code)),
    )


def _index_words(
    db: sqlite3.Connection, symbol_id: int, qualified_name: str, doc: str, code: str
) -> None:
    db.execute(
        "INSERT INTO symbols_fts (rowid, names, doc, code) VALUES (?, ?, ?, ?)",
        _words(symbol_id, qualified_name, doc, code),
    )


def _forget_words(
    db: sqlite3.Connection, symbol_id: int, qualified_name: str, doc: str, code: str
) -> None:
    # The lexical index keeps no copy of the words (contentless, schema v5): removing a row
    # means handing FTS5 the very words it indexed, which identifier_words makes again from
    # the stored symbol. A change to identifier_words must therefore come with a migration
    # that rebuilds the lexical index, as v4 did.
    db.execute(
        "INSERT INTO symbols_fts (symbols_fts, rowid, names, doc, code) "
        "VALUES ('delete', ?, ?, ?, ?)",
        _words(symbol_id, qualified_name, doc, code),
    )


def _add_lexical_index(db: sqlite3.Connection) -> None:
    # v2: the words of every symbol in an FTS5 table (bm25), filled from the symbols already
    # stored so an upgraded index searches lexically without re-parsing anything.
    db.execute("CREATE VIRTUAL TABLE symbols_fts USING fts5(names, doc, code)")
    for row in db.execute("SELECT id, qualified_name, doc, code FROM symbols").fetchall():
        _index_words(db, *row)


def _vectors_in_a_rowid_table(db: sqlite3.Connection) -> None:
    # v3: a WITHOUT ROWID table keeps whole rows in its key b-tree, where a 1.5 KB vector
    # spills to an overflow page each (measured: 4.6 KB on disk per vector). A rowid table
    # keeps it inline (~1.7 KB); the unique index still finds it by (body hash, embed key).
    db.execute(
        "CREATE TABLE vectors_v3 (id INTEGER PRIMARY KEY, body_hash TEXT NOT NULL, "
        "embed_key TEXT NOT NULL, vector BLOB NOT NULL)"
    )
    db.execute(
        "INSERT INTO vectors_v3 (body_hash, embed_key, vector) "
        "SELECT body_hash, embed_key, vector FROM vectors"
    )
    db.execute("DROP TABLE vectors")
    db.execute("ALTER TABLE vectors_v3 RENAME TO vectors")
    db.execute("CREATE UNIQUE INDEX vectors_by_key ON vectors(body_hash, embed_key)")


def _stemmed_lexical_index(db: sqlite3.Connection) -> None:
    # v4: the words stemmed (FTS5's porter tokenizer over unicode61), so "pads" finds
    # `padEnd` and "settings" finds `merge_setting`; measured on bench/quality, lexical and
    # hybrid MRR@10 rose on three corpora of four (level on the fourth). Rebuilt from the
    # stored symbols.
    db.execute("DROP TABLE symbols_fts")
    db.execute(
        "CREATE VIRTUAL TABLE symbols_fts USING fts5(names, doc, code, "
        "tokenize = 'porter unicode61')"
    )
    for row in db.execute("SELECT id, qualified_name, doc, code FROM symbols").fetchall():
        _index_words(db, *row)


_TALLY_TRIGGERS = """
CREATE TRIGGER files_added AFTER INSERT ON files
BEGIN UPDATE tallies SET n = n + 1 WHERE name = 'files'; END;
CREATE TRIGGER files_removed AFTER DELETE ON files
BEGIN UPDATE tallies SET n = n - 1 WHERE name = 'files'; END;
CREATE TRIGGER symbols_added AFTER INSERT ON symbols
BEGIN UPDATE tallies SET n = n + 1 WHERE name = 'symbols'; END;
CREATE TRIGGER symbols_removed AFTER DELETE ON symbols
BEGIN UPDATE tallies SET n = n - 1 WHERE name = 'symbols'; END;
CREATE TRIGGER vectors_added AFTER INSERT ON vectors
BEGIN
    INSERT INTO tallies VALUES ('vectors ' || new.embed_key, 1)
    ON CONFLICT (name) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER vectors_removed AFTER DELETE ON vectors
BEGIN UPDATE tallies SET n = n - 1 WHERE name = 'vectors ' || old.embed_key; END;
"""


def _compact_storage(db: sqlite3.Connection) -> None:
    # v5: a large index in a third of the bytes, and counts that cost nothing (measured by
    # bench/scale_bench.py). Nothing is re-embedded: the stored vectors are converted.
    # - vectors as int8 with a per-vector scale (pack_vector), a quarter of float32;
    for row_id, blob in db.execute("SELECT id, vector FROM vectors").fetchall():
        vector = np.frombuffer(blob, dtype=np.float32)
        db.execute("UPDATE vectors SET vector = ? WHERE id = ?", (pack_vector(vector), row_id))
    # - code compressed (_pack_code);
    for symbol_id, code in db.execute("SELECT id, code FROM symbols").fetchall():
        db.execute("UPDATE symbols SET code = ? WHERE id = ?", (_pack_code(code), symbol_id))
    # - a contentless lexical index: FTS5 kept a second copy of every symbol's words;
    db.execute("DROP TABLE symbols_fts")
    db.execute(
        "CREATE VIRTUAL TABLE symbols_fts USING fts5(names, doc, code, content = '', "
        "tokenize = 'porter unicode61')"
    )
    for symbol_id, qualified_name, doc, code in db.execute(
        "SELECT id, qualified_name, doc, code FROM symbols"
    ).fetchall():
        _index_words(db, symbol_id, qualified_name, doc, _unpack_code(code))
    # - each symbol flagged when its body has a vector of the index's model, the unflagged in
    #   a partial index: what is still waiting is counted without walking every symbol;
    db.execute("ALTER TABLE symbols ADD COLUMN embedded INTEGER NOT NULL DEFAULT 0")
    _flag_embedded(db)
    db.execute("CREATE INDEX symbols_waiting ON symbols(file_id) WHERE embedded = 0")
    # - files, symbols and vectors counted by triggers as rows come and go.
    db.execute("CREATE TABLE tallies (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
    db.execute(
        "INSERT INTO tallies SELECT 'files', count(*) FROM files UNION ALL "
        "SELECT 'symbols', count(*) FROM symbols UNION ALL "
        "SELECT 'vectors ' || embed_key, count(*) FROM vectors GROUP BY embed_key"
    )
    _add_tally_triggers(db)


def _add_tally_triggers(db: sqlite3.Connection, table: str | None = None) -> None:
    """Create the tallies' triggers (of `table` only, given one: a table made again)."""
    for statement in _TALLY_TRIGGERS.split("END;"):
        if statement.strip() and (table is None or f"ON {table}\n" in statement):
            db.execute(statement + "END;")


def _flag_embedded(db: sqlite3.Connection) -> None:
    """Flag every symbol by whether the index's model has a vector for it (walks them all:
    at migration and when the model changes)."""
    db.execute(
        "UPDATE symbols SET embedded = EXISTS (SELECT 1 FROM vectors v "
        "WHERE v.body_hash = symbols.body_hash "
        "AND v.embed_key = (SELECT value FROM meta WHERE key = 'embed_key'))"
    )


def _vector_ids_never_reused(db: sqlite3.Connection) -> None:
    # v6: a vector id is an hnswlib label (one element per distinct vector), and a label must
    # never come back after it was deleted, as for symbols: AUTOINCREMENT. Ids are kept.
    db.execute(
        "CREATE TABLE vectors_v6 (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "body_hash TEXT NOT NULL, embed_key TEXT NOT NULL, vector BLOB NOT NULL)"
    )
    db.execute("INSERT INTO vectors_v6 SELECT id, body_hash, embed_key, vector FROM vectors")
    db.execute("DROP TABLE vectors")  # its index and triggers go with it
    db.execute("ALTER TABLE vectors_v6 RENAME TO vectors")
    db.execute("CREATE UNIQUE INDEX vectors_by_key ON vectors(body_hash, embed_key)")
    _add_tally_triggers(db, "vectors")


# schema version -> the step that upgrades the version before it; run in order, in the same
# transaction as the version bump, so a crash mid-migration leaves the old schema intact.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    2: _add_lexical_index,
    3: _vectors_in_a_rowid_table,
    4: _stemmed_lexical_index,
    5: _compact_storage,
    6: _vector_ids_never_reused,
}


def _split_sql(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]

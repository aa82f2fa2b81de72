"""Vector cache files: a root's vectors in one portable SQLite file, and a folder of them.

A vector depends only on the model, the document form and the symbol's code, so vectors
computed once (by CI, by a colleague) serve every clone of that code: `findcode cache export`
writes them keyed by body hash alone, with no path and no code in the file, and
`findcode cache import` merges them into a root's index, which then embeds only what the file
did not cover. The `cacheDir` setting names a read-only folder of such files (a network drive,
a CI artifact) that the indexer consults before embedding, without copying the files.

A file holds the vectors of one embed key (model id + document form): another model's vectors
are not merely worse, they live in another space, so a mismatched file is refused whole.
Vectors are read and written through the store's public methods only, whatever form the store
keeps them in; the file keeps float32 (2.1 KB a vector on disk at 384 dimensions).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from findcode.errors import FindcodeError
from findcode.store import Store

FORMAT = "findcode-vector-cache"
FORMAT_VERSION = 1
SUFFIX = ".sqlite"  # what the indexer reads from a cacheDir folder
# Hashes and vectors, no path and no code: shareable with whoever may read the code.
FILE_MODE = 0o644
# Vectors per read or write: memory stays bounded at any size of file.
CHUNK = 2000
_LOOKUP_CHUNK = 500  # hashes per IN (...) query, below SQLite's variable limit

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # A rowid table keeps a 1.5 KB vector inline, where WITHOUT ROWID spills it to an overflow
    # page (store.py's v3 migration measured 4.6 KB against 1.7 KB a vector).
    "CREATE TABLE vectors (body_hash TEXT PRIMARY KEY, vector BLOB NOT NULL)",
)


class CacheFileError(FindcodeError):
    """A vector cache file that cannot be used: missing, not one, damaged, of another model."""


@dataclass(frozen=True, slots=True)
class CacheInfo:
    path: Path
    embed_key: str
    dims: int
    created: str
    count: int


def describe(embed_key: str) -> str:
    """'model M (document form d1)' for the embed key 'M/d1'."""
    model, _, form = embed_key.rpartition("/")
    return f"model {model} (document form {form})" if model else f"model {embed_key}"


def export_vectors(store: Store, embed_key: str, dest: Path) -> CacheInfo:
    """Write every vector `store` holds under `embed_key` to `dest`, atomically (a temporary
    file renamed over it): a reader never sees half a file."""
    hashes = store.vector_hashes(embed_key)
    if not hashes:
        raise CacheFileError(
            f"the index holds no vectors of {describe(embed_key)}: run `findcode index` first"
        )
    dest = Path(dest)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    except OSError as error:
        raise CacheFileError(f"cannot write {dest}: {error.strerror}") from None
    os.close(fd)
    temp = Path(name)
    try:
        info = _write(temp, store, embed_key, hashes)
        temp.chmod(FILE_MODE)
        os.replace(temp, dest)
    except (OSError, sqlite3.Error) as error:
        detail = error.strerror if isinstance(error, OSError) else error
        raise CacheFileError(f"cannot write {dest}: {detail}") from None
    finally:
        temp.unlink(missing_ok=True)
    return CacheInfo(dest, info.embed_key, info.dims, info.created, info.count)


def _write(path: Path, store: Store, embed_key: str, hashes: list[str]) -> CacheInfo:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        for statement in _SCHEMA:
            db.execute(statement)
        dims = 0
        for start in range(0, len(hashes), CHUNK):
            found = store.vectors_for(embed_key, hashes[start : start + CHUNK])
            rows = [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in found.items()]
            dims = dims or (len(rows[0][1]) // 4 if rows else 0)
            db.executemany("INSERT INTO vectors VALUES (?, ?)", rows)
        count = db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        info = CacheInfo(path, embed_key, dims, created, count)
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("format", FORMAT),
                ("format_version", str(FORMAT_VERSION)),
                ("embed_key", embed_key),
                ("model", embed_key.rpartition("/")[0]),
                ("dims", str(dims)),
                ("created", created),
                ("count", str(count)),
            ],
        )
        db.execute("COMMIT")
    finally:
        db.close()
    return info


def read_info(path: Path) -> CacheInfo:
    """What a cache file holds, from its meta table; CacheFileError if it is not one."""
    with contextlib.closing(_connect(path)) as db:
        return _info(Path(path), db)


def import_vectors(store: Store, embed_key: str, source: Path) -> tuple[CacheInfo, int]:
    """Merge the vectors of `source` into `store`: (the file's info, vectors added).

    Vectors the store already has are left as they are. A file made with another model, or
    damaged anywhere, is refused before anything is written.
    """
    source = Path(source)
    with contextlib.closing(_connect(source)) as db:
        info = _info(source, db)
        if info.embed_key != embed_key:
            raise CacheFileError(
                f"{source} was made with {describe(info.embed_key)}; findcode runs "
                f"{describe(embed_key)}: nothing imported"
            )
        _validate(source, db, info)
        added = 0
        try:
            for rows in _chunks(db):
                have = store.vectors_for(embed_key, [h for h, _ in rows])
                new = [(h, np.frombuffer(b, dtype=np.float32)) for h, b in rows if h not in have]
                if new:
                    store.put_vectors(embed_key, new)
                    added += len(new)
        except sqlite3.DatabaseError as error:  # changed under us since it was checked
            raise CacheFileError(f"{source} became unreadable while importing: {error}") from None
    return info, added


def _connect(path: Path) -> sqlite3.Connection:
    path = Path(path)
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise CacheFileError(f"{path} {what}")
    try:
        # mode=ro: a shared folder may be read-only, and a cache file is never written here.
        return sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
    except sqlite3.Error as error:
        raise CacheFileError(f"cannot open {path}: {error}") from None


def _not_a_cache(path: Path, detail: str) -> CacheFileError:
    return CacheFileError(
        f"{path} is not a findcode vector cache ({detail}); make one with `findcode cache export`"
    )


def _info(path: Path, db: sqlite3.Connection) -> CacheInfo:
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as error:
        raise CacheFileError(
            f"{path} cannot be read as a findcode vector cache ({error}): it is damaged or "
            "not one; make one with `findcode cache export`"
        ) from None
    if meta.get("format") != FORMAT:
        raise _not_a_cache(path, "no findcode cache header")
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise CacheFileError(
            f"{path} is a vector cache of format {meta.get('format_version')!r}; this findcode "
            f"reads format {FORMAT_VERSION}: export it again with this version"
        )
    try:
        return CacheInfo(
            path, meta["embed_key"], int(meta["dims"]), meta.get("created", ""), int(meta["count"])
        )
    except (KeyError, ValueError) as error:
        raise _not_a_cache(path, f"bad header field {error}") from None


def _validate(path: Path, db: sqlite3.Connection, info: CacheInfo) -> None:
    """Every page readable, every vector of the header's size, as many as the header says."""
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check") if row[0] != "ok"]
        count, wrong = db.execute(
            "SELECT count(*), coalesce(sum(typeof(vector) != 'blob' OR length(vector) != ?), 0) "
            "FROM vectors",
            (info.dims * 4,),
        ).fetchone()
    except sqlite3.DatabaseError as error:
        problems, count, wrong = [str(error)], 0, 0
    if problems:
        raise CacheFileError(f"{path} is damaged ({problems[0]}): nothing imported")
    if wrong or count != info.count or info.dims <= 0:
        raise CacheFileError(
            f"{path} is damaged ({count} vectors where its header says {info.count}, {wrong} "
            f"not of {info.dims} dimensions): nothing imported"
        )


def _chunks(db: sqlite3.Connection) -> Iterator[list[tuple[str, bytes]]]:
    last = 0
    while True:
        rows = db.execute(
            "SELECT rowid, body_hash, vector FROM vectors WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (last, CHUNK),
        ).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield [(h, bytes(b)) for _, h, b in rows]


class SharedCache:
    """The `cacheDir` folder: its cache files of this embed key, consulted before embedding.

    The folder is listed and its files opened once per indexing pass (`close` ends the pass;
    a file added meanwhile counts from the next one), read-only. Files of other models are
    passed over quietly (a CI may export several); an unreadable folder or file is told once
    and indexing goes on without it.
    """

    def __init__(self, folder: Path, embed_key: str, warn: Callable[[str], None]) -> None:
        self.folder = Path(folder).expanduser()
        self.embed_key = embed_key
        self._warn = warn
        self._warned: set[Path] = set()
        self._files: list[tuple[Path, sqlite3.Connection, int]] | None = None

    def lookup(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """The vectors the folder's files hold for these body hashes."""
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, np.ndarray] = {}
        if not wanted:
            return found
        for path, db, dims in list(self._open()):
            todo = [h for h in wanted if h not in found]
            if not todo:
                break
            try:
                for start in range(0, len(todo), _LOOKUP_CHUNK):
                    chunk = todo[start : start + _LOOKUP_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    for body_hash, blob in db.execute(
                        f"SELECT body_hash, vector FROM vectors WHERE body_hash IN ({marks})",
                        chunk,
                    ):
                        if isinstance(blob, bytes) and len(blob) == dims * 4:
                            found[body_hash] = np.frombuffer(blob, dtype=np.float32)
            except sqlite3.DatabaseError as error:
                self._tell(path, f"the cache file {path} is unreadable ({error}); skipping it")
                self._drop(path)
        return found

    def close(self) -> None:
        """End of a pass: close the files; the next lookup lists the folder again."""
        for _, db, _ in self._files or ():
            db.close()
        self._files = None

    def _open(self) -> list[tuple[Path, sqlite3.Connection, int]]:
        if self._files is not None:
            return self._files
        self._files = []
        try:
            paths = sorted(p for p in self.folder.iterdir() if p.suffix == SUFFIX)
        except OSError as error:
            self._tell(
                self.folder,
                f"cannot read the cacheDir folder {self.folder} ({error.strerror}); "
                "indexing goes on without it",
            )
            return self._files
        for path in paths:
            try:
                db = _connect(path)
            except CacheFileError as error:
                self._tell(path, f"{error}; skipping it")
                continue
            try:
                info = _info(path, db)
            except CacheFileError as error:
                db.close()
                self._tell(path, f"{error}; skipping it")
                continue
            if info.embed_key == self.embed_key:
                self._files.append((path, db, info.dims))
            else:
                db.close()
        return self._files

    def _drop(self, path: Path) -> None:
        kept = []
        for entry in self._files or ():
            if entry[0] == path:
                entry[1].close()
            else:
                kept.append(entry)
        self._files = kept

    def _tell(self, key: Path, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._warn(message)

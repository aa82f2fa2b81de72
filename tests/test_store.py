"""The SQLite store: identifier words, id reuse, atomic writes, the vector cache, migrations,
and a corrupt file that asks for `findcode reindex`; on disk: owner-only modes, a folder that
cannot be made or written, damaged pages, and the writer lease between processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from findcode import store as store_module
from findcode.errors import IndexAccessError, IndexCorruptError
from findcode.search import affordable_words
from findcode.store import SCHEMA_VERSION, Store, identifier_words
from findcode.symbols import extract_symbols
from index_support import immutable

KEY = "model-a/d1"
WEIGHTS = (10.0, 2.0, 1.0)

SOURCE = '''
def parse_http_header(line):
    """Split a raw header line."""
    return line.split(":", 1)


def retryRequest(url, attempts=3):
    return url * attempts


class TokenBucket:
    def take(self):
        return 1
'''


def symbols(text: str = SOURCE, rel: str = "net/client.py"):
    return extract_symbols(rel, text)


def put(store: Store, rel: str = "net/client.py", text: str = SOURCE):
    return store.replace_file(
        rel, size=len(text), mtime_ns=1, content_hash=str(hash(text)), language="python",
        symbols=symbols(text, rel),
    )  # fmt: skip


def test_identifier_words_split_snake_camel_and_digits():
    assert identifier_words("parseHTTPHeader2") == [
        "parse",
        "http",
        "header",
        "2",
        "parsehttpheader2",
    ]
    assert identifier_words("retry_count") == ["retry", "count", "retrycount"]
    assert identifier_words("sha256 x") == ["sha", "256", "sha256", "x"]
    assert identifier_words("Class.method") == ["class", "method"]
    assert identifier_words("-- ¿? --") == []


def test_replace_file_keeps_ids_of_unchanged_symbols(tmp_path):
    store = Store(tmp_path)
    first = put(store)
    assert first.removed_ids == [] and len(first.added) == 4
    ids = {h: i for i, h in first.added}
    edited = SOURCE.replace("return url * attempts", "return url * (attempts + 1)")
    second = put(store, text="\n\n" + edited)  # moved down two lines, one body changed
    assert len(second.added) == 1 and len(second.removed_ids) == 1
    assert second.removed_ids[0] == ids[symbols()[1].body_hash]
    (bucket,) = store.symbols_at("net/client.py", 14)[-1:]
    assert bucket.qualified_name == "TokenBucket" and bucket.id == ids[symbols()[2].body_hash]
    assert bucket.start_line == 13  # position updated in place
    assert store.counts(KEY) == {"files": 1, "symbols": 4, "vectors": 0, "pending": 4}


def test_lexical_finds_split_words_and_forgets_removed_files(tmp_path):
    store = Store(tmp_path)
    put(store)
    found = store.lexical(["retry", "request"], 5, WEIGHTS)
    names = store.symbols(i for i, _ in found)
    assert names[found[0][0]].qualified_name == "retryRequest"
    assert store.lexical(["header"], 5, WEIGHTS, kinds=["class"]) == []
    removed = store.remove_file("net/client.py")
    assert len(removed.removed_ids) == 4 and len(removed.unused_hashes) == 4
    assert store.lexical(["retry", "header", "bucket"], 5, WEIGHTS) == []
    assert store.counts(KEY)["symbols"] == 0


def put_functions(store: Store, word: str, first: int, count: int) -> None:
    """Files jobs/<word>_<n>.py, each one function holding `word` in its name and code."""
    for n in range(first, first + count):
        text = f"def {word}_job_{n}(job):\n    return job.{word}({n})\n"
        put(store, f"jobs/{word}_{n}.py", text)


def test_a_common_word_beside_a_rare_one_scores_only_the_rare_ones_symbols(tmp_path):
    store = Store(tmp_path)
    put_functions(store, "handle", 0, 30)
    put_functions(store, "run", 0, 50)
    put(store, "jobs/zeppelin.py", "def handle_zeppelin(job):\n    return job.moor()\n")
    put(store, "jobs/moor.py", "def moor_zeppelin(airship):\n    return airship.moor()\n")
    budget = 20  # rows bm25 may score: "handle" (31 rows) is a common word here
    words = ["handle", "zeppelin"]
    chosen = affordable_words(words, store.rows_with(words), budget)
    assert chosen == ["zeppelin"]
    found = store.lexical(words, 5, WEIGHTS, among=chosen, scored_rows=budget)
    rows = store.symbols(i for i, _ in found)
    # Only the symbols holding the rare word, scored by both words: the common word counts.
    assert [rows[i].qualified_name for i, _ in found] == ["handle_zeppelin", "moor_zeppelin"]
    rare_only = dict(store.lexical(chosen, 5, WEIGHTS))
    assert rare_only[found[0][0]] == rare_only[found[1][0]]  # the rare word alone ties them
    # Scoring both words within the same budget reads only the first rows holding either,
    # and the rare word's symbols (stored last) are not among them.
    both = store.lexical(words, 5, WEIGHTS, scored_rows=budget)
    assert not {i for i, _ in found} & {i for i, _ in both}
    # Common words alone still answer: the best of the first `budget` symbols holding them.
    found = store.lexical(["handle"], 5, WEIGHTS, scored_rows=budget)
    rows = store.symbols(i for i, _ in found)
    assert len(found) == 5 and all("handle" in rows[i].code for i, _ in found)
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)


def test_word_counts_are_kept_until_the_index_grows_by_an_eighth(tmp_path):
    store = Store(tmp_path)
    put_functions(store, "handle", 0, 40)
    assert store.rows_with(["handle", "job"]) == {"handle": 40, "job": 40}
    put_functions(store, "handle", 40, 5)  # 45 symbols: within an eighth of 40
    assert store.rows_with(["handle"]) == {"handle": 40}
    assert store.rows_with(["moor"]) == {"moor": 0}  # a new word is counted now
    put_functions(store, "handle", 45, 1)  # 46: past it, every word is counted again
    assert store.rows_with(["handle"]) == {"handle": 46}


def test_failed_transaction_writes_nothing(tmp_path):
    store = Store(tmp_path)
    put(store)
    generation = store.generation
    with pytest.raises(RuntimeError), store.transaction():
        store._delete_symbols([i for i, _ in store.lexical(["retry"], 5, WEIGHTS)])
        raise RuntimeError("crash in the middle")
    assert store.generation == generation
    assert store.counts(KEY)["symbols"] == 4
    assert store.lexical(["retry"], 5, WEIGHTS)


def test_generation_counts_only_changes_that_move_vectors(tmp_path):
    store = Store(tmp_path)
    g0 = store.generation
    put(store)
    assert store.generation == g0 + 1
    row = store.file("net/client.py")
    store.touch_file(row.id, 99, 2)
    store.gc(KEY)
    assert store.generation == g0 + 1
    assert store.file("net/client.py").mtime_ns == 2


def test_vector_cache_by_body_hash_and_model(tmp_path, monkeypatch):
    store = Store(tmp_path)
    put(store)
    pending = store.pending(KEY, 10)
    assert len(pending) == 4
    vectors = {row.body_hash: np.full(3, n, dtype=np.float32) for n, row in enumerate(pending)}
    store.put_vectors(KEY, list(vectors.items())[:3])
    assert len(store.pending(KEY, 10)) == 1
    assert len(store.pending("model-b/d1", 10)) == 4  # another model: nothing cached
    cached = store.vectors_for(KEY, vectors)
    assert set(cached) == set(list(vectors)[:3])
    # Stored as int8 with a scale: equal up to 1/254 of the largest component.
    assert np.allclose(cached[pending[1].body_hash], vectors[pending[1].body_hash], atol=1e-6)
    ids, data = store.used_vectors(KEY)
    assert len(ids) == 3 and data.shape == (3, 3)
    labels = store.vector_ids(KEY, vectors)
    assert sorted(labels.values()) == list(ids) and len(labels) == 3
    # What the vector index is made of: the same rows, as their int8 codes.
    code_ids, codes = store.used_codes(KEY)
    assert np.array_equal(code_ids, ids) and codes.dtype == np.int8
    assert np.allclose(codes / 127 * np.abs(data).max(axis=1, keepdims=True), data, atol=1e-6)
    # The same code in a second file shares the cached vectors: still three, for six symbols.
    put(store, rel="copy/client.py")
    again_ids, again = store.used_vectors(KEY)
    assert np.array_equal(again_ids, ids) and np.array_equal(again, data)
    users = store.symbols_of_vectors(ids)
    assert len(users) == 6 and {label for label, _ in users} == set(ids.tolist())
    monkeypatch.setattr(store_module, "ROWS_PER_FETCH", 2)  # read in batches: the same rows
    batched_ids, batched = store.used_vectors(KEY)
    assert np.array_equal(batched_ids, ids) and np.array_equal(batched, data)
    store.put_vectors("model-b/d1", [(pending[0].body_hash, np.ones(3, dtype=np.float32))])
    assert np.array_equal(store.used_vectors(KEY)[0], ids)  # no other model's
    # A vector no symbol uses is not read, though kept (for the code to come back).
    assert store.remove_file("net/client.py").unused_hashes == []  # the copy has them all
    change = store.remove_file("copy/client.py")
    assert set(change.unused_hashes) == {row.body_hash for row in pending}
    assert len(store.used_vectors(KEY)[0]) == 0 and store.counts(KEY)["vectors"] == 3
    assert store.gc(KEY) == 4  # three unused under KEY, one of another model
    assert store.counts(KEY)["vectors"] == 0


def test_pending_reads_given_files_or_ids_above_a_cursor(tmp_path):
    store = Store(tmp_path)
    put(store, rel="a.py")
    other = SOURCE.replace("attempts", "tries").replace("Split", "Cut").replace("1\n", "2\n")
    put(store, rel="b.py", text=other)
    b_id = store.file("b.py").id
    saved = store.pending(KEY, 100, file_ids=[b_id])
    assert {row.rel for row in saved} == {"b.py"} and len(saved) == 4
    everything = store.pending(KEY, 100)
    assert len(everything) == len({row.body_hash for row in everything}) == 8
    ids = [row.id for row in everything]
    assert ids == sorted(ids)
    later = store.pending(KEY, 100, after_id=ids[3])
    assert [row.id for row in later] == ids[4:]


def test_a_version_1_index_is_migrated_not_dropped(tmp_path):
    db = sqlite3.connect(tmp_path / store_module.DB_NAME)
    db.executescript(store_module._SCHEMA_V1)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('generation', '7')")
    db.execute("INSERT INTO files VALUES (1, 'a.py', 1, 1, 'h', 'python')")
    db.execute(
        "INSERT INTO symbols (id, file_id, language, kind, name, qualified_name, start_line, "
        "start_col, end_line, end_col, signature, doc, code, body_hash) VALUES "
        "(5, 1, 'python', 'function', 'loadConfig', 'loadConfig', 1, 1, 2, 1, 'def f', "
        "'Read the settings file.', 'def loadConfig(): pass', 'b')"
    )
    db.commit()
    db.close()
    db = sqlite3.connect(tmp_path / store_module.DB_NAME)
    db.execute("INSERT INTO vectors VALUES ('b', 'k/d1', ?)", (np.ones(3, np.float32).tobytes(),))
    db.commit()
    db.close()
    store = Store(tmp_path)
    assert store.schema_version == SCHEMA_VERSION == 6
    assert store.generation == 7
    assert np.allclose(store.vectors_for("k/d1", ["b"])["b"], np.ones(3, np.float32))
    assert [i for i, _ in store.lexical(["config"], 5, WEIGHTS)] == [5]
    assert [i for i, _ in store.lexical(["settings"], 5, WEIGHTS)] == [5]
    # v4 stems: "loads" and "configs" find loadConfig, "setting" its doc's "settings".
    assert [i for i, _ in store.lexical(["loads", "configs"], 5, WEIGHTS)] == [5]
    assert [i for i, _ in store.lexical(["setting"], 5, WEIGHTS)] == [5]


def test_an_index_from_a_newer_findcode_is_refused(tmp_path):
    Store(tmp_path).close()
    db = sqlite3.connect(tmp_path / store_module.DB_NAME)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(IndexCorruptError, match="newer findcode"):
        Store(tmp_path)


@pytest.mark.parametrize("content", [b"garbage" * 1000, b"SQLite format 3\x00" + b"\xff" * 5000])
def test_a_corrupt_file_asks_for_reindex(tmp_path: Path, content: bytes):
    (tmp_path / store_module.DB_NAME).write_bytes(content)
    with pytest.raises(IndexCorruptError, match="findcode reindex"):
        Store(tmp_path)


def test_missing_index_when_not_creating(tmp_path):
    with pytest.raises(IndexCorruptError, match="findcode index"):
        Store(tmp_path / "none", create=False)


# -- the index on disk: modes, folders that cannot be made, read-only, damage, the writer lease


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_folders_and_files_are_created_for_the_owner_only(tmp_path):
    directory = tmp_path / "base" / "root-abc"
    store = Store(directory)
    assert store.take_lease()
    put(store)
    wal, shm = (directory / f"{store_module.DB_NAME}-{end}" for end in ("wal", "shm"))
    assert wal.exists() and shm.exists()  # open, in WAL mode
    assert {mode(p) for p in (store.path, wal, shm, directory / store_module.LEASE_NAME)} == {0o600}
    assert mode(directory) == mode(tmp_path / "base") == 0o700
    store.close()


def test_an_older_index_made_world_readable_is_tightened(tmp_path):
    Store(tmp_path / "idx").close()
    (tmp_path / "idx").chmod(0o755)
    (tmp_path / "idx" / store_module.DB_NAME).chmod(0o644)
    Store(tmp_path / "idx").close()
    assert mode(tmp_path / "idx" / store_module.DB_NAME) == 0o600
    assert mode(tmp_path / "idx") == 0o700


@pytest.mark.parametrize(
    "where", ["a-file", "a-file/below", "/proc/findcode-index", "/proc/self/findcode-index"]
)
def test_a_folder_that_cannot_be_made_says_why(tmp_path, where):
    # Tests run as root, whom a chmod 500 folder does not stop: a file in the way and /proc
    # are folders root cannot create either.
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(IndexAccessError, match="--index-dir") as caught:
        Store(tmp_path / where / "root-abc")
    assert "a-file is a file" in str(caught.value) or "cannot create" in str(caught.value)


def test_a_read_only_folder_says_so_not_corrupt(tmp_path):
    store = Store(tmp_path / "idx")
    put(store)
    store.close()
    with immutable(tmp_path / "idx"), pytest.raises(IndexAccessError, match="read-only"):
        Store(tmp_path / "idx")
    db = tmp_path / "idx" / store_module.DB_NAME
    with immutable(db), pytest.raises(IndexAccessError, match="read-only"):
        Store(tmp_path / "idx")


def test_a_folder_in_place_of_the_database_asks_for_reindex(tmp_path):
    (tmp_path / store_module.DB_NAME).mkdir()
    with pytest.raises(IndexCorruptError, match=r"is a folder.*findcode reindex"):
        Store(tmp_path)


def big_store(directory: Path) -> Store:
    store = Store(directory)
    for n in range(60):
        put(store, rel=f"m{n}.py", text=SOURCE.replace("Split", f"Split {n}").replace("3", str(n)))
    return store


def damage_pages(path: Path, pages: int = 3) -> None:
    """Garbage over the last pages (leaves of the symbol tables, not the schema or meta)."""
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(size - pages * 4096)
        handle.write(bytes(range(256)) * 16 * pages)


def test_quick_check_finds_damaged_pages_that_open_does_not(tmp_path):
    big_store(tmp_path).close()
    damage_pages(tmp_path / store_module.DB_NAME)
    store = Store(tmp_path)  # opens: the damage is in pages opening never reads
    assert store.take_lease()  # after a clean shutdown, no check
    with pytest.raises(IndexCorruptError, match=r"damaged.*findcode reindex"):
        store.check()
    store.close()


def kill_9_holding_the_lease(directory: Path) -> None:
    code = (
        "import os, signal, sys\n"
        "from findcode.store import Store\n"
        "store = Store(sys.argv[1])\n"
        "assert store.take_lease()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    child = subprocess.run([sys.executable, "-c", code, str(directory)], capture_output=True)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()


def test_after_an_unclean_shutdown_the_next_writer_checks_the_store(tmp_path):
    big_store(tmp_path).close()
    kill_9_holding_the_lease(tmp_path)
    damage_pages(tmp_path / store_module.DB_NAME)
    store = Store(tmp_path)
    with pytest.raises(IndexCorruptError, match=r"damaged.*findcode reindex"):
        store.take_lease()
    assert not store.writer
    store.close()


def test_one_writer_at_a_time_and_a_dead_holder_blocks_nobody(tmp_path):
    first, second = Store(tmp_path), Store(tmp_path)
    assert first.take_lease() and first.writer
    assert not second.take_lease() and not second.writer
    assert second.lease_holder() == os.getpid()
    first.close()
    assert second.take_lease()
    second.close()
    kill_9_holding_the_lease(tmp_path)  # its flock dies with it
    third = Store(tmp_path)
    assert third.take_lease()
    third.close()


def test_forget_files_keeps_the_vector_cache(tmp_path):
    store = Store(tmp_path)
    put(store)
    hashes = [row.body_hash for row in store.pending(KEY, 10)]
    store.put_vectors(KEY, [(h, np.ones(3, dtype=np.float32)) for h in hashes])
    generation = store.generation
    store.forget_files()
    assert store.counts(KEY) == {"files": 0, "symbols": 0, "vectors": 4, "pending": 0}
    assert store.lexical(["retry"], 5, WEIGHTS) == []
    assert store.generation == generation + 1
    put(store)
    assert store.counts(KEY)["pending"] == 0


def _v4_store(directory: Path, vectors: dict[str, np.ndarray]) -> None:
    """An index as findcode wrote it at schema v4: float32 vectors, code as text, FTS5 with
    its own copy of the words."""
    db = sqlite3.connect(directory / store_module.DB_NAME)
    db.executescript(store_module._SCHEMA_V1)
    for target in (2, 3, 4):
        store_module._MIGRATIONS[target](db)
    db.execute(
        "INSERT INTO meta VALUES ('schema_version', '4'), ('generation', '3'), "
        f"('embed_key', '{KEY}'), ('dims', '384')"
    )
    db.execute("INSERT INTO files VALUES (1, 'net/client.py', 1, 1, 'h', 'python')")
    for n, symbol in enumerate(symbols(), 1):
        db.execute(
            "INSERT INTO symbols (id, file_id, language, kind, name, qualified_name, start_line,"
            " start_col, end_line, end_col, signature, doc, code, body_hash) "
            "VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (n, symbol.language, symbol.kind, symbol.name, symbol.qualified_name,
             symbol.start_line, symbol.start_col, symbol.end_line, symbol.end_col,
             symbol.signature, symbol.doc, symbol.code, symbol.body_hash),
        )  # fmt: skip
        store_module._index_words(db, n, symbol.qualified_name, symbol.doc, symbol.code)
    for body_hash, vector in vectors.items():
        db.execute(
            "INSERT INTO vectors (body_hash, embed_key, vector) VALUES (?, ?, ?)",
            (body_hash, KEY, vector.astype(np.float32).tobytes()),
        )
    db.commit()
    db.close()


def test_a_version_4_index_is_compacted_and_keeps_its_vectors(tmp_path):
    rng = np.random.default_rng(5)
    originals = symbols()
    # Three of the four symbols were embedded; the fourth is still waiting.
    vectors = {s.body_hash: rng.standard_normal(384).astype(np.float32) for s in originals[:3]}
    _v4_store(tmp_path, vectors)
    before = (tmp_path / store_module.DB_NAME).stat().st_size
    store = Store(tmp_path)
    assert store.schema_version == SCHEMA_VERSION == 6
    assert store.counts(KEY) == {"files": 1, "symbols": 4, "vectors": 3, "pending": 1}
    assert store.file_counts(KEY) == (0, 1)
    # Not re-embedded: converted, to within int8 rounding (cosine with the original ~1).
    for body_hash, vector in store.vectors_for(KEY, vectors).items():
        original = vectors[body_hash]
        cosine = vector @ original / np.linalg.norm(vector) / np.linalg.norm(original)
        assert cosine > 0.9999
    ids, data = store.used_vectors(KEY)
    assert len(ids) == 3 and data.shape == (3, 384)
    labels = store.vector_ids(KEY, vectors)
    rows = store.symbols([1, 2, 3, 4])
    assert [rows[n].code for n in (1, 2, 3, 4)] == [s.code for s in originals]
    assert [i for i, _ in store.lexical(["retry"], 5, WEIGHTS)] == [2]
    # The contentless lexical index forgets a removed symbol's words, and only its words.
    store.remove_file("net/client.py")
    assert store.lexical(["retry"], 5, WEIGHTS) == []
    assert store.lexical_stats(["retry"]).rows == 0
    assert store.counts(KEY) == {"files": 0, "symbols": 0, "vectors": 3, "pending": 0}
    assert sorted(labels.values()) == [1, 2, 3]  # v6 kept the vector ids (hnswlib's labels)
    store.gc(KEY)
    assert store.counts(KEY)["vectors"] == 0  # v6 put the tallies' triggers back
    # A vector id never comes back, though the largest was deleted: it is a label hnswlib
    # may still hold (deleted, for its slot).
    put(store)
    store.put_vectors(KEY, [(originals[0].body_hash, vectors[originals[0].body_hash])])
    assert store.vector_ids(KEY, [originals[0].body_hash]) == {originals[0].body_hash: 4}
    assert store.counts(KEY)["vectors"] == 1
    store.close()
    assert before > 0  # (the bytes saved are measured at scale by bench/scale_bench.py)


def _counted_the_slow_way(store: Store, key: str) -> dict[str, int]:
    db = store._db
    one = lambda sql, *args: db.execute(sql, args).fetchone()[0]  # noqa: E731
    return {
        "files": one("SELECT count(*) FROM files"),
        "symbols": one("SELECT count(*) FROM symbols"),
        "vectors": one("SELECT count(*) FROM vectors WHERE embed_key = ?", key),
        "pending": one(
            "SELECT count(*) FROM symbols s WHERE NOT EXISTS (SELECT 1 FROM vectors v "
            "WHERE v.body_hash = s.body_hash AND v.embed_key = ?)",
            key,
        ),
    }


def test_tallied_counts_follow_every_kind_of_change(tmp_path):
    store = Store(tmp_path)
    store.check_model(KEY, 3)
    put(store)
    put(store, rel="copy/client.py")
    assert store.counts(KEY) == _counted_the_slow_way(store, KEY)
    first = store.pending(KEY, 2)
    store.put_vectors(KEY, [(row.body_hash, np.ones(3, np.float32)) for row in first])
    store.put_vectors(KEY, [(first[0].body_hash, np.full(3, 2, np.float32))])  # kept as it was
    store.put_vectors("model-b/d1", [(first[0].body_hash, np.ones(3, np.float32))])
    assert store.counts(KEY) == _counted_the_slow_way(store, KEY)
    assert store.counts(KEY)["vectors"] == 2 and store.counts(KEY)["pending"] == 4
    assert store.vector_count(KEY) == 2 and store.vector_count("model-b/d1") == 1
    assert store.vector_count("model-c/d1") == 0
    assert store.file_counts(KEY) == (0, 2)
    put(store, rel="copy/client.py", text=SOURCE.replace("attempts", "tries"))
    rest = store.pending(KEY, 10)
    store.put_vectors(KEY, [(row.body_hash, np.ones(3, np.float32)) for row in rest])
    assert store.file_counts(KEY) == (2, 2)
    store.remove_file("net/client.py")
    store.gc(KEY)
    assert store.counts(KEY) == _counted_the_slow_way(store, KEY)
    assert store.counts("model-b/d1") == _counted_the_slow_way(store, "model-b/d1")
    # Another model: nothing of it is embedded, every symbol waits.
    store.check_model("model-b/d1", 3)
    assert store.counts("model-b/d1") == _counted_the_slow_way(store, "model-b/d1")
    assert store.counts(KEY) == _counted_the_slow_way(store, KEY)
    store.forget_files()
    assert store.counts(KEY) == _counted_the_slow_way(store, KEY)


def test_counts_read_the_waiting_symbols_not_all_of_them(tmp_path):
    """status and every search count; at 10^6 symbols a walk over all of them costs seconds."""
    store = Store(tmp_path)
    store.check_model(KEY, 3)
    many = "\n".join(f"def f{n}(x):\n    return x + {n}\n" for n in range(3000))
    put(store, rel="many.py", text=many)
    waiting = store.pending(KEY, 4000)
    store.put_vectors(KEY, [(r.body_hash, np.ones(3, np.float32)) for r in waiting])
    put(store)  # four symbols waiting
    steps = []
    store._db.set_progress_handler(lambda: steps.append(1), 100)
    assert store.counts(KEY) == {"files": 2, "symbols": 3004, "vectors": 3000, "pending": 4}
    assert store.file_counts(KEY) == (1, 2)
    store._db.set_progress_handler(None, 0)
    # Each 100 SQLite VM steps call the handler once; a walk over 3,004 rows takes >30 calls.
    assert len(steps) < 10

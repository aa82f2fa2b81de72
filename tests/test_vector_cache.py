"""The shared vector cache: `findcode cache export/import`, the cacheDir folder and `findcode gc`,
with the real model, real files and the real CLI in a subprocess.

The fixture repository is embedded once (the `exported` fixture); every other root here is a
fresh copy of it at another path, the way a new clone of the same code would be.
"""

from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest
from findcode.config import Settings
from findcode.documents import DOCUMENT_FORM_VERSION
from findcode.embedder import Embedder
from findcode.engine import Engine
from findcode.roots import index_dir_for
from findcode.store import Store, WriterLease
from findcode.vector_cache import SharedCache, read_info
from index_support import FIXTURE_REPO, Recorder, findcode

SYMBOLS = 24  # in tests/fixtures/repo
OTHER_KEY = "other-model-Q8_0-0123456789ab/d1"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> tuple[Path, str]:
    """(cache file of the fixture repository's vectors, its embed key), made by the CLI."""
    base = tmp_path_factory.mktemp("ci")
    repo = base / "repo"
    shutil.copytree(FIXTURE_REPO, repo)
    index = findcode("index", repo, "--index-dir", base / "index")
    assert index.returncode == 0, index.stderr
    assert f"({SYMBOLS} embedded)" in index.stdout
    file = base / "main.sqlite"
    export = findcode("cache", "export", file, repo, "--index-dir", base / "index")
    assert export.returncode == 0, export.stderr
    return file, read_info(file).embed_key


def clone(tmp_path: Path, name: str = "clone") -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURE_REPO, root)
    return root


def stored_keys(root: Path, index_dir: Path) -> dict[str, int]:
    store = Store(index_dir_for(root, index_dir))
    try:
        return store.vector_keys()
    finally:
        store.close()


def forged(source: Path, dest: Path, sql: str, *params: object) -> Path:
    """A copy of a cache file changed by one statement: another model's file, a damaged one."""
    shutil.copy(source, dest)
    with sqlite3.connect(dest) as db:
        db.execute(sql, params)
    return dest


def test_export_holds_vectors_by_hash_and_no_code(exported):
    file, key = exported
    info = read_info(file)
    assert (info.count, info.dims) == (SYMBOLS, 384)
    assert key.endswith(f"/{DOCUMENT_FORM_VERSION}") and key.startswith("findcode-minilm-code")
    assert stat.S_IMODE(file.stat().st_mode) == 0o644  # shareable: it holds no code
    data = file.read_bytes()
    for text in (b"fetch_with_retry", b"def ", b"http_client", str(FIXTURE_REPO).encode()):
        assert text not in data
    assert not list(file.parent.glob("*.tmp"))


def test_a_fresh_clone_with_the_cache_imported_embeds_nothing(exported, tmp_path):
    file, key = exported
    root, index_dir = clone(tmp_path), tmp_path / "index"
    first = findcode("cache", "import", file, root, "--index-dir", index_dir)
    assert first.returncode == 0, first.stderr
    assert f"imported {SYMBOLS} of {SYMBOLS} vectors (0 already there)" in first.stdout
    again = findcode("cache", "import", file, root, "--index-dir", index_dir)
    assert f"imported 0 of {SYMBOLS} vectors ({SYMBOLS} already there)" in again.stdout
    index = findcode("index", root, "--index-dir", index_dir)
    assert index.returncode == 0, index.stderr
    assert f"indexed 6 files, {SYMBOLS} symbols (0 embedded)" in index.stdout
    assert stored_keys(root, index_dir) == {key: SYMBOLS}
    search = findcode(
        "search", "retry with exponential backoff", "--root", root, "--index-dir", index_dir
    )
    assert "fetch_with_retry" in search.stdout.splitlines()[0]


@pytest.mark.parametrize(
    ("key", "words"),
    [
        (OTHER_KEY, "made with model other-model-Q8_0-0123456789ab (document form d1)"),
        (None, "(document form d0); findcode runs model findcode-minilm-code"),
    ],
)
def test_a_file_of_another_model_is_refused_whole(exported, tmp_path, key, words):
    file, ours = exported
    theirs = key or ours.replace(f"/{DOCUMENT_FORM_VERSION}", "/d0")
    other = forged(
        file, tmp_path / "other.sqlite", "UPDATE meta SET value = ? WHERE key = 'embed_key'", theirs
    )
    root, index_dir = clone(tmp_path), tmp_path / "index"
    result = findcode("cache", "import", other, root, "--index-dir", index_dir)
    assert result.returncode == 1
    assert words in result.stderr and "nothing imported" in result.stderr
    assert stored_keys(root, index_dir) == {}


def test_damaged_or_foreign_files_are_refused_and_change_nothing(exported, tmp_path):
    file, _ = exported
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00not sqlite at all" * 300)
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    short = forged(
        file, tmp_path / "short.sqlite", "UPDATE vectors SET vector = x'00' WHERE rowid = 3"
    )
    cases = {
        junk: "cannot be read as a findcode vector cache",
        truncated: "cannot be read as a findcode vector cache",
        foreign: "cannot be read as a findcode vector cache",
        short: "is damaged (24 vectors where its header says 24, 1 not of 384 dimensions)",
        tmp_path / "missing.sqlite": "does not exist",
        tmp_path: "is not a file",
    }
    root, index_dir = clone(tmp_path), tmp_path / "index"
    for bad, words in cases.items():
        result = findcode("cache", "import", bad, root, "--index-dir", index_dir)
        assert result.returncode == 1 and words in result.stderr, (bad, result.stderr)
    assert stored_keys(root, index_dir) == {}


def test_import_refuses_while_another_process_indexes_the_root(exported, tmp_path):
    file, _ = exported
    root, index_dir = clone(tmp_path), tmp_path / "index"
    directory = index_dir_for(root, index_dir)
    Store(directory).close()
    lease = WriterLease(directory)
    assert lease.acquire()
    try:
        result = findcode("cache", "import", file, root, "--index-dir", index_dir)
    finally:
        lease.release()
    assert result.returncode == 1
    assert f"another findcode process (pid {lease.holder()}) is indexing {root}" in result.stderr
    assert "nothing imported" in result.stderr
    assert stored_keys(root, index_dir) == {}


def cache_folder(tmp_path: Path, file: Path) -> Path:
    """A cacheDir as a CI would leave it: our file, another model's, and one damaged file."""
    folder = tmp_path / "shared"
    folder.mkdir()
    shutil.copy(file, folder / "main.sqlite")
    forged(
        file,
        folder / "other.sqlite",
        "UPDATE meta SET value = ? WHERE key = 'embed_key'",
        OTHER_KEY,
    )
    (folder / "broken.sqlite").write_bytes(b"\x00" * 5000)
    (folder / "notes.txt").write_text("not a cache file")
    return folder


def run_engine(root: Path, settings: Settings, embedder: Embedder, log: Recorder) -> Engine:
    engine = Engine([root], settings, embedder=embedder, on_log=log)
    engine.start()
    assert engine.wait_idle(300), "indexing did not finish"
    return engine


def test_cache_dir_is_consulted_before_embedding_and_never_written(exported, tmp_path, embedder):
    file, key = exported
    folder = cache_folder(tmp_path, file)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    root, log = clone(tmp_path), Recorder()
    settings = Settings(index_dir=tmp_path / "index", cache_dir=folder, watch=False)
    engine = run_engine(root, settings, embedder, log)
    try:
        assert engine.embedded_count == 0
        assert engine.search("retry with exponential backoff", limit=1).hits[0].name == (
            "fetch_with_retry"
        )
        engine.scan()  # a second pass opens the folder again: still one warning in all
        engine.wait_idle(60)
    finally:
        engine.close()
    assert stored_keys(root, tmp_path / "index") == {key: SYMBOLS}
    warnings = log.warnings()
    assert len(warnings) == 1 and "broken.sqlite" in warnings[0], warnings
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == before
    assert sorted(p.name for p in folder.iterdir()) == sorted(before)  # no journal, no -wal


def test_cache_dir_fills_symbols_an_earlier_run_left_pending(exported, tmp_path, embedder):
    """Parsed files whose symbols have no vector yet (a run stopped before embedding, a
    folder shared after the parse) take theirs from the folder on the next start."""
    file, key = exported
    folder = cache_folder(tmp_path, file)
    root, index_dir = clone(tmp_path), tmp_path / "index"
    settings = Settings(index_dir=index_dir, cache_dir=folder, watch=False)
    run_engine(root, settings, embedder, Recorder()).close()
    store = Store(index_dir_for(root, index_dir))
    store.gc("no such model")  # every vector gone; the files and symbols stay
    assert store.counts(key)["pending"] == SYMBOLS
    store.close()
    engine = run_engine(root, settings, embedder, Recorder())
    try:
        assert engine.embedded_count == 0
        assert engine.status()["symbols"] == SYMBOLS
    finally:
        engine.close()
    assert stored_keys(root, index_dir) == {key: SYMBOLS}


def test_an_unreadable_cache_dir_is_told_once(tmp_path):
    log = Recorder()
    shared = SharedCache(tmp_path / "missing", "m/d1", lambda message: log("warning", message))
    for _ in range(2):  # two passes
        assert shared.lookup(["a" * 64]) == {}
        shared.close()
    assert len(log.warnings()) == 1
    assert "cannot read the cacheDir folder" in log.warnings()[0]


def test_gc_drops_other_models_and_keeps_the_current_one(exported, tmp_path):
    file, key = exported
    root, index_dir = clone(tmp_path), tmp_path / "index"
    assert findcode("cache", "import", file, root, "--index-dir", index_dir).returncode == 0
    assert findcode("index", root, "--index-dir", index_dir).returncode == 0
    store = Store(index_dir_for(root, index_dir))
    hashes = store.vector_hashes(key)[:5]
    store.put_vectors(OTHER_KEY, [(h, np.ones(384, dtype=np.float32)) for h in hashes])
    store.close()
    assert stored_keys(root, index_dir) == {key: SYMBOLS, OTHER_KEY: 5}
    gc = findcode("gc", root, "--index-dir", index_dir)
    assert gc.returncode == 0, gc.stderr
    assert "dropped 0 unused vectors and the vectors of models no longer used " in gc.stdout
    assert "(5 of model other-model-Q8_0-0123456789ab (document form d1))" in gc.stdout
    assert "freed" in gc.stdout
    assert stored_keys(root, index_dir) == {key: SYMBOLS}


def test_index_takes_the_cache_dir_from_the_command_line(exported, tmp_path):
    file, key = exported
    folder = cache_folder(tmp_path, file)
    root, index_dir = clone(tmp_path), tmp_path / "index"
    result = findcode("index", root, "--index-dir", index_dir, "--cache-dir", folder)
    assert result.returncode == 0, result.stderr
    assert f"{SYMBOLS} symbols (0 embedded)" in result.stdout
    assert result.stderr.count("warning") == 1 and "broken.sqlite" in result.stderr
    assert stored_keys(root, index_dir) == {key: SYMBOLS}


def test_gc_before_any_index_drops_only_unused_vectors(exported, tmp_path):
    """Imported but never indexed: no model is recorded, no symbol uses a vector."""
    file, _ = exported
    root, index_dir = clone(tmp_path), tmp_path / "index"
    assert findcode("cache", "import", file, root, "--index-dir", index_dir).returncode == 0
    gc = findcode("gc", root, "--index-dir", index_dir)
    assert gc.returncode == 0, gc.stderr
    assert f"dropped {SYMBOLS} unused vectors; freed" in gc.stdout
    assert stored_keys(root, index_dir) == {}

"""The command line used as a careless or hostile user would: index folders that are files,
under /proc, read-only, damaged or replaced by folders; absurd numbers; a reader that hangs up;
two processes on one root. Each case is a real `findcode` process: its exit code, a message
that says what to do, and never a traceback."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from findcode.roots import index_dir_for
from index_support import copy_repo, findcode, immutable

VERBS = ["parse", "merge", "render", "sort", "encode", "validate", "compress", "schedule"]
NOUNS = ["invoice", "token", "matrix", "packet", "session", "ledger", "config", "thumbnail"]


def explained(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """Exit `code`, every word in the message, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.fixture
def indexed(tmp_path: Path, model_path: Path) -> tuple[Path, Path]:
    repo = copy_repo(tmp_path)
    index_dir = tmp_path / "index"
    result = findcode("index", repo, "--index-dir", index_dir)
    assert result.returncode == 0, result.stderr
    return repo, index_dir


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_index_folders_and_files_are_the_owners_only(indexed):
    repo, index_dir = indexed
    folder = index_dir_for(repo, index_dir)
    assert mode(index_dir) == mode(folder) == 0o700
    files = list(folder.iterdir())
    assert {p.name for p in files} >= {"index.sqlite3", "vectors.hnsw", "vectors.json"}
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


@pytest.mark.parametrize("where", ["a-file", "a-file/below", "/proc/findcode-index"])
def test_an_index_dir_that_cannot_be_a_folder(indexed, tmp_path, where):
    # Tests run as root, whom a chmod 500 folder does not stop; a file in the way and /proc
    # refuse root too.
    repo, _ = indexed
    (tmp_path / "a-file").write_text("not a folder")
    index_dir = tmp_path / where
    for command in (["index", repo], ["search", "retry", "--root", repo]):
        result = findcode(*command, "--index-dir", index_dir)
        explained(result, 1, "--index-dir")
        assert "is a file, not a folder" in result.stderr or "cannot create" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["search", "retry", "-k", str(10**20)],
        ["search", "retry", "-k", "-3"],
        ["search", "retry", "--limit", "lots"],
        ["eval", "--max-queries", "0"],
        ["eval", "--max-queries", str(10**20)],
        ["eval", "--seed", "-1"],
    ],
)
def test_numbers_out_of_range_are_bad_usage(tmp_path, args):
    result = findcode(*args, cwd=tmp_path)
    explained(result, 2)
    assert "must be from" in result.stderr or "whole number" in result.stderr


def test_a_read_only_index_says_so_and_reindex_too(indexed):
    repo, index_dir = indexed
    with immutable(index_dir_for(repo, index_dir)):
        search = findcode("search", "retry", "--root", repo, "--index-dir", index_dir)
        explained(search, 1, "read-only", "writable")
        assert "reindex" not in search.stderr  # reindexing cannot fix a read-only folder
        explained(findcode("reindex", repo, "--index-dir", index_dir), 1, "read-only")
        explained(findcode("status", repo, "--index-dir", index_dir), 1, "read-only")
    assert findcode("search", "retry", "--root", repo, "--index-dir", index_dir).returncode == 0


@pytest.mark.parametrize("name", ["vectors.hnsw", "vectors.json", "index.sqlite3"])
def test_a_folder_in_place_of_an_index_file_and_reindex_fixes_it(indexed, name):
    repo, index_dir = indexed
    path = index_dir_for(repo, index_dir) / name
    path.unlink()
    (path / "inside").mkdir(parents=True)
    broken = findcode("search", "retry", "--root", repo, "--index-dir", index_dir)
    explained(broken, 1, "is a folder", "findcode reindex")
    fixed = findcode("reindex", repo, "--index-dir", index_dir)
    explained(fixed, 0)
    assert "24 symbols" in fixed.stdout
    assert path.is_file()
    again = findcode("search", "retry with backoff", "--root", repo, "--index-dir", index_dir)
    assert again.returncode == 0 and "fetch_with_retry" in again.stdout


def test_damaged_pages_are_reported_by_status(indexed):
    repo, index_dir = indexed
    healthy = findcode("status", repo, "--index-dir", index_dir)
    explained(healthy, 0)
    db = index_dir_for(repo, index_dir) / "index.sqlite3"
    size = db.stat().st_size
    with db.open("r+b") as handle:  # the last pages: symbol data, not the schema
        handle.seek(size - 3 * 4096)
        handle.write(bytes(range(256)) * 48)
    explained(findcode("status", repo, "--index-dir", index_dir), 1, "damaged", "findcode reindex")
    fixed = findcode("reindex", repo, "--index-dir", index_dir)
    explained(fixed, 0)
    explained(findcode("status", repo, "--index-dir", index_dir), 0)


@pytest.mark.parametrize("command", [["status"], ["search", "retry", "--json", "--root"]])
def test_a_reader_that_hangs_up_is_no_error(indexed, command):
    repo, index_dir = indexed
    process = subprocess.Popen(
        [sys.executable, "-m", "findcode", *command, str(repo), "--index-dir", str(index_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # `| head -0`: gone before findcode writes a byte
    stderr = process.stderr.read()
    assert process.wait(timeout=300) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_reindex_reuses_stored_vectors_unless_told_to_drop_them(indexed):
    repo, index_dir = indexed
    kept = findcode("reindex", repo, "--index-dir", index_dir, "--json")
    explained(kept, 0)
    summary = json.loads(kept.stdout)
    assert (summary["files"], summary["symbols"], summary["embedded"]) == (6, 24, 0)
    dropped = findcode("reindex", repo, "--index-dir", index_dir, "--drop-vectors", "--json")
    explained(dropped, 0)
    assert json.loads(dropped.stdout)["embedded"] == 24


def generated_tree(repo: Path, files: int) -> None:
    folder = repo / "generated"
    folder.mkdir()
    for f in range(files):
        parts = [f'"""Generated module {f}."""\n']
        for n in range(16):
            verb, noun = VERBS[(f + n) % len(VERBS)], NOUNS[(f * 3 + n) % len(NOUNS)]
            parts.append(
                f"\n\ndef {verb}_{noun}_{f}_{n}(items):\n"
                f'    """{verb.title()} each {noun} of batch {f}, step {n}."""\n'
                f"    return [hash((item, {f * 100 + n})) for item in items]\n"
            )
        (folder / f"module_{f}.py").write_text("".join(parts))


def stored_vectors(db: Path) -> int:
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as connection:
            return connection.execute("SELECT count(*) FROM vectors").fetchone()[0]
    except sqlite3.Error:
        return 0  # not created yet


def test_a_second_process_uses_what_the_first_indexed(tmp_path, model_path):
    repo = copy_repo(tmp_path)
    generated_tree(repo, files=80)  # 1,280 symbols: the first process embeds for a while
    index_dir = tmp_path / "index"
    db = index_dir_for(repo, index_dir) / "index.sqlite3"
    first = subprocess.Popen(
        [sys.executable, "-m", "findcode", "index", str(repo), "--index-dir", str(index_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while stored_vectors(db) < 32 and time.monotonic() < deadline:
            assert first.poll() is None, "the first index finished before the test could look"
            time.sleep(0.2)

        query = "retry with backoff"
        search = findcode("search", query, "--root", repo, "--index-dir", index_dir, "--json")
        explained(search, 0, "indexing in progress in another process:", "symbols searchable")
        assert json.loads(search.stdout)["index"]["state"] == "indexing"
        index = findcode("index", repo, "--index-dir", index_dir, "--json")
        explained(index, 0, "indexing in progress in another process:")
        assert json.loads(index.stdout)["embedded"] == 0  # never twice what the first embeds
        assert first.poll() is None, "the second process waited for the first to finish"
        for writes in ("gc", "reindex"):  # these need the lease, and say who holds it
            busy = findcode(writes, repo, "--index-dir", index_dir)
            explained(busy, 1, f"another findcode process (pid {first.pid}) is indexing")

        first.send_signal(signal.SIGKILL)  # its lease must not outlive it
        first.wait()
        explained(findcode("gc", repo, "--index-dir", index_dir), 0)  # gc needs the lease
        # Resuming all of it would take minutes on a busy machine: most of the tree goes.
        for module in (repo / "generated").glob("module_*.py"):
            if module.name != "module_0.py":
                module.unlink()
        resumed = findcode("index", repo, "--index-dir", index_dir, "--json")
        explained(resumed, 0)
        assert "another process" not in resumed.stderr
        summary = json.loads(resumed.stdout)
        assert summary["symbols"] == 24 + 16 and summary["embedded"] <= 24 + 16
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    status = json.loads(findcode("status", repo, "--index-dir", index_dir, "--json").stdout)
    assert (status["symbols"], status["pending"]) == (24 + 16, 0)

"""`findcode index/search/status/reindex/gc` as a script sees them: real processes, exit codes,
stdout/stderr, JSON shapes, and a corrupt index that explains itself without a traceback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import platformdirs
import pytest
from findcode.roots import index_dir_for
from index_support import copy_repo, findcode


@pytest.fixture
def indexed(tmp_path: Path, model_path: Path) -> tuple[Path, Path]:
    repo = copy_repo(tmp_path, git=True)
    index_dir = tmp_path / "index"
    result = findcode("index", repo, "--index-dir", index_dir)
    assert result.returncode == 0, result.stderr
    assert "indexed 6 files, 24 symbols (24 embedded)" in result.stdout
    return repo, index_dir


def test_index_writes_nothing_into_the_repository(indexed):
    repo, index_dir = indexed
    porcelain = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=repo, capture_output=True, text=True
    )
    assert porcelain.stdout == ""
    assert (index_dir_for(repo, index_dir) / "index.sqlite3").is_file()
    again = findcode("index", repo, "--index-dir", index_dir, "--json")
    assert again.returncode == 0
    summary = json.loads(again.stdout)
    assert (summary["files"], summary["symbols"], summary["embedded"]) == (6, 24, 0)


def test_default_index_location_is_the_user_cache(tmp_path):
    directory = index_dir_for(tmp_path / "app", None)
    assert directory.parent == Path(platformdirs.user_cache_dir("findcode")) / "indexes"
    assert directory.name.startswith("app-")
    assert index_dir_for(tmp_path / "other" / "app", None) != directory


def test_search_json_text_filters_and_no_results(indexed):
    repo, index_dir = indexed
    query = "retry with exponential backoff and jitter"
    result = findcode(
        "search", query, "--root", repo, "--index-dir", index_dir, "-k", "3", "--json"
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["index"] == {"state": "idle", "indexed": 6, "total": 6}
    first = payload["results"][0]
    assert first["qualified_name"] == "fetch_with_retry"
    assert first["path"] == str(repo / "net" / "http_client.py")
    assert first["start_line"] == 13 and first["kind"] == "function"

    go = findcode(
        "search", "delete", "--root", repo, "--index-dir", index_dir, "--lang", "go", "--json"
    )
    assert {r["language"] for r in json.loads(go.stdout)["results"]} == {"go"}

    text = findcode("search", "edit distance", "--index-dir", index_dir, "-k", "1", cwd=repo)
    assert text.returncode == 0
    assert text.stdout.startswith(f"{repo / 'text' / 'slugify.py'}:14:1  function")

    none = findcode(
        "search", "qqzzxx", "--mode", "lexical", "--root", repo, "--index-dir", index_dir
    )
    assert none.returncode == 0 and none.stdout.strip() == "no results"


def test_exit_codes_for_bad_input(indexed, tmp_path):
    repo, index_dir = indexed
    empty = findcode("search", "   ", "--root", repo, "--index-dir", index_dir)
    assert empty.returncode == 1
    assert "query is empty" in empty.stderr and "Traceback" not in empty.stderr
    usage = findcode("search", "x", "-k", "0", "--root", repo)
    assert usage.returncode == 2
    missing = findcode("index", tmp_path / "nope", "--index-dir", index_dir)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    no_index = findcode("status", repo, "--index-dir", tmp_path / "elsewhere")
    assert no_index.returncode == 1 and "findcode index" in no_index.stderr


def test_status_and_gc(indexed):
    repo, index_dir = indexed
    status = findcode("status", repo, "--index-dir", index_dir, "--json")
    assert status.returncode == 0
    report = json.loads(status.stdout)
    assert (report["files"], report["symbols"], report["vectors"], report["pending"]) == (
        6,
        24,
        24,
        0,
    )
    assert report["dims"] == 384 and report["model"].startswith("findcode-minilm-code")
    (repo / "storage" / "lru.rs").unlink()
    assert findcode("index", repo, "--index-dir", index_dir).returncode == 0
    gc = findcode("gc", repo, "--index-dir", index_dir)
    assert gc.returncode == 0 and "dropped 4 unused vectors" in gc.stdout
    after = json.loads(findcode("status", repo, "--index-dir", index_dir, "--json").stdout)
    assert (after["symbols"], after["vectors"]) == (20, 20)


def test_corrupt_index_explains_itself_and_reindex_fixes_it(indexed):
    repo, index_dir = indexed
    (index_dir_for(repo, index_dir) / "index.sqlite3").write_bytes(b"\x00garbage" * 4096)
    broken = findcode("search", "checksum", "--root", repo, "--index-dir", index_dir)
    assert broken.returncode == 1
    assert "findcode reindex" in broken.stderr and "Traceback" not in broken.stderr
    fixed = findcode("reindex", repo, "--index-dir", index_dir)
    assert fixed.returncode == 0, fixed.stderr
    assert "24 symbols" in fixed.stdout
    again = findcode("search", "sha256 of a file", "--root", repo, "--index-dir", index_dir)
    assert again.returncode == 0 and "FileChecksum" in again.stdout.splitlines()[0]


def test_a_command_in_a_terminal_indexes_at_the_priority_it_was_started_with(tmp_path):
    """Only the server's background indexer gives way: `findcode index` at idle priority would
    wait for as long as anything else keeps the cores busy, with its user watching."""
    from findcode.cli import build_parser
    from findcode.cli.index_cmd import _engine_settings

    args = build_parser().parse_args(["index", str(tmp_path)])
    assert _engine_settings(args).low_priority is False

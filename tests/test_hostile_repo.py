"""A hostile repository, end to end: what the files of a tree can do to findcode.

Real model, tree-sitter, hnswlib and files on disk; the CLI runs as a subprocess wherever a
user would see the defect. Every case here once crashed, stopped the walk, or put into the
index (and printed back) what must never be there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from findcode.embedder import Embedder
from findcode.errors import QueryError
from index_support import findcode, open_engine

FIXTURE_FILES = 6


def index_json(repo: Path, index_dir: Path) -> dict:
    result = findcode("index", repo, "--index-dir", index_dir, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_gitignore_line_findcode_cannot_compile_is_skipped_with_one_warning(
    repo: Path, tmp_path: Path, model_path: Path
) -> None:
    (repo / ".gitignore").write_text("[z-a]\n*.md\n", encoding="utf-8")
    (repo / "net" / ".gitignore").write_text("# git takes this line\n[z-a]\n", encoding="utf-8")
    result = findcode("index", repo, "--index-dir", tmp_path / "index")
    assert result.returncode == 0, result.stderr
    # README.md ignored by the rule after the bad one; the two .gitignore files are text.
    assert f"indexed {FIXTURE_FILES - 1 + 2} files" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "[z-a]" in line]
    assert len(warnings) == 2, result.stderr
    assert f"{repo / '.gitignore'}:1: cannot use the pattern '[z-a]'" in warnings[0]
    assert f"{repo / 'net' / '.gitignore'}:2: cannot use the pattern '[z-a]'" in warnings[1]
    search = findcode(
        "search",
        "retry with exponential backoff",
        "--root",
        repo,
        "--index-dir",
        tmp_path / "index",
    )
    assert search.returncode == 0 and "function fetch_with_retry" in search.stdout


def test_a_search_path_glob_findcode_cannot_compile_is_a_clear_error(
    repo: Path, tmp_path: Path, model_path: Path
) -> None:
    result = findcode(
        "search", "retry", "--root", repo, "--index-dir", tmp_path / "index", "--path", "[z-a]"
    )
    assert result.returncode == 1
    assert "findcode: bad path glob '[z-a]': bad character range z-a" in result.stderr
    assert not (tmp_path / "index").exists(), "a search that cannot run indexed the tree first"


def test_the_engine_answers_a_bad_path_glob_with_a_query_error(
    repo: Path, tmp_path: Path, embedder: Embedder
) -> None:
    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        with pytest.raises(QueryError, match=r"bad path glob '\[z-a\]'"):
            engine.search("retry", paths=["net/", "[z-a]"])
        assert engine.search("retry", paths=["net/"]).hits  # the engine goes on answering
    finally:
        engine.close()


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_keys_and_tokens_are_never_indexed_nor_printed(
    repo: Path, tmp_path: Path, model_path: Path
) -> None:
    key = repo / "deploy" / "id_ed25519"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    key_text = key.read_text(encoding="utf-8")
    # The same key under a name that says nothing, and tokens in ordinary-looking files.
    (repo / "deploy" / "notes.txt").write_text("for the deploy box:\n" + key_text)
    npm_token = "npm_" + "Zq4" * 12
    (repo / ".npmrc").write_text(f"//registry.npmjs.org/:_authToken={npm_token}\n")
    aws_key = "AKIA" + "Q3ZK7XW2MB4NPL5R"
    (repo / "settings.py").write_text(f"def aws_settings():\n    return {{'key': '{aws_key}'}}\n")
    summary = index_json(repo, tmp_path / "index")
    assert summary["skipped"] == {"secret": 4}
    assert summary["files"] == FIXTURE_FILES + 1  # the public key stays: it is made to share
    result = findcode(
        "search", "OPENSSH PRIVATE KEY", "--root", repo, "--index-dir", tmp_path / "index",
        "-k", "100",
    )  # fmt: skip
    assert result.returncode == 0
    assert "id_ed25519.pub" in result.stdout  # every symbol is printed, and nothing secret
    body = key_text.splitlines()[1]
    for secret in ("PRIVATE KEY", body, npm_token, aws_key, "notes.txt", "settings.py"):
        assert secret not in result.stdout


def test_a_save_through_a_link_out_of_the_root_indexes_nothing(
    repo: Path, tmp_path: Path, embedder: Embedder
) -> None:
    outside = tmp_path / "outside" / "vault.py"
    outside.parent.mkdir()
    outside.write_text("def reveal_the_launch_codes():\n    return '0000'\n", encoding="utf-8")
    (repo / "vault_link.py").symlink_to(outside)
    (repo / "linked").symlink_to(outside.parent, target_is_directory=True)
    engine = open_engine([repo], tmp_path / "index", embedder)
    try:
        # didSave / didOpen, then a watcher event through a linked folder.
        engine.notify_changed([repo / "vault_link.py"], urgent=True)
        engine.notify_changed([repo / "linked" / "vault.py"])
        assert engine.wait_idle(60)
        assert engine.status()["files"] == FIXTURE_FILES
        outcome = engine.search("reveal the launch codes", limit=50, mode="lexical")
        assert "reveal_the_launch_codes" not in [hit.qualified_name for hit in outcome.hits]
        with pytest.raises(QueryError, match="leads outside the workspace root"):
            engine.similar(repo / "vault_link.py", 1)
    finally:
        engine.close()


def test_a_file_name_that_is_not_utf8_is_skipped_and_the_run_succeeds(
    repo: Path, tmp_path: Path, model_path: Path
) -> None:
    fd = os.open(os.fsencode(repo) + b"/caf\xe9.py", os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"def latin1_named_module():\n    return 1\n")
    os.close(fd)
    for _ in range(2):  # and again, over the index the first run left
        summary = index_json(repo, tmp_path / "index")
        assert summary["skipped"] == {"name_not_utf8": 1}
        assert summary["files"] == FIXTURE_FILES
        assert summary["lastError"] is None


def test_a_root_that_is_a_file_is_a_clear_error(
    repo: Path, tmp_path: Path, model_path: Path
) -> None:
    file_root = repo / "net" / "http_client.py"
    result = findcode("search", "retry", "--root", file_root, "--index-dir", tmp_path / "index")
    assert result.returncode == 1
    assert f"findcode: {file_root} is a file, not a folder" in result.stderr


def test_an_index_folder_inside_the_root_is_never_indexed(repo: Path, model_path: Path) -> None:
    index_dir = repo / ".findcode-index"
    first = index_json(repo, index_dir)
    assert (first["files"], first["embedded"]) == (FIXTURE_FILES, 24)
    again = index_json(repo, index_dir)
    assert (again["files"], again["embedded"]) == (FIXTURE_FILES, 0)

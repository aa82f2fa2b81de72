"""`findcode symbols` as a user runs it: a real subprocess on the fixtures and on this repo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "langs"


def findcode(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "findcode", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_table_for_one_file() -> None:
    done = findcode("symbols", "tests/fixtures/langs/server.go")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "tests/fixtures/langs/server.go:13\tinterface\tChecker"
    assert "tests/fixtures/langs/server.go:44\tmethod\tServer.Start" in lines
    assert len(lines) == 10
    assert "10 symbols in 1 files" in done.stderr


def test_json_for_the_fixture_tree() -> None:
    done = findcode("symbols", str(FIXTURES), "--json")
    assert done.returncode == 0, done.stderr
    symbols = json.loads(done.stdout)
    languages = {s["language"] for s in symbols}
    assert len(languages) == 13
    start = next(s for s in symbols if s["qualified_name"] == "LruCache.put")
    assert start["path"] == f"{FIXTURES.as_posix()}/lru.rs"
    assert (start["kind"], start["start_line"], start["end_line"]) == ("method", 49, 63)
    assert start["doc"].startswith("Insert `value`")
    assert len(start["body_hash"]) == 64
    assert set(start) == {
        "path", "language", "kind", "name", "qualified_name", "start_line", "start_col",
        "end_line", "end_col", "signature", "doc", "code", "body_hash",
    }  # fmt: skip


def test_whole_repository_runs_clean() -> None:
    done = findcode("symbols", ".")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "server/findcode/symbols.py" in done.stdout
    assert "\tfunction\textract_symbols" in done.stdout
    assert ".git/" not in done.stdout


def test_missing_path_is_a_clear_error() -> None:
    done = findcode("symbols", "no/such/place.py")
    assert done.returncode == 1
    assert done.stderr.strip() == "findcode: no/such/place.py: no such file or folder"


def test_reader_closing_the_pipe_early_is_not_an_error() -> None:
    # like `findcode symbols . | head -1`
    with subprocess.Popen(
        [sys.executable, "-m", "findcode", "symbols", ".", "--json"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == "[\n"
        process.stdout.close()
        stderr = process.stderr.read()
        assert process.wait(timeout=120) == 0
    assert "Traceback" not in stderr

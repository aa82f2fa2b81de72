"""Helpers shared by the index tests: a private copy of the fixture repository, an engine on it."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from findcode.config import Settings
from findcode.embedder import Embedder
from findcode.engine import Engine, Progress

FIXTURE_REPO = Path(__file__).parent / "fixtures" / "repo"


def copy_repo(tmp_path: Path, *, git: bool = False) -> Path:
    """A writable copy of tests/fixtures/repo (optionally a git repository with one commit)."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE_REPO, repo)
    if git:
        run_git(repo, "init", "-q", "-b", "main")
        run_git(repo, "add", "-A")
        run_git(repo, "commit", "-q", "-m", "fixture")
    return repo


def findcode(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`findcode ARGS` in a subprocess; whatever it answers, it never prints a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "findcode", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


@contextlib.contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """Read-only even for root: `chattr +i` (ext4 and most local filesystems) refuses every
    write, where a chmod would not stop root. Skips where the filesystem does not support it."""
    done: list[Path] = []
    try:
        for path in paths:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
                pytest.skip("chattr +i is not supported here")
            done.append(path)
        yield
    finally:
        for path in done:
            subprocess.run(["chattr", "-i", str(path)], check=True)


def run_git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
    )


class Recorder:
    """Collects the engine's log lines."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, level: str, message: str) -> None:
        self.lines.append((level, message))

    def warnings(self) -> list[str]:
        return [message for level, message in self.lines if level == "warning"]


class NoProgressBar:
    """An engine host's progress listener with no client to show it to."""

    def starting(self) -> None:
        pass

    def update(self, progress: Progress) -> None:
        pass

    def end(self) -> None:
        pass


def open_engine(
    roots: list[Path], index_dir: Path, embedder: Embedder, log: Recorder | None = None
) -> Engine:
    engine = Engine(
        roots, Settings(index_dir=index_dir, watch=False), embedder=embedder, on_log=log
    )
    engine.start()
    assert engine.wait_idle(120), "indexing did not finish"
    return engine


def made_up_vector(text: str, dims: int) -> np.ndarray:
    """A unit vector drawn from the text's hash: the fake embedders of bookkeeping tests (which
    test order and counts, never meaning) give the same text the same vector."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    vector = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    return vector / np.linalg.norm(vector)


def wait_for(
    predicate: Callable[[], object],
    timeout: float = 30.0,
    what: str = "condition never became true",
) -> None:
    """Poll `predicate` until it holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)

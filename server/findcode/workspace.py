"""Which files of a workspace findcode reads, and reading them safely.

A repository holds much that nobody searches for by meaning: vendored packages, build outputs,
virtual environments, lock files, minified bundles, binaries. The walk leaves those out the
way git would (nested .gitignore files, read with pathspec), adds a built-in exclude list and
the user's own globs, and counts every file it skips by reason so `status` can say why a file
is missing. It never follows a symlink out of its root or round a loop, and a file that turns
unreadable or vanishes between the walk and the read is a counted skip, not a crash.
"""

from __future__ import annotations

import collections
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pathspec

from findcode.config import Settings
from findcode.symbols import language_for_path

# Folders and files that are generated, vendored or machine-written: searching them by
# meaning only buries the code a person wrote. Gitignore syntax, matched from each root.
BUILTIN_EXCLUDES = (
    ".git/",
    ".hg/",
    ".svn/",
    "node_modules/",
    "bower_components/",
    ".venv/",
    "venv/",
    ".tox/",
    ".nox/",
    "__pycache__/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".gradle/",
    ".idea/",
    "*.egg-info/",
    "build/",
    "dist/",
    "target/",
    "out/",
    ".next/",
    "coverage/",
    "*.pyc",
    "*.pyo",
    "*.so",
    "*.o",
    "*.a",
    "*.class",
    "*.jar",
    "*.min.js",
    "*.min.css",
    "*.map",
    "*.lock",
    "package-lock.json",
    "pnpm-lock.yaml",
    "go.sum",
    ".DS_Store",
    # secrets: an index is a copy of the text, and keys have no meaning to search for
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
)

# Enough to tell text from binary the way git does: a NUL byte in the first 8 KiB.
_SNIFF_BYTES = 8192
# Minified or generated: a line longer than any person writes, or lines long on average.
_MAX_LINE_BYTES = 5000
_MAX_MEAN_LINE_BYTES = 300
_MEAN_CHECK_MIN_BYTES = 4096


class SkipFile(Exception):
    """A file findcode does not index; `reason` is one of the WalkResult.skipped keys."""

    def __init__(self, reason: str, path: Path | None = None) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SourceFile:
    root: Path
    path: Path
    rel: str
    size: int
    mtime_ns: int


@dataclass
class WalkResult:
    files: list[SourceFile] = field(default_factory=list)
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)


def walk(roots: Sequence[Path], settings: Settings) -> WalkResult:
    """Every indexable file under `roots` (roots in order, folders depth-first by name) and the
    count of skipped files by reason. A root that is a file yields that file alone."""
    result = WalkResult()
    for root in roots:
        root = Path(root).resolve()
        _Walker(root, settings, result).run()
    return result


def is_excluded(root: Path, path: Path, settings: Settings) -> bool:
    """Whether the walk would leave `path` out by its name (ignores, excludes, languages).

    For single-file updates (watcher events, saves) where walking everything would be waste.
    Content checks (binary, size, minified) are read_source's job.
    """
    root = Path(root).resolve()
    try:
        rel_parts = Path(os.path.abspath(path)).relative_to(root).parts
    except ValueError:
        try:
            rel_parts = Path(path).resolve().relative_to(root).parts
        except ValueError:
            return True
    if not rel_parts:
        return False
    fixed = _fixed_spec(settings.exclude)
    directory = root
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    for depth, part in enumerate(rel_parts):
        specs.extend(_gitignore_at(directory, "/".join(rel_parts[:depth])))
        rel = "/".join(rel_parts[: depth + 1])
        is_dir = depth < len(rel_parts) - 1
        if _ignored(rel, is_dir, fixed, specs):
            return True
        directory = directory / part
        if is_dir and (directory / "pyvenv.cfg").is_file():
            return True
    return not _language_allowed(rel_parts[-1], settings)


def read_source(path: Path, max_bytes: int) -> str:
    """The text of one file, or SkipFile(reason) when it is not something to index.

    Invalid UTF-8 decodes to U+FFFD, never to a line break, so line numbers stay those of the
    file. Nothing else (CRLF, BOM-less encodings) is normalised.
    """
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise SkipFile("vanished", path) from None
    except OSError:
        raise SkipFile("unreadable", path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SkipFile("unreadable", path)
        if info.st_size > max_bytes:
            raise SkipFile("too_large", path)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(max_bytes + 1)
    except OSError:
        raise SkipFile("unreadable", path) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise SkipFile("too_large", path)
    reason = content_problem(data)
    if reason:
        raise SkipFile(reason, path)
    return data.decode("utf-8", "replace")


def content_problem(data: bytes) -> str | None:
    """ "binary" or "minified" when these bytes (a whole file or its head) are not for indexing."""
    if b"\0" in data[:_SNIFF_BYTES]:
        return "binary"
    longest = max((len(line) for line in data.split(b"\n")), default=0)
    if longest > _MAX_LINE_BYTES:
        return "minified"
    if len(data) >= _MEAN_CHECK_MIN_BYTES and len(data) / (data.count(b"\n") + 1) > (
        _MAX_MEAN_LINE_BYTES
    ):
        return "minified"
    return None


def _language_allowed(name: str, settings: Settings) -> bool:
    if settings.languages is None:
        return True
    return (language_for_path(name) or "text") in settings.languages


@lru_cache(maxsize=64)
def _fixed_spec(user_excludes: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines([*BUILTIN_EXCLUDES, *user_excludes])


def _gitignore_at(directory: Path, rel_dir: str) -> list[tuple[str, pathspec.GitIgnoreSpec]]:
    """The .gitignore of one folder as (its root-relative path, spec); [] if none or unreadable."""
    path = directory / ".gitignore"
    try:
        info = path.stat()
    except OSError:
        return []
    spec = _parsed_gitignore(str(path), info.st_mtime_ns, info.st_size)
    return [(rel_dir, spec)] if spec is not None else []


@lru_cache(maxsize=256)
def _parsed_gitignore(path: str, mtime_ns: int, size: int) -> pathspec.GitIgnoreSpec | None:
    """Parsed once per version of the file: every watcher event and every save asks again for
    each folder on its path, and a git checkout sends thousands."""
    try:
        lines = Path(path).read_text("utf-8", "replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ignored(
    rel: str, is_dir: bool, fixed: pathspec.GitIgnoreSpec, specs: list[tuple[str, Any]]
) -> bool:
    """Gitignore semantics: the deepest .gitignore with an opinion on the path decides."""
    if fixed.match_file(rel + "/" if is_dir else rel):
        return True
    verdict = False
    for folder, spec in specs:
        sub = rel[len(folder) + 1 :] if folder else rel
        result = spec.check_file(sub + "/" if is_dir else sub)
        if result.include is not None:
            verdict = result.include
    return verdict


class _Walker:
    """One root's depth-first walk; ignore specs are a stack that follows the folders."""

    def __init__(self, root: Path, settings: Settings, result: WalkResult) -> None:
        self.root = root
        self.settings = settings
        self.result = result
        self.fixed = _fixed_spec(settings.exclude)

    def run(self) -> None:
        try:
            info = self.root.stat()
        except OSError:
            self.result.skipped["unreadable"] += 1
            return
        if not stat.S_ISDIR(info.st_mode):
            self._single_file(self.root)
            return
        self._walk_dir(self.root, "", [], {(info.st_dev, info.st_ino)})

    def _single_file(self, path: Path) -> None:
        self.root = path.parent
        self._consider_file(path, path.name)

    def _walk_dir(
        self,
        directory: Path,
        rel_dir: str,
        specs: list[tuple[str, pathspec.GitIgnoreSpec]],
        ancestors: set[tuple[int, int]],
    ) -> None:
        if (directory / "pyvenv.cfg").is_file() and rel_dir:
            self.result.skipped["ignored"] += 1  # a virtual environment under any name
            return
        specs = specs + _gitignore_at(directory, rel_dir)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except FileNotFoundError:
            self.result.skipped["vanished"] += 1
            return
        except OSError:
            self.result.skipped["unreadable"] += 1
            return
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                self._entry(entry, rel, specs, ancestors)
            except FileNotFoundError:
                self.result.skipped["vanished"] += 1
            except OSError:
                self.result.skipped["unreadable"] += 1

    def _entry(
        self,
        entry: os.DirEntry,
        rel: str,
        specs: list[tuple[str, pathspec.GitIgnoreSpec]],
        ancestors: set[tuple[int, int]],
    ) -> None:
        path = Path(entry.path)
        if entry.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(self.root):
                self.result.skipped["symlink_outside"] += 1
                return
            if not target.exists():
                self.result.skipped["vanished"] += 1
                return
        is_dir = entry.is_dir()
        if _ignored(rel, is_dir, self.fixed, specs):
            self.result.skipped["ignored"] += 1
            return
        if is_dir:
            info = entry.stat()
            key = (info.st_dev, info.st_ino)
            if key in ancestors:
                self.result.skipped["symlink_loop"] += 1
                return
            self._walk_dir(path, rel, specs, ancestors | {key})
        elif entry.is_file():
            self._consider_file(path, rel)
        else:
            self.result.skipped["unreadable"] += 1  # sockets, FIFOs, devices

    def _consider_file(self, path: Path, rel: str) -> None:
        if not _language_allowed(path.name, self.settings):
            self.result.skipped["language"] += 1
            return
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):  # a FIFO would block the open below forever
                self.result.skipped["unreadable"] += 1
                return
            if info.st_size > self.settings.max_file_bytes:
                self.result.skipped["too_large"] += 1
                return
            with open(path, "rb") as stream:
                head = stream.read(_SNIFF_BYTES)
        except FileNotFoundError:
            self.result.skipped["vanished"] += 1
            return
        except OSError:
            self.result.skipped["unreadable"] += 1
            return
        reason = content_problem(head)
        if reason:
            self.result.skipped[reason] += 1
            return
        self.result.files.append(
            SourceFile(
                root=self.root, path=path, rel=rel, size=info.st_size, mtime_ns=info.st_mtime_ns
            )
        )

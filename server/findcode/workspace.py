"""Which files of a workspace findcode reads, and reading them safely.

A repository holds much that nobody searches for by meaning: vendored packages, build outputs,
virtual environments, lock files, minified bundles, binaries. The walk leaves those out the
way git would (nested .gitignore files, read with pathspec), adds a built-in exclude list and
the user's own globs, and counts every file it skips by reason so `status` can say why a file
is missing. It never follows a symlink out of its root or round a loop, and a file that turns
unreadable or vanishes between the walk and the read is a counted skip, not a crash.

An index is a copy of the text it holds, so secrets stay out of it: files named like keys,
tokens and credential stores, and any file that holds a private key or a well-known token.
Nothing a repository contains stops the walk: a glob that cannot be compiled is left out with
one warning, a name that is not UTF-8 is a counted skip, and findcode's own index folder is
never walked, even when it lies inside a root. Every path on its way to the index, walked or
announced by a save or a watcher, is checked on its resolved form against its root
(`inside_root`).
"""

from __future__ import annotations

import collections
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import pathspec

from findcode.config import Settings
from findcode.errors import FindcodeError
from findcode.roots import index_base, index_dir_for
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
)

# Files that hold credentials by their name (gitignore syntax, matched on files only), counted
# as `secret`. Public keys (id_rsa.pub) are left alone: they are made to be shared, and skipping
# them would hide nothing. Any other name holding a key or a token is caught by its content.
SECRET_NAMES = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "*.asc",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ecdsa_sk",
    "id_ed25519",
    "id_ed25519_sk",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".pgpass",
    ".htpasswd",
    ".vault-token",
    "**/.docker/config.json",
    "**/.aws/credentials",
    "**/.kube/config",
    "credentials.json",
    "service-account*.json",
    "client_secret*.json",
    "secrets.y*ml",
    "secrets.json",
    "secrets.toml",
    "*.tfvars",
    "*.tfvars.json",
    "*.tfstate",
    "*.tfstate.*",
    ".history",
    ".*_history",
)
_SECRET_SPEC = pathspec.GitIgnoreSpec.from_lines(SECRET_NAMES)

# What a secret looks like inside a file: long and specific enough that code which only names
# a prefix ("ghp_", "AKIA", a PEM header it parses) is not taken for one. A private key block
# counts only with a base64 body line after its header (64-70 characters, with a digit); a JWT
# does not count at all: libraries and their tests are full of sample tokens. Each pattern
# starts with a literal, which lets the regex engine skip ahead: about 2 ms per MB each, where
# one alternation of them all crawled at 2 MB/s.
_SECRET_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        # PEM, OpenSSH and PGP private keys, raw or in a string literal ("-----\nMIIE...").
        rb"-----BEGIN [A-Z0-9 ]{0,24}PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,400}?"
        rb"(?<![A-Za-z0-9+/])(?=[A-Za-z+/]{0,59}[0-9])[A-Za-z0-9+/]{60}",
        # AWS access key ids (but not the documentation's ...EXAMPLE) and Google API keys.
        rb"A(?:[KS]IA[0-9A-Z]{16}(?![0-9A-Za-z])(?<!EXAMPLE)|Iza[0-9A-Za-z_-]{35})",
        rb"gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9])",  # GitHub tokens, classic and fine-grained
        rb"github_pat_[A-Za-z0-9_]{60,}",
        rb"glpat-[A-Za-z0-9_-]{20,}",  # GitLab
        rb"xox[abposr]-[0-9]{6,}-[0-9A-Za-z-]{10,}",  # Slack tokens, then Slack webhooks
        rb"hooks\.slack\.com/services/T[0-9A-Z]{6,}/B[0-9A-Z]{6,}/[0-9A-Za-z]{20,}",
        # Stripe live keys, Anthropic keys, OpenAI keys ("T3BlbkFJ" is "OpenAI" in base64).
        rb"sk(?:_live_[0-9A-Za-z]{20,}|-ant-[a-z]+[0-9]{2}-[A-Za-z0-9_-]{80,}"
        rb"|-[A-Za-z0-9_-]{0,200}T3BlbkFJ[A-Za-z0-9_-]{20,})",
        rb"rk_live_[0-9A-Za-z]{20,}",
        rb"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])",
        rb"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
    )
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
    # Globs left out because they do not compile, one line each (the caller shows them once).
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


@dataclass(frozen=True, slots=True)
class BadGlob:
    """A glob pathspec cannot compile, though git may take it (`[z-a]` matches nothing there)."""

    line: int  # 1-based
    pattern: str
    reason: str


def compile_globs(lines: Sequence[str]) -> tuple[pathspec.GitIgnoreSpec, list[BadGlob]]:
    """Gitignore-style lines as one spec, without (and naming) those that do not compile.

    One bad line must cost that line only, never every other rule of its file.
    """
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines), []
    except (re.error, ValueError, TypeError):
        pass
    good: list[str] = []
    bad: list[BadGlob] = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, str):
            bad.append(BadGlob(number, repr(line), "not a string"))
            continue
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except (re.error, ValueError) as error:
            bad.append(BadGlob(number, line, getattr(error, "msg", None) or str(error)))
        else:
            good.append(line)
    return pathspec.GitIgnoreSpec.from_lines(good), bad


def inside_root(root: Path, path: Path) -> bool:
    """Whether `path`, every symlink on it followed, lies in the resolved `root`.

    The one test between a path and the index: a link in a root may lead anywhere.
    """
    resolved = _resolved(Path(path))
    return resolved is not None and resolved.is_relative_to(root)


def check_root(root: Path) -> None:
    """FindcodeError unless `root` is a folder (or missing: the walk counts that)."""
    if Path(root).exists() and not Path(root).is_dir():
        raise FindcodeError(
            f"{root} is a file, not a folder: give its folder as the root (and the path filter "
            f"{Path(root).name!r} to search this file alone)"
        )


_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs", "testdata"})
_TEST_FILE = re.compile(
    r"(^test_.*\.py$|_test\.(py|go)$|^conftest\.py$|\.(test|spec)\.[cm]?[jt]sx?$|Tests?\.(java|kt|cs)$)"
)


def is_test_path(rel: str) -> bool:
    """A test file by the usual conventions: tests describe code, they are not what is sought."""
    parts = PurePosixPath(rel).parts
    if not parts:
        return False
    return bool(_TEST_FILE.search(parts[-1])) or any(p.lower() in _TEST_DIRS for p in parts[:-1])


def walk(roots: Sequence[Path], settings: Settings) -> WalkResult:
    """Every indexable file under `roots` (roots in order, folders depth-first by name) and the
    count of skipped files by reason. A root that is a file yields that file alone."""
    result = WalkResult()
    for root in roots:
        root = Path(root).resolve()
        _Walker(root, settings, result).run()
    return result


def is_excluded(root: Path, path: Path, settings: Settings) -> bool:
    """Whether the walk would leave `path` out by its name or where it leads (ignores, excludes,
    secrets, languages, a link out of the root, the index folder, a name that is not UTF-8).

    For single-file updates (watcher events, saves) where walking everything would be waste.
    Content checks (binary, size, minified, secret content) are read_source's job.
    """
    root = Path(root).resolve()
    path = Path(os.path.abspath(path))
    resolved = _resolved(path)
    if resolved is None or not resolved.is_relative_to(root):
        return True
    if any(resolved.is_relative_to(folder) for folder in _index_folders(root, settings.index_dir)):
        return True
    try:
        rel_parts = path.relative_to(root).parts
    except ValueError:  # reached through another name of the root
        rel_parts = resolved.relative_to(root).parts
    if not rel_parts:
        return False
    if not all(_utf8(part) for part in rel_parts):
        return True
    fixed, _ = _fixed_spec(settings.exclude)
    directory = root
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    for depth, part in enumerate(rel_parts):
        specs.extend(_gitignore_at(directory, "/".join(rel_parts[:depth]))[0])
        rel = "/".join(rel_parts[: depth + 1])
        is_dir = depth < len(rel_parts) - 1
        if _ignored(rel, is_dir, fixed, specs):
            return True
        directory = directory / part
        if is_dir and (directory / "pyvenv.cfg").is_file():
            return True
    if _SECRET_SPEC.match_file("/".join(rel_parts)) and not path.is_dir():
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
    reason = content_problem(data) or ("secret" if holds_secret(data) else None)
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


def holds_secret(data: bytes) -> bool:
    """Whether a file's bytes hold a private key or a well-known token, anywhere: read_source
    asks, on the files it reads, rather than the walk, which would pay for it on every file at
    every scan (a 20,000-file tree: seconds per `findcode search`)."""
    return any(pattern.search(data) for pattern in _SECRET_PATTERNS)


def _resolved(path: Path) -> Path | None:
    """`path` with every symlink followed; None for a symlink loop."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError on a loop
        return None


def _utf8(name: str) -> bool:
    """False for a name with bytes that are not UTF-8 (os.fsdecode keeps them as surrogates):
    SQLite, JSON and LSP URIs all need text, and a lossy copy of the name would not open."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=64)
def _index_folders(root: Path, index_dir: Path | None) -> tuple[Path, ...]:
    """findcode's own folders that lie inside `root` (`--index-dir` in a checkout): the base of
    all indexes and this root's index. Walking them would index the index at every run."""
    base = index_base(index_dir).resolve()
    folders = (base, base / index_dir_for(root, index_dir).name)
    return tuple(f for f in folders if f != root and f.is_relative_to(root))


def _language_allowed(name: str, settings: Settings) -> bool:
    if settings.languages is None:
        return True
    return (language_for_path(name) or "text") in settings.languages


@lru_cache(maxsize=64)
def _fixed_spec(user_excludes: tuple[str, ...]) -> tuple[pathspec.GitIgnoreSpec, tuple[str, ...]]:
    """The built-in and user excludes as one spec, and a warning per user glob left out."""
    spec, bad = compile_globs([*BUILTIN_EXCLUDES, *user_excludes])
    warnings = tuple(
        f"exclude glob {glob.pattern!r} cannot be used ({glob.reason}); it is skipped"
        for glob in bad
    )
    return spec, warnings


def _gitignore_at(
    directory: Path, rel_dir: str
) -> tuple[list[tuple[str, pathspec.GitIgnoreSpec]], tuple[str, ...]]:
    """The .gitignore of one folder as [(its root-relative path, spec)] ([] if none or
    unreadable), and a warning per line left out."""
    path = directory / ".gitignore"
    try:
        info = path.stat()
    except OSError:
        return [], ()
    parsed = _parsed_gitignore(str(path), info.st_mtime_ns, info.st_size)
    if parsed is None:
        return [], ()
    return [(rel_dir, parsed[0])], parsed[1]


@lru_cache(maxsize=256)
def _parsed_gitignore(
    path: str, mtime_ns: int, size: int
) -> tuple[pathspec.GitIgnoreSpec, tuple[str, ...]] | None:
    """Parsed once per version of the file: every watcher event and every save asks again for
    each folder on its path, and a git checkout sends thousands."""
    try:
        lines = Path(path).read_text("utf-8", "replace").splitlines()
    except OSError:
        return None
    spec, bad = compile_globs(lines)
    warnings = tuple(
        f"{path}:{glob.line}: cannot use the pattern {glob.pattern!r} ({glob.reason}); "
        "it is skipped"
        for glob in bad
    )
    return spec, warnings


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
        self.fixed, warnings = _fixed_spec(settings.exclude)
        for warning in warnings:
            result.warn(warning)
        self.index_keys: set[tuple[int, int]] = set()
        for folder in _index_folders(root, settings.index_dir):
            try:
                info = os.stat(folder)
            except OSError:
                continue
            self.index_keys.add((info.st_dev, info.st_ino))

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
        own, warnings = _gitignore_at(directory, rel_dir)
        for warning in warnings:
            self.result.warn(warning)
        specs = specs + own
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
        if not _utf8(entry.name):
            self.result.skipped["name_not_utf8"] += 1
            return
        if entry.is_symlink():
            target = _resolved(path)
            if target is None:
                self.result.skipped["symlink_loop"] += 1
                return
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
            if key in self.index_keys:  # also when reached through a link
                self.result.skipped["ignored"] += 1
                return
            if key in ancestors:
                self.result.skipped["symlink_loop"] += 1
                return
            self._walk_dir(path, rel, specs, ancestors | {key})
        elif entry.is_file():
            self._consider_file(path, rel)
        else:
            self.result.skipped["unreadable"] += 1  # sockets, FIFOs, devices

    def _consider_file(self, path: Path, rel: str) -> None:
        if _SECRET_SPEC.match_file(rel):
            self.result.skipped["secret"] += 1
            return
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

"""The training sources: a few large, well-documented code bases, each one pinned package.

Every source is checked before it is mined: a Debian package by the sha256 of its .deb (got
with `apt-get download`, so apt's own mirror and signature checks apply); the running Python's
standard library and the npm packages under editors/vscode/node_modules (installed by `npm ci`,
which checks their lock-file integrity) by a digest of the folders mined (`tree_digest`),
because neither is one archive here. A mismatch stops the miner: the pairs, and so the trained
model, come from exactly the recorded text. bench/train/SOURCES.md says the same for people.

Nothing here may overlap what an evaluation reads: EXCLUDED names the packages bench/quality
and the natural-query tables use or may use; a mined path through one of them is refused, and
the miner also drops every pair whose code occurs in bench/quality's corpora.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from findcode.symbols import language_for_path

from bench.quality.fetch import sha256, unpack_once, unpacked
from bench.train import CACHE

DOWNLOADS = CACHE / "downloads"
UNPACKED = CACHE / "src"
NODE_MODULES = Path(__file__).resolve().parents[2] / "editors" / "vscode" / "node_modules"

# Packages an evaluation could use: never training data, whatever a source tree vendors.
EXCLUDED = frozenset(
    {
        *("rich", "click", "requests", "attrs", "flask", "django", "httpx", "pydantic"),
        *("lodash", "lodash-es", "ramda", "express", "react"),
        *("gin", "cobra", "echo", "serde", "serde_json", "tokio", "clap"),
    }
)
# Written by the interpreter or by pip at run time: not part of a pinned tree.
_UNPINNED_DIRS = frozenset({"__pycache__", "site-packages"})


@dataclass(frozen=True, slots=True)
class Source:
    """One code base: where it comes from, how it is pinned, which folders are mined."""

    name: str
    kind: str  # "deb" (apt-get download), "python" (this interpreter), "npm" (node_modules)
    package: str
    version: str
    # The .deb's sha256 ("deb"), or tree_digest of the mined folders ("python", "npm").
    sha256: str
    roots: tuple[str, ...]  # folders to mine: in the unpacked package, the stdlib, node_modules
    exclude: tuple[str, ...] = ()  # gitignore-style globs, added to findcode's own excludes
    archive_member: str = ""  # "deb" only: a zip inside the package that holds the roots
    integrity: str = ""  # "npm" only: the package-lock.json integrity npm checked
    notes: str = ""


SOURCES = (
    Source(
        name="python-stdlib",
        kind="python",
        package="CPython standard library (the interpreter running findcode)",
        version="3.11.7",
        sha256="c0cfe12e181ed0a993dabf528c488faaaa198dc815d311edd1158e543d7838b5",
        roots=(".",),
        # The miner leaves tests out by name; these are the stdlib's other non-library trees.
        exclude=("site-packages/", "idlelib/idle_test/", "lib2to3/tests/", "config-3.11-*/"),
    ),
    Source(
        name="go-stdlib",
        kind="deb",
        package="golang-1.19-src",
        version="1.19.8-2",
        sha256="2dfa82fe4f08f4e0193c532e561af4c91871f5235608f04f2bb8d57bb288df5a",
        roots=("usr/share/go-1.19/src",),
        # cmd/ is the toolchain and vendor/ is golang.org/x copied in: the library is the rest.
        exclude=("/cmd/", "vendor/"),
    ),
    Source(
        name="rust-std",
        kind="deb",
        package="rust-src",
        version="1.63.0+dfsg1-2",
        sha256="410b8c6d464cabbe5fb3154ab8c3d374980dd597fbe7e3b7bb3ed8dd1bf11e25",
        roots=tuple(f"usr/src/rustc-1.63.0/library/{crate}" for crate in ("core", "alloc", "std")),
        exclude=("benches/",),
        notes="core, alloc and std: stdarch's thousands of near-identical SIMD intrinsics "
        "would swamp the rest",
    ),
    Source(
        name="jdk",
        kind="deb",
        package="openjdk-17-source",
        version="17.0.21.1+2-1~deb12u1",
        sha256="5106aa3881e3b49568823ebdfc3755d4043f6f53bbfc996d0efee03172dc0a9b",
        archive_member="usr/lib/jvm/openjdk-17/lib/src.zip",
        roots=(
            "java.base",
            "java.net.http",
            "java.sql",
            "java.logging",
            "java.prefs",
            "java.management",
            "jdk.httpserver",
        ),
        notes="the general-purpose modules of src.zip (no AWT/Swing, no XML parser internals)",
    ),
    Source(
        name="eslint",
        kind="npm",
        package="eslint",
        version="9.39.1",
        sha256="cd366d340ac82cca055c3d232a767eae69c14aa4dba992194d920e54e9873a7f",
        roots=("eslint/lib",),
        integrity="sha512-BhHmn2yNOFA9H9JmmIVKJmd288g9hrVRDkdoIgRCRuSySRUHH7r/DI6aAXW9T1WwUuY3DFgrcaqB+deURBLR5g==",
    ),
    Source(
        name="undici",
        kind="npm",
        package="undici",
        version="7.30.2",
        sha256="7abfc62d8ef196c3f99d4407c1a39713e8dc978532d9f5925d93d6a63d1b2c68",
        roots=("undici/lib",),
        integrity="sha512-mLyPQnHwUxaM/rideoK/+KL8DaAJLRl4aBCfmX444aCSLnIaomqPLtNRe2jdCYcsk5wZzXrDIQC8ZeYNRAYyIA==",
    ),
    Source(
        name="typescript",
        kind="npm",
        package="typescript",
        version="5.9.3",
        sha256="26c1aa841ef50a16f8a5ab8c1bd90c8502e83d3ffee8344b10d43df7de1c547a",
        roots=("typescript/lib",),
        # Translated diagnostic messages, one folder per locale: no code.
        exclude=("/*/",),
        integrity="sha512-jl1vZzPDinLr9eUt3J/t7V6FgNEw9QjvBPdysz9KfQDD41fQrC2Y4vKQdiaUpFT4bXlb1RHhLpp8wtm6M5TgSw==",
        notes="lib/: the compiler (bundled JavaScript, files over 1 MB skipped as findcode "
        "skips them) and the standard library's declarations (.d.ts, JSDoc from MDN)",
    ),
    Source(
        name="puppeteer-core",
        kind="npm",
        package="puppeteer-core",
        version="24.9.0",
        sha256="a9a307ec103401e4a8879bc4a0df90b73439924a3e04daf114de2f443ee80aaf",
        roots=("puppeteer-core/src",),
        integrity="sha512-HFdCeH/wx6QPz8EncafbCqJBqaCG1ENW75xg3cLFMRUoqZDgByT6HSueiumetT2uClZxwqj0qS4qMVZwLHRHHw==",
        notes="src/: the TypeScript sources the package ships beside its build",
    ),
)


def by_name(names: list[str] | None) -> tuple[Source, ...]:
    """The sources asked for, in table order; all of them when `names` is empty."""
    if not names:
        return SOURCES
    known = {source.name: source for source in SOURCES}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown source {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(known[name] for name in names)


def tree_digest(folders: list[Path]) -> str:
    """sha256 over every source file (a language findcode parses) under `folders`: its path
    relative to its folder's parent, NUL, its own sha256, newline; in sorted order.

    Source files only: the stdlib folder also holds files Python writes at run time (byte
    code, lib2to3's grammar pickles), and pip writes site-packages."""
    entries: list[tuple[str, Path]] = []
    for folder in folders:
        base = folder.resolve()
        for directory, dirs, names in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d not in _UNPINNED_DIRS)
            for name in names:
                path = Path(directory) / name
                if language_for_path(name) and path.is_file() and not path.is_symlink():
                    rel = PurePosixPath(base.name, path.relative_to(base).as_posix())
                    entries.append((str(rel), path))
    digest = hashlib.sha256()
    for rel, path in sorted(entries):
        digest.update(f"{rel}\0{sha256(path)}\n".encode())
    return digest.hexdigest()


def folders(source: Source) -> list[Path]:
    """The folders to mine, fetched, unpacked and verified first."""
    if source.kind == "python":
        base = Path(sysconfig.get_path("stdlib"))
        found = [base / root for root in source.roots]
    elif source.kind == "npm":
        if not NODE_MODULES.is_dir():
            raise SystemExit(f"{NODE_MODULES} is missing: run `cd editors/vscode && npm ci`")
        found = [NODE_MODULES / root for root in source.roots]
    elif source.kind == "deb":
        base = _unpack_deb(source)
        found = [base / root for root in source.roots]
    else:
        raise ValueError(f"unknown source kind {source.kind!r}")
    for folder in found:
        parts = {part.lower() for part in folder.parts}
        if parts & EXCLUDED or not folder.is_dir():
            raise SystemExit(f"{source.name}: {folder} is excluded or missing")
    if source.kind != "deb":
        actual = tree_digest(found)
        if actual != source.sha256:
            raise SystemExit(
                f"{source.name}: the mined tree's digest is {actual}, not the pinned "
                f"{source.sha256}: a different {source.package} {source.version} is installed"
            )
    return found


def _unpack_deb(source: Source) -> Path:
    """The package unpacked once per verified .deb (and its inner zip, if any)."""
    dest = UNPACKED / source.name
    if unpacked(dest, source.sha256):
        return dest
    archive = _download_deb(source)

    def extract(folder: Path) -> None:
        subprocess.run(["dpkg-deb", "-x", str(archive), str(folder)], check=True)
        if source.archive_member:
            inner = folder / source.archive_member
            with zipfile.ZipFile(inner) as zipped:
                members = [m for m in zipped.namelist() if m.split("/", 1)[0] in source.roots]
                zipped.extractall(folder, members)
            inner.unlink()

    unpack_once(dest, source.sha256, extract)
    return dest


def _download_deb(source: Source) -> Path:
    """The .deb through apt (its configured mirror), downloaded once, verified every time."""
    spec = f"{source.package}={source.version}"
    found = _deb_in_downloads(source)
    if found is None:
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["apt-get", "download", spec], cwd=DOWNLOADS, capture_output=True, text=True
        )
        found = _deb_in_downloads(source)
        if done.returncode != 0 or found is None:
            raise SystemExit(
                f"apt-get download {spec} failed (try `apt-get update` first):\n{done.stderr}"
            )
    actual = sha256(found)
    if actual != source.sha256:
        raise SystemExit(f"{found}: sha256 {actual} is not the pinned {source.sha256}")
    return found


def _deb_in_downloads(source: Source) -> Path | None:
    # apt names the file package_version_arch.deb with the epoch's ":" escaped as "%3a".
    version = source.version.replace(":", "%3a")
    matches = sorted(DOWNLOADS.glob(f"{source.package}_{version}_*.deb"))
    return matches[0] if matches else None

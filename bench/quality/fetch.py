"""Download the pinned corpora with each registry's own client, check sha256, unpack.

    python -m bench.quality.fetch [CORPUS ...]     # every corpus of both tables when none is named

pip, npm and apt-get resolve the registry (and any mirror or proxy configured for them), so
nothing here knows a URL. Archives land in bench/.cache/quality/downloads, sources in
bench/.cache/quality/src/<name>; both are git-ignored and reused on the next run.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.quality.corpora import CORPORA, NATURAL_CORPORA, Corpus, by_name

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "quality"
DOWNLOADS = CACHE / "downloads"
SOURCES = CACHE / "src"


def download_command(corpus: Corpus, dest: Path) -> list[str]:
    spec = f"{corpus.package}=={corpus.version}"
    if corpus.registry == "pypi":
        return ["pip", "download", "--no-deps", "--no-binary", ":all:", spec, "-d", str(dest)]
    if corpus.registry == "npm":
        spec = f"{corpus.package}@{corpus.version}"
        return ["npm", "pack", spec, "--pack-destination", str(dest)]
    if corpus.registry == "deb":
        return ["apt-get", "download", f"{corpus.package}={corpus.version}"]
    raise ValueError(f"unknown registry {corpus.registry!r}")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(corpus: Corpus) -> Path:
    """The corpus archive, downloaded once and verified every time."""
    archive = DOWNLOADS / corpus.filename
    if not archive.is_file():
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        command = download_command(corpus, DOWNLOADS)
        print(f"fetch: {' '.join(command)}", file=sys.stderr)
        done = subprocess.run(command, cwd=DOWNLOADS, capture_output=True, text=True)
        if done.returncode != 0 or not archive.is_file():
            hint = " (try `apt-get update` first)" if corpus.registry == "deb" else ""
            raise SystemExit(f"fetch {corpus.name} failed{hint}:\n{done.stdout}{done.stderr}")
    actual = sha256(archive)
    if actual != corpus.sha256:
        raise SystemExit(
            f"{archive}: sha256 {actual} is not the pinned {corpus.sha256}; delete it and re-fetch"
        )
    return archive


def unpack(corpus: Corpus, archive: Path) -> Path:
    """The corpus's source folder, unpacked once per verified archive."""

    def extract(folder: Path) -> None:
        if corpus.registry == "deb":
            subprocess.run(["dpkg-deb", "-x", str(archive), str(folder)], check=True)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(folder, filter="data")

    unpack_once(SOURCES / corpus.name, corpus.sha256, extract)
    return SOURCES / corpus.name / corpus.subdir


def unpack_once(dest: Path, digest: str, extract: Callable[[Path], None]) -> None:
    """`extract` into `dest`, unless `dest` already holds what the archive of `digest` gave.

    It extracts into a folder of this process's own, stamps it and renames it into place: an
    interrupted unpack never looks finished, and two at once (bench.train mine fetches these
    corpora too) never delete or fill each other's folder; the first to finish is kept.
    """
    if unpacked(dest, digest):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f"{dest.name}.partial-"))
    try:
        extract(partial)
        (partial / ".sha256").write_text(digest)
        if not unpacked(dest, digest):
            shutil.rmtree(dest, ignore_errors=True)  # stale: another version, or damaged
            try:
                partial.rename(dest)
            except OSError:
                if not unpacked(dest, digest):  # not another unpack finishing first
                    raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def unpacked(dest: Path, digest: str) -> bool:
    """`dest` holds a whole unpack of the archive whose sha256 is `digest`."""
    stamp = dest / ".sha256"
    return stamp.is_file() and stamp.read_text() == digest


def fetch(corpus: Corpus) -> Path:
    """Download (if needed), verify and unpack one corpus; return the folder to index."""
    return unpack(corpus, download(corpus))


def main(argv: list[str] | None = None) -> int:
    names = sys.argv[1:] if argv is None else argv
    for corpus in by_name(names, CORPORA + NATURAL_CORPORA):
        print(f"{corpus.name}: {fetch(corpus)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

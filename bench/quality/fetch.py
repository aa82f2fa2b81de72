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
    dest = SOURCES / corpus.name
    if _unpacked(dest, corpus):
        return dest / corpus.subdir
    SOURCES.mkdir(parents=True, exist_ok=True)
    # Unpack into a folder of this process's own, then rename it into place: an interrupted
    # unpack never looks finished, and two fetches at once (bench.train mine fetches these
    # corpora too) never delete or fill each other's folder.
    partial = Path(tempfile.mkdtemp(dir=SOURCES, prefix=f"{corpus.name}.partial-"))
    try:
        if corpus.registry == "deb":
            subprocess.run(["dpkg-deb", "-x", str(archive), str(partial)], check=True)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(partial, filter="data")
        (partial / ".sha256").write_text(corpus.sha256)
        if not _unpacked(dest, corpus):
            shutil.rmtree(dest, ignore_errors=True)  # stale: another version, or damaged
            try:
                partial.rename(dest)
            except OSError:
                if not _unpacked(dest, corpus):  # not another fetch finishing first
                    raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return dest / corpus.subdir


def _unpacked(dest: Path, corpus: Corpus) -> bool:
    stamp = dest / ".sha256"
    return stamp.is_file() and stamp.read_text() == corpus.sha256


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

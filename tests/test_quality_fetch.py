"""bench/quality's corpora are unpacked whole, even when two fetches run at once (bench.train
mine fetches them while `python -m bench.quality.fetch` may): each unpacks into a folder of its
own and the first to finish is kept. A small tar archive of real files stands in for a registry
download (unpack only reads the archive)."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from bench.quality import fetch
from bench.quality.corpora import Corpus


def _archive(folder: Path, files: int) -> tuple[Path, str]:
    path = folder / "pkg-1.0.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for number in range(files):
            data = f"export function f{number}() {{ return {number}; }}\n".encode()
            info = tarfile.TarInfo(f"package/lib/f{number}.js")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_fetches_at_once_both_get_the_whole_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, digest = _archive(tmp_path, files=50)
    corpus = Corpus("pkg", "javascript", "npm", "pkg", "1.0", archive.name, digest, "package/lib")
    monkeypatch.setattr(fetch, "SOURCES", tmp_path / "src")
    extract = tarfile.TarFile.extractall
    results: list[Path] = []

    def extract_with_another_fetch_midway(self: tarfile.TarFile, *args, **kwargs) -> None:
        if not results:  # the outer fetch: the other one starts and finishes in the middle
            results.append(Path())
            results.append(fetch.unpack(corpus, archive))
        extract(self, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "extractall", extract_with_another_fetch_midway)
    outer = fetch.unpack(corpus, archive)
    inner = results[1]
    assert outer == inner == tmp_path / "src" / "pkg" / "package" / "lib"
    assert len(list(outer.glob("*.js"))) == 50
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == ["pkg"], "no partial left"


def test_a_damaged_unpack_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive, digest = _archive(tmp_path, files=5)
    corpus = Corpus("pkg", "javascript", "npm", "pkg", "1.0", archive.name, digest, "package/lib")
    monkeypatch.setattr(fetch, "SOURCES", tmp_path / "src")
    stale = tmp_path / "src" / "pkg" / "package" / "lib"
    stale.mkdir(parents=True)
    (stale / "f0.js").write_text("half")  # no stamp: an unpack that never finished
    assert len(list(fetch.unpack(corpus, archive).glob("*.js"))) == 5

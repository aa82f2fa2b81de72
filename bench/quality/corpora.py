"""The pinned corpora: real, well-documented code nobody on this project wrote.

Each comes from a package registry at a fixed version, checked by sha256, so every run scores
the same text. `subdir` picks the library's own sources inside the archive (not its docs,
tests or bundled copies), which is what a person working on that library would index.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Corpus:
    name: str
    language: str
    registry: str  # "pypi" (sdist), "npm" (npm pack tarball) or "deb" (Debian binary package)
    package: str
    version: str
    filename: str  # what the registry client saves
    sha256: str
    subdir: str  # inside the unpacked archive


CORPORA = (
    Corpus(
        name="requests",
        language="python",
        registry="pypi",
        package="requests",
        version="2.32.3",
        filename="requests-2.32.3.tar.gz",
        sha256="55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760",
        subdir="requests-2.32.3/src",
    ),
    Corpus(
        name="attrs",
        language="python",
        registry="pypi",
        package="attrs",
        version="24.2.0",
        filename="attrs-24.2.0.tar.gz",
        sha256="5cfb1b9148b5b086569baec03f20d7b6bf3bcacc9a42bebf87ffaaca362f6346",
        subdir="attrs-24.2.0/src",
    ),
    # ramda was the first choice for JavaScript, but its functions are `var add =
    # _curry2(function add(...))`, which the JavaScript tags query does not take as symbols;
    # lodash-es documents plain function declarations with JSDoc.
    Corpus(
        name="lodash-es",
        language="javascript",
        registry="npm",
        package="lodash-es",
        version="4.17.21",
        filename="lodash-es-4.17.21.tgz",
        sha256="777598ac703f02b403ef678cd11bce2150ad788f35c774ea7c9cc241a892cb7b",
        subdir="package",
    ),
    Corpus(
        name="cobra",
        language="go",
        registry="deb",
        package="golang-github-spf13-cobra-dev",
        version="1.6.1-1",
        filename="golang-github-spf13-cobra-dev_1.6.1-1_all.deb",
        sha256="4f5d20855133319beef3c5b49d3c21a0406f270bf94fb4b6f4d406b691283cb2",
        subdir="usr/share/gocode/src/github.com/spf13/cobra",
    ),
)


# The natural-query table's corpora (bench/quality/natural.py): questions written by hand, see
# bench/quality/queries/. None of them is in the table above or among the training sources
# (bench/train/SOURCES.md), and each is indexed as published, docstrings kept. express was the
# first choice for JavaScript, but its lib/ gives only 39 symbols (`app.use = function use()`
# assignments are not symbols); axios's lib/ is plain functions and classes.
NATURAL_CORPORA = (
    Corpus(
        name="flask",
        language="python",
        registry="pypi",
        package="flask",
        version="3.0.3",
        filename="flask-3.0.3.tar.gz",
        sha256="ceb27b0af3823ea2737928a4d99d125a06175b8512c445cbd9a9ce200ef76842",
        subdir="flask-3.0.3/src",
    ),
    Corpus(
        name="gin",
        language="go",
        registry="deb",
        package="golang-github-gin-gonic-gin-dev",
        version="1.8.1-1",
        filename="golang-github-gin-gonic-gin-dev_1.8.1-1_all.deb",
        sha256="66d916769bcd36a6722b0c92a81719b8faca56f69662b17d1ef7ba257c85367a",
        subdir="usr/share/gocode/src/github.com/gin-gonic/gin",
    ),
    Corpus(
        name="axios",
        language="javascript",
        registry="npm",
        package="axios",
        version="1.7.9",
        filename="axios-1.7.9.tgz",
        sha256="634e3ed585d7c8857f00cb7556f79422614e8defd008f8bb34b6018c1faefa0f",
        subdir="package/lib",
    ),
)


def by_name(names: list[str] | None, corpora: tuple[Corpus, ...] = CORPORA) -> tuple[Corpus, ...]:
    """The corpora asked for out of `corpora`, in table order; all of them when `names` is empty."""
    if not names:
        return corpora
    known = {corpus.name: corpus for corpus in corpora}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown corpus {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(known[name] for name in names)

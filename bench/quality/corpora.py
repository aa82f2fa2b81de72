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


def by_name(names: list[str] | None) -> tuple[Corpus, ...]:
    """The corpora asked for, in table order; all of them when `names` is empty."""
    if not names:
        return CORPORA
    known = {corpus.name: corpus for corpus in CORPORA}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown corpus {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(known[name] for name in names)

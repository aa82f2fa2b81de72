"""The second quality table: questions a developer new to the code would ask, written by hand.

    python -m bench.quality                  # both tables, every model (this one second)
    python -m bench.quality.natural [--corpus NAME ...]   # only check every query's targets

The mined table (python -m bench.quality) asks each function's own docstring sentence, in the
code's own words. These questions are written the other way round: by reading a corpus's code,
then phrasing the need as someone who has not read it would ("stop the middleware chain with
401"), each written before any search and never edited after one. Each has one to three
acceptable answers. The corpus is indexed as published, docstrings kept, as a user would index
it. Every corpus also has questions whose answer is not in it at all (no-answer queries): their
top hits, beside the answerable ones', are what a "no close match" threshold is calibrated on.

The questions live in bench/quality/queries/<corpus>.json:

    {"corpus": "gin",
     "queries": [{"query": "...", "targets": [{"path": "auth.go", "name": "BasicAuthForRealm"}]}],
     "no_answer": ["..."]}

A target is a path relative to the corpus folder and a symbol's qualified name (or plain name)
as `findcode symbols FILE` prints it, plus "line" (its first line) where two symbols of one
file share the name. The check resolves every target against the pinned corpus and fails
naming each one that does not resolve to exactly one symbol.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from findcode.config import Settings
from findcode.embedder import Embedder
from findcode.engine import Engine, Hit
from findcode.evaluation import (
    MODES,
    K,
    Located,
    Summary,
    hit_rank,
    index_copy,
    search_hits,
    summarize,
)
from findcode.mining import read_repository
from findcode.symbols import Symbol, extract_symbols

from bench.quality import report
from bench.quality.corpora import NATURAL_CORPORA, Corpus, by_name
from bench.quality.fetch import CACHE, fetch
from bench.quality.naive import NaiveIndex

QUERIES = Path(__file__).resolve().parent / "queries"
WORK = CACHE / "natural-work"
MAX_TARGETS = 3


class QueryFileError(ValueError):
    """A query file that is malformed, or a target that does not name exactly one symbol."""


@dataclass(frozen=True, slots=True)
class Target:
    path: str  # relative to the corpus folder, posix
    name: str  # qualified name, or plain name when that is unique in the file
    line: int | None = None  # the symbol's first line, only to pick between namesakes

    def __str__(self) -> str:
        at = f" (line {self.line})" if self.line is not None else ""
        return f"{self.path}: {self.name}{at}"


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class QuerySet:
    """One corpus's hand-written questions: answerable ones and ones with no answer there."""

    corpus: str
    queries: tuple[Query, ...]
    no_answer: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Span:
    """Where a resolved target sits: a hit overlapping it, in the same file, counts."""

    rel: str
    start_line: int
    end_line: int


def query_file(corpus: str) -> Path:
    return QUERIES / f"{corpus}.json"


def load_queries(path: Path) -> QuerySet:
    """Parse a query file, checking its shape (targets are resolved by `check`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise QueryFileError(f"{path}: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("corpus"), str):
        raise QueryFileError(f"{path}: expected an object with a 'corpus' name")
    queries = tuple(_query(path, n, item) for n, item in enumerate(data.get("queries", []), 1))
    no_answer = data.get("no_answer", [])
    if not isinstance(no_answer, list) or not all(
        isinstance(text, str) and text.strip() for text in no_answer
    ):
        raise QueryFileError(f"{path}: 'no_answer' must be a list of non-empty strings")
    texts = [query.text for query in queries] + no_answer
    repeated = sorted({text for text in texts if texts.count(text) > 1})
    if repeated:
        raise QueryFileError(f"{path}: repeated queries: {repeated}")
    return QuerySet(data["corpus"], queries, tuple(no_answer))


def _query(path: Path, number: int, item: Any) -> Query:
    where = f"{path}: query {number}"
    if not isinstance(item, dict) or not isinstance(item.get("query"), str):
        raise QueryFileError(f"{where}: expected {{'query': text, 'targets': [...]}}")
    text = item["query"].strip()
    targets = item.get("targets")
    if not text:
        raise QueryFileError(f"{where}: empty query")
    if not isinstance(targets, list) or not 1 <= len(targets) <= MAX_TARGETS:
        raise QueryFileError(f"{where} ({text!r}): needs 1 to {MAX_TARGETS} targets")
    parsed = []
    for target in targets:
        line = target.get("line") if isinstance(target, dict) else None
        if (
            not isinstance(target, dict)
            or not isinstance(target.get("path"), str)
            or not isinstance(target.get("name"), str)
            or not (line is None or (isinstance(line, int) and line > 0))
        ):
            raise QueryFileError(f"{where} ({text!r}): bad target {target!r}")
        parsed.append(Target(target["path"], target["name"], line))
    if len(set(parsed)) != len(parsed):
        raise QueryFileError(f"{where} ({text!r}): a target is listed twice")
    return Query(text, tuple(parsed))


def resolve(target: Target, files: Mapping[str, str]) -> Span:
    """The one symbol `target` names in `files`, or QueryFileError saying why not."""
    if target.path not in files:
        raise QueryFileError(f"{target}: no such file in the corpus")
    symbols = extract_symbols(target.path, files[target.path])
    found = _named(symbols, target)
    if len(found) != 1:
        state = "no symbol" if not found else f"{len(found)} symbols"
        lines = ", ".join(str(symbol.start_line) for symbol in found)
        hint = f" (lines {lines}; add 'line')" if found else ""
        raise QueryFileError(f"{target}: {state} by that name{hint}")
    symbol = found[0]
    return Span(target.path, symbol.start_line, symbol.end_line)


def _named(symbols: list[Symbol], target: Target) -> list[Symbol]:
    found = [s for s in symbols if s.qualified_name == target.name]
    if not found:  # a plain name is enough when no symbol has it as its qualified name
        found = [s for s in symbols if s.name == target.name]
    if target.line is not None:
        found = [s for s in found if s.start_line == target.line]
    return found


def check(queries: QuerySet, files: Mapping[str, str]) -> list[tuple[Span, ...]]:
    """Every query's targets, resolved; one QueryFileError listing every bad target."""
    resolved, bad = [], []
    for query in queries.queries:
        spans = []
        for target in query.targets:
            try:
                spans.append(resolve(target, files))
            except QueryFileError as error:
                bad.append(f"{query.text!r}: {error}")
        resolved.append(tuple(spans))
    if bad:
        raise QueryFileError(f"{queries.corpus}: {len(bad)} bad targets:\n  " + "\n  ".join(bad))
    return resolved


def first_hit(results: Sequence[Located], spans: Sequence[Span], k: int = K) -> int | None:
    """1-based rank of the first result landing on any target, None when none of k does.

    Landing means the same file and overlapping lines, as in the mined table: a method found
    through its class, or a function through a nested helper, is found.
    """
    ranks = [rank for span in spans if (rank := hit_rank(results, span, k)) is not None]
    return min(ranks, default=None)


def open_corpus(
    corpus: Corpus, workdir: Path, *, settings: Settings, embedder: Embedder
) -> tuple[QuerySet, list[tuple[Span, ...]], Engine]:
    """A natural corpus indexed under `workdir` (embedding nothing a run before embedded), its
    queries and their resolved targets; the caller closes the engine."""
    queries = load_queries(query_file(corpus.name))
    files = read_repository(fetch(corpus), settings)
    targets = check(queries, files)
    engine, _seconds = index_copy(files, workdir, settings=settings, embedder=embedder)
    return queries, targets, engine


@dataclass(frozen=True, slots=True)
class Asked:
    """One query's answers in every mode, kept for calibrating a "no close match" cut-off."""

    query: str
    answerable: bool
    ranks: dict[str, int | None]  # mode -> rank of the first hit on a target (None: missed)
    hits: dict[str, list[Hit]]  # mode -> the top K hits, each with its score


@dataclass(frozen=True, slots=True)
class NaturalEvaluation:
    """What `evaluate_natural` measured on one corpus."""

    corpus: Corpus
    files: int
    symbols: int
    summaries: dict[str, Summary]  # mode (lexical, semantic, hybrid, naive) -> figures
    ranks: dict[str, list[int | None]]  # mode -> target rank per answerable query, file order
    asked: list[Asked]  # every answerable query (file order), then every no-answer one
    index_seconds: float

    @property
    def answerable(self) -> list[Asked]:
        return [asked for asked in self.asked if asked.answerable]

    @property
    def no_answer(self) -> list[Asked]:
        return [asked for asked in self.asked if not asked.answerable]

    def result(self, model: str) -> report.CorpusResult:
        """The row group bench/quality/report.py prints in the natural table."""
        return report.CorpusResult(
            table=report.NATURAL,
            model=model,
            name=self.corpus.name,
            language=self.corpus.language,
            files=self.files,
            symbols=self.symbols,
            summaries=self.summaries,
        )


def evaluate_natural(
    corpus: Corpus,
    root: Path,
    workdir: Path,
    *,
    settings: Settings,
    embedder: Embedder | None = None,
    seed: int = 0,
    log: Callable[[str], None] = lambda _message: None,
    naive: bool = True,
    queries: QuerySet | None = None,
) -> NaturalEvaluation:
    """Index `root` as it is under `workdir` and ask the corpus's hand-written queries.

    Every mode answers every query, the no-answer ones included; the summaries cover the
    answerable ones. `workdir` holds the copy (workdir/tree) and its index (workdir/index), so
    a second run embeds nothing it embedded before. The naive reference row needs `embedder`
    (and `naive`); without one, the Engine loads the model named by `settings` itself.
    """
    queries = queries or load_queries(query_file(corpus.name))
    files = read_repository(root, settings)
    targets = check(queries, files)
    texts = [query.text for query in queries.queries] + list(queries.no_answer)
    engine, index_seconds = index_copy(files, workdir, settings=settings, embedder=embedder)
    try:
        log(f"indexed {len(files)} files in {index_seconds:.1f}s")
        hits = {mode: [search_hits(engine, mode, text) for text in texts] for mode in MODES}
    finally:
        engine.close()
    answerable = len(queries.queries)
    ranks = {
        mode: [
            first_hit(found, spans)
            for found, spans in zip(hits[mode][:answerable], targets, strict=True)
        ]
        for mode in MODES
    }
    if naive and embedder is not None:
        index = NaiveIndex(embedder, files)
        ranks[report.NAIVE] = [
            first_hit(index.search(query.text, K), spans)
            for query, spans in zip(queries.queries, targets, strict=True)
        ]
    asked = [
        Asked(
            query=text,
            answerable=n < answerable,
            ranks={mode: ranks[mode][n] for mode in MODES} if n < answerable else {},
            hits={mode: hits[mode][n] for mode in MODES},
        )
        for n, text in enumerate(texts)
    ]
    return NaturalEvaluation(
        corpus=corpus,
        files=len(files),
        symbols=sum(len(extract_symbols(rel, text)) for rel, text in files.items()),
        summaries={mode: summarize(mode, found, seed=seed) for mode, found in ranks.items()},
        ranks=ranks,
        asked=asked,
        index_seconds=index_seconds,
    )


# -- the command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.quality.natural", description="Check every query's targets."
    )
    parser.add_argument("--corpus", action="append", help="only this corpus (repeatable)")
    args = parser.parse_args(argv)
    return _check_all(by_name(args.corpus, NATURAL_CORPORA), Settings())


def _check_all(corpora: Sequence[Corpus], settings: Settings) -> int:
    failed = False
    for corpus in corpora:
        try:
            queries = load_queries(query_file(corpus.name))
            spans = check(queries, read_repository(fetch(corpus), settings))
        except QueryFileError as error:
            print(error, file=sys.stderr)
            failed = True
            continue
        print(
            f"{corpus.name}: {len(queries.queries)} queries, "
            f"{sum(map(len, spans))} targets resolve; {len(queries.no_answer)} no-answer"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A query in, ranked symbols out: dense k-NN and bm25, fused by reciprocal rank.

The two halves fail differently. The embedding finds "retry with backoff" in a function
called `_again` whose body sleeps and loops; bm25 over identifier words finds `parseHeader`
for "parse header" even when the model misreads it. Reciprocal-rank fusion needs no score
calibration between them: each list votes 1/(k + rank) for its candidates. Every number that
shapes the ranking lives in `Ranking`, one frozen object, so tuning is one edit.

This module is pure: it ranks candidate lists and formats snippets; engine.py gathers the
candidates from each root's store and vector index.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, TypeVar

import pathspec

from findcode.config import SEARCH_MODES
from findcode.errors import QueryError
from findcode.store import identifier_words
from findcode.symbols import KINDS, LANGUAGES
from findcode.workspace import compile_globs, is_test_path

# Longer queries are pasted code or logs; the model reads a few hundred tokens and bm25 a few
# dozen words, so the rest only costs time.
MAX_QUERY_CHARS = 2000
MAX_QUERY_WORDS = 64
SNIPPET_LINES = 6
SNIPPET_LINE_CHARS = 160


@dataclass(frozen=True, slots=True)
class Ranking:
    """The ranking knobs (tuned by bench/quality)."""

    # Measured on bench/quality (README, "Search quality"), both tables together (mined and
    # natural queries, python -m bench.quality.tune): k=60 or 30 and equal votes let the weaker
    # bm25 list pull good dense hits down. With the fine-tuned default model a 2.0 dense vote
    # lifts both tables (mean MRR@10 0.688 -> 0.695 mined, 0.771 -> 0.773 natural); 3.0 and 4.0
    # lift the mined table further but lower the natural one, where words matter more.
    rrf_k: float = 10.0  # larger: flatter votes, ranks deep in a list count nearly as much
    dense_weight: float = 2.0  # the semantic list's vote
    lexical_weight: float = 1.0  # the bm25 list's vote
    candidates: int = 50  # taken from each list before fusion (at least the limit)
    # bm25 column weights: a word in the name says more than one in the code. bm25 is for
    # identifiers; prose is the embedding's job (the document holds the doc). Doc words in
    # bm25 mostly found the wrong function: a helper's doc names the public function it
    # serves ("The base implementation of _.times ..."), a caller's doc names its callees.
    # Re-measured on both tables (docs kept in the natural one): 0.25 to 1.0 gave the natural
    # table +0.005 to +0.008 and cost the mined one 0.02 to 0.04, so still 0.
    name_weight: float = 10.0
    doc_weight: float = 0.0
    code_weight: float = 0.5
    # A symbol in a test file scores this fraction: tests call the code a query describes, in
    # its words, but are rarely what is sought (1.0: no prior).
    test_file_factor: float = 0.5
    # The same for a "file" chunk: top-level code outside any symbol, a fallback result.
    file_chunk_factor: float = 1.0
    # The same for a stub: an `@overload`, abstract or interface declaration, a body of `pass`,
    # `...` or "not implemented". It repeats the real function's words without its code.
    # Measured: 0.5 moved the mined table -0.008 and the natural +0.006, so no prior.
    stub_factor: float = 1.0
    # Drop a class when one of its own methods ranks above it, and a method below its class.
    # Measured: no gain (a class already counts as finding its methods), so off.
    dedup_classes: bool = False
    # bm25 scores at most this many symbols a query (store.lexical): FTS5 scores every row
    # holding a query word before it sorts, a few microseconds each. So only the symbols
    # holding the query's rarer words are scored (affordable_words; by all its words), and a
    # word held by more than this is scored over the first this many of its symbols. Indexes
    # smaller than this (bench/quality's corpora) rank as if there were no limit.
    scored_rows: int = 10_000

    @property
    def bm25_weights(self) -> tuple[float, float, float]:
        return (self.name_weight, self.doc_weight, self.code_weight)


DEFAULT_RANKING = Ranking()


def clean_query(query: str) -> str:
    """The query as searched: stripped, cut to MAX_QUERY_CHARS; QueryError when empty."""
    if not isinstance(query, str) or not query.strip():
        raise QueryError("the search query is empty: type what the code you want does")
    return query.strip()[:MAX_QUERY_CHARS]


# English glue words of natural-language queries. They also occur in code ("for x in xs",
# "is", "not"), where they would match nearly every symbol and drown the words that matter.
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "that",
        "the",
        "then",
        "this",
        "to",
        "what",
        "when",
        "where",
        "which",
        "with",
    }
)


def query_words(query: str) -> list[str]:
    """The words bm25 looks for: identifier parts minus glue words, each once, at most
    MAX_QUERY_WORDS (a query of glue words alone keeps them: "is in" is a search too)."""
    words = list(dict.fromkeys(identifier_words(query)))
    meaningful = [word for word in words if word not in STOPWORDS]
    return (meaningful or words)[:MAX_QUERY_WORDS]


def affordable_words(words: Sequence[str], rows_with: Mapping[str, int], budget: int) -> list[str]:
    """The query words whose symbols bm25 scores: all of them while the symbols holding them
    fit `budget`, else the rarest first while they fit, and always the rarest one.

    A word that a large share of the symbols hold ("test", "get", "self") weighs little in
    bm25 (its idf is near zero) yet costs a score for each of its rows; the rarer word beside
    it is the one that tells the symbol sought. The common word still adds to the score of
    each symbol scored (store.lexical's `among`)."""
    if sum(rows_with.get(word, 0) for word in words) <= budget:
        return list(words)
    chosen: list[str] = []
    total = 0
    for word in sorted(words, key=lambda word: rows_with.get(word, 0)):
        total += rows_with.get(word, 0)
        if chosen and total > budget:
            break
        chosen.append(word)
    return chosen


def check_filters(
    mode: str, languages: Sequence[str] | None, kinds: Sequence[str] | None, limit: int
) -> None:
    if mode not in SEARCH_MODES:
        raise QueryError(f"unknown search mode {mode!r}: choose one of {', '.join(SEARCH_MODES)}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise QueryError(f"limit must be a positive integer, not {limit!r}")
    known_languages = (*LANGUAGES, "text")
    for language in languages or ():
        if language not in known_languages:
            raise QueryError(
                f"unknown language {language!r}: choose from {', '.join(known_languages)}"
            )
    for kind in kinds or ():
        if kind not in KINDS:
            raise QueryError(f"unknown kind {kind!r}: the kinds are {', '.join(KINDS)}")


@lru_cache(maxsize=64)
def path_spec(globs: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    """Gitignore-style globs relative to a root ("src/", "*.py", "!tests/"); QueryError names
    the first that cannot be compiled (`[z-a]`: pathspec raises re.error, not ValueError)."""
    spec, bad = compile_globs(globs)
    if bad:
        raise QueryError(f"bad path glob {bad[0].pattern!r}: {bad[0].reason}")
    return spec


K = TypeVar("K", bound=Hashable)  # a candidate's key: (root, symbol id) in the engine


def fuse(
    dense: Sequence[K], lexical: Sequence[K], ranking: Ranking = DEFAULT_RANKING
) -> list[tuple[K, float]]:
    """Reciprocal-rank fusion of two best-first candidate lists; ties keep dense order first."""
    scores: dict[K, float] = {}
    for weight, candidates in ((ranking.dense_weight, dense), (ranking.lexical_weight, lexical)):
        for rank, key in enumerate(candidates, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (ranking.rrf_k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


class Candidate(Protocol):
    """What priors and de-duplication read from a ranked symbol (store.SymbolRow has it)."""

    @property
    def rel(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def start_line(self) -> int: ...
    @property
    def end_line(self) -> int: ...
    @property
    def code(self) -> str: ...


CONTAINERS = frozenset({"class", "interface"})


C = TypeVar("C", bound="Candidate")


def rerank(
    ranked: Sequence[tuple[K, float]],
    rows: Mapping[K, C],
    ranking: Ranking = DEFAULT_RANKING,
) -> list[tuple[K, float]]:
    """Apply the test-file prior, then drop a class and its own methods' repeats, best first.

    Keys without a row (deleted meanwhile) are dropped.
    """
    scored = []
    for key, score in ranked:
        row = rows.get(key)
        if row is None:
            continue
        factor = 1.0
        if is_test_path(row.rel):
            factor *= ranking.test_file_factor
        if row.kind == "file":
            factor *= ranking.file_chunk_factor
        if ranking.stub_factor != 1.0 and row.kind in ("function", "method") and is_stub(row.code):
            factor *= ranking.stub_factor
        if factor != 1.0:
            # A cosine may be negative: a prior below 1 must still lower it.
            score = score * factor if score >= 0 else score / factor
        scored.append((key, score))
    scored.sort(key=lambda item: -item[1])
    if not ranking.dedup_classes:
        return scored
    kept: list[tuple[K, float]] = []
    for key, score in scored:
        row = rows[key]
        if not any(_same_class(row, rows[other]) for other, _ in kept):
            kept.append((key, score))
    return kept


_OVERLOAD = re.compile(r"^\s*@(typing\.)?overload\b", re.MULTILINE)
_ABSTRACT = re.compile(r"^\s*@(abc\.)?abstractmethod\b|\babstract\s", re.MULTILINE)
_COMMENTS = re.compile(r"#[^\n]*|//[^\n]*|/\*.*?\*/", re.DOTALL)
_DOCSTRING = re.compile(r'^\s*[rRbBuU]?("""|\'\'\')(.*?)\1', re.DOTALL)
_NOTHING = re.compile(
    r"(pass|\.\.\.|raise\s+NotImplementedError(\(.*\))?|"
    r"throw\s+new\s+\w*Error\(\s*(['\"`][^'\"`]*['\"`])?\s*\);?|"
    r"(unimplemented|todo)!\(.*\);?|panic\(\s*\"[^\"]*not implemented[^\"]*\"\s*\))?",
    re.IGNORECASE | re.DOTALL,
)


def is_stub(code: str) -> bool:
    """A function with a declaration but no code of its own: an `@overload` or abstract
    method, an interface method, a body of `pass`, `...`, a docstring alone or "not
    implemented"."""
    if _OVERLOAD.search(code) or _ABSTRACT.search(code):
        return True
    brace = code.find("{")
    if brace < 0:
        if code.rstrip().endswith(";"):
            return True  # a declaration without a body: `foo(): string;`, `void run();`
        colon = re.search(r"\)\s*(->[^:]+)?:", code)
        if colon is None:
            return False
        body = _DOCSTRING.sub("", code[colon.end() :], count=1)
    else:
        body = code[brace + 1 : code.rfind("}")]
    body = _COMMENTS.sub("", body).strip()
    return _NOTHING.fullmatch(body) is not None


def _same_class(a: Candidate, b: Candidate) -> bool:
    """One is a class (or interface) and the other lies inside it, in the same file."""
    if a.rel != b.rel or (a.kind in CONTAINERS) == (b.kind in CONTAINERS):
        return False
    outer, inner = (a, b) if a.kind in CONTAINERS else (b, a)
    return outer.start_line <= inner.start_line and inner.end_line <= outer.end_line


def snippet(signature: str, code: str, start_col: int = 1) -> str:
    """The signature, then the first lines of the body: enough to recognise a result."""
    # A symbol's code starts at its first character, so its first line has lost the
    # `start_col - 1` columns of indentation that the later lines still carry.
    lines = code.splitlines()[:SNIPPET_LINES]
    indent = start_col - 1
    out = [lines[0]] if lines else []
    for line in lines[1:]:
        margin = len(line) - len(line.lstrip(" \t"))
        out.append(line[min(indent, margin) :])
    signature = signature.strip()
    if signature and not (out and out[0].strip().startswith(signature.splitlines()[0])):
        out.insert(0, signature)
    return "\n".join(line.rstrip()[:SNIPPET_LINE_CHARS] for line in out[:SNIPPET_LINES]).strip()

"""The hand-written query table (bench/quality/natural.py): its query files and its scoring.

No network and no model: the files are parsed and their shape checked here; that every target
names exactly one symbol of the pinned corpus is `python -m bench.quality.natural --check`,
which needs the corpora fetched.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

# bench/ is not an installed package: it is imported from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality.corpora import CORPORA, NATURAL_CORPORA
from bench.quality.natural import (
    MAX_TARGETS,
    QueryFileError,
    Span,
    Target,
    check,
    first_hit,
    load_queries,
    query_file,
    resolve,
)

MIN_QUERIES = 40
NO_ANSWER = 10


@pytest.mark.parametrize("corpus", NATURAL_CORPORA, ids=lambda c: c.name)
def test_query_file_has_the_questions_the_issue_asks_for(corpus):
    queries = load_queries(query_file(corpus.name))
    assert queries.corpus == corpus.name
    assert len(queries.queries) >= MIN_QUERIES
    assert len(queries.no_answer) == NO_ANSWER
    texts = [q.text for q in queries.queries] + list(queries.no_answer)
    assert len({text.lower() for text in texts}) == len(texts)
    for query in queries.queries:
        assert 1 <= len(query.targets) <= MAX_TARGETS
        for target in query.targets:
            path = PurePosixPath(target.path)
            assert not path.is_absolute() and ".." not in path.parts, target


def test_natural_corpora_are_not_the_mined_tables():
    mined = {c.name for c in CORPORA} | {c.package for c in CORPORA}
    assert not mined & ({c.name for c in NATURAL_CORPORA} | {c.package for c in NATURAL_CORPORA})
    assert len({c.language for c in NATURAL_CORPORA}) == 3


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "queries.json"
    path.write_text(json.dumps(data))
    return path


def _one(query: str, targets: list) -> dict:
    return {"corpus": "x", "queries": [{"query": query, "targets": targets}], "no_answer": []}


T = {"path": "a.py", "name": "f"}


@pytest.mark.parametrize(
    "data",
    [
        _one("no targets", []),
        _one("too many", [T, {**T, "name": "g"}, {**T, "name": "h"}, {**T, "name": "i"}]),
        _one("listed twice", [T, T]),
        _one("bad line", [{**T, "line": 0}]),
        _one("no name", [{"path": "a.py"}]),
        {"corpus": "x", "queries": [{"query": "q", "targets": [T]}], "no_answer": ["q"]},
        {"corpus": "x", "queries": [], "no_answer": [""]},
        {"queries": []},
    ],
)
def test_malformed_query_files_are_refused(tmp_path, data):
    with pytest.raises(QueryFileError):
        load_queries(_write(tmp_path, data))


SOURCE = """\
def helper():
    return 1


class Box:
    def open(self):
        return helper()

    def close(self):
        pass


class Crate:
    def open(self):
        pass
"""
FILES = {"pkg/box.py": SOURCE}


def test_targets_resolve_by_qualified_or_unique_plain_name():
    assert resolve(Target("pkg/box.py", "helper"), FILES) == Span("pkg/box.py", 1, 2)
    assert resolve(Target("pkg/box.py", "Box.open"), FILES) == Span("pkg/box.py", 6, 7)
    assert resolve(Target("pkg/box.py", "close"), FILES) == Span("pkg/box.py", 9, 10)
    assert resolve(Target("pkg/box.py", "open", line=14), FILES) == Span("pkg/box.py", 14, 15)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (Target("pkg/box.py", "open"), "2 symbols"),
        (Target("pkg/box.py", "shut"), "no symbol"),
        (Target("pkg/crate.py", "open"), "no such file"),
        (Target("pkg/box.py", "Box.open", line=3), "no symbol"),
    ],
)
def test_a_bad_target_fails_naming_itself(target, message):
    with pytest.raises(QueryFileError, match=message) as error:
        resolve(target, FILES)
    assert str(target) in str(error.value)


def test_check_lists_every_bad_target_at_once(tmp_path):
    data = {
        "corpus": "x",
        "queries": [
            {"query": "one", "targets": [{"path": "pkg/box.py", "name": "nothing"}]},
            {"query": "two", "targets": [{"path": "pkg/box.py", "name": "helper"}]},
            {"query": "three", "targets": [{"path": "gone.py", "name": "helper"}]},
        ],
        "no_answer": [],
    }
    queries = load_queries(_write(tmp_path, data))
    with pytest.raises(QueryFileError) as error:
        check(queries, FILES)
    assert "2 bad targets" in str(error.value)
    assert "nothing" in str(error.value) and "gone.py" in str(error.value)
    data["queries"] = data["queries"][1:2]
    assert check(load_queries(_write(tmp_path, data)), FILES) == [(Span("pkg/box.py", 1, 2),)]


@dataclass(frozen=True)
class Result:
    rel: str
    start_line: int
    end_line: int


def test_a_hit_counts_when_it_overlaps_any_target_in_the_same_file():
    targets = [Span("a.go", 10, 20), Span("b.go", 5, 8)]
    assert first_hit([Result("a.go", 15, 16)], targets) == 1  # inside the target
    assert first_hit([Result("a.go", 1, 40)], targets) == 1  # its enclosing class
    assert first_hit([Result("a.go", 20, 30)], targets) == 1  # sharing the last line
    assert first_hit([Result("c.go", 1, 1), Result("b.go", 8, 9)], targets) == 2  # second target
    misses = [Result("a.go", 1, 9), Result("a.go", 21, 30), Result("c.go", 10, 20)]
    assert first_hit(misses, targets) is None  # elsewhere in the file, or another file


def test_only_the_first_k_results_count():
    results = [Result("x.py", 1, 1)] * 10 + [Result("a.py", 1, 1)]
    assert first_hit(results, [Span("a.py", 1, 1)]) is None
    assert first_hit(results, [Span("a.py", 1, 1)], k=11) == 11

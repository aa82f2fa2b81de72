"""The retrieval evaluation: mining docstring -> function pairs, hiding the docs, scoring.

The fixture repository (tests/fixtures/eval_repo) holds documented functions in Python,
JavaScript and Go, plus the cases mining must leave out: a stub whose body is only its
docstring, two functions sharing one summary, a TODO doc, a test-looking function and a test
file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from findcode.evaluation import hit_rank, per_query, summarize
from findcode.mining import (
    Pair,
    mine,
    query_from_doc,
    read_repository,
    write_tree,
)
from findcode.symbols import extract_symbols
from findcode.workspace import is_test_path
from index_support import findcode

REPO = Path(__file__).parent / "fixtures" / "eval_repo"

EXPECTED = {
    # (rel, qualified name): query
    ("cli/args.go", "NoArgs"): "returns an error if any positional arguments are given.",
    ("cli/args.go", "Command.Name"): "returns the first word of the usage line.",
    ("geometry/shapes.py", "Circle.area"): "Compute the area enclosed by the circle.",
    ("geometry/shapes.py", "Circle.scaled"): "Return a copy grown or shrunk by a factor.",
    ("geometry/shapes.py", "distance"): "Euclidean distance between two points in the plane.",
    ("web/format.js", "formatBytes"): "Formats a byte count as a human readable size string.",
    ("web/format.js", "clamp"): "Keeps a value inside the closed range between low and high.",
}


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return read_repository(REPO)


@pytest.fixture(scope="module")
def mined(files):
    return mine(files)


def _target(mined, pair: Pair):
    symbols = extract_symbols(pair.rel, mined.files[pair.rel])
    return next(s for s in symbols if s.qualified_name == pair.qualified_name)


def test_mined_pairs_are_the_documented_functions(mined):
    assert {(p.rel, p.qualified_name): p.query for p in mined.pairs} == EXPECTED
    # describe() is a docstring-only stub: a candidate, but dropped when its doc goes.
    assert mined.candidates == len(EXPECTED) + 1


def test_pair_ranges_point_at_the_target_in_the_rewritten_copy(mined):
    for pair in mined.pairs:
        lines = mined.files[pair.rel].split("\n")[pair.start_line - 1 : pair.end_line]
        name = pair.qualified_name.rsplit(".", 1)[-1]
        assert name in lines[0], (pair, lines[0])
        target = _target(mined, pair)
        assert (target.start_line, target.end_line) == (pair.start_line, pair.end_line)


def test_target_doc_is_excluded_from_the_indexed_text(files, mined):
    for pair in mined.pairs:
        original, rewritten = files[pair.rel], mined.files[pair.rel]
        first_line = pair.doc.splitlines()[0]
        assert first_line in original
        assert first_line not in rewritten
        target = _target(mined, pair)
        assert first_line not in target.doc and first_line not in target.code


def test_document_text_of_target_lacks_the_query(mined):
    documents = pytest.importorskip("findcode.documents")
    for pair in mined.pairs:
        text = documents.document_text(_target(mined, pair))
        assert pair.doc.splitlines()[0] not in text


def test_distractors_keep_their_docs(files, mined):
    shapes = mined.files["geometry/shapes.py"]
    assert '"""Shared summary that two functions use word for word."""' in shapes
    assert '"""Abstract: subclasses say what they are."""' in shapes  # the dropped stub
    assert mined.files["tests/test_shapes.py"] == files["tests/test_shapes.py"]
    assert mined.files["cli/args.go"].count("// Command is one verb") == 1


def test_sampling_is_seeded_and_a_subset(files, mined):
    first = mine(files, max_pairs=3, seed=7)
    again = mine(files, max_pairs=3, seed=7)
    assert first.pairs == again.pairs
    assert len(first.pairs) == 3

    def questions(pairs):
        return {(p.rel, p.qualified_name, p.query) for p in pairs}

    assert questions(first.pairs) <= questions(mined.pairs)
    # Only the sampled targets lose their docs.
    kept = {p.qualified_name for p in mined.pairs} - {p.qualified_name for p in first.pairs}
    for pair in mined.pairs:
        if pair.qualified_name in kept:
            assert pair.doc.splitlines()[0] in first.files[pair.rel]


@pytest.mark.parametrize(
    ("doc", "name", "query"),
    [
        (
            "NoArgs returns an error if any args are included.",
            "NoArgs",
            "returns an error if any args are included.",
        ),
        (
            "Return the :class:`Response` for *req*. More text.",
            "send",
            "Return the Response for *req*.",
        ),
        (
            "Creates an array of `size` chunks,\nsplit evenly.\n\n@param size",
            "chunk",
            "Creates an array of size chunks, split evenly.",
        ),
        (
            "Parse values, e.g. numbers and dates. Then more.",
            "parse",
            "Parse values, e.g. numbers and dates.",
        ),
        ("Sends it.\n:param x: the thing", "send", None),  # fewer than three words
        ("TODO: make this faster than it is now.", "slow", None),
        ("@private\n@param x", "f", None),  # only tags, no prose
    ],
)
def test_query_from_doc(doc, name, query):
    assert query_from_doc(doc, name) == query


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("tests/test_shapes.py", True),
        ("pkg/test_io.py", True),
        ("cmd/args_test.go", True),
        ("src/__tests__/a.js", True),
        ("src/a.spec.ts", True),
        ("src/contest.py", False),
        ("src/testing_utils.go", False),
    ],
)
def test_is_test_path(rel, expected):
    assert is_test_path(rel) is expected


def test_write_tree_mirrors_files_and_keeps_unchanged_mtimes(tmp_path):
    write_tree({"a/x.py": "x = 1\n", "b.go": "package b\n"}, tmp_path)
    stamp = 1_000_000_000
    os.utime(tmp_path / "b.go", ns=(stamp, stamp))
    write_tree({"a/x.py": "x = 2\n", "b.go": "package b\n"}, tmp_path)
    assert (tmp_path / "a" / "x.py").read_text() == "x = 2\n"
    assert (tmp_path / "b.go").stat().st_mtime_ns == stamp
    write_tree({"b.go": "package b\n"}, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["b.go"]


def _pair(start: int, end: int, rel: str = "a.py") -> Pair:
    return Pair("q", rel, "f", "function", "python", start, end, "doc")


class _Result:
    def __init__(self, rel: str, start_line: int, end_line: int) -> None:
        self.rel, self.start_line, self.end_line = rel, start_line, end_line


def test_a_hit_is_the_right_file_and_an_overlapping_range():
    pair = _pair(10, 20)
    results = [_Result("b.py", 10, 20), _Result("a.py", 1, 9), _Result("a.py", 5, 12)]
    assert hit_rank(results, pair) == 3  # another file, then no overlap, then the class around it
    assert hit_rank(results[:2], pair) is None
    assert hit_rank([_Result("a.py", 1, 9)] * 10 + [_Result("a.py", 10, 10)], pair) is None


def test_metrics_and_bootstrap_interval():
    ranks = [1, 2, None, 10]
    values = per_query(ranks)
    assert list(values["mrr@10"]) == [1.0, 0.5, 0.0, 0.1]
    assert list(values["recall@1"]) == [1, 0, 0, 0]
    assert list(values["recall@5"]) == [1, 1, 0, 0]
    assert list(values["recall@10"]) == [1, 1, 0, 1]
    assert values["ndcg@10"][1] == pytest.approx(1 / 1.5849625)
    summary = summarize("hybrid", ranks)
    assert summary.metrics["mrr@10"] == pytest.approx(0.4)
    low, high = summary.intervals["mrr@10"]
    assert 0.0 <= low <= 0.4 <= high <= 1.0
    assert summarize("hybrid", ranks).intervals == summary.intervals  # seeded: repeatable


def test_findcode_eval_on_the_fixture_repository(tmp_path, model_path):
    before = sorted((p.relative_to(REPO), p.stat().st_mtime_ns) for p in REPO.rglob("*"))
    result = findcode("eval", REPO, "--json", "--workdir", tmp_path / "work")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["queries"] == len(EXPECTED)
    assert report["candidates"] == len(EXPECTED) + 1
    assert set(report["modes"]) == {"lexical", "semantic", "hybrid"}
    for figures in report["modes"].values():
        metrics = figures["metrics"]
        assert figures["queries"] == len(EXPECTED)
        assert set(metrics) == {"mrr@10", "recall@1", "recall@5", "recall@10", "ndcg@10"}
        assert 0.0 <= metrics["recall@1"] <= metrics["recall@5"] <= metrics["recall@10"] <= 1.0
        low, high = figures["intervals"]["mrr@10"]
        assert low <= metrics["mrr@10"] <= high
    # Seven functions among 20-odd symbols: the model finds most of them.
    assert report["modes"]["hybrid"]["metrics"]["recall@10"] >= 0.7
    # The copy lost the docs; the repository did not.
    copy = (tmp_path / "work" / "tree" / "geometry" / "shapes.py").read_text()
    assert "Compute the area enclosed by the circle." not in copy
    assert sorted((p.relative_to(REPO), p.stat().st_mtime_ns) for p in REPO.rglob("*")) == before

    text = findcode("eval", REPO, "--mode", "lexical", "--workdir", tmp_path / "work")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert "7 queries from 8 documented functions" in lines[0]
    assert lines[3].split() == ["mode", "MRR@10", "95%", "CI", "R@1", "R@5", "R@10"]
    assert [line.split()[0] for line in lines[4:]] == ["lexical"]


def test_findcode_eval_without_documented_functions_says_so(tmp_path):
    (tmp_path / "plain.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "short.py").write_text('def f():\n    """Adds."""\n    return 1\n')
    result = findcode("eval", tmp_path)
    assert result.returncode == 1
    assert "no documented functions" in result.stderr
    assert "Traceback" not in result.stderr
    assert findcode("eval", tmp_path / "missing").returncode == 1

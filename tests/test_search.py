"""Ranking and query handling in isolation: fusion, query words, filters, snippets."""

from __future__ import annotations

import pytest
from findcode.errors import QueryError
from findcode.search import (
    MAX_QUERY_CHARS,
    MAX_QUERY_WORDS,
    Ranking,
    check_filters,
    clean_query,
    fuse,
    path_spec,
    query_words,
    snippet,
)


def test_fusion_rewards_agreement_and_keeps_single_list_hits():
    fused = [key for key, _ in fuse(["a", "b", "c"], ["c", "d", "a"])]
    assert fused[:2] == ["a", "c"]  # in both lists
    assert set(fused) == {"a", "b", "c", "d"}
    scores = dict(fuse(["a"], []))
    assert scores["a"] == pytest.approx(1 / 61)


def test_fusion_weights_come_from_the_ranking_knobs():
    lexical_first = Ranking(dense_weight=0.1, lexical_weight=1.0)
    assert fuse(["x"], ["y"], lexical_first)[0][0] == "y"
    assert fuse(["x"], ["y"], Ranking(dense_weight=2.0))[0][0] == "x"
    with pytest.raises(AttributeError):
        Ranking().rrf_k = 1  # frozen: one place to tune


def test_empty_and_huge_queries():
    for bad in ("", " ", "\n\t "):
        with pytest.raises(QueryError, match="empty"):
            clean_query(bad)
    assert clean_query("  find me  ") == "find me"
    assert len(clean_query("x" * 10_000)) == MAX_QUERY_CHARS
    assert len(query_words(" ".join(f"word{n}x" for n in range(500)))) == MAX_QUERY_WORDS


def test_query_words_drop_glue_words_unless_nothing_else_is_left():
    assert query_words("how to parse the HTTPHeader in a file") == [
        "parse",
        "http",
        "header",
        "httpheader",
        "file",
    ]
    assert query_words("is in") == ["is", "in"]


def test_filters_are_checked():
    check_filters("hybrid", ["python", "text"], ["function"], 5)
    with pytest.raises(QueryError, match="mode"):
        check_filters("exact", None, None, 5)
    with pytest.raises(QueryError, match="limit"):
        check_filters("hybrid", None, None, 0)
    with pytest.raises(QueryError, match="limit"):
        check_filters("hybrid", None, None, True)
    with pytest.raises(QueryError, match="language"):
        check_filters("hybrid", ["klingon"], None, 5)
    with pytest.raises(QueryError, match="kind"):
        check_filters("hybrid", None, ["variable"], 5)


def test_path_globs_are_gitignore_style():
    spec = path_spec(("src/", "*.go", "!src/vendor/"))
    assert spec.match_file("src/app/main.py")
    assert spec.match_file("cmd/tool.go")
    assert not spec.match_file("docs/readme.md")
    assert not spec.match_file("src/vendor/lib.py")


def test_snippet_is_signature_and_first_lines_with_relative_indentation():
    code = "def take(self):\n        if self.empty:\n            return None\n        return 1"
    assert snippet("def take(self):", code, start_col=5) == (
        "def take(self):\n    if self.empty:\n        return None\n    return 1"
    )
    long = "fn f() {\n" + "    x();\n" * 20 + "}"
    assert len(snippet("fn f()", long).splitlines()) == 6
    # A signature the code does not start with (a decorator first) is shown on top.
    assert snippet("def g():", "@cache\ndef g():\n    pass").startswith("def g():\n@cache")

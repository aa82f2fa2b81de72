"""Ranking and query handling in isolation: fusion, query words, filters, snippets."""

from __future__ import annotations

import pytest
from findcode.errors import QueryError
from findcode.relevance import (
    CALIBRATIONS,
    DEFAULT_CALIBRATION,
    Calibration,
    calibration_for,
    field_of,
)
from findcode.search import (
    MAX_QUERY_CHARS,
    MAX_QUERY_WORDS,
    Ranking,
    affordable_words,
    check_filters,
    clean_query,
    fuse,
    is_stub,
    path_spec,
    query_words,
    rerank,
    snippet,
)


def test_fusion_rewards_agreement_and_keeps_single_list_hits():
    fused = [key for key, _ in fuse(["a", "b", "c"], ["c", "d", "a"])]
    assert fused[:2] == ["a", "c"]  # in both lists
    assert set(fused) == {"a", "b", "c", "d"}
    scores = dict(fuse(["a"], [], Ranking(rrf_k=60.0, dense_weight=1.0)))
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


def test_bm25_scores_every_word_while_affordable_then_the_rarest():
    counts = {"test": 46_000, "get": 15_000, "none": 24_000, "eval": 800, "stringresult": 3}
    # A small index (or rare words): every word, in the query's order.
    assert affordable_words(["test", "get"], {"test": 40, "get": 30}, 10_000) == ["test", "get"]
    # Common words go, the rare ones that tell the symbol stay.
    assert affordable_words(["test", "stringresult"], counts, 10_000) == ["stringresult"]
    assert affordable_words(["test", "none", "eval", "get"], counts, 10_000) == ["eval"]
    assert affordable_words(["eval", "get"], counts, 20_000) == ["eval", "get"]
    # Common words alone: the rarest of them still answers (store.lexical bounds its rows).
    assert affordable_words(["test", "none", "get"], counts, 10_000) == ["get"]
    # A word no symbol holds costs nothing (an unsaved buffer may hold it).
    assert affordable_words(["test", "brandnew"], counts, 10_000) == ["brandnew"]


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


class Row:
    def __init__(self, rel: str, kind: str, start_line: int, end_line: int) -> None:
        self.rel, self.kind, self.start_line, self.end_line = rel, kind, start_line, end_line


def test_test_files_are_demoted_not_dropped():
    rows = {
        "t": Row("tests/test_client.py", "function", 1, 5),
        "a": Row("pkg/client.py", "function", 1, 5),
        "n": Row("cmd/args_test.go", "function", 1, 5),
    }
    ranked = [("t", 0.9), ("a", 0.6), ("n", -0.2), ("gone", 0.5)]
    out = rerank(ranked, rows, Ranking(test_file_factor=0.5))
    assert [key for key, _ in out] == ["a", "t", "n"]  # a key without a row is dropped
    assert dict(out)["t"] == pytest.approx(0.45)
    assert dict(out)["n"] < -0.2  # a negative cosine is lowered too
    assert [key for key, _ in rerank(ranked, rows, Ranking(test_file_factor=1.0))] == [
        "t",
        "a",
        "n",
    ]


def test_a_class_and_its_own_methods_are_deduplicated_when_asked():
    rows = {
        "m": Row("a.py", "method", 5, 9),
        "c": Row("a.py", "class", 1, 20),
        "other": Row("b.py", "method", 5, 9),
        "m2": Row("a.py", "method", 12, 15),
    }
    ranked = [("m", 4.0), ("c", 3.0), ("other", 2.0), ("m2", 1.0)]
    on = Ranking(dedup_classes=True)
    assert [key for key, _ in rerank(ranked, rows, on)] == ["m", "other", "m2"]  # c: gone
    assert [key for key, _ in rerank(ranked, rows, Ranking())] == ["m", "c", "other", "m2"]


def test_relevance_is_a_probability_that_rises_with_the_cosine() -> None:
    curve = Calibration(cosine_weight=9.0, bias=-5.5, threshold=0.5)
    assert 0.0 < curve.relevance(-1.0) < curve.relevance(0.3) < 1.0
    assert curve.relevance(0.6) > curve.relevance(0.5)  # closer
    assert curve.relevance(1e9) == 1.0 and curve.relevance(-1e9) < 1e-20  # no overflow


def test_every_model_has_a_calibration() -> None:
    assert calibration_for("findcode-minilm-code") is CALIBRATIONS["findcode-minilm-code"]
    assert calibration_for("all-MiniLM-L6-v2") is CALIBRATIONS["all-MiniLM-L6-v2"]
    assert calibration_for("someone-elses-model") is DEFAULT_CALIBRATION
    assert field_of([]) == 0.0 and field_of([0.2, 0.4]) == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("code", "stub"),
    [
        ("def f(x):\n    pass", True),
        ("def f(x) -> int: ...", True),
        ("@overload\ndef f(x: int) -> int: ...", True),
        ('def f(x):\n    """Doc."""\n    raise NotImplementedError', True),
        ('def f(x):\n    """Only a doc."""', True),
        ("@abstractmethod\ndef f(self):\n    return 1", True),
        ("function f(a) {\n  // nothing yet\n}", True),
        ("foo(a: string): number;", True),
        ("public abstract void run();", True),
        ("fn f() {\n    unimplemented!()\n}", True),
        ("function f() { throw new Error('not implemented'); }", True),
        ("def f(x):\n    return x + 1", False),
        ('def f(x):\n    """Doc."""\n    return g(x)', False),
        ("def f(x: dict[str, int]) -> None:\n    x.clear()", False),
        ("def f(x=(1, 2)):\n    return x", False),
        ("function f(a) { return a; }", False),
        ("func (c *C) Get() int {\n\treturn c.x\n}", False),
    ],
)
def test_stubs_are_told_from_functions_with_code(code: str, stub: bool) -> None:
    assert is_stub(code) is stub

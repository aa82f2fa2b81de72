"""Fit the relevance curve and the weak threshold of each model on the natural queries.

    python -m bench.quality.calibrate [--model NAME ...]

The data: every hand-written query of the natural table (bench/quality/queries), answerable and
not, asked in hybrid mode; each of its top hits is a sample, labelled right when it lands on
one of the query's targets. A logistic regression on the cosine gives
findcode.relevance.Calibration's weights. (Two more features were tried. 1/rank lifted every
query's first hit alike, so the threshold rose and half the right hits below the first were
marked weak. The cosine above the query's field, shipped until it was measured held out, told
the no-answer queries less well: relevance.py's docstring has the figures.) The threshold is
then picked for the question a user asks of a result list, "is anything here what I asked
for?": a query gets "no close match" when none of its hits reaches the threshold, and the
threshold maximises F1 of that verdict on the no-answer queries (positives) against the
answerable ones, among the thresholds that mark at most a quarter of the right hits weak. The
figures printed per corpus are leave-one-corpus-out: each corpus is judged by a curve and
threshold fitted on the other two, so they do not flatter the fit.

Prints the Calibration line to paste into findcode/relevance.py and writes
bench/results/calibration.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from findcode.config import Settings
from findcode.embedder import Embedder
from findcode.evaluation import K
from findcode.model import BASE_MODEL, DEFAULT_MODEL, resolve_model_path
from findcode.relevance import Calibration

from bench.quality.corpora import NATURAL_CORPORA
from bench.quality.natural import WORK, first_hit, open_corpus

RESULTS = Path(__file__).resolve().parent.parent / "results"
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.01), 2)
# A weak mark moves a result below the separator: the right answer should rarely go there.
MAX_RIGHT_WEAK = 0.25


@dataclass(frozen=True, slots=True)
class Asked:
    """One query's hybrid top hits as calibration samples."""

    corpus: str
    answerable: bool
    cosines: np.ndarray  # each hit's cosine with the query
    right: np.ndarray  # each hit: on a target?
    rank: int | None  # of the first right hit


def ask_all(model: str, embedder: Embedder, settings: Settings) -> list[Asked]:
    out = []
    for corpus in NATURAL_CORPORA:
        workdir = WORK / model / corpus.name
        queries, targets, engine = open_corpus(
            corpus, workdir, settings=settings, embedder=embedder
        )
        try:
            texts = [(q.text, spans) for q, spans in zip(queries.queries, targets, strict=True)]
            texts += [(text, ()) for text in queries.no_answer]
            for text, spans in texts:
                outcome = engine.search(text, limit=K, mode="hybrid")
                right = [first_hit([hit], spans) is not None for hit in outcome.hits]
                out.append(
                    Asked(
                        corpus=corpus.name,
                        answerable=bool(spans),
                        cosines=np.array([hit.cosine for hit in outcome.hits]),
                        right=np.array(right, dtype=bool),
                        rank=first_hit(outcome.hits, spans) if spans else None,
                    )
                )
        finally:
            engine.close()
        log(f"{model}/{corpus.name}: {len(queries.queries)} + {len(queries.no_answer)} asked")
    return out


def fit_curve(asked: Sequence[Asked]) -> tuple[float, float]:
    """Logistic regression (Newton's method, a little L2) of right ~ cosine."""
    rows, labels = [], []
    for query in asked:
        for cosine, right in zip(query.cosines, query.right, strict=True):
            rows.append((cosine, 1.0))
            labels.append(float(right))
    x = np.array(rows)
    y = np.array(labels)
    w = np.zeros(2)
    ridge = np.diag([1e-3, 0.0])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + ridge @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])


def relevances(query: Asked, curve: Calibration) -> list[float]:
    return [curve.relevance(c) for c in query.cosines]


def best_relevance(query: Asked, curve: Calibration) -> float:
    return max(relevances(query, curve), default=0.0)


@dataclass(frozen=True, slots=True)
class Verdicts:
    """How "no close match" fares: positives are the no-answer queries."""

    precision: float
    recall: float
    answerable_flagged: float  # answerable queries told "no close match"
    right_weak: float  # right hits marked weak, of all right hits in the top K

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def judge(asked: Sequence[Asked], curve: Calibration) -> Verdicts:
    flagged = [best_relevance(q, curve) < curve.threshold for q in asked]
    none = [not q.answerable for q in asked]
    true_positive = sum(f and n for f, n in zip(flagged, none, strict=True))
    answerable = [f for f, q in zip(flagged, asked, strict=True) if q.answerable]
    right = [
        relevance < curve.threshold
        for q in asked
        for relevance, r in zip(relevances(q, curve), q.right, strict=True)
        if r
    ]
    return Verdicts(
        precision=true_positive / max(1, sum(flagged)),
        recall=true_positive / max(1, sum(none)),
        answerable_flagged=sum(answerable) / max(1, len(answerable)),
        right_weak=sum(right) / max(1, len(right)),
    )


def calibrate(asked: Sequence[Asked]) -> Calibration:
    """The curve, then the threshold with the best F1 among those that mark at most
    MAX_RIGHT_WEAK of the right hits weak (ties: the lower threshold)."""
    cosine, bias = fit_curve(asked)
    best: tuple[float, Calibration] | None = None
    for threshold in THRESHOLDS:
        curve = Calibration(cosine, bias, float(threshold))
        verdicts = judge(asked, curve)
        if verdicts.right_weak > MAX_RIGHT_WEAK:
            break  # a higher threshold marks more
        if best is None or verdicts.f1 > best[0] + 1e-12:
            best = (verdicts.f1, curve)
    return best[1] if best else Calibration(cosine, bias, float(THRESHOLDS[0]))


def held_out(asked: Sequence[Asked]) -> dict[str, Verdicts]:
    """Each corpus judged by a calibration fitted on the others."""
    out = {}
    for corpus in dict.fromkeys(q.corpus for q in asked):
        curve = calibrate([q for q in asked if q.corpus != corpus])
        out[corpus] = judge([q for q in asked if q.corpus == corpus], curve)
    return out


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality.calibrate")
    parser.add_argument("--model", action="append", help="a `model` setting (repeatable)")
    args = parser.parse_args(argv)
    settings = Settings()
    lines = ["# Relevance calibration (python -m bench.quality.calibrate)", ""]
    for model in args.model or [BASE_MODEL, DEFAULT_MODEL]:
        embedder = Embedder(resolve_model_path(model), threads=settings.threads)
        asked = ask_all(model, embedder, settings)
        curve = calibrate(asked)
        everything = judge(asked, curve)
        lines += [
            f"## {model} ({embedder.name})",
            "",
            f"`{_rounded(curve)}`",
            "",
            f"- queries: {sum(q.answerable for q in asked)} answerable, "
            f"{sum(not q.answerable for q in asked)} with no answer in the corpus",
            "",
            "| judged on | no close match: precision | recall | answerable told no close "
            "match | right hits marked weak |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for corpus, verdicts in held_out(asked).items():
            lines.append(_row(f"{corpus} (curve fitted on the other two)", verdicts))
        lines += [_row("all three (the shipped curve, fitted on all)", everything), ""]
        embedder.close()
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "calibration.md").write_text(text)
    return 0


def _rounded(curve: Calibration) -> str:
    return (
        f"Calibration(cosine_weight={curve.cosine_weight:.3f}, "
        f"bias={curve.bias:.3f}, threshold={curve.threshold:.2f})"
    )


def _row(label: str, v: Verdicts) -> str:
    return (
        f"| {label} | {v.precision:.2f} | {v.recall:.2f} | {v.answerable_flagged:.2f} | "
        f"{v.right_weak:.2f} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())

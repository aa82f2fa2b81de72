"""The quality table: corpus x mode x metrics, as Markdown for people and JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from findcode.evaluation import METRICS, Summary

NAIVE = "naive"
# The bar: hybrid beats every other row on every corpus, and its mean MRR@10 is at
# least this far above the naive reference's.
MARGIN = 0.08


@dataclass(frozen=True, slots=True)
class CorpusResult:
    name: str
    language: str
    files: int
    symbols: int
    candidates: int
    summaries: dict[str, Summary]  # mode (lexical, semantic, hybrid, naive) -> figures


def means(results: Sequence[CorpusResult]) -> dict[str, dict[str, float]]:
    """Per mode, each metric averaged over corpora (each corpus weighs the same)."""
    modes = [mode for mode in results[0].summaries] if results else []
    return {
        mode: {
            metric: sum(r.summaries[mode].metrics[metric] for r in results) / len(results)
            for metric in METRICS
        }
        for mode in modes
    }


def verdict(results: Sequence[CorpusResult]) -> list[str]:
    """One line per check of the issue's bar, each saying whether it holds."""
    lines = []
    for result in results:
        hybrid = result.summaries["hybrid"].metrics["mrr@10"]
        others = {m: s.metrics["mrr@10"] for m, s in result.summaries.items() if m != "hybrid"}
        behind = [m for m, value in others.items() if value >= hybrid]
        state = "yes" if not behind else f"NO (not above {', '.join(behind)})"
        lines.append(f"{result.name}: hybrid MRR@10 above every other row: {state}")
    average = means(results)
    if NAIVE in average:
        gap = average["hybrid"]["mrr@10"] - average[NAIVE]["mrr@10"]
        state = "yes" if gap >= MARGIN else "NO"
        lines.append(f"mean MRR@10 hybrid - naive = {gap:+.3f} (bar +{MARGIN:.2f}): {state}")
    return lines


def markdown(results: Sequence[CorpusResult], context: Mapping[str, str]) -> str:
    header = "| corpus | mode | queries | MRR@10 (95% CI) | R@1 | R@5 | R@10 | nDCG@10 |"
    rows = [header, "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for result in results:
        for mode, summary in result.summaries.items():
            m = summary.metrics
            low, high = summary.intervals.get("mrr@10", (m["mrr@10"], m["mrr@10"]))
            rows.append(
                f"| {result.name} | {mode} | {summary.queries} | "
                f"{m['mrr@10']:.3f} [{low:.3f}, {high:.3f}] | {m['recall@1']:.3f} | "
                f"{m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['ndcg@10']:.3f} |"
            )
    for mode, m in means(results).items():
        rows.append(
            f"| **mean** | {mode} | | {m['mrr@10']:.3f} | {m['recall@1']:.3f} | "
            f"{m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['ndcg@10']:.3f} |"
        )
    notes = [f"- {key}: {value}" for key, value in context.items()]
    checks = [f"- {line}" for line in verdict(results)]
    return "\n".join([*rows, "", *notes, "", *checks, ""])


def as_json(results: Sequence[CorpusResult], context: Mapping[str, str]) -> dict:
    return {
        "context": dict(context),
        "corpora": [
            {
                "name": r.name,
                "language": r.language,
                "files": r.files,
                "symbols": r.symbols,
                "candidates": r.candidates,
                "modes": {mode: s.as_json() for mode, s in r.summaries.items()},
            }
            for r in results
        ],
        "means": means(results),
        "verdict": verdict(results),
    }


def write(results: Sequence[CorpusResult], context: Mapping[str, str], folder: Path) -> Path:
    """Write quality.md and quality.json into `folder`; return the Markdown file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "quality.md"
    title = "# Retrieval quality (python -m bench.quality)\n\n"
    target.write_text(title + markdown(results, context))
    (folder / "quality.json").write_text(json.dumps(as_json(results, context), indent=2) + "\n")
    return target

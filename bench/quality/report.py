"""The quality tables: query set x corpus x model x mode, as Markdown for people and JSON for
scripts, with the issue's bars checked on them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from findcode.evaluation import METRICS, Summary

NAIVE = "naive"
# The query sets, in table order: docstring sentences of functions whose docs were removed,
# and questions written by hand over code left as it is (bench/quality/queries).
MINED = "mined"
NATURAL = "natural"
TABLE_TITLES = {
    MINED: "Mined queries (a function's doc sentence; its doc removed from the index)",
    NATURAL: "Natural queries (written by hand; code indexed as it is)",
}
# The bars: the default's hybrid beats every other row on every corpus and the naive reference
# by this much (mean MRR@10); the trained model's hybrid beats the base model's hybrid by
# TRAINED_MARGIN on each table, and its plain semantic mode beats the base model's hybrid.
MARGIN = 0.08
TRAINED_MARGIN = 0.07


@dataclass(frozen=True, slots=True)
class CorpusResult:
    table: str  # MINED or NATURAL
    model: str  # the `model` setting that ran it (findcode.model.MODEL_NAMES)
    name: str
    language: str
    files: int
    symbols: int
    summaries: dict[str, Summary]  # mode (lexical, semantic, hybrid, naive) -> figures


def group(results: Sequence[CorpusResult], table: str, model: str) -> list[CorpusResult]:
    return [r for r in results if r.table == table and r.model == model]


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


def verdict(
    results: Sequence[CorpusResult], base: str | None, trained: str, throughput: Mapping[str, float]
) -> list[str]:
    """One line per check of the bars, each saying whether it holds."""
    lines = []
    for table in TABLE_TITLES:
        ours = group(results, table, trained)
        if not ours:
            continue
        for result in ours:
            hybrid = result.summaries["hybrid"].metrics["mrr@10"]
            others = {m: s.metrics["mrr@10"] for m, s in result.summaries.items() if m != "hybrid"}
            behind = [m for m, value in others.items() if value >= hybrid]
            state = "yes" if not behind else f"NO (not above {', '.join(behind)})"
            lines.append(f"{table}/{result.name}: {trained} hybrid above every other row: {state}")
        average = means(ours)
        if NAIVE in average:
            gap = average["hybrid"]["mrr@10"] - average[NAIVE]["mrr@10"]
            lines.append(
                f"{table}: {trained} mean MRR@10 hybrid - naive = {gap:+.3f} "
                f"(bar +{MARGIN:.2f}): {_yes(gap >= MARGIN)}"
            )
        theirs = group(results, table, base) if base else []
        if theirs:
            base_hybrid = means(theirs)["hybrid"]["mrr@10"]
            gap = average["hybrid"]["mrr@10"] - base_hybrid
            lines.append(
                f"{table}: mean hybrid MRR@10 {trained} - {base} = {gap:+.3f} "
                f"(bar +{TRAINED_MARGIN:.2f}): {_yes(gap >= TRAINED_MARGIN)}"
            )
            semantic = average["semantic"]["mrr@10"]
            lines.append(
                f"{table}: {trained} semantic {semantic:.3f} above {base} hybrid "
                f"{base_hybrid:.3f}: {_yes(semantic > base_hybrid)}"
            )
    if base in throughput and trained in throughput:
        ratio = throughput[trained] / throughput[base]
        lines.append(
            f"index throughput {trained} / {base} = {ratio:.2f} "
            f"({throughput[trained]:.0f} vs {throughput[base]:.0f} symbols/s; bar >= 1 within "
            f"the noise of a shared machine): {_yes(ratio >= 0.95)}"
        )
    return lines


def _yes(holds: bool) -> str:
    return "yes" if holds else "NO"


def markdown(
    results: Sequence[CorpusResult],
    context: Mapping[str, str],
    checks: Sequence[str],
) -> str:
    parts = []
    for table, title in TABLE_TITLES.items():
        rows = [r for r in results if r.table == table]
        if not rows:
            continue
        parts += [f"## {title}", "", *_table(rows), ""]
    notes = [f"- {key}: {value}" for key, value in context.items()]
    return "\n".join([*parts, *notes, "", *[f"- {line}" for line in checks], ""])


def _table(results: Sequence[CorpusResult]) -> list[str]:
    header = "| corpus | model | mode | queries | MRR@10 (95% CI) | R@1 | R@5 | R@10 | nDCG@10 |"
    rows = [header, "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for result in results:
        for mode, summary in result.summaries.items():
            m = summary.metrics
            low, high = summary.intervals.get("mrr@10", (m["mrr@10"], m["mrr@10"]))
            r1_low, r1_high = summary.intervals.get("recall@1", (m["recall@1"], m["recall@1"]))
            rows.append(
                f"| {result.name} | {result.model} | {mode} | {summary.queries} | "
                f"{m['mrr@10']:.3f} [{low:.3f}, {high:.3f}] | "
                f"{m['recall@1']:.3f} [{r1_low:.2f}, {r1_high:.2f}] | "
                f"{m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['ndcg@10']:.3f} |"
            )
    for model in dict.fromkeys(r.model for r in results):
        for mode, m in means([r for r in results if r.model == model]).items():
            rows.append(
                f"| **mean** | {model} | {mode} | | {m['mrr@10']:.3f} | {m['recall@1']:.3f} | "
                f"{m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['ndcg@10']:.3f} |"
            )
    return rows


def as_json(
    results: Sequence[CorpusResult], context: Mapping[str, str], checks: Sequence[str]
) -> dict:
    tables: dict[str, dict] = {}
    for r in results:
        entry = tables.setdefault(r.table, {}).setdefault(r.model, {"corpora": []})
        entry["corpora"].append(
            {
                "name": r.name,
                "language": r.language,
                "files": r.files,
                "symbols": r.symbols,
                "modes": {mode: s.as_json() for mode, s in r.summaries.items()},
            }
        )
    for table, models in tables.items():
        for model, entry in models.items():
            entry["means"] = means(group(results, table, model))
    return {"context": dict(context), "tables": tables, "verdict": list(checks)}


def write(
    results: Sequence[CorpusResult],
    context: Mapping[str, str],
    checks: Sequence[str],
    folder: Path,
) -> Path:
    """Write quality.md and quality.json into `folder`; return the Markdown file."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "quality.md"
    title = "# Retrieval quality (python -m bench.quality)\n\n"
    target.write_text(title + markdown(results, context, checks))
    (folder / "quality.json").write_text(
        json.dumps(as_json(results, context, checks), indent=2) + "\n"
    )
    return target

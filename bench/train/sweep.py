"""Train several settings on one bundle in one lease of an accelerator, score each on
bench/quality's two tables, and bring back the best.

    python -m bench.train.sweep BUNDLE OUT SECONDS NAME:KEY=VALUE,... [NAME:...] [--keep N]

Each variant is the bundle's TrainConfig with some fields changed ("b:learning_rate=2e-5"; a
bare "a:" is the bundle's own). Variants run in the order given; each gets an even share of
the training time still left (fit's deadline), so the lease's end is never passed. Each is
scored by dense MRR@10 on the bundle's quality task (proxy.py), as is the base model first.

OUT receives sweep.json (every variant's settings, seconds and proxy figures, or its error)
and the weights of the --keep best so far by the mean of the two tables, as
`<name>-weights-*` chunks (written as each variant ends) that
`python -m bench.train unpack --chunks OUT --run RUN --variant <name>` reads.
Like fit.py this needs only PyTorch and sentence-transformers, never findcode.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from bench.train import bundle
from bench.train.fit import TrainConfig, fit

WORK = Path("/tmp/findcode-sweep")
K = 10


def parse_variant(text: str, config: TrainConfig) -> tuple[str, TrainConfig]:
    """ "name:key=value,key=value" as the name and the bundle's config with those fields."""
    name, _, assignments = text.partition(":")
    if not name.isidentifier():
        raise SystemExit(f"variant {text!r}: it needs a name (letters, digits, _) before ':'")
    types = {field.name: type(getattr(config, field.name)) for field in fields(TrainConfig)}
    changes: dict[str, Any] = {}
    for assignment in filter(None, assignments.split(",")):
        key, _, value = assignment.partition("=")
        if key not in types:
            raise SystemExit(f"variant {name}: no setting {key!r} (one of {', '.join(types)})")
        changes[key] = types[key](value)
    return name, replace(config, **changes)


def quality_scores(model: Any, task: list[dict]) -> dict[str, float]:
    """Dense MRR@10 per corpus and the mean of each table's corpora ("mined", "natural")."""
    import torch

    scores: dict[str, float] = {}
    by_table: dict[str, list[float]] = {}

    def unit_vectors(texts: list[str]) -> Any:
        return model.encode(
            texts, batch_size=256, normalize_embeddings=True, convert_to_tensor=True
        )

    for corpus in task:
        documents = corpus["documents"]
        vectors = unit_vectors([text for *_span, text in documents])
        queries = unit_vectors([text for text, _targets in corpus["queries"]])
        top = torch.topk(queries @ vectors.T, k=min(K, len(documents)), dim=1).indices.tolist()
        reciprocal = []
        for found, (_text, targets) in zip(top, corpus["queries"], strict=True):
            rank = next(
                (
                    place
                    for place, number in enumerate(found, start=1)
                    if _lands(documents[number], targets)
                ),
                None,
            )
            reciprocal.append(1.0 / rank if rank else 0.0)
        score = sum(reciprocal) / len(reciprocal)
        scores[corpus["name"]] = round(score, 4)
        by_table.setdefault(corpus["table"], []).append(score)
    for table, values in by_table.items():
        scores[table] = round(sum(values) / len(values), 4)
    return scores


def _lands(document: list, targets: list) -> bool:
    """Same file and overlapping lines, as bench/quality counts a hit."""
    rel, start, end, _text = document
    return any(
        rel == t_rel and start <= t_end and end >= t_start for t_rel, t_start, t_end in targets
    )


def _prefixed(name: str) -> Callable[[str], None]:
    return lambda message: print(f"{name}: {message}", flush=True)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def both_tables(scores: dict[str, float]) -> float:
    return (scores["mined"] + scores["natural"]) / 2


def sweep(
    bundle_dir: Path, out: Path, seconds: float, variants: list[str], keep: int
) -> list[dict[str, Any]]:
    """Train and score every variant within `seconds`; the report written to out/sweep.json."""
    from sentence_transformers import SentenceTransformer

    ends = time.monotonic() + seconds
    rows, validation, config = bundle.load(bundle_dir)
    task = bundle.read_quality(bundle_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = "cuda" if _cuda() else "cpu"
    base = SentenceTransformer(str(bundle_dir / "base"), device=device)
    base.max_seq_length = config.max_seq_length
    report: list[dict[str, Any]] = [{"name": "base", "quality": quality_scores(base, task)}]
    print(f"sweep: base {json.dumps(report[0]['quality'])}", flush=True)
    del base
    chosen = [parse_variant(text, config) for text in variants]
    kept: list[dict[str, Any]] = []
    for number, (name, settings) in enumerate(chosen):
        share = (ends - time.monotonic()) / (len(chosen) - number)
        began = time.monotonic()
        entry: dict[str, Any] = {"name": name, "config": asdict(settings)}
        report.append(entry)
        try:
            final = fit(
                rows,
                validation,
                settings,
                base=bundle_dir / "base",
                folder=WORK / name,
                final=WORK / name / "final",
                threads=8,
                deadline=began + share,
                log=_prefixed(name),
            )
            if final is None:
                raise RuntimeError("stopped early")
            trained = SentenceTransformer(str(final), device=device)
            trained.max_seq_length = settings.max_seq_length
            entry["quality"] = quality_scores(trained, task)
            del trained
        except Exception as error:  # one variant's failure must not cost the others' results
            entry["error"] = f"{type(error).__name__}: {error}"
        entry["seconds"] = round(time.monotonic() - began)
        print(f"sweep: {name} {json.dumps(entry)}", flush=True)
        if "quality" in entry:
            kept = _keep_best(kept, entry, keep, out, bundle_dir / "base")
        (out / "sweep.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _keep_best(
    kept: list[dict[str, Any]], entry: dict[str, Any], keep: int, out: Path, base: Path
) -> list[dict[str, Any]]:
    """Bring back `entry`'s weights if it is among the best `keep` so far, and drop the chunks
    of one it pushes out: written as each variant ends, so a lease cut short keeps the best."""
    ranked = sorted([*kept, entry], key=lambda e: both_tables(e["quality"]), reverse=True)
    for dropped in ranked[keep:]:
        for path in out.glob(f"{bundle.weights_prefix(dropped['name'])}-*.safetensors"):
            path.unlink()
        dropped["kept"] = False
    if entry in ranked[:keep]:
        prefix = bundle.weights_prefix(entry["name"])
        bundle.save_trained(WORK / entry["name"] / "final", base, out, prefix)
        entry["kept"] = True
    return ranked[:keep]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.train.sweep")
    parser.add_argument("bundle", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("seconds", type=float, help="training time for all variants together")
    parser.add_argument("variants", nargs="+", help="NAME:KEY=VALUE,... (see the module doc)")
    parser.add_argument("--keep", type=int, default=2, help="bring back this many best models")
    args = parser.parse_args(argv)
    sweep(args.bundle, args.out, args.seconds, args.variants, args.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

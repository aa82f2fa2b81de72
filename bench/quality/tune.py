"""Try ranking knobs on both query sets at once, over the indexes bench.quality left behind.

    python -m bench.quality.tune [--model NAME] [--max-queries N]

Each candidate Ranking changes one knob of the default; every one is scored by hybrid MRR@10
on the mined table and on the natural table, and ranked by the mean of the two tables' means,
so no knob is chosen for one set of queries alone. Nothing is embedded but the queries: run
`python -m bench.quality` first (it fills bench/.cache/quality/work/<model>).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from collections.abc import Callable, Sequence

import numpy as np
from findcode.config import Settings
from findcode.embedder import Embedder
from findcode.engine import Engine
from findcode.evaluation import K, hit_rank, index_copy, per_query
from findcode.mining import mine, read_repository
from findcode.model import DEFAULT_MODEL, resolve_model_path
from findcode.search import DEFAULT_RANKING, Ranking

from bench.quality.__main__ import WORK
from bench.quality.corpora import CORPORA, NATURAL_CORPORA
from bench.quality.fetch import fetch
from bench.quality.natural import WORK as NATURAL_WORK
from bench.quality.natural import first_hit, open_corpus

CANDIDATES: tuple[tuple[str, object], ...] = (
    ("doc_weight", 0.25),
    ("doc_weight", 0.5),
    ("doc_weight", 1.0),
    ("stub_factor", 0.5),
    ("stub_factor", 0.25),
    ("test_file_factor", 0.25),
    ("test_file_factor", 1.0),
    ("dedup_classes", True),
    ("dense_weight", 1.0),
    ("dense_weight", 2.0),
    ("dense_weight", 3.0),
    ("dense_weight", 4.0),
    ("rrf_k", 30.0),
    ("rrf_k", 60.0),
)

# One scorer per corpus: asks a query under a ranking, says whether (and where) it was found.
Scorer = Callable[[Ranking], list[int | None]]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mrr(ranks: Sequence[int | None]) -> float:
    return float(np.mean(per_query(ranks)["mrr@10"])) if ranks else 0.0


def mined_engines(
    model: str, embedder: Embedder, settings: Settings, max_queries: int
) -> list[tuple[Engine, Scorer]]:
    out = []
    for corpus in CORPORA:
        mined = mine(read_repository(fetch(corpus), settings), max_pairs=max_queries, seed=0)
        workdir = WORK / model / corpus.name
        engine, _seconds = index_copy(mined.files, workdir, settings=settings, embedder=embedder)

        def score(ranking: Ranking, engine: Engine = engine, pairs=mined.pairs) -> list:
            engine.ranking = ranking
            return [hit_rank(engine.search(p.query, limit=K, mode="hybrid").hits, p) for p in pairs]

        out.append((engine, score))
    return out


def natural_engines(model: str, embedder: Embedder, settings: Settings) -> list:
    out = []
    for corpus in NATURAL_CORPORA:
        workdir = NATURAL_WORK / model / corpus.name
        queries, targets, engine = open_corpus(
            corpus, workdir, settings=settings, embedder=embedder
        )

        def score(ranking: Ranking, engine: Engine = engine, asked=(queries, targets)) -> list:
            engine.ranking = ranking
            return [
                first_hit(engine.search(q.text, limit=K, mode="hybrid").hits, spans)
                for q, spans in zip(asked[0].queries, asked[1], strict=True)
            ]

        out.append((engine, score))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality.tune")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--max-queries", type=int, default=300)
    args = parser.parse_args(argv)
    settings = Settings()
    embedder = Embedder(resolve_model_path(args.model), threads=settings.threads)
    # Every ranking asks the same queries: embed each once (the vectors are never mutated).
    embedder.embed_query = functools.lru_cache(maxsize=None)(embedder.embed_query)  # type: ignore[method-assign]
    tables = {
        "mined": mined_engines(args.model, embedder, settings, args.max_queries),
        "natural": natural_engines(args.model, embedder, settings),
    }
    rankings = [("default", DEFAULT_RANKING)] + [
        (f"{knob}={value}", dataclasses.replace(DEFAULT_RANKING, **{knob: value}))
        for knob, value in CANDIDATES
    ]
    print("| ranking | mined mean MRR@10 | natural mean MRR@10 | both |")
    print("| --- | ---: | ---: | ---: |")
    for label, ranking in rankings:
        means = {
            table: float(np.mean([mrr(score(ranking)) for _engine, score in scorers]))
            for table, scorers in tables.items()
        }
        both = (means["mined"] + means["natural"]) / 2
        print(f"| {label} | {means['mined']:.3f} | {means['natural']:.3f} | {both:.3f} |")
        sys.stdout.flush()
    for scorers in tables.values():
        for engine, _score in scorers:
            engine.close()
    embedder.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

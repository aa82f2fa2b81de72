"""Score a search function on mined docstring -> function pairs.

The figures are the usual ones for one relevant answer per query (CodeSearchNet, CoIR):
MRR@10, Recall@1/5/10 and nDCG@10. A result counts when it is in the target's file and its
range overlaps the target's, so a method found through its class, or a function through a
nested helper, is still found. A bootstrap over the queries gives each figure a 95% interval,
because a few hundred queries leave differences of a few points within the noise.

The scoring takes any search callable; `evaluate_repository` runs the whole loop (mine, index
the copy with a real Engine, ask every query in every mode) for the bench and `findcode eval`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from findcode.config import Settings
from findcode.embedder import Embedder
from findcode.engine import Engine, Hit
from findcode.errors import FindcodeError
from findcode.mining import MinedRepository, Pair, mine, write_tree

K = 10
METRICS = ("mrr@10", "recall@1", "recall@5", "recall@10", "ndcg@10")
BOOTSTRAP_SAMPLES = 1000
# Table order: the two halves first, then their fusion.
MODES = ("lexical", "semantic", "hybrid")


class Located(Protocol):
    """What a search result must say for it to be scored (engine.Hit has these)."""

    @property
    def rel(self) -> str: ...
    @property
    def start_line(self) -> int: ...
    @property
    def end_line(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Summary:
    """One mode's figures over one query set."""

    mode: str
    queries: int
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "mode": self.mode,
            "queries": self.queries,
            "metrics": self.metrics,
            "intervals": {name: list(bounds) for name, bounds in self.intervals.items()},
        }


def hit_rank(results: Sequence[Located], target: Located, k: int = K) -> int | None:
    """1-based rank of the first result that lands on the target (same file, overlapping
    lines), None when none of k does."""
    for rank, result in enumerate(results[:k], start=1):
        if (
            result.rel == target.rel
            and result.start_line <= target.end_line
            and result.end_line >= target.start_line
        ):
            return rank
    return None


def rank_all(
    search: Callable[[str], Sequence[Located]], pairs: Sequence[Pair], k: int = K
) -> list[int | None]:
    """The target's rank for every pair, asking `search` for each query."""
    return [hit_rank(search(pair.query), pair, k) for pair in pairs]


def per_query(ranks: Sequence[int | None]) -> dict[str, np.ndarray]:
    """Each metric's value for each query: the rows the means and the bootstrap are taken over."""
    found = np.array([rank is not None for rank in ranks], dtype=bool)
    positions = np.array([rank or 0 for rank in ranks], dtype=np.float64)
    safe = np.where(found, positions, 1.0)
    return {
        "mrr@10": np.where(found, 1.0 / safe, 0.0),
        "recall@1": (found & (positions <= 1)).astype(np.float64),
        "recall@5": (found & (positions <= 5)).astype(np.float64),
        "recall@10": found.astype(np.float64),
        # One relevant item: the ideal DCG is 1, so nDCG is the discounted gain of its rank.
        "ndcg@10": np.where(found, 1.0 / np.log2(safe + 1.0), 0.0),
    }


def summarize(mode: str, ranks: Sequence[int | None], *, seed: int = 0) -> Summary:
    """Means of every metric with a percentile-bootstrap 95% interval (fixed seed: repeatable)."""
    values = per_query(ranks)
    if not ranks:
        return Summary(mode, 0, dict.fromkeys(METRICS, 0.0))
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(ranks), size=(BOOTSTRAP_SAMPLES, len(ranks)))
    metrics, intervals = {}, {}
    for name in METRICS:
        column = values[name]
        means = column[samples].mean(axis=1)
        metrics[name] = float(column.mean())
        intervals[name] = (float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5)))
    return Summary(mode, len(ranks), metrics, intervals)


@dataclass(frozen=True, slots=True)
class RepositoryEvaluation:
    """What `evaluate_repository` found: the mined pairs and one summary per mode."""

    mined: MinedRepository
    summaries: dict[str, Summary]
    ranks: dict[str, list[int | None]]
    index_seconds: float


def evaluate_repository(
    files: Mapping[str, str],
    workdir: Path,
    *,
    settings: Settings,
    embedder: Embedder | None = None,
    modes: Sequence[str] = MODES,
    max_pairs: int | None = None,
    seed: int = 0,
    log: Callable[[str], None] = lambda _message: None,
) -> RepositoryEvaluation:
    """Mine `files`, index the rewritten copy under `workdir`, and score every mode on it."""
    mined = mine(files, max_pairs=max_pairs, seed=seed)
    return evaluate_mined(
        mined, workdir, settings=settings, embedder=embedder, modes=modes, seed=seed, log=log
    )


def evaluate_mined(
    mined: MinedRepository,
    workdir: Path,
    *,
    settings: Settings,
    embedder: Embedder | None = None,
    modes: Sequence[str] = MODES,
    seed: int = 0,
    log: Callable[[str], None] = lambda _message: None,
) -> RepositoryEvaluation:
    """Index the mined copy under `workdir` and score every mode on its pairs.

    `workdir` holds the copy (workdir/tree) and its index (workdir/index): reusing it keeps the
    vector cache, so a second run embeds only what changed.
    """
    engine, index_seconds = index_copy(mined.files, workdir, settings=settings, embedder=embedder)
    try:
        log(f"indexed {len(mined.files)} files in {index_seconds:.1f}s")
        ranks: dict[str, list[int | None]] = {}
        summaries: dict[str, Summary] = {}
        for mode in modes:
            ranks[mode] = rank_all(functools.partial(search_hits, engine, mode), mined.pairs)
            summaries[mode] = summarize(mode, ranks[mode], seed=seed)
    finally:
        engine.close()
    return RepositoryEvaluation(mined, summaries, ranks, index_seconds)


def index_copy(
    files: Mapping[str, str],
    workdir: Path,
    *,
    settings: Settings,
    embedder: Embedder | None = None,
) -> tuple[Engine, float]:
    """Write `files` to workdir/tree and index them into workdir/index: the idle engine (the
    caller closes it) and the seconds indexing took. FindcodeError when indexing failed."""
    tree = workdir / "tree"
    write_tree(files, tree)
    engine_settings = settings.replace(index_dir=workdir / "index", watch=False)
    engine = Engine([tree], engine_settings, embedder=embedder)
    started = time.perf_counter()
    engine.start()
    try:
        engine.wait_idle()
        seconds = time.perf_counter() - started
        status = engine.status()
        if status["state"] == "error":
            raise FindcodeError(f"indexing the copy in {workdir} failed: {status['lastError']}")
    except BaseException:
        engine.close()
        raise
    return engine, seconds


def search_hits(engine: Engine, mode: str, query: str) -> list[Hit]:
    """The top K hits of one query in one mode."""
    return engine.search(query, limit=K, mode=mode).hits

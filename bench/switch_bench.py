"""Switching models without downtime: what a switch costs, what searches see meanwhile, and
what switching back costs.

    python -m bench.switch_bench [--symbols 2000] [--json PATH]

A stdlib tree (bench/index_bench.py's `build_tree`) is indexed cold with the default model
(`findcode`), then the running engine switches to the base model (`minilm`) while a thread
searches by meaning without pause, then switches back. Printed beside the same run's
baselines: the switch's time beside the cold index's (both embed every symbol once), the
searches' latency during the switch beside before it (none may fail or come back empty), and
the switch back beside the switch (budget: it embeds nothing, so < 1/20 of it), with
`uptime`'s load: the machines are shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

from findcode.config import Settings
from findcode.engine import Engine

from bench.index_bench import build_tree
from bench.report import publish

BUDGET_BACK_RATIO = 1 / 20
DEFAULT_WORKDIR = Path(__file__).parent / ".cache" / "switch_bench"
QUERY = "parse a date string into a datetime"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def switch(engine: Engine, settings: Settings) -> float:
    """Seconds from asking for `settings`' model until it answers every search."""
    started = time.perf_counter()
    engine.switch_model(settings)
    engine.wait_idle()
    assert engine.status()["switching"] is None
    return time.perf_counter() - started


def search_ms(engine: Engine) -> float:
    started = time.perf_counter()
    hits = engine.search(QUERY, limit=10, mode="semantic").hits
    assert hits, "a search by meaning came back empty"
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    shutil.rmtree(args.workdir, ignore_errors=True)
    tree = args.workdir / "tree"
    files, symbols = build_tree(args.symbols, tree)
    say(f"tree: {files} stdlib files, {symbols} symbols in {tree}")
    default = Settings(index_dir=args.workdir / "index", watch=False, low_priority=False)
    base = default.replace(model="minilm")
    load_start = os.getloadavg()

    engine = Engine([tree], default)
    started = time.perf_counter()
    engine.start()
    engine.wait_idle()
    cold_s = time.perf_counter() - started
    say(f"cold index: {cold_s:.1f} s")
    before = [search_ms(engine) for _ in range(20)]

    during: list[float] = []
    models: set[str] = set()
    done = threading.Event()

    def keep_searching() -> None:
        while not done.is_set():
            during.append(search_ms(engine))
            models.add(engine.status()["model"]["name"])
            time.sleep(0.5)  # a person typing queries, not a load test

    searcher = threading.Thread(target=keep_searching)
    embedded = engine.embedded_count
    searcher.start()
    try:
        switch_s = switch(engine, base)
    finally:
        done.set()
        searcher.join()
    switched = engine.embedded_count - embedded
    say(f"switch to minilm: {switch_s:.1f} s, {switched} embedded, {len(during)} searches")
    embedded = engine.embedded_count
    back_s = switch(engine, default)
    back_embedded = engine.embedded_count - embedded
    engine.close()
    load = os.getloadavg()

    figures = {
        "files": files,
        "symbols": symbols,
        "cold_seconds": cold_s,
        "switch_seconds": switch_s,
        "switch_embedded": switched,
        "back_seconds": back_s,
        "back_embedded": back_embedded,
        "search_ms_before": {"p50": statistics.median(before), "p99": percentile(before, 0.99)},
        "search_ms_during": {"p50": statistics.median(during), "p99": percentile(during, 0.99)},
        "searches_during": len(during),
        "models_seen_during": sorted(models),
        "budget_back_ratio": BUDGET_BACK_RATIO,
        "load": {"start": load_start, "end": load},
    }
    ms_before, ms_during = figures["search_ms_before"], figures["search_ms_during"]
    rows = [
        f"switch benchmark: {symbols} symbols in {files} stdlib files, findcode -> minilm -> "
        f"findcode; load average {load_start[0]:.1f} at the start, {load[0]:.1f} at the end",
        "",
        "| step | time | embedded | baseline (same run) | ratio | budget |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| switch to minilm | {switch_s:.1f} s | {switched} | cold index {cold_s:.1f} s "
        f"| {switch_s / cold_s:.2f} | — |",
        f"| switch back | {back_s:.2f} s | {back_embedded} | the switch {switch_s:.1f} s "
        f"| {back_s / switch_s:.3f} | < {BUDGET_BACK_RATIO:.3f} |",
        "",
        f"{len(during)} searches by meaning during the switch, none empty, answered by "
        f"{' then '.join(sorted(models, key=lambda m: m != 'findcode-minilm-code'))}: "
        f"p50 {ms_during['p50']:.1f} ms, p99 {ms_during['p99']:.1f} ms (before it: p50 "
        f"{ms_before['p50']:.1f} ms, p99 {ms_before['p99']:.1f} ms)",
    ]
    publish(rows, figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Contention benchmark: findcode indexing beside one CPU-bound process on the same cores.

    python -m bench.contention_bench [--symbols 600] [--competitor-s 10] [--out bench/results]

An editor always has company: language servers, builds, tests. llama.cpp's threads spin while
they wait for each other, so an embedder on every core slows down sharply beside anything else,
and slows that down too. This bench starts a competitor (a pure-Python loop, one core, counting
its iterations) and measures both sides, each against itself alone, in one run:

- the competitor's speed beside indexing / its speed alone       (budget >= 0.80)
- findcode's indexing throughput beside it / its throughput alone (budget >= 0.40)

for findcode as it is now (idle OS priority, threads following the load) and, as the baseline in
the same run, the old behaviour (normal priority, a fixed 2 threads on one llama.cpp context:
before the embedder's lanes). The tree is a copy of stdlib modules holding --symbols symbols
(bench.index_bench.build_tree), indexed from scratch with the real default model each time. The
competitor's solo speed is measured before and after the findcode runs, and their mean is the
reference. The machine's load average is printed beside the figures: on a shared machine they
are noisy, so rerun it quiet.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from findcode.config import Settings
from findcode.embedder import Embedder, usable_cores
from findcode.engine import Engine
from findcode.model import resolve_model_path

from bench.index_bench import build_tree

BUDGETS = {"competitor": 0.80, "findcode": 0.40}
DEFAULT_WORKDIR = Path(__file__).parent / ".cache" / "contention_bench"
RESULTS = Path(__file__).parent / "results"
# The competitor: counts loop iterations; SIGUSR1 starts the measured window, SIGTERM ends it
# and prints "iterations seconds" of the window.
COMPETITOR = """
import signal, sys, time
count, mark = 0, [0, time.perf_counter()]
def start(*_): mark[:] = [count, time.perf_counter()]
def stop(*_):
    print(count - mark[0], time.perf_counter() - mark[1], flush=True); sys.exit(0)
signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGTERM, stop)
while True:
    for _ in range(10000):
        count += 1
"""
# Each mode's settings, and its embedder's lanes (None: the default).
MODES: dict[str, tuple[Settings, int | None]] = {
    "new": (Settings(watch=False), None),  # low priority, adaptive threads: the defaults
    "old": (Settings(watch=False, low_priority=False, threads=2), 1),
}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


class Competitor:
    """The CPU-bound neighbour, in its own process at normal priority."""

    def __enter__(self) -> Competitor:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", COMPETITOR], stdout=subprocess.PIPE, text=True
        )
        time.sleep(0.5)  # past the interpreter's start-up
        self.proc.send_signal(signal.SIGUSR1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        """End the measured window (and the competitor)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def rate(self) -> float:
        """Iterations per second over the window; ends the competitor if it still runs."""
        self.stop()
        out, _ = self.proc.communicate(timeout=30)
        iterations, seconds = out.split()
        return int(iterations) / float(seconds)


def competitor_alone(seconds: float) -> float:
    with Competitor() as competitor:
        time.sleep(seconds)
        return competitor.rate()


def index_once(
    tree: Path,
    work: Path,
    mode: tuple[Settings, int | None],
    limit_s: float,
    measured: Callable[[], None] = lambda: None,
) -> dict[str, object]:
    """Index `tree` from scratch; symbols/s from the walk to the last vector, or to `limit_s`
    (idle priority on a machine others keep busy may not finish: the rate so far stands).
    `measured` runs at the end of the window, before the engine closes (which waits for the
    batch in hand)."""
    index_dir = work / "index"
    shutil.rmtree(index_dir, ignore_errors=True)
    threads_seen: set[int] = set()
    engines: list[Engine] = []

    def progress(_event: object) -> None:
        if engines:
            threads_seen.add(engines[0].embedder.threads)

    settings, lanes = mode
    embedder = None
    if lanes is not None:  # an embedder of the bench's own, which the engine does not adapt
        path = resolve_model_path(settings.model)
        embedder = Embedder(path, threads=settings.threads, lanes=lanes)
    engine = Engine(
        [tree], settings.replace(index_dir=index_dir), on_progress=progress, embedder=embedder
    )
    engines.append(engine)
    # The engine stops before its embedder closes; the model loads in start(), and the clock
    # starts with the walk.
    with contextlib.closing(embedder) if embedder else contextlib.nullcontext(), engine:
        started = time.monotonic()
        finished = engine.wait_idle(limit_s)
        seconds = time.monotonic() - started
        measured()
        status = engine.status()
        assert not status["lastError"], status
        return {
            "finished": finished,
            "symbols": engine.embedded_count,
            "seconds": round(seconds, 2),
            "rate": engine.embedded_count / seconds,
            "priority": engine.indexing_priority,
            "threads": sorted(threads_seen),
        }


def run(symbols: int, competitor_s: float, limit_s: float, work: Path) -> dict[str, object]:
    tree = work / "tree"
    files, count = build_tree(symbols, tree)
    say(f"tree: {count} symbols in {files} stdlib files; {usable_cores()} cores; {load()}")
    solo_before = competitor_alone(competitor_s)
    say(f"competitor alone: {solo_before:,.0f} iterations/s")
    figures: dict[str, object] = {"cores": usable_cores(), "symbols": count, "files": files}
    for mode, setup in MODES.items():
        alone = index_once(tree, work, setup, limit_s)
        say(f"{mode}: findcode alone {alone['rate']:.1f} symbols/s ({alone['seconds']} s)")
        with Competitor() as competitor:
            together = index_once(tree, work, setup, limit_s, competitor.stop)
            beside = competitor.rate()
        say(
            f"{mode}: findcode beside it {together['rate']:.1f} symbols/s, "
            f"competitor {beside:,.0f} iterations/s; {load()}"
        )
        figures[mode] = {"alone": alone, "together": together, "competitor_beside": beside}
    solo_after = competitor_alone(competitor_s)
    solo = (solo_before + solo_after) / 2
    figures["competitor_alone"] = {"before": solo_before, "after": solo_after, "mean": solo}
    for mode in MODES:
        side = figures[mode]
        assert isinstance(side, dict)
        side["competitor_ratio"] = side["competitor_beside"] / solo
        alone = side["alone"]["rate"]  # 0: starved by other load within --limit-s
        side["findcode_ratio"] = side["together"]["rate"] / alone if alone else None
    figures["load_after"] = load()
    return figures


def table(figures: dict) -> str:
    lines = [
        f"contention benchmark: {figures['symbols']} symbols in {figures['files']} stdlib files, "
        f"{figures['cores']} cores, one CPU-bound competitor (a pure-Python loop); "
        f"{figures['load_after']} after the run",
        "",
        "| findcode | priority | threads used | competitor beside / alone | budget "
        "| findcode beside / alone | budget |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    labels = {"new": "now: idle priority, adaptive", "old": "baseline: normal, 2 threads"}
    for mode, label in labels.items():
        side = figures[mode]
        threads = "/".join(map(str, side["together"]["threads"])) or "-"
        ratio = side["findcode_ratio"]
        lines.append(
            f"| {label} | {side['together']['priority']} | {threads} "
            f"| {side['competitor_ratio']:.2f} | >= {BUDGETS['competitor']:.2f} "
            f"| {'n/a' if ratio is None else f'{ratio:.2f}'} ({side['together']['rate']:.1f} vs "
            f"{side['alone']['rate']:.1f} symbols/s) | >= {BUDGETS['findcode']:.2f} |"
        )
    unfinished = [
        f"{mode} {run}"
        for mode in labels
        for run in ("alone", "together")
        if not figures[mode][run]["finished"]
    ]
    if unfinished:
        lines += ["", f"stopped at --limit-s before the end (rate so far): {', '.join(unfinished)}"]
    solo = figures["competitor_alone"]
    lines += [
        "",
        f"competitor alone: {solo['before']:,.0f} iterations/s before, {solo['after']:,.0f} "
        "after (their mean is the reference)",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=600)
    parser.add_argument("--competitor-s", type=float, default=10.0)
    parser.add_argument(
        "--limit-s", type=float, default=600.0, help="stop an indexing run after this long"
    )
    parser.add_argument("--work", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the .md and .json go")
    args = parser.parse_args()
    figures = run(args.symbols, args.competitor_s, args.limit_s, args.work)
    text = table(figures)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "contention_bench.md").write_text(text + "\n")
    (args.out / "contention_bench.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()

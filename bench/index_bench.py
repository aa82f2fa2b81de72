"""Index benchmark: what indexing, re-indexing and searching cost at 20,000+ symbols.

    python -m bench.index_bench [--symbols 20000] [--queries 200] [--json PATH]

The tree is a copy of Python standard library modules (library first, then its tests), taken
in path order until it holds the wanted number of symbols; the copy is what gets edited. Every
figure is printed beside its budget (issue 4) and beside a baseline measured in the same run,
because these machines are shared and an absolute time alone says little:

- cold index rate      vs. the embedder alone (symbols/s inside embed_documents)
- unchanged re-index   vs. the walk alone (stat every file, the floor of any re-index)
- one-function change  vs. embedding that one symbol alone
- hybrid query p50/p99 vs. the same hybrid search with an exact numpy cosine over all vectors
  in place of hnswlib (the ratio is what hnswlib buys); recall@10 of hnswlib against it
- index size on disk   vs. the raw float32 vectors
- peak RSS             (measured before the brute-force matrix is built)
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
from findcode.config import Settings
from findcode.documents import document_text
from findcode.embedder import Embedder
from findcode.engine import Engine
from findcode.model import resolve_model_path
from findcode.symbols import extract_symbols
from findcode.workspace import is_excluded, walk

from bench.report import publish

BUDGETS = {
    "unchanged_reindex_s": 2.0,
    "change_p50_ms": 150.0,
    "query_p50_ms": 25.0,
    "query_p99_ms": 80.0,
    "peak_rss_mb": 400.0,
}
TEST_DIRS = {"test", "tests", "idle_test"}
CHANGES = 20
DEFAULT_WORKDIR = Path(__file__).parent / ".cache" / "index_bench"
# What the walk leaves out by name is left out of the tree, so its symbol count is the index's.
DEFAULT_SETTINGS = Settings()


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_tree(target: int, tree: Path) -> tuple[int, int]:
    """Copy stdlib modules into `tree` until they hold `target` symbols; (files, symbols).

    Library code first; the stdlib's own tests only when the library alone is too small
    (3.11's library holds about 19,600 symbols)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    shutil.rmtree(tree, ignore_errors=True)
    files = symbols = 0
    candidates = [p for p in sorted(stdlib.rglob("*.py")) if "site-packages" not in p.parts]
    library = [p for p in candidates if not TEST_DIRS.intersection(p.relative_to(stdlib).parts)]
    tests = [p for p in candidates if p not in set(library)]
    for path in library + tests:
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(stdlib)
        dest = tree / rel
        if is_excluded(tree, dest, DEFAULT_SETTINGS):
            continue  # the walk would leave it out (the stdlib's venv/ package): count it out too
        text = path.read_text(encoding="utf-8", errors="replace")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        files += 1
        symbols += len(extract_symbols(rel.as_posix(), text))
        if symbols >= target:
            break
    return files, symbols


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cold_index(tree: Path, settings: Settings, embedder: Embedder) -> dict[str, float]:
    last = [time.monotonic()]

    def report(progress) -> None:
        if time.monotonic() - last[0] > 30:
            last[0] = time.monotonic()
            say(
                f"  {progress.phase}: files {progress.files_done}/{progress.files_total}, "
                f"symbols {progress.symbols_done}/{progress.symbols_total}, "
                f"{progress.rate:.1f}/s, ETA {progress.eta_s or 0:.0f}s"
            )

    engine = Engine([tree], settings, embedder=embedder, on_progress=report)
    started = time.perf_counter()
    engine.start()
    engine.wait_idle()
    seconds = time.perf_counter() - started
    embed_seconds = engine._worker.embed_seconds
    embedded = engine.embedded_count
    symbols = engine.status()["symbols"]
    engine.close()
    return {
        "seconds": seconds,
        "symbols": symbols,
        "embedded": embedded,
        "rate": embedded / seconds,
        "embed_only_rate": embedded / embed_seconds if embed_seconds else 0.0,
    }


def unchanged_reindex(tree: Path, settings: Settings, embedder: Embedder) -> dict[str, float]:
    times, walks = [], []
    for _ in range(3):
        engine = Engine([tree], settings, embedder=embedder)
        started = time.perf_counter()
        engine.start()
        engine.wait_idle()
        times.append(time.perf_counter() - started)
        assert engine.embedded_count == 0, "an unchanged tree embedded something"
        engine.close()
        started = time.perf_counter()
        walk([tree], settings)
        walks.append(time.perf_counter() - started)
    return {"seconds": statistics.median(times), "walk_seconds": statistics.median(walks)}


def all_rows(engine: Engine) -> list:
    (index,) = engine._worker.roots()
    ids, _ = index.store.used_vectors(engine._worker.embed_key)
    users = [symbol_id for _, symbol_id in index.store.symbols_of_vectors(ids)]
    return list(index.store.symbols(users).values())


def one_function_changes(engine: Engine, tree: Path, rng: random.Random) -> dict[str, float]:
    """Edit one top-level function's body at a time; time save -> searchable with its vector."""
    rows = [
        row
        for row in all_rows(engine)
        if row.kind == "function" and row.language == "python" and "\n    return " in row.code
    ]
    latencies, alone = [], []
    (index,) = engine._worker.roots()
    for n, picked in enumerate(rng.sample(rows, CHANGES)):
        # Positions move when an earlier edit hit the same file; unchanged symbols keep their
        # ids, so the current row is one lookup away.
        row = index.store.symbols([picked.id])[picked.id]
        path = tree / row.rel
        text = path.read_text()
        lines = text.splitlines(keepends=True)
        body = "".join(lines[row.start_line - 1 : row.end_line])
        edited = body.replace("\n    return ", f"\n    _bench_edit = {n}\n    return ", 1)
        lines[row.start_line - 1 : row.end_line] = [edited]
        before = engine.embedded_count
        path.write_text("".join(lines))
        started = time.perf_counter()
        engine.notify_changed([path], urgent=True)
        engine.wait_idle()
        latencies.append((time.perf_counter() - started) * 1000)
        embedded = engine.embedded_count - before
        assert embedded == 1, (row.rel, row.qualified_name, embedded, engine._worker._pending)
        started = time.perf_counter()
        engine.embedder.embed_documents([document_text(row.as_symbol())])
        alone.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": statistics.median(latencies), "embed_one_p50_ms": statistics.median(alone)}


def sample_queries(engine: Engine, count: int, rng: random.Random) -> list[str]:
    """First lines of docstrings: the way a person describes what a function does."""
    docs = [
        row.doc.strip().splitlines()[0]
        for row in all_rows(engine)
        if row.kind in ("function", "method") and len(row.doc.strip()) > 20
    ]
    return rng.sample(docs, min(count, len(docs)))


def time_queries(engine: Engine, queries: list[str]) -> list[float]:
    for query in queries[:10]:  # warm caches
        engine.search(query, limit=10)
    latencies = []
    for query in queries:
        started = time.perf_counter()
        engine.search(query, limit=10)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


class ExactSearch:
    """The brute-force baseline: cosine against every stored vector with numpy."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids = ids
        self.vectors = vectors

    def search(self, vector, k, allow=None):
        scores = self.vectors @ vector  # both sides are L2-normalised: dot = cosine
        if allow is not None:
            scores = np.where([allow(int(i)) for i in self.ids], scores, -np.inf)
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(self.ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]


def queries_and_baseline(engine: Engine, queries: list[str]) -> dict[str, float]:
    hybrid = time_queries(engine, queries)
    (index,) = engine._worker.roots()
    ids, vectors = index.store.used_vectors(engine._worker.embed_key)
    exact = ExactSearch(ids, vectors)
    hnsw_search = index.vectors.search
    recall = []
    for query in queries:
        vector = engine.embedder.embed_query(query)
        approximate = {label for label, _ in hnsw_search(vector, 10)}
        truth = {label for label, _ in exact.search(vector, 10)}
        recall.append(len(approximate & truth) / len(truth))
    index.vectors.search = exact.search  # the same engine, hnswlib swapped for numpy
    try:
        brute = time_queries(engine, queries)
    finally:
        del index.vectors.search
    return {
        "p50_ms": statistics.median(hybrid),
        "p99_ms": percentile(hybrid, 99),
        "brute_p50_ms": statistics.median(brute),
        "brute_p99_ms": percentile(brute, 99),
        "recall_at_10": float(np.mean(recall)),
        "queries": len(queries),
    }


def dense_only(engine: Engine, queries: list[str]) -> dict[str, float]:
    """k-NN alone, hnswlib vs numpy, on the query vectors (no embedding, no SQL)."""
    (index,) = engine._worker.roots()
    ids, vectors = index.store.used_vectors(engine._worker.embed_key)
    exact = ExactSearch(ids, vectors)
    query_vectors = [engine.embedder.embed_query(q) for q in queries]
    timings = {}
    for name, search in (("hnsw", index.vectors.search), ("brute", exact.search)):
        latencies = []
        for vector in query_vectors:
            started = time.perf_counter()
            search(vector, 50)
            latencies.append((time.perf_counter() - started) * 1000)
        timings[f"{name}_p50_ms"] = statistics.median(latencies)
    return timings


def row(name: str, value: str, budget: str, baseline: str, ratio: str) -> str:
    return f"| {name} | {value} | {budget} | {baseline} | {ratio} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    rng = random.Random(4)

    tree = args.workdir / "tree"
    files, symbols = build_tree(args.symbols, tree)
    say(f"tree: {files} stdlib files, {symbols} symbols in {tree}")
    index_dir = args.workdir / "index"
    shutil.rmtree(index_dir, ignore_errors=True)
    settings = Settings(index_dir=index_dir, watch=False)
    embedder = Embedder(resolve_model_path(None))

    say("cold index (this is the long part)...")
    cold = cold_index(tree, settings, embedder)
    say(f"  {cold}")
    reindex = unchanged_reindex(tree, settings, embedder)
    say(f"unchanged re-index: {reindex}")

    engine = Engine([tree], settings, embedder=embedder)
    engine.start()
    engine.wait_idle()
    changes = one_function_changes(engine, tree, rng)
    say(f"one-function change: {changes}")
    queries = sample_queries(engine, args.queries, rng)
    rss = peak_rss_mb()  # before the baseline's copy of every vector exists
    search = queries_and_baseline(engine, queries)
    knn = dense_only(engine, queries)
    engine.close()
    embedder.close()
    index_bytes = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
    raw_bytes = cold["symbols"] * embedder.dims * 4

    figures = {
        "files": files,
        "symbols": cold["symbols"],
        "cold": cold,
        "unchanged_reindex": reindex,
        "change": changes,
        "search": search,
        "knn": knn,
        "index_mb": index_bytes / 1e6,
        "raw_vectors_mb": raw_bytes / 1e6,
        "peak_rss_mb": rss,
        "budgets": BUDGETS,
    }
    lines = [
        f"index benchmark: {cold['symbols']} symbols in {files} stdlib files "
        f"({len(queries)} queries), model {embedder.model_id}",
        "",
        "| figure | findcode | budget | baseline (same run) | ratio |",
        "| --- | --- | --- | --- | --- |",
        row(
            "cold index rate",
            f"{cold['rate']:.1f} symbols/s ({cold['seconds']:.0f} s)",
            "—",
            f"embedder alone {cold['embed_only_rate']:.1f} symbols/s",
            f"{cold['rate'] / cold['embed_only_rate']:.2f}",
        ),
        row(
            "re-index, unchanged tree",
            f"{reindex['seconds']:.2f} s",
            f"< {BUDGETS['unchanged_reindex_s']:.0f} s",
            f"walk alone {reindex['walk_seconds']:.2f} s",
            f"{reindex['seconds'] / reindex['walk_seconds']:.2f}",
        ),
        row(
            "re-index, one function changed (p50)",
            f"{changes['p50_ms']:.0f} ms",
            f"< {BUDGETS['change_p50_ms']:.0f} ms",
            f"embedding it alone {changes['embed_one_p50_ms']:.0f} ms",
            f"{changes['p50_ms'] / changes['embed_one_p50_ms']:.2f}",
        ),
        row(
            "hybrid query p50",
            f"{search['p50_ms']:.1f} ms",
            f"< {BUDGETS['query_p50_ms']:.0f} ms",
            f"exact numpy cosine {search['brute_p50_ms']:.1f} ms",
            f"{search['p50_ms'] / search['brute_p50_ms']:.2f}",
        ),
        row(
            "hybrid query p99",
            f"{search['p99_ms']:.1f} ms",
            f"< {BUDGETS['query_p99_ms']:.0f} ms",
            f"exact numpy cosine {search['brute_p99_ms']:.1f} ms",
            f"{search['p99_ms'] / search['brute_p99_ms']:.2f}",
        ),
        row(
            "k-NN alone p50 (k=50)",
            f"{knn['hnsw_p50_ms']:.3f} ms, recall@10 {search['recall_at_10']:.3f}",
            "—",
            f"exact numpy cosine {knn['brute_p50_ms']:.3f} ms",
            f"{knn['hnsw_p50_ms'] / knn['brute_p50_ms']:.2f}",
        ),
        row(
            "index size on disk",
            f"{index_bytes / 1e6:.1f} MB",
            "—",
            f"raw float32 vectors {raw_bytes / 1e6:.1f} MB",
            f"{index_bytes / raw_bytes:.1f}",
        ),
        row("peak RSS", f"{rss:.0f} MB", f"< {BUDGETS['peak_rss_mb']:.0f} MB", "—", "—"),
    ]
    publish(lines, figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

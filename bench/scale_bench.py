"""Scale benchmark: what an index of 10^4 to 10^6 symbols costs on disk, in memory and per query.

    python -m bench.scale_bench [--sizes 10000 100000 1000000] [--queries 200]

The tree is real code: the Python and Go standard libraries, linked (hard links: no copy of the
bytes) under renamed folders round after round until it holds the wanted number of symbols.
Everything goes through findcode's own Engine, Indexer, Store and VectorIndex, except the model:

    *** EMBEDDINGS HERE ARE PSEUDO-EMBEDDINGS (PseudoEmbedder), NOT A MODEL'S. ***

A real model embeds ~150 symbols/s on these cores (a million symbols: two days), and what this
bench measures (storage, counting, k-NN, lexical search, open and save paths) does not depend on
what the vectors mean. Each vector is a seeded hash of its text drawn near one of K random
cluster centres, so near neighbours exist and hnswlib's recall@10 against exact search is a
real measurement. Search *quality* is bench/quality's business, with the real model.

Per size it prints, each beside its budget (the scale-up issue's, at 10^6) and beside a baseline
measured in the same run (these machines are shared: an absolute time alone says little):

- parse+store rate        vs. tree-sitter parsing alone (a sample of the tree)
- disk bytes per symbol   vs. raw float32 vectors (1,536 B at 384 dims); SQLite and the vector
                          file apart (the graph alone since its v3 format; before, hnswlib's
                          own file with a float32 copy of every vector)
- open (engine start to first answer, in a fresh process)  vs. reading the index files once
- RSS idle / during a query burst (fresh process)          vs. the raw float32 vectors
- query p50/p99: lexical, semantic, hybrid                vs. exact numpy cosine over all vectors
- recall@10 of hnswlib vs. exact; of int8 and float16 storage vs. float32 exact
- `findcode status` time  vs. one walk over every symbol (the count status used to make)
- one-file save -> searchable (by name and by meaning)     vs. parsing that file alone; saved
                          back to back, and each after a quiet spell (when the indexer writes
                          the vector file, if enough has changed for a write: O(all symbols))
- the vector file's save and its open-time check

Results: bench/results/scale_bench.{md,json}; the plot (matplotlib, the `bench` extra):
bench/results/scale.png. The probe of each size runs in its own process (`--probe`), so its
open time and memory are those of a server starting on an existing index.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
from findcode.config import Settings
from findcode.engine import Engine
from findcode.indexer import SAVE_AFTER_QUIET_S
from findcode.roots import index_dir_for
from findcode.store import identifier_words, pack_vector, unpack_vector
from findcode.symbols import extract_symbols
from findcode.vectors import INDEX_NAME, _fingerprint
from findcode.workspace import is_excluded

BUDGETS_AT_1M = {
    "disk_bytes_per_symbol": 2500.0,
    "open_s": 2.0,
    "hybrid_p50_ms": 50.0,
    "hybrid_p99_ms": 150.0,
    "rss_mb": 1536.0,
    "save_to_searchable_ms": 300.0,
    "recall_at_10": 0.95,
}
DIMS = 384
VECTOR_FILES = {"graph": "graph file", "hnswlib": "hnswlib file with vectors"}
CLUSTERS = 1024
SUBTOPICS = 32
# Against a unit topic centre: a subtopic direction of norm 0.7 and noise of norm ~0.35, so
# a subtopic's members sit at cosine ~0.9 from each other, a topic's at ~0.6, others at ~0.
SUBTOPIC_WEIGHT = 0.7
NOISE = 0.35
HERE = Path(__file__).parent
DEFAULT_WORKDIR = HERE / ".cache" / "scale_bench"
RESULTS = HERE / "results"
GO_SOURCES = (
    Path("/usr/share/go-1.19/src"),
    Path("/usr/lib/go/src"),
    HERE / ".cache" / "train" / "src" / "go-stdlib",
    Path("/work/main/bench/.cache/train/src/go-stdlib"),
)
SETTINGS = Settings(watch=False)
SAVES = 5


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class PseudoEmbedder:
    """*** NOT A MODEL. *** Deterministic vectors for the scale bench only: a seeded hash of the
    text picks one of CLUSTERS topics, one of SUBTOPICS directions within it and a little noise,
    the way real embeddings group (close within a subtopic, nearer within a topic than across).
    Same interface as embedder.Embedder."""

    name = "pseudo-embedder (scale bench only)"
    model_id = "pseudo-embedder-384"
    quantization = "none"
    location = "/dev/null"
    dims = DIMS
    max_tokens = 512
    documents_per_call = 16  # as the local model's

    def __init__(self) -> None:
        centres = np.random.default_rng(12345).standard_normal((CLUSTERS, DIMS))
        self._centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)

    def vector(self, seed: int) -> np.ndarray:
        topic, subtopic = seed % CLUSTERS, (seed // CLUSTERS) % SUBTOPICS
        direction = np.random.default_rng(1_000_003 * topic + subtopic).standard_normal(DIMS)
        noise = np.random.default_rng(seed).standard_normal(DIMS)
        point = (
            self._centres[topic]
            + SUBTOPIC_WEIGHT * direction / np.linalg.norm(direction)
            + NOISE * noise / np.sqrt(DIMS)
        )
        return (point / np.linalg.norm(point)).astype(np.float32)

    def _embed(self, text: str) -> np.ndarray:
        return self.vector(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little"))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMS), dtype=np.float32)
        return np.stack([self._embed(text) for text in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed("query: " + text)

    def interrupt(self) -> None:
        pass  # each call returns at once

    def set_threads(self, threads: int) -> None:
        pass

    def close(self) -> None:
        pass


# -- the tree


def go_source() -> Path | None:
    return next((path for path in GO_SOURCES if path.is_dir()), None)


def source_files() -> list[tuple[Path, Path, int]]:
    """(source root, file, symbols in it) of every file the walk would index: Python's and
    Go's standard libraries. The counts are cached: parsing both takes a while."""
    roots = [("py", Path(sysconfig.get_paths()["stdlib"]))]
    go = go_source()
    if go is not None:
        roots.append(("go", go))
    cache = DEFAULT_WORKDIR / "counts.json"
    counts: dict[str, int] = json.loads(cache.read_text()) if cache.exists() else {}
    out = []
    for tag, root in roots:
        pattern = "*.py" if tag == "py" else "*.go"
        for path in sorted(root.rglob(pattern)):
            rel = path.relative_to(root)
            if {"site-packages", "__pycache__", "testdata"} & set(rel.parts):
                continue
            if is_excluded(root, path, SETTINGS):
                continue
            key = str(path)
            if key not in counts:
                text = path.read_text(encoding="utf-8", errors="replace")
                counts[key] = len(extract_symbols(rel.as_posix(), text))
            if counts[key]:
                out.append((root, path, counts[key]))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(counts))
    return out


def build_tree(target: int, tree: Path) -> tuple[int, int]:
    """Link the sources under r000/, r001/, ... until `target` symbols; (files, symbols)."""
    shutil.rmtree(tree, ignore_errors=True)
    sources = source_files()
    files = symbols = 0
    round_ = 0
    while symbols < target:
        for root, path, count in sources:
            tag = "py" if path.suffix == ".py" else "go"
            dest = tree / f"r{round_:03d}" / tag / path.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, dest)
            files += 1
            symbols += count
            if symbols >= target:
                break
        round_ += 1
    return files, symbols


# -- measuring


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def disk(directory: Path, symbols: int) -> dict[str, float]:
    sqlite = sum(p.stat().st_size for p in directory.glob("index.sqlite3*"))
    hnsw = (directory / INDEX_NAME).stat().st_size
    return {
        "disk_bytes_per_symbol": (sqlite + hnsw) / symbols,
        "sqlite_bytes_per_symbol": sqlite / symbols,
        "hnsw_bytes_per_symbol": hnsw / symbols,
        "vector_file": "graph",  # results of older runs lack it: hnswlib's own file
        "raw_float32_bytes_per_symbol": DIMS * 4.0,
    }


def kept_build(size: int, workdir: Path, built: dict | None) -> dict:
    """The last build's figures, for a kept tree and index probed again."""
    if built is None or not (workdir / f"tree-{size}").is_dir():
        raise SystemExit(f"no kept build of {size} symbols in {workdir}: build it with --keep")
    return dict(built)


def build(size: int, workdir: Path) -> dict:
    """Index a fresh tree of `size` symbols; the parse+store figures."""
    tree = workdir / f"tree-{size}"
    index_dir = workdir / f"index-{size}"
    shutil.rmtree(index_dir, ignore_errors=True)
    started = time.perf_counter()
    files, symbols = build_tree(size, tree)
    say(f"[{size}] tree: {files} files, {symbols} symbols ({time.perf_counter() - started:.0f}s)")
    # Baseline: tree-sitter alone over a sample of the tree's files.
    every = sorted(p for p in tree.rglob("*.*") if p.is_file())
    sample = every[:: max(1, files // 300)]
    parsed = 0
    t0 = time.perf_counter()
    for path in sample:
        parsed += len(extract_symbols(path.name, path.read_text(errors="replace")))
    parse_rate = parsed / (time.perf_counter() - t0)
    # The build runs the indexer at normal priority: at SCHED_IDLE on a shared machine its rate
    # says how busy the neighbours were, not what storing costs (the probe keeps the default).
    settings = SETTINGS.replace(index_dir=index_dir, low_priority=False)
    t0 = time.perf_counter()
    with Engine([tree], settings, embedder=PseudoEmbedder()) as engine:  # type: ignore[arg-type]
        while not engine.wait_idle(60):
            say(f"[{size}] indexing: {engine.status()['symbols']} symbols stored")
        index_s = time.perf_counter() - t0
        stored = engine.status()["symbols"]
    close_s = time.perf_counter() - t0 - index_s
    say(f"[{size}] indexed {stored} symbols in {index_s:.0f}s (+{close_s:.1f}s to close)")
    return {
        "size": size,
        "files": files,
        "symbols": stored,
        "index_s": index_s,
        "index_symbols_per_s": stored / index_s,
        "parse_only_symbols_per_s": parse_rate,
        "close_s": close_s,
        **disk(index_dir_for(tree, index_dir), stored),
    }


def queries(engine: Engine, count: int) -> list[str]:
    """Queries made of the words of stored symbols' names, spread over the whole index."""
    store = engine._worker.roots()[0].store
    top = store.counts(engine._worker.embed_key)["symbols"]
    rng = np.random.default_rng(3)
    out: list[str] = []
    while len(out) < count:
        ids = [int(i) for i in rng.integers(1, top + 1, size=count)]
        for row in store.symbols(ids).values():
            words = identifier_words(row.name)[:3]
            if words and len(out) < count:
                out.append(" ".join(words))
    return out


def probe(size: int, workdir: Path, count: int) -> dict:
    """In a fresh process: open an existing index, query it, count it, save a file into it."""
    tree = workdir / f"tree-{size}"
    index_dir = workdir / f"index-{size}"
    directory = index_dir_for(tree, index_dir)
    t0 = time.perf_counter()
    for path in directory.iterdir():  # baseline: the index's bytes read once
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass
    read_s = time.perf_counter() - t0
    rss_before = rss_mb()
    settings = SETTINGS.replace(index_dir=index_dir)
    t0 = time.perf_counter()
    engine = Engine([tree], settings, embedder=PseudoEmbedder())  # type: ignore[arg-type]
    engine.start()
    engine.search("open the index", limit=10)
    open_s = time.perf_counter() - t0
    # The vector index loads on the indexer's thread: the first answer may be by words alone.
    index = engine._worker.roots()[0]
    while not index.vectors_loaded:
        time.sleep(0.005)
    by_meaning_s = time.perf_counter() - t0
    engine.wait_idle(3600)
    out: dict = {"open_s": open_s, "read_files_s": read_s, "rss_start_mb": rss_before}
    out["open_by_meaning_s"] = by_meaning_s
    out["rss_idle_mb"] = rss_mb()
    texts = queries(engine, count)
    peak = out["rss_idle_mb"]
    for mode in ("lexical", "semantic", "hybrid"):
        times = []
        for text in texts:
            t = time.perf_counter()
            engine.search(text, limit=10, mode=mode)
            times.append((time.perf_counter() - t) * 1000)
            peak = max(peak, rss_mb())
        out[f"{mode}_p50_ms"] = percentile(times, 50)
        out[f"{mode}_p99_ms"] = percentile(times, 99)
    out["rss_burst_mb"] = peak
    # status, beside the walk over every symbol that counting pending work used to be.
    times = []
    for _ in range(20):
        t = time.perf_counter()
        engine.status()
        times.append((time.perf_counter() - t) * 1000)
    out["status_ms"] = statistics.median(times)
    db = index.store._db
    t = time.perf_counter()
    db.execute(
        "SELECT count(*) FROM symbols s WHERE NOT EXISTS (SELECT 1 FROM vectors v "
        "WHERE v.body_hash = s.body_hash AND v.embed_key = ?)",
        (engine._worker.embed_key,),
    ).fetchone()
    out["walk_all_symbols_ms"] = (time.perf_counter() - t) * 1000
    out.update(save_to_searchable(engine, tree))
    quiet = save_to_searchable(engine, tree, pause_s=SAVE_AFTER_QUIET_S + 0.5)
    out["save_after_quiet_to_searchable_ms"] = quiet["save_to_searchable_ms"]
    # The vector file: a full save, and the open-time check of it.
    t = time.perf_counter()
    index.vectors.save(index.store.generation)
    out["vector_file_save_s"] = time.perf_counter() - t
    t = time.perf_counter()
    _fingerprint(directory / INDEX_NAME)
    out["vector_file_check_ms"] = (time.perf_counter() - t) * 1000
    out.update(recall(engine, texts))
    engine.close()
    return out


def save_to_searchable(engine: Engine, tree: Path, pause_s: float = 0.0) -> dict:
    """A file saved with a new function: until a search finds it by name, and until its vector
    is in the dense index; beside parsing that file alone. `pause_s`: a pause before each save."""
    target = sorted((tree / "r000" / "py").glob("*.py"))[5]
    original = target.read_text()
    lexical, dense, parse = [], [], []
    index = engine._worker.roots()[0]
    rel = target.relative_to(tree).as_posix()
    for n in range(SAVES):
        time.sleep(pause_s)
        name = f"scale_probe_function_{n}"
        text = original + f"\n\ndef {name}(values):\n    return sorted(values)[{n}]\n"
        t = time.perf_counter()
        extract_symbols(rel, text)
        parse.append((time.perf_counter() - t) * 1000)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, target)  # a new inode: the other rounds' links keep the original
        t0 = time.perf_counter()
        engine.notify_changed([target], urgent=True)
        found_by_name = found_by_meaning = None
        while found_by_meaning is None and time.perf_counter() - t0 < 30:
            if found_by_name is None:
                hits = engine.search(name, limit=1, mode="lexical").hits
                if hits and hits[0].name == name:
                    found_by_name = time.perf_counter() - t0
            rows = [r for r in index.store.symbols_at(rel, len(original.splitlines()) + 3)]
            if rows and rows[0].name == name:
                labels = index.store.vector_ids(engine._worker.embed_key, [rows[0].body_hash])
                if labels and labels[rows[0].body_hash] in index.vectors:
                    found_by_meaning = time.perf_counter() - t0
            time.sleep(0.002)
        lexical.append((found_by_name or 30) * 1000)
        dense.append((found_by_meaning or 30) * 1000)
        engine.wait_idle(60)
    target.write_text(original)
    return {
        "save_to_searchable_ms": statistics.median(dense),
        "save_to_found_by_name_ms": statistics.median(lexical),
        "parse_file_ms": statistics.median(parse),
    }


def recall(engine: Engine, texts: list[str]) -> dict:
    """recall@10 of the served k-NN against exact search over the stored vectors, and the query
    latency of exact numpy search (the baseline), both over the distinct vectors in use (copies
    of one function share one vector, and one hnswlib element). Ties: a hit counts when it is at
    least as close as the exact 10th."""
    index = engine._worker.roots()[0]
    ids, matrix = index.store.used_vectors(engine._worker.embed_key)
    embedder = PseudoEmbedder()
    hits, times = [], []
    position = {int(i): n for n, i in enumerate(ids)}
    for text in texts:
        query = embedder.embed_query(text)
        t = time.perf_counter()
        scores = matrix @ query
        top = np.argpartition(-scores, 10)[:10]
        times.append((time.perf_counter() - t) * 1000)
        floor = float(np.min(scores[top])) - 1e-6
        # As a search asks: the fusion's candidates (so hnswlib's ef), the best ten of them.
        found = index.vectors.search(query, engine.ranking.candidates)[:10]
        hits.append(sum(scores[position[label]] >= floor for label, _ in found) / 10)
    del matrix
    return {"recall_at_10": float(np.mean(hits)), "exact_p50_ms": percentile(times, 50)}


def quantisation_recall(n: int, count: int = 200) -> dict:
    """recall@10 of exact search over int8 (as stored) and float16 vectors against float32."""
    embedder = PseudoEmbedder()
    data = np.stack([embedder.vector(seed) for seed in range(n)])
    int8 = np.stack([unpack_vector(pack_vector(v)) for v in data])
    half = data.astype(np.float16).astype(np.float32)
    out = {}
    queries_ = np.stack([embedder.vector(10**9 + q) for q in range(count)])
    truth = np.argpartition(-(queries_ @ data.T), 10, axis=1)[:, :10]
    for name, stored in (("int8", int8), ("float16", half)):
        found = np.argpartition(-(queries_ @ stored.T), 10, axis=1)[:, :10]
        out[f"{name}_recall_at_10"] = float(
            np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
        )
    return out


# -- reporting


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def table(result: dict) -> list[str]:
    size = result["symbols"]
    b = BUDGETS_AT_1M

    def row(name: str, value: str, budget: str, baseline: str) -> str:
        return f"| {name} | {value} | {budget} | {baseline} |"

    lines = [
        f"### {size:,} symbols ({result['files']:,} files; load {result['load']})",
        "",
        "| figure | value | budget at 10^6 | baseline (same run) |",
        "| --- | --- | --- | --- |",
        row(
            "parse + store",
            f"{result['index_s']:.0f} s ({result['index_symbols_per_s']:.0f} symbols/s)",
            "-",
            f"tree-sitter alone {result['parse_only_symbols_per_s']:.0f} symbols/s",
        ),
        row(
            "disk per symbol",
            f"{result['disk_bytes_per_symbol']:.0f} B "
            f"(SQLite {result['sqlite_bytes_per_symbol']:.0f}, "
            f"{VECTOR_FILES[result.get('vector_file', 'hnswlib')]} "
            f"{result['hnsw_bytes_per_symbol']:.0f})",
            f"{b['disk_bytes_per_symbol']:.0f} B",
            f"raw float32 vector {DIMS * 4} B "
            f"(x{result['disk_bytes_per_symbol'] / (DIMS * 4):.2f})",
        ),
        row(
            "open: first answer / vector index loaded (answers by meaning)",
            f"{result['open_s']:.2f} s / {result.get('open_by_meaning_s', float('nan')):.2f} s",
            f"{b['open_s']:.0f} s",
            f"reading the index files {result['read_files_s']:.2f} s",
        ),
        row(
            "RSS idle / query burst",
            f"{result['rss_idle_mb']:.0f} / {result['rss_burst_mb']:.0f} MB",
            f"{b['rss_mb']:.0f} MB",
            f"raw float32 vectors {size * DIMS * 4 / 2**20:.0f} MB",
        ),
    ]
    for mode in ("lexical", "semantic", "hybrid"):
        budget = (
            f"{b['hybrid_p50_ms']:.0f} / {b['hybrid_p99_ms']:.0f} ms" if mode == "hybrid" else "-"
        )
        lines.append(
            row(
                f"{mode} query p50 / p99",
                f"{result[f'{mode}_p50_ms']:.1f} / {result[f'{mode}_p99_ms']:.1f} ms",
                budget,
                f"exact numpy k-NN p50 {result['exact_p50_ms']:.1f} ms",
            )
        )
    lines += [
        row(
            "recall@10 hnswlib vs exact",
            f"{result['recall_at_10']:.3f}",
            f">= {b['recall_at_10']}",
            f"int8 storage {result['int8_recall_at_10']:.3f}, "
            f"float16 {result['float16_recall_at_10']:.3f} (exact, vs float32)",
        ),
        row(
            "`status`",
            f"{result['status_ms']:.2f} ms",
            "-",
            f"one walk over every symbol {result['walk_all_symbols_ms']:.1f} ms",
        ),
        row(
            "save -> searchable (meaning / name)",
            f"{result['save_to_searchable_ms']:.0f} / {result['save_to_found_by_name_ms']:.0f} ms",
            f"{b['save_to_searchable_ms']:.0f} ms",
            f"parsing the file alone {result['parse_file_ms']:.1f} ms",
        ),
        row(
            "save after a quiet spell -> searchable",
            f"{result.get('save_after_quiet_to_searchable_ms', float('nan')):.0f} ms",
            f"{b['save_to_searchable_ms']:.0f} ms",
            "-",
        ),
        row(
            "vector file save / open-time check",
            f"{result['vector_file_save_s']:.2f} s / {result['vector_file_check_ms']:.1f} ms",
            "-",
            "-",
        ),
        "",
    ]
    return lines


def plot(results: list[dict], path: Path) -> None:
    import matplotlib  # the `bench` extra; only this bench draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["symbols"] for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for mode, style in (("lexical", ":"), ("semantic", "--"), ("hybrid", "-")):
        left.plot(sizes, [r[f"{mode}_p50_ms"] for r in results], style, marker="o",
                  label=f"{mode} p50")  # fmt: skip
        left.plot(sizes, [r[f"{mode}_p99_ms"] for r in results], style, marker="x",
                  label=f"{mode} p99")  # fmt: skip
    left.axhline(BUDGETS_AT_1M["hybrid_p50_ms"], color="grey", lw=0.8)
    left.axhline(BUDGETS_AT_1M["hybrid_p99_ms"], color="grey", lw=0.8, ls="--")
    left.set(xscale="log", yscale="log", xlabel="symbols", ylabel="ms", title="query latency")
    left.legend(fontsize=7)
    right.plot(sizes, [r["disk_bytes_per_symbol"] for r in results], marker="o", label="total")
    right.plot(sizes, [r["sqlite_bytes_per_symbol"] for r in results], marker="o", label="SQLite")
    right.plot(
        sizes, [r["hnsw_bytes_per_symbol"] for r in results], marker="o", label="vector file"
    )
    right.axhline(BUDGETS_AT_1M["disk_bytes_per_symbol"], color="grey", lw=0.8)
    right.set(
        xscale="log", xlabel="symbols", ylabel="bytes per symbol", title="disk", ylim=(0, None)
    )
    right.legend(fontsize=7)
    fig.suptitle("findcode scale bench (pseudo-embeddings; grey: budgets at 10^6)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--probe", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the trees and indexes")
    parser.add_argument(
        "--reprobe",
        action="store_true",
        help="probe the kept tree and index of each size again (after a change to the engine), "
        "keeping the build figures of the last run",
    )
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, args.workdir, args.queries)))
        return
    say("*** pseudo-embeddings: storage, search paths and recall are real; meanings are not ***")
    json_path = args.results / "scale_bench.json"
    previous = json.loads(json_path.read_text()) if json_path.exists() else []
    results = {r["size"]: r for r in previous}
    for size in args.sizes:
        if args.reprobe:
            result = kept_build(size, args.workdir, results.get(size))
        else:
            result = build(size, args.workdir)
        result["load"] = load_average()
        probed = subprocess.run(
            [sys.executable, "-m", "bench.scale_bench", "--probe", str(size),
             "--workdir", str(args.workdir), "--queries", str(args.queries)],
            check=True, capture_output=True, text=True, cwd=HERE.parent,
        )  # fmt: skip
        result.update(json.loads(probed.stdout.strip().splitlines()[-1]))
        if args.reprobe:  # as the probe's engine left the files (their format may have changed)
            tree = args.workdir / f"tree-{size}"
            result.update(
                disk(index_dir_for(tree, args.workdir / f"index-{size}"), result["symbols"])
            )
        result.update(quantisation_recall(min(result["symbols"], 100_000)))
        results[size] = result
        say("\n".join(table(result)))
        if not (args.keep or args.reprobe):
            shutil.rmtree(args.workdir / f"tree-{size}", ignore_errors=True)
            shutil.rmtree(args.workdir / f"index-{size}", ignore_errors=True)
        ordered = [results[k] for k in sorted(results)]
        args.results.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(ordered, indent=1))
        md = ["# Scale bench (python -m bench.scale_bench; pseudo-embeddings)", ""]
        for r in ordered:
            md += table(r)
        (args.results / "scale_bench.md").write_text("\n".join(md))
        plot(ordered, args.results / "scale.png")


if __name__ == "__main__":
    main()

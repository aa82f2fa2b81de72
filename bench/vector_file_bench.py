"""Vector-file benchmark: the graph-only file beside hnswlib's own file, for one index.

    python -m bench.vector_file_bench [--sizes 10000 100000] [--queries 200]

    *** VECTORS HERE ARE PSEUDO-EMBEDDINGS (bench.scale_bench.PseudoEmbedder), NOT A MODEL'S. ***

Per size, in one process: a real Store holding that many synthetic symbols and their (int8)
vectors, and findcode's VectorIndex built from them. Then, for the file findcode writes (the
graph alone; the vectors come back from the store at open) and, as the baseline, hnswlib's own
save_index file of the same graph (what findcode wrote before, float32 vectors included):

- bytes per vector on disk (the store's own: bench/scale_bench, with real code)
- save time; open time, best of three (a start: the store's codes read + the graph loaded and
  filled, against the baseline's checksum + hnswlib load_index), in parts, for the extrapolation
  to 10^6
- whether the reopened index answers exactly as before the save; recall@10 against exact
  search over the stored vectors
- a search during a save: searches from another thread, back to back, while the file is saved
  (what an editor's query meets while the indexer saves), p50 and worst, against the same
  searches with no save running (the worst: the median of three saves' worst); and the part
  of a save that holds the GIL in one piece (hnswlib's save_index before; now the fork of the
  child that copies the state and writes the file, or on other systems that copy itself)

Results: bench/results/vector_file_bench.{md,json}.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import hnswlib
import numpy as np
from findcode.store import Store
from findcode.symbols import Symbol
from findcode.vectors import INDEX_NAME, VectorIndex, _fingerprint, _start_graph_write

from bench.scale_bench import DIMS, PseudoEmbedder, load_average, percentile, say

KEY = "pseudo-embedder-384"
PER_FILE = 500
ROUNDS = 3  # saves and opens, each format in turn: medians and bests, these cores are shared
RESULTS = Path(__file__).parent / "results"
BUDGET_OPEN_AT_1M_S = 2.0


def functions(rel: str, first: int, end: int) -> list[Symbol]:
    return [
        Symbol(rel, "python", "function", f"f{n}", f"f{n}", n, 0, n, 20, f"def f{n}()", "",
               f"def f{n}(): return {n}")
        for n in range(first, end)
    ]  # fmt: skip


def put_file(store: Store, first: int, end: int) -> list[int]:
    """A file of synthetic one-line functions numbered first..end-1; the ids of the vectors
    it left unused (hnswlib's labels)."""
    rel = f"pkg{first // PER_FILE}/mod.py"
    symbols = functions(rel, first, end)
    change = store.replace_file(
        rel, size=1, mtime_ns=1, content_hash=f"{rel}{end}", language="python", symbols=symbols
    )
    embedder = PseudoEmbedder()
    store.put_vectors(
        KEY, [(s.body_hash, embedder.vector(n)) for n, s in enumerate(symbols, first)]
    )
    return list(store.vector_ids(KEY, change.unused_hashes).values())


def filled_store(directory: Path, size: int) -> Store:
    """A store of `size` synthetic symbols, every one with a pseudo-vector."""
    store = Store(directory)
    store.take_lease()
    store.check_model(KEY, DIMS)
    for first in range(0, size, PER_FILE):
        put_file(store, first, min(size, first + PER_FILE))
    return store


def searches_during(index: VectorIndex, queries: np.ndarray, action) -> tuple[list[float], float]:
    """Latencies (ms) of searches run back to back in a thread while `action` runs here, and
    how long `action` took."""
    times: list[float] = []
    done = threading.Event()

    def search() -> None:
        n = 0
        while not done.is_set():
            t = time.perf_counter()
            index.search(queries[n % len(queries)], 10)
            times.append((time.perf_counter() - t) * 1000)
            n += 1

    thread = threading.Thread(target=search)
    thread.start()
    time.sleep(0.05)
    t = time.perf_counter()
    action()
    took = time.perf_counter() - t
    done.set()
    thread.join()
    return times, took


@contextlib.contextmanager
def timed(into: list[tuple[float, float]]) -> Iterator[None]:
    """Append (wall seconds, this thread's CPU seconds) of the block to `into`."""
    wall, cpu = time.perf_counter(), time.thread_time()
    yield
    into.append((time.perf_counter() - wall, time.thread_time() - cpu))


def old_save(index: VectorIndex, path: Path) -> None:
    """What VectorIndex.save did before the graph-only file: hnswlib's save_index under the
    index lock, then a checksum of the file."""
    with index._lock:
        index._index.save_index(str(path))
    _fingerprint(path)


def measure(size: int, workdir: Path, count: int) -> dict:
    out: dict = {"size": size, "load": load_average()}
    t = time.perf_counter()
    store = filled_store(workdir / "store", size)
    say(f"[{size}] store filled in {time.perf_counter() - t:.0f}s")
    embedder = PseudoEmbedder()
    queries = np.stack([embedder.vector(10**9 + q) for q in range(count)])
    ids, codes = store.used_codes(KEY)
    index = VectorIndex(workdir / "new", DIMS, KEY)
    t = time.perf_counter()
    index.rebuild(ids, codes)
    say(f"[{size}] graph built in {time.perf_counter() - t:.0f}s")
    for first in range(0, min(size, 10 * PER_FILE), PER_FILE):  # edits: deleted slots
        index.remove(put_file(store, first, min(size, first + PER_FILE) - 5))
    before = [index.search(q, 10) for q in queries]
    generation = store.generation

    # Saves (and a search's latency meanwhile), both formats, taking turns.
    old_path = workdir / "old.hnsw"
    quiet, _ = searches_during(index, queries, lambda: time.sleep(0.5))
    runs: dict[str, list[tuple[list[float], float]]] = {"old": [], "new": []}
    for _ in range(ROUNDS):
        runs["old"].append(searches_during(index, queries, lambda: old_save(index, old_path)))
        runs["new"].append(searches_during(index, queries, lambda: index.save(generation)))
    out["quiet_search_p50_ms"], out["quiet_search_max_ms"] = percentile(quiet, 50), max(quiet)
    for name, saves in runs.items():
        out[f"{name}_save_s"] = min(took for _, took in saves)
        out[f"{name}_search_p50_ms"] = percentile([t for times, _ in saves for t in times], 50)
        out[f"{name}_search_max_ms"] = statistics.median(max(times) for times, _ in saves)
    # The part of each save that holds the GIL (and the index lock) in one piece, which no
    # search can interleave with: hnswlib's save_index before; now the fork of the process
    # that copies the state and writes the file (Linux), or that copy itself (elsewhere).
    held: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    for _ in range(ROUNDS):
        with timed(held["old"]):
            index._index.save_index(str(old_path))
        with timed(held["new"]), index._lock:
            finish = _start_graph_write(index._index, workdir / "held.tmp", DIMS)
        finish()
    for name in held:
        out[f"{name}_held_s"] = min(wall for wall, _ in held[name])
        out[f"{name}_held_cpu_s"] = min(cpu for _, cpu in held[name])
    out["new_bytes_per_vector"] = (workdir / "new" / INDEX_NAME).stat().st_size / size
    out["old_bytes_per_vector"] = old_path.stat().st_size / size

    # Opens: what a start does with each file (best of ROUNDS, taking turns), wall clock and
    # this thread's CPU time (what a quiet core would take: these cores are shared).
    opens: dict[str, list[tuple[float, float]]] = {"old": [], "codes": [], "graph": []}
    for _ in range(ROUNDS):
        with timed(opens["old"]):
            _fingerprint(old_path)
            old = hnswlib.Index(space="cosine", dim=DIMS)
            old.load_index(str(old_path), max_elements=int(size * 1.5))
            set(int(x) for x in old.get_ids_list())
        del old
        with timed(opens["codes"]):
            ids, codes = store.used_codes(KEY)
        reopened = VectorIndex(workdir / "new", DIMS, KEY)
        with timed(opens["graph"]):
            reason = reopened.load(ids, codes)
        assert reason is None, reason
    for name, key in (("old", "old_open"), ("codes", "open_read_codes"), ("graph", "open_graph")):
        out[f"{key}_s"] = min(wall for wall, _ in opens[name])
        out[f"{key}_cpu_s"] = min(cpu for _, cpu in opens[name])
    out["new_open_s"] = out["open_read_codes_s"] + out["open_graph_s"]
    out["new_open_cpu_s"] = out["open_read_codes_cpu_s"] + out["open_graph_cpu_s"]

    # Answers after the reopen, and recall against exact search over the stored vectors.
    after = [reopened.search(q, 10) for q in queries]
    out["answers_identical"] = after == before
    stored_ids, matrix = store.used_vectors(KEY)
    live = np.isin(stored_ids, np.fromiter(reopened._labels, np.int64))
    stored_ids, matrix = stored_ids[live], matrix[live]
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    position = {int(i): n for n, i in enumerate(stored_ids)}
    hits = []
    for q, found in zip(queries, after, strict=True):
        scores = matrix @ q
        floor = float(np.sort(scores)[-10]) - 1e-6  # ties: as close as the exact 10th counts
        hits.append(sum(scores[position[label]] >= floor for label, _ in found) / 10)
    out["recall_at_10"] = float(np.mean(hits))
    store.close()
    return out


def table(r: dict) -> list[str]:
    n = r["size"]
    scale = 1_000_000 / n
    return [
        f"### {n:,} vectors (load {r['load']})",
        "",
        "| figure | graph-only file | hnswlib's file (before) | ratio | budget at 10^6 |",
        "| --- | --- | --- | --- | --- |",
        f"| vector file, bytes per vector | {r['new_bytes_per_vector']:.0f} | "
        f"{r['old_bytes_per_vector']:.0f} | "
        f"x{r['new_bytes_per_vector'] / r['old_bytes_per_vector']:.2f} | - |",
        f"| save | {r['new_save_s'] * 1000:.0f} ms | {r['old_save_s'] * 1000:.0f} ms | "
        f"x{r['new_save_s'] / r['old_save_s']:.2f} | - |",
        f"| open, wall (codes read {r['open_read_codes_s'] * 1000:.0f} ms + graph "
        f"{r['open_graph_s'] * 1000:.0f} ms) | {r['new_open_s'] * 1000:.0f} ms | "
        f"{r['old_open_s'] * 1000:.0f} ms | x{r['new_open_s'] / r['old_open_s']:.2f} | "
        f"{BUDGET_OPEN_AT_1M_S:.0f} s |",
        f"| open, CPU (codes read {r['open_read_codes_cpu_s'] * 1000:.0f} ms + graph "
        f"{r['open_graph_cpu_s'] * 1000:.0f} ms) | {r['new_open_cpu_s'] * 1000:.0f} ms | "
        f"{r['old_open_cpu_s'] * 1000:.0f} ms | x{r['new_open_cpu_s'] / r['old_open_cpu_s']:.2f} | "
        f"linear to 10^6: {r['new_open_cpu_s'] * scale:.1f} s (before "
        f"{r['old_open_cpu_s'] * scale:.1f} s) |",
        f"| search during a save, p50 / worst | {r['new_search_p50_ms']:.1f} / "
        f"{r['new_search_max_ms']:.0f} ms | {r['old_search_p50_ms']:.1f} / "
        f"{r['old_search_max_ms']:.0f} ms | "
        f"worst x{r['new_search_max_ms'] / r['old_search_max_ms']:.2f} | "
        f"no save: {r['quiet_search_p50_ms']:.1f} / {r['quiet_search_max_ms']:.0f} ms |",
        f"| save's one piece holding the GIL, wall / CPU | {r['new_held_s'] * 1000:.0f} / "
        f"{r['new_held_cpu_s'] * 1000:.0f} ms | {r['old_held_s'] * 1000:.0f} / "
        f"{r['old_held_cpu_s'] * 1000:.0f} ms | "
        f"CPU x{r['new_held_cpu_s'] / r['old_held_cpu_s']:.2f} | "
        f"linear to 10^6 (CPU): {r['new_held_cpu_s'] * scale:.2f} s (before "
        f"{r['old_held_cpu_s'] * scale:.2f} s) |",
        f"| answers after reopen identical / recall@10 | {r['answers_identical']} / "
        f"{r['recall_at_10']:.3f} | - | - | >= 0.95 |",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    say("*** pseudo-embeddings: storage, file and search paths are real; meanings are not ***")
    results = []
    for size in args.sizes:
        workdir = Path(tempfile.mkdtemp(prefix="vector-file-bench-"))
        try:
            results.append(measure(size, workdir, args.queries))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        say("\n".join(table(results[-1])))
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / "vector_file_bench.json").write_text(json.dumps(results, indent=1))
        md = ["# Vector file bench (python -m bench.vector_file_bench; pseudo-embeddings)", ""]
        md += [line for result in results for line in table(result)]
        (args.results / "vector_file_bench.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()

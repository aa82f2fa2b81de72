"""Remote embedding (llama.cpp's OpenAI-compatible server) beside the local embedder, same CPU.

    python -m bench.remote_bench [--count 256] [--threads 2] [--queries 50]

Both sides run findcode's default model on `--threads` threads: the local Embedder in this
process, llama-cpp-python's server (`python -m llama_cpp.server`, the `test` extra) in a
subprocess on a free port, decoding at most the model's window (256 tokens) at a time, as the
local embedder does. Both embed the same real functions (the standard library, worded
as the index words them). The remote side runs at batch 1/8/32 and concurrency 1/2/4; each
figure is printed beside the local baseline measured in the same run (before and after the
remote runs, the faster counting), as a ratio.

Budget (the remote-embedding issue): remote at its best settings >= 0.8x local throughput
(the HTTP path must not waste the engine). The added latency of a query embedded remotely
(p50/p99 over `--queries` queries) is printed beside the local query embedder's.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from findcode.config import EmbeddingSettings
from findcode.embedder import Embedder
from findcode.model import resolve_model_path
from findcode.remote_embedder import RemoteEmbedder

from bench.embed_throughput import stdlib_functions

BUDGET = 0.8
BATCHES = (1, 8, 32)
CONCURRENCY = (1, 2, 4)
QUERIES = [
    "retry a failed request with backoff",
    "parse a date from a string",
    "read a file line by line",
    "escape html characters",
    "walk a directory tree",
]


def start_server(
    model: Path, threads: int, n_batch: int, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
    command += ["--embedding", "true", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    # The local embedder's decode budget (the model's window): larger non-causal batches cost
    # more per token (embedder.py), and a text is cut at the same length on both sides.
    command += ["--n_batch", str(n_batch), "--n_ubatch", str(n_batch)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                return process, url
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"llama_cpp.server did not start:\n{log.read_text()[-2000:]}")


def best_seconds(embed, texts: list[str], passes: int) -> float:
    embed(texts[:8])  # first-call allocations are start-up, not throughput
    best = float("inf")
    for _ in range(passes):
        began = time.perf_counter()
        embed(texts)
        best = min(best, time.perf_counter() - began)
    return best


def latencies_ms(embed_query, count: int) -> tuple[float, float]:
    times = []
    embed_query(QUERIES[0])
    for i in range(count):
        began = time.perf_counter()
        embed_query(QUERIES[i % len(QUERIES)])
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=256, help="functions embedded per pass")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--passes", type=int, default=2, help="timed passes; the best counts")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()

    model = resolve_model_path(None)
    texts = stdlib_functions(args.count)
    load = os.getloadavg()
    print(f"{len(texts)} stdlib functions, threads={args.threads}, cpus={os.cpu_count()}")
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    local = Embedder(model, threads=args.threads)
    local_s = best_seconds(local.embed_documents, texts, args.passes)
    query_local = Embedder(model, threads=1)  # the engine's query embedder
    local_p50, local_p99 = latencies_ms(query_local.embed_query, args.queries)
    query_local.close()

    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "server.log"
        process, url = start_server(model, args.threads, local.max_tokens, log)
        try:
            rates: dict[tuple[int, int], float] = {}
            for batch in BATCHES:
                for concurrency in CONCURRENCY:
                    settings = EmbeddingSettings(
                        url=url, model="findcode", batch_size=batch, concurrency=concurrency
                    )
                    client = RemoteEmbedder(settings)
                    seconds = best_seconds(client.embed_documents, texts, args.passes)
                    rates[(batch, concurrency)] = len(texts) / seconds
                    client.close()
            client = RemoteEmbedder(EmbeddingSettings(url=url, model="findcode"))
            remote_p50, remote_p99 = latencies_ms(client.embed_query, args.queries)
            client.close()
        finally:
            process.kill()
            process.wait()
    # The baseline again, after the remote runs: a shared machine's load drifts, and the
    # baseline keeps its faster run, so no drift favours the remote side.
    local_s = min(local_s, best_seconds(local.embed_documents, texts, args.passes))
    local_rate = len(texts) / local_s
    local.close()

    print(f"\nlocal baseline: {local_rate:.1f} symbols/s")
    print(f"{'batch':>6}{'concurrency':>13}{'symbols/s':>11}{'x local':>9}")
    for (batch, concurrency), rate in rates.items():
        print(f"{batch:>6}{concurrency:>13}{rate:>11.1f}{rate / local_rate:>9.2f}")
    (batch, concurrency), best = max(rates.items(), key=lambda item: item[1])
    ratio = best / local_rate
    verdict = "ok" if ratio >= BUDGET else "UNDER"
    print(
        f"\nbest remote (batch {batch}, concurrency {concurrency}) / local: ratio {ratio:.3f}  "
        f"budget >= {BUDGET}  {verdict}"
    )
    print(
        f"query embedding ms: local p50 {local_p50:.1f} p99 {local_p99:.1f}; remote p50 "
        f"{remote_p50:.1f} p99 {remote_p99:.1f}; added p50 {remote_p50 - local_p50:+.1f} "
        f"p99 {remote_p99 - local_p99:+.1f}"
    )
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()

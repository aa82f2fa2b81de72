"""Language Server benchmark: searching while a large index builds, and save-to-searchable time.

    python -m bench.lsp_bench [--symbols 20000] [--queries 100] [--saves 20] [--json PATH]

Drives the real `findcode serve` over stdio, as an editor does, on a copy of Python standard
library modules (bench/index_bench's tree). Each figure stands beside its budget (issue 5)
and a baseline from the same run:

- search p50/p99 while the first index builds  vs. the same queries once the index is idle
  (budget: p99 during indexing under 3x idle)
- didSave -> searchable for a one-function change: the didSave goes out, the server's
  work-done progress for that pass ends, and one search finds the function's new word (its
  vector stored, checked after the clock stops) vs. what an editor without a server would do:
  run `findcode index` again (budget: p50 under 200 ms)
- the same change while the client polls with a search every few milliseconds instead of
  waiting for the progress to end: on two cores that polling slows the server's own
  embedding, so it is printed apart, as the worst case of an impatient client
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

from bench.index_bench import build_tree, percentile, say

BUDGETS = {"p99_ratio": 3.0, "save_p50_ms": 200.0}
DEFAULT_WORKDIR = Path(__file__).parent / ".cache" / "lsp_bench"
SAVE_TIMEOUT_S = 30.0
SERVER = [sys.executable, "-m", "findcode", "serve", "--log-level", "warning"]
QUERY_WORDS = [
    "parse a date string",
    "read a configuration file",
    "escape html characters",
    "compress data with zlib",
    "split a path into parts",
    "format a traceback",
    "retry a network connection",
    "encode bytes as base64",
    "sort items by key",
    "match a glob pattern",
]


class PassEnds:
    """Counts the ends of the server's work-done progress (one per indexing pass)."""

    def __init__(self, client: LanguageClient) -> None:
        self.count = 0
        self._changed = asyncio.Event()

        @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create(params: Any) -> None:
            return None

        @client.feature(types.PROGRESS)
        def progress(params: Any) -> None:
            if getattr(params.value, "kind", None) == "end" or (
                isinstance(params.value, dict) and params.value.get("kind") == "end"
            ):
                self.count += 1
                self._changed.set()

        @client.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: Any) -> None:
            return None

    async def after(self, count: int, timeout: float) -> None:
        """Wait until more than `count` passes have ended."""
        async with asyncio.timeout(timeout):
            while self.count <= count:
                self._changed.clear()
                await self._changed.wait()


async def start(tree: Path, index_dir: Path) -> tuple[LanguageClient, PassEnds]:
    client = LanguageClient("findcode-bench", "1")
    ends = PassEnds(client)
    await client.start_io(*SERVER)
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=True)
            ),
            root_uri=from_fs_path(str(tree)),
            workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(tree)), name="tree")],
            initialization_options={"indexDir": str(index_dir), "watch": False},
        )
    )
    client.initialized(types.InitializedParams())
    return client, ends


async def call(client: LanguageClient, method: str, params: Any) -> Any:
    return await client.protocol.send_request_async(method, params)


async def timed_search(client: LanguageClient, query: str, **params: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await call(client, "findcode/search", {"query": query, "limit": 10, **params})
    return (time.perf_counter() - started) * 1000, response


async def searches_while_indexing(client: LanguageClient, count: int) -> list[float]:
    """Search one query after another from the moment the server starts indexing."""
    while (await call(client, "findcode/status", {})).state == "starting":
        await asyncio.sleep(0.05)
    latencies: list[float] = []
    for i in range(count):
        elapsed, response = await timed_search(client, f"{QUERY_WORDS[i % 10]} {i}")
        if response.index.state != "indexing":
            break  # only answers given while the index was building count here
        latencies.append(elapsed)
        await asyncio.sleep(0.1)
    return latencies


async def wait_idle(client: LanguageClient) -> Any:
    while True:
        status = await call(client, "findcode/status", {})
        if status.state == "idle" and status.pending == 0:
            return status
        if status.state == "error":
            raise SystemExit(f"indexing failed: {status.lastError}")
        await asyncio.sleep(0.5)


def functions(tree: Path, rng: random.Random, count: int) -> list[tuple[Path, int]]:
    """(file, line index of a `def`) for `count` random top-level functions."""
    found = []
    for path in sorted(tree.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        found.extend((path, i) for i, line in enumerate(lines) if re.match(r"def \w+\(", line))
    return rng.sample(found, count)


def mark(path: Path, line: int, word: str) -> None:
    """Give the function at `line` a new statement holding `word` (a one-function change)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    end = line + 1
    while end < len(lines) and not lines[end].strip():
        end += 1
    indent = re.match(r"\s*", lines[end]).group(0) or "    "
    lines.insert(line + 1, f"{indent}{word} = None\n")
    path.write_text("".join(lines), encoding="utf-8")


def did_save(client: LanguageClient, path: Path) -> None:
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=from_fs_path(str(path)))
        )
    )


async def save_to_searchable(
    client: LanguageClient, ends: PassEnds, tree: Path, count: int
) -> list[float]:
    """didSave, then the pass's progress end, then one search that must find the change."""
    rng = random.Random(7)
    latencies = []
    for n, (path, line) in enumerate(functions(tree, rng, count)):
        word = f"benchmarkmarker{n}x"
        mark(path, line, word)
        passes = ends.count
        started = time.perf_counter()
        did_save(client, path)
        await ends.after(passes, SAVE_TIMEOUT_S)
        response = await call(
            client, "findcode/search", {"query": word, "mode": "lexical", "limit": 1}
        )
        latencies.append((time.perf_counter() - started) * 1000)
        status = await call(client, "findcode/status", {})
        if not response.results or status.pending:
            raise SystemExit(f"{path}: the pass ended but the change is not fully searchable")
    return latencies


async def save_to_searchable_polling(client: LanguageClient, tree: Path, count: int) -> list[float]:
    """didSave, then a search every 2 ms until the word is found and nothing is pending."""
    rng = random.Random(9)
    latencies = []
    for n, (path, line) in enumerate(functions(tree, rng, count)):
        word = f"pollingmarker{n}x"
        mark(path, line, word)
        started = time.perf_counter()
        did_save(client, path)
        deadline = started + SAVE_TIMEOUT_S
        while time.perf_counter() < deadline:
            response = await call(
                client, "findcode/search", {"query": word, "mode": "lexical", "limit": 1}
            )
            if response.results:
                status = await call(client, "findcode/status", {})
                if status.pending == 0:
                    break
            await asyncio.sleep(0.002)
        else:
            raise SystemExit(f"{path}: the change was not searchable after {SAVE_TIMEOUT_S} s")
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def cli_reindex_ms(tree: Path, index_dir: Path, rounds: int = 3) -> list[float]:
    """The baseline: change one function, then run `findcode index` as a script would."""
    rng = random.Random(11)
    times = []
    for n, (path, line) in enumerate(functions(tree, rng, rounds)):
        mark(path, line, f"clibaselinemarker{n}x")
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "findcode", "index", str(tree), "--index-dir", str(index_dir)],
            check=True,
            capture_output=True,
        )
        times.append((time.perf_counter() - started) * 1000)
    return times


async def run(args: argparse.Namespace) -> dict[str, float]:
    tree = args.workdir / "tree"
    index_dir = args.workdir / "index"
    files, symbols = build_tree(args.symbols, tree)
    say(f"tree: {files} files, {symbols} symbols")
    subprocess.run(["rm", "-rf", str(index_dir)], check=True)
    client, ends = await start(tree, index_dir)
    try:
        during = await searches_while_indexing(client, args.queries)
        say(f"{len(during)} searches answered while indexing; waiting for idle")
        ready = await wait_idle(client)
        say(f"idle: {ready.files} files, {ready.symbols} symbols")
        idle = [
            (await timed_search(client, f"{QUERY_WORDS[i % 10]} {i}"))[0]
            for i in range(max(len(during), 20))
        ]
        say("saving one-function changes")
        saves = await save_to_searchable(client, ends, tree, args.saves)
        say("the same, polling")
        polled = await save_to_searchable_polling(client, tree, args.saves)
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
    baseline = cli_reindex_ms(tree, index_dir)
    return {
        "symbols": ready.symbols,
        "searches_during_indexing": len(during),
        "during_p50_ms": percentile(during, 50),
        "during_p99_ms": percentile(during, 99),
        "idle_p50_ms": percentile(idle, 50),
        "idle_p99_ms": percentile(idle, 99),
        "save_p50_ms": statistics.median(saves),
        "save_p99_ms": percentile(saves, 99),
        "save_polling_p50_ms": statistics.median(polled),
        "cli_reindex_p50_ms": statistics.median(baseline),
    }


def report(r: dict[str, float]) -> str:
    ratio = r["during_p99_ms"] / r["idle_p99_ms"]
    save_ratio = r["save_p50_ms"] / r["cli_reindex_p50_ms"]
    rows = [
        f"{'figure':<36}{'value':>12}{'budget':>12}{'baseline':>14}{'ratio':>8}",
        f"{'search p50 while indexing (ms)':<36}{r['during_p50_ms']:>12.1f}{'':>12}"
        f"{r['idle_p50_ms']:>11.1f} id{r['during_p50_ms'] / r['idle_p50_ms']:>8.2f}",
        f"{'search p99 while indexing (ms)':<36}{r['during_p99_ms']:>12.1f}"
        f"{'< 3x idle':>12}{r['idle_p99_ms']:>11.1f} id{ratio:>8.2f}",
        f"{'didSave -> searchable p50 (ms)':<36}{r['save_p50_ms']:>12.1f}"
        f"{BUDGETS['save_p50_ms']:>12.0f}{r['cli_reindex_p50_ms']:>11.1f} cli{save_ratio:>7.2f}",
        f"{'didSave -> searchable p99 (ms)':<36}{r['save_p99_ms']:>12.1f}",
        f"{'  the same, client polling (p50 ms)':<36}{r['save_polling_p50_ms']:>12.1f}",
        "",
        f"{r['symbols']:.0f} symbols; {r['searches_during_indexing']:.0f} searches answered "
        "while indexing. id = the same queries on the idle index; cli = `findcode index` "
        "after the same kind of change.",
        f"p99 ratio {'within' if ratio < BUDGETS['p99_ratio'] else 'OVER'} budget; save p50 "
        f"{'within' if r['save_p50_ms'] < BUDGETS['save_p50_ms'] else 'OVER'} budget.",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lsp_bench", description=__doc__)
    parser.add_argument("--symbols", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

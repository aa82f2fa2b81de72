"""Unsaved-edits benchmark: a function typed (didChange, never saved) -> searchable.

    python -m bench.unsaved_bench [--symbols 20000] [--rounds 15] [--wait-idle] [--json PATH]

Drives the real `findcode serve` over stdio with the real default model, on bench/index_bench's
tree of stdlib modules. Each round opens a file, appends a new function with an incremental
didChange and, without saving, polls:

- by name: a lexical search for the function's (unique) name, every 10 ms (budget p50 < 100 ms)
- by meaning: a semantic search for what its docstring says, every 20 ms, until the function
  is in the top 10 (budget p50 < 1.5 s)

then closes the buffer unsaved. The baseline, from the same run: the same kind of function
written to disk and saved (didSave), polled the same way by meaning: what a user got before
(a save embeds the whole file's unembedded symbols first, so mid-pass it can take seconds).

By default the rounds start once every file is parsed, while the first index may still be
embedding (the harder case: an edit's embedding waits for the batch in progress, not for
the pass); --wait-idle waits for the whole index to be embedded first (about 17 minutes for
20k symbols on two cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

from bench.index_bench import build_tree, percentile, say
from bench.lsp_bench import call, did_save, start, wait_idle

BUDGETS = {"name_p50_ms": 100.0, "meaning_p50_ms": 1500.0}
DEFAULT_WORKDIR = Path(__file__).parent / ".cache" / "unsaved_bench"
TIMEOUT_S = 20.0
# What each typed function does: its docstring, and the query that looks for it.
DEEDS = [
    "Convert a temperature from degrees Celsius to Fahrenheit.",
    "Draw the Mandelbrot set as ASCII art, one character a pixel.",
    "Write a positive integer as a Roman numeral.",
    "Compute the great-circle distance between two latitude and longitude points.",
    "Shuffle a deck of playing cards and deal five cards to each player.",
    "Count the vowels in every word of a sentence.",
    "Find the longest palindromic substring of a string.",
    "Render a progress bar of hash marks for a percentage.",
    "Pick the median of three numbers without sorting.",
    "Check whether a sudoku grid breaks any row, column or box rule.",
    "Turn a number of seconds into hours, minutes and seconds.",
    "Generate the first n rows of Pascal's triangle.",
    "Translate a sentence into pig latin.",
    "Compute the body mass index from weight and height.",
    "Spell out a number below one thousand in English words.",
    "Rotate a square matrix by ninety degrees clockwise.",
    "Estimate pi by throwing random darts at a unit square.",
    "Tell whether a year is a leap year in the Gregorian calendar.",
    "Compress a string by run-length encoding repeated characters.",
    "Score a hand in the game of blackjack, counting aces as one or eleven.",
]


def typed_function(name: str, deed: str) -> str:
    return (
        f"\n\ndef {name}(value, *options):\n"
        f'    """{deed}"""\n'
        "    result = []\n"
        "    for item in options:\n"
        "        result.append((value, item))\n"
        "    return result\n"
    )


async def poll(client: LanguageClient, params: dict[str, Any], name: str, every: float) -> float:
    """ms until a search with `params` lists `name` (inf: not within TIMEOUT_S)."""
    started = time.perf_counter()
    while time.perf_counter() - started < TIMEOUT_S:
        response = await call(client, "findcode/search", params)
        if any(result.name == name for result in response.results):
            return (time.perf_counter() - started) * 1000
        await asyncio.sleep(every)
    say(f"{name} not found by {params} within {TIMEOUT_S} s")
    return float("inf")


def files_with_functions(tree: Path, rng: random.Random, count: int) -> list[Path]:
    paths = [p for p in sorted(tree.rglob("*.py")) if re.search(r"^def \w+\(", p.read_text(), re.M)]
    return rng.sample(paths, count)


async def typed_round(client: LanguageClient, path: Path, n: int) -> tuple[float, float]:
    name, deed = f"unsavedbench{n}fn", DEEDS[n % len(DEEDS)]
    text = path.read_text(encoding="utf-8")
    uri = from_fs_path(str(path))
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    lines = text.split("\n")
    end = types.Position(line=len(lines) - 1, character=len(lines[-1]))  # UTF-16 aside: ASCII
    await asyncio.sleep(0.5)  # the open is not part of the edit
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=end, end=end), text=typed_function(name, deed)
                )
            ],
        )
    )
    by_name = await poll(client, {"query": name, "mode": "lexical", "limit": 10}, name, 0.01)
    by_meaning = by_name + await poll(
        client, {"query": deed, "mode": "semantic", "limit": 10}, name, 0.02
    )
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    if path.read_text(encoding="utf-8") != text:
        raise SystemExit(f"{path} changed on disk")
    return by_name, by_meaning


async def saved_round(client: LanguageClient, path: Path, n: int) -> float:
    """The baseline: the same kind of function, written and saved."""
    name, deed = f"savedbench{n}fn", DEEDS[(n + 7) % len(DEEDS)]
    path.write_text(path.read_text(encoding="utf-8") + typed_function(name, deed), "utf-8")
    did_save(client, path)
    return await poll(client, {"query": deed, "mode": "semantic", "limit": 10}, name, 0.02)


async def wait_parsed(client: LanguageClient, symbols: int) -> Any:
    """Every file of the tree stored (its symbols searchable by name); vectors may lag."""
    while True:
        status = await call(client, "findcode/status", {})
        if status.state == "error":
            raise SystemExit(f"indexing failed: {status.lastError}")
        if status.symbols >= symbols * 0.98:  # a few files the walk skips (minified, ...)
            return status
        await asyncio.sleep(0.5)


async def run(args: argparse.Namespace) -> dict[str, float]:
    tree, index_dir = args.workdir / "tree", args.workdir / "index"
    files, symbols = build_tree(args.symbols, tree)
    say(f"tree: {files} files, {symbols} symbols")
    subprocess.run(["rm", "-rf", str(index_dir)], check=True)
    client, _ = await start(tree, index_dir)
    rng = random.Random(11)
    try:
        ready = await (wait_idle(client) if args.wait_idle else wait_parsed(client, symbols))
        say(f"measuring at {ready.symbols} symbols, {ready.vectors} with vectors")
        paths = files_with_functions(tree, rng, args.rounds + args.baseline_rounds)
        typed = [await typed_round(client, paths[n], n) for n in range(args.rounds)]
        say("baseline: the same, saved")
        saved = [
            await saved_round(client, paths[args.rounds + n], n)
            for n in range(args.baseline_rounds)
        ]
        end = await call(client, "findcode/status", {})
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
    return {
        "symbols": ready.symbols,
        "vectors_at_start": ready.vectors,
        "vectors_at_end": end.vectors,
        "rounds": args.rounds,
        "name_p50_ms": statistics.median(t[0] for t in typed),
        "name_p90_ms": percentile([t[0] for t in typed], 90),
        "meaning_p50_ms": statistics.median(t[1] for t in typed),
        "meaning_p90_ms": percentile([t[1] for t in typed], 90),
        "saved_meaning_p50_ms": statistics.median(saved),
    }


def report(r: dict[str, float]) -> str:
    def verdict(key: str) -> str:
        return "within" if r[key] < BUDGETS[key] else "OVER"

    rows = [
        f"{'figure':<40}{'value':>10}{'budget':>10}{'baseline':>12}",
        f"{'change -> searchable by name p50 (ms)':<40}{r['name_p50_ms']:>10.1f}"
        f"{BUDGETS['name_p50_ms']:>10.0f}{'':>12}",
        f"{'change -> searchable by name p90 (ms)':<40}{r['name_p90_ms']:>10.1f}",
        f"{'change -> searchable by meaning p50 (ms)':<40}{r['meaning_p50_ms']:>10.1f}"
        f"{BUDGETS['meaning_p50_ms']:>10.0f}{r['saved_meaning_p50_ms']:>9.1f} sv",
        f"{'change -> searchable by meaning p90 (ms)':<40}{r['meaning_p90_ms']:>10.1f}",
        "",
        f"{r['symbols']:.0f} symbols stored, {r['vectors_at_start']:.0f} with vectors at the "
        f"first round ({r['vectors_at_end']:.0f} at the end); {r['rounds']:.0f} rounds. "
        "sv = the same kind of function saved (didSave) instead, found by meaning.",
        f"by name {verdict('name_p50_ms')} budget; by meaning {verdict('meaning_p50_ms')} budget.",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.unsaved_bench", description=__doc__)
    parser.add_argument("--symbols", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--baseline-rounds", type=int, default=5)
    parser.add_argument("--wait-idle", action="store_true", help="embed the whole index first")
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

"""Cold index throughput: today's settings against the baseline of issue 16, in one run.

    python -m bench.cold_bench [--symbols 20000] [--rounds 1] [--setup NAME ...]
                               [--threads N] [--normal-priority]

Indexes the stdlib tree of bench/index_bench.py from empty with each setup in turn (rounds
alternate which goes first, since load on a shared machine drifts), and prints symbols/s of
each beside its ratio to the baseline and the budget: the cold index at least 1.8x as fast as
with the baseline, the document form d1 cut at 256 tokens and read by the Q8_0 model that
shipped then. A setup is a document form, the token cut, the tokens decoded together (the batch
budget) and the model's precision (the shipped F16 file, or Q8_0 made from it here: the same
network and tokens, so the same work but for the matrix products). First it prints where the
tokens go: tokens per symbol as the model sees them (after the cut), per kind, for each setup;
and for each cold index, where its time went: decodes, tokens and sequences per decode, time
per decode, and the share of the time spent outside the model (parsing, storing, bookkeeping).
What a setup does to results is bench/quality's question (`--max-tokens`, `--model`).

The old form is kept here only, as the baseline (`old_document_text`).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import shutil
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import findcode.documents
import findcode.indexer
import numpy as np
from findcode.config import Settings
from findcode.documents import DOCUMENT_FORM_VERSION, MAX_CHARS, MAX_DOC_CHARS, document_text
from findcode.documents import split_identifier as words
from findcode.embedder import MAX_LANES, Embedder, quantize_gguf
from findcode.model import resolve_model_path
from findcode.symbols import Symbol, extract_symbols
from findcode.workspace import walk

from bench.index_bench import build_tree, cold_index, say
from bench.options import add_normal_priority

BUDGET_RATIO = 1.8
DEFAULT_WORKDIR = Path(__file__).parent / ".cache" / "cold_bench"

Form = Callable[[Symbol], str]


def old_document_text(symbol: Symbol) -> str:
    """The form "d1" (before bench/cold_bench): the whole code, a class's body included."""
    lines = [f"{symbol.kind} {words(symbol.qualified_name)}".strip()]
    code = symbol.code.strip()
    signature = symbol.signature.strip()
    if signature and not code.startswith(signature):
        lines.append(signature)
    doc = symbol.doc.strip()
    if doc:
        lines.append(doc[:MAX_DOC_CHARS])
    if code:
        lines.append(code)
    return "\n".join(lines)[:MAX_CHARS]


@dataclass(frozen=True)
class Setup:
    """What a cold index embeds and how: the form, the cut, the tokens decoded together."""

    form_version: str
    form: Form
    max_tokens: int
    batch_tokens: int | None = None  # None: the embedder's default (the cut)
    quant: str | None = None  # None: the model file as configured; "q8_0": it requantized
    lanes: int = MAX_LANES  # 1: one context with every thread, as before the lanes


BASELINE = "d1/256 q8_0"
SETUPS: dict[str, Setup] = {
    BASELINE: Setup("d1", old_document_text, 256, quant="q8_0", lanes=1),
    f"{DOCUMENT_FORM_VERSION}/256": Setup(DOCUMENT_FORM_VERSION, document_text, 256),
    # The lanes' share: one context with every thread.
    f"{DOCUMENT_FORM_VERSION}/256 1 lane": Setup(
        DOCUMENT_FORM_VERSION, document_text, 256, lanes=1
    ),
    # The form alone, without the change of precision.
    f"{DOCUMENT_FORM_VERSION}/256 q8_0": Setup(
        DOCUMENT_FORM_VERSION, document_text, 256, quant="q8_0"
    ),
    f"{DOCUMENT_FORM_VERSION}/128": Setup(DOCUMENT_FORM_VERSION, document_text, 128),
    # Two 128-token sequences a decode instead of one: fewer, larger decodes.
    f"{DOCUMENT_FORM_VERSION}/128 b256": Setup(DOCUMENT_FORM_VERSION, document_text, 128, 256),
}


@contextlib.contextmanager
def form_in_use(version: str, form: Form) -> Iterator[None]:
    """The indexer words documents with `form`, cached under `version`, for a while."""
    saved = findcode.indexer.document_text, findcode.documents.DOCUMENT_FORM_VERSION
    findcode.indexer.document_text = form
    findcode.documents.DOCUMENT_FORM_VERSION = version
    try:
        yield
    finally:
        findcode.indexer.document_text, findcode.documents.DOCUMENT_FORM_VERSION = saved


class DecodeLog:
    """Each decode of an embedder while it is watched, (sequences, tokens, seconds), and the
    time spent in its calls. Wraps the embedder's call and its decode step, for this bench only.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.entries: list[tuple[int, int, float]] = []
        self.in_calls = 0.0

    def __enter__(self) -> DecodeLog:
        decode, embed = self.embedder._decode, self.embedder._embed

        def timed_decode(
            lane: Any, indices: list[int], sequences: list[list[int]], out: Any
        ) -> None:
            began = time.perf_counter()
            decode(lane, indices, sequences, out)
            tokens = sum(len(sequences[i]) for i in indices)
            self.entries.append((len(indices), tokens, time.perf_counter() - began))

        def timed_embed(texts: Sequence[str]) -> np.ndarray:
            began = time.perf_counter()
            try:
                return embed(texts)
            finally:
                self.in_calls += time.perf_counter() - began

        self.embedder._decode = timed_decode  # type: ignore[method-assign]
        self.embedder._embed = timed_embed  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc: object) -> None:
        del self.embedder._decode, self.embedder._embed  # the class's own again

    def summary(self, seconds: float) -> str:
        if not self.entries:
            return "no decodes"
        count = len(self.entries)
        sequences, tokens, decoding = (sum(column) for column in zip(*self.entries, strict=True))
        return (
            f"{count} decodes, {tokens / count:.0f} tokens and {sequences / count:.1f} symbols "
            f"a decode, {1000 * decoding / count:.0f} ms a decode ({tokens / decoding:.0f} "
            f"tokens/s a lane), {100 * (1 - self.in_calls / seconds):.0f}% of the time outside "
            f"the model"
        )


def token_table(tree: Path, settings: Settings, embedders: dict[str, Embedder]) -> None:
    """Tokens per symbol the model reads, by kind, for each setup (and how many it cuts)."""
    symbols = [
        symbol
        for source in walk([tree], settings).files
        for symbol in extract_symbols(
            source.rel, source.path.read_text(encoding="utf-8", errors="replace")
        )
    ]
    say(f"tokens per symbol, {len(symbols)} symbols:")
    say(f"  {'setup':<14} {'kind':<10} {'symbols':>8} {'mean':>6} {'median':>7} {'at limit':>9}")
    totals = {}
    for name, embedder in embedders.items():
        form = SETUPS[name].form
        by_kind: dict[str, list[int]] = collections.defaultdict(list)
        for symbol in symbols:
            by_kind[symbol.kind].append(len(embedder.token_ids(form(symbol))))
        for kind, counts in sorted(by_kind.items()):
            at_limit = sum(count >= embedder.max_tokens for count in counts)
            say(
                f"  {name:<14} {kind:<10} {len(counts):>8} {statistics.mean(counts):>6.0f} "
                f"{statistics.median(counts):>7.0f} {at_limit:>9}"
            )
        totals[name] = sum(sum(counts) for counts in by_kind.values())
    for name, total in totals.items():
        say(f"  all tokens, {name}: {total} ({total / totals[BASELINE]:.2f} of {BASELINE})")


def model_file(settings: Settings, quant: str | None, workdir: Path) -> Path:
    """The configured model file, or that file requantized (made once, kept in `workdir`)."""
    path = resolve_model_path(settings.model)
    if quant is None:
        return path
    made = workdir / "models" / f"{path.stem}.{quant}.gguf"
    if not made.is_file():
        made.parent.mkdir(parents=True, exist_ok=True)
        quantize_gguf(path, made, quant, threads=settings.threads)
    return made


def load_embedders(settings: Settings, names: list[str], workdir: Path) -> dict[str, Embedder]:
    """One embedder per setup (the cut and the batch budget are fixed when it loads)."""
    return {
        name: Embedder(
            model_file(settings, SETUPS[name].quant, workdir),
            threads=settings.threads,
            max_tokens=SETUPS[name].max_tokens,
            batch_tokens=SETUPS[name].batch_tokens,
            lanes=SETUPS[name].lanes,
        )
        for name in names
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1, help="cold indexes per setup")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--threads", type=int, help="compute threads (default: every core)")
    add_normal_priority(parser)
    parser.add_argument(
        "--setup",
        action="append",
        choices=list(SETUPS),
        help=f"a setup to time beside the baseline {BASELINE} (repeatable; default: all)",
    )
    args = parser.parse_args()
    names = [
        BASELINE,
        *(name for name in SETUPS if name != BASELINE and name in (args.setup or SETUPS)),
    ]

    tree = args.workdir / "tree"
    files, symbols = build_tree(args.symbols, tree)
    say(f"tree: {files} files, {symbols} symbols; load {os.getloadavg()[0]:.1f} (1 min)")
    settings = Settings(
        index_dir=args.workdir / "index",
        threads=args.threads,
        low_priority=not args.normal_priority,
    )
    embedders = load_embedders(settings, names, args.workdir)
    for name, embedder in embedders.items():
        say(f"  {name}: cut at {embedder.max_tokens} tokens, vectors keyed {embedder.model_id}")
    token_table(tree, settings, embedders)

    rates: dict[str, list[float]] = collections.defaultdict(list)
    for round_ in range(args.rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            setup = SETUPS[name]
            shutil.rmtree(settings.index_dir, ignore_errors=True)
            started = time.perf_counter()
            with form_in_use(setup.form_version, setup.form), DecodeLog(embedders[name]) as log:
                result = cold_index(tree, settings, embedders[name])
            seconds = time.perf_counter() - started
            rates[name].append(result["rate"])
            say(
                f"  {name}: {result['embedded']:.0f} symbols in {seconds:.0f} s = "
                f"{result['rate']:.1f} symbols/s (load {os.getloadavg()[0]:.1f}); "
                f"{log.summary(seconds)}"
            )
    baseline = statistics.median(rates[BASELINE])
    print(f"cold index, {symbols} symbols, median of {args.rounds} round(s):")
    print(f"  {BASELINE}: {baseline:.1f} symbols/s (baseline)")
    for name in names[1:]:
        rate = statistics.median(rates[name])
        ratio = rate / baseline
        verdict = "ok" if ratio >= BUDGET_RATIO else "OVER BUDGET"
        cut = embedders[name].max_tokens
        print(
            f"  {name} (cut {cut}): {rate:.1f} symbols/s, {ratio:.2f}x "
            f"(budget >= {BUDGET_RATIO}x): {verdict}"
        )
    print(f"  load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

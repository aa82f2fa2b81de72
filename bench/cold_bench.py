"""Cold index throughput: the document form of today against the one before it, in one run.

    python -m bench.cold_bench [--symbols 20000] [--rounds 1]

Indexes the stdlib tree of bench/index_bench.py from empty with each form in turn (rounds
alternate which goes first, since load on a shared machine drifts), and prints symbols/s of
each beside their ratio and the budget: the cold index at least 1.8x as fast as with the old
form. First it prints where the tokens go: tokens per symbol as the model sees them (after its
cut), per kind, for both forms. What the form does to results is bench/quality's question.

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
from collections.abc import Callable, Iterator
from pathlib import Path

import findcode.engine
import findcode.indexer
from findcode.config import Settings
from findcode.documents import DOCUMENT_FORM_VERSION, MAX_CHARS, MAX_DOC_CHARS, document_text
from findcode.documents import split_identifier as words
from findcode.embedder import Embedder
from findcode.model import resolve_model_path
from findcode.symbols import Symbol, extract_symbols
from findcode.workspace import walk

from bench.index_bench import build_tree, cold_index, say

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


FORMS: dict[str, tuple[str, Form]] = {
    "old (d1)": ("d1", old_document_text),
    f"new ({DOCUMENT_FORM_VERSION})": (DOCUMENT_FORM_VERSION, document_text),
}


@contextlib.contextmanager
def form_in_use(version: str, form: Form) -> Iterator[None]:
    """The indexer words documents with `form`, cached under `version`, for a while."""
    saved = findcode.indexer.document_text, findcode.engine.DOCUMENT_FORM_VERSION
    findcode.indexer.document_text = form
    findcode.engine.DOCUMENT_FORM_VERSION = version
    try:
        yield
    finally:
        findcode.indexer.document_text, findcode.engine.DOCUMENT_FORM_VERSION = saved


def token_table(tree: Path, settings: Settings, embedder: Embedder) -> None:
    """Tokens per symbol the model reads, by kind, for each form (and how many it cuts)."""
    symbols = [
        symbol
        for source in walk([tree], settings).files
        for symbol in extract_symbols(
            source.rel, source.path.read_text(encoding="utf-8", errors="replace")
        )
    ]
    say(f"tokens per symbol (model limit {embedder.max_tokens}), {len(symbols)} symbols:")
    say(f"  {'form':<10} {'kind':<10} {'symbols':>8} {'mean':>6} {'median':>7} {'at limit':>9}")
    totals = {}
    for name, (_, form) in FORMS.items():
        by_kind: dict[str, list[int]] = collections.defaultdict(list)
        for symbol in symbols:
            by_kind[symbol.kind].append(len(embedder.token_ids(form(symbol))))
        for kind, counts in sorted(by_kind.items()):
            at_limit = sum(count >= embedder.max_tokens for count in counts)
            say(
                f"  {name:<10} {kind:<10} {len(counts):>8} {statistics.mean(counts):>6.0f} "
                f"{statistics.median(counts):>7.0f} {at_limit:>9}"
            )
        totals[name] = sum(sum(counts) for counts in by_kind.values())
    old, new = totals.values()
    say(f"  all tokens: {old} -> {new} ({new / old:.2f} of the old)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1, help="cold indexes per form")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args()

    tree = args.workdir / "tree"
    files, symbols = build_tree(args.symbols, tree)
    say(f"tree: {files} files, {symbols} symbols; load {os.getloadavg()[0]:.1f} (1 min)")
    settings = Settings(index_dir=args.workdir / "index")
    embedder = Embedder(resolve_model_path(settings.model), threads=settings.threads)
    token_table(tree, settings, embedder)

    rates: dict[str, list[float]] = collections.defaultdict(list)
    names = list(FORMS)
    for round_ in range(args.rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            version, form = FORMS[name]
            shutil.rmtree(settings.index_dir, ignore_errors=True)
            started = time.perf_counter()
            with form_in_use(version, form):
                result = cold_index(tree, settings, embedder)
            rates[name].append(result["rate"])
            say(
                f"  {name}: {result['embedded']:.0f} symbols in "
                f"{time.perf_counter() - started:.0f} s = {result['rate']:.1f} symbols/s "
                f"(load {os.getloadavg()[0]:.1f})"
            )
    old, new = (statistics.median(rates[name]) for name in names)
    ratio = new / old
    verdict = "ok" if ratio >= BUDGET_RATIO else "OVER BUDGET"
    print(f"cold index, {symbols} symbols, median of {args.rounds} round(s):")
    print(f"  {names[0]}: {old:.1f} symbols/s (baseline)")
    print(f"  {names[1]}: {new:.1f} symbols/s")
    print(f"  ratio {ratio:.2f}x (budget >= {BUDGET_RATIO}x): {verdict}")
    print(f"  load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

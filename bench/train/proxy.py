"""bench/quality's two tables as a plain dense-retrieval task, for choosing among trained
models on a machine that has PyTorch but no findcode.

A lent accelerator can train several settings in one lease, and the choice among them should
be made on what decides shipping: both tables of bench/quality. That machine has no findcode,
tree-sitter or llama.cpp, so this writes out what findcode's semantic mode reads: every
symbol's document as the engine embeds it (the mined table's copies with their targets' docs
removed, the natural table's code as published), each query as the engine embeds it, and the
lines of its targets. sweep.py scores dense MRR@10 per table from it. Hybrid ranking, priors
and quantization are left out: it ranks candidates, and bench/quality measures the one chosen.
"""

from __future__ import annotations

from collections.abc import Callable

from findcode.config import Settings
from findcode.documents import document_text, split_identifiers
from findcode.mining import mine, read_repository
from findcode.symbols import extract_symbols

from bench.quality.corpora import CORPORA, NATURAL_CORPORA
from bench.quality.fetch import fetch
from bench.quality.natural import check, load_queries, query_file

# bench/quality's defaults: at most this many mined queries per corpus, this sample seed.
MINED_QUERIES = 300
SEED = 0


def quality_task(log: Callable[[str], None] = print) -> list[dict]:
    """One entry per corpus: its table, documents [rel, first line, last line, text] and
    queries [text, [[rel, first line, last line], ...]]."""
    settings = Settings()
    task = []
    for corpus in CORPORA:
        mined = mine(read_repository(fetch(corpus), settings), max_pairs=MINED_QUERIES, seed=SEED)
        queries = [
            [split_identifiers(pair.query), [[pair.rel, pair.start_line, pair.end_line]]]
            for pair in mined.pairs
        ]
        task.append(_corpus("mined", corpus.name, mined.files, queries))
        log(f"proxy: {corpus.name}: {len(queries)} mined queries")
    for corpus in NATURAL_CORPORA:
        asked = load_queries(query_file(corpus.name))
        files = read_repository(fetch(corpus), settings)
        targets = check(asked, files)
        queries = [
            [split_identifiers(query.text), [[s.rel, s.start_line, s.end_line] for s in spans]]
            for query, spans in zip(asked.queries, targets, strict=True)
        ]
        task.append(_corpus("natural", corpus.name, files, queries))
        log(f"proxy: {corpus.name}: {len(queries)} natural queries")
    return task


def _corpus(table: str, name: str, files: dict[str, str], queries: list) -> dict:
    documents = [
        [rel, symbol.start_line, symbol.end_line, document_text(symbol)]
        for rel in sorted(files)
        for symbol in extract_symbols(rel, files[rel])
    ]
    return {"table": table, "name": name, "documents": documents, "queries": queries}

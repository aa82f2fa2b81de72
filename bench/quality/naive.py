"""The naive reference: what embedding code with no thought about its form gets you.

Semantic search only, over every symbol of the same indexed copy, with the document being
path + qualified name + code (cut at 256 tokens) and the query exactly as typed, ranked by
exact cosine similarity (no approximate index, so nothing but the text forms differ from
findcode's own semantic mode). findcode's hybrid has to beat it by a clear margin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from findcode.embedder import Embedder
from findcode.symbols import Symbol, extract_symbols

TOKEN_BUDGET = 256
_BATCH = 32


@dataclass(frozen=True, slots=True)
class Result:
    rel: str
    start_line: int
    end_line: int


def naive_document(symbol: Symbol) -> str:
    return f"{symbol.path}\n{symbol.qualified_name}\n{symbol.code}"


class NaiveIndex:
    """Brute-force cosine search over naive documents of every symbol in `files`."""

    def __init__(self, embedder: Embedder, files: Mapping[str, str]) -> None:
        self.embedder = embedder
        self.symbols = [s for rel in sorted(files) for s in extract_symbols(rel, files[rel])]
        texts = [truncate(embedder, naive_document(s)) for s in self.symbols]
        blocks = [
            embedder.embed_documents(texts[i : i + _BATCH]) for i in range(0, len(texts), _BATCH)
        ]
        self.vectors = np.vstack(blocks) if blocks else np.zeros((0, embedder.dims), np.float32)

    def search(self, query: str, limit: int = 10) -> list[Result]:
        scores = self.vectors @ self.embedder.embed_query(query)
        best = np.argsort(-scores, kind="stable")[:limit]
        return [
            Result(self.symbols[i].path, self.symbols[i].start_line, self.symbols[i].end_line)
            for i in best
        ]


def truncate(embedder: Embedder, text: str) -> str:
    """`text` cut to TOKEN_BUDGET tokens of the embedder's own tokenizer.

    The default model's limit is that budget already (the embedder cuts there); a model with a
    longer one gets the longest prefix that fits, found by bisection on characters.
    """
    if embedder.max_tokens <= TOKEN_BUDGET or len(embedder.token_ids(text)) <= TOKEN_BUDGET:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(embedder.token_ids(text[:middle])) <= TOKEN_BUDGET:
            low = middle
        else:
            high = middle - 1
    return text[:low]

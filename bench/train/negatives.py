"""Hard negatives: for each query, the wrong function findcode's own lexical search ranks first.

In-batch negatives alone are mostly easy (a Go hash function against a Java date parser); the
model learns more from the near misses that bm25 puts on top, which are the ones hybrid search
has to out-rank. The index is findcode's lexical half as it stands (search.query_words for the
query, store.identifier_words for names and code, FTS5 porter stemming, the default column
weights), one per source, over that source's training functions only, so no validation code
reaches training as a negative.

A candidate is refused when it is the target, shares its name (overloads and the many `Read`
methods of Go are answers too) or its code; then the next one is taken, and a random function
of the same source when bm25 offers none.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence

from findcode.search import DEFAULT_RANKING, query_words
from findcode.store import identifier_words

CANDIDATES = 10


class LexicalIndex:
    """One source's training functions in an in-memory FTS5 table; rowid = list position."""

    def __init__(self, records: Sequence[dict]) -> None:
        self.records = records
        self._db = sqlite3.connect(":memory:")
        self._db.execute(
            "CREATE VIRTUAL TABLE words USING fts5(names, doc, code, tokenize = 'porter unicode61')"
        )
        self._db.executemany(
            "INSERT INTO words (rowid, names, doc, code) VALUES (?, ?, '', ?)",
            (
                (
                    position,
                    " ".join(identifier_words(record["qualified_name"])),
                    " ".join(identifier_words(record["document"])),
                )
                for position, record in enumerate(records)
            ),
        )

    def search(self, query: str, limit: int = CANDIDATES) -> list[int]:
        """Positions of the best bm25 matches, best first."""
        words = query_words(query)
        if not words:
            return []
        match = " OR ".join(f'"{word}"' for word in words)
        rows = self._db.execute(
            "SELECT rowid FROM words WHERE words MATCH ? ORDER BY bm25(words, ?, ?, ?) LIMIT ?",
            (match, *DEFAULT_RANKING.bm25_weights, limit),
        ).fetchall()
        return [row[0] for row in rows]

    def negative(self, target: dict, query: str, rng: random.Random) -> dict:
        """The hardest acceptable wrong answer for `query` (see the module docstring)."""
        for position in self.search(query):
            candidate = self.records[position]
            if _acceptable(candidate, target):
                return candidate
        for _attempt in range(100):
            candidate = rng.choice(self.records)
            if _acceptable(candidate, target):
                return candidate
        raise ValueError(f"no negative for {target['id']}: too few functions in its source")


def _acceptable(candidate: dict, target: dict) -> bool:
    return (
        candidate["id"] != target["id"]
        and candidate["name"] != target["name"]
        and candidate["code_key"] != target["code_key"]
    )

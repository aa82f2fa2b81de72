"""Retrieval quality: findcode's lexical, semantic and hybrid search on real, documented code.

    python -m bench.quality            # fetch (once), mine, index, score; print and write the table
    python -m bench.quality.fetch      # only download and unpack the pinned corpora

Queries are the first sentences of docstrings and doc comments; each target is indexed with its
doc removed (findcode.mining). Results go to bench/results/quality.md and quality.json.
"""

"""Benchmarks and the retrieval-quality evaluation; run as `python -m bench.<name>`."""

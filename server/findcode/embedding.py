"""What the engine asks of an embedder, and how each model family wants its text worded.

Two implementations answer it: a GGUF model run here (embedder.py, the one module that imports
llama_cpp) and an OpenAI-compatible serving engine (remote_embedder.py). Both word queries and
documents through the same profiles, so a model gives the same vectors wherever it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

QWEN3_TASK = "Given a code search query, retrieve the code that does what the query describes"


class TextEmbedder(Protocol):
    """Texts -> unit float32 vectors of `dims` dimensions. Safe to call from two threads."""

    name: str  # the model's name, shown to the user and keying the relevance calibration
    model_id: str  # part of the vector cache key: vectors of two ids never mix
    dims: int
    quantization: str
    location: str  # where the model runs: a file path or a server's URL
    # Symbols the indexer hands over per call: a query waits for at most one such call when
    # both share the model, so a local model wants few; a server wants enough for its batches.
    documents_per_call: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def close(self) -> None: ...

    def interrupt(self) -> None:
        """Give up the call in progress, from another thread (the indexer's stop)."""

    def set_threads(self, threads: int) -> None:
        """Compute threads from the next call on (the indexer adapts them to the load)."""


@dataclass(frozen=True)
class Profile:
    """How one model family wants its inputs worded."""

    family: str
    query_template: str = "{text}"
    document_template: str = "{text}"
    pooling: str | None = None  # "last" when the GGUF does not say; None: the model's own
    # Trained for Matryoshka truncation: a server can be asked for fewer dimensions.
    matryoshka: bool = False


PLAIN = Profile("plain")
NOMIC = Profile("nomic", "search_query: {text}", "search_document: {text}")
QWEN3_EMBEDDING = Profile(
    "qwen3-embedding",
    query_template="Instruct: " + QWEN3_TASK + "\nQuery:{text}",
    pooling="last",
    matryoshka=True,
)
PROFILES = {profile.family: profile for profile in (PLAIN, NOMIC, QWEN3_EMBEDDING)}


def profile_for(architecture: str, name: str) -> Profile:
    """The family of a model from its architecture (GGUF metadata; "" for a server's model)
    and its name ("Qwen/Qwen3-Embedding-0.6B" on a server says as much as the metadata)."""
    name = name.lower()
    if (architecture.startswith("qwen3") or "qwen3" in name) and "embed" in name:
        return QWEN3_EMBEDDING
    if architecture == "nomic-bert" or "nomic" in name:
        return NOMIC
    return PLAIN

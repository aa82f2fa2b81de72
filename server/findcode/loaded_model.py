"""A loaded embedding model: its embedders, the key its vectors are stored under, and when it
may be closed.

An engine searches with one model while, during a switch of models (indexer.py), a second one
embeds in the background. A search that began with the old model ends with it, so a model the
switch retires is closed only once the last search using it has let it go.
"""

from __future__ import annotations

import threading

from findcode.config import Settings
from findcode.documents import embed_key
from findcode.embedding import TextEmbedder
from findcode.model import resolve_model_path
from findcode.remote_embedder import RemoteEmbedder

# Queries run in a llama.cpp context of their own, on one thread: a ten-word query takes
# milliseconds there, while in the indexer's context it would first wait for the batch being
# embedded (about half a second for 16 symbols on two cores).
QUERY_THREADS = 1


class LoadedModel:
    def __init__(
        self,
        embedder: TextEmbedder,
        query_embedder: TextEmbedder | None = None,
        *,
        owned: bool = True,
    ) -> None:
        self.embedder = embedder  # documents: the indexer's
        self.for_queries = query_embedder or embedder
        self.key = embed_key(embedder.model_id)
        self._owned = owned  # closed here once retired (not an embedder handed in by a test)
        self._lock = threading.Lock()
        self._users = 0
        self._retired = False

    @property
    def name(self) -> str:
        return self.embedder.name

    def acquire(self) -> None:
        """A search uses the model: it stays open until `release`."""
        with self._lock:
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            close = self._retired and not self._users
        if close:
            self._close()

    def retire(self) -> None:
        """No new work uses the model: close it now, or when the last search releases it."""
        with self._lock:
            self._retired = True
            close = not self._users
        if close:
            self._close()

    def _close(self) -> None:
        if self._owned:
            for embedder in {id(e): e for e in (self.embedder, self.for_queries)}.values():
                embedder.close()


def load_model(settings: Settings) -> LoadedModel:
    """The model the settings name: a serving engine's, or a GGUF file loaded here.

    ModelError (or EmbeddingServerError) with a message for the user when it cannot load.
    """
    if settings.embedding.url:
        # One client serves queries and documents: the server runs them side by side.
        return LoadedModel(RemoteEmbedder(settings.embedding))
    # Imported here: a remote model never loads llama.cpp.
    from findcode.embedder import Embedder

    model_path = resolve_model_path(settings.model)
    embedder = Embedder(model_path, threads=settings.threads)
    try:
        return LoadedModel(embedder, Embedder(model_path, threads=QUERY_THREADS))
    except BaseException:
        embedder.close()
        raise

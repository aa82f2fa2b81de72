"""Errors that carry a message a person can act on.

Everything findcode raises on purpose derives from FindcodeError: the CLI prints it without a
traceback (exit 1) and the Language Server turns it into a JSON-RPC error or a showMessage.
"""


class FindcodeError(Exception):
    """A failure whose message says what went wrong and what to do about it."""


class ModelError(FindcodeError):
    """The embedding model is missing, corrupt, or not an embedding model."""


class IndexCorruptError(FindcodeError):
    """The index on disk cannot be opened; the message suggests `findcode reindex`."""


class QueryError(FindcodeError):
    """A search request that cannot be answered as given (empty query, bad filter)."""


class IndexAccessError(FindcodeError):
    """The index folder cannot be created or written (a file in the way, a read-only folder
    or mount, /proc): reindexing cannot help, so the message says what to change instead."""


class IndexBusyError(FindcodeError):
    """Another findcode process holds the index's writer lease (reindex and gc need it)."""


class EmbeddingServerError(FindcodeError):
    """The embedding server refused a request (a wrong key, an unknown model) or answered
    something that is not a usable embeddings response: retrying the same request cannot help."""


class EmbeddingServerUnreachable(EmbeddingServerError):
    """The embedding server did not answer, or answered busy (429, 5xx), through every retry.
    Embedding waits `retry_in` seconds; nothing already stored is affected."""

    def __init__(self, detail: str, retry_in: float) -> None:
        super().__init__(f"embedding server unreachable: retrying in {retry_in:.0f} s ({detail})")
        self.detail = detail
        self.retry_in = retry_in

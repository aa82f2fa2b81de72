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

"""Text -> vectors from a serving engine's OpenAI-compatible `/v1/embeddings` (vLLM, SGLang,
llama.cpp server, TEI, Ollama).

A team's GPU box embeds a large repository in minutes where a laptop's CPU takes hours. The
network is the new failure: a request can time out, a server can restart or shed load. Each
request is retried with exponential backoff and jitter (honouring `Retry-After`); when every
retry fails, a circuit breaker opens and the caller hears EmbeddingServerUnreachable with the
time to try again, so the indexer waits (keeping what is pending) instead of hammering a
server that is down. A refusal that no retry can fix (a wrong key, an unknown model, an answer
that is not embeddings) is an EmbeddingServerError at once, and nothing of it is stored.

Only the standard library speaks HTTP here: a request a batch, `concurrency` of them in flight.
The API key is read from the environment variable the settings name, and is never logged.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException
from typing import NoReturn

import numpy as np

from findcode.config import EmbeddingSettings
from findcode.embedding import PROFILES, profile_for
from findcode.errors import EmbeddingServerError, EmbeddingServerUnreachable

# Backoff between retries of one request: 0.5, 1, 2, 4, 8 s (each with jitter), so five
# retries wait about 15 s before the breaker opens.
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 8.0
# The breaker stays open this long after the first failed request, doubling up to a minute:
# a restarting server is found again within seconds, a dead one costs a request a minute.
BREAKER_FIRST_S = 2.0
BREAKER_MAX_S = 60.0
# A server's Retry-After is honoured up to this; beyond it, the breaker takes over.
RETRY_AFTER_MAX_S = 60.0
# An error body is quoted up to this many characters (enough for a server's reason).
QUOTE_CHARS = 300


class _Retryable(Exception):
    """A failure worth another try: 429, 5xx, a timeout, a dropped connection."""

    def __init__(self, detail: str, wait_s: float | None = None) -> None:
        super().__init__(detail)
        self.wait_s = wait_s  # the server's Retry-After


class _Breaker:
    """Open after a request failed through its retries; closed by the next success."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until = 0.0

    def check(self, detail: str) -> None:
        with self._lock:
            left = self._open_until - time.monotonic()
        if left > 0:
            raise EmbeddingServerUnreachable(detail, left)

    def failed(self) -> float:
        with self._lock:
            delay = min(BREAKER_MAX_S, BREAKER_FIRST_S * 2**self._failures)
            self._failures += 1
            self._open_until = time.monotonic() + delay
            return delay

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = 0.0


class RemoteEmbedder:
    """An embedding model behind an OpenAI-compatible server. Thread-safe."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        if not settings.url or not settings.model:
            raise EmbeddingServerError("a remote embedder needs embedding.url and embedding.model")
        self._settings = settings
        self._endpoint = f"{settings.url}/embeddings"
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if settings.api_key_env:
            key = os.environ.get(settings.api_key_env, "")
            if not key:
                raise EmbeddingServerError(
                    f"embedding.apiKeyEnv names {settings.api_key_env}, which is not set in "
                    f"findcode's environment: export the embedding server's API key in it"
                )
            self._headers["Authorization"] = f"Bearer {key}"
        self.name = settings.model
        self.location = settings.url
        self.quantization = "remote"
        self.profile = (
            profile_for("", settings.model)
            if settings.profile == "auto"
            else PROFILES[settings.profile]
        )
        self.documents_per_call = settings.batch_size * settings.concurrency
        self._breaker = _Breaker()
        self._interrupted = threading.Event()
        self._pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="findcode-http")
        # Asked for `dimensions`, a model not trained for it answers in full: cut and
        # re-normalised here (Matryoshka truncation).
        self._cut = settings.dimensions is not None
        self.dims = settings.dimensions or self._native_dims()
        self.model_id = f"remote:{settings.model}-d{self.dims}"

    def _native_dims(self) -> int:
        try:
            answer = self._post(["findcode"], self._settings.retries)
        except EmbeddingServerUnreachable as error:
            raise EmbeddingServerError(
                f"cannot reach the embedding server ({error.detail}) to ask the model's "
                f"dimensions at start: start the server, or set embedding.dimensions"
            ) from None
        return len(answer[0])

    # -- embedding

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        forms = [self.profile.document_template.format(text=t) for t in texts]
        # An interrupt is for the call in progress: all its requests, whichever thread sends
        # them (clearing it per request would let one request undo another's interrupt).
        self._interrupted.clear()
        size = self._settings.batch_size
        batches = [forms[i : i + size] for i in range(0, len(forms), size)]
        futures = [self._pool.submit(self._vectors, b, self._settings.retries) for b in batches]
        try:
            parts = [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()  # the rest would be thrown away anyway
        if not parts:
            return np.zeros((0, self.dims), dtype=np.float32)
        return np.concatenate(parts)

    def embed_query(self, text: str) -> np.ndarray:
        # No retries: a person is waiting, and the engine answers by words meanwhile.
        return self._vectors([self.profile.query_template.format(text=text)], 0)[0]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _vectors(self, texts: list[str], retries: int) -> np.ndarray:
        answer = self._post(texts, retries)
        for vector in answer:
            if len(vector) < self.dims or (len(vector) > self.dims and not self._cut):
                raise self._bad(f"a vector of {len(vector)} dimensions, not {self.dims}")
        rows = np.asarray(answer, dtype=np.float32)
        rows = rows[:, : self.dims]
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms > 0, norms, 1.0)

    # -- HTTP

    def _post(self, texts: list[str], retries: int) -> list[list[float]]:
        """One request, retried; the vectors in the order of `texts`."""
        self._breaker.check(self.location)
        body: dict[str, object] = {"model": self._settings.model, "input": texts}
        if self._cut and self.profile.matryoshka:
            body["dimensions"] = self._settings.dimensions
        data = json.dumps(body).encode()
        for attempt in range(retries + 1):
            try:
                answer = self._send(data)
            except _Retryable as failure:
                if attempt == retries:
                    delay = self._breaker.failed()
                    raise EmbeddingServerUnreachable(f"{self.location}: {failure}", delay) from None
                backoff = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2**attempt)
                if self._interrupted.wait(failure.wait_s or backoff * random.uniform(0.5, 1.0)):
                    raise EmbeddingServerError(
                        "the request was given up (findcode is stopping)"
                    ) from None
                continue
            self._breaker.succeeded()
            return self._check(answer, len(texts))
        raise AssertionError("the loop returns or raises")

    def _send(self, data: bytes) -> object:
        request = urllib.request.Request(self._endpoint, data, self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._settings.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            self._refused(error)
        except TimeoutError:
            raise _Retryable(f"no answer within {self._settings.timeout_s:g} s") from None
        except urllib.error.URLError as error:
            raise _Retryable(f"cannot connect: {error.reason}") from None
        except (ConnectionError, HTTPException) as error:
            raise _Retryable(f"connection lost: {error!r}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise self._bad(f"a body that is not JSON: {_quote(raw)}") from None

    def _refused(self, error: urllib.error.HTTPError) -> NoReturn:
        reason = _quote(error.read())
        if error.code == 429 or error.code >= 500:
            raise _Retryable(f"HTTP {error.code} {reason}", _retry_after(error.headers))
        if error.code in (401, 403):
            where = (
                f"the key in {self._settings.api_key_env}"
                if self._settings.api_key_env
                else "no key (set embedding.apiKeyEnv to the variable holding one)"
            )
            raise EmbeddingServerError(
                f"the embedding server at {self.location} refused {where}: HTTP {error.code}"
            ) from None
        raise EmbeddingServerError(
            f"the embedding server at {self.location} refused the request for model "
            f"{self.name!r}: HTTP {error.code} {reason}"
        ) from None

    def _check(self, answer: object, count: int) -> list[list[float]]:
        """The vectors of an embeddings response, or a clear error: nothing half-valid."""
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list) or len(data) != count:
            got = f"{len(data)} vectors" if isinstance(data, list) else _quote(answer)
            raise self._bad(f"{got} for {count} texts")
        try:
            ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
            vectors = [[float(x) for x in item["embedding"]] for item in ordered]
        except (AttributeError, KeyError, TypeError, ValueError):
            raise self._bad(
                f"items without a list of numbers in 'embedding': {_quote(data)}"
            ) from None
        for vector in vectors:
            if not vector or not all(math.isfinite(x) for x in vector):
                raise self._bad("an empty vector, or one holding NaN or infinity")
        return vectors

    def _bad(self, what: str) -> EmbeddingServerError:
        return EmbeddingServerError(
            f"the embedding server at {self.location} answered {what}: not an OpenAI "
            f"embeddings response for {self.name!r}; nothing was stored"
        )

    # -- the indexer's controls

    def interrupt(self) -> None:
        """Stop waiting out a retry's backoff: a stop must not wait for a server that is away.
        (A request on the wire ends within embedding.timeoutS.)"""
        self._interrupted.set()

    def set_threads(self, threads: int) -> None:
        """The server's threads are its own business: nothing here to adapt to the load."""


def _retry_after(headers: object) -> float | None:
    """A 429's or 503's Retry-After: seconds or an HTTP date; None when absent or unreadable."""
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return min(RETRY_AFTER_MAX_S, max(0.0, seconds)) or None


def _quote(value: object) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else repr(value)
    text = " ".join(text.split())
    return text[:QUOTE_CHARS] + ("..." if len(text) > QUOTE_CHARS else "")

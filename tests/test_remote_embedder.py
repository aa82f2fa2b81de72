"""The remote embedder against real servers: llama-cpp-python's OpenAI-compatible server on
findcode's default model, and small scripted HTTP servers for slow, busy and broken answers."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from findcode import remote_embedder
from findcode.config import EmbeddingSettings
from findcode.embedder import Embedder
from findcode.errors import EmbeddingServerError, EmbeddingServerUnreachable
from findcode.remote_embedder import RemoteEmbedder
from remote_support import LlamaServer, ScriptedServer, embeddings_body, llama_server, ok

TEXTS = [
    "def retry(request, attempts=3):\n    for _ in range(attempts):\n        return request()",
    "class HttpSession:\n    def close(self): self.pool.clear()",
    "sort a list of words by their length",
    "func ParseConfig(path string) (*Config, error) { return nil, nil }",
]


@pytest.fixture(scope="module")
def server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with llama_server(model_path, log) as running:
        yield running


def remote(url: str, **changes: Any) -> RemoteEmbedder:
    settings = EmbeddingSettings(url=url, model="findcode-minilm-code", retries=1, timeout_s=10)
    return RemoteEmbedder(dataclasses.replace(settings, **changes))


def test_remote_vectors_match_local_ones(server: LlamaServer, embedder: Embedder) -> None:
    client = remote(server.url, batch_size=3, concurrency=2)
    try:
        assert client.dims == embedder.dims == 384  # asked of the server: no setting
        assert client.model_id == "remote:findcode-minilm-code-d384"
        assert client.name == "findcode-minilm-code"
        assert client.documents_per_call == 6
        vectors = client.embed_documents(TEXTS)  # two requests: 3 texts and 1
        assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        local = embedder.embed_documents(TEXTS)
        assert (vectors * local).sum(axis=1).min() >= 0.999
        query = client.embed_query("retry a request")
        assert float(query @ embedder.embed_query("retry a request")) >= 0.999
        assert client.embed_documents([]).shape == (0, 384)
    finally:
        client.close()


def test_dimensions_truncate_and_renormalise(server: LlamaServer, model_path: Path) -> None:
    client = remote(server.url, dimensions=128)
    small = Embedder(model_path, dims=128)
    try:
        assert client.dims == 128 and client.model_id.endswith("-d128")
        cosines = (client.embed_documents(TEXTS) * small.embed_documents(TEXTS)).sum(axis=1)
        assert cosines.min() >= 0.999
    finally:
        client.close()
        small.close()


def test_wrong_key_is_one_clear_error(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINDCODE_TEST_KEY", "not-the-key-4711")
    with llama_server(model_path, tmp_path / "server.log", api_key="the-right-key") as keyed:
        with pytest.raises(EmbeddingServerError) as refused:
            remote(keyed.url, api_key_env="FINDCODE_TEST_KEY", dimensions=384).embed_documents(
                TEXTS
            )
        message = str(refused.value)
        assert "FINDCODE_TEST_KEY" in message and "401" in message
        assert "not-the-key-4711" not in message
        assert not isinstance(refused.value, EmbeddingServerUnreachable)  # nothing to wait for
        with pytest.raises(EmbeddingServerError, match="no key"):
            remote(keyed.url)  # the dimensions probe is refused too
        monkeypatch.setenv("FINDCODE_TEST_KEY", "the-right-key")
        client = remote(keyed.url, api_key_env="FINDCODE_TEST_KEY")
        assert client.embed_documents(TEXTS[:1]).shape == (1, 384)
        client.close()


def test_an_unset_key_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINDCODE_UNSET_KEY", raising=False)
    with pytest.raises(EmbeddingServerError, match="FINDCODE_UNSET_KEY, which is not set"):
        remote("http://127.0.0.1:9/v1", api_key_env="FINDCODE_UNSET_KEY")


def test_a_slow_server_times_out_and_the_retry_succeeds() -> None:
    def script(body: dict, attempt: int):  # the first answer comes after the timeout
        return ok(4, delay=3.0 if attempt == 1 else 0.0)(body, attempt)

    with ScriptedServer(script) as slow:
        client = remote(slow.url, dimensions=4, timeout_s=1, retries=2)
        vectors = client.embed_documents(["a", "b"])
        assert vectors.shape == (2, 4)
        assert len(slow.requests) == 2
        client.close()


def test_busy_answers_are_retried_honouring_retry_after() -> None:
    def script(body: dict, attempt: int):
        if attempt == 1:
            return 429, {"Retry-After": "1"}, b'{"error": "slow down"}', 0.0
        if attempt == 2:
            return 503, {}, b"overloaded", 0.0
        return ok(4)(body, attempt)

    with ScriptedServer(script) as busy:
        client = remote(busy.url, dimensions=4, retries=2)
        assert client.embed_documents(["a"]).shape == (1, 4)
        arrivals = [at for at, _ in busy.requests]
        assert len(arrivals) == 3
        assert arrivals[1] - arrivals[0] >= 0.95  # Retry-After: 1, not the 0.5 s backoff
        client.close()


def test_a_server_that_stays_down_opens_the_breaker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_embedder, "BACKOFF_FIRST_S", 0.05)
    with ScriptedServer(lambda body, attempt: (500, {}, b"boom", 0.0)) as down:
        client = remote(down.url, dimensions=4, retries=2)
        with pytest.raises(EmbeddingServerUnreachable) as first:
            client.embed_documents(["a"])
        assert len(down.requests) == 3  # one try and two retries
        assert first.value.retry_in == remote_embedder.BREAKER_FIRST_S
        assert str(first.value).startswith("embedding server unreachable: retrying in 2 s")
        assert "HTTP 500 boom" in str(first.value)
        with pytest.raises(EmbeddingServerUnreachable):  # open: no request at all
            client.embed_query("a")
        assert len(down.requests) == 3
        client.close()


def test_an_interrupt_gives_up_every_request_of_the_call_in_its_backoff() -> None:
    """The indexer's stop must not wait out a server that is away: both requests of a batch
    (two in flight) stop waiting at once, not after their 30 s Retry-After."""
    busy = lambda body, attempt: (503, {"Retry-After": "30"}, b"overloaded", 0.0)  # noqa: E731
    with ScriptedServer(busy) as down:
        client = remote(down.url, dimensions=4, retries=3, batch_size=1, concurrency=2)
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                client.embed_documents(["a", "b"])
            except BaseException as error:
                outcome.append(error)

        worker = threading.Thread(target=call)
        worker.start()
        deadline = time.monotonic() + 10
        while len(down.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(down.requests) == 2  # both waiting out their Retry-After
        started = time.monotonic()
        client.interrupt()
        worker.join(10)
        assert not worker.is_alive() and time.monotonic() - started < 5
        assert isinstance(outcome[0], EmbeddingServerError)
        assert "given up" in str(outcome[0])
        assert len(down.requests) == 2  # no retry was sent after the interrupt
        client.close()


def test_an_unreachable_port_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_embedder, "BACKOFF_FIRST_S", 0.05)
    client = remote("http://127.0.0.1:9/v1", dimensions=4)
    with pytest.raises(EmbeddingServerUnreachable, match="cannot connect"):
        client.embed_documents(["a"])
    client.close()
    with pytest.raises(EmbeddingServerError, match=r"set embedding\.dimensions") as start:
        remote("http://127.0.0.1:9/v1")  # nothing to ask the dimensions of
    assert str(start.value).startswith("cannot reach the embedding server (http://127.0.0.1:9/v1")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html>proxy error</html>", "not JSON: <html>proxy error</html>"),
        (json.dumps({"data": "nope"}).encode(), "'nope'"),
        (embeddings_body(["a"], 4), "1 vectors for 2 texts"),
        (embeddings_body(["a", "b"], 3), "a vector of 3 dimensions, not 4"),
        (json.dumps({"data": [{"embedding": "x"}, {"embedding": [1]}]}).encode(), "numbers"),
        (json.dumps({"data": [{"embedding": [float("nan")] * 4}] * 2}).encode(), "NaN"),
    ],
)
def test_malformed_answers_are_clear_errors(body: bytes, expected: str) -> None:
    with ScriptedServer(lambda _body, _attempt: (200, {}, body, 0.0)) as broken:
        client = remote(broken.url, dimensions=4)
        with pytest.raises(EmbeddingServerError, match="not an OpenAI embeddings response") as e:
            client.embed_documents(["a", "b"])
        assert expected in str(e.value)
        assert not isinstance(e.value, EmbeddingServerUnreachable)
        assert len(broken.requests) == 1  # not retried: it would answer the same
        client.close()


def test_more_dimensions_than_asked_are_an_error_without_the_setting() -> None:
    answers = iter([8, 16])  # the start's probe says 8; then the model changes under us
    with ScriptedServer(
        lambda body, _a: (200, {}, embeddings_body(body["input"], next(answers)), 0.0)
    ) as shifty:
        client = remote(shifty.url)
        assert client.dims == 8
        with pytest.raises(EmbeddingServerError, match="16 dimensions, not 8"):
            client.embed_documents(["a"])
        client.close()


def test_wording_follows_the_model_family_with_an_override() -> None:
    with ScriptedServer(ok(8)) as recording:
        qwen = RemoteEmbedder(
            EmbeddingSettings(url=recording.url, model="Qwen/Qwen3-Embedding-0.6B", dimensions=8)
        )
        qwen.embed_query("retry with backoff")
        qwen.embed_documents(["def f(): pass"])
        query, documents = (body for _, body in recording.requests)
        assert query["input"][0].startswith("Instruct: ")
        assert query["input"][0].endswith("\nQuery:retry with backoff")
        assert documents["input"] == ["def f(): pass"]
        assert query["dimensions"] == 8  # a Matryoshka model is asked for its dimensions
        assert query["model"] == "Qwen/Qwen3-Embedding-0.6B"

        nomic = RemoteEmbedder(
            EmbeddingSettings(url=recording.url, model="nomic-embed-text-v1.5", dimensions=8)
        )
        nomic.embed_query("q")
        nomic.embed_documents(["d"])
        plain = RemoteEmbedder(
            EmbeddingSettings(
                url=recording.url, model="Qwen/Qwen3-Embedding-0.6B", dimensions=8, profile="plain"
            )
        )
        plain.embed_query("q")
        bodies = [body for _, body in recording.requests[2:]]
        assert [b["input"] for b in bodies] == [["search_query: q"], ["search_document: d"], ["q"]]
        assert "dimensions" not in bodies[0]  # not a Matryoshka profile: cut here instead
        for client in (qwen, nomic, plain):
            client.close()


def test_the_key_travels_as_a_bearer_header_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINDCODE_TEST_KEY", "sekrit-123")
    with ScriptedServer(ok(4)) as recording:
        client = remote(recording.url, dimensions=4, api_key_env="FINDCODE_TEST_KEY")
        client.embed_documents(["a"])
        assert "sekrit-123" not in json.dumps(recording.requests[0][1])
        assert client._headers["Authorization"] == "Bearer sekrit-123"
        client.close()


def test_a_server_never_answering_in_time_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(remote_embedder, "BACKOFF_FIRST_S", 0.05)
    with ScriptedServer(ok(4, delay=2.0)) as stuck:
        client = remote(stuck.url, dimensions=4, timeout_s=0.5, retries=1)
        with pytest.raises(EmbeddingServerUnreachable, match=r"no answer within 0\.5 s"):
            client.embed_documents(["a"])
        assert len(stuck.requests) == 2  # two timeouts and a backoff, not a hang
        client.close()

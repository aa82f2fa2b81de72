"""Wire abuse over stdio: every request gets an answer, and the server keeps serving.

A client library would refuse to send most of these, so a raw client writes the JSON-RPC
frames itself to the real `findcode serve`.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from index_support import copy_repo
from pygls.uris import from_fs_path

INVALID_PARAMS = -32602
SERVER_NOT_INITIALIZED = -32002
ANSWER_TIMEOUT_S = 30.0
OMIT = object()  # a request without a `params` member at all


class RawClient:
    """`findcode serve` on pipes, spoken to in Content-Length frames."""

    def __init__(self, *command: str) -> None:
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._next_id = 0
        self.source_uri = ""  # a file in the workspace, once there is one
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if not line or length is None:
                self.messages.put(None)
                return
            self.messages.put(json.loads(stream.read(length)))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        stdin.flush()

    def request(self, method: str, params: Any = OMIT) -> dict[str, Any]:
        """Send a request and return its answer (a `result` or an `error`), whatever it is."""
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not OMIT:
            message["params"] = params
        self.send(message)
        return self.answer(self._next_id)

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def answer(self, request_id: int) -> dict[str, Any]:
        while True:
            try:
                message = self.messages.get(timeout=ANSWER_TIMEOUT_S)
            except queue.Empty:
                raise AssertionError(f"no answer to request {request_id}") from None
            assert message is not None, "the server closed its output"
            self.seen.append(message)
            if message.get("id") == request_id and "method" not in message:
                return message

    def close(self) -> None:
        if self.process.poll() is None:
            self.request("shutdown")
            self.notify("exit", None)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def serve() -> RawClient:
    return RawClient(sys.executable, "-m", "findcode", "serve")


@pytest.fixture
def raw(model_path: Path) -> Iterator[RawClient]:
    client = serve()
    yield client
    client.close()


@pytest.fixture(scope="module")
def started(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawClient]:
    """One initialized server for the module, on a copy of the fixture repository, with no
    client capabilities: each test checks that it still answers after its abuse."""
    folder = tmp_path_factory.mktemp("wire")
    client = serve()
    answer = client.request(
        "initialize",
        {
            "processId": None,
            "rootUri": from_fs_path(str(copy_repo(folder))),
            "capabilities": {},
            "initializationOptions": {"indexDir": str(folder / "index")},
        },
    )
    assert "result" in answer, answer
    client.notify("initialized", {})
    client.source_uri = from_fs_path(str(folder / "repo" / "text" / "slugify.py"))
    yield client
    client.close()


def error_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert "error" in answer, answer
    return answer["error"]


def test_status_before_initialize_is_server_not_initialized(raw: RawClient):
    for method, params in (
        ("findcode/status", {}),
        ("findcode/status", OMIT),
        ("findcode/search", {"query": "x"}),
        ("workspace/symbol", {"query": "x"}),
    ):
        error = error_of(raw.request(method, params))
        assert error["code"] == SERVER_NOT_INITIALIZED, (method, error)
        assert "initialize" in error["message"]


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("findcode/search", OMIT, "query"),
        ("findcode/search", None, "query"),
        ("findcode/search", [], "object"),
        ("findcode/similar", OMIT, "missing"),
        ("workspace/symbol", {}, "params.query"),
        ("workspace/symbol", None, "params"),
        ("workspace/symbol", OMIT, "params"),
        ("workspace/symbol", "text", "params"),
        ("workspace/executeCommand", {}, "params.command"),
    ],
)
def test_unreadable_params_are_invalid_params_naming_the_field(
    started: RawClient, method: str, params: Any, field: str
):
    error = error_of(started.request(method, params))
    assert error["code"] == INVALID_PARAMS, error
    assert field in error["message"], error
    assert "Traceback" not in json.dumps(error)
    assert "result" in started.request("findcode/status", {})  # and the server goes on


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("findcode/search", {"query": "parse a header", "limit": 10**20}, "limit"),
        ("findcode/search", {"query": "parse a header", "limit": 2**31}, "limit"),
        (
            "findcode/similar",
            {"textDocument": {"uri": "SELF"}, "position": {"line": 10**20, "character": 0}},
            "line",
        ),
        (
            "findcode/similar",
            {"textDocument": {"uri": "SELF"}, "position": {"line": 0, "character": 0}, "limit": -1},
            "limit",
        ),
    ],
)
def test_out_of_range_numbers_are_invalid_params(
    started: RawClient, method: str, params: Any, field: str
):
    params = json.loads(json.dumps(params).replace('"SELF"', json.dumps(started.source_uri)))
    error = error_of(started.request(method, params))
    assert error["code"] == INVALID_PARAMS, error
    assert field in error["message"] and "Traceback" not in json.dumps(error)


def test_a_request_without_params_that_needs_none_is_answered(started: RawClient):
    answer = started.request("findcode/status")
    assert answer["result"]["state"] in ("starting", "indexing", "idle"), answer

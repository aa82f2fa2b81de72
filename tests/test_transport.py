"""`findcode serve --tcp/--socket`: only a client that proves it may is served, one at a time.

The real server runs as a subprocess; the tests talk to it over real sockets (127.0.0.1 and a
Unix socket in the test's folder) with a small hand-written client, so that they can also send
what no LSP client would: no token, nothing at all, an HTTP request.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from findcode import protocol

STARTUP_TIMEOUT_S = 60.0
IO_TIMEOUT_S = 60.0  # the first findcode/status waits for the model to load
EXIT_TIMEOUT_S = 30.0
MAX_MESSAGES = 1000  # a reply is never further off than this many notifications


class Server:
    """`findcode serve` with extra arguments; stderr collected line by line."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.cache = tmp_path / "cache"
        env = {**os.environ, "XDG_CACHE_HOME": str(self.cache)}
        command = [sys.executable, "-m", "findcode", "serve", "--log-level", "info", *args]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def _collect(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.lines.put(raw.decode("utf-8", "replace"))

    def wait_for(self, text: str, timeout: float = STARTUP_TIMEOUT_S) -> str:
        """The first stderr line holding `text`; fails if the server exits or stays silent."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.stderr.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} from the server; stderr: {''.join(self.stderr)}")

    def running(self) -> bool:
        return self.process.poll() is None

    def end(self) -> int:
        """The exit status, killing the server if it does not end by itself in time."""
        try:
            return self.process.wait(EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(EXIT_TIMEOUT_S)
            raise
        finally:
            self._collector.join(EXIT_TIMEOUT_S)
            while not self.lines.empty():
                self.stderr.append(self.lines.get())


class Client:
    """A bare LSP client on a socket: framed JSON in, framed JSON out."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.settimeout(IO_TIMEOUT_S)
        self.pending = b""
        self.notifications: list[dict[str, Any]] = []
        self.next_id = 0

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def request(self, method: str, params: Any) -> dict[str, Any]:
        """The response to a new request (its result or error), notifications kept aside."""
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        for _ in range(MAX_MESSAGES):
            message = self.receive()
            assert message is not None, f"the server closed the connection during {method}"
            if message.get("id") == self.next_id and "method" not in message:
                return message
            self.notifications.append(message)
        raise AssertionError(f"no answer to {method} in {MAX_MESSAGES} messages")

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def receive(self) -> dict[str, Any] | None:
        """The next message, or None when the server has closed the connection."""
        while b"\r\n\r\n" not in self.pending:
            if not self._fill():
                return None
        head, _, self.pending = self.pending.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(self.pending) < length:
            if not self._fill():
                return None
        body, self.pending = self.pending[:length], self.pending[length:]
        return json.loads(body)

    def drained(self) -> bool:
        """True when the server closes the connection after at most MAX_MESSAGES more."""
        return any(self.receive() is None for _ in range(MAX_MESSAGES))

    def closed(self) -> bool:
        """True when the server has closed its end (after anything it still had to say)."""
        return not self.pending and not self._fill()

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            return False
        self.pending += chunk
        return bool(chunk)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def initialize_params(tmp_path: Path, model_path: Path, **options: Any) -> dict[str, Any]:
    folder = tmp_path / "workspace"
    folder.mkdir(exist_ok=True)
    (folder / "retry.py").write_text(
        "def retry(fn, attempts=3):\n    '''Call fn until it succeeds.'''\n    return fn()\n"
    )
    return {
        "processId": None,
        "rootUri": folder.as_uri(),
        "capabilities": {},
        "initializationOptions": {
            "model": str(model_path),
            "indexDir": str(tmp_path / "index"),
            "watch": False,
            **options,
        },
    }


@pytest.fixture
def tcp_server(tmp_path: Path, model_path: Path) -> Iterator[tuple[Server, int]]:
    port = free_port()
    server = Server(tmp_path, "--tcp", f"127.0.0.1:{port}")
    try:
        server.wait_for("listening on")
        yield server, port
    finally:
        if server.running():
            server.process.kill()
        server.process.wait(EXIT_TIMEOUT_S)


def token_file(server: Server, port: int) -> Path:
    return server.cache / "findcode" / "indexes" / f"serve-{port}.token"


def connect(port: int) -> Client:
    return Client(socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT_S))


def start_session(client: Client, params: dict[str, Any]) -> dict[str, Any]:
    answer = client.request("initialize", params)
    assert "result" in answer, answer
    client.notify("initialized", {})
    return answer["result"]


def end_session(client: Client, server: Server) -> None:
    assert "error" not in client.request("shutdown", None)
    client.notify("exit", None)
    assert server.end() == 0


def test_a_client_without_the_right_token_is_refused_and_closed(
    tcp_server: tuple[Server, int], tmp_path: Path, model_path: Path
):
    server, port = tcp_server
    for token in (None, "wrong-token-of-the-right-length", 42):
        options = {} if token is None else {"token": token}
        client = connect(port)
        answer = client.request("initialize", initialize_params(tmp_path, model_path, **options))
        assert answer["error"]["code"] == protocol.REFUSED
        assert "token is missing or wrong" in answer["error"]["message"]
        assert str(token_file(server, port)) in answer["error"]["message"]
        assert client.closed()
        assert server.running()
    # None of them started anything: a request before initialize is refused the same way.
    client = connect(port)
    answer = client.request(protocol.STATUS, {})
    assert answer["error"]["code"] == protocol.REFUSED
    assert "must be the initialize request" in answer["error"]["message"]
    assert client.closed()


def test_the_right_token_is_served_and_never_reaches_the_options(
    tcp_server: tuple[Server, int], tmp_path: Path, model_path: Path
):
    server, port = tcp_server
    token = token_file(server, port).read_text().strip()
    client = connect(port)
    result = start_session(client, initialize_params(tmp_path, model_path, token=token))
    assert result["serverInfo"]["name"] == "findcode"
    status = client.request(protocol.STATUS, {})
    assert status["result"]["roots"] == [str(tmp_path / "workspace")]
    end_session(client, server)
    # Stripped before the handlers: no "unknown option" warning, the token in no log.
    said = json.dumps(client.notifications)
    assert "'token'" not in said and token not in said
    logs = "".join(path.read_text() for path in (tmp_path / "index").rglob("*.log"))
    assert token not in logs + "".join(server.stderr)
    # The server ended with its client, and took its token file with it.
    assert not token_file(server, port).exists()


def test_the_token_file_is_the_owners_alone(tmp_path: Path, model_path: Path):
    port = free_port()
    server = Server(tmp_path, "--tcp", str(port))
    try:
        line = server.wait_for("initializationOptions.token")
        path = token_file(server, port)
        assert str(path) in line  # the log says where it is
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(path.read_text().strip()) >= 32
    finally:
        server.process.kill()
        server.process.wait(EXIT_TIMEOUT_S)
    # A token file of the user's own must be private too; a readable one stops the start.
    given = tmp_path / "my.token"
    given.write_text("a-token-that-others-could-read\n")
    given.chmod(0o644)
    refused = subprocess.run(
        [sys.executable, "-m", "findcode", "serve", "--tcp", "0", "--token-file", str(given)],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_S,
    )
    assert refused.returncode == 1
    assert "chmod 600" in refused.stderr and "Traceback" not in refused.stderr
    given.chmod(0o600)
    server = Server(tmp_path, "--tcp", f"127.0.0.1:{port}", "--token-file", str(given))
    try:
        server.wait_for("listening on")
        client = connect(port)
        params = initialize_params(tmp_path, model_path, token="a-token-that-others-could-read")
        start_session(client, params)
        end_session(client, server)
        assert given.exists()  # the user's file is never removed
    finally:
        if server.running():
            server.process.kill()


def test_a_second_connection_is_refused_while_the_first_is_served(
    tcp_server: tuple[Server, int], tmp_path: Path, model_path: Path
):
    server, port = tcp_server
    token = token_file(server, port).read_text().strip()
    params = initialize_params(tmp_path, model_path, token=token)
    first = connect(port)
    start_session(first, params)
    second = connect(port)
    answer = second.request("initialize", params)  # even with the right token
    assert answer["error"]["code"] == protocol.REFUSED
    assert "already has a client" in answer["error"]["message"]
    assert second.closed()
    # The first client's replies still come to it, and to it alone.
    assert first.request(protocol.STATUS, {})["result"]["state"] in ("starting", "indexing", "idle")
    end_session(first, server)


def test_a_connection_without_data_is_ignored(
    tcp_server: tuple[Server, int], tmp_path: Path, model_path: Path
):
    server, port = tcp_server
    for _ in range(3):
        socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT_S).close()
    time.sleep(0.5)
    assert server.running()
    token = token_file(server, port).read_text().strip()
    client = connect(port)
    start_session(client, initialize_params(tmp_path, model_path, token=token))
    assert "result" in client.request(protocol.STATUS, {})
    end_session(client, server)


def test_bytes_that_are_not_lsp_get_an_error_and_a_closed_socket(
    tcp_server: tuple[Server, int], tmp_path: Path, model_path: Path
):
    server, port = tcp_server
    token = token_file(server, port).read_text().strip()
    params = initialize_params(tmp_path, model_path, token=token)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    attempts = [
        # An HTTP request carrying a valid initialize: still not LSP, never executed.
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n{body}",
        "hello\r\n\r\n",
        "Content-Length: 5\r\n\r\nhello",
        "Content-Length: 99999999999\r\n\r\n",
    ]
    for attempt in attempts:
        client = connect(port)
        client.sock.sendall(attempt.encode())
        answer = client.receive()
        assert answer is not None, attempt
        assert answer["error"]["code"] == protocol.NOT_LSP, attempt
        assert "not a Language Server message" in answer["error"]["message"]
        assert client.closed()
        assert server.running()
    client = connect(port)
    start_session(client, params)
    end_session(client, server)


def test_sigterm_ends_a_served_session(
    tcp_server: tuple[Server, int], tmp_path: Path, model_path: Path
):
    server, port = tcp_server
    token = token_file(server, port).read_text().strip()
    client = connect(port)
    start_session(client, initialize_params(tmp_path, model_path, token=token))
    assert "result" in client.request(protocol.STATUS, {})
    time.sleep(1.0)  # the server waits for the client's next message
    server.process.send_signal(signal.SIGTERM)  # the client stays connected
    assert server.end() == 0
    assert client.drained()


def test_a_unix_socket_is_the_owners_alone_and_serves_a_client(tmp_path: Path, model_path: Path):
    path = tmp_path / "findcode.sock"
    # A socket left by a server that is gone is replaced; anything else stops the start.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()
    server = Server(tmp_path, "--socket", str(path))
    try:
        server.wait_for("listening on")
        assert stat.S_ISSOCK(path.lstat().st_mode)
        assert stat.S_IMODE(path.lstat().st_mode) == 0o600
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(str(path))
        client = Client(sock)
        start_session(client, initialize_params(tmp_path, model_path))  # no token needed
        assert "result" in client.request(protocol.STATUS, {})
        second = socket.socket(socket.AF_UNIX)
        second.connect(str(path))
        busy = Client(second).request("initialize", initialize_params(tmp_path, model_path))
        assert "already has a client" in busy["error"]["message"]
        end_session(client, server)
        assert not path.exists()  # removed when the server ends
    finally:
        if server.running():
            server.process.kill()
    path.write_text("not a socket")
    refused = subprocess.run(
        [sys.executable, "-m", "findcode", "serve", "--socket", str(path)],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_S,
    )
    assert refused.returncode == 1
    assert "is not a socket" in refused.stderr and "Traceback" not in refused.stderr
    assert path.read_text() == "not a socket"

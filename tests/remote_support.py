"""Real embedding servers for the remote-embedder tests.

`LlamaServer`: llama-cpp-python's own OpenAI-compatible server (the `test` extra installs it)
serving findcode's default model, in a subprocess on a free port: it can be killed and started
again on the same port. `ScriptedServer`: a small stdlib HTTP server on a real socket whose
answers a test scripts (slow, busy, malformed), for the failures a healthy server never shows.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

STARTUP_S = 120.0  # a loaded two-core machine takes a while to import fastapi and load the model


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` on findcode's default model, on one port for its life."""

    def __init__(self, model: Path, log: Path, *, api_key: str | None = None) -> None:
        self.model = model
        self.log = log
        self.api_key = api_key
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable,
            *("-m", "llama_cpp.server", "--model", str(self.model), "--embedding", "true"),
            *("--host", "127.0.0.1", "--port", str(self.port), "--n_threads", "1"),
            *("--n_threads_batch", "1", "--n_ctx", "2048", "--n_batch", "512"),
        ]
        if self.api_key:
            command += ["--api_key", self.api_key]
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_S
        while not self._ready():
            if self._process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server not ready: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def _ready(self) -> bool:
        request = urllib.request.Request(f"{self.url}/models")
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(30)
            self._process = None


@contextlib.contextmanager
def llama_server(model: Path, log: Path, *, api_key: str | None = None) -> Iterator[LlamaServer]:
    server = LlamaServer(model, log, api_key=api_key)
    server.start()
    try:
        yield server
    finally:
        server.kill()


# A scripted answer: (status, headers, body, seconds to wait before answering)
Answer = tuple[int, dict[str, str], bytes, float]


def embeddings_body(inputs: list[str], dims: int) -> bytes:
    """An OpenAI embeddings response: one unit-ish vector of `dims` a text."""
    data = [
        {"object": "embedding", "index": i, "embedding": [1.0] + [0.0] * (dims - 1)}
        for i in range(len(inputs))
    ]
    return json.dumps({"object": "list", "data": data, "model": "scripted"}).encode()


class ScriptedServer:
    """A stdlib HTTP server on a real socket; `script(request_body, attempt)` answers each POST.
    Every request body is kept in `requests`, in arrival order, with its arrival time."""

    def __init__(self, script: Callable[[dict, int], Answer]) -> None:
        self.script = script
        self.requests: list[tuple[float, dict]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with outer._lock:
                    outer.requests.append((time.monotonic(), body))
                    attempt = len(outer.requests)
                status, headers, payload, delay = outer.script(body, attempt)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up waiting: what a slow server sees

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def ok(dims: int, delay: float = 0.0) -> Callable[[dict, int], Answer]:
    """A script answering every request well, after `delay` seconds."""
    return lambda body, _attempt: (200, {}, embeddings_body(_inputs(body), dims), delay)


def _inputs(body: dict) -> list[str]:
    value = body["input"]
    return [value] if isinstance(value, str) else list(value)

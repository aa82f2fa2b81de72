"""The real `findcode serve` in a subprocess, driven over stdio by pytest-lsp's client.

Each test gets its own copy of tests/fixtures/repo as the workspace and its own index folder,
so tests can change files freely. The default model is built once (the `model_path` fixture)
before any server starts, so servers never race to build it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from index_support import copy_repo
from lsprotocol import types
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER = [sys.executable, "-m", "findcode", "serve", "--log-level", "debug"]
INDEX_TIMEOUT_S = 180.0


@pytest.fixture
def workspace(tmp_path: Path, model_path: Path) -> Path:
    return copy_repo(tmp_path)


def initialize_params(
    folders: list[Path], index_dir: Path, **options: Any
) -> types.InitializeParams:
    return types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=from_fs_path(str(folders[0])) if folders else None,
        workspace_folders=[
            types.WorkspaceFolder(uri=from_fs_path(str(f)), name=f.name) for f in folders
        ],
        initialization_options={"indexDir": str(index_dir), **options},
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, workspace: Path, tmp_path: Path):
    params = initialize_params([workspace], tmp_path / "index")
    lsp_client.initialize_result = await lsp_client.initialize_session(params)
    yield
    await finish(lsp_client)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def bare_client(lsp_client: LanguageClient):
    """A started server that nobody has initialized: each test does what it needs."""
    yield
    await finish(lsp_client)


async def finish(client: LanguageClient) -> None:
    """End the server however the test left it, so a failed test cannot hang the suite."""
    process = client._server
    if process is None or process.returncode is not None:
        return
    if client.capabilities is not None and client.error is None:
        await asyncio.wait_for(client.shutdown_session(), 30)
        return
    client.protocol.notify("exit")
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()


def send_raw(client: LanguageClient, message: dict[str, Any]) -> None:
    """Write a JSON-RPC message as it is, past the client's typed serializer."""
    body = json.dumps(message).encode()
    client._server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)


async def request(client: LanguageClient, method: str, params: Any) -> Any:
    return await asyncio.wait_for(client.protocol.send_request_async(method, params), 120)


async def status(client: LanguageClient) -> Any:
    return await request(client, "findcode/status", {})


async def status_until(client: LanguageClient, condition: Any, timeout: float = 90.0) -> Any:
    """The first status that meets `condition`; fails with the last one after `timeout`."""
    deadline = time.monotonic() + timeout
    current = None
    while time.monotonic() < deadline:
        current = await status(client)
        if condition(current):
            return current
        await asyncio.sleep(0.2)
    raise AssertionError(f"no such status within {timeout} s: {current}")


async def wait_idle(client: LanguageClient, *, min_symbols: int = 1) -> Any:
    deadline = time.monotonic() + INDEX_TIMEOUT_S
    last = None
    while time.monotonic() < deadline:
        last = await status(client)
        if last.state == "idle" and last.pending == 0 and last.symbols >= min_symbols:
            return last
        assert last.state != "error", last.lastError
        await asyncio.sleep(0.2)
    raise AssertionError(f"index not idle after {INDEX_TIMEOUT_S} s: {last}")


async def search(client: LanguageClient, query: str, **params: Any) -> Any:
    return await request(client, "findcode/search", {"query": query, **params})


def names(response: Any) -> list[str]:
    return [result.name for result in response.results]


def uri(path: Path) -> str:
    return from_fs_path(str(path))

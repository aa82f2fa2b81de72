"""shutdown/exit and a client that vanishes both leave a whole, reusable index."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import initialize_params, wait_idle
from findcode.config import Settings
from findcode.engine import Engine
from pytest_lsp import LanguageClient


def reopened(workspace: Path, index_dir: Path) -> dict:
    """What a fresh engine finds in the index the server left, before any work of its own."""
    with Engine([workspace], Settings(index_dir=index_dir, watch=False)) as engine:
        assert engine.wait_idle(120)
        return engine.status()


async def test_shutdown_and_exit_end_the_process_cleanly(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    await bare_client.initialize_session(initialize_params([workspace], tmp_path / "index"))
    ready = await wait_idle(bare_client, min_symbols=20)
    process = bare_client._server
    await bare_client.shutdown_session()
    assert process.returncode == 0
    again = reopened(workspace, tmp_path / "index")
    assert (again["symbols"], again["vectors"], again["embedded"]) == (
        ready.symbols,
        ready.vectors,
        0,
    )


async def test_a_vanished_client_ends_the_server_and_keeps_the_index(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    await bare_client.initialize_session(initialize_params([workspace], tmp_path / "index"))
    ready = await wait_idle(bare_client, min_symbols=20)
    process = bare_client._server
    process.stdin.close()  # the editor crashed: no shutdown, no exit
    await asyncio.wait_for(process.wait(), 30)
    again = reopened(workspace, tmp_path / "index")
    assert (again["symbols"], again["vectors"], again["embedded"]) == (
        ready.symbols,
        ready.vectors,
        0,
    )

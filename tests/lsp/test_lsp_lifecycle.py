"""The engine's lifecycle: start, folders and settings changed meanwhile, failure, restart, and
shutdown/exit or a client that vanishes, which both leave a whole, reusable index."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from conftest import initialize_params, names, search, status, status_until, uri, wait_idle
from findcode.config import Settings
from findcode.engine import Engine
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

REQUEST_FAILED = -32803


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


async def test_a_folder_added_while_the_engine_starts_is_indexed(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    other = tmp_path / "other"
    other.mkdir()
    (other / "geometry.go").write_text(
        "package geometry\n\n// Hypotenuse of a right triangle.\n"
        "func Hypotenuse(a, b float64) float64 { return math.Sqrt(a*a + b*b) }\n"
    )
    params = initialize_params([workspace], tmp_path / "index")
    # Without workspace/configuration the engine starts on `initialized` itself, so the folder
    # change below arrives while the model loads.
    params.capabilities.workspace.configuration = False
    await bare_client.initialize_session(params)
    bare_client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=uri(other), name="other")], removed=[]
            )
        )
    )
    both = await status_until(
        bare_client, lambda s: len(s.roots) == 2 and s.state == "idle" and s.pending == 0
    )
    assert sorted(both.roots) == sorted([str(workspace), str(other)])
    assert "Hypotenuse" in names(await search(bare_client, "Hypotenuse", mode="lexical"))


async def test_an_index_folder_that_cannot_be_made_fails_at_once(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    index_dir = blocker / "idx"  # like /etc/hostname/idx
    await bare_client.initialize_session(initialize_params([workspace], index_dir))
    failed = await status_until(bare_client, lambda s: s.state != "starting", timeout=60)
    assert failed.state == "error"
    assert str(blocker) in failed.lastError
    started = time.monotonic()
    with pytest.raises(JsonRpcException) as caught:
        await asyncio.wait_for(search(bare_client, "parse a header"), 10)
    assert time.monotonic() - started < 5
    assert caught.value.code == REQUEST_FAILED
    assert str(blocker) in caught.value.message
    errors = [m.message for m in bare_client.messages if m.type == types.MessageType.Error]
    assert any(str(blocker) in message for message in errors), bare_client.messages


async def test_searches_in_flight_through_a_restart_are_answered(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    bare_client.set_configuration({"languages": ["python"]}, section="findcode")
    await bare_client.initialize_session(initialize_params([workspace], tmp_path / "index"))
    await wait_idle(bare_client, min_symbols=5)
    query = "parse the content type header of an http response " * 400  # a slow search
    failures: list[BaseException] = []
    restarted = asyncio.Event()

    async def keep_searching() -> int:
        answered = 0
        while not restarted.is_set():
            try:
                await search(bare_client, query, limit=5)
                answered += 1
            except JsonRpcException as error:
                failures.append(error)
        return answered

    searchers = [asyncio.create_task(keep_searching()) for _ in range(6)]
    await asyncio.sleep(1.0)  # searches in flight, one after another
    bare_client.set_configuration({"languages": ["python", "go"]}, section="findcode")
    bare_client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    try:
        await status_until(bare_client, lambda s: s.files == 3 and s.state == "idle", timeout=120)
    finally:
        restarted.set()
        answered = await asyncio.gather(*searchers)
    assert not failures, [str(f) for f in failures]
    assert sum(answered) > 6
    assert (await status(bare_client)).lastError is None


async def test_a_restart_mid_pass_ends_its_progress(client: LanguageClient):
    await status_until(client, lambda s: s.state == "indexing", timeout=60)
    client.set_configuration({"exclude": ["*.md"]}, section="findcode")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_idle(client, min_symbols=20)
    await asyncio.sleep(0.5)  # the last $/progress of the pass
    # The pass cut short has its own bar, ended; the new engine's pass has another.
    bars = [reports for reports in client.progress_reports.values() if reports]
    assert len(bars) >= 2, client.progress_reports
    assert all(isinstance(reports[-1], types.WorkDoneProgressEnd) for reports in bars), bars


async def test_a_shutdown_mid_pass_ends_its_progress(client: LanguageClient):
    await status_until(client, lambda s: s.state == "indexing", timeout=60)
    await asyncio.sleep(0.5)  # the client has answered window/workDoneProgress/create
    await asyncio.wait_for(client.shutdown_async(None), 60)
    bars = [reports for reports in client.progress_reports.values() if reports]
    assert bars and isinstance(bars[-1][-1], types.WorkDoneProgressEnd), bars
    client.protocol.notify("exit")
    await asyncio.wait_for(client._server.wait(), 30)

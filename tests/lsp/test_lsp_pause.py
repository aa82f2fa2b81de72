"""workspace/executeCommand findcode.pause / findcode.resume through the real server: a pause
holds back a saved file's embedding (its names are searchable at once), the status says
"paused" and why, the indexing bar ends "paused", the pause survives a settings change that
restarts the engine, and a resume indexes what waited."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import initialize_params, search, status_until, uri, wait_idle
from lsprotocol import types
from pytest_lsp import LanguageClient


async def execute(client: LanguageClient, command: str):
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=[])
    )


async def test_pause_resume_and_a_restart_in_between(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    bare_client.set_configuration({"languages": ["python", "go"]}, section="findcode")
    await bare_client.initialize_session(initialize_params([workspace], tmp_path / "index"))
    ready = await wait_idle(bare_client, min_symbols=5)

    answer = await execute(bare_client, "findcode.pause")
    assert (answer["state"], answer["paused"]) == ("paused", "user")
    saved = workspace / "net" / "paused_save.py"
    saved.write_text("def frobnicate_widgets(widgets):\n    return sorted(widgets)\n")
    bare_client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri(saved)))
    )
    held = await status_until(bare_client, lambda s: s.files == ready.files + 1, timeout=120)
    assert (held.state, held.paused, held.vectors) == ("paused", "user", ready.vectors)
    assert held.pending == 1
    found = await search(bare_client, "frobnicate_widgets", mode="lexical")
    assert found.results[0].name == "frobnicate_widgets" and found.index.state == "paused"

    # A settings change restarts the engine: the pause holds.
    bare_client.set_configuration({"languages": ["python", "go", "text"]}, section="findcode")
    bare_client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    await asyncio.sleep(3)
    restarted = await status_until(bare_client, lambda s: s.state != "starting", timeout=120)
    assert (restarted.state, restarted.paused) == ("paused", "user")
    assert restarted.vectors == ready.vectors  # nothing embedded since the pause

    answer = await execute(bare_client, "findcode.resume")
    assert answer["paused"] is None
    done = await wait_idle(bare_client, min_symbols=ready.symbols + 1)
    assert done.paused is None and done.vectors == done.symbols
    values = [v for reports in bare_client.progress_reports.values() for v in reports]
    ends = [v.message for v in values if isinstance(v, types.WorkDoneProgressEnd)]
    assert "paused" in ends

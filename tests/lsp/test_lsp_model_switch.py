"""A change of `model` through workspace/didChangeConfiguration switches models in the running
server: searches by meaning are answered all along (by the old model until the new one has
every vector), the re-embedding shows in the progress bar, and the status names the new model
once it is done. A model that cannot load leaves the old one answering, with an error shown;
a change of model with another setting that needs a new engine restarts it instead."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from conftest import initialize_params, names, search, status, wait_idle
from lsprotocol import types
from pytest_lsp import LanguageClient

OLD, NEW = "findcode-minilm-code", "all-MiniLM-L6-v2"
QUERY = "retry a failed http request with exponential backoff"


def change_model(client: LanguageClient, model: str) -> None:
    client.set_configuration({"model": model}, section="findcode")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))


def progress_messages(client: LanguageClient) -> list[str]:
    return [
        value.message or ""
        for values in client.progress_reports.values()
        for value in values
        if isinstance(value, types.WorkDoneProgressBegin | types.WorkDoneProgressReport)
    ]


async def test_changing_the_model_keeps_search_answering_and_switches(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    bare_client.set_configuration({}, section="findcode")
    await bare_client.initialize_session(initialize_params([workspace], tmp_path / "index"))
    ready = await wait_idle(bare_client, min_symbols=20)
    assert ready.model.name == OLD and ready.switching is None

    change_model(bare_client, "minilm")
    deadline = time.monotonic() + 120
    answered, models = 0, set()
    while time.monotonic() < deadline:
        response = await search(bare_client, QUERY, mode="semantic", limit=3)
        assert "fetch_with_retry" in names(response)  # by meaning, throughout
        answered += 1
        current = await status(bare_client)
        models.add(current.model.name)
        if current.model.name == NEW and current.state == "idle" and not current.pending:
            break
        await asyncio.sleep(0.1)
    assert current.model.name == NEW and current.switching is None, current
    assert current.vectors == current.symbols == ready.symbols
    assert current.embedded == 2 * ready.symbols  # the new model embedded each symbol once
    assert answered >= 2 and models == {OLD, NEW}
    assert any(f"re-embedding for {NEW}: " in m for m in progress_messages(bare_client))

    # A model that cannot load: the error is shown, the current model goes on.
    change_model(bare_client, str(tmp_path / "missing.gguf"))
    deadline = time.monotonic() + 30
    errors: list[str] = []
    while not errors and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        errors = [m.message for m in bare_client.messages if m.type == types.MessageType.Error]
    assert errors and "missing.gguf" in errors[0] and f"still using {NEW}" in errors[0]
    response = await search(bare_client, QUERY, mode="semantic", limit=3)
    assert "fetch_with_retry" in names(response)

    # Back to the default: every vector of it is stored, so nothing is embedded.
    change_model(bare_client, "findcode")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = await status(bare_client)
        if current.model.name == OLD and current.state == "idle":
            break
        await asyncio.sleep(0.1)
    assert current.model.name == OLD and current.embedded == 2 * ready.symbols

    # With another setting that needs a new engine, the change restarts it, on the new model:
    # its vectors are all stored, so the new engine embeds nothing either.
    bare_client.set_configuration({"model": "minilm", "languages": ["python"]}, section="findcode")
    bare_client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        current = await status(bare_client)
        if current.model.name == NEW and current.state == "idle" and current.files == 2:
            break
        await asyncio.sleep(0.1)
    assert current.model.name == NEW and current.files == 2 and current.embedded == 0, current
    assert "fetch_with_retry" in names(await search(bare_client, QUERY, mode="semantic"))

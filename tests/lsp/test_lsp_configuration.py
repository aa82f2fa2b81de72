"""workspace/configuration is pulled after initialized; a change re-indexes only when needed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from conftest import initialize_params, status, wait_idle
from lsprotocol import types
from pytest_lsp import LanguageClient


async def test_pulled_configuration_and_a_change_to_it(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    # The client's section also holds settings of its own, which the server must not warn about.
    bare_client.set_configuration(
        {"languages": ["python"], "serverCommand": "findcode serve"}, section="findcode"
    )
    await bare_client.initialize_session(initialize_params([workspace], tmp_path / "index"))
    python_only = await wait_idle(bare_client, min_symbols=5)
    assert python_only.files == 2  # net/http_client.py and text/slugify.py
    assert not bare_client.messages  # no warning for serverCommand

    bare_client.set_configuration({"languages": ["python", "go"]}, section="findcode")
    bare_client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        current = await status(bare_client)
        if current.state == "idle" and current.files == 3 and current.pending == 0:
            break
        await asyncio.sleep(0.2)
    assert current.files == 3
    # Restarting on the same index re-embedded only the Go file's symbols.
    assert current.embedded == current.symbols - python_only.symbols


async def test_options_that_would_empty_the_index_warn_and_fall_back(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    params = initialize_params(
        [workspace],
        tmp_path / "index",
        languages=["cobol"],
        exclude=["[z-a]", "*.md"],
        threads=1_000_000,
        maxFileBytes=10**15,
    )
    await bare_client.initialize_session(params)
    ready = await wait_idle(bare_client, min_symbols=20)
    assert ready.files == 5 and ready.lastError is None  # every language but no README.md
    warnings = [m.message for m in bare_client.messages if m.type == types.MessageType.Warning]
    for words in (("languages", "cobol"), ("exclude", "[z-a]"), ("threads",), ("maxFileBytes",)):
        assert any(all(w in warning for w in words) for warning in warnings), (words, warnings)


async def test_a_bad_embedding_server_setting_warns_and_indexes_locally(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    params = initialize_params(
        [workspace],
        tmp_path / "index",
        embedding={"url": "ftp://gpu-box/v1", "model": "Qwen/Qwen3-Embedding-0.6B", "retries": -1},
    )
    await bare_client.initialize_session(params)
    ready = await wait_idle(bare_client, min_symbols=20)
    assert ready.vectors == ready.symbols and ready.lastError is None and ready.waiting is None
    assert ready.model.path.endswith(".gguf")  # the local default model
    warnings = [m.message for m in bare_client.messages if m.type == types.MessageType.Warning]
    for words in (("embedding", "url", "ftp://gpu-box/v1"), ("embedding", "retries")):
        assert any(all(w in warning for w in words) for warning in warnings), (words, warnings)

"""Bad input over the wire gets a clear error and the server keeps serving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import initialize_params, request, search, send_raw, status, uri, wait_idle
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

INVALID_PARAMS = -32602


async def error_of(client: LanguageClient, method: str, params) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as caught:
        await request(client, method, params)
    return caught.value


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "query"),
        ({"query": 5}, "query"),
        ({"query": "   "}, "empty"),
        ({"query": "x", "limit": "ten"}, "limit"),
        ({"query": "x", "limit": 0}, "limit"),
        ({"query": "x", "mode": "fuzzy"}, "mode"),
        ({"query": "x", "languages": "python"}, "languages"),
        ({"query": "x", "kinds": ["lambda"]}, "kinds"),
        ({"query": "x", "paths": [1]}, "paths"),
        (["a", "list"], "object"),
    ],
)
async def test_bad_search_params_are_invalid_params(client: LanguageClient, params, words):
    error = await error_of(client, "findcode/search", params)
    assert error.code == INVALID_PARAMS
    assert words in str(error.message)
    assert (await status(client)).state in ("starting", "indexing", "idle")


async def test_unknown_method(client: LanguageClient):
    error = await error_of(client, "findcode/nonsense", {})
    assert error.code == -32601
    assert (await status(client)).state in ("starting", "indexing", "idle")


async def test_similar_outside_the_workspace_and_bad_positions(
    client: LanguageClient, tmp_path: Path
):
    await wait_idle(client)
    outside = tmp_path / "elsewhere.py"
    outside.write_text("def outside():\n    return 1\n")
    cases = [
        {"textDocument": {"uri": uri(outside)}, "position": {"line": 0, "character": 0}},
        {"textDocument": {"uri": "untitled:Untitled-1"}, "position": {"line": 0, "character": 0}},
        {"textDocument": {"uri": uri(outside)}, "position": {"line": -3, "character": 0}},
        {"textDocument": {"uri": uri(outside)}},
        {"position": {"line": 0, "character": 0}},
    ]
    for params in cases:
        error = await error_of(client, "findcode/similar", params)
        assert error.code == INVALID_PARAMS, params
        assert error.message


async def test_a_one_megabyte_query_is_answered(client: LanguageClient):
    await wait_idle(client, min_symbols=20)
    response = await search(client, "parse a content type header " * 40_000)
    assert len(response.results) > 0


async def test_a_malformed_notification_is_survived(client: LanguageClient):
    await wait_idle(client)
    for params in (
        {"textDocument": {"no_uri": 1}},
        {"textDocument": {"uri": "file:///nowhere/x.py"}},
        "not an object",
    ):
        send_raw(client, {"jsonrpc": "2.0", "method": "textDocument/didSave", "params": params})
    send_raw(client, {"jsonrpc": "2.0", "id": "raw-1", "method": "workspace/symbol"})
    assert (await wait_idle(client)).lastError is None
    assert (await search(client, "slugify", mode="lexical")).results


async def test_a_search_before_initialize_is_refused(bare_client: LanguageClient):
    bare_client.capabilities = types.ClientCapabilities()  # pytest-lsp would refuse to send
    try:
        with pytest.raises(JsonRpcException) as caught:
            await request(bare_client, "findcode/search", {"query": "anything"})
    finally:
        bare_client.capabilities = None
    assert caught.value.code == -32002
    assert "initialize" in caught.value.message


async def test_two_hundred_searches_in_flight_while_indexing(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    await bare_client.initialize_session(initialize_params([workspace], tmp_path / "index"))
    queries = [f"function number {i} that parses a header" for i in range(200)]
    answers = await asyncio.gather(*(search(bare_client, q, limit=3) for q in queries))
    assert len(answers) == 200
    assert all(len(a.results) <= 3 for a in answers)
    ready = await wait_idle(bare_client, min_symbols=20)
    assert ready.lastError is None
    assert (await search(bare_client, "content type header")).results[0].name == (
        "parse_content_type"
    )


async def test_bad_initialization_options_warn_and_use_defaults(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    params = initialize_params(
        [workspace], tmp_path / "index", maxFileBytes="big", colour="blue", watch=False
    )
    await bare_client.initialize_session(params)
    ready = await wait_idle(bare_client, min_symbols=20)
    warnings = [m.message for m in bare_client.messages if m.type == types.MessageType.Warning]
    assert any("maxFileBytes" in w for w in warnings)
    assert any("colour" in w for w in warnings)
    assert ready.lastError is None

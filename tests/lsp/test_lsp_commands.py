"""workspace/executeCommand: findcode.search, findcode.status, findcode.reindex."""

from __future__ import annotations

from conftest import status, wait_idle
from lsprotocol import types
from pytest_lsp import LanguageClient


async def execute(client: LanguageClient, command: str, *arguments):
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(arguments))
    )


async def test_the_server_advertises_its_commands(client: LanguageClient):
    await wait_idle(client)
    provider = client.initialize_result.capabilities.execute_command_provider
    assert set(provider.commands) == {
        "findcode.search",
        "findcode.reindex",
        "findcode.status",
        "findcode.pause",
        "findcode.resume",
    }


async def test_search_command_takes_a_query_or_search_params(client: LanguageClient):
    await wait_idle(client, min_symbols=20)
    by_text = await execute(client, "findcode.search", "turn a title into a url slug")
    assert by_text["results"][0]["name"] == "slugify"
    by_params = await execute(client, "findcode.search", {"query": "slugify", "mode": "lexical"})
    assert by_params["results"][0]["name"] == "slugify"


async def test_status_and_reindex_commands(client: LanguageClient):
    ready = await wait_idle(client, min_symbols=20)
    assert (await execute(client, "findcode.status"))["symbols"] == ready.symbols
    await execute(client, "findcode.reindex")
    rebuilt = await wait_idle(client, min_symbols=ready.symbols)
    assert (rebuilt.files, rebuilt.symbols, rebuilt.vectors) == (
        ready.files,
        ready.symbols,
        ready.vectors,
    )
    assert rebuilt.embedded == 2 * ready.embedded  # dropped means dropped: all embedded again
    assert (await status(client)).lastError is None


async def test_search_says_how_sure_it_is(client: LanguageClient):
    """One relevance scale in every mode; code that does not exist gets "no close match"."""
    await wait_idle(client, min_symbols=20)
    found = await execute(client, "findcode.search", "turn a title into a url slug")
    top = found["results"][0]
    assert top["name"] == "slugify" and not top["weak"] and top["relevance"] > 0.5
    assert found["closeMatches"] == sum(not r["weak"] for r in found["results"]) >= 1
    for mode in ("hybrid", "semantic", "lexical"):
        response = await execute(client, "findcode.search", {"query": "slugify", "mode": mode})
        assert all(0.0 <= r["relevance"] <= 1.0 for r in response["results"]), mode
        assert response["results"][0]["name"] == "slugify" and not response["results"][0]["weak"]
    absent = await execute(
        client, "findcode.search", "render a candlestick chart of stock prices with tooltips"
    )
    assert absent["results"], "the nearest code is still listed"
    assert absent["closeMatches"] == 0
    assert all(r["weak"] for r in absent["results"])

"""workspace/symbol answers with findcode's hybrid ranking."""

from __future__ import annotations

from pathlib import Path

from conftest import uri, wait_idle
from lsprotocol import types
from pytest_lsp import LanguageClient


async def test_workspace_symbol_ranks_by_meaning(client: LanguageClient, workspace: Path):
    await wait_idle(client, min_symbols=20)
    symbols = await client.workspace_symbol_async(
        types.WorkspaceSymbolParams(query="least recently used cache")
    )
    top = symbols[0]
    assert top.location.uri == uri(workspace / "storage" / "lru.rs")
    assert top.kind in (types.SymbolKind.Class, types.SymbolKind.Method)
    methods = [s for s in symbols if s.kind == types.SymbolKind.Method]
    assert methods and all(s.container_name for s in methods)


async def test_an_empty_workspace_symbol_query_is_empty(client: LanguageClient):
    await wait_idle(client, min_symbols=20)
    assert await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="")) == []

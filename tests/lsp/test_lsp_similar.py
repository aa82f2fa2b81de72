"""findcode/similar: the symbol at a position, or a selection, finds similar code elsewhere."""

from __future__ import annotations

from pathlib import Path

from conftest import names, request, uri, wait_idle
from pytest_lsp import LanguageClient


async def test_similar_to_the_symbol_at_the_cursor_leaves_it_out(
    client: LanguageClient, workspace: Path
):
    await wait_idle(client, min_symbols=20)
    http_client = workspace / "net" / "http_client.py"
    line = (
        http_client.read_text()
        .splitlines()
        .index("    def acquire(self, host: str) -> object | None:")
    )
    response = await request(
        client,
        "findcode/similar",
        {"textDocument": {"uri": uri(http_client)}, "position": {"line": line + 1, "character": 8}},
    )
    found = names(response)
    assert "acquire" not in found
    assert found[0] in {"release", "get", "put", "ConnectionPool"}
    assert len(found) > 3


async def test_similar_to_a_selection(client: LanguageClient, workspace: Path):
    await wait_idle(client, min_symbols=20)
    scratch = workspace / "notes.txt"  # no symbol around the selection: its lines are the query
    scratch.write_text("compute the edit distance\nbetween two strings\n")
    response = await request(
        client,
        "findcode/similar",
        {
            "textDocument": {"uri": uri(scratch)},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}},
            "limit": 3,
        },
    )
    assert names(response)[0] == "levenshtein_distance"
    assert len(response.results) == 3

"""didChange: a function typed but not saved is found, by name at once and by meaning a moment
later, without the file or the index being written; closing unsaved brings the stored
symbols back, and saving stores the function without embedding it again."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from conftest import names, search, status, uri, wait_idle
from lsprotocol import types
from pytest_lsp import LanguageClient

# The function the editors' tests add (also the Neovim and VS Code ones), and its question.
_ADDED = json.loads((Path(__file__).parents[1] / "fixtures" / "unsaved_function.json").read_text())
NAME: str = _ADDED["name"]
QUERY: str = _ADDED["query"]
ADDED = "\n".join(_ADDED["lines"]) + "\n"


def open_and_type(client: LanguageClient, path: Path) -> int:
    """Open `path` and append ADDED as an incremental edit; the 0-based line of its `def`."""
    text = path.read_text()
    document = uri(path)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=document, language_id="python", version=1, text=text
            )
        )
    )
    end = types.Position(line=text.count("\n"), character=0)  # the file ends with a newline
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=document, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=end, end=end), text=ADDED
                )
            ],
        )
    )
    return text.count("\n") + 2


async def poll(client: LanguageClient, query: str, found: Any, within: float, **params: Any):
    """The first response to `query` that `found` accepts, and how long it took."""
    started = time.monotonic()
    while True:
        response = await search(client, query, **params)
        if found(response):
            return response, time.monotonic() - started
        assert time.monotonic() - started < within, f"{query!r} after {within} s: {response}"
        await asyncio.sleep(0.05)


async def test_an_unsaved_function_is_found_and_forgotten_on_close(
    client: LanguageClient, workspace: Path
):
    before = await wait_idle(client, min_symbols=20)
    path = workspace / "net" / "http_client.py"
    on_disk = path.read_text()
    line = open_and_type(client, path)

    by_name, _ = await poll(
        client, NAME, lambda r: NAME in names(r), within=5, mode="lexical", limit=5
    )
    hit = by_name.results[names(by_name).index(NAME)]
    assert hit.uri == uri(path)
    assert hit.range.start.line == line  # the buffer's line, which the file does not have yet
    _, took = await poll(
        client, QUERY, lambda r: names(r)[:1] == [NAME], within=10, mode="semantic", limit=5
    )
    # The file's stored symbols are hidden, not shown twice beside the buffer's.
    assert (
        names(await search(client, "fetch_with_retry", mode="lexical")).count("fetch_with_retry")
        == 1
    )

    assert path.read_text() == on_disk
    now = await status(client)
    assert (now.files, now.symbols, now.vectors) == (before.files, before.symbols, before.vectors)
    assert now.embedded == before.embedded  # the buffer's vectors are not the index's

    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
    )
    await poll(client, NAME, lambda r: NAME not in names(r), within=5, mode="lexical")
    assert NAME not in names(await search(client, QUERY, mode="semantic", limit=5))
    assert "fetch_with_retry" in names(await search(client, "fetch_with_retry", mode="lexical"))
    print(f"found by meaning {took:.2f} s after the first search by name")


async def test_saving_a_typed_function_stores_it_without_embedding_it_again(
    client: LanguageClient, workspace: Path
):
    before = await wait_idle(client, min_symbols=20)
    path = workspace / "net" / "http_client.py"
    open_and_type(client, path)
    await poll(client, QUERY, lambda r: names(r)[:1] == [NAME], within=10, mode="semantic")

    path.write_text(path.read_text() + ADDED)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
    )
    after = await wait_idle(client, min_symbols=before.symbols + 1)
    assert after.symbols == before.symbols + 1
    assert after.embedded == before.embedded  # its vector came from the buffer's
    response = await search(client, QUERY, mode="semantic", limit=5)
    assert names(response)[0] == NAME
    assert names(await search(client, NAME, mode="lexical")).count(NAME) == 1


async def test_a_buffer_opened_with_unsaved_edits_is_searched_as_it_stands(
    client: LanguageClient, workspace: Path
):
    """An editor restores a buffer that was never saved: no edit follows its didOpen. Editing
    it back to the file's text brings the stored symbols back."""
    await wait_idle(client, min_symbols=20)
    path = workspace / "net" / "http_client.py"
    on_disk = path.read_text()
    document = uri(path)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=document, language_id="python", version=1, text=on_disk + ADDED
            )
        )
    )
    by_name, _ = await poll(
        client, NAME, lambda r: NAME in names(r), within=5, mode="lexical", limit=5
    )
    assert by_name.results[names(by_name).index(NAME)].range.start.line == on_disk.count("\n") + 2

    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=document, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=on_disk)],
        )
    )
    await poll(client, NAME, lambda r: NAME not in names(r), within=5, mode="lexical")
    assert path.read_text() == on_disk

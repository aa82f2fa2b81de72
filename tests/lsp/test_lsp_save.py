"""didSave: the saved file is re-indexed first, and only the changed symbol is embedded."""

from __future__ import annotations

from pathlib import Path

from conftest import names, search, status, uri, wait_idle
from lsprotocol import types
from pytest_lsp import LanguageClient


async def test_a_saved_change_is_searchable_and_embeds_only_the_changed_symbol(
    client: LanguageClient, workspace: Path
):
    before = await wait_idle(client, min_symbols=20)
    path = workspace / "text" / "slugify.py"
    source = path.read_text()
    old = source[source.index("def wrap_paragraph") :]
    new = (
        "def wrap_paragraph(text: str, width: int = 72) -> list[str]:\n"
        '    """Convert a temperature from degrees Celsius to Fahrenheit."""\n'
        "    return [str(float(text) * 9 / 5 + 32)]\n"
    )
    path.write_text(source.replace(old, new))
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
    )
    after = await wait_idle(client, min_symbols=20)
    assert after.embedded - before.embedded == 1  # the other symbols' vectors were cached
    assert after.symbols == before.symbols
    response = await search(client, "convert celsius to fahrenheit", limit=3)
    assert names(response)[0] == "wrap_paragraph"


async def test_a_saved_new_file_is_found(client: LanguageClient, workspace: Path):
    before = await wait_idle(client, min_symbols=20)
    path = workspace / "text" / "roman.py"
    path.write_text(
        "def to_roman(number: int) -> str:\n"
        '    """Write a positive integer as a Roman numeral."""\n'
        "    pairs = [(1000, 'M'), (900, 'CM'), (500, 'D'), (100, 'C'), (10, 'X'), (1, 'I')]\n"
        "    out = ''\n"
        "    for value, letters in pairs:\n"
        "        while number >= value:\n"
        "            out += letters\n"
        "            number -= value\n"
        "    return out\n"
    )
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
    )
    await wait_idle(client, min_symbols=21)
    assert names(await search(client, "roman numerals", limit=3))[0] == "to_roman"
    assert (await status(client)).files == before.files + 1

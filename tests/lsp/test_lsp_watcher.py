"""Changes made outside the editor (no LSP message at all) reach the index through watchdog."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from conftest import names, search, status, status_until, wait_idle
from pytest_lsp import LanguageClient


async def wait_for(client: LanguageClient, condition, timeout: float = 60.0):
    """The watcher brought the index up to date: idle, nothing pending, and `condition`."""
    return await status_until(
        client, lambda s: s.state == "idle" and s.pending == 0 and condition(s), timeout
    )


async def test_a_file_written_on_disk_is_found(client: LanguageClient, workspace: Path):
    before = await wait_idle(client, min_symbols=20)
    (workspace / "text" / "vowels.py").write_text(
        "def count_vowels(word: str) -> int:\n"
        '    """How many vowels a word has."""\n'
        "    return sum(letter in 'aeiou' for letter in word.lower())\n"
    )
    await wait_for(client, lambda s: s.files == before.files + 1)
    assert names(await search(client, "count the vowels in a word", limit=3))[0] == "count_vowels"


async def test_a_deleted_folder_leaves_the_index(client: LanguageClient, workspace: Path):
    before = await wait_idle(client, min_symbols=20)
    shutil.rmtree(workspace / "storage")
    after = await wait_for(client, lambda s: s.files == before.files - 2)
    assert after.symbols < before.symbols
    assert "FileChecksum" not in names(await search(client, "FileChecksum", mode="lexical"))


async def test_a_burst_of_changes_is_one_pass(client: LanguageClient, workspace: Path):
    before = await wait_idle(client, min_symbols=20)
    passes_before = len(client.progress_reports)
    generated = workspace / "generated"
    generated.mkdir()
    for i in range(300):  # a code generator or a checkout: hundreds of events at once
        (generated / f"constant_{i}.py").write_text(f"def constant_{i}() -> int:\n    return {i}\n")
    after = await wait_for(client, lambda s: s.files == before.files + 300, timeout=120)
    assert after.symbols == before.symbols + 300
    assert len(client.progress_reports) == passes_before + 1  # one indexing pass, not 300
    ignored = workspace / "node_modules"
    ignored.mkdir()
    (ignored / "dep.js").write_text("function dependency() { return 1 }\n")
    await asyncio.sleep(1.5)
    assert (await status(client)).files == after.files  # built-in excludes hold for events too

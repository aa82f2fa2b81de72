"""Two workspace folders, and folders added and removed while the server runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import initialize_params, names, search, status, uri, wait_idle
from lsprotocol import types
from pytest_lsp import LanguageClient


def second_folder(tmp_path: Path) -> Path:
    other = tmp_path / "other"
    other.mkdir()
    (other / "geometry.go").write_text(
        "package geometry\n\n"
        "// Hypotenuse returns the length of the long side of a right triangle.\n"
        "func Hypotenuse(a, b float64) float64 {\n"
        "\treturn math.Sqrt(a*a + b*b)\n"
        "}\n"
    )
    return other


async def test_two_folders_are_searched_together(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    other = second_folder(tmp_path)
    await bare_client.initialize_session(initialize_params([workspace, other], tmp_path / "index"))
    ready = await wait_idle(bare_client, min_symbols=21)
    assert sorted(ready.roots) == sorted([str(workspace), str(other)])
    assert len(ready.indexPaths) == 2
    top = (await search(bare_client, "length of the long side of a right triangle")).results[0]
    assert (top.name, top.uri) == ("Hypotenuse", uri(other / "geometry.go"))
    assert names(await search(bare_client, "retry with backoff"))[0] == "fetch_with_retry"


async def test_folders_added_and_removed(client: LanguageClient, tmp_path: Path):
    first = await wait_idle(client, min_symbols=20)
    other = second_folder(tmp_path)
    folder = types.WorkspaceFolder(uri=uri(other), name="other")
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=[folder], removed=[])
        )
    )
    both = await wait_idle(client, min_symbols=first.symbols + 1)
    assert len(both.roots) == 2
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(added=[], removed=[folder])
        )
    )
    for _ in range(100):
        one = await status(client)
        if len(one.roots) == 1:
            break
        await asyncio.sleep(0.1)
    assert one.roots == first.roots and one.symbols == first.symbols
    assert "Hypotenuse" not in names(await search(client, "Hypotenuse", mode="lexical"))

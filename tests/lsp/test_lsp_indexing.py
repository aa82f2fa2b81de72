"""initialize -> background indexing with work-done progress -> a search finds the function."""

from __future__ import annotations

from pathlib import Path

from conftest import names, search, status, uri, wait_idle
from lsprotocol import types
from pytest_lsp import LanguageClient


async def test_indexing_reports_progress_and_search_finds_the_function(
    client: LanguageClient, workspace: Path, tmp_path: Path
):
    ready = await wait_idle(client, min_symbols=20)
    assert ready.roots == [str(workspace.resolve())]
    assert all(Path(p).is_relative_to(tmp_path / "index") for p in ready.indexPaths)
    assert ready.vectors == ready.symbols and ready.lastError is None
    assert ready.model.dims == 384

    # One progress token: begun, reported as "n/N files", ended.
    assert client.progress_reports, "the server created no progress token"
    values = [v for reports in client.progress_reports.values() for v in reports]
    assert isinstance(values[0], types.WorkDoneProgressBegin)
    assert isinstance(values[-1], types.WorkDoneProgressEnd)
    reports = [v for v in values if isinstance(v, types.WorkDoneProgressReport)]
    assert any("files" in (r.message or "") for r in values if hasattr(r, "message"))
    assert all(0 <= (r.percentage or 0) <= 100 for r in reports)

    response = await search(client, "retry an http request with exponential backoff")
    top = response.results[0]
    assert top.name == "fetch_with_retry"
    assert top.uri == uri(workspace / "net" / "http_client.py")
    assert top.range.start.line == 12  # `def fetch_with_retry` is line 13
    assert top.kind == "function" and top.language == "python"
    assert "fetch_with_retry" in top.snippet
    assert response.index.state == "idle"
    assert response.index.indexed == response.index.total == ready.files
    assert response.tookMs >= 0


async def test_search_modes_and_filters(client: LanguageClient):
    await wait_idle(client, min_symbols=20)
    lexical = await search(client, "levenshtein", mode="lexical", limit=3)
    assert names(lexical)[0] == "levenshtein_distance"
    go_only = await search(client, "checksum of a file", languages=["go"])
    assert go_only.results and {r.language for r in go_only.results} == {"go"}
    classes = await search(client, "connections per host", kinds=["class"])
    assert names(classes)[0] == "ConnectionPool"
    in_web = await search(client, "wait before calling a function", paths=["web/"])
    assert {Path(r.uri).parent.name for r in in_web.results} == {"web"}
    assert len((await search(client, "bytes", limit=2)).results) == 2


async def test_logs_reach_the_client_and_the_log_file(client: LanguageClient, tmp_path: Path):
    await wait_idle(client)
    assert any("indexing" in m.message for m in client.log_messages)
    log_file = tmp_path / "index" / "server.log"
    assert log_file.is_file() and "indexing" in log_file.read_text()
    assert (await status(client)).state == "idle"

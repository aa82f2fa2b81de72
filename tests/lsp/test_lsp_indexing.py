"""initialize -> background indexing with work-done progress -> a search finds the function."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

from conftest import initialize_params, names, search, status, uri, wait_idle
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


def add_modules(folder: Path, count: int) -> None:
    """Modules enough that a first index spends seconds embedding, so the bar has a course."""
    folder.mkdir()
    for n in range(count):
        (folder / f"unit_{n}.py").write_text(
            "".join(
                f"def step_{n}_{k}(values: list[int]) -> int:\n"
                f'    """Fold the values of batch {n} with weight {k}."""\n'
                f"    return sum(v * {k + 1} + {n} for v in values)\n\n\n"
                for k in range(3)
            )
        )


COUNT = re.compile(r"(\d[\d,]*)/(\d[\d,]*) (files|symbols)")
PHASE = re.compile(
    r"loading the model|loading the vector index|scanning the workspace|parsing .* files|"
    r"embedding .* symbols"
)
DONE = re.compile(r"indexed (\d[\d,]*) files?, (\d[\d,]*) symbols? in [\d.]+ s")


def number(text: str) -> int:
    return int(text.replace(",", ""))


async def test_a_first_index_shows_one_rising_percentage_and_what_it_did(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    add_modules(workspace / "units", 40)
    await bare_client.initialize_session(initialize_params([workspace], tmp_path / "index"))
    ready = await wait_idle(bare_client, min_symbols=120)
    await wait_until(lambda: bars_ended(bare_client))

    (values,) = bare_client.progress_reports.values()  # one pass, one token
    begin, *reports, end = values
    assert isinstance(begin, types.WorkDoneProgressBegin) and begin.title == "findcode: indexing"
    assert all(isinstance(r, types.WorkDoneProgressReport) for r in reports)
    assert isinstance(end, types.WorkDoneProgressEnd)
    shown = [(v.message or "", v.percentage) for v in (begin, *reports)]
    messages = [message for message, _ in shown]
    assert all(PHASE.match(m) for m in messages), messages
    assert any(m.startswith("parsing") for m in messages), messages
    assert any(m.startswith("embedding") for m in messages), messages
    assert any(m.endswith(" s left") for m in messages), messages  # an ETA once measured

    # One percentage for the whole pass: from 0 up, never down, 100 never before the end.
    percentages = [p for _, p in shown if p is not None]
    assert len(percentages) == len(shown), shown
    assert percentages[0] >= 0 and percentages == sorted(percentages), shown
    assert all(p < 100 for p in percentages[:-1]), shown
    for message, percentage in shown:
        found = COUNT.search(message)
        # No empty count: every figure shown is a real one.
        assert found is None or number(found[2]) > 0, message
        if message.startswith("embedding") and found and number(found[1]) < number(found[2]):
            assert percentage is not None and percentage < 100, (message, percentage)
    # Embedding is most of the work here, so it is most of the bar.
    assert max(p or 0 for m, p in shown if m.startswith("parsing")) < 50, shown

    done = DONE.fullmatch(end.message or "")
    assert done, end.message
    assert number(done[1]) == ready.files and number(done[2]) == ready.vectors


def bars_ended(client: LanguageClient) -> bool:
    bars = list(client.progress_reports.values())
    return bool(bars) and all(
        values and isinstance(values[-1], types.WorkDoneProgressEnd) for values in bars
    )


async def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_the_bar_is_up_while_the_model_loads(
    bare_client: LanguageClient, workspace: Path, tmp_path: Path
):
    """A client shows findcode/status when no bar is up: before the first scan that is an
    empty index ("0 symbols"), so the bar must begin before the engine is ready."""
    params = initialize_params([workspace], tmp_path / "index", watch=False)
    await bare_client.initialize_session(params)
    seen: list[tuple[str, bool]] = []
    while not seen or seen[-1][0] == "starting":
        state = (await status(bare_client)).state
        seen.append((state, bool(bare_client.progress_reports)))
        await asyncio.sleep(0.02)
    assert ("starting", True) in seen, seen
    (values,) = bare_client.progress_reports.values()
    assert isinstance(values[0], types.WorkDoneProgressBegin)
    assert (values[0].message, values[0].percentage) == ("loading the model", 0)

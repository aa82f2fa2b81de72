"""The Language Server's engine host without a client: what becomes of a buffer the editor
opens before the engine is ready. The real model, engine and file watcher."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from findcode.config import Settings
from findcode.host import EngineHost
from index_support import NoProgressBar, copy_repo

ADDED = json.loads((Path(__file__).parent / "fixtures" / "unsaved_function.json").read_text())


async def test_a_buffer_opened_while_the_engine_starts_is_searched_as_it_stands(
    tmp_path, model_path
):
    repo = copy_repo(tmp_path)
    target = repo / "text" / "slugify.py"
    typed = target.read_text() + "\n".join(ADDED["lines"]) + "\n"
    failures: list[str] = []
    host = EngineHost(NoProgressBar(), failures.append)
    host.change_roots([repo])
    host.buffer_changed(target, lambda: typed)  # didOpen of a buffer with unsaved edits
    # The watcher's start is awaited before the engine is ready: the buffer's parse, scheduled
    # by the start, must not run (and give up) in that gap.
    host.start(Settings(index_dir=tmp_path / "index", watch=True))
    found: list[str] = []
    try:
        async with host.engine() as engine:
            deadline = time.monotonic() + 30
            while ADDED["name"] not in found and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                outcome = engine.search(ADDED["name"], mode="lexical", limit=3)
                found = [hit.name for hit in outcome.hits]
    finally:
        await host.stop()
    assert failures == []
    assert ADDED["name"] in found

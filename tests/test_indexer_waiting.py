"""The indexer's bookkeeping while the embedding server is unreachable: embedding waits with a
retry time, keeps what is pending, lets parsing and saves go on, and resumes by itself.

A fake embedder (deterministic vectors, an outage it is told to have) stands in for the
server: this is about WHEN things happen. tests/test_remote_index.py does the same against a
real server that is killed and restarted.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from findcode.config import Settings
from findcode.engine import Engine
from findcode.errors import EmbeddingServerUnreachable
from findcode.indexer import Progress
from index_support import Recorder, copy_repo, findcode, made_up_vector, wait_for

DIMS = 8
FIXTURE_SYMBOLS = 24


class FlakyServer:
    """Answers like an embedding server that is down while `down` is set."""

    model_id = "flaky-1"
    name = "flaky"
    quantization = "remote"
    location = "http://flaky:8000/v1"
    dims = DIMS
    documents_per_call = 8

    def __init__(self) -> None:
        self.down = threading.Event()
        self.refused = 0
        self.embedded: list[str] = []

    def embed_documents(self, texts):
        if self.down.is_set():
            self.refused += 1
            raise EmbeddingServerUnreachable(f"{self.location}: cannot connect", 0.3)
        self.embedded.extend(texts)
        return np.stack([made_up_vector(t, DIMS) for t in texts]) if texts else np.zeros((0, DIMS))

    def embed_query(self, text):
        if self.down.is_set():
            raise EmbeddingServerUnreachable(self.location, 0.3)
        return made_up_vector(text, DIMS)

    def interrupt(self) -> None:
        pass  # each call of this fake returns at once

    def set_threads(self, threads: int) -> None:
        pass

    def close(self) -> None:
        pass


def test_an_outage_waits_keeps_pending_work_and_resumes(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path)
    server = FlakyServer()
    server.down.set()
    events: list[Progress] = []
    log = Recorder()
    engine = Engine(
        [repo],
        Settings(index_dir=tmp_path / "index", watch=False),
        embedder=server,
        on_progress=events.append,
        on_log=log,
    )
    engine.start()
    try:
        wait_for(lambda: server.refused >= 3)  # retried after each wait, not given up
        status = engine.status()
        assert status["symbols"] == FIXTURE_SYMBOLS and status["vectors"] == 0  # parsed
        assert status["pending"] == FIXTURE_SYMBOLS and status["lastError"] is None
        assert status["waiting"].startswith("embedding server unreachable: retrying in ")
        assert status["waiting"].endswith("(http://flaky:8000/v1: cannot connect)")
        assert status["state"] == "indexing" and not engine.wait_idle(0.1)
        assert any(e.phase == "waiting" and e.waiting for e in events)
        # `findcode status`, in another process, tells the wait too.
        report = findcode("status", "--json", "--index-dir", tmp_path / "index", repo).stdout
        assert json.loads(report)["waiting"].startswith("embedding server unreachable: retrying")
        text = findcode("status", "--index-dir", tmp_path / "index", repo).stdout
        assert "(http://flaky:8000/v1: cannot connect)" in text
        # A save is parsed at once, and a search answers by words.
        (repo / "text" / "slugify.py").write_text("def kebab_case(title):\n    return title\n")
        engine.buffer_saved(repo / "text" / "slugify.py")
        wait_for(
            lambda: [h.name for h in engine.search("kebab_case", limit=1).hits] == ["kebab_case"]
        )
        # An unsaved buffer waits for its vectors too, without failing.
        assert engine.update_buffer(repo / "web" / "new.py", "def typed_now():\n    pass\n")

        server.down.clear()
        assert engine.wait_idle(30)
        status = engine.status()
        assert status["waiting"] is None and status["lastError"] is None
        assert status["pending"] == 0 and status["vectors"] == status["symbols"]
        assert len(server.embedded) == len(set(server.embedded))  # nothing embedded twice
        wait_for(lambda: engine.overlays.unembedded(1) == [])
        assert any("typed_now" in text for text in server.embedded)  # the buffer's, after all
        warnings = [line for line in log.warnings() if line.startswith("embedding server")]
        assert len(warnings) == 1  # told once per outage; the retries are info
        assert events[-1].phase == "idle" and events[-1].waiting is None
        report = findcode("status", "--json", "--index-dir", tmp_path / "index", repo).stdout
        assert json.loads(report)["waiting"] is None
    finally:
        engine.close()

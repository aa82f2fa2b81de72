"""Embedder.interrupt: a stop gives up the batch in hand instead of waiting for it (an indexer at
idle priority on a busy machine may take minutes over one). Real model, real llama.cpp abort."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from findcode.embedder import Embedder
from findcode.errors import ModelError


@pytest.mark.parametrize("threads", [1, 2])  # one lane, or two decoding side by side
def test_an_interrupted_call_raises_and_the_embedder_goes_on(
    model_path: Path, caplog, threads: int
):
    caplog.set_level(logging.DEBUG, logger="findcode.llama")
    embedder = Embedder(model_path, threads=threads)
    texts = [f"def measure_{n}(values):\n    return sum(values) * {n}\n" for n in range(4000)]
    outcome: dict[str, object] = {}

    def embed() -> None:
        try:
            embedder.embed_documents(texts)
            outcome["result"] = "finished"
        except ModelError as error:
            outcome["result"] = str(error)

    worker = threading.Thread(target=embed)
    worker.start()
    deadline = time.monotonic() + 60
    while not embedder._lock.locked():  # the call has begun
        assert time.monotonic() < deadline
        time.sleep(0.01)
    embedder.interrupt()
    worker.join(120)
    assert outcome["result"] == f"embedding with {model_path} was interrupted"
    # llama.cpp's complaints about the aborted decode are expected: logged at debug, no error.
    assert any("failed to decode" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    # The next call is not interrupted, and gives the vectors an uninterrupted embedder gives.
    again = embedder.embed_documents(texts[:3])
    fresh = Embedder(model_path, threads=1).embed_documents(texts[:3])
    assert np.allclose(again, fresh, atol=1e-5)


def test_an_interrupt_between_calls_is_no_interrupt(model_path: Path):
    embedder = Embedder(model_path, threads=1)
    embedder.interrupt()  # nothing in progress: a stop of an idle indexer
    assert embedder.embed_documents(["def f(): pass"]).shape == (1, embedder.dims)

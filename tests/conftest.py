"""Shared fixtures: the real default model (shipped in the package), an embedder on it, and a
writable copy of the fixture repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from findcode.embedder import Embedder
from findcode.model import resolve_model_path
from index_support import copy_repo


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The default model: the fine-tuned F16 GGUF shipped inside the package."""
    return resolve_model_path(None)


@pytest.fixture(scope="module")
def embedder(model_path: Path) -> Embedder:
    """One loaded model per test module: loading is cheap, sharing it across modules is not
    worth a closed embedder leaking from one module's test into another's."""
    return Embedder(model_path)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_repo(tmp_path)

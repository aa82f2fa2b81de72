"""Shared fixtures: the real default model, built once per machine and shared by every suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from findcode.model import ensure_default_model


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The default q8_0 GGUF in the user cache dir (built from the installed package if absent)."""
    return ensure_default_model("q8_0")

"""The workspace the headless Neovim tests open: a git copy of the fixture repository, with
the default model built before any server starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from index_support import copy_repo


@pytest.fixture
def workspace(tmp_path: Path, model_path: Path) -> Path:
    return copy_repo(tmp_path, git=True)

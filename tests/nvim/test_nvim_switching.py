""":FindCodeStatus during a switch of models tells the re-embedding's progress beside the model
that still answers. The server is the stand-in of fake_server.lua: the real one holds this
state only for as long as the new model embeds (tests/lsp/test_lsp_model_switch.py drives it)."""

from __future__ import annotations

from pathlib import Path

from nvim_support import HERE, lua, result, run_nvim

SWITCHING = "re-embedding for all-MiniLM-L6-v2: 16/24 symbols"

SETUP = r"""
local F = dofile(FAKE_SERVER)
local function answer(method)
  if method ~= 'findcode/status' then
    return nil
  end
  return { state = 'indexing', roots = {}, files = 6, symbols = 24, vectors = 24, pending = 0,
    embedded = 16, model = { name = 'findcode-minilm-code', path = '', dims = 384,
    quantization = 'Q8_0' }, indexPaths = {}, lastError = vim.NIL, paused = vim.NIL,
    waiting = vim.NIL, switching = SWITCHING }
end
vim.lsp.config('findcode', { cmd = F.cmd(answer) })
require('findcode').setup({ notify_ready = false })
"""

SCRIPT = r"""
T.run(function()
  T.wait(10000, function() return #vim.lsp.get_clients({ name = 'findcode', bufnr = 0 }) > 0 end,
    'the stand-in server to attach')
  vim.cmd('FindCodeStatus')
  T.wait(5000, function() return #T.notes > 0 end, ':FindCodeStatus')
  return table.remove(T.notes)
end)
"""


def test_status_tells_a_switch_of_models(tmp_path: Path) -> None:
    workspace = tmp_path / "w"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text("[project]\nname = 'w'\n")
    (workspace / "a.py").write_text("def a():\n    return 1\n")
    setup = SETUP.replace("FAKE_SERVER", lua(HERE / "fake_server.lua"))
    data = run_nvim(
        tmp_path,
        SCRIPT,
        cwd=workspace,
        files=[workspace / "a.py"],
        setup=setup.replace("SWITCHING", lua(SWITCHING)),
        timeout=60,
    )
    note = result(data)
    assert note["msg"] == (
        "findcode: indexing: 6 files, 24 symbols, 0 pending (model findcode-minilm-code); "
        + SWITCHING
    )

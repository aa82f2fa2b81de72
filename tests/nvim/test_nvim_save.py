"""A function added in Neovim and written with :write is found by the next :FindCode!: Neovim's
textDocument/didSave reaches the real server, which re-indexes that file (the server's file
watcher is off here, so only the editor's notification can do it)."""

from __future__ import annotations

import json
from pathlib import Path

from nvim_support import ADDED_FUNCTION as ADDED
from nvim_support import ADDED_FUNCTION_QUERY as QUERY
from nvim_support import lua, result, run_nvim

SCRIPT = """
local query, added = QUERY, vim.json.decode(ADDED)
local function names()
  local out = {}
  for _, r in ipairs(T.request('findcode/search', { query = query }).results) do
    table.insert(out, r.name)
  end
  return out
end
T.run(function()
  T.wait_ready(20)
  local before = names()
  vim.api.nvim_buf_set_lines(0, -1, -1, false, added)
  vim.cmd('write')
  -- Its words are searchable once the file is parsed; its vector follows a moment later.
  T.wait(120000, function()
    return names()[1] == 'render_mandelbrot_ascii'
  end, 'the saved function to be indexed and embedded')
  vim.cmd('FindCode! ' .. query)
  T.wait(30000, function() return #vim.fn.getqflist() > 0 end, 'quickfix entries')
  return { before = before, qf = T.qflist() }
end)
"""


def test_saved_function_is_found_by_the_next_search(tmp_path: Path, workspace: Path) -> None:
    http_client = workspace / "net" / "http_client.py"
    added_at = len(http_client.read_text().splitlines()) + 3  # after two blank lines
    data = run_nvim(
        tmp_path,
        SCRIPT.replace("QUERY", lua(QUERY)).replace("ADDED", lua(json.dumps(ADDED))),
        cwd=workspace,
        files=[http_client],
        init_options={"watch": False},
    )
    r = result(data)
    assert "render_mandelbrot_ascii" not in r["before"]
    first = r["qf"][0]
    assert first["file"] == "net/http_client.py"
    assert "render_mandelbrot_ascii" in first["text"]
    assert first["lnum"] == added_at
    assert "def render_mandelbrot_ascii" in http_client.read_text()

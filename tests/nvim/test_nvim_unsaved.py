"""A function typed in Neovim and not written is found by :FindCode!: Neovim's built-in client
sends the edit as textDocument/didChange (the server asks for incremental sync), and the server
searches the buffer's symbols in place of the file's. The file stays as it was, and wiping the
buffer unsaved (didClose) brings back what the file holds."""

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
  local ready = T.wait_ready(20)
  local buf = vim.api.nvim_get_current_buf()
  local before = names()
  vim.api.nvim_buf_set_lines(0, -1, -1, false, added)  -- typed, never written
  local started, qf = vim.uv.hrtime(), nil
  T.wait(20000, function()
    vim.fn.setqflist({}, 'r')
    vim.cmd('FindCode! ' .. query)
    T.wait(30000, function() return #vim.fn.getqflist() > 0 end, 'quickfix entries')
    qf = T.qflist()
    return qf[1].text:find('render_mandelbrot_ascii', 1, true) ~= nil
  end, 'the unsaved function to be found by meaning')
  local took_ms = (vim.uv.hrtime() - started) / 1e6
  local modified = vim.bo[buf].modified
  local status = T.request('findcode/status')
  vim.api.nvim_buf_delete(buf, { force = true })  -- closed without saving: didClose
  local after
  T.wait(5000, function()
    after = names()
    return not vim.tbl_contains(after, 'render_mandelbrot_ascii')
  end, 'the unsaved function to be forgotten')
  return { before = before, qf = qf, took_ms = took_ms, modified = modified,
           stored = { ready.symbols, status.symbols }, after = after }
end)
"""


def test_unsaved_function_is_found_until_the_buffer_is_closed(
    tmp_path: Path, workspace: Path
) -> None:
    http_client = workspace / "net" / "http_client.py"
    on_disk = http_client.read_text()
    added_at = len(on_disk.splitlines()) + 3  # after two blank lines
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
    assert first["lnum"] == added_at  # the buffer's line
    assert r["modified"] is True
    assert http_client.read_text() == on_disk
    stored_before, stored_while_typed = r["stored"]
    assert stored_while_typed == stored_before  # nothing of the buffer was stored
    assert "render_mandelbrot_ascii" not in r["after"]
    print(f"found by meaning {r['took_ms']:.0f} ms after typing")

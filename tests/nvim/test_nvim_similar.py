""":FindCodeSimilar through headless Neovim and the real server: on the symbol at the cursor (the
symbol itself left out) and on a visual selection. Also the request a selection makes: its range
ends at the end of the last selected line, counted in UTF-16 as LSP positions are. The list's title
says what the results are like, and a "still indexing" note goes into the title."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from index_support import copy_repo
from nvim_support import result, run_nvim


@pytest.fixture
def workspace(tmp_path: Path, model_path: Path) -> Path:
    repo = copy_repo(tmp_path, git=True)
    # no symbol around these lines: the selected text itself is the query
    (repo / "notes.txt").write_text("compute the edit distance\nbetween two strings\nlater\n")
    return repo


def test_similar_at_cursor_and_on_a_selection(tmp_path: Path, workspace: Path) -> None:
    http_client = workspace / "net" / "http_client.py"
    acquire = (
        http_client.read_text()
        .splitlines()
        .index("    def acquire(self, host: str) -> object | None:")
    )
    data = run_nvim(
        tmp_path,
        f"""
T.run(function()
  T.wait_ready(20)
  local sent = T.record_requests()
  local calls = T.capture_select()
  vim.api.nvim_win_set_cursor(0, {{ {acquire + 2}, 8 }}) -- inside acquire's body
  vim.cmd('FindCodeSimilar')
  T.wait(30000, function() return #calls > 0 end, 'similar to acquire')
  local cursor_prompt = calls[1].prompt
  local at_cursor = {{}}
  for _, item in ipairs(calls[1].items) do
    table.insert(at_cursor, item.user_data.qualifiedName)
  end

  require('findcode.commands').options.limit = 3
  vim.cmd('edit notes.txt')
  vim.cmd('normal! ggVj')
  vim.api.nvim_feedkeys(':FindCodeSimilar\\r', 'x', false)  -- as typed: :'<,'>FindCodeSimilar
  T.wait(30000, function() return #calls > 1 end, 'similar to the selection')
  local on_selection = {{}}
  for _, item in ipairs(calls[2].items) do
    table.insert(on_selection, item.user_data.name)
  end
  -- a request the server refuses: one error message, and the server goes on
  require('findcode.commands').options.limit = 0
  vim.cmd('FindCode! anything')
  T.wait(30000, function() return #T.notes > 0 end, 'the refusal to be reported')
  local alive = T.request('findcode/status').state
  return {{
    at_cursor = at_cursor, on_selection = on_selection, prompt = calls[2].prompt, sent = sent,
    cursor_prompt = cursor_prompt, formatted = calls[1].formatted,
    alive = alive,
  }}
end)
""",
        cwd=workspace,
        files=[http_client],
        setup="require('findcode').setup({ notify_ready = false })",
    )
    r = result(data)
    assert r["cursor_prompt"] == f"FindCodeSimilar: http_client.py:{acquire + 2}"
    # no score; a weak match is marked "(weak)", not scored
    assert not any(re.search(r"\(\d", line) for line in r["formatted"])
    assert "ConnectionPool.acquire" not in r["at_cursor"]
    assert r["at_cursor"][0] in {
        "ConnectionPool.release",
        "LruCache.get",
        "LruCache.put",
        "ConnectionPool",
    }
    assert len(r["at_cursor"]) > 3
    assert r["on_selection"][0] == "levenshtein_distance"
    assert len(r["on_selection"]) == 3  # setup's limit
    assert r["prompt"] == "FindCodeSimilar: notes.txt:1-2"
    similar = [s["params"] for s in r["sent"] if s["method"] == "findcode/similar"]
    assert similar[0]["position"] == {"line": acquire + 1, "character": 8}
    assert similar[0]["textDocument"]["uri"] == http_client.resolve().as_uri()
    assert similar[1]["range"] == {
        "start": {"line": 0, "character": 0},
        "end": {"line": 1, "character": len("between two strings")},
    }
    assert similar[1]["textDocument"]["uri"].endswith("/notes.txt")
    assert similar[1]["limit"] == 3

    assert data["notes"] == [
        {
            "msg": "findcode: findcode/search failed: limit must be a whole number "
            "from 1 to 2147483647, not 0",
            "level": 4,
        }
    ]
    assert r["alive"] == "idle"


def test_selection_range_ends_at_the_end_of_its_last_line(tmp_path: Path) -> None:
    """No server: the params :FindCodeSimilar builds, in the client's offset encoding."""
    data = run_nvim(
        tmp_path,
        """
T.run(function()
  local commands = require('findcode.commands')
  vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'first', 'a€é😀', 'third' })
  return {
    lines = commands.similar_params(0, { 1, 2 }).range,
    reversed = commands.similar_params(0, { 2, 1 }).range,
    utf8 = commands.similar_params(0, { 2, 2 }, 'utf-8').range,
    cursor = commands.similar_params(0, nil).position,
    titles = {
      commands.title('FindCode: q', { state = 'idle', indexed = 6, total = 6 }),
      commands.title('FindCode: q', { state = 'indexing', indexed = 2, total = 6 }),
    },
  }
end)
""",
        setup="require('findcode').setup({ enable = false })",
    )
    r = result(data)
    # 'a€é😀': a=1, €=1, é=1, 😀=2 UTF-16 units; 1+3+2+4 bytes
    assert r["lines"] == {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 5}}
    assert r["reversed"] == r["lines"]
    assert r["utf8"]["end"] == {"line": 1, "character": 10}
    assert r["utf8"]["start"] == {"line": 1, "character": 0}
    assert r["cursor"] == {"line": 0, "character": 0}
    assert r["titles"] == [
        "FindCode: q",
        "FindCode: q (still indexing 2/6 files: results may be incomplete)",
    ]

"""Which picker :FindCode uses: Telescope when installed, else fzf-lua, else vim.ui.select; a
picker that fails falls back to vim.ui.select with a warning. Telescope and fzf-lua are the
STAND-INS of stand_ins.lua (the real plugins cannot be fetched here): they check the documented
calls findcode.pickers makes, the static lists (similar code) and the live pickers' side of the
contract (a dynamic finder waiting on a channel, fzf_live's reload function). No server: the
items are what pickers.items makes of two results, and the live pickers' `ask` answers them."""

from __future__ import annotations

from pathlib import Path

from nvim_support import HERE, lua, result, run_nvim

SCRIPT = r"""
local S = dofile(STAND_INS)
local calls = S.calls
T.run(function()
  local pickers = require('findcode.pickers')
  vim.ui.select = function(items, opts)
    table.insert(calls, { name = 'select',
      args = { prompt = opts.prompt, first = opts.format_item(items[1]), n = #items } })
  end
  local items = pickers.items({
    { uri = vim.uri_from_fname('/w/net/http_client.py'), name = 'fetch_with_retry',
      qualifiedName = 'fetch_with_retry', kind = 'function', score = 0.5,
      range = { start = { line = 12, character = 0 }, ['end'] = { line = 23, character = 0 } } },
    { uri = vim.uri_from_fname('/w/storage/lru.rs'), name = 'get', qualifiedName = 'LruCache.get',
      kind = 'method', score = 0.25,
      range = { start = { line = 18, character = 4 }, ['end'] = { line = 20, character = 5 } } },
  })
  local chosen, live = {}, {}

  S.install({ 'telescope', 'plenary', 'fzf-lua' })
  table.insert(chosen, pickers.resolve('auto'))
  table.insert(live, pickers.is_live('auto'))
  pickers.pick(items, 'FindCode: both', 'auto')

  S.install({ 'fzf-lua' })
  table.insert(chosen, pickers.resolve('auto'))
  table.insert(live, pickers.is_live('auto'))
  pickers.pick(items, 'FindCode: fzf', 'auto')

  S.install({})
  table.insert(chosen, pickers.resolve('auto'))
  table.insert(live, pickers.is_live('auto'))
  pickers.pick(items, 'FindCode: none', 'auto')

  S.install({ 'telescope', 'plenary', 'fzf-lua' })
  table.insert(live, pickers.is_live('select'))
  pickers.pick(items, 'FindCode: forced', 'select')

  S.install({ 'telescope' }, true)
  pickers.pick(items, 'FindCode: broken', 'auto')
  local broken_live = pickers.pick_live('q', 'FindCode', 'auto', function() end, function() end)

  -- the live pickers: what they ask, and what they show of the answer
  local asked, closed = {}, 0
  local function ask(prompt, on_items)
    table.insert(asked, prompt)
    on_items(prompt == 'retry' and items or {})
  end
  local function on_close() closed = closed + 1 end
  S.install({ 'telescope', 'plenary' })
  pickers.pick_live('retry', 'FindCode', 'auto', ask, on_close)
  local telescope_live = {}
  S.telescope.type('retry', function(e) telescope_live.retry = e end)
  S.telescope.type('nothing', function(e) telescope_live.nothing = e end)
  S.telescope.close()
  S.install({ 'fzf-lua' })
  pickers.pick_live('retry', 'FindCode', 'fzf-lua', ask, on_close)
  local fzf_live = {}
  S.fzf.type('retry', function(lines) fzf_live.retry = lines end)
  S.fzf.opts.winopts.on_close()

  -- no server: :FindCode says so once and opens no live picker to type into
  S.install({ 'telescope', 'plenary' })
  local before = #calls
  vim.cmd('FindCode anything')
  local opened_without_server = #calls - before

  return { chosen = chosen, live = live, calls = calls, broken_live = broken_live,
    opened_without_server = opened_without_server, asked = asked, closed = closed,
    telescope_live = telescope_live, fzf_live = fzf_live }
end)
"""


def test_picker_dispatch_order_with_stand_ins(tmp_path: Path) -> None:
    data = run_nvim(
        tmp_path,
        SCRIPT.replace("STAND_INS", lua(HERE / "stand_ins.lua")),
        setup="require('findcode').setup({ enable = false })",
    )
    r = result(data)
    assert r["chosen"] == ["telescope", "fzf-lua", "select"]
    assert r["live"] == [True, True, False, False]
    calls = r["calls"]
    assert [c["name"] for c in calls] == [
        "telescope",
        "fzf-lua",
        "select",
        "select",  # picker = 'select' wins over an installed Telescope
        "select",  # the broken Telescope falls back
        "telescope",  # live
        "fzf-lua live",
    ]
    telescope = calls[0]["args"]
    assert telescope["title"] == "FindCode: both"
    assert telescope["entries"] == [
        {"filename": "/w/net/http_client.py", "lnum": 13, "text": "function fetch_with_retry"},
        {"filename": "/w/storage/lru.rs", "lnum": 19, "text": "method LruCache.get"},
    ]
    assert (telescope["previewer"], telescope["sorter"]) == ("previewer", "sorter")
    fzf = calls[1]["args"]
    assert fzf["lines"] == [
        "/w/net/http_client.py:13:1: function fetch_with_retry",
        "/w/storage/lru.rs:19:5: method LruCache.get",
    ]
    assert fzf["default"] == "file_edit_or_qf"
    assert fzf["previewer"] == "builtin"
    assert fzf["prompt"] == "FindCode: fzf> "
    assert calls[2]["args"] == {
        "prompt": "FindCode: none",
        "first": "/w/net/http_client.py:13 function fetch_with_retry",
        "n": 2,
    }
    warnings = [n["msg"] for n in data["notes"] if n["level"] == 3]
    assert len(warnings) == 2 and all("telescope picker failed" in w for w in warnings)
    assert "broken stand-in" in warnings[0]
    assert r["broken_live"] is False  # :FindCode goes on with a one-off search

    # live: the server's order kept (no fuzzy re-sorting), the prompt asked again as it changes
    live_telescope = calls[5]["args"]
    assert live_telescope["default_text"] == "retry"
    assert live_telescope["sorter"] == "highlighter_only"
    assert live_telescope["previewer"] == "previewer"
    assert r["telescope_live"]["retry"] == telescope["entries"]
    assert r["telescope_live"]["nothing"] == []
    assert calls[6]["args"] == {
        "prompt": "FindCode> ",
        "query": "retry",
        "default": "file_edit_or_qf",
        "previewer": "builtin",
        "exec_empty_query": False,
    }
    assert r["fzf_live"]["retry"] == fzf["lines"]
    assert r["asked"] == ["retry", "nothing", "retry"]
    assert r["closed"] == 2
    assert r["opened_without_server"] == 0
    errors = [n["msg"] for n in data["notes"] if n["level"] == 4]
    assert errors == [
        "findcode: the findcode server is not enabled: call require('findcode').setup() "
        "or vim.lsp.enable('findcode')"
    ]

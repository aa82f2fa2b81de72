"""Which picker :FindCode uses: Telescope when installed, else fzf-lua, else vim.ui.select; a
picker that fails falls back to vim.ui.select with a warning.

Telescope and fzf-lua themselves cannot be fetched on these machines (only PyPI, npm and Debian
are reachable), so the modules below are STAND-INS put in package.preload: each records the
documented calls that findcode.pickers makes (telescope.pickers.new(...):find() with
finders.new_table and make_entry.gen_from_quickfix; fzf-lua's fzf_exec with "file:line:col: text"
lines and actions.file_edit_or_qf). They check the dispatch order and the arguments, not the real
plugins' behaviour. No server is needed: the items are what pickers.items makes of two results.
"""

from __future__ import annotations

from pathlib import Path

from nvim_support import result, run_nvim

SCRIPT = r"""
local calls = {}
local function record(name, args) table.insert(calls, { name = name, args = args }) end

local stand_ins = {
  ['telescope.pickers'] = function()
    return { new = function(opts, spec)
      local entries = {}
      for _, item in ipairs(spec.finder.results) do
        local e = spec.finder.entry_maker(item)
        table.insert(entries, { filename = e.filename, lnum = e.lnum })
      end
      record('telescope', { title = spec.prompt_title, entries = entries,
        previewer = spec.previewer, sorter = spec.sorter })
      return { find = function() record('telescope.find', {}) end }
    end }
  end,
  ['telescope.finders'] = function()
    return { new_table = function(t) return t end }
  end,
  ['telescope.make_entry'] = function()
    return { gen_from_quickfix = function()
      return function(item) return { value = item, filename = item.filename, lnum = item.lnum } end
    end }
  end,
  ['telescope.config'] = function()
    return { values = { generic_sorter = function() return 'sorter' end,
                        qflist_previewer = function() return 'previewer' end } }
  end,
  ['fzf-lua'] = function()
    return {
      actions = { file_edit_or_qf = 'file_edit_or_qf' },
      fzf_exec = function(lines, opts)
        record('fzf-lua', { lines = lines, prompt = opts.prompt, default = opts.actions.default,
          previewer = opts.previewer })
      end,
    }
  end,
}

local function install(names, broken)
  for name in pairs(stand_ins) do
    package.loaded[name] = nil
    package.preload[name] = nil
  end
  for _, prefix in ipairs(names) do
    for name, loader in pairs(stand_ins) do
      if name:sub(1, #prefix) == prefix then
        package.preload[name] = (broken and name == 'telescope.pickers') and function()
          return { new = function() error('broken stand-in') end }
        end or loader
      end
    end
  end
end

T.run(function()
  local pickers = require('findcode.pickers')
  vim.ui.select = function(items, opts)
    record('select', { prompt = opts.prompt, first = opts.format_item(items[1]), n = #items })
  end
  local items = pickers.items({
    { uri = vim.uri_from_fname('/w/net/http_client.py'), name = 'fetch_with_retry',
      qualifiedName = 'fetch_with_retry', kind = 'function', score = 0.5,
      range = { start = { line = 12, character = 0 }, ['end'] = { line = 23, character = 0 } } },
    { uri = vim.uri_from_fname('/w/storage/lru.rs'), name = 'get', qualifiedName = 'LruCache.get',
      kind = 'method', score = 0.25,
      range = { start = { line = 18, character = 4 }, ['end'] = { line = 20, character = 5 } } },
  })
  local chosen = {}

  install({ 'telescope', 'fzf-lua' })
  table.insert(chosen, pickers.resolve('auto'))
  pickers.pick(items, 'FindCode: both', 'auto')

  install({ 'fzf-lua' })
  table.insert(chosen, pickers.resolve('auto'))
  pickers.pick(items, 'FindCode: fzf', 'auto')

  install({})
  table.insert(chosen, pickers.resolve('auto'))
  pickers.pick(items, 'FindCode: none', 'auto')

  install({ 'telescope', 'fzf-lua' })
  pickers.pick(items, 'FindCode: forced', 'select')

  install({ 'telescope' }, true)
  pickers.pick(items, 'FindCode: broken', 'auto')

  return { chosen = chosen, calls = calls, notes = T.notes, cwd = vim.fn.getcwd() }
end)
"""


def test_picker_dispatch_order_with_stand_ins(tmp_path: Path) -> None:
    data = run_nvim(tmp_path, SCRIPT, setup="require('findcode').setup({ enable = false })")
    r = result(data)
    assert r["chosen"] == ["telescope", "fzf-lua", "select"]
    calls = r["calls"]
    assert [c["name"] for c in calls] == [
        "telescope",
        "telescope.find",
        "fzf-lua",
        "select",
        "select",  # picker = 'select' wins over an installed Telescope
        "select",  # the broken Telescope falls back
    ]
    telescope = calls[0]["args"]
    assert telescope["title"] == "FindCode: both"
    assert telescope["entries"] == [
        {"filename": "/w/net/http_client.py", "lnum": 13},
        {"filename": "/w/storage/lru.rs", "lnum": 19},
    ]
    assert (telescope["previewer"], telescope["sorter"]) == ("previewer", "sorter")
    fzf = calls[2]["args"]
    assert fzf["lines"] == [
        "/w/net/http_client.py:13:1: function fetch_with_retry (0.50)",
        "/w/storage/lru.rs:19:5: method LruCache.get (0.25)",
    ]
    assert fzf["default"] == "file_edit_or_qf"
    assert fzf["previewer"] == "builtin"
    assert fzf["prompt"] == "FindCode: fzf> "
    select = calls[3]["args"]
    assert select == {
        "prompt": "FindCode: none",
        "first": "/w/net/http_client.py:13 function fetch_with_retry (0.50)",
        "n": 2,
    }
    warnings = [n["msg"] for n in r["notes"] if n["level"] == 3]
    assert len(warnings) == 1 and "telescope picker failed" in warnings[0]
    assert "broken stand-in" in warnings[0]

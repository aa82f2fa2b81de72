"""Weak matches in every list: the server marks results below its threshold for a close match
(`weak`, with `closeMatches` the count of the others); :FindCode, :FindCode!, :FindCodeSimilar and
the live Telescope picker list them after the close ones, marked "(weak)", and say "no close
match" when nothing passes. An older server's answer, without these fields, is all close
matches. The server is the stand-in of fake_server.lua (the real one cannot be made to answer
weak matches on demand); Telescope the stand-in of stand_ins.lua."""

from __future__ import annotations

from pathlib import Path

from nvim_support import HERE, lua, result, run_nvim

SETUP = r"""
local F = dofile(FAKE_SERVER)
local function hit(name, line, weak, relevance)
  return { uri = vim.uri_from_fname(vim.fn.getcwd() .. '/net/http.py'), name = name,
    qualifiedName = name, kind = 'function', language = 'python', score = 0.5,
    snippet = 'def ' .. name, weak = weak, relevance = relevance,
    range = { start = { line = line, character = 0 }, ['end'] = { line = line, character = 9 } } }
end
local index = { state = 'idle', indexed = 1, total = 1 }
local function answer(method, params)
  if method == 'findcode/similar' then
    return { results = { hit('slugify', 40, true, 0.2) }, index = index, tookMs = 1,
      closeMatches = 0 }
  elseif method ~= 'findcode/search' then
    return nil
  end
  local q = params.query
  if q == 'mixed' then
    -- in rank order; a close match may rank below a weak one
    return { results = { hit('fetch_with_retry', 6, false, 0.8), hit('slugify', 40, true, 0.3),
      hit('download', 20, false, 0.6) }, index = index, tookMs = 1, closeMatches = 2 }
  elseif q:find('^nothing close') then
    return { results = { hit('slugify', 40, true, 0.3), hit('load', 30, true, 0.1) },
      index = index, tookMs = 1, closeMatches = 0 }
  end
  -- an older server: no relevance, no weak, no closeMatches
  return { results = { hit('fetch_with_retry', 6), hit('slugify', 40) }, index = index, tookMs = 1 }
end
vim.lsp.config('findcode', { cmd = F.cmd(answer) })
require('findcode').setup({ notify_ready = false, picker = 'select' })
"""

SCRIPT = r"""
local S = dofile(STAND_INS)
T.run(function()
  T.wait(10000, function() return #vim.lsp.get_clients({ name = 'findcode', bufnr = 0 }) > 0 end,
    'the stand-in server to attach')
  local out = { notes = {} }
  local calls = T.capture_select()
  local function select(cmd)
    local n = #calls
    vim.cmd(cmd)
    T.wait(5000, function() return #calls > n end, cmd)
    table.insert(out.notes, #T.notes > 0 and table.remove(T.notes).msg or vim.NIL)
    return { prompt = calls[#calls].prompt, formatted = calls[#calls].formatted }
  end
  out.mixed = select('FindCode mixed')
  out.nothing = select('FindCode nothing close')
  out.old = select('FindCode old server')
  out.similar = select('FindCodeSimilar')

  vim.cmd('FindCode! nothing close')
  T.wait(5000, function() return #vim.fn.getqflist() > 0 end, 'the quickfix list')
  out.qf = T.qflist()
  out.qf_title = vim.fn.getqflist({ title = 1 }).title
  table.insert(out.notes, #T.notes > 0 and table.remove(T.notes).msg or vim.NIL)

  -- live: the notice once while nothing is close, again after a prompt that had close matches
  S.install({ 'telescope', 'plenary' })
  require('findcode.commands').options.picker = 'telescope'
  vim.cmd('FindCode mixed')
  out.live = {}
  local prompts = { 'mixed', 'nothing close', 'nothing close at all', 'mixed', 'nothing close' }
  for _, prompt in ipairs(prompts) do
    local entries
    S.telescope.type(prompt, function(e) entries = e end)
    T.wait(5000, function() return entries end, 'the live answer to ' .. prompt)
    table.insert(out.live, vim.tbl_map(function(e) return e.text end, entries))
  end
  S.telescope.close()
  out.live_notes = vim.tbl_map(function(n) return n.msg end, T.notes)
  return out
end)
"""


def test_weak_matches_are_listed_last_and_marked(tmp_path: Path) -> None:
    workspace = tmp_path / "w"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text("[project]\nname = 'w'\n")
    (workspace / "a.py").write_text("def a():\n    return 1\n")
    data = run_nvim(
        tmp_path,
        SCRIPT.replace("STAND_INS", lua(HERE / "stand_ins.lua")),
        cwd=workspace,
        files=[workspace / "a.py"],
        setup=SETUP.replace("FAKE_SERVER", lua(HERE / "fake_server.lua")),
        timeout=60,
    )
    r = result(data)
    assert r["mixed"] == {
        "prompt": "FindCode: mixed",
        "formatted": [
            "net/http.py:7 function fetch_with_retry",
            "net/http.py:21 function download",
            "net/http.py:41 function slugify (weak)",
        ],
    }
    assert r["nothing"] == {
        "prompt": "FindCode: nothing close (no close match)",
        "formatted": [
            "net/http.py:41 function slugify (weak)",
            "net/http.py:31 function load (weak)",
        ],
    }
    assert r["old"] == {
        "prompt": "FindCode: old server",
        "formatted": ["net/http.py:7 function fetch_with_retry", "net/http.py:41 function slugify"],
    }
    assert r["similar"] == {
        "prompt": "FindCodeSimilar: a.py:1 (no close match)",
        "formatted": ["net/http.py:41 function slugify (weak)"],
    }
    assert r["qf_title"] == "FindCode: nothing close (no close match)"
    assert [e["text"] for e in r["qf"]] == ["function slugify (weak)", "function load (weak)"]
    no_close = "findcode: no close match for {}: the list shows weak matches only"
    assert r["notes"] == [
        None,
        no_close.format('"nothing close"'),
        None,
        no_close.format("code like a.py:1"),
        no_close.format('"nothing close"'),
    ]
    mixed = ["function fetch_with_retry", "function download", "function slugify (weak)"]
    nothing = ["function slugify (weak)", "function load (weak)"]
    assert r["live"] == [mixed, nothing, nothing, mixed, nothing]
    assert r["live_notes"] == [
        no_close.format('"nothing close"'),
        no_close.format('"nothing close"'),
    ]

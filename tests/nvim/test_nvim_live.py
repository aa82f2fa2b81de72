"""Live search against the real server and model: findcode.live sends a prompt once typing
pauses, drops the answers of overtaken prompts and cancels their requests, and :FindCode with a
live picker asks again as its prompt changes. Telescope is the stand-in of stand_ins.lua (the
real plugin cannot be fetched here), which runs the finder as Telescope does; the requests and
answers are real."""

from __future__ import annotations

from pathlib import Path

from nvim_support import HERE, lua, result, run_nvim

SCRIPT = r"""
local S = dofile(STAND_INS)
T.run(function()
  T.wait_ready(20)
  local sent = T.record_requests()
  local c = T.client()
  local live = require('findcode.live')

  -- the loop alone, with a send of the test's own that records cancels
  local cancelled, answers, loop = {}, {}, nil
  local function answer(label)
    return function(err, res)
      table.insert(answers, { label = label, err = err and err.message,
        first = res and res.results[1] and res.results[1].name or vim.NIL })
    end
  end
  local function send(query, done)
    local _, id = c:request('findcode/search', { query = query }, function(err, res)
      done(err, res)
    end)
    if query == 'overtaken in flight' then
      vim.schedule(function() loop.ask('parse a content type header', answer('in flight')) end)
    end
    return function() table.insert(cancelled, query) c:cancel_request(id) end
  end
  loop = live.new(send, 150)
  for _, prompt in ipairs({ 'r', 're', 'retry', 'retry an http request with backoff' }) do
    loop.ask(prompt, answer(prompt))  -- typed faster than the delay
    vim.wait(30)
  end
  T.wait(30000, function() return #answers == 4 end, 'the typed prompt to be answered')
  local typed = #vim.tbl_filter(function(s) return s.method == 'findcode/search' end, sent)
  loop.ask('overtaken in flight', answer('overtaken'))
  T.wait(30000, function() return #answers == 6 end, 'the overtaking prompt to be answered')
  loop.ask('', answer('empty'))
  loop.close()

  -- :FindCode with a live Telescope: the real request for each prompt
  S.install({ 'telescope', 'plenary' })
  require('findcode.commands').options.picker = 'telescope'
  vim.cmd('FindCode retry an http request with exponential backoff')
  local shown = {}
  S.telescope.type(S.telescope.spec.default_text, function(e) shown.first = e end)
  T.wait(30000, function() return shown.first end, 'the first prompt')
  S.telescope.type('split a content-type header into media type and parameters',
    function(e) shown.second = e end)
  T.wait(30000, function() return shown.second end, 'the changed prompt')
  S.telescope.close()
  local queries = {}
  for _, s in ipairs(sent) do
    if s.method == 'findcode/search' then table.insert(queries, s.params.query) end
  end
  return { answers = answers, typed = typed, cancelled = cancelled, queries = queries,
    title = S.telescope.spec.prompt_title, shown = shown }
end)
"""


def test_live_requery(tmp_path: Path, workspace: Path) -> None:
    data = run_nvim(
        tmp_path,
        SCRIPT.replace("STAND_INS", lua(HERE / "stand_ins.lua")),
        cwd=workspace,
        files=[workspace / "net" / "http_client.py"],
        setup="require('findcode').setup({ notify_ready = false })",
    )
    r = result(data)
    nothing = None
    assert r["answers"] == [
        # overtaken while typing: told so at once, never sent
        {"label": "r", "first": nothing},
        {"label": "re", "first": nothing},
        {"label": "retry", "first": nothing},
        {"label": "retry an http request with backoff", "first": "fetch_with_retry"},
        # overtaken with its request in flight: cancelled, its answer dropped
        {"label": "overtaken", "first": nothing},
        {"label": "in flight", "first": "parse_content_type"},
        {"label": "empty", "first": nothing},
    ]
    assert r["typed"] == 1  # one request for four keystrokes
    assert r["cancelled"] == ["overtaken in flight"]
    assert r["title"] == "FindCode"
    assert r["shown"]["first"][0]["text"] == "function fetch_with_retry"
    assert r["shown"]["second"][0]["text"] == "function parse_content_type"
    assert r["queries"][-2:] == [
        "retry an http request with exponential backoff",
        "split a content-type header into media type and parameters",
    ]
    assert data["notes"] == []

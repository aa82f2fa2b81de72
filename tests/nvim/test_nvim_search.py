"""End to end: headless Neovim, the real `findcode serve` and the real default model on a copy of
tests/fixtures/repo. `:FindCode!` fills the quickfix list in rank order, `:FindCode` hands the
results to vim.ui.select (replaced by a recorder) and choosing one jumps to it, and the indexing
pass reaches Neovim's LspProgress autocmd as begin/report/end. The list shows no score (search
and similar score on different scales) and is titled with the query. `notify_ready = false`
turns the "index ready" message off: nothing at all is shown here."""

from __future__ import annotations

import re
from pathlib import Path

from nvim_support import result, run_nvim


def test_quickfix_select_and_progress(tmp_path: Path, workspace: Path) -> None:
    data = run_nvim(
        tmp_path,
        """
T.run(function()
  local status = T.wait_ready(20)
  vim.cmd('FindCode! retry an http request with exponential backoff')
  T.wait(30000, function() return #vim.fn.getqflist() > 0 end, 'quickfix entries')
  local qf = T.qflist()
  local title = vim.fn.getqflist({ title = 1 }).title
  local qf_open = vim.fn.getqflist({ winid = 1 }).winid ~= 0

  local calls = T.capture_select()
  local asked
  vim.ui.input = function(opts, on_confirm)  -- :FindCode without a query asks for one
    asked = opts.prompt
    on_confirm('split a content-type header into media type and parameters')
  end
  vim.cmd('FindCode')
  T.wait(30000, function() return #calls > 0 end, 'vim.ui.select')
  local call = calls[1]
  local first = call.items[1]
  call.choose(first, 1)
  local jumped = { vim.api.nvim_buf_get_name(0), vim.api.nvim_win_get_cursor(0) }

  vim.cmd('FindCodeStatus')
  T.wait(30000, function() return #T.notes > 0 end, ':FindCodeStatus')
  local status_note = table.remove(T.notes)
  local progress_before = #T.progress
  vim.cmd('FindCodeReindex')
  T.wait(30000, function() return #T.notes > 0 end, ':FindCodeReindex')
  local reindex_note = table.remove(T.notes)
  T.wait(60000, function()
    for i = progress_before + 1, #T.progress do
      if T.progress[i].kind == 'end' then return true end
    end
  end, 'the reindexing pass to end')
  local after = T.wait_ready(20)
  vim.cmd('checkhealth findcode')
  local health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n')
  return {
    asked = asked, health = health,
    status_note = status_note, reindex_note = reindex_note,
    symbols = { status.symbols, after.symbols },
    reindex_progress = vim.list_slice(T.progress, progress_before + 1),
    root = status.roots[1], qf = qf, title = title, qf_open = qf_open,
    prompt = call.prompt, formatted = call.formatted,
    first = { filename = first.filename, lnum = first.lnum, name = first.user_data.name },
    jumped = jumped,
  }
end)
""",
        cwd=workspace,
        files=[workspace / "net" / "http_client.py"],
        setup="require('findcode').setup({ notify_ready = false })",
    )
    r = result(data)

    # the workspace is the copy, found by its .git root marker
    assert Path(r["root"]).resolve() == workspace.resolve()

    qf = r["qf"]
    assert qf[0]["file"] == "net/http_client.py"
    assert qf[0]["lnum"] == 13
    assert qf[0]["col"] == 1
    assert "fetch_with_retry" in qf[0]["text"]
    assert r["title"] == "FindCode: retry an http request with exponential backoff"
    assert r["qf_open"] is True
    assert len(qf) > 5  # every result, not only the first
    assert len({(e["file"], e["lnum"]) for e in qf}) == len(qf)

    assert r["asked"] == "FindCode: "
    assert r["prompt"] == "FindCode: split a content-type header into media type and parameters"
    assert r["first"]["name"] == "parse_content_type"
    assert r["formatted"][0] == "net/http_client.py:27 function parse_content_type"
    assert all(":" in line and line.split(":")[1].split()[0].isdigit() for line in r["formatted"])
    # no score; a weak match (a newer server's) is marked "(weak)", not scored
    assert not any(re.search(r"\(\d", line) for line in r["formatted"])
    assert Path(r["jumped"][0]).resolve() == (workspace / "net" / "http_client.py").resolve()
    assert r["jumped"][1] == [27, 0]

    progress = data["progress"]
    kinds = [p["kind"] for p in progress]
    assert kinds[0] == "begin" and progress[0]["title"] == "findcode: indexing"
    assert "report" in kinds
    assert kinds[-1] == "end"
    assert any("embedding" in (p["message"] or "") for p in progress)

    assert r["status_note"]["level"] == 2  # INFO
    assert r["status_note"]["msg"].startswith(
        f"findcode: idle: 6 files, {r['symbols'][0]} symbols, 0 pending (model findcode-minilm-code"
    )
    assert r["reindex_note"] == {"msg": "findcode: reindexing the workspace", "level": 2}
    assert r["symbols"][1] == r["symbols"][0]  # rebuilt, nothing lost
    assert r["reindex_progress"][0]["kind"] == "begin"
    assert f"idle, 6 files, {r['symbols'][1]} symbols, 0 pending" in r["health"]
    assert "picker: select" in r["health"]
    # nothing else was shown: no warning from the server, no "still indexing"
    assert data["notes"] == []

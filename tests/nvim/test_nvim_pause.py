"""End to end: headless Neovim, the real `findcode serve` and model. :FindCodePause pauses
indexing (a new file is not indexed while paused, :FindCodeStatus says why it is paused) and
:FindCodeResume goes on (the new file is indexed)."""

from __future__ import annotations

from pathlib import Path

from nvim_support import result, run_nvim


def test_pause_and_resume_commands(tmp_path: Path, workspace: Path) -> None:
    data = run_nvim(
        tmp_path,
        """
T.run(function()
  local ready = T.wait_ready(20)
  vim.cmd('FindCodePause')
  T.wait(30000, function() return #T.notes > 0 end, ':FindCodePause')
  local paused_note = table.remove(T.notes)
  -- A file changed outside the editor (the watcher's event) waits while paused.
  local f = io.open('added_while_paused.py', 'w')
  f:write('def added_while_paused(items):\\n    return sorted(items)\\n')
  f:close()
  vim.wait(3000)
  local held = T.request('findcode/status')
  vim.cmd('FindCodeStatus')
  T.wait(30000, function() return #T.notes > 0 end, ':FindCodeStatus')
  local status_note = table.remove(T.notes)
  vim.cmd('FindCodeResume')
  T.wait(30000, function() return #T.notes > 0 end, ':FindCodeResume')
  local resumed_note = table.remove(T.notes)
  local after = T.wait_ready(ready.symbols + 1)
  return {
    ready = { ready.files, ready.symbols }, held = { held.state, held.paused, held.files },
    after = { after.state, after.files, after.paused }, paused_note = paused_note,
    status_note = status_note, resumed_note = resumed_note,
  }
end)
""",
        cwd=workspace,
        files=[workspace / "net" / "http_client.py"],
        setup="require('findcode').setup({ notify_ready = false })",
    )
    r = result(data)
    assert r["held"] == ["paused", "user", r["ready"][0]]  # the new file waits
    assert r["paused_note"]["msg"].startswith("findcode: indexing paused: ")
    assert r["status_note"]["msg"].startswith("findcode: paused: ")
    assert r["status_note"]["msg"].endswith("; indexing paused by you (:FindCodeResume)")
    assert r["resumed_note"]["msg"].startswith("findcode: indexing resumed: ")
    assert r["after"] == ["idle", r["ready"][0] + 1, None]

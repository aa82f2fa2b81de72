"""A first start as a new user has it, with the real server and model: the plugin's config alone
(no init_options of the user's) sends an empty JSON object, so the server has nothing to warn
about, and the first finished index is announced once (`notify_ready`, on by default), not again
on later passes. The index goes to the user cache folder, here a temporary one whose models folder
is the shared one."""

from __future__ import annotations

from pathlib import Path

from nvim_support import SERVER, lua, result, run_nvim

INFO, WARN = 2, 3


def test_defaults_send_an_object_and_the_first_index_is_announced(
    tmp_path: Path, workspace: Path, model_path: Path
) -> None:
    cache = tmp_path / "cache"
    (cache / "findcode").mkdir(parents=True)
    (cache / "findcode" / "models").symlink_to(model_path.parent)
    data = run_nvim(
        tmp_path,
        """
T.run(function()
  local sent = vim.json.encode(vim.lsp.config.findcode.init_options)
  local status = T.wait_ready(20)
  T.wait(30000, function() return #T.notes > 0 end, 'the ready message')
  local before = #T.progress
  vim.cmd('FindCodeReindex')
  T.wait(60000, function()
    for i = before + 1, #T.progress do
      if T.progress[i].kind == 'end' then return true end
    end
  end, 'the second pass to end')
  vim.wait(500)  -- a second ready message would come now
  return { sent = sent, symbols = status.symbols, index = status.indexPaths[1] }
end)
""",
        cwd=workspace,
        files=[workspace / "net" / "http_client.py"],
        # the plugin's own config only: no indexDir or any other option of the harness
        setup=f"vim.lsp.config['findcode'] = {{ cmd = {lua(SERVER)} }}\n"
        "require('findcode').setup()",
        env={"XDG_CACHE_HOME": str(cache)},
    )
    r = result(data)
    assert r["sent"] == "{}"
    assert Path(r["index"]).is_relative_to(cache)
    assert data["notes"] == [
        {"msg": f"findcode: index ready: 6 files, {r['symbols']} symbols", "level": INFO},
        {"msg": "findcode: reindexing the workspace", "level": INFO},
    ]

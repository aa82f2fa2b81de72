--- :checkhealth findcode: the Neovim version, the server command, a running server and its
--- index, and the picker :FindCode will use.
local M = {}

function M.check()
  local health = vim.health
  health.start('findcode')

  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim 0.11 or later is needed (vim.lsp.config, vim.lsp.enable)')
    return
  end

  local ok, config = pcall(function()
    return vim.lsp.config.findcode
  end)
  local cmd = ok and config and config.cmd
  if type(cmd) == 'table' and cmd[1] then
    local path = vim.fn.exepath(cmd[1])
    if path ~= '' then
      health.ok(string.format('server command: %s (%s)', table.concat(cmd, ' '), path))
    else
      health.error(
        string.format('server command `%s` is not an executable', cmd[1]),
        { 'pip install findcode', "or vim.lsp.config('findcode', { cmd = { ... } })" }
      )
    end
  elseif type(cmd) == 'function' then
    health.info('server command: a function (not checked)')
  else
    health.error('no findcode config: is editors/nvim on the runtimepath?')
  end

  local client = vim.lsp.get_clients({ name = 'findcode' })[1]
  if not client then
    health.warn('no findcode server is running', { 'open a file of the workspace; :LspLog for errors' })
  else
    local res = client:request_sync(require('findcode.protocol').STATUS, {}, 2000)
    local s = res and res.result
    if type(s) == 'table' then
      local report = s.state == 'error' and health.error or health.ok
      report(
        string.format(
          'server %d: %s, %d files, %d symbols, %d pending; index %s',
          client.id,
          s.state,
          s.files or 0,
          s.symbols or 0,
          s.pending or 0,
          table.concat(s.indexPaths or {}, ', ')
        )
      )
      if s.lastError and s.lastError ~= vim.NIL then
        health.warn('last error: ' .. tostring(s.lastError))
      end
    else
      health.warn('the server did not answer findcode/status: ' .. vim.inspect(res and res.err))
    end
  end

  local commands = require('findcode.commands')
  health.info('picker: ' .. require('findcode.pickers').resolve(commands.options.picker))
end

return M

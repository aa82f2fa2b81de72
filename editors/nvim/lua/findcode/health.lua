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

  local server = require('findcode.server')
  local cmd = server.cmd()
  if cmd then
    local path = vim.fn.exepath(cmd[1])
    if path == '' then
      health.error(
        string.format('server command `%s` is not an executable', cmd[1]),
        { 'pip install findcode', "or vim.lsp.config('findcode', { cmd = { ... } })" }
      )
    else
      -- Runs it: an interpreter on PATH without the findcode package is found but useless.
      local works, said = server.check_version(cmd)
      if works then
        health.ok(string.format('server command: %s (%s, %s)', table.concat(cmd, ' '), path, said))
      else
        local python = vim.fs.basename(path):match('^python') ~= nil
        health.error('the server command does not run: ' .. said, {
          python and string.format('install findcode for that interpreter: %s -m pip install findcode', path)
            or 'reinstall findcode: pip install findcode',
          "or vim.lsp.config('findcode', { cmd = { ... } })",
        })
      end
    end
  else
    local ok, config = pcall(function()
      return vim.lsp.config.findcode
    end)
    if ok and config and type(config.cmd) == 'function' then
      health.info('server command: a function (not checked)')
    else
      health.error('no findcode config: is editors/nvim on the runtimepath?')
    end
  end

  local client = vim.lsp.get_clients({ name = 'findcode' })[1]
  if not client then
    health.warn('no findcode server is running', {
      'open a file of the workspace; errors are in ' .. vim.lsp.log.get_filename(),
    })
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
      if s.waiting and s.waiting ~= vim.NIL then
        health.warn(tostring(s.waiting))
      end
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

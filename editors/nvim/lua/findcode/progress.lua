--- A short "index ready" notification when a findcode server finishes its first indexing pass.
--- The pass itself is LSP work-done progress, shown wherever LspProgress is (fidget.nvim, a
--- statusline with vim.lsp.status()); without such a plugin, this message is the only sign that
--- :FindCode now sees the whole workspace. Later passes (saves, :FindCodeReindex) stay quiet.
local protocol = require('findcode.protocol')

local M = {}

local group = vim.api.nvim_create_augroup('findcode.progress', { clear = true })

--- Starts (enabled) or stops (not) the notification; setup() calls it with its notify_ready.
---@param enabled boolean
function M.notify_ready(enabled)
  vim.api.nvim_clear_autocmds({ group = group })
  if not enabled then
    return
  end
  local passes = {} -- client id -> token of its first indexing pass, or true once it ended
  vim.api.nvim_create_autocmd('LspProgress', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      local value = ev.data.params.value
      if not client or client.name ~= 'findcode' or type(value) ~= 'table' then
        return
      end
      local id, token = client.id, ev.data.params.token
      if value.kind == 'begin' and passes[id] == nil and value.title == protocol.PROGRESS_TITLE then
        passes[id] = token
      elseif value.kind == 'end' and passes[id] == token then
        passes[id] = true
        client:request(protocol.STATUS, {}, function(err, s)
          local msg = 'findcode: index ready'
          if not err and type(s) == 'table' then
            msg = string.format('%s: %d files, %d symbols', msg, s.files or 0, s.symbols or 0)
          end
          vim.notify(msg, vim.log.levels.INFO, { title = 'findcode' })
        end)
      end
    end,
  })
end

return M

--- findcode for Neovim: `require('findcode').setup(opts)` sets the :FindCode commands' options
--- (the commands themselves come from plugin/findcode.lua) and enables the `findcode` language
--- server config (lsp/findcode.lua).
local M = {}

---@class findcode.Options
---@field init_options? table the server's initializationOptions (camelCase: indexDir, cacheDir, exclude, ...)
---@field picker? 'auto'|'telescope'|'fzf-lua'|'select' where :FindCode shows results ('auto')
---@field limit? integer results a request (default: the server's searchDefaults.limit)
---@field enable? boolean call vim.lsp.enable('findcode') (default true)
---@field notify_ready? boolean a message when the first index is built (default true)

---@param opts? findcode.Options
function M.setup(opts)
  opts = opts or {}
  local commands = require('findcode.commands')
  commands.options.picker = opts.picker or 'auto'
  commands.options.limit = opts.limit
  if opts.init_options and next(opts.init_options) ~= nil then
    vim.lsp.config('findcode', { init_options = opts.init_options })
  end
  require('findcode.progress').notify_ready(opts.notify_ready ~= false)
  -- A runtimepath entry added after startup has not had its plugin/ sourced.
  if not vim.g.loaded_findcode then
    vim.cmd.runtime('plugin/findcode.lua')
  end
  if opts.enable ~= false then
    vim.lsp.enable('findcode')
  end
end

-- The commands, for mappings: require('findcode').search('query'), .similar(), ...
setmetatable(M, {
  __index = function(_, key)
    return require('findcode.commands')[key]
  end,
})

return M

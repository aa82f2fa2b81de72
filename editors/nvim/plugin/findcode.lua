--- The :FindCode commands exist as soon as this directory is on 'runtimepath', before (or
--- without) require('findcode').setup(): each loads the plugin's Lua only when it runs.
if vim.g.loaded_findcode then
  return
end
vim.g.loaded_findcode = true

local function commands()
  return require('findcode.commands')
end

local create = vim.api.nvim_create_user_command
create('FindCode', function(a)
  commands().search(a.args, a.bang)
end, { nargs = '?', bang = true, desc = 'findcode: semantic search (! for the quickfix list)' })
create('FindCodeSimilar', function(a)
  commands().similar(a.range > 0 and { a.line1, a.line2 } or nil)
end, { range = true, desc = 'findcode: code like the symbol at the cursor or the selection' })
create('FindCodeStatus', function()
  commands().status()
end, { desc = 'findcode: index status' })
create('FindCodeReindex', function()
  commands().reindex()
end, { desc = 'findcode: drop the index and rebuild it' })
create('FindCodePause', function()
  commands().pause()
end, { desc = 'findcode: pause indexing (searches go on)' })
create('FindCodeResume', function()
  commands().resume()
end, { desc = 'findcode: resume indexing' })

--- findcode client: user commands over the findcode language server. The server does the work;
--- this file sends requests and renders results (quickfix or vim.ui.select).
local protocol = require('findcode.protocol')

local M = {}

local function notify(msg, level)
  vim.notify('findcode: ' .. msg, level or vim.log.levels.INFO)
end

local function client()
  local c = vim.lsp.get_clients({ name = 'findcode' })[1]
  if not c then
    notify('the findcode server is not running (is `findcode` installed and on $PATH?)', vim.log.levels.ERROR)
  end
  return c
end

local function to_items(results)
  local items = {}
  for _, r in ipairs(results or {}) do
    table.insert(items, {
      filename = vim.uri_to_fname(r.uri),
      lnum = r.range.start.line + 1,
      col = r.range.start.character + 1,
      text = string.format('%s %s (%.2f)', r.kind, r.qualifiedName, r.score),
    })
  end
  return items
end

local function show(items, to_quickfix, title)
  if to_quickfix then
    vim.fn.setqflist({}, ' ', { title = title, items = items })
    vim.cmd('copen')
    return
  end
  vim.ui.select(items, {
    prompt = title,
    format_item = function(i)
      return string.format('%s:%d %s', vim.fn.fnamemodify(i.filename, ':.'), i.lnum, i.text)
    end,
  }, function(choice)
    if choice then
      vim.cmd.edit(vim.fn.fnameescape(choice.filename))
      vim.api.nvim_win_set_cursor(0, { choice.lnum, choice.col - 1 })
    end
  end)
end

local function request(method, params, cb)
  local c = client()
  if not c then
    return
  end
  c:request(method, params, function(err, result)
    if err then
      notify(err.message or tostring(err), vim.log.levels.ERROR)
      return
    end
    cb(result)
  end)
end

function M.search(query, to_quickfix)
  if not query or query == '' then
    vim.ui.input({ prompt = 'FindCode: ' }, function(q)
      if q and q ~= '' then
        M.search(q, to_quickfix)
      end
    end)
    return
  end
  request(protocol.SEARCH, { query = query }, function(res)
    show(to_items(res.results), to_quickfix, 'FindCode: ' .. query)
  end)
end

function M.similar(range)
  local params = { textDocument = { uri = vim.uri_from_bufnr(0) } }
  if range then
    params.range = {
      start = { line = range[1] - 1, character = 0 },
      ['end'] = { line = range[2], character = 0 },
    }
  else
    local pos = vim.api.nvim_win_get_cursor(0)
    params.position = { line = pos[1] - 1, character = pos[2] }
  end
  request(protocol.SIMILAR, params, function(res)
    show(to_items(res.results), false, 'FindCodeSimilar')
  end)
end

function M.status()
  request(protocol.STATUS, {}, function(s)
    notify(string.format('%s: %d files, %d symbols, %d pending', s.state, s.files, s.symbols, s.pending))
  end)
end

function M.reindex()
  request('workspace/executeCommand', { command = protocol.COMMAND_REINDEX, arguments = {} }, function()
    notify('reindexing')
  end)
end

function M.setup(opts)
  opts = opts or {}
  if opts.init_options then
    vim.lsp.config('findcode', { init_options = opts.init_options })
  end
  vim.api.nvim_create_user_command('FindCode', function(a)
    M.search(a.args, a.bang)
  end, { nargs = '?', bang = true, desc = 'findcode: semantic search' })
  vim.api.nvim_create_user_command('FindCodeSimilar', function(a)
    M.similar(a.range > 0 and { a.line1, a.line2 } or nil)
  end, { range = true, desc = 'findcode: code like this code' })
  vim.api.nvim_create_user_command('FindCodeStatus', M.status, { desc = 'findcode: index status' })
  vim.api.nvim_create_user_command('FindCodeReindex', M.reindex, { desc = 'findcode: rebuild the index' })
  if opts.enable ~= false then
    vim.lsp.enable('findcode')
  end
end

return M

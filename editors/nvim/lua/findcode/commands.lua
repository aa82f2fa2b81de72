--- The :FindCode commands. Each builds a request, sends it to the findcode server and hands the
--- answer to the quickfix list or a picker (pickers.lua). The server does the work. Whatever
--- goes wrong (no server, a server that exited, a refused request) ends in one vim.notify error,
--- never a Lua traceback.
local protocol = require('findcode.protocol')
local pickers = require('findcode.pickers')

local M = {}

--- Set by setup(): picker ('auto', 'telescope', 'fzf-lua', 'select') and limit (nil: the
--- server's searchDefaults.limit).
M.options = { picker = 'auto', limit = nil }

local levels = vim.log.levels

local function notify(msg, level)
  vim.notify('findcode: ' .. msg, level or levels.INFO, { title = 'findcode' })
end

--- Why no client is running, in words a user can act on.
local function why_not_running()
  local ok, config = pcall(function()
    return vim.lsp.config.findcode
  end)
  local cmd = ok and config and config.cmd
  if type(cmd) == 'table' and cmd[1] and vim.fn.executable(cmd[1]) == 0 then
    return string.format(
      'the findcode server is not running: `%s` is not an executable (pip install findcode, '
        .. "or set cmd with vim.lsp.config('findcode', { cmd = ... }))",
      cmd[1]
    )
  end
  return 'the findcode server is not running (open a file of the workspace; see :checkhealth findcode)'
end

--- The findcode client of the current buffer, else any findcode client; nil (and an error
--- shown) when none is running.
function M.client()
  local c = vim.lsp.get_clients({ name = 'findcode', bufnr = 0 })[1] or vim.lsp.get_clients({ name = 'findcode' })[1]
  if not c then
    notify(why_not_running(), levels.ERROR)
  end
  return c
end

--- Sends `method` and calls `on_result(result, client)` with a non-error answer (a null result
--- is an error unless `allow_null`: findcode's own requests always answer an object).
local function request(method, params, on_result, allow_null)
  local c = M.client()
  if not c then
    return
  end
  local handler = function(err, result)
    if err then
      notify(string.format('%s failed: %s', method, err.message or vim.inspect(err)), levels.ERROR)
      return
    end
    if (result == nil or result == vim.NIL) and not allow_null then
      notify(method .. ': the server sent no result', levels.ERROR)
      return
    end
    local ok, failure = pcall(on_result, result, c)
    if not ok then
      notify(string.format('%s: %s', method, failure), levels.ERROR)
    end
  end
  local ok, sent = pcall(c.request, c, method, params, handler)
  if not ok or not sent then
    notify('the findcode server has stopped (see :LspLog and :checkhealth findcode)', levels.ERROR)
  end
end

--- Shows a search response: the quickfix list or a picker; says so when there is nothing.
local function show(response, title, to_quickfix)
  local items = pickers.items(response.results)
  local index = response.index
  if type(index) == 'table' and index.state ~= 'idle' and index.total then
    notify(
      string.format('still indexing (%d/%d files): results may be incomplete', index.indexed or 0, index.total),
      levels.WARN
    )
  end
  if to_quickfix then
    pickers.quickfix(items, title)
  end
  if #items == 0 then
    notify('no results for ' .. title)
    return
  end
  if not to_quickfix then
    pickers.pick(items, title, M.options.picker)
  end
end

--- findcode/search params for `query` (the configured limit, if any).
function M.search_params(query)
  return { query = query, limit = M.options.limit }
end

--- :FindCode {query}: a picker; with `to_quickfix` (:FindCode!) the quickfix list. Without a
--- query, asks for one.
function M.search(query, to_quickfix)
  if not query or vim.trim(query) == '' then
    vim.ui.input({ prompt = 'FindCode: ' }, function(q)
      if q and vim.trim(q) ~= '' then
        M.search(q, to_quickfix)
      end
    end)
    return
  end
  request(protocol.SEARCH, M.search_params(query), function(response)
    show(response, 'FindCode: ' .. query, to_quickfix)
  end)
end

--- findcode/similar params for buffer `bufnr`: the symbol around the cursor, or the lines
--- range[1]..range[2] (1-based, inclusive). A selection's range ends at the end of its last line
--- (an LSP position: 0-based line, character counted in `encoding`), so the server reads the
--- selected lines and no more.
---@param bufnr integer
---@param range? integer[] { first_line, last_line }
---@param encoding? string the client's offset encoding ('utf-16' by default)
function M.similar_params(bufnr, range, encoding)
  encoding = encoding or 'utf-16'
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, limit = M.options.limit }
  if range then
    local first, last = math.min(range[1], range[2]), math.max(range[1], range[2])
    local text = vim.api.nvim_buf_get_lines(bufnr, last - 1, last, false)[1] or ''
    params.range = {
      start = { line = first - 1, character = 0 },
      ['end'] = { line = last - 1, character = vim.str_utfindex(text, encoding) },
    }
  else
    local win = vim.fn.bufwinid(bufnr)
    params.position = vim.lsp.util.make_position_params(win ~= -1 and win or 0, encoding).position
  end
  return params
end

--- :[range]FindCodeSimilar: code like the symbol at the cursor, or like the selected lines.
function M.similar(range)
  local c = M.client()
  if not c then
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].modified then
    notify('the buffer has unsaved changes: findcode reads the file as saved', levels.WARN)
  end
  local params = M.similar_params(bufnr, range, c.offset_encoding)
  request(protocol.SIMILAR, params, function(response)
    show(response, 'FindCodeSimilar', false)
  end)
end

--- :FindCodeStatus
function M.status()
  request(protocol.STATUS, {}, function(s)
    local model = type(s.model) == 'table' and s.model.name or '?'
    local msg = string.format(
      '%s: %d files, %d symbols, %d pending (model %s)',
      s.state,
      s.files or 0,
      s.symbols or 0,
      s.pending or 0,
      model
    )
    if s.lastError and s.lastError ~= vim.NIL then
      msg = msg .. '; last error: ' .. tostring(s.lastError)
    end
    notify(msg, s.state == 'error' and levels.ERROR or levels.INFO)
  end)
end

--- :FindCodeReindex
function M.reindex()
  request('workspace/executeCommand', { command = protocol.COMMAND_REINDEX, arguments = {} }, function()
    notify('reindexing the workspace')
  end, true)
end

--- Creates the user commands.
function M.create()
  local create = vim.api.nvim_create_user_command
  create('FindCode', function(a)
    M.search(a.args, a.bang)
  end, { nargs = '?', bang = true, desc = 'findcode: semantic search (! for the quickfix list)' })
  create('FindCodeSimilar', function(a)
    M.similar(a.range > 0 and { a.line1, a.line2 } or nil)
  end, { range = true, desc = 'findcode: code like the symbol at the cursor or the selection' })
  create('FindCodeStatus', M.status, { desc = 'findcode: index status' })
  create('FindCodeReindex', M.reindex, { desc = 'findcode: drop the index and rebuild it' })
end

return M

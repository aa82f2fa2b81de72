--- The :FindCode commands. Each builds a request, sends it to the findcode server and hands the
--- answer to the quickfix list or a picker (pickers.lua). The server does the work. Whatever
--- goes wrong (no server, a server that exited, a refused request) ends in one vim.notify error,
--- never a Lua traceback.
local protocol = require('findcode.protocol')
local pickers = require('findcode.pickers')
local live = require('findcode.live')

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
  local cmd = require('findcode.server').cmd()
  if cmd and vim.fn.executable(cmd[1]) == 0 then
    return string.format(
      'the findcode server is not running: `%s` is not an executable (pip install findcode, '
        .. "or set cmd with vim.lsp.config('findcode', { cmd = ... }))",
      cmd[1]
    )
  end
  if not vim.lsp.is_enabled('findcode') then
    -- The commands exist before setup() (plugin/findcode.lua); the server starts after it.
    return "the findcode server is not enabled: call require('findcode').setup() or vim.lsp.enable('findcode')"
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

--- The client is there but its server is gone: where to look.
local function stopped()
  notify(
    string.format(
      'the findcode server has stopped (log: %s; run :checkhealth findcode)',
      vim.fn.fnamemodify(vim.lsp.log.get_filename(), ':~')
    ),
    levels.ERROR
  )
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
    stopped()
  end
end

--- "still indexing 3/6 files: results may be incomplete", or nil when the index is idle.
local function indexing_note(index)
  if type(index) == 'table' and index.state ~= 'idle' and index.total then
    return string.format('still indexing %d/%d files: results may be incomplete', index.indexed or 0, index.total)
  end
end

--- Whether an answer has results but none of them a close match.
local function no_close_match(response)
  return #(response.results or {}) > 0 and protocol.close_matches(response) == 0
end

--- Says that nothing passed the server's threshold for a close match: the list that follows
--- shows weak matches only. `subject` is what was asked ('"query"', 'code like a.py:3').
local function say_no_close_match(subject)
  notify(string.format('no close match for %s: the list shows weak matches only', subject))
end

--- `title` with its notes: none of the results is a close match; the index is still being
--- built. The notes go where the results are (a picker's title, the quickfix title), not only
--- in a message the list would hide.
function M.title(title, index, no_close)
  local notes = {}
  if no_close then
    table.insert(notes, 'no close match')
  end
  local indexing = indexing_note(index)
  if indexing then
    table.insert(notes, indexing)
  end
  return #notes > 0 and string.format('%s (%s)', title, table.concat(notes, '; ')) or title
end

--- Shows a search response: the quickfix list or a picker; says so when there is nothing, or
--- nothing close.
local function show(response, title, subject, to_quickfix)
  local items = pickers.items(response.results)
  local no_close = no_close_match(response)
  title = M.title(title, response.index, no_close)
  if to_quickfix then
    pickers.quickfix(items, title)
  end
  if #items == 0 then
    notify('no results for ' .. title)
    return
  end
  if no_close then
    say_no_close_match(subject)
  end
  if not to_quickfix then
    pickers.pick(items, title, M.options.picker)
  end
end

--- findcode/search params for `query` (the configured limit, if any).
function M.search_params(query)
  return { query = query, limit = M.options.limit }
end

--- Starts findcode/search for `query`; `done(err, response)` gets the answer. Returns a
--- function that cancels the request (nil when none was sent: then done has been called).
local function send_search(query, done)
  local c = M.client()
  if not c then
    done(nil, nil)
    return nil
  end
  local ok, sent, id = pcall(c.request, c, protocol.SEARCH, M.search_params(query), function(err, result)
    if err and err.code ~= protocol.REQUEST_CANCELLED then
      notify(string.format('%s failed: %s', protocol.SEARCH, err.message or vim.inspect(err)), levels.ERROR)
    end
    done(err, result)
  end)
  if not ok or not sent then
    stopped()
    done(nil, nil)
    return nil
  end
  return function()
    pcall(c.cancel_request, c, id)
  end
end

--- A live picker on `query`: it asks again as its prompt changes. A "still indexing" answer
--- is said when the picker closes, since a live picker's title is set once. True when the
--- picker opened, or when there is no server (said already: no picker to fall back to).
local function search_live(query)
  if not M.client() then
    return true
  end
  local loop = live.new(send_search)
  local indexing
  -- Said when an answer has no close match after one that had (or as the first answer), not
  -- for every prompt typed on while nothing matches.
  local had_close = true
  local function ask(prompt, on_items)
    loop.ask(prompt, function(err, response)
      if err or type(response) ~= 'table' then
        on_items({})
        return
      end
      indexing = indexing_note(response.index)
      local no_close = no_close_match(response)
      if no_close and had_close then
        say_no_close_match('"' .. vim.trim(prompt) .. '"')
      end
      had_close = not no_close
      on_items(pickers.items(response.results))
    end)
  end
  local function on_close()
    loop.close()
    if indexing then
      notify(indexing, levels.WARN)
    end
  end
  return pickers.pick_live(query, 'FindCode', M.options.picker, ask, on_close)
end

--- :FindCode {query}: a picker; with `to_quickfix` (:FindCode!) the quickfix list. Without a
--- query, asks for one, except in a live picker, which has a prompt of its own.
function M.search(query, to_quickfix)
  query = vim.trim(query or '')
  if not to_quickfix and pickers.is_live(M.options.picker) and search_live(query) then
    return
  end
  if query == '' then
    vim.ui.input({ prompt = 'FindCode: ' }, function(q)
      if q and vim.trim(q) ~= '' then
        M.search(q, to_quickfix)
      end
    end)
    return
  end
  request(protocol.SEARCH, M.search_params(query), function(response)
    show(response, 'FindCode: ' .. query, '"' .. query .. '"', to_quickfix)
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
  -- The title says what the results are like: the code at the cursor, or the selected lines.
  local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':t')
  local like = range and string.format('%s:%d-%d', name, math.min(range[1], range[2]), math.max(range[1], range[2]))
    or string.format('%s:%d', name, vim.api.nvim_win_get_cursor(0)[1])
  request(protocol.SIMILAR, params, function(response)
    show(response, 'FindCodeSimilar: ' .. like, 'code like ' .. like, false)
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
    local waiting = s.waiting and s.waiting ~= vim.NIL
    if waiting then -- the embedding server is away: search answers by words meanwhile
      msg = msg .. '; ' .. tostring(s.waiting)
    end
    if s.switching and s.switching ~= vim.NIL then -- the old model answers meanwhile
      msg = msg .. '; ' .. tostring(s.switching)
    end
    if s.lastError and s.lastError ~= vim.NIL then
      msg = msg .. '; last error: ' .. tostring(s.lastError)
    end
    local level = s.state == 'error' and levels.ERROR or waiting and levels.WARN or levels.INFO
    notify(msg .. M.paused_note(s), level)
  end)
end

--- '; indexing paused by you (:FindCodeResume)' for a paused status, else ''.
function M.paused_note(s)
  if s.state ~= 'paused' then
    return ''
  end
  local why = protocol.PAUSED[s.paused] or 'paused'
  return string.format('; indexing %s (:FindCodeResume)', why)
end

--- :FindCodePause and :FindCodeResume: the server answers its status once it has the order.
local function pause_command(command, done)
  request('workspace/executeCommand', { command = command, arguments = {} }, function(s)
    notify(string.format('indexing %s: %d symbols, %d pending', done, s.symbols or 0, s.pending or 0))
  end)
end

--- :FindCodePause
function M.pause()
  pause_command(protocol.COMMAND_PAUSE, 'paused')
end

--- :FindCodeResume
function M.resume()
  pause_command(protocol.COMMAND_RESUME, 'resumed')
end

--- :FindCodeReindex
function M.reindex()
  request('workspace/executeCommand', { command = protocol.COMMAND_REINDEX, arguments = {} }, function()
    notify('reindexing the workspace')
  end, true)
end

return M

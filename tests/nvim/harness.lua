--- Helpers for the headless Neovim tests (loaded by the init that nvim_support.py writes).
--- A test script calls `T.run(function() ... return result end)`: the result, or the error with
--- its traceback, goes to the JSON file the Python side reads, then Neovim quits. Every wait is
--- bounded, so a broken server fails the test with a message instead of hanging it.
local T = {}

T.progress = {} -- every LspProgress event: { kind, title, message }
T.notes = {} -- every vim.notify call: { msg, level }

-- Recorded, not shown: Neovim 0.12 shows an ERROR notification like :echoerr, which raises
-- inside the pcall(vim.cmd, ...) that the tests use to check that no command raises.
vim.notify = function(msg, level)
  table.insert(T.notes, { msg = msg, level = level })
end

vim.api.nvim_create_autocmd('LspProgress', {
  callback = function(ev)
    local value = ev.data and ev.data.params and ev.data.params.value or {}
    table.insert(T.progress, { kind = value.kind, title = value.title, message = value.message })
  end,
})

--- Waits for `cond()` to be truthy; raises `what` after `timeout_ms`.
function T.wait(timeout_ms, cond, what)
  if not vim.wait(timeout_ms, cond, 50) then
    error('timed out after ' .. timeout_ms .. ' ms: ' .. what, 2)
  end
end

function T.client()
  return vim.lsp.get_clients({ name = 'findcode' })[1]
end

--- A synchronous request to the findcode server.
function T.request(method, params, timeout_ms)
  local c = assert(T.client(), 'no findcode client')
  local res = c:request_sync(method, params or {}, timeout_ms or 60000)
  if not res then
    error('no answer to ' .. method, 2)
  end
  if res.err then
    error(method .. ': ' .. vim.inspect(res.err), 2)
  end
  return res.result
end

--- Waits until the client is attached to the current buffer and the index is idle.
function T.wait_ready(min_symbols)
  T.wait(60000, function()
    return #vim.lsp.get_clients({ name = 'findcode', bufnr = 0 }) > 0
  end, 'the findcode client to attach')
  local last
  T.wait(120000, function()
    last = T.request('findcode/status')
    assert(last.state ~= 'error', 'index error: ' .. tostring(last.lastError))
    return last.state == 'idle' and last.pending == 0 and last.symbols >= (min_symbols or 1)
  end, 'the index to be idle')
  return last
end

--- Records the params of every request the findcode client sends from now on.
function T.record_requests()
  local c = assert(T.client(), 'no findcode client')
  local sent = {}
  local original = c.request
  c.request = function(self, method, params, ...)
    table.insert(sent, { method = method, params = params })
    return original(self, method, params, ...)
  end
  return sent
end

--- Replaces vim.ui.select with one that records its arguments (and picks nothing).
function T.capture_select()
  local calls = {}
  vim.ui.select = function(items, opts, on_choice)
    local formatted = {}
    for _, item in ipairs(items) do
      table.insert(formatted, opts.format_item and opts.format_item(item) or tostring(item))
    end
    table.insert(calls, { items = items, prompt = opts.prompt, formatted = formatted, choose = on_choice })
  end
  return calls
end

function T.qflist()
  local out = {}
  for _, e in ipairs(vim.fn.getqflist()) do
    table.insert(out, { file = vim.fn.bufname(e.bufnr), lnum = e.lnum, col = e.col, text = e.text })
  end
  return out
end

local function finish(result)
  local ok, encoded = pcall(vim.json.encode, result)
  if not ok then
    encoded = vim.json.encode({ error = 'result not JSON: ' .. tostring(encoded) })
  end
  vim.fn.writefile({ encoded }, T.out)
  vim.cmd('qa!')
end

--- Run after the test script: it gets here only when the script did not reach T.run (a syntax
--- error, an error before T.run), and reports that instead of leaving Neovim running.
function T.not_run()
  finish({ error = 'the test script did not run: ' .. vim.v.errmsg, progress = T.progress, notes = T.notes })
end

function T.run(body)
  local ok, result = xpcall(body, debug.traceback)
  if ok then
    finish({ result = result, progress = T.progress, notes = T.notes })
  else
    finish({ error = result, progress = T.progress, notes = T.notes })
  end
end

return T

--- The server process as the client sees it: its command, what `--version` says about it, and
--- why it exited. Neovim keeps a server's stderr only in its LSP log, so the exit message reads
--- the lines the server wrote there since it started: "No module named findcode" says more than
--- an exit code.
local M = {}

--- The findcode config's cmd (a list), or nil when it is missing or a function.
function M.cmd()
  local ok, config = pcall(function()
    return vim.lsp.config.findcode
  end)
  local cmd = ok and config and config.cmd
  return type(cmd) == 'table' and cmd[1] and cmd or nil
end

--- The server command with `serve` and what follows it replaced by `--version` (a top-level
--- flag of the findcode CLI), so the check runs the same interpreter and module as the server.
function M.version_cmd(cmd)
  local out = {}
  for _, arg in ipairs(cmd) do
    if arg == 'serve' then
      break
    end
    table.insert(out, arg)
  end
  table.insert(out, '--version')
  return out
end

--- The last `n` non-empty lines of `text`.
function M.last_lines(text, n)
  local lines = vim.tbl_filter(function(line)
    return vim.trim(line) ~= ''
  end, vim.split(text or '', '\n', { plain = true }))
  return vim.list_slice(lines, math.max(#lines - n + 1, 1))
end

--- Runs the version command; returns ok, and the version or the reason it failed.
---@return boolean, string
function M.check_version(cmd)
  local argv = M.version_cmd(cmd)
  local ok, proc = pcall(vim.system, argv, { text = true })
  if not ok then
    return false, tostring(proc)
  end
  local res = proc:wait(15000)
  if res.code == 0 then
    return true, vim.trim(res.stdout or '')
  end
  local why = table.concat(M.last_lines((res.stderr or '') .. (res.stdout or ''), 3), ' | ')
  return false, string.format('`%s` exited with code %d: %s', table.concat(argv, ' '), res.code, why)
end

local log_mark = 0

--- Remembers where the LSP log ends when a server starts: its stderr is what follows.
function M.mark_log()
  log_mark = vim.fn.getfsize(vim.lsp.log.get_filename())
  log_mark = math.max(log_mark, 0)
end

-- Neovim logs each stderr chunk as a Lua string literal (vim.inspect); undo its escapes.
local escapes = { n = '\n', t = '\t', r = '\r', ['"'] = '"', ['\\'] = '\\' }
local function unescape(literal)
  return (
    literal
      :gsub('\\(%d%d?%d?)', function(d)
        return string.char(tonumber(d) % 256)
      end)
      :gsub('\\(.)', function(c)
        return escapes[c] or c
      end)
  )
end

--- The server's stderr since mark_log(), as Neovim logged it (cmd[1]'s chunks).
function M.stderr(cmd)
  local file = io.open(vim.lsp.log.get_filename(), 'rb')
  if not file then
    return ''
  end
  file:seek('set', log_mark)
  local text = file:read('*a') or ''
  file:close()
  local chunks = {}
  for line in text:gmatch('[^\n]+') do
    local name, literal = line:match('\t"rpc"\t"(.-)"\t"stderr"\t"(.*)"$')
    if literal and (not cmd or name == cmd[1]) then
      table.insert(chunks, unescape(literal))
    end
  end
  return table.concat(chunks)
end

--- on_exit of the findcode config: one error saying why, where the log is, what to run.
function M.on_exit(code, signal)
  if code == 0 and (signal == 0 or signal == 15) then
    return
  end
  -- The exit can be seen before the last stderr chunk is read and logged.
  vim.defer_fn(function()
    local msg = string.format('findcode: the server exited (code %d, signal %d)', code, signal)
    local last = M.last_lines(M.stderr(M.cmd()), 3)
    if #last > 0 then
      msg = msg .. ': ' .. table.concat(last, ' | ')
    end
    msg = msg
      .. string.format('. Log: %s; run :checkhealth findcode', vim.fn.fnamemodify(vim.lsp.log.get_filename(), ':~'))
    vim.notify(msg, vim.log.levels.ERROR, { title = 'findcode' })
  end, 200)
end

return M

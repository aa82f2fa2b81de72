--- Where results go: the quickfix list, or a picker. The picker is Telescope when it is
--- installed, else fzf-lua, else vim.ui.select (which dressing.nvim, snacks.nvim or mini.pick may
--- replace). Each picker gets the same items, in the server's rank order, except that weak
--- matches (the server's `weak`: below its threshold for a close match) come after the close
--- ones, marked "(weak)": quickfix-style tables { filename, lnum, col, text, user_data = the
--- findcode result }. Telescope and fzf-lua search live: they ask the server again as the
--- prompt changes (live.lua), the way live_grep does.
---
--- No score is shown: the rank order says which result the server thinks best, and the weak
--- mark says which ones it is not sure of.
local protocol = require('findcode.protocol')

local M = {}

M.WEAK = '(weak)'

local function item(r)
  local start = r.range and r.range.start or { line = 0, character = 0 }
  local text = string.format('%s %s', r.kind or '?', r.qualifiedName or r.name or '?')
  return {
    filename = vim.uri_to_fname(r.uri),
    lnum = start.line + 1,
    col = start.character + 1,
    text = protocol.is_weak(r) and text .. ' ' .. M.WEAK or text,
    user_data = r,
  }
end

--- One quickfix-style item a result, close matches first. The server's ranges are LSP
--- positions (0-based, UTF-16); the column is taken as a byte column, which differs only after
--- non-ASCII text on the line before the symbol's name, where a declaration rarely has any.
---@param results findcode.SearchResult[]
---@return table[]
function M.items(results)
  local close, weak = {}, {}
  for _, r in ipairs(results or {}) do
    table.insert(protocol.is_weak(r) and weak or close, item(r))
  end
  return vim.list_extend(close, weak)
end

--- "path:line text", the path relative to the current directory.
function M.format(item)
  return string.format('%s:%d %s', vim.fn.fnamemodify(item.filename, ':.'), item.lnum, item.text)
end

--- Opens an item's file at its position (what every picker does on <CR>).
function M.jump(item)
  vim.cmd.edit(vim.fn.fnameescape(item.filename))
  local last = vim.api.nvim_buf_line_count(0)
  pcall(vim.api.nvim_win_set_cursor, 0, { math.min(item.lnum, last), math.max(item.col - 1, 0) })
end

function M.quickfix(items, title)
  vim.fn.setqflist({}, ' ', { title = title, items = items })
  vim.cmd('botright copen')
end

function M.select(items, title)
  vim.ui.select(items, { prompt = title, kind = 'findcode', format_item = M.format }, function(choice)
    if choice then
      M.jump(choice)
    end
  end)
end

--- Telescope (documented API: pickers.new, finders.new_table, the quickfix entry maker and
--- previewer that its own LSP pickers use); <CR> opens the entry, <C-q> sends all to quickfix.
function M.telescope(items, title)
  local pickers = require('telescope.pickers')
  local finders = require('telescope.finders')
  local make_entry = require('telescope.make_entry')
  local conf = require('telescope.config').values
  local opts = {}
  pickers
    .new(opts, {
      prompt_title = title,
      finder = finders.new_table({ results = items, entry_maker = make_entry.gen_from_quickfix(opts) }),
      previewer = conf.qflist_previewer(opts),
      sorter = conf.generic_sorter(opts),
    })
    :find()
end

--- A live Telescope picker, like its live_grep and dynamic workspace symbols: a dynamic finder
--- whose fn runs in Telescope's async context and waits on a plenary channel for `ask`'s
--- answer; the sorter keeps the server's order. `on_close` runs when the prompt goes away.
---@param query string the prompt's first text
---@param ask fun(prompt: string, on_items: fun(items: table[]))
function M.telescope_live(query, title, ask, on_close)
  local pickers = require('telescope.pickers')
  local finders = require('telescope.finders')
  local make_entry = require('telescope.make_entry')
  local sorters = require('telescope.sorters')
  local conf = require('telescope.config').values
  local channel = require('plenary.async.control').channel
  local opts = {}
  pickers
    .new(opts, {
      prompt_title = title,
      default_text = query,
      finder = finders.new_dynamic({
        fn = function(prompt)
          local tx, rx = channel.oneshot()
          ask(prompt, tx)
          return rx()
        end,
        entry_maker = make_entry.gen_from_quickfix(opts),
      }),
      previewer = conf.qflist_previewer(opts),
      sorter = sorters.highlighter_only(opts),
      attach_mappings = function(prompt_bufnr)
        vim.api.nvim_create_autocmd('BufUnload', { buffer = prompt_bufnr, once = true, callback = on_close })
        return true
      end,
    })
    :find()
end

--- "file:line:col: text", the line fzf-lua's file actions and builtin previewer read.
local function fzf_line(item)
  return string.format('%s:%d:%d: %s', vim.fn.fnamemodify(item.filename, ':.'), item.lnum, item.col, item.text)
end

--- fzf-lua (documented API: fzf_exec with "file:line:col: text" lines, which its file actions
--- and builtin previewer understand).
function M.fzf_lua(items, title)
  local fzf = require('fzf-lua')
  fzf.fzf_exec(vim.tbl_map(fzf_line, items), {
    prompt = title .. '> ',
    previewer = 'builtin',
    actions = { ['default'] = fzf.actions.file_edit_or_qf },
  })
end

--- A live fzf-lua picker (fzf_live, as its live_grep): fzf reloads on every change and runs
--- this function with the query (a string, or { query } in newer fzf-lua); it answers with a
--- function that feeds the lines once `ask` has them.
function M.fzf_lua_live(query, title, ask, on_close)
  local fzf = require('fzf-lua')
  fzf.fzf_live(function(args)
    local prompt = type(args) == 'table' and args[1] or args
    return function(fzf_cb)
      ask(prompt or '', function(items)
        for _, item in ipairs(items) do
          fzf_cb(fzf_line(item))
        end
        fzf_cb()
      end)
    end
  end, {
    prompt = title .. '> ',
    query = query,
    exec_empty_query = false,
    previewer = 'builtin',
    actions = { ['default'] = fzf.actions.file_edit_or_qf },
    winopts = { on_close = on_close },
  })
end

local function installed(module)
  return (pcall(require, module))
end

--- The picker to use for `choice` ('auto', 'telescope', 'fzf-lua' or 'select').
---@param choice? string
---@return string
function M.resolve(choice)
  choice = choice or 'auto'
  if choice ~= 'auto' then
    return choice
  end
  if installed('telescope.pickers') then
    return 'telescope'
  end
  if installed('fzf-lua') then
    return 'fzf-lua'
  end
  return 'select'
end

local by_name = { telescope = M.telescope, ['fzf-lua'] = M.fzf_lua, select = M.select }
local live_by_name = { telescope = M.telescope_live, ['fzf-lua'] = M.fzf_lua_live }

--- Whether the chosen picker searches live (it asks the server again as its prompt changes).
function M.is_live(choice)
  return live_by_name[M.resolve(choice)] ~= nil
end

--- Opens the chosen live picker on `query`; false (and a warning) when it failed.
function M.pick_live(query, title, choice, ask, on_close)
  local name = M.resolve(choice)
  local ok, err = pcall(live_by_name[name], query, title, ask, on_close)
  if not ok then
    vim.notify(
      string.format('findcode: the %s picker failed (%s), using vim.ui.select', name, err),
      vim.log.levels.WARN
    )
  end
  return ok
end

--- Shows `items` in the chosen picker; falls back to vim.ui.select when that picker fails.
function M.pick(items, title, choice)
  local name = M.resolve(choice)
  local show = by_name[name]
  if not show then
    vim.notify(string.format('findcode: unknown picker %q, using vim.ui.select', name), vim.log.levels.WARN)
    show = M.select
  end
  local ok, err = pcall(show, items, title)
  if not ok and show ~= M.select then
    vim.notify(
      string.format('findcode: the %s picker failed (%s), using vim.ui.select', name, err),
      vim.log.levels.WARN
    )
    M.select(items, title)
  elseif not ok then
    error(err, 0)
  end
end

return M

--- STAND-INS for Telescope (with plenary's oneshot channel) and fzf-lua, put in package.preload:
--- neither plugin can be fetched on these machines (only PyPI, npm and Debian are reachable).
--- Each records the documented calls that findcode.pickers makes and plays the part of the
--- plugin that drives findcode's code: a live Telescope finder's fn runs in a coroutine and
--- waits on the channel, as in Telescope's async context; fzf_live's contents are called with
--- { query } and the function they return is fed a callback. They check findcode's side of
--- the contract, not the plugins' own behaviour.
local S = { calls = {} }

local function record(name, args)
  table.insert(S.calls, { name = name, args = args })
end

--- The entries a Telescope finder makes of `items`.
local function entries(finder, items)
  local out = {}
  for _, item in ipairs(items) do
    local e = finder.entry_maker(item)
    table.insert(out, { filename = e.filename, lnum = e.lnum, text = item.text })
  end
  return out
end

local modules = {
  ['telescope.pickers'] = function()
    return {
      new = function(_, spec)
        local picker = { spec = spec }
        --- Runs the live finder on `prompt` as Telescope would; `on_entries` gets the entries.
        function picker.type(prompt, on_entries)
          coroutine.wrap(function()
            on_entries(entries(spec.finder, spec.finder.fn(prompt)))
          end)()
        end
        function picker.close()
          vim.api.nvim_buf_delete(picker.bufnr, { force = true })
        end
        function picker.find()
          S.telescope = picker
          if spec.attach_mappings then
            picker.bufnr = vim.api.nvim_create_buf(false, true)
            spec.attach_mappings(picker.bufnr, function() end)
          end
          local args = { title = spec.prompt_title, default_text = spec.default_text, sorter = spec.sorter }
          args.previewer = spec.previewer
          if spec.finder.results then
            args.entries = entries(spec.finder, spec.finder.results)
          end
          record('telescope', args)
        end
        return picker
      end,
    }
  end,
  ['telescope.finders'] = function()
    return {
      new_table = function(t)
        return { results = t.results, entry_maker = t.entry_maker }
      end,
      new_dynamic = function(t)
        return { fn = t.fn, entry_maker = t.entry_maker }
      end,
    }
  end,
  ['telescope.make_entry'] = function()
    return {
      gen_from_quickfix = function()
        return function(item)
          return { value = item, filename = item.filename, lnum = item.lnum }
        end
      end,
    }
  end,
  ['telescope.sorters'] = function()
    return {
      highlighter_only = function()
        return 'highlighter_only'
      end,
    }
  end,
  ['telescope.config'] = function()
    return {
      values = {
        generic_sorter = function()
          return 'sorter'
        end,
        qflist_previewer = function()
          return 'previewer'
        end,
      },
    }
  end,
  ['plenary.async.control'] = function()
    return {
      channel = {
        oneshot = function()
          local value, waiting
          local function tx(...)
            value = { ... }
            if waiting then
              coroutine.resume(waiting)
            end
          end
          local function rx()
            if not value then
              waiting = coroutine.running()
              coroutine.yield()
            end
            return unpack(value)
          end
          return tx, rx
        end,
      },
    }
  end,
  ['fzf-lua'] = function()
    return {
      actions = { file_edit_or_qf = 'file_edit_or_qf' },
      fzf_exec = function(lines, opts)
        record('fzf-lua', {
          lines = lines,
          prompt = opts.prompt,
          default = opts.actions.default,
          previewer = opts.previewer,
        })
      end,
      fzf_live = function(contents, opts)
        local fzf = { opts = opts }
        --- Reloads with `query` as fzf does; `on_lines` gets the lines fed.
        function fzf.type(query, on_lines)
          local lines = {}
          contents({ query })(function(line)
            if line then
              table.insert(lines, line)
            else
              on_lines(lines)
            end
          end)
        end
        S.fzf = fzf
        record('fzf-lua live', {
          prompt = opts.prompt,
          query = opts.query,
          default = opts.actions.default,
          previewer = opts.previewer,
          exec_empty_query = opts.exec_empty_query,
        })
      end,
    }
  end,
}

--- Installs the stand-ins whose names start with one of `prefixes` (and removes the others);
--- with `broken`, telescope.pickers.new raises.
function S.install(prefixes, broken)
  for name in pairs(modules) do
    package.loaded[name] = nil
    package.preload[name] = nil
  end
  for _, prefix in ipairs(prefixes) do
    for name, loader in pairs(modules) do
      if name:sub(1, #prefix) == prefix then
        package.preload[name] = (broken and name == 'telescope.pickers')
            and function()
              return {
                new = function()
                  error('broken stand-in')
                end,
              }
            end
          or loader
      end
    end
  end
end

return S

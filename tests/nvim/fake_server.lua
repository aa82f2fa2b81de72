--- A STAND-IN for the findcode server, in the Neovim process: a `cmd` function (vim.lsp.Config
--- accepts one) whose client answers each request from a Lua function instead of a process.
--- For what the real server cannot be made to answer on demand (weak matches, an older
--- server's answer without them); everything else is tested against the real server. Each
--- answer comes back on a later tick, as over a pipe.
local F = { requests = {} }

--- A cmd whose server answers `initialize` and `shutdown` itself and every other request with
--- `answer(method, params)` (nil answers null).
---@param answer fun(method: string, params: table): any
function F.cmd(answer)
  return function(dispatchers)
    local closing, id = false, 0
    return {
      request = function(method, params, callback)
        id = id + 1
        table.insert(F.requests, { method = method, params = params })
        local result
        if method == 'initialize' then
          result = { capabilities = {}, serverInfo = { name = 'findcode stand-in' } }
        elseif method ~= 'shutdown' then
          result = answer(method, params)
        end
        vim.schedule(function()
          callback(nil, result == nil and vim.NIL or result)
        end)
        return true, id
      end,
      notify = function(method)
        if method == 'exit' and not closing then
          closing = true
          vim.schedule(function()
            dispatchers.on_exit(0, 0)
          end)
        end
        return true
      end,
      is_closing = function()
        return closing
      end,
      terminate = function()
        closing = true
      end,
    }
  end
end

return F

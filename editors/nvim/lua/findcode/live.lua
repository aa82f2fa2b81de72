--- Asking the server again as a live picker's prompt changes, the way live_grep re-runs rg: a
--- prompt is sent once typing pauses for `delay_ms`; a newer prompt cancels the request of an
--- older one, and an answer that arrives for an older prompt is dropped. Every callback is
--- called exactly once, with nothing when its prompt was overtaken, so a picker waiting on it
--- (Telescope's finder, an fzf-lua reload) always finishes.
local M = {}

M.DELAY_MS = 200

---@alias findcode.LiveSend fun(query: string, done: fun(err: table?, response: table?)): fun()?

--- A requery loop around `send(query, done)`, which starts one request and returns a function
--- that cancels it.
---@param send findcode.LiveSend
---@param delay_ms? integer
function M.new(send, delay_ms)
  local timer = assert(vim.uv.new_timer())
  local generation = 0
  local pending, cancel -- the callback of the newest prompt, and its request's cancel

  local function overtake()
    generation = generation + 1
    timer:stop()
    if cancel then
      cancel()
      cancel = nil
    end
    if pending then
      local overtaken = pending
      pending = nil
      overtaken(nil, nil)
    end
  end

  local live = {}

  --- Asks for `query` once typing pauses; `on_response(err, response)` gets the answer, or
  --- (nil, nil) when a newer prompt overtook this one. An empty prompt answers nil at once.
  function live.ask(query, on_response)
    overtake()
    if vim.trim(query or '') == '' then
      on_response(nil, nil)
      return
    end
    local mine = generation
    pending = on_response
    timer:start(
      delay_ms or M.DELAY_MS,
      0,
      vim.schedule_wrap(function()
        if mine ~= generation then
          return
        end
        cancel = send(query, function(err, response)
          if mine ~= generation then
            return
          end
          pending, cancel = nil, nil
          on_response(err, response)
        end)
      end)
    )
  end

  --- Ends the loop: the pending request is cancelled, its callback told so.
  function live.close()
    overtake()
    if not timer:is_closing() then
      timer:close()
    end
  end

  return live
end

return M

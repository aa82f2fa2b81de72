--- Mirrors server/findcode/protocol.py: method and command names, the result shapes (and the
--- progress title of server/findcode/lsp_progress.py). Change them together.
local M = {}

M.SEARCH = 'findcode/search'
M.SIMILAR = 'findcode/similar'
M.STATUS = 'findcode/status'

M.COMMAND_SEARCH = 'findcode.search'
M.COMMAND_REINDEX = 'findcode.reindex'
M.COMMAND_STATUS = 'findcode.status'
--- No arguments; both answer the status. A pause holds through a settings change, not a
--- server restart.
M.COMMAND_PAUSE = 'findcode.pause'
M.COMMAND_RESUME = 'findcode.resume'

--- Why indexing is paused (status.paused), in words.
M.PAUSED = { user = 'paused by you', battery = 'paused on battery' }

M.MAX_LIMIT = 200

--- The title of the work-done progress of an indexing pass.
M.PROGRESS_TITLE = 'findcode: indexing'

--- JSON-RPC's code for a request the client cancelled (a live picker's overtaken prompt).
M.REQUEST_CANCELLED = -32800

--- The answer of findcode/search and findcode/similar:
---@class findcode.SearchResponse
---@field results findcode.SearchResult[] best first
---@field index { state: string, indexed: integer, total: integer }
---@field tookMs number
---@field closeMatches? integer how many results are not weak (absent from older servers)

---@class findcode.SearchResult
---@field uri string
---@field range { start: { line: integer, character: integer }, ['end']: { line: integer, character: integer } }
---@field name string
---@field qualifiedName string
---@field kind string
---@field language string
---@field score number
---@field snippet string
---@field relevance? number calibrated 0..1, one scale for search and similar (absent from older servers)
---@field weak? boolean below the server's threshold for a close match (absent: not weak)

--- Whether a result is a weak match; a server that does not say is taken as sure of it.
---@param result findcode.SearchResult
function M.is_weak(result)
  return result.weak == true
end

--- How many results are close matches, counted from `weak` when the server does not say.
---@param response findcode.SearchResponse
---@return integer
function M.close_matches(response)
  if type(response.closeMatches) == 'number' then
    return response.closeMatches
  end
  local n = 0
  for _, r in ipairs(response.results or {}) do
    if not M.is_weak(r) then
      n = n + 1
    end
  end
  return n
end

return M

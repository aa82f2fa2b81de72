--- Mirrors server/findcode/protocol.py: method and command names (and the progress title of
--- server/findcode/lsp_progress.py). Change them together.
local M = {}

M.SEARCH = 'findcode/search'
M.SIMILAR = 'findcode/similar'
M.STATUS = 'findcode/status'

M.COMMAND_SEARCH = 'findcode.search'
M.COMMAND_REINDEX = 'findcode.reindex'
M.COMMAND_STATUS = 'findcode.status'

M.MAX_LIMIT = 200

--- The title of the work-done progress of an indexing pass.
M.PROGRESS_TITLE = 'findcode: indexing'

--- JSON-RPC's code for a request the client cancelled (a live picker's overtaken prompt).
M.REQUEST_CANCELLED = -32800

return M

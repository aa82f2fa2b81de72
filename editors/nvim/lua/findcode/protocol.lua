--- Mirrors server/findcode/protocol.py: method and command names. Change them together.
local M = {}

M.SEARCH = 'findcode/search'
M.SIMILAR = 'findcode/similar'
M.STATUS = 'findcode/status'

M.COMMAND_SEARCH = 'findcode.search'
M.COMMAND_REINDEX = 'findcode.reindex'
M.COMMAND_STATUS = 'findcode.status'

M.MAX_LIMIT = 200

return M

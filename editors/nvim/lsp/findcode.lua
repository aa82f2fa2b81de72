---@brief
---
--- https://github.com/findcode/findcode
---
--- Semantic code search over the workspace: `:FindCode {query}`, `:FindCodeSimilar`.
---
--- Install the server with `pip install findcode` (or `pipx install findcode`) so that
--- `findcode` is on `$PATH`, then `vim.lsp.enable('findcode')`.
---
--- Options go in `init_options` (camelCase, all optional): `model`, `indexDir`, `cacheDir`,
--- `exclude`, `languages`, `maxFileBytes`, `watch`, `threads`, `searchDefaults = { limit, mode }`,
--- `pauseOnBattery`, `lowPriority`.
--- `embedding = { url, model, apiKeyEnv, dimensions, batchSize, concurrency, timeoutS, retries,
--- profile }` (an OpenAI-compatible embeddings server instead of the local model).
---
--- The commands (`:FindCode`, `:FindCode!`, `:FindCodeSimilar`, `:FindCodeStatus`,
--- `:FindCodeReindex`, `:FindCodePause`, `:FindCodeResume`) come with the plugin (plugin/findcode.lua); see `:help findcode`.
--- Indexing progress is LSP work-done progress: it shows wherever `LspProgress` is shown
--- (fidget.nvim, the statusline's `vim.lsp.status()`).

---@type vim.lsp.Config
return {
  cmd = { 'findcode', 'serve' },
  filetypes = {
    'python',
    'javascript',
    'javascriptreact',
    'typescript',
    'typescriptreact',
    'go',
    'rust',
    'java',
    'c',
    'cpp',
    'cs',
    'ruby',
    'php',
    'kotlin',
  },
  root_markers = { '.git', 'pyproject.toml', 'package.json', 'go.mod', 'Cargo.toml' },
  workspace_required = true,
  -- An empty Lua table is sent as a JSON array, which the server refuses with a warning.
  init_options = vim.empty_dict(),
  -- Neovim's own message for this is a warning about its log file; say which server it was,
  -- and why (its last stderr lines).
  before_init = function()
    require('findcode.server').mark_log()
  end,
  on_exit = function(code, signal)
    require('findcode.server').on_exit(code, signal)
  end,
}

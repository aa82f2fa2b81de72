---@brief
---
--- https://github.com/findcode/findcode
---
--- Semantic code search over the workspace: `:FindCode {query}`, `:FindCodeSimilar`.
---
--- Install the server with `pip install findcode` (or `pipx install findcode`) so that
--- `findcode` is on `$PATH`, then `vim.lsp.enable('findcode')`.
---
--- Options go in `init_options` (camelCase, all optional): `model`, `indexDir`, `exclude`,
--- `languages`, `maxFileBytes`, `watch`, `threads`, `searchDefaults = { limit, mode }`.
---
--- The commands (`:FindCode`, `:FindCode!`, `:FindCodeSimilar`, `:FindCodeStatus`,
--- `:FindCodeReindex`) come with `require('findcode').setup()`; see `:help findcode`.
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
  init_options = {},
  -- Neovim's own message for this is a warning about its log file; say which server it was.
  on_exit = function(code, signal)
    if code ~= 0 or (signal ~= 0 and signal ~= 15) then
      vim.schedule(function()
        vim.notify(
          string.format('findcode: the server exited (code %d, signal %d); see :LspLog', code, signal),
          vim.log.levels.ERROR
        )
      end)
    end
  end,
}

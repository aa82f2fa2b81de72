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
}

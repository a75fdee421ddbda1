-- Neovim 0.11+: the base config for `vim.lsp.enable("promptstack")`. Override any field with
-- vim.lsp.config("promptstack", { ... }), or call require("promptstack").setup(opts) instead.
return require("promptstack").lsp_config()

-- Defines the :PromptStack* commands as soon as the plugin is on the runtimepath. The server
-- itself starts through require("promptstack").setup() or, on Neovim 0.11+,
-- vim.lsp.enable("promptstack").
if vim.g.loaded_promptstack or vim.fn.has("nvim-0.7") == 0 then
  return
end
vim.g.loaded_promptstack = true
require("promptstack").create_commands()

-- Defines the :PromptStack* commands as soon as the plugin is on the runtimepath. The server
-- itself starts through require("promptstack").setup() or, on Neovim 0.11+,
-- vim.lsp.enable("promptstack").
if vim.g.loaded_promptstack or vim.fn.has("nvim-0.7") == 0 then
  return
end
vim.g.loaded_promptstack = true
local promptstack = require("promptstack")
promptstack.create_commands()

-- vim.lsp.enable() (with setup() or without) skips a server whose binary is missing, with a line
-- in the LSP log only: say so when a prompt file opens.
if vim.lsp.enable and vim.lsp.is_enabled then
  vim.api.nvim_create_autocmd("FileType", {
    group = vim.api.nvim_create_augroup("PromptStackMissingServer", { clear = true }),
    callback = function(args)
      if vim.lsp.is_enabled(promptstack.name) then
        promptstack.warn_if_missing(args.buf)
      end
    end,
  })
end

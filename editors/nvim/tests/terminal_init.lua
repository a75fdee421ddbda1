-- init.lua for the terminal test (tests/editor_nvim.rs, `keyboard_path_in_a_terminal`): Neovim
-- runs in a tmux pane with the user's documented setup, `setup({})` (plus where the binary is),
-- and the test types real keys. This file only sets up the plugin and writes a marker file once
-- the server answers `/zebra` with the library prompt, so the test knows when to start typing.
--   PROMPTSTACK_TEST_PLUGIN  the plugin directory      PROMPTSTACK_TEST_BIN  the server binary
--   PROMPTSTACK_TEST_READY   the marker file to write  PROMPTSTACK_TEST_AUTOCOMPLETE  "1": autocomplete

vim.opt.runtimepath:prepend(os.getenv("PROMPTSTACK_TEST_PLUGIN"))
vim.opt.swapfile = false
vim.opt.shortmess:append("I")
local autocomplete = os.getenv("PROMPTSTACK_TEST_AUTOCOMPLETE") == "1"
if autocomplete then
  -- What Neovim's documentation recommends with autotrigger.
  vim.opt.completeopt = { "menuone", "noselect", "popup" }
end
require("promptstack").setup({
  cmd = { os.getenv("PROMPTSTACK_TEST_BIN"), "lsp" },
  autocomplete = autocomplete,
})

local ready = os.getenv("PROMPTSTACK_TEST_READY")
local function clients(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = bufnr, name = "promptstack" })
  end
  return vim.tbl_filter(function(c)
    return c.name == "promptstack"
  end, vim.lsp.buf_get_clients(bufnr))
end

-- Polls (off the typing path) until the indexed library offers the prompt.
local timer = (vim.uv or vim.loop).new_timer()
timer:start(200, 200, vim.schedule_wrap(function()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = clients(bufnr)[1]
  if not client or not client.initialized then
    return
  end
  vim.lsp.buf_request(bufnr, "workspace/symbol", { query = "zebra" }, function(_, result)
    for _, symbol in ipairs(result or {}) do
      if symbol.name == "Zebra migration plan" and timer:is_active() then
        timer:stop()
        vim.fn.writefile({ "ready" }, ready)
        return
      end
    end
  end)
end))

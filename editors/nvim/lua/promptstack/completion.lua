-- Omni completion for PromptStack buffers, on every Neovim version.
--
-- The built-in vim.lsp.omnifunc of 0.7-0.10 ignores an item's textEdit range and inserts its
-- text as one line, and the one of 0.11 applies an item only when vim.lsp.completion is enabled.
-- This omnifunc asks the server, starts the completion where the server's textEdit starts,
-- shows the labels, and on CompleteDone replaces the label with the real text: a snippet with
-- tabstops through vim.snippet (0.10+), else the plain body. It asks Vim to call it again on
-- every typed character ("refresh: always") and keeps Vim from filtering the labels itself
-- ("equal"), so the server's typo-tolerant ranking filters as you type. Then it runs the item's
-- command (usage statistics).

local M = {}

local NAME = "promptstack"

-- The last answer, kept between the two omnifunc calls and for CompleteDone.
local pending
-- Where the current completion started; cleared when the completion ends.
local last_start

local has_011 = vim.fn.has("nvim-0.11") == 1

local function client_for(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = bufnr, name = NAME })[1]
  end
  for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if client.name == NAME then
      return client
    end
  end
  return nil
end

-- 0.11 changed the signatures of vim.str_utfindex / vim.str_byteindex (the old ones warn).
local function position_col(line, byte_col, encoding)
  if encoding == "utf-8" then
    return byte_col
  end
  if has_011 then
    return vim.str_utfindex(line, encoding, byte_col, false)
  end
  local utf32, utf16 = vim.str_utfindex(line, byte_col)
  return encoding == "utf-16" and utf16 or utf32
end

local function byte_col(line, character, encoding)
  if encoding == "utf-8" then
    return character
  end
  local ok, col
  if has_011 then
    ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ok, col = pcall(vim.str_byteindex, line, character, encoding == "utf-16")
  end
  return ok and col or #line
end

local function documentation(item)
  local doc = item.documentation
  if type(doc) == "table" then
    return doc.value or ""
  end
  return doc or ""
end

--- 'omnifunc' for PromptStack buffers (set by the plugin when the buffer attaches).
function M.omnifunc(findstart, base)
  local bufnr = vim.api.nvim_get_current_buf()
  if findstart == 1 then
    pending = nil
    local client = client_for(bufnr)
    if not client then
      return -3 -- cancel silently
    end
    local row, col = unpack(vim.api.nvim_win_get_cursor(0))
    local line = vim.api.nvim_get_current_line()
    local encoding = client.offset_encoding or "utf-16"
    local params = {
      textDocument = { uri = vim.uri_from_bufnr(bufnr) },
      position = { line = row - 1, character = position_col(line, col, encoding) },
      context = { triggerKind = 1 },
    }
    local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/completion", params, 3000)
    local response = responses and responses[client.id]
    local result = response and response.result
    local items = result and (result.items or result) or {}
    local refreshing = last_start ~= nil and last_start.bufnr == bufnr and last_start.row == row
    if #items == 0 and not refreshing then
      return -3
    end
    -- While the menu is open, an answer with nothing in it (a one-letter query, a typo not
    -- forgiven yet) keeps the previous list, so the menu stays and the next letter asks again
    -- (Vim ends a completion that has no match).
    local start
    if refreshing and #items == 0 then
      items, start = last_start.items, last_start.start
    end
    for _, item in ipairs(items) do
      local edit = item.textEdit
      local range = edit and (edit.range or edit.insert)
      if range and range.start.line == row - 1 then
        local c = byte_col(line, range.start.character, encoding)
        start = start and math.min(start, c) or c
      end
    end
    start = start or vim.fn.match(line:sub(1, col), "\\k*$")
    pending = { bufnr = bufnr, row = row, start = start, items = items, client_id = client.id }
    last_start = { bufnr = bufnr, row = row, start = start, items = items }
    return start
  end

  if not pending or pending.bufnr ~= bufnr then
    return { words = {}, refresh = "always" }
  end
  local out = {}
  for i, item in ipairs(pending.items) do
    table.insert(out, {
      word = item.label,
      abbr = item.label,
      menu = item.detail or "",
      info = documentation(item),
      kind = "",
      icase = 1,
      dup = 1,
      empty = 1,
      equal = 1, -- the server already ranked and filtered
      user_data = { promptstack = i },
    })
  end
  return { words = out, refresh = "always" }
end

local function execute_item_command(client, command)
  if type(command) ~= "table" or not command.command or command.command == "" then
    return
  end
  local params = { command = command.command, arguments = command.arguments }
  if has_011 then
    client:request("workspace/executeCommand", params, function() end, 0)
  else
    client.request("workspace/executeCommand", params, function() end, 0)
  end
end

--- CompleteDone: put the chosen item's real text in place of its label.
function M.on_complete_done()
  last_start = nil
  local completed = vim.v.completed_item
  local data = type(completed) == "table" and completed.user_data
  if type(data) ~= "table" or not data.promptstack or not pending then
    return
  end
  local state = pending
  local item = state.items[data.promptstack]
  if not item then
    return
  end
  local bufnr = state.bufnr
  local row = state.row
  local label_end = state.start + #(completed.word or "")
  -- Outside the completion (textlock); the cursor still sits right after the inserted label.
  vim.schedule(function()
    if not vim.api.nvim_buf_is_valid(bufnr) then
      return
    end
    local client = vim.lsp.get_client_by_id(state.client_id)
    local line = vim.api.nvim_buf_get_lines(bufnr, row - 1, row, false)[1] or ""
    local stop = math.min(label_end, #line)
    local text = (item.textEdit and item.textEdit.newText) or item.insertText or item.label
    local is_snippet = item.insertTextFormat == 2
    vim.api.nvim_buf_set_text(bufnr, row - 1, state.start, row - 1, stop, { "" })
    if is_snippet and vim.snippet then
      vim.api.nvim_win_set_cursor(0, { row, state.start })
      vim.snippet.expand(text)
    else
      if is_snippet then
        text = vim.lsp.util.parse_snippet(text)
      end
      local lines = vim.split(text, "\n", { plain = true })
      vim.api.nvim_buf_set_text(bufnr, row - 1, state.start, row - 1, state.start, lines)
      local last_row = row + #lines - 1
      local last_col = (#lines == 1 and state.start or 0) + #lines[#lines]
      pcall(vim.api.nvim_win_set_cursor, 0, { last_row, last_col })
    end
    if client and item.additionalTextEdits then
      vim.lsp.util.apply_text_edits(item.additionalTextEdits, bufnr, client.offset_encoding or "utf-16")
    end
    if client then
      execute_item_command(client, item.command)
    end
  end)
end

--- Sets the omnifunc and the CompleteDone hook on an attached buffer.
function M.attach(bufnr)
  vim.bo[bufnr].omnifunc = "v:lua.require'promptstack.completion'.omnifunc"
  local group = vim.api.nvim_create_augroup("PromptStackCompletion" .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd("CompleteDone", {
    group = group,
    buffer = bufnr,
    callback = function()
      M.on_complete_done()
    end,
  })
end

return M

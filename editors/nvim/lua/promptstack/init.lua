-- PromptStack for Neovim: starts `promptstack lsp` for prompt files and adds the user commands.
--
-- Works from Neovim 0.7 (vim.lsp.start_client + buf_attach_client from autocmds) to 0.11+
-- (vim.lsp.config + vim.lsp.enable, with lsp/promptstack.lua as the base config).

local M = {}

M.name = "promptstack"

local COMMANDS = {
  new = "promptstack.newComposition",
  create_prompt = "promptstack.createPrompt",
  validate = "promptstack.validateLibrary",
  search = "promptstack.history.search",
  open = "promptstack.history.open",
  cleanup = "promptstack.history.cleanup",
  review = "promptstack.ai.review",
  render = "promptstack.render",
  sync = "promptstack.library.sync",
  publish = "promptstack.library.publish",
}
M.server_commands = COMMANDS

local DEFAULT_CATEGORIES = { "workflows", "commands", "prompt-decorations", "rules" }

M.defaults = {
  -- The server command line.
  cmd = { "promptstack", "lsp" },
  -- Editor settings, same nested shape as config.yaml (`{ ai = { provider = "openai" } }`).
  -- Sent as initializationOptions and answered for `workspace/configuration` (section
  -- `promptstack`). `{ promptstack = { ... } }` is accepted too.
  settings = {},
  -- Filetypes the server may attach to (a buffer must also match `patterns`).
  filetypes = { "markdown" },
  -- File globs (Vim autocmd style, matched against the full path). nil: `*.prompt.md`, the
  -- composition globs from `settings.compositions.globs`, Markdown under the library dir, and
  -- agent files (`SKILL.md`, `.claude/commands/`, `AGENTS.md`, ...).
  patterns = nil,
  -- The prompt library; nil: worked out like the server does (settings, environment,
  -- config.yaml, then ~/.promptstack/data/library).
  library_dir = nil,
  -- Directories that mark a workspace root (else the current directory).
  root_markers = { ".git" },
  -- Called as on_attach(client, bufnr) after PromptStack's own setup of the buffer.
  on_attach = nil,
  -- Client capabilities (e.g. from cmp_nvim_lsp); nil: Neovim's defaults.
  capabilities = nil,
  -- Neovim 0.11+: turn on built-in completion with auto-trigger (`/` and `{{`) in attached buffers.
  autocomplete = false,
  -- Buffer-local LSP keys where the key is still free (a mapping of yours always wins): K hover,
  -- grn rename, gra code action, grr references — Neovim 0.11's defaults, also on 0.7-0.10.
  -- false: none; a table overrides keys, e.g. { hover = "K", rename = "<leader>rn" }.
  keymaps = true,
}

--- The keys `keymaps = true` sets, with the function each runs.
M.default_keymaps = {
  hover = { lhs = "K", modes = { "n" }, run = "hover", desc = "PromptStack: hover" },
  rename = { lhs = "grn", modes = { "n" }, run = "rename", desc = "PromptStack: rename placeholder" },
  code_action = { lhs = "gra", modes = { "n", "x" }, run = "code_action", desc = "PromptStack: code actions (AI suggestions)" },
  references = { lhs = "grr", modes = { "n" }, run = "references", desc = "PromptStack: references" },
}

M.options = vim.deepcopy(M.defaults)
M.mode = nil -- "config" (vim.lsp.config/enable) or "start_client", once set up

local has_011 = vim.fn.has("nvim-0.11") == 1

-- vim.notify as Neovim ships it (defined in vim/_editor.lua) echoes, and a message wider than
-- the command line stops everything with "Press ENTER". Replacements (nvim-notify, noice,
-- snacks) handle any length.
local function notify_is_builtin()
  local info = debug.getinfo(vim.notify, "S")
  return info ~= nil and (info.source or ""):find("vim/_editor.lua", 1, true) ~= nil
end

--- Every message shown, in full (`:PromptStackMessages`).
M.messages = {}

local function notify(msg, level)
  level = level or vim.log.levels.INFO
  local text = ("PromptStack: " .. tostring(msg)):gsub("%s*\n%s*", " ")
  table.insert(M.messages, text)
  if #M.messages > 200 then
    table.remove(M.messages, 1)
  end
  if notify_is_builtin() then
    local room = math.max(30, (vim.v.echospace or vim.o.columns - 12) - 1)
    if vim.fn.strdisplaywidth(text) > room then
      local more = "… (:PromptStackMessages)"
      text = vim.fn.strcharpart(text, 0, room - vim.fn.strdisplaywidth(more)) .. more
    end
  end
  vim.notify(text, level)
end
M.notify = notify

local function is_empty(t)
  return type(t) ~= "table" or next(t) == nil
end

-- Empty Lua tables encode as JSON arrays; settings and argument objects must be objects.
local function as_object(t)
  if is_empty(t) then
    return vim.empty_dict()
  end
  return t
end

local function normalise_settings(settings)
  settings = settings or {}
  if type(settings.promptstack) == "table" then
    return settings.promptstack
  end
  return settings
end

local function expand(path)
  if path == nil or path == "" then
    return nil
  end
  if path == "~" or path:sub(1, 2) == "~/" then
    path = (os.getenv("HOME") or "") .. path:sub(2)
  end
  path = vim.fn.fnamemodify(path, ":p")
  return (path:gsub("/+$", ""))
end

local function env(name)
  local v = os.getenv(name)
  if v == nil or vim.trim(v) == "" then
    return nil
  end
  return v
end

local function home_dir()
  return expand(env("PROMPTSTACK_HOME") or "~/.promptstack")
end

-- A light reading of config.yaml: `paths:` → `library_dir:`/`data_dir:` (or the old flat keys).
local function file_paths()
  local found = {}
  local home = home_dir()
  if not home then
    return found
  end
  local ok, lines = pcall(vim.fn.readfile, home .. "/config.yaml")
  if not ok then
    return found
  end
  local section
  for _, line in ipairs(lines) do
    local top = line:match("^([%w_]+):")
    if top then
      section = top
    end
    local indented, key, value = line:match("^(%s*)([%w_]+):%s*(.-)%s*$")
    if key and (key == "library_dir" or key == "data_dir") and value ~= "" then
      value = value:gsub("%s+#.*$", ""):gsub("^[\"'](.*)[\"']$", "%1")
      if indented == "" or section == "paths" then
        found[key] = value
      end
    end
  end
  return found
end

--- The library directory, worked out in the server's order: settings, environment, file, default.
function M.library_dir(opts)
  opts = opts or M.options
  if opts.library_dir then
    return expand(opts.library_dir)
  end
  local paths = normalise_settings(opts.settings).paths or {}
  local file = file_paths()
  local lib = paths.library_dir or env("PROMPTSTACK_LIBRARY_DIR") or file.library_dir
  if lib then
    return expand(lib)
  end
  local data = paths.data_dir or env("PROMPTSTACK_DATA_DIR") or file.data_dir
  if data then
    return expand(data) .. "/library"
  end
  return home_dir() .. "/data/library"
end

--- Agent files (skills, Claude Code commands and agents, VS Code instructions and agents,
--- AGENTS.md): the server checks each by its format.
local AGENT_FILES = {
  "*/SKILL.md",
  "*/.claude/commands/*.md",
  "*/.claude/agents/*.md",
  "*.instructions.md",
  "*/.github/copilot-instructions.md",
  "*.agent.md",
  "*.chatmode.md",
  "*/AGENTS.md",
  "*/CLAUDE.md",
  "*/GEMINI.md",
}

--- The file globs a buffer must match for the server to attach.
function M.patterns(opts)
  opts = opts or M.options
  if opts.patterns then
    return opts.patterns
  end
  -- The server's default composition globs (a glob starting with `!` excludes).
  local patterns = { "*.prompt.md", "*.composition.md", "!*/.github/prompts/*" }
  -- Agent files other tools read, checked by their own rules (docs/formats.md).
  for _, glob in ipairs(AGENT_FILES) do
    table.insert(patterns, glob)
  end
  local compositions = normalise_settings(opts.settings).compositions or {}
  for _, glob in ipairs(compositions.globs or {}) do
    table.insert(patterns, glob)
  end
  local lib = M.library_dir(opts)
  if lib then
    table.insert(patterns, lib .. "/*.md")
  end
  return patterns
end

local function buf_path(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or name:match("^%a[%w+.-]*://") then
    return nil
  end
  return vim.fn.fnamemodify(name, ":p")
end

--- Whether the server should attach to this buffer (filetype and path).
function M.matches(bufnr, opts)
  opts = opts or M.options
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if vim.bo[bufnr].buftype ~= "" then
    return false
  end
  local ft = vim.bo[bufnr].filetype
  if opts.filetypes and not vim.tbl_contains(opts.filetypes, ft) then
    return false
  end
  local path = buf_path(bufnr)
  if not path then
    return false
  end
  local candidates = { path }
  local resolved = vim.fn.resolve(path)
  if resolved ~= path then
    table.insert(candidates, resolved)
  end
  local function any_match(glob)
    local regex = "\\C" .. vim.fn.glob2regpat(glob)
    for _, p in ipairs(candidates) do
      if vim.fn.match(p, regex) >= 0 then
        return true
      end
    end
    return false
  end
  local included = false
  for _, glob in ipairs(M.patterns(opts)) do
    if glob:sub(1, 1) == "!" then
      if any_match(glob:sub(2)) then
        return false
      end
    elseif not included then
      included = any_match(glob)
    end
  end
  return included
end

local function root_for(bufnr, opts)
  local path = bufnr and buf_path(bufnr)
  if path then
    local dir = vim.fn.fnamemodify(path, ":h")
    for _, marker in ipairs(opts.root_markers or {}) do
      local found = vim.fn.finddir(marker, dir .. ";")
      if found == "" then
        found = vim.fn.findfile(marker, dir .. ";")
      end
      if found ~= "" then
        return vim.fn.fnamemodify(found, ":p:h:h")
      end
    end
  end
  return vim.fn.getcwd()
end

local warned_missing = false

--- Whether the server binary can be started; tells the user once when it cannot.
function M.check_cmd(opts)
  opts = opts or M.options
  local exe = opts.cmd and opts.cmd[1]
  if exe and vim.fn.executable(exe) == 1 then
    return true
  end
  if not warned_missing then
    warned_missing = true
    -- setup() users fix it in setup(); vim.lsp.enable() users (no setup) in vim.lsp.config().
    local how = M.mode ~= nil and 'require("promptstack").setup({ cmd = { "/path/to/promptstack", "lsp" } })'
      or 'vim.lsp.config("promptstack", { cmd = { "/path/to/promptstack", "lsp" } })'
    notify(
      ("server `%s` not found; install it (cargo install --path .) or set its path: %s"):format(
        tostring(exe),
        how
      ),
      vim.log.levels.ERROR
    )
  end
  return false
end

--- vim.lsp.enable() skips a server whose binary is missing with a line in the LSP log only:
--- say it out loud when a buffer the server would attach to opens.
function M.warn_if_missing(bufnr)
  if not M.matches(bufnr) then
    return
  end
  local resolved = vim.lsp.config and vim.lsp.config[M.name]
  local cmd = (resolved and resolved.cmd) or M.options.cmd
  if type(cmd) == "table" then
    M.check_cmd({ cmd = cmd })
  end
end

local function set_keymaps(bufnr, choice)
  if choice == false then
    return
  end
  local keys = vim.deepcopy(M.default_keymaps)
  if type(choice) == "table" then
    for name, lhs in pairs(choice) do
      if keys[name] then
        keys[name].lhs = lhs
      end
    end
  end
  for _, key in pairs(keys) do
    for _, mode in ipairs(key.modes) do
      -- A mapping of the user's (global or for this buffer) keeps the key.
      local taken = key.lhs == false or vim.fn.maparg(key.lhs, mode) ~= ""
      if not taken then
        vim.api.nvim_buf_set_keymap(bufnr, mode, key.lhs, "", {
          noremap = true,
          silent = true,
          desc = key.desc,
          callback = function()
            vim.lsp.buf[key.run]()
          end,
        })
      end
    end
  end
end

-- Commands the editor runs without us (code actions, code lenses): their answer is dropped by
-- Neovim, so say what they did. The server leaves that to us (commandResults below).
local function execute_command_handler(err, result, ctx)
  local command = ctx and ctx.params and ctx.params.command or "command"
  if err then
    return notify(("%s failed: %s"):format(command, err.message or vim.inspect(err)), vim.log.levels.ERROR)
  end
  if command == COMMANDS.review and type(result) == "table" then
    M.report_review(result)
  end
end

--- The message when a review ends.
function M.report_review(result)
  local n = (result and result.suggestions) or 0
  if n == 0 then
    return notify("AI review: no suggestions")
  end
  notify(("AI review: %d suggestion%s (diagnostics; code actions apply them)"):format(n, n == 1 and "" or "s"))
end

local function on_attach(opts)
  return function(client, bufnr)
    -- Replace the empty, LSP or Markdown-ftplugin default (HTML tags); keep a user's own. The
    -- built-in LSP omnifuncs do not insert prompts (see completion.lua): use ours.
    local omnifunc = vim.bo[bufnr].omnifunc
    if omnifunc == "" or omnifunc == "v:lua.vim.lsp.omnifunc" or omnifunc == "htmlcomplete#CompleteTags" then
      require("promptstack.completion").attach(bufnr)
    end
    if opts.autocomplete and vim.lsp.completion and vim.lsp.completion.enable then
      vim.lsp.completion.enable(true, client.id, bufnr, {
        autotrigger = true,
        -- The server ranks and filters as you type (the list is incomplete); Vim must not
        -- drop the items whose text does not start with what was typed.
        convert = function()
          return { equal = 1 }
        end,
      })
    end
    set_keymaps(bufnr, opts.keymaps)
    if opts.on_attach then
      opts.on_attach(client, bufnr)
    end
  end
end

local function on_exit(code, signal)
  -- SIGTERM/SIGKILL: stopped on purpose (Neovim quitting, :LspStop); anything else is a failure.
  if code ~= 0 or (signal ~= 0 and signal ~= 15 and signal ~= 9) then
    vim.schedule(function()
      notify(
        ("server exited with code %s%s; its messages are in %s (PROMPTSTACK_LOG=debug for more)"):format(
          tostring(code),
          signal ~= 0 and (" (signal " .. tostring(signal) .. ")") or "",
          vim.lsp.get_log_path()
        ),
        vim.log.levels.ERROR
      )
    end)
  end
end

--- The client config shared by every way of starting the server (root_dir left to the caller).
function M.client_config(opts)
  opts = opts or M.options
  local settings = normalise_settings(opts.settings)
  local capabilities = vim.deepcopy(opts.capabilities or vim.lsp.protocol.make_client_capabilities())
  -- Neovim 0.7-0.8 answer workspace/configuration but do not say so; without this the server
  -- would never ask for settings changed after start.
  capabilities.workspace = capabilities.workspace or {}
  if capabilities.workspace.configuration == nil then
    capabilities.workspace.configuration = true
  end
  -- This plugin shows command results and errors itself: the server must not repeat them.
  capabilities.experimental = vim.tbl_deep_extend(
    "force",
    capabilities.experimental or {},
    { promptstack = { commandResults = true } }
  )
  return {
    name = M.name,
    cmd = opts.cmd,
    filetypes = opts.filetypes,
    init_options = as_object(vim.deepcopy(settings)),
    settings = { promptstack = as_object(vim.deepcopy(settings)) },
    capabilities = capabilities,
    handlers = { ["workspace/executeCommand"] = execute_command_handler },
    -- Completion re-asks on every typed character: the server must have that character (the
    -- default 150 ms debounce would answer for text it has not seen yet).
    flags = { debounce_text_changes = 0 },
    on_attach = on_attach(opts),
    on_exit = on_exit,
  }
end

--- A `vim.lsp.Config` for Neovim 0.11+ (what lsp/promptstack.lua returns).
function M.lsp_config(opts)
  opts = opts or M.options
  local config = M.client_config(opts)
  config.root_dir = function(bufnr, on_dir)
    if not M.matches(bufnr, opts) then
      return
    end
    -- The command in force is the merged one (a user may set it with vim.lsp.config()).
    local resolved = vim.lsp.config and vim.lsp.config[M.name]
    local cmd = (resolved and resolved.cmd) or opts.cmd
    if type(cmd) ~= "table" or M.check_cmd({ cmd = cmd }) then
      on_dir(root_for(bufnr, opts))
    end
  end
  return config
end

local function get_clients()
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = M.name })
  end
  local out = {}
  for _, client in pairs(vim.lsp.get_active_clients()) do
    if client.name == M.name then
      table.insert(out, client)
    end
  end
  return out
end

local function is_stopped(client)
  if client.is_stopped then
    if has_011 then
      return client:is_stopped()
    end
    return client.is_stopped()
  end
  return false
end

-- start_client mode: one client for the session, started on the first matching buffer.
local legacy_client_id

local function legacy_start(bufnr)
  if legacy_client_id then
    local client = vim.lsp.get_client_by_id(legacy_client_id)
    if client and not is_stopped(client) then
      return legacy_client_id
    end
    legacy_client_id = nil
  end
  if not M.check_cmd(M.options) then
    return nil
  end
  local config = M.client_config(M.options)
  config.root_dir = root_for(bufnr, M.options)
  config.workspace_folders = {
    { uri = vim.uri_from_fname(config.root_dir), name = config.root_dir },
  }
  legacy_client_id = vim.lsp.start_client(config)
  if not legacy_client_id then
    notify("could not start the server: " .. table.concat(M.options.cmd, " "), vim.log.levels.ERROR)
  end
  return legacy_client_id
end

function M.maybe_attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if not vim.api.nvim_buf_is_valid(bufnr) or not M.matches(bufnr) then
    return
  end
  local id = legacy_start(bufnr)
  if id and not vim.lsp.buf_is_attached(bufnr, id) then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

--- Returns a running client (starting one without a buffer when none runs), or nil.
function M.client()
  for _, client in ipairs(get_clients()) do
    if not is_stopped(client) then
      return client
    end
  end
  local id
  if M.mode == "config" or (M.mode == nil and vim.lsp.config and vim.lsp.start) then
    -- The merged config: setup() options, lsp/promptstack.lua and the user's vim.lsp.config().
    local base = vim.lsp.config[M.name] or M.client_config(M.options)
    local config = vim.tbl_extend("force", vim.deepcopy(base), { name = M.name, root_dir = vim.fn.getcwd() })
    if type(config.cmd) == "table" and not M.check_cmd({ cmd = config.cmd }) then
      return nil
    end
    id = vim.lsp.start(config, { attach = false, bufnr = vim.api.nvim_get_current_buf() })
  else
    if not M.check_cmd(M.options) then
      return nil
    end
    id = legacy_start(nil)
  end
  local client = id and vim.lsp.get_client_by_id(id)
  if not client then
    notify("could not start the server", vim.log.levels.ERROR)
  end
  return client
end

local function supports(client, command)
  local caps = client.server_capabilities or {}
  local provider = caps.executeCommandProvider
  return provider ~= nil and vim.tbl_contains(provider.commands or {}, command)
end

--- Runs a server command. on_result(result) runs on success; errors are shown with vim.notify
--- (and passed to on_error when given).
function M.execute(command, args, on_result, on_error)
  local function fail(message)
    notify(message, vim.log.levels.ERROR)
    if on_error then
      on_error(message)
    end
  end
  local client = M.client()
  if not client then
    return fail("no server running (see the messages above)")
  end
  local function send()
    if not supports(client, command) then
      return fail(
        ("this server does not offer `%s`; update promptstack (`promptstack --version`)"):format(
          command
        )
      )
    end
    local params = { command = command, arguments = args ~= nil and { as_object(args) } or {} }
    local handler = vim.schedule_wrap(function(err, result)
      if err then
        return fail(("%s failed: %s"):format(command, err.message or vim.inspect(err)))
      end
      if on_result then
        on_result(result)
      end
    end)
    local ok
    if has_011 then
      ok = client:request("workspace/executeCommand", params, handler, 0)
    else
      ok = client.request("workspace/executeCommand", params, handler, 0)
    end
    if not ok then
      fail(("could not send `%s`: the server has stopped"):format(command))
    end
  end
  if client.initialized then
    return send()
  end
  -- A client started just now: wait for `initialize` to finish (the UI keeps running).
  local ready = vim.wait(15000, function()
    return client.initialized == true or is_stopped(client)
  end, 20)
  if not ready or not client.initialized then
    return fail("the server did not start; see " .. vim.lsp.get_log_path())
  end
  send()
end

--- Opens a `file://` URI the server returned, unless it is already the current buffer.
function M.open_uri(uri)
  if type(uri) ~= "string" then
    return
  end
  local path = vim.uri_to_fname(uri)
  if buf_path(vim.api.nvim_get_current_buf()) == vim.fn.fnamemodify(path, ":p") then
    return
  end
  vim.cmd("edit " .. vim.fn.fnameescape(path))
end

-- Commands -----------------------------------------------------------------------------------

local function buffer_text(bufnr)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local text = table.concat(lines, "\n")
  if vim.bo[bufnr].eol then
    text = text .. "\n"
  end
  return text
end

function M.new(name)
  local args = { directory = vim.fn.getcwd() }
  if name and name ~= "" then
    args.name = name
  end
  M.execute(COMMANDS.new, args, function(result)
    M.open_uri(result and result.uri)
  end)
end

local function format_result(item)
  local title = item.title or item.id or "?"
  local when = item.updated_at and (" (" .. item.updated_at .. ")") or ""
  -- The server marks the matched words with `**`: a picker shows them raw.
  local snippet = item.snippet and item.snippet ~= "" and (" — " .. item.snippet:gsub("%*%*", ""):gsub("%s+", " ")) or ""
  return title .. when .. snippet
end
M.format_history_item = format_result

function M.history(query)
  local function search(q)
    if q == nil then
      return
    end
    M.execute(COMMANDS.search, { query = q, limit = 50 }, function(result)
      local results = result and result.results or {}
      if #results == 0 then
        return notify(("no composition in history matches `%s`"):format(q), vim.log.levels.WARN)
      end
      vim.ui.select(results, {
        prompt = "PromptStack history",
        format_item = format_result,
      }, function(choice)
        if not choice then
          return
        end
        M.execute(COMMANDS.open, { id = choice.id }, function(opened)
          M.open_uri((opened and opened.uri) or choice.uri)
        end)
      end)
    end)
  end
  if query and query ~= "" then
    return search(query)
  end
  vim.ui.input({ prompt = "Search history: " }, search)
end

-- `:PromptStackCleanup all | older=DAYS | keep=N | from=YYYY-MM-DD to=YYYY-MM-DD`
local function parse_cleanup(fargs)
  local args = {}
  for _, word in ipairs(fargs) do
    local key, value = word:match("^([%w_]+)=(.+)$")
    if word == "all" then
      args.all = true
    elseif key == "older" or key == "older_than_days" then
      args.older_than_days = tonumber(value)
    elseif key == "keep" or key == "keep_last" then
      args.keep_last = tonumber(value)
    elseif key == "from" or key == "to" then
      args[key] = value
    else
      return nil, ("unknown cleanup option `%s` (use all, older=DAYS, keep=N, from=DATE, to=DATE)"):format(word)
    end
  end
  return args
end

local function ask_cleanup(callback)
  local choices = { "Older than N days", "All but the last N", "Everything" }
  vim.ui.select(choices, { prompt = "Clean up which history?" }, function(choice)
    if choice == "Everything" then
      return callback({ all = true })
    elseif choice == nil then
      return
    end
    vim.ui.input({ prompt = "N: " }, function(answer)
      local n = tonumber(answer or "")
      if not n then
        return notify("cleanup needs a number", vim.log.levels.WARN)
      end
      if choice == choices[1] then
        callback({ older_than_days = n })
      else
        callback({ keep_last = n })
      end
    end)
  end)
end

function M.cleanup(fargs)
  local function run(args)
    M.execute(COMMANDS.cleanup, args, function(dry)
      if not dry or (dry.count or 0) == 0 then
        return notify("nothing to clean up")
      end
      local summary = ("%d composition(s), %.1f MB, %s … %s"):format(
        dry.count,
        (dry.bytes or 0) / (1024 * 1024),
        tostring(dry.oldest or "?"),
        tostring(dry.newest or "?")
      )
      vim.ui.select({ "Delete", "Cancel" }, { prompt = "Delete " .. summary .. "?" }, function(choice)
        if choice ~= "Delete" then
          return notify("cleanup cancelled")
        end
        local confirmed = vim.deepcopy(args)
        confirmed.confirm = dry.token
        M.execute(COMMANDS.cleanup, confirmed, function(done)
          notify((done and done.message) or "history cleaned up")
        end)
      end)
    end)
  end
  if fargs and #fargs > 0 then
    local args, err = parse_cleanup(fargs)
    if not args then
      return notify(err, vim.log.levels.ERROR)
    end
    return run(args)
  end
  ask_cleanup(run)
end

function M.validate()
  M.execute(COMMANDS.validate, nil, function(report)
    report = report or {}
    local root = report.library_dir or M.library_dir()
    local items = {}
    for _, file in ipairs(report.files or {}) do
      local path = file.path or ""
      if path:sub(1, 1) ~= "/" then
        path = root .. "/" .. path
      end
      for _, finding in ipairs(file.findings or {}) do
        local severity = tostring(finding.severity or ""):lower()
        table.insert(items, {
          filename = path,
          lnum = finding.line or 1,
          col = 1,
          type = severity == "error" and "E" or "W",
          text = ("[%s] %s"):format(finding.code or "?", finding.message or ""),
        })
      end
    end
    vim.fn.setqflist({}, " ", { title = "PromptStack: library validation", items = items })
    local summary = report.summary or ("%d errors, %d warnings"):format(report.errors or 0, report.warnings or 0)
    if #items > 0 then
      notify(summary .. " (:copen to list them)", (report.errors or 0) > 0 and vim.log.levels.WARN or vim.log.levels.INFO)
    else
      notify(summary)
    end
  end)
end

--- Fetches the git prompt sources now (only `name` when given) and says what changed.
function M.sync(name)
  local args = {}
  if name and name ~= "" then
    args.name = name
  end
  M.execute(COMMANDS.sync, args, function(result)
    notify((result or {}).message or "PromptStack: synced")
  end)
end

--- Publishes the library into `dir` as `to`; extra words `check` / `dry` as in the CLI.
function M.publish(fargs)
  local to, dir = fargs[1], fargs[2]
  if not to or not dir then
    return notify(
      "usage: :PromptStackPublish skills|claude-commands|vscode-prompts|cursor-rules DIR [check|dry]",
      vim.log.levels.ERROR
    )
  end
  local args = { to = to, dir = dir }
  for i = 3, #fargs do
    if fargs[i] == "check" then
      args.check = true
    elseif fargs[i] == "dry" then
      args.dryRun = true
    end
  end
  M.execute(COMMANDS.publish, args, function(result)
    result = result or {}
    local stale = args.check and result.outOfDate
    notify(result.message or "PromptStack: published", stale and vim.log.levels.WARN or vim.log.levels.INFO)
  end)
end

local function library_categories()
  local seen, out = {}, {}
  local lib = M.library_dir()
  for _, dir in ipairs(vim.fn.glob(lib .. "/*/", false, true)) do
    local name = vim.fn.fnamemodify(dir:gsub("/$", ""), ":t")
    if not name:match("^%.") and not seen[name] then
      seen[name] = true
      table.insert(out, name)
    end
  end
  for _, name in ipairs(DEFAULT_CATEGORIES) do
    if not seen[name] then
      seen[name] = true
      table.insert(out, name)
    end
  end
  return out
end

function M.create_prompt()
  local args = {}
  local function finish()
    M.execute(COMMANDS.create_prompt, args, function(result)
      M.open_uri(result and result.uri)
    end)
  end
  local function ask_tags()
    vim.ui.input({ prompt = "Tags (comma-separated, optional): " }, function(tags)
      if tags == nil then
        return
      end
      local list = {}
      for tag in tags:gmatch("[^,]+") do
        tag = vim.trim(tag)
        if tag ~= "" then
          table.insert(list, tag)
        end
      end
      if #list > 0 then
        args.tags = list
      end
      finish()
    end)
  end
  local function ask_description()
    vim.ui.input({ prompt = "Description (optional): " }, function(description)
      if description == nil then
        return
      end
      if description ~= "" then
        args.description = description
      end
      ask_tags()
    end)
  end
  vim.ui.input({ prompt = "Prompt title: " }, function(title)
    if title == nil or vim.trim(title) == "" then
      return
    end
    args.title = vim.trim(title)
    local choices = library_categories()
    table.insert(choices, "New category…")
    vim.ui.select(choices, { prompt = "Category" }, function(category)
      if category == nil then
        return
      end
      if category == "New category…" then
        vim.ui.input({ prompt = "New category: " }, function(name)
          if name == nil or vim.trim(name) == "" then
            return
          end
          args.category = vim.trim(name)
          ask_description()
        end)
      else
        args.category = category
        ask_description()
      end
    end)
  end)
end

function M.review()
  local bufnr = vim.api.nvim_get_current_buf()
  local path = buf_path(bufnr)
  if not path then
    return notify("review needs a file buffer", vim.log.levels.WARN)
  end
  notify("reviewing with AI…")
  M.execute(COMMANDS.review, { uri = vim.uri_from_bufnr(bufnr) }, M.report_review)
end

--- Shows rendered text in a scratch split and copies it to the unnamed (and + when there is a
--- clipboard) register.
local function show_rendered(text)
  vim.fn.setreg('"', text)
  local copied = '"'
  if vim.fn.has("clipboard") == 1 and pcall(vim.fn.setreg, "+", text) then
    copied = "+"
  end
  vim.cmd("new")
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text:gsub("\n$", ""), "\n", { plain = true }))
  vim.bo[buf].filetype = "markdown"
  vim.b[buf].promptstack_render = true
  notify(("rendered prompt copied to register %s"):format(copied))
end

function M.render()
  local bufnr = vim.api.nvim_get_current_buf()
  local text = buffer_text(bufnr)
  local kinds = {}
  for kind, name in text:gmatch("{{(%a+):([%w_]+)}}") do
    kinds[name] = kinds[name] or kind
  end
  M.execute(COMMANDS.render, { text = text, values = vim.empty_dict() }, function(first)
    local missing, seen = {}, {}
    for _, name in ipairs((first and first.missing) or {}) do
      if not seen[name] then
        seen[name] = true
        table.insert(missing, name)
      end
    end
    if #missing == 0 then
      return show_rendered(first.text or text)
    end
    local values = {}
    local function ask(i)
      if i > #missing then
        return M.execute(COMMANDS.render, { text = text, values = values }, function(result)
          if result.missing and #result.missing > 0 then
            notify("left unfilled: " .. table.concat(result.missing, ", "), vim.log.levels.WARN)
          end
          show_rendered(result.text)
        end)
      end
      local name = missing[i]
      local is_list = kinds[name] == "list"
      local prompt = is_list and (name .. " (list; items separated by ;): ") or (name .. ": ")
      vim.ui.input({ prompt = prompt }, function(answer)
        if answer == nil then
          return notify("render cancelled")
        end
        if is_list then
          local items = {}
          for item in answer:gmatch("[^;]+") do
            item = vim.trim(item)
            if item ~= "" then
              table.insert(items, item)
            end
          end
          values[name] = items
        else
          values[name] = answer
        end
        ask(i + 1)
      end)
    end
    ask(1)
  end)
end

local commands_created = false

--- Defines the :PromptStack* user commands (done by setup() and by plugin/promptstack.lua).
function M.create_commands()
  if commands_created then
    return
  end
  commands_created = true
  local create = vim.api.nvim_create_user_command
  create("PromptStackNew", function(c)
    M.new(c.args)
  end, { nargs = "?", desc = "PromptStack: new composition" })
  create("PromptStackHistory", function(c)
    M.history(c.args)
  end, { nargs = "*", desc = "PromptStack: search history and open a composition" })
  create("PromptStackCleanup", function(c)
    M.cleanup(c.fargs)
  end, {
    nargs = "*",
    desc = "PromptStack: clean up history (all | older=DAYS | keep=N | from=DATE to=DATE)",
  })
  create("PromptStackValidate", function()
    M.validate()
  end, { desc = "PromptStack: validate the prompt library (results in the quickfix list)" })
  create("PromptStackCreatePrompt", function()
    M.create_prompt()
  end, { desc = "PromptStack: create a library prompt" })
  create("PromptStackReview", function()
    M.review()
  end, { desc = "PromptStack: review the current composition with AI" })
  create("PromptStackRender", function()
    M.render()
  end, { desc = "PromptStack: fill the placeholders and copy the final prompt" })
  create("PromptStackSync", function(c)
    M.sync(c.args)
  end, { nargs = "?", desc = "PromptStack: fetch the git prompt sources now" })
  create("PromptStackPublish", function(c)
    M.publish(c.fargs)
  end, { nargs = "+", desc = "PromptStack: publish the library into an agent's folder" })
  create("PromptStackMessages", function()
    vim.cmd("new")
    local buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "wipe"
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, M.messages)
  end, { desc = "PromptStack: the messages shown so far, in full" })
end

local augroup

--- Starts PromptStack for matching buffers. Safe to call again with new options.
function M.setup(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  -- Lists replace, not merge.
  for _, key in ipairs({ "cmd", "filetypes", "patterns", "root_markers" }) do
    if opts and opts[key] ~= nil then
      M.options[key] = opts[key]
    end
  end
  M.create_commands()

  augroup = vim.api.nvim_create_augroup("PromptStack", { clear = true })
  if vim.lsp.config and vim.lsp.enable then
    M.mode = "config"
    vim.lsp.config(M.name, M.lsp_config(M.options))
    vim.lsp.enable(M.name)
    return
  end

  M.mode = "start_client"
  vim.api.nvim_create_autocmd({ "FileType", "BufReadPost", "BufNewFile", "BufFilePost" }, {
    group = augroup,
    callback = function(args)
      M.maybe_attach(args.buf)
    end,
  })
  -- Buffers opened before setup() ran.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      M.maybe_attach(bufnr)
    end
  end
end

return M

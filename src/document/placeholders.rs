//! The placeholder syntax `{{text:name}}` / `{{list:name}}`, and the dialects of the agent files
//! people keep: VS Code's `${input:name}` (and its context variables such as `${selection}`),
//! Claude Code / Codex / OpenCode's `$ARGUMENTS`, `$ARGUMENTS[N]`, `$N` and `$name`, and
//! Mustache/Handlebars `{{name}}`.
//!
//! The parser never fails: anything that is not a well-formed placeholder is literal text, and the
//! reasons are returned as [`PlaceholderProblem`]s so library validation can warn about them.

use std::ops::Range;

use super::scan;

/// The two kinds of placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaceholderKind {
    /// `{{text:name}}`: free text.
    Text,
    /// `{{list:name}}`: a bulleted list.
    List,
}

impl PlaceholderKind {
    /// The keyword as written in the source.
    pub fn keyword(self) -> &'static str {
        match self {
            PlaceholderKind::Text => "text",
            PlaceholderKind::List => "list",
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        match word {
            "text" => Some(PlaceholderKind::Text),
            "list" => Some(PlaceholderKind::List),
            _ => None,
        }
    }
}

/// How a placeholder is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// `{{text:name}}` / `{{list:name}}`.
    PromptStack,
    /// VS Code prompt files: `${input:name}` or `${input:name:hint}`.
    VsCodeInput,
    /// Claude Code, Codex and OpenCode commands: `$ARGUMENTS`, `$ARGUMENTS[N]`, `$N`, `$name`.
    Arguments,
    /// Mustache / Handlebars (dotprompt, Langfuse, GitHub Models): `{{name}}`.
    Mustache,
}

/// Which dialects besides PromptStack's and Mustache's (always on) a text is read with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialects {
    /// `${input:name}` and the context variables (`${selection}`, ...).
    pub vscode: bool,
    /// `$ARGUMENTS`, `$ARGUMENTS[N]`, `$N` (off by default: `$5` is a price in most prose).
    pub arguments: bool,
    /// Names usable as `$name` (a command's `arguments:` list).
    pub argument_names: Vec<String>,
}

impl Default for Dialects {
    fn default() -> Self {
        Dialects {
            vscode: true,
            arguments: false,
            argument_names: Vec::new(),
        }
    }
}

impl Dialects {
    /// Every dialect, `$name` for `argument_names`.
    pub fn all(argument_names: Vec<String>) -> Self {
        Dialects {
            vscode: true,
            arguments: true,
            argument_names,
        }
    }
}

/// One well-formed placeholder, with byte ranges into the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub kind: PlaceholderKind,
    pub name: String,
    /// The whole `{{...}}` (or `${input:...}`, `$ARGUMENTS`, ...).
    pub span: Range<usize>,
    /// The type keyword (`text` / `list`), `input` in `${input:x}`, the `$` of `$1`; empty for
    /// `{{name}}`.
    pub kind_span: Range<usize>,
    /// The name after the colon.
    pub name_span: Range<usize>,
    pub dialect: Dialect,
    /// The hint of `${input:name:hint}`: the text a tabstop starts with.
    pub default: Option<String>,
}

/// A VS Code context variable (`${selection}`, `${file}`, ...): filled by VS Code, not a tabstop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextVariable {
    pub name: String,
    pub span: Range<usize>,
}

/// The context variables VS Code fills in prompt files.
pub const VSCODE_CONTEXT_VARIABLES: &[(&str, &str)] = &[
    ("selection", "the text selected in the active editor"),
    ("selectedText", "the text selected in the active editor"),
    ("file", "the path of the active file"),
    ("fileBasename", "the file name of the active file"),
    ("fileDirname", "the folder of the active file"),
    (
        "fileBasenameNoExtension",
        "the file name of the active file without its extension",
    ),
    ("workspaceFolder", "the path of the workspace folder"),
    (
        "workspaceFolderBasename",
        "the name of the workspace folder",
    ),
];

/// Why a `{{` did not start a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// `{{` with no `}}` before the end of the line.
    Unclosed,
    /// `{{type:name}}` where the type is not `text` or `list`.
    InvalidType(String),
    /// `{{text:name}}` where the name is not `[A-Za-z0-9_]+`.
    InvalidName(String),
    /// `{{}}`: nothing between the braces.
    Malformed,
}

/// A malformed placeholder: the text stays literal; library validation reports it as a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceholderProblem {
    pub kind: ProblemKind,
    pub span: Range<usize>,
}

impl PlaceholderProblem {
    /// A one-line explanation for users.
    pub fn message(&self) -> String {
        match &self.kind {
            ProblemKind::Unclosed => {
                "unclosed placeholder: `{{` without `}}` on the same line is kept as text".into()
            }
            ProblemKind::InvalidType(t) => format!(
                "invalid placeholder type `{t}`: use `text` or `list` (lower case), e.g. `{{{{text:name}}}}`"
            ),
            ProblemKind::InvalidName(n) => {
                format!("invalid placeholder name `{n}`: names use only letters, digits and `_`")
            }
            ProblemKind::Malformed => {
                "malformed placeholder: expected `{{text:name}}` or `{{list:name}}`".into()
            }
        }
    }
}

/// The result of scanning a text for placeholders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedPlaceholders {
    pub placeholders: Vec<Placeholder>,
    pub problems: Vec<PlaceholderProblem>,
    pub context_variables: Vec<ContextVariable>,
}

impl ParsedPlaceholders {
    /// PromptStack placeholders whose name was already used earlier in the same text (a library
    /// error; the other dialects repeat a variable on purpose).
    pub fn duplicates(&self) -> Vec<&Placeholder> {
        let mut seen = std::collections::HashSet::new();
        self.placeholders
            .iter()
            .filter(|p| p.dialect == Dialect::PromptStack)
            .filter(|p| !seen.insert(p.name.as_str()))
            .collect()
    }

    /// Distinct names in order of first appearance, with the kind of the first use.
    pub fn distinct(&self) -> Vec<(&str, PlaceholderKind)> {
        let mut seen = std::collections::HashSet::new();
        self.placeholders
            .iter()
            .filter(|p| seen.insert(p.name.as_str()))
            .map(|p| (p.name.as_str(), p.kind))
            .collect()
    }

    /// The placeholder whose span contains `offset` (end inclusive, so a cursor just after `}}`
    /// still counts).
    pub fn at(&self, offset: usize) -> Option<&Placeholder> {
        self.placeholders
            .iter()
            .find(|p| p.span.start <= offset && offset <= p.span.end)
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Scans `text` for placeholders with the default dialects; see [`parse_with`].
pub fn parse(text: &str) -> ParsedPlaceholders {
    parse_with(text, &Dialects::default())
}

/// Scans `text` for placeholders of `dialects` (linear in its length, even on one long line full
/// of `{{` or `$`). Never fails; spans are always on char boundaries within `text`; placeholders
/// come in text order and never overlap.
pub fn parse_with(text: &str, dialects: &Dialects) -> ParsedPlaceholders {
    let mut out = ParsedPlaceholders::default();
    parse_braces(text, &mut out);
    let mut others = Vec::new();
    if dialects.vscode {
        parse_vscode(text, &mut others, &mut out.context_variables);
    }
    if dialects.arguments {
        parse_arguments(text, &dialects.argument_names, &mut others);
    }
    if !others.is_empty() {
        out.placeholders.append(&mut others);
        out.placeholders.sort_by_key(|p| p.span.start);
        let mut end = 0;
        out.placeholders.retain(|p| {
            let keep = p.span.start >= end;
            if keep {
                end = p.span.end;
            }
            keep
        });
    }
    out
}

/// A Mustache variable name: `name`, `user.name`, `first-name`.
fn is_mustache_name(s: &str) -> bool {
    s.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `{{text:name}}`, `{{list:name}}` and Mustache `{{name}}`.
fn parse_braces(text: &str, out: &mut ParsedPlaceholders) {
    let bytes = text.as_bytes();
    let mut openers = scan::next_str("{{");
    let mut closers = scan::next_str("}}");
    let mut line_breaks = scan::next_byte(b"\n\r");
    let mut i = 0;
    while let Some(open) = openers.at_or_after(text, i) {
        // `{{{{` runs: the placeholder starts at the last `{{` before the content.
        let mut start = open;
        while bytes.get(start + 2) == Some(&b'{') {
            start += 1;
        }
        let content_start = start + 2;
        let line_end = line_breaks
            .at_or_after(text, content_start)
            .unwrap_or(text.len());
        let close = closers
            .at_or_after(text, content_start)
            .filter(|&close| close + 2 <= line_end);
        let Some(content_end) = close else {
            out.problems.push(PlaceholderProblem {
                kind: ProblemKind::Unclosed,
                span: start..line_end,
            });
            i = content_start;
            continue;
        };
        // A second `{{` inside means the first one was not a placeholder opener.
        if openers
            .at_or_after(text, content_start)
            .is_some_and(|next| next + 2 <= content_end)
        {
            i = content_start;
            continue;
        }
        let inner = &text[content_start..content_end];
        let span = start..content_end + 2;
        match inner.split_once(':') {
            Some((kind, name)) => match PlaceholderKind::from_keyword(kind) {
                Some(k) if is_name(name) => out.placeholders.push(Placeholder {
                    kind: k,
                    name: name.to_string(),
                    span: span.clone(),
                    kind_span: content_start..content_start + kind.len(),
                    name_span: content_start + kind.len() + 1..content_end,
                    dialect: Dialect::PromptStack,
                    default: None,
                }),
                Some(_) => out.problems.push(PlaceholderProblem {
                    kind: ProblemKind::InvalidName(name.to_string()),
                    span: span.clone(),
                }),
                // `{{#each items}}`, `{{> partial}}`, `{{helper a:b}}`: template syntax, not ours.
                None if !is_name(kind) => {}
                None => out.problems.push(PlaceholderProblem {
                    kind: ProblemKind::InvalidType(kind.to_string()),
                    span: span.clone(),
                }),
            },
            None => {
                let name = inner.trim();
                if is_mustache_name(name) {
                    let name_start = content_start + (inner.len() - inner.trim_start().len());
                    out.placeholders.push(Placeholder {
                        kind: PlaceholderKind::Text,
                        name: name.to_string(),
                        span: span.clone(),
                        kind_span: name_start..name_start,
                        name_span: name_start..name_start + name.len(),
                        dialect: Dialect::Mustache,
                        default: None,
                    });
                } else if name.is_empty() {
                    out.problems.push(PlaceholderProblem {
                        kind: ProblemKind::Malformed,
                        span: span.clone(),
                    });
                }
                // Anything else (`{{#if x}}`, `{{/if}}`, `{{ a b }}`) is template logic: literal.
            }
        }
        i = span.end;
    }
}

/// VS Code's `${input:name}`, `${input:name:hint}` and context variables such as `${file}`.
fn parse_vscode(text: &str, out: &mut Vec<Placeholder>, context: &mut Vec<ContextVariable>) {
    let mut openers = scan::next_str("${");
    let mut closers = scan::next_str("}");
    let mut line_breaks = scan::next_byte(b"\n\r");
    let mut i = 0;
    while let Some(open) = openers.at_or_after(text, i) {
        let content_start = open + 2;
        i = content_start;
        let line_end = line_breaks
            .at_or_after(text, content_start)
            .unwrap_or(text.len());
        let Some(close) = closers
            .at_or_after(text, content_start)
            .filter(|&c| c < line_end)
        else {
            continue;
        };
        let inner = &text[content_start..close];
        let span = open..close + 1;
        if let Some(rest) = inner.strip_prefix("input:") {
            let (name, hint) = match rest.split_once(':') {
                Some((name, hint)) => (name, Some(hint)),
                None => (rest, None),
            };
            if is_input_name(name) {
                let name_start = content_start + "input:".len();
                out.push(Placeholder {
                    kind: PlaceholderKind::Text,
                    name: name.to_string(),
                    span: span.clone(),
                    kind_span: content_start..content_start + "input".len(),
                    name_span: name_start..name_start + name.len(),
                    dialect: Dialect::VsCodeInput,
                    default: hint.map(str::to_string),
                });
                i = span.end;
            }
        } else if VSCODE_CONTEXT_VARIABLES.iter().any(|(v, _)| *v == inner) {
            context.push(ContextVariable {
                name: inner.to_string(),
                span: span.clone(),
            });
            i = span.end;
        }
    }
}

fn is_input_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `$ARGUMENTS`, `$ARGUMENTS[N]`, `$N` and `$name` for the listed names.
fn parse_arguments(text: &str, names: &[String], out: &mut Vec<Placeholder>) {
    let bytes = text.as_bytes();
    let mut dollars = scan::next_str("$");
    let mut i = 0;
    while let Some(dollar) = dollars.at_or_after(text, i) {
        let word_start = dollar + 1;
        let word_len = bytes[word_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        i = word_start + word_len;
        let word = &text[word_start..word_start + word_len];
        let escaped = dollar > 0 && bytes[dollar - 1] == b'\\';
        if word.is_empty() || escaped {
            continue;
        }
        let mut name_end = word_start + word_len;
        let digits = word.bytes().all(|b| b.is_ascii_digit());
        if word == "ARGUMENTS" {
            // `$ARGUMENTS[N]`: an index at most 9 digits long.
            let rest = &bytes[name_end..];
            let index_len = rest
                .iter()
                .skip(1)
                .take(10)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if rest.first() == Some(&b'[')
                && (1..=9).contains(&index_len)
                && rest.get(index_len + 1) == Some(&b']')
            {
                name_end += index_len + 2;
            }
        } else if !digits && !names.iter().any(|n| n == word) {
            continue;
        }
        i = name_end;
        out.push(Placeholder {
            kind: PlaceholderKind::Text,
            name: text[word_start..name_end].to_string(),
            span: dollar..name_end,
            kind_span: dollar..word_start,
            name_span: word_start..name_end,
            dialect: Dialect::Arguments,
            default: None,
        });
    }
}

/// A value for one placeholder when rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fill {
    Text(String),
    /// Written as list items where the placeholder stands on its own line (see [`replacement`]),
    /// as `a, b` inside a sentence.
    List(Vec<String>),
}

impl Fill {
    /// A JSON value as a placeholder value: a string is text, an array is a list's items.
    pub fn from_json(value: &serde_json::Value) -> Fill {
        match value {
            serde_json::Value::String(s) => Fill::Text(s.clone()),
            serde_json::Value::Array(items) => Fill::List(
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect(),
            ),
            other => Fill::Text(other.to_string()),
        }
    }
}

/// The result of [`render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// Placeholder names that had no value (left as written).
    pub missing: Vec<String>,
}

/// Replaces every placeholder that has a value; the others stay as written and are listed.
pub fn render(text: &str, values: &std::collections::HashMap<String, Fill>) -> Rendered {
    render_with(text, values, &Dialects::default())
}

/// [`render`] for the placeholders of `dialects`: one `values` map fills `{{text:x}}`,
/// `${input:x}`, `{{x}}` and `$x` alike.
pub fn render_with(
    text: &str,
    values: &std::collections::HashMap<String, Fill>,
    dialects: &Dialects,
) -> Rendered {
    let parsed = parse_with(text, dialects);
    let mut out = String::with_capacity(text.len());
    let mut missing: Vec<String> = Vec::new();
    let mut last = 0;
    for p in &parsed.placeholders {
        let Some(fill) = values.get(&p.name) else {
            if !missing.contains(&p.name) {
                missing.push(p.name.clone());
            }
            continue;
        };
        let (range, new_text) = replacement(text, p, fill);
        let start = range.start.max(last);
        out.push_str(&text[last..start]);
        out.push_str(&new_text);
        last = range.end.max(start);
    }
    out.push_str(&text[last..]);
    Rendered { text: out, missing }
}

/// What filling `placeholder` with `fill` replaces in `text`, and with what. A text value replaces
/// the placeholder. A list depends on where the placeholder stands:
///
/// - alone on its line (after an optional indent): one `- item` line per item, at that indent;
/// - after a list marker (`- `, `* `, `+ `, `1. `, `1) `) with nothing after it: the items
///   continue that list, each with the same indent and marker (numbers count up);
/// - with other text on the line: the items inline, `a, b`.
///
/// On a line of its own, an empty list removes the line; an item's own line breaks continue it
/// under its text.
pub fn replacement(text: &str, placeholder: &Placeholder, fill: &Fill) -> (Range<usize>, String) {
    let span = placeholder.span.clone();
    let items = match fill {
        Fill::Text(value) => return (span, value.clone()),
        Fill::List(items) => items,
    };
    let Some(block) = ListLine::of(text, &span) else {
        let inline: Vec<String> = items
            .iter()
            .map(|i| i.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        return (span, inline.join(", "));
    };
    if items.is_empty() {
        return (block.start..block.end_with_break, String::new());
    }
    let mut out = String::new();
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push_str(block.line_break);
        }
        let marker = block.marker(n);
        out.push_str(block.indent);
        out.push_str(&marker);
        let hang = " ".repeat(marker.chars().count());
        for (l, line) in item.lines().enumerate() {
            if l > 0 {
                out.push_str(block.line_break);
                out.push_str(block.indent);
                out.push_str(&hang);
            }
            out.push_str(line);
        }
    }
    (block.start..block.end, out)
}

/// Whether `placeholder` stands on a line of its own (after an optional indent and list marker),
/// where a list is written one item per line.
pub fn on_own_line(text: &str, placeholder: &Placeholder) -> bool {
    ListLine::of(text, &placeholder.span).is_some()
}

/// A list placeholder standing on its own line: the line's parts around it.
struct ListLine<'a> {
    /// Where the line starts.
    start: usize,
    /// The end of the line's content (before `\r\n` or `\n`).
    end: usize,
    /// After the line break, or the end of the text.
    end_with_break: usize,
    indent: &'a str,
    /// The marker as written (`- `, `1. `), or none.
    marker: Option<&'a str>,
    line_break: &'static str,
}

impl<'a> ListLine<'a> {
    /// The line of `span`, if only an indent and a list marker come before it and nothing but
    /// spaces after it.
    fn of(text: &'a str, span: &Range<usize>) -> Option<ListLine<'a>> {
        let start = text[..span.start].rfind('\n').map_or(0, |n| n + 1);
        let newline = text[span.end..].find('\n').map(|n| span.end + n);
        let content_end = newline.unwrap_or(text.len());
        let (end, line_break) = match newline {
            Some(n) if text[..n].ends_with('\r') => (n - 1, "\r\n"),
            _ => (content_end, "\n"),
        };
        if !text[span.end.min(end)..end].trim().is_empty() {
            return None;
        }
        let before = &text[start..span.start];
        let rest = before.trim_start_matches([' ', '\t']);
        let indent = &before[..before.len() - rest.len()];
        let marker = match rest {
            "" => None,
            m if is_list_marker(m) => Some(m),
            _ => return None,
        };
        Some(ListLine {
            start,
            end,
            end_with_break: newline.map_or(text.len(), |n| n + 1),
            indent,
            marker,
            line_break,
        })
    }

    /// The marker of the `n`th item (0-based): the line's own, counting up when numbered.
    fn marker(&self, n: usize) -> String {
        let Some(marker) = self.marker else {
            return "- ".into();
        };
        let digits = marker.bytes().take_while(u8::is_ascii_digit).count();
        match marker[..digits].parse::<u64>() {
            Ok(first) if digits > 0 => {
                format!("{}{}", first.saturating_add(n as u64), &marker[digits..])
            }
            _ => marker.to_string(),
        }
    }
}

/// `- `, `* `, `+ `, or 1–9 digits then `.` or `)`, each followed by at least one space.
fn is_list_marker(s: &str) -> bool {
    let body = s.trim_end_matches([' ', '\t']);
    if body.len() == s.len() {
        return false;
    }
    match body.as_bytes() {
        [b'-' | b'*' | b'+'] => true,
        [digits @ .., b'.' | b')'] => {
            (1..=9).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Renders the parse as `kind:name@start..end` and `!problem@start..end` lines for comparison.
    fn check(text: &str, expected: &[&str]) {
        let parsed = parse(text);
        let mut got: Vec<String> = parsed
            .placeholders
            .iter()
            .map(|p| format!("{}:{}@{:?}", p.kind.keyword(), p.name, p.span))
            .collect();
        got.extend(
            parsed
                .problems
                .iter()
                .map(|p| format!("!{:?}@{:?}", p.kind, p.span)),
        );
        assert_eq!(got, expected, "parsing {text:?}");
    }

    #[test]
    fn well_formed_placeholders() {
        check("{{text:a}}", &["text:a@0..10"]);
        check("x {{list:items_2}} y", &["list:items_2@2..18"]);
        check("{{text:a}}{{text:a}}", &["text:a@0..10", "text:a@10..20"]);
        check("é {{text:ü_ok}}", &["!InvalidName(\"ü_ok\")@3..17"]);
    }

    #[test]
    fn malformed_placeholders_are_problems_not_placeholders() {
        check("{{Text:a}}", &["!InvalidType(\"Text\")@0..10"]);
        check("{{text:my-name}}", &["!InvalidName(\"my-name\")@0..16"]);
        check("{{text:}}", &["!InvalidName(\"\")@0..9"]);
        check("{{}}", &["!Malformed@0..4"]);
        check("{{text:a\n}}", &["!Unclosed@0..8"]);
        check("{{text:a", &["!Unclosed@0..8"]);
        check("{{text:a\r}}", &["!Unclosed@0..8"]);
        check("# A\r{{text:x}}\r", &["text:x@4..14"]);
    }

    /// Renders the parse with every dialect as `dialect:name@start..end` lines.
    fn check_dialects(text: &str, expected: &[&str]) {
        let parsed = parse_with(text, &Dialects::all(vec!["topic".into()]));
        let mut got: Vec<String> = parsed
            .placeholders
            .iter()
            .map(|p| {
                let hint = p
                    .default
                    .as_deref()
                    .map(|d| format!("={d}"))
                    .unwrap_or_default();
                format!("{:?}:{}{hint}@{:?}", p.dialect, p.name, p.span)
            })
            .collect();
        got.extend(
            parsed
                .context_variables
                .iter()
                .map(|v| format!("context:{}@{:?}", v.name, v.span)),
        );
        got.extend(
            parsed
                .problems
                .iter()
                .map(|p| format!("!{:?}@{:?}", p.kind, p.span)),
        );
        assert_eq!(got, expected, "parsing {text:?}");
    }

    #[test]
    fn dialects() {
        check_dialects(
            "{{ name }} {{user.name}}",
            &["Mustache:name@0..10", "Mustache:user.name@11..24"],
        );
        check_dialects("{{#if a}}x{{/if}} {{> p}} {{helper a:b}}", &[]);
        check_dialects(
            "${input:file} ${input:goal:what to do} ${selection} ${other}",
            &[
                "VsCodeInput:file@0..13",
                "VsCodeInput:goal=what to do@14..38",
                "context:selection@39..51",
            ],
        );
        check_dialects(
            "$ARGUMENTS, $ARGUMENTS[1] $0 $12 $topic $other \\$1 $",
            &[
                "Arguments:ARGUMENTS@0..10",
                "Arguments:ARGUMENTS[1]@12..25",
                "Arguments:0@26..28",
                "Arguments:12@29..32",
                "Arguments:topic@33..39",
            ],
        );
        check_dialects("{{text:a}} $ARGUMENTSX ${input:}", &["PromptStack:a@0..10"]);
        // `$5` is prose unless the file's format uses arguments.
        assert!(parse("costs $5").placeholders.is_empty());
        assert_eq!(parse("{{a}} {{a}}").duplicates().len(), 0);
    }

    #[test]
    fn render_fills_every_dialect_from_one_map() {
        let values = std::collections::HashMap::from([
            ("topic".to_string(), Fill::Text("tests".into())),
            ("ARGUMENTS".to_string(), Fill::Text("all".into())),
            ("1".to_string(), Fill::Text("one".into())),
        ]);
        let rendered = render_with(
            "{{text:topic}} ${input:topic:x} {{ topic }} $topic $ARGUMENTS $1 ${input:left}",
            &values,
            &Dialects::all(vec!["topic".into()]),
        );
        assert_eq!(
            rendered.text,
            "tests tests tests tests all one ${input:left}"
        );
        assert_eq!(rendered.missing, vec!["left"]);
    }

    #[test]
    fn dialect_long_lines_stay_linear() {
        let all = Dialects::all(vec!["a".into()]);
        assert!(
            parse_with(&"${".repeat(100_000), &all)
                .placeholders
                .is_empty()
        );
        assert_eq!(
            parse_with(&"$1".repeat(100_000), &all).placeholders.len(),
            100_000
        );
        assert!(
            parse_with(&"$ARGUMENTS[".repeat(100_000), &all)
                .placeholders
                .len()
                == 100_000
        );
        assert_eq!(
            parse_with(&"{{a}}".repeat(100_000), &all)
                .placeholders
                .len(),
            100_000
        );
    }

    #[test]
    fn braces_runs_pick_the_innermost_opener() {
        check("{{{text:a}}}", &["text:a@1..11"]);
        check("{{ {{text:b}}", &["text:b@3..13"]);
    }

    #[test]
    fn duplicates_and_distinct() {
        let parsed = parse("{{text:a}} {{list:b}} {{text:a}}");
        assert_eq!(parsed.duplicates().len(), 1);
        assert_eq!(parsed.duplicates()[0].span, 22..32);
        assert_eq!(
            parsed.distinct(),
            vec![("a", PlaceholderKind::Text), ("b", PlaceholderKind::List)]
        );
        assert_eq!(parsed.at(12).map(|p| p.name.as_str()), Some("b"));
        assert!(parsed.at(10).is_some_and(|p| p.name == "a"));
    }

    #[test]
    fn render_fills_known_and_reports_missing() {
        let values = std::collections::HashMap::from([
            ("who".to_string(), Fill::Text("Ada".into())),
            (
                "items".to_string(),
                Fill::List(vec!["a".into(), "b".into()]),
            ),
        ]);
        let rendered = render(
            "Hi {{text:who}}\n{{list:items}}\n{{text:who}} {{text:x}}",
            &values,
        );
        assert_eq!(rendered.text, "Hi Ada\n- a\n- b\nAda {{text:x}}");
        assert_eq!(rendered.missing, vec!["x"]);
    }

    /// Renders `text` with `items` for `{{list:l}}` and compares.
    fn check_list(text: &str, items: &[&str], expected: &str) {
        let values = std::collections::HashMap::from([(
            "l".to_string(),
            Fill::List(items.iter().map(|i| i.to_string()).collect()),
        )]);
        assert_eq!(render(text, &values).text, expected, "rendering {text:?}");
    }

    #[test]
    fn list_rendering_follows_the_placeholders_position() {
        let ab = &["a", "b"];
        // On its own line: bullets, at the line's indent.
        check_list("Risks:\n{{list:l}}\nEnd.", ab, "Risks:\n- a\n- b\nEnd.");
        check_list("  {{list:l}}  \n", ab, "  - a\n  - b\n");
        check_list("\t{{list:l}}", ab, "\t- a\n\t- b");
        // After an existing bullet: the list continues with that marker.
        check_list("  - {{list:l}}\n", ab, "  - a\n  - b\n");
        check_list("* {{list:l}}", ab, "* a\n* b");
        check_list("3. {{list:l}}\n", ab, "3. a\n4. b\n");
        check_list("1)  {{list:l}}", ab, "1)  a\n2)  b");
        // Mid-line: inline.
        check_list(
            "In a sentence: {{list:l}} end.",
            ab,
            "In a sentence: a, b end.",
        );
        check_list("Steps: {{list:l}}", ab, "Steps: a, b");
        check_list("{{list:l}} first", ab, "a, b first");
        check_list("-{{list:l}}", ab, "-a, b");
        check_list("12345678901. {{list:l}}", ab, "12345678901. a, b");
        check_list(
            "Use {{list:l}}",
            &["one\ntwo", "three"],
            "Use one two, three",
        );
        // Line endings and multi-line items.
        check_list("x\r\n{{list:l}}\r\ny", ab, "x\r\n- a\r\n- b\r\ny");
        check_list(
            "- {{list:l}}",
            &["one\nmore", "two"],
            "- one\n  more\n- two",
        );
        // An empty list removes its line; inline it leaves nothing.
        check_list("Risks:\n- {{list:l}}\nEnd.", &[], "Risks:\nEnd.");
        check_list("Risks:\n{{list:l}}", &[], "Risks:\n");
        check_list("Use {{list:l}} here", &[], "Use  here");
        // One empty item: an empty bullet to type into.
        check_list("  {{list:l}}\n", &[""], "  - \n");
    }

    #[test]
    fn long_lines_of_openers_stay_linear() {
        // 300 KB of `{{a` took 30 s before (a search to the line end from each `{{`); the speed
        // is measured in benches/documents.rs.
        let text = "{{a".repeat(100_000);
        let parsed = parse(&text);
        assert_eq!(parsed.problems.len(), 100_000);
        assert!(parsed.placeholders.is_empty());
        assert_eq!(parsed.problems[99_999].span, 299_997..300_000);
        let closed = "{{text:a}}".repeat(100_000);
        assert_eq!(parse(&closed).placeholders.len(), 100_000);
    }

    proptest! {
        #[test]
        fn never_panics_and_spans_are_in_bounds(text in "\\PC*") {
            let parsed = parse_with(&text, &Dialects::all(vec!["topic".into()]));
            let mut end = 0;
            for p in &parsed.placeholders {
                prop_assert!(p.span.start >= end, "overlapping placeholders");
                end = p.span.end;
                prop_assert!(p.span.end <= text.len());
                prop_assert!(text.is_char_boundary(p.span.start) && text.is_char_boundary(p.span.end));
                prop_assert_eq!(&text[p.name_span.clone()], p.name.as_str());
                if p.dialect == Dialect::PromptStack {
                    prop_assert_eq!(&text[p.kind_span.clone()], p.kind.keyword());
                }
            }
            for p in &parsed.problems {
                prop_assert!(p.span.start <= p.span.end && p.span.end <= text.len());
                prop_assert!(text.is_char_boundary(p.span.start) && text.is_char_boundary(p.span.end));
            }
        }

        #[test]
        fn placeholders_mixed_into_noise_are_found(
            noise in "[^{}]{0,20}",
            name in "[A-Za-z0-9_]{1,12}",
            list in any::<bool>(),
        ) {
            let kind = if list { "list" } else { "text" };
            let text = format!("{noise}{{{{{kind}:{name}}}}}{noise}");
            let parsed = parse(&text);
            prop_assert_eq!(parsed.placeholders.len(), 1);
            prop_assert_eq!(&parsed.placeholders[0].name, &name);
        }
    }
}

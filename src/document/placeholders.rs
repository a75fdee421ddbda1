//! The placeholder syntax `{{text:name}}` / `{{list:name}}`, and the dialects of the agent files
//! people keep: VS Code's `${input:name}` (and its context variables such as `${selection}`),
//! Claude Code / Codex / OpenCode's `$ARGUMENTS`, `$ARGUMENTS[N]`, `$N` and `$name`, and
//! Mustache/Handlebars `{{name}}`.
//!
//! The parser never fails: anything that is not a well-formed placeholder is literal text, and the
//! reasons are returned as [`PlaceholderProblem`]s so library validation can warn about them.

use std::ops::Range;

use super::scan;

mod dialects;
mod render;

pub use dialects::VSCODE_CONTEXT_VARIABLES;
pub use render::{Fill, Rendered, on_own_line, render, render_with, replacement};

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
        dialects::parse_vscode(text, &mut others, &mut out.context_variables);
    }
    if dialects.arguments {
        dialects::parse_arguments(text, &dialects.argument_names, &mut others);
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

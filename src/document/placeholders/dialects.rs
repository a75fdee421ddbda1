//! The agent-file dialects beside `{{...}}`: VS Code's `${input:name[:hint]}` and context
//! variables, and Claude Code / Codex / OpenCode's `$ARGUMENTS`, `$ARGUMENTS[N]`, `$N`, `$name`.
//! Each is one forward pass over the text, linear in its length.

use super::super::scan;
use super::{ContextVariable, Dialect, Placeholder, PlaceholderKind};

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

/// VS Code's `${input:name}`, `${input:name:hint}` and context variables such as `${file}`.
pub(super) fn parse_vscode(
    text: &str,
    out: &mut Vec<Placeholder>,
    context: &mut Vec<ContextVariable>,
) {
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
pub(super) fn parse_arguments(text: &str, names: &[String], out: &mut Vec<Placeholder>) {
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

#[cfg(test)]
mod tests {
    use super::super::*;

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
}

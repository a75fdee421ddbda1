//! Turning a prompt body into text an editor inserts: an LSP snippet or plain text.
//!
//! Plain Rust: the LSP layer decides which variant the client gets.

use std::collections::HashMap;

use crate::document::placeholders::{self, Dialects, PlaceholderKind};

/// The body as snippet text with the default dialects; see [`to_snippet_with`].
pub fn to_snippet(body: &str) -> String {
    to_snippet_with(body, &Dialects::default())
}

/// The body as snippet text: `{{text:name}}`, `{{name}}`, `$ARGUMENTS`, `${input:name}` →
/// `${N:name}` (`${input:name:hint}` → `${N:hint}`), `{{list:name}}` → `- ${N:name}`, the same
/// name → the same N (numbered by first appearance), and `$`, `}`, `\` escaped elsewhere so the
/// snippet inserts exactly the text.
pub fn to_snippet_with(body: &str, dialects: &Dialects) -> String {
    let parsed = placeholders::parse_with(body, dialects);
    let mut out = String::with_capacity(body.len() + 16);
    let mut stops: HashMap<&str, usize> = HashMap::new();
    let mut at = 0;
    for p in &parsed.placeholders {
        escape_into(&body[at..p.span.start], &mut out);
        let next = stops.len() + 1;
        let n = *stops.entry(p.name.as_str()).or_insert(next);
        if p.kind == PlaceholderKind::List {
            out.push_str("- ");
        }
        out.push_str(&format!("${{{n}:"));
        escape_into(p.default.as_deref().unwrap_or(&p.name), &mut out);
        out.push('}');
        at = p.span.end;
    }
    escape_into(&body[at..], &mut out);
    out
}

/// The body for clients without snippet support: inserted as written, placeholders included, so
/// the user (and the `Fill placeholder` action) can still find them.
pub fn to_plain_text(body: &str) -> String {
    body.to_string()
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        if matches!(c, '$' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_cases() {
        let cases: &[(&str, &str)] = &[
            ("plain text", "plain text"),
            ("{{text:a}}", "${1:a}"),
            (
                "Review {{text:lang}} and {{text:goal}}; again {{text:lang}}.",
                "Review ${1:lang} and ${2:goal}; again ${1:lang}.",
            ),
            ("Focus:\n{{list:items}}\n", "Focus:\n- ${1:items}\n"),
            ("cost $5 {x} a\\b", "cost \\$5 {x\\} a\\\\b"),
            ("${1:not a stop}", "\\${1:not a stop\\}"),
            ("{{{text:a}}}", "{${1:a}\\}"),
            (
                "{{Text:a}} {{text:bad-name}}",
                "{{Text:a\\}\\} {{text:bad-name\\}\\}",
            ),
            ("{{text:a}}{{list:b}}{{text:a}}", "${1:a}- ${2:b}${1:a}"),
            ("é {{text:x}} ü", "é ${1:x} ü"),
            ("", ""),
        ];
        for (body, expected) in cases {
            assert_eq!(to_snippet(body), *expected, "body {body:?}");
        }
    }

    /// Expands a snippet the way an editor does when the user keeps every default, to check the
    /// escaping round-trips.
    fn expand(snippet: &str) -> String {
        let mut out = String::new();
        let mut chars = snippet.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                '$' if chars.peek() == Some(&'{') => {
                    chars.next();
                    for d in chars.by_ref() {
                        if d == ':' {
                            break;
                        }
                    }
                    for d in chars.by_ref() {
                        if d == '}' {
                            break;
                        }
                        out.push(d);
                    }
                }
                _ => out.push(c),
            }
        }
        out
    }

    #[test]
    fn dialects_become_tabstops() {
        let all = Dialects::all(vec!["topic".into()]);
        let cases: &[(&str, &str)] = &[
            (
                "Fix ${input:file} for ${input:goal:the goal}",
                "Fix ${1:file} for ${2:the goal}",
            ),
            (
                "Review $ARGUMENTS then $1 and $topic",
                "Review ${1:ARGUMENTS} then ${2:1} and ${3:topic}",
            ),
            (
                "Hi {{ name }}, {{name}} and ${selection}",
                "Hi ${1:name}, ${1:name} and \\${selection\\}",
            ),
            ("${input:x:a $1}b}", "${1:a \\$1}b\\}"),
        ];
        for (body, expected) in cases {
            assert_eq!(to_snippet_with(body, &all), *expected, "body {body:?}");
        }
        // `$5` stays text where the format has no arguments.
        assert_eq!(to_snippet("costs $5"), "costs \\$5");
    }

    #[test]
    fn text_without_placeholders_round_trips() {
        for body in ["a $b } c \\ d", "${x}", "\\\\$$}}", "{{ not one }}"] {
            assert_eq!(expand(&to_snippet(body)), body);
            assert_eq!(to_plain_text(body), body);
        }
    }
}

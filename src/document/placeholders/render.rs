//! Filling placeholders with values: text in place, lists as bullets or inline.

use std::ops::Range;

use super::{Dialects, Placeholder, parse_with};

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
}

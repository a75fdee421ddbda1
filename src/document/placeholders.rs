//! The placeholder syntax `{{text:name}}` / `{{list:name}}`.
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

/// One well-formed placeholder, with byte ranges into the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub kind: PlaceholderKind,
    pub name: String,
    /// The whole `{{...}}`.
    pub span: Range<usize>,
    /// The type keyword (`text` / `list`).
    pub kind_span: Range<usize>,
    /// The name after the colon.
    pub name_span: Range<usize>,
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
    /// `{{...}}` without the `type:name` shape.
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
}

impl ParsedPlaceholders {
    /// Placeholders whose name was already used earlier in the same text (a library error).
    pub fn duplicates(&self) -> Vec<&Placeholder> {
        let mut seen = std::collections::HashSet::new();
        self.placeholders
            .iter()
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

/// Scans `text` for placeholders in one pass (linear in its length, even on one long line full
/// of `{{`). Never fails; spans are always on char boundaries within `text`.
pub fn parse(text: &str) -> ParsedPlaceholders {
    let mut out = ParsedPlaceholders::default();
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
                }),
                Some(_) => out.problems.push(PlaceholderProblem {
                    kind: ProblemKind::InvalidName(name.to_string()),
                    span: span.clone(),
                }),
                None => out.problems.push(PlaceholderProblem {
                    kind: ProblemKind::InvalidType(kind.to_string()),
                    span: span.clone(),
                }),
            },
            None => out.problems.push(PlaceholderProblem {
                kind: ProblemKind::Malformed,
                span: span.clone(),
            }),
        }
        i = span.end;
    }
    out
}

/// A value for one placeholder when rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fill {
    Text(String),
    /// Rendered as `- item` lines.
    List(Vec<String>),
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
    let parsed = parse(text);
    let mut out = String::with_capacity(text.len());
    let mut missing: Vec<String> = Vec::new();
    let mut last = 0;
    for p in &parsed.placeholders {
        out.push_str(&text[last..p.span.start]);
        match values.get(&p.name) {
            Some(Fill::Text(value)) => out.push_str(value),
            Some(Fill::List(items)) => {
                let bullets: Vec<String> = items.iter().map(|i| format!("- {i}")).collect();
                out.push_str(&bullets.join("\n"));
            }
            None => {
                out.push_str(&text[p.span.clone()]);
                if !missing.contains(&p.name) {
                    missing.push(p.name.clone());
                }
            }
        }
        last = p.span.end;
    }
    out.push_str(&text[last..]);
    Rendered { text: out, missing }
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
        check("{{ name }}", &["!Malformed@0..10"]);
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
            let parsed = parse(&text);
            for p in &parsed.placeholders {
                prop_assert!(p.span.end <= text.len());
                prop_assert!(text.is_char_boundary(p.span.start) && text.is_char_boundary(p.span.end));
                prop_assert_eq!(&text[p.name_span.clone()], p.name.as_str());
                prop_assert_eq!(&text[p.kind_span.clone()], p.kind.keyword());
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

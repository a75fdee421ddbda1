//! YAML frontmatter: splitting it off a Markdown file and reading the library's keys.

use std::collections::BTreeMap;
use std::ops::Range;

use super::line_index::{self, line_ranges};

/// Frontmatter split from a document, with byte ranges into the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontmatterBlock<'a> {
    /// The YAML between the fences.
    pub yaml: &'a str,
    /// Byte range of the YAML text.
    pub yaml_range: Range<usize>,
    /// Byte range from the opening fence to the end of the closing fence line.
    pub block_range: Range<usize>,
    /// Zero-based line of the first YAML line (the line after `---`).
    pub first_yaml_line: u32,
}

/// Result of [`split`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split<'a> {
    /// No `---` fence on the first line.
    None,
    /// An opening fence without a closing one.
    Unterminated,
    Found(FrontmatterBlock<'a>),
}

fn fence_line(line: &str) -> bool {
    line.trim_end_matches(['\r', ' ', '\t']) == "---"
}

/// Splits YAML frontmatter fenced by `---` lines at the very start of `text` (a BOM is allowed).
pub fn split(text: &str) -> Split<'_> {
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut lines = line_ranges(text).peekable();
    let Some(first) = lines.next() else {
        return Split::None;
    };
    let Some(yaml_start) = lines.peek().map(|l| l.start) else {
        return Split::None;
    };
    if !fence_line(&text[start..first.end]) {
        return Split::None;
    }
    while let Some(line) = lines.next() {
        if fence_line(&text[line.clone()]) {
            let block_end = lines.peek().map_or(text.len(), |next| next.start);
            return Split::Found(FrontmatterBlock {
                yaml: &text[yaml_start..line.start],
                yaml_range: yaml_start..line.start,
                block_range: start..block_end,
                first_yaml_line: 1,
            });
        }
    }
    Split::Unterminated
}

/// The body of a Markdown file without its frontmatter (the whole text when there is none).
pub fn body(text: &str) -> &str {
    match split(text) {
        Split::Found(block) => &text[block.block_range.end..],
        _ => text.strip_prefix('\u{feff}').unwrap_or(text),
    }
}

/// Where a cursor sits inside a frontmatter block, for completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spot {
    /// At the start of a line, typing a key: `start` is the line start.
    Key { start: usize },
    /// Typing a tag (in `tags: [a, b`, `tags: a, b` or a `- item` under `tags:`).
    Tag { start: usize },
    /// Elsewhere (or outside the frontmatter).
    None,
}

/// The completion spot for `offset` in `text`.
pub fn spot(text: &str, offset: usize) -> Spot {
    let Split::Found(block) = split(text) else {
        return Spot::None;
    };
    if offset < block.yaml_range.start || offset > block.yaml_range.end || offset > text.len() {
        return Spot::None;
    }
    let line_start = line_index::line_start(text, offset);
    let prefix = &text[line_start..offset];
    if prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Spot::Key { start: line_start };
    }
    let after_separator = |from: usize| {
        let rest = &text[from..offset];
        let cut = rest.rfind([',', '[']).map_or(0, |i| i + 1);
        let word = &rest[cut..];
        from + cut + (word.len() - word.trim_start().len())
    };
    if let Some(rest) = prefix.strip_prefix("tags:") {
        if rest.contains(']') {
            return Spot::None;
        }
        return Spot::Tag {
            start: after_separator(line_start + "tags:".len()),
        };
    }
    let trimmed = prefix.trim_start();
    if let Some(item) = trimmed.strip_prefix("- ") {
        // A block list item: it is a tag when the closest key line above is `tags:`.
        let above = &text[block.yaml_range.start..line_start];
        let lines: Vec<&str> = line_ranges(above).map(|l| &above[l]).collect();
        let owner = lines
            .into_iter()
            .rev()
            .find(|l| !l.trim_start().starts_with('-') && !l.trim().is_empty());
        if owner.is_some_and(|l| l.trim_end() == "tags:") {
            return Spot::Tag {
                start: offset - item.len() + (item.len() - item.trim_start().len()),
            };
        }
    }
    Spot::None
}

/// The frontmatter keys the library knows, plus every other key kept as it was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frontmatter {
    pub title: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Keys the library does not interpret (`mode`, `tools`, `applyTo`, `model`, ...).
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Why frontmatter could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontmatterError {
    #[error("invalid YAML in frontmatter: {message}")]
    InvalidYaml {
        message: String,
        /// Zero-based line in the whole document, when the YAML parser knows it.
        line: Option<u32>,
    },
    #[error("frontmatter must be a mapping of keys to values")]
    NotAMapping,
    #[error("`{key}` must be {expected}")]
    WrongType {
        key: &'static str,
        expected: &'static str,
    },
}

/// Parses YAML the way people who write prompts expect: YAML 1.2 booleans, so `tags: [yes, on]`
/// stays text instead of turning into `true`. Used for frontmatter and the config file alike.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options(text, options)
}

/// Parses the YAML of a frontmatter block into its keys, as written (empty when the block is).
pub fn parse_map(
    block: &FrontmatterBlock<'_>,
) -> Result<serde_json::Map<String, serde_json::Value>, FrontmatterError> {
    if block.yaml.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    let value: serde_json::Value = parse_yaml(block.yaml).map_err(|e| {
        let line = e
            .location()
            .map(|loc| block.first_yaml_line + (loc.line() as u32).saturating_sub(1));
        FrontmatterError::InvalidYaml {
            message: first_line(&e.to_string()),
            line,
        }
    })?;
    match value {
        serde_json::Value::Object(map) => Ok(map),
        serde_json::Value::Null => Ok(serde_json::Map::new()),
        _ => Err(FrontmatterError::NotAMapping),
    }
}

/// The line of the frontmatter key `key` (as `key:` at the start of a line) in `text`, if any.
pub fn key_range(text: &str, block: &FrontmatterBlock<'_>, key: &str) -> Option<Range<usize>> {
    line_ranges(block.yaml)
        .find(|line| {
            block.yaml[line.clone()]
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|line| {
            block.yaml_range.start + line.start..block.yaml_range.start + line.start + key.len()
        })
        .filter(|range| range.end <= text.len())
}

/// The frontmatter key written at the start of the line holding `offset`, and its range, when
/// the offset is on that key inside the frontmatter (for hover).
pub fn key_at(text: &str, offset: usize) -> Option<(String, Range<usize>)> {
    let Split::Found(block) = split(text) else {
        return None;
    };
    if offset < block.yaml_range.start || offset >= block.yaml_range.end {
        return None;
    }
    let start = line_index::line_start(text, offset);
    let line = &text[start..];
    let len = line
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        .count();
    let has_colon = line[len..].trim_start_matches([' ', '\t']).starts_with(':');
    (len > 0 && has_colon && offset <= start + len)
        .then(|| (line[..len].to_string(), start..start + len))
}

/// Parses the YAML of a frontmatter block.
pub fn parse(block: &FrontmatterBlock<'_>) -> Result<Frontmatter, FrontmatterError> {
    let map = parse_map(block)?;
    let mut fm = Frontmatter::default();
    for (key, value) in map {
        match key.as_str() {
            "title" => fm.title = scalar_string(&value, "title")?,
            "description" => fm.description = scalar_string(&value, "description")?,
            "tags" => fm.tags = Some(tag_list(&value)?),
            _ => {
                fm.extra.insert(key, value);
            }
        }
    }
    Ok(fm)
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

fn scalar_string(
    value: &serde_json::Value,
    key: &'static str,
) -> Result<Option<String>, FrontmatterError> {
    match value {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        serde_json::Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(FrontmatterError::WrongType {
            key,
            expected: "a single line of text",
        }),
    }
}

/// Tags as a YAML list, or as one comma-separated string (a common hand-written form).
fn tag_list(value: &serde_json::Value) -> Result<Vec<String>, FrontmatterError> {
    let wrong = || FrontmatterError::WrongType {
        key: "tags",
        expected: "a list of words, e.g. `tags: [review, code]`",
    };
    let tags: Vec<String> = match value {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::String(s) => s.split(',').map(|t| t.trim().to_string()).collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                serde_json::Value::String(s) => Ok(s.trim().to_string()),
                serde_json::Value::Number(n) => Ok(n.to_string()),
                _ => Err(wrong()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(wrong()),
    };
    Ok(tags.into_iter().filter(|t| !t.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> FrontmatterBlock<'_> {
        match split(text) {
            Split::Found(b) => b,
            other => panic!("expected frontmatter in {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn splits_fenced_yaml() {
        let text = "---\ntitle: A\n---\nbody\n";
        let block = found(text);
        assert_eq!(block.yaml, "title: A\n");
        assert_eq!(&text[block.block_range.end..], "body\n");
        assert_eq!(body(text), "body\n");
        assert_eq!(found("---\r\ntitle: A\r\n---\r\nx").yaml, "title: A\r\n");
        assert_eq!(found("\u{feff}---\n---").yaml, "");
        let text = "---\rtitle: A\r---\rbody";
        assert_eq!(found(text).yaml, "title: A\r");
        assert_eq!(body(text), "body");
    }

    #[test]
    fn missing_or_unterminated() {
        assert_eq!(split("# title\n---\n"), Split::None);
        assert_eq!(split("---\ntitle: A\n"), Split::Unterminated);
        assert_eq!(body("no frontmatter"), "no frontmatter");
    }

    #[test]
    fn parses_known_and_keeps_unknown_keys() {
        let text = "---\ntitle: Review\ndescription: d\ntags: [a, b]\napplyTo: '**/*.rs'\nmode: agent\n---\n";
        let fm = parse(&found(text)).unwrap();
        assert_eq!(fm.title.as_deref(), Some("Review"));
        assert_eq!(fm.tags, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(fm.extra.len(), 2);
        assert_eq!(fm.extra["mode"], serde_json::json!("agent"));
        let fm = parse(&found("---\ntags: [yes, on, y]\n---\n")).unwrap();
        assert_eq!(
            fm.tags,
            Some(vec!["yes".to_string(), "on".to_string(), "y".to_string()])
        );
        let fm = parse(&found("---\ntags: x, y\n---\n")).unwrap();
        assert_eq!(fm.tags, Some(vec!["x".to_string(), "y".to_string()]));
    }

    #[test]
    fn completion_spots() {
        // `|` marks the cursor.
        let check = |marked: &str, expected: Spot| {
            let offset = marked.find('|').unwrap();
            let text = marked.replace('|', "");
            assert_eq!(spot(&text, offset), expected, "{marked:?}");
        };
        check("---\nti|\n---\n", Spot::Key { start: 4 });
        check("---\ntitle: x|\n---\n", Spot::None);
        check("---\ntags: [a, re|\n---\n", Spot::Tag { start: 14 });
        check("---\ntags: [re|\n---\n", Spot::Tag { start: 11 });
        check("---\ntags: a, b|\n---\n", Spot::Tag { start: 13 });
        check("---\ntags:\n  - a\n  - r|\n---\n", Spot::Tag { start: 20 });
        check("---\nother:\n  - r|\n---\n", Spot::None);
        check("---\ntags: [a]|\n---\n", Spot::None);
        check("---\nt: x\n---\nbody|\n", Spot::None);
    }

    #[test]
    fn keys_under_the_cursor() {
        let text = "---\nallowed-tools: Read\n  nested: x\n---\nname: body\n";
        assert_eq!(key_at(text, 6), Some(("allowed-tools".into(), 4..17)));
        assert_eq!(key_at(text, 17), Some(("allowed-tools".into(), 4..17)));
        assert_eq!(key_at(text, 19), None);
        assert_eq!(key_at(text, 26), None);
        assert_eq!(key_at(text, 40), None);
        let block = found(text);
        assert_eq!(key_range(text, &block, "allowed-tools"), Some(4..17));
        assert_eq!(key_range(text, &block, "name"), None);
    }

    #[test]
    fn invalid_yaml_reports_its_line() {
        let text = "---\ntitle: ok\ntags: [a, b\n---\n";
        match parse(&found(text)) {
            Err(FrontmatterError::InvalidYaml { line, message }) => {
                assert!(line.is_some_and(|l| (1..=3).contains(&l)), "line {line:?}");
                assert!(!message.is_empty());
            }
            other => panic!("expected invalid YAML, got {other:?}"),
        }
        assert_eq!(
            parse(&found("---\n- a\n- b\n---\n")),
            Err(FrontmatterError::NotAMapping)
        );
        assert!(matches!(
            parse(&found("---\ntitle: [a]\n---\n")),
            Err(FrontmatterError::WrongType { key: "title", .. })
        ));
    }
}

//! Frontmatter read the lenient way its tools read it: Cursor's line by line, and unquoted
//! values (`argument-hint: [file] [focus]`) that Claude Code and VS Code take as text.

use serde_json::{Map, Value};

use super::Checker;
use crate::document::findings::Severity;
use crate::document::frontmatter::{self, FrontmatterBlock};
use crate::document::line_index::line_ranges;

/// Claude Code and VS Code read `argument-hint: [file] [focus]` (a common, unquoted form) as
/// text: the frontmatter with such top-level values quoted, and the lines that needed it, when
/// that makes it valid.
pub(super) fn read_unquoted(
    block: &FrontmatterBlock<'_>,
) -> Option<(Map<String, Value>, Vec<u32>)> {
    let mut repaired = String::with_capacity(block.yaml.len() + 16);
    let mut lines = Vec::new();
    for (n, range) in line_ranges(block.yaml).enumerate() {
        let line = &block.yaml[range.clone()];
        let content = line.trim_end_matches(['\r', '\n']);
        let quoted = content.split_once(": ").filter(|(key, value)| {
            !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                && value
                    .trim_start()
                    .starts_with(['[', '{', '*', '&', '!', '@', '`'])
                && frontmatter::parse_yaml::<Value>(content).is_err()
        });
        match quoted {
            Some((key, value)) => {
                let value = value.trim().replace('\'', "''");
                repaired.push_str(&format!("{key}: '{value}'\n"));
                lines.push(block.first_yaml_line + n as u32);
            }
            None => {
                repaired.push_str(content);
                repaired.push('\n');
            }
        }
    }
    if lines.is_empty() {
        return None;
    }
    match frontmatter::parse_yaml::<Value>(&repaired).ok()? {
        Value::Object(map) => Some((map, lines)),
        _ => None,
    }
}

/// Cursor reads its frontmatter leniently (`globs: **/*.ts` unquoted is normal there), so it is
/// read line by line, never as strict YAML.
pub(super) fn cursor_rule(checker: &mut Checker<'_>, block: &FrontmatterBlock<'_>) {
    let yaml = block.yaml;
    for line in line_ranges(yaml) {
        let raw = &yaml[line.clone()];
        let Some(value) = raw.strip_prefix("alwaysApply:") else {
            continue;
        };
        let value = value.trim();
        let start = block.yaml_range.start + line.start;
        let range = start..start + raw.trim_end().len();
        let message = match value {
            "true" | "false" | "" => continue,
            "\"true\"" | "'true'" | "\"false\"" | "'false'" => format!(
                "`alwaysApply: {value}` is a string: Cursor expects the boolean `{}` (without quotes) and does not apply the rule as intended",
                value.trim_matches(['"', '\''])
            ),
            other => format!("`alwaysApply: {other}`: Cursor expects `true` or `false`"),
        };
        checker.push(
            Severity::Warning,
            "always-apply-not-boolean",
            range,
            message,
        );
    }
}

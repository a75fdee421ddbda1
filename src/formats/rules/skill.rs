//! The Agent Skills rules: `name` (pattern, length, folder), `description`, `compatibility`,
//! `metadata`, and the body's length.

use std::ops::Range;
use std::path::Path;

use serde_json::{Map, Value};

use super::{Checker, Context, fence, required_severity, string};
use crate::document::findings::Severity;
use crate::document::frontmatter::FrontmatterBlock;
use crate::document::line_index::line_ranges;
use crate::formats::Format;

/// Longest skill name (Agent Skills spec).
const MAX_SKILL_NAME: usize = 64;
/// Longest skill description (Agent Skills spec).
const MAX_SKILL_DESCRIPTION: usize = 1024;
/// Longest skill `compatibility` (Agent Skills spec).
const MAX_COMPATIBILITY: usize = 500;
/// A skill body longer than this is loaded whole each time: the spec suggests splitting it.
const LONG_SKILL_BODY_LINES: usize = 500;
pub(super) fn skill(
    checker: &mut Checker<'_>,
    block: &FrontmatterBlock<'_>,
    map: &Map<String, Value>,
    context: &Context<'_>,
    at: &dyn Fn(&str) -> Range<usize>,
) {
    let severity = required_severity(Format::Skill, context.path);
    let folder = context
        .path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match string(map, "name").map(str::trim) {
        None | Some("") => checker.push(
            severity,
            "missing-name",
            at("name"),
            format!(
                "missing `name`: the Agent Skills spec and VS Code skip a skill without it (Claude Code uses the folder name `{folder}`)"
            ),
        ),
        Some(name) if !is_skill_name(name) => checker.push(
            severity,
            "invalid-name",
            at("name"),
            format!(
                "`name` `{name}` is not a valid skill name: use at most {MAX_SKILL_NAME} lower-case letters, digits and single hyphens (`^[a-z0-9]+(-[a-z0-9]+)*$`); VS Code and other Agent Skills tools skip the skill"
            ),
        ),
        Some(name) if name != folder => checker.push(
            severity,
            "name-mismatch",
            at("name"),
            format!(
                "`name` `{name}` differs from the folder name `{folder}`: the Agent Skills spec and VS Code require them to match and skip the skill"
            ),
        ),
        Some(_) => {}
    }
    match string(map, "description").map(str::trim) {
        None | Some("") => checker.push(
            severity,
            "missing-description",
            at("description"),
            "missing `description`: agents decide when to load a skill from it; the Agent Skills spec and VS Code skip a skill without one"
                .into(),
        ),
        Some(d) if d.chars().count() > MAX_SKILL_DESCRIPTION => checker.push(
            severity,
            "description-too-long",
            at("description"),
            format!(
                "`description` is {} characters; the Agent Skills spec allows {MAX_SKILL_DESCRIPTION} and tools reject or cut longer ones",
                d.chars().count()
            ),
        ),
        Some(_) => {}
    }
    if string(map, "compatibility").is_some_and(|c| c.chars().count() > MAX_COMPATIBILITY) {
        checker.push(
            Severity::Warning,
            "compatibility-too-long",
            at("compatibility"),
            format!("`compatibility` is longer than the {MAX_COMPATIBILITY} characters the Agent Skills spec allows"),
        );
    }
    if map.get("metadata").is_some_and(|m| !m.is_object()) {
        checker.push(
            Severity::Warning,
            "metadata-not-a-map",
            at("metadata"),
            "`metadata` must be a map of keys to values (Agent Skills spec)".into(),
        );
    }
    let body = &checker.text[block.block_range.end..];
    let lines = line_ranges(body).count();
    if lines > LONG_SKILL_BODY_LINES {
        checker.push(
            Severity::Hint,
            "long-skill-body",
            fence(block),
            format!(
                "the skill body is {lines} lines; the Agent Skills spec suggests at most {LONG_SKILL_BODY_LINES} and moving details into referenced files"
            ),
        );
    }
}

/// `^[a-z0-9]+(-[a-z0-9]+)*$`, at most 64 characters.
fn is_skill_name(name: &str) -> bool {
    name.len() <= MAX_SKILL_NAME
        && !name.is_empty()
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

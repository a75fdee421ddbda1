//! VS Code's `applyTo`: globs relative to the workspace root, matched against its files.

use std::ops::Range;
use std::path::Path;

use serde_json::Value;

use super::Checker;
use crate::document::findings::Severity;

/// Files looked at before an `applyTo` pattern is taken to match nothing.
const MAX_WORKSPACE_FILES: usize = 50_000;

/// `applyTo` is a glob or a comma list of globs relative to the workspace root: one that matches
/// no file there never attaches the instructions.
pub(super) fn apply_to(
    checker: &mut Checker<'_>,
    pattern: &Value,
    root: &Path,
    range: Range<usize>,
) {
    let Some(pattern) = pattern.as_str() else {
        checker.push(
            Severity::Warning,
            "apply-to-not-text",
            range,
            "VS Code expects `applyTo` as a glob or a comma list of globs, e.g. `applyTo: '**/*.ts'`"
                .into(),
        );
        return;
    };
    let mut globs = Vec::new();
    for glob in pattern.split(',').map(str::trim).filter(|g| !g.is_empty()) {
        match globset::GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
        {
            Ok(g) => globs.push((glob, g.compile_matcher())),
            Err(e) => checker.push(
                Severity::Warning,
                "invalid-glob",
                range.clone(),
                format!(
                    "`applyTo` pattern `{glob}` is not a valid glob ({e}); VS Code never applies it"
                ),
            ),
        }
    }
    // `**` and `**/*` match every file, also in an empty workspace.
    globs.retain(|(glob, _)| !matches!(*glob, "**" | "**/*" | "*"));
    if globs.is_empty() {
        return;
    }
    let mut unmatched: Vec<_> = globs;
    let walker = ignore::WalkBuilder::new(root).hidden(false).build();
    for entry in walker.filter_map(Result::ok).take(MAX_WORKSPACE_FILES) {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(root) else {
            continue;
        };
        unmatched.retain(|(_, matcher)| !matcher.is_match(relative));
        if unmatched.is_empty() {
            return;
        }
    }
    for (glob, _) in unmatched {
        checker.push(
            Severity::Warning,
            "apply-to-no-match",
            range.clone(),
            format!(
                "`applyTo` pattern `{glob}` matches no file in the workspace: VS Code never attaches these instructions"
            ),
        );
    }
}

//! Keeping paths where they belong. A path that comes from a command, a document link, AI output
//! or a directory walk is resolved to its real location (symbolic links and `..` followed)
//! before anything is read or written there, and checked against the folders it may be in: the
//! library for prompts, the workspace folders for compositions and previews.

use std::path::{Component, Path, PathBuf};

/// Where `path` really is, or would be once created: its longest existing prefix with symbolic
/// links resolved, then the rest applied to it (that rest does not exist, so it holds no links
/// and its `..` steps are plain). `None` for a relative path.
pub fn real_path(path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    let mut existing = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut out = real;
            for component in rest.iter().rev() {
                match component {
                    Component::Normal(name) => out.push(name),
                    Component::ParentDir => {
                        out.pop();
                    }
                    _ => {}
                }
            }
            return Some(out);
        }
        let (Some(parent), Some(last)) = (existing.parent(), existing.components().next_back())
        else {
            return None;
        };
        rest.push(last);
        existing = parent;
    }
}

/// Whether `path` really is inside one of `roots` (both sides resolved with [`real_path`]).
pub fn is_within(path: &Path, roots: &[PathBuf]) -> bool {
    within(path, roots).is_some()
}

/// Where `path` really is, spelt under the first of `roots` that really holds it (so a root
/// reached through a symbolic link keeps its spelling), or `None` when none does.
pub fn within(path: &Path, roots: &[PathBuf]) -> Option<PathBuf> {
    let real = real_path(path)?;
    roots.iter().find_map(|root| {
        let relative = real.strip_prefix(real_path(root)?).ok()?;
        Some(root.join(relative))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn real_paths_follow_links_and_dot_dots() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let inside = root.join("ws");
        let outside = root.join("outside");
        std::fs::create_dir_all(inside.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, inside.join("escape")).unwrap();
        let roots = [inside.clone()];
        let cases: &[(PathBuf, bool)] = &[
            (inside.join("sub/new/dir"), true),
            (inside.join("sub/../sub/x"), true),
            (inside.join("../outside/x"), false),
            (inside.join("escape/x"), false),
            (inside.join("not-yet/../../outside"), false),
            (inside.join("not-yet/../sub"), true),
            (PathBuf::from("relative/x"), false),
            (outside.clone(), false),
        ];
        for (path, within) in cases {
            assert_eq!(is_within(path, &roots), *within, "{}", path.display());
        }
        assert_eq!(
            real_path(&inside.join("escape/new/file.md")),
            Some(outside.join("new/file.md"))
        );
        // Spelt under the root as given, even when that root is itself a link.
        let alias = root.join("alias");
        std::os::unix::fs::symlink(&inside, &alias).unwrap();
        assert_eq!(
            within(&inside.join("sub/../new"), std::slice::from_ref(&alias)),
            Some(alias.join("new"))
        );
    }
}

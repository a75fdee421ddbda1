//! The starter library: prompts embedded in the binary and written out on first run.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::Path;

/// (path relative to the library directory, contents) of every starter prompt.
pub const FILES: &[(&str, &str)] = &[
    (
        "workflows/debug-failing-test.md",
        include_str!("starter/workflows/debug-failing-test.md"),
    ),
    (
        "workflows/plan-a-feature.md",
        include_str!("starter/workflows/plan-a-feature.md"),
    ),
    (
        "workflows/prepare-release.md",
        include_str!("starter/workflows/prepare-release.md"),
    ),
    (
        "workflows/write-design-doc.md",
        include_str!("starter/workflows/write-design-doc.md"),
    ),
    (
        "commands/code-review.md",
        include_str!("starter/commands/code-review.md"),
    ),
    (
        "commands/commit-message.md",
        include_str!("starter/commands/commit-message.md"),
    ),
    (
        "commands/explain-code.md",
        include_str!("starter/commands/explain-code.md"),
    ),
    (
        "commands/summarise-document.md",
        include_str!("starter/commands/summarise-document.md"),
    ),
    (
        "commands/write-tests.md",
        include_str!("starter/commands/write-tests.md"),
    ),
    (
        "prompt-decorations/cite-sources.md",
        include_str!("starter/prompt-decorations/cite-sources.md"),
    ),
    (
        "prompt-decorations/output-as-json.md",
        include_str!("starter/prompt-decorations/output-as-json.md"),
    ),
    (
        "prompt-decorations/output-as-table.md",
        include_str!("starter/prompt-decorations/output-as-table.md"),
    ),
    (
        "prompt-decorations/terse-expert.md",
        include_str!("starter/prompt-decorations/terse-expert.md"),
    ),
    (
        "prompt-decorations/think-step-by-step.md",
        include_str!("starter/prompt-decorations/think-step-by-step.md"),
    ),
    (
        "rules/coding-standards.md",
        include_str!("starter/rules/coding-standards.md"),
    ),
    (
        "rules/no-hallucination.md",
        include_str!("starter/rules/no-hallucination.md"),
    ),
    (
        "rules/security.md",
        include_str!("starter/rules/security.md"),
    ),
    ("rules/tone.md", include_str!("starter/rules/tone.md")),
];

/// Writes the starter prompts into `library_dir` unless it already holds files. Never overwrites a file. Returns how many files were written.
pub fn install(library_dir: &Path) -> std::io::Result<usize> {
    match fs::read_dir(library_dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Ok(0);
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::create_dir_all(library_dir)?;

    let mut written = 0;
    for &(rel, contents) in FILES {
        let path = library_dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                file.write_all(contents.as_bytes())?;
                written += 1;
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn installs_every_file_into_an_empty_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("library");
        assert_eq!(install(&lib).unwrap(), FILES.len());
        for &(rel, contents) in FILES {
            let on_disk = fs::read_to_string(lib.join(rel)).unwrap();
            assert_eq!(on_disk, contents, "{rel}");
        }
    }

    #[test]
    fn installs_into_an_existing_empty_dir() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(install(tmp.path()).unwrap(), FILES.len());
    }

    #[test]
    fn second_install_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("library");
        assert_eq!(install(&lib).unwrap(), FILES.len());
        let (rel, _) = FILES[0];
        fs::write(lib.join(rel), "edited by the user").unwrap();
        assert_eq!(install(&lib).unwrap(), 0);
        assert_eq!(
            fs::read_to_string(lib.join(rel)).unwrap(),
            "edited by the user"
        );
    }

    #[test]
    fn non_empty_dir_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("mine.md"), "my own prompt").unwrap();
        assert_eq!(install(tmp.path()).unwrap(), 0);
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("mine.md")]);
        assert_eq!(
            fs::read_to_string(tmp.path().join("mine.md")).unwrap(),
            "my own prompt"
        );
    }

    #[test]
    fn paths_are_unique_markdown_files_in_known_categories() {
        let categories = ["workflows", "commands", "prompt-decorations", "rules"];
        let mut seen = HashSet::new();
        for &(rel, _) in FILES {
            assert!(seen.insert(rel), "duplicate path {rel}");
            assert!(rel.ends_with(".md"), "{rel}");
            let (category, name) = rel.split_once('/').expect("category/slug.md");
            assert!(categories.contains(&category), "{rel}");
            assert!(!name.contains('/'), "{rel}");
        }
        for category in categories {
            let n = FILES
                .iter()
                .filter(|(rel, _)| rel.starts_with(&format!("{category}/")))
                .count();
            assert!(n >= 3, "only {n} prompts in {category}");
        }
    }

    /// The placeholder names in `text`, in order, from a simple scan for `{{text:` and `{{list:`.
    fn placeholder_names(text: &str) -> Vec<&str> {
        let mut names = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let body = after
                .strip_prefix("text:")
                .or_else(|| after.strip_prefix("list:"));
            match body {
                Some(body) => {
                    let end = body
                        .find("}}")
                        .expect("placeholder is closed with two closing braces");
                    let name = &body[..end];
                    assert!(
                        !name.is_empty()
                            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "invalid placeholder name {name:?}"
                    );
                    names.push(name);
                    rest = &body[end + 2..];
                }
                None => panic!("`{{{{` that is not a text or list placeholder"),
            }
        }
        names
    }

    #[test]
    fn every_file_has_frontmatter_and_unique_placeholders() {
        for &(rel, contents) in FILES {
            assert!(contents.starts_with("---\n"), "{rel}: no frontmatter");
            let end = contents[4..]
                .find("\n---\n")
                .unwrap_or_else(|| panic!("{rel}: frontmatter not closed"));
            let frontmatter = &contents[4..4 + end];
            for key in ["title:", "description:", "tags:"] {
                assert!(
                    frontmatter.lines().any(|l| l.starts_with(key)),
                    "{rel}: missing {key}"
                );
            }
            for line in frontmatter.lines() {
                assert!(
                    ["title: ", "description: ", "tags: ["]
                        .iter()
                        .any(|k| line.starts_with(k)),
                    "{rel}: unexpected frontmatter line {line:?}"
                );
            }
            let body = &contents[4 + end + 5..];
            assert!(!body.trim().is_empty(), "{rel}: empty body");

            let mut seen = HashSet::new();
            for name in placeholder_names(contents) {
                assert!(seen.insert(name), "{rel}: placeholder {name} used twice");
            }
        }
    }
}

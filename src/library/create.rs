//! Creating a new prompt file in the library: a checked category folder, a slug of the title for
//! the file name, frontmatter plus a body skeleton, written atomically and never over a file.

use std::path::{Path, PathBuf};

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct NewPrompt {
    pub title: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub category: String,
}

/// Why a prompt could not be created; messages are shown to the user as they are.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("invalid category `{0}`: {1}")]
    InvalidCategory(String, &'static str),
    #[error("invalid name `{0}`: {1}")]
    InvalidName(String, &'static str),
    #[error("invalid title: {0}")]
    InvalidTitle(&'static str),
    #[error("{} already exists; PromptStack never overwrites a file (choose another name)", .0.display())]
    Exists(PathBuf),
    #[error("could not write {path}: {err}", path = .0.display(), err = .1)]
    Io(PathBuf, std::io::Error),
}

/// Checks that `name` is one plain folder or file name: not empty, not `.`/`..`, not hidden,
/// no separators, not absolute. Returns why not.
pub fn check_plain_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        return Err("it is empty");
    }
    if name.contains(['/', '\\']) {
        return Err("it must be a single folder name, without `/` or `\\`");
    }
    if name == "." || name == ".." || name.contains("..") {
        return Err("`..` is not allowed");
    }
    if name.starts_with('.') {
        return Err("hidden names (starting with `.`) are not allowed");
    }
    if Path::new(name).is_absolute() || name.contains(['\0', ':']) {
        return Err("absolute paths and drive letters are not allowed");
    }
    if name != name.trim() {
        return Err("it must not start or end with spaces");
    }
    Ok(())
}

/// The file-name slug of a title: lower-case ASCII letters and digits joined by `-`.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.truncate(80);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The file text: frontmatter (strings quoted, so any title is valid YAML) and a body skeleton.
pub fn render(prompt: &NewPrompt) -> String {
    let quote = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut text = format!("---\ntitle: {}\n", quote(prompt.title.trim()));
    if let Some(d) = prompt
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        text.push_str(&format!("description: {}\n", quote(d.trim())));
    }
    if !prompt.tags.is_empty() {
        let tags: Vec<String> = prompt.tags.iter().map(|t| quote(t.trim())).collect();
        text.push_str(&format!("tags: [{}]\n", tags.join(", ")));
    }
    text.push_str("---\n");
    text.push_str(&format!("# {}\n\n{BODY_SKELETON}", prompt.title.trim()));
    text
}

/// The body a new prompt starts with: it shows both placeholder kinds, each name once (a name
/// used twice in one prompt is a `duplicate-placeholder` error), so the new file validates clean.
const BODY_SKELETON: &str = "Describe the task here. Write {{text:subject}} where a value is \
     filled in when the prompt is used, and a list placeholder on its own line for items:\n\n\
     {{list:points}}\n";

/// Creates the prompt file under `library_dir/<category>/<slug>.md` and returns its path.
/// Blocking (file system).
pub fn create(library_dir: &Path, prompt: &NewPrompt) -> Result<PathBuf, CreateError> {
    check_plain_name(&prompt.category)
        .map_err(|why| CreateError::InvalidCategory(prompt.category.clone(), why))?;
    if prompt.title.trim().is_empty() {
        return Err(CreateError::InvalidTitle("the title is empty"));
    }
    let slug = slug(&prompt.title);
    if slug.is_empty() {
        return Err(CreateError::InvalidTitle(
            "the title needs at least one ASCII letter or digit for the file name",
        ));
    }
    let dir = library_dir.join(&prompt.category);
    std::fs::create_dir_all(&dir).map_err(|e| CreateError::Io(dir.clone(), e))?;
    let path = dir.join(format!("{slug}.md"));
    create_new_file(&path, render(prompt).as_bytes())?;
    Ok(path)
}

/// Writes `contents` to a file that must not exist yet: the name is reserved with `create_new`
/// (so a concurrent writer cannot be overwritten), then filled atomically.
pub fn create_new_file(path: &Path, contents: &[u8]) -> Result<(), CreateError> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CreateError::Exists(path.to_path_buf()));
        }
        Err(e) => return Err(CreateError::Io(path.to_path_buf(), e)),
    }
    crate::home::write_atomic(path, contents).map_err(|e| {
        let _ = std::fs::remove_file(path);
        CreateError::Io(path.to_path_buf(), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Review: the PR (v2)!"), "review-the-pr-v2");
        assert_eq!(slug("Ünïcode only"), "n-code-only");
        assert_eq!(slug("日本"), "");
    }

    #[test]
    fn plain_names() {
        assert!(check_plain_name("workflows").is_ok());
        assert!(check_plain_name("my stuff").is_ok());
        for bad in ["", "..", "../x", "/etc", "a/b", "a\\b", ".hidden", " x"] {
            assert!(check_plain_name(bad).is_err(), "{bad:?}");
        }
    }

    /// The template passes the library's own validation: no finding at all with a description
    /// and tags, and only the reminders for missing optional keys without them.
    #[test]
    fn new_prompts_validate_clean() {
        let full = NewPrompt {
            title: "Summarise a thread".into(),
            description: Some("Short summary of a discussion".into()),
            tags: vec!["writing".into(), "summary".into()],
            category: "commands".into(),
        };
        let findings = crate::library::validation::validate_prompt(&render(&full));
        assert!(findings.is_empty(), "{findings:#?}");
        let bare = NewPrompt {
            title: "Bare".into(),
            category: "commands".into(),
            ..Default::default()
        };
        let codes: Vec<&str> = crate::library::validation::validate_prompt(&render(&bare))
            .iter()
            .map(|f| f.code)
            .collect();
        assert!(
            codes
                .iter()
                .all(|c| c.starts_with("missing-") && *c != "missing-title"),
            "{codes:?}"
        );
    }

    #[test]
    fn creates_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let prompt = NewPrompt {
            title: "Say \"hi\": now".into(),
            description: Some("d".into()),
            tags: vec!["a".into()],
            category: "misc".into(),
        };
        let path = create(dir.path(), &prompt).unwrap();
        assert_eq!(path, dir.path().join("misc/say-hi-now.md"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("---\ntitle: \"Say \\\"hi\\\": now\"\n"),
            "{text}"
        );
        std::fs::write(&path, "mine").unwrap();
        assert!(matches!(
            create(dir.path(), &prompt),
            Err(CreateError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
    }
}

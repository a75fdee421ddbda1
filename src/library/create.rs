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
    #[error("{} is outside {} once `..` and symbolic links are resolved; PromptStack writes only there", .0.display(), .1.display())]
    Outside(PathBuf, PathBuf),
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

/// The file-name slug of a title: its letters and digits (any script, lower-cased where the
/// script has case) joined by `-`, at most [`MAX_SLUG_CHARS`] characters. Empty when the title
/// has no letter or digit at all (e.g. only emoji or punctuation).
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    for c in title.chars() {
        if c.is_alphanumeric() || (is_combining_mark(c) && !out.is_empty() && !out.ends_with('-')) {
            if chars == MAX_SLUG_CHARS {
                break;
            }
            out.extend(c.to_lowercase());
            chars += 1;
        } else if !out.is_empty() && !out.ends_with('-') {
            if chars == MAX_SLUG_CHARS {
                break;
            }
            out.push('-');
            chars += 1;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Longest slug, in characters (a file name stays well under the usual 255-byte limit).
pub const MAX_SLUG_CHARS: usize = 60;

/// Combining marks (accents written as `e` + U+0301, as macOS and some keyboards do; Indic
/// viramas and vowel signs; Thai tone marks; Hebrew and Arabic points): part of the letter before
/// them, so kept. Rust's `is_alphanumeric` already covers the marks that are "alphabetic".
fn is_combining_mark(c: char) -> bool {
    !c.is_alphanumeric()
        && matches!(c as u32,
            0x0300..=0x036F
            | 0x0483..=0x0489
            | 0x0591..=0x05C7
            | 0x0610..=0x061A
            | 0x064B..=0x065F
            | 0x0670
            | 0x06D6..=0x06ED
            // Devanagari to Sinhala; the danda and double danda are punctuation.
            | 0x0900..=0x0963
            | 0x0966..=0x0DFF
            | 0x0E31..=0x0E3A
            | 0x0E47..=0x0E4E
            | 0x0EB1..=0x0EBC
            | 0x0EC8..=0x0ECD
            | 0x0F71..=0x0F84
            | 0x102B..=0x103E
            | 0x17B4..=0x17D3
            | 0x1AB0..=0x1AFF
            | 0x1DC0..=0x1DFF
            | 0x20D0..=0x20FF
            | 0x3099..=0x309A
            | 0xFE20..=0xFE2F)
}

/// The file name used when a title has no letters or digits.
const UNTITLED: &str = "untitled";

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

/// Creates the prompt file under `library_dir/<category>/<slug>.md` and returns its path. A
/// category that is a symbolic link leading out of the library is refused unless
/// `follow_external_symlinks` (the library then includes what such links point to).
/// Blocking (file system).
pub fn create(
    library_dir: &Path,
    prompt: &NewPrompt,
    follow_external_symlinks: bool,
) -> Result<PathBuf, CreateError> {
    check_plain_name(&prompt.category)
        .map_err(|why| CreateError::InvalidCategory(prompt.category.clone(), why))?;
    if prompt.title.trim().is_empty() {
        return Err(CreateError::InvalidTitle("the title is empty"));
    }
    let dir = library_dir.join(&prompt.category);
    if !follow_external_symlinks && !crate::confine::is_within(&dir, &[library_dir.to_path_buf()]) {
        return Err(CreateError::Outside(dir, library_dir.to_path_buf()));
    }
    std::fs::create_dir_all(&dir).map_err(|e| CreateError::Io(dir.clone(), e))?;
    let contents = render(prompt);
    let slug = slug(&prompt.title);
    if !slug.is_empty() {
        let path = dir.join(format!("{slug}.md"));
        create_new_file(&path, contents.as_bytes())?;
        return Ok(path);
    }
    // A title of only emoji or punctuation is still a title: the file gets a free
    // `untitled[-N].md` name, and the title stays in the frontmatter.
    let mut n = 1;
    loop {
        let name = match n {
            1 => format!("{UNTITLED}.md"),
            n => format!("{UNTITLED}-{n}.md"),
        };
        let path = dir.join(name);
        match create_new_file(&path, contents.as_bytes()) {
            Err(CreateError::Exists(_)) => n += 1,
            other => return other.map(|()| path),
        }
    }
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
        let cases = [
            ("Review: the PR (v2)!", "review-the-pr-v2"),
            ("Café crème", "café-crème"),
            ("Cafe\u{301} cre\u{300}me", "cafe\u{301}-cre\u{300}me"),
            ("Ünïcode only", "ünïcode-only"),
            ("日本語のプロンプト", "日本語のプロンプト"),
            ("Обзор кода", "обзор-кода"),
            ("مراجعة الكود", "مراجعة-الكود"),
            ("समीक्षा", "समीक्षा"),
            ("ตรวจสอบ ภาษาไทย", "ตรวจสอบ-ภาษาไทย"),
            ("🚀 Launch 🚀", "launch"),
            ("🚀✨", ""),
            ("\u{301}x", "x"),
        ];
        for (title, want) in cases {
            assert_eq!(slug(title), want, "{title:?}");
        }
        let long = slug(&"é".repeat(200));
        assert_eq!(long.chars().count(), MAX_SLUG_CHARS);
        assert!(slug(&"ab ".repeat(100)).chars().count() <= MAX_SLUG_CHARS);
        assert!(!slug(&"ab ".repeat(100)).ends_with('-'));
    }

    #[test]
    fn titles_without_letters_get_a_free_untitled_name() {
        let dir = tempfile::tempdir().unwrap();
        let prompt = NewPrompt {
            title: "🚀✨".into(),
            category: "misc".into(),
            ..Default::default()
        };
        assert_eq!(
            create(dir.path(), &prompt, false).unwrap(),
            dir.path().join("misc/untitled.md")
        );
        let second = create(dir.path(), &prompt, false).unwrap();
        assert_eq!(second, dir.path().join("misc/untitled-2.md"));
        assert!(
            std::fs::read_to_string(second)
                .unwrap()
                .contains("title: \"🚀✨\"")
        );
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
        let path = create(dir.path(), &prompt, false).unwrap();
        assert_eq!(path, dir.path().join("misc/say-hi-now.md"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("---\ntitle: \"Say \\\"hi\\\": now\"\n"),
            "{text}"
        );
        std::fs::write(&path, "mine").unwrap();
        assert!(matches!(
            create(dir.path(), &prompt, false),
            Err(CreateError::Exists(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
    }

    #[cfg(unix)]
    #[test]
    fn a_category_linked_outside_the_library_is_refused_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("library");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&library).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, library.join("linked")).unwrap();
        let prompt = NewPrompt {
            title: "Escape".into(),
            category: "linked".into(),
            ..NewPrompt::default()
        };
        let err = create(&library, &prompt, false).unwrap_err();
        assert!(matches!(err, CreateError::Outside(..)), "{err}");
        assert!(err.to_string().contains("is outside"), "{err}");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        let path = create(&library, &prompt, true).unwrap();
        assert!(outside.join("escape.md").is_file(), "{}", path.display());
    }
}

//! Which files are compositions (the `compositions.globs` setting), and creating a new one:
//! `<dir>/<name>.composition.md` from a small template, never over an existing file.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::library::create::{CreateError, check_plain_name, create_new_file};

/// The suffix new compositions get. `.prompt.md` keeps working (it is in the default globs), but
/// VS Code reads that suffix as its own prompt-file language, so new files use this one.
pub const SUFFIX: &str = ".composition.md";

/// Suffixes a composition name may already end with (kept as given).
const KNOWN_SUFFIXES: &[&str] = &[SUFFIX, ".prompt.md"];

/// `compositions.globs` compiled: a path is a composition when it matches an include glob and no
/// exclude glob (one starting with `!`, as in `.gitignore`).
#[derive(Debug, Clone)]
pub struct CompositionGlobs {
    include: GlobSet,
    exclude: GlobSet,
}

impl CompositionGlobs {
    /// Compiles the globs; an invalid glob is skipped with a log line (a bad setting must not
    /// stop the server).
    pub fn new(globs: &[String]) -> Self {
        let mut include = GlobSetBuilder::new();
        let mut exclude = GlobSetBuilder::new();
        for glob in globs {
            let (builder, pattern) = match glob.strip_prefix('!') {
                Some(negated) => (&mut exclude, negated),
                None => (&mut include, glob.as_str()),
            };
            match Glob::new(pattern) {
                Ok(g) => {
                    builder.add(g);
                }
                Err(e) => tracing::warn!("ignoring invalid composition glob {glob:?}: {e}"),
            }
        }
        let build = |b: GlobSetBuilder| b.build().unwrap_or_else(|_| GlobSet::empty());
        CompositionGlobs {
            include: build(include),
            exclude: build(exclude),
        }
    }

    pub fn is_match(&self, path: &Path) -> bool {
        self.include.is_match(path) && !self.exclude.is_match(path)
    }
}

/// The text a new composition starts with.
pub const TEMPLATE: &str = "# New prompt\n\n## Context\n\n\n## Task\n\n\n## Output\n\n";

/// The file name for `name` (or `untitled-<stamp>` when none): [`SUFFIX`] is appended unless the
/// name already ends with a composition suffix. Errors say why a name is refused.
pub fn file_name(name: Option<&str>, stamp: &str) -> Result<String, CreateError> {
    let Some(name) = name else {
        return Ok(format!("untitled-{stamp}{SUFFIX}"));
    };
    check_plain_name(name).map_err(|why| CreateError::InvalidName(name.to_string(), why))?;
    Ok(if KNOWN_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        name.to_string()
    } else {
        format!("{}{SUFFIX}", name.strip_suffix(".md").unwrap_or(name))
    })
}

/// Creates the composition in `dir` (created if missing) and returns its path. Blocking.
pub fn create(dir: &Path, name: Option<&str>, stamp: &str) -> Result<PathBuf, CreateError> {
    let file = file_name(name, stamp)?;
    std::fs::create_dir_all(dir).map_err(|e| CreateError::Io(dir.to_path_buf(), e))?;
    let path = dir.join(file);
    create_new_file(&path, TEMPLATE.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            file_name(None, "20260101-120000").unwrap(),
            "untitled-20260101-120000.composition.md"
        );
        assert_eq!(file_name(Some("plan"), "").unwrap(), "plan.composition.md");
        assert_eq!(
            file_name(Some("plan.md"), "").unwrap(),
            "plan.composition.md"
        );
        assert_eq!(
            file_name(Some("plan.prompt.md"), "").unwrap(),
            "plan.prompt.md"
        );
        assert_eq!(
            file_name(Some("plan.composition.md"), "").unwrap(),
            "plan.composition.md"
        );
        for bad in ["../x", "a/b", "..", ""] {
            assert!(file_name(Some(bad), "").is_err(), "{bad:?}");
        }
    }

    /// The default globs: both suffixes anywhere, except VS Code prompt files in `.github/prompts/`.
    #[test]
    fn default_globs() {
        let globs = CompositionGlobs::new(&[
            "**/*.prompt.md".into(),
            "**/*.composition.md".into(),
            "!**/.github/prompts/**".into(),
        ]);
        for (path, expected) in [
            ("/w/draft.prompt.md", true),
            ("/w/a/b/plan.composition.md", true),
            ("/w/.github/prompts/review.prompt.md", false),
            ("/w/.github/prompts/sub/x.composition.md", false),
            ("/w/.github/instructions/x.prompt.md", true),
            ("/w/notes.md", false),
        ] {
            assert_eq!(globs.is_match(Path::new(path)), expected, "{path}");
        }
        let invalid = CompositionGlobs::new(&["[".into(), "*.md".into()]);
        assert!(invalid.is_match(Path::new("x.md")));
    }

    #[test]
    fn never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = create(dir.path(), Some("a"), "").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), TEMPLATE);
        assert!(matches!(
            create(dir.path(), Some("a"), ""),
            Err(CreateError::Exists(_))
        ));
    }
}

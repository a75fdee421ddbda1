//! Creating a new composition file: `<dir>/<name>.prompt.md` from a small template, never over
//! an existing file.

use std::path::{Path, PathBuf};

use crate::library::create::{CreateError, check_plain_name, create_new_file};

/// The text a new composition starts with.
pub const TEMPLATE: &str = "# New prompt\n\n## Context\n\n\n## Task\n\n\n## Output\n\n";

/// The file name for `name` (or `untitled-<stamp>` when none): `.prompt.md` is appended unless
/// the name already ends with it. Errors say why a name is refused.
pub fn file_name(name: Option<&str>, stamp: &str) -> Result<String, CreateError> {
    let Some(name) = name else {
        return Ok(format!("untitled-{stamp}.prompt.md"));
    };
    check_plain_name(name).map_err(|why| CreateError::InvalidName(name.to_string(), why))?;
    Ok(if name.ends_with(".prompt.md") {
        name.to_string()
    } else {
        format!("{}.prompt.md", name.strip_suffix(".md").unwrap_or(name))
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
            "untitled-20260101-120000.prompt.md"
        );
        assert_eq!(file_name(Some("plan"), "").unwrap(), "plan.prompt.md");
        assert_eq!(
            file_name(Some("plan.prompt.md"), "").unwrap(),
            "plan.prompt.md"
        );
        for bad in ["../x", "a/b", "..", ""] {
            assert!(file_name(Some(bad), "").is_err(), "{bad:?}");
        }
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

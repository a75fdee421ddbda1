//! Where things live: `PROMPTSTACK_HOME` (default `~/.promptstack`) and the data layout under it.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The PromptStack home directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

/// The home directory could not be determined.
#[derive(Debug, thiserror::Error)]
#[error("cannot find a home directory: set PROMPTSTACK_HOME or HOME")]
pub struct NoHome;

impl Home {
    /// `PROMPTSTACK_HOME`, else `$HOME/.promptstack`.
    pub fn from_env() -> Result<Self, NoHome> {
        if let Some(dir) = std::env::var_os("PROMPTSTACK_HOME").filter(|d| !d.is_empty()) {
            return Ok(Home::at(PathBuf::from(dir)));
        }
        let home = std::env::var_os("HOME")
            .filter(|d| !d.is_empty())
            .ok_or(NoHome)?;
        Ok(Home::at(PathBuf::from(home).join(".promptstack")))
    }

    pub fn at(root: impl Into<PathBuf>) -> Self {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.join("config.yaml")
    }

    /// Default data directory when the config does not set `data_dir`.
    pub fn default_data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// Default plugin directory when the config does not set `plugin_dir`.
    pub fn default_plugin_dir(&self) -> PathBuf {
        self.root.join("plugins")
    }
}

/// The resolved data layout (after config overrides such as `data_dir` and `library_dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPaths {
    pub data_dir: PathBuf,
    pub library_dir: PathBuf,
    /// One Markdown file per composition: the source of truth for history.
    pub history_dir: PathBuf,
    /// Local copies of compositions saved by other people or machines (team history).
    pub team_dir: PathBuf,
    pub database_path: PathBuf,
    pub index_dir: PathBuf,
    pub usage_file: PathBuf,
    pub audit_log: PathBuf,
}

impl DataPaths {
    /// The layout for a data directory, with optional overrides.
    pub fn new(
        data_dir: PathBuf,
        library_dir: Option<PathBuf>,
        database_path: Option<PathBuf>,
    ) -> Self {
        DataPaths {
            library_dir: library_dir.unwrap_or_else(|| data_dir.join("library")),
            history_dir: data_dir.join(".history"),
            team_dir: data_dir.join("team"),
            database_path: database_path.unwrap_or_else(|| data_dir.join("history.db")),
            index_dir: data_dir.join("index"),
            usage_file: data_dir.join("usage"),
            audit_log: data_dir.join("audit.log"),
            data_dir,
        }
    }
}

/// Writes `contents` to `path` so that readers see either the old file or the new one, never a
/// torn write: a temp file in the same directory, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_atomic_with_mode(path, contents, None)
}

/// [`write_atomic`] with Unix permissions for the new file (e.g. 0o600 for the config).
pub fn write_atomic_with_mode(
    path: &Path,
    contents: &[u8],
    mode: Option<u32>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name")
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    // A rewrite keeps the permissions of the file it replaces (the config stays 0600).
    #[cfg(unix)]
    let mode = mode.or_else(|| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    });
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_follows_the_data_dir_and_overrides() {
        let paths = DataPaths::new(PathBuf::from("/h/data"), None, None);
        assert_eq!(paths.library_dir, PathBuf::from("/h/data/library"));
        assert_eq!(paths.history_dir, PathBuf::from("/h/data/.history"));
        assert_eq!(paths.database_path, PathBuf::from("/h/data/history.db"));
        let paths = DataPaths::new(PathBuf::from("/d"), Some("/lib".into()), Some("/db".into()));
        assert_eq!(paths.library_dir, PathBuf::from("/lib"));
        assert_eq!(paths.database_path, PathBuf::from("/db"));
    }

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.yaml");
        write_atomic_with_mode(&path, b"one", Some(0o600)).unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "a rewrite keeps the mode, got {mode:o}"
            );
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
    }
}

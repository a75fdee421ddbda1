//! Local, read-only copies of compositions saved by other people or machines, so editors can open
//! what search, workspace symbols and references return (the real files are on their machines).
//! They live under `data/team/<origin>/` and are rewritten when the composition changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::files::{self, HistoryFile};
use super::identity::{is_origin, split_qualified};
use super::{CompositionRepository, CompositionSummary, content_hash};

/// The copies this server wrote, by composition id, with the content hash written.
pub struct TeamFiles {
    dir: PathBuf,
    written: Mutex<HashMap<String, String>>,
}

impl TeamFiles {
    /// Copies kept under `dir` (`data/team`).
    pub fn new(dir: PathBuf) -> Self {
        TeamFiles {
            dir,
            written: Mutex::new(HashMap::new()),
        }
    }

    /// Where a composition's file is: our own in `history_dir`, another history's under the
    /// team directory. Names from the database are confined: only a plain `*.md` file name is
    /// used, inside a directory named by the (hex) origin.
    pub fn path_of(&self, history_dir: &Path, summary: &CompositionSummary) -> PathBuf {
        let Some(origin) = summary.origin.as_deref() else {
            return history_dir.join(&summary.file_name);
        };
        let origin = if is_origin(origin) { origin } else { "unknown" };
        let name = Path::new(&summary.file_name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md") && !n.starts_with('.') && *n == summary.file_name);
        let name = name.unwrap_or_else(|| {
            let (bare, _) = split_qualified(&summary.id);
            let safe: String = bare
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("{safe}.md")
        });
        self.dir.join(origin).join(name)
    }

    /// The file of every summary, writing the copies of other people's compositions that are
    /// missing or out of date (their content is read from `repo`). A copy that cannot be written
    /// is logged; its path is still returned.
    pub fn materialize(
        &self,
        repo: &dyn CompositionRepository,
        history_dir: &Path,
        summaries: &[CompositionSummary],
    ) -> Vec<PathBuf> {
        summaries
            .iter()
            .map(|summary| {
                let path = self.path_of(history_dir, summary);
                if summary.origin.is_some()
                    && !self.is_current(&path, summary)
                    && let Err(e) = self.write(repo, &path, summary)
                {
                    tracing::warn!(file = %path.display(), "cannot write a team history copy: {e}");
                }
                path
            })
            .collect()
    }

    fn is_current(&self, path: &Path, summary: &CompositionSummary) -> bool {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        if written.get(&summary.id) == Some(&summary.content_hash) {
            return path.exists();
        }
        // Written by an earlier run of the server?
        if let Ok(Ok(file)) = files::read(path)
            && content_hash(&file.content) == summary.content_hash
        {
            written.insert(summary.id.clone(), summary.content_hash.clone());
            return true;
        }
        false
    }

    fn write(
        &self,
        repo: &dyn CompositionRepository,
        path: &Path,
        summary: &CompositionSummary,
    ) -> Result<(), String> {
        let composition = repo
            .load(&summary.id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "no longer in the team history".to_string())?;
        let file = HistoryFile {
            id: summary.id.clone(),
            source_path: summary.source_path.clone(),
            working_dir: summary.working_dir.clone(),
            created: summary.created_at,
            updated: composition.summary.updated_at,
            content: composition.content,
        };
        let dir = path.parent().ok_or("no parent directory")?;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        // A cache: rename for atomicity, no fsync; read-only, since edits would not go anywhere.
        let temp = dir.join(format!(".copy.{}.tmp", std::process::id()));
        std::fs::write(&temp, file.render()).map_err(|e| e.to_string())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o444));
        }
        std::fs::rename(&temp, path).map_err(|e| e.to_string())?;
        let hash = content_hash(&file.content);
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(summary.id.clone(), hash);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(origin: Option<&str>, file_name: &str) -> CompositionSummary {
        CompositionSummary {
            id: "2026-01-01_10-00-00@0123456789abcdef".into(),
            file_name: file_name.into(),
            source_path: None,
            working_dir: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
            characters: 0,
            lines: 0,
            content_hash: String::new(),
            version: 1,
            tags: Vec::new(),
            title: String::new(),
            author: Some("bob".into()),
            machine: None,
            origin: origin.map(str::to_string),
        }
    }

    #[test]
    fn paths_stay_inside_the_team_directory() {
        let team = TeamFiles::new("/data/team".into());
        let history = Path::new("/data/.history");
        let own = summary(None, "2026-01-01_10-00-00.md");
        assert_eq!(
            team.path_of(history, &own),
            history.join("2026-01-01_10-00-00.md")
        );
        let theirs = summary(Some("0123456789abcdef"), "2026-01-01_10-00-00.md");
        assert_eq!(
            team.path_of(history, &theirs),
            Path::new("/data/team/0123456789abcdef/2026-01-01_10-00-00.md")
        );
        for hostile in [
            "../../../etc/passwd",
            "/etc/cron.d/x.md",
            "..md/../x.md",
            ".bashrc",
        ] {
            let path = team.path_of(history, &summary(Some("0123456789abcdef"), hostile));
            assert!(
                path.starts_with("/data/team/0123456789abcdef") && path.components().count() == 5,
                "{hostile} → {}",
                path.display()
            );
        }
        let path = team.path_of(history, &summary(Some("../../x"), "a.md"));
        assert!(path.starts_with("/data/team/unknown"), "{}", path.display());
    }
}

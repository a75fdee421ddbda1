//! `data/sources.lock`: the revision each git prompt source serves (name, url without
//! credentials, ref, commit), so `library sync --locked` can return to it. Written atomically.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One source's recorded revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locked {
    /// The remote with any password or token replaced by `****`.
    pub url: String,
    /// The ref as configured; `null`: the remote's default branch.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub commit: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LockFile {
    version: u32,
    sources: BTreeMap<String, Locked>,
}

/// Sources of one process record their revisions one at a time (read, change, write).
static WRITING: Mutex<()> = Mutex::new(());

/// The recorded revision of `name`, if any. A missing or unreadable file records nothing.
pub fn read(file: &Path, name: &str) -> Option<Locked> {
    load(file).sources.remove(name)
}

/// Records `entry` for `name`, keeping the other sources' entries.
pub fn record(file: &Path, name: &str, entry: Locked) -> std::io::Result<()> {
    let _turn = WRITING.lock().unwrap_or_else(|p| p.into_inner());
    let mut lock = load(file);
    lock.version = 1;
    if lock.sources.get(name) == Some(&entry) {
        return Ok(());
    }
    lock.sources.insert(name.to_string(), entry);
    let mut text = serde_json::to_string_pretty(&lock).map_err(std::io::Error::other)?;
    text.push('\n');
    crate::home::write_atomic(file, text.as_bytes())
}

fn load(file: &Path) -> LockFile {
    match std::fs::read_to_string(file) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::warn!(
                "{} is not a sources lock ({e}); starting a new one",
                file.display()
            );
            LockFile::default()
        }),
        Err(_) => LockFile::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_kept_per_source() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sources.lock");
        assert_eq!(read(&file, "team"), None);
        let entry = |commit: &str| Locked {
            url: "https://me:****@git.test/p.git".into(),
            reference: Some("main".into()),
            commit: commit.into(),
        };
        record(&file, "team", entry("aaa")).unwrap();
        record(&file, "other", entry("bbb")).unwrap();
        record(&file, "team", entry("ccc")).unwrap();
        assert_eq!(read(&file, "team"), Some(entry("ccc")));
        assert_eq!(read(&file, "other"), Some(entry("bbb")));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("\"ref\": \"main\""), "{text}");
        std::fs::write(&file, "not json").unwrap();
        assert_eq!(read(&file, "team"), None);
    }
}

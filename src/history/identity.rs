//! Who saves a composition: the history directory's origin (a stable id kept in
//! `<history>/.origin`, so two people's — or two machines' — compositions never share a key in a
//! team database), the author (`storage.author`, default `$USER@hostname`) and the machine.

use std::path::Path;

use super::HistoryError;
use crate::config::Config;

/// The file in the history directory that keeps its origin.
const ORIGIN_FILE: &str = ".origin";

/// This history's origin, author and machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// 16 hex digits, stable for this history directory.
    pub origin: String,
    pub author: String,
    pub machine: String,
}

impl Identity {
    /// The identity of the history in `history_dir`: its origin is read from `.origin`, or
    /// created there (derived from the host and the directory, so a lost file comes back the
    /// same; used without the file while the directory cannot be written).
    pub fn load(history_dir: &Path, config: &Config) -> Result<Identity, HistoryError> {
        Ok(Identity {
            origin: origin_of(history_dir),
            author: config.author(),
            machine: hostname(),
        })
    }
}

fn origin_of(history_dir: &Path) -> String {
    let path = history_dir.join(ORIGIN_FILE);
    if let Ok(text) = std::fs::read_to_string(&path)
        && is_origin(text.trim())
    {
        return text.trim().to_string();
    }
    let absolute = std::path::absolute(history_dir).unwrap_or_else(|_| history_dir.to_path_buf());
    let digest = super::content_hash(&format!("{}\n{}", hostname(), absolute.display()));
    let origin = digest[..16].to_string();
    let written = std::fs::create_dir_all(history_dir)
        .and_then(|()| crate::home::write_atomic(&path, format!("{origin}\n").as_bytes()));
    if let Err(e) = written {
        tracing::warn!(file = %path.display(), "cannot keep the history origin: {e}");
    }
    origin
}

/// Whether `s` looks like an origin (16 lowercase hex digits).
pub fn is_origin(s: &str) -> bool {
    s.len() == 16
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `id@origin`: how a composition saved from another history directory is named here.
pub fn qualified(id: &str, origin: &str) -> String {
    format!("{id}@{origin}")
}

/// Splits a possibly qualified id into the bare id and the origin it names, if any.
pub fn split_qualified(id: &str) -> (&str, Option<&str>) {
    match id.rsplit_once('@') {
        Some((bare, origin)) if is_origin(origin) && !bare.is_empty() => (bare, Some(origin)),
        _ => (id, None),
    }
}

/// This machine's host name (`localhost` when it cannot be read).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).trim().to_string()
    } else {
        String::new()
    };
    if name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

/// `$USER@hostname` (`$USERNAME` on Windows, `user` when neither is set).
pub fn default_author() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "user".into());
    format!("{}@{}", user.trim(), hostname())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_stable_and_kept_in_the_history_directory() {
        let dir = tempfile::tempdir().unwrap();
        let history = dir.path().join(".history");
        let first = origin_of(&history);
        assert!(is_origin(&first), "{first}");
        let kept = std::fs::read_to_string(history.join(ORIGIN_FILE)).unwrap();
        assert_eq!(kept.trim(), first);
        assert_eq!(origin_of(&history), first);
        // A lost file comes back the same; another directory gets another origin.
        std::fs::remove_file(history.join(ORIGIN_FILE)).unwrap();
        assert_eq!(origin_of(&history), first);
        assert_ne!(origin_of(&dir.path().join("other")), first);
    }

    #[test]
    fn qualified_ids_round_trip() {
        let id = qualified("2026-01-01_10-00-00", "0123456789abcdef");
        assert_eq!(
            split_qualified(&id),
            ("2026-01-01_10-00-00", Some("0123456789abcdef"))
        );
        for plain in ["2026-01-01_10-00-00", "me@example.com", "@0123456789abcdef"] {
            assert_eq!(split_qualified(plain), (plain, None));
        }
        assert!(default_author().contains('@'));
    }
}

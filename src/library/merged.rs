//! Several prompt sources as one [`PromptSource`]: the library folder first, with its plain ids,
//! then each `library.sources` entry, whose ids are prefixed with the entry's name
//! (`team:review`). Every change a source reports is renamed the same way, so the cache, the
//! index and everything above see one library.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

use super::git_source::{SyncOutcome, SyncRequest};
use super::prompt::Prompt;
use super::source::{
    PromptSource, Scan, ScannedFile, SkippedFile, SourceChange, SourceError, Watch,
};

/// A source among several, with the name that prefixes its ids.
pub struct NamedSource {
    pub name: String,
    pub source: Arc<dyn PromptSource>,
}

/// The library folder plus named sources.
pub struct MergedSource {
    local: Arc<dyn PromptSource>,
    named: Vec<NamedSource>,
}

/// The id a named source's prompt has in the merged library.
pub fn namespaced(source: &str, id: &str) -> String {
    format!("{source}:{id}")
}

impl MergedSource {
    /// `local` keeps its ids; each of `named` gets `name:` in front of its ids.
    pub fn new(local: Arc<dyn PromptSource>, named: Vec<NamedSource>) -> Self {
        MergedSource { local, named }
    }

    /// The named source an id belongs to, and the id inside it. Local ids are everything else
    /// (a local file named like `team:x.md` at the library root is shadowed by a source `team`).
    fn route<'a>(&self, id: &'a str) -> Option<(&NamedSource, &'a str)> {
        self.named.iter().find_map(|n| {
            id.strip_prefix(n.name.as_str())
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|rest| (n, rest))
        })
    }
}

fn rename_prompt(source: &str, mut prompt: Prompt) -> Prompt {
    prompt.id = namespaced(source, &prompt.id);
    prompt.source = Some(source.to_string());
    prompt
}

fn rename_change(source: &str, change: SourceChange) -> SourceChange {
    match change {
        SourceChange::Upserted(p) => SourceChange::Upserted(Box::new(rename_prompt(source, *p))),
        SourceChange::Removed { id } => SourceChange::Removed {
            id: namespaced(source, &id),
        },
        SourceChange::RemovedFolder { id_prefix } => SourceChange::RemovedFolder {
            id_prefix: namespaced(source, &id_prefix),
        },
        SourceChange::Skipped(s) => SourceChange::Skipped(s),
        SourceChange::Notice(n) => SourceChange::Notice(n),
    }
}

impl PromptSource for MergedSource {
    fn scan(&self) -> Scan {
        let mut scan = self.local.scan();
        for n in &self.named {
            let inner = n.source.scan();
            scan.files
                .extend(inner.files.into_iter().map(|f| ScannedFile {
                    id: namespaced(&n.name, &f.id),
                    ..f
                }));
            scan.skipped.extend(inner.skipped);
        }
        scan
    }

    fn read(&self, file: &ScannedFile) -> Result<Prompt, SkippedFile> {
        match self.route(&file.id) {
            Some((n, id)) => {
                let inner = ScannedFile {
                    id: id.to_string(),
                    ..file.clone()
                };
                n.source.read(&inner).map(|p| rename_prompt(&n.name, p))
            }
            None => self.local.read(file),
        }
    }

    fn get(&self, id: &str) -> Result<Option<Prompt>, SkippedFile> {
        match self.route(id) {
            Some((n, inner)) => Ok(n.source.get(inner)?.map(|p| rename_prompt(&n.name, p))),
            None => self.local.get(id),
        }
    }

    fn resolve(&self, paths: &[PathBuf]) -> Vec<SourceChange> {
        let mut out = self.local.resolve(paths);
        for n in &self.named {
            out.extend(
                n.source
                    .resolve(paths)
                    .into_iter()
                    .map(|c| rename_change(&n.name, c)),
            );
        }
        out
    }

    fn sync(&self, request: &SyncRequest) -> Vec<SyncOutcome> {
        let mut out = Vec::new();
        for n in &self.named {
            if request.name.as_ref().is_some_and(|want| *want != n.name) {
                continue;
            }
            for mut outcome in n.source.sync(request) {
                outcome.source = n.name.clone();
                let rename = |ids: &mut Vec<String>| {
                    for id in ids.iter_mut() {
                        *id = namespaced(&n.name, id);
                    }
                };
                if let Ok(report) = &mut outcome.result {
                    rename(&mut report.added);
                    rename(&mut report.updated);
                    rename(&mut report.removed);
                }
                outcome.changes = std::mem::take(&mut outcome.changes)
                    .into_iter()
                    .map(|c| rename_change(&n.name, c))
                    .collect();
                out.push(outcome);
            }
        }
        out
    }

    fn watch(&self) -> Result<Watch, SourceError> {
        let (tx, rx) = mpsc::channel();
        let mut guards: Vec<Box<dyn Send>> = Vec::new();
        let watches = std::iter::once((None, self.local.watch())).chain(
            self.named
                .iter()
                .map(|n| (Some(n.name.clone()), n.source.watch())),
        );
        for (name, watch) in watches {
            let watch = match watch {
                Ok(w) => w,
                // The library folder's watch failing is the caller's to report; a named source
                // that cannot watch still serves what it loaded.
                Err(e) if name.is_none() => return Err(e),
                Err(e) => {
                    tracing::warn!("{e}");
                    continue;
                }
            };
            let (changes, guard) = watch.into_parts();
            guards.push(guard);
            let tx = tx.clone();
            let forwarded = std::thread::Builder::new()
                .name("library-source-forward".into())
                .spawn(move || {
                    for batch in changes {
                        let batch = match &name {
                            Some(n) => batch.into_iter().map(|c| rename_change(n, c)).collect(),
                            None => batch,
                        };
                        if tx.send(batch).is_err() {
                            return;
                        }
                    }
                });
            if let Err(e) = forwarded {
                tracing::warn!("cannot forward prompt source changes: {e}");
            }
        }
        Ok(Watch::new(rx, Box::new(guards)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::source::FilesystemSource;

    fn folder(files: &[(&str, &str)]) -> (tempfile::TempDir, Arc<dyn PromptSource>) {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let source = Arc::new(FilesystemSource::new(dir.path().to_path_buf()));
        (dir, source)
    }

    #[test]
    fn named_sources_are_namespaced_and_routed() {
        let (_a, local) = folder(&[("commands/review.md", "# Local review")]);
        let (b_dir, team) = folder(&[("review.md", "# Team review")]);
        let merged = MergedSource::new(
            local,
            vec![NamedSource {
                name: "team".into(),
                source: team,
            }],
        );
        let mut ids: Vec<String> = merged
            .load_all()
            .prompts
            .iter()
            .map(|p| p.id.clone())
            .collect();
        ids.sort();
        assert_eq!(ids, ["commands/review", "team:review"]);
        let team_review = merged.get("team:review").unwrap().unwrap();
        assert_eq!(team_review.title, "review");
        assert_eq!(team_review.source.as_deref(), Some("team"));
        assert_eq!(merged.get("commands/review").unwrap().unwrap().source, None);
        assert_eq!(merged.get("other:review").unwrap(), None);
        // Changes reported for a named source's files come back namespaced.
        let gone = std::fs::canonicalize(b_dir.path())
            .unwrap()
            .join("review.md");
        std::fs::remove_file(&gone).unwrap();
        assert_eq!(
            merged.resolve(&[gone]),
            [SourceChange::Removed {
                id: "team:review".into()
            }]
        );
    }
}

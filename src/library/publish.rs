//! `promptstack publish`: writes library prompts into the folder another tool reads, in its
//! shape ([`crate::formats::publish`]). A manifest in that folder (`.promptstack-publish.json`)
//! records each file PromptStack wrote and the hash of what it wrote: a republish updates and
//! removes only those files, and only while nobody has edited them; every other file is left
//! alone and named in the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::formats::publish::{Publishable, Target, render_all};

use super::prompt::{Prompt, content_hash};

/// The manifest's file name inside the published folder.
pub const MANIFEST: &str = ".promptstack-publish.json";

/// Which prompts are published: each list, when not empty, must match (any of its values).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    /// Source names; `library` is the library folder.
    pub sources: Vec<String>,
}

impl Filter {
    fn accepts(&self, prompt: &Prompt) -> bool {
        fn any(wanted: &[String], has: impl Fn(&str) -> bool) -> bool {
            wanted.is_empty() || wanted.iter().any(|w| has(w))
        }
        any(&self.categories, |c| prompt.category.as_deref() == Some(c))
            && any(&self.tags, |t| prompt.tags.iter().any(|have| have == t))
            && any(&self.sources, |s| {
                prompt.source.as_deref().unwrap_or("library") == s
            })
    }
}

/// What one publish does (or, with `--dry-run` / `--check`, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: Vec<String>,
    /// Files PromptStack did not write, or that someone edited since: never touched.
    pub left_alone: Vec<LeftAlone>,
    /// Whether anything was written (false for a dry run or a check).
    pub written: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftAlone {
    pub path: String,
    pub reason: String,
}

impl PublishReport {
    /// Whether the folder differs from what a publish would make it.
    pub fn out_of_date(&self) -> bool {
        !(self.created.is_empty() && self.updated.is_empty() && self.removed.is_empty())
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        let verb = if self.written { "" } else { "would be " };
        format!(
            "{} {verb}created, {} {verb}updated, {} {verb}removed, {} unchanged, {} left alone",
            self.created.len(),
            self.updated.len(),
            self.removed.len(),
            self.unchanged.len(),
            self.left_alone.len()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot publish into {}: {message}", .path.display())]
    Io { path: PathBuf, message: String },
    #[error("{} is not a publish manifest ({message}); move it away to publish here", .path.display())]
    BadManifest { path: PathBuf, message: String },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    format: String,
    /// Relative path → content hash of what was written.
    files: BTreeMap<String, String>,
}

/// How a publish runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    DryRun,
    Check,
}

/// Publishes the prompts `filter` accepts into `dir` as `target`.
pub fn publish(
    prompts: &[std::sync::Arc<Prompt>],
    filter: &Filter,
    target: Target,
    dir: &Path,
    mode: Mode,
) -> Result<PublishReport, PublishError> {
    let io = |path: &Path, e: std::io::Error| PublishError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut selected: Vec<&Prompt> = prompts
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| filter.accepts(p))
        .collect();
    selected.sort_by(|a, b| a.id.cmp(&b.id));
    let items: Vec<Publishable<'_>> = selected
        .iter()
        .map(|p| Publishable {
            id: &p.id,
            title: &p.title,
            description: p.description.as_deref(),
            body: &p.body,
        })
        .collect();
    let wanted = render_all(&items, target);
    let manifest_path = dir.join(MANIFEST);
    let old = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => {
            serde_json::from_str::<Manifest>(&text).map_err(|e| PublishError::BadManifest {
                path: manifest_path.clone(),
                message: e.to_string(),
            })?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
        Err(e) => return Err(io(&manifest_path, e)),
    };
    let current = |rel: &str| std::fs::read(dir.join(rel)).ok().map(|b| content_hash(&b));
    let mut report = PublishReport::default();
    let mut next = BTreeMap::new();
    let mut writes: Vec<(&String, &String)> = Vec::new();
    for (rel, text) in &wanted {
        let hash = content_hash(text.as_bytes());
        let ours = old.files.get(rel);
        match (current(rel), ours) {
            (None, _) => {
                report.created.push(rel.clone());
                writes.push((rel, text));
            }
            (Some(now), _) if now == hash => {
                report.unchanged.push(rel.clone());
            }
            (Some(now), Some(written)) if now == *written => {
                report.updated.push(rel.clone());
                writes.push((rel, text));
            }
            (Some(_), ours) => {
                report.left_alone.push(LeftAlone {
                    path: rel.clone(),
                    reason: if ours.is_some() {
                        "edited since PromptStack wrote it".into()
                    } else {
                        "not written by PromptStack".into()
                    },
                });
                // Still ours to manage once it matches again; a person's file never becomes ours.
                if let Some(written) = ours {
                    next.insert(rel.clone(), written.clone());
                }
                continue;
            }
        }
        next.insert(rel.clone(), hash);
    }
    let mut removals = Vec::new();
    for (rel, written) in old.files.iter().filter(|(r, _)| !wanted.contains_key(*r)) {
        match current(rel) {
            None => {}
            Some(now) if now == *written => {
                report.removed.push(rel.clone());
                removals.push(rel.clone());
            }
            Some(_) => report.left_alone.push(LeftAlone {
                path: rel.clone(),
                reason: "edited since PromptStack wrote it (no longer published)".into(),
            }),
        }
    }
    if mode != Mode::Write {
        return Ok(report);
    }
    for (rel, text) in writes {
        let path = dir.join(rel);
        crate::home::write_atomic(&path, text.as_bytes()).map_err(|e| io(&path, e))?;
    }
    for rel in &removals {
        let path = dir.join(rel);
        std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
        // A skill's folder goes with its SKILL.md when nothing else is in it.
        if let Some(parent) = path.parent().filter(|p| *p != dir) {
            let _ = std::fs::remove_dir(parent);
        }
    }
    let manifest = Manifest {
        version: 1,
        format: target.name().to_string(),
        files: next,
    };
    let mut text = serde_json::to_string_pretty(&manifest).map_err(|e| PublishError::Io {
        path: manifest_path.clone(),
        message: e.to_string(),
    })?;
    text.push('\n');
    crate::home::write_atomic(&manifest_path, text.as_bytes())
        .map_err(|e| io(&manifest_path, e))?;
    report.written = true;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::prompt::FileStamp;
    use std::sync::Arc;

    fn prompt(id: &str, text: &str) -> Arc<Prompt> {
        let stamp = FileStamp {
            mtime_ns: 0,
            size: text.len() as u64,
        };
        Arc::new(Prompt::from_text(
            id.into(),
            PathBuf::from(format!("/lib/{id}.md")),
            text,
            stamp,
        ))
    }

    #[test]
    fn republish_touches_only_our_unedited_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let review = prompt(
            "commands/review",
            "---\ntitle: Review\ntags: [code]\n---\nReview {{text:lang}}\n",
        );
        let plan = prompt("workflows/plan", "---\ntitle: Plan\n---\nPlan it\n");
        let all = vec![review.clone(), plan.clone()];
        let filter = Filter::default();
        let first = publish(&all, &filter, Target::ClaudeCommands, out, Mode::Write).unwrap();
        assert_eq!(first.created, ["plan.md", "review.md"]);
        let again = publish(&all, &filter, Target::ClaudeCommands, out, Mode::Check).unwrap();
        assert!(!again.out_of_date(), "{again:?}");

        // A person's file with a name we want, and a person's edit of one of ours.
        std::fs::write(out.join("notes.md"), "mine").unwrap();
        std::fs::write(out.join("plan.md"), "edited by hand").unwrap();
        let changed = prompt(
            "commands/review",
            "---\ntitle: Review\n---\nInspect {{text:lang}}\n",
        );
        let notes = prompt("rules/notes", "---\ntitle: Notes\n---\nn\n");
        let all = vec![changed, plan, notes];
        let check = publish(&all, &filter, Target::ClaudeCommands, out, Mode::Check).unwrap();
        assert!(check.out_of_date());
        assert!(!check.written);
        let second = publish(&all, &filter, Target::ClaudeCommands, out, Mode::Write).unwrap();
        assert_eq!(second.updated, ["review.md"]);
        let alone: Vec<&str> = second.left_alone.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(alone, ["notes.md", "plan.md"]);
        assert_eq!(
            std::fs::read_to_string(out.join("notes.md")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("plan.md")).unwrap(),
            "edited by hand"
        );

        // Filtered down to one prompt: ours unedited goes, the edited one stays.
        let only_code = Filter {
            tags: vec!["code".into()],
            ..Filter::default()
        };
        let third = publish(
            &[review],
            &only_code,
            Target::ClaudeCommands,
            out,
            Mode::Write,
        )
        .unwrap();
        assert_eq!(third.updated, ["review.md"]);
        assert!(third.removed.is_empty(), "{third:?}");
        assert!(out.join("plan.md").exists());
    }
}

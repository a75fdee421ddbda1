//! A `folder` entry of `library.sources`: agent files a user already keeps (`~/.claude/skills`,
//! a repository's `.github/prompts`, ...) read as library prompts, each by its own format.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use super::prompt::Prompt;
use super::source::{
    FilesystemSource, PromptSource, Scan, ScannedFile, SkippedFile, SourceChange, SourceError,
    Watch,
};
use crate::config::{SourceKind, SourceSpec};
use crate::formats::{self, Format, FormatHint};

/// Prompts from the agent files under one folder: skills, commands, agents and prompt files
/// (instructions, rules and `AGENTS.md` are standing context, not prompts, so they are left out).
#[derive(Debug, Clone)]
pub struct FolderSource {
    files: FilesystemSource,
    hint: FormatHint,
    /// Whether Markdown files of no agent format are library prompts too (a team repository
    /// may keep both); otherwise they are not prompts.
    library_prompts: bool,
}

impl FolderSource {
    /// A source over `root` holding files of `hint`.
    pub fn new(root: PathBuf, hint: FormatHint, follow_external_symlinks: bool) -> Self {
        FolderSource {
            files: FilesystemSource::new(root)
                .following_external_symlinks(follow_external_symlinks),
            hint,
            library_prompts: false,
        }
    }

    /// Also reads Markdown files of no agent format, as PromptStack library prompts (category
    /// = top-level folder).
    pub fn with_library_prompts(mut self) -> Self {
        self.library_prompts = true;
        self
    }

    /// The folder read.
    pub fn root(&self) -> &Path {
        self.files.root()
    }

    /// How the file at `path` is read: `Some(Some(format))` by its agent format, `Some(None)` as
    /// a library prompt, `None`: not a prompt of this folder.
    fn format_of(&self, path: &Path) -> Option<Option<Format>> {
        let root = self.files.root();
        let relative = path.strip_prefix(root).ok()?;
        // A `.claude` folder itself (`~/.claude`) also holds plans, settings and notes: only
        // its `commands/`, `agents/` and skills are prompts, which its path names.
        let hint = if root.file_name().is_some_and(|n| n == ".claude") {
            FormatHint::Auto
        } else {
            self.hint
        };
        let format = formats::detect(path).or_else(|| formats::detect_in(relative, hint));
        // A skill's other files (`references/*.md`) are its material, not prompts.
        let in_skill = format != Some(Format::Skill)
            && relative
                .ancestors()
                .skip(1)
                .filter(|dir| !dir.as_os_str().is_empty())
                .any(|dir| root.join(dir).join("SKILL.md").is_file());
        if in_skill {
            return None;
        }
        match format {
            Some(format) => format.is_invocable().then_some(Some(format)),
            None if self.library_prompts => {
                let readme = path
                    .file_name()
                    .is_some_and(|n| n.eq_ignore_ascii_case("README.md"));
                (!readme).then_some(None)
            }
            None => None,
        }
    }

    /// The prompt as its format names it, or `None` when the file is not one of this folder's.
    fn adapt(&self, mut prompt: Prompt) -> Option<Prompt> {
        let Some(format) = self.format_of(&prompt.path)? else {
            return Some(prompt);
        };
        prompt.format = Some(format);
        prompt.reparse_placeholders();
        Some(prompt)
    }

    fn adapt_change(&self, change: SourceChange) -> SourceChange {
        match change {
            SourceChange::Upserted(prompt) => {
                let id = prompt.id.clone();
                match self.adapt(*prompt) {
                    Some(p) => SourceChange::Upserted(Box::new(p)),
                    None => SourceChange::Removed { id },
                }
            }
            other => other,
        }
    }
}

impl PromptSource for FolderSource {
    fn scan(&self) -> Scan {
        let mut scan = self.files.scan();
        scan.files.retain(|f| self.format_of(&f.path).is_some());
        scan
    }

    fn read(&self, file: &ScannedFile) -> Result<Prompt, SkippedFile> {
        let prompt = self.files.read(file)?;
        let path = prompt.path.clone();
        self.adapt(prompt).ok_or(SkippedFile {
            path,
            reason: super::source::SkipReason::NotAPrompt,
        })
    }

    fn get(&self, id: &str) -> Result<Option<Prompt>, SkippedFile> {
        Ok(self.files.get(id)?.and_then(|p| self.adapt(p)))
    }

    fn resolve(&self, paths: &[PathBuf]) -> Vec<SourceChange> {
        self.files
            .resolve(paths)
            .into_iter()
            .map(|c| self.adapt_change(c))
            .collect()
    }

    fn watch(&self) -> Result<Watch, SourceError> {
        // Watching would create the folder: a workspace without `.claude/` must stay without it.
        if !self.files.root().is_dir() {
            return Err(SourceError::Watch {
                path: self.files.root().to_path_buf(),
                message: "the folder does not exist".into(),
            });
        }
        let (changes, guard) = self.files.watch()?.into_parts();
        let (tx, rx) = mpsc::channel();
        let source = self.clone();
        std::thread::Builder::new()
            .name("folder-source-watch".into())
            .spawn(move || {
                for batch in changes {
                    let batch = batch.into_iter().map(|c| source.adapt_change(c)).collect();
                    if tx.send(batch).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| SourceError::Watch {
                path: self.files.root().to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(Watch::new(rx, guard))
    }
}

/// The folders of a workspace that hold agent files a user invokes, with what each holds.
const WORKSPACE_AGENT_FOLDERS: &[(&str, FormatHint)] = &[
    (".claude", FormatHint::Claude),
    (".github", FormatHint::Auto),
    (".agents", FormatHint::Auto),
];

/// The `folder` sources for the agent files of `workspace_folders` (`library.workspace_agent_files`):
/// `workspace-claude`, `workspace-github`, ... (`workspace2-...` for a second folder), for the
/// folders that exist.
pub fn workspace_sources(workspace_folders: &[PathBuf]) -> Vec<SourceSpec> {
    let mut out = Vec::new();
    for (n, folder) in workspace_folders.iter().enumerate() {
        let prefix = match n {
            0 => "workspace".to_string(),
            n => format!("workspace{}", n + 1),
        };
        for (dir, hint) in WORKSPACE_AGENT_FOLDERS {
            let path = folder.join(dir);
            if path.is_dir() {
                out.push(SourceSpec {
                    name: format!("{prefix}-{}", dir.trim_start_matches('.')),
                    kind: SourceKind::Folder {
                        path,
                        format: *hint,
                    },
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn skills_commands_and_prompt_files_become_prompts_named_by_their_format() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "pdf-tools/SKILL.md",
            "---\nname: pdf-tools\ndescription: Fill PDF forms\n---\n# Role\nFill ${input:form} for $ARGUMENTS.\n",
        );
        write(root, "pdf-tools/references/forms.md", "# Forms\n");
        write(
            root,
            "review.md",
            "---\ndescription: Review\n---\nReview $1\n",
        );
        write(root, "README.md", "# About these skills\n");
        let source = FolderSource::new(root.to_path_buf(), FormatHint::Skills, false);
        let report = source.load_all();
        let mut got: Vec<(String, String, Option<Format>)> = report
            .prompts
            .iter()
            .map(|p| (p.id.clone(), p.title.clone(), p.format))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [(
                "pdf-tools/SKILL".to_string(),
                "pdf-tools".to_string(),
                Some(Format::Skill)
            )]
        );
        let names: Vec<&str> = report.prompts[0]
            .placeholders
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["form", "ARGUMENTS"]);

        let claude = FolderSource::new(root.to_path_buf(), FormatHint::Claude, false);
        let mut titles: Vec<String> = claude
            .load_all()
            .prompts
            .iter()
            .map(|p| p.title.clone())
            .collect();
        titles.sort();
        assert_eq!(titles, ["pdf-tools", "review"]);
    }
}

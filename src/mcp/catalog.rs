//! What `promptstack mcp` serves, in plain Rust: the library as a paged list of prompts with
//! arguments, rendering a prompt from arguments, and the values used before for an argument.
//! `server.rs` turns these into MCP messages.

use std::collections::HashMap;
use std::sync::Arc;

use crate::document::placeholders::{self, Fill, PlaceholderKind};
use crate::history::CompositionRepository;
use crate::library::Library;
use crate::library::prompt::Prompt;

/// One argument of a served prompt: a placeholder of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argument {
    pub name: String,
    pub kind: PlaceholderKind,
}

impl Argument {
    /// What a client shows next to the argument.
    pub fn description(&self) -> &'static str {
        match self.kind {
            PlaceholderKind::Text => "text",
            PlaceholderKind::List => "list: one item per line",
        }
    }
}

/// The arguments of a prompt, in the order its placeholders first appear.
pub fn arguments(prompt: &Prompt) -> Vec<Argument> {
    prompt
        .placeholders
        .iter()
        .map(|(name, kind)| Argument {
            name: name.clone(),
            kind: *kind,
        })
        .collect()
}

/// Why a prompt could not be rendered; shown to the client as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("no prompt with id `{0}`; list them with prompts/list or the search_prompts tool")]
    UnknownPrompt(String),
    #[error("`{prompt}` has no argument `{argument}`; its arguments are: {known}")]
    UnknownArgument {
        prompt: String,
        argument: String,
        known: String,
    },
    #[error("`{prompt}` needs the argument(s) {missing}")]
    Missing { prompt: String, missing: String },
}

/// A prompt filled in with its arguments, as `promptstack.render` would fill it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub prompt: Arc<Prompt>,
    pub text: String,
}

/// Renders prompt `id` with `values` (argument name → text). A list argument takes one item per
/// line (a leading `- ` is dropped) and becomes bullets. Every argument is required.
pub fn render(
    library: &Library,
    id: &str,
    values: &HashMap<String, String>,
) -> Result<Rendered, RenderError> {
    let prompt = library
        .get(id)
        .ok_or_else(|| RenderError::UnknownPrompt(id.to_string()))?;
    let args = arguments(&prompt);
    let known = || {
        if args.is_empty() {
            "(none)".to_string()
        } else {
            args.iter()
                .map(|a| format!("`{}`", a.name))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut names: Vec<&String> = values.keys().collect();
    names.sort();
    if let Some(unknown) = names.iter().find(|n| !args.iter().any(|a| a.name == ***n)) {
        return Err(RenderError::UnknownArgument {
            prompt: id.to_string(),
            argument: unknown.to_string(),
            known: known(),
        });
    }
    let missing: Vec<String> = args
        .iter()
        .filter(|a| !values.contains_key(&a.name))
        .map(|a| format!("`{}`", a.name))
        .collect();
    if !missing.is_empty() {
        return Err(RenderError::Missing {
            prompt: id.to_string(),
            missing: missing.join(", "),
        });
    }
    let fills: HashMap<String, Fill> = args
        .iter()
        .filter_map(|a| {
            let value = values.get(&a.name)?;
            Some((a.name.clone(), fill(a.kind, value)))
        })
        .collect();
    // An agent file's own dialect (`$ARGUMENTS`, `${input:x}`) is filled like `{{text:x}}`.
    let text = placeholders::render_with(&prompt.body, &fills, &prompt.dialects()).text;
    Ok(Rendered { prompt, text })
}

fn fill(kind: PlaceholderKind, value: &str) -> Fill {
    match kind {
        PlaceholderKind::Text => Fill::Text(value.to_string()),
        PlaceholderKind::List => Fill::List(
            value
                .lines()
                .map(|l| {
                    let l = l.trim();
                    l.strip_prefix("- ").unwrap_or(l).trim().to_string()
                })
                .filter(|l| !l.is_empty())
                .collect(),
        ),
    }
}

/// One page of the library in id order, from after `cursor` (an id); the next cursor when more
/// follow.
pub fn page(
    library: &Library,
    cursor: Option<&str>,
    size: usize,
) -> (Vec<Arc<Prompt>>, Option<String>) {
    let mut all = library.all();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let start = match cursor {
        Some(after) => all.partition_point(|p| p.id.as_str() <= after),
        None => 0,
    };
    let size = size.max(1);
    let items: Vec<Arc<Prompt>> = all.iter().skip(start).take(size).cloned().collect();
    let next = (start + items.len() < all.len())
        .then(|| items.last().map(|p| p.id.clone()))
        .flatten();
    (items, next)
}

/// Values filled in before for placeholder `name` that start with (or contain) `typed`, best
/// first: prefix matches in recency order, then other matches.
pub fn completions(
    repo: &dyn CompositionRepository,
    name: &str,
    typed: &str,
    limit: usize,
) -> Vec<String> {
    let values = match repo.placeholder_values(name, 200) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("placeholder values for completion: {e}");
            return Vec::new();
        }
    };
    let typed = typed.to_lowercase();
    let (mut prefix, mut inner): (Vec<String>, Vec<String>) = values
        .into_iter()
        .filter(|v| v.to_lowercase().contains(&typed))
        .partition(|v| v.to_lowercase().starts_with(&typed));
    prefix.append(&mut inner);
    prefix.truncate(limit);
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventBus;
    use crate::home::DataPaths;
    use crate::library::{OpenOptions, source::FilesystemSource};

    fn library(files: &[(&str, &str)]) -> (tempfile::TempDir, Library) {
        library_of(files, |root| Arc::new(FilesystemSource::new(root)))
    }

    /// A library over the files written under its folder, read by `source`.
    fn library_of(
        files: &[(&str, &str)],
        source: impl FnOnce(std::path::PathBuf) -> Arc<dyn crate::library::source::PromptSource>,
    ) -> (tempfile::TempDir, Library) {
        let dir = tempfile::tempdir().unwrap();
        let paths = DataPaths::new(dir.path().join("data"), None, None);
        for (rel, text) in files {
            let path = paths.library_dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let source = source(paths.library_dir.clone());
        let library = Library::open_with(
            source,
            &paths,
            EventBus::new(),
            OpenOptions {
                watch: false,
                progress: None,
            },
        )
        .unwrap();
        library.wait_ready();
        (dir, library)
    }

    #[test]
    fn renders_text_and_list_arguments_and_names_problems() {
        let (_dir, lib) = library(&[(
            "commands/review.md",
            "---\ntitle: Review\n---\nReview {{text:lang}} code.\nFocus:\n{{list:focus}}\n",
        )]);
        let values: HashMap<String, String> = [
            ("lang".to_string(), "Rust".to_string()),
            ("focus".to_string(), "- errors\n\nnaming\n".to_string()),
        ]
        .into();
        let rendered = render(&lib, "commands/review", &values).unwrap();
        assert_eq!(
            rendered.text,
            "Review Rust code.\nFocus:\n- errors\n- naming\n"
        );
        let check = |values: &[(&str, &str)], expected: &str| {
            let values = values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let err = render(&lib, "commands/review", &values).unwrap_err();
            assert_eq!(err.to_string(), expected);
        };
        check(
            &[("lang", "x"), ("focus", "y"), ("tone", "z")],
            "`commands/review` has no argument `tone`; its arguments are: `lang`, `focus`",
        );
        check(
            &[("lang", "x")],
            "`commands/review` needs the argument(s) `focus`",
        );
        assert_eq!(
            render(&lib, "nope", &HashMap::new()).unwrap_err(),
            RenderError::UnknownPrompt("nope".into())
        );
        let args = arguments(&rendered.prompt);
        assert_eq!(args[1].description(), "list: one item per line");
    }

    #[test]
    fn an_agent_file_renders_in_its_own_dialect() {
        let (_dir, lib) = library_of(
            &[(
                "fix.md",
                "---\ndescription: Fix\n---\nFix $ARGUMENTS, see ${input:note}.\n",
            )],
            |root| {
                Arc::new(crate::library::folder_source::FolderSource::new(
                    root,
                    crate::formats::FormatHint::Claude,
                    false,
                ))
            },
        );
        let values: HashMap<String, String> = [
            ("ARGUMENTS".to_string(), "issue 12".to_string()),
            ("note".to_string(), "the log".to_string()),
        ]
        .into();
        let rendered = render(&lib, "fix", &values).unwrap();
        assert_eq!(rendered.text, "Fix issue 12, see the log.\n");
    }

    #[test]
    fn pages_follow_the_cursor_to_the_end() {
        let files: Vec<(String, String)> = (0..5)
            .map(|n| (format!("rules/p{n}.md"), format!("# P{n}\n")))
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (_dir, lib) = library(&refs);
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let (items, next) = page(&lib, cursor.as_deref(), 2);
            seen.extend(items.iter().map(|p| p.id.clone()));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(
            seen,
            ["rules/p0", "rules/p1", "rules/p2", "rules/p3", "rules/p4"]
        );
    }
}

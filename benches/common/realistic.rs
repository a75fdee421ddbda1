//! A synthetic library shaped like the ones people keep: varied words (the starter prompts'
//! vocabulary plus plain English, common words far more frequent than rare ones), file names
//! that are ids (`commands/create-readme.md`, `skills/pdf-forms/SKILL.md`), and many files
//! without a `title` whose first heading is a generic "Role" or "Instructions".

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::{FILLER, Rng, WORDS};

/// Words ranked from most to least frequent: the starter prompts' words by how often they
/// occur, then the topic and filler words the other benches use.
pub struct Vocabulary {
    ranked: Vec<String>,
    /// Words of four letters or more, for file names and titles (ids are rarely "the-a").
    naming: Vec<String>,
}

impl Vocabulary {
    /// Reads the starter prompts shipped in the source tree.
    pub fn from_starter() -> Vocabulary {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/library/starter");
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut pending = vec![root];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("read starter folder")
                .flatten()
            {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    for word in text
                        .split(|c: char| !c.is_ascii_alphabetic())
                        .filter(|w| (2..=14).contains(&w.len()))
                    {
                        *counts.entry(word.to_ascii_lowercase()).or_default() += 1;
                    }
                }
            }
        }
        for word in WORDS.iter().chain(FILLER) {
            counts.entry((*word).to_string()).or_insert(1);
        }
        let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let ranked: Vec<String> = ranked.into_iter().map(|(w, _)| w).collect();
        let naming = ranked.iter().filter(|w| w.len() >= 4).cloned().collect();
        Vocabulary { ranked, naming }
    }

    /// Distinct words.
    pub fn len(&self) -> usize {
        self.ranked.len()
    }

    /// A word, common ones far more often than rare ones (a rough Zipf curve).
    pub fn common<'a>(&'a self, rng: &mut Rng) -> &'a str {
        skewed(&self.ranked, rng)
    }

    /// A word for a name: uniform over the longer words, so names spread over the vocabulary.
    pub fn naming<'a>(&'a self, rng: &mut Rng) -> &'a str {
        &self.naming[rng.below(self.naming.len())]
    }
}

fn skewed<'a>(items: &'a [String], rng: &mut Rng) -> &'a str {
    let (a, b, c) = (
        rng.below(items.len()),
        rng.below(items.len()),
        rng.below(items.len()),
    );
    &items[a * b / items.len() * c / items.len()]
}

/// How a generated file names itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Frontmatter `title` (words related to the file name).
    Title,
    /// No `title`; frontmatter `name` and a generic first heading.
    Name,
    /// No frontmatter name at all: a generic first heading ("Role") and the file name.
    FileOnly,
    /// `skills/<name>/SKILL.md` with `name:` and a "SKILL" heading.
    Skill,
}

/// One generated prompt, as the relevance check needs to know it.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Prompt id (path under the library without `.md`).
    pub id: String,
    /// What a user would type for it: the file name (or the skill's folder).
    pub handle: String,
    pub title: Option<String>,
    pub naming: Naming,
}

const FOLDERS: &[&str] = &[
    "commands",
    "workflows",
    "rules",
    "prompt-decorations",
    "agents",
    "prompts",
];
const HEADINGS: &[&str] = &[
    "Role",
    "Instructions",
    "Task",
    "Context",
    "Goal",
    "Overview",
];

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Writes `n` prompts with bodies of 1–3 KB under `root`; returns what each one is. The last
/// one carries `marker` in its description (a word no other prompt has).
pub fn generate(root: &Path, n: usize, vocabulary: &Vocabulary, marker: &str) -> Vec<Generated> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut taken = HashSet::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // A file name of two or three words, unique in the library like a real one.
        let mut words: Vec<&str> = (0..2 + rng.below(2))
            .map(|_| vocabulary.naming(&mut rng))
            .collect();
        while !taken.insert(words.join("-")) {
            words.push(vocabulary.naming(&mut rng));
        }
        let handle = words.join("-");
        let naming = match rng.below(20) {
            0..11 => Naming::Title,
            11..15 => Naming::Name,
            15..18 => Naming::FileOnly,
            _ => Naming::Skill,
        };
        let (id, rel) = match naming {
            Naming::Skill => (
                format!("skills/{handle}/SKILL"),
                format!("skills/{handle}/SKILL.md"),
            ),
            _ => {
                let folder = FOLDERS[rng.below(FOLDERS.len())];
                (
                    format!("{folder}/{handle}"),
                    format!("{folder}/{handle}.md"),
                )
            }
        };
        // Titles say what the file name says, in other words order and with a word more.
        let title = (naming == Naming::Title).then(|| {
            let mut t: Vec<String> = words.iter().map(|w| w.to_string()).collect();
            if rng.below(2) == 0 {
                t.insert(
                    rng.below(t.len() + 1),
                    vocabulary.common(&mut rng).to_string(),
                );
            }
            t[0] = capitalised(&t[0]);
            t.join(" ")
        });
        let description: Vec<&str> = (0..4 + rng.below(8))
            .map(|_| vocabulary.common(&mut rng))
            .collect();
        let mut description = description.join(" ");
        if i + 1 == n {
            description.push(' ');
            description.push_str(marker);
        }
        let tags: Vec<&str> = (0..1 + rng.below(4))
            .map(|_| vocabulary.naming(&mut rng))
            .collect();
        let mut front = String::new();
        match naming {
            Naming::Title => {
                front = format!(
                    "---\ntitle: {}\ndescription: {description}\ntags: [{}]\n---\n",
                    title.as_deref().unwrap_or_default(),
                    tags.join(", ")
                );
            }
            Naming::Name | Naming::Skill => {
                front = format!(
                    "---\nname: {handle}\ndescription: {description}\ntags: [{}]\n---\n",
                    tags.join(", ")
                );
            }
            Naming::FileOnly => {}
        }
        let heading = match naming {
            Naming::Skill => "SKILL",
            Naming::Title => title.as_deref().unwrap_or_default(),
            _ => HEADINGS[rng.below(HEADINGS.len())],
        };
        let mut body = format!("# {heading}\n\n");
        if naming == Naming::FileOnly {
            body.push_str(&description);
            body.push_str("\n\n");
        }
        let target = 1024 + rng.below(2048);
        let mut used = Vec::new();
        while body.len() < target {
            for _ in 0..25 + rng.below(30) {
                body.push_str(vocabulary.common(&mut rng));
                body.push(' ');
            }
            if rng.below(2) == 0 && used.len() < 4 {
                let name = rng.pick(super::PLACEHOLDERS);
                if !used.contains(&name) {
                    used.push(name);
                    let kind = if rng.below(4) == 0 { "list" } else { "text" };
                    body.push_str(&format!("{{{{{kind}:{name}}}}}"));
                }
            }
            body.push_str("\n\n");
        }
        let path = root.join(&rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create folder");
        std::fs::write(&path, front + &body).expect("write prompt");
        out.push(Generated {
            id,
            handle,
            title,
            naming,
        });
    }
    out
}

/// What a user types to find one prompt, and which prompt they mean.
pub struct RelevanceQuery {
    pub kind: &'static str,
    pub query: String,
    pub intended: String,
}

/// Queries with a known intended prompt: its file name as typed (`create-readme`), the file
/// name half typed (`create-rea`), and its title.
pub fn relevance_queries(library: &[Generated], count: usize) -> Vec<RelevanceQuery> {
    let mut rng = Rng(7);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let p = &library[rng.below(library.len())];
        let (kind, query) = match (out.len() % 3, &p.title) {
            (0, _) => ("file name", p.handle.clone()),
            (1, _) => {
                let keep = p.handle.len() - (p.handle.len() - p.handle.rfind('-').unwrap_or(0)) / 2;
                ("file name prefix", p.handle[..keep].to_string())
            }
            (_, Some(title)) => ("title", title.clone()),
            _ => continue,
        };
        out.push(RelevanceQuery {
            kind,
            query,
            intended: p.id.clone(),
        });
    }
    out
}

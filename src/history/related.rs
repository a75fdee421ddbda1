//! What history says about how compositions and prompts belong together: compositions related
//! by shared prompts, tags and workspace, and prompts used in the same compositions. Every
//! backend answers [`CompositionRepository::related`] and `used_together` (the graph natively,
//! SQLite and PostgreSQL with joins) and ranks the same way.

use std::collections::HashMap;

use super::{CompositionRepository, CompositionSummary};

/// How much each kind of shared neighbour adds to a [`RelatedComposition`]'s score: a library
/// prompt both used says most about what a composition is for, a tag less, the same workspace
/// least.
pub const RELATED_PROMPT_WEIGHT: u32 = 3;
/// See [`RELATED_PROMPT_WEIGHT`].
pub const RELATED_TAG_WEIGHT: u32 = 2;
/// See [`RELATED_PROMPT_WEIGHT`].
pub const RELATED_WORKSPACE_WEIGHT: u32 = 1;

/// A composition related to another one: it shares library prompts, tags or the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedComposition {
    pub summary: CompositionSummary,
    /// Shared prompts × 3 + shared tags × 2 + same workspace × 1 (higher is more related).
    pub score: u32,
    pub shared_prompts: usize,
    pub shared_tags: usize,
    pub same_workspace: bool,
}

impl RelatedComposition {
    /// The score of what two compositions share.
    pub fn score_of(shared_prompts: usize, shared_tags: usize, same_workspace: bool) -> u32 {
        let n = |count: usize| u32::try_from(count).unwrap_or(u32::MAX);
        n(shared_prompts)
            .saturating_mul(RELATED_PROMPT_WEIGHT)
            .saturating_add(n(shared_tags).saturating_mul(RELATED_TAG_WEIGHT))
            .saturating_add(u32::from(same_workspace) * RELATED_WORKSPACE_WEIGHT)
    }
}

/// A library prompt used in the same compositions as another one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptPairing {
    pub prompt_id: String,
    /// Compositions that used both.
    pub compositions: usize,
}

/// Most related compositions or paired prompts a query returns.
pub const RELATED_LIMIT_MAX: usize = 100;

/// Prompt id → compositions of history that used it together with one of `linked` (one query
/// per linked prompt; a history that cannot answer boosts nothing). For the context selector.
pub fn paired_counts(repo: &dyn CompositionRepository, linked: &[String]) -> HashMap<String, u32> {
    let mut paired: HashMap<String, u32> = HashMap::new();
    for id in linked {
        match repo.used_together(id, 20) {
            Ok(found) => {
                for p in found {
                    let n = u32::try_from(p.compositions).unwrap_or(u32::MAX);
                    let count = paired.entry(p.prompt_id).or_default();
                    *count = count.saturating_add(n);
                }
            }
            Err(e) => tracing::debug!("prompts used together with {id}: {e}"),
        }
    }
    paired
}

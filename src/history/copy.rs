//! `promptstack storage copy`: everything one backend keeps about this history (compositions,
//! versions, tags, prompt uses, placeholder values) merged into another. Idempotent: a second
//! run finds everything there and adds nothing.

use super::{CompositionRepository, HistoryError, HistoryStats, ImportReport};

/// Compositions read and written per step.
const BATCH: usize = 200;

/// What a copy did, and the totals on both sides afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Compositions read from the source.
    pub compositions_read: usize,
    pub imported: ImportReport,
    pub placeholder_values_added: usize,
    pub source: HistoryStats,
    pub target: HistoryStats,
}

/// Copies `from` into `to`, reporting `progress(done, total)` in compositions.
pub fn copy(
    from: &dyn CompositionRepository,
    to: &dyn CompositionRepository,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CopyReport, HistoryError> {
    let total = from.stats()?.compositions;
    let mut imported = ImportReport::default();
    let mut after: Option<String> = None;
    let mut done = 0;
    progress(0, total);
    loop {
        let batch = from.export(after.as_deref(), BATCH)?;
        let Some(last) = batch.last() else {
            break;
        };
        after = Some(last.record.id.clone());
        let step = to.import(&batch)?;
        imported.compositions_added += step.compositions_added;
        imported.compositions_updated += step.compositions_updated;
        imported.versions_added += step.versions_added;
        imported.prompt_uses_added += step.prompt_uses_added;
        done += batch.len();
        progress(done.min(total), total.max(done));
    }
    let values = from.export_placeholder_values()?;
    let placeholder_values_added = to.import_placeholder_values(&values)?;
    Ok(CopyReport {
        compositions_read: done,
        imported,
        placeholder_values_added,
        source: from.stats()?,
        target: to.stats()?,
    })
}

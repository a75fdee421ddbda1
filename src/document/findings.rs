//! A problem found in a file's text, as library validation and the agent-file formats report it.

use std::ops::Range;

use super::{ColumnEncoding, LineIndex};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// A suggestion (a legacy file name, a long skill body): never fails a check.
    Hint,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// A stable identifier (diagnostic code), e.g. `missing-title`.
    pub code: &'static str,
    pub message: String,
    /// Byte range in the file's text.
    #[serde(skip)]
    pub range: Range<usize>,
    /// One-based line of the range start.
    pub line: u32,
}

impl Finding {
    /// A finding over `range` of `text`, its line taken from `index`.
    pub fn new(
        text: &str,
        index: &LineIndex,
        severity: Severity,
        code: &'static str,
        range: Range<usize>,
        message: impl Into<String>,
    ) -> Finding {
        let line = index.position(text, range.start, ColumnEncoding::Utf8).line + 1;
        Finding {
            severity,
            code,
            message: message.into(),
            range,
            line,
        }
    }
}

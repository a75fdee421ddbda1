//! Conversions between LSP positions/URIs and the domain's byte offsets and paths.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::{
    DocumentChanges, OneOf, OptionalVersionedTextDocumentIdentifier, Position, Range as LspRange,
    TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use super::state::ClientFeatures;

use crate::document::links::normalize_path;
use crate::document::{ColumnEncoding, LineCol, LineIndex};

/// A document's text with its line index, for converting many positions at once.
pub struct IndexedText<'a> {
    pub text: &'a str,
    pub index: Arc<LineIndex>,
    pub encoding: ColumnEncoding,
}

impl<'a> IndexedText<'a> {
    pub fn new(text: &'a str, encoding: ColumnEncoding) -> Self {
        Self::with_index(text, Arc::new(LineIndex::new(text)), encoding)
    }

    /// With an index already built for `text`.
    pub fn with_index(text: &'a str, index: Arc<LineIndex>, encoding: ColumnEncoding) -> Self {
        IndexedText {
            text,
            index,
            encoding,
        }
    }

    pub fn position(&self, offset: usize) -> Position {
        let lc = self.index.position(self.text, offset, self.encoding);
        Position::new(lc.line, lc.col)
    }

    pub fn range(&self, range: &Range<usize>) -> LspRange {
        LspRange::new(self.position(range.start), self.position(range.end))
    }

    /// The byte offset of a client position; a position past the last line is an
    /// `InvalidParams` error (never a panic).
    pub fn offset(&self, pos: Position) -> jsonrpc::Result<usize> {
        self.index
            .offset(
                self.text,
                LineCol {
                    line: pos.line,
                    col: pos.character,
                },
                self.encoding,
            )
            .map_err(|e| jsonrpc::Error::invalid_params(e.to_string()))
    }

    pub fn byte_range(&self, range: LspRange) -> jsonrpc::Result<Range<usize>> {
        let start = self.offset(range.start)?;
        let end = self.offset(range.end)?;
        if end < start {
            return Err(jsonrpc::Error::invalid_params(format!(
                "range end {}:{} is before its start {}:{}",
                range.end.line, range.end.character, range.start.line, range.start.character
            )));
        }
        Ok(start..end)
    }
}

/// The file path of a `file:` URI, without `.` or `..` segments.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    uri.to_file_path().map(|p| normalize_path(&p))
}

/// A `file:` URI for a path, without `.` or `..` segments: editors compare URIs as text, so
/// `a/../b.md` and `b.md` would be two tabs and two documents.
pub fn path_to_uri(path: &std::path::Path) -> Option<Uri> {
    Uri::from_file_path(normalize_path(path))
}

/// An edit of one document in the form the client announced: versioned `documentChanges` (the
/// client refuses it if the text moved on), else plain `changes`.
pub fn workspace_edit(
    features: &ClientFeatures,
    uri: Uri,
    version: i32,
    edits: Vec<TextEdit>,
) -> WorkspaceEdit {
    if features.document_changes {
        WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier {
                    uri,
                    version: Some(version),
                },
                edits: edits.into_iter().map(OneOf::Left).collect(),
            }])),
            ..Default::default()
        }
    } else {
        WorkspaceEdit {
            changes: Some(std::collections::HashMap::from([(uri, edits)])),
            ..Default::default()
        }
    }
}

/// The error for a request about a document the client never opened.
pub fn not_open(uri: &Uri) -> jsonrpc::Error {
    jsonrpc::Error::invalid_params(format!("document {} is not open", uri.as_str()))
}

/// An internal error whose message tells the user what failed.
pub fn internal_error(message: impl Into<String>) -> jsonrpc::Error {
    let mut error = jsonrpc::Error::internal_error();
    error.message = message.into().into();
    error
}

/// An "invalid request" error with a message (a feature that is off, a bad state).
pub fn invalid_request(message: impl Into<String>) -> jsonrpc::Error {
    let mut error = jsonrpc::Error::invalid_request();
    error.message = message.into().into();
    error
}

/// The error for a request that needs something still starting up (library, history).
pub fn not_ready(what: &str) -> jsonrpc::Error {
    let mut error = jsonrpc::Error::invalid_request();
    error.message = format!("{what} is still opening; try again in a moment").into();
    error
}

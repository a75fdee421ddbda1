//! The text model shared by every feature: open documents, positions, placeholders, frontmatter.

pub mod composition_file;
pub mod file_refs;
pub mod findings;
pub mod frontmatter;
pub mod line_index;
pub mod links;
pub mod outline;
pub mod placeholders;
mod scan;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use ropey::Rope;

pub use line_index::{ColumnEncoding, LineCol, LineIndex, OutOfBounds};

/// Largest file the server reads as a prompt or composition.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// What a document is to PromptStack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A prompt being built (`*.composition.md` and `*.prompt.md` by default); saves go to history.
    Composition,
    /// A Markdown file inside the library directory.
    LibraryPrompt,
    /// An agent file another tool reads (a skill, a command, a VS Code prompt file, a Cursor
    /// rule, `AGENTS.md`): checked by that format's rules.
    AgentFile,
    /// Anything else the editor sent us; only generic features apply.
    Other,
}

/// An open document: its text as a rope, so edits are cheap on large files and a copy for a
/// background task costs nothing. Lines end at `\n`, `\r\n` or `\r`, as in [`LineIndex`].
#[derive(Debug, Clone)]
pub struct Document {
    rope: Rope,
    pub version: i32,
    pub kind: DocumentKind,
    /// Changes with every edit, unique across documents: work started on one revision can tell
    /// that the text moved on.
    revision: u64,
    /// The text and its line index for this revision, built by the first request that needs
    /// them and shared by every copy of the document taken before the next edit.
    indexed: Arc<OnceLock<(Arc<str>, Arc<LineIndex>)>>,
}

/// A fresh document revision.
fn next_revision() -> u64 {
    static REVISIONS: AtomicU64 = AtomicU64::new(1);
    REVISIONS.fetch_add(1, Ordering::Relaxed)
}

/// A text change: replace the byte range with new text (`None` replaces everything).
#[derive(Debug, Clone)]
pub struct TextEdit {
    pub range: Option<std::ops::Range<usize>>,
    pub text: String,
}

impl Document {
    pub fn new(text: &str, version: i32, kind: DocumentKind) -> Self {
        Document {
            rope: Rope::from_str(text),
            version,
            kind,
            revision: next_revision(),
            indexed: Arc::default(),
        }
    }

    /// The text with its line index, computed once per revision.
    pub fn indexed(&self) -> (Arc<str>, Arc<LineIndex>) {
        self.indexed
            .get_or_init(|| {
                let text: Arc<str> = self.rope.to_string().into();
                let index = Arc::new(LineIndex::new(&text));
                (text, index)
            })
            .clone()
    }

    /// Identifies this exact text; see [`Document::revision`].
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The full text. Copies; callers that need many lookups build a [`LineIndex`] once.
    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    pub fn len_bytes(&self) -> usize {
        self.rope.len_bytes()
    }

    /// The byte offset of a position, in O(log n) on the rope without copying the text. Columns
    /// past the line end clamp to it; a column inside a character (half a surrogate pair) moves
    /// to the character's start.
    pub fn offset_of(&self, pos: LineCol, enc: ColumnEncoding) -> Result<usize, OutOfBounds> {
        let rope = &self.rope;
        let line = pos.line as usize;
        if line >= rope.len_lines() {
            return Err(OutOfBounds {
                line: pos.line,
                col: pos.col,
                lines: rope.len_lines(),
            });
        }
        let start_char = rope.line_to_char(line);
        let slice = rope.line(line);
        let mut content_chars = slice.len_chars();
        if content_chars > 0 && slice.char(content_chars - 1) == '\n' {
            content_chars -= 1;
        }
        if content_chars > 0 && slice.char(content_chars - 1) == '\r' {
            content_chars -= 1;
        }
        let end_char = start_char + content_chars;
        let char_index = match enc {
            ColumnEncoding::Utf8 => {
                let start = rope.char_to_byte(start_char);
                let end = rope.char_to_byte(end_char);
                // `byte_to_char` rounds down to the character holding the byte.
                rope.byte_to_char((start + pos.col as usize).min(end))
            }
            ColumnEncoding::Utf16 => {
                let start = rope.char_to_utf16_cu(start_char);
                let end = rope.char_to_utf16_cu(end_char);
                rope.utf16_cu_to_char((start + pos.col as usize).min(end))
            }
        };
        Ok(rope.char_to_byte(char_index))
    }

    /// Applies one edit. Ranges are byte offsets into the current text and must lie on char
    /// boundaries (callers convert from positions with a [`LineIndex`], which guarantees that).
    pub fn apply(&mut self, edit: &TextEdit) {
        match &edit.range {
            None => self.rope = Rope::from_str(&edit.text),
            Some(range) => {
                let len = self.rope.len_bytes();
                let (start, end) = (range.start.min(len), range.end.min(len));
                let start_char = self.rope.byte_to_char(start);
                let end_char = self.rope.byte_to_char(end.max(start));
                self.rope.remove(start_char..end_char);
                self.rope.insert(start_char, &edit.text);
            }
        }
        self.revision = next_revision();
        self.indexed = Arc::default();
    }
}

/// Size figures shown in the code lens: characters, lines and estimated tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStats {
    pub characters: usize,
    pub lines: usize,
    pub tokens: usize,
}

impl TextStats {
    /// Counts `text`. Tokens are estimated at ~4 characters each until a real tokenizer is
    /// configured for the model family.
    pub fn of(text: &str) -> Self {
        let characters = text.chars().count();
        // A final line break ends the last line rather than starting an empty one.
        let lines = line_index::line_ranges(text).count()
            - usize::from(text.is_empty() || text.ends_with(['\n', '\r']));
        TextStats {
            characters,
            lines,
            tokens: characters.div_ceil(4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_edits_on_the_rope() {
        let mut doc = Document::new("héllo world", 1, DocumentKind::Composition);
        doc.apply(&TextEdit {
            range: Some(7..12),
            text: "there".into(),
        });
        assert_eq!(doc.text(), "héllo there");
        doc.apply(&TextEdit {
            range: Some(0..0),
            text: "# ".into(),
        });
        assert_eq!(doc.text(), "# héllo there");
        doc.apply(&TextEdit {
            range: None,
            text: "new".into(),
        });
        assert_eq!(doc.text(), "new");
    }

    #[test]
    fn lone_cr_ends_a_line_for_edits() {
        let mut doc = Document::new("# A\r{{text:x}}\r", 1, DocumentKind::Composition);
        let lc = |line, col| LineCol { line, col };
        assert_eq!(doc.offset_of(lc(1, 2), ColumnEncoding::Utf16), Ok(6));
        assert_eq!(doc.offset_of(lc(2, 0), ColumnEncoding::Utf16), Ok(15));
        assert!(doc.offset_of(lc(3, 0), ColumnEncoding::Utf16).is_err());
        let before = doc.revision();
        doc.apply(&TextEdit {
            range: Some(6..10),
            text: "list".into(),
        });
        assert_eq!(doc.text(), "# A\r{{list:x}}\r");
        assert_ne!(doc.revision(), before);
        // A column inside a surrogate pair moves to the pair's start.
        let doc = Document::new("a😀b", 1, DocumentKind::Other);
        assert_eq!(doc.offset_of(lc(0, 2), ColumnEncoding::Utf16), Ok(1));
        assert_eq!(doc.offset_of(lc(0, 3), ColumnEncoding::Utf16), Ok(5));
        assert_eq!(doc.offset_of(lc(0, 3), ColumnEncoding::Utf8), Ok(1));
    }

    #[test]
    fn stats_count_chars_lines_and_tokens() {
        assert_eq!(
            TextStats::of("ab\ncdé\n"),
            TextStats {
                characters: 7,
                lines: 2,
                tokens: 2
            }
        );
        assert_eq!(TextStats::of("").lines, 0);
        assert_eq!(TextStats::of("a\rb\r\nc").lines, 3);
        assert_eq!(TextStats::of("a\r").lines, 1);
    }
}

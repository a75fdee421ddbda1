//! The text model shared by every feature: open documents, positions, placeholders, frontmatter.

pub mod composition_file;
pub mod file_refs;
pub mod frontmatter;
pub mod line_index;
pub mod links;
pub mod outline;
pub mod placeholders;

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
    /// Anything else the editor sent us; only generic features apply.
    Other,
}

/// An open document: its text as a rope, so edits are cheap on large files.
#[derive(Debug, Clone)]
pub struct Document {
    rope: Rope,
    pub version: i32,
    pub kind: DocumentKind,
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
        }
    }

    /// The full text. Copies; callers that need many lookups build a [`LineIndex`] once.
    pub fn text(&self) -> String {
        self.rope.to_string()
    }

    pub fn len_bytes(&self) -> usize {
        self.rope.len_bytes()
    }

    /// The byte offset of a position, computed on the rope without copying the text.
    pub fn offset_of(&self, pos: LineCol, enc: ColumnEncoding) -> Result<usize, OutOfBounds> {
        let line = pos.line as usize;
        if line >= self.rope.len_lines() {
            return Err(OutOfBounds {
                line: pos.line,
                col: pos.col,
                lines: self.rope.len_lines(),
            });
        }
        let start = self.rope.line_to_byte(line);
        let line_text = self.rope.line(line).to_string();
        let content = line_text.trim_end_matches('\n').trim_end_matches('\r');
        Ok(start + line_index::column_to_byte(content, pos.col, enc))
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
        let lines = if text.is_empty() {
            0
        } else {
            text.lines().count()
        };
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
    }
}

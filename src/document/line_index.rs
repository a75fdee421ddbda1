//! Conversion between byte offsets and (line, column) positions, with columns counted in UTF-16
//! code units or UTF-8 bytes depending on what the client negotiated.

/// How columns are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColumnEncoding {
    /// LSP's default: UTF-16 code units.
    #[default]
    Utf16,
    /// Bytes, when the client offers `utf-8`.
    Utf8,
}

/// A (line, column) pair; both zero-based, column in the index's [`ColumnEncoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// A position that does not exist in the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("position {line}:{col} is outside the document ({lines} lines)")]
pub struct OutOfBounds {
    pub line: u32,
    pub col: u32,
    pub lines: usize,
}

/// Line starts of a text, for O(log n) offset ↔ position conversion.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    /// Indexes `text`. Lines end at `\n`; a `\r` before it belongs to the line's content.
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex {
            line_starts,
            len: text.len(),
        }
    }

    /// Number of lines (a trailing newline starts one more, empty, line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte range of `line` without its line break.
    pub fn line_range(&self, text: &str, line: u32) -> Option<std::ops::Range<usize>> {
        let start = *self.line_starts.get(line as usize)?;
        let mut end = self
            .line_starts
            .get(line as usize + 1)
            .map_or(self.len, |next| next - 1);
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        Some(start..end)
    }

    /// The position of byte `offset` (clamped to the text, and back to a char boundary).
    pub fn position(&self, text: &str, offset: usize, enc: ColumnEncoding) -> LineCol {
        let mut offset = offset.min(self.len);
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = match enc {
            ColumnEncoding::Utf8 => offset - start,
            ColumnEncoding::Utf16 => text[start..offset].encode_utf16().count(),
        };
        LineCol {
            line: line as u32,
            col: col as u32,
        }
    }

    /// The byte offset of a position. A column past the end of its line is clamped to the line
    /// end (as LSP specifies); a line past the end of the document is an error. A column in the
    /// middle of a character moves to that character's start.
    pub fn offset(
        &self,
        text: &str,
        pos: LineCol,
        enc: ColumnEncoding,
    ) -> Result<usize, OutOfBounds> {
        let Some(range) = self.line_range(text, pos.line) else {
            // The position just after a final newline-less line is one line past the end.
            return Err(OutOfBounds {
                line: pos.line,
                col: pos.col,
                lines: self.line_count(),
            });
        };
        Ok(range.start + column_to_byte(&text[range], pos.col, enc))
    }
}

/// The byte offset within one line (without its line break) of a column; past the end clamps to
/// the end, the middle of a character moves to its start.
pub fn column_to_byte(line_text: &str, col: u32, enc: ColumnEncoding) -> usize {
    let want = col as usize;
    match enc {
        ColumnEncoding::Utf8 => {
            let mut c = want.min(line_text.len());
            while !line_text.is_char_boundary(c) {
                c -= 1;
            }
            c
        }
        ColumnEncoding::Utf16 => {
            let mut units = 0;
            for (i, ch) in line_text.char_indices() {
                if units + ch.len_utf16() > want {
                    return i;
                }
                units += ch.len_utf16();
            }
            line_text.len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lc(line: u32, col: u32) -> LineCol {
        LineCol { line, col }
    }

    #[test]
    fn ascii_round_trip() {
        let text = "ab\ncd\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_count(), 3);
        assert_eq!(idx.position(text, 4, ColumnEncoding::Utf16), lc(1, 1));
        assert_eq!(idx.offset(text, lc(1, 1), ColumnEncoding::Utf16), Ok(4));
        assert_eq!(idx.offset(text, lc(2, 0), ColumnEncoding::Utf16), Ok(6));
        assert!(idx.offset(text, lc(3, 0), ColumnEncoding::Utf16).is_err());
        // Past the end of a line clamps to the line end.
        assert_eq!(idx.offset(text, lc(0, 99), ColumnEncoding::Utf16), Ok(2));
    }

    #[test]
    fn utf16_and_utf8_columns_differ_for_non_ascii() {
        // 'é' is 2 bytes / 1 unit; '😀' is 4 bytes / 2 units.
        let text = "é😀x\r\nz";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(idx.position(text, x, ColumnEncoding::Utf16), lc(0, 3));
        assert_eq!(idx.position(text, x, ColumnEncoding::Utf8), lc(0, 6));
        assert_eq!(idx.offset(text, lc(0, 3), ColumnEncoding::Utf16), Ok(x));
        assert_eq!(idx.offset(text, lc(0, 6), ColumnEncoding::Utf8), Ok(x));
        // The middle of a surrogate pair / multibyte char moves to its start.
        assert_eq!(idx.offset(text, lc(0, 2), ColumnEncoding::Utf16), Ok(2));
        assert_eq!(idx.offset(text, lc(0, 4), ColumnEncoding::Utf8), Ok(2));
        // `\r` is not part of the addressable line.
        assert_eq!(idx.offset(text, lc(0, 9), ColumnEncoding::Utf16), Ok(x + 1));
        assert_eq!(idx.line_range(text, 1), Some(9..10));
    }

    proptest! {
        #[test]
        fn offsets_round_trip(text in "\\PC{0,40}(\n\\PC{0,10}){0,4}", pick in any::<prop::sample::Index>()) {
            let idx = LineIndex::new(&text);
            let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let offset = boundaries[pick.index(boundaries.len())];
            for enc in [ColumnEncoding::Utf16, ColumnEncoding::Utf8] {
                let pos = idx.position(&text, offset, enc);
                prop_assert_eq!(idx.offset(&text, pos, enc), Ok(offset));
            }
        }
    }
}

//! Conversion between byte offsets and (line, column) positions, with columns counted in UTF-16
//! code units or UTF-8 bytes depending on what the client negotiated.
//!
//! Lines end at `\n`, `\r\n` or a lone `\r`, as LSP specifies. Converting an offset to a position
//! costs O(log n) on any line, however long: a UTF-16 column is the byte column minus the extra
//! bytes of the multi-byte characters before it, read from checkpoints every
//! [`CHECKPOINT_BYTES`] bytes.

use std::ops::Range;

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

/// Distance between UTF-16 checkpoints; a conversion scans at most this many bytes.
const CHECKPOINT_BYTES: usize = 64;

/// Line starts of a text, for O(log n) offset → position conversion.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
    len: usize,
    /// For each checkpoint `k`, the UTF-8 bytes minus UTF-16 units of the characters starting
    /// before byte `k * CHECKPOINT_BYTES`. Empty for ASCII text, where both are equal.
    utf16_extra: Vec<usize>,
}

/// How many more UTF-8 bytes than UTF-16 units the character led by byte `b` takes (0 for
/// ASCII and continuation bytes).
fn extra_of_lead(b: u8) -> usize {
    match b {
        0xC0..=0xDF => 1,
        0xE0..=0xFF => 2,
        _ => 0,
    }
}

/// Byte ranges of the lines of `text`, each without its line break (`\n`, `\r\n` or `\r`).
/// A text ending in a line break has one more, empty, line.
pub fn line_ranges(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let from = start?;
        match bytes[from..].iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(rel) => {
                let end = from + rel;
                let crlf = bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n');
                start = Some(end + if crlf { 2 } else { 1 });
                Some(from..end)
            }
            None => {
                start = None;
                Some(from..bytes.len())
            }
        }
    })
}

/// The start of the line containing `offset` (just after the previous line break).
pub fn line_start(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset]
        .iter()
        .rposition(|&b| b == b'\n' || b == b'\r')
        .map_or(0, |i| i + 1)
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        let mut i = 0;
        while let Some(rel) = bytes[i..].iter().position(|&b| b == b'\n' || b == b'\r') {
            let at = i + rel;
            i = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
                at + 2
            } else {
                at + 1
            };
            line_starts.push(i);
        }
        let utf16_extra = if text.is_ascii() {
            Vec::new()
        } else {
            let mut extra = 0;
            let mut checkpoints = Vec::with_capacity(bytes.len() / CHECKPOINT_BYTES + 1);
            for chunk in bytes.chunks(CHECKPOINT_BYTES) {
                checkpoints.push(extra);
                extra += chunk.iter().map(|&b| extra_of_lead(b)).sum::<usize>();
            }
            checkpoints.push(extra);
            checkpoints
        };
        LineIndex {
            line_starts,
            len: text.len(),
            utf16_extra,
        }
    }

    /// Number of lines (a trailing line break starts one more, empty, line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte range of `line` without its line break.
    pub fn line_range(&self, text: &str, line: u32) -> Option<Range<usize>> {
        let start = *self.line_starts.get(line as usize)?;
        let end = match self.line_starts.get(line as usize + 1) {
            None => self.len,
            Some(&next) if next >= start + 2 && &text.as_bytes()[next - 2..next] == b"\r\n" => {
                next - 2
            }
            Some(&next) => next - 1,
        };
        Some(start..end)
    }

    /// UTF-8 bytes minus UTF-16 units of the characters before byte `offset`.
    fn extra_before(&self, text: &str, offset: usize) -> usize {
        if self.utf16_extra.is_empty() {
            return 0;
        }
        let checkpoint = offset / CHECKPOINT_BYTES;
        let from = checkpoint * CHECKPOINT_BYTES;
        self.utf16_extra[checkpoint]
            + text.as_bytes()[from..offset]
                .iter()
                .map(|&b| extra_of_lead(b))
                .sum::<usize>()
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
            ColumnEncoding::Utf16 => {
                (offset - start)
                    - (self.extra_before(text, offset) - self.extra_before(text, start))
            }
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
fn column_to_byte(line_text: &str, col: u32, enc: ColumnEncoding) -> usize {
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

    #[test]
    fn lone_cr_and_crlf_end_lines() {
        let text = "# A\r{{text:x}}\r\nb\n\rc";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_count(), 5);
        let lines: Vec<&str> = line_ranges(text).map(|r| &text[r]).collect();
        assert_eq!(lines, vec!["# A", "{{text:x}}", "b", "", "c"]);
        assert_eq!(idx.position(text, 4, ColumnEncoding::Utf16), lc(1, 0));
        assert_eq!(idx.offset(text, lc(1, 99), ColumnEncoding::Utf16), Ok(14));
        assert_eq!(idx.line_range(text, 1), Some(4..14));
        assert_eq!(idx.line_range(text, 3), Some(18..18));
        assert_eq!(idx.offset(text, lc(4, 1), ColumnEncoding::Utf8), Ok(20));
        assert_eq!(line_start(text, 6), 4);
    }

    #[test]
    fn utf16_columns_on_a_long_mixed_line() {
        let text = "aé😀€".repeat(5_000);
        let idx = LineIndex::new(&text);
        for (i, (offset, _)) in text.char_indices().enumerate().step_by(7) {
            // Each repetition is 4 chars and 5 UTF-16 units.
            let units = (i / 4) * 5 + [0, 1, 2, 4][i % 4];
            assert_eq!(
                idx.position(&text, offset, ColumnEncoding::Utf16),
                lc(0, units as u32)
            );
        }
    }

    proptest! {
        #[test]
        fn offsets_round_trip(text in "\\PC{0,80}([\r\n]{1,2}\\PC{0,10}){0,4}", pick in any::<prop::sample::Index>()) {
            let idx = LineIndex::new(&text);
            let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let offset = boundaries[pick.index(boundaries.len())];
            // Between the `\r` and `\n` of a CRLF is no position of its own.
            prop_assume!(!(text[..offset].ends_with('\r') && text[offset..].starts_with('\n')));
            for enc in [ColumnEncoding::Utf16, ColumnEncoding::Utf8] {
                let pos = idx.position(&text, offset, enc);
                prop_assert_eq!(idx.offset(&text, pos, enc), Ok(offset));
                // The rope-based conversion used for edits agrees.
                let doc = super::super::Document::new(&text, 1, super::super::DocumentKind::Other);
                prop_assert_eq!(doc.offset_of(pos, enc), Ok(offset));
            }
        }
    }
}

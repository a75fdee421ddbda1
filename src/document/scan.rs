//! Forward scanning that stays linear: the parsers ask "where is the next `}}` after here?" once
//! per candidate, and a cached answer serves every later question it still answers.

/// The next match of one search at or after a position. Asking with non-decreasing positions
/// costs O(n) in total for the whole text, however many questions are asked.
pub struct NextMatch<F> {
    find: F,
    /// The last search: where it started and what it found.
    last: Option<(usize, Option<usize>)>,
}

impl<F: Fn(&str, usize) -> Option<usize>> NextMatch<F> {
    /// `find(text, from)` returns the first match at or after `from`.
    pub fn new(find: F) -> Self {
        NextMatch { find, last: None }
    }

    /// The first match at or after `from` in `text` (always the same text for one `NextMatch`).
    pub fn at_or_after(&mut self, text: &str, from: usize) -> Option<usize> {
        match self.last {
            // No match in `searched..found` means none in `from..found` either.
            Some((searched, found)) if searched <= from && found.is_none_or(|f| f >= from) => found,
            _ => {
                let found = (self.find)(text, from);
                self.last = Some((from, found));
                found
            }
        }
    }
}

/// A search for the next occurrence of `needle`.
pub fn next_str(needle: &'static str) -> NextMatch<impl Fn(&str, usize) -> Option<usize>> {
    NextMatch::new(move |text: &str, from: usize| text[from..].find(needle).map(|i| from + i))
}

/// A search for the next byte among `set` (ASCII bytes).
pub fn next_byte(set: &'static [u8]) -> NextMatch<impl Fn(&str, usize) -> Option<usize>> {
    NextMatch::new(move |text: &str, from: usize| {
        text.as_bytes()[from..]
            .iter()
            .position(|b| set.contains(b))
            .map(|i| from + i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_answers_match_fresh_searches() {
        let text = "a}} b}}  }}";
        let mut next = next_str("}}");
        for from in [0, 0, 1, 2, 3, 5, 6, 7, 9, 10, 11, 4, 0] {
            assert_eq!(
                next.at_or_after(text, from),
                text[from..].find("}}").map(|i| from + i),
                "from {from}"
            );
        }
        let mut breaks = next_byte(b"\r\n");
        assert_eq!(breaks.at_or_after("ab\rc\n", 0), Some(2));
        assert_eq!(breaks.at_or_after("ab\rc\n", 3), Some(4));
        assert_eq!(breaks.at_or_after("ab\rc\n", 5), None);
    }
}

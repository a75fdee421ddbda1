//! Noticing that a completed prompt was used when the editor does not say so.
//!
//! Editors that run the command attached to a completion item report a use with
//! `promptstack.promptUsed`; others (Helix) only apply the item's text. So the prompts offered
//! for a document are remembered, and the next edit that inserts one's body counts as its use.
//! An editor that does both is counted once: the command finds the use already counted.

use std::collections::{HashMap, VecDeque};

use crate::document::placeholders;

/// Documents whose latest offers are remembered; older ones are forgotten first.
const MAX_DOCUMENTS: usize = 64;
/// Tokens remembered as already counted from an edit.
const MAX_COUNTED: usize = 256;
/// A body fragment shorter than this could be typed by hand: such prompts are counted only by
/// the command.
const MIN_NEEDLE_CHARS: usize = 8;

/// One prompt offered in a completion answer.
#[derive(Debug, Clone)]
struct Offer {
    prompt_id: String,
    /// Text that appears in the document once the prompt is inserted, whether as a snippet or
    /// as plain text: the longest placeholder-free piece of one body line.
    needle: String,
}

/// The offers per document (by URI), and the uses already counted from an edit (document,
/// prompt id) for the command that may follow.
#[derive(Debug, Default)]
pub struct UseTracker {
    offers: HashMap<String, (u64, Vec<Offer>)>,
    counted: VecDeque<(String, String)>,
    /// Bumped per `offer` call, to forget the least recently offered document first.
    clock: u64,
}

impl UseTracker {
    /// Remembers the prompts (id, body) just offered for `document`, replacing earlier offers.
    pub fn offer<'a>(
        &mut self,
        document: &str,
        prompts: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let offers: Vec<Offer> = prompts
            .into_iter()
            .filter_map(|(prompt_id, body)| {
                Some(Offer {
                    prompt_id: prompt_id.to_string(),
                    needle: needle(body)?,
                })
            })
            .collect();
        self.clock += 1;
        if !self.offers.contains_key(document) && self.offers.len() >= MAX_DOCUMENTS {
            let oldest = self
                .offers
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(uri, _)| uri.clone());
            if let Some(oldest) = oldest {
                self.offers.remove(&oldest);
            }
        }
        self.offers
            .insert(document.to_string(), (self.clock, offers));
    }

    /// Whether prompts were offered for `document` and not used yet (a cheap check before
    /// looking at an edit).
    pub fn has_offers(&self, document: &str) -> bool {
        self.offers
            .get(document)
            .is_some_and(|(_, o)| !o.is_empty())
    }

    /// Called with the text an edit of `document` inserted: the id of the offered prompt whose
    /// body it contains, counted now (the document's offers are dropped so it counts once).
    pub fn inserted(&mut self, document: &str, text: &str) -> Option<String> {
        let (_, offers) = self.offers.get(document)?;
        let prompt_id = offers
            .iter()
            .filter(|o| text.contains(&o.needle))
            .max_by_key(|o| o.needle.len())?
            .prompt_id
            .clone();
        self.offers.remove(document);
        // One entry per (document, prompt): a client that never runs the command must not leave
        // entries that would swallow a later command's use.
        let entry = (document.to_string(), prompt_id.clone());
        if !self.counted.contains(&entry) {
            if self.counted.len() >= MAX_COUNTED {
                self.counted.pop_front();
            }
            self.counted.push_back(entry);
        }
        Some(prompt_id)
    }

    /// Called when the client runs an item's command for `prompt_id` in `document`: whether the
    /// use still needs counting (false when an edit already counted it). Either way the
    /// document's offers are spent.
    pub fn command_ran(&mut self, document: &str, prompt_id: &str) -> bool {
        self.offers.remove(document);
        match self
            .counted
            .iter()
            .position(|(d, p)| d == document && p == prompt_id)
        {
            Some(at) => {
                self.counted.remove(at);
                false
            }
            None => true,
        }
    }

    /// Drops what was offered for a closed document.
    pub fn forget(&mut self, document: &str) {
        self.offers.remove(document);
    }
}

/// The longest placeholder-free piece of a body line, trimmed; `None` when too short to be
/// told apart from typing. Every dialect counts as a placeholder (`$1` may become a tabstop).
fn needle(body: &str) -> Option<String> {
    let parsed = placeholders::parse_with(body, &placeholders::Dialects::all(Vec::new()));
    let mut pieces = Vec::new();
    let mut at = 0;
    for p in &parsed.placeholders {
        pieces.push(&body[at..p.span.start]);
        at = p.span.end;
    }
    pieces.push(&body[at..]);
    pieces
        .iter()
        .flat_map(|piece| piece.lines())
        .map(str::trim)
        .max_by_key(|line| line.chars().count())
        .filter(|line| line.chars().count() >= MIN_NEEDLE_CHARS)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZEBRA: &str =
        "Move {{text:herd}} across {{text:river}}.\nRisks and mitigations:\n{{list:risks}}\n";

    #[test]
    fn needles() {
        assert_eq!(needle(ZEBRA).as_deref(), Some("Risks and mitigations:"));
        assert_eq!(needle("{{text:a}} {{list:b}}"), None);
        assert_eq!(needle("short"), None);
        assert_eq!(
            needle("Fix issue $ARGUMENTS quickly, then report back").as_deref(),
            Some("quickly, then report back")
        );
        assert_eq!(
            needle("Write tests for {{text:code}} using the project's framework.").as_deref(),
            Some("using the project's framework.")
        );
    }

    #[test]
    fn an_edit_inserting_the_body_counts_once() {
        let mut t = UseTracker::default();
        t.offer(
            "file:///a",
            [("w/zebra", ZEBRA), ("w/other", "Something else entirely")],
        );
        // Typing more of the query is not a use.
        assert_eq!(t.inserted("file:///a", "z"), None);
        // The snippet as the editor expanded it (placeholders became their names).
        let expanded = "Move herd across river.\nRisks and mitigations:\n- risks\n";
        assert_eq!(
            t.inserted("file:///a", expanded).as_deref(),
            Some("w/zebra")
        );
        assert!(!t.has_offers("file:///a"));
        assert_eq!(t.inserted("file:///a", expanded), None);
        // The editor also runs the item's command: already counted.
        assert!(!t.command_ran("file:///a", "w/zebra"));
        // A second use of the same prompt through the command alone counts.
        assert!(t.command_ran("file:///a", "w/zebra"));
    }

    #[test]
    fn uses_counted_from_edits_do_not_swallow_later_commands() {
        let mut t = UseTracker::default();
        for _ in 0..2 {
            t.offer("file:///a", [("w/zebra", ZEBRA)]);
            assert!(t.inserted("file:///a", ZEBRA).is_some());
        }
        assert!(!t.command_ran("file:///a", "w/zebra"));
        assert!(t.command_ran("file:///a", "w/zebra"));
    }

    #[test]
    fn the_command_first_spends_the_offer() {
        let mut t = UseTracker::default();
        t.offer("file:///a", [("w/zebra", ZEBRA)]);
        assert!(t.command_ran("file:///a", "w/zebra"));
        assert_eq!(t.inserted("file:///a", ZEBRA), None);
    }

    #[test]
    fn offers_are_per_document_and_bounded() {
        let mut t = UseTracker::default();
        t.offer("file:///a", [("w/zebra", ZEBRA)]);
        assert_eq!(t.inserted("file:///b", ZEBRA), None);
        for i in 0..MAX_DOCUMENTS + 10 {
            t.offer(&format!("file:///{i}"), [("w/zebra", ZEBRA)]);
        }
        assert!(t.offers.len() <= MAX_DOCUMENTS);
        let last = format!("file:///{}", MAX_DOCUMENTS + 9);
        assert!(t.has_offers(&last));
        t.forget(&last);
        assert!(!t.has_offers(&last));
    }
}

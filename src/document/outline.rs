//! The structure of a Markdown prompt: ATX headings as a tree, and foldable regions.

use std::ops::Range;

use super::frontmatter;
use super::line_index::line_ranges;

/// One `#` heading and the section it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub level: u8,
    pub title: String,
    /// The heading line (without its line break).
    pub heading: Range<usize>,
    /// From the heading to the start of the next heading of the same or a higher level.
    pub range: Range<usize>,
    pub children: Vec<Section>,
}

/// A heading found on one line.
struct HeadingLine {
    level: u8,
    title: String,
    line: Range<usize>,
}

/// ATX headings outside the frontmatter and fenced code blocks.
fn heading_lines(text: &str) -> Vec<HeadingLine> {
    let body_start = match frontmatter::split(text) {
        frontmatter::Split::Found(block) => block.block_range.end,
        _ => 0,
    };
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for line in line_ranges(text).filter(|l| l.start >= body_start) {
        let content = &text[line.clone()];
        let trimmed = content.trim_start();
        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            match fence {
                Some(open) if open == marker => fence = None,
                None => fence = Some(marker),
                _ => {}
            }
            continue;
        }
        if fence.is_some() || content.len() - trimmed.len() > 3 {
            continue;
        }
        let level = trimmed.bytes().take_while(|&b| b == b'#').count();
        let after = &trimmed[level..];
        if (1..=6).contains(&level) && (after.is_empty() || after.starts_with([' ', '\t'])) {
            let title = after.trim().trim_end_matches('#').trim_end().to_string();
            out.push(HeadingLine {
                level: level as u8,
                title,
                line,
            });
        }
    }
    out
}

/// The heading tree of `text`.
pub fn sections(text: &str) -> Vec<Section> {
    let headings = heading_lines(text);
    let mut flat: Vec<Section> = headings
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let end = headings[i + 1..]
                .iter()
                .find(|next| next.level <= h.level)
                .map_or(text.len(), |next| next.line.start);
            Section {
                level: h.level,
                title: h.title.clone(),
                heading: h.line.clone(),
                range: h.line.start..end,
                children: Vec::new(),
            }
        })
        .collect();
    // Build the tree from the back: each section adopts the following deeper sections.
    let mut roots: Vec<Section> = Vec::new();
    while let Some(section) = flat.pop() {
        let mut section = section;
        while roots
            .last()
            .is_some_and(|next| next.range.start < section.range.end)
        {
            let child = roots.pop().expect("checked by is_some_and");
            section.children.push(child);
        }
        roots.push(section);
    }
    roots.reverse();
    roots
}

/// A region the editor can fold, as byte ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fold {
    Frontmatter(Range<usize>),
    Section(Range<usize>),
}

/// Foldable regions: the frontmatter block and every heading's section.
pub fn folds(text: &str) -> Vec<Fold> {
    let mut out = Vec::new();
    if let frontmatter::Split::Found(block) = frontmatter::split(text) {
        out.push(Fold::Frontmatter(block.block_range));
    }
    fn walk(sections: &[Section], out: &mut Vec<Fold>) {
        for s in sections {
            out.push(Fold::Section(s.range.clone()));
            walk(&s.children, out);
        }
    }
    walk(&sections(text), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(sections: &[Section], depth: usize, out: &mut String) {
        for s in sections {
            out.push_str(&format!(
                "{}{} {:?}\n",
                "  ".repeat(depth),
                s.title,
                s.range
            ));
            render(&s.children, depth + 1, out);
        }
    }

    fn check(text: &str, expected: &str) {
        let mut got = String::new();
        render(&sections(text), 0, &mut got);
        assert_eq!(got, expected, "outline of {text:?}");
    }

    #[test]
    fn headings_nest_by_level() {
        check(
            "# A\ntext\n## B\n### C\n## D\n# E\n",
            "A 0..25\n  B 9..20\n    C 14..20\n  D 20..25\nE 25..29\n",
        );
    }

    #[test]
    fn ignores_code_fences_frontmatter_and_non_headings() {
        check(
            "---\ntitle: x\n# not a heading\n---\n```\n# code\n```\n#nospace\n    # indented\n## Real ##\n",
            "Real 72..83\n",
        );
    }

    #[test]
    fn lone_cr_ends_heading_lines() {
        check("# A\r{{text:x}}\r## B\r", "A 0..20\n  B 15..20\n");
    }

    #[test]
    fn folds_frontmatter_and_sections() {
        let text = "---\na: 1\n---\n# A\nx\n";
        assert_eq!(
            folds(text),
            vec![Fold::Frontmatter(0..13), Fold::Section(13..19)]
        );
    }
}

//! Document fuzzing in-process: random texts built from the pieces that break parsers (`{{{{`,
//! unclosed placeholders at the end, NUL, CR/CRLF, BOM, frontmatter fences, YAML aliases,
//! brackets, surrogate pairs) go through every parser, position conversion and random
//! incremental edits; each must hold its invariants and never panic. Plus the adversarial inputs
//! of issue 16 (100,000 placeholders, a 10 MB line, YAML nesting and alias bombs).
//!
//! Cases: `PROMPTSTACK_FUZZ_CASES` (default 2,000; the long run in docs/reliability.md used
//! 1,000,000).

mod support;

use promptstack::document::{
    ColumnEncoding, Document, DocumentKind, LineCol, LineIndex, TextEdit, TextStats, frontmatter,
    links, outline, placeholders,
};
use promptstack::library::validation::validate_prompt;
use promptstack::{formats, library};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::fuzz::{cases, text};

/// A position that may lie anywhere: past the end, inside a character, inside a CRLF.
fn position() -> impl Strategy<Value = LineCol> {
    (0u32..12, 0u32..80).prop_map(|(line, col)| LineCol { line, col })
}

fn encoding() -> impl Strategy<Value = ColumnEncoding> {
    prop_oneof![Just(ColumnEncoding::Utf16), Just(ColumnEncoding::Utf8)]
}

/// One path per agent format, for its rules.
const AGENT_FILES: &[(formats::Format, &str)] = &[
    (formats::Format::Skill, "/w/.github/skills/a-b/SKILL.md"),
    (formats::Format::ClaudeCommand, "/w/.claude/commands/x.md"),
    (formats::Format::ClaudeAgent, "/w/.claude/agents/x.md"),
    (
        formats::Format::VsCodePrompt,
        "/w/.github/prompts/x.prompt.md",
    ),
    (
        formats::Format::VsCodeInstructions,
        "/w/.github/instructions/x.instructions.md",
    ),
    (
        formats::Format::VsCodeAgent,
        "/w/.github/agents/x.chatmode.md",
    ),
    (formats::Format::CursorRule, "/w/.cursor/rules/x.mdc"),
    (formats::Format::AgentsMd, "/w/AGENTS.md"),
];

/// Every parser on `text`, with the invariants callers rely on.
fn parse_everything(text: &str) -> Result<(), TestCaseError> {
    let in_bounds = |r: &std::ops::Range<usize>| {
        r.start <= r.end
            && r.end <= text.len()
            && text.is_char_boundary(r.start)
            && text.is_char_boundary(r.end)
    };
    let all = placeholders::Dialects::all(vec!["name".into()]);
    for parsed in [
        placeholders::parse(text),
        placeholders::parse_with(text, &all),
    ] {
        let mut end = 0;
        for p in &parsed.placeholders {
            prop_assert!(in_bounds(&p.span) && in_bounds(&p.name_span) && in_bounds(&p.kind_span));
            prop_assert_eq!(&text[p.name_span.clone()], p.name.as_str());
            prop_assert!(p.span.start >= end, "placeholders overlap");
            end = p.span.end;
        }
        for p in &parsed.problems {
            prop_assert!(in_bounds(&p.span));
        }
        for v in &parsed.context_variables {
            prop_assert!(in_bounds(&v.span));
        }
    }
    let _ = library::snippet::to_snippet_with(text, &all);
    // Every agent format's rules, as if the text were such a file.
    for (format, path) in AGENT_FILES {
        let context = formats::rules::Context {
            path: std::path::Path::new(path),
            workspace_root: None,
        };
        for finding in formats::rules::validate(*format, text, &context) {
            prop_assert!(in_bounds(&finding.range), "{:?} {:?}", format, finding);
        }
    }
    for link in links::find(text) {
        prop_assert!(in_bounds(&link.span) && in_bounds(&link.target_range));
        prop_assert!(link.span.start <= link.target_range.start);
        prop_assert!(link.target_range.end <= link.span.end);
    }
    fn nested(sections: &[outline::Section], within: &std::ops::Range<usize>) -> bool {
        sections.iter().all(|s| {
            s.range.start >= within.start
                && s.range.end <= within.end
                && nested(&s.children, &s.range)
        })
    }
    prop_assert!(nested(&outline::sections(text), &(0..text.len())));
    outline::folds(text);
    if let frontmatter::Split::Found(block) = frontmatter::split(text) {
        prop_assert!(in_bounds(&block.yaml_range) && in_bounds(&block.block_range));
        let _ = frontmatter::parse(&block);
    }
    for finding in validate_prompt(text) {
        prop_assert!(in_bounds(&finding.range), "{:?}", finding);
    }
    let stats = TextStats::of(text);
    prop_assert!(stats.lines <= text.len());
    Ok(())
}

#[test]
fn random_documents_hold_their_invariants() {
    let mut runner = TestRunner::new(Config {
        cases: cases(2_000),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(
                text(),
                proptest::collection::vec((position(), encoding()), 1..6),
            ),
            |(text, positions)| {
                parse_everything(&text)?;
                let index = LineIndex::new(&text);
                let doc = Document::new(&text, 1, DocumentKind::Composition);
                for (pos, enc) in positions {
                    // The rope (edits) and the line index (requests) agree on every position.
                    let from_index = index.offset(&text, pos, enc);
                    prop_assert_eq!(doc.offset_of(pos, enc), from_index.clone());
                    if let Ok(offset) = from_index {
                        prop_assert!(text.is_char_boundary(offset));
                        let back = index.position(&text, offset, enc);
                        prop_assert_eq!(back.line, pos.line);
                        prop_assert!(back.col <= pos.col);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn random_incremental_edits_keep_the_rope_and_positions_right() {
    let mut runner = TestRunner::new(Config {
        cases: cases(2_000),
        failure_persistence: None,
        ..Config::default()
    });
    let edit = (position(), position(), text(), encoding());
    runner
        .run(
            &(text(), proptest::collection::vec(edit, 1..8)),
            |(text, edits)| {
                let mut doc = Document::new(&text, 1, DocumentKind::Composition);
                let mut model = text.clone();
                for (a, b, insert, enc) in edits {
                    // Ranges may split a surrogate pair or a CRLF, or end before they start.
                    let (Ok(start), Ok(end)) = (doc.offset_of(a, enc), doc.offset_of(b, enc))
                    else {
                        continue;
                    };
                    let range = start.min(end)..start.max(end);
                    doc.apply(&TextEdit {
                        range: Some(range.clone()),
                        text: insert.clone(),
                    });
                    model.replace_range(range, &insert);
                    prop_assert_eq!(doc.text(), model.clone());
                }
                parse_everything(&model)
            },
        )
        .unwrap();
}

/// The inputs issue 16 found slow or deadly: each must simply finish.
#[test]
fn adversarial_documents_finish() {
    let bomb = {
        // Billion laughs: ten levels of nine aliases each.
        let mut yaml = String::from("---\ntitle: bomb\na0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            yaml.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        yaml.push_str("---\nbody\n");
        yaml
    };
    let inputs = [
        "{{text:a}}".repeat(100_000),
        "{{a".repeat(100_000),
        "{{".repeat(100_000),
        "[".repeat(100_000),
        "[a](b ".repeat(50_000),
        "x".repeat(10 * 1024 * 1024),
        format!("{}{{{{text:tail", "é😀 ".repeat(100_000)),
        format!("---\ntitle: {}\n---\n", "[".repeat(100_000)),
        format!("---\ntitle: x\nk: {}\n---\n", "- ".repeat(100_000)),
        bomb,
        "# h\r".repeat(100_000),
        "\r\n".repeat(100_000),
    ];
    for text in &inputs {
        parse_everything(text).unwrap_or_else(|e| panic!("{e}"));
        let index = LineIndex::new(text);
        let last = text.len();
        index.position(text, last, ColumnEncoding::Utf16);
    }
}

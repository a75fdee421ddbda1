//! Generators the fuzz suites share: texts made of the pieces that break parsers, and how many
//! inputs a run tries.

use proptest::prelude::*;

/// Inputs per suite: `PROMPTSTACK_FUZZ_CASES`, else `default` (a short run for CI).
pub fn cases(default: u32) -> u32 {
    std::env::var("PROMPTSTACK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{{{",
    "}}}}",
    "{{text:",
    "{{list:",
    "name",
    "a_1",
    ":",
    "[",
    "](",
    ")",
    "<",
    ">",
    "`",
    "```",
    "~~~",
    "\n",
    "\r",
    "\r\n",
    "\u{feff}",
    "\0",
    "---",
    "---\n",
    "# ",
    "## ",
    "###### ",
    "é",
    "😀",
    "\u{10ffff}",
    "\u{2028}",
    " ",
    "\t",
    "title: x\n",
    "tags: [a, b]\n",
    "&a [x, x]",
    "*a",
    "[[[",
    "]]]",
    "@",
    "notes/a.md",
    "%20",
    "https://x.org",
    "\\",
    "${",
    "${input:",
    ":hint}",
    "${selection}",
    "$",
    "$ARGUMENTS",
    "$ARGUMENTS[",
    "1]",
    "$1",
    "{{ name }}",
    "{{#if x}}",
    "alwaysApply: \"true\"\n",
    "applyTo: '**/*.ts'\n",
    "name: a-b\n",
    "argument-hint: [a] [b]\n",
];

/// A text made of breaking pieces (`{{{{`, unclosed placeholders, NUL, CR/CRLF, BOM, fences,
/// YAML anchors and aliases, brackets, surrogate pairs) and random Unicode.
pub fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(PIECES).prop_map(str::to_string),
        1 => "\\PC{0,6}",
        1 => any::<char>().prop_map(|c| c.to_string()),
    ];
    proptest::collection::vec(piece, 0..120).prop_map(|pieces| pieces.concat())
}

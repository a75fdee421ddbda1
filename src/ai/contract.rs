//! The model's contract, the same for every provider: the prompts we send, the JSON schemas of
//! the answers, and the strict parsing and validation of what comes back (model output is
//! untrusted). Documented for users in docs/ai.md.

use std::fmt::Write as _;
use std::ops::Range;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    AiError, Answer, ContextPrompt, LineEdit, ReviewRequest, Suggestion, SuggestionKind, Usage,
};

/// Which answer a request asks for; selects the schema and the system prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Review,
    Apply,
}

impl Task {
    /// Name used for the schema (`json_schema.name`) and in logs.
    pub fn name(self) -> &'static str {
        match self {
            Task::Review => "review",
            Task::Apply => "apply",
        }
    }

    /// The JSON schema the answer must follow, for a composition of `lines` lines.
    pub fn schema(self, lines: usize) -> Value {
        match self {
            Task::Review => review_schema(lines),
            Task::Apply => apply_schema(lines),
        }
    }

    /// The system prompt explaining the contract, for a composition of `lines` lines.
    pub fn system_prompt(self, lines: usize) -> String {
        let schema = ordered_json(&self.schema(lines));
        match self {
            Task::Review => format!(
                "You review prompts that people write for AI models. Find gaps (missing \
                 information the model will need), unclear wording, contradictions, formatting \
                 problems, passages that should be reformatted, and library prompts worth adding. \
                 The composition is given with line numbers (`N | text`); refer to lines by those \
                 numbers, 1-based and inclusive. Answer with JSON only, no prose, following this \
                 schema: {schema}\n\
                 Example: {{\"suggestions\":[{{\"type\":\"clarity\",\"title\":\"Say who the \
                 audience is\",\"description\":\"Line 2 does not say who will read the \
                 answer.\",\"start_line\":2,\"end_line\":2,\"prompt_id\":null}}]}}\n\
                 `type` is one of gap, clarity, contradiction, formatting, reformat, \
                 recommendation. Set `prompt_id` only for a recommendation of one of the library \
                 prompts given as context (use its id), otherwise null. Answer \
                 {{\"suggestions\":[]}} when there is nothing to improve."
            ),
            Task::Apply => format!(
                "You edit prompts that people write for AI models. You get the composition with \
                 line numbers (`N | text`) and one suggestion the user accepted. Answer with JSON \
                 only, no prose, following this schema: {schema}\n\
                 Each edit replaces the whole lines start_line..end_line (1-based, inclusive) with \
                 new_text (without line numbers; use \\n between lines). Edits must not overlap \
                 and must stay within the composition. Change only what the suggestion asks for."
            ),
        }
    }
}

/// Object keys in the order the model should write them; the rest follow alphabetically.
const KEY_ORDER: &[&str] = &[
    "model",
    "max_tokens",
    "temperature",
    "system",
    "messages",
    "role",
    "content",
    "response_format",
    "name",
    "strict",
    "type",
    "title",
    "description",
    "start_line",
    "end_line",
    "prompt_id",
    "new_text",
    "schema",
    "json_schema",
    "properties",
    "items",
    "minItems",
    "required",
];

/// JSON text with object keys in [`KEY_ORDER`]. `serde_json::Value` sorts keys alphabetically,
/// but grammar-constrained decoding (llama.cpp) makes the model write properties in schema
/// order, and `end_line` before `start_line` confuses small models.
pub fn ordered_json(value: &Value) -> String {
    let mut out = String::new();
    write_ordered(value, &mut out);
    out
}

fn write_ordered(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| {
                let rank = KEY_ORDER.iter().position(|o| o == k).unwrap_or(usize::MAX);
                (rank, k.as_str())
            });
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                write_ordered(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_ordered(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Largest composition whose line numbers are listed as an `enum` in the schemas.
const LINE_ENUM_MAX: usize = 100;

/// A line number of a composition with `lines` lines. Grammar-constrained servers that ignore
/// `minimum`/`maximum` (llama-cpp-python) still honour an `enum`, so short compositions get one.
fn line_number_schema(lines: usize) -> Value {
    let lines = lines.max(1);
    if lines <= LINE_ENUM_MAX {
        json!({"type": "integer", "enum": (1..=lines).collect::<Vec<_>>()})
    } else {
        json!({"type": "integer", "minimum": 1, "maximum": lines})
    }
}

/// Schema of a review answer; OpenAI strict mode needs every property required, so `prompt_id`
/// is nullable instead of optional.
pub fn review_schema(lines: usize) -> Value {
    let kinds: Vec<&str> = SuggestionKind::ALL.iter().map(|k| k.as_str()).collect();
    json!({
        "type": "object",
        "properties": {
            "suggestions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": kinds},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "start_line": line_number_schema(lines),
                        "end_line": line_number_schema(lines),
                        "prompt_id": {"type": ["string", "null"]}
                    },
                    "required": ["type", "title", "description", "start_line", "end_line", "prompt_id"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["suggestions"],
        "additionalProperties": false
    })
}

/// Schema of an apply answer.
pub fn apply_schema(lines: usize) -> Value {
    json!({
        "type": "object",
        "properties": {
            "edits": {
                "type": "array",
                // The user accepted the suggestion: an answer without a change is no answer.
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "start_line": line_number_schema(lines),
                        "end_line": line_number_schema(lines),
                        "new_text": {"type": "string"}
                    },
                    "required": ["start_line", "end_line", "new_text"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["edits"],
        "additionalProperties": false
    })
}

/// The composition as the model sees it: `N | text` per line.
pub fn numbered(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8 * line_count(text));
    for (i, line) in text.lines().enumerate() {
        let _ = writeln!(out, "{} | {line}", i + 1);
    }
    out
}

/// Lines as the contract counts them (an empty text is one empty line).
pub fn line_count(text: &str) -> usize {
    text.lines().count().max(1)
}

/// The user message of a review: the context prompts, then the numbered composition.
pub fn review_message(request: &ReviewRequest) -> String {
    let mut out = String::new();
    if !request.context.is_empty() {
        out.push_str("Library prompts available as context (recommend them by id):\n\n");
        for ContextPrompt { id, title, body } in &request.context {
            let _ = write!(
                out,
                "<prompt id=\"{id}\" title=\"{title}\">\n{body}\n</prompt>\n\n"
            );
        }
    }
    out.push_str("Composition to review:\n\n");
    out.push_str(&numbered(&request.composition));
    out
}

/// The accepted suggestion as a model (or a specialist MCP server) is shown it.
pub fn suggestion_json(suggestion: &Suggestion) -> Value {
    json!({
        "type": suggestion.kind.as_str(),
        "title": suggestion.title,
        "description": suggestion.description,
        "start_line": suggestion.start_line,
        "end_line": suggestion.end_line,
        "prompt_id": suggestion.prompt_id,
    })
}

/// The user message of an apply: the numbered composition and the accepted suggestion.
pub fn apply_message(composition: &str, suggestion: &Suggestion) -> String {
    let accepted = suggestion_json(suggestion);
    let (start, end) = (suggestion.start_line, suggestion.end_line);
    format!(
        "Composition:\n\n{}\nAccepted suggestion:\n{accepted}\n\nIt is about lines {start}-{end}; \
         usually one edit with start_line {start} and end_line {end} is enough.\n",
        numbered(composition)
    )
}

#[derive(Deserialize)]
struct ReviewAnswer {
    suggestions: Vec<RawSuggestion>,
}

#[derive(Deserialize)]
struct RawSuggestion {
    #[serde(rename = "type")]
    kind: SuggestionKind,
    title: String,
    description: String,
    start_line: u32,
    end_line: u32,
    #[serde(default)]
    prompt_id: Option<String>,
}

#[derive(Deserialize)]
struct ApplyAnswer {
    edits: Vec<LineEdit>,
}

/// Parses a review answer against `composition`. Suggestions whose lines fall outside the
/// composition are dropped (logged); a malformed answer is an error.
pub fn parse_review(answer: &str, composition: &str) -> Result<Vec<Suggestion>, AiError> {
    let parsed: ReviewAnswer = parse_json(answer)?;
    let lines = line_count(composition) as u32;
    let mut out = Vec::with_capacity(parsed.suggestions.len());
    for raw in parsed.suggestions {
        if raw.start_line == 0 || raw.start_line > raw.end_line || raw.start_line > lines {
            tracing::debug!(
                start = raw.start_line,
                end = raw.end_line,
                lines,
                "dropping a suggestion outside the composition"
            );
            continue;
        }
        // Models often point one past the last line; the finding is still about the end.
        let end_line = raw.end_line.min(lines);
        let prompt_id = raw
            .prompt_id
            .filter(|p| !p.trim().is_empty() && raw.kind == SuggestionKind::Recommendation);
        let id = suggestion_id(raw.kind, &raw.title, raw.start_line, end_line);
        out.push(Suggestion {
            id,
            kind: raw.kind,
            title: raw.title,
            description: raw.description,
            start_line: raw.start_line,
            end_line,
            prompt_id,
        });
    }
    Ok(out)
}

/// Parses an apply answer and checks its edits against `composition`.
pub fn parse_apply(answer: &str, composition: &str) -> Result<Vec<LineEdit>, AiError> {
    let parsed: ApplyAnswer = parse_json(answer)?;
    if parsed.edits.is_empty() {
        tracing::debug!(answer, "apply answer without edits");
        return Err(AiError::UnusableAnswer("it proposes no change".into()));
    }
    let mut edits = parsed.edits;
    // Small models repeat themselves; an exact repeat changes nothing, so it is not an overlap.
    edits.sort_by(|a, b| {
        (a.start_line, a.end_line, &a.new_text).cmp(&(b.start_line, b.end_line, &b.new_text))
    });
    edits.dedup();
    validate_edits(edits, line_count(composition) as u32).inspect_err(|_| {
        tracing::debug!(answer, "apply answer with rejected edits");
    })
}

/// Rejects edits outside `1..=lines` or overlapping each other; returns them sorted.
pub fn validate_edits(mut edits: Vec<LineEdit>, lines: u32) -> Result<Vec<LineEdit>, AiError> {
    for e in &edits {
        if e.start_line > e.end_line {
            return Err(AiError::RejectedEdit(format!(
                "lines {}-{} run backwards",
                e.start_line, e.end_line
            )));
        }
        if e.start_line == 0 || e.end_line > lines {
            return Err(AiError::RejectedEdit(format!(
                "lines {}-{} are outside the document (lines 1-{lines})",
                e.start_line, e.end_line
            )));
        }
    }
    edits.sort_by_key(|e| (e.start_line, e.end_line));
    for pair in edits.windows(2) {
        if pair[1].start_line <= pair[0].end_line {
            return Err(AiError::RejectedEdit(format!(
                "lines {}-{} overlap lines {}-{}",
                pair[1].start_line, pair[1].end_line, pair[0].start_line, pair[0].end_line
            )));
        }
    }
    Ok(edits)
}

fn suggestion_id(kind: SuggestionKind, title: &str, start: u32, end: u32) -> String {
    let digest = Sha256::digest(format!("{kind}\0{title}\0{start}\0{end}").as_bytes());
    digest[..6].iter().fold(String::from("s-"), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Parses JSON from a model answer, tolerating code fences and prose around the object.
fn parse_json<T: serde::de::DeserializeOwned>(answer: &str) -> Result<T, AiError> {
    let candidates = [Some(answer.trim()), unfenced(answer), outer_object(answer)];
    let mut first_error = None;
    for text in candidates.into_iter().flatten() {
        match serde_json::from_str::<T>(text) {
            Ok(value) => return Ok(value),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    tracing::debug!(answer, "unusable model answer");
    Err(AiError::UnusableAnswer(match first_error {
        Some(e) => format!("it is not JSON in the expected shape ({e})"),
        None => "it is empty".into(),
    }))
}

/// The body of the first ``` fence, if any.
fn unfenced(answer: &str) -> Option<&str> {
    let start = answer.find("```")?;
    let after = &answer[start + 3..];
    let body_start = after.find('\n')? + 1;
    let body = &after[body_start..];
    let end = body.find("```").unwrap_or(body.len());
    Some(body[..end].trim())
}

/// From the first `{` to the last `}`.
fn outer_object(answer: &str) -> Option<&str> {
    let start = answer.find('{')?;
    let end = answer.rfind('}')?;
    (start < end).then(|| &answer[start..=end])
}

/// Byte ranges and replacement texts for `edits` in `text` (whole lines, including the final
/// line break, which the replacement keeps). Edits must be validated first; out-of-range lines are
/// clamped to the end of the text.
pub fn resolve_edits(text: &str, edits: &[LineEdit]) -> Vec<(Range<usize>, String)> {
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let line_start = |line: u32| -> usize {
        starts
            .get(line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(text.len())
    };
    edits
        .iter()
        .map(|e| {
            let start = line_start(e.start_line);
            let end = line_start(e.end_line + 1).max(start);
            let mut replacement = e.new_text.clone();
            if text[start..end].ends_with('\n') && !replacement.ends_with('\n') {
                replacement.push('\n');
            }
            (start..end, replacement)
        })
        .collect()
}

/// `text` with validated `edits` applied (for the CLI and tests; the editor applies them itself).
pub fn apply_edits(text: &str, edits: &[LineEdit]) -> String {
    let mut resolved = resolve_edits(text, edits);
    resolved.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut out = text.to_string();
    for (range, replacement) in resolved {
        out.replace_range(range, &replacement);
    }
    out
}

/// A review through one chat call (`complete(task, composition lines, user message)`): the
/// contract's message in, parsed suggestions out. Shared by every wire format.
pub(crate) async fn review_with<F, Fut>(
    request: &ReviewRequest,
    complete: F,
) -> Result<Answer<Vec<Suggestion>>, AiError>
where
    F: FnOnce(Task, usize, String) -> Fut,
    Fut: std::future::Future<Output = Result<(String, Usage), AiError>>,
{
    let (text, usage) = complete(
        Task::Review,
        line_count(&request.composition),
        review_message(request),
    )
    .await?;
    Ok(Answer::new(
        parse_review(&text, &request.composition)?,
        usage,
    ))
}

/// [`review_with`] for turning one suggestion into edits.
pub(crate) async fn apply_with<F, Fut>(
    composition: &str,
    suggestion: &Suggestion,
    complete: F,
) -> Result<Answer<Vec<LineEdit>>, AiError>
where
    F: FnOnce(Task, usize, String) -> Fut,
    Fut: std::future::Future<Output = Result<(String, Usage), AiError>>,
{
    let (text, usage) = complete(
        Task::Apply,
        line_count(composition),
        apply_message(composition, suggestion),
    )
    .await?;
    Ok(Answer::new(parse_apply(&text, composition)?, usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Task\nWrite a poem.\nKeep it short.\nMake it long.\n";

    #[test]
    fn review_answer_in_code_fences_with_extra_fields() {
        let answer = "Here you go:\n```json\n{\"suggestions\":[{\"type\":\"contradiction\",\"title\":\"Short or long?\",\"description\":\"Lines 3 and 4 disagree.\",\"start_line\":3,\"end_line\":4,\"prompt_id\":null,\"confidence\":0.9}],\"note\":\"x\"}\n```\n";
        let s = parse_review(answer, DOC).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].kind, SuggestionKind::Contradiction);
        assert_eq!((s[0].start_line, s[0].end_line), (3, 4));
        assert_eq!(s[0].prompt_id, None);
        assert!(s[0].id.starts_with("s-"));
        // Same finding, same id.
        assert_eq!(parse_review(answer, DOC).unwrap()[0].id, s[0].id);
    }

    #[test]
    fn review_answer_with_wrong_types_is_unusable() {
        for bad in [
            "not json",
            "",
            r#"{"suggestions":[{"type":"clarity","title":"t","description":"d","start_line":"2","end_line":2}]}"#,
            r#"{"suggestions":[{"type":"vibes","title":"t","description":"d","start_line":2,"end_line":2}]}"#,
            r#"{"suggestions":[{"title":"t","description":"d","start_line":2,"end_line":2}]}"#,
            r#"{"items":[]}"#,
        ] {
            let err = parse_review(bad, DOC).unwrap_err();
            assert!(matches!(err, AiError::UnusableAnswer(_)), "{bad}: {err}");
            assert!(
                err.to_string()
                    .starts_with("the model's answer could not be used")
            );
        }
    }

    #[test]
    fn suggestions_outside_the_document_are_dropped_and_ends_clamped() {
        let answer = r#"{"suggestions":[
            {"type":"gap","title":"a","description":"d","start_line":0,"end_line":1},
            {"type":"gap","title":"b","description":"d","start_line":9,"end_line":9},
            {"type":"gap","title":"c","description":"d","start_line":4,"end_line":5},
            {"type":"recommendation","title":"r","description":"d","start_line":1,"end_line":1,"prompt_id":"rules/tone"}]}"#;
        let s = parse_review(answer, DOC).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].title.as_str(), s[0].end_line), ("c", 4));
        assert_eq!(s[1].prompt_id.as_deref(), Some("rules/tone"));
    }

    #[test]
    fn apply_answer_is_validated() {
        let ok = r#"{"edits":[{"start_line":4,"end_line":4,"new_text":"Keep it under 8 lines."},{"start_line":3,"end_line":3,"new_text":""}]}"#;
        let edits = parse_apply(ok, DOC).unwrap();
        assert_eq!(edits[0].start_line, 3);
        assert_eq!(
            apply_edits(DOC, &edits),
            "# Task\nWrite a poem.\n\nKeep it under 8 lines.\n"
        );
        assert!(matches!(
            parse_apply(r#"{"edits":[]}"#, DOC),
            Err(AiError::UnusableAnswer(m)) if m == "it proposes no change"
        ));
        let outside = r#"{"edits":[{"start_line":4,"end_line":7,"new_text":"x"}]}"#;
        assert!(matches!(
            parse_apply(outside, DOC),
            Err(AiError::RejectedEdit(m)) if m.contains("outside")
        ));
        let repeated = r#"{"edits":[{"start_line":2,"end_line":2,"new_text":"x"},{"start_line":2,"end_line":2,"new_text":"x"}]}"#;
        assert_eq!(parse_apply(repeated, DOC).unwrap().len(), 1);
        let overlap = r#"{"edits":[{"start_line":2,"end_line":3,"new_text":"x"},{"start_line":3,"end_line":4,"new_text":"y"}]}"#;
        assert!(matches!(
            parse_apply(overlap, DOC),
            Err(AiError::RejectedEdit(m)) if m.contains("overlap")
        ));
    }

    #[test]
    fn edits_keep_line_structure() {
        let edits = vec![LineEdit {
            start_line: 1,
            end_line: 2,
            new_text: "A\nB\nC".into(),
        }];
        assert_eq!(apply_edits("x\ny\nz", &edits), "A\nB\nC\nz");
        let last = vec![LineEdit {
            start_line: 3,
            end_line: 3,
            new_text: "Z".into(),
        }];
        assert_eq!(apply_edits("x\ny\nz", &last), "x\ny\nZ");
        assert_eq!(
            resolve_edits("x\ny\nz", &last),
            vec![(4..5, "Z".to_string())]
        );
    }

    #[test]
    fn messages_number_lines_and_include_context() {
        let request = ReviewRequest {
            composition: "a\nb".into(),
            context: vec![ContextPrompt {
                id: "rules/tone".into(),
                title: "Tone".into(),
                body: "Be kind.".into(),
            }],
            fresh: false,
        };
        let msg = review_message(&request);
        assert!(msg.contains("<prompt id=\"rules/tone\" title=\"Tone\">\nBe kind.\n</prompt>"));
        assert!(msg.ends_with("1 | a\n2 | b\n"));
        let system = Task::Review.system_prompt(3);
        assert!(system.contains("\"enum\":[\"gap\""));
        assert!(system.contains("\"start_line\":{\"type\":\"integer\",\"enum\":[1,2,3]}"));
        assert!(Task::Apply.system_prompt(500).contains("\"maximum\":500"));
        // Properties in the order the model should write them.
        assert!(system.contains("\"properties\":{\"type\":{\"type\":\"string\",\"enum\""));
        assert!(system.contains(
            "\"description\":{\"type\":\"string\"},\"start_line\":{\"type\":\"integer\""
        ));
        assert!(Task::Apply.system_prompt(2).contains(
            "\"properties\":{\"start_line\":{\"type\":\"integer\",\"enum\":[1,2]},\"end_line\""
        ));
    }
}

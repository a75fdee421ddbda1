//! `promptstack render FILE [--set NAME=VALUE]... [--values JSON]`: a prompt or agent file with
//! its placeholders filled — every dialect of its format from the same values, as the
//! `promptstack.render` command does.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::document::{
    MAX_FILE_BYTES, frontmatter,
    placeholders::{self, Fill},
};

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The file to render (a library prompt, composition or agent file).
    file: PathBuf,
    /// A text value, `NAME=VALUE` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// Values as a JSON object: `{"name": "text", "items": ["a", "b"]}`.
    #[arg(long, value_name = "JSON")]
    values: Option<String>,
    /// Keep the frontmatter (by default only the body is rendered).
    #[arg(long)]
    keep_frontmatter: bool,
}

pub fn run(args: RenderArgs) -> anyhow::Result<ExitCode> {
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?
        .len();
    if size > MAX_FILE_BYTES as u64 {
        anyhow::bail!("{} is larger than 1 MB", args.file.display());
    }
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut values: HashMap<String, Fill> = HashMap::new();
    if let Some(json) = &args.values {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json).context("--values must be a JSON object")?;
        values.extend(map.iter().map(|(k, v)| (k.clone(), Fill::from_json(v))));
    }
    for pair in &args.set {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("--set `{pair}`: expected NAME=VALUE"))?;
        values.insert(name.to_string(), Fill::Text(value.to_string()));
    }
    let format = crate::formats::detect(&args.file);
    let dialects = crate::formats::dialects_of(format, &text);
    let source = if args.keep_frontmatter {
        text.as_str()
    } else {
        frontmatter::body(&text)
    };
    let rendered = placeholders::render_with(source, &values, &dialects);
    print!("{}", rendered.text);
    if !rendered.missing.is_empty() {
        eprintln!("missing values: {}", rendered.missing.join(", "));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

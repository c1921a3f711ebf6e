//! `promptwall scan` and `promptwall redact`.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use promptwall::{Action, Category, Side, Verdict};
use serde::Serialize;

use crate::input::{self, Line, Lines};
use crate::{write_err, CliError, EngineArgs, Outcome};

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files to scan, each one text; `-` (the default) reads standard input. With --files:
    /// files and folders to look through.
    #[arg(value_name = "PATH", default_value = "-")]
    paths: Vec<PathBuf>,

    /// Print each verdict (with --files: each finding) as one line of JSON.
    #[arg(long)]
    json: bool,

    /// Read JSON Lines: one object with a `text` field per line; print one JSON verdict per line.
    #[arg(long, conflicts_with = "files")]
    jsonl: bool,

    /// Look for secrets in files, as a pre-commit hook or CI step: folders are walked
    /// recursively (honouring .gitignore and .ignore; hidden files included, .git skipped),
    /// binary files are skipped, and each finding is printed as `path:line:column: rule`.
    /// A line holding `promptwall:allow`, or the line after it, reports nothing. Exits 1
    /// when anything is reported.
    #[arg(long)]
    files: bool,

    /// With --files: the categories to report, comma-separated (default: secret; e.g.
    /// `secret,pii`). Only secret and pii findings are looked for in files.
    #[arg(long, value_delimiter = ',', value_name = "CATEGORY", requires = "files", value_parser = parse_category)]
    categories: Vec<Category>,

    /// Scan the texts as model output (responses) rather than prompts.
    #[arg(long)]
    response: bool,
}

#[derive(Args, Debug)]
pub struct RedactArgs {
    /// The file to redact; `-` (the default) reads standard input.
    #[arg(value_name = "PATH", default_value = "-")]
    path: PathBuf,
}

fn outcome_of(v: &Verdict) -> Outcome {
    if v.is_allowed() {
        Outcome::Clean
    } else {
        Outcome::Found
    }
}

fn parse_category(name: &str) -> Result<Category, String> {
    match Category::from_name(name) {
        Some(c) if c.is_sensitive() => Ok(c),
        Some(c) => Err(format!(
            "`{c}` findings are not looked for in files (secret, pii)"
        )),
        None => Err(format!("unknown category `{name}` (secret, pii)")),
    }
}

pub fn run_scan(engine: &EngineArgs, args: &ScanArgs) -> Result<Outcome, CliError> {
    if !args.files {
        if let Some(dir) = args.paths.iter().find(|p| p.is_dir()) {
            return Err(CliError(format!(
                "{} is a folder: `promptwall scan --files PATH...` looks through the files under it",
                dir.display()
            )));
        }
    }
    let fw = engine.build(&[])?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.files {
        if args.paths.iter().any(|p| p.as_os_str() == "-") {
            return Err(CliError(
                "--files needs paths: standard input is one text, scan it without --files".into(),
            ));
        }
        let categories = if args.categories.is_empty() {
            vec![Category::Secret]
        } else {
            args.categories.clone()
        };
        let scan = crate::files::FileScan {
            fw: &fw,
            categories: &categories,
            side: if args.response {
                Side::Response
            } else {
                Side::Prompt
            },
            json: args.json,
        };
        return scan.run(&args.paths, &mut out);
    }
    let mut outcome = Outcome::Clean;
    let scan = |text: &str| {
        if args.response {
            fw.scan_response(text)
        } else {
            fw.scan(text)
        }
    };
    for path in &args.paths {
        if args.jsonl {
            outcome = outcome.max(scan_jsonl(path, &scan, &mut out)?);
            continue;
        }
        let text = match input::read_text(path) {
            Ok(t) => t,
            Err(CliError(msg)) => {
                out.flush().map_err(write_err)?;
                let _ = writeln!(io::stderr(), "promptwall: error: {msg}");
                outcome = Outcome::Error;
                continue;
            }
        };
        let v = scan(&text);
        if args.json {
            writeln!(out, "{}", v.to_json()).map_err(write_err)?;
        } else {
            print_human(&mut out, &input::name(path), &text, &v).map_err(write_err)?;
        }
        outcome = outcome.max(outcome_of(&v));
    }
    out.flush().map_err(write_err)?;
    Ok(outcome)
}

#[derive(Serialize)]
struct JsonlVerdict<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a serde_json::Value>,
    #[serde(flatten)]
    verdict: &'a Verdict,
}

#[derive(Serialize)]
struct JsonlError<'a> {
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a serde_json::Value>,
    error: String,
}

/// Parses one JSONL row into its `text` and optional `id`.
pub fn parse_row(bytes: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() || e.is_syntax() {
            format!("not valid JSON: {e}")
        } else {
            e.to_string()
        }
    })?;
    match value {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err("expected a JSON object with a `text` field".to_string()),
    }
}

/// The `text` field of a row.
pub fn text_of(row: &serde_json::Map<String, serde_json::Value>) -> Result<&str, String> {
    match row.get("text") {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(_) => Err("the `text` field must be a string".to_string()),
        None => Err("missing the `text` field".to_string()),
    }
}

fn scan_jsonl(
    path: &std::path::Path,
    scan: &dyn Fn(&str) -> Verdict,
    out: &mut impl Write,
) -> Result<Outcome, CliError> {
    let mut lines = Lines::new(input::open(path)?);
    let mut outcome = Outcome::Clean;
    let mut n = 0usize;
    loop {
        let line = lines
            .next_line()
            .map_err(|e| CliError(format!("{}: {e}", input::name(path))))?;
        let Some(line) = line else { break };
        n += 1;
        let bytes = match line {
            Line::Bytes(b) => b,
            Line::TooLong => {
                let e = JsonlError {
                    line: n,
                    id: None,
                    error: format!("line is longer than {} bytes", input::MAX_INPUT_BYTES),
                };
                write_json(out, &e)?;
                outcome = Outcome::Error;
                continue;
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let row = match parse_row(&bytes) {
            Ok(r) => r,
            Err(error) => {
                write_json(
                    out,
                    &JsonlError {
                        line: n,
                        id: None,
                        error,
                    },
                )?;
                outcome = Outcome::Error;
                continue;
            }
        };
        let id = row.get("id");
        match text_of(&row) {
            Ok(text) => {
                let v = scan(text);
                outcome = outcome.max(outcome_of(&v));
                write_json(out, &JsonlVerdict { id, verdict: &v })?;
            }
            Err(error) => {
                write_json(out, &JsonlError { line: n, id, error })?;
                outcome = Outcome::Error;
            }
        }
    }
    Ok(outcome)
}

fn write_json(out: &mut impl Write, value: &impl Serialize) -> Result<(), CliError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| CliError(e.to_string()))?;
    out.write_all(b"\n").map_err(write_err)
}

fn print_human(out: &mut impl Write, name: &str, text: &str, v: &Verdict) -> io::Result<()> {
    let label = match v.action {
        Action::Allow => "ALLOW",
        Action::Flag => "FLAG",
        Action::Redact => "REDACT",
        Action::Block => "BLOCK",
    };
    let cats: Vec<String> = Category::ALL
        .iter()
        .filter(|c| v.categories.get(**c) > 0.0)
        .map(|c| format!("{c} {:.2}", v.categories.get(*c)))
        .collect();
    write!(out, "{label:<6} {name}  score {:.2}", v.score)?;
    if !cats.is_empty() {
        write!(out, "  ({})", cats.join(", "))?;
    }
    writeln!(out, "  {} bytes, ~{} tokens", text.len(), v.tokens)?;
    for f in &v.findings {
        writeln!(
            out,
            "  {:<44} {:<8} {:.2}  bytes {}..{}  [{}]  {:?}",
            f.rule,
            f.severity.as_str(),
            f.score,
            f.start,
            f.end,
            f.view,
            f.excerpt
        )?;
    }
    if v.findings_omitted > 0 {
        writeln!(out, "  ... and {} more findings", v.findings_omitted)?;
    }
    Ok(())
}

pub fn run_redact(engine: &EngineArgs, args: &RedactArgs) -> Result<Outcome, CliError> {
    let fw = engine.build(&[])?;
    let text = input::read_text(&args.path)?;
    let redacted = fw.redact(&text);
    let mut out = io::stdout().lock();
    out.write_all(redacted.as_bytes()).map_err(write_err)?;
    out.flush().map_err(write_err)?;
    Ok(if redacted == text {
        Outcome::Clean
    } else {
        Outcome::Found
    })
}

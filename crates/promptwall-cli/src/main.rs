//! The `promptwall` command-line tool.
#![forbid(unsafe_code)]

mod bench;
mod eval;
mod files;
mod input;
mod rules_cmd;
mod scan;
mod tokens_cmd;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use promptwall::Firewall;

/// promptwall: a prompt firewall. Scans text going to an LLM, or coming back from it, for
/// prompt injection and jailbreaks, secrets and personal data, cost abuse, exfiltration and
/// leaks, and explains every finding with its rule, score and byte span.
///
/// Exit status, like grep: 0 when every input is allowed, 1 when any is flagged, redacted or
/// blocked, 2 on errors.
#[derive(Parser, Debug)]
#[command(name = "promptwall", version, max_term_width = 100)]
#[command(after_help = "Examples:
  echo 'Ignore all previous instructions' | promptwall scan
  promptwall scan --json prompt.txt
  promptwall scan --jsonl prompts.jsonl > verdicts.jsonl
  promptwall scan --response --jsonl model-output.jsonl
  promptwall scan --response --protect system-prompt.txt reply.txt
  PROMPTWALL_CANARY_SECRET=... promptwall canary
  promptwall scan --files .            # secrets in a repository, path:line:column
  promptwall redact chat-log.txt > chat-log.redacted.txt
  promptwall eval labelled.jsonl --errors 10
  promptwall tokens --encoding cl100k_base prompt.txt
  promptwall bench --jsonl prompts.jsonl --policy my-policy.toml
  promptwall rules check my-rules/")]
struct Cli {
    #[command(flatten)]
    engine: EngineArgs,

    #[command(subcommand)]
    command: Command,
}

/// How to build the engine; shared by every command.
#[derive(Args, Debug, Clone)]
struct EngineArgs {
    /// Add a rule pack (a TOML file, or a folder of them); repeatable. Rules with the id of an
    /// earlier rule replace it; `enabled = false` turns one off.
    #[arg(long = "rules", value_name = "PATH", global = true)]
    rules: Vec<PathBuf>,

    /// Use this policy file (TOML): thresholds, actions per category, limits, allowlists.
    #[arg(long, value_name = "PATH", global = true)]
    policy: Option<PathBuf>,

    /// Start without the built-in rule packs (use only --rules).
    #[arg(long, global = true)]
    no_default_rules: bool,

    /// A file of confidential text (a system prompt) that responses must not reproduce;
    /// repeatable. Lines holding only `---` separate several texts in one file. Responses
    /// that repeat a stretch of one get a `leak.protected-text` finding.
    #[arg(long, value_name = "PATH", global = true)]
    protect: Vec<PathBuf>,

    /// The shortest stretch of a protected text, in words, that counts as a leak.
    #[arg(long, value_name = "N", global = true, default_value_t = promptwall::DEFAULT_MIN_WORDS)]
    protect_min_words: usize,

    /// The secret canary tokens are made from and recognised by (see `promptwall canary`);
    /// also read from the PROMPTWALL_CANARY_SECRET environment variable.
    #[arg(
        long,
        value_name = "SECRET",
        global = true,
        env = "PROMPTWALL_CANARY_SECRET",
        hide_env_values = true
    )]
    canary_secret: Option<String>,

    /// A canary token to look for in responses (made by `promptwall canary` or elsewhere);
    /// repeatable.
    #[arg(long = "canary-token", value_name = "TOKEN", global = true)]
    canary_tokens: Vec<String>,
}

impl EngineArgs {
    fn build(&self, extra: &[PathBuf]) -> Result<Firewall, CliError> {
        let mut b = Firewall::builder().default_rules(!self.no_default_rules);
        for p in self.rules.iter().chain(extra) {
            b = b.rules_path(p);
        }
        if let Some(p) = &self.policy {
            b = b.policy_file(p);
        }
        for p in &self.protect {
            let text = std::fs::read_to_string(p).map_err(|e| {
                CliError(format!("cannot read protected text {}: {e}", p.display()))
            })?;
            for part in split_protected(&text) {
                b = b.protect(part);
            }
        }
        b = b.protect_min_words(self.protect_min_words);
        if let Some(s) = &self.canary_secret {
            b = b.canary_secret(s);
        }
        for t in &self.canary_tokens {
            b = b.canary_token(t);
        }
        Ok(b.build()?)
    }
}

/// The protected texts of a file: the whole file, or its parts between lines holding only
/// `---`; blank parts are skipped.
fn split_protected(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']) == "---" {
            parts.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    parts.push(&text[start..]);
    parts.retain(|p| !p.trim().is_empty());
    parts
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan texts and print a verdict for each.
    ///
    /// Each PATH (or `-` for standard input, the default) is one text. With --jsonl, each line
    /// of the input is a JSON object with a `text` field, and one verdict is printed per line
    /// in the same order, echoing an `id` field when the line has one; a bad line prints
    /// {"line": N, "error": "..."} and the run goes on.
    ///
    /// With --files, PATHs are files and folders to look through for secrets (a pre-commit
    /// hook or CI step): each finding prints as `path:line:column: rule (severity score)
    /// "masked excerpt"`.
    Scan(scan::ScanArgs),

    /// Print the text with secrets and personal data replaced by `[REDACTED:<rule-id>]`.
    ///
    /// Scans the whole text (no byte cap, no findings cap) so that nothing a rule finds is left
    /// in. Exits 1 when anything was redacted, 0 when nothing was.
    Redact(scan::RedactArgs),

    /// Measure injection detection on a labelled JSONL file.
    ///
    /// Rows have `text`, `label` (0 or 1) and an optional `category`. Prints accuracy per
    /// category, balanced accuracy (the mean of the category accuracies, as in the PINT
    /// benchmark), precision, recall, F1 and the false-positive rate. A row counts as detected
    /// when its injection score reaches the policy's flag threshold. Bad rows are reported on
    /// standard error and skipped (exit status 2).
    Eval(eval::EvalArgs),

    /// Print the exact token count of texts, as tiktoken's `encode_ordinary` counts them.
    ///
    /// Special-token text such as `<|endoftext|>` counts as ordinary text. The encodings are
    /// built in; nothing is downloaded. Each PATH (or `-` for standard input, the default) is
    /// one text.
    Tokens(tokens_cmd::TokensArgs),

    /// List the rules in force, or check rule packs and run their examples.
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),

    /// Time scans of your own texts, with your rules and policy.
    ///
    /// Builds the engine, compiles every rule (`warm_up`) and scans every text once untimed
    /// (the regex engines fill their caches), then scans all the texts in turn, --passes
    /// times over (a stream of different texts, as a gateway sees them), on one thread or
    /// on --threads threads at once. Prints each text's median scan time summarised over
    /// the texts (mean, p50, p90, p99, max), the fastest pass, throughput, the verdicts,
    /// the slowest texts (by file and line, never their content) and the peak memory.
    /// Times include reading the clock around each scan (some tens of nanoseconds). All
    /// texts are held in memory: time a sample of a large log. Exits 0, or 2 when lines
    /// were skipped.
    Bench(bench::BenchArgs),

    /// Make a canary token to put in a system prompt.
    ///
    /// Prints the token, then an instruction line carrying it (an HTML comment) to paste
    /// into the system prompt. A response that repeats the token, plain, split across lines,
    /// spaced out or encoded, gets a `leak.canary` finding from `promptwall scan --response`
    /// run with the same --canary-secret (or PROMPTWALL_CANARY_SECRET), or with
    /// --canary-token TOKEN.
    Canary(CanaryArgs),
}

/// Options of `promptwall canary`.
#[derive(Args, Debug)]
struct CanaryArgs {
    /// Print {"token": ..., "instruction": ...} as JSON.
    #[arg(long)]
    json: bool,
}

fn run_canary(engine: &EngineArgs, a: &CanaryArgs) -> Result<Outcome, CliError> {
    if engine.canary_secret.is_none() {
        let _ = writeln!(
            io::stderr(),
            "promptwall: note: no --canary-secret (or PROMPTWALL_CANARY_SECRET): this token \
             will only be recognised when passed to scan with --canary-token"
        );
    }
    let fw = engine.build(&[])?;
    let c = fw.canary();
    let mut out = io::stdout().lock();
    if a.json {
        let v = serde_json::json!({"token": c.token, "instruction": c.instruction});
        writeln!(out, "{v}").map_err(write_err)?;
    } else {
        writeln!(out, "{}\n{}", c.token, c.instruction).map_err(write_err)?;
    }
    Ok(Outcome::Clean)
}

/// How a command ended: its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Everything was allowed (or, for other commands, nothing was found).
    Clean = 0,
    /// Something was flagged, redacted or blocked.
    Found = 1,
    /// Something went wrong.
    Error = 2,
}

/// An error of the CLI: a message for standard error.
#[derive(Debug)]
pub struct CliError(String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Scan(a) => scan::run_scan(&cli.engine, a),
        Command::Redact(a) => scan::run_redact(&cli.engine, a),
        Command::Eval(a) => eval::run(&cli.engine, a),
        Command::Rules(c) => rules_cmd::run(&cli.engine, c),
        Command::Tokens(a) => tokens_cmd::run(a),
        Command::Canary(a) => run_canary(&cli.engine, a),
        Command::Bench(a) => bench::run(&cli.engine, a),
    };
    match result {
        Ok(outcome) => ExitCode::from(outcome as u8),
        Err(CliError(msg)) if msg == BROKEN_PIPE => ExitCode::from(Outcome::Clean as u8),
        Err(CliError(msg)) => {
            let _ = writeln!(io::stderr(), "promptwall: error: {msg}");
            ExitCode::from(Outcome::Error as u8)
        }
    }
}

const BROKEN_PIPE: &str = "\0broken pipe";

/// Prints a command's report on standard output: as indented JSON with `json`, otherwise
/// as `human` writes it.
pub fn write_report<R: serde::Serialize>(
    report: &R,
    json: bool,
    human: impl FnOnce(&mut dyn Write, &R) -> io::Result<()>,
) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report).map_err(|e| CliError(e.to_string()))?;
        writeln!(out).map_err(write_err)?;
    } else {
        human(&mut out, report).map_err(write_err)?;
    }
    out.flush().map_err(write_err)
}

/// Turns a write error into a CLI error; a closed pipe (`promptwall ... | head`) ends quietly.
pub fn write_err(e: io::Error) -> CliError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        CliError(BROKEN_PIPE.to_string())
    } else {
        CliError(format!("cannot write output: {e}"))
    }
}

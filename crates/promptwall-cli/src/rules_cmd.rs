//! `promptwall rules list` and `promptwall rules check`.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Subcommand;
use serde::Serialize;

use crate::{write_err, CliError, EngineArgs, Outcome};

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// List the rules in force (built-in packs, then --rules, after the policy's overrides).
    List {
        /// Print one JSON object per rule.
        #[arg(long)]
        json: bool,
    },
    /// Validate rule packs and run every rule's examples; exits 1 when an example fails and 2
    /// when a pack does not load. With no PATH, checks the packs in force.
    Check {
        /// Rule packs (files or folders) to check on top of the packs in force.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

#[derive(Serialize)]
struct RuleRow<'a> {
    id: &'a str,
    category: &'a str,
    severity: &'a str,
    score: f64,
    side: &'a str,
    view: &'a str,
    keywords: &'a [String],
    whole_words: bool,
    generic: bool,
    regex: Option<&'a str>,
    source: String,
    description: &'a str,
}

pub fn run(engine: &EngineArgs, cmd: &RulesCommand) -> Result<Outcome, CliError> {
    let mut out = io::stdout().lock();
    match cmd {
        RulesCommand::List { json } => {
            let fw = engine.build(&[])?;
            for r in fw.rules() {
                let score = fw
                    .policy()
                    .rules
                    .get(&r.id)
                    .and_then(|o| o.score)
                    .unwrap_or(r.score);
                if *json {
                    let row = RuleRow {
                        id: &r.id,
                        category: r.category.as_str(),
                        severity: r.severity.as_str(),
                        score,
                        side: r.side.as_str(),
                        view: r.view.as_str(),
                        keywords: &r.keywords,
                        whole_words: r.whole_words,
                        generic: r.generic,
                        regex: r.regex.as_deref(),
                        source: format!("{}:{}", r.origin.source, r.origin.line),
                        description: &r.description,
                    };
                    serde_json::to_writer(&mut out, &row).map_err(|e| CliError(e.to_string()))?;
                    writeln!(out).map_err(write_err)?;
                } else {
                    writeln!(
                        out,
                        "{:<44} {:<12} {:<8} {:.2}  {:<8} {:<10} {}",
                        r.id,
                        r.category.as_str(),
                        r.severity.as_str(),
                        score,
                        r.side.as_str(),
                        r.view.as_str(),
                        r.description
                    )
                    .map_err(write_err)?;
                }
            }
            out.flush().map_err(write_err)?;
            Ok(Outcome::Clean)
        }
        RulesCommand::Check { paths } => {
            let fw = engine.build(paths)?;
            let failures = fw.check_examples();
            let examples: usize = fw
                .rules()
                .iter()
                .map(|r| r.examples_match.len() + r.examples_no_match.len())
                .sum();
            for f in &failures {
                writeln!(out, "FAIL {f}").map_err(write_err)?;
            }
            writeln!(
                out,
                "{} rules in {} packs, {} examples: {} passed, {} failed",
                fw.rules().len(),
                fw.packs().len(),
                examples,
                examples - failures.len(),
                failures.len()
            )
            .map_err(write_err)?;
            out.flush().map_err(write_err)?;
            Ok(if failures.is_empty() {
                Outcome::Clean
            } else {
                Outcome::Found
            })
        }
    }
}

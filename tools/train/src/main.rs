//! `promptwall-train`: trains the learned injection scorer, checks that retraining gives the
//! committed weights byte for byte, and cross-validates it.
#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use promptwall::model::{FeatureSet, Model};
use promptwall_train::{
    cross_validate, load, report, source_folds, stratified_folds, train_all, Corpus, Options,
};

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

#[derive(Parser, Debug)]
#[command(name = "promptwall-train", max_term_width = 100)]
#[command(after_help = "Examples (from the repository root):
  cargo run --release -p promptwall-train -- train   # writes crates/promptwall/data/model/injection.pwm
  cargo run --release -p promptwall-train -- check   # retrains and compares with the built-in model
  cargo run --release -p promptwall-train -- cv      # source-held-out and stratified folds")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// The labelled JSONL file (default: ../shared/data/injection/dev.jsonl next to the
    /// repository).
    #[arg(long, value_name = "PATH.jsonl")]
    data: Option<PathBuf>,

    /// L2 penalty.
    #[arg(long, default_value_t = Options::default().lambda)]
    lambda: f64,

    /// Seed of the calibration folds and of the random cross-validation folds.
    #[arg(long, default_value_t = Options::default().seed)]
    seed: u64,

    /// Feature groups to add to the default ones (words, chars4, rules, heuristics, length):
    /// chars3, chars5, or chars for all three byte n-gram lengths.
    #[arg(long, value_delimiter = ',')]
    with: Vec<String>,

    /// Feature groups to leave out (ablation): words, chars (chars3, chars4, chars5), rules,
    /// heuristics, length.
    #[arg(long, value_delimiter = ',')]
    without: Vec<String>,

    /// Fit the calibration on stratified random folds instead of folds that each hold out
    /// one source.
    #[arg(long)]
    calibrate_stratified: bool,
}

impl Common {
    fn data(&self) -> PathBuf {
        self.data
            .clone()
            .unwrap_or_else(|| PathBuf::from(REPO).join("../shared/data/injection/dev.jsonl"))
    }

    fn options(&self) -> Result<Options, String> {
        let group = |w: &str| {
            Ok(match w {
                "words" => FeatureSet::WORDS,
                "chars" => FeatureSet::CHARS,
                "chars3" => FeatureSet::CHARS3,
                "chars4" => FeatureSet::CHARS4,
                "chars5" => FeatureSet::CHARS5,
                "rules" => FeatureSet::RULES,
                "heuristics" => FeatureSet::HEURISTICS,
                "length" => FeatureSet::LENGTH,
                other => return Err(format!("unknown feature group `{other}`")),
            })
        };
        let mut features = FeatureSet::DEFAULT;
        for w in &self.with {
            features = features | group(w)?;
        }
        for w in &self.without {
            features = features.without(group(w)?);
        }
        Ok(Options {
            lambda: self.lambda,
            seed: self.seed,
            features,
            calibrate_by_source: !self.calibrate_stratified,
            ..Options::default()
        })
    }

    fn corpus(&self) -> Result<Corpus, String> {
        let (rows, fp) = load(&self.data())?;
        Corpus::new(rows, fp)
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train on the whole file and write the weights file.
    Train {
        #[command(flatten)]
        common: Common,
        /// Where to write (default: crates/promptwall/data/model/injection.pwm).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// Retrain and compare, byte for byte, with the model built into the engine. Prints
    /// "N passed, M failed"; skips (exit 0) when the data is missing.
    Check {
        #[command(flatten)]
        common: Common,
    },
    /// Cross-validate: folds that each hold out one source, and stratified random folds.
    /// Prints Markdown tables for the rules alone, the model alone and both combined.
    Cv {
        #[command(flatten)]
        common: Common,
        /// Random folds.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Which folds: source, random or both.
        #[arg(long, default_value = "both", value_parser = ["source", "random", "both"])]
        by: String,
        /// Also list the N most confident false alarms and misses of the combined variant.
        #[arg(long, value_name = "N", default_value_t = 0)]
        errors: usize,
    },
}

fn weights_path() -> PathBuf {
    PathBuf::from(REPO).join("crates/promptwall/data/model/injection.pwm")
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Train { common, out } => {
            let t = Instant::now();
            let corpus = common.corpus()?;
            let model = train_all(&corpus, &common.options()?);
            let out = out.unwrap_or_else(weights_path);
            std::fs::write(&out, model.to_bytes())
                .map_err(|e| format!("{}: {e}", out.display()))?;
            eprintln!(
                "wrote {} ({} bytes, {} rows, {:.1} s)",
                out.display(),
                model.to_bytes().len(),
                corpus.rows.len(),
                t.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { common } => {
            let data = common.data();
            if !data.exists() {
                println!(
                    "model weights: skipped: no training data at {} (0 passed, 0 failed)",
                    data.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let t = Instant::now();
            let corpus = common.corpus()?;
            let model = train_all(&corpus, &common.options()?);
            let built_in = Model::builtin_bytes();
            if model.to_bytes() == built_in {
                println!(
                    "model weights: retrained in {:.1} s, identical to the built-in model: 1 passed, 0 failed",
                    t.elapsed().as_secs_f64()
                );
                Ok(ExitCode::SUCCESS)
            } else {
                let old = Model::from_bytes(built_in).map(|m| m.provenance()).ok();
                let new = model.provenance();
                let why = match old {
                    None => "the built-in weights file does not parse".to_string(),
                    Some(o) if o.rules != new.rules => {
                        "the rules changed since the weights were trained".to_string()
                    }
                    Some(o) if o.data != new.data => "the training data changed".to_string(),
                    Some(_) => "same data and rules, different weights (the features or the \
                                training changed)"
                        .to_string(),
                };
                println!(
                    "model weights: retraining differs from the built-in model ({why}); run \
                     `cargo run --release -p promptwall-train -- train` and commit \
                     crates/promptwall/data/model/injection.pwm: 0 passed, 1 failed"
                );
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Cv {
            common,
            folds,
            by,
            errors,
        } => {
            let opts = common.options()?;
            let corpus = common.corpus()?;
            let x = corpus.features(opts.features);
            let all: Vec<usize> = (0..corpus.rows.len()).collect();
            let mut out = String::new();
            let feats = opts.features.names().join(", ");
            if by == "source" || by == "both" {
                let (names, tests) = source_folds(&corpus);
                let p = cross_validate(&corpus, &x, &tests, &opts, |k| {
                    eprintln!("source fold {}/{}: {}", k + 1, names.len(), names[k]);
                });
                report(
                    &mut out,
                    &format!(
                        "Source held out ({} folds: {}), features: {feats}",
                        names.len(),
                        names.join(", ")
                    ),
                    &corpus,
                    &p,
                    &all,
                    errors,
                );
            }
            if by == "random" || by == "both" {
                let tests = stratified_folds(&corpus, &all, folds, opts.seed);
                let p = cross_validate(&corpus, &x, &tests, &opts, |k| {
                    eprintln!("random fold {}/{folds}", k + 1);
                });
                report(
                    &mut out,
                    &format!(
                        "{folds} stratified random folds (seed {}), features: {feats}",
                        opts.seed
                    ),
                    &corpus,
                    &p,
                    &all,
                    errors,
                );
            }
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(out.as_bytes())
                .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("promptwall-train: error: {e}");
            ExitCode::from(2)
        }
    }
}

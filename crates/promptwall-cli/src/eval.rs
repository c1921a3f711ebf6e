//! `promptwall eval`: detection quality on a labelled JSONL file, scored the PINT way.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use promptwall::Category;
use serde::Serialize;

use crate::input::{self, Line, Lines};
use crate::scan::{parse_row, text_of};
use crate::{CliError, EngineArgs, Outcome};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The labelled JSONL file (`-` for standard input).
    #[arg(value_name = "PATH.jsonl")]
    path: PathBuf,

    /// Print the report as JSON.
    #[arg(long)]
    json: bool,

    /// Also print the N worst misses and the N worst false alarms, with their rule ids.
    #[arg(long, value_name = "N", default_value_t = 0)]
    errors: usize,

    /// Fail (exit status 1) when a figure falls below its floor in this TOML file:
    /// `balanced_accuracy = 0.8` and a `[categories]` table of per-category accuracies.
    #[arg(long, value_name = "FLOORS.toml")]
    floor: Option<PathBuf>,
}

/// Minimum figures for `--floor`: a ratchet, so that detection never silently gets worse.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Floors {
    balanced_accuracy: Option<f64>,
    #[serde(default)]
    categories: BTreeMap<String, f64>,
}

fn read_floors(path: &std::path::Path) -> Result<Floors, CliError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
        CliError(match line {
            Some(l) => format!("{}:{l}: {}", path.display(), e.message()),
            None => format!("{}: {}", path.display(), e.message()),
        })
    })
}

/// The figures of `report` below their floors, as messages.
fn below_floors(report: &Report, floors: &Floors) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(min) = floors.balanced_accuracy {
        if report.balanced_accuracy < min {
            out.push(format!(
                "balanced accuracy {:.4} is below its floor {min:.4}",
                report.balanced_accuracy
            ));
        }
    }
    for (name, &min) in &floors.categories {
        match report.categories.get(name) {
            Some(c) if c.accuracy < min => out.push(format!(
                "category {name}: accuracy {:.4} is below its floor {min:.4}",
                c.accuracy
            )),
            Some(_) => {}
            None => out.push(format!("category {name} has a floor but no rows")),
        }
    }
    out
}

struct Row {
    line: usize,
    label: bool,
    category: String,
    score: f64,
    rules: Vec<String>,
    excerpt: String,
}

#[derive(Serialize, Default, Clone)]
struct CategoryReport {
    n: usize,
    correct: usize,
    accuracy: f64,
}

#[derive(Serialize)]
struct ErrorRow {
    line: usize,
    category: String,
    label: u8,
    score: f64,
    rules: Vec<String>,
    text: String,
}

#[derive(Serialize)]
struct Report {
    rows: usize,
    threshold: f64,
    categories: BTreeMap<String, CategoryReport>,
    balanced_accuracy: f64,
    accuracy: f64,
    precision: f64,
    recall: f64,
    f1: f64,
    false_positive_rate: f64,
    true_positives: usize,
    false_positives: usize,
    true_negatives: usize,
    false_negatives: usize,
    bad_rows: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    misses: Vec<ErrorRow>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    false_alarms: Vec<ErrorRow>,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn parse_label(v: Option<&serde_json::Value>) -> Result<bool, String> {
    match v {
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(_) => Err("`label` must be 0 or 1".to_string()),
        None => Err("missing the `label` field".to_string()),
    }
}

pub fn run(engine: &EngineArgs, args: &EvalArgs) -> Result<Outcome, CliError> {
    let floors = args.floor.as_deref().map(read_floors).transpose()?;
    let fw = engine.build(&[])?;
    let threshold = fw.policy().category(Category::Injection).flag;
    let total_bytes = std::fs::metadata(&args.path).map(|m| m.len()).unwrap_or(0);
    let bar = if io::stderr().is_terminal() && total_bytes > 0 {
        let b = ProgressBar::new(total_bytes);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}")
        {
            b.set_style(style);
        }
        b
    } else {
        ProgressBar::hidden()
    };
    let mut lines = Lines::new(input::open(&args.path)?);
    let mut rows = Vec::new();
    let mut bad = 0usize;
    let mut n = 0usize;
    while let Some(line) = lines
        .next_line()
        .map_err(|e| CliError(format!("{}: {e}", input::name(&args.path))))?
    {
        n += 1;
        let bytes = match line {
            Line::Bytes(b) => b,
            Line::TooLong => {
                bar.suspend(|| {
                    eprintln!("promptwall: {}:{n}: line too long", input::name(&args.path))
                });
                bad += 1;
                continue;
            }
        };
        bar.inc(bytes.len() as u64 + 1);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = parse_row(&bytes).and_then(|row| {
            let text = text_of(&row)?.to_string();
            let label = parse_label(row.get("label"))?;
            let category = match row.get("category") {
                Some(serde_json::Value::String(c)) => c.clone(),
                Some(_) => return Err("`category` must be a string".to_string()),
                None if label => "positive".to_string(),
                None => "negative".to_string(),
            };
            Ok((text, label, category))
        });
        let (text, label, category) = match parsed {
            Ok(p) => p,
            Err(e) => {
                bar.suspend(|| eprintln!("promptwall: {}:{n}: {e}", input::name(&args.path)));
                bad += 1;
                continue;
            }
        };
        let v = fw.scan(&text);
        let mut rules: Vec<String> = v
            .findings_of(Category::Injection)
            .map(|f| f.rule.to_string())
            .collect();
        rules.dedup();
        rows.push(Row {
            line: n,
            label,
            category,
            score: v.categories.injection,
            rules,
            excerpt: short(&text),
        });
    }
    bar.finish_and_clear();
    if rows.is_empty() {
        return Err(CliError(format!(
            "{}: no labelled rows to evaluate",
            input::name(&args.path)
        )));
    }
    let report = build_report(rows, threshold, bad, args.errors);
    crate::write_report(&report, args.json, print_report)?;
    if let Some(floors) = &floors {
        let failures = below_floors(&report, floors);
        for f in &failures {
            eprintln!("promptwall: eval: {f}");
        }
        if !failures.is_empty() && bad == 0 {
            return Ok(Outcome::Found);
        }
    }
    Ok(if bad > 0 {
        Outcome::Error
    } else {
        Outcome::Clean
    })
}

fn short(text: &str) -> String {
    let mut s: String = text
        .chars()
        .take(100)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(100).is_some() {
        s.push('…');
    }
    s
}

fn build_report(rows: Vec<Row>, threshold: f64, bad: usize, errors: usize) -> Report {
    let mut cats: BTreeMap<String, CategoryReport> = BTreeMap::new();
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for r in &rows {
        let detected = r.score >= threshold;
        let correct = detected == r.label;
        let c = cats.entry(r.category.clone()).or_default();
        c.n += 1;
        c.correct += usize::from(correct);
        match (r.label, detected) {
            (true, true) => tp += 1,
            (true, false) => fn_ += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
        }
    }
    for c in cats.values_mut() {
        c.accuracy = ratio(c.correct, c.n);
    }
    let balanced = cats.values().map(|c| c.accuracy).sum::<f64>() / cats.len() as f64;
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    let to_error = |r: &Row| ErrorRow {
        line: r.line,
        category: r.category.clone(),
        label: u8::from(r.label),
        score: r.score,
        rules: r.rules.clone(),
        text: r.excerpt.clone(),
    };
    let mut misses: Vec<&Row> = rows
        .iter()
        .filter(|r| r.label && r.score < threshold)
        .collect();
    misses.sort_by(|a, b| a.score.total_cmp(&b.score).then(a.line.cmp(&b.line)));
    let mut alarms: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.label && r.score >= threshold)
        .collect();
    alarms.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.line.cmp(&b.line)));
    Report {
        rows: rows.len(),
        threshold,
        balanced_accuracy: balanced,
        accuracy: ratio(tp + tn, rows.len()),
        precision,
        recall,
        f1,
        false_positive_rate: ratio(fp, fp + tn),
        true_positives: tp,
        false_positives: fp,
        true_negatives: tn,
        false_negatives: fn_,
        bad_rows: bad,
        categories: cats,
        misses: misses.into_iter().take(errors).map(to_error).collect(),
        false_alarms: alarms.into_iter().take(errors).map(to_error).collect(),
    }
}

fn print_report(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    writeln!(
        out,
        "{:<24} {:>6} {:>8} {:>9}",
        "category", "rows", "correct", "accuracy"
    )?;
    for (name, c) in &r.categories {
        writeln!(
            out,
            "{name:<24} {:>6} {:>8} {:>9.4}",
            c.n, c.correct, c.accuracy
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "balanced accuracy    {:.4}   (mean of the category accuracies)",
        r.balanced_accuracy
    )?;
    writeln!(out, "accuracy             {:.4}", r.accuracy)?;
    writeln!(out, "precision            {:.4}", r.precision)?;
    writeln!(out, "recall               {:.4}", r.recall)?;
    writeln!(out, "F1                   {:.4}", r.f1)?;
    writeln!(out, "false-positive rate  {:.4}", r.false_positive_rate)?;
    writeln!(
        out,
        "rows {}  (TP {}, FP {}, TN {}, FN {}), injection flag threshold {:.2}",
        r.rows,
        r.true_positives,
        r.false_positives,
        r.true_negatives,
        r.false_negatives,
        r.threshold
    )?;
    if r.bad_rows > 0 {
        writeln!(out, "bad rows skipped     {}", r.bad_rows)?;
    }
    for (title, list) in [
        ("worst misses", &r.misses),
        ("worst false alarms", &r.false_alarms),
    ] {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "\n{title}:")?;
        for e in list {
            let rules = if e.rules.is_empty() {
                "-".to_string()
            } else {
                e.rules.join(",")
            };
            writeln!(
                out,
                "  line {:<6} {:<18} score {:.2}  rules {rules}",
                e.line, e.category, e.score
            )?;
            writeln!(out, "      {}", e.text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: bool, category: &str, score: f64) -> Row {
        Row {
            line: 1,
            label,
            category: category.into(),
            score,
            rules: vec![],
            excerpt: String::new(),
        }
    }

    #[test]
    fn metrics() {
        let rows = vec![
            row(true, "a+", 0.9),
            row(true, "a+", 0.1),
            row(false, "b-", 0.0),
            row(false, "b-", 0.0),
            row(false, "b-", 0.0),
            row(false, "b-", 0.6),
        ];
        let r = build_report(rows, 0.5, 0, 5);
        assert_eq!(r.categories["a+"].accuracy, 0.5);
        assert_eq!(r.categories["b-"].accuracy, 0.75);
        assert!((r.balanced_accuracy - 0.625).abs() < 1e-12);
        assert_eq!(
            (
                r.true_positives,
                r.false_positives,
                r.true_negatives,
                r.false_negatives
            ),
            (1, 1, 3, 1)
        );
        assert_eq!(r.precision, 0.5);
        assert_eq!(r.recall, 0.5);
        assert_eq!(r.f1, 0.5);
        assert_eq!(r.false_positive_rate, 0.25);
        assert_eq!(r.misses.len(), 1);
        assert_eq!(r.false_alarms.len(), 1);
    }

    #[test]
    fn floors() {
        let rows = vec![
            row(true, "a+", 0.9),
            row(true, "a+", 0.1),
            row(false, "b-", 0.0),
        ];
        let r = build_report(rows, 0.5, 0, 0);
        let f: Floors =
            toml::from_str("balanced_accuracy = 0.7\n[categories]\n\"a+\" = 0.5\n\"b-\" = 1.0\n")
                .expect("floors parse");
        assert!(below_floors(&r, &f).is_empty());
        let f: Floors =
            toml::from_str("balanced_accuracy = 0.8\n[categories]\n\"a+\" = 0.6\n\"c-\" = 0.1\n")
                .expect("floors parse");
        let msgs = below_floors(&r, &f);
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].contains("balanced accuracy 0.7500"));
    }

    #[test]
    fn labels() {
        assert_eq!(parse_label(Some(&serde_json::json!(1))), Ok(true));
        assert_eq!(parse_label(Some(&serde_json::json!(false))), Ok(false));
        assert!(parse_label(Some(&serde_json::json!(2))).is_err());
        assert!(parse_label(None).is_err());
    }
}

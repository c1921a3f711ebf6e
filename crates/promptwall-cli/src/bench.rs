//! `promptwall bench`: how long scans of your own texts take, with your rules and policy.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use promptwall::{Action, Verdict};
use serde::Serialize;

use crate::input::{self, Line, Lines};
use crate::scan::{parse_row, text_of};
use crate::{CliError, EngineArgs, Outcome};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Files to time, each one text; `-` (the default) reads standard input. With --jsonl,
    /// each line of a file is one text.
    #[arg(value_name = "PATH", default_value = "-")]
    paths: Vec<PathBuf>,

    /// Read JSON Lines: one object with a `text` field per line (an `id` field, when there
    /// is one, names the text in the list of the slowest).
    #[arg(long)]
    jsonl: bool,

    /// How many times to scan every text. Each text's time is the median of its scans.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    passes: u32,

    /// Time scans of model output (responses) rather than prompts.
    #[arg(long)]
    response: bool,

    /// Scan on this many threads at once, sharing one engine: each thread scans every text
    /// --passes times, starting at a different text. Each text's time is then the median of
    /// all its scans, and the report adds the scans per second of all threads together.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,

    /// Time from the start: skip `warm_up` and the untimed first pass, so that the first
    /// timed pass also pays for compiling rules on first use and for filling the regex
    /// engines' caches, as in a process that skips `warm_up`.
    #[arg(long)]
    no_warm_up: bool,

    /// How many of the slowest texts to list.
    #[arg(long, value_name = "N", default_value_t = 5)]
    slowest: usize,

    /// With --jsonl: also report the texts grouped by this field of their rows (a route, a
    /// tenant, a kind of text); rows without it form the group `-`.
    #[arg(long, value_name = "FIELD", requires = "jsonl")]
    group_by: Option<String>,

    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// One text to time, and where it came from.
struct Item {
    /// `path` for a whole file, `path:line` for a JSONL line.
    source: String,
    id: Option<serde_json::Value>,
    /// The value of the --group-by field.
    group: String,
    text: String,
}

#[derive(Serialize, Debug)]
struct PerText {
    mean: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

#[derive(Serialize, Debug, Default)]
struct Actions {
    allow: usize,
    flag: usize,
    redact: usize,
    block: usize,
}

#[derive(Serialize, Debug)]
struct Slow {
    source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<serde_json::Value>,
    bytes: usize,
    us: f64,
}

#[derive(Serialize, Debug)]
struct Group {
    name: String,
    texts: usize,
    mean_bytes: f64,
    mean_us: f64,
    p50_us: f64,
    p99_us: f64,
    /// This group's share of the time of all texts, in percent.
    share: f64,
}

#[derive(Serialize, Debug)]
struct Report {
    texts: usize,
    bytes: usize,
    passes: u32,
    threads: u32,
    side: &'static str,
    /// Texts skipped because they could not be read.
    skipped: usize,
    build_ms: f64,
    /// `None` with --no-warm-up.
    warm_up_ms: Option<f64>,
    /// The untimed first pass over the texts, after `warm_up`, divided by their number (the
    /// mean over the threads): the regex engines fill their caches in it. `None` with
    /// --no-warm-up.
    first_pass_us_per_text: Option<f64>,
    /// Each text's median scan time, in microseconds, over the texts.
    per_text_us: PerText,
    /// The fastest pass over all texts (of any thread), divided by their number.
    fastest_pass_us_per_text: f64,
    /// Timed scans of all threads together, per second of wall time.
    scans_per_second: f64,
    /// Bytes scanned per second at the texts' median times, in MiB.
    throughput_mib_s: f64,
    /// The verdicts of the first pass.
    actions: Actions,
    slowest: Vec<Slow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_by: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    groups: Vec<Group>,
    /// Peak resident memory of the process (Linux only).
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_memory_kib: Option<u64>,
}

pub fn run(engine: &EngineArgs, args: &BenchArgs) -> Result<Outcome, CliError> {
    if let Some(dir) = args.paths.iter().find(|p| p.is_dir()) {
        return Err(CliError(format!(
            "{} is a folder: name the files to time (with --jsonl, files of JSON Lines)",
            dir.display()
        )));
    }
    let mut items = Vec::new();
    let mut skipped = 0usize;
    for path in &args.paths {
        if args.jsonl {
            skipped += read_jsonl(path, args.group_by.as_deref(), &mut items)?;
        } else {
            items.push(Item {
                source: input::name(path),
                id: None,
                group: String::new(),
                text: input::read_text(path)?,
            });
        }
    }
    if items.is_empty() {
        return Err(CliError("no texts to time".to_string()));
    }
    // Every scan's time is kept (4 bytes each) until the medians are taken.
    let scans = items.len().saturating_mul(args.passes as usize);
    if scans.saturating_mul(args.threads as usize) > MAX_SCANS {
        return Err(CliError(format!(
            "{} texts x {} passes x {} threads is more than {MAX_SCANS} scans to time: \
             time fewer texts (a sample) or fewer passes",
            items.len(),
            args.passes,
            args.threads
        )));
    }

    let start = Instant::now();
    let fw = engine.build(&[])?;
    let build = start.elapsed();
    let scan = |text: &str| {
        if args.response {
            fw.scan_response(text)
        } else {
            fw.scan(text)
        }
    };
    let warm_up = (!args.no_warm_up).then(|| {
        let start = Instant::now();
        fw.warm_up();
        start.elapsed()
    });

    let passes = args.passes as usize;
    let threads = args.threads as usize;
    let n = items.len();
    let bar = progress(n * passes * threads);
    let barrier = Barrier::new(threads + 1);
    let (runs, wall) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|k| {
                let (items, scan, bar, barrier) = (&items, &scan, &bar, &barrier);
                s.spawn(move || {
                    let offset = k * n / threads;
                    time_thread(scan, items, passes, offset, !args.no_warm_up, barrier, bar)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let runs: Vec<ThreadRun> = workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        (runs, start.elapsed())
    });
    bar.finish_and_clear();

    // Each text's scans, of every pass and thread, and their median.
    let samples = passes * threads;
    let mut all = vec![0u32; samples];
    let medians: Vec<f64> = (0..n)
        .map(|i| {
            for (k, run) in runs.iter().enumerate() {
                all[k * passes..(k + 1) * passes]
                    .copy_from_slice(&run.times[i * passes..(i + 1) * passes]);
            }
            all.sort_unstable();
            f64::from(all[(samples - 1) / 2]) / 1e3
        })
        .collect();
    let fastest_pass = runs.iter().map(|r| r.fastest).min().unwrap_or_default();
    let first_pass = (!args.no_warm_up)
        .then(|| runs.iter().filter_map(|r| r.first).sum::<Duration>() / threads as u32);
    let actions = runs
        .into_iter()
        .next()
        .map(|r| r.actions)
        .unwrap_or_default();
    let bytes: usize = items.iter().map(|i| i.text.len()).sum();
    let total_us: f64 = medians.iter().sum();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| medians[b].total_cmp(&medians[a]));
    let slowest = order
        .iter()
        .take(args.slowest)
        .map(|&i| Slow {
            source: items[i].source.clone(),
            id: items[i].id.clone(),
            bytes: items[i].text.len(),
            us: round2(medians[i]),
        })
        .collect();
    let mut sorted = medians.clone();
    sorted.sort_unstable_by(f64::total_cmp);
    let groups = match args.group_by {
        Some(_) => groups(&items, &medians, total_us),
        None => Vec::new(),
    };
    let report = Report {
        texts: items.len(),
        bytes,
        passes: args.passes,
        threads: args.threads,
        side: if args.response { "response" } else { "prompt" },
        skipped,
        build_ms: round2(build.as_secs_f64() * 1e3),
        warm_up_ms: warm_up.map(|d| round2(d.as_secs_f64() * 1e3)),
        first_pass_us_per_text: first_pass.map(|d| round2(micros(d) / items.len() as f64)),
        per_text_us: PerText {
            mean: round2(total_us / items.len() as f64),
            p50: round2(percentile(&sorted, 50.0)),
            p90: round2(percentile(&sorted, 90.0)),
            p99: round2(percentile(&sorted, 99.0)),
            max: round2(percentile(&sorted, 100.0)),
        },
        fastest_pass_us_per_text: round2(micros(fastest_pass) / items.len() as f64),
        scans_per_second: ((samples * n) as f64 / wall.as_secs_f64().max(1e-9)).round(),
        throughput_mib_s: if total_us > 0.0 {
            round2(bytes as f64 / (1 << 20) as f64 / (total_us / 1e6))
        } else {
            0.0
        },
        actions,
        slowest,
        group_by: args.group_by.clone(),
        groups,
        peak_memory_kib: peak_memory_kib(),
    };
    crate::write_report(&report, args.json, print_report)?;
    Ok(if skipped > 0 {
        Outcome::Error
    } else {
        Outcome::Clean
    })
}

/// The most scans one run may time (their times take 4 bytes each).
const MAX_SCANS: usize = 1 << 28;

/// What one thread measured: `times[text * passes + pass]`, in nanoseconds (at most
/// `u32::MAX`, 4.3 s: a scan of a text the policy lets through takes milliseconds at most).
struct ThreadRun {
    times: Vec<u32>,
    fastest: Duration,
    first: Option<Duration>,
    /// The verdicts of its first timed pass.
    actions: Actions,
}

/// One thread's scans: an untimed first pass (with `first_pass`), then, once every thread
/// is ready, `passes` timed passes over the texts from `offset` on, round to the start.
fn time_thread(
    scan: &(dyn Fn(&str) -> Verdict + Sync),
    items: &[Item],
    passes: usize,
    offset: usize,
    first_pass: bool,
    barrier: &Barrier,
    bar: &ProgressBar,
) -> ThreadRun {
    let n = items.len();
    let first = first_pass.then(|| {
        let start = Instant::now();
        for item in items {
            drop(std::hint::black_box(scan(&item.text)));
        }
        start.elapsed()
    });
    barrier.wait();
    let mut times = vec![0u32; n * passes];
    let mut fastest = Duration::MAX;
    let mut actions = Actions::default();
    for pass in 0..passes {
        let pass_start = Instant::now();
        for j in 0..n {
            let i = (offset + j) % n;
            let t = Instant::now();
            let v = scan(&items[i].text);
            let action = v.action;
            drop(std::hint::black_box(v));
            times[i * passes + pass] = u32::try_from(t.elapsed().as_nanos()).unwrap_or(u32::MAX);
            if pass == 0 {
                count(&mut actions, action);
            }
            if j % 1024 == 1023 {
                bar.inc(1024);
            }
        }
        fastest = fastest.min(pass_start.elapsed());
        bar.inc((n % 1024) as u64);
    }
    ThreadRun {
        times,
        fastest,
        first,
        actions,
    }
}

/// Reads the texts of a JSONL file into `items`; returns how many lines were skipped (each
/// reported on standard error with its line number).
fn read_jsonl(
    path: &Path,
    group_by: Option<&str>,
    items: &mut Vec<Item>,
) -> Result<usize, CliError> {
    let name = input::name(path);
    let mut lines = Lines::new(input::open(path)?);
    let mut skipped = 0;
    let mut n = 0usize;
    while let Some(line) = lines
        .next_line()
        .map_err(|e| CliError(format!("{name}: {e}")))?
    {
        n += 1;
        let bytes = match line {
            Line::Bytes(b) => b,
            Line::TooLong => {
                eprintln!(
                    "promptwall: {name}:{n}: line is longer than {} bytes; skipped",
                    input::MAX_INPUT_BYTES
                );
                skipped += 1;
                continue;
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_row(&bytes).and_then(|row| Ok((text_of(&row)?.to_string(), row))) {
            Ok((text, row)) => items.push(Item {
                source: format!("{name}:{n}"),
                id: row.get("id").cloned(),
                group: match group_by.and_then(|f| row.get(f)) {
                    None | Some(serde_json::Value::Null) => "-".to_string(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                },
                text,
            }),
            Err(e) => {
                eprintln!("promptwall: {name}:{n}: {e}; skipped");
                skipped += 1;
            }
        }
    }
    Ok(skipped)
}

/// The texts' times by group, in the order of the groups' names.
fn groups(items: &[Item], medians: &[f64], total_us: f64) -> Vec<Group> {
    let mut by: std::collections::BTreeMap<&str, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        by.entry(&item.group).or_default().push(i);
    }
    by.into_iter()
        .map(|(name, members)| {
            let n = members.len() as f64;
            let mut t: Vec<f64> = members.iter().map(|&i| medians[i]).collect();
            t.sort_unstable_by(f64::total_cmp);
            let sum: f64 = t.iter().sum();
            let bytes: usize = members.iter().map(|&i| items[i].text.len()).sum();
            Group {
                name: name.to_string(),
                texts: members.len(),
                mean_bytes: round2(bytes as f64 / n),
                mean_us: round2(sum / n),
                p50_us: round2(percentile(&t, 50.0)),
                p99_us: round2(percentile(&t, 99.0)),
                share: if total_us > 0.0 {
                    round2(sum / total_us * 100.0)
                } else {
                    0.0
                },
            }
        })
        .collect()
}

fn count(a: &mut Actions, action: Action) {
    match action {
        Action::Allow => a.allow += 1,
        Action::Flag => a.flag += 1,
        Action::Redact => a.redact += 1,
        Action::Block => a.block += 1,
    }
}

/// A progress bar on standard error when it is a terminal and the run is long enough to
/// want one; hidden otherwise.
fn progress(scans: usize) -> ProgressBar {
    if !io::stderr().is_terminal() || scans < 10_000 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(scans as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} scans, eta {eta}") {
        bar.set_style(style);
    }
    bar
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The nearest-rank percentile of sorted, non-empty values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The process's peak resident memory (VmHWM), where `/proc` tells it.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn print_report(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    let size = if r.bytes < 1 << 20 {
        format!("{:.1} KiB", r.bytes as f64 / 1024.0)
    } else {
        format!("{:.2} MiB", r.bytes as f64 / (1 << 20) as f64)
    };
    writeln!(
        out,
        "{} text{}, {size}, {} pass{} on {}, scanned as {}s",
        r.texts,
        if r.texts == 1 { "" } else { "s" },
        r.passes,
        if r.passes == 1 { "" } else { "es" },
        if r.threads == 1 {
            "one thread".to_string()
        } else {
            format!("each of {} threads", r.threads)
        },
        r.side
    )?;
    match (r.warm_up_ms, r.first_pass_us_per_text) {
        (Some(w), Some(f)) => writeln!(
            out,
            "engine build {:.2} ms, warm_up {:.1} ms, an untimed first pass {:.2} us a text",
            r.build_ms, w, f
        )?,
        _ => writeln!(
            out,
            "engine build {:.2} ms (no warm_up: the first pass compiled rules on first use)",
            r.build_ms
        )?,
    }
    let p = &r.per_text_us;
    writeln!(
        out,
        "per text (median of its scans): mean {:.2} us, p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}",
        p.mean, p.p50, p.p90, p.p99, p.max
    )?;
    writeln!(
        out,
        "fastest pass: {:.2} us a text; throughput {:.1} MiB/s a thread",
        r.fastest_pass_us_per_text, r.throughput_mib_s
    )?;
    if r.threads > 1 {
        writeln!(
            out,
            "{} threads together: {:.0} scans a second",
            r.threads, r.scans_per_second
        )?;
    }
    let a = &r.actions;
    writeln!(
        out,
        "verdicts: {} allow, {} flag, {} redact, {} block",
        a.allow, a.flag, a.redact, a.block
    )?;
    if r.skipped > 0 {
        writeln!(out, "skipped: {} unreadable lines", r.skipped)?;
    }
    if !r.slowest.is_empty() {
        writeln!(out, "slowest:")?;
        for s in &r.slowest {
            write!(
                out,
                "  {:>10.2} us  {:>9} bytes  {}",
                s.us, s.bytes, s.source
            )?;
            match &s.id {
                Some(id) => writeln!(out, "  (id {id})")?,
                None => writeln!(out)?,
            }
        }
    }
    if let Some(field) = &r.group_by {
        writeln!(out, "by {field}:")?;
        let width = r
            .groups
            .iter()
            .map(|g| g.name.chars().count())
            .max()
            .unwrap_or(0);
        writeln!(
            out,
            "  {:width$}  {:>7}  {:>10}  {:>9}  {:>9}  {:>9}  {:>6}",
            "", "texts", "mean bytes", "mean us", "p50 us", "p99 us", "share"
        )?;
        for g in &r.groups {
            writeln!(
                out,
                "  {:width$}  {:>7}  {:>10.0}  {:>9.2}  {:>9.2}  {:>9.2}  {:>5.1}%",
                g.name, g.texts, g.mean_bytes, g.mean_us, g.p50_us, g.p99_us, g.share
            )?;
        }
    }
    if let Some(kib) = r.peak_memory_kib {
        writeln!(out, "peak memory {:.1} MiB", kib as f64 / 1024.0)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        let w = [1.0, 2.0, 3.0];
        assert_eq!(percentile(&w, 50.0), 2.0);
        assert_eq!(percentile(&w, 90.0), 3.0);
    }
}

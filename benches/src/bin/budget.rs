//! The performance budget check run by CI: times full scans against a fixed reference
//! workload over the same bytes, in the same process, interleaved, and fails when a scan
//! costs more reference passes than `benches/budget.toml` allows.
//!
//! A slower or throttled machine slows both sides alike, so the ratio holds where absolute
//! times do not; each side's fastest batch is taken, so bursts of other work count little. The reference is a plain Aho-Corasick DFA walk (no prefilter, overlapping
//! matches) with 500 fixed pseudo-random words: a per-byte cost that does not depend on
//! promptwall's code.
//!
//! ```text
//! cargo run --release -p promptwall-benches --bin budget [-- --budget benches/budget.toml]
//! ```
//! Prints one line per workload and ends with "N passed, M failed".

use std::hint::black_box;
use std::time::Instant;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use promptwall::Firewall;
use promptwall_benches::{adversarial, text, Kind};

/// One budget line: a workload, the most reference passes a scan of it may cost (CI fails
/// above it, plus the margin), and the design target in the same unit (reported).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    workload: String,
    max_ratio: f64,
    target_ratio: Option<f64>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetFile {
    /// Tolerated excess over `max_ratio`, as a fraction (0.15 = 15%).
    margin: f64,
    budget: Vec<Line>,
}

fn reference() -> AhoCorasick {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let words: Vec<String> = (0..500)
        .map(|_| {
            (0..6)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'a' + (x % 26) as u8)
                })
                .collect()
        })
        .collect();
    AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .match_kind(MatchKind::Standard)
        .prefilter(false)
        .build(&words)
        .unwrap_or_else(|e| fail(&format!("reference automaton: {e}")))
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "OVER BUDGET"
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("budget: {msg}");
    std::process::exit(2)
}

/// The text of a workload, and whether it is scanned as a response (with protected texts
/// and a canary) rather than as a prompt.
fn workload(name: &str) -> Option<(String, bool)> {
    Some(match name {
        "english-1KB" => (text(Kind::English, 1024), false),
        "chinese-1KB" => (text(Kind::Chinese, 1024), false),
        "russian-1KB" => (text(Kind::Russian, 1024), false),
        "code-1KB" => (text(Kind::Code, 1024), false),
        "attack-1KB" => (text(Kind::Attack, 1024), false),
        "secrets-1KB" => (text(Kind::Secrets, 1024), false),
        "english-100KB" => (text(Kind::English, 100 * 1024), false),
        "response-4KB-protected" => (text(Kind::English, 4096), true),
        other => {
            let adv = other.strip_prefix("adversarial-")?.strip_suffix("-100KB")?;
            let (_, t) = adversarial(100 * 1024)
                .into_iter()
                .find(|(n, _)| *n == adv)?;
            (t, false)
        }
    })
}

/// The fastest scan over the fastest reference pass over the same number of bytes, timed in
/// interleaved rounds: the least disturbed time of each, so that bursts of other work on a
/// shared machine (which hit a scan's larger working set harder than the reference's) do not
/// count. Returns the ratio and the fastest scan time.
fn ratio(scan: &dyn Fn() -> usize, ac: &AhoCorasick, bytes: &str, rounds: usize) -> (f64, f64) {
    let bytes = bytes.as_bytes();
    // Enough repetitions for each timed batch to take about 2 ms.
    let reps = |f: &dyn Fn()| {
        let s = Instant::now();
        f();
        let one = s.elapsed().as_secs_f64().max(1e-7);
        ((2e-3 / one) as usize).clamp(1, 100_000)
    };
    let run_ref = || {
        black_box(ac.find_overlapping_iter(black_box(bytes)).count());
    };
    let run_scan = || {
        black_box(scan());
    };
    // Warm up (first use compiles lazily built parts).
    for _ in 0..3 {
        run_scan();
        run_ref();
    }
    let (ns, nr) = (reps(&run_scan), reps(&run_ref));
    let (mut best_scan, mut best_ref) = (f64::MAX, f64::MAX);
    for _ in 0..rounds {
        let s = Instant::now();
        for _ in 0..ns {
            run_scan();
        }
        let ts = s.elapsed().as_secs_f64() / ns as f64;
        let s = Instant::now();
        for _ in 0..nr {
            run_ref();
        }
        let tr = s.elapsed().as_secs_f64() / nr as f64;
        best_scan = best_scan.min(ts);
        best_ref = best_ref.min(tr);
    }
    (best_scan / best_ref, best_scan)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut path = String::from("benches/budget.toml");
    let mut rounds = 21;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--budget" => path = args.next().unwrap_or_else(|| fail("--budget needs a path")),
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|r| r.parse().ok())
                    .filter(|&r: &usize| r > 0)
                    .unwrap_or_else(|| fail("--rounds needs a positive number"))
            }
            other => fail(&format!(
                "unknown argument `{other}` (--budget PATH, --rounds N)"
            )),
        }
    }
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
    let file: BudgetFile =
        toml::from_str(&source).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
    let fw = Firewall::new().unwrap_or_else(|e| fail(&e.to_string()));
    let mut b = Firewall::builder();
    for k in 0..10 {
        let mut t = format!("Protected text {k}. ");
        t.push_str(&text(
            if k % 2 == 0 {
                Kind::Code
            } else {
                Kind::Russian
            },
            2048 - 24,
        ));
        b = b.protect(t);
    }
    let protected = b.build().unwrap_or_else(|e| fail(&e.to_string()));
    protected.canary();
    fw.warm_up();
    protected.warm_up();
    let ac = reference();
    let (mut passed, mut failed) = (0, 0);
    println!(
        "{:<34} {:>10} {:>10} {:>7} {:>7} {:>7}  verdict",
        "workload", "scan", "reference", "ratio", "max", "target"
    );
    for line in &file.budget {
        let Some((bytes, response)) = workload(&line.workload) else {
            fail(&format!("{path}: unknown workload `{}`", line.workload))
        };
        let scan = || {
            let v = if response {
                protected.scan_response(black_box(&bytes))
            } else {
                fw.scan(black_box(&bytes))
            };
            v.findings.len()
        };
        let (r, t) = ratio(&scan, &ac, &bytes, rounds);
        let reference_time = t / r;
        let limit = line.max_ratio * (1.0 + file.margin);
        let ok = r <= limit;
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
        let target = match line.target_ratio {
            Some(t) if r <= t => format!("{t:>7.2}  {}, meets target", verdict(ok)),
            Some(t) => format!("{t:>7.2}  {}, above target", verdict(ok)),
            None => format!("{:>7}  {}", "-", verdict(ok)),
        };
        println!(
            "{:<34} {:>8.2}µs {:>8.2}µs {:>7.2} {:>7.2} {target}",
            line.workload,
            t * 1e6,
            reference_time * 1e6,
            r,
            line.max_ratio,
        );
    }
    println!("budget: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

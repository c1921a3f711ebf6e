//! A stream of different prompts, scanned one after the other in Rust: the peers corpus
//! (`target/peers/corpus.jsonl`, written by `benches/peers/run.sh`, or any JSON-lines file
//! with `text` and `set` fields), as a gateway sees it. Criterion benchmarks repeat one input,
//! which keeps its automata, regex caches and branch history warm; a stream of real prompts
//! costs up to twice as much. Prints the fastest of `passes` passes over the whole file (a
//! mean per prompt), the process's peak memory and, from all passes, the mean per prompt of
//! each set.
//!
//! ```text
//! cargo run --release -p promptwall-benches --bin stream -- target/peers/corpus.jsonl 8
//! cargo run --release -p promptwall-benches --bin stream -- target/peers/corpus.jsonl 8 \
//!     --policy benches/policies/secrets-only.toml --warm
//! ```
//!
//! `--policy FILE` builds the firewall with that policy (e.g. one that leaves only some
//! categories on). `--warm` also scans each prompt 15 times in a row and reports the fastest,
//! per set: the same prompts with the processor's caches and branch history warm, which is
//! what a benchmark that repeats one input measures; the difference with the stream is what
//! going from one prompt to the next costs.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use promptwall::Firewall;

fn main() {
    let mut positional = Vec::new();
    let mut policy: Option<String> = None;
    let mut warm = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--policy" => match args.next() {
                Some(p) => policy = Some(p),
                None => {
                    eprintln!("stream: --policy needs a file");
                    std::process::exit(2);
                }
            },
            "--warm" => warm = true,
            s if s.starts_with("--") => {
                eprintln!("stream: unknown option `{s}` (--policy FILE, --warm)");
                std::process::exit(2);
            }
            _ => positional.push(a),
        }
    }
    let mut positional = positional.into_iter();
    let path = positional
        .next()
        .unwrap_or_else(|| "target/peers/corpus.jsonl".into());
    let passes: usize = match positional.next().map(|p| p.parse()) {
        None => 8,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("stream: passes must be a number of 1 or more");
            std::process::exit(2);
        }
    };
    let file = match std::fs::read_to_string(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("stream: {path}: {e} (run benches/peers/run.sh to write the corpus)");
            std::process::exit(2);
        }
    };
    let mut prompts: Vec<(String, String)> = Vec::new();
    for (n, line) in file.lines().enumerate() {
        let row: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("stream: {path}:{}: {e}", n + 1);
                std::process::exit(2);
            }
        };
        let Some(text) = row["text"].as_str() else {
            eprintln!("stream: {path}:{}: no `text` string", n + 1);
            std::process::exit(2);
        };
        let set = row["set"].as_str().unwrap_or("all").to_string();
        prompts.push((text.to_string(), set));
    }
    if prompts.is_empty() {
        eprintln!("stream: {path} has no prompts");
        std::process::exit(2);
    }
    let mut builder = Firewall::builder();
    if let Some(p) = &policy {
        builder = builder.policy_file(p);
    }
    let fw = match builder.build() {
        Ok(fw) => fw,
        Err(e) => {
            eprintln!("stream: {e}");
            std::process::exit(2);
        }
    };
    fw.warm_up();
    // One pass to compile the regexes that these prompts need and fill their caches.
    for (text, _) in &prompts {
        black_box(fw.scan(text));
    }
    let mut best = f64::MAX;
    let mut per_set: BTreeMap<&str, (f64, usize, usize)> = BTreeMap::new();
    for _ in 0..passes {
        let pass = Instant::now();
        for (text, set) in &prompts {
            let one = Instant::now();
            black_box(fw.scan(black_box(text)));
            let e = per_set.entry(set).or_default();
            e.0 += one.elapsed().as_secs_f64();
            e.1 += 1;
            e.2 += text.len();
        }
        best = best.min(pass.elapsed().as_secs_f64());
    }
    let bytes: usize = prompts.iter().map(|p| p.0.len()).sum();
    println!(
        "{} prompts, {:.1} KB: fastest of {passes} passes {:.2} us a prompt",
        prompts.len(),
        bytes as f64 / 1024.0,
        best / prompts.len() as f64 * 1e6
    );
    println!(
        "peak memory of the process (VmHWM): {}",
        promptwall_benches::proc_status("VmHWM:")
    );
    // Each prompt scanned again and again: the fastest of 15 scans in a row.
    let mut warm_set: BTreeMap<&str, f64> = BTreeMap::new();
    if warm {
        let mut total = 0.0;
        for (text, set) in &prompts {
            let mut fastest = f64::MAX;
            for _ in 0..15 {
                let one = Instant::now();
                black_box(fw.scan(black_box(text)));
                fastest = fastest.min(one.elapsed().as_secs_f64());
            }
            *warm_set.entry(set).or_default() += fastest;
            total += fastest;
        }
        println!(
            "warm: each prompt the fastest of 15 scans in a row: {:.2} us a prompt",
            total / prompts.len() as f64 * 1e6
        );
    }
    println!(
        "{:<20} {:>7} {:>9} {:>12} {:>9}{}",
        "set",
        "prompts",
        "mean KB",
        "us a prompt",
        "us a KB",
        if warm { "  warm us a prompt" } else { "" }
    );
    for (set, (secs, n, b)) in per_set {
        let n_f = n as f64;
        let per_pass = n / passes;
        println!(
            "{set:<20} {per_pass:>7} {:>9.2} {:>12.2} {:>9.1}{}",
            b as f64 / n_f / 1024.0,
            secs / n_f * 1e6,
            secs * 1e6 / (b as f64 / 1024.0),
            warm_set
                .get(set)
                .map(|w| format!("  {:>17.2}", w / per_pass as f64 * 1e6))
                .unwrap_or_default()
        );
    }
}

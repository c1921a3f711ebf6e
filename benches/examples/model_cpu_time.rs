//! What the learned scorer adds to a 1 KB prompt scan, in on-CPU time: the same prompts as
//! `benches/scan.rs`, scanned with the model on and off, alternately, best of five rounds.
//!
//! On a machine shared with other work, criterion's wall-clock medians include the time a
//! scan waits for a CPU; this counts only the time the scanning thread ran (Linux:
//! `/proc/thread-self/schedstat`).
//!
//! ```bash
//! cargo run --release -p promptwall-benches --example model_cpu_time
//! ```

use std::hint::black_box;

use promptwall::{Firewall, Policy};
use promptwall_benches::{text, Kind};

/// Nanoseconds this thread has run.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) gives the thread's CPU time")
}

fn main() {
    let on = Firewall::new().expect("builds");
    let policy =
        Policy::from_toml("[rules.\"injection.model\"]\nenabled = false\n", "off").expect("policy");
    let off = Firewall::builder().policy(policy).build().expect("builds");
    println!("| 1 KB prompt | model on | model off | the model adds |");
    println!("|---|---:|---:|---:|");
    for kind in [
        Kind::English,
        Kind::Code,
        Kind::Chinese,
        Kind::Russian,
        Kind::Attack,
    ] {
        let t = text(kind, 1024);
        // The thread clock may tick in milliseconds: enough scans to make that small.
        let n = 100_000;
        let mut best = [f64::MAX; 2];
        for _ in 0..5 {
            for (k, fw) in [&on, &off].into_iter().enumerate() {
                let start = cpu_ns();
                for _ in 0..n {
                    black_box(fw.scan(black_box(&t)));
                }
                let per = (cpu_ns() - start) as f64 / f64::from(n) / 1000.0;
                best[k] = best[k].min(per);
            }
        }
        println!(
            "| {} | {:.2} µs | {:.2} µs | {:.2} µs |",
            kind.name(),
            best[0],
            best[1],
            best[0] - best[1]
        );
    }
}

//! Peak memory and first-build time of a process that builds the engine from the built-in
//! packs and scans 10,000 prompts (1 KB to 100 KB of the benchmark kinds, and the
//! adversarial inputs), as `benches/README.md` reports them.
//!
//! ```text
//! cargo run --release -p promptwall-benches --bin memory
//! ```
//! Linux only (reads VmHWM and VmRSS from /proc/self/status).

use std::time::Instant;

use promptwall::Firewall;
use promptwall_benches::{adversarial, proc_status as status, text, Kind};

fn main() {
    println!("before build: VmRSS {}", status("VmRSS:"));
    let s = Instant::now();
    let fw = match Firewall::new() {
        Ok(fw) => fw,
        Err(e) => {
            eprintln!("memory: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "first build in the process: {:.1} ms; VmRSS {}",
        s.elapsed().as_secs_f64() * 1e3,
        status("VmRSS:")
    );
    let mut prompts: Vec<String> = Vec::new();
    for kind in Kind::ALL {
        for size in [1024, 4096, 10 * 1024, 100 * 1024] {
            prompts.push(text(kind, size));
        }
    }
    prompts.extend(adversarial(100 * 1024).into_iter().map(|(_, t)| t));
    let s = Instant::now();
    let mut findings = 0usize;
    for i in 0..10_000 {
        findings += fw.scan(&prompts[i % prompts.len()]).findings.len();
    }
    println!(
        "10,000 scans ({} distinct prompts, {findings} findings): {:.2} s",
        prompts.len(),
        s.elapsed().as_secs_f64()
    );
    let s = Instant::now();
    fw.warm_up();
    println!(
        "warm_up after the scans: {:.1} ms",
        s.elapsed().as_secs_f64() * 1e3
    );
    println!("peak memory (VmHWM): {}", status("VmHWM:"));
}

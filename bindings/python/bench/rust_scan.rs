//! The Rust side of `bench/overhead.py`: the median time of one scan of the same 1 KB prompt
//! with the engine called directly, to subtract from the time seen from Python.
//!
//! `cargo run --release --locked -p promptwall-python --example rust_scan [-- FILE]`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/bench");
    let files: Vec<String> = match std::env::args().nth(1) {
        Some(f) => vec![f],
        None => vec![
            format!("{dir}/prompt_1kb.txt"),
            format!("{dir}/prompt_1kb_findings.txt"),
        ],
    };
    let fw = promptwall::Firewall::new()?;
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let findings = fw.scan(&text).findings.len();
        // Calibrate to about 20 ms a round, then take the median of 25 rounds.
        let mut n = 1u32;
        loop {
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(fw.scan(std::hint::black_box(&text)));
            }
            if t.elapsed().as_millis() >= 20 {
                break;
            }
            n *= 2;
        }
        let mut rounds: Vec<f64> = (0..25)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..n {
                    std::hint::black_box(fw.scan(std::hint::black_box(&text)));
                }
                t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        println!(
            "rust  scan  {:>5} B, {} findings: median {:.3} us/call",
            text.len(),
            findings,
            rounds[rounds.len() / 2]
        );
    }
    Ok(())
}

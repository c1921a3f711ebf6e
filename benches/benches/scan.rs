//! Scan speed: full scans of 1 KB, 10 KB and 100 KB prompts of several kinds, engine build
//! time, and a reference Aho-Corasick pass over the same bytes to compare against.
//!
//! Each workload first checks what the engine says about it (the expected action), so a
//! benchmark of a broken engine fails instead of reporting a meaningless number.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use promptwall::{Action, Firewall};
use promptwall_benches::{text, Kind};

const SIZES: [(usize, &str); 3] = [(1024, "1KB"), (10 * 1024, "10KB"), (100 * 1024, "100KB")];

fn expected(kind: Kind) -> Action {
    match kind {
        Kind::English | Kind::Code | Kind::Chinese | Kind::Russian => Action::Allow,
        Kind::Attack | Kind::Secrets => Action::Block,
    }
}

fn scan(c: &mut Criterion) {
    let fw = Firewall::new().expect("built-in rules build");
    let mut group = c.benchmark_group("scan");
    for kind in Kind::ALL {
        for (size, label) in SIZES {
            let t = text(kind, size);
            assert_eq!(
                fw.scan(&t).action,
                expected(kind),
                "{} {label}",
                kind.name()
            );
            group.throughput(Throughput::Bytes(t.len() as u64));
            group.bench_with_input(BenchmarkId::new(kind.name(), label), &t, |b, t| {
                b.iter(|| fw.scan(black_box(t)))
            });
        }
    }
    group.finish();
}

fn reference(c: &mut Criterion) {
    // A plain Aho-Corasick DFA pass with a few hundred literals: the floor a keyword-gated
    // scanner is measured against.
    let words: Vec<String> = (0..400).map(|i| format!("kw{i:03}x")).collect();
    let ac = aho_corasick::AhoCorasick::builder()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(&words)
        .expect("automaton");
    let mut group = c.benchmark_group("reference-aho-corasick");
    for kind in [Kind::English, Kind::Chinese] {
        let t = text(kind, 1024);
        group.throughput(Throughput::Bytes(t.len() as u64));
        group.bench_with_input(BenchmarkId::new(kind.name(), "1KB"), &t, |b, t| {
            b.iter(|| ac.find_iter(black_box(t.as_str())).count())
        });
    }
    group.finish();
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.bench_function("default-rules", |b| {
        b.iter(|| Firewall::new().expect("builds"))
    });
    group.finish();
}

criterion_group!(benches, scan, reference, build);
criterion_main!(benches);

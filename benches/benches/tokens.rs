//! Token counting: exact counts of 1 KB prompts of several kinds in both encodings, the
//! long single piece `"a"` × 100,000, early exit at a limit, and what a token limit adds to
//! the scan of a 1 KB prompt that is within it in bytes (nothing is counted).
//!
//! Each workload first checks its count, so a broken counter fails instead of reporting a
//! meaningless number.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use promptwall::tokens::Encoding;
use promptwall::{Firewall, Policy};
use promptwall_benches::{text, Kind};

fn count(c: &mut Criterion) {
    let mut group = c.benchmark_group("tokens");
    for &enc in Encoding::ALL {
        enc.load();
        for kind in [Kind::English, Kind::Code, Kind::Chinese, Kind::Russian] {
            let t = text(kind, 1024);
            assert!(enc.count(&t) > 0);
            group.throughput(Throughput::Bytes(t.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(enc.name(), format!("{}-1KB", kind.name())),
                &t,
                |b, t| b.iter(|| enc.count(black_box(t))),
            );
        }
        let a = "a".repeat(100_000);
        assert_eq!(enc.count(&a), 12_500);
        group.throughput(Throughput::Bytes(a.len() as u64));
        group.bench_with_input(BenchmarkId::new(enc.name(), "a-x100K"), &a, |b, t| {
            b.iter(|| enc.count(black_box(t)))
        });
        assert_eq!(enc.count_till_limit(&a, 8000), None);
        group.bench_with_input(
            BenchmarkId::new(enc.name(), "a-x100K-limit-8000"),
            &a,
            |b, t| b.iter(|| enc.count_till_limit(black_box(t), 8000)),
        );
    }
    group.finish();
}

fn limit_overhead(c: &mut Criterion) {
    let t = text(Kind::English, 1024);
    let plain = Firewall::new().expect("builds");
    let policy = Policy::from_toml("[tokens]\nmax_input = 8000\n", "bench").expect("valid");
    let limited = Firewall::builder().policy(policy).build().expect("builds");
    let v = limited.scan(&t);
    assert!(
        !v.tokens_exact,
        "a 1 KB prompt is within 8000 tokens without counting"
    );
    let mut group = c.benchmark_group("scan-token-limit");
    group.throughput(Throughput::Bytes(t.len() as u64));
    group.bench_function("english-1KB/no-limit", |b| {
        b.iter(|| plain.scan(black_box(&t)))
    });
    group.bench_function("english-1KB/max_input-8000", |b| {
        b.iter(|| limited.scan(black_box(&t)))
    });
    group.finish();
}

criterion_group!(benches, count, limit_overhead);
criterion_main!(benches);

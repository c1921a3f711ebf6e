//! The cost of each view: building the normalised view of 1 KB of ASCII, Chinese and
//! Russian text, and full scans of adversarial 100 KB inputs (one character repeated, nested
//! base64, zero-width characters, combining marks, homoglyphs) that must stay linear.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use promptwall::normalize::Normalized;
use promptwall::Firewall;
use promptwall_benches::{adversarial, text, Kind};

fn normalize(c: &mut Criterion) {
    let mut group = c.benchmark_group("normalize");
    for kind in [Kind::English, Kind::Chinese, Kind::Russian, Kind::Code] {
        let t = text(kind, 1024);
        group.throughput(Throughput::Bytes(t.len() as u64));
        let mut n = Normalized::default();
        group.bench_with_input(BenchmarkId::new(kind.name(), "1KB"), &t, |b, t| {
            b.iter(|| {
                n.build(black_box(t));
                n.text.len()
            })
        });
    }
    group.finish();
}

fn hostile(c: &mut Criterion) {
    let fw = Firewall::new().expect("built-in rules build");
    let mut group = c.benchmark_group("adversarial");
    group.sample_size(20);
    for (name, t) in adversarial(100 * 1024) {
        group.throughput(Throughput::Bytes(t.len() as u64));
        group.bench_with_input(BenchmarkId::new(name, "100KB"), &t, |b, t| {
            b.iter(|| fw.scan(black_box(t)))
        });
    }
    group.finish();
}

criterion_group!(benches, normalize, hostile);
criterion_main!(benches);

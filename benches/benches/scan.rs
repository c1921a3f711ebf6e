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

/// Whether the engine says the expected thing about a workload: attack and secret texts are
/// blocked; the others raise nothing but, for the long ones that repeat the same passages
/// over and over, a repetition flood (category abuse).
fn behaves(kind: Kind, v: &promptwall::Verdict) -> bool {
    match kind {
        Kind::English | Kind::Code | Kind::Chinese | Kind::Russian => v
            .findings
            .iter()
            .all(|f| &*f.rule == promptwall::FLOOD_RULE),
        Kind::Attack | Kind::Secrets => v.action == Action::Block,
    }
}

fn scan(c: &mut Criterion) {
    let fw = Firewall::new().expect("built-in rules build");
    let mut group = c.benchmark_group("scan");
    for kind in Kind::ALL {
        for (size, label) in SIZES {
            let t = text(kind, size);
            assert!(behaves(kind, &fw.scan(&t)), "{} {label}", kind.name());
            group.throughput(Throughput::Bytes(t.len() as u64));
            group.bench_with_input(BenchmarkId::new(kind.name(), label), &t, |b, t| {
                b.iter(|| fw.scan(black_box(t)))
            });
        }
    }
    group.finish();
}

/// The learned scorer's cost: the same 1 KB prompts scanned with the model on (the default)
/// and off (`[rules."injection.model"] enabled = false`), in one run.
fn model(c: &mut Criterion) {
    let on = Firewall::new().expect("builds");
    let policy = promptwall::Policy::from_toml(
        "[rules.\"injection.model\"]\nenabled = false\n",
        "model-off",
    )
    .expect("policy");
    let off = Firewall::builder().policy(policy).build().expect("builds");
    let mut group = c.benchmark_group("model");
    for kind in [Kind::English, Kind::Code, Kind::Chinese, Kind::Attack] {
        let t = text(kind, 1024);
        assert!(behaves(kind, &on.scan(&t)), "{}", kind.name());
        assert!(off
            .scan(&t)
            .findings
            .iter()
            .all(|f| &*f.rule != promptwall::MODEL_RULE));
        group.throughput(Throughput::Bytes(t.len() as u64));
        let model = promptwall::Model::builtin().expect("the built-in model loads");
        group.bench_with_input(
            BenchmarkId::new(kind.name(), "1KB/model-pass-only"),
            &t,
            |b, t| b.iter(|| model.judge_text(black_box(t), &[])),
        );
        for (name, fw) in [("on", &on), ("off", &off)] {
            group.bench_with_input(
                BenchmarkId::new(kind.name(), format!("1KB/{name}")),
                &t,
                |b, t| b.iter(|| fw.scan(black_box(t))),
            );
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

/// Response scans of 4 KB of prose, without and with 10 protected texts of 2 KB each (the
/// protected texts are other passages, so the response does not leak them: the cost of
/// checking, not of reporting).
fn response(c: &mut Criterion) {
    let reply = text(Kind::English, 4096);
    let plain = Firewall::new().expect("builds");
    let mut b = Firewall::builder();
    for k in 0..10 {
        // Distinct texts: numbered sentences of code and Russian passages.
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
    let protected = b.build().expect("builds");
    protected.canary();
    assert_eq!(protected.scan_response(&reply).action, Action::Allow);
    let leak = format!("{reply} {}", &text(Kind::Code, 2048)[..400]);
    assert!(protected
        .scan_response(&leak)
        .findings
        .iter()
        .any(|f| &*f.rule == promptwall::PROTECTED_RULE));
    let mut group = c.benchmark_group("response");
    group.throughput(Throughput::Bytes(reply.len() as u64));
    group.bench_function("4KB/plain", |b| {
        b.iter(|| plain.scan_response(black_box(&reply)))
    });
    group.bench_function("4KB/protected-10x2KB+canary", |b| {
        b.iter(|| protected.scan_response(black_box(&reply)))
    });
    group.finish();
}

/// Building the engine from the built-in packs (parsed once per process; their regexes
/// compile on first use), and with everything compiled up front (`warm_up`). The first
/// build in a process, which also parses the packs, is timed by `src/bin/memory.rs`.
fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.bench_function("default-rules", |b| {
        b.iter(|| Firewall::new().expect("builds"))
    });
    group.bench_function("default-rules+warm-up", |b| {
        b.iter(|| {
            let fw = Firewall::new().expect("builds");
            fw.warm_up();
            fw
        })
    });
    group.finish();
}

/// Redacting 1 KB of configuration text with keys, a database URL and an e-mail address.
fn redact(c: &mut Criterion) {
    let fw = Firewall::new().expect("builds");
    let t = text(Kind::Secrets, 1024);
    let redacted = fw.redact(&t);
    assert!(!redacted.contains("AKIAUJZDEGXDNCF32EPF"), "{redacted}");
    let mut group = c.benchmark_group("redact");
    group.throughput(Throughput::Bytes(t.len() as u64));
    group.bench_function("secrets/1KB", |b| b.iter(|| fw.redact(black_box(&t))));
    group.finish();
}

criterion_group!(benches, scan, reference, response, build, redact, model);
criterion_main!(benches);

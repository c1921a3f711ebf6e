//! Replays the fuzz targets' committed inputs through the same checks as the fuzz targets
//! (`promptwall_tests::hostile`): the seed corpora (`fuzz/seeds/<target>/`) and every crash
//! reproducer found so far (`fuzz/regressions/<target>/`), so a fixed bug stays fixed in an
//! ordinary `cargo test`, without cargo-fuzz. The C ABI target's inputs are replayed by the
//! C ABI crate's own test (`bindings/c/tests/fuzz_replay.rs`).

use std::path::Path;

use promptwall_tests::hostile::TARGETS;
use promptwall_tests::repo_root;

/// The files of one folder, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).expect("readable");
            (p.display().to_string(), data)
        })
        .collect()
}

#[test]
fn committed_fuzz_inputs_pass_their_checks() {
    let root = repo_root().join("fuzz");
    let mut replayed = 0;
    for (target, check) in TARGETS {
        let seeds = inputs(&root.join("seeds").join(target));
        assert!(!seeds.is_empty(), "no seeds for the {target} fuzz target");
        for kind in ["seeds", "regressions"] {
            for (name, data) in inputs(&root.join(kind).join(target)) {
                let outcome = std::panic::catch_unwind(|| check(&data));
                assert!(outcome.is_ok(), "{name} fails the {target} check");
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 100, "only {replayed} inputs replayed");
}

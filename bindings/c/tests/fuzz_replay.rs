//! Replays the `c_abi` fuzz target's committed inputs (`fuzz/seeds/c_abi/` and any crash
//! reproducer in `fuzz/regressions/c_abi/`) through the same check as the fuzz target, in an
//! ordinary `cargo test`.

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn committed_c_abi_fuzz_inputs_pass_their_check() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let seeds = inputs(&fuzz.join("seeds/c_abi"));
    assert!(seeds.len() >= 20, "only {} c_abi seeds", seeds.len());
    for path in seeds.iter().chain(&inputs(&fuzz.join("regressions/c_abi"))) {
        let data = std::fs::read(path).expect("readable");
        let outcome = std::panic::catch_unwind(|| promptwall_c::fuzzing::calls(&data));
        assert!(outcome.is_ok(), "{} fails the c_abi check", path.display());
    }
}

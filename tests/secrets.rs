//! Secret rules end to end: recall on planted secrets, silence on benign prompts, the
//! keyword prefilter's selectivity, and that no output form carries a whole secret.

use promptwall::{Category, Firewall, Verdict};
use promptwall_tests::{dev_benign, planted, Planted};

fn firewall() -> Firewall {
    Firewall::new().expect("built-in rules build")
}

/// The secret texts a verdict found in `text`.
fn secrets_in<'t>(v: &Verdict, text: &'t str) -> Vec<&'t str> {
    v.findings
        .iter()
        .filter(|f| f.category.is_sensitive())
        .map(|f| &text[f.start..f.end])
        .collect()
}

#[test]
fn enough_secret_rules() {
    let n = firewall()
        .rules()
        .iter()
        .filter(|r| r.category == Category::Secret)
        .count();
    assert!(n >= 120, "only {n} secret rules");
}

#[test]
fn planted_secrets_are_found() {
    let fw = firewall();
    let cases = planted(&fw, Category::Secret);
    let missed: Vec<&Planted> = cases
        .iter()
        .filter(|p| !fw.scan(&p.text).findings.iter().any(|f| *f.rule == p.rule))
        .collect();
    let recall = 1.0 - missed.len() as f64 / cases.len() as f64;
    eprintln!(
        "planted-secret recall: {recall:.4} ({} of {} found)",
        cases.len() - missed.len(),
        cases.len()
    );
    let names: Vec<&str> = missed.iter().map(|p| p.rule.as_str()).collect();
    assert!(recall >= 0.99, "recall {recall:.4}; missed: {names:?}");
}

#[test]
fn benign_dev_prompts_have_no_secret_findings() {
    let fw = firewall();
    let prompts = dev_benign();
    if prompts.is_empty() {
        eprintln!("no development set: skipped");
        return;
    }
    let hits: Vec<String> = prompts
        .iter()
        .flat_map(|p| {
            fw.scan(p)
                .findings
                .into_iter()
                .filter(|f| f.category == Category::Secret)
                .map(|f| format!("{} {}", f.rule, f.excerpt))
        })
        .collect();
    eprintln!("{} benign prompts scanned", prompts.len());
    assert!(hits.is_empty(), "{} secret findings: {hits:?}", hits.len());
}

/// How many secret rules would run their regex on a prompt: those with a keyword in it.
/// Keywords are case-insensitive substrings, so this counts what the prefilter lets through.
fn secret_rules_gated_open(fw: &Firewall, text: &str) -> usize {
    let lower = text.to_lowercase();
    fw.rules()
        .iter()
        .filter(|r| r.category == Category::Secret)
        .filter(|r| r.keywords.iter().any(|k| lower.contains(&k.to_lowercase())))
        .count()
}

#[test]
fn keywords_keep_secret_regexes_off_ordinary_prose() {
    let fw = firewall();
    let prompts = dev_benign();
    if prompts.is_empty() {
        return;
    }
    let counts: Vec<usize> = prompts
        .iter()
        .map(|p| secret_rules_gated_open(&fw, p))
        .collect();
    let total: usize = counts.iter().sum();
    let none = counts.iter().filter(|&&c| c == 0).count();
    let mean = total as f64 / counts.len() as f64;
    eprintln!(
        "secret rules run per benign prompt: mean {mean:.3}; {none} of {} prompts run none",
        counts.len()
    );
    assert!(
        mean < 1.0,
        "secret keywords hit ordinary prompts too often: {mean:.3}"
    );
}

#[test]
fn planted_secrets_never_appear_whole_in_json_debug_or_redaction() {
    let fw = firewall();
    let mut checked = 0;
    for p in planted(&fw, Category::Secret) {
        for v in [fw.scan(&p.text), fw.scan_response(&p.text)] {
            let json = v.to_json();
            let debug = format!("{v:?}");
            let pretty = format!("{v:#?}");
            let redacted = fw.redact(&p.text);
            for s in secrets_in(&v, &p.text) {
                checked += 1;
                assert!(!json.contains(s), "{}: JSON carries {s:?}", p.rule);
                assert!(!debug.contains(s), "{}: Debug carries the secret", p.rule);
                assert!(!pretty.contains(s), "{}: Debug carries the secret", p.rule);
                assert!(!redacted.contains(s), "{}: redaction left it", p.rule);
                // No half of it either: redaction leaves no prefix or suffix behind.
                if s.len() >= 16 && s.is_ascii() {
                    let (a, b) = s.split_at(s.len() / 2);
                    assert!(
                        !redacted.contains(a) && !redacted.contains(b),
                        "{}: redaction left part of the secret",
                        p.rule
                    );
                }
            }
        }
    }
    assert!(checked > 200, "only {checked} secrets checked");
}

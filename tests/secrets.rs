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

/// Rules whose regex a scan of `text` runs, each once (views counted once).
fn evaluated<'f>(fw: &'f Firewall, text: &str) -> Vec<&'f str> {
    let mut ids = fw.rules_evaluated(text);
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[test]
fn clean_prose_runs_no_regex_and_benign_prompts_few() {
    let fw = firewall();
    // About 1 KB of English with the numbers ordinary prose has: a date, a time, a price,
    // a version, a count.
    let prompt = format!(
        "{}\nWe meet on 12 May 2025 at 10:30 in room 4; the budget is $1,250.00 for 30 \
         people, and the app must be on version 2.4.1 by then.",
        promptwall_tests::clean_prose()
    );
    assert!((1000..1100).contains(&prompt.len()), "{}", prompt.len());
    let ran = evaluated(&fw, &prompt);
    eprintln!(
        "clean 1 KB prompt ({} bytes): {} rules evaluated {ran:?}",
        prompt.len(),
        ran.len()
    );
    assert!(ran.is_empty(), "regexes ran on clean prose: {ran:?}");
    assert!(fw.scan(&prompt).is_allowed());

    let prompts = dev_benign();
    if prompts.is_empty() {
        return;
    }
    let (mut all, mut sensitive, mut none) = (0usize, 0usize, 0usize);
    for p in &prompts {
        let ids = evaluated(&fw, p);
        none += usize::from(ids.is_empty());
        all += ids.len();
        sensitive += ids
            .iter()
            .filter(|id| id.starts_with("secret.") || id.starts_with("pii."))
            .count();
    }
    let n = prompts.len() as f64;
    eprintln!(
        "benign dev prompts: {} prompts, rules evaluated per prompt: mean {:.3} (secret and \
         PII rules {:.3}); {none} prompts ran none",
        prompts.len(),
        all as f64 / n,
        sensitive as f64 / n
    );
    assert!(all as f64 / n < 1.5, "mean {:.3}", all as f64 / n);
    assert!(
        sensitive as f64 / n < 0.1,
        "secret/PII mean {:.3}",
        sensitive as f64 / n
    );
}

#[test]
fn planted_pii_is_found_and_benign_prompts_rarely_hold_any() {
    let fw = firewall();
    let cases = planted(&fw, Category::Pii);
    let missed: Vec<&str> = cases
        .iter()
        .filter(|p| !fw.scan(&p.text).findings.iter().any(|f| *f.rule == p.rule))
        .map(|p| p.rule.as_str())
        .collect();
    eprintln!(
        "planted PII: {} of {} found",
        cases.len() - missed.len(),
        cases.len()
    );
    assert!(missed.is_empty(), "missed: {missed:?}");
    // The development set's benign prompts hold real-looking e-mail addresses (a support
    // address to write to, say): those are personal data. Phone numbers, IP and wallet
    // addresses there would be false positives of the newer rules.
    let prompts = dev_benign();
    let pii: Vec<(String, String)> = prompts
        .iter()
        .flat_map(|p| fw.scan(p).findings.into_iter())
        .filter(|f| f.category == Category::Pii)
        .map(|f| (f.rule.to_string(), f.excerpt))
        .collect();
    let emails = pii.iter().filter(|(r, _)| r == "pii.email").count();
    let other: Vec<_> = pii.iter().filter(|(r, _)| r != "pii.email").collect();
    eprintln!(
        "benign dev prompts: {} prompts, {emails} e-mail findings, other PII: {other:?}",
        prompts.len()
    );
    assert!(other.is_empty(), "{other:?}");
}

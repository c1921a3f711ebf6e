//! Exact token counts against the table that OpenAI's tiktoken wrote
//! (`tests/data/tokens/counts.jsonl`, from `generate.py`).

use promptwall::tokens::{self, Encoding};
use promptwall_tests::load_token_cases;

#[test]
fn counts_equal_tiktoken() {
    let cases = load_token_cases();
    assert!(cases.len() >= 50, "the table has {} texts", cases.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in &cases {
        let text = case.full_text();
        for &enc in Encoding::ALL {
            let want = case.expected(enc.name());
            let got = tokens::count(&text, enc);
            checked += 1;
            if got != want {
                failures.push(format!(
                    "{} ({enc}): {got}, tiktoken says {want}",
                    case.name
                ));
            }
            // At the exact limit the count comes back; one below, it does not.
            if tokens::count_till_limit(&text, enc, want) != Some(want)
                || (want > 0 && tokens::count_till_limit(&text, enc, want - 1).is_some())
            {
                failures.push(format!(
                    "{} ({enc}): count_till_limit around {want}",
                    case.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} counts differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn both_encodings_ship() {
    assert_eq!(
        Encoding::ALL.iter().map(|e| e.name()).collect::<Vec<_>>(),
        ["o200k_base", "cl100k_base"]
    );
}

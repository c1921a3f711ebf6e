//! Masked excerpts and redaction.

use crate::verdict::Finding;

/// Longest excerpt of non-sensitive text, in characters.
const EXCERPT_CHARS: usize = 80;

/// A masked form of a secret: at most a fifth of its characters at each end (never more than
/// four), the rest replaced by `…`. Short values show nothing.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    let keep = (n / 5).min(4);
    if keep == 0 {
        return "…".to_string();
    }
    let head: String = secret.chars().take(keep).collect();
    let tail: String = secret.chars().skip(n - keep).collect();
    format!("{head}…{tail}")
}

/// An excerpt of ordinary matched text: control characters shown as spaces, shortened to
/// [`EXCERPT_CHARS`] characters.
pub fn excerpt(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(EXCERPT_CHARS * 4));
    for (i, c) in text.chars().enumerate() {
        if i == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// `original` with the spans of secret and personal-data findings replaced by
/// `[REDACTED:<rule-id>]`; overlapping spans merge under the first (strongest) rule.
pub fn apply(original: &str, findings: &[Finding]) -> String {
    let mut spans: Vec<(usize, usize, &str)> = findings
        .iter()
        .filter(|f| f.category.is_sensitive())
        .filter(|f| f.start < f.end && f.end <= original.len())
        .filter(|f| original.is_char_boundary(f.start) && original.is_char_boundary(f.end))
        .map(|f| (f.start, f.end, &*f.rule))
        .collect();
    if spans.is_empty() {
        return original.to_string();
    }
    // Stable sort keeps the strongest finding first among equal starts.
    spans.sort_by_key(|s| s.0);
    let mut out = String::with_capacity(original.len());
    let mut pos = 0;
    let mut i = 0;
    while i < spans.len() {
        let (start, mut end, rule) = spans[i];
        i += 1;
        while i < spans.len() && spans[i].0 < end {
            end = end.max(spans[i].1);
            i += 1;
        }
        out.push_str(&original[pos..start]);
        out.push_str("[REDACTED:");
        out.push_str(rule);
        out.push(']');
        pos = end;
    }
    out.push_str(&original[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{Category, Severity};

    fn f(rule: &str, category: Category, start: usize, end: usize) -> Finding {
        Finding {
            rule: rule.into(),
            category,
            severity: Severity::High,
            score: 0.9,
            start,
            end,
            view: "raw".into(),
            excerpt: String::new(),
        }
    }

    #[test]
    fn mask_hides_most_of_a_secret() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(mask("abcdefghij"), "ab…ij");
        assert_eq!(mask("abc"), "…");
        let long = "x".repeat(100);
        assert_eq!(mask(&long).chars().count(), 9);
    }

    #[test]
    fn excerpt_shortens_and_cleans() {
        assert_eq!(excerpt("a\nb"), "a b");
        assert_eq!(excerpt(&"y".repeat(200)).chars().count(), EXCERPT_CHARS + 1);
    }

    #[test]
    fn redaction_replaces_only_sensitive_spans_and_merges_overlaps() {
        let text = "key AKIAIOSFODNN7EXAMPLE mail a@b.co ignore";
        let fs = vec![
            f("secret.aws", Category::Secret, 4, 24),
            f("secret.other", Category::Secret, 10, 20),
            f("pii.email", Category::Pii, 30, 36),
            f("injection.x", Category::Injection, 37, 43),
        ];
        assert_eq!(
            apply(text, &fs),
            "key [REDACTED:secret.aws] mail [REDACTED:pii.email] ignore"
        );
        assert_eq!(apply(text, &[]), text);
    }

    #[test]
    fn redaction_ignores_bad_spans() {
        let fs = vec![
            f("pii.x", Category::Pii, 1, 99),
            f("pii.y", Category::Pii, 1, 2),
        ];
        assert_eq!(apply("é", &fs), "é");
    }
}

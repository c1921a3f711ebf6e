//! Masked excerpts and redaction.

use crate::verdict::Finding;

/// Longest accepted redaction placeholder template, in bytes.
const MAX_PLACEHOLDER_BYTES: usize = 256;

/// What redaction writes in place of a secret or personal data: a template such as
/// `[REDACTED:{rule}]` (the default) or `[{category}:{rule}]`.
///
/// `{rule}` is the rule id, `{category}` its category (`secret`, `pii`), `{severity}` its
/// severity; `{{` and `}}` write a brace. Any other `{...}` is an error, so that a typo does
/// not end up in every redacted text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    template: String,
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Rule,
    Category,
    Severity,
}

impl Default for Placeholder {
    fn default() -> Self {
        Placeholder {
            template: "[REDACTED:{rule}]".to_string(),
            pieces: vec![
                Piece::Text("[REDACTED:".to_string()),
                Piece::Rule,
                Piece::Text("]".to_string()),
            ],
        }
    }
}

impl Placeholder {
    /// Parses a template; the error says what is wrong with it.
    pub fn parse(template: &str) -> Result<Placeholder, String> {
        if template.len() > MAX_PLACEHOLDER_BYTES {
            return Err(format!(
                "longer than {MAX_PLACEHOLDER_BYTES} bytes ({})",
                template.len()
            ));
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = template;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                text.push(char::from(tail.as_bytes()[0]));
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err("a `}` with no `{` before it (write `}}` for a brace)".into());
            }
            let Some(end) = tail.find('}') else {
                return Err("unclosed `{` (write `{{` for a brace)".into());
            };
            let piece = match &tail[1..end] {
                "rule" => Piece::Rule,
                "category" => Piece::Category,
                "severity" => Piece::Severity,
                other => {
                    return Err(format!(
                        "unknown field `{{{}}}` (use {{rule}}, {{category}} or {{severity}})",
                        other.escape_debug()
                    ))
                }
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
            rest = &tail[end + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Placeholder {
            template: template.to_string(),
            pieces,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.template
    }

    fn write(&self, out: &mut String, f: &Finding) {
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Rule => out.push_str(&f.rule),
                Piece::Category => out.push_str(f.category.as_str()),
                Piece::Severity => out.push_str(f.severity.as_str()),
            }
        }
    }
}

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

/// `original` with the spans of secret and personal-data findings replaced by `placeholder`;
/// overlapping spans merge under the first (strongest) finding.
pub fn apply(original: &str, findings: &[Finding], placeholder: &Placeholder) -> String {
    let mut spans: Vec<(usize, usize, &Finding)> = findings
        .iter()
        .filter(|f| f.category.is_sensitive())
        .filter(|f| f.start < f.end && f.end <= original.len())
        .filter(|f| original.is_char_boundary(f.start) && original.is_char_boundary(f.end))
        .map(|f| (f.start, f.end, f))
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
        let (start, mut end, finding) = spans[i];
        i += 1;
        while i < spans.len() && spans[i].0 < end {
            end = end.max(spans[i].1);
            i += 1;
        }
        out.push_str(&original[pos..start]);
        placeholder.write(&mut out, finding);
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
            apply(text, &fs, &Placeholder::default()),
            "key [REDACTED:secret.aws] mail [REDACTED:pii.email] ignore"
        );
        assert_eq!(apply(text, &[], &Placeholder::default()), text);
    }

    #[test]
    fn placeholder_templates() {
        let text = "key AKIAIOSFODNN7EXAMPLE mail a@b.co";
        let fs = vec![
            f("secret.aws", Category::Secret, 4, 24),
            f("pii.email", Category::Pii, 30, 36),
        ];
        let p = Placeholder::parse("[{category}:{rule}]").expect("valid");
        assert_eq!(
            apply(text, &fs, &p),
            "key [secret:secret.aws] mail [pii:pii.email]"
        );
        let p = Placeholder::parse("{{{severity}}}").expect("valid");
        assert_eq!(apply(text, &fs, &p), "key {high} mail {high}");
        let p = Placeholder::parse("***").expect("valid");
        assert_eq!(apply(text, &fs, &p), "key *** mail ***");
        assert_eq!(
            Placeholder::parse("[REDACTED:{rule}]"),
            Ok(Placeholder::default())
        );
        assert!(Placeholder::parse("{rule").is_err());
        assert!(Placeholder::parse("rule}").is_err());
        assert!(Placeholder::parse("{secret}").is_err());
        assert!(Placeholder::parse(&"x".repeat(300)).is_err());
    }

    #[test]
    fn redaction_ignores_bad_spans() {
        let fs = vec![
            f("pii.x", Category::Pii, 1, 99),
            f("pii.y", Category::Pii, 1, 2),
        ];
        assert_eq!(apply("é", &fs, &Placeholder::default()), "é");
    }
}

//! Cost-abuse heuristics that phrase rules cannot express: repetition floods, many-shot
//! stuffing, and texts made mostly of non-linguistic tokens.
//!
//! Each is a finding with its own rule id in category `abuse`, rescored or disabled by policy
//! like any rule. They look at the original text in one pass over its whitespace-separated
//! tokens, and only when it is long enough for the abuse to cost anything: texts under
//! [`MIN_FLOOD_BYTES`] pay nothing but one SIMD count of colons.

/// Rule id: a character, word, phrase or line repeated far beyond normal text.
pub const FLOOD_RULE: &str = "abuse.flood.repetition";
/// Rule id: dozens of dialogue turns or question/answer pairs stuffed into one prompt.
pub const MANY_SHOT_RULE: &str = "abuse.many-shot";
/// Rule id: a text made mostly of random-looking tokens or emoji (base64 blobs, hex dumps),
/// which cost several times the tokens of prose.
pub const NON_LINGUISTIC_RULE: &str = "abuse.non-linguistic";

/// The three heuristics' rule ids.
pub const ABUSE_HEURISTICS: [&str; 3] = [FLOOD_RULE, MANY_SHOT_RULE, NON_LINGUISTIC_RULE];

/// Default scores: a flood or many-shot stuffing flags; non-linguistic text alone does not.
pub(crate) const FLOOD_SCORE: f64 = 0.6;
pub(crate) const MANY_SHOT_SCORE: f64 = 0.6;
pub(crate) const NON_LINGUISTIC_SCORE: f64 = 0.3;

/// Shortest text checked for floods and non-linguistic content.
pub const MIN_FLOOD_BYTES: usize = 2048;
/// Fewest dialogue turns for many-shot stuffing.
pub const MIN_TURNS: usize = 24;
/// The same token this many times in a row is a flood.
const MIN_TOKEN_RUN: usize = 64;
/// A token this long made of one short pattern repeated (`aaaa…`, `abab…`) is a flood.
const MIN_PERIODIC_TOKEN: usize = 512;
/// With at least this many tokens, fewer than 1 distinct in `FEW_DISTINCT` is a flood (the
/// same kilobyte of text pasted ten times or more).
const MIN_TOKENS_FOR_RATIO: usize = 1000;
const FEW_DISTINCT: usize = 20;
/// Share of bytes in random-looking tokens and emoji, in percent, above which a text is
/// non-linguistic.
const NON_LINGUISTIC_PERCENT: usize = 70;

/// One heuristic finding: rule id, span of the original text, default score, excerpt.
#[derive(Debug, PartialEq)]
pub(crate) struct AbuseFinding {
    pub rule: &'static str,
    pub start: usize,
    pub end: usize,
    pub score: f64,
    pub excerpt: String,
}

/// Runs the heuristics over `text`.
pub(crate) fn check(text: &str) -> Vec<AbuseFinding> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    if memchr::memchr_iter(b':', b).nth(MIN_TURNS - 1).is_some() {
        if let Some(f) = many_shot(text) {
            out.push(f);
        }
    }
    if b.len() >= MIN_FLOOD_BYTES {
        tokens(text, &mut out);
    }
    out
}

/// Speaker labels of dialogue turns, lowercase.
const ROLES: &[&str] = &[
    "human",
    "user",
    "assistant",
    "ai",
    "bot",
    "chatbot",
    "gpt",
    "chatgpt",
    "model",
    "system",
    "q",
    "a",
    "question",
    "answer",
    "customer",
    "agent",
    "you",
    "me",
];

/// Counts lines that start with a speaker label and a colon (`User:`, `Q:`, `### Human:`):
/// dozens of them, with at least two different labels, are many-shot stuffing.
fn many_shot(text: &str) -> Option<AbuseFinding> {
    let mut turns = 0;
    let mut seen = [false; ROLES.len()];
    let mut first: Option<usize> = None;
    let mut last_end = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let l = line.trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, '#' | '*' | '>' | '-' | '[')
        });
        let Some(colon) = l.get(..24.min(l.len())).and_then(|h| h.find(':')) else {
            continue;
        };
        let label = l[..colon].trim_end_matches([']', '*', ' ']);
        let Some(k) = ROLES.iter().position(|r| r.eq_ignore_ascii_case(label)) else {
            continue;
        };
        seen[k] = true;
        turns += 1;
        first.get_or_insert(start);
        last_end = offset;
    }
    let roles = seen.iter().filter(|&&s| s).count();
    (turns >= MIN_TURNS && roles >= 2).then(|| AbuseFinding {
        rule: MANY_SHOT_RULE,
        start: first.unwrap_or(0),
        end: last_end.max(first.unwrap_or(0)),
        score: MANY_SHOT_SCORE,
        excerpt: format!("{turns} dialogue turns with {roles} speaker labels"),
    })
}

/// A small, fast hash of a token (FNV-1a), for counting distinct tokens.
fn hash(t: &[u8]) -> u64 {
    t.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x100_0000_01b3)
    })
}

/// Whether a token repeats a pattern of at most 8 bytes from end to end.
fn periodic(t: &[u8]) -> bool {
    (1..=8).any(|p| t.len() > 2 * p && t[p..].iter().zip(t).all(|(a, b)| a == b))
}

/// Whether a token looks random rather than like a word: long, of base64/hex characters,
/// and mixing digits with letters or both cases.
fn random_looking(t: &[u8]) -> bool {
    if t.len() < 20 {
        return false;
    }
    let (mut lower, mut upper, mut digit, mut other) = (0usize, 0usize, 0usize, 0usize);
    for &c in t {
        lower += usize::from(c.is_ascii_lowercase());
        upper += usize::from(c.is_ascii_uppercase());
        digit += usize::from(c.is_ascii_digit());
        other += usize::from(
            !c.is_ascii_alphanumeric() && !matches!(c, b'+' | b'/' | b'=' | b'-' | b'_'),
        );
    }
    other == 0 && digit > 0 && (lower + upper > 0)
        || (other == 0 && lower > 2 && upper > 2 && upper * 4 > lower)
}

/// The token pass: floods (one token many times in a row, a long periodic token, few
/// distinct tokens) and non-linguistic content.
fn tokens(text: &str, out: &mut Vec<AbuseFinding>) {
    let b = text.as_bytes();
    // Distinct tokens, approximately: a bitset of 32768 hash buckets (enough for the
    // largest text a policy lets through).
    let mut buckets = [0u64; 512];
    let mut total = 0usize;
    let mut prev_hash = 0u64;
    let mut run = 0usize;
    let mut best_run = (0usize, 0usize, 0usize); // length, start of the run, end
    let mut run_start = 0usize;
    let mut periodic_span: Option<(usize, usize)> = None;
    let mut noise_bytes = 0usize;
    let mut text_bytes = 0usize;
    let mut i = 0;
    let n = b.len();
    while i < n {
        while i < n && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let s = i;
        while i < n && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        if s == i {
            break;
        }
        let t = &b[s..i];
        total += 1;
        text_bytes += t.len();
        let h = hash(t);
        buckets[(h >> 55) as usize] |= 1 << ((h >> 49) & 63);
        if total > 1 && h == prev_hash {
            run += 1;
        } else {
            run = 1;
            run_start = s;
        }
        prev_hash = h;
        if run > best_run.0 {
            best_run = (run, run_start, i);
        }
        if t.len() >= MIN_PERIODIC_TOKEN && periodic_span.is_none() && periodic(t) {
            periodic_span = Some((s, i));
        }
        if random_looking(t) {
            noise_bytes += t.len();
        } else if !t.is_ascii() {
            // Emoji and other pictographs (four-byte characters) cost tokens without words.
            noise_bytes += t.chunks(1).filter(|c| c[0] >= 0xF0).count() * 4;
        }
    }
    let distinct: usize = buckets.iter().map(|w| w.count_ones() as usize).sum();
    let flood = if best_run.0 >= MIN_TOKEN_RUN {
        Some((
            best_run.1,
            best_run.2,
            format!("one token repeated {} times in a row", best_run.0),
        ))
    } else if let Some((s, e)) = periodic_span {
        Some((s, e, format!("one pattern repeated over {} bytes", e - s)))
    } else if total >= MIN_TOKENS_FOR_RATIO && distinct * FEW_DISTINCT < total {
        Some((
            0,
            text.len(),
            format!("{total} tokens, about {distinct} distinct"),
        ))
    } else {
        None
    };
    if let Some((start, end, excerpt)) = flood {
        out.push(AbuseFinding {
            rule: FLOOD_RULE,
            start,
            end,
            score: FLOOD_SCORE,
            excerpt,
        });
    }
    if text_bytes > 0 && noise_bytes * 100 >= text_bytes * NON_LINGUISTIC_PERCENT {
        out.push(AbuseFinding {
            rule: NON_LINGUISTIC_RULE,
            start: 0,
            end: text.len(),
            score: NON_LINGUISTIC_SCORE,
            excerpt: format!(
                "{}% of {} bytes are random-looking tokens or emoji",
                noise_bytes * 100 / text_bytes,
                text.len()
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<&'static str> {
        check(text).into_iter().map(|f| f.rule).collect()
    }

    /// Text of made-up words drawn like natural text: a few frequent words and a long tail.
    fn prose(bytes: usize) -> String {
        const COMMON: &[&str] = &[
            "the", "of", "and", "to", "a", "in", "is", "that", "for", "it",
        ];
        const SYL: &[&str] = &[
            "ka", "lo", "mi", "ten", "dra", "vo", "sel", "pu", "rin", "ga", "zo", "mer",
        ];
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut s = String::new();
        while s.len() < bytes {
            let r = next();
            if r % 3 == 0 {
                s.push_str(COMMON[(r >> 8) as usize % COMMON.len()]);
            } else {
                for k in 0..2 + (r >> 4) % 3 {
                    s.push_str(SYL[(r >> (12 + 4 * k)) as usize % SYL.len()]);
                }
            }
            s.push(if r % 17 == 0 { '.' } else { ' ' });
            if r % 17 == 0 {
                s.push(' ');
            }
        }
        s
    }

    #[test]
    fn prose_and_short_texts_raise_nothing() {
        assert!(rules(&prose(20_000)).is_empty());
        assert!(rules(&prose(1_000_000)).is_empty());
        assert!(rules("hello hello hello hello").is_empty());
        assert!(rules(&"Q: what? A: this. ".repeat(5)).is_empty());
    }

    #[test]
    fn floods_are_found() {
        assert_eq!(rules(&"poem ".repeat(1000)), vec![FLOOD_RULE]);
        let f = check(&format!("{} {}", prose(3000), "a".repeat(4000)));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, FLOOD_RULE);
        let line = "Please answer the question below with care and precision.\n";
        assert_eq!(rules(&line.repeat(200)), vec![FLOOD_RULE]);
        // The same word many times in a row, inside otherwise normal text.
        let t = format!("{} {} {}", prose(2000), "company ".repeat(80), prose(2000));
        let f = check(&t);
        assert_eq!(f.len(), 1);
        assert_eq!(&t[f[0].start..f[0].start + 7], "company");
    }

    #[test]
    fn many_shot_stuffing_is_found() {
        let mut t = String::new();
        for k in 0..30 {
            t.push_str(&format!(
                "User: how do I do step {k}?\nAssistant: Sure, step {k} is easy.\n"
            ));
        }
        let f = check(&t);
        assert_eq!(
            f.iter().map(|f| f.rule).collect::<Vec<_>>(),
            vec![MANY_SHOT_RULE]
        );
        assert_eq!(f[0].start, 0);
        // One speaker only (a list of notes), or few turns: not many-shot.
        let notes: String = (0..40).map(|k| format!("Note: item {k}\n")).collect();
        assert!(rules(&notes).is_empty());
        let few: String = (0..5).map(|k| format!("Q: {k}?\nA: {k}.\n")).collect();
        assert!(rules(&few).is_empty());
    }

    #[test]
    fn non_linguistic_text_is_found() {
        let mut blob = String::new();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        while blob.len() < 4000 {
            for _ in 0..76 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                blob.push(table[(x % 64) as usize] as char);
            }
            blob.push('\n');
        }
        assert_eq!(rules(&blob), vec![NON_LINGUISTIC_RULE]);
        // Varied emoji: non-linguistic, not a flood.
        let emoji: String = (0..700u32)
            .map(|k| {
                let a = char::from_u32(0x1F600 + k % 80).unwrap_or('x');
                let b = char::from_u32(0x1F680 + (k * 7) % 70).unwrap_or('x');
                format!("{a}{b} ")
            })
            .collect();
        assert_eq!(rules(&emoji), vec![NON_LINGUISTIC_RULE]);
        // Prose with a short key or hash in it is text.
        assert!(rules(&format!(
            "{} e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            prose(3000)
        ))
        .is_empty());
    }

    #[test]
    fn periodic_tokens() {
        assert!(periodic(b"abababababab"));
        assert!(periodic(b"aaaaaaaaaaaaaaaaaaa"));
        assert!(!periodic(b"abcdefghijklmnopqrstuvwxyz"));
    }
}

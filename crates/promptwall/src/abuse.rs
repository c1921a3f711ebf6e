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
    // Lines as `split_inclusive('\n')` gives them, found with memchr (`split_inclusive`
    // cost about 190 instructions a line of code).
    let bytes = text.as_bytes();
    let last = (bytes.last().is_some_and(|&b| b != b'\n')).then_some(bytes.len());
    let ends = memchr::memchr_iter(b'\n', bytes).map(|p| p + 1).chain(last);
    let lines = ends.scan(0, |start, end| Some((std::mem::replace(start, end), end)));
    many_shot_in(text, lines)
}

/// [`many_shot`] over the lines of `text` at the spans `lines` (`start..end`, in order).
fn many_shot_in(text: &str, lines: impl Iterator<Item = (usize, usize)>) -> Option<AbuseFinding> {
    let mut turns = 0;
    let mut seen = [false; ROLES.len()];
    let mut first: Option<usize> = None;
    let mut last_end = 0;
    for (start, end) in lines {
        // A line without a colon is passed over before it is trimmed.
        if memchr::memchr(b':', &text.as_bytes()[start..end]).is_none() {
            continue;
        }
        let Some(line) = text.get(start..end) else {
            continue;
        };
        let l = line.trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, '#' | '*' | '>' | '-' | '[')
        });
        // (Bytes, not `str::get`: a 24th byte inside a character does not hide the line.)
        let head = &l.as_bytes()[..24.min(l.len())];
        let Some(colon) = memchr::memchr(b':', head) else {
            continue;
        };
        let label = l[..colon].trim_end_matches([']', '*', ' ']);
        let Some(k) = ROLES.iter().position(|r| r.eq_ignore_ascii_case(label)) else {
            continue;
        };
        seen[k] = true;
        turns += 1;
        first.get_or_insert(start);
        last_end = end;
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

/// A fast hash of the token `text[s..e]`, ignoring ASCII case, for counting distinct tokens
/// and runs of one token: its length and its first and last 16 bytes, eight at a time, so
/// long tokens cost no more than short ones (tokens alike in all of these count as one, which
/// only matters for tokens longer than 32 bytes, and then errs towards "repeated").
#[inline(always)]
fn hash(text: &[u8], s: usize, e: usize) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(29);
    let n = e - s;
    // Eight bytes from `at`, all of which count (0x20 sets the case bit of letters, and of a
    // few other bytes: consistently, which is all a hash needs).
    let word = |at: usize| match text.get(at..at + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().unwrap_or([0; 8])) | 0x2020_2020_2020_2020,
        None => 0,
    };
    let h = if n <= 8 {
        // The first `n` bytes of the eight from `s` (or, near the end of the text, the
        // token's bytes gathered one by one).
        let w = match text.get(s..s + 8) {
            Some(w) => u64::from_le_bytes(w.try_into().unwrap_or([0; 8])),
            None => text[s..e]
                .iter()
                .rev()
                .fold(0u64, |w, &c| (w << 8) | u64::from(c)),
        };
        let keep = u64::MAX.checked_shr(8 * (8 - n as u32)).unwrap_or(0);
        mix(mix(K, n as u64), (w | 0x2020_2020_2020_2020) & keep)
    } else if n <= 16 {
        // Two overlapping words cover it; the length tells the overlap apart.
        mix(mix(mix(K, n as u64), word(s)), word(e - 8))
    } else {
        let mut h = mix(K, n as u64);
        for at in [s, s + 8, e - 16, e - 8] {
            h = mix(h, word(at));
        }
        h
    };
    // A last multiplication, so that the top bits (the distinct-token buckets) depend on
    // every byte: without it, tokens that differ only after their fourth byte (`item12`,
    // `item13`) fell into the same few buckets.
    let h = h.wrapping_mul(K);
    h ^ (h >> 32)
}

/// Whether a token repeats a pattern of at most 8 bytes from end to end.
fn periodic(t: &[u8]) -> bool {
    (1..=8).any(|p| t.len() > 2 * p && t[p..].iter().zip(t).all(|(a, b)| a == b))
}

/// Whether a token looks random rather than like a word: long, of base64/hex characters,
/// and mixing digits with letters or both cases. Judged on its first [`CLASSIFY_BYTES`].
fn random_looking(t: &[u8]) -> bool {
    if t.len() < 20 {
        return false;
    }
    let t = &t[..t.len().min(CLASSIFY_BYTES)];
    // Any other byte rules it out; long tokens of code and JSON have one early.
    if t.iter()
        .any(|&c| !c.is_ascii_alphanumeric() && !matches!(c, b'+' | b'/' | b'=' | b'-' | b'_'))
    {
        return false;
    }
    let (mut lower, mut upper, mut digit) = (0usize, 0usize, 0usize);
    for &c in t {
        lower += usize::from(c.is_ascii_lowercase());
        upper += usize::from(c.is_ascii_uppercase());
        digit += usize::from(c.is_ascii_digit());
    }
    digit > 0 && (lower + upper > 0) || (lower > 2 && upper > 2 && upper * 4 > lower)
}

/// How much of a long token [`random_looking`] reads.
const CLASSIFY_BYTES: usize = 256;

/// Bit `k` set when byte `k` of `chunk` (at most 64 bytes; missing bytes count as spaces)
/// separates tokens: ASCII whitespace and the other control bytes up to 0x20. A mask of
/// [`crate::bytemask`], 16 bytes at a time.
fn space_bits(chunk: &[u8]) -> u64 {
    static SEPARATOR: crate::bytemask::Class<1> = crate::bytemask::Class::new([(0, b' ')]);
    let bits = SEPARATOR.mask64(chunk, 0);
    if chunk.len() < 64 {
        bits | (!0u64 << chunk.len())
    } else {
        bits
    }
}

/// Calls `f(start, end)` for each token of `b` (a maximal run of bytes above 0x20), in order.
#[inline(always)]
fn for_each_token(b: &[u8], mut f: impl FnMut(usize, usize)) {
    let mut start = 0;
    // Whether the byte before the current block separates tokens (the text's start does).
    let mut prev_space = 1u64;
    for (block, chunk) in b.chunks(64).enumerate() {
        let base = block * 64;
        let space = space_bits(chunk);
        let before = (space << 1) | prev_space;
        let mut starts = !space & before;
        let mut ends = space & !before;
        if prev_space == 0 {
            // A token open from an earlier block ends at the block's first end, if any.
            if ends == 0 {
                continue;
            }
            f(start, base + ends.trailing_zeros() as usize);
            ends &= ends - 1;
        }
        prev_space = space >> 63;
        // Starts and ends alternate: the k-th start pairs with the k-th end.
        while ends != 0 {
            let (s, e) = (starts.trailing_zeros(), ends.trailing_zeros());
            starts &= starts - 1;
            ends &= ends - 1;
            f(base + s as usize, base + e as usize);
        }
        // The block's last start, if unpaired, opens a token that goes on.
        if starts != 0 {
            start = base + starts.trailing_zeros() as usize;
        }
    }
    if prev_space == 0 {
        f(start, b.len());
    }
}

/// What the token pass counts over a text.
#[derive(Debug, Default, PartialEq)]
struct TokenStats {
    /// Tokens, and distinct ones approximately (set buckets of 32768, by [`hash`]).
    total: usize,
    distinct: usize,
    /// The longest run of one token: its length, the start of its first token and the end
    /// of the token that made it that long (the first such run).
    best_run: (usize, usize, usize),
    /// The first token of [`MIN_PERIODIC_TOKEN`] bytes or more that [`periodic`] holds for.
    periodic_span: Option<(usize, usize)>,
    /// Bytes of random-looking tokens, and four for each four-byte character outside them.
    noise_bytes: usize,
    /// Bytes in tokens: all but the separators.
    text_bytes: usize,
}

/// The counts kept token by token: everything in [`TokenStats`] but the bytes.
struct TokenCounter {
    st: TokenStats,
    /// A bitset of 32768 hash buckets (enough for the largest text a policy lets through).
    buckets: [u64; 512],
    prev_hash: u64,
    /// The current run of one token: its length and where it starts.
    run: usize,
    run_start: usize,
}

impl TokenCounter {
    fn new(st: TokenStats) -> Self {
        TokenCounter {
            st,
            buckets: [0; 512],
            prev_hash: 0,
            run: 0,
            run_start: 0,
        }
    }

    /// Counts the token `b[s..e]` (the next one in the text).
    #[inline(always)]
    fn token(&mut self, b: &[u8], s: usize, e: usize) {
        let st = &mut self.st;
        st.total += 1;
        let h = hash(b, s, e);
        self.buckets[(h >> 55) as usize] |= 1 << ((h >> 49) & 63);
        if st.total > 1 && h == self.prev_hash {
            self.run += 1;
        } else {
            (self.run, self.run_start) = (1, s);
        }
        self.prev_hash = h;
        if self.run > st.best_run.0 {
            st.best_run = (self.run, self.run_start, e);
        }
        let t = &b[s..e];
        if t.len() >= MIN_PERIODIC_TOKEN && st.periodic_span.is_none() && periodic(t) {
            st.periodic_span = Some((s, e));
        }
    }

    fn finish(mut self) -> TokenStats {
        self.st.distinct = self.buckets.iter().map(|w| w.count_ones() as usize).sum();
        self.st
    }
}

/// The token pass's counts, in one walk over the tokens.
fn token_stats(text: &str) -> TokenStats {
    let b = text.as_bytes();
    let ascii = text.is_ascii();
    let mut c = TokenCounter::new(TokenStats {
        // Emoji and other pictographs (four-byte characters) cost tokens without words.
        // Their lead bytes are counted over the whole text (they never separate tokens),
        // and taken back out of random-looking tokens, which count whole.
        noise_bytes: if ascii {
            0
        } else {
            count_where(b, |c| c >= 0xF0) * 4
        },
        text_bytes: b.len() - count_where(b, |c| c <= b' '),
        ..TokenStats::default()
    });
    for_each_token(b, |s, e| {
        c.token(b, s, e);
        let t = &b[s..e];
        if random_looking(t) {
            // (ASCII where it was judged, in its first bytes; perhaps not after them.)
            let pictographs = if ascii {
                0
            } else {
                t.iter().filter(|&&c| c >= 0xF0).count()
            };
            c.st.noise_bytes += t.len() - pictographs * 4;
        }
    });
    c.finish()
}

/// The token pass: floods (one token many times in a row, a long periodic token, few
/// distinct tokens) and non-linguistic content.
fn tokens(text: &str, out: &mut Vec<AbuseFinding>) {
    let TokenStats {
        total,
        distinct,
        best_run,
        periodic_span,
        noise_bytes,
        text_bytes,
    } = token_stats(text);
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

/// How many bytes of `b` `pred` holds for: 64 at a time, with byte counters that vectorise.
fn count_where(b: &[u8], pred: impl Fn(u8) -> bool) -> usize {
    let mut chunks = b.chunks_exact(64);
    let mut n = 0usize;
    for c in &mut chunks {
        let mut k = 0u8;
        for &x in c {
            k += u8::from(pred(x));
        }
        n += usize::from(k);
    }
    n + chunks.remainder().iter().filter(|&&x| pred(x)).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

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
        let mut next = || xorshift(&mut x);
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

    /// `many_shot` over the lines of `split_inclusive`, as it was written first: the
    /// reference for the line walk with memchr.
    fn many_shot_reference(text: &str) -> Option<AbuseFinding> {
        let lines = text.split_inclusive('\n').scan(0, |start, line| {
            *start += line.len();
            Some((*start - line.len(), *start))
        });
        many_shot_in(text, lines)
    }

    /// The line walk finds what `split_inclusive` finds: texts of turns, other lines, line
    /// ends of each kind, colons late in a line, and with or without a last line break.
    #[test]
    fn many_shot_lines_are_those_of_split_inclusive() {
        let pieces = [
            "User: hi\n",
            "Assistant: ok\n",
            "  ### Human: x\n",
            "Q:",
            "A: y",
            "\n",
            "\r\n",
            "plain text\n",
            "a: b: c\n",
            "    indented code(x): y\n",
            "\u{3000}user:é\n",
            "[user]: z",
            "x",
            ":",
        ];
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut found = 0;
        for round in 0..2000 {
            let mut t = String::new();
            for _ in 0..(round % 120) {
                xorshift(&mut x);
                t.push_str(pieces[(x >> 8) as usize % pieces.len()]);
            }
            let want = many_shot_reference(&t);
            found += usize::from(want.is_some());
            assert_eq!(many_shot(&t), want, "{t:?}");
        }
        assert!(found > 100, "{found}");
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
        // Turns whose 24th byte falls inside a character count all the same.
        let accents: String = (0..30)
            .map(|_| "User:  ééééééééééé\nAssistant:  ééééééééé\n")
            .collect();
        assert!(accents
            .lines()
            .next()
            .is_some_and(|l| !l.is_char_boundary(24)));
        assert_eq!(rules(&accents), vec![MANY_SHOT_RULE]);
    }

    #[test]
    fn non_linguistic_text_is_found() {
        let mut blob = String::new();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        while blob.len() < 4000 {
            for _ in 0..76 {
                xorshift(&mut x);
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

    /// A thousand tokens that differ only in their last digits fill about a thousand of the
    /// distinct-token buckets.
    #[test]
    fn similar_tokens_spread_over_the_buckets() {
        let t: String = (0..1000).map(|k| format!("item{k} ")).collect();
        let mut buckets = std::collections::HashSet::new();
        let mut at = 0;
        for w in t.split(' ').filter(|w| !w.is_empty()) {
            let s = t[at..].find(w).map(|p| at + p).unwrap_or(at);
            let h = hash(t.as_bytes(), s, s + w.len());
            buckets.insert(h >> 49);
            at = s + w.len();
        }
        assert!(buckets.len() > 950, "{} buckets", buckets.len());
        // So a list of 1,500 numbered items is not "few distinct tokens" (it was, at about
        // 24 distinct).
        let items: String = (0..1500).map(|k| format!("item{k} ")).collect();
        assert!(rules(&items).is_empty(), "{:?}", check(&items));
    }

    #[test]
    fn token_hash_ignores_case_and_tells_tokens_apart() {
        let h = |t: &str| hash(t.as_bytes(), 0, t.len());
        assert_eq!(h("Hello"), h("hello"));
        assert_ne!(h("hello"), h("hellp"));
        assert_ne!(h("a"), h("aa"));
        let long = "x".repeat(40) + "abc";
        assert_ne!(h(&long), h(&("x".repeat(40) + "abd")));
        // What follows a token does not change its hash.
        let t = b"hello world, hello there";
        assert_eq!(hash(t, 0, 5), hash(t, 13, 18));
        assert_eq!(hash(t, 0, 5), h("hello"));
        let p = prose(50_000);
        let base = p.as_ptr() as usize;
        let words: std::collections::HashSet<u64> = p
            .split_whitespace()
            .map(|w| {
                let s = w.as_ptr() as usize - base;
                hash(p.as_bytes(), s, s + w.len())
            })
            .collect();
        let distinct: std::collections::HashSet<&str> = p.split_whitespace().collect();
        assert_eq!(
            words.len(),
            distinct.len(),
            "no collisions among prose words"
        );
    }

    /// The tokens of `t` read byte by byte: the reference for [`for_each_token`].
    fn reference_tokens(t: &str) -> Vec<(usize, usize)> {
        let b = t.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            while i < b.len() && b[i] <= b' ' {
                i += 1;
            }
            let s = i;
            while i < b.len() && b[i] > b' ' {
                i += 1;
            }
            if s < i {
                out.push((s, i));
            }
        }
        out
    }

    #[test]
    fn tokens_split_on_whitespace_and_control_bytes() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        // With a piece longer than a block, so that tokens run across blocks.
        let long = "token".repeat(15);
        let alphabet = [
            "a", "b", " ", "\n", "\t", "\u{1}", "é", "!", "  ", "\u{7f}", &long,
        ];
        for len in (0..300).chain([511, 512, 513, 4096]) {
            let mut t = String::new();
            for _ in 0..len {
                xorshift(&mut x);
                t.push_str(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let mut got = Vec::new();
            for_each_token(t.as_bytes(), |s, e| got.push((s, e)));
            assert_eq!(got, reference_tokens(&t), "{t:?}");
        }
    }

    /// [`token_stats`] with the bytes counted token by token, over [`reference_tokens`].
    fn reference_stats(text: &str) -> TokenStats {
        let b = text.as_bytes();
        let mut c = TokenCounter::new(TokenStats::default());
        for (s, e) in reference_tokens(text) {
            c.token(b, s, e);
            let t = &b[s..e];
            c.st.text_bytes += t.len();
            if random_looking(t) {
                c.st.noise_bytes += t.len();
            } else {
                c.st.noise_bytes += t.iter().filter(|&&c| c >= 0xF0).count() * 4;
            }
        }
        c.finish()
    }

    /// The token pass counts what a walk token by token counts: texts of words, floods,
    /// random-looking tokens, emoji, other scripts, long periodic tokens and control bytes,
    /// of 1 to 9,000 bytes.
    #[test]
    fn token_stats_match_a_reference() {
        let periodic_token = "ab".repeat(300);
        let pieces = [
            "the ",
            "cat ",
            "sat ",
            "poem poem poem poem ",
            "aB3dE5gH7jK9mN1pQ3sT5vX7 ",
            "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "😀",
            "🚀🚀 ",
            "中文字符",
            "привет ",
            "\t",
            "\n\n",
            "\u{1}",
            "  ",
            &periodic_token,
            "x",
        ];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let (mut noisy, mut runs, mut periodic_found) = (0, 0, 0);
        for round in 0..600 {
            let target = 1 + (round * 15) % 9000;
            let mut t = String::new();
            while t.len() < target {
                xorshift(&mut x);
                // Runs of one piece now and then, so that floods occur.
                let piece = pieces[(x >> 8) as usize % pieces.len()];
                for _ in 0..if x % 7 == 0 { 80 } else { 1 } {
                    t.push_str(piece);
                }
            }
            let want = reference_stats(&t);
            noisy += usize::from(want.noise_bytes > 0);
            runs += usize::from(want.best_run.0 >= MIN_TOKEN_RUN);
            periodic_found += usize::from(want.periodic_span.is_some());
            assert_eq!(token_stats(&t), want, "{t:?}");
        }
        assert!(
            noisy > 100 && runs > 100 && periodic_found > 100,
            "{noisy} {runs} {periodic_found}"
        );
    }

    #[test]
    fn periodic_tokens() {
        assert!(periodic(b"abababababab"));
        assert!(periodic(b"aaaaaaaaaaaaaaaaaaa"));
        assert!(!periodic(b"abcdefghijklmnopqrstuvwxyz"));
    }
}

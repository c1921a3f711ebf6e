//! The matcher: Aho-Corasick automata over the rules' keywords (one of the ASCII keywords,
//! one of the others), run over each view, and the regexes they gate.

use regex::{RegexBuilder, RegexSet, RegexSetBuilder};
use regex_automata::meta::Regex;

/// Longest accepted regex source, in bytes.
pub const MAX_REGEX_LEN: usize = 4096;
/// Largest compiled regex program, in bytes.
const REGEX_SIZE_LIMIT: usize = 2 << 20;
/// Largest lazy-DFA cache per regex, in bytes.
const REGEX_DFA_LIMIT: usize = 2 << 20;

/// Compiles a rule's regex with the engine's limits and ASCII Perl classes (see
/// [`ascii_classes`]).
pub fn compile_regex(pattern: &str) -> Result<Regex, String> {
    build_regex(&parse_regex(pattern)?, false)
}

/// A rule's regex parsed, with the length limit and ASCII Perl classes.
pub(crate) fn parse_regex(pattern: &str) -> Result<regex_syntax::hir::Hir, String> {
    if pattern.len() > MAX_REGEX_LEN {
        return Err(format!(
            "regex is {} bytes long, more than the limit of {MAX_REGEX_LEN}",
            pattern.len()
        ));
    }
    regex_syntax::ParserBuilder::new()
        .nest_limit(64)
        .build()
        .parse(&ascii_classes(pattern))
        .map_err(|e| e.to_string())
}

/// Compiles a parsed regex with the engine's limits; `without_dfas`: with neither lazy nor
/// one-pass DFA (see [`rare_prefix`]).
fn build_regex(hir: &regex_syntax::hir::Hir, without_dfas: bool) -> Result<Regex, String> {
    // The limits the `regex` crate's builder sets (the compiled program, the lazy DFA's
    // cache); the other engines keep the meta engine's defaults, as they do there.
    let mut config = Regex::config()
        .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
        .hybrid_cache_capacity(REGEX_DFA_LIMIT);
    if without_dfas {
        config = config.hybrid(false).onepass(false);
    }
    Regex::builder()
        .configure(config)
        .build_from_hir(hir)
        .map_err(|e| e.to_string())
}

/// The form of a token rule's regex without DFAs, or `None` when [`rare_prefix`] says the
/// regex should keep them (decided before compiling anything).
fn compile_short_form(pattern: &str) -> Option<Regex> {
    let hir = parse_regex(pattern).ok()?;
    if !rare_prefix(&hir) {
        return None;
    }
    build_regex(&hir, true).ok()
}

/// [`compile_regex`] as the `regex` crate's type, for the policy's allowlist entries (part of
/// the public API).
pub fn compile_allow_regex(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.len() > MAX_REGEX_LEN {
        return Err(format!(
            "regex is {} bytes long, more than the limit of {MAX_REGEX_LEN}",
            pattern.len()
        ));
    }
    RegexBuilder::new(&ascii_classes(pattern))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_LIMIT)
        .nest_limit(64)
        .build()
        .map_err(|e| e.to_string())
}

/// Most literals a match may start with for [`rare_prefix`]: enough for the case variants
/// of a name or two (`(?i:elevenlabs|xi-api-key)`: 216).
const RARE_PREFIXES: usize = 256;
/// Fewest bytes in each of them.
const RARE_PREFIX_LEN: usize = 4;

/// Whether every match of `hir` starts with one of a set of literals of four bytes or more
/// (`AKCp`, `sk-ant-`, `ghp_`, `(?i:elevenlabs)`: most token formats).
///
/// For texts up to [`SHORT_TEXT`] bytes, such a regex of the raw view (a token format) has a
/// second compiled form without its lazy DFAs and one-pass DFA: the literals are found with
/// a prefilter and each place is tried with a backtracker. Its matches are the same (every
/// engine of the regex crate implements the same semantics), and in a stream of different
/// prompts, where a token rule runs only now and then, the DFAs' tables are no longer in the
/// processor's caches: over the 2,943 prompts of the peers corpus, the prompts holding a
/// secret took 19.8 us instead of 25.4 (rule examples) and 16.5 instead of 20.1 (generated).
/// Up to 256 literals (a name's case variants) rather than 8: those prompts took 13.1 us
/// instead of 16.5 and 11.6 instead of 13.2, and the whole corpus 9.6 instead of 10.2 (a
/// cold run of a regex that finds a key in a 200-byte prompt: 5.6 us without DFAs, 10.3 with
/// them, which also run a reverse search before the captures). Shorter literals cost more
/// than they saved (3 bytes: no gain; the 8-literal limit with 5 bytes: 10.1 us); so did the
/// injection rules that qualify (normalised view, NFAs of hundreds of states whose
/// backtracker clears a large visited set at each search), and so did long texts that
/// repeat the literal (`-----BEGIN` 100,000 times in 1 MB: 169 ms instead of 24), which is
/// why longer texts keep the DFAs.
fn rare_prefix(hir: &regex_syntax::hir::Hir) -> bool {
    let mut ex = regex_syntax::hir::literal::Extractor::new();
    ex.kind(regex_syntax::hir::literal::ExtractKind::Prefix);
    let seq = ex.extract(hir);
    match seq.literals() {
        Some(lits) => {
            !lits.is_empty()
                && lits.len() <= RARE_PREFIXES
                && lits.iter().all(|l| l.len() >= RARE_PREFIX_LEN)
        }
        None => false,
    }
}

/// Checks a rule's regex for syntax and length without compiling it (cheap; the engine
/// compiles it once, with its size limits, when it is built).
pub fn check_regex(pattern: &str) -> Result<(), String> {
    if pattern.len() > MAX_REGEX_LEN {
        return Err(format!(
            "regex is {} bytes long, more than the limit of {MAX_REGEX_LEN}",
            pattern.len()
        ));
    }
    regex_syntax::ParserBuilder::new()
        .nest_limit(64)
        .build()
        .parse(&ascii_classes(pattern))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A regex of the normalised view with `\s` and `\S` as the view's whitespace: `[\x20\n]`
/// and `[^\x20\n]`.
///
/// The view holds no whitespace but single spaces and newlines (each run of it collapses to
/// one of them, see [`crate::normalize`]), so in it the two classes match the same as
/// Unicode's. The Unicode class spans 25 ranges, several of them multi-byte; the narrow one
/// keeps the automata of the 83 built-in rules of the view that use `\s` small: the corpus
/// stream took 10.14 us a prompt instead of 10.44 (medians of six interleaved runs). Written
/// as nested classes, the forms are valid inside a class too (`[^\s,]`).
pub(crate) fn view_whitespace(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains("\\s") && !pattern.contains("\\S") {
        return std::borrow::Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push_str("[\\x20\\n]"),
            Some('S') => out.push_str("[^\\x20\\n]"),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Compiles the regexes of keyword-less rules into one set, so that a single pass tells
/// which of them can match.
pub fn compile_set(patterns: &[&str]) -> Result<RegexSet, String> {
    RegexSetBuilder::new(patterns.iter().map(|p| ascii_classes(p)))
        .size_limit(REGEX_SIZE_LIMIT * 4)
        .dfa_size_limit(REGEX_DFA_LIMIT * 2)
        .nest_limit(64)
        .build()
        .map_err(|e| e.to_string())
}

/// A rule's regex, compiled when first needed.
///
/// Most rules' regexes never run for a given stream of prompts (a secret rule runs only where
/// its keyword occurs), and compiling all of them took most of an engine build. Regexes of
/// packs that may not compile (anything but the unchanged built-in packs, which the test
/// suite compiles with the same limits) are compiled when the engine is built, so their
/// errors are reported there.
#[derive(Debug)]
pub(crate) struct LazyRegex {
    source: Box<str>,
    /// Whether short texts may use a form without DFAs ([`rare_prefix`]).
    tokens: bool,
    compiled: std::sync::OnceLock<Option<Regex>>,
    /// The form without DFAs, for texts up to [`SHORT_TEXT`] bytes; `None` when the regex
    /// has none.
    short: std::sync::OnceLock<Option<Regex>>,
}

/// Longest text that a token rule searches with its regex's form without DFAs. Prompts that
/// hold a key are mostly short; 1 KB rather than 4 made no difference to the corpus, and the
/// slowest text built from a rule example repeated (the example cut short, so that the
/// backtracker tries every copy) took 0.23 ms at 1 KB where it took 0.49 ms at 4 KB.
const SHORT_TEXT: usize = 1024;

impl LazyRegex {
    /// Wraps `source`; with `eager`, compiles it now and reports its error. `tokens`: see
    /// [`rare_prefix`] (the engine says so for rules of the raw view: secrets and personal
    /// data, whose formats are short).
    pub fn new(source: &str, eager: bool, tokens: bool) -> Result<LazyRegex, String> {
        let lazy = LazyRegex {
            source: source.into(),
            tokens,
            compiled: std::sync::OnceLock::new(),
            short: std::sync::OnceLock::new(),
        };
        if eager {
            let re = compile_regex(source)?;
            let _ = lazy.compiled.set(Some(re));
        }
        Ok(lazy)
    }

    /// The compiled regex; `None` only if a pack that was taken as verified does not compile
    /// (then the rule matches nothing).
    pub fn get(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| {
                let re = compile_regex(&self.source);
                debug_assert!(re.is_ok(), "verified regex failed to compile: {re:?}");
                re.ok()
            })
            .as_ref()
    }

    /// The compiled regex to search a text of `len` bytes with: the form without DFAs for a
    /// short text, when the regex has one.
    pub fn get_for(&self, len: usize) -> Option<&Regex> {
        if self.tokens && len <= SHORT_TEXT {
            let short = self.short.get_or_init(|| compile_short_form(&self.source));
            if let Some(re) = short {
                return Some(re);
            }
        }
        self.get()
    }

    /// Compiles it now if it is not yet (both forms, for a token rule).
    pub fn force(&self) {
        let _ = self.get();
        let _ = self.get_for(0);
    }

    /// Whether it has been compiled.
    #[cfg(test)]
    pub fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
    }
}

/// Rewrites the Perl classes of a pattern to their ASCII meaning, staying UTF-8-safe:
/// `\b`/`\B` become ASCII word boundaries, `\w`/`\W` the ASCII word class and its
/// complement, `\d` the ASCII digits (also inside `[...]`, where `\W` and `\D` keep their
/// Unicode meaning).
///
/// Unicode word boundaries force the regex engine off its DFA on non-ASCII text, and Unicode
/// `\w` and `\d` compile to automata tens of times larger (and slower to build); with ASCII
/// classes, word boundaries agree with what `\w` matches.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut chars = pattern.chars();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        match c {
            '\\' => match (chars.next(), in_class) {
                (Some(b @ ('b' | 'B')), false) => {
                    out.push_str("(?-u:\\");
                    out.push(b);
                    out.push(')');
                }
                (Some('w'), false) => out.push_str("[0-9A-Za-z_]"),
                (Some('W'), false) => out.push_str("[^0-9A-Za-z_]"),
                (Some('d'), false) => out.push_str("[0-9]"),
                (Some('D'), false) => out.push_str("[^0-9]"),
                (Some('w'), true) => out.push_str("0-9A-Za-z_"),
                (Some('d'), true) => out.push_str("0-9"),
                (Some(n), _) => {
                    out.push('\\');
                    out.push(n);
                }
                (None, _) => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
            }
            '^' if at_class_start => {
                // A `]` right after `[^` is a literal, like one right after `[`.
                class_start = true;
                out.push(c);
            }
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// All rules' keywords in one automaton, run over the normalised view, and the rules each
/// keyword gates.
///
/// Keywords of raw-view rules are matched in their normalised form too: the normalised view
/// is the text lowercased with whitespace runs collapsed and invisible characters removed, so
/// any place a keyword occurs in the raw text (ignoring ASCII case) it occurs in the view.
/// One automaton pass then gates the rules of every view.
#[derive(Debug)]
pub(crate) struct KeywordMatcher {
    /// The Aho-Corasick automaton of the keywords of two bytes or more, as a small table
    /// ([`Table`]) walked by [`KeywordMatcher::run`]'s own loop: keywords overlap, and the
    /// `aho-corasick` crate's overlapping iterator costs about twice as many instructions
    /// per byte as this loop.
    table: Option<Table>,
    /// Each keyword's length in bytes.
    lens: Vec<u32>,
    /// For each automaton pattern, the range of `rule_ids` gated by it.
    pattern_rules: Vec<(u32, u32)>,
    rule_ids: Vec<u32>,
    /// Keywords of one byte, outside the automaton: ranges of bytes `lo..=hi` that gate the
    /// same rules (the range of `rule_ids`). The digits that gate the personal-data rules
    /// were most of the automaton's matches in real text, each one a stop of the walk; a
    /// search that vectorises finds the first (and any next ones a rule needs).
    singles: Vec<(u8, u8, u32, u32)>,
    /// Whether every keyword is ASCII ([`Self::run`]).
    ascii: bool,
}

/// A keyword occurrence for a rule that has no regex.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeywordHit {
    pub rule: u32,
    pub start: usize,
    pub end: usize,
}

impl KeywordMatcher {
    /// Builds the matcher from `(rule index, normalised keywords)`.
    pub fn new(
        rules: impl IntoIterator<Item = (u32, Vec<String>)>,
    ) -> Result<KeywordMatcher, String> {
        let mut keywords: Vec<String> = Vec::new();
        let mut gated: Vec<Vec<u32>> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for (rule, kws) in rules {
            for key in kws {
                let pid = *index.entry(key.clone()).or_insert_with(|| {
                    keywords.push(key);
                    gated.push(Vec::new());
                    keywords.len() - 1
                });
                if gated[pid].last() != Some(&rule) {
                    gated[pid].push(rule);
                }
            }
        }
        // One-byte keywords leave the automaton, grouped into ranges of bytes that gate the
        // same rules.
        let mut single: Vec<(Vec<u32>, u8)> = Vec::new();
        let (mut kept, mut kept_gated) = (Vec::new(), Vec::new());
        for (key, g) in keywords.into_iter().zip(gated) {
            match key.as_bytes() {
                &[b] => single.push((g, b)),
                _ => {
                    kept.push(key);
                    kept_gated.push(g);
                }
            }
        }
        let keywords = kept;
        let ascii = keywords.iter().all(|k| k.is_ascii());
        single.sort();
        let mut pattern_rules = Vec::with_capacity(kept_gated.len());
        let mut rule_ids = Vec::new();
        for g in kept_gated {
            pattern_rules.push((rule_ids.len() as u32, g.len() as u32));
            rule_ids.extend(g);
        }
        let mut singles: Vec<(u8, u8, u32, u32)> = Vec::new();
        for (k, (g, b)) in single.iter().enumerate() {
            if k > 0 && single[k - 1].0 == *g && single[k - 1].1.checked_add(1) == Some(*b) {
                if let Some(last) = singles.last_mut() {
                    last.1 = *b;
                }
                continue;
            }
            singles.push((*b, *b, rule_ids.len() as u32, g.len() as u32));
            rule_ids.extend(g);
        }
        let table = if keywords.is_empty() {
            None
        } else {
            Some(Table::new(&keywords)?)
        };
        let lens = keywords.iter().map(|k| k.len() as u32).collect();
        Ok(KeywordMatcher {
            table,
            lens,
            pattern_rules,
            rule_ids,
            singles,
            ascii,
        })
    }

    /// Runs the automaton over `text`: sets `gate[rule]` for each rule whose keyword occurs
    /// (and appends the rules it opens to `opened`), and reports whole-word keyword occurrences
    /// for rules in `keyword_only`. `words` holds each rule's [`WORD_START`] and
    /// [`WORD_END`] flags: with the first, a keyword counts only where it starts a word
    /// (`stan` gates in "stan is", not in "understand"); with both, only where it is a whole
    /// word (not in "standard").
    ///
    /// `ascii` says whether the caller knows `text` to be all ASCII: then (or with a matcher
    /// of other keywords) the whole text is walked. A choice of speed only, every walk finds
    /// the same. Over other text made mostly of other bytes (Chinese, Russian: three quarters
    /// of the first [`HEAD`] bytes), a matcher of ASCII keywords walks only the stretches of
    /// ASCII bytes (no such keyword spans another byte). In other texts (English with a curly
    /// quote, an emoji or look-alike letters) the stretches are many, and the walk of the
    /// whole text that keeps the processor busiest costs less than one walk for each: English
    /// with Cyrillic look-alikes for half its letters took 30% longer by stretches.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        text: &str,
        ascii: bool,
        gate: &mut [bool],
        opened: &mut Vec<u32>,
        keyword_only: &[bool],
        words: &[u8],
        mut hit: impl FnMut(KeywordHit),
    ) {
        let bytes = text.as_bytes();
        let head = &bytes[..bytes.len().min(HEAD)];
        let ascii_stretches = !ascii && self.ascii && 4 * count_not_ascii(head) >= 3 * head.len();
        for &(lo, hi, off, len) in &self.singles {
            let rules = &self.rule_ids[off as usize..(off + len) as usize];
            let mut at = 0;
            while let Some(p) = next_in_range(bytes, at, lo, hi) {
                if self.gate_rules(
                    rules,
                    bytes,
                    p,
                    p + 1,
                    gate,
                    opened,
                    keyword_only,
                    words,
                    &mut hit,
                ) {
                    break;
                }
                at = p + 1;
            }
        }
        let Some(table) = &self.table else {
            return;
        };
        // A match state lists every keyword that ends there, so visiting each state's
        // matches reports all overlapping occurrences.
        // Keywords whose rules are all opened already (and report no hits of their own) have
        // nothing left to do: a small direct-mapped cache of them spares text that repeats a
        // keyword thousands of times a visit of its rules each time.
        let mut done = [u32::MAX; 16];
        let mut visit = |matches: &[u32], end: usize| {
            for &pid in matches {
                let p = pid as usize;
                if done[p % done.len()] == pid {
                    continue;
                }
                let start = end - self.lens[p] as usize;
                let (off, len) = self.pattern_rules[p];
                let rules = &self.rule_ids[off as usize..(off + len) as usize];
                let all_open = self.gate_rules(
                    rules,
                    bytes,
                    start,
                    end,
                    gate,
                    opened,
                    keyword_only,
                    words,
                    &mut hit,
                );
                if all_open {
                    done[p % done.len()] = pid;
                }
            }
        };
        table.walk_text(bytes, ascii_stretches, &mut visit);
    }
}

/// Most entries a keyword table may have (256 MiB; the default keywords' table has half a
/// million, 2 MiB).
const MAX_TABLE: usize = 1 << 26;

/// An unanchored Aho-Corasick DFA with standard match semantics (each match state lists
/// every keyword that ends there), laid out for a walk that touches little memory.
///
/// The `aho-corasick` crate's DFA gives each state a row of 4-byte ids, one per class of
/// bytes, rounded up to a power of two; its classes are ranges of bytes, so every gap
/// between two keyword bytes is a class of its own. The default keywords use 61 byte values
/// and made 128 classes: 4.3 MB of rows, twice the 2 MB second-level cache, and a walk of
/// real text waited on their loads. Here every byte that occurs in no keyword shares one
/// class (from any state such a byte leads back to the start: no keyword goes on with it),
/// so the same automaton, in 64 classes, is half the size (2.1 MB).
///
/// A state is the offset of its row (`index << stride2`), so that a step is one addition
/// and one load, as in the library's table. (Rows of 16-bit state indexes, 1 MB, cost a
/// shift by the stride on every step: the walk of 1 KB of Russian took 20% longer, and the
/// corpus stream was no faster.) Match states come first (below `matches`), so that a walk
/// tells them by a comparison.
#[derive(Debug)]
struct Table {
    classes: [u8; 256],
    stride2: u32,
    /// Row of state `s` (an offset), class `c`: the next state, `trans[s + c]`.
    trans: Vec<u32>,
    matches: u32,
    start: u32,
    /// The keywords that end at the match state of index `i` (offset `i << stride2`):
    /// `match_list[match_at[i]..match_at[i + 1]]`.
    match_at: Vec<u32>,
    match_list: Vec<u32>,
    /// One less than the longest keyword's length: how far a walk stream starts before the
    /// part of the text it owns.
    overlap: usize,
}

impl Table {
    /// Builds the automaton of `keywords` (of one byte or more; pattern ids are their
    /// indexes): a trie, then breadth first each state's failure link and full row (a
    /// state's missing transitions are its failure state's, whose row is complete by then).
    fn new(keywords: &[String]) -> Result<Table, String> {
        // Class 0 for the bytes of no keyword (if any), then one per keyword byte.
        let mut used = [false; 256];
        for k in keywords {
            for &b in k.as_bytes() {
                used[usize::from(b)] = true;
            }
        }
        let mut classes = [0u8; 256];
        let mut n_classes = usize::from(used.contains(&false));
        for b in 0..256 {
            if used[b] {
                classes[b] = n_classes as u8;
                n_classes += 1;
            }
        }
        let stride2 = n_classes.next_power_of_two().trailing_zeros();
        let stride = 1usize << stride2;
        // The trie's states, counted before any is built: in sorted order, each keyword adds
        // the bytes past its common prefix with the one before.
        let mut sorted: Vec<&[u8]> = keywords.iter().map(|k| k.as_bytes()).collect();
        sorted.sort_unstable();
        let mut states = 1usize;
        let mut prev: &[u8] = &[];
        for k in sorted {
            states += k.len() - k.iter().zip(prev).take_while(|(a, b)| a == b).count();
            prev = k;
        }
        if states > MAX_TABLE >> stride2 {
            return Err(format!(
                "the keywords make an automaton of {states} states with rows of {stride} \
                 (one per byte value the keywords use), {} entries in all, more than the \
                 limit of {MAX_TABLE}: use fewer or shorter keywords",
                states.saturating_mul(stride)
            ));
        }
        // The trie; `u32::MAX` for no transition.
        const NONE: u32 = u32::MAX;
        let mut trans: Vec<u32> = Vec::with_capacity(states << stride2);
        trans.resize(stride, NONE);
        let mut own: Vec<Vec<u32>> = vec![Vec::new()];
        for (p, k) in keywords.iter().enumerate() {
            let mut s = 0usize;
            for &b in k.as_bytes() {
                let i = (s << stride2) | usize::from(classes[usize::from(b)]);
                if trans[i] == NONE {
                    trans[i] = own.len() as u32;
                    own.push(Vec::new());
                    trans.resize(trans.len() + stride, NONE);
                }
                s = trans[i] as usize;
            }
            own[s].push(p as u32);
        }
        // Breadth first: failure links, outputs, full rows.
        let n = own.len();
        debug_assert_eq!(n, states);
        let mut fail = vec![0u32; n];
        let mut out: Vec<Vec<u32>> = vec![Vec::new(); n];
        out[0] = std::mem::take(&mut own[0]);
        let mut order = Vec::with_capacity(n);
        order.push(0u32);
        let mut k = 0;
        while k < order.len() {
            let s = order[k] as usize;
            k += 1;
            let f = fail[s] as usize;
            for c in 0..n_classes {
                let i = (s << stride2) | c;
                let t = trans[i];
                let via_fail = if s == 0 { 0 } else { trans[(f << stride2) | c] };
                if t == NONE {
                    trans[i] = via_fail;
                    continue;
                }
                let t = t as usize;
                fail[t] = via_fail;
                let mut o = std::mem::take(&mut own[t]);
                o.extend_from_slice(&out[via_fail as usize]);
                out[t] = o;
                order.push(t as u32);
            }
        }
        // Renumbered, match states first, each group in breadth-first order.
        let (matching, other): (Vec<u32>, Vec<u32>) =
            order.iter().partition(|&&s| !out[s as usize].is_empty());
        let matches = matching.len() as u32;
        let renumbered: Vec<u32> = matching.into_iter().chain(other).collect();
        let mut place = vec![0u32; n];
        for (i, &s) in renumbered.iter().enumerate() {
            place[s as usize] = i as u32;
        }
        let mut table = vec![0u32; n << stride2];
        let (mut match_at, mut match_list) = (vec![0u32], Vec::new());
        for (i, &s) in renumbered.iter().enumerate() {
            let s = s as usize;
            for c in 0..n_classes {
                table[(i << stride2) | c] = place[trans[(s << stride2) | c] as usize] << stride2;
            }
            if i < matches as usize {
                match_list.extend_from_slice(&out[s]);
                match_at.push(match_list.len() as u32);
            }
        }
        Ok(Table {
            classes,
            stride2,
            trans: table,
            matches: matches << stride2,
            start: place[0] << stride2,
            match_at,
            match_list,
            overlap: keywords
                .iter()
                .map(String::len)
                .max()
                .unwrap_or(0)
                .saturating_sub(1),
        })
    }

    #[inline(always)]
    fn next(&self, s: u32, b: u8) -> u32 {
        self.trans[s as usize + usize::from(self.classes[usize::from(b)])]
    }

    #[inline(always)]
    fn is_match(&self, s: u32) -> bool {
        s < self.matches
    }

    /// The keywords that end at state `s` (none unless it is a match state).
    fn matches_of(&self, s: u32) -> &[u32] {
        if !self.is_match(s) {
            return &[];
        }
        let i = (s >> self.stride2) as usize;
        &self.match_list[self.match_at[i] as usize..self.match_at[i + 1] as usize]
    }

    /// Walks all of `bytes`, or with `ascii_stretches` each stretch of ASCII bytes, calling
    /// `visit` with the keywords of each match state reached and the offset past it.
    fn walk_text(
        &self,
        bytes: &[u8],
        ascii_stretches: bool,
        visit: &mut impl FnMut(&[u32], usize),
    ) {
        // A stream that reached no match state when another did gives no keywords.
        let mut visit = |s: u32, end: usize| visit(self.matches_of(s), end);
        if ascii_stretches {
            for_each_ascii_stretch(bytes, |lo, hi| walk(self, bytes, lo, hi, &mut visit));
        } else {
            walk(self, bytes, 0, bytes.len(), &mut visit);
        }
    }
}

/// How many first bytes of a text [`KeywordMatcher::run`] reads to tell what it is
/// made of (counting all of 100 KB cost 10% of a scan of that text).
const HEAD: usize = 256;

/// How many bytes of `b` are not ASCII (eight at a time: a byte-wise count vectorises badly).
fn count_not_ascii(b: &[u8]) -> usize {
    let mut words = b.chunks_exact(8);
    let mut n = 0;
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        n += (w & 0x8080_8080_8080_8080).count_ones() as usize;
    }
    n + words.remainder().iter().filter(|&&x| x >= 0x80).count()
}

/// Calls `f(lo, hi)` for each maximal stretch `bytes[lo..hi]` of two ASCII bytes or more, in
/// order (a stretch of one byte holds no keyword of two). Found from a bit per byte pair
/// that is ASCII, 64 at a time, so that a Russian text, whose words are separated by single
/// spaces, costs a look at each of its few longer stretches and not at every space.
fn for_each_ascii_stretch(bytes: &[u8], mut f: impl FnMut(usize, usize)) {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Bit k set when byte k of the block at `base` is ASCII (bytes past the end are not).
    let gather = |w: u64| ((!w & HIGH) >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let ascii_bits = |base: usize| -> u64 {
        let rest = bytes.get(base..).unwrap_or_default();
        if let Some(block) = rest.first_chunk::<64>() {
            // The high bit of each byte, gathered eight bytes at a time, byte 0 to bit 0.
            let mut bits = 0u64;
            for (k, w) in block.chunks_exact(8).enumerate() {
                let w = u64::from_le_bytes(w.try_into().unwrap_or([0x80; 8]));
                bits |= gather(w) << (8 * k);
            }
            return bits;
        }
        let mut bits = 0u64;
        for (k, word) in rest.chunks(8).enumerate() {
            let mut w = [0x80u8; 8];
            w[..word.len()].copy_from_slice(word);
            bits |= gather(u64::from_le_bytes(w)) << (8 * k);
        }
        bits
    };
    let mut start: Option<usize> = None;
    let mut next = ascii_bits(0);
    let mut base = 0;
    while base < bytes.len() {
        let cur = next;
        next = ascii_bits(base + 64);
        // Bit k: bytes k and k + 1 are both ASCII.
        let mut pairs = cur & ((cur >> 1) | (next << 63));
        // A stretch still open from the last block ends at the first pair missing.
        if let Some(s) = start {
            let run = (!pairs).trailing_zeros();
            if run == 64 {
                base += 64;
                continue;
            }
            f(s, base + run as usize + 1);
            start = None;
            pairs &= !0u64 << run;
        }
        while pairs != 0 {
            let k = pairs.trailing_zeros();
            let run = (!(pairs >> k)).trailing_zeros();
            if k + run >= 64 {
                start = Some(base + k as usize);
                break;
            }
            f(base + k as usize, base + (k + run) as usize + 1);
            pairs &= !0u64 << (k + run);
        }
        base += 64;
    }
    if let Some(s) = start {
        f(s, bytes.len());
    }
}

/// Walks `dfa` from its start state over `bytes[lo..hi]`, calling `visit(state, end)` at
/// each special (match) state with the offset just past the byte that reached it.
///
/// The walk is a chain of dependent loads (each state's row depends on the last), so
/// stretches of some length are walked as two or four parts side by side, which the
/// processor overlaps (four streams walk 4 KB of English in about half the time of two).
/// Each part after the first starts early enough for any keyword that ends in the part it
/// owns to be found there, and reports only matches that end in it.
fn walk(dfa: &Table, bytes: &[u8], lo: usize, hi: usize, visit: &mut impl FnMut(u32, usize)) {
    let (sid, overlap) = (dfa.start, dfa.overlap);
    let n = hi - lo;
    let streams = if n >= 4 * STREAM_MIN {
        4
    } else if n >= 2 * STREAM_MIN {
        2
    } else {
        1
    };
    // Stream j owns the matches that end in (own[j], own[j + 1]].
    let mut own = [hi; 5];
    let mut pos = [lo; 4];
    let mut st = [sid; 4];
    for j in 0..streams {
        own[j] = lo + j * n / streams;
        pos[j] = own[j].saturating_sub(overlap).max(lo);
    }
    own[streams] = hi;
    // Side by side for as long as the shortest stream lasts.
    let together = (0..streams).map(|j| own[j + 1] - pos[j]).min().unwrap_or(0);
    let mut walked = 0;
    while streams > 1 && walked < together {
        let steps = together - walked;
        let k = if streams == 4 {
            let (k, s) = next_special_quad(dfa, bytes, pos, st, steps);
            st = s;
            k
        } else {
            let (k, a, b) = next_special_pair(dfa, bytes, pos[0], st[0], pos[1], st[1], steps);
            (st[0], st[1]) = (a, b);
            k
        };
        walked += k;
        for j in 0..streams {
            pos[j] += k;
            if pos[j] > own[j] {
                visit(st[j], pos[j]);
            }
        }
    }
    // Then each stream alone to the end of what it owns (all of a short stretch).
    for j in 0..streams {
        let (mut at, mut sid) = (pos[j], st[j]);
        let mine = &bytes[..own[j + 1]];
        loop {
            let end;
            (end, sid) = next_special(dfa, mine, at, sid);
            if end > mine.len() {
                break;
            }
            at = end;
            if end > own[j] {
                visit(sid, end);
            }
        }
    }
}

impl KeywordMatcher {
    /// A keyword at `start..end` that gates `rules`: opens their gates, or reports a hit for
    /// the keyword-only ones where it is a whole word (for rules with [`WORD_START`] or
    /// [`WORD_END`] in `words`, only where it starts or ends a word). Returns whether every
    /// rule is now open and none wants hits: then later occurrences of the keyword have
    /// nothing left to do.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn gate_rules(
        &self,
        rules: &[u32],
        bytes: &[u8],
        start: usize,
        end: usize,
        gate: &mut [bool],
        opened: &mut Vec<u32>,
        keyword_only: &[bool],
        words: &[u8],
        hit: &mut impl FnMut(KeywordHit),
    ) -> bool {
        let mut all_open = true;
        for &rule in rules {
            let r = rule as usize;
            if !word_bounds_hold(words[r], bytes, start, end) {
                all_open &= gate[r] && !keyword_only[r];
                continue;
            }
            if keyword_only[r] {
                all_open = false;
                if is_whole_word(bytes, start, end) {
                    hit(KeywordHit { rule, start, end });
                }
            } else if !gate[r] {
                gate[r] = true;
                opened.push(rule);
            }
        }
        all_open
    }
}

/// The first byte at or after `from` in `lo..=hi`: memchr for one byte, otherwise masks of
/// the range ([`crate::bytemask`]).
fn next_in_range(b: &[u8], from: usize, lo: u8, hi: u8) -> Option<usize> {
    if lo == hi {
        return memchr::memchr(lo, b.get(from..)?).map(|k| from + k);
    }
    crate::bytemask::Class::new([(lo, hi)]).next(b, from)
}

/// Texts at least twice this long are walked as two streams, four times as four.
const STREAM_MIN: usize = 128;

/// Walks four stretches of `bytes`, from `at[0..4]`, side by side for at most `steps` bytes,
/// stopping after the first step at which any reaches a special (match) state: returns the
/// steps taken and the four states.
#[inline(never)]
fn next_special_quad(
    dfa: &Table,
    bytes: &[u8],
    at: [usize; 4],
    st: [u32; 4],
    steps: usize,
) -> (usize, [u32; 4]) {
    let x0 = &bytes[at[0]..at[0] + steps];
    let x1 = &bytes[at[1]..at[1] + steps];
    let x2 = &bytes[at[2]..at[2] + steps];
    let x3 = &bytes[at[3]..at[3] + steps];
    let [mut s0, mut s1, mut s2, mut s3] = st;
    for k in 0..steps {
        s0 = dfa.next(s0, x0[k]);
        s1 = dfa.next(s1, x1[k]);
        s2 = dfa.next(s2, x2[k]);
        s3 = dfa.next(s3, x3[k]);
        if dfa.is_match(s0) | dfa.is_match(s1) | dfa.is_match(s2) | dfa.is_match(s3) {
            return (k + 1, [s0, s1, s2, s3]);
        }
    }
    (steps, [s0, s1, s2, s3])
}

/// Walks two stretches of `bytes`, from `a` and from `b`, side by side for at most `steps`
/// bytes, stopping after the first step at which either reaches a special (match) state:
/// returns the steps taken and both states.
#[inline(never)]
fn next_special_pair(
    dfa: &Table,
    bytes: &[u8],
    a: usize,
    mut sa: u32,
    b: usize,
    mut sb: u32,
    steps: usize,
) -> (usize, u32, u32) {
    let (xa, xb) = (&bytes[a..a + steps], &bytes[b..b + steps]);
    for (k, (&ba, &bb)) in xa.iter().zip(xb).enumerate() {
        sa = dfa.next(sa, ba);
        sb = dfa.next(sb, bb);
        if dfa.is_match(sa) | dfa.is_match(sb) {
            return (k + 1, sa, sb);
        }
    }
    (steps, sa, sb)
}

/// Walks `dfa` from `sid` over `bytes[at..]` to the next special (match) state: returns the
/// offset just past the byte that reached it, and the state; or `bytes.len() + 1` when the
/// text ends first. Its own function, so that the loop keeps everything in registers.
#[inline(never)]
fn next_special(dfa: &Table, bytes: &[u8], at: usize, mut sid: u32) -> (usize, u32) {
    for (i, &b) in bytes.iter().enumerate().skip(at) {
        sid = dfa.next(sid, b);
        if dfa.is_match(sid) {
            return (i + 1, sid);
        }
    }
    (bytes.len() + 1, sid)
}

/// The regexes of rules that are gated together (same view, same keywords; or no keywords
/// at all) as one set: a single pass tells which of them can match, so a gate that lets
/// several rules through costs one scan, not one per rule.
#[derive(Debug)]
pub(crate) struct SharedSet {
    /// The rules, in the order of the set's patterns.
    pub rules: Vec<u32>,
    patterns: Vec<Box<str>>,
    /// Compiled when first needed, like [`LazyRegex`].
    set: std::sync::OnceLock<Option<RegexSet>>,
}

impl SharedSet {
    /// Builds the set from `(rule index, regex source)`; with `eager`, compiles it now.
    pub fn new(rules: Vec<(u32, &str)>, eager: bool) -> Result<SharedSet, String> {
        let shared = SharedSet {
            patterns: rules.iter().map(|r| r.1.into()).collect(),
            rules: rules.into_iter().map(|r| r.0).collect(),
            set: std::sync::OnceLock::new(),
        };
        if eager {
            let patterns: Vec<&str> = shared.patterns.iter().map(|p| &**p).collect();
            let _ = shared.set.set(Some(compile_set(&patterns)?));
        }
        Ok(shared)
    }

    fn get(&self) -> Option<&RegexSet> {
        self.set
            .get_or_init(|| {
                let patterns: Vec<&str> = self.patterns.iter().map(|p| &**p).collect();
                let set = compile_set(&patterns);
                debug_assert!(set.is_ok(), "verified regex set failed to compile: {set:?}");
                set.ok()
            })
            .as_ref()
    }

    /// Compiles it now if it is not yet.
    pub fn force(&self) {
        let _ = self.get();
    }

    /// Sets `matched[rule]`, for each rule of the set, to whether its regex matches
    /// somewhere in `text` (`matched` is indexed by the engine's rule index).
    pub fn mark_matching(&self, text: &str, matched: &mut [bool]) {
        let set = match self.get() {
            // Most texts match none of the set: a search that stops at the first match, with
            // the lazy DFA's unrolled loop, tells that sooner than the overlapping one.
            Some(set) if set.is_match(text) => set,
            _ => {
                for &r in &self.rules {
                    matched[r as usize] = false;
                }
                return;
            }
        };
        let m = set.matches(text);
        for (i, &r) in self.rules.iter().enumerate() {
            matched[r as usize] = m.matched(i);
        }
    }
}

/// A rule's keywords count only where they start a word ([`KeywordMatcher::run`]).
pub(crate) const WORD_START: u8 = 1;
/// A rule's keywords count only where they end a word.
pub(crate) const WORD_END: u8 = 2;

/// Whether the keyword at `bytes[start..end]` meets the word flags `w`.
fn word_bounds_hold(w: u8, bytes: &[u8], start: usize, end: usize) -> bool {
    (w & WORD_START == 0 || starts_word(bytes, start))
        && (w & WORD_END == 0 || ends_word(bytes, end))
}

/// Whether a match that ends at `end` does not go on into an ASCII word on the right.
fn ends_word(bytes: &[u8], end: usize) -> bool {
    end >= bytes.len() || !is_word_byte(bytes[end]) || !is_word_byte(bytes[end - 1])
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether a match at `start` does not continue an ASCII word from the left.
fn starts_word(bytes: &[u8], start: usize) -> bool {
    start == 0 || !is_word_byte(bytes[start]) || !is_word_byte(bytes[start - 1])
}

/// Whether `bytes[start..end]` does not continue an ASCII word on either side.
fn is_whole_word(bytes: &[u8], start: usize, end: usize) -> bool {
    starts_word(bytes, start) && ends_word(bytes, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;
    use aho_corasick::automaton::Automaton;
    use aho_corasick::dfa::DFA;
    use aho_corasick::{Anchored, MatchKind, StartKind};

    /// Token formats with a literal start are compiled without DFAs; anything else keeps
    /// them.
    #[test]
    fn rare_prefixes() {
        let rare = |p: &str| {
            let hir = regex_syntax::ParserBuilder::new()
                .build()
                .parse(&ascii_classes(p))
                .expect("parses");
            rare_prefix(&hir)
        };
        assert!(rare(
            r"\b(?P<secret>AKCp[A-Za-z0-9]{69})(?:[^A-Za-z0-9_-]|$)"
        ));
        assert!(rare(
            r"\b(?P<secret>sq[pua]_[a-f0-9]{40})(?:[^A-Za-z0-9_-]|$)"
        ));
        assert!(!rare(r"\b(?P<secret>fc-[a-f0-9]{32})"), "three bytes");
        assert!(rare(
            r"(?i:elevenlabs|xi-api-key|xi_api_key)[A-Za-z0-9_. -]{0,30}?=(?P<secret>[a-f0-9]{32})"
        ));
        // 2^10 case variants, which the literal extractor trims to 128 prefixes of seven
        // bytes.
        assert!(rare(r"(?i:AccountKey)=(?P<secret>[A-Za-z0-9+/]{86}==)"));
        assert!(!rare(
            r"(?:^|[^A-Za-z0-9_-])(?P<secret>pa-[A-Za-z0-9_-]{43})"
        ));
        assert!(!rare(r"\b(?:not|never)\s+refuse"), "not: three bytes");
        assert!(!rare(r"[a-z]+@[a-z]+"));
    }

    /// Every built-in rule's regex, in both its forms (with DFAs, and without them where a
    /// token rule may have that form), finds what the `regex` crate with the same limits
    /// finds, in each of the rule's examples and in all of them joined: the same matches and
    /// the same `secret` or `span` group.
    #[test]
    fn compiled_regexes_find_what_the_regex_crate_finds() {
        // A match and the span of its `secret` group.
        type Found = (usize, usize, Option<(usize, usize)>);
        let mut rare_rules = 0;
        for pack in crate::rule::RulePack::builtin() {
            for r in &pack.rules {
                let Some(src) = &r.regex else { continue };
                // Both forms: with DFAs, and without them where the rule may have that form.
                let hir = parse_regex(src).expect("parses");
                let without = rare_prefix(&hir);
                let full = build_regex(&hir, false).expect("compiles");
                let short = build_regex(&hir, without).expect("compiles");
                assert_eq!(compile_short_form(src).is_some(), without, "rule {}", r.id);
                let theirs = compile_allow_regex(src).expect("compiles");
                let group = theirs
                    .capture_names()
                    .position(|n| n == Some("secret") || n == Some("span"));
                rare_rules += usize::from(without);
                let joined = r.examples_match.join(" \n ");
                let texts = r
                    .examples_match
                    .iter()
                    .chain(&r.examples_no_match)
                    .chain(std::iter::once(&joined));
                for (text, ours) in texts.flat_map(|t| [(t, &full), (t, &short)]) {
                    let got: Vec<Found> = ours
                        .captures_iter(text)
                        .filter_map(|c| {
                            let m = c.get_match()?;
                            let g = group.and_then(|g| c.get_group(g)).map(|s| (s.start, s.end));
                            Some((m.start(), m.end(), g))
                        })
                        .collect();
                    let want: Vec<Found> = theirs
                        .captures_iter(text)
                        .map(|c| {
                            let m = c.get(0).expect("a match has group 0");
                            let g = group.and_then(|g| c.get(g)).map(|s| (s.start(), s.end()));
                            (m.start(), m.end(), g)
                        })
                        .collect();
                    assert_eq!(got, want, "rule {} on {text:?}", r.id);
                }
            }
        }
        assert!(
            rare_rules >= 40,
            "token rules with a literal start: {rare_rules}"
        );
    }

    #[test]
    fn perl_classes_become_ascii() {
        assert_eq!(
            view_whitespace(r"a\s+b\S[^\s,]\\s"),
            r"a[\x20\n]+b[^\x20\n][^[\x20\n],]\\s"
        );
        assert!(matches!(
            view_whitespace(r"a\d"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(ascii_classes(r"\bkey\b"), r"(?-u:\b)key(?-u:\b)");
        assert_eq!(ascii_classes(r"\\b"), r"\\b");
        assert_eq!(ascii_classes(r"[\b]\B"), r"[\b](?-u:\B)");
        assert_eq!(
            ascii_classes(r"\w+\W\d\D"),
            "[0-9A-Za-z_]+[^0-9A-Za-z_][0-9][^0-9]"
        );
        assert_eq!(ascii_classes(r"[\w.-]+[^\d]"), "[0-9A-Za-z_.-]+[^0-9]");
        assert_eq!(
            ascii_classes(r"[]\w][^]\d]\w"),
            "[]0-9A-Za-z_][^]0-9][0-9A-Za-z_]"
        );
        assert_eq!(ascii_classes(r"\s\p{L}"), r"\s\p{L}");
        let re = compile_regex(r"\bignore\b").expect("compiles");
        assert!(re.is_match("please ignore this"));
        assert!(!re.is_match("ignored"));
        assert!(re.is_match("é ignore"));
        let re = compile_regex(r"^\w+ \W+ \w+$").expect("compiles");
        assert!(
            re.is_match("abc éé xyz"),
            "non-ASCII letters are not word characters"
        );
    }

    #[test]
    fn regex_limits() {
        assert!(check_regex("(").is_err());
        assert!(check_regex(&"a".repeat(MAX_REGEX_LEN + 1)).is_err());
        assert!(check_regex("a+b").is_ok());
        assert!(compile_regex(&"a".repeat(MAX_REGEX_LEN + 1)).is_err());
        assert!(compile_regex("(a{1000}){1000}").is_err());
        assert!(compile_regex("(").is_err());
    }

    /// `len` characters drawn from `alphabet` by a xorshift generator in state `x`.
    fn random_text(x: &mut u64, alphabet: &[char], len: usize) -> String {
        (0..len)
            .map(|_| {
                xorshift(x);
                alphabet[(*x % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    /// The whole-word occurrences of `ac`'s keywords in `text`, as (keyword, start, end), in
    /// order: what keyword-only rules report.
    fn whole_word_hits(ac: &aho_corasick::AhoCorasick, text: &str) -> Vec<(u32, usize, usize)> {
        let mut hits: Vec<(u32, usize, usize)> = ac
            .find_overlapping_iter(text)
            .filter(|h| is_whole_word(text.as_bytes(), h.start(), h.end()))
            .map(|h| (h.pattern().as_u32(), h.start(), h.end()))
            .collect();
        hits.sort_unstable();
        hits
    }

    /// The stretches of two ASCII bytes or more, and the count of other bytes, are those a
    /// byte-by-byte reading finds, at every length around the 64-byte blocks.
    #[test]
    fn ascii_stretches_and_other_bytes_are_found() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for alphabet in [
            &['a', 'b', ' ', 'й', '中'][..],
            &['a', 'я'],
            &['я', 'a', 'я', 'я'],
        ] {
            for len in (0..300).chain([1000, 4096]) {
                let text = random_text(&mut x, alphabet, len);
                let b = text.as_bytes();
                let mut want = Vec::new();
                let mut i = 0;
                while i < b.len() {
                    let j = (i..b.len()).find(|&k| !b[k].is_ascii()).unwrap_or(b.len());
                    if j - i >= 2 {
                        want.push((i, j));
                    }
                    i = j + 1;
                }
                let mut got = Vec::new();
                for_each_ascii_stretch(b, |lo, hi| got.push((lo, hi)));
                assert_eq!(got, want, "{text:?}");
                let other = b.iter().filter(|&&c| c >= 0x80).count();
                assert_eq!(count_not_ascii(b), other, "{text:?}");
            }
        }
    }

    /// Over texts that are not ASCII, an ASCII matcher finds the same by walking the
    /// stretches of ASCII (texts made mostly of other bytes) or the whole text (the others)
    /// as [`KeywordMatcher::run`] does, and a matcher of keywords of other scripts the same
    /// as a plain overlapping search.
    #[test]
    fn texts_that_are_not_ascii_gate_as_a_plain_search_says() {
        let keywords = [
            "ab", "b a", "ba", "a\nb", "aaaaaaaa", "bb", "яa", "a я", "中a",
        ];
        let rules: Vec<(u32, Vec<String>)> = keywords
            .iter()
            .enumerate()
            .map(|(i, k)| (i as u32, vec![k.to_string()]))
            .collect();
        let ascii = KeywordMatcher::new(
            rules
                .iter()
                .map(|(i, k)| (*i, k.iter().filter(|k| k.is_ascii()).cloned().collect())),
        )
        .expect("builds");
        let other = KeywordMatcher::new(
            rules
                .iter()
                .map(|(i, k)| (*i, k.iter().filter(|k| !k.is_ascii()).cloned().collect())),
        )
        .expect("builds");
        let all: Vec<String> = rules.iter().flat_map(|r| r.1.clone()).collect();
        let ac = aho_corasick::AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&all)
            .expect("builds");
        let n = keywords.len();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        // Mostly other bytes (stretches), and mostly ASCII (the whole text).
        for alphabet in [
            &[
                'a', 'b', ' ', '\n', 'я', '中', 'я', '中', '中', 'я', '中', '中',
            ][..],
            &['a', 'b', ' ', 'я'],
        ] {
            for len in (1..400).chain([1000, 5000]) {
                let text = random_text(&mut x, alphabet, len);
                if text.is_ascii() {
                    continue;
                }
                let (mut hits, mut gate, mut opened) = (Vec::new(), vec![false; n], Vec::new());
                for m in [&ascii, &other] {
                    m.run(
                        &text,
                        false,
                        &mut gate,
                        &mut opened,
                        &vec![true; n],
                        &vec![0; n],
                        |h| hits.push((h.rule, h.start, h.end)),
                    );
                }
                hits.sort_unstable();
                assert_eq!(hits, whole_word_hits(&ac, &text), "{text:?}");
            }
        }
    }

    /// A matcher whose rule `i` is gated by `keywords[i]` alone, and the `aho-corasick`
    /// automaton of the same keywords to check it against.
    fn one_rule_per_keyword(
        keywords: &[impl AsRef<str>],
    ) -> (KeywordMatcher, aho_corasick::AhoCorasick) {
        let m = KeywordMatcher::new(
            keywords
                .iter()
                .enumerate()
                .map(|(i, k)| (i as u32, vec![k.as_ref().to_string()])),
        )
        .expect("builds");
        let ac = aho_corasick::AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(keywords.iter().map(AsRef::<str>::as_ref))
            .expect("builds");
        (m, ac)
    }

    /// The hits of `m`'s `rules` rules over `text`, all of them keyword-only (so that every
    /// whole-word occurrence is reported), in order.
    fn keyword_only_hits(m: &KeywordMatcher, text: &str, rules: usize) -> Vec<(u32, usize, usize)> {
        let mut hits = Vec::new();
        m.run(
            text,
            true,
            &mut vec![false; rules],
            &mut Vec::new(),
            &vec![true; rules],
            &vec![0; rules],
            |h| hits.push((h.rule, h.start, h.end)),
        );
        hits.sort_unstable();
        hits
    }

    /// The walk in two and four streams finds what one overlapping pass of the library's
    /// iterator finds, at every length around the splits and with keywords across them.
    #[test]
    fn stream_walk_matches_a_plain_overlapping_search() {
        let keywords = [
            "ab",
            "abc",
            "bca",
            "cab",
            "a b",
            "bbbbbbbbbbbbbbbb",
            "c",
            "ba c",
        ];
        let rules = keywords.len();
        let (m, ac) = one_rule_per_keyword(&keywords);
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for len in (0..1100).chain([2048, 4095, 4096, 4097]) {
            let text = random_text(&mut x, &['a', 'b', 'c', ' ', 'b'], len);
            // Keyword-only rules report every occurrence: compare those.
            assert_eq!(
                keyword_only_hits(&m, &text, rules),
                whole_word_hits(&ac, &text),
                "length {len}"
            );
            // Gated rules open exactly when their keyword occurs.
            let mut gate = vec![false; rules];
            let mut opened = Vec::new();
            m.run(
                &text,
                true,
                &mut gate,
                &mut opened,
                &vec![false; rules],
                &vec![0; rules],
                |_| {},
            );
            let mut want: Vec<u32> = ac
                .find_overlapping_iter(&text)
                .map(|h| h.pattern().as_u32())
                .collect();
            want.sort_unstable();
            want.dedup();
            opened.sort_unstable();
            assert_eq!(opened, want, "length {len}");
        }
    }

    /// Runs the matcher of `rules` (each a list of indexes into `keywords`) over random texts
    /// of `alphabet` at each of `lens`, and checks the opened rules and the hits against a
    /// plain overlapping search of the keywords.
    fn check_against_a_plain_search(
        keywords: &[&str],
        rules: &[Vec<usize>],
        keyword_only: &[bool],
        words: &[u8],
        alphabet: &[char],
        lens: impl Iterator<Item = usize>,
    ) -> KeywordMatcher {
        let m = KeywordMatcher::new(rules.iter().enumerate().map(|(i, ks)| {
            (
                i as u32,
                ks.iter().map(|&k| keywords[k].to_string()).collect(),
            )
        }))
        .expect("builds");
        let ac = aho_corasick::AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(keywords)
            .expect("builds");
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for len in lens {
            let text = random_text(&mut x, alphabet, len);
            let bytes = text.as_bytes();
            let (mut gate, mut opened, mut hits) =
                (vec![false; rules.len()], Vec::new(), Vec::new());
            m.run(
                &text,
                true,
                &mut gate,
                &mut opened,
                keyword_only,
                words,
                |h| hits.push((h.rule, h.start, h.end)),
            );
            let (mut want_open, mut want_hits) = (Vec::new(), Vec::new());
            for h in ac.find_overlapping_iter(&text) {
                for (r, ks) in rules.iter().enumerate() {
                    if !ks.contains(&h.pattern().as_usize())
                        || !word_bounds_hold(words[r], bytes, h.start(), h.end())
                    {
                        continue;
                    }
                    if keyword_only[r] {
                        if is_whole_word(bytes, h.start(), h.end()) {
                            want_hits.push((r as u32, h.start(), h.end()));
                        }
                    } else {
                        want_open.push(r as u32);
                    }
                }
            }
            want_open.sort_unstable();
            want_open.dedup();
            opened.sort_unstable();
            assert_eq!(opened, want_open, "{text:?}");
            want_hits.sort_unstable();
            hits.sort_unstable();
            assert_eq!(hits, want_hits, "{text:?}");
        }
        m
    }

    /// Keywords shared by several rules, some keyword-only and some needing a word start, over
    /// texts that repeat the keywords many times (where opened keywords are skipped): the
    /// opened rules and the hits are those of a plain overlapping search.
    #[test]
    fn shared_keywords_open_and_hit_as_a_plain_search_says() {
        // Rule -> its keywords; rules 2 and 5 are keyword-only, rules 1 and 4 need a word start.
        check_against_a_plain_search(
            &["ab", "ba", "abc", "c", "b b"],
            &[
                vec![0, 1],
                vec![0, 2],
                vec![2],
                vec![3, 4],
                vec![1],
                vec![0, 3],
            ],
            &[false, false, true, false, false, true],
            &[
                0,
                WORD_START,
                0,
                WORD_START | WORD_END,
                WORD_START,
                WORD_START | WORD_END,
            ],
            &['a', 'b', 'c', ' ', 'b', 'a'],
            (0..300).chain([1000, 5000]),
        );
    }

    /// One-byte keywords, searched outside the automaton as ranges of bytes that gate the
    /// same rules (the digits), next to longer ones, with keyword-only and word-start rules
    /// among them: the opened rules and the hits are those of a plain overlapping search.
    #[test]
    fn one_byte_keywords_open_and_hit_as_a_plain_search_says() {
        // Rule -> its keywords: 0 the digits 0-5 (a range), 1 the digits 1-3 and `@` (other
        // rules, other ranges), 2 keyword-only on `a`, 3 word-start on `b` and `ab`, 4 on
        // `5` and `1a`.
        let m = check_against_a_plain_search(
            &["0", "1", "2", "3", "4", "5", "@", "a", "b", "ab", "1a"],
            &[
                vec![0, 1, 2, 3, 4, 5],
                vec![1, 2, 3, 6],
                vec![7],
                vec![8, 9],
                vec![5, 10],
            ],
            &[false, false, true, false, false],
            &[0, 0, 0, WORD_START, WORD_START | WORD_END],
            &[
                'a', 'b', ' ', 'x', '0', '3', '5', '9', '@', '1', 'x', 'x', 'x',
            ],
            (0..400).chain([1000, 5000]),
        );
        assert!(
            m.singles.len() >= 4,
            "one-byte keywords leave the automaton"
        );
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for len in (0..200).chain([1000, 3000]) {
            let text = random_text(&mut x, &['a', ' ', '0', '5', '9', '@'], len);
            let bytes = text.as_bytes();
            for from in 0..=bytes.len() + 1 {
                let want = (from..bytes.len()).find(|&k| (b'0'..=b'5').contains(&bytes[k]));
                assert_eq!(next_in_range(bytes, from, b'0', b'5'), want, "{text:?}");
            }
        }
    }

    #[test]
    fn gates_and_keyword_hits() {
        let m = KeywordMatcher::new([
            (0, vec!["ignore".to_string()]),
            (1, vec!["ignore".to_string(), "dan".to_string()]),
        ])
        .expect("builds");
        let mut gate = vec![false; 2];
        let mut hits = Vec::new();
        m.run(
            "dance, dan, ignore",
            true,
            &mut gate,
            &mut Vec::new(),
            &[false, true],
            &[0, 0],
            |h| hits.push((h.rule, h.start, h.end)),
        );
        assert_eq!(gate, vec![true, false]);
        assert_eq!(hits, vec![(1, 7, 10), (1, 12, 18)]);

        let mut gate = vec![false; 2];
        m.run(
            "xignore",
            true,
            &mut gate,
            &mut Vec::new(),
            &[false, false],
            &[0, 0],
            |_| {},
        );
        assert_eq!(gate, vec![true, true], "a substring gates by default");
        let mut gate = vec![false; 2];
        m.run(
            "xignore",
            true,
            &mut gate,
            &mut Vec::new(),
            &[false, false],
            &[WORD_START, 0],
            |_| {},
        );
        assert_eq!(
            gate,
            vec![false, true],
            "word-start rules need a word start"
        );
        let mut gate = vec![false; 2];
        m.run(
            "ignored",
            true,
            &mut gate,
            &mut Vec::new(),
            &[false, false],
            &[WORD_START, WORD_START],
            |_| {},
        );
        assert_eq!(gate, vec![true, true], "the end of the word is free");
        // Whole-word rules: not in "dance" or "ignored", but in "dan," and "[ignore]".
        for (text, want) in [
            ("dance, ignored", [false, false]),
            ("dance, dan,", [false, true]),
            ("[ignore]", [true, true]),
        ] {
            let mut gate = vec![false; 2];
            m.run(
                text,
                true,
                &mut gate,
                &mut Vec::new(),
                &[false, false],
                &[WORD_START | WORD_END, WORD_START | WORD_END],
                |_| {},
            );
            assert_eq!(gate, want, "{text}");
        }
    }

    #[test]
    fn shared_set_tells_which_rules_can_match() {
        for eager in [true, false] {
            let a = SharedSet::new(vec![(3, r"\d{3}"), (5, "xyz")], eager).expect("builds");
            assert_eq!(a.set.get().is_some(), eager);
            assert_eq!(a.rules, vec![3, 5]);
            // Indexed by rule; rules outside the set are left as they were.
            let matching = |text: &str| {
                let mut m = vec![true; 7];
                a.mark_matching(text, &mut m);
                m
            };
            let others = |m: &[bool]| [0, 1, 2, 4, 6].iter().all(|&r| m[r]);
            let m = matching("abc 123");
            assert_eq!((m[3], m[5]), (true, false));
            assert!(others(&m));
            let m = matching("123 xyz");
            assert_eq!((m[3], m[5]), (true, true));
            assert!(others(&m));
            let m = matching("");
            assert_eq!((m[3], m[5]), (false, false));
            assert!(others(&m));
        }
        assert!(SharedSet::new(vec![(0, "(")], true).is_err());
    }

    #[test]
    fn lazy_regexes_compile_on_first_use_unless_eager() {
        let lazy = LazyRegex::new(r"\d+", false, false).expect("no check when lazy");
        assert!(lazy.compiled.get().is_none());
        assert!(lazy.get().is_some_and(|re| re.is_match("a1")));
        assert!(lazy.compiled.get().is_some());
        let eager = LazyRegex::new(r"\d+", true, false).expect("compiles");
        assert!(eager.compiled.get().is_some());
        // Eager compilation reports what the size limits refuse.
        let huge = r"(?:\p{L}{100}){100}";
        assert!(crate::matcher::check_regex(huge).is_ok());
        assert!(LazyRegex::new(huge, true, false).is_err());
    }

    /// A token rule searches texts up to `SHORT_TEXT` bytes with its form without DFAs and
    /// longer ones with the other; other rules, and token rules without a literal start,
    /// have one form. The forms find the same tokens.
    #[test]
    fn short_texts_use_the_form_without_dfas() {
        let token = r"\b(?P<secret>AKCp[A-Za-z0-9]{10})(?:[^A-Za-z0-9_-]|$)";
        let text = "key AKCp0123456789 and AKCpabcdefghij, not AKCpshort".repeat(20);
        let find = |re: &Regex, t: &str| -> Vec<(usize, usize)> {
            re.find_iter(t).map(|m| (m.start(), m.end())).collect()
        };
        let lazy = LazyRegex::new(token, false, true).expect("wraps");
        let short = lazy.get_for(100).expect("compiles");
        assert!(lazy.short.get().is_some_and(Option::is_some));
        assert!(
            lazy.compiled.get().is_none(),
            "the other form is not needed yet"
        );
        let long = lazy.get_for(SHORT_TEXT + 1).expect("compiles");
        assert!(lazy.compiled.get().is_some());
        assert!(!std::ptr::eq(short, long));
        assert_eq!(find(short, &text), find(long, &text));
        assert_eq!(find(short, &text).len(), 40);
        // Forcing builds both.
        let forced = LazyRegex::new(token, false, true).expect("wraps");
        forced.force();
        assert!(forced.compiled.get().is_some() && forced.short.get().is_some_and(Option::is_some));
        // Not a token rule, or no literal start: one form.
        let prose = LazyRegex::new(token, false, false).expect("wraps");
        assert!(std::ptr::eq(
            prose.get_for(10).expect("compiles"),
            prose.get().expect("compiles")
        ));
        let digits = LazyRegex::new(r"\d{4}", false, true).expect("wraps");
        assert!(std::ptr::eq(
            digits.get_for(10).expect("compiles"),
            digits.get().expect("compiles")
        ));
    }

    /// Checks that `table` is the `aho-corasick` crate's DFA of the same keywords: pairing
    /// their states from the starts, every byte leads to paired states, each pairing is one
    /// to one, and paired states list the same keywords (a table's match states, none for
    /// the others).
    fn assert_same_automaton(dfa: &DFA, table: &Table) {
        let start = dfa.start_state(Anchored::No).expect("unanchored");
        let mut pair = std::collections::HashMap::from([(start, table.start)]);
        let mut back = std::collections::HashMap::from([(table.start, start)]);
        let mut todo = vec![(start, table.start)];
        while let Some((sid, s)) = todo.pop() {
            let want: Vec<u32> = if dfa.is_match(sid) {
                (0..dfa.match_len(sid))
                    .map(|k| dfa.match_pattern(sid, k).as_u32())
                    .collect()
            } else {
                Vec::new()
            };
            assert_eq!(table.matches_of(s), want);
            for b in 0..=255u8 {
                let (next, t) = (dfa.next_state(Anchored::No, sid, b), table.next(s, b));
                match (pair.get(&next), back.get(&t)) {
                    (None, None) => {
                        pair.insert(next, t);
                        back.insert(t, next);
                        todo.push((next, t));
                    }
                    (p, q) => assert!(p == Some(&t) && q == Some(&next), "byte {b}"),
                }
            }
        }
        assert_eq!(pair.len() << table.stride2, table.trans.len());
    }

    /// The walk's table is the automaton the `aho-corasick` crate builds, for keywords of ASCII, of other scripts, of bytes at the ends of the range,
    /// and keywords inside others.
    #[test]
    fn keyword_table_is_the_automaton() {
        let sets: [&[&str]; 5] = [
            &[
                "ignore",
                "instructions",
                "ghp_",
                "sk-ant-",
                "ig",
                "~|}",
                "\n",
            ],
            &[
                "игнорируй",
                "忽略",
                "指示",
                "ignora",
                "\u{10FFFF}",
                "\u{7f}x",
            ],
            &["\u{0}\u{1}", "\u{7f}\u{80}", "zz"],
            &["abcd", "bcd", "cd", "bc", "abcde", "xabcd"],
            &["ab", "ba"],
        ];
        for keywords in sets {
            let keywords: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
            let dfa = DFA::builder()
                .match_kind(MatchKind::Standard)
                .start_kind(StartKind::Unanchored)
                .prefilter(false)
                .build(&keywords)
                .expect("builds");
            assert_same_automaton(&dfa, &Table::new(&keywords).expect("builds"));
        }
    }

    /// Thousands of keywords that share little (100,000 states) find what a plain search
    /// finds; keywords too long in all for the table's limit are an error, not an abort.
    #[test]
    fn many_keywords_walk_a_large_table() {
        let mut x = 0x0123_4567_89AB_CDEFu64;
        let letters: Vec<char> = ('a'..='z').collect();
        let keywords: Vec<String> = (0..6000)
            .map(|_| random_text(&mut x, &letters, 16))
            .collect();
        let (m, ac) = one_rule_per_keyword(&keywords);
        let table = m.table.as_ref().expect("a table");
        assert!(table.trans.len() >> table.stride2 > 65_536);
        for len in [0, 1, 100, 700, 5000] {
            // Random letters with keywords spliced in.
            let mut text = random_text(&mut x, &letters, len);
            for k in keywords.iter().step_by(997) {
                text.push(' ');
                text.push_str(k);
            }
            let hits = keyword_only_hits(&m, &text, keywords.len());
            let want = whole_word_hits(&ac, &text);
            assert!(want.len() >= 6);
            assert_eq!(hits, want, "length {len}");
        }
        // Keywords of 26 letters and 40 other byte values (rows of 128 classes), 2 MB in all
        // and sharing little: 2 million states, more than 2^26 entries. (Counted before the
        // table is built: the error costs no memory.)
        let mut huge: Vec<String> = (0..8_000)
            .map(|_| random_text(&mut x, &letters, 256))
            .collect();
        huge.push((0u8..40).map(char::from).collect());
        let e = Table::new(&huge).expect_err("too large");
        assert!(e.contains("more than the limit"), "{e}");
    }

    #[test]
    fn whole_word() {
        let b = b"a dan b";
        assert!(is_whole_word(b, 2, 5));
        assert!(!is_whole_word(b"dance", 0, 3));
        assert!(is_whole_word(b"<|im_start|>", 0, 12));
    }
}

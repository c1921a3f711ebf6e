//! Exact token counts for OpenAI's `o200k_base` and `cl100k_base` encodings, offline.
//!
//! Counts equal those of tiktoken's `encode_ordinary`: text cannot carry special tokens, so
//! `<|endoftext|>` in a prompt counts as the ordinary text it is. The rank files ship inside
//! the build (cargo features `o200k_base` and `cl100k_base`, both on by default); nothing is
//! downloaded. Each encoding is built on its first use (see `docs/tokens.md` for the cost) and
//! shared by all threads afterwards.
//!
//! ```
//! use promptwall::tokens::{self, Encoding};
//!
//! assert_eq!(tokens::count("Hello, world!", Encoding::O200kBase), 4);
//! assert_eq!(tokens::count("<|endoftext|>", Encoding::Cl100kBase), 7);
//! // Early exit: stops once the count passes the limit.
//! let long = "a".repeat(100_000);
//! assert_eq!(tokens::count_till_limit(&long, Encoding::O200kBase, 8000), None);
//! assert_eq!(tokens::count_till_limit("four tokens here ok", Encoding::O200kBase, 8000), Some(4));
//! ```
//!
//! Counting is linear in the text: the byte-pair encoding is the `bpe` crate's backtracking
//! encoder, which gives tiktoken's result without tiktoken's quadratic merge loop on long
//! pieces such as `"a"` × 100,000. Text is first split as tiktoken splits it, with each
//! encoding's own pattern; tiktoken's look-ahead `\s+(?!\S)` is emulated by a pattern that
//! matches one more whitespace character, which is then given back.

#[cfg(any(feature = "o200k_base", feature = "cl100k_base"))]
use std::sync::LazyLock;

use bpe::byte_pair_encoding::BytePairEncoding;
use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};

/// A token encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// `o200k_base`: GPT-4o, GPT-4.1, o1, o3, o4-mini and later.
    #[cfg(feature = "o200k_base")]
    O200kBase,
    /// `cl100k_base`: GPT-4, GPT-3.5-turbo, text-embedding-3.
    #[cfg(feature = "cl100k_base")]
    Cl100kBase,
}

impl Encoding {
    /// The encodings compiled into this build.
    pub const ALL: &'static [Encoding] = &[
        #[cfg(feature = "o200k_base")]
        Encoding::O200kBase,
        #[cfg(feature = "cl100k_base")]
        Encoding::Cl100kBase,
    ];

    /// Its name, as tiktoken spells it (`o200k_base`).
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(feature = "o200k_base")]
            Encoding::O200kBase => "o200k_base",
            #[cfg(feature = "cl100k_base")]
            Encoding::Cl100kBase => "cl100k_base",
        }
    }

    /// The encoding of a name, if it is compiled into this build.
    pub fn from_name(name: &str) -> Option<Encoding> {
        Encoding::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// The exact number of tokens of `text`.
    pub fn count(self, text: &str) -> usize {
        let t = self.tokenizer();
        t.split(text)
            .map(|piece| t.bpe.count(piece.as_bytes()))
            .sum()
    }

    /// The exact number of tokens of `text` if it is at most `limit`, else `None`. Stops soon
    /// after the count passes the limit, so the cost is bounded by the limit rather than by
    /// the text's length.
    pub fn count_till_limit(self, text: &str, limit: usize) -> Option<usize> {
        let t = self.tokenizer();
        t.split(text).try_fold(0usize, |used, piece| {
            t.bpe
                .count_till_limit(piece.as_bytes(), limit - used)
                .map(|n| used + n)
        })
    }

    /// Builds the encoding now rather than on its first count (a server may call this at
    /// start-up so that no request pays for it).
    pub fn load(self) {
        let _ = self.tokenizer();
    }

    fn tokenizer(self) -> &'static Tokenizer {
        match self {
            #[cfg(feature = "o200k_base")]
            Encoding::O200kBase => &O200K_BASE,
            #[cfg(feature = "cl100k_base")]
            Encoding::Cl100kBase => &CL100K_BASE,
        }
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The exact number of tokens of `text` in `encoding` (tiktoken's `encode_ordinary`).
pub fn count(text: &str, encoding: Encoding) -> usize {
    encoding.count(text)
}

/// The exact number of tokens of `text` in `encoding` if it is at most `limit`, else `None`.
pub fn count_till_limit(text: &str, encoding: Encoding, limit: usize) -> Option<usize> {
    encoding.count_till_limit(text, limit)
}

/// The hash factor the `bpe` crate uses for OpenAI's encodings: no two tokens of either
/// encoding collide under it (the `bpe-openai` crate builds both with it).
#[cfg(any(feature = "o200k_base", feature = "cl100k_base"))]
const HASH_FACTOR: u64 = 17_846_336_922_010_275_747;

struct Tokenizer {
    bpe: BytePairEncoding,
    /// Alternatives in priority order; for each, whether its last character is a look-ahead
    /// to give back.
    pre: Regex,
    lookahead: [bool; 3],
}

impl Tokenizer {
    #[cfg(any(feature = "o200k_base", feature = "cl100k_base"))]
    fn new(ranks: &str, pattern: &str) -> Tokenizer {
        // The rank files are compiled in and checked by the test table, so failures here are
        // build defects, not input errors.
        #[allow(clippy::expect_used)]
        let bpe = BytePairEncoding::from_tiktoken(ranks, Some(HASH_FACTOR))
            .expect("built-in rank file is valid base64");
        // `\s+(?!\S)`: whitespace not followed by a non-space, i.e. all but the last space
        // before a word, or all of it at the end.
        #[allow(clippy::expect_used)]
        let pre = Regex::new_many(&[pattern, r"\s+\s", r"\s+"]).expect("built-in pattern");
        Tokenizer {
            bpe,
            pre,
            lookahead: [false, true, false],
        }
    }

    fn split<'a>(&'a self, text: &'a str) -> Pieces<'a> {
        Pieces {
            t: self,
            text,
            at: 0,
        }
    }
}

struct Pieces<'a> {
    t: &'a Tokenizer,
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = &self.text[self.at..];
        let m = self
            .t
            .pre
            .search(&Input::new(rest).anchored(Anchored::Yes))?;
        let mut end = m.end();
        if self.t.lookahead[m.pattern().as_usize()] {
            // The look-ahead pattern matches at least two characters; give the last back.
            let last = rest[..end].chars().next_back().map_or(0, char::len_utf8);
            end -= last;
        }
        if end == 0 {
            // Unreachable with the built-in patterns (every character is matched by one).
            return None;
        }
        self.at += end;
        Some(&rest[..end])
    }
}

#[cfg(feature = "o200k_base")]
static O200K_BASE: LazyLock<Tokenizer> = LazyLock::new(|| {
    Tokenizer::new(
        include_str!("../data/o200k_base.tiktoken"),
        concat!(
            r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            r"|\p{N}{1,3}",
            r"| ?[^\s\p{L}\p{N}]+[\r\n/]*",
            r"|\s*[\r\n]+",
            r"|\s+$",
        ),
    )
});

#[cfg(feature = "cl100k_base")]
static CL100K_BASE: LazyLock<Tokenizer> = LazyLock::new(|| {
    Tokenizer::new(
        include_str!("../data/cl100k_base.tiktoken"),
        concat!(
            r"(?i:'s|'t|'re|'ve|'m|'ll|'d)",
            r"|[^\r\n\p{L}\p{N}]?\p{L}+",
            r"|\p{N}{1,3}",
            r"| ?[^\s\p{L}\p{N}]+[\r\n]*",
            r"|\s*[\r\n]+",
            r"|\s+$",
        ),
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_follow_tiktoken() {
        let t = Encoding::O200kBase.tokenizer();
        let p: Vec<_> = t.split("Hello   world  \n x  ").collect();
        assert_eq!(p, ["Hello", "  ", " world", "  \n", " x", "  "]);
        assert_eq!(t.split("").count(), 0);
    }

    #[test]
    fn limits() {
        for &e in Encoding::ALL {
            assert_eq!(e.count_till_limit("", 0), Some(0));
            let n = e.count("The quick brown fox jumps over the lazy dog.");
            assert_eq!(n, 10);
            let text = "The quick brown fox jumps over the lazy dog.";
            assert_eq!(e.count_till_limit(text, n), Some(n));
            assert_eq!(e.count_till_limit(text, n - 1), None);
            assert_eq!(e.count_till_limit(&"a".repeat(100_000), 100), None);
        }
    }

    #[test]
    fn names() {
        for &e in Encoding::ALL {
            assert_eq!(Encoding::from_name(e.name()), Some(e));
            assert_eq!(e.to_string(), e.name());
        }
        assert_eq!(Encoding::from_name("p50k_base"), None);
    }
}

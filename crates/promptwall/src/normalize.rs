//! The normalised view and its offset map back to the original text.
//!
//! The view is lowercased, has invisible characters (zero-width, joiners, bidi controls, tag
//! characters, variation selectors, soft hyphens) removed, and collapses each run of
//! whitespace to one space, or to one newline when the run holds a line break, so that rules
//! about line starts still work. Pure-ASCII text takes a byte loop with no per-character
//! decoding.

/// How the view's bytes map back to the original's.
///
/// A list of segments ordered by view offset. A *linear* segment copies original bytes one to
/// one; any other segment stands for one replaced unit (a lowercased character whose length
/// changed, or a collapsed run of whitespace), which maps back to the whole unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffsetMap {
    segs: Vec<Seg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    view: u32,
    orig: u32,
    /// `LINEAR`, or the byte length of the replaced original unit.
    orig_len: u32,
}

const LINEAR: u32 = u32::MAX;

impl OffsetMap {
    /// The identity map, for views that are the original text.
    pub fn identity() -> OffsetMap {
        OffsetMap {
            segs: vec![Seg {
                view: 0,
                orig: 0,
                orig_len: LINEAR,
            }],
        }
    }

    fn clear(&mut self) {
        self.segs.clear();
    }

    /// Records that view bytes from `view` on are original bytes from `orig` on, one to one.
    fn push_linear(&mut self, view: usize, orig: usize) {
        if let Some(last) = self.segs.last() {
            if last.orig_len == LINEAR && last.orig as usize + (view - last.view as usize) == orig {
                return;
            }
        }
        self.segs.push(Seg {
            view: view as u32,
            orig: orig as u32,
            orig_len: LINEAR,
        });
    }

    /// Records that the view bytes from `view` on stand for original bytes `orig..orig+len`.
    fn push_unit(&mut self, view: usize, orig: usize, len: usize) {
        self.segs.push(Seg {
            view: view as u32,
            orig: orig as u32,
            orig_len: len as u32,
        });
    }

    fn seg_index(&self, v: usize) -> usize {
        self.segs
            .partition_point(|s| s.view as usize <= v)
            .saturating_sub(1)
    }

    /// The original offset where a span starting at view offset `v` starts.
    pub fn start(&self, v: usize) -> usize {
        match self.segs.get(self.seg_index(v)) {
            None => v,
            Some(s) if s.orig_len == LINEAR => s.orig as usize + (v - s.view as usize),
            Some(s) => s.orig as usize,
        }
    }

    /// The original offset where a span ending (exclusive) at view offset `v` ends.
    pub fn end(&self, v: usize) -> usize {
        if v == 0 {
            return self.start(0);
        }
        match self.segs.get(self.seg_index(v - 1)) {
            None => v,
            Some(s) if s.orig_len == LINEAR => s.orig as usize + (v - s.view as usize),
            Some(s) => (s.orig + s.orig_len) as usize,
        }
    }

    /// Maps a view span to the original text.
    pub fn span(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.start(start);
        (s, self.end(end).max(s))
    }
}

/// ASCII whitespace as the view collapses it: space, tab, line feed, vertical tab, form feed,
/// carriage return.
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Whether a character is invisible and carries no meaning for rules: zero-width characters,
/// joiners, bidi controls, soft hyphens, tag characters, variation selectors, fillers.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// A normalised view of a text and the map back to it.
#[derive(Clone, Debug, Default)]
pub struct Normalized {
    /// The view's text.
    pub text: String,
    /// The offset map to the original.
    pub map: OffsetMap,
}

impl Normalized {
    /// Builds the view of `src`, reusing this value's buffers.
    pub fn build(&mut self, src: &str) {
        self.text.clear();
        self.map.clear();
        if src.is_ascii() {
            self.build_ascii(src.as_bytes());
        } else {
            self.build_unicode(src);
        }
    }

    fn build_ascii(&mut self, src: &[u8]) {
        let mut out = std::mem::take(&mut self.text).into_bytes();
        out.reserve(src.len());
        // Fast path: no control characters and no double spaces means the view is the
        // lowercased text byte for byte. Both checks are branch-free passes that vectorise.
        let controls = src.iter().fold(false, |acc, &b| acc | (b < 0x20));
        if !controls && memchr::memmem::find(src, b"  ").is_none() {
            out.extend_from_slice(src);
            out.make_ascii_lowercase();
            self.map.push_linear(0, 0);
            self.text = String::from_utf8(out).unwrap_or_default();
            return;
        }
        let n = src.len();
        let mut i = 0;
        while i < n {
            // Copy the stretch up to the next whitespace the view changes (any control byte,
            // or a space followed by more whitespace) in one go.
            let mut j = i;
            while j < n {
                let b = src[j];
                if b < 0x20 || (b == b' ' && j + 1 < n && is_ascii_space(src[j + 1])) {
                    break;
                }
                j += 1;
            }
            if j > i {
                self.map.push_linear(out.len(), i);
                let from = out.len();
                out.extend_from_slice(&src[i..j]);
                out[from..].make_ascii_lowercase();
            }
            if j == n {
                break;
            }
            if !is_ascii_space(src[j]) {
                // Another control character: kept as it is.
                self.map.push_linear(out.len(), j);
                out.push(src[j]);
                i = j + 1;
                continue;
            }
            let start = j;
            let mut newline = false;
            while j < n && is_ascii_space(src[j]) {
                newline |= src[j] == b'\n';
                j += 1;
            }
            self.map.push_unit(out.len(), start, j - start);
            out.push(if newline { b'\n' } else { b' ' });
            i = j;
        }
        // Only ASCII bytes were pushed.
        self.text = String::from_utf8(out).unwrap_or_default();
    }

    fn build_unicode(&mut self, src: &str) {
        let mut out = std::mem::take(&mut self.text);
        out.reserve(src.len());
        let mut iter = src.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if c.is_whitespace() {
                let mut end = i + c.len_utf8();
                let mut newline = c == '\n';
                while let Some(&(j, d)) = iter.peek() {
                    if d.is_whitespace() {
                        newline |= d == '\n';
                        end = j + d.len_utf8();
                        iter.next();
                    } else if is_invisible(d) {
                        end = j + d.len_utf8();
                        iter.next();
                    } else {
                        break;
                    }
                }
                if c == ' ' && end == i + 1 {
                    self.map.push_linear(out.len(), i);
                    out.push(' ');
                } else {
                    self.map.push_unit(out.len(), i, end - i);
                    out.push(if newline { '\n' } else { ' ' });
                }
            } else if is_invisible(c) {
                // Dropped: the next pushed segment starts where the original resumes.
            } else if c.is_ascii() {
                self.map.push_linear(out.len(), i);
                out.push(c.to_ascii_lowercase());
            } else {
                let mut lower = c.to_lowercase();
                match (lower.next(), lower.next()) {
                    (Some(l), None) if l.len_utf8() == c.len_utf8() => {
                        self.map.push_linear(out.len(), i);
                        out.push(l);
                    }
                    (first, second) => {
                        self.map.push_unit(out.len(), i, c.len_utf8());
                        out.extend(first.into_iter().chain(second).chain(lower));
                    }
                }
            }
        }
        self.text = out;
    }
}

/// The normalised form of a string, without its map (for checking rule keywords).
pub fn normalize_str(s: &str) -> String {
    let mut n = Normalized::default();
    n.build(s);
    n.text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(s: &str) -> Normalized {
        let mut n = Normalized::default();
        n.build(s);
        n
    }

    fn back<'a>(src: &'a str, n: &Normalized, needle: &str) -> &'a str {
        let vs = n.text.find(needle).expect("needle in view");
        let (s, e) = n.map.span(vs, vs + needle.len());
        &src[s..e]
    }

    #[test]
    fn ascii_lowercases_and_collapses() {
        let src = "Ignore   ALL\tprevious\n\n  Instructions";
        let n = view(src);
        assert_eq!(n.text, "ignore all previous\ninstructions");
        assert_eq!(back(src, &n, "all previous"), "ALL\tprevious");
        assert_eq!(back(src, &n, "ignore"), "Ignore");
        assert_eq!(back(src, &n, "instructions"), "Instructions");
    }

    #[test]
    fn plain_ascii_is_one_segment() {
        let n = view("What is the capital of France?");
        assert_eq!(n.map.segs.len(), 1);
    }

    #[test]
    fn invisible_characters_are_removed_and_spans_cover_them() {
        let src = "ig\u{200B}no\u{200D}re previous";
        let n = view(src);
        assert_eq!(n.text, "ignore previous");
        assert_eq!(back(src, &n, "ignore"), "ig\u{200B}no\u{200D}re");
        assert_eq!(back(src, &n, "previous"), "previous");
    }

    #[test]
    fn unicode_lowercasing_maps_back() {
        let src = "ÜBER İstanbul Straße";
        let n = view(src);
        assert_eq!(n.text, "über i\u{307}stanbul straße");
        assert_eq!(back(src, &n, "über"), "ÜBER");
        assert_eq!(back(src, &n, "stanbul"), "stanbul");
        assert_eq!(back(src, &n, "i\u{307}stanbul"), "İstanbul");
        assert_eq!(back(src, &n, "straße"), "Straße");
    }

    #[test]
    fn whitespace_with_invisibles_collapses() {
        let src = "a \u{200B} \u{3000}b";
        let n = view(src);
        assert_eq!(n.text, "a b");
        assert_eq!(back(src, &n, "a b"), src);
    }

    #[test]
    fn only_invisible_gives_empty_view() {
        let n = view("\u{200B}\u{200B}");
        assert_eq!(n.text, "");
        assert_eq!(n.map.span(0, 0), (0, 0));
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for s in ["Hello  World\n\nX", "ÀB\u{200B}C  d", "İ", "a\r\nb"] {
            let once = normalize_str(s);
            assert_eq!(normalize_str(&once), once, "{s:?}");
        }
    }

    #[test]
    fn spans_stay_on_char_boundaries() {
        let src = "Ωmega ΣΑΣ \u{200B}ñ İİ  end";
        let n = view(src);
        for vs in 0..=n.text.len() {
            for ve in vs..=n.text.len() {
                if !n.text.is_char_boundary(vs) || !n.text.is_char_boundary(ve) {
                    continue;
                }
                let (s, e) = n.map.span(vs, ve);
                assert!(s <= e && e <= src.len(), "{vs}..{ve} -> {s}..{e}");
                assert!(src.is_char_boundary(s) && src.is_char_boundary(e));
            }
        }
    }
}

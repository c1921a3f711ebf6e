//! Classes of bytes tested 16 at a time: a bit per byte, 64 bytes to a `u64`.
//!
//! Several passes over every text look for a few kinds of bytes and find none over most of
//! it: the normalised view's changes (control bytes, runs of whitespace) and its stretches of
//! plain ASCII inside other scripts, the token pass's separators, non-ASCII bytes and the
//! letters next to them for the look-alike fold, the single-byte keywords, and the derived
//! views' base64 alphabet and leetspeak characters. With `wide`'s 16-byte vectors (SSE2 on x86-64, NEON on
//! aarch64, plain arrays elsewhere) a class of a few ranges costs a handful of instructions
//! for 16 bytes, and the mask gives every match in a block at once. `wide` keeps the
//! `unsafe` of the processor's intrinsics inside it; this crate has none.

use wide::u8x16;

/// A class of bytes: the union of up to `N` ranges `lo..=hi`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Class<const N: usize> {
    lo: [u8; N],
    width: [u8; N],
}

impl<const N: usize> Class<N> {
    /// The class of the ranges `(lo, hi)` (each `lo <= hi`).
    pub(crate) const fn new(ranges: [(u8, u8); N]) -> Self {
        let mut lo = [0u8; N];
        let mut width = [0u8; N];
        let mut k = 0;
        while k < N {
            assert!(ranges[k].0 <= ranges[k].1, "a range must not be empty");
            lo[k] = ranges[k].0;
            width[k] = ranges[k].1 - ranges[k].0;
            k += 1;
        }
        Class { lo, width }
    }

    /// Whether `b` is in the class, one byte at a time (the reference the masks are tested
    /// against).
    #[cfg(test)]
    pub(crate) fn contains(&self, b: u8) -> bool {
        (0..N).any(|k| b.wrapping_sub(self.lo[k]) <= self.width[k])
    }

    /// A bit for each of 16 bytes.
    #[inline(always)]
    fn mask16(&self, v: u8x16) -> u64 {
        let mut hit = u8x16::splat(0);
        for k in 0..N {
            // `v - lo <= width`, unsigned: the smaller of the two is the difference itself.
            let d = v - u8x16::splat(self.lo[k]);
            hit |= d.min(u8x16::splat(self.width[k])).cmp_eq(d);
        }
        u64::from(hit.move_mask() as u16)
    }

    /// A bit for each byte of `block` (64 bytes).
    #[inline(always)]
    fn mask_block(&self, block: &[u8; 64]) -> u64 {
        let mut m = 0;
        for (k, part) in block.chunks_exact(16).enumerate() {
            let part: [u8; 16] = part.try_into().unwrap_or([0; 16]);
            m |= self.mask16(u8x16::from(part)) << (16 * k);
        }
        m
    }

    /// A bit for each byte of `bytes[at..at + 64]` (bit `i` for `bytes[at + i]`), 0 past the end.
    #[inline(always)]
    pub(crate) fn mask64(&self, bytes: &[u8], at: usize) -> u64 {
        match bytes.get(at..at.saturating_add(64)) {
            Some(block) => self.mask_block(block.try_into().unwrap_or(&[0; 64])),
            None => {
                let rest = bytes.get(at..).unwrap_or(&[]);
                let mut block = [0u8; 64];
                block[..rest.len()].copy_from_slice(rest);
                self.mask_block(&block) & low_bits(rest.len())
            }
        }
    }

    /// The first byte of the class at or after `from` (for several searches in one text, a
    /// [`Finder`] reads each block once).
    #[inline]
    pub(crate) fn next(&self, bytes: &[u8], from: usize) -> Option<usize> {
        Finder::new(self, bytes).next(from)
    }
}

/// The bytes of a class in one text, found in increasing order of position: each block's
/// mask is kept for the next search from inside that block.
#[derive(Debug)]
pub(crate) struct Finder<'a, const N: usize> {
    class: &'a Class<N>,
    bytes: &'a [u8],
    /// Where the kept mask starts (`usize::MAX`: none kept yet).
    base: usize,
    mask: u64,
}

impl<'a, const N: usize> Finder<'a, N> {
    pub(crate) fn new(class: &'a Class<N>, bytes: &'a [u8]) -> Self {
        Finder {
            class,
            bytes,
            base: usize::MAX,
            mask: 0,
        }
    }

    /// The first byte of the class at or after `from`.
    #[inline]
    pub(crate) fn next(&mut self, mut from: usize) -> Option<usize> {
        if let Some(k) = from.checked_sub(self.base).filter(|&k| k < 64) {
            let m = self.mask & (!0u64 << k);
            if m != 0 {
                return Some(self.base + m.trailing_zeros() as usize);
            }
            from = self.base + 64;
        }
        while from < self.bytes.len() {
            self.base = from;
            self.mask = self.class.mask64(self.bytes, from);
            if self.mask != 0 {
                return Some(from + self.mask.trailing_zeros() as usize);
            }
            from += 64;
        }
        None
    }
}

/// The `n` low bits set (all 64 from 64 on).
#[inline(always)]
pub(crate) fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::xorshift;

    const CLASSES: [Class<3>; 4] = [
        Class::new([(0, 0x20), (0, 0), (0, 0)]),
        Class::new([(b'0', b'9'), (b'@', b'@'), (b'$', b'$')]),
        Class::new([(0x80, 0xFF), (b'a', b'z'), (b'A', b'A')]),
        Class::new([(0xFF, 0xFF), (0x7F, 0x81), (b'\t', b'\r')]),
    ];

    /// Every byte value in every lane of a block, and at the end of a short text.
    #[test]
    fn masks_hold_every_byte_in_every_lane() {
        for class in &CLASSES {
            for b in 0..=255u8 {
                for lane in 0..64 {
                    let mut block = [b'B'; 64]; // in none of the classes
                    block[lane] = b;
                    let want = class.contains(b) as u64;
                    let m = class.mask64(&block, 0);
                    assert_eq!((m >> lane) & 1, want, "byte {b:#04x} in lane {lane}");
                    assert_eq!(m & !(1 << lane), 0, "only lane {lane} set ({b:#04x})");
                    let short = &block[..=lane];
                    assert_eq!(class.mask64(short, 0), want << lane, "end at lane {lane}");
                }
            }
        }
    }

    /// Masks, `next` and a finder agree with the byte-at-a-time test at any offset and length,
    /// past the end too.
    #[test]
    fn searches_agree_with_the_byte_test() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..3000 {
            let len = (xorshift(&mut x) % 300) as usize;
            // Sparse or dense: a few bytes of the classes among many of none, or any bytes.
            let dense = round % 3 == 0;
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    let r = xorshift(&mut x);
                    if dense || r % 29 == 0 {
                        (r >> 8) as u8
                    } else {
                        b'x'
                    }
                })
                .collect();
            for class in &CLASSES {
                let plain = |from: usize| (from..len).find(|&k| class.contains(text[k]));
                for at in [0, 1, 15, 63, 64, 65, len.saturating_sub(1), len, len + 3] {
                    let want = (0..64).fold(0u64, |m, i| {
                        m | (u64::from(text.get(at + i).is_some_and(|&b| class.contains(b))) << i)
                    });
                    assert_eq!(class.mask64(&text, at), want, "at {at} of {len}");
                    assert_eq!(class.next(&text, at), plain(at), "next from {at} of {len}");
                }
                let mut finder = Finder::new(class, &text);
                let mut from = 0;
                while from <= len + 1 {
                    let want = plain(from);
                    assert_eq!(finder.next(from), want, "finder from {from} of {len}");
                    // On from just past the match, or a jump ahead now and then.
                    from = match want {
                        Some(p) if xorshift(&mut x) % 4 != 0 => p + 1,
                        _ => from + 1 + (xorshift(&mut x) % 100) as usize,
                    };
                }
            }
        }
    }

    #[test]
    fn low_bits_are_the_low_bits() {
        assert_eq!(low_bits(0), 0);
        assert_eq!(low_bits(1), 1);
        assert_eq!(low_bits(63), u64::MAX >> 1);
        assert_eq!(low_bits(64), u64::MAX);
        assert_eq!(low_bits(1000), u64::MAX);
    }
}

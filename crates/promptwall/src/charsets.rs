// Character sets the normalised view is built from. This file is also included by build.rs,
// which computes the lookup tables of `tables.rs` from these definitions, so it must stay
// plain `core` Rust.

/// Whether a character is invisible and carries no meaning for rules: zero-width characters,
/// joiners, bidi controls, soft hyphens, tag characters, variation selectors, fillers.
pub const fn is_invisible_u32(u: u32) -> bool {
    matches!(u,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5
        | 0x180B..=0x180F
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// Bidi controls: embeddings, overrides and isolates (and the marks), which can reorder
/// what a reader sees.
pub const fn is_bidi_control_u32(u: u32) -> bool {
    matches!(u, 0x202A..=0x202E | 0x2066..=0x2069)
}

/// Combining marks of the blocks that decorate Latin, Greek and Cyrillic letters (Combining
/// Diacritical Marks and their Extended and Supplement blocks, marks for symbols, half
/// marks): the marks stacked on letters as "Zalgo" noise. Marks of other scripts (Devanagari
/// vowel signs, Arabic harakat, Hebrew points) are not among them.
pub const fn is_zalgo_mark_u32(u: u32) -> bool {
    matches!(u, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

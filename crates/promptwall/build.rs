//! Generates the Unicode lookup tables of the normalised and de-obfuscated views into
//! `$OUT_DIR/unicode_tables.rs`:
//!
//! - `PLAIN_BMP`: one bit per Basic Multilingual Plane character that the normalised view
//!   keeps exactly as it is (its lowercase is itself, it is neither whitespace nor invisible
//!   nor a "Zalgo" combining mark, and NFKC leaves it unchanged);
//! - `NFKC_BMP` and `NFKC_ASTRAL`: which characters NFKC changes (a bitmap for the BMP,
//!   sorted ranges above it);
//! - `CONFUSABLES`: look-alike characters of other scripts and their Latin skeleton, from
//!   Unicode's confusables data (UTS #39, `data/unicode/confusables.txt`).

#![allow(clippy::unwrap_used)] // A build script: a failed write to a String cannot happen.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use unicode_normalization::UnicodeNormalization;

include!("src/charsets.rs");

fn nfkc_changes(c: char) -> bool {
    let mut it = std::iter::once(c).nfkc();
    !(it.next() == Some(c) && it.next().is_none())
}

fn lower_is_self(c: char) -> bool {
    let mut l = c.to_lowercase();
    l.next() == Some(c) && l.next().is_none()
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/charsets.rs");
    println!("cargo::rerun-if-changed=data/unicode/confusables.txt");
    let mut out = String::new();

    let mut plain = vec![0u64; 1024];
    let mut nfkc_bmp = vec![0u64; 1024];
    for u in 0..0x10000u32 {
        let Some(c) = char::from_u32(u) else { continue };
        let changes = nfkc_changes(c);
        if changes {
            nfkc_bmp[(u >> 6) as usize] |= 1 << (u & 63);
        }
        if !changes
            && lower_is_self(c)
            && !c.is_whitespace()
            && !c.is_control()
            && !is_invisible_u32(u)
            && !is_zalgo_mark_u32(u)
        {
            plain[(u >> 6) as usize] |= 1 << (u & 63);
        }
    }
    let mut astral: Vec<(u32, u32)> = Vec::new();
    for u in 0x10000..=0x10FFFFu32 {
        let Some(c) = char::from_u32(u) else { continue };
        if nfkc_changes(c) {
            match astral.last_mut() {
                Some(r) if r.1 + 1 == u => r.1 = u,
                _ => astral.push((u, u)),
            }
        }
    }
    let bitmap = |out: &mut String, name: &str, doc: &str, words: &[u64]| {
        writeln!(out, "/// {doc}\npub static {name}: [u64; 1024] = [").unwrap();
        for w in words {
            writeln!(out, "    {w:#018x},").unwrap();
        }
        writeln!(out, "];").unwrap();
    };
    bitmap(
        &mut out,
        "PLAIN_BMP",
        "BMP characters the normalised view keeps as they are, one bit each.",
        &plain,
    );
    bitmap(
        &mut out,
        "NFKC_BMP",
        "BMP characters NFKC changes, one bit each.",
        &nfkc_bmp,
    );
    writeln!(
        out,
        "/// Ranges of characters above the BMP that NFKC changes, sorted.\npub static NFKC_ASTRAL: [(u32, u32); {}] = {:?};",
        astral.len(),
        astral
    )
    .unwrap();

    // Confusables: `source ; target ; MA # ( s → t ) SOURCE NAME → TARGET NAME`.
    let path = Path::new("data/unicode/confusables.txt");
    let data = std::fs::read_to_string(path).expect("data/unicode/confusables.txt");
    let mut explicit: BTreeMap<u32, String> = BTreeMap::new();
    let mut derived: Vec<(u32, String)> = Vec::new();
    for line in data.lines() {
        let line = line.trim_start_matches('\u{FEFF}');
        let (fields, comment) = line.split_once('#').unwrap_or((line, ""));
        let mut parts = fields.split(';').map(str::trim);
        let (Some(src), Some(dst)) = (parts.next(), parts.next()) else {
            continue;
        };
        if src.is_empty() {
            continue;
        }
        let Some(s) = u32::from_str_radix(src, 16).ok().and_then(char::from_u32) else {
            continue;
        };
        let target: Option<String> = dst
            .split_whitespace()
            .map(|h| u32::from_str_radix(h, 16).ok().and_then(char::from_u32))
            .collect();
        let Some(target) = target else { continue };
        // The source's name, from the comment: "( s → t ) SOURCE NAME → TARGET NAME".
        let name = comment.split(')').nth(1).unwrap_or("").trim();
        let latin_source = name.starts_with("LATIN ");
        let usable = !s.is_ascii()
            && !latin_source
            && !nfkc_changes(s)
            && !s.is_whitespace()
            && !is_invisible_u32(s as u32)
            && !is_zalgo_mark_u32(s as u32)
            && (1..=2).contains(&target.len())
            && target.bytes().all(|b| b.is_ascii_alphanumeric());
        if !usable {
            continue;
        }
        let t = target.to_ascii_lowercase();
        explicit.insert(s as u32, t.clone());
        // The view is lowercased: a capital's lowercase folds the same way unless it has its
        // own entry.
        let mut lower = s.to_lowercase();
        if let (Some(l), None) = (lower.next(), lower.next()) {
            if l != s && !l.is_ascii() {
                derived.push((l as u32, t));
            }
        }
    }
    for (u, t) in derived {
        explicit.entry(u).or_insert(t);
    }
    let table: Vec<(u32, String)> = explicit.into_iter().collect();
    writeln!(
        out,
        "/// Look-alikes of other scripts and their lowercase Latin skeleton (UTS #39), sorted.\npub static CONFUSABLES: [(u32, &str); {}] = [",
        table.len()
    )
    .unwrap();
    for (u, t) in &table {
        writeln!(out, "    ({u:#x}, {t:?}),").unwrap();
    }
    writeln!(out, "];").unwrap();
    // Greek and Cyrillic (U+0370 to U+052F), where most look-alikes are: a direct index into
    // CONFUSABLES (u16::MAX: none).
    let mut direct = vec![u16::MAX; 0x530 - 0x370];
    for (k, (u, _)) in table.iter().enumerate() {
        if (0x370..0x530).contains(u) {
            direct[(*u - 0x370) as usize] = k as u16;
        }
    }
    writeln!(
        out,
        "/// Index into CONFUSABLES of each character from U+0370 to U+052F (u16::MAX: none).\npub static CONFUSABLES_GREEK_CYRILLIC: [u16; {}] = {:?};",
        direct.len(),
        direct
    )
    .unwrap();

    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("unicode_tables.rs");
    std::fs::write(dest, out).expect("write unicode_tables.rs");
}

//! Offline checks of candidate matches: checksums and entropy.

use crate::rule::Validator;

/// Whether `s` passes `v`.
pub fn check(v: Validator, s: &str) -> bool {
    match v {
        Validator::Luhn => luhn(s),
        Validator::Iban => iban(s),
        Validator::Ssn => ssn(s),
        Validator::Crc32Base62 => crc32_base62(s),
        Validator::Openai => s.contains("T3BlbkFJ"),
        Validator::Anthropic => anthropic(s),
        Validator::Jwt => jwt(s),
        Validator::Pypi => pypi(s),
    }
}

/// The CRC-32 (IEEE, reflected, as in zlib) of `data`. Bitwise: candidates are a few dozen
/// bytes and only reach here after keyword, regex and entropy, so a table buys nothing.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base62 (`0-9A-Za-z`), left-padded with `0` to six characters.
pub fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// A GitHub classic or npm token: the last 36 characters are a 30-character body and the
/// base62 CRC32 of that body (the prefix, such as `ghp_`, is not part of the sum).
pub fn crc32_base62(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 36 {
        return false;
    }
    let tail = &b[b.len() - 36..];
    if !tail.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    base62_6(crc32(&tail[..30]))[..] == tail[30..]
}

/// An Anthropic API or admin key: prefix, 93 characters of `[A-Za-z0-9_-]`, then `AA`.
pub fn anthropic(s: &str) -> bool {
    let body = match s
        .strip_prefix("sk-ant-api03-")
        .or_else(|| s.strip_prefix("sk-ant-admin01-"))
    {
        Some(b) => b.as_bytes(),
        None => return false,
    };
    body.len() == 95
        && body.ends_with(b"AA")
        && body
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// Decodes unpadded (or padded) base64, standard or URL-safe alphabet; `None` on any
/// other character or an impossible length. Bounded by `max` output bytes.
pub fn base64_decode(s: &str, max: usize) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 || s.len() / 4 * 3 > max {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// A JWT (or JWS/JWE compact form): three or more dot-separated base64url parts, the first
/// of which decodes to a JSON object whose `alg` is a string.
pub fn jwt(s: &str) -> bool {
    let mut parts = s.split('.');
    let header = match parts.next() {
        Some(h) => h,
        None => return false,
    };
    if parts.count() < 2 {
        return false;
    }
    let Some(bytes) = base64_decode(header, 4096) else {
        return false;
    };
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(map)) => map.get("alg").is_some_and(|a| a.is_string()),
        _ => false,
    }
}

/// A PyPI API token: `pypi-` and a base64url macaroon (version 2) whose first field is the
/// location `pypi.org`.
pub fn pypi(s: &str) -> bool {
    let Some(body) = s.strip_prefix("pypi-") else {
        return false;
    };
    // The location field sits in the first 12 bytes: 16 characters decode them exactly.
    let Some(head) = body.get(..16) else {
        return false;
    };
    let Some(bytes) = base64_decode(head, 12) else {
        return false;
    };
    // version 2, field type 1 (location), length 8, then the location itself
    bytes.len() == 12 && bytes[..3] == [0x02, 0x01, 0x08] && &bytes[3..11] == b"pypi.org"
}

/// US social security number structure (`AAA-GG-SSSS`): area not 000, 666 or 900-999,
/// group not 00, serial not 0000.
pub fn ssn(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 11 || b[3] != b'-' || b[6] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..3) && digits(4..6) && digits(7..11)) {
        return false;
    }
    let area = &s[0..3];
    area != "000"
        && area != "666"
        && !area.starts_with('9')
        && &s[4..6] != "00"
        && &s[7..11] != "0000"
}

/// The Luhn checksum over the digits of `s` (spaces and dashes ignored; anything else fails).
pub fn luhn(s: &str) -> bool {
    let mut sum = 0u32;
    let mut n = 0usize;
    for b in s.bytes().rev() {
        match b {
            b'0'..=b'9' => {
                let mut d = u32::from(b - b'0');
                if n % 2 == 1 {
                    d *= 2;
                    if d > 9 {
                        d -= 9;
                    }
                }
                sum += d;
                n += 1;
            }
            b' ' | b'-' => {}
            _ => return false,
        }
    }
    n >= 12 && sum % 10 == 0
}

/// The IBAN mod-97 check, with the country's length (spaces ignored).
pub fn iban(s: &str) -> bool {
    let compact: Vec<u8> = s
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if compact.len() < 15 || compact.len() > 34 || !compact.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    if !compact[..2].iter().all(u8::is_ascii_uppercase)
        || !compact[2..4].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    if let Some(len) = iban_length(&compact[..2]) {
        if len != compact.len() {
            return false;
        }
    }
    let mut rem = 0u32;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        if b.is_ascii_digit() {
            rem = (rem * 10 + u32::from(b - b'0')) % 97;
        } else {
            let v = u32::from(b - b'A') + 10;
            rem = (rem * 100 + v) % 97;
        }
    }
    rem == 1
}

/// Lengths of IBANs by country, for the countries most often seen.
fn iban_length(country: &[u8]) -> Option<usize> {
    const TABLE: &[(&[u8; 2], usize)] = &[
        (b"AD", 24),
        (b"AE", 23),
        (b"AT", 20),
        (b"BE", 16),
        (b"BG", 22),
        (b"BH", 22),
        (b"BR", 29),
        (b"CH", 21),
        (b"CY", 28),
        (b"CZ", 24),
        (b"DE", 22),
        (b"DK", 18),
        (b"EE", 20),
        (b"ES", 24),
        (b"FI", 18),
        (b"FR", 27),
        (b"GB", 22),
        (b"GR", 27),
        (b"HR", 21),
        (b"HU", 28),
        (b"IE", 22),
        (b"IL", 23),
        (b"IS", 26),
        (b"IT", 27),
        (b"LI", 21),
        (b"LT", 20),
        (b"LU", 20),
        (b"LV", 21),
        (b"MC", 27),
        (b"MT", 31),
        (b"NL", 18),
        (b"NO", 15),
        (b"PL", 28),
        (b"PT", 25),
        (b"RO", 24),
        (b"SA", 24),
        (b"SE", 24),
        (b"SI", 19),
        (b"SK", 24),
        (b"SM", 27),
        (b"TR", 26),
        (b"UA", 29),
    ];
    TABLE
        .iter()
        .find(|(c, _)| c[..] == *country)
        .map(|(_, l)| *l)
}

/// Shannon entropy of `s` in bits per character (over bytes; secrets are ASCII).
pub fn entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends the Luhn check digit to `body`.
    fn with_luhn(body: &str) -> String {
        (0..10)
            .map(|d| format!("{body}{d}"))
            .find(|s| luhn(s))
            .expect("one digit fits")
    }

    #[test]
    fn luhn_accepts_valid_and_rejects_corrupted() {
        for body in ["411111111111111", "555555555555444", "37828224631000"] {
            let good = with_luhn(body);
            assert!(luhn(&good), "{good}");
            let mut bad = good.clone().into_bytes();
            let last = bad.len() - 1;
            bad[last] = b'0' + (bad[last] - b'0' + 1) % 10;
            assert!(!luhn(std::str::from_utf8(&bad).expect("ascii")));
        }
        assert!(luhn("4111 1111 1111 1111"));
        assert!(luhn("4111-1111-1111-1111"));
        assert!(!luhn("4111x1111 1111 1111"));
        assert!(!luhn("0000000"), "too short");
    }

    /// Builds a valid IBAN for `country` and `bban` by computing its check digits.
    fn make_iban(country: &str, bban: &str) -> String {
        (0..100)
            .map(|d| format!("{country}{d:02}{bban}"))
            .find(|s| iban(s))
            .expect("check digits exist")
    }

    #[test]
    fn iban_mod97() {
        let de = make_iban("DE", "370400440532013000");
        assert_eq!(de.len(), 22);
        assert!(iban(&de));
        let spaced: String = de
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(iban(&spaced));
        let mut bad = de.clone().into_bytes();
        bad[10] = if bad[10] == b'9' { b'8' } else { bad[10] + 1 };
        assert!(!iban(std::str::from_utf8(&bad).expect("ascii")));
        assert!(!iban("DE00"));
    }

    #[test]
    fn ssn_structure() {
        assert!(ssn("536-22-8726"));
        for bad in [
            "000-22-8726",
            "666-22-8726",
            "936-22-8726",
            "536-00-8726",
            "536-22-0000",
            "536228726",
            "53a-22-8726",
        ] {
            assert!(!ssn(bad), "{bad}");
        }
    }

    #[test]
    fn entropy_orders_randomness() {
        assert_eq!(entropy(""), 0.0);
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
        assert!(entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.0);
    }

    /// A small deterministic generator of base62 text, so tests need no keys pasted in.
    fn base62_text(seed: u64, n: usize) -> String {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(BASE62[(x % 62) as usize])
            })
            .collect()
    }

    /// A token of `prefix` with a valid CRC32/base62 checksum.
    fn checksummed(prefix: &str, seed: u64) -> String {
        let body = base62_text(seed, 30);
        let sum = base62_6(crc32(body.as_bytes()));
        format!(
            "{prefix}{body}{}",
            std::str::from_utf8(&sum).expect("ascii")
        )
    }

    #[test]
    fn crc32_known_vectors() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(&base62_6(0), b"000000");
        assert_eq!(&base62_6(61), b"00000z");
        assert_eq!(&base62_6(u32::MAX), b"4gfFC3");
    }

    #[test]
    fn crc32_base62_accepts_generated_and_rejects_corrupted() {
        for (i, prefix) in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "npm_"]
            .iter()
            .enumerate()
        {
            for seed in 1..50u64 {
                let good = checksummed(prefix, seed * 7919 + i as u64);
                assert!(crc32_base62(&good), "{good}");
                // Change one body character, then one checksum character: both fail.
                for pos in [prefix.len() + 3, good.len() - 2] {
                    let mut bad = good.clone().into_bytes();
                    bad[pos] = if bad[pos] == b'a' { b'b' } else { b'a' };
                    let bad = String::from_utf8(bad).expect("ascii");
                    assert!(!crc32_base62(&bad), "{bad}");
                }
            }
        }
        assert!(!crc32_base62("ghp_short"));
        assert!(!crc32_base62(&format!("ghp_{}", "x".repeat(36))));
    }

    #[test]
    fn openai_marker() {
        let key = format!(
            "sk-proj-{}T3BlbkFJ{}",
            base62_text(3, 20),
            base62_text(4, 20)
        );
        assert!(check(Validator::Openai, &key));
        assert!(!check(
            Validator::Openai,
            &key.replace("T3BlbkFJ", "T3BlbkFK")
        ));
    }

    #[test]
    fn anthropic_shape() {
        let body = base62_text(9, 93);
        let good = format!("sk-ant-api03-{body}AA");
        assert!(anthropic(&good));
        assert!(anthropic(&format!("sk-ant-admin01-{body}AA")));
        assert!(!anthropic(&format!("sk-ant-api03-{body}AB")), "trailing AA");
        assert!(!anthropic(&format!("sk-ant-api03-{body}xAA")), "length");
        assert!(!anthropic(&format!("sk-ant-api04-{body}AA")), "version");
        assert!(
            !anthropic(&format!("sk-ant-api03-{}!AA", &body[1..])),
            "charset"
        );
    }

    fn b64url(data: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            }
        }
        out
    }

    #[test]
    fn base64_round_trip() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64_decode(&b64url(&data), 64), Some(data));
        }
        assert_eq!(base64_decode("a", 10), None);
        assert_eq!(base64_decode("ab!c", 10), None);
        assert_eq!(
            base64_decode("aGVsbG8=", 10).as_deref(),
            Some(&b"hello"[..])
        );
    }

    #[test]
    fn jwt_header_must_name_alg() {
        let payload = b64url(br#"{"sub":"1234567890","name":"Ada"}"#);
        let sig = base62_text(5, 43);
        let good = format!(
            "{}.{payload}.{sig}",
            b64url(br#"{"alg":"HS256","typ":"JWT"}"#)
        );
        assert!(jwt(&good));
        let no_alg = format!("{}.{payload}.{sig}", b64url(br#"{"typ":"JWT"}"#));
        assert!(!jwt(&no_alg));
        let not_json = format!("{}.{payload}.{sig}", b64url(b"{alg: HS256"));
        assert!(!jwt(&not_json));
        let two_parts = format!("{}.{payload}", b64url(br#"{"alg":"none"}"#));
        assert!(!jwt(&two_parts));
        let mut corrupted = good.clone().into_bytes();
        corrupted[2] = b'!';
        assert!(!jwt(&String::from_utf8(corrupted).expect("ascii")));
    }

    #[test]
    fn pypi_macaroon_location() {
        let mut macaroon = vec![0x02, 0x01, 0x08];
        macaroon.extend_from_slice(b"pypi.org");
        macaroon.extend_from_slice(&[0x02, 0x01]);
        macaroon.extend((0..60).map(|i| (i * 53 + 7) as u8));
        let good = format!("pypi-{}", b64url(&macaroon));
        assert!(good.starts_with("pypi-AgEIcHlwaS5vcmc"), "{good}");
        assert!(pypi(&good));
        macaroon[5] = b'P';
        assert!(!pypi(&format!("pypi-{}", b64url(&macaroon))));
        assert!(!pypi("pypi-AgEIcHlwaS5vcm"));
        assert!(!pypi("npm-AgEIcHlwaS5vcmcAAAA"));
    }
}

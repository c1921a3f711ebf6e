//! Offline checks of candidate matches: checksums and entropy.

use crate::rule::Validator;

/// Whether `s` passes `v`.
pub fn check(v: Validator, s: &str) -> bool {
    match v {
        Validator::Luhn => luhn(s),
        Validator::Iban => iban(s),
        Validator::Ssn => ssn(s),
    }
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
}

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
        Validator::Phone => phone(s),
        Validator::Ipv4Public => ipv4_class(s) == Some(Ipv4Class::Public),
        Validator::Ipv4Private => ipv4_class(s) == Some(Ipv4Class::Private),
        Validator::Ipv6 => ipv6_global(s),
        Validator::Base58check => base58check_address(s),
        Validator::Bech32 => bech32_address(s),
        Validator::Eip55 => eip55(s),
        Validator::AzureIdentifiable => azure_identifiable(s),
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

/// A phone number: 7 to 15 digits (E.164 allows at most 15) among the separators ` .-()/`,
/// a `+` only in front, and not one digit repeated (`000 0000 000` is filler, not a number).
pub fn phone(s: &str) -> bool {
    let s = s.trim();
    let body = s.strip_prefix('+').unwrap_or(s);
    let mut digits = 0usize;
    let mut first = None;
    let mut same = true;
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => {
                digits += 1;
                match first {
                    None => first = Some(b),
                    Some(f) => same &= f == b,
                }
            }
            b' ' | b'.' | b'-' | b'(' | b')' | b'/' => {}
            _ => return false,
        }
    }
    let min = if s.starts_with('+') { 8 } else { 7 };
    (min..=15).contains(&digits) && !same && !date_shaped(s)
}

/// Whether `s` is three runs of digits, split by one same `.`, `/` or `-`, in a date's shape:
/// `dd.mm.yyyy`, `yyyy-mm-dd`, `mm/dd/yy`.
fn date_shaped(s: &str) -> bool {
    let Some(sep) = s.bytes().find(|b| matches!(b, b'.' | b'/' | b'-')) else {
        return false;
    };
    let parts: Vec<&str> = s.split(char::from(sep)).collect();
    if parts.len() != 3 || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let len: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    let short = |n: usize| (1..=2).contains(&n);
    (short(len[0]) && short(len[1]) && matches!(len[2], 2 | 4))
        || (len[0] == 4 && short(len[1]) && short(len[2]))
}

/// What an IPv4 address is, for the PII rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv4Class {
    /// A public unicast address: can point at a person's home or device.
    Public,
    /// A private, shared (CGNAT) or link-local address: says little about a person.
    Private,
    /// Loopback, unspecified, broadcast, multicast, reserved or documentation (TEST-NET):
    /// never reported.
    Other,
}

/// The class of a dotted-quad IPv4 address (four decimal octets 0-255, no leading zeros),
/// or `None` when `s` is not one.
pub fn ipv4_class(s: &str) -> Option<Ipv4Class> {
    let mut o = [0u8; 4];
    let mut parts = s.split('.');
    for slot in &mut o {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || (p.len() > 1 && p.starts_with('0')) {
            return None;
        }
        *slot = p.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(match o {
        [10, ..] | [172, 16..=31, ..] | [192, 168, ..] | [169, 254, ..] | [100, 64..=127, ..] => {
            Ipv4Class::Private
        }
        [0 | 127 | 224..=255, ..]
        | [192, 0, 2, _]
        | [198, 51, 100, _]
        | [203, 0, 113, _]
        | [198, 18..=19, ..] => Ipv4Class::Other,
        _ => Ipv4Class::Public,
    })
}

/// A global unicast IPv6 address (`2000::/3`) outside the documentation range `2001:db8::/32`,
/// written with at least one digit; `std`'s parser decides the syntax.
pub fn ipv6_global(s: &str) -> bool {
    let Ok(addr) = s.parse::<std::net::Ipv6Addr>() else {
        return false;
    };
    let seg = addr.segments();
    s.bytes().any(|b| b.is_ascii_digit())
        && seg[0] & 0xe000 == 0x2000
        && !(seg[0] == 0x2001 && seg[1] == 0x0db8)
}

/// SHA-256 of `data` (FIPS 180-4), for Base58Check; addresses are short, so one plain loop.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (hi, vi) in h.iter_mut().zip(v) {
            *hi = hi.wrapping_add(vi);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Decodes Base58 (Bitcoin alphabet) into a buffer of `N` bytes: the bytes are
/// `out[..len]`. `None` on another character or more than `N` bytes. (A fixed buffer: a
/// validator runs on candidates in ordinary text, and allocates nothing.)
pub fn base58_decode<const N: usize>(s: &str) -> Option<([u8; N], usize)> {
    // The value, big-endian, in the last `used` bytes of `num`.
    let mut num = [0u8; N];
    let mut used = 0;
    for c in s.bytes() {
        let mut carry = BASE58.iter().position(|&a| a == c)? as u32;
        for b in num[N - used..].iter_mut().rev() {
            carry += u32::from(*b) * 58;
            *b = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            if used == N {
                return None;
            }
            used += 1;
            num[N - used] = carry as u8;
            carry >>= 8;
        }
    }
    // Each leading `1` is a zero byte.
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    let len = zeros + used;
    if len > N {
        return None;
    }
    let mut out = [0u8; N];
    out[zeros..len].copy_from_slice(&num[N - used..]);
    Some((out, len))
}

/// A Bitcoin P2PKH (`1...`, version 0) or P2SH (`3...`, version 5) address: 25 bytes in
/// Base58 whose last four are the first four of the double SHA-256 of the rest.
pub fn base58check_address(s: &str) -> bool {
    let Some((raw, 25)) = base58_decode::<25>(s) else {
        return false;
    };
    if !matches!(raw[0], 0x00 | 0x05) {
        return false;
    }
    sha256(&sha256(&raw[..21]))[..4] == raw[21..]
}

/// The bech32 checksum's polynomial remainder (BIP 173).
fn bech32_polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk = 1u32;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// The bech32 data alphabet.
const BECH32: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// The checksum constant of bech32 (BIP 173, witness version 0) and bech32m (BIP 350, later
/// versions).
const BECH32_CONST: u32 = 1;
const BECH32M_CONST: u32 = 0x2bc8_30a3;

/// A Bitcoin segwit address (`bc1...`): one case throughout, a valid bech32 (version 0) or
/// bech32m (versions 1-16) checksum, and a witness program of a valid length.
pub fn bech32_address(s: &str) -> bool {
    if s.len() < 14 || s.len() > 90 {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if lower != s && s.to_ascii_uppercase() != s {
        return false;
    }
    let Some(data) = lower.strip_prefix("bc1") else {
        return false;
    };
    let Some(values) = data
        .bytes()
        .map(|c| BECH32.iter().position(|&a| a == c).map(|v| v as u8))
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    if values.len() < 7 {
        return false;
    }
    let hrp = b"bc";
    let expanded = hrp
        .iter()
        .map(|c| c >> 5)
        .chain([0])
        .chain(hrp.iter().map(|c| c & 31))
        .chain(values.iter().copied());
    let version = values[0];
    let want = if version == 0 {
        BECH32_CONST
    } else {
        BECH32M_CONST
    };
    if version > 16 || bech32_polymod(expanded) != want {
        return false;
    }
    // The program: 5-bit groups regrouped into bytes, leftover bits zero and fewer than 5.
    let groups = &values[1..values.len() - 6];
    let bits = groups.len() * 5;
    let len = bits / 8;
    if bits % 8 >= 5
        || groups
            .last()
            .is_some_and(|&g| g & ((1 << (bits % 8)) - 1) != 0)
    {
        return false;
    }
    (2..=40).contains(&len) && (version != 0 || len == 20 || len == 32)
}

/// Keccak-256 as Ethereum uses it (the original padding, not SHA-3's).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    const RATE: usize = 136;
    let mut state = [0u64; 25];
    let mut padded = data.to_vec();
    padded.push(0x01);
    while padded.len() % RATE != 0 {
        padded.push(0);
    }
    let last = padded.len() - 1;
    padded[last] |= 0x80;
    for block in padded.chunks_exact(RATE) {
        for (lane, bytes) in state.iter_mut().zip(block.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            *lane ^= u64::from_le_bytes(b);
        }
        keccak_f(&mut state);
    }
    let mut out = [0u8; 32];
    for (chunk, lane) in out.chunks_exact_mut(8).zip(state) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

fn keccak_f(a: &mut [u64; 25]) {
    const RC: [u64; 24] = [
        0x0000000000000001,
        0x0000000000008082,
        0x800000000000808a,
        0x8000000080008000,
        0x000000000000808b,
        0x0000000080000001,
        0x8000000080008081,
        0x8000000000008009,
        0x000000000000008a,
        0x0000000000000088,
        0x0000000080008009,
        0x000000008000000a,
        0x000000008000808b,
        0x800000000000008b,
        0x8000000000008089,
        0x8000000000008003,
        0x8000000000008002,
        0x8000000000000080,
        0x000000000000800a,
        0x800000008000000a,
        0x8000000080008081,
        0x8000000000008080,
        0x0000000080000001,
        0x8000000080008008,
    ];
    const ROT: [u32; 24] = [
        1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
    ];
    const PI: [usize; 24] = [
        10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
    ];
    for rc in RC {
        let mut c = [0u64; 5];
        for (x, cx) in c.iter_mut().enumerate() {
            *cx = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                a[5 * y + x] ^= d;
            }
        }
        let mut t = a[1];
        for (&j, &r) in PI.iter().zip(&ROT) {
            let next = a[j];
            a[j] = t.rotate_left(r);
            t = next;
        }
        for y in 0..5 {
            let row = [
                a[5 * y],
                a[5 * y + 1],
                a[5 * y + 2],
                a[5 * y + 3],
                a[5 * y + 4],
            ];
            for x in 0..5 {
                a[5 * y + x] = row[x] ^ (!row[(x + 1) % 5] & row[(x + 2) % 5]);
            }
        }
        a[0] ^= rc;
    }
}

/// An Ethereum address, `0x` and 40 hex digits. One case throughout carries no checksum and
/// passes; mixed case must be the EIP-55 checksum: a letter is upper case exactly when the
/// matching nibble of the Keccak-256 of the lowercase address is 8 or more.
pub fn eip55(s: &str) -> bool {
    let Some(hex) = s.strip_prefix("0x") else {
        return false;
    };
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if !(has_lower && has_upper) {
        return true;
    }
    hex == eip55_checksummed(hex)
}

/// The EIP-55 spelling of 40 hex digits (no `0x`).
pub fn eip55_checksummed(hex: &str) -> String {
    let lower = hex.to_ascii_lowercase();
    let hash = keccak256(lower.as_bytes());
    lower
        .bytes()
        .enumerate()
        .map(|(i, c)| {
            let nibble = if i % 2 == 0 {
                hash[i / 2] >> 4
            } else {
                hash[i / 2] & 0xf
            };
            char::from(if nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            })
        })
        .collect()
}

/// The service signatures of Azure identifiable keys.
pub const AZURE_SIGNATURES: [&str; 8] = [
    "+ASt", "AzFu", "APIM", "+ASb", "+AEh", "+ACR", "AzSe", "AzCa",
];

/// An Azure identifiable key: 44, 56 or 88 characters of padded base64 whose four-character
/// service signature sits at its fixed place, ten characters before the padding (six
/// checksum characters follow it). The Marvin32 checksum itself is not checked.
pub fn azure_identifiable(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let pad = s.len() - body.len();
    let shape = matches!((s.len(), pad), (44, 1) | (56, 2) | (88, 2));
    shape
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && AZURE_SIGNATURES.contains(&&body[body.len() - 10..body.len() - 6])
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
    use crate::testing::xorshift;

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
                xorshift(&mut x);
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

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `n` pseudo-random bytes from `seed`, so tests need no addresses pasted in.
    fn bytes(seed: u64, n: usize) -> Vec<u8> {
        base62_text(seed, n)
            .bytes()
            .map(|b| b.wrapping_mul(151))
            .collect()
    }

    #[test]
    fn hash_known_vectors() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = [b'a'; 200];
        assert_eq!(
            hex(&sha256(&long[..56])),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"
        );
        assert_eq!(
            hex(&keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(
            hex(&keccak256(b"abc")),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
        );
    }

    fn base58_encode(data: &[u8]) -> String {
        let mut digits: Vec<u8> = Vec::new();
        for &b in data {
            let mut carry = u32::from(b);
            for d in digits.iter_mut() {
                carry += u32::from(*d) << 8;
                *d = (carry % 58) as u8;
                carry /= 58;
            }
            while carry > 0 {
                digits.push((carry % 58) as u8);
                carry /= 58;
            }
        }
        let zeros = data.iter().take_while(|&&b| b == 0).count();
        std::iter::repeat_n('1', zeros)
            .chain(digits.iter().rev().map(|&d| char::from(BASE58[d as usize])))
            .collect()
    }

    /// A Base58Check address of `version` over a generated 20-byte hash.
    fn legacy_address(version: u8, seed: u64) -> String {
        let mut raw = vec![version];
        raw.extend(bytes(seed, 20));
        let sum = sha256(&sha256(&raw));
        raw.extend_from_slice(&sum[..4]);
        base58_encode(&raw)
    }

    #[test]
    fn base58check_accepts_generated_and_rejects_corrupted() {
        assert_eq!(base58_decode::<25>(""), Some(([0; 25], 0)));
        assert_eq!(base58_decode::<25>("0OIl"), None, "not in the alphabet");
        // Leading `1`s are zero bytes; the value follows, big-endian.
        let (out, len) = base58_decode::<4>("11z").expect("decodes");
        assert_eq!(&out[..len], &[0, 0, 57]);
        let (out, len) = base58_decode::<4>("5R").expect("decodes");
        assert_eq!(&out[..len], &[1, 0], "4 * 58 + 24 = 256");
        assert_eq!(
            base58_decode::<1>("5R"),
            None,
            "two bytes do not fit in one"
        );
        assert_eq!(base58_decode::<2>("15R"), None, "nor three in two");
        for seed in 1..40u64 {
            for (version, lead) in [(0u8, '1'), (5, '3')] {
                let good = legacy_address(version, seed);
                assert!(good.starts_with(lead), "{good}");
                assert!(base58check_address(&good), "{good}");
                let mut bad = good.clone().into_bytes();
                let i = bad.len() - 5;
                bad[i] = if bad[i] == b'a' { b'b' } else { b'a' };
                assert!(!base58check_address(
                    &String::from_utf8(bad).expect("ascii")
                ));
            }
            assert!(!base58check_address(&legacy_address(0x6f, seed)), "testnet");
        }
    }

    /// A bech32/bech32m segwit address for `version` and `program`.
    fn segwit_address(version: u8, program: &[u8]) -> String {
        let mut values = vec![version];
        let (mut acc, mut bits) = (0u32, 0u32);
        for &b in program {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                values.push(((acc >> bits) & 31) as u8);
            }
        }
        if bits > 0 {
            values.push(((acc << (5 - bits)) & 31) as u8);
        }
        let c = if version == 0 {
            BECH32_CONST
        } else {
            BECH32M_CONST
        };
        let expanded: Vec<u8> = [3u8, 3, 0, 2, 3]
            .into_iter()
            .chain(values.iter().copied())
            .chain([0; 6])
            .collect();
        let pm = bech32_polymod(expanded.into_iter()) ^ c;
        values.extend((0..6).map(|i| ((pm >> (5 * (5 - i))) & 31) as u8));
        let data: String = values
            .iter()
            .map(|&v| char::from(BECH32[v as usize]))
            .collect();
        format!("bc1{data}")
    }

    #[test]
    fn bech32_accepts_generated_and_rejects_corrupted() {
        for seed in 1..30u64 {
            for (version, len) in [(0u8, 20), (0, 32), (1, 32)] {
                let good = segwit_address(version, &bytes(seed, len));
                assert!(bech32_address(&good), "{good}");
                assert!(bech32_address(&good.to_ascii_uppercase()));
                let mut bad = good.clone().into_bytes();
                let i = good.len() - 9;
                bad[i] = if bad[i] == b'q' { b'p' } else { b'q' };
                assert!(!bech32_address(&String::from_utf8(bad).expect("ascii")));
                let mut mixed = good.clone().into_bytes();
                mixed[5] = mixed[5].to_ascii_uppercase();
                if mixed[5] != good.as_bytes()[5] {
                    assert!(!bech32_address(&String::from_utf8(mixed).expect("ascii")));
                }
            }
            // A version-0 program with the bech32m constant, or of a bad length, fails.
            let wrong = segwit_address(1, &bytes(seed, 20)).replacen("bc1p", "bc1q", 1);
            assert!(!bech32_address(&wrong));
            assert!(!bech32_address(&segwit_address(0, &bytes(seed, 25))));
        }
        assert!(!bech32_address("bc1qqqqqqq"));
        assert!(!bech32_address(
            "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"
        ));
    }

    #[test]
    fn eip55_accepts_generated_and_rejects_corrupted() {
        for seed in 1..40u64 {
            let lower = hex(&bytes(seed, 20));
            let good = format!("0x{}", eip55_checksummed(&lower));
            assert!(eip55(&good), "{good}");
            assert!(eip55(&format!("0x{lower}")), "one case: no checksum");
            assert!(eip55(&format!("0x{}", lower.to_ascii_uppercase())));
            // Flip the case of one letter: the checksum fails (when the rest is mixed).
            if let Some(i) = good.bytes().skip(2).position(|b| b.is_ascii_alphabetic()) {
                let mut bad = good.clone().into_bytes();
                bad[i + 2] ^= 0x20;
                let bad = String::from_utf8(bad).expect("ascii");
                let mixed = bad.bytes().any(|b| b.is_ascii_lowercase())
                    && bad[2..].bytes().any(|b| b.is_ascii_uppercase());
                assert_eq!(eip55(&bad), !mixed, "{bad}");
            }
        }
        assert!(!eip55("0x1234"));
        assert!(!eip55(&format!("0x{}", "g".repeat(40))));
    }

    #[test]
    fn phone_digit_counts() {
        for good in [
            "+44 20 7946 0958",
            "+1 (415) 555-0132",
            "020 7946 0958",
            "555-0132-77",
        ] {
            assert!(phone(good), "{good}");
        }
        for bad in [
            "+1 555",
            "123456",
            "+1234567890123456",
            "000 000 0000",
            "555-0132x",
            "01.02.2024",
            "2024-05-01",
            "12/31/2024",
        ] {
            assert!(!phone(bad), "{bad}");
        }
    }

    #[test]
    fn ipv4_classes() {
        use Ipv4Class::*;
        for (s, want) in [
            ("81.17.24.203", Some(Public)),
            ("10.1.2.3", Some(Private)),
            ("172.20.0.1", Some(Private)),
            ("172.32.0.1", Some(Public)),
            ("192.168.1.20", Some(Private)),
            ("100.72.3.4", Some(Private)),
            ("127.0.0.1", Some(Other)),
            ("0.0.0.0", Some(Other)),
            ("255.255.255.0", Some(Other)),
            ("239.1.2.3", Some(Other)),
            ("192.0.2.10", Some(Other)),
            ("203.0.113.9", Some(Other)),
            ("256.1.1.1", None),
            ("1.2.3", None),
            ("1.2.3.4.5", None),
            ("01.2.3.4", None),
            ("1..3.4", None),
        ] {
            assert_eq!(ipv4_class(s), want, "{s}");
        }
        assert!(check(Validator::Ipv4Public, "81.17.24.203"));
        assert!(!check(Validator::Ipv4Public, "10.1.2.3"));
        assert!(check(Validator::Ipv4Private, "10.1.2.3"));
    }

    #[test]
    fn ipv6_global_unicast() {
        for good in ["2a03:2880:f12f:83:face:b00c:0:25de", "2606:4700::6810:85e5"] {
            assert!(ipv6_global(good), "{good}");
        }
        for bad in [
            "::1",
            "::",
            "fe80::1",
            "fd12:3456:789a::1",
            "2001:db8::1",
            "12:30:45",
            "00:1a:2b:3c:4d:5e",
            "2606:4700:::1",
            "beef::cafe",
        ] {
            assert!(!ipv6_global(bad), "{bad}");
        }
    }

    #[test]
    fn azure_signature_at_its_place() {
        let key = |len: usize, pad: usize, sig: &str, seed: u64| {
            let body = base62_text(seed, len - pad);
            let at = len - pad - 10;
            format!("{}{sig}{}{}", &body[..at], &body[at + 4..], "=".repeat(pad))
        };
        for (seed, sig) in AZURE_SIGNATURES.iter().enumerate() {
            for (len, pad) in [(44, 1), (56, 2), (88, 2)] {
                let good = key(len, pad, sig, seed as u64 + 1);
                assert_eq!(good.len(), len);
                assert!(azure_identifiable(&good), "{good}");
                let moved = format!("{}{}", &good[1..len - pad], &good[len - pad - 1..]);
                assert!(
                    !azure_identifiable(&moved),
                    "signature off its place: {moved}"
                );
            }
            assert!(!azure_identifiable(&key(88, 1, sig, 3)), "padding");
            assert!(!azure_identifiable(&key(64, 2, sig, 3)), "length");
        }
        assert!(!azure_identifiable(&key(88, 2, "+AXX", 5)));
    }
}

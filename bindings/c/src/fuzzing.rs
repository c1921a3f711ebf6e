//! The check behind the `c_abi` fuzz target (`fuzz/`): arbitrary bytes drive calls of the
//! exported functions the way a C caller could make them (any bytes as text, any length up
//! to the buffer's, NULL pointers, unknown names and indexes, options with odd values), and
//! every call must return a status that fits its arguments, never `PW_STATUS_PANIC`. Also
//! replayed over the committed corpus by `tests/fuzz_replay.rs`. Not part of the C API.

use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::OnceLock;

use super::*;

/// The default firewall, built once (as a C program would) and shared by all inputs.
struct Shared(*mut pw_firewall);
// SAFETY: a `pw_firewall` may be used from any thread (see its documentation); the pointer
// is never freed.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

fn shared() -> *const pw_firewall {
    static FW: OnceLock<Shared> = OnceLock::new();
    FW.get_or_init(|| {
        let mut fw = null_mut();
        assert_eq!(pw_firewall_new_default(&mut fw), pw_status::Ok);
        Shared(fw)
    })
    .0
}

/// Builds the shared firewall and the token encodings ahead of the first input (building an
/// encoding takes seconds in an instrumented build). The fuzz target calls it from
/// libFuzzer's `init`.
pub fn warm_up() {
    shared();
    for e in promptwall::tokens::Encoding::ALL {
        e.load();
    }
}

/// Reads the input a piece at a time; past its end, zeros and empty slices.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> usize {
        usize::from(u16::from_le_bytes([self.byte(), self.byte()]))
    }

    /// A slice of up to `n` bytes.
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }

    /// A NUL-terminated string from the bytes up to the next NUL (or the end).
    fn c_string(&mut self) -> CString {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(self.0.len());
        let s = CString::new(&self.0[..end]).unwrap_or_default();
        self.0 = &self.0[(end + 1).min(self.0.len())..];
        s
    }
}

fn expect_ok(status: pw_status, call: &str) {
    assert_ne!(status, pw_status::Panic, "{call} panicked");
    assert_eq!(status, pw_status::Ok, "{call}: {}", last_error());
}

fn last_error() -> String {
    // SAFETY: pw_last_error_message returns a NUL-terminated string.
    unsafe { CStr::from_ptr(pw_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// The status a call taking `bytes` as text must return: OK for UTF-8, else INVALID_UTF8.
fn text_status(bytes: &[u8]) -> pw_status {
    if std::str::from_utf8(bytes).is_ok() {
        pw_status::Ok
    } else {
        pw_status::InvalidUtf8
    }
}

/// Reads back a string the library returned with its length.
///
/// # Safety
/// `p` points to `len` bytes followed by a NUL.
unsafe fn check_string(p: *const c_char, len: usize) {
    assert!(!p.is_null());
    // SAFETY: the caller's promise.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len + 1) };
    assert_eq!(bytes[len], 0, "not NUL-terminated at its length");
    assert!(std::str::from_utf8(&bytes[..len]).is_ok(), "not UTF-8");
}

/// Reads every accessor of a verdict, in and out of range.
fn check_verdict(v: *const pw_verdict, text_len: usize, input: &mut Input<'_>) {
    let action = pw_verdict_action(v) as u32;
    assert!(action <= 3);
    let score = pw_verdict_score(v);
    assert!((0.0..=1.0).contains(&score));
    let n = pw_verdict_findings_len(v);
    let mut f = pw_finding {
        rule: null(),
        category: null(),
        severity: null(),
        view: null(),
        excerpt: null(),
        excerpt_len: 0,
        score: 0.0,
        start: 0,
        end: 0,
    };
    for i in 0..n {
        expect_ok(pw_verdict_finding(v, i, &mut f), "pw_verdict_finding");
        assert!(
            f.start <= f.end && f.end <= text_len,
            "span {}..{}",
            f.start,
            f.end
        );
        // SAFETY: the verdict owns NUL-terminated strings; the excerpt has its length.
        unsafe {
            check_string(f.excerpt, f.excerpt_len);
            assert!(!CStr::from_ptr(f.rule).to_bytes().is_empty());
        }
    }
    let past = n + input.byte() as usize;
    assert_eq!(pw_verdict_finding(v, past, &mut f), pw_status::OutOfRange);
    assert_eq!(
        pw_verdict_finding(v, 0, null_mut()),
        pw_status::NullParameter
    );
    let mut json: *const c_char = null();
    let mut len = 0;
    expect_ok(pw_verdict_json(v, &mut json, &mut len), "pw_verdict_json");
    // SAFETY: the verdict owns `len` bytes and a NUL at `json`.
    unsafe { check_string(json, len) };
    let name = input.c_string();
    let mut s = 0.0;
    let status = pw_verdict_category_score(v, name.as_ptr(), &mut s);
    let known = name.to_str().ok().and_then(Category::from_name).is_some();
    assert_eq!(
        status,
        if known {
            pw_status::Ok
        } else {
            pw_status::InvalidArgument
        },
        "category {name:?}"
    );
}

/// One run of calls driven by `data`.
pub fn calls(data: &[u8]) {
    let mut input = Input(data);
    let op = input.byte();
    let claimed = input.u16();
    let fw = shared();
    match op % 8 {
        0 | 1 => {
            // A scan of the rest of the input (or of a prefix of it: any length up to the
            // buffer's), then every accessor of the verdict.
            let rest = input.0;
            let len = if op & 0x80 != 0 {
                claimed.min(rest.len())
            } else {
                rest.len()
            };
            let text = &rest[..len];
            let scan = if op % 8 == 0 {
                pw_firewall_scan
            } else {
                pw_firewall_scan_response
            };
            let mut v = null_mut();
            let status = scan(fw, text.as_ptr(), len, &mut v);
            assert_eq!(status, text_status(text), "scan: {}", last_error());
            if status == pw_status::Ok {
                input.0 = &rest[len..];
                check_verdict(v, len, &mut input);
                pw_verdict_free(v);
            } else {
                assert!(v.is_null(), "out written on failure");
                assert!(!last_error().is_empty());
            }
        }
        2 => {
            let text = input.take(claimed);
            let (mut out, mut len) = (null_mut(), 0);
            let status = pw_firewall_redact(fw, text.as_ptr(), text.len(), &mut out, &mut len);
            assert_eq!(status, text_status(text), "redact: {}", last_error());
            if status == pw_status::Ok {
                // SAFETY: a library string of `len` bytes and a NUL.
                unsafe { check_string(out, len) };
                pw_string_free(out);
            }
        }
        3 => {
            // NULL pointers where the API allows them and where it does not.
            let mut v = null_mut();
            expect_ok(pw_firewall_scan(fw, null(), 0, &mut v), "scan of NULL, 0");
            pw_verdict_free(v);
            let mut v = null_mut();
            let n = claimed.max(1);
            let s = pw_firewall_scan(fw, null(), n, &mut v);
            assert_eq!(s, pw_status::NullParameter);
            assert!(v.is_null());
            let s = pw_firewall_scan(null(), b"x".as_ptr(), 1, &mut v);
            assert_eq!(s, pw_status::NullParameter);
            assert_eq!(
                pw_firewall_scan(fw, b"x".as_ptr(), 1, null_mut()),
                pw_status::NullParameter
            );
            assert_eq!(pw_verdict_action(null()), pw_action::Block);
            assert_eq!(pw_verdict_score(null()), 1.0);
            assert_eq!(pw_verdict_findings_len(null()), 0);
            pw_verdict_free(null_mut());
            pw_string_free(null_mut());
            pw_firewall_free(null_mut());
            pw_options_free(null_mut());
            // Static strings for any number.
            let code = u32::from_le_bytes([input.byte(), input.byte(), input.byte(), op]);
            // SAFETY: static NUL-terminated strings.
            unsafe {
                assert!(!CStr::from_ptr(pw_status_str(code)).to_bytes().is_empty());
                assert!(!CStr::from_ptr(pw_action_str(code)).to_bytes().is_empty());
                assert!(!CStr::from_ptr(pw_version()).to_bytes().is_empty());
            }
        }
        4 => {
            let name = input.c_string();
            let encoding = if op & 0x80 != 0 {
                name.as_ptr()
            } else {
                null()
            };
            let text = input.take(claimed);
            let mut n = usize::MAX;
            let status = pw_count_tokens(encoding, text.as_ptr(), text.len(), &mut n);
            let known = encoding.is_null()
                || promptwall::tokens::Encoding::from_name(&name.to_string_lossy()).is_some();
            let want = if !known {
                pw_status::InvalidArgument
            } else {
                text_status(text)
            };
            assert_eq!(status, want, "count tokens: {}", last_error());
            if status == pw_status::Ok {
                assert!(n <= text.len());
            }
        }
        5 | 6 => options(&mut input, op, claimed),
        _ => {
            let key = input.take(claimed);
            let mut d = pw_quota_decision {
                allowed: false,
                retry_after_ms: 0,
                remaining_requests: 0,
                remaining_tokens: 0,
            };
            let s = pw_firewall_check_quota(fw, key.as_ptr(), key.len(), 1, 1, &mut d);
            let want = if std::str::from_utf8(key).is_ok() {
                pw_status::NoQuota
            } else {
                pw_status::InvalidUtf8
            };
            assert_eq!(s, want);
            let (mut out, mut len) = (null_mut(), 0);
            expect_ok(
                pw_firewall_metrics_prometheus(fw, &mut out, &mut len),
                "metrics",
            );
            // SAFETY: a library string of `len` bytes and a NUL.
            unsafe { check_string(out, len) };
            pw_string_free(out);
        }
    }
}

/// Options with values from the input, a firewall built from them (without the built-in
/// rules, to keep each run quick), a response scan, a canary and a quota check.
fn options(input: &mut Input<'_>, op: u8, claimed: usize) {
    let mut opts = null_mut();
    expect_ok(pw_options_new(&mut opts), "pw_options_new");
    expect_ok(pw_options_default_rules(opts, false), "default_rules");
    let protect = input.take(claimed % 512);
    let s = pw_options_protect(opts, protect.as_ptr(), protect.len());
    assert_eq!(s, text_status(protect));
    expect_ok(
        pw_options_protect_min_words(opts, usize::from(input.byte())),
        "protect_min_words",
    );
    let n = input_len(input);
    let token = input.take(n);
    assert_eq!(
        pw_options_canary_token(opts, token.as_ptr(), token.len()),
        text_status(token)
    );
    let n = input_len(input);
    let secret = input.take(n);
    expect_ok(
        pw_options_canary_secret(opts, secret.as_ptr(), secret.len()),
        "canary_secret",
    );
    let (requests, tokens, window) = (
        u64::from(input.byte()),
        u64::from(input.byte()) * 100,
        u64::from(input.byte()) * 1000,
    );
    let s = pw_options_quota(opts, requests, tokens, window);
    let quota = window > 0;
    assert_eq!(
        s,
        if quota {
            pw_status::Ok
        } else {
            pw_status::InvalidArgument
        }
    );
    if op & 0x80 != 0 {
        // A policy path that does not exist: a build error naming it, never a firewall.
        let path = c"/nonexistent/promptwall-fuzz/policy.toml";
        expect_ok(pw_options_policy_path(opts, path.as_ptr()), "policy_path");
        let mut fw = null_mut();
        let s = pw_firewall_new_with_options(opts, &mut fw);
        assert_eq!(s, pw_status::PolicyError, "{}", last_error());
        assert!(fw.is_null());
        assert!(last_error().contains("policy.toml"), "{}", last_error());
        pw_options_free(opts);
        return;
    }
    let mut fw = null_mut();
    expect_ok(pw_firewall_new_with_options(opts, &mut fw), "build");
    pw_options_free(opts);
    let text = input.0;
    let mut v = null_mut();
    let s = pw_firewall_scan_response(fw, text.as_ptr(), text.len(), &mut v);
    assert_eq!(s, text_status(text));
    if s == pw_status::Ok {
        check_verdict(v, text.len(), input);
        pw_verdict_free(v);
    }
    let (mut token, mut line) = (null_mut(), null_mut());
    expect_ok(pw_firewall_canary(fw, &mut token, &mut line), "canary");
    pw_string_free(token);
    pw_string_free(line);
    let mut d = pw_quota_decision {
        allowed: false,
        retry_after_ms: 0,
        remaining_requests: 0,
        remaining_tokens: 0,
    };
    let s = pw_firewall_check_quota(fw, b"k".as_ptr(), 1, 1, u64::from(op), &mut d);
    assert_eq!(
        s,
        if quota {
            pw_status::Ok
        } else {
            pw_status::NoQuota
        }
    );
    pw_firewall_free(fw);
}

fn input_len(input: &mut Input<'_>) -> usize {
    usize::from(input.byte() % 64)
}

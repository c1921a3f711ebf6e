//! The C ABI of promptwall: `libpromptwall` and `promptwall.h`.
//!
//! Conventions (stated for C users in `bindings/c/README.md`, modelled on rustls-ffi):
//!
//! - Every name starts with `pw_`. Objects are opaque handles made by a `_new` function and
//!   released by its `_free` function; `_free(NULL)` does nothing.
//! - Fallible functions return a `pw_status` (a `uint32_t` with explicit values); their
//!   out-parameters come last and are written only when the status is `PW_STATUS_OK`.
//! - Text goes in as pointer + length and must be UTF-8; anything else is
//!   `PW_STATUS_INVALID_UTF8`, never a crash.
//! - Every exported function runs inside a panic boundary: a panic becomes
//!   `PW_STATUS_PANIC`, never an abort or an unwind into C.
//! - Details of the last failure are kept per thread (`pw_last_error_message`); they never
//!   contain the scanned text.
//!
//! These functions are called from C, where Rust's `unsafe` has no meaning; the pointer
//! contracts are written in each function's documentation (copied into the header).
#![allow(non_camel_case_types)]
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![deny(missing_docs)]

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Once, OnceLock};
use std::time::Duration;

use promptwall::quota::QuotaLimits;
use promptwall::{
    Action, Category, Error, ErrorKind, Finding, Firewall, FirewallBuilder, Severity, Verdict,
};

#[doc(hidden)]
pub mod fuzzing;

/// The result of a fallible call. C sees it as a `uint32_t`; the values never change.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pw_status {
    /// Success; the out-parameters were written.
    Ok = 0,
    /// A pointer argument that must not be NULL was NULL.
    NullParameter = 1,
    /// The text is not valid UTF-8.
    InvalidUtf8 = 2,
    /// An argument has a bad value (an unknown category name, a length over `PTRDIFF_MAX`).
    InvalidArgument = 3,
    /// An index is past the end (`pw_verdict_finding`).
    OutOfRange = 4,
    /// A rule pack could not be parsed or compiled.
    RuleError = 5,
    /// A policy file could not be read or parsed, or holds a bad value.
    PolicyError = 6,
    /// A rule pack file or folder could not be read.
    IoError = 7,
    /// The firewall could not be built for another reason.
    BuildError = 8,
    /// promptwall panicked: a bug. The call had no effect; the message says where.
    Panic = 9,
    /// `pw_firewall_check_quota` on a firewall built without a quota (`pw_options_quota`).
    NoQuota = 10,
}

/// What to do with a text, from least to most severe: the values compare in that order.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pw_action {
    /// Nothing reached a threshold.
    Allow = 0,
    /// Let it through but report it.
    Flag = 1,
    /// Let it through with secrets and personal data replaced (`pw_firewall_redact`).
    Redact = 2,
    /// Stop it.
    Block = 3,
}

impl From<Action> for pw_action {
    fn from(a: Action) -> Self {
        match a {
            Action::Allow => pw_action::Allow,
            Action::Flag => pw_action::Flag,
            Action::Redact => pw_action::Redact,
            Action::Block => pw_action::Block,
        }
    }
}

/// A firewall: compiled rules and a policy. Build it once and share it: any number of
/// threads may scan with one `pw_firewall` at the same time. It must not be freed while a
/// scan is running.
#[derive(Debug)]
pub struct pw_firewall {
    fw: Firewall,
}

/// What to build a firewall from, set piece by piece: rule packs, a policy, protected texts,
/// canaries and a quota (see `pw_options_new`). It is not shared: change it from one thread at
/// a time. It may build any number of firewalls; each gets a quota of its own.
#[derive(Debug, Default)]
pub struct pw_options {
    builder: FirewallBuilder,
    /// Kept apart from the builder: a builder holds the quota's store itself, and firewalls
    /// built from the same options must not share one.
    quota: Option<QuotaLimits>,
}

/// The value of `remaining_requests` and `remaining_tokens` of a `pw_quota_decision` when
/// that dimension has no limit.
pub const PW_QUOTA_UNLIMITED: u64 = u64::MAX;

/// The answer of `pw_firewall_check_quota`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct pw_quota_decision {
    /// Whether the request may go ahead; its cost was then spent. A denied request spends
    /// nothing.
    pub allowed: bool,
    /// When denied: milliseconds (rounded up) until the same request would be allowed.
    /// 0 when allowed.
    pub retry_after_ms: u64,
    /// Requests left in the window after this one; `PW_QUOTA_UNLIMITED` when requests have
    /// no limit.
    pub remaining_requests: u64,
    /// Tokens left in the window after this one; `PW_QUOTA_UNLIMITED` when tokens have no
    /// limit.
    pub remaining_tokens: u64,
}

/// The result of a scan. It owns every string that its accessors hand out; they stay valid
/// until `pw_verdict_free`. A verdict may be read from several threads at once.
#[derive(Debug)]
pub struct pw_verdict {
    verdict: Verdict,
    /// NUL-terminated copies of the findings' strings, made on first use.
    texts: OnceLock<Box<[FindingText]>>,
    /// The JSON form with a trailing NUL, made on first use.
    json: OnceLock<Box<[u8]>>,
}

#[derive(Debug)]
struct FindingText {
    rule: Box<[u8]>,
    view: Box<[u8]>,
    excerpt: Box<[u8]>,
}

/// One finding of a verdict, filled in by `pw_verdict_finding`. Its strings are
/// NUL-terminated and owned by the verdict: valid until `pw_verdict_free`.
#[repr(C)]
#[derive(Debug)]
pub struct pw_finding {
    /// The rule id, e.g. `"secret.aws.access-key-id"`.
    pub rule: *const c_char,
    /// The category: `"injection"`, `"secret"`, `"pii"`, `"abuse"`, `"exfiltration"` or `"leak"`.
    pub category: *const c_char,
    /// The severity: `"low"`, `"medium"`, `"high"` or `"critical"`.
    pub severity: *const c_char,
    /// The view it was seen in: `"raw"`, `"normalized"`, ...
    pub view: *const c_char,
    /// The matched text, masked for secrets and personal data, shortened when long. It may
    /// hold NUL bytes when the text did: `excerpt_len` is its full length.
    pub excerpt: *const c_char,
    /// Length in bytes of `excerpt`, without the terminating NUL.
    pub excerpt_len: usize,
    /// The rule's score, from 0 to 1.
    pub score: f64,
    /// Byte offset of the start of the span in the scanned text.
    pub start: usize,
    /// Byte offset of the end (exclusive) of the span in the scanned text.
    pub end: usize,
}

// ---------------------------------------------------------------------------------------------
// Panic boundary and the per-thread error message.

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    static IN_BOUNDARY: Cell<u32> = const { Cell::new(0) };
}

/// Replaces the panic hook once: a panic inside a `pw_` call prints only its location, since
/// a panic message can quote the text being scanned (e.g. a bad slice of it). Panics outside
/// promptwall's functions go to the previous hook unchanged.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_BOUNDARY.with(Cell::get) > 0 {
                match info.location() {
                    Some(l) => eprintln!(
                        "promptwall: internal error (a bug) at {}:{}",
                        l.file(),
                        l.line()
                    ),
                    None => eprintln!("promptwall: internal error (a bug)"),
                }
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into `on_panic` and a thread-local error message.
fn boundary<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    install_panic_hook();
    IN_BOUNDARY.with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_BOUNDARY.with(|d| d.set(d.get().saturating_sub(1)));
    match result {
        Ok(v) => v,
        Err(_) => {
            set_error("internal error: promptwall panicked (a bug; please report it)");
            on_panic
        }
    }
}

fn set_error(msg: &str) {
    // NUL cannot end up inside a CString; no engine message should hold one anyway.
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

fn fail(status: pw_status, msg: &str) -> pw_status {
    set_error(msg);
    status
}

fn null(name: &str) -> pw_status {
    fail(
        pw_status::NullParameter,
        &format!("`{name}` must not be NULL"),
    )
}

fn build_error(e: &Error) -> pw_status {
    let status = match e.kind() {
        ErrorKind::Rule => pw_status::RuleError,
        ErrorKind::Policy => pw_status::PolicyError,
        ErrorKind::Io => pw_status::IoError,
        _ => pw_status::BuildError,
    };
    // The engine's errors name a file, a line and a rule id; they never quote scanned text.
    fail(status, &e.to_string())
}

/// Reads `text`/`len` as UTF-8. NULL with length 0 is the empty text.
///
/// # Safety
/// `text` is NULL or points to `len` readable bytes that outlive `'a`.
unsafe fn text_arg<'a>(text: *const u8, len: usize, name: &str) -> Result<&'a str, pw_status> {
    // SAFETY: the caller's promise, passed on.
    let bytes = unsafe { bytes_arg(text, len, name) }?;
    std::str::from_utf8(bytes).map_err(|e| {
        // The offset only: the bytes themselves may be a secret.
        fail(
            pw_status::InvalidUtf8,
            &format!(
                "`{name}` is not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Reads `bytes`/`len` as raw bytes. NULL with length 0 is empty.
///
/// # Safety
/// `bytes` is NULL or points to `len` readable bytes that outlive `'a`.
unsafe fn bytes_arg<'a>(bytes: *const u8, len: usize, name: &str) -> Result<&'a [u8], pw_status> {
    if bytes.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(null(name)) };
    }
    if len > isize::MAX as usize {
        return Err(fail(
            pw_status::InvalidArgument,
            &format!("`{name}` length is over PTRDIFF_MAX"),
        ));
    }
    // SAFETY: not NULL, and the caller promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(bytes, len) })
}

/// Reads a NUL-terminated path.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn path_arg(p: *const c_char, name: &str) -> Result<PathBuf, pw_status> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: not NULL, and the caller promises a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(bytes).map(PathBuf::from).map_err(|_| {
            fail(
                pw_status::InvalidUtf8,
                &format!("`{name}` is not valid UTF-8"),
            )
        })
    }
}

/// Writes `value` through `out`, which the caller has checked is not NULL.
///
/// # Safety
/// `out` is valid for a write of `T`.
unsafe fn write<T>(out: *mut T, value: T) {
    // SAFETY: the caller's promise; `write` does not drop whatever garbage was there.
    unsafe { out.write(value) }
}

// ---------------------------------------------------------------------------------------------
// Versions, statuses, last error.

/// The version of promptwall, e.g. `"0.1.0"`: a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn pw_version() -> *const c_char {
    boundary(c"".as_ptr(), || {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

/// A short static description of a status code; `"unknown status"` for values that are
/// not a `pw_status`.
#[no_mangle]
pub extern "C" fn pw_status_str(status: u32) -> *const c_char {
    boundary(c"".as_ptr(), || status_cstr(status).as_ptr())
}

fn status_cstr(status: u32) -> &'static CStr {
    match status {
        0 => c"ok",
        1 => c"a required pointer argument was NULL",
        2 => c"the text is not valid UTF-8",
        3 => c"an argument has a bad value",
        4 => c"an index is out of range",
        5 => c"a rule pack could not be parsed or compiled",
        6 => c"a policy file could not be read or parsed, or holds a bad value",
        7 => c"a rule pack file or folder could not be read",
        8 => c"the firewall could not be built",
        9 => c"internal error: promptwall panicked",
        10 => c"the firewall has no quota",
        _ => c"unknown status",
    }
}

/// The lowercase name of an action (`"allow"`, `"flag"`, `"redact"`, `"block"`): a static
/// string; `"unknown"` for values that are not a `pw_action`.
#[no_mangle]
pub extern "C" fn pw_action_str(action: u32) -> *const c_char {
    boundary(c"".as_ptr(), || {
        let s: &'static CStr = match action {
            0 => c"allow",
            1 => c"flag",
            2 => c"redact",
            3 => c"block",
            _ => c"unknown",
        };
        s.as_ptr()
    })
}

/// The detail of the last call on this thread that returned a status other than
/// `PW_STATUS_OK`, e.g. `"rules/x.toml:12: rule `id`: bad `regex`: ..."`; `""` when no call
/// has failed on this thread. It never contains the scanned text.
///
/// The string belongs to the thread: it stays valid until the next call of a `pw_` function
/// on the same thread. Successful calls do not clear it, so read it only right after a
/// failure.
#[no_mangle]
pub extern "C" fn pw_last_error_message() -> *const c_char {
    boundary(c"".as_ptr(), || LAST_ERROR.with(|e| e.borrow().as_ptr()))
}

// ---------------------------------------------------------------------------------------------
// Firewalls.

fn boxed_firewall(fw: Firewall) -> *mut pw_firewall {
    Box::into_raw(Box::new(pw_firewall { fw }))
}

/// Builds a firewall with the built-in rules and the default policy.
///
/// On success, `*out` receives a firewall to release with `pw_firewall_free`.
#[no_mangle]
pub extern "C" fn pw_firewall_new_default(out: *mut *mut pw_firewall) -> pw_status {
    boundary(pw_status::Panic, || {
        if out.is_null() {
            return null("out");
        }
        match Firewall::new() {
            Ok(fw) => {
                // SAFETY: checked not NULL; the caller promises it is writable.
                unsafe { write(out, boxed_firewall(fw)) };
                pw_status::Ok
            }
            Err(e) => build_error(&e),
        }
    })
}

/// Builds a firewall from the built-in rules, then the rule packs of `rule_paths` in order
/// (each a TOML pack file or a folder of `*.toml` packs; their rules add to, replace or
/// disable earlier ones), under the policy of `policy_path` (a TOML file) or, when it is
/// NULL, the default policy.
///
/// `rule_paths` points to `n` NUL-terminated paths; it may be NULL when `n` is 0.
/// On failure the status says what kind (`PW_STATUS_RULE_ERROR`, `PW_STATUS_POLICY_ERROR`,
/// `PW_STATUS_IO_ERROR`) and `pw_last_error_message` says where: file, line and rule id.
/// On success, `*out` receives a firewall to release with `pw_firewall_free`.
#[no_mangle]
pub extern "C" fn pw_firewall_new_from_files(
    rule_paths: *const *const c_char,
    n: usize,
    policy_path: *const c_char,
    out: *mut *mut pw_firewall,
) -> pw_status {
    boundary(pw_status::Panic, || {
        if out.is_null() {
            return null("out");
        }
        if rule_paths.is_null() && n > 0 {
            return null("rule_paths");
        }
        let mut builder = Firewall::builder();
        for i in 0..n {
            // SAFETY: not NULL (n > 0), and the caller promises `n` readable pointers.
            let p = unsafe { *rule_paths.add(i) };
            // SAFETY: the caller promises NUL-terminated strings.
            match unsafe { path_arg(p, &format!("rule_paths[{i}]")) } {
                Ok(path) => builder = builder.rules_path(path),
                Err(s) => return s,
            }
        }
        if !policy_path.is_null() {
            // SAFETY: the caller promises a NUL-terminated string.
            match unsafe { path_arg(policy_path, "policy_path") } {
                Ok(path) => builder = builder.policy_file(path),
                Err(s) => return s,
            }
        }
        match builder.build() {
            Ok(fw) => {
                // SAFETY: checked not NULL; the caller promises it is writable.
                unsafe { write(out, boxed_firewall(fw)) };
                pw_status::Ok
            }
            Err(e) => build_error(&e),
        }
    })
}

/// Releases a firewall. NULL does nothing. No scan may be running with it.
#[no_mangle]
pub extern "C" fn pw_firewall_free(fw: *mut pw_firewall) {
    boundary((), || {
        if !fw.is_null() {
            // SAFETY: made by Box::into_raw in a `pw_firewall_new_*` function, freed once.
            drop(unsafe { Box::from_raw(fw) });
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Options: firewalls with more than rule files and a policy.

/// Makes options that build what `pw_firewall_new_default` builds: the built-in rules and the
/// default policy, nothing protected, no quota. The `pw_options_*` functions add to them;
/// `pw_firewall_new_with_options` builds.
///
/// On success, `*out` receives options to release with `pw_options_free`.
#[no_mangle]
pub extern "C" fn pw_options_new(out: *mut *mut pw_options) -> pw_status {
    boundary(pw_status::Panic, || {
        if out.is_null() {
            return null("out");
        }
        let opts = Box::new(pw_options::default());
        // SAFETY: checked not NULL; the caller promises it is writable.
        unsafe { write(out, Box::into_raw(opts)) };
        pw_status::Ok
    })
}

/// Releases options. NULL does nothing. Firewalls built from them are not affected.
#[no_mangle]
pub extern "C" fn pw_options_free(opts: *mut pw_options) {
    boundary((), || {
        if !opts.is_null() {
            // SAFETY: made by Box::into_raw in `pw_options_new`, freed once.
            drop(unsafe { Box::from_raw(opts) });
        }
    })
}

/// Runs `f` on the options behind `opts`, inside the panic boundary.
fn with_options(opts: *mut pw_options, f: impl FnOnce(&mut pw_options) -> pw_status) -> pw_status {
    boundary(pw_status::Panic, || {
        // SAFETY: the caller promises NULL or live options that no other thread is using.
        match unsafe { opts.as_mut() } {
            Some(o) => f(o),
            None => null("opts"),
        }
    })
}

/// Applies a builder method to the options' builder.
fn update(o: &mut pw_options, f: impl FnOnce(FirewallBuilder) -> FirewallBuilder) -> pw_status {
    o.builder = f(std::mem::take(&mut o.builder));
    pw_status::Ok
}

/// Whether to start from the built-in rule packs (the default) or from no rules at all.
#[no_mangle]
pub extern "C" fn pw_options_default_rules(opts: *mut pw_options, yes: bool) -> pw_status {
    with_options(opts, |o| update(o, |b| b.default_rules(yes)))
}

/// Adds a rule pack file, or a folder of `*.toml` packs (a NUL-terminated path), read when a
/// firewall is built; packs apply in the order added, after the built-in ones.
#[no_mangle]
pub extern "C" fn pw_options_rules_path(opts: *mut pw_options, path: *const c_char) -> pw_status {
    with_options(opts, |o| {
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        match unsafe { path_arg(path, "path") } {
            Ok(p) => update(o, |b| b.rules_path(p)),
            Err(s) => s,
        }
    })
}

/// Sets the policy file (a NUL-terminated path), read when a firewall is built; without one,
/// the default policy applies.
#[no_mangle]
pub extern "C" fn pw_options_policy_path(opts: *mut pw_options, path: *const c_char) -> pw_status {
    with_options(opts, |o| {
        // SAFETY: the caller promises NULL or a NUL-terminated string.
        match unsafe { path_arg(path, "path") } {
            Ok(p) => update(o, |b| b.policy_file(p)),
            Err(s) => s,
        }
    })
}

/// Adds a confidential text (a system prompt, say; `len` bytes of UTF-8) that responses must
/// not reproduce: a response repeating a stretch of it of at least
/// `pw_options_protect_min_words` words, verbatim or lightly changed, spaced out or encoded,
/// gets a `leak.protected-text` finding from `pw_firewall_scan_response`. Call it once per
/// text.
#[no_mangle]
pub extern "C" fn pw_options_protect(
    opts: *mut pw_options,
    text: *const u8,
    len: usize,
) -> pw_status {
    with_options(opts, |o| {
        // SAFETY: the caller promises `len` readable bytes at `text`.
        match unsafe { text_arg(text, len, "text") } {
            Ok(t) => update(o, |b| b.protect(t)),
            Err(s) => s,
        }
    })
}

/// The shortest stretch of a protected text, in whole words, that counts as a leak (default
/// 8; and at least 24 letters in a row of it).
#[no_mangle]
pub extern "C" fn pw_options_protect_min_words(opts: *mut pw_options, words: usize) -> pw_status {
    with_options(opts, |o| update(o, |b| b.protect_min_words(words)))
}

/// The secret (`len` bytes, any bytes) from which `pw_firewall_canary` makes tokens and by
/// which responses are checked for them. Firewalls built with the same secret recognise each
/// other's canaries (replicas, restarts); without one, each firewall has a random secret of
/// its own.
#[no_mangle]
pub extern "C" fn pw_options_canary_secret(
    opts: *mut pw_options,
    secret: *const u8,
    len: usize,
) -> pw_status {
    with_options(opts, |o| {
        // SAFETY: the caller promises `len` readable bytes at `secret`.
        match unsafe { bytes_arg(secret, len, "secret") } {
            Ok(k) => update(o, |b| b.canary_secret(k)),
            Err(s) => s,
        }
    })
}

/// Adds a canary token made elsewhere (`len` bytes of UTF-8) to look for in responses,
/// compared on letters and digits only, ignoring case; tokens of fewer than 8 letters and
/// digits are ignored.
#[no_mangle]
pub extern "C" fn pw_options_canary_token(
    opts: *mut pw_options,
    token: *const u8,
    len: usize,
) -> pw_status {
    with_options(opts, |o| {
        // SAFETY: the caller promises `len` readable bytes at `token`.
        match unsafe { text_arg(token, len, "token") } {
            Ok(t) => update(o, |b| b.canary_token(t)),
            Err(s) => s,
        }
    })
}

/// Gives each firewall built from these options a per-key quota, kept in its memory and
/// checked with `pw_firewall_check_quota`: `requests` requests and `tokens` tokens per
/// window of `window_ms` milliseconds, each refilling continuously. A limit of 0 means no
/// limit on that dimension. A `window_ms` of 0 is `PW_STATUS_INVALID_ARGUMENT`. Calling it
/// again replaces the limits.
#[no_mangle]
pub extern "C" fn pw_options_quota(
    opts: *mut pw_options,
    requests: u64,
    tokens: u64,
    window_ms: u64,
) -> pw_status {
    with_options(opts, |o| {
        let limits = QuotaLimits {
            requests: (requests > 0).then_some(requests),
            tokens: (tokens > 0).then_some(tokens),
            window: Duration::from_millis(window_ms),
        };
        // Checked here, where the caller can tell which call was wrong.
        if let Err(e) = promptwall::quota::InMemoryQuota::new(limits) {
            return fail(pw_status::InvalidArgument, e.message());
        }
        o.quota = Some(limits);
        pw_status::Ok
    })
}

/// Builds a firewall from options. The options are not changed: free them with
/// `pw_options_free` when no more firewalls are to be built from them.
///
/// Errors are those of `pw_firewall_new_from_files`. On success, `*out` receives a firewall
/// to release with `pw_firewall_free`.
#[no_mangle]
pub extern "C" fn pw_firewall_new_with_options(
    opts: *const pw_options,
    out: *mut *mut pw_firewall,
) -> pw_status {
    boundary(pw_status::Panic, || {
        // SAFETY: the caller promises NULL or live options.
        let Some(opts) = (unsafe { opts.as_ref() }) else {
            return null("opts");
        };
        if out.is_null() {
            return null("out");
        }
        let build = || -> Result<Firewall, Error> {
            let mut b = opts.builder.clone();
            if let Some(limits) = opts.quota {
                b = b.quota(limits)?;
            }
            b.build()
        };
        match build() {
            Ok(fw) => {
                // SAFETY: checked not NULL; the caller promises it is writable.
                unsafe { write(out, boxed_firewall(fw)) };
                pw_status::Ok
            }
            Err(e) => build_error(&e),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Scanning.

fn scan_with(
    fw: *const pw_firewall,
    text: *const u8,
    len: usize,
    out: *mut *mut pw_verdict,
    scan: fn(&Firewall, &str) -> Verdict,
) -> pw_status {
    boundary(pw_status::Panic, || {
        if fw.is_null() {
            return null("fw");
        }
        if out.is_null() {
            return null("out");
        }
        // SAFETY: the caller promises `len` readable bytes at `text`.
        let text = match unsafe { text_arg(text, len, "text") } {
            Ok(t) => t,
            Err(s) => return s,
        };
        // SAFETY: not NULL, and the caller promises a live firewall; scans take `&self`.
        let fw = unsafe { &(*fw).fw };
        let verdict = Box::new(pw_verdict {
            verdict: scan(fw, text),
            texts: OnceLock::new(),
            json: OnceLock::new(),
        });
        // SAFETY: checked not NULL; the caller promises it is writable.
        unsafe { write(out, Box::into_raw(verdict)) };
        pw_status::Ok
    })
}

/// Scans a prompt (text going to the model): `len` bytes of UTF-8 at `text`, which need not
/// be NUL-terminated and may be NULL when `len` is 0.
///
/// On success, `*out` receives a verdict to release with `pw_verdict_free`. Safe to call
/// from many threads at once with the same firewall.
#[no_mangle]
pub extern "C" fn pw_firewall_scan(
    fw: *const pw_firewall,
    text: *const u8,
    len: usize,
    out: *mut *mut pw_verdict,
) -> pw_status {
    scan_with(fw, text, len, out, Firewall::scan)
}

/// Scans a response (text coming back from the model); otherwise as `pw_firewall_scan`.
#[no_mangle]
pub extern "C" fn pw_firewall_scan_response(
    fw: *const pw_firewall,
    text: *const u8,
    len: usize,
    out: *mut *mut pw_verdict,
) -> pw_status {
    scan_with(fw, text, len, out, Firewall::scan_response)
}

/// Layout of the strings returned by `pw_firewall_redact`: the length, then the bytes,
/// then a NUL. The caller gets a pointer to the bytes.
const LEN_PREFIX: usize = std::mem::size_of::<usize>();

fn owned_string(s: String) -> *mut c_char {
    let mut buf = Vec::with_capacity(LEN_PREFIX + s.len() + 1);
    buf.extend_from_slice(&s.len().to_ne_bytes());
    buf.extend_from_slice(s.as_bytes());
    buf.push(0);
    let raw = Box::into_raw(buf.into_boxed_slice()).cast::<u8>();
    // SAFETY: the allocation is LEN_PREFIX + len + 1 bytes long.
    unsafe { raw.add(LEN_PREFIX) }.cast()
}

/// Redacts a text: every secret and personal-data span is replaced by
/// `[REDACTED:<rule-id>]`. The whole text is scanned, whatever the policy's `max_bytes`.
///
/// On success, `*out` receives a NUL-terminated string to release with `pw_string_free`,
/// and `*out_len` (when `out_len` is not NULL) its length in bytes without the NUL; the
/// length counts any NUL bytes that the text held.
#[no_mangle]
pub extern "C" fn pw_firewall_redact(
    fw: *const pw_firewall,
    text: *const u8,
    len: usize,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> pw_status {
    boundary(pw_status::Panic, || {
        if fw.is_null() {
            return null("fw");
        }
        if out.is_null() {
            return null("out");
        }
        // SAFETY: the caller promises `len` readable bytes at `text`.
        let text = match unsafe { text_arg(text, len, "text") } {
            Ok(t) => t,
            Err(s) => return s,
        };
        // SAFETY: not NULL, and the caller promises a live firewall.
        let fw = unsafe { &(*fw).fw };
        let redacted = fw.redact(text);
        let n = redacted.len();
        // SAFETY: checked not NULL (out) or skipped (out_len); the caller promises both are
        // writable.
        unsafe {
            write(out, owned_string(redacted));
            if !out_len.is_null() {
                write(out_len, n);
            }
        }
        pw_status::Ok
    })
}

/// Counts the tokens of a text exactly as the model's tokenizer does (tiktoken's
/// `encode_ordinary`: special tokens like `<|endoftext|>` in the text count as ordinary text).
///
/// `encoding` is a NUL-terminated name, `"o200k_base"` (GPT-4o and later) or `"cl100k_base"`
/// (GPT-4, GPT-3.5), or NULL for `"o200k_base"`. The first count of an encoding in a process
/// builds its tables (about a second); later counts take microseconds per kilobyte. On success,
/// `*out` receives the count. An unknown encoding is `PW_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn pw_count_tokens(
    encoding: *const c_char,
    text: *const u8,
    len: usize,
    out: *mut usize,
) -> pw_status {
    boundary(pw_status::Panic, || {
        if out.is_null() {
            return null("out");
        }
        let name = if encoding.is_null() {
            "o200k_base".to_string()
        } else {
            // SAFETY: not NULL, and the caller promises a NUL-terminated string.
            unsafe { CStr::from_ptr(encoding) }
                .to_string_lossy()
                .into_owned()
        };
        let Some(enc) = promptwall::tokens::Encoding::from_name(&name) else {
            let known: Vec<&str> = promptwall::tokens::Encoding::ALL
                .iter()
                .map(|e| e.name())
                .collect();
            return fail(
                pw_status::InvalidArgument,
                &format!(
                    "unknown encoding {name:?} (this build has: {})",
                    known.join(", ")
                ),
            );
        };
        // SAFETY: the caller promises `len` readable bytes at `text`.
        let text = match unsafe { text_arg(text, len, "text") } {
            Ok(t) => t,
            Err(s) => return s,
        };
        let n = enc.count(text);
        // SAFETY: checked not NULL; the caller promises it is writable.
        unsafe { write(out, n) };
        pw_status::Ok
    })
}

/// Makes a new canary: a token (`pwcanary` and 24 hex digits) and an instruction line carrying
/// it, to put in a system prompt. From then on, a response holding the token (plain, split,
/// spaced out or encoded) gets a `leak.canary` finding from `pw_firewall_scan_response`.
/// Tokens are keyed hashes (see `pw_options_canary_secret`): the firewall keeps no list.
///
/// On success, `*token` receives the token and `*instruction` (when `instruction` is not
/// NULL) the line; both are NUL-terminated strings to release with `pw_string_free`.
#[no_mangle]
pub extern "C" fn pw_firewall_canary(
    fw: *const pw_firewall,
    token: *mut *mut c_char,
    instruction: *mut *mut c_char,
) -> pw_status {
    boundary(pw_status::Panic, || {
        if fw.is_null() {
            return null("fw");
        }
        if token.is_null() {
            return null("token");
        }
        // SAFETY: not NULL, and the caller promises a live firewall.
        let canary = unsafe { &(*fw).fw }.canary();
        // SAFETY: checked not NULL (token) or skipped (instruction); the caller promises both
        // are writable.
        unsafe {
            write(token, owned_string(canary.token));
            if !instruction.is_null() {
                write(instruction, owned_string(canary.instruction));
            }
        }
        pw_status::Ok
    })
}

/// Compiles now what the firewall otherwise compiles on first use (the built-in rules'
/// regexes, the automaton for non-ASCII text), so that no later scan pays for it: call it
/// once after building, before the firewall serves requests. With the built-in packs it
/// takes about 0.1 s; safe to call from any thread, and again (then it does nothing).
#[no_mangle]
pub extern "C" fn pw_firewall_warm_up(fw: *const pw_firewall) -> pw_status {
    boundary(pw_status::Panic, || {
        if fw.is_null() {
            return null("fw");
        }
        // SAFETY: not NULL, and the caller promises a live firewall.
        unsafe { &(*fw).fw }.warm_up();
        pw_status::Ok
    })
}

/// The firewall's usage counters since it was built, in the Prometheus text format: scans
/// per side and action, findings per category and per rule, tokens counted, quota checks
/// allowed and denied. They never hold scanned text or quota keys.
///
/// On success, `*out` receives a NUL-terminated string to release with `pw_string_free`,
/// and `*out_len` (when `out_len` is not NULL) its length in bytes without the NUL.
#[no_mangle]
pub extern "C" fn pw_firewall_metrics_prometheus(
    fw: *const pw_firewall,
    out: *mut *mut c_char,
    out_len: *mut usize,
) -> pw_status {
    boundary(pw_status::Panic, || {
        if fw.is_null() {
            return null("fw");
        }
        if out.is_null() {
            return null("out");
        }
        // SAFETY: not NULL, and the caller promises a live firewall.
        let text = unsafe { &(*fw).fw }.metrics().to_prometheus();
        let n = text.len();
        // SAFETY: checked not NULL (out) or skipped (out_len); the caller promises both are
        // writable.
        unsafe {
            write(out, owned_string(text));
            if !out_len.is_null() {
                write(out_len, n);
            }
        }
        pw_status::Ok
    })
}

/// Spends `requests` requests and `tokens` tokens of the quota of `key` (`key_len` bytes of
/// UTF-8: a user id, a hash of an API key, ...) if both fit, and says whether they did.
/// Safe to call from many threads at once; two threads cannot both spend a key's last request.
///
/// On success, `*out` receives the decision. A firewall built without `pw_options_quota` is
/// `PW_STATUS_NO_QUOTA`.
#[no_mangle]
pub extern "C" fn pw_firewall_check_quota(
    fw: *const pw_firewall,
    key: *const u8,
    key_len: usize,
    requests: u64,
    tokens: u64,
    out: *mut pw_quota_decision,
) -> pw_status {
    boundary(pw_status::Panic, || {
        if fw.is_null() {
            return null("fw");
        }
        if out.is_null() {
            return null("out");
        }
        // SAFETY: the caller promises `key_len` readable bytes at `key`.
        let key = match unsafe { text_arg(key, key_len, "key") } {
            Ok(k) => k,
            Err(s) => return s,
        };
        // SAFETY: not NULL, and the caller promises a live firewall.
        let fw = unsafe { &(*fw).fw };
        let Some(d) = fw.check_quota(key, requests, tokens) else {
            return fail(
                pw_status::NoQuota,
                "the firewall was built without a quota (pw_options_quota)",
            );
        };
        let decision = pw_quota_decision {
            allowed: d.allowed,
            retry_after_ms: u64::try_from(d.retry_after.as_nanos().div_ceil(1_000_000))
                .unwrap_or(u64::MAX),
            remaining_requests: d.remaining_requests.unwrap_or(PW_QUOTA_UNLIMITED),
            remaining_tokens: d.remaining_tokens.unwrap_or(PW_QUOTA_UNLIMITED),
        };
        // SAFETY: checked not NULL; the caller promises it is writable.
        unsafe { write(out, decision) };
        pw_status::Ok
    })
}

/// Releases a string returned by `pw_firewall_redact`, `pw_firewall_canary` or
/// `pw_firewall_metrics_prometheus`. NULL does nothing.
#[no_mangle]
pub extern "C" fn pw_string_free(s: *mut c_char) {
    boundary((), || {
        if s.is_null() {
            return;
        }
        // SAFETY: `s` came from `owned_string`: the length sits LEN_PREFIX bytes before it,
        // and the whole allocation is a boxed slice of LEN_PREFIX + len + 1 bytes.
        unsafe {
            let start = s.cast::<u8>().sub(LEN_PREFIX);
            let len = usize::from_ne_bytes(start.cast::<[u8; LEN_PREFIX]>().read());
            let slice = std::ptr::slice_from_raw_parts_mut(start, LEN_PREFIX + len + 1);
            drop(Box::from_raw(slice));
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Verdicts.

/// # Safety
/// `v` is NULL or a live verdict.
unsafe fn verdict_ref<'a>(v: *const pw_verdict) -> Option<&'a pw_verdict> {
    // SAFETY: the caller's promise.
    unsafe { v.as_ref() }
}

/// The action of a verdict. A NULL verdict gives `PW_ACTION_BLOCK`: fail closed.
#[no_mangle]
pub extern "C" fn pw_verdict_action(v: *const pw_verdict) -> pw_action {
    boundary(pw_action::Block, || {
        // SAFETY: the caller promises NULL or a live verdict.
        match unsafe { verdict_ref(v) } {
            Some(v) => v.verdict.action.into(),
            None => {
                null("v");
                pw_action::Block
            }
        }
    })
}

/// The score of a verdict: the highest category score, from 0 to 1. A NULL verdict gives
/// 1.0: fail closed.
#[no_mangle]
pub extern "C" fn pw_verdict_score(v: *const pw_verdict) -> f64 {
    boundary(1.0, || {
        // SAFETY: the caller promises NULL or a live verdict.
        match unsafe { verdict_ref(v) } {
            Some(v) => v.verdict.score,
            None => {
                null("v");
                1.0
            }
        }
    })
}

/// The score of one category (`"injection"`, `"secret"`, `"pii"`, `"abuse"`,
/// `"exfiltration"`, `"leak"`), from 0 to 1. An unknown name is `PW_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn pw_verdict_category_score(
    v: *const pw_verdict,
    category: *const c_char,
    out: *mut f64,
) -> pw_status {
    boundary(pw_status::Panic, || {
        // SAFETY: the caller promises NULL or a live verdict.
        let Some(v) = (unsafe { verdict_ref(v) }) else {
            return null("v");
        };
        if category.is_null() {
            return null("category");
        }
        if out.is_null() {
            return null("out");
        }
        // SAFETY: not NULL, and the caller promises a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(category) };
        let Some(c) = name.to_str().ok().and_then(Category::from_name) else {
            return fail(
                pw_status::InvalidArgument,
                "unknown category; expected injection, secret, pii, abuse, exfiltration or leak",
            );
        };
        // SAFETY: checked not NULL; the caller promises it is writable.
        unsafe { write(out, v.verdict.categories.get(c)) };
        pw_status::Ok
    })
}

/// The number of findings of a verdict (at most the policy's `max_findings`, strongest
/// first). A NULL verdict gives 0.
#[no_mangle]
pub extern "C" fn pw_verdict_findings_len(v: *const pw_verdict) -> usize {
    boundary(0, || {
        // SAFETY: the caller promises NULL or a live verdict.
        match unsafe { verdict_ref(v) } {
            Some(v) => v.verdict.findings.len(),
            None => {
                null("v");
                0
            }
        }
    })
}

fn nul_terminated(s: &str) -> Box<[u8]> {
    let mut b = Vec::with_capacity(s.len() + 1);
    b.extend_from_slice(s.as_bytes());
    b.push(0);
    b.into_boxed_slice()
}

fn category_cstr(c: Category) -> &'static CStr {
    match c {
        Category::Injection => c"injection",
        Category::Secret => c"secret",
        Category::Pii => c"pii",
        Category::Abuse => c"abuse",
        Category::Exfiltration => c"exfiltration",
        Category::Leak => c"leak",
    }
}

fn severity_cstr(s: Severity) -> &'static CStr {
    match s {
        Severity::Low => c"low",
        Severity::Medium => c"medium",
        Severity::High => c"high",
        Severity::Critical => c"critical",
    }
}

fn finding_text(f: &Finding) -> FindingText {
    FindingText {
        rule: nul_terminated(&f.rule),
        view: nul_terminated(&f.view),
        excerpt: nul_terminated(&f.excerpt),
    }
}

/// Fills `*out` with finding `i` of a verdict (0 ≤ `i` < `pw_verdict_findings_len(v)`);
/// a larger `i` is `PW_STATUS_OUT_OF_RANGE`. The strings stay valid until `pw_verdict_free`.
#[no_mangle]
pub extern "C" fn pw_verdict_finding(
    v: *const pw_verdict,
    i: usize,
    out: *mut pw_finding,
) -> pw_status {
    boundary(pw_status::Panic, || {
        // SAFETY: the caller promises NULL or a live verdict.
        let Some(v) = (unsafe { verdict_ref(v) }) else {
            return null("v");
        };
        if out.is_null() {
            return null("out");
        }
        let findings = &v.verdict.findings;
        let Some(f) = findings.get(i) else {
            return fail(
                pw_status::OutOfRange,
                &format!(
                    "finding index {i} is out of range (the verdict has {})",
                    findings.len()
                ),
            );
        };
        let texts = v
            .texts
            .get_or_init(|| findings.iter().map(finding_text).collect());
        let Some(t) = texts.get(i) else {
            return fail(pw_status::OutOfRange, "finding index is out of range");
        };
        let finding = pw_finding {
            rule: t.rule.as_ptr().cast(),
            category: category_cstr(f.category).as_ptr(),
            severity: severity_cstr(f.severity).as_ptr(),
            view: t.view.as_ptr().cast(),
            excerpt: t.excerpt.as_ptr().cast(),
            excerpt_len: t.excerpt.len() - 1,
            score: f.score,
            start: f.start,
            end: f.end,
        };
        // SAFETY: checked not NULL; the caller promises it is writable.
        unsafe { write(out, finding) };
        pw_status::Ok
    })
}

/// The verdict as one line of JSON (the contract shared with the CLI and Python):
/// `*out` receives a NUL-terminated string owned by the verdict, valid until
/// `pw_verdict_free`, and `*len` (when `len` is not NULL) its length without the NUL.
#[no_mangle]
pub extern "C" fn pw_verdict_json(
    v: *const pw_verdict,
    out: *mut *const c_char,
    len: *mut usize,
) -> pw_status {
    boundary(pw_status::Panic, || {
        // SAFETY: the caller promises NULL or a live verdict.
        let Some(v) = (unsafe { verdict_ref(v) }) else {
            return null("v");
        };
        if out.is_null() {
            return null("out");
        }
        let json = v.json.get_or_init(|| nul_terminated(&v.verdict.to_json()));
        // SAFETY: checked not NULL (out) or skipped (len); the caller promises both are
        // writable.
        unsafe {
            write(out, json.as_ptr().cast());
            if !len.is_null() {
                write(len, json.len() - 1);
            }
        }
        pw_status::Ok
    })
}

/// Releases a verdict and every string it handed out. NULL does nothing.
#[no_mangle]
pub extern "C" fn pw_verdict_free(v: *mut pw_verdict) {
    boundary((), || {
        if !v.is_null() {
            // SAFETY: made by Box::into_raw in `scan_with`, freed once.
            drop(unsafe { Box::from_raw(v) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        // SAFETY: pw_last_error_message returns a NUL-terminated string.
        unsafe { CStr::from_ptr(pw_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_is_a_status_with_a_message_that_holds_no_payload() {
        let secret = "AKIAZ7VQ2MHP4XK3JD5N";
        let status = boundary(pw_status::Panic, || -> pw_status {
            panic!("boom {secret}");
        });
        assert_eq!(status, pw_status::Panic);
        let msg = last_error();
        assert!(msg.contains("panicked"), "{msg}");
        assert!(!msg.contains(secret), "{msg}");
        assert_eq!(IN_BOUNDARY.with(Cell::get), 0);
    }

    #[test]
    fn status_strings_cover_every_status() {
        let all = [
            pw_status::Ok,
            pw_status::NullParameter,
            pw_status::InvalidUtf8,
            pw_status::InvalidArgument,
            pw_status::OutOfRange,
            pw_status::RuleError,
            pw_status::PolicyError,
            pw_status::IoError,
            pw_status::BuildError,
            pw_status::Panic,
            pw_status::NoQuota,
        ];
        let mut seen = std::collections::HashSet::new();
        for s in all {
            // SAFETY: static NUL-terminated strings.
            let text = unsafe { CStr::from_ptr(pw_status_str(s as u32)) };
            assert_ne!(text.to_bytes(), b"unknown status", "{s:?}");
            assert!(seen.insert(text.to_bytes().to_vec()), "{s:?} repeats");
        }
        // SAFETY: static NUL-terminated string.
        let unknown = unsafe { CStr::from_ptr(pw_status_str(1000)) };
        assert_eq!(unknown.to_bytes(), b"unknown status");
    }

    #[test]
    fn action_names_match_the_engine() {
        for a in [Action::Allow, Action::Flag, Action::Redact, Action::Block] {
            let code = pw_action::from(a) as u32;
            // SAFETY: static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(pw_action_str(code)) };
            assert_eq!(name.to_str().ok(), Some(a.as_str()));
        }
    }

    #[test]
    fn redacted_strings_round_trip_through_the_length_prefix() {
        for s in ["", "a", "with\0nul", &"x".repeat(1000)] {
            let p = owned_string(s.to_string());
            // SAFETY: owned_string returns len bytes followed by a NUL.
            let back = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), s.len() + 1) };
            assert_eq!(&back[..s.len()], s.as_bytes());
            assert_eq!(back[s.len()], 0);
            pw_string_free(p);
        }
    }

    #[test]
    fn firewalls_built_from_the_same_options_have_quotas_of_their_own() {
        let mut opts = std::ptr::null_mut();
        assert_eq!(pw_options_new(&mut opts), pw_status::Ok);
        assert_eq!(pw_options_quota(opts, 1, 0, 60_000), pw_status::Ok);
        let (mut a, mut b) = (std::ptr::null_mut(), std::ptr::null_mut());
        assert_eq!(pw_firewall_new_with_options(opts, &mut a), pw_status::Ok);
        assert_eq!(pw_firewall_new_with_options(opts, &mut b), pw_status::Ok);
        pw_options_free(opts);
        let key = b"user-1";
        let mut d = pw_quota_decision {
            allowed: false,
            retry_after_ms: 0,
            remaining_requests: 0,
            remaining_tokens: 0,
        };
        for fw in [a, b] {
            let s = pw_firewall_check_quota(fw, key.as_ptr(), key.len(), 1, 0, &mut d);
            assert_eq!(s, pw_status::Ok);
            assert!(d.allowed);
            assert_eq!(
                (d.remaining_requests, d.remaining_tokens),
                (0, PW_QUOTA_UNLIMITED)
            );
        }
        let s = pw_firewall_check_quota(a, key.as_ptr(), key.len(), 1, 0, &mut d);
        assert_eq!(s, pw_status::Ok);
        assert!(!d.allowed);
        // One request per minute: the next fits in a minute, rounded up to whole ms.
        assert!(
            d.retry_after_ms > 59_000 && d.retry_after_ms <= 60_000,
            "{d:?}"
        );
        pw_firewall_free(a);
        pw_firewall_free(b);
    }

    #[test]
    fn handles_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<pw_firewall>();
        check::<pw_verdict>();
        check::<pw_options>();
    }
}

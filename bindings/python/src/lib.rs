//! The `promptwall._promptwall` extension module: a thin pyo3 layer over the engine crate.
//!
//! Every scan runs with the GIL released (`py.detach`), on a `&str` borrowed from the Python
//! string (no copy). Verdicts keep the engine's `Verdict` and convert fields to Python objects
//! only when they are read. Offsets handed to Python are string indices (code points); the
//! byte offsets of the engine stay available as `byte_start`/`byte_end`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use promptwall as pw;
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple, PyType};

/// Texts a batch worker claims at a time: small enough to balance uneven texts, large enough
/// that the shared counter is not contended.
const BATCH_CHUNK: usize = 8;

/// Most threads one `scan_batch` call starts.
const MAX_BATCH_THREADS: usize = 256;

/// Version of the pickled state of a `Firewall`: 2 added protected texts, canaries and the
/// quota's limits. States of version 1 are still read.
const STATE_VERSION: u32 = 2;

static RULE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static QUOTA: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static QUOTA_DECISION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CANARY: PyOnceLock<Py<PyType>> = PyOnceLock::new();

// The default of `protect_min_words` is written out in the signatures (for the stubs).
const _: () = assert!(pw::DEFAULT_MIN_WORDS == 8);

/// Converts an engine error: `RuleError` for rule packs and policies, `OSError` for files.
fn engine_error(py: Python<'_>, e: &pw::Error) -> PyErr {
    let kind = match e.kind() {
        // The message names the file; `OSError.filename` would need an errno to print well.
        pw::ErrorKind::Io => return PyOSError::new_err(e.to_string()),
        pw::ErrorKind::Policy => "policy",
        _ => "rule",
    };
    let make = || -> PyResult<PyErr> {
        let cls = RULE_ERROR.import(py, "promptwall._errors", "RuleError")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("kind", kind)?;
        kwargs.set_item("file", e.file())?;
        kwargs.set_item("line", e.line())?;
        kwargs.set_item("rule", e.rule_id())?;
        kwargs.set_item("message", e.message())?;
        let inst = cls.call((e.to_string(),), Some(&kwargs))?;
        Ok(PyErr::from_value(inst))
    };
    make().unwrap_or_else(|err| err)
}

/// Fails with the usual `OSError` subclass (`FileNotFoundError`, `PermissionError`, ...) when a
/// path cannot be read, before the engine turns that into a less specific error.
fn check_path(path: &Path) -> PyResult<()> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(()),
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(0);
            // `OSError(errno, strerror, filename)` picks the subclass from errno; the
            // strerror should not repeat it.
            let msg = e.to_string();
            let msg = msg
                .strip_suffix(&format!(" (os error {errno})"))
                .unwrap_or(&msg)
                .to_string();
            Err(PyOSError::new_err((errno, msg, path.display().to_string())))
        }
    }
}

/// One path, or an iterable of paths.
fn paths_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<PathBuf>> {
    let Some(obj) = obj else {
        return Ok(Vec::new());
    };
    if let Ok(p) = obj.extract::<PathBuf>() {
        return Ok(vec![p]);
    }
    let mut out = Vec::new();
    for (i, item) in obj
        .try_iter()
        .map_err(|_| PyTypeError::new_err("rules must be a path or an iterable of paths"))?
        .enumerate()
    {
        let item = item?;
        out.push(item.extract::<PathBuf>().map_err(|_| {
            PyTypeError::new_err(format!(
                "rules[{i}] must be a str or os.PathLike, not {}",
                type_name(&item)
            ))
        })?);
    }
    Ok(out)
}

/// One str, or an iterable of them; `name` is the argument's name, for errors.
fn texts_arg(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Vec<String>> {
    let Some(obj) = obj else {
        return Ok(Vec::new());
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(vec![s.to_str()?.to_owned()]);
    }
    let mut out = Vec::new();
    for (i, item) in obj
        .try_iter()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a str or an iterable of str")))?
        .enumerate()
    {
        let item = item?;
        let s = item.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{name}[{i}] must be a str, not {}",
                type_name(&item)
            ))
        })?;
        out.push(s.to_str()?.to_owned());
    }
    Ok(out)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// What a firewall was built with besides its packs and policy: kept as given, so that a
/// pickle can carry it (the engine keeps only what it compiled from it).
#[derive(Clone, Debug, PartialEq)]
struct Options {
    protect: Vec<String>,
    protect_min_words: usize,
    canary_secret: Option<Vec<u8>>,
    canary_tokens: Vec<String>,
    quota: Option<pw::quota::QuotaLimits>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            protect: Vec::new(),
            protect_min_words: pw::DEFAULT_MIN_WORDS,
            canary_secret: None,
            canary_tokens: Vec::new(),
            quota: None,
        }
    }
}

impl Options {
    /// Reads the keyword arguments shared by the constructors.
    fn from_args(
        protect: Option<&Bound<'_, PyAny>>,
        protect_min_words: usize,
        canary_secret: Option<&Bound<'_, PyAny>>,
        canary_tokens: Option<&Bound<'_, PyAny>>,
        quota: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Options> {
        let canary_secret = match canary_secret {
            None => None,
            Some(s) => {
                if let Ok(s) = s.cast::<PyString>() {
                    Some(s.to_str()?.as_bytes().to_vec())
                } else if let Ok(b) = s.cast::<PyBytes>() {
                    Some(b.as_bytes().to_vec())
                } else {
                    return Err(PyTypeError::new_err(format!(
                        "canary_secret must be a str or bytes, not {}",
                        type_name(s)
                    )));
                }
            }
        };
        let quota = match quota {
            None => None,
            Some(q) => Some(quota_limits(q)?),
        };
        Ok(Options {
            protect: texts_arg(protect, "protect")?,
            protect_min_words,
            canary_secret,
            canary_tokens: texts_arg(canary_tokens, "canary_tokens")?,
            quota,
        })
    }

    /// Adds the options to a builder.
    fn apply(&self, mut b: pw::FirewallBuilder) -> Result<pw::FirewallBuilder, pw::Error> {
        for t in &self.protect {
            b = b.protect(t.as_str());
        }
        b = b.protect_min_words(self.protect_min_words);
        if let Some(s) = &self.canary_secret {
            b = b.canary_secret(s);
        }
        for t in &self.canary_tokens {
            b = b.canary_token(t.as_str());
        }
        if let Some(limits) = self.quota {
            b = b.quota(limits)?;
        }
        Ok(b)
    }

    /// Adds the options to a pickled state.
    fn save(&self, state: &Bound<'_, PyDict>) -> PyResult<()> {
        let py = state.py();
        state.set_item("protect", &self.protect)?;
        state.set_item("protect_min_words", self.protect_min_words)?;
        state.set_item(
            "canary_secret",
            self.canary_secret.as_deref().map(|s| PyBytes::new(py, s)),
        )?;
        state.set_item("canary_tokens", &self.canary_tokens)?;
        // The window in nanoseconds: exact, where float seconds might not be.
        let quota = self
            .quota
            .map(|q| (q.requests, q.tokens, q.window.as_nanos()));
        state.set_item("quota", quota)?;
        Ok(())
    }

    /// Reads the options of a pickled state (none in a state of version 1).
    fn load(state: &Bound<'_, PyDict>) -> PyResult<Options> {
        let mut o = Options::default();
        if let Some(v) = state.get_item("protect")? {
            o.protect = v.extract()?;
        }
        if let Some(v) = state.get_item("protect_min_words")? {
            o.protect_min_words = v.extract()?;
        }
        if let Some(v) = state.get_item("canary_secret")? {
            o.canary_secret = v.extract()?;
        }
        if let Some(v) = state.get_item("canary_tokens")? {
            o.canary_tokens = v.extract()?;
        }
        if let Some(v) = state.get_item("quota")? {
            let q: Option<(Option<u64>, Option<u64>, u128)> = v.extract()?;
            o.quota =
                match q {
                    None => None,
                    Some((requests, tokens, nanos)) => Some(pw::quota::QuotaLimits {
                        requests,
                        tokens,
                        window: Duration::from_nanos(u64::try_from(nanos).map_err(|_| {
                            PyValueError::new_err("bad Firewall state: quota window")
                        })?),
                    }),
                };
        }
        Ok(o)
    }
}

/// The limits of a `promptwall.Quota` (which checked its values when made).
fn quota_limits(q: &Bound<'_, PyAny>) -> PyResult<pw::quota::QuotaLimits> {
    let py = q.py();
    let cls = QUOTA.import(py, "promptwall._types", "Quota")?;
    if !q.is_instance(cls)? {
        return Err(PyTypeError::new_err(format!(
            "quota must be a promptwall.Quota, not {}",
            type_name(q)
        )));
    }
    let window: f64 = q.getattr("window")?.extract()?;
    let window = Duration::try_from_secs_f64(window).map_err(|_| {
        PyValueError::new_err(format!(
            "quota window must be a positive number of seconds, not {window}"
        ))
    })?;
    Ok(pw::quota::QuotaLimits {
        requests: q.getattr("requests")?.extract()?,
        tokens: q.getattr("tokens")?.extract()?,
        window,
    })
}

/// A prompt firewall: compiled rules and a policy, shared by any number of threads.
#[pyclass(frozen, module = "promptwall", name = "Firewall")]
struct Firewall {
    fw: pw::Firewall,
    opts: Options,
}

impl Firewall {
    fn build(py: Python<'_>, builder: pw::FirewallBuilder, opts: Options) -> PyResult<Firewall> {
        match py.detach(|| opts.apply(builder)?.build()) {
            Ok(fw) => Ok(Firewall { fw, opts }),
            Err(e) => Err(engine_error(py, &e)),
        }
    }

    fn scan_one(&self, text: &str, response: bool) -> Verdict {
        let v = if response {
            self.fw.scan_response(text)
        } else {
            self.fw.scan(text)
        };
        Verdict::new(v, text)
    }
}

#[pymethods]
impl Firewall {
    /// A firewall with the built-in rules and the default policy.
    #[new]
    #[pyo3(signature = (
        *, protect = None, protect_min_words = 8, canary_secret = None, canary_tokens = None,
        quota = None
    ))]
    fn new(
        py: Python<'_>,
        protect: Option<&Bound<'_, PyAny>>,
        protect_min_words: usize,
        canary_secret: Option<&Bound<'_, PyAny>>,
        canary_tokens: Option<&Bound<'_, PyAny>>,
        quota: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let opts = Options::from_args(
            protect,
            protect_min_words,
            canary_secret,
            canary_tokens,
            quota,
        )?;
        Firewall::build(py, pw::Firewall::builder(), opts)
    }

    /// A firewall from rule-pack files or folders and a policy file.
    #[classmethod]
    #[pyo3(signature = (
        rules = None, policy = None, *, default_rules = true, protect = None,
        protect_min_words = 8, canary_secret = None, canary_tokens = None, quota = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn from_files(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        rules: Option<&Bound<'_, PyAny>>,
        policy: Option<PathBuf>,
        default_rules: bool,
        protect: Option<&Bound<'_, PyAny>>,
        protect_min_words: usize,
        canary_secret: Option<&Bound<'_, PyAny>>,
        canary_tokens: Option<&Bound<'_, PyAny>>,
        quota: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let opts = Options::from_args(
            protect,
            protect_min_words,
            canary_secret,
            canary_tokens,
            quota,
        )?;
        let mut b = pw::Firewall::builder().default_rules(default_rules);
        for p in paths_arg(rules)? {
            check_path(&p)?;
            b = b.rules_path(p);
        }
        if let Some(p) = policy {
            check_path(&p)?;
            b = b.policy_file(p);
        }
        Firewall::build(py, b, opts)
    }

    /// A firewall from rule packs and a policy given as TOML text.
    #[classmethod]
    #[pyo3(signature = (
        rules = None, policy = None, *, default_rules = true, protect = None,
        protect_min_words = 8, canary_secret = None, canary_tokens = None, quota = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn from_toml(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        rules: Option<&Bound<'_, PyAny>>,
        policy: Option<&str>,
        default_rules: bool,
        protect: Option<&Bound<'_, PyAny>>,
        protect_min_words: usize,
        canary_secret: Option<&Bound<'_, PyAny>>,
        canary_tokens: Option<&Bound<'_, PyAny>>,
        quota: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let opts = Options::from_args(
            protect,
            protect_min_words,
            canary_secret,
            canary_tokens,
            quota,
        )?;
        let packs: Vec<(String, String)> = texts_arg(rules, "rules")?
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("rules[{i}]"), t))
            .collect();
        let policy = policy.map(|p| ("policy".to_string(), p.to_string()));
        Firewall::from_parts(py, default_rules, packs, policy, opts)
    }

    /// Rebuilds a pickled firewall (see `__reduce__`).
    #[classmethod]
    fn _from_state(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        state: &Bound<'_, PyDict>,
    ) -> PyResult<Self> {
        let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
            state
                .get_item(k)?
                .ok_or_else(|| PyValueError::new_err(format!("Firewall state lacks `{k}`")))
        };
        let version: u32 = get("version")?.extract()?;
        if !(1..=STATE_VERSION).contains(&version) {
            return Err(PyValueError::new_err(format!(
                "Firewall state version {version} is not supported (expected {STATE_VERSION})"
            )));
        }
        let default_rules: bool = get("default_rules")?.extract()?;
        let packs: Vec<(String, String)> = get("packs")?.extract()?;
        let policy: Option<(String, String)> = get("policy")?.extract()?;
        let opts = Options::load(state)?;
        Firewall::from_parts(py, default_rules, packs, policy, opts)
    }

    /// Pickles as the built-in flag, the other packs' TOML, the policy's TOML and the options
    /// as given (protected texts, canary secret and tokens, quota limits); the firewall is
    /// compiled again when unpickled, with fresh metrics and a fresh quota.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyDict>,))> {
        let py = slf.py();
        let fw = &slf.get().fw;
        let state = PyDict::new(py);
        state.set_item("version", STATE_VERSION)?;
        state.set_item("default_rules", fw.has_default_rules())?;
        let packs: Vec<(&str, &str)> = user_packs(fw).map(|p| (&*p.source, &*p.text)).collect();
        state.set_item("packs", packs)?;
        let policy = fw.policy().text.as_deref().map(|t| ("policy", t));
        state.set_item("policy", policy)?;
        slf.get().opts.save(&state)?;
        Ok((slf.get_type().getattr("_from_state")?, (state,)))
    }

    /// A firewall is immutable: copies are the firewall itself.
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }

    /// Scans a prompt: text going to the model.
    fn scan(&self, py: Python<'_>, text: &str) -> Verdict {
        py.detach(|| self.scan_one(text, false))
    }

    /// Scans a response: text coming back from the model.
    fn scan_response(&self, py: Python<'_>, text: &str) -> Verdict {
        py.detach(|| self.scan_one(text, true))
    }

    /// Scans many texts on `threads` threads (default: one per CPU), in order. At most one
    /// thread per 8 texts and 256 in all are started.
    #[pyo3(signature = (texts, threads = None, *, response = false))]
    fn scan_batch(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
        threads: Option<i64>,
        response: bool,
    ) -> PyResult<Vec<Verdict>> {
        let threads = match threads {
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
            Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
            Some(n) => {
                return Err(PyValueError::new_err(format!(
                    "threads must be 1 or more, not {n}"
                )))
            }
        };
        if texts.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "texts must be an iterable of str, not a single str (use scan)",
            ));
        }
        let mut held: Vec<Bound<'_, PyString>> = Vec::new();
        for (i, item) in texts.try_iter()?.enumerate() {
            let item = item?;
            let s = item.cast_into::<PyString>().map_err(|e| {
                PyTypeError::new_err(format!(
                    "texts[{i}] must be a str, not {}",
                    type_name(e.into_inner().as_any())
                ))
            })?;
            held.push(s);
        }
        let strs: Vec<&str> = held.iter().map(|s| s.to_str()).collect::<PyResult<_>>()?;
        Ok(py.detach(|| self.batch(&strs, threads, response)))
    }

    /// `text` with every secret and personal-data span replaced by `[REDACTED:<rule-id>]`.
    fn redact(&self, py: Python<'_>, text: &str) -> String {
        py.detach(|| self.fw.redact(text))
    }

    /// A new canary token and an instruction line carrying it, to put in a system prompt;
    /// responses holding the token get a `leak.canary` finding.
    fn canary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.fw.canary();
        CANARY
            .import(py, "promptwall._types", "Canary")?
            .call1((c.token, c.instruction))
    }

    /// Spends `requests` requests and `tokens` tokens of `key`'s quota if both fit; `None`
    /// when the firewall has no quota.
    #[pyo3(signature = (key, requests = 1, tokens = 0))]
    fn check_quota<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        requests: u64,
        tokens: u64,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        // A few hundred nanoseconds under a sharded lock: not worth releasing the GIL for.
        let Some(d) = self.fw.check_quota(key, requests, tokens) else {
            return Ok(None);
        };
        let cls = QUOTA_DECISION.import(py, "promptwall._types", "QuotaDecision")?;
        let args = (
            d.allowed,
            d.retry_after.as_secs_f64(),
            d.remaining_requests,
            d.remaining_tokens,
        );
        cls.call1(args).map(Some)
    }

    /// The usage counters since the firewall was built, as a dict.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = self.fw.metrics();
        let d = PyDict::new(py);
        let scans = PyDict::new(py);
        for (side, action, n) in &m.scans {
            let side = match side {
                pw::Side::Prompt => "prompt",
                pw::Side::Response => "response",
                pw::Side::Both => "both",
            };
            let per_side = match scans.get_item(side)? {
                Some(p) => p.cast_into::<PyDict>()?,
                None => {
                    let p = PyDict::new(py);
                    scans.set_item(side, &p)?;
                    p
                }
            };
            per_side.set_item(action.as_str(), n)?;
        }
        d.set_item("scans", scans)?;
        let by_category = PyDict::new(py);
        for (c, n) in &m.findings_by_category {
            by_category.set_item(c.as_str(), n)?;
        }
        d.set_item("findings_by_category", by_category)?;
        let by_rule = PyDict::new(py);
        for (r, n) in &m.findings_by_rule {
            by_rule.set_item(r, n)?;
        }
        d.set_item("findings_by_rule", by_rule)?;
        d.set_item("tokens_counted", m.tokens_counted)?;
        d.set_item("quota_allowed", m.quota_allowed)?;
        d.set_item("quota_denied", m.quota_denied)?;
        Ok(d)
    }

    /// Compiles now what the firewall otherwise compiles on first use (the built-in rules'
    /// regexes, the automaton for non-ASCII text), with the GIL released.
    fn warm_up(&self, py: Python<'_>) {
        py.detach(|| self.fw.warm_up());
    }

    /// The usage counters in the Prometheus text format.
    fn metrics_prometheus(&self) -> String {
        self.fw.metrics().to_prometheus()
    }

    /// Seconds that `n` engine scans of `text` take with no Python in between: the baseline
    /// that `bench/overhead.py` subtracts, measured in the same process and build.
    fn _engine_scan_seconds(&self, py: Python<'_>, text: &str, n: u32) -> f64 {
        py.detach(|| {
            let t = std::time::Instant::now();
            for _ in 0..n {
                std::hint::black_box(self.fw.scan(std::hint::black_box(text)));
            }
            t.elapsed().as_secs_f64()
        })
    }

    /// The ids of the rules in force.
    #[getter]
    fn rules(&self) -> Vec<&str> {
        self.fw.rules().iter().map(|r| r.id.as_str()).collect()
    }

    /// The sources of the packs it was built from, built-in ones first.
    #[getter]
    fn packs(&self) -> Vec<&str> {
        self.fw.packs().iter().map(|p| &*p.source).collect()
    }

    /// Whether it was built on the built-in rule packs.
    #[getter]
    fn default_rules(&self) -> bool {
        self.fw.has_default_rules()
    }

    fn __repr__(&self) -> String {
        let user: Vec<String> = user_packs(&self.fw)
            .map(|p| format!("'{}'", p.source.escape_debug()))
            .collect();
        format!(
            "Firewall(default_rules={}, packs=[{}], custom_policy={}, rules={})",
            if self.fw.has_default_rules() {
                "True"
            } else {
                "False"
            },
            user.join(", "),
            if self.fw.policy().text.is_some() {
                "True"
            } else {
                "False"
            },
            self.fw.rules().len()
        )
    }
}

impl Firewall {
    fn from_parts(
        py: Python<'_>,
        default_rules: bool,
        packs: Vec<(String, String)>,
        policy: Option<(String, String)>,
        opts: Options,
    ) -> PyResult<Self> {
        let build = || -> Result<pw::Firewall, pw::Error> {
            let mut b = pw::Firewall::builder().default_rules(default_rules);
            for (source, text) in &packs {
                b = b.rule_pack(pw::RulePack::from_toml(text, source)?);
            }
            if let Some((source, text)) = &policy {
                b = b.policy(pw::Policy::from_toml(text, source)?);
            }
            opts.apply(b)?.build()
        };
        match py.detach(build) {
            Ok(fw) => Ok(Firewall { fw, opts }),
            Err(e) => Err(engine_error(py, &e)),
        }
    }

    fn batch(&self, texts: &[&str], threads: usize, response: bool) -> Vec<Verdict> {
        let n = texts.len();
        let threads = threads.min(n.div_ceil(BATCH_CHUNK)).min(MAX_BATCH_THREADS);
        if threads <= 1 {
            return texts.iter().map(|t| self.scan_one(t, response)).collect();
        }
        // Fresh scoped threads per call rather than a global pool: nothing outlives the call,
        // so a process forked afterwards (multiprocessing) inherits no dead pool.
        let next = AtomicUsize::new(0);
        let work = || {
            let mut out = Vec::new();
            loop {
                let start = next.fetch_add(BATCH_CHUNK, Ordering::Relaxed);
                if start >= n {
                    break out;
                }
                for (i, t) in texts
                    .iter()
                    .enumerate()
                    .take(n.min(start + BATCH_CHUNK))
                    .skip(start)
                {
                    out.push((i, self.scan_one(t, response)));
                }
            }
        };
        let parts = std::thread::scope(|s| {
            let work = &work;
            let handles: Vec<_> = (1..threads)
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .name("promptwall-batch".into())
                        .spawn_scoped(s, work)
                        .ok()
                })
                .collect();
            let mut parts = vec![work()];
            for h in handles {
                match h.join() {
                    Ok(p) => parts.push(p),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            parts
        });
        let mut slots: Vec<Option<Verdict>> = (0..n).map(|_| None).collect();
        for (i, v) in parts.into_iter().flatten() {
            slots[i] = Some(v);
        }
        slots.into_iter().flatten().collect()
    }
}

/// The packs that are not built in: what a pickle must carry.
fn user_packs(fw: &pw::Firewall) -> impl Iterator<Item = &pw::RulePack> {
    fw.packs()
        .iter()
        .filter(|p| !p.source.starts_with("builtin:"))
}

/// Character (code point) offsets of each finding's span, or `None` when the text is ASCII
/// and they equal the byte offsets.
fn char_offsets(text: &str, findings: &[pw::Finding]) -> Option<Vec<(usize, usize)>> {
    if findings.is_empty() || text.is_ascii() {
        return None;
    }
    let mut points: Vec<usize> = findings.iter().flat_map(|f| [f.start, f.end]).collect();
    points.sort_unstable();
    points.dedup();
    let bytes = text.as_bytes();
    let mut chars_at = Vec::with_capacity(points.len());
    let (mut pos, mut chars) = (0usize, 0usize);
    for &p in &points {
        let p = p.min(bytes.len());
        // Every byte that is not a UTF-8 continuation byte starts a code point.
        chars += bytes[pos..p]
            .iter()
            .filter(|&&b| (b as i8) >= -0x40)
            .count();
        pos = p;
        chars_at.push(chars);
    }
    let at = |b: usize| chars_at[points.partition_point(|&p| p < b).min(chars_at.len() - 1)];
    Some(findings.iter().map(|f| (at(f.start), at(f.end))).collect())
}

/// The result of a scan.
#[pyclass(frozen, eq, module = "promptwall", name = "Verdict")]
#[derive(PartialEq)]
struct Verdict {
    v: pw::Verdict,
    /// Per finding, its span in code points, when that differs from the bytes.
    chars: Option<Vec<(usize, usize)>>,
}

impl Verdict {
    fn new(v: pw::Verdict, text: &str) -> Verdict {
        let chars = char_offsets(text, &v.findings);
        Verdict { v, chars }
    }

    fn finding(&self, i: usize) -> Finding {
        let f = &self.v.findings[i];
        let (start, end) = match &self.chars {
            Some(c) => c[i],
            None => (f.start, f.end),
        };
        Finding {
            f: f.clone(),
            start,
            end,
        }
    }
}

fn finding_dict<'py>(py: Python<'py>, f: &pw::Finding) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("rule", &*f.rule)?;
    d.set_item("category", f.category.as_str())?;
    d.set_item("severity", f.severity.as_str())?;
    d.set_item("score", f.score)?;
    d.set_item("start", f.start)?;
    d.set_item("end", f.end)?;
    d.set_item("view", &*f.view)?;
    d.set_item("excerpt", &f.excerpt)?;
    Ok(d)
}

#[pymethods]
impl Verdict {
    /// What the policy says to do: "allow", "flag", "redact" or "block".
    #[getter]
    fn action(&self) -> &'static str {
        self.v.action.as_str()
    }

    /// The highest category score, from 0 to 1.
    #[getter]
    fn score(&self) -> f64 {
        self.v.score
    }

    /// The score of each category.
    #[getter]
    fn categories<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for c in pw::Category::ALL {
            d.set_item(c.as_str(), self.v.categories.get(c))?;
        }
        Ok(d)
    }

    /// The token count: exact when `tokens_exact`, otherwise an estimate.
    #[getter]
    fn tokens(&self) -> u64 {
        self.v.tokens
    }

    /// Whether `tokens` was counted exactly.
    #[getter]
    fn tokens_exact(&self) -> bool {
        self.v.tokens_exact
    }

    /// The findings, strongest first.
    #[getter]
    fn findings(&self) -> Vec<Finding> {
        (0..self.v.findings.len())
            .map(|i| self.finding(i))
            .collect()
    }

    /// How many findings the policy's `max_findings` left out.
    #[getter]
    fn findings_omitted(&self) -> usize {
        self.v.findings_omitted
    }

    /// Whether the action is "allow".
    #[getter]
    fn allowed(&self) -> bool {
        self.v.is_allowed()
    }

    /// Whether the action is "block".
    #[getter]
    fn blocked(&self) -> bool {
        self.v.is_blocked()
    }

    /// The verdict as one line of JSON: the contract shared with the CLI and C (byte offsets).
    fn to_json(&self) -> String {
        self.v.to_json()
    }

    /// The verdict as a dict: the same as `json.loads(self.to_json())` (byte offsets).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("action", self.v.action.as_str())?;
        d.set_item("score", self.v.score)?;
        d.set_item("categories", self.categories(py)?)?;
        d.set_item("tokens", self.v.tokens)?;
        d.set_item("tokens_exact", self.v.tokens_exact)?;
        let findings = PyList::empty(py);
        for f in &self.v.findings {
            findings.append(finding_dict(py, f)?)?;
        }
        d.set_item("findings", findings)?;
        if self.v.findings_omitted > 0 {
            d.set_item("findings_omitted", self.v.findings_omitted)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let cats: Vec<String> = pw::Category::ALL
            .iter()
            .filter(|&&c| self.v.categories.get(c) > 0.0)
            .map(|&c| format!("'{}': {:?}", c, self.v.categories.get(c)))
            .collect();
        let rules: Vec<String> = self
            .v
            .findings
            .iter()
            .map(|f| format!("'{}'", f.rule))
            .collect();
        format!(
            "Verdict(action='{}', score={:?}, categories={{{}}}, findings=[{}])",
            self.v.action,
            self.v.score,
            cats.join(", "),
            rules.join(", ")
        )
    }

    #[classmethod]
    fn _from_state(
        _cls: &Bound<'_, PyType>,
        json: &str,
        chars: Option<Vec<(usize, usize)>>,
    ) -> PyResult<Self> {
        let v: pw::Verdict = serde_json::from_str(json)
            .map_err(|e| PyValueError::new_err(format!("bad Verdict state: {e}")))?;
        if chars.as_ref().is_some_and(|c| c.len() != v.findings.len()) {
            return Err(PyValueError::new_err(
                "bad Verdict state: offsets do not match findings",
            ));
        }
        Ok(Verdict { v, chars })
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let me = slf.get();
        let args = PyTuple::new(
            py,
            [
                me.v.to_json().into_pyobject(py)?.into_any(),
                me.chars.clone().into_pyobject(py)?.into_any(),
            ],
        )?;
        Ok((slf.get_type().getattr("_from_state")?, args))
    }

    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }
}

/// One piece of evidence: which rule matched where, and how much it counts.
#[pyclass(frozen, eq, module = "promptwall", name = "Finding")]
#[derive(PartialEq)]
struct Finding {
    f: pw::Finding,
    start: usize,
    end: usize,
}

#[pymethods]
impl Finding {
    /// The rule id.
    #[getter]
    fn rule(&self) -> &str {
        &self.f.rule
    }

    /// The rule's category.
    #[getter]
    fn category(&self) -> &'static str {
        self.f.category.as_str()
    }

    /// The rule's severity: "low", "medium", "high" or "critical".
    #[getter]
    fn severity(&self) -> &'static str {
        self.f.severity.as_str()
    }

    /// Its score, from 0 to 1.
    #[getter]
    fn score(&self) -> f64 {
        self.f.score
    }

    /// Start of the span: an index into the scanned str.
    #[getter]
    fn start(&self) -> usize {
        self.start
    }

    /// End (exclusive) of the span: an index into the scanned str.
    #[getter]
    fn end(&self) -> usize {
        self.end
    }

    /// Start of the span in bytes of the UTF-8 encoded text.
    #[getter]
    fn byte_start(&self) -> usize {
        self.f.start
    }

    /// End (exclusive) of the span in bytes of the UTF-8 encoded text.
    #[getter]
    fn byte_end(&self) -> usize {
        self.f.end
    }

    /// The view it was seen in: "raw", "normalized", ...
    #[getter]
    fn view(&self) -> &str {
        &self.f.view
    }

    /// The matched text, masked for secrets and personal data, shortened when long.
    #[getter]
    fn excerpt(&self) -> &str {
        &self.f.excerpt
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let excerpt = PyString::new(py, &self.f.excerpt).repr()?;
        Ok(format!(
            "Finding(rule='{}', category='{}', severity='{}', score={:?}, start={}, end={}, view='{}', excerpt={})",
            self.f.rule,
            self.f.category,
            self.f.severity.as_str(),
            self.f.score,
            self.start,
            self.end,
            self.f.view,
            excerpt.to_str()?
        ))
    }

    #[classmethod]
    fn _from_state(
        _cls: &Bound<'_, PyType>,
        json: &str,
        start: usize,
        end: usize,
    ) -> PyResult<Self> {
        let f: pw::Finding = serde_json::from_str(json)
            .map_err(|e| PyValueError::new_err(format!("bad Finding state: {e}")))?;
        Ok(Finding { f, start, end })
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (String, usize, usize))> {
        let me = slf.get();
        let json = serde_json::to_string(&me.f)
            .map_err(|e| PyValueError::new_err(format!("cannot pickle Finding: {e}")))?;
        Ok((
            slf.get_type().getattr("_from_state")?,
            (json, me.start, me.end),
        ))
    }

    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }
}

/// The exact number of tokens of `text` for a tokenizer (`"o200k_base"` or `"cl100k_base"`),
/// as tiktoken's `encode_ordinary` counts them: special tokens in the text count as ordinary
/// text. The first call for an encoding builds its tables (about a second); the GIL is
/// released while counting.
#[pyfunction]
#[pyo3(signature = (text, encoding = "o200k_base"))]
fn count_tokens(py: Python<'_>, text: &str, encoding: &str) -> PyResult<usize> {
    let Some(enc) = pw::tokens::Encoding::from_name(encoding) else {
        let known: Vec<&str> = pw::tokens::Encoding::ALL.iter().map(|e| e.name()).collect();
        return Err(PyValueError::new_err(format!(
            "unknown encoding {encoding:?} (this build has: {})",
            known.join(", ")
        )));
    };
    Ok(py.detach(|| enc.count(text)))
}

/// The native part of the `promptwall` package.
// Not declared free-threading ready (`gil_used = false`): the abi3 wheel cannot load on a
// free-threaded interpreter, and no free-threaded build is tested.
#[pymodule(gil_used = true)]
fn _promptwall(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Firewall>()?;
    m.add_class::<Verdict>()?;
    m.add_class::<Finding>()?;
    m.add_function(wrap_pyfunction!(count_tokens, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add(
        "CATEGORIES",
        PyTuple::new(m.py(), pw::Category::ALL.iter().map(|c| c.as_str()))?,
    )?;
    m.add(
        "ACTIONS",
        PyTuple::new(m.py(), ["allow", "flag", "redact", "block"])?,
    )?;
    Ok(())
}

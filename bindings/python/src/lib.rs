//! The `promptwall._promptwall` extension module: a thin pyo3 layer over the engine crate.
//!
//! Every scan runs with the GIL released (`py.detach`), on a `&str` borrowed from the Python
//! string (no copy). Verdicts keep the engine's `Verdict` and convert fields to Python objects
//! only when they are read. Offsets handed to Python are string indices (code points); the
//! byte offsets of the engine stay available as `byte_start`/`byte_end`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use promptwall as pw;
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

/// Texts a batch worker claims at a time: small enough to balance uneven texts, large enough
/// that the shared counter is not contended.
const BATCH_CHUNK: usize = 8;

/// Most threads one `scan_batch` call starts.
const MAX_BATCH_THREADS: usize = 256;

/// Version of the pickled state of a `Firewall`.
const STATE_VERSION: u32 = 1;

static RULE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

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

/// One TOML text, or an iterable of them.
fn texts_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(obj) = obj else {
        return Ok(Vec::new());
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(vec![s.to_str()?.to_owned()]);
    }
    let mut out = Vec::new();
    for (i, item) in obj
        .try_iter()
        .map_err(|_| PyTypeError::new_err("rules must be a str or an iterable of str"))?
        .enumerate()
    {
        let item = item?;
        let s = item.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "rules[{i}] must be a str, not {}",
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

/// A prompt firewall: compiled rules and a policy, shared by any number of threads.
#[pyclass(frozen, module = "promptwall", name = "Firewall")]
struct Firewall {
    fw: pw::Firewall,
}

impl Firewall {
    fn build(py: Python<'_>, builder: pw::FirewallBuilder) -> PyResult<Firewall> {
        match py.detach(|| builder.build()) {
            Ok(fw) => Ok(Firewall { fw }),
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
    fn new(py: Python<'_>) -> PyResult<Self> {
        Firewall::build(py, pw::Firewall::builder())
    }

    /// A firewall from rule-pack files or folders and a policy file.
    #[classmethod]
    #[pyo3(signature = (rules = None, policy = None, *, default_rules = true))]
    fn from_files(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        rules: Option<&Bound<'_, PyAny>>,
        policy: Option<PathBuf>,
        default_rules: bool,
    ) -> PyResult<Self> {
        let mut b = pw::Firewall::builder().default_rules(default_rules);
        for p in paths_arg(rules)? {
            check_path(&p)?;
            b = b.rules_path(p);
        }
        if let Some(p) = policy {
            check_path(&p)?;
            b = b.policy_file(p);
        }
        Firewall::build(py, b)
    }

    /// A firewall from rule packs and a policy given as TOML text.
    #[classmethod]
    #[pyo3(signature = (rules = None, policy = None, *, default_rules = true))]
    fn from_toml(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        rules: Option<&Bound<'_, PyAny>>,
        policy: Option<&str>,
        default_rules: bool,
    ) -> PyResult<Self> {
        let packs: Vec<(String, String)> = texts_arg(rules)?
            .into_iter()
            .enumerate()
            .map(|(i, t)| (format!("rules[{i}]"), t))
            .collect();
        let policy = policy.map(|p| ("policy".to_string(), p.to_string()));
        Firewall::from_parts(py, default_rules, packs, policy)
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
        if version != STATE_VERSION {
            return Err(PyValueError::new_err(format!(
                "Firewall state version {version} is not supported (expected {STATE_VERSION})"
            )));
        }
        let default_rules: bool = get("default_rules")?.extract()?;
        let packs: Vec<(String, String)> = get("packs")?.extract()?;
        let policy: Option<(String, String)> = get("policy")?.extract()?;
        Firewall::from_parts(py, default_rules, packs, policy)
    }

    /// Pickles as the built-in flag, the other packs' TOML and the policy's TOML; the
    /// firewall is compiled again when unpickled.
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
    ) -> PyResult<Self> {
        let build = || -> Result<pw::Firewall, pw::Error> {
            let mut b = pw::Firewall::builder().default_rules(default_rules);
            for (source, text) in &packs {
                b = b.rule_pack(pw::RulePack::from_toml(text, source)?);
            }
            if let Some((source, text)) = &policy {
                b = b.policy(pw::Policy::from_toml(text, source)?);
            }
            b.build()
        };
        match py.detach(build) {
            Ok(fw) => Ok(Firewall { fw }),
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

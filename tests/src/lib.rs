//! Shared helpers for promptwall's end-to-end tests: the conformance table under
//! `tests/data/conformance/` and the check of a verdict against a case.
#![forbid(unsafe_code)]

pub mod hostile;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use promptwall::{Category, Verdict};
use serde::Deserialize;

/// One conformance case: an input and what its verdict must say.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique name.
    pub name: String,
    /// The input.
    pub text: String,
    /// `prompt` (default) or `response`.
    #[serde(default = "prompt")]
    pub side: String,
    /// Expected action.
    pub action: Option<String>,
    /// Rule ids that must be found.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Rule ids that must not be found.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Exactly the categories at or above the flag threshold.
    pub flagged: Option<Vec<String>>,
    /// Rule id → the text its first finding must cover.
    #[serde(default)]
    pub spans: BTreeMap<String, String>,
    /// Expected redaction output.
    pub redacted: Option<String>,
    /// The file it came from.
    #[serde(skip)]
    pub file: String,
}

fn prompt() -> String {
    "prompt".to_string()
}

impl Case {
    /// Whether the case scans a response.
    pub fn is_response(&self) -> bool {
        self.side == "response"
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    case: Vec<Case>,
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The conformance data folder.
pub fn conformance_dir() -> PathBuf {
    repo_root().join("tests/data/conformance")
}

/// Loads every case of every `*.toml` file of the conformance folder, checking that names are
/// unique and sides are known.
pub fn load_cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(conformance_dir())
        .expect("conformance folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut names = std::collections::HashSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable case file");
        let parsed: CaseFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for mut c in parsed.case {
            assert!(
                names.insert(c.name.clone()),
                "duplicate case name {}",
                c.name
            );
            assert!(
                c.side == "prompt" || c.side == "response",
                "{}: side must be prompt or response",
                c.name
            );
            c.file = f
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            cases.push(c);
        }
    }
    assert!(cases.len() >= 20, "the conformance table looks truncated");
    cases
}

/// Checks a verdict (and, when given, the redaction output) against a case; the error lists
/// every mismatch.
pub fn check(case: &Case, verdict: &Verdict, redacted: Option<&str>) -> Result<(), String> {
    let mut errs = Vec::new();
    if let Some(a) = &case.action {
        if verdict.action.as_str() != a {
            errs.push(format!("action is {}, expected {a}", verdict.action));
        }
    }
    let found = |id: &str| verdict.findings.iter().find(|f| &*f.rule == id);
    for r in &case.rules {
        if found(r).is_none() {
            errs.push(format!("rule {r} not found"));
        }
    }
    for r in &case.absent {
        if found(r).is_some() {
            errs.push(format!("rule {r} found but must be absent"));
        }
    }
    if let Some(flagged) = &case.flagged {
        let mut want: Vec<&str> = flagged.iter().map(String::as_str).collect();
        want.sort_unstable();
        let mut got: Vec<&str> = Category::ALL
            .iter()
            .filter(|c| verdict.categories.get(**c) >= 0.5)
            .map(|c| c.as_str())
            .collect();
        got.sort_unstable();
        if want != got {
            errs.push(format!("flagged categories are {got:?}, expected {want:?}"));
        }
    }
    for (rule, want) in &case.spans {
        match found(rule) {
            None => errs.push(format!("no finding of {rule} for its span")),
            Some(f) => match case.text.get(f.start..f.end) {
                Some(got) if got == want => {}
                got => errs.push(format!("{rule} covers {got:?}, expected {want:?}")),
            },
        }
    }
    for f in &verdict.findings {
        if f.start > f.end
            || f.end > case.text.len()
            || !case.text.is_char_boundary(f.start)
            || !case.text.is_char_boundary(f.end)
        {
            errs.push(format!("{} has a bad span {}..{}", f.rule, f.start, f.end));
        }
    }
    if let (Some(want), Some(got)) = (&case.redacted, redacted) {
        if want != got {
            errs.push(format!("redacted to {got:?}, expected {want:?}"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "case {} ({}): {}",
            case.name,
            case.file,
            errs.join("; ")
        ))
    }
}

/// One row of the token table (`tests/data/tokens/counts.jsonl`), written by OpenAI's
/// tiktoken through `tests/data/tokens/generate.py`.
#[derive(Debug, Deserialize)]
pub struct TokenCase {
    /// A name for messages.
    pub name: String,
    /// The text, to be repeated `repeat` times.
    pub text: String,
    /// How many times `text` is repeated.
    pub repeat: usize,
    /// tiktoken's `encode_ordinary` count in `o200k_base`.
    pub o200k_base: usize,
    /// ... and in `cl100k_base`.
    pub cl100k_base: usize,
}

impl TokenCase {
    /// The text counted.
    pub fn full_text(&self) -> String {
        self.text.repeat(self.repeat)
    }

    /// The expected count in the encoding of this name.
    pub fn expected(&self, encoding: &str) -> usize {
        match encoding {
            "o200k_base" => self.o200k_base,
            "cl100k_base" => self.cl100k_base,
            other => panic!("no expected counts for {other}"),
        }
    }
}

/// Reads the token table.
pub fn load_token_cases() -> Vec<TokenCase> {
    let path = repo_root().join("tests/data/tokens/counts.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// About a kilobyte of ordinary English in two halves, the setting for planted secrets.
const PROSE: [&str; 2] = [
    "Thanks for the notes from yesterday's meeting. I read through the draft plan for the spring \
     release and have a few questions before we share it with the wider group. The timeline looks \
     tight but possible if the design review happens next week. Could you summarise the open \
     risks in a short list, and say which of them need a decision from the steering group? I \
     also pasted the configuration we used for the staging test below, in case it helps.\n",
    "\nThe second thing is the customer workshop. We expect about thirty people, mostly from \
     operations and support, and we would like the agenda to leave time for questions. Please \
     suggest three topics that would interest them, a rough order for the day, and a polite \
     reminder we can send a week before. Finally, keep the tone friendly and avoid jargon, since \
     many of them are new to the product and will read the summary on their phones.",
];

/// About a kilobyte of ordinary English prose with no secret, no personal data and no
/// attack: the clean prompt of the prefilter measurements.
pub fn clean_prose() -> String {
    format!("{}{}", PROSE[0], PROSE[1])
}

/// One rule example planted in prose.
#[derive(Debug, Clone)]
pub struct Planted {
    /// The rule whose `examples.match` entry was planted.
    pub rule: String,
    /// About a kilobyte of prose with the example on a line of its own in the middle.
    pub text: String,
}

/// Every `examples.match` entry of every rule of `category`, planted in prose.
pub fn planted(fw: &promptwall::Firewall, category: Category) -> Vec<Planted> {
    fw.rules()
        .iter()
        .filter(|r| r.category == category)
        .flat_map(|r| {
            r.examples_match.iter().map(|e| Planted {
                rule: r.id.clone(),
                text: format!("{}{e}{}", PROSE[0], PROSE[1]),
            })
        })
        .collect()
}

/// The development set's benign prompts (label 0) from `../shared/data/injection/dev.jsonl`,
/// read at test time; empty when the shared data is not there.
pub fn dev_benign() -> Vec<String> {
    let path = repo_root().join("../shared/data/injection/dev.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["label"].as_i64() == Some(0))
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect()
}

/// Standard base64 with padding, for planting encoded text in tests.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |acc, (k, &b)| acc | u32::from(b) << (16 - 8 * k));
        for k in 0..=c.len() {
            out.push(char::from(A[(n >> (18 - 6 * k) & 63) as usize]));
        }
        for _ in c.len()..3 {
            out.push('=');
        }
    }
    out
}

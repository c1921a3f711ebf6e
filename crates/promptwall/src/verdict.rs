//! Verdicts and findings: the JSON contract shared by the CLI, C and Python.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::rule::{Category, Severity};

/// What to do with a text, from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Nothing reached a threshold.
    Allow,
    /// Let it through but report it.
    Flag,
    /// Let it through with secrets and personal data replaced (see [`Verdict::redact`]).
    Redact,
    /// Stop it.
    Block,
}

impl Action {
    /// The lowercase name used in verdicts and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Flag => "flag",
            Action::Redact => "redact",
            Action::Block => "block",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The score of each category, from 0 to 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoryScores {
    /// Prompt injection and jailbreaks.
    pub injection: f64,
    /// Credentials.
    pub secret: f64,
    /// Personal data.
    pub pii: f64,
    /// Length and cost abuse.
    pub abuse: f64,
    /// Data carried to outside hosts.
    pub exfiltration: f64,
    /// Confidential text echoed back.
    pub leak: f64,
}

impl CategoryScores {
    /// The score of one category.
    pub fn get(&self, c: Category) -> f64 {
        match c {
            Category::Injection => self.injection,
            Category::Secret => self.secret,
            Category::Pii => self.pii,
            Category::Abuse => self.abuse,
            Category::Exfiltration => self.exfiltration,
            Category::Leak => self.leak,
        }
    }

    pub(crate) fn get_mut(&mut self, c: Category) -> &mut f64 {
        match c {
            Category::Injection => &mut self.injection,
            Category::Secret => &mut self.secret,
            Category::Pii => &mut self.pii,
            Category::Abuse => &mut self.abuse,
            Category::Exfiltration => &mut self.exfiltration,
            Category::Leak => &mut self.leak,
        }
    }

    /// The highest category score.
    pub fn max(&self) -> f64 {
        Category::ALL
            .iter()
            .map(|&c| self.get(c))
            .fold(0.0, f64::max)
    }
}

/// One piece of evidence: which rule matched where, and how much it counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule id.
    pub rule: Arc<str>,
    /// Its category.
    pub category: Category,
    /// Its severity.
    pub severity: Severity,
    /// Its score, from 0 to 1.
    pub score: f64,
    /// Byte offset of the start of the span in the original text.
    pub start: usize,
    /// Byte offset of the end (exclusive) of the span in the original text.
    pub end: usize,
    /// The view it was seen in: `raw`, `normalized`, ...
    pub view: Cow<'static, str>,
    /// The matched text, masked for secrets and personal data, shortened when long.
    pub excerpt: String,
}

/// The result of a scan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// What the policy says to do.
    pub action: Action,
    /// The highest category score.
    pub score: f64,
    /// The score of each category.
    pub categories: CategoryScores,
    /// The token count: exact when `tokens_exact`, otherwise an estimate.
    pub tokens: u64,
    /// Whether `tokens` was counted exactly.
    pub tokens_exact: bool,
    /// The findings, strongest first (at most the policy's `max_findings`).
    pub findings: Vec<Finding>,
    /// How many findings were left out by the policy's `max_findings`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub findings_omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Verdict {
    /// Whether the action is `allow`.
    pub fn is_allowed(&self) -> bool {
        self.action == Action::Allow
    }

    /// Whether the action is `block`.
    pub fn is_blocked(&self) -> bool {
        self.action == Action::Block
    }

    /// The verdict as one line of JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The findings of one category.
    pub fn findings_of(&self, c: Category) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.category == c)
    }

    /// `original` with every secret and personal-data finding of this verdict replaced by
    /// `[REDACTED:<rule-id>]`. `original` must be the text this verdict was made from.
    ///
    /// A verdict keeps at most `max_findings` findings; [`Firewall::redact`](crate::Firewall::redact)
    /// has no such cap and is the safe choice for long texts.
    pub fn redact(&self, original: &str) -> String {
        crate::redact::apply(original, &self.findings, &crate::Placeholder::default())
    }
}

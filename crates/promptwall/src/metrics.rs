//! Usage counters for monitoring: scans per side and action, findings per category and per
//! rule, tokens counted exactly, quota decisions. Lock-free (relaxed atomic adds), so a
//! gateway can alert on spikes without logging any prompt.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::rule::{Category, Side};
use crate::verdict::{Action, Verdict};

const ACTIONS: [Action; 4] = [Action::Allow, Action::Flag, Action::Redact, Action::Block];
const SIDES: [Side; 2] = [Side::Prompt, Side::Response];

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Prompt => "prompt",
        Side::Response => "response",
        Side::Both => "both",
    }
}

/// The live counters of one firewall.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Per side (prompt, response) and action.
    scans: [[AtomicU64; 4]; 2],
    findings_by_category: [AtomicU64; 6],
    rule_ids: Vec<Arc<str>>,
    rule_index: HashMap<Arc<str>, usize>,
    findings_by_rule: Vec<AtomicU64>,
    tokens_counted: AtomicU64,
    quota_allowed: AtomicU64,
    quota_denied: AtomicU64,
}

impl Metrics {
    /// Counters for these rule ids (the packs' and the built-in findings').
    pub(crate) fn new(rule_ids: Vec<Arc<str>>) -> Metrics {
        let rule_index = rule_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (Arc::clone(id), i))
            .collect();
        Metrics {
            scans: Default::default(),
            findings_by_category: Default::default(),
            findings_by_rule: rule_ids.iter().map(|_| AtomicU64::new(0)).collect(),
            rule_ids,
            rule_index,
            tokens_counted: AtomicU64::new(0),
            quota_allowed: AtomicU64::new(0),
            quota_denied: AtomicU64::new(0),
        }
    }

    /// Counts one verdict of a prompt or response scan.
    pub(crate) fn record(&self, side: Side, v: &Verdict) {
        let s = match side {
            Side::Prompt => 0,
            Side::Response => 1,
            Side::Both => return,
        };
        let a = ACTIONS.iter().position(|&x| x == v.action).unwrap_or(0);
        self.scans[s][a].fetch_add(1, Ordering::Relaxed);
        for f in &v.findings {
            self.findings_by_category[f.category as usize].fetch_add(1, Ordering::Relaxed);
            if let Some(&i) = self.rule_index.get(&f.rule) {
                self.findings_by_rule[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        if v.tokens_exact {
            self.tokens_counted.fetch_add(v.tokens, Ordering::Relaxed);
        }
    }

    pub(crate) fn record_quota(&self, allowed: bool) {
        let c = if allowed {
            &self.quota_allowed
        } else {
            &self.quota_denied
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut scans = Vec::new();
        for (s, side) in SIDES.iter().enumerate() {
            for (a, action) in ACTIONS.iter().enumerate() {
                scans.push((*side, *action, load(&self.scans[s][a])));
            }
        }
        MetricsSnapshot {
            scans,
            findings_by_category: Category::ALL
                .iter()
                .map(|&c| (c, load(&self.findings_by_category[c as usize])))
                .collect(),
            findings_by_rule: self
                .rule_ids
                .iter()
                .zip(&self.findings_by_rule)
                .map(|(id, c)| (id.to_string(), load(c)))
                .collect(),
            tokens_counted: load(&self.tokens_counted),
            quota_allowed: load(&self.quota_allowed),
            quota_denied: load(&self.quota_denied),
        }
    }
}

/// A copy of a firewall's counters at one moment (since it was built).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Scans per side (prompt, response) and action.
    pub scans: Vec<(Side, Action, u64)>,
    /// Findings listed in verdicts, per category.
    pub findings_by_category: Vec<(Category, u64)>,
    /// Findings listed in verdicts, per rule id (every rule in force, and the built-in ones).
    pub findings_by_rule: Vec<(String, u64)>,
    /// Tokens counted exactly (when a token limit made the engine count).
    pub tokens_counted: u64,
    /// Quota checks that allowed the request.
    pub quota_allowed: u64,
    /// Quota checks that denied it.
    pub quota_denied: u64,
}

impl MetricsSnapshot {
    /// Scans of one side that ended in one action.
    pub fn scans(&self, side: Side, action: Action) -> u64 {
        self.scans
            .iter()
            .find(|s| s.0 == side && s.1 == action)
            .map_or(0, |s| s.2)
    }

    /// Findings of one rule.
    pub fn findings_of(&self, rule: &str) -> u64 {
        self.findings_by_rule
            .iter()
            .find(|r| r.0 == rule)
            .map_or(0, |r| r.1)
    }

    /// The counters in the Prometheus text exposition format.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let family = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        };
        family(
            &mut out,
            "promptwall_scans_total",
            "Scans by side and resulting action.",
        );
        for (side, action, n) in &self.scans {
            let _ = writeln!(
                out,
                "promptwall_scans_total{{side=\"{}\",action=\"{}\"}} {n}",
                side_name(*side),
                action.as_str()
            );
        }
        family(
            &mut out,
            "promptwall_findings_total",
            "Findings listed in verdicts, by category.",
        );
        for (c, n) in &self.findings_by_category {
            let _ = writeln!(
                out,
                "promptwall_findings_total{{category=\"{}\"}} {n}",
                c.as_str()
            );
        }
        family(
            &mut out,
            "promptwall_rule_findings_total",
            "Findings listed in verdicts, by rule.",
        );
        for (id, n) in &self.findings_by_rule {
            // Rule ids are checked on load: letters, digits, dots, dashes and underscores.
            let id: String = id
                .chars()
                .filter(|c| !matches!(c, '"' | '\\' | '\n'))
                .collect();
            let _ = writeln!(out, "promptwall_rule_findings_total{{rule=\"{id}\"}} {n}");
        }
        family(
            &mut out,
            "promptwall_tokens_counted_total",
            "Tokens counted exactly against a token limit.",
        );
        let _ = writeln!(
            out,
            "promptwall_tokens_counted_total {}",
            self.tokens_counted
        );
        family(
            &mut out,
            "promptwall_quota_checks_total",
            "Quota checks by result.",
        );
        let _ = writeln!(
            out,
            "promptwall_quota_checks_total{{result=\"allowed\"}} {}",
            self.quota_allowed
        );
        let _ = writeln!(
            out,
            "promptwall_quota_checks_total{{result=\"denied\"}} {}",
            self.quota_denied
        );
        out
    }
}

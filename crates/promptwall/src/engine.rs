//! The firewall: rules compiled once, scans that share it from any number of threads.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use regex::Regex;

use crate::error::Error;
use crate::matcher::{compile_regex, KeywordMatcher, SharedSet};
use crate::normalize::Normalized;
use crate::policy::Policy;
use crate::redact;
use crate::rule::{Category, Origin, Rule, RulePack, Severity, Side, Validator, ViewKind};
use crate::validate;
use crate::verdict::{Action, CategoryScores, Finding, Verdict};
use crate::views;

/// What a scan learnt from counting tokens.
#[derive(Clone, Copy, Debug)]
enum TokenCount {
    /// The exact count.
    Exact(u64),
    /// Counting stopped after passing this limit.
    MoreThan(u64),
}

/// Most findings one rule reports in one view of a scan (its score counts once anyway).
const MAX_FINDINGS_PER_RULE: usize = 32;

/// Rule id of the finding for texts over the policy's `max_bytes`.
pub const MAX_BYTES_RULE: &str = "abuse.max-bytes";

/// Rule id of the finding for texts over the policy's token limit (`[tokens] max_input`).
pub const MAX_TOKENS_RULE: &str = "abuse.max-tokens";

#[derive(Debug)]
struct CompiledRule {
    id: Arc<str>,
    category: Category,
    severity: Severity,
    score: f64,
    side: Side,
    view: ViewKind,
    regex: Option<Regex>,
    /// Index of the `secret` capture group.
    secret_group: Option<usize>,
    validator: Option<Validator>,
    entropy: Option<f64>,
    allow: Vec<Regex>,
}

/// A prompt firewall: compiled rules and a policy.
///
/// Build it once and share it (`&Firewall` or `Arc<Firewall>`) between threads: scans take
/// `&self`, keep their scratch space to themselves, and take no lock of the engine's.
#[derive(Debug)]
pub struct Firewall {
    specs: Vec<Rule>,
    rules: Vec<CompiledRule>,
    keyword_only: Vec<bool>,
    /// Rules on the normalised view: their keywords gate only where they start a word.
    word_start: Vec<bool>,
    /// Whether some secret or PII rule has no regex (its keyword hits count in every view).
    sensitive_keyword_only: bool,
    /// The automaton of the keywords that are pure ASCII, for views that are pure ASCII
    /// (where no other keyword can occur). Without the keywords of other scripts, its
    /// transition table stays narrow: the many distinct bytes of those keywords would widen
    /// every row of the table that each scan of English text walks byte by byte.
    keywords: KeywordMatcher,
    /// The automaton of all keywords, for the other views.
    all_keywords: KeywordMatcher,
    /// Sets of rules gated together; see [`SharedSet`].
    groups: Vec<SharedSet>,
    /// The group of each rule, if it shares one.
    group_of: Vec<Option<u32>>,
    /// Rules without keywords: they are always candidates.
    always: Vec<u32>,
    policy: Policy,
    packs: Vec<RulePack>,
    default_rules: bool,
}

/// Builds a [`Firewall`] from rule packs and a policy.
#[derive(Debug, Clone)]
pub struct FirewallBuilder {
    default_rules: bool,
    packs: Vec<RulePack>,
    paths: Vec<PathBuf>,
    policy: Option<Policy>,
    policy_path: Option<PathBuf>,
}

impl Default for FirewallBuilder {
    fn default() -> Self {
        FirewallBuilder {
            default_rules: true,
            packs: Vec::new(),
            paths: Vec::new(),
            policy: None,
            policy_path: None,
        }
    }
}

impl FirewallBuilder {
    /// Whether to start from the built-in rule packs (default: yes).
    pub fn default_rules(mut self, yes: bool) -> Self {
        self.default_rules = yes;
        self
    }

    /// Adds a parsed pack; its rules add to, replace (same id) or disable earlier rules.
    pub fn rule_pack(mut self, pack: RulePack) -> Self {
        self.packs.push(pack);
        self
    }

    /// Adds a pack file, or every `*.toml` pack of a folder, read when the firewall is built.
    pub fn rules_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Sets the policy (default: [`Policy::default`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Sets the policy from a TOML file, read when the firewall is built.
    pub fn policy_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.policy_path = Some(path.into());
        self
    }

    /// Reads the files, merges the packs and compiles everything.
    pub fn build(self) -> Result<Firewall, Error> {
        let mut packs = Vec::new();
        for p in &self.paths {
            packs.extend(RulePack::from_path(p)?);
        }
        let mut all = if self.default_rules {
            RulePack::builtin()
        } else {
            Vec::new()
        };
        all.extend(self.packs);
        all.extend(packs);
        let policy = match (self.policy_path, self.policy) {
            (Some(path), _) => Policy::from_file(path)?,
            (None, Some(p)) => p,
            (None, None) => Policy::default(),
        };
        // Building an encoding takes a second or so: pay it here, not in the first scan.
        if let Some(limit) = policy.max_input_tokens {
            limit.encoding.load();
        }
        Firewall::compile(all, policy, self.default_rules)
    }
}

/// Merges packs in order: a rule replaces an earlier one of the same id, `enabled = false`
/// removes one.
fn merge(packs: &[RulePack]) -> Result<Vec<Rule>, Error> {
    let mut rules: Vec<Option<Rule>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for pack in packs {
        for d in &pack.disabled {
            match index.get(&d.id) {
                Some(&i) if rules[i].is_some() => rules[i] = None,
                _ => {
                    return Err(Error::rule(
                        "disables a rule that no earlier pack defines (check the id)",
                    )
                    .in_source(&*d.origin.source)
                    .at_line(d.origin.line)
                    .for_rule(&d.id))
                }
            }
        }
        for r in &pack.rules {
            match index.get(&r.id) {
                Some(&i) => rules[i] = Some(r.clone()),
                None => {
                    index.insert(r.id.clone(), rules.len());
                    rules.push(Some(r.clone()));
                }
            }
        }
    }
    Ok(rules.into_iter().flatten().collect())
}

fn rule_error(origin: &Origin, id: &str, msg: String) -> Error {
    Error::rule(msg)
        .in_source(&*origin.source)
        .at_line(origin.line)
        .for_rule(id)
}

/// How offsets of a view map to the original text.
enum SpanMap<'a> {
    /// The view is the original text.
    Identity,
    /// The normalised view.
    Offsets(&'a crate::normalize::OffsetMap),
    /// A derived view, and the main normalised view's map.
    Derived(&'a views::Derived, &'a crate::normalize::OffsetMap),
}

impl SpanMap<'_> {
    fn span(&self, start: usize, end: usize) -> (usize, usize) {
        match self {
            SpanMap::Identity => (start, end),
            SpanMap::Offsets(m) => m.span(start, end),
            SpanMap::Derived(d, main) => d.span(start, end, main),
        }
    }
}

/// Scratch space of one scan.
struct Scan<'t> {
    original: &'t str,
    side: Side,
    per_rule_cap: usize,
    use_allowlist: bool,
    /// Whether to scan the derived views (decoded runs, tag characters, de-obfuscated words).
    derived_views: bool,
    findings: Vec<Finding>,
}

/// One example that did not behave as its rule says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule id.
    pub rule: String,
    /// Where the rule is defined.
    pub origin: Origin,
    /// The example text.
    pub example: String,
    /// Whether the example should have matched.
    pub should_match: bool,
}

impl std::fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown: String = self.example.chars().take(120).collect();
        if shown.len() < self.example.len() {
            shown.push('…');
        }
        write!(
            f,
            "{}:{}: rule `{}`: example {:?} {}",
            self.origin.source,
            self.origin.line,
            self.rule,
            shown,
            if self.should_match {
                "should match but did not"
            } else {
                "should not match but did"
            }
        )
    }
}

impl Firewall {
    /// A firewall with the built-in rules and the default policy.
    pub fn new() -> Result<Firewall, Error> {
        Firewall::builder().build()
    }

    /// A builder, starting from the built-in rules and the default policy.
    pub fn builder() -> FirewallBuilder {
        FirewallBuilder::default()
    }

    fn compile(
        packs: Vec<RulePack>,
        policy: Policy,
        default_rules: bool,
    ) -> Result<Firewall, Error> {
        let merged = merge(&packs)?;
        let known: std::collections::HashSet<&str> = merged
            .iter()
            .map(|r| r.id.as_str())
            .chain([MAX_BYTES_RULE, MAX_TOKENS_RULE])
            .collect();
        if let Some(id) = policy.rules.keys().find(|id| !known.contains(id.as_str())) {
            let mut e = Error::policy(format!(
                "`[rules.\"{id}\"]` names a rule that no pack defines"
            ));
            if let Some(t) = &policy.text {
                if let Some(pos) = t.find(id.as_str()) {
                    e = e.at_line(crate::error::line_of(t, pos));
                }
            }
            return Err(e);
        }
        let mut specs = Vec::new();
        let mut rules = Vec::new();
        for r in merged {
            let ov = policy.rules.get(&r.id);
            if ov.and_then(|o| o.enabled) == Some(false) || !policy.category(r.category).enabled {
                continue;
            }
            let regex = match &r.regex {
                Some(src) => Some(
                    compile_regex(src)
                        .map_err(|m| rule_error(&r.origin, &r.id, format!("bad `regex`: {m}")))?,
                ),
                None => None,
            };
            let secret_group = regex.as_ref().and_then(|re| {
                re.capture_names()
                    .position(|n| n == Some("secret") || n == Some("span"))
            });
            let allow = r
                .allow
                .iter()
                .map(|a| {
                    compile_regex(a).map_err(|m| {
                        rule_error(&r.origin, &r.id, format!("bad `allow` regex: {m}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            rules.push(CompiledRule {
                id: Arc::from(r.id.as_str()),
                category: r.category,
                severity: r.severity,
                score: ov.and_then(|o| o.score).unwrap_or(r.score),
                side: r.side,
                view: r.view,
                regex,
                secret_group,
                validator: r.validator,
                entropy: r.entropy,
                allow,
            });
            specs.push(r);
        }
        let keyword_only: Vec<bool> = rules.iter().map(|r| r.regex.is_none()).collect();
        let sensitive_keyword_only = rules
            .iter()
            .zip(&keyword_only)
            .any(|(r, &k)| k && r.category.is_sensitive());
        let word_start: Vec<bool> = rules
            .iter()
            .map(|r| r.view == ViewKind::Normalized)
            .collect();
        let normalized: Vec<Vec<String>> = specs
            .iter()
            .map(|s| {
                s.keywords
                    .iter()
                    .map(|k| crate::normalize::normalize_str(k))
                    .collect()
            })
            .collect();
        let matcher = |ascii_only: bool| {
            KeywordMatcher::new(normalized.iter().enumerate().map(|(i, kws)| {
                let kws = kws.iter().filter(|k| !ascii_only || k.is_ascii()).cloned();
                (i as u32, kws.collect())
            }))
            .map_err(|m| Error::rule(format!("cannot build the keyword matcher: {m}")))
        };
        let keywords = matcher(true)?;
        let all_keywords = matcher(false)?;
        // Rules with a regex, the same view and the same keywords (or none) share a set.
        let mut by_gate: HashMap<(ViewKind, Vec<String>), Vec<u32>> = HashMap::new();
        for (i, spec) in specs.iter().enumerate() {
            if spec.regex.is_some() {
                let mut key = spec.keywords.clone();
                key.sort();
                by_gate.entry((spec.view, key)).or_default().push(i as u32);
            }
        }
        let mut shared: Vec<Vec<u32>> = by_gate
            .into_iter()
            .filter(|(_, members)| members.len() > 1)
            .map(|(_, members)| members)
            .collect();
        shared.sort();
        let mut group_of = vec![None; specs.len()];
        let mut groups = Vec::with_capacity(shared.len());
        for (g, members) in shared.into_iter().enumerate() {
            let patterns = members
                .iter()
                .map(|&i| {
                    let spec = &specs[i as usize];
                    (i, spec.regex.as_deref().unwrap_or_default())
                })
                .collect();
            let set = SharedSet::new(patterns).map_err(|m| {
                Error::rule(format!("cannot build a set of rules gated together: {m}"))
            })?;
            for &i in &members {
                group_of[i as usize] = Some(g as u32);
            }
            groups.push(set);
        }
        let always: Vec<u32> = specs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.keywords.is_empty())
            .map(|(i, _)| i as u32)
            .collect();
        Ok(Firewall {
            specs,
            rules,
            sensitive_keyword_only,
            keyword_only,
            word_start,
            keywords,
            all_keywords,
            groups,
            group_of,
            always,
            policy,
            packs,
            default_rules,
        })
    }

    /// The rules in force, after merging packs and applying the policy's overrides.
    pub fn rules(&self) -> &[Rule] {
        &self.specs
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The packs it was built from, built-in ones first.
    pub fn packs(&self) -> &[RulePack] {
        &self.packs
    }

    /// Whether it was built on the built-in packs.
    pub fn has_default_rules(&self) -> bool {
        self.default_rules
    }

    /// Scans a prompt: text going to the model.
    pub fn scan(&self, text: &str) -> Verdict {
        self.scan_side(text, Side::Prompt)
    }

    /// Scans a response: text coming back from the model.
    pub fn scan_response(&self, text: &str) -> Verdict {
        self.scan_side(text, Side::Response)
    }

    /// `text` with every secret and personal-data span replaced by `[REDACTED:<rule-id>]`.
    ///
    /// Unlike a verdict, this scans the whole text whatever the policy's `max_bytes`, and
    /// has no cap on findings, so nothing a rule finds is left in.
    pub fn redact(&self, text: &str) -> String {
        let mut scan = self.new_scan(text, Side::Both, usize::MAX, true);
        // Derived views run only normalised-view rules and keyword-only hits; unless a
        // secret or PII rule is keyword-only, they cannot add anything to redact.
        scan.derived_views = self.sensitive_keyword_only;
        self.collect(&mut scan, text);
        redact::apply(text, &scan.findings)
    }

    fn new_scan<'t>(&self, original: &'t str, side: Side, cap: usize, allow: bool) -> Scan<'t> {
        Scan {
            original,
            side,
            per_rule_cap: cap,
            use_allowlist: allow,
            derived_views: true,
            findings: Vec::new(),
        }
    }

    fn scan_side(&self, text: &str, side: Side) -> Verdict {
        let mut scan = self.new_scan(text, side, MAX_FINDINGS_PER_RULE, true);
        let mut scanned = text;
        let max_bytes_rule = self.policy.rules.get(MAX_BYTES_RULE);
        let report_oversize = max_bytes_rule.and_then(|o| o.enabled) != Some(false)
            && self.policy.category(Category::Abuse).enabled;
        if let Some(limit) = self.policy.max_bytes.filter(|&l| text.len() > l) {
            let cut = floor_char_boundary(text, limit);
            scanned = &text[..cut];
            if report_oversize {
                scan.findings.push(Finding {
                    rule: Arc::from(MAX_BYTES_RULE),
                    category: Category::Abuse,
                    severity: Severity::High,
                    score: max_bytes_rule.and_then(|o| o.score).unwrap_or(0.9),
                    start: cut,
                    end: text.len(),
                    view: Cow::Borrowed("raw"),
                    excerpt: format!("text is {} bytes, over the limit of {limit}", text.len()),
                });
            }
        }
        let counted = self.check_tokens(text, &mut scan.findings);
        self.collect(&mut scan, scanned);
        self.verdict(text, scan.findings, counted)
    }

    /// Applies the policy's token limit to the whole text. Returns what it learnt: the exact
    /// count when it had to count and the count stayed within the limit, a lower bound (the
    /// limit + 1) when the count passed it, nothing when no counting was needed.
    fn check_tokens(&self, text: &str, findings: &mut Vec<Finding>) -> Option<TokenCount> {
        let limit = self.policy.max_input_tokens?;
        // A token is at least one byte: a text within the limit in bytes is within it.
        if text.len() <= limit.max_input {
            return None;
        }
        if let Some(n) = limit.encoding.count_till_limit(text, limit.max_input) {
            return Some(TokenCount::Exact(n as u64));
        }
        let ov = self.policy.rules.get(MAX_TOKENS_RULE);
        if ov.and_then(|o| o.enabled) != Some(false)
            && self.policy.category(Category::Abuse).enabled
        {
            findings.push(Finding {
                rule: Arc::from(MAX_TOKENS_RULE),
                category: Category::Abuse,
                severity: Severity::High,
                score: ov.and_then(|o| o.score).unwrap_or(0.9),
                start: 0,
                end: text.len(),
                view: Cow::Borrowed("raw"),
                // Counting stopped soon after the limit: the cost stays bounded by it.
                excerpt: format!(
                    "more than {} tokens ({}); counting stopped there",
                    limit.max_input, limit.encoding
                ),
            });
        }
        Some(TokenCount::MoreThan(limit.max_input as u64))
    }

    /// Runs the keyword automaton and every view's rules over `scanned` (a prefix of
    /// `scan.original`): the normalised view with the raw text, then each derived view
    /// (decoded runs, tag characters, undone leetspeak and letter spacing).
    fn collect(&self, scan: &mut Scan<'_>, scanned: &str) {
        if self.rules.is_empty() {
            return;
        }
        let mut norm = Normalized::default();
        norm.build(scanned);
        self.scan_view(
            scan,
            &norm.text,
            &SpanMap::Offsets(&norm.map),
            Cow::Borrowed("normalized"),
            Some(scanned),
        );
        if scan.derived_views && self.policy.max_decoded_bytes > 0 {
            for d in views::derive(scanned, &norm, self.policy.max_decoded_bytes) {
                let name = d.name.clone();
                self.scan_view(
                    scan,
                    &d.norm.text,
                    &SpanMap::Derived(&d, &norm.map),
                    name,
                    None,
                );
            }
        }
    }

    /// Runs the keyword automaton over one normalised view, then the gated rules: those of
    /// the raw view over `raw` (when given), those of the normalised view over `text`.
    fn scan_view(
        &self,
        scan: &mut Scan<'_>,
        text: &str,
        map: &SpanMap<'_>,
        name: Cow<'static, str>,
        raw: Option<&str>,
    ) {
        let n = self.rules.len();
        let mut gate = vec![false; n];
        let mut hits = Vec::new();
        let keywords = if text.is_ascii() {
            &self.keywords
        } else {
            &self.all_keywords
        };
        keywords.run(text, &mut gate, &self.keyword_only, &self.word_start, |h| {
            hits.push(h)
        });
        // Counts of keyword-only findings per rule; most texts have none, and a zeroed table
        // per view and scan is not free once there are a few hundred rules.
        let mut counts = if hits.is_empty() {
            Vec::new()
        } else {
            vec![0usize; n]
        };
        for h in hits {
            let rule = &self.rules[h.rule as usize];
            let c = &mut counts[h.rule as usize];
            if !rule.side.applies_to(scan.side) || *c >= scan.per_rule_cap {
                continue;
            }
            if self.accept(scan, rule, &text[h.start..h.end]) {
                *c += 1;
                self.push(scan, rule, h.start, h.end, text, map, &name);
            }
        }
        for &r in &self.always {
            gate[r as usize] = true;
        }
        let mut group_result: Vec<Option<Vec<bool>>> = vec![None; self.groups.len()];
        let raw_view = raw.map(|r| (ViewKind::Raw, r, &SpanMap::Identity, Cow::Borrowed("raw")));
        let views = raw_view
            .into_iter()
            .chain([(ViewKind::Normalized, text, map, name)]);
        for (view, text, map, name) in views {
            let candidates = (0..n).filter(|&i| gate[i] && self.rules[i].view == view);
            let mut rules = Vec::new();
            for i in candidates {
                if let Some(g) = self.group_of[i] {
                    let group = &self.groups[g as usize];
                    let result =
                        group_result[g as usize].get_or_insert_with(|| group.matching(text));
                    let k = group.rules.iter().position(|&r| r as usize == i);
                    if !k.is_some_and(|k| result[k]) {
                        continue;
                    }
                }
                rules.push(i as u32);
            }
            self.run_regexes(scan, rules.into_iter(), text, map, &name);
        }
    }

    /// Runs the regexes of `rules` over one view's text.
    // `&Cow` rather than `&str`: findings clone the name, which is free for borrowed names.
    #[allow(clippy::ptr_arg)]
    fn run_regexes(
        &self,
        scan: &mut Scan<'_>,
        rules: impl Iterator<Item = u32>,
        text: &str,
        map: &SpanMap<'_>,
        view: &Cow<'static, str>,
    ) {
        for idx in rules {
            let rule = &self.rules[idx as usize];
            let Some(re) = &rule.regex else { continue };
            if !rule.side.applies_to(scan.side) {
                continue;
            }
            let mut found = 0;
            let mut consider = |start: usize, end: usize, scan: &mut Scan<'_>| {
                if self.accept(scan, rule, &text[start..end]) {
                    found += 1;
                    self.push(scan, rule, start, end, text, map, view);
                }
                found < scan.per_rule_cap
            };
            match rule.secret_group {
                Some(g) => {
                    for caps in re.captures_iter(text) {
                        if let Some(m) = caps.get(g).or_else(|| caps.get(0)) {
                            if !consider(m.start(), m.end(), scan) {
                                break;
                            }
                        }
                    }
                }
                None => {
                    for m in re.find_iter(text) {
                        if !consider(m.start(), m.end(), scan) {
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Whether a candidate passes the rule's checks and the allowlists.
    fn accept(&self, scan: &Scan<'_>, rule: &CompiledRule, matched: &str) -> bool {
        if matched.is_empty() {
            return false;
        }
        if let Some(v) = rule.validator {
            if !validate::check(v, matched) {
                return false;
            }
        }
        if let Some(min) = rule.entropy {
            if validate::entropy(matched) < min {
                return false;
            }
        }
        if rule.allow.iter().any(|a| a.is_match(matched)) {
            return false;
        }
        !(scan.use_allowlist && self.policy.allowed(&rule.id, matched))
    }

    #[allow(clippy::too_many_arguments, clippy::ptr_arg)]
    fn push(
        &self,
        scan: &mut Scan<'_>,
        rule: &CompiledRule,
        start: usize,
        end: usize,
        text: &str,
        map: &SpanMap<'_>,
        view: &Cow<'static, str>,
    ) {
        let (s, e) = map.span(start, end);
        let excerpt = if rule.category.is_sensitive() {
            redact::mask(&text[start..end])
        } else {
            redact::excerpt(&scan.original[s..e])
        };
        scan.findings.push(Finding {
            rule: rule.id.clone(),
            category: rule.category,
            severity: rule.severity,
            score: rule.score,
            start: s,
            end: e,
            view: view.clone(),
            excerpt,
        });
    }

    /// Scores findings and applies the policy.
    fn verdict(
        &self,
        text: &str,
        mut findings: Vec<Finding>,
        counted: Option<TokenCount>,
    ) -> Verdict {
        // The strongest finding of each rule counts once; categories combine by noisy-OR.
        findings.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.start.cmp(&b.start))
                .then(a.end.cmp(&b.end))
                .then_with(|| a.rule.cmp(&b.rule))
        });
        // The same rule over the same span, seen in several views, is one finding (the first
        // view's: the normalised one before derived ones).
        findings.dedup_by(|b, a| a.rule == b.rule && a.start == b.start && a.end == b.end);
        let mut seen: Vec<&str> = Vec::new();
        let mut miss = [1.0f64; 6];
        for f in &findings {
            if seen.contains(&&*f.rule) {
                continue;
            }
            seen.push(&f.rule);
            miss[f.category as usize] *= 1.0 - f.score;
        }
        let mut categories = CategoryScores::default();
        let mut action = Action::Allow;
        for c in Category::ALL {
            let s = round4(1.0 - miss[c as usize]);
            *categories.get_mut(c) = s;
            action = action.max(self.policy.category(c).action_for(s));
        }
        let omitted = findings.len().saturating_sub(self.policy.max_findings);
        findings.truncate(self.policy.max_findings);
        Verdict {
            action,
            score: categories.max(),
            categories,
            tokens: match counted {
                Some(TokenCount::Exact(n)) => n,
                Some(TokenCount::MoreThan(n)) => estimate_tokens(text).max(n + 1),
                None => estimate_tokens(text),
            },
            tokens_exact: matches!(counted, Some(TokenCount::Exact(_))),
            findings,
            findings_omitted: omitted,
        }
    }

    /// Runs every rule's examples against this firewall and returns those that fail.
    ///
    /// Examples run with the rules of all packs in force but without the policy's
    /// allowlist, on the rule's own side.
    pub fn check_examples(&self) -> Vec<ExampleFailure> {
        let mut failures = Vec::new();
        for (i, spec) in self.specs.iter().enumerate() {
            let id = &self.rules[i].id;
            let cases = spec
                .examples_match
                .iter()
                .map(|e| (e, true))
                .chain(spec.examples_no_match.iter().map(|e| (e, false)));
            for (example, should_match) in cases {
                let mut scan = self.new_scan(example, spec.side, MAX_FINDINGS_PER_RULE, false);
                self.collect(&mut scan, example);
                let matched = scan.findings.iter().any(|f| f.rule == *id);
                if matched != should_match {
                    failures.push(ExampleFailure {
                        rule: spec.id.clone(),
                        origin: spec.origin.clone(),
                        example: example.clone(),
                        should_match,
                    });
                }
            }
        }
        failures
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The largest char boundary of `s` at or below `i`.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A quick token estimate: about four ASCII bytes a token, one token per other character.
pub fn estimate_tokens(text: &str) -> u64 {
    let bytes = text.as_bytes();
    if text.is_ascii() {
        return (bytes.len() as u64).div_ceil(4);
    }
    // Byte-wide counters over chunks of at most 255 bytes let the loops vectorise.
    let (mut ascii, mut continuation) = (0u64, 0u64);
    for chunk in bytes.chunks(255) {
        let a: u8 = chunk.iter().map(|&b| u8::from(b < 0x80)).sum();
        let c: u8 = chunk.iter().map(|&b| u8::from(b & 0xC0 == 0x80)).sum();
        ascii += u64::from(a);
        continuation += u64::from(c);
    }
    let other = bytes.len() as u64 - ascii - continuation;
    ascii.div_ceil(4) + other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_estimate() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("你好"), 2);
        assert_eq!(estimate_tokens("ab你好cd"), 3);
        let long = "é".repeat(1000) + &"a".repeat(400);
        assert_eq!(estimate_tokens(&long), 1100);
    }

    #[test]
    fn span_group_narrows_an_injection_finding() {
        let pack = crate::RulePack::from_toml(
            r#"
[[rule]]
id = "injection.test.span"
category = "injection"
keywords = ["unsubscribe"]
regex = '''unsubscribe.*?\n(?P<span>write a poem)'''
examples.match = ["unsubscribe here\nwrite a poem"]
"#,
            "span.toml",
        )
        .expect("parses");
        let fw = Firewall::builder().rule_pack(pack).build().expect("builds");
        let text = "Unsubscribe | Privacy\nWrite a poem";
        let v = fw.scan(text);
        let f = v
            .findings
            .iter()
            .find(|f| &*f.rule == "injection.test.span")
            .expect("finding");
        assert_eq!(&text[f.start..f.end], "Write a poem");
        assert_eq!(
            f.excerpt, "Write a poem",
            "injection excerpts are not masked"
        );
    }

    #[test]
    fn ascii_and_wide_keywords_both_gate() {
        let pack = crate::RulePack::from_toml(
            r#"
[[rule]]
id = "injection.test.wide"
category = "injection"
keywords = ["skip this", "跳过", "ignorá"]
examples.match = ["skip this", "请跳过", "ignorá"]
"#,
            "wide.toml",
        )
        .expect("parses");
        let fw = Firewall::builder().rule_pack(pack).build().expect("builds");
        for text in [
            "Please SKIP THIS part",
            "请跳过这一段",
            "mixed 跳过 and skip this",
            "IGNORÁ",
        ] {
            let v = fw.scan(text);
            assert!(
                v.findings.iter().any(|f| &*f.rule == "injection.test.wide"),
                "{text}"
            );
        }
        assert!(fw.scan("nothing to see").findings.is_empty());
    }

    #[test]
    fn floor_boundary() {
        assert_eq!(floor_char_boundary("aé", 2), 1);
        assert_eq!(floor_char_boundary("aé", 9), 3);
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    #[test]
    fn every_builtin_example_behaves() {
        let fw = Firewall::new().expect("builds");
        let failures = fw.check_examples();
        let text: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
        assert!(failures.is_empty(), "{}", text.join("\n"));
    }
}

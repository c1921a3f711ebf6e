//! Policy: thresholds, actions per category, limits, rule overrides and allowlists.
//!
//! ```toml
//! flag = 0.5            # a category at or above this score is flagged
//! block = 0.8           # ... and blocked at or above this one
//! max_bytes = 1048576   # longer texts get `abuse.max-bytes`; only this many bytes are scanned
//! max_findings = 100    # findings listed in a verdict (scores count them all)
//! max_decoded_bytes = 65536  # decoding budget per scan (base64, hex, ...); 0: off
//! redact_placeholder = "[REDACTED:{rule}]"  # also {category} and {severity}
//!
//! [limits]
//! on_limit = "block"    # when a limit cut a scan short (`abuse.max-bytes`, `abuse.limit`):
//!                       # block (default, fail closed), flag, or allow (fail open)
//!
//! [tokens]
//! encoding = "o200k_base" # or "cl100k_base": the encoding the limit counts in
//! max_input = 8000        # longer texts get `abuse.max-tokens` (0 or absent: no limit)
//!
//! [categories.secret]
//! action = "redact"     # what reaching `flag` means for this category: flag, redact or block
//! block = 0.95          # thresholds may differ per category
//!
//! [categories.pii]
//! prompt_action = "flag"      # the default: PII in a prompt is reported, never blocked
//! response_action = "redact"  # the default: PII in a model's answer is redacted
//!
//! [categories.abuse]
//! enabled = false       # ignore a category entirely
//!
//! [rules."injection.persona.dan"]
//! score = 0.4           # or `enabled = false`
//!
//! [[allow]]
//! literal = "AKIAIOSFODNN7EXAMPLE"      # matched text holding it is ignored
//! rules = ["secret.aws.access-key-id"]  # optional: only for these rules
//!
//! [[allow]]
//! regex = '@example\.(com|org)$'
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{line_of, Error};
use crate::redact::Placeholder;
use crate::rule::{Category, Side};
use crate::tokens::Encoding;
use crate::verdict::Action;

/// Default flag threshold.
pub const DEFAULT_FLAG: f64 = 0.5;
/// Default block threshold.
pub const DEFAULT_BLOCK: f64 = 0.8;
/// Default byte limit.
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;
/// The encoding of `[tokens]` when it names none.
pub const DEFAULT_ENCODING: &str = "o200k_base";
/// Default number of findings listed in a verdict.
pub const DEFAULT_MAX_FINDINGS: usize = 100;
/// Default budget of decoded bytes per scan.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 64 << 10;

/// A limit on a text's tokens, counted exactly in one encoding.
///
/// A text no longer in bytes than `max_input` is within it without counting (a token is at
/// least one byte); a longer one is counted, stopping soon after the count passes the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenLimit {
    /// The encoding tokens are counted in.
    pub encoding: Encoding,
    /// Texts of more tokens than this get an `abuse.max-tokens` finding.
    pub max_input: usize,
}

/// How one category is treated.
#[derive(Clone, Debug, PartialEq)]
pub struct CategoryPolicy {
    /// Whether findings of the category count at all.
    pub enabled: bool,
    /// Score from which the category triggers `action`.
    pub flag: f64,
    /// Score from which the category blocks.
    pub block: f64,
    /// What reaching `flag` (but not `block`) means: flag, redact or block.
    pub action: Action,
    /// On prompts, when set: the one action the category takes from `flag` on, whatever
    /// `block` says (`Allow`: findings are reported but never change the action).
    pub prompt_action: Option<Action>,
    /// On responses, when set: the one action the category takes from `flag` on, whatever
    /// `block` says.
    pub response_action: Option<Action>,
}

impl Default for CategoryPolicy {
    fn default() -> Self {
        CategoryPolicy {
            enabled: true,
            flag: DEFAULT_FLAG,
            block: DEFAULT_BLOCK,
            action: Action::Flag,
            prompt_action: None,
            response_action: None,
        }
    }
}

impl CategoryPolicy {
    /// The action for a category score, ignoring the per-side actions.
    pub fn action_for(&self, score: f64) -> Action {
        if !self.enabled {
            Action::Allow
        } else if score >= self.block {
            Action::Block
        } else if score >= self.flag {
            self.action
        } else {
            Action::Allow
        }
    }

    /// The action for a category score on one side: the side's own action from `flag` on
    /// when the policy sets one, else [`action_for`](Self::action_for).
    pub fn action_on(&self, side: Side, score: f64) -> Action {
        let fixed = match side {
            Side::Prompt => self.prompt_action,
            Side::Response => self.response_action,
            Side::Both => None,
        };
        match fixed {
            Some(a) if self.enabled && score >= self.flag => a,
            Some(_) => Action::Allow,
            None => self.action_for(score),
        }
    }
}

/// A per-rule override.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleOverride {
    /// `Some(false)` turns the rule off.
    pub enabled: Option<bool>,
    /// A new score for its findings.
    pub score: Option<f64>,
}

/// One allowlist entry: matches it covers are not reported.
#[derive(Clone, Debug)]
pub struct AllowEntry {
    /// A literal: a match whose text contains it is ignored.
    pub literal: Option<String>,
    /// A regex: a match whose text it finds a match in is ignored.
    pub regex: Option<regex::Regex>,
    /// The rule ids it applies to; all rules when empty.
    pub rules: Vec<String>,
}

impl AllowEntry {
    pub(crate) fn covers(&self, rule: &str, matched: &str) -> bool {
        if !self.rules.is_empty() && !self.rules.iter().any(|r| r == rule) {
            return false;
        }
        self.literal.as_deref().is_some_and(|l| matched.contains(l))
            || self.regex.as_ref().is_some_and(|r| r.is_match(matched))
    }
}

/// How scores become actions, and the limits of a scan.
#[derive(Clone, Debug)]
pub struct Policy {
    categories: [CategoryPolicy; 6],
    /// Texts longer than this get an `abuse.max-bytes` finding, and only this many bytes are
    /// scanned (`None`: no limit; scans then cost time in proportion to the whole text).
    pub max_bytes: Option<usize>,
    /// Texts of more tokens than this get an `abuse.max-tokens` finding (`None`: no limit,
    /// and a verdict's `tokens` is an estimate).
    pub max_input_tokens: Option<TokenLimit>,
    /// How many findings a verdict lists (the scores count all of them).
    pub max_findings: usize,
    /// How many bytes a scan may decode in all (base64, base32, hex, percent-encoding, HTML
    /// references, quoted-printable, Unicode escapes, ROT13, variation selectors; nested to a
    /// depth of 3) to look for text hidden in encodings; 0 turns decoded and de-obfuscated
    /// views off.
    pub max_decoded_bytes: usize,
    /// Per-rule overrides.
    pub rules: HashMap<String, RuleOverride>,
    /// Allowlist entries.
    pub allow: Vec<AllowEntry>,
    /// What redaction writes in place of a secret or personal data (`redact_placeholder`).
    pub redact_placeholder: Placeholder,
    /// Hosts that responses may send data to in image and link URLs (`[exfiltration]
    /// allow_hosts`): exfiltration findings about them are dropped. A name matches itself
    /// and its subdomains; lowercase, without scheme, port or path.
    pub exfiltration_allow_hosts: Vec<String>,
    /// The action when a limit cut a scan short, so that part of the text went unexamined:
    /// the text was longer than `max_bytes` (`abuse.max-bytes`), or decoding stopped at its
    /// budget or depth with encoded text left (`abuse.limit`). Those findings take this
    /// action whatever their score (which still counts in the abuse category's score):
    /// `Block` (the default: fail closed), `Flag`, or `Allow` (fail open: the verdict is
    /// that of what was examined). `[limits] on_limit` in TOML; `Redact` is refused there.
    pub on_limit: Action,
    /// The TOML it was parsed from, if any (kept so an engine can be rebuilt elsewhere).
    pub text: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        let mut categories: [CategoryPolicy; 6] =
            std::array::from_fn(|_| CategoryPolicy::default());
        // Users ask about their own data: personal data in a prompt is reported, not stopped.
        // A model's answer goes to logs and screens: personal data in it is redacted.
        let pii = &mut categories[Category::Pii as usize];
        pii.prompt_action = Some(Action::Flag);
        pii.response_action = Some(Action::Redact);
        Policy {
            categories,
            max_bytes: Some(DEFAULT_MAX_BYTES),
            max_input_tokens: None,
            max_findings: DEFAULT_MAX_FINDINGS,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            rules: HashMap::new(),
            allow: Vec::new(),
            redact_placeholder: Placeholder::default(),
            exfiltration_allow_hosts: Vec::new(),
            on_limit: Action::Block,
            text: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    flag: Option<f64>,
    block: Option<f64>,
    max_bytes: Option<i64>,
    max_findings: Option<i64>,
    max_decoded_bytes: Option<i64>,
    redact_placeholder: Option<toml::Spanned<String>>,
    tokens: Option<toml::Spanned<RawTokens>>,
    #[serde(default)]
    categories: HashMap<String, toml::Spanned<RawCategory>>,
    #[serde(default)]
    rules: HashMap<String, toml::Spanned<RawRuleOverride>>,
    #[serde(default)]
    allow: Vec<toml::Spanned<RawAllow>>,
    exfiltration: Option<toml::Spanned<RawExfiltration>>,
    limits: Option<toml::Spanned<RawLimits>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    on_limit: Option<Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExfiltration {
    #[serde(default)]
    allow_hosts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    encoding: Option<String>,
    max_input: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    enabled: Option<bool>,
    flag: Option<f64>,
    block: Option<f64>,
    action: Option<Action>,
    prompt_action: Option<Action>,
    response_action: Option<Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleOverride {
    enabled: Option<bool>,
    score: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    literal: Option<String>,
    regex: Option<String>,
    #[serde(default)]
    rules: Vec<String>,
}

fn check_unit(name: &str, v: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{name}` must be between 0 and 1, not {v}"))
    }
}

impl Policy {
    /// Whether `host` (lowercase) is one of `exfiltration_allow_hosts` or a subdomain of one.
    pub fn exfiltration_host_allowed(&self, host: &str) -> bool {
        self.exfiltration_allow_hosts.iter().any(|a| {
            host == a
                || (host.len() > a.len()
                    && host.ends_with(a.as_str())
                    && host.as_bytes()[host.len() - a.len() - 1] == b'.')
        })
    }

    /// The policy of a category.
    pub fn category(&self, c: Category) -> &CategoryPolicy {
        &self.categories[c as usize]
    }

    /// Changes the policy of a category.
    pub fn category_mut(&mut self, c: Category) -> &mut CategoryPolicy {
        &mut self.categories[c as usize]
    }

    /// Parses a policy from TOML; `source` names it in errors.
    pub fn from_toml(text: &str, source: &str) -> Result<Policy, Error> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let mut err = Error::policy(e.message().trim()).in_source(source);
            if let Some(span) = e.span() {
                err = err.at_line(line_of(text, span.start));
            }
            err
        })?;
        let at = |line: usize, msg: String| Error::policy(msg).in_source(source).at_line(line);
        let top = |msg: String| Error::policy(msg).in_source(source);
        let mut p = Policy::default();
        let flag = raw
            .flag
            .map(|v| check_unit("flag", v))
            .transpose()
            .map_err(top)?;
        let block = raw
            .block
            .map(|v| check_unit("block", v))
            .transpose()
            .map_err(top)?;
        for c in &mut p.categories {
            c.flag = flag.unwrap_or(c.flag);
            c.block = block.unwrap_or(c.block);
        }
        if let Some(m) = raw.max_bytes {
            if m < 0 {
                return Err(top("`max_bytes` must be 0 (no limit) or more".into()));
            }
            p.max_bytes = if m == 0 { None } else { Some(m as usize) };
        }
        if let Some(m) = raw.max_findings {
            if m < 0 {
                return Err(top("`max_findings` must be 0 or more".into()));
            }
            p.max_findings = m as usize;
        }
        if let Some(m) = raw.max_decoded_bytes {
            if m < 0 {
                return Err(top(
                    "`max_decoded_bytes` must be 0 (no decoding) or more".into()
                ));
            }
            p.max_decoded_bytes = m as usize;
        }
        if let Some(spanned) = raw.redact_placeholder {
            let line = line_of(text, spanned.span().start);
            p.redact_placeholder = Placeholder::parse(spanned.get_ref())
                .map_err(|m| at(line, format!("bad `redact_placeholder`: {m}")))?;
        }
        if let Some(spanned) = raw.tokens {
            let line = line_of(text, spanned.span().start);
            let t = spanned.into_inner();
            let name = t.encoding.as_deref().unwrap_or(DEFAULT_ENCODING);
            let encoding = Encoding::from_name(name).ok_or_else(|| {
                let known: Vec<_> = Encoding::ALL.iter().map(|e| e.name()).collect();
                at(
                    line,
                    format!(
                        "unknown token encoding `{name}` (this build has: {})",
                        known.join(", ")
                    ),
                )
            })?;
            match t.max_input {
                Some(m) if m < 0 => {
                    return Err(at(line, "`max_input` must be 0 (no limit) or more".into()))
                }
                Some(m) if m > 0 => {
                    p.max_input_tokens = Some(TokenLimit {
                        encoding,
                        max_input: m as usize,
                    })
                }
                _ => {}
            }
        }
        if let Some(spanned) = raw.limits {
            let line = line_of(text, spanned.span().start);
            match spanned.into_inner().on_limit {
                Some(Action::Redact) => {
                    return Err(at(
                        line,
                        "`on_limit` is block, flag or allow (redaction cannot stand for the \
                         part of the text that was not examined)"
                            .into(),
                    ))
                }
                Some(a) => p.on_limit = a,
                None => {}
            }
        }
        if let Some(spanned) = raw.exfiltration {
            let line = line_of(text, spanned.span().start);
            for h in spanned.into_inner().allow_hosts {
                let host = h.trim().trim_start_matches("*.").to_ascii_lowercase();
                let valid = !host.is_empty()
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
                if !valid {
                    return Err(at(
                        line,
                        format!(
                            "`allow_hosts` entry `{h}` is not a host name (write `example.com`, \
                             without scheme, port or path)"
                        ),
                    ));
                }
                p.exfiltration_allow_hosts.push(host);
            }
        }
        let mut cats: Vec<_> = raw.categories.into_iter().collect();
        cats.sort_by_key(|(_, v)| v.span().start);
        for (name, spanned) in cats {
            let line = line_of(text, spanned.span().start);
            let Some(cat) = Category::from_name(&name) else {
                return Err(at(
                    line,
                    format!("unknown category `{name}` (injection, secret, pii, abuse, exfiltration, leak)"),
                ));
            };
            let rc = spanned.into_inner();
            let c = p.category_mut(cat);
            if let Some(e) = rc.enabled {
                c.enabled = e;
            }
            if let Some(v) = rc.flag {
                c.flag = check_unit("flag", v).map_err(|m| at(line, m))?;
            }
            if let Some(v) = rc.block {
                c.block = check_unit("block", v).map_err(|m| at(line, m))?;
            }
            if let Some(a) = rc.action {
                if a == Action::Allow {
                    return Err(at(
                        line,
                        "`action` is what reaching `flag` means: flag, redact or block (use `enabled = false` to ignore a category)".into(),
                    ));
                }
                c.action = a;
                // An explicit `action` is meant for both sides, unless a side says otherwise.
                c.prompt_action = None;
                c.response_action = None;
            }
            if rc.prompt_action.is_some() {
                c.prompt_action = rc.prompt_action;
            }
            if rc.response_action.is_some() {
                c.response_action = rc.response_action;
            }
            if c.flag > c.block {
                return Err(at(
                    line,
                    format!(
                        "`flag` ({}) is above `block` ({}) for `{name}`",
                        c.flag, c.block
                    ),
                ));
            }
        }
        for c in &p.categories {
            if c.flag > c.block {
                return Err(top(format!(
                    "`flag` ({}) is above `block` ({})",
                    c.flag, c.block
                )));
            }
        }
        for (id, spanned) in raw.rules {
            let line = line_of(text, spanned.span().start);
            let r = spanned.into_inner();
            let score = r
                .score
                .map(|v| check_unit("score", v))
                .transpose()
                .map_err(|m| at(line, m).for_rule(&id))?;
            p.rules.insert(
                id,
                RuleOverride {
                    enabled: r.enabled,
                    score,
                },
            );
        }
        for spanned in raw.allow {
            let line = line_of(text, spanned.span().start);
            let a = spanned.into_inner();
            let regex = match &a.regex {
                Some(re) => Some(
                    crate::matcher::compile_allow_regex(re)
                        .map_err(|e| at(line, format!("bad allowlist `regex`: {e}")))?,
                ),
                None => None,
            };
            match (&a.literal, &regex) {
                (None, None) => {
                    return Err(at(
                        line,
                        "an `[[allow]]` entry needs `literal` or `regex`".into(),
                    ))
                }
                (Some(l), _) if l.is_empty() => {
                    return Err(at(line, "an allowlist `literal` must not be empty".into()))
                }
                _ => {}
            }
            p.allow.push(AllowEntry {
                literal: a.literal,
                regex,
                rules: a.rules,
            });
        }
        p.text = Some(text.to_string());
        Ok(p)
    }

    /// Reads and parses a policy file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Policy, Error> {
        let path = path.as_ref();
        let text = crate::rule::read_limited(path, crate::rule::MAX_PACK_BYTES).map_err(|e| {
            Error::policy(e.message().to_string()).in_source(path.display().to_string())
        })?;
        Policy::from_toml(&text, &path.display().to_string())
    }

    pub(crate) fn allowed(&self, rule: &str, matched: &str) -> bool {
        self.allow.iter().any(|a| a.covers(rule, matched))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_flag_at_half_and_block_at_point_eight() {
        let p = Policy::default();
        let c = p.category(Category::Injection);
        assert_eq!(c.action_for(0.49), Action::Allow);
        assert_eq!(c.action_for(0.5), Action::Flag);
        assert_eq!(c.action_for(0.79), Action::Flag);
        assert_eq!(c.action_for(0.8), Action::Block);
    }

    #[test]
    fn parses_every_section() {
        let p = Policy::from_toml(
            r#"
flag = 0.4
max_bytes = 0
max_findings = 3
[categories.secret]
action = "redact"
block = 0.99
[categories.pii]
enabled = false
[rules."a.b"]
score = 0.2
[[allow]]
literal = "EXAMPLE"
rules = ["a.b"]
[[allow]]
regex = '^test'
"#,
            "p.toml",
        )
        .expect("parses");
        assert_eq!(p.max_bytes, None);
        assert_eq!(p.max_findings, 3);
        let s = p.category(Category::Secret);
        assert_eq!((s.flag, s.block, s.action), (0.4, 0.99, Action::Redact));
        assert_eq!(s.action_for(0.9), Action::Redact);
        assert_eq!(p.category(Category::Pii).action_for(1.0), Action::Allow);
        assert_eq!(p.rules["a.b"].score, Some(0.2));
        assert!(p.allowed("a.b", "key EXAMPLE key"));
        assert!(!p.allowed("c.d", "key EXAMPLE key"));
        assert!(p.allowed("c.d", "testing"));
    }

    #[test]
    fn pii_is_flagged_on_prompts_and_redacted_in_responses_by_default() {
        let p = Policy::default();
        let pii = p.category(Category::Pii);
        assert_eq!(pii.action_on(Side::Prompt, 0.4), Action::Allow);
        assert_eq!(pii.action_on(Side::Prompt, 0.6), Action::Flag);
        assert_eq!(
            pii.action_on(Side::Prompt, 0.99),
            Action::Flag,
            "never blocks"
        );
        assert_eq!(pii.action_on(Side::Response, 0.6), Action::Redact);
        assert_eq!(pii.action_on(Side::Response, 0.99), Action::Redact);
        assert_eq!(pii.action_on(Side::Response, 0.4), Action::Allow);
        let secret = p.category(Category::Secret);
        assert_eq!(secret.action_on(Side::Response, 0.9), Action::Block);
        assert_eq!(secret.action_on(Side::Prompt, 0.6), Action::Flag);
    }

    #[test]
    fn side_actions_are_configurable() {
        let p = Policy::from_toml(
            "[categories.pii]\nprompt_action = \"allow\"\nresponse_action = \"block\"\n\
             [categories.secret]\nresponse_action = \"redact\"\n",
            "p.toml",
        )
        .expect("parses");
        let pii = p.category(Category::Pii);
        assert_eq!(pii.action_on(Side::Prompt, 0.99), Action::Allow);
        assert_eq!(pii.action_on(Side::Response, 0.6), Action::Block);
        let secret = p.category(Category::Secret);
        assert_eq!(secret.action_on(Side::Response, 0.95), Action::Redact);
        assert_eq!(secret.action_on(Side::Prompt, 0.95), Action::Block);
        // An explicit `action` applies to both sides and replaces the built-in side defaults.
        let p = Policy::from_toml("[categories.pii]\naction = \"block\"\n", "p").expect("ok");
        let pii = p.category(Category::Pii);
        assert_eq!(pii.action_on(Side::Prompt, 0.6), Action::Block);
        assert_eq!(pii.action_on(Side::Response, 0.6), Action::Block);
        // Other keys leave them alone.
        let p = Policy::from_toml("[categories.pii]\nflag = 0.7\n", "p").expect("ok");
        let pii = p.category(Category::Pii);
        assert_eq!(pii.action_on(Side::Prompt, 0.6), Action::Allow);
        assert_eq!(pii.action_on(Side::Response, 0.75), Action::Redact);
        let e = Policy::from_toml("\n[categories.pii]\nresponse_action = \"hide\"\n", "p")
            .expect_err("bad");
        assert_eq!(e.line(), Some(3));
    }

    #[test]
    fn redact_placeholder_is_checked_on_load() {
        let p = Policy::from_toml("redact_placeholder = \"[{category}:{rule}]\"\n", "p.toml")
            .expect("parses");
        assert_eq!(p.redact_placeholder.as_str(), "[{category}:{rule}]");
        assert_eq!(
            Policy::default().redact_placeholder.as_str(),
            "[REDACTED:{rule}]"
        );
        for (bad, says) in [
            ("[{rul}]", "unknown field `{rul}`"),
            ("[{rule]", "unclosed `{`"),
            ("[rule}]", "`}`"),
        ] {
            let text = format!("flag = 0.5\nredact_placeholder = \"{bad}\"\n");
            let e = Policy::from_toml(&text, "p.toml").expect_err(bad);
            assert_eq!(e.line(), Some(2), "{e}");
            assert!(
                e.to_string()
                    .starts_with("p.toml:2: bad `redact_placeholder`"),
                "{e}"
            );
            assert!(e.message().contains(says), "{e}");
        }
    }

    #[test]
    fn token_limits() {
        let p = Policy::from_toml("[tokens]\nmax_input = 8000\n", "p.toml").expect("valid");
        assert_eq!(
            p.max_input_tokens,
            Some(TokenLimit {
                encoding: Encoding::O200kBase,
                max_input: 8000
            })
        );
        let p = Policy::from_toml("[tokens]\nencoding = \"cl100k_base\"\nmax_input = 5\n", "p")
            .expect("valid");
        assert_eq!(
            p.max_input_tokens.map(|l| l.encoding),
            Some(Encoding::Cl100kBase)
        );
        let p = Policy::from_toml("[tokens]\nmax_input = 0\n", "p").expect("valid");
        assert_eq!(p.max_input_tokens, None);
        assert_eq!(Policy::default().max_input_tokens, None);
        let e = Policy::from_toml("\n[tokens]\nencoding = \"p50k_base\"\nmax_input = 5\n", "p")
            .expect_err("bad");
        assert_eq!(e.line(), Some(2));
        assert!(e.message().contains("o200k_base, cl100k_base"), "{e}");
        let e = Policy::from_toml("[tokens]\nmax_input = -1\n", "p").expect_err("bad");
        assert!(e.message().contains("max_input"), "{e}");
        let e = Policy::from_toml("[tokens]\nmax = 1\n", "p").expect_err("bad");
        assert!(e.message().contains("unknown field"), "{e}");
    }

    #[test]
    fn on_limit_defaults_to_block_and_is_configurable() {
        assert_eq!(Policy::default().on_limit, Action::Block);
        for (v, a) in [
            ("block", Action::Block),
            ("flag", Action::Flag),
            ("allow", Action::Allow),
        ] {
            let p = Policy::from_toml(&format!("[limits]\non_limit = \"{v}\"\n"), "p.toml")
                .expect("parses");
            assert_eq!(p.on_limit, a);
        }
        let e = Policy::from_toml("flag = 0.5\n[limits]\non_limit = \"redact\"\n", "p.toml")
            .expect_err("redact is refused");
        assert!(e.to_string().starts_with("p.toml:2: "), "{e}");
        assert!(e.message().contains("block, flag or allow"), "{e}");
        let e = Policy::from_toml("\n[limits]\non_limit = \"ignore\"\n", "p.toml")
            .expect_err("unknown action");
        assert_eq!(e.line(), Some(3), "{e}");
        let e = Policy::from_toml("[limits]\nmax = 1\n", "p.toml").expect_err("unknown key");
        assert!(e.message().contains("unknown field"), "{e}");
    }

    #[test]
    fn errors_say_where() {
        let e = Policy::from_toml("flag = 0.5\n[categories.nope]\n", "p.toml").expect_err("bad");
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().starts_with("p.toml:2: "), "{e}");
        let e = Policy::from_toml("flag = 0.5\nflg = 1\n", "p.toml").expect_err("bad");
        assert_eq!(e.line(), Some(2));
        let e = Policy::from_toml("[categories.pii]\nflag = 0.9\nblock = 0.6\n", "p.toml")
            .expect_err("bad");
        assert!(e.message().contains("above"), "{e}");
        let e = Policy::from_toml("\n\n[[allow]]\nregex = '('\n", "p.toml").expect_err("bad");
        assert_eq!(e.line(), Some(3));
        let e = Policy::from_toml("[[allow]]\nrules = []\n", "p.toml").expect_err("bad");
        assert!(e.message().contains("literal"), "{e}");
        let e = Policy::from_toml("block = 3\n", "p.toml").expect_err("bad");
        assert!(e.message().contains("between 0 and 1"), "{e}");
        let e = Policy::from_toml("[categories.secret]\naction = \"allow\"\n", "p.toml")
            .expect_err("bad");
        assert!(e.message().contains("enabled = false"), "{e}");
    }
}

//! Rules as data: the TOML rule-pack format, its parsing and validation.
//!
//! A pack is a TOML file with an optional `[pack]` table and any number of `[[rule]]` tables;
//! the format is documented in `docs/rules.md` and in the crate docs.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{line_of, Error};

/// What a finding is about. Each category has its own score in a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Prompt injection and jailbreaks.
    Injection,
    /// Credentials: API keys, tokens, private keys, passwords.
    Secret,
    /// Personal data: e-mail addresses, card numbers, phone numbers.
    Pii,
    /// Token-length and cost abuse.
    Abuse,
    /// Data carried out of a response to outside hosts.
    Exfiltration,
    /// Confidential text (system prompts, canaries) echoed back in a response.
    Leak,
}

impl Category {
    /// All categories, in the order verdicts list them.
    pub const ALL: [Category; 6] = [
        Category::Injection,
        Category::Secret,
        Category::Pii,
        Category::Abuse,
        Category::Exfiltration,
        Category::Leak,
    ];

    /// The lowercase name used in rule files, policies and verdicts.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Injection => "injection",
            Category::Secret => "secret",
            Category::Pii => "pii",
            Category::Abuse => "abuse",
            Category::Exfiltration => "exfiltration",
            Category::Leak => "leak",
        }
    }

    /// Parses a category name.
    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether findings of this category hold data that must be masked and can be redacted.
    pub fn is_sensitive(self) -> bool {
        matches!(self, Category::Secret | Category::Pii)
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a finding of a rule is; it sets the rule's default score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Weak evidence alone (score 0.3): never flags by itself under the default policy.
    Low,
    /// Flags by itself (score 0.6).
    Medium,
    /// Blocks by itself (score 0.85).
    High,
    /// Blocks by itself (score 0.95).
    Critical,
}

impl Severity {
    /// The score a finding gets when its rule sets none.
    pub fn default_score(self) -> f64 {
        match self {
            Severity::Low => 0.3,
            Severity::Medium => 0.6,
            Severity::High => 0.85,
            Severity::Critical => 0.95,
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Which side of the conversation a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Text going to the model.
    Prompt,
    /// Text coming back from the model.
    Response,
    /// Both.
    Both,
}

impl Side {
    /// Whether a rule of this side runs on a scan of `scanned`.
    pub fn applies_to(self, scanned: Side) -> bool {
        self == Side::Both || scanned == Side::Both || self == scanned
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Prompt => "prompt",
            Side::Response => "response",
            Side::Both => "both",
        }
    }
}

/// The view of the text a rule is matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ViewKind {
    /// The text as the user wrote it: for secrets and PII, which normalising would destroy.
    Raw,
    /// Lowercased, whitespace collapsed (newlines kept), invisible characters removed: for
    /// language rules. Write such rules' keywords and regexes in lowercase.
    Normalized,
}

impl ViewKind {
    /// The name used in verdicts and rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            ViewKind::Raw => "raw",
            ViewKind::Normalized => "normalized",
        }
    }
}

/// A check a candidate match must pass to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Validator {
    /// The Luhn checksum of payment card numbers (spaces and dashes ignored).
    Luhn,
    /// The ISO 13616 mod-97 checksum of IBANs.
    Iban,
    /// US social security number structure: area not 000, 666 or 9xx; group not 00; serial
    /// not 0000.
    Ssn,
    /// GitHub classic tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm tokens: the last
    /// six characters are the CRC32 of the 30-character body in base62.
    Crc32Base62,
    /// OpenAI keys carry `T3BlbkFJ`, the base64 of "OpenAI".
    Openai,
    /// Anthropic keys: `sk-ant-api03-` or `sk-ant-admin01-`, 93 body characters, then `AA`.
    Anthropic,
    /// JSON Web Tokens: the header decodes (base64url) to a JSON object with an `alg` string.
    Jwt,
    /// PyPI tokens: a macaroon whose location field decodes to `pypi.org`.
    Pypi,
    /// Phone numbers: 7 to 15 digits (8 to 15 after a `+`) among ` .-()/`, not one digit
    /// repeated.
    Phone,
    /// A dotted-quad IPv4 address in public unicast space.
    Ipv4Public,
    /// A dotted-quad IPv4 address in private (RFC 1918), shared (CGNAT) or link-local space.
    Ipv4Private,
    /// A global unicast IPv6 address, outside the documentation range.
    Ipv6,
    /// Bitcoin P2PKH/P2SH addresses: Base58Check (double SHA-256) with version 0 or 5.
    Base58check,
    /// Bitcoin segwit addresses: bech32 (version 0) or bech32m (later versions) checksums.
    Bech32,
    /// Ethereum addresses: in mixed case, the EIP-55 (Keccak-256) checksum.
    Eip55,
    /// Azure identifiable keys: length, padding and the service signature at its fixed place.
    AzureIdentifiable,
}

impl Validator {
    /// The name used in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Validator::Luhn => "luhn",
            Validator::Iban => "iban",
            Validator::Ssn => "ssn",
            Validator::Crc32Base62 => "crc32-base62",
            Validator::Openai => "openai",
            Validator::Anthropic => "anthropic",
            Validator::Jwt => "jwt",
            Validator::Pypi => "pypi",
            Validator::Phone => "phone",
            Validator::Ipv4Public => "ipv4-public",
            Validator::Ipv4Private => "ipv4-private",
            Validator::Ipv6 => "ipv6",
            Validator::Base58check => "base58check",
            Validator::Bech32 => "bech32",
            Validator::Eip55 => "eip55",
            Validator::AzureIdentifiable => "azure-identifiable",
        }
    }
}

/// Where a rule was defined: the pack's source name and the line of its `[[rule]]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file path, or a name like `builtin:injection.toml`.
    pub source: Arc<str>,
    /// The 1-based line of the rule's `[[rule]]` header.
    pub line: usize,
}

/// One rule: what to look for, what a match means, and examples of both.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Rule {
    /// Dotted id, e.g. `injection.override.ignore-previous`.
    pub id: String,
    /// What the rule is about.
    pub description: String,
    /// The category its findings count towards.
    pub category: Category,
    /// How serious a finding is.
    pub severity: Severity,
    /// The score of a finding, from 0 to 1 (the severity's default when the file sets none).
    pub score: f64,
    /// Which side it applies to.
    pub side: Side,
    /// Which view it is matched against.
    pub view: ViewKind,
    /// Literals for the prefilter: the regex runs only when one of them occurs. A rule without
    /// a regex reports each keyword occurrence that stands as a whole word.
    pub keywords: Vec<String>,
    /// Whether a keyword gates only where it stands as a whole word (`dan` in "dan:" but not
    /// in "danger"): for rules whose every match holds a keyword as a whole word.
    pub whole_words: bool,
    /// Whether the rule is generic (`secret.generic.assignment`): its finding gives way to
    /// one of another, specific rule of its category that covers the same text with at least
    /// its score, so that one secret is explained once, by the rule that names it.
    pub generic: bool,
    /// The regex. A named group `secret` marks the part that is masked, checked and redacted.
    pub regex: Option<String>,
    /// A checksum the match must pass.
    pub validator: Option<Validator>,
    /// The least Shannon entropy, in bits per character, of the matched secret.
    pub entropy: Option<f64>,
    /// Regexes of matches to ignore (placeholders, documentation examples).
    pub allow: Vec<String>,
    /// Texts the rule must match.
    pub examples_match: Vec<String>,
    /// Texts the rule must not match.
    pub examples_no_match: Vec<String>,
    /// Where the rule was defined.
    pub origin: Origin,
}

/// A disabled rule id, from a pack that turns off a rule of an earlier pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disabled {
    /// The rule id.
    pub id: String,
    /// Where it was disabled.
    pub origin: Origin,
}

/// A parsed rule pack: rules to add or override, and rule ids to disable.
#[derive(Clone, Debug, PartialEq)]
pub struct RulePack {
    /// The pack's name (from `[pack] name`, else the file stem).
    pub name: String,
    /// Where it came from.
    pub source: Arc<str>,
    /// Its enabled rules, in file order.
    pub rules: Vec<Rule>,
    /// Rule ids it disables (`enabled = false`).
    pub disabled: Vec<Disabled>,
    /// The TOML text it was parsed from (kept so an engine can be rebuilt elsewhere).
    pub text: Arc<str>,
}

/// Largest accepted rule-pack file, so a hostile file cannot exhaust memory.
pub const MAX_PACK_BYTES: usize = 8 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    pack: Option<RawPack>,
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    name: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
    #[allow(dead_code)]
    version: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    description: String,
    category: Option<Category>,
    severity: Option<Severity>,
    score: Option<f64>,
    side: Option<Side>,
    view: Option<ViewKind>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    whole_words: bool,
    #[serde(default)]
    generic: bool,
    regex: Option<String>,
    validator: Option<Validator>,
    entropy: Option<f64>,
    #[serde(default)]
    allow: Vec<String>,
    enabled: Option<bool>,
    #[serde(default)]
    examples: RawExamples,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawExamples {
    #[serde(default, rename = "match")]
    matches: Vec<String>,
    #[serde(default)]
    no_match: Vec<String>,
}

/// A lenient view of a file, used only to name the rule around a parse error.
#[derive(Deserialize)]
struct LooseFile {
    #[serde(default)]
    rule: Vec<toml::Spanned<toml::Table>>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && id.as_bytes()[0].is_ascii_alphanumeric()
}

impl RulePack {
    /// Parses a pack from TOML text; `source` names it in errors (a path or e.g. `builtin:x`).
    pub fn from_toml(text: &str, source: &str) -> Result<RulePack, Error> {
        RulePack::parse(text, source, true)
    }

    /// Parses a pack; `check_regexes` parses each regex too (the built-in packs skip that:
    /// the test suite compiles every one of their regexes with the engine's limits).
    fn parse(text: &str, source: &str, check_regexes: bool) -> Result<RulePack, Error> {
        if text.len() > MAX_PACK_BYTES {
            return Err(Error::rule(format!(
                "rule pack is {} bytes, more than the limit of {MAX_PACK_BYTES}",
                text.len()
            ))
            .in_source(source));
        }
        let source_arc: Arc<str> = Arc::from(source);
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(text, source, &e))?;
        let name = raw
            .pack
            .and_then(|p| p.name)
            .unwrap_or_else(|| default_pack_name(source));
        let mut rules = Vec::with_capacity(raw.rule.len());
        let mut disabled = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for spanned in raw.rule {
            let line = line_of(text, spanned.span().start);
            let origin = Origin {
                source: source_arc.clone(),
                line,
            };
            let r = spanned.into_inner();
            let err = |msg: String| Error::rule(msg).in_source(source).at_line(line);
            if !valid_id(&r.id) {
                return Err(err(format!(
                    "rule id `{}` is not a dotted lowercase id (letters, digits, `.`, `_`, `-`)",
                    r.id.escape_debug()
                )));
            }
            if !seen.insert(r.id.clone()) {
                return Err(err("this id is defined twice in the pack".into()).for_rule(&r.id));
            }
            let rule = build_rule(r, origin.clone(), check_regexes)
                .map_err(|(id, m)| err(m).for_rule(id))?;
            match rule {
                Built::Rule(rule) => rules.push(*rule),
                Built::Disabled(id) => disabled.push(Disabled { id, origin }),
            }
        }
        Ok(RulePack {
            name,
            source: source_arc,
            rules,
            disabled,
            text: Arc::from(text),
        })
    }

    /// Reads and parses one pack file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<RulePack, Error> {
        let path = path.as_ref();
        let text = read_limited(path, MAX_PACK_BYTES)?;
        RulePack::from_toml(&text, &path.display().to_string())
    }

    /// Reads a pack file, or every `*.toml` file of a folder (sorted by name, not recursive).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Vec<RulePack>, Error> {
        let path = path.as_ref();
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e))?;
        if !meta.is_dir() {
            return Ok(vec![RulePack::from_file(path)?]);
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| Error::io(path, &e))? {
            let entry = entry.map_err(|e| Error::io(path, &e))?;
            let p = entry.path();
            if p.extension().is_some_and(|x| x == "toml") && p.is_file() {
                files.push(p);
            }
        }
        if files.is_empty() {
            return Err(
                Error::new(crate::ErrorKind::Io, "folder holds no *.toml rule packs")
                    .in_source(path.display().to_string()),
            );
        }
        files.sort();
        files.iter().map(RulePack::from_file).collect()
    }

    /// The packs compiled into the engine, from the repository's `rules/` folder.
    ///
    /// They are parsed once per process; later calls clone the parsed packs.
    pub fn builtin() -> Vec<RulePack> {
        static PARSED: std::sync::LazyLock<Vec<RulePack>> = std::sync::LazyLock::new(|| {
            BUILTIN
                .iter()
                .map(|(name, text)| {
                    // The built-in packs are checked by the test suite; a failure here is a
                    // bug in the build, not in user input.
                    #[allow(clippy::expect_used)]
                    RulePack::parse(text, &format!("builtin:{name}"), false)
                        .expect("built-in rule packs parse")
                })
                .collect()
        });
        PARSED.clone()
    }

    /// Whether this pack is one of the built-in packs, unchanged: their regexes are known to
    /// compile within the engine's limits, so an engine may compile them when first needed.
    pub(crate) fn is_verified_builtin(&self) -> bool {
        BUILTIN
            .iter()
            .any(|(_, text)| text.len() == self.text.len() && *text == &*self.text)
    }
}

/// The built-in packs' file names and texts.
pub(crate) const BUILTIN: &[(&str, &str)] = &[
    (
        "injection.toml",
        include_str!("../../../rules/injection.toml"),
    ),
    (
        "injection-indirect.toml",
        include_str!("../../../rules/injection-indirect.toml"),
    ),
    (
        "injection-jailbreak.toml",
        include_str!("../../../rules/injection-jailbreak.toml"),
    ),
    (
        "injection-i18n.toml",
        include_str!("../../../rules/injection-i18n.toml"),
    ),
    (
        "injection-heuristics.toml",
        include_str!("../../../rules/injection-heuristics.toml"),
    ),
    ("secrets.toml", include_str!("../../../rules/secrets.toml")),
    (
        "secrets-ai.toml",
        include_str!("../../../rules/secrets-ai.toml"),
    ),
    (
        "secrets-cloud.toml",
        include_str!("../../../rules/secrets-cloud.toml"),
    ),
    (
        "secrets-dev.toml",
        include_str!("../../../rules/secrets-dev.toml"),
    ),
    (
        "secrets-saas.toml",
        include_str!("../../../rules/secrets-saas.toml"),
    ),
    (
        "secrets-generic.toml",
        include_str!("../../../rules/secrets-generic.toml"),
    ),
    ("pii.toml", include_str!("../../../rules/pii.toml")),
    ("abuse.toml", include_str!("../../../rules/abuse.toml")),
    (
        "exfiltration.toml",
        include_str!("../../../rules/exfiltration.toml"),
    ),
    ("leak.toml", include_str!("../../../rules/leak.toml")),
];

pub(crate) fn read_limited(path: &Path, limit: usize) -> Result<String, Error> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut buf = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, &e))?;
    if buf.len() > limit {
        return Err(Error::new(
            crate::ErrorKind::Io,
            format!("file is larger than the limit of {limit} bytes"),
        )
        .in_source(path.display().to_string()));
    }
    String::from_utf8(buf).map_err(|e| {
        Error::new(
            crate::ErrorKind::Io,
            format!(
                "file is not valid UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
        .in_source(path.display().to_string())
    })
}

fn default_pack_name(source: &str) -> String {
    let base = source.rsplit(['/', '\\', ':']).next().unwrap_or(source);
    base.strip_suffix(".toml").unwrap_or(base).to_string()
}

fn toml_error(text: &str, source: &str, e: &toml::de::Error) -> Error {
    let msg = e.message().trim().to_string();
    let mut err = Error::rule(msg).in_source(source);
    if let Some(span) = e.span() {
        err = err.at_line(line_of(text, span.start));
        // Name the rule around the error, when the file parses leniently: the last
        // `[[rule]]` header before it (a table's span covers only its header).
        if let Ok(loose) = toml::from_str::<LooseFile>(text) {
            if let Some(id) = loose
                .rule
                .iter()
                .rev()
                .find(|r| r.span().start <= span.start)
                .and_then(|r| r.get_ref().get("id"))
                .and_then(|v| v.as_str())
            {
                err = err.for_rule(id);
            }
        }
    }
    err
}

enum Built {
    Rule(Box<Rule>),
    Disabled(String),
}

fn build_rule(r: RawRule, origin: Origin, check_regexes: bool) -> Result<Built, (String, String)> {
    let id = r.id;
    let fail = |m: String| Err((id.clone(), m));
    if r.enabled == Some(false) {
        return Ok(Built::Disabled(id));
    }
    let Some(category) = r.category else {
        return fail(
            "missing `category` (injection, secret, pii, abuse, exfiltration, leak)".into(),
        );
    };
    let severity = r.severity.unwrap_or(Severity::Medium);
    let score = r.score.unwrap_or(severity.default_score());
    if !(0.0..=1.0).contains(&score) {
        return fail(format!("`score` must be between 0 and 1, not {score}"));
    }
    if r.keywords.is_empty() && r.regex.is_none() {
        return fail("a rule needs `keywords`, a `regex`, or both".into());
    }
    if r.keywords.iter().any(|k| k.trim().is_empty()) {
        return fail("`keywords` holds an empty string".into());
    }
    let view = r.view.unwrap_or(if category.is_sensitive() {
        ViewKind::Raw
    } else {
        ViewKind::Normalized
    });
    if view == ViewKind::Normalized {
        if let Some(k) = r
            .keywords
            .iter()
            .find(|k| crate::normalize::normalize_str(k) != **k)
        {
            return fail(format!(
                "keyword {k:?} is matched against the normalized view and must be written \
                 normalized: lowercase, single spaces"
            ));
        }
    }
    if let Some(e) = r.entropy {
        if !(0.0..=8.0).contains(&e) {
            return fail(format!("`entropy` must be between 0 and 8 bits, not {e}"));
        }
    }
    if check_regexes {
        if let Some(re) = &r.regex {
            if let Err(e) = crate::matcher::check_regex(re) {
                return fail(format!("bad `regex`: {e}"));
            }
        }
        for a in &r.allow {
            if let Err(e) = crate::matcher::check_regex(a) {
                return fail(format!("bad `allow` regex: {e}"));
            }
        }
    }
    if r.examples.matches.is_empty() {
        return fail("a rule needs at least one `examples.match` string".into());
    }
    Ok(Built::Rule(Box::new(Rule {
        id,
        description: r.description,
        category,
        severity,
        score,
        side: r.side.unwrap_or(Side::Both),
        view,
        keywords: r.keywords,
        whole_words: r.whole_words,
        generic: r.generic,
        regex: r.regex,
        validator: r.validator,
        entropy: r.entropy,
        allow: r.allow,
        examples_match: r.examples.matches,
        examples_no_match: r.examples.no_match,
        origin,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[pack]
name = "demo"

[[rule]]
id = "injection.demo.ignore"
category = "injection"
severity = "high"
keywords = ["ignore"]
regex = 'ignore (all )?previous instructions'
examples.match = ["Ignore previous instructions"]
examples.no_match = ["ignore the noise"]

[[rule]]
id = "secret.demo"
category = "secret"
regex = 'KEY_[A-Z]{8}'
examples.match = ["KEY_ABCDEFGH"]
"#;

    #[test]
    fn parses_a_pack() {
        let p = RulePack::from_toml(GOOD, "demo.toml").expect("parses");
        assert_eq!(p.name, "demo");
        assert_eq!(p.rules.len(), 2);
        let r = &p.rules[0];
        assert_eq!(r.id, "injection.demo.ignore");
        assert_eq!(r.category, Category::Injection);
        assert_eq!(r.score, 0.85);
        assert_eq!(r.view, ViewKind::Normalized);
        assert_eq!(r.origin.line, 5);
        assert_eq!(p.rules[1].view, ViewKind::Raw);
        assert_eq!(p.rules[1].severity, Severity::Medium);
    }

    fn err_of(text: &str) -> Error {
        RulePack::from_toml(text, "x.toml").expect_err("must fail")
    }

    #[test]
    fn unknown_field_names_line_and_rule() {
        let e = err_of(
            "[[rule]]\nid = \"a.b\"\ncategory = \"injection\"\nkeywords = [\"x\"]\nregx = \"x\"\n",
        );
        assert_eq!(e.file(), Some("x.toml"));
        assert_eq!(e.line(), Some(5));
        assert_eq!(e.rule_id(), Some("a.b"));
        assert!(e.message().contains("regx"), "{e}");
    }

    #[test]
    fn bad_regex_names_rule() {
        let e = err_of(
            "\n[[rule]]\nid = \"a.b\"\ncategory = \"secret\"\nregex = \"(unclosed\"\nexamples.match=[\"x\"]\n",
        );
        assert_eq!(e.line(), Some(2));
        assert_eq!(e.rule_id(), Some("a.b"));
        assert!(e.message().contains("bad `regex`"), "{e}");
    }

    #[test]
    fn bad_category_and_values() {
        let e = err_of("[[rule]]\nid = \"a.b\"\ncategory = \"nope\"\nkeywords = [\"x\"]\n");
        assert_eq!(e.rule_id(), Some("a.b"));
        assert_eq!(e.line(), Some(3));
        let e = err_of("[[rule]]\nid = \"a.b\"\ncategory = \"pii\"\nscore = 2.0\nkeywords = [\"x\"]\nexamples.match=[\"x\"]\n");
        assert!(e.message().contains("score"), "{e}");
        let e = err_of("[[rule]]\nid = \"A B\"\ncategory = \"pii\"\nkeywords = [\"x\"]\n");
        assert!(e.message().contains("dotted"), "{e}");
        let e = err_of("[[rule]]\nid = \"a.b\"\ncategory = \"pii\"\nexamples.match=[\"x\"]\n");
        assert!(e.message().contains("keywords"), "{e}");
        let e = err_of("[[rule]]\nid = \"a.b\"\ncategory = \"injection\"\nkeywords = [\"Ignore\"]\nexamples.match=[\"x\"]\n");
        assert!(e.message().contains("normalized"), "{e}");
        let e = err_of("[[rule]]\nid = \"a.b\"\ncategory = \"pii\"\nkeywords = [\"x\"]\n");
        assert!(e.message().contains("examples.match"), "{e}");
    }

    #[test]
    fn duplicate_ids_and_syntax_errors() {
        let e = err_of(
            "[[rule]]\nid = \"a.b\"\nenabled = false\n[[rule]]\nid = \"a.b\"\nenabled = false\n",
        );
        assert_eq!(e.line(), Some(4));
        let e = err_of("[[rule]]\nid = \"a.b\"\ncategory = \n");
        assert_eq!(e.line(), Some(3));
    }

    #[test]
    fn disabling_needs_only_an_id() {
        let p = RulePack::from_toml("[[rule]]\nid = \"a.b\"\nenabled = false\n", "x.toml")
            .expect("parses");
        assert!(p.rules.is_empty());
        assert_eq!(p.disabled[0].id, "a.b");
    }

    #[test]
    fn builtin_packs_parse() {
        let packs = RulePack::builtin();
        assert_eq!(packs.len(), BUILTIN.len());
        assert!(packs.iter().all(|p| !p.rules.is_empty()));
        assert!(packs.iter().all(RulePack::is_verified_builtin));
    }

    /// The built-in packs skip the regex checks when parsed and compile their regexes
    /// lazily: this is the check they skip, with the engine's size limits.
    #[test]
    fn builtin_regexes_compile_within_limits() {
        for (name, text) in BUILTIN {
            let checked = RulePack::from_toml(text, name).expect("parses with regex checks");
            for r in &checked.rules {
                for re in r.regex.iter().chain(&r.allow) {
                    if let Err(e) = crate::matcher::compile_regex(re) {
                        panic!("{name}: rule {}: {e}", r.id);
                    }
                }
            }
        }
        let mut edited = RulePack::builtin().remove(0);
        edited.text = format!("{}\n", edited.text).into();
        assert!(!edited.is_verified_builtin());
    }

    #[test]
    fn pack_name_defaults_to_file_stem() {
        assert_eq!(default_pack_name("rules/my-pack.toml"), "my-pack");
        assert_eq!(default_pack_name("builtin:pii.toml"), "pii");
    }
}

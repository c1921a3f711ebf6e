//! The one error type of the crate: where a rule pack or a policy went wrong.

use std::fmt;

/// What kind of thing went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A rule pack could not be read, parsed or compiled.
    Rule,
    /// A policy file could not be read or parsed, or holds a bad value.
    Policy,
    /// A file or folder could not be read.
    Io,
}

/// An error from building a [`Firewall`](crate::Firewall), a [`RulePack`](crate::RulePack)
/// or a [`Policy`](crate::Policy).
///
/// It says where: the file (or the name given to an in-memory source), the 1-based line and,
/// for rule packs, the id of the rule, when they are known. Its message never repeats the
/// text being scanned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    source_name: Option<String>,
    line: Option<usize>,
    rule: Option<String>,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            source_name: None,
            line: None,
            rule: None,
            message: message.into(),
        }
    }

    pub(crate) fn rule(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Rule, message)
    }

    pub(crate) fn policy(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Policy, message)
    }

    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> Self {
        Error::new(ErrorKind::Io, err.to_string()).in_source(path.display().to_string())
    }

    pub(crate) fn in_source(mut self, name: impl Into<String>) -> Self {
        self.source_name = Some(name.into());
        self
    }

    pub(crate) fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub(crate) fn for_rule(mut self, id: impl Into<String>) -> Self {
        self.rule = Some(id.into());
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file (or source name) the error is in, when known.
    pub fn file(&self) -> Option<&str> {
        self.source_name.as_deref()
    }

    /// The 1-based line of the file, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The id of the rule at fault, when known.
    pub fn rule_id(&self) -> Option<&str> {
        self.rule.as_deref()
    }

    /// What went wrong, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.source_name, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: ")?,
            (Some(file), None) => write!(f, "{file}: ")?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        if let Some(rule) = &self.rule {
            write!(f, "rule `{rule}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The 1-based line of a byte offset in `src`.
pub(crate) fn line_of(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_and_rule() {
        let e = Error::rule("bad regex")
            .in_source("rules/x.toml")
            .at_line(12)
            .for_rule("secret.x");
        assert_eq!(e.to_string(), "rules/x.toml:12: rule `secret.x`: bad regex");
        assert_eq!(e.file(), Some("rules/x.toml"));
        assert_eq!(e.line(), Some(12));
        assert_eq!(e.rule_id(), Some("secret.x"));
        assert_eq!(e.kind(), ErrorKind::Rule);
    }

    #[test]
    fn line_of_counts_newlines() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a", 99), 1);
    }
}

//! `promptwall scan --files`: secrets (and, on request, other categories) in a tree of files,
//! reported as `path:line:column`, for pre-commit hooks and CI.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use promptwall::{Action, Category, Finding, Firewall, Side};
use serde::Serialize;

use crate::{write_err, CliError, Outcome};

/// Files larger than this are skipped (with a note): lock files and data dumps, not configs.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// How far into a file to look for a NUL byte, the sign of a binary file (as git does).
const BINARY_SNIFF: usize = 8000;

/// The comment that silences findings on its own line and on the next one.
pub const ALLOW_MARKER: &str = "promptwall:allow";

/// What `--files` mode reports.
pub struct FileScan<'a> {
    pub fw: &'a Firewall,
    pub categories: &'a [Category],
    pub side: Side,
    pub json: bool,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    path: &'a str,
    line: usize,
    column: usize,
    #[serde(flatten)]
    finding: &'a Finding,
}

/// How many files were scanned and skipped, and how many findings were reported.
#[derive(Default)]
struct Tally {
    files: usize,
    binary: usize,
    large: usize,
    findings: usize,
    files_with_findings: usize,
}

impl FileScan<'_> {
    /// Walks `paths` (files and folders; folders recursively, honouring `.gitignore`,
    /// `.ignore` and git's exclude files, hidden files included but `.git` skipped) and
    /// reports each finding.
    pub fn run(&self, paths: &[PathBuf], out: &mut impl Write) -> Result<Outcome, CliError> {
        let mut outcome = Outcome::Clean;
        let mut tally = Tally::default();
        let Some((first, rest)) = paths.split_first() else {
            return Ok(outcome);
        };
        let mut walk = ignore::WalkBuilder::new(first);
        for p in rest {
            walk.add(p);
        }
        walk.hidden(false)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git")
            .sort_by_file_name(|a, b| a.cmp(b));
        for entry in walk.build() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    out.flush().map_err(write_err)?;
                    let _ = writeln!(io::stderr(), "promptwall: error: {e}");
                    outcome = Outcome::Error;
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            match self.scan_file(entry.path(), out, &mut tally)? {
                Ok(found) => outcome = outcome.max(found),
                Err(msg) => {
                    out.flush().map_err(write_err)?;
                    let _ = writeln!(io::stderr(), "promptwall: error: {msg}");
                    outcome = Outcome::Error;
                }
            }
        }
        out.flush().map_err(write_err)?;
        if !self.json {
            let mut note = format!(
                "promptwall: {} finding{} in {} of {} file{} scanned",
                tally.findings,
                if tally.findings == 1 { "" } else { "s" },
                tally.files_with_findings,
                tally.files,
                if tally.files == 1 { "" } else { "s" },
            );
            if tally.binary + tally.large > 0 {
                note.push_str(&format!(
                    " ({} binary and {} larger than {} MiB skipped)",
                    tally.binary,
                    tally.large,
                    MAX_FILE_BYTES >> 20
                ));
            }
            let _ = writeln!(io::stderr(), "{note}");
        }
        Ok(outcome)
    }

    /// Scans one file. The outer error is a failed write; the inner one a file that could
    /// not be read.
    fn scan_file(
        &self,
        path: &Path,
        out: &mut impl Write,
        tally: &mut Tally,
    ) -> Result<Result<Outcome, String>, CliError> {
        let name = path.display().to_string();
        let bytes = match read_limited(path) {
            Ok(Some(b)) => b,
            Ok(None) => {
                tally.large += 1;
                return Ok(Ok(Outcome::Clean));
            }
            Err(e) => return Ok(Err(format!("{name}: {e}"))),
        };
        if memchr_nul(&bytes[..bytes.len().min(BINARY_SNIFF)]) {
            tally.binary += 1;
            return Ok(Ok(Outcome::Clean));
        }
        tally.files += 1;
        // Text in another encoding is scanned too: invalid bytes become U+FFFD, so line
        // numbers hold and columns after such a byte may shift.
        let text = String::from_utf8_lossy(&bytes);
        let lines = LineIndex::new(&text);
        let mut n = 0;
        for f in self.fw.sensitive_findings(&text) {
            if !self.counts(&f) {
                continue;
            }
            let (line, column) = lines.position(f.start);
            if lines.allowed(line) {
                continue;
            }
            n += 1;
            if self.json {
                serde_json::to_writer(
                    &mut *out,
                    &JsonFinding {
                        path: &name,
                        line,
                        column,
                        finding: &f,
                    },
                )
                .map_err(|e| CliError(e.to_string()))?;
                out.write_all(b"\n").map_err(write_err)?;
            } else {
                writeln!(
                    out,
                    "{name}:{line}:{column}: {} ({} {:.2}) {:?}",
                    f.rule,
                    f.severity.as_str(),
                    f.score,
                    f.excerpt
                )
                .map_err(write_err)?;
            }
        }
        tally.findings += n;
        if n > 0 {
            tally.files_with_findings += 1;
        }
        Ok(Ok(if n > 0 {
            Outcome::Found
        } else {
            Outcome::Clean
        }))
    }

    /// Whether a finding is reported: its category was asked for, and by itself it reaches
    /// the policy's flag threshold for that category on the scanned side.
    fn counts(&self, f: &Finding) -> bool {
        let policy = self.fw.policy().category(f.category);
        self.categories.contains(&f.category)
            && policy.action_on(self.side, f.score) != Action::Allow
    }
}

fn memchr_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0)
}

/// Reads a whole file; `None` when it is larger than [`MAX_FILE_BYTES`].
fn read_limited(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= MAX_FILE_BYTES).then_some(buf))
}

/// Line starts of a text, to turn byte offsets into 1-based lines and columns.
struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// The 1-based line and 1-based byte column of `offset`.
    fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset);
        (line, offset - self.starts[line - 1] + 1)
    }

    fn line_text(&self, line: usize) -> &str {
        let start = self.starts[line - 1];
        let end = self.starts.get(line).map_or(self.text.len(), |&e| e - 1);
        &self.text[start..end]
    }

    /// Whether findings on `line` are silenced: it, or the line before, holds the marker.
    fn allowed(&self, line: usize) -> bool {
        self.line_text(line).contains(ALLOW_MARKER)
            || (line > 1 && self.line_text(line - 1).contains(ALLOW_MARKER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let idx = LineIndex::new("ab\ncd\n\nxyz");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(1), (1, 2));
        assert_eq!(idx.position(3), (2, 1));
        assert_eq!(idx.position(7), (4, 1));
        assert_eq!(idx.position(9), (4, 3));
        assert_eq!(idx.line_text(3), "");
        assert_eq!(idx.line_text(4), "xyz");
    }

    #[test]
    fn allow_marker_covers_its_line_and_the_next() {
        let idx = LineIndex::new("a\n# promptwall:allow\nb\nc");
        assert!(!idx.allowed(1));
        assert!(idx.allowed(2));
        assert!(idx.allowed(3));
        assert!(!idx.allowed(4));
    }
}

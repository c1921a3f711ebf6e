//! Reading inputs: whole files, standard input, and JSONL lines, with size limits.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::CliError;

/// Largest input read as one text or one JSONL line.
pub const MAX_INPUT_BYTES: usize = 256 << 20;

/// A named source of input: a path, or `-` for standard input.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>, CliError> {
    if path.as_os_str() == "-" {
        Ok(Box::new(BufReader::new(io::stdin())))
    } else {
        let f = File::open(path).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
        Ok(Box::new(BufReader::new(f)))
    }
}

/// The display name of a path (`-` is `<stdin>`).
pub fn name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads a whole input as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, CliError> {
    let mut buf = Vec::new();
    open(path)?
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| CliError(format!("{}: {e}", name(path))))?;
    if buf.len() > MAX_INPUT_BYTES {
        return Err(CliError(format!(
            "{}: input is larger than {MAX_INPUT_BYTES} bytes",
            name(path)
        )));
    }
    String::from_utf8(buf).map_err(|e| {
        CliError(format!(
            "{}: not valid UTF-8 (first bad byte at offset {})",
            name(path),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// One line of a JSONL input.
pub enum Line {
    /// The line's bytes, without the line break.
    Bytes(Vec<u8>),
    /// The line was longer than the limit (its bytes were skipped).
    TooLong,
}

/// Reads JSONL lines one at a time with a length limit, so one huge line cannot exhaust
/// memory.
pub struct Lines {
    reader: Box<dyn BufRead>,
    limit: usize,
    done: bool,
}

impl Lines {
    pub fn new(reader: Box<dyn BufRead>) -> Lines {
        Lines {
            reader,
            limit: MAX_INPUT_BYTES,
            done: false,
        }
    }

    /// The next line, or `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut too_long = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                self.done = true;
                if out.is_empty() && !too_long {
                    return Ok(None);
                }
                break;
            }
            let (take, newline) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                if out.len() + take > self.limit {
                    too_long = true;
                    out = Vec::new();
                } else {
                    out.extend_from_slice(&chunk[..take]);
                }
            }
            self.reader.consume(take + usize::from(newline));
            if newline {
                break;
            }
        }
        if too_long {
            return Ok(Some(Line::TooLong));
        }
        if out.last() == Some(&b'\r') {
            out.pop();
        }
        Ok(Some(Line::Bytes(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &'static [u8], limit: usize) -> Vec<Option<Vec<u8>>> {
        let mut l = Lines::new(Box::new(BufReader::with_capacity(4, data)));
        l.limit = limit;
        let mut out = Vec::new();
        while let Some(line) = l.next_line().expect("reads") {
            out.push(match line {
                Line::Bytes(b) => Some(b),
                Line::TooLong => None,
            });
        }
        out
    }

    #[test]
    fn splits_lines_and_limits_length() {
        assert_eq!(
            lines(b"ab\r\ncdefghijk\n\nz", 5),
            vec![
                Some(b"ab".to_vec()),
                None,
                Some(vec![]),
                Some(b"z".to_vec())
            ]
        );
        assert_eq!(lines(b"", 5), Vec::<Option<Vec<u8>>>::new());
        assert_eq!(lines(b"a\n", 5), vec![Some(b"a".to_vec())]);
    }
}

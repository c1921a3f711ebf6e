//! Writes the conformance table (`tests/data/conformance/*.toml`) to stdout in a flat
//! line format that the C tests read without a TOML parser:
//!
//! ```text
//! case <name>
//! side prompt|response
//! text <escaped>
//! action <action>            (optional)
//! rule <id>                  (repeated: must be found)
//! absent <id>                (repeated: must not be found)
//! flagged [<category> ...]   (optional: exactly these categories reach 0.5)
//! span <id> <escaped>        (repeated: the text of the rule's first finding)
//! redacted <escaped>         (optional)
//! end
//! ```
//!
//! Escapes: `\\`, `\n`, `\r`, `\t` and `\xHH`
//! for the other control bytes; everything else, UTF-8 included, is written as is.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io::Write as _;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn main() {
    let mut out = String::new();
    for case in promptwall_tests::load_cases() {
        let _ = writeln!(out, "case {}", case.name);
        let _ = writeln!(out, "side {}", case.side);
        let _ = writeln!(out, "text {}", escape(&case.text));
        if let Some(a) = &case.action {
            let _ = writeln!(out, "action {a}");
        }
        for r in &case.rules {
            let _ = writeln!(out, "rule {r}");
        }
        for r in &case.absent {
            let _ = writeln!(out, "absent {r}");
        }
        if let Some(f) = &case.flagged {
            let _ = writeln!(out, "flagged {}", f.join(" "));
        }
        for (rule, want) in &case.spans {
            let _ = writeln!(out, "span {rule} {}", escape(want));
        }
        if let Some(r) = &case.redacted {
            let _ = writeln!(out, "redacted {}", escape(r));
        }
        out.push_str("end\n");
    }
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    if lock
        .write_all(out.as_bytes())
        .and_then(|_| lock.flush())
        .is_err()
    {
        std::process::exit(1);
    }
}

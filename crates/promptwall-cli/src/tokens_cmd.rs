//! `promptwall tokens`: exact token counts.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use promptwall::tokens::Encoding;

use crate::{input, write_err, CliError, Outcome};

/// An encoding named on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum EncodingArg {
    /// GPT-4o, GPT-4.1, o1, o3 and later.
    #[value(name = "o200k_base")]
    O200kBase,
    /// GPT-4, GPT-3.5-turbo, text-embedding-3.
    #[value(name = "cl100k_base")]
    Cl100kBase,
}

impl From<EncodingArg> for Encoding {
    fn from(e: EncodingArg) -> Encoding {
        match e {
            EncodingArg::O200kBase => Encoding::O200kBase,
            EncodingArg::Cl100kBase => Encoding::Cl100kBase,
        }
    }
}

/// Arguments of `promptwall tokens`.
#[derive(Args, Debug)]
pub struct TokensArgs {
    /// The encoding to count in.
    #[arg(long, short, value_enum, default_value = "o200k_base")]
    encoding: EncodingArg,

    /// Texts to count (`-` for standard input, the default). With several, each count is
    /// followed by the path, then a total.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Prints the exact token count of each input.
pub fn run(a: &TokensArgs) -> Result<Outcome, CliError> {
    let enc = Encoding::from(a.encoding);
    let paths = if a.paths.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        a.paths.clone()
    };
    let mut out = io::stdout().lock();
    let mut total = 0usize;
    for p in &paths {
        let text = input::read_text(p)?;
        let n = enc.count(&text);
        total += n;
        if paths.len() == 1 {
            writeln!(out, "{n}").map_err(write_err)?;
        } else {
            writeln!(out, "{n}\t{}", input::name(p)).map_err(write_err)?;
        }
    }
    if paths.len() > 1 {
        writeln!(out, "{total}\ttotal").map_err(write_err)?;
    }
    Ok(Outcome::Clean)
}

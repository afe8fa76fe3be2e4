//! All terminal output of the CLI: human lines or one JSON document
//! (`--json`), `--quiet` and `-v`, colour only on a terminal.

use std::io::IsTerminal;

/// How much human text to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// How and how much to print.
#[derive(Debug)]
pub(crate) struct Printer {
    json: bool,
    verbosity: Verbosity,
    color: bool,
}

impl Printer {
    pub(crate) fn new(json: bool, quiet: bool, verbose: bool) -> Self {
        let verbosity = match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, true) => Verbosity::Verbose,
            (false, false) => Verbosity::Normal,
        };
        Self {
            json,
            verbosity,
            color: std::io::stderr().is_terminal() && std::io::stdout().is_terminal(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// The command's result: `human` normally, `json` with `--json`.
    #[expect(clippy::print_stdout, reason = "the CLI's result output")]
    pub(crate) fn result(&self, human: &str, json: &serde_json::Value) {
        if self.json {
            println!("{json}");
        } else if self.verbosity != Verbosity::Quiet {
            println!("{human}");
        }
    }

    /// A progress or detail line (stderr, hidden by `--quiet` and `--json`).
    #[expect(clippy::print_stderr, reason = "the CLI's progress output")]
    pub(crate) fn step(&self, text: &str) {
        if self.verbosity != Verbosity::Quiet && !self.json {
            eprintln!("{}", self.paint("2", text));
        }
    }

    /// Extra detail with `-v`.
    #[expect(clippy::print_stderr, reason = "the CLI's verbose output")]
    pub(crate) fn detail(&self, text: &str) {
        if self.verbosity == Verbosity::Verbose && !self.json {
            eprintln!("{}", self.paint("2", text));
        }
    }

    /// A problem found by a verifier.
    pub(crate) fn problem_prefix(&self) -> String {
        self.paint("31", "problem:")
    }

    /// A success marker.
    pub(crate) fn ok(&self, text: &str) -> String {
        self.paint("32", text)
    }

    /// A fatal error with an optional hint (always printed, to stderr).
    #[expect(clippy::print_stderr, reason = "the CLI's error output")]
    pub(crate) fn error(&self, error: &anyhow::Error) {
        if self.json {
            eprintln!("{}", serde_json::json!({ "error": format!("{error:#}") }));
            return;
        }
        eprintln!("{} {error:#}", self.paint("31", "error:"));
    }
}

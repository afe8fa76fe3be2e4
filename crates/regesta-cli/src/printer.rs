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

/// An upload progress bar on stderr; indicatif hides it when stderr is not
/// a terminal, and `--quiet`/`--json` never create it.
pub(crate) struct UploadBar(indicatif::ProgressBar);

impl regesta_client::http::Reporter for UploadBar {
    fn sent(&self, sent: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(sent);
        if sent >= total {
            self.0.finish_and_clear();
        }
    }
}

impl Printer {
    /// A progress reporter for an upload (hidden in quiet and JSON modes).
    pub(crate) fn upload_bar(&self) -> std::sync::Arc<UploadBar> {
        let bar = if self.json || self.verbosity == Verbosity::Quiet {
            indicatif::ProgressBar::hidden()
        } else {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} uploading {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        };
        std::sync::Arc::new(UploadBar(bar))
    }
}

impl Printer {
    /// A spinner with a running message (hidden in quiet and JSON modes and
    /// when stderr is not a terminal).
    pub(crate) fn spinner(&self) -> indicatif::ProgressBar {
        if self.json || self.verbosity == Verbosity::Quiet {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }
}

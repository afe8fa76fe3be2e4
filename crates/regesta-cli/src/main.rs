//! The `regesta` command: `regesta serve` runs the registry; the client
//! commands (publish, verify, mirror, …) arrive with the CLI issue.
#![expect(
    clippy::doc_markdown,
    reason = "doc comments of the clap types are --help text, not rustdoc"
)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod serve;

/// Regesta: a verifiable package registry.
#[derive(Debug, Parser)]
#[command(name = "regesta", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the registry on the embedded store (SQLite + files).
    ///
    /// Settings come from flags, then REGESTA_* environment variables, then
    /// defaults; see docs/configuration.md.
    ///
    /// Examples:
    ///   regesta serve
    ///   regesta serve --dev --port 4321
    ///   REGESTA_DATA_DIR=/var/lib/regesta regesta serve --host 0.0.0.0
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
}

/// Flags of `regesta serve` (each overrides its environment variable).
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Listen address [env: HOST] [default: 127.0.0.1]
    #[arg(long)]
    host: Option<IpAddr>,
    /// Listen port [env: PORT] [default: 4321]
    #[arg(long)]
    port: Option<u16>,
    /// Data directory [env: REGESTA_DATA_DIR] [default: ./regesta-data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Dev mode: serve *.localhost bindings from files, including the public
    /// demo key for dev.localhost. Never use in production. [env: REGESTA_DEV]
    #[arg(long)]
    dev: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(&args),
    }
}

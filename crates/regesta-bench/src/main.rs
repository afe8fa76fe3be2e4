//! `regesta-bench`: the Rust half of `scripts/bench`. `generate` fills an
//! embedded data directory at scale without HTTP; `publish` is the publish
//! load client. Both print one JSON document on stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

mod fixture;
mod generate;
mod load;

#[derive(Debug, Parser)]
#[command(
    name = "regesta-bench",
    about = "Benchmark data generator and load client"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fill an embedded data directory (stop any server on it first).
    Generate {
        /// The data directory (`regesta serve --data-dir`).
        #[arg(long)]
        data_dir: PathBuf,
        /// Also write the named benchmark fixtures.
        #[arg(long)]
        fixtures: bool,
        /// Versions of the big fixture package.
        #[arg(long, default_value_t = 10_000)]
        big_versions: usize,
        /// Scale packages.
        #[arg(long, default_value_t = 0)]
        packages: usize,
        /// Events across the scale packages (two releases per package, the
        /// rest channel moves).
        #[arg(long, default_value_t = 0)]
        events: usize,
        /// Packages written concurrently.
        #[arg(long, default_value_t = 8)]
        jobs: usize,
    },
    /// Publish new small packages for a fixed time.
    Publish {
        /// Registry URL.
        #[arg(long)]
        registry: String,
        /// Concurrent publishers.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Seconds to publish for.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Package name prefix (unique per run).
        #[arg(long)]
        prefix: String,
        /// Requests built before the clock starts (default: 2,500 per
        /// second of the run, at most 100,000); 0 builds each one while
        /// timed, as a steady mixed load (the soak) wants.
        #[arg(long)]
        prebuilt: Option<usize>,
    },
}

async fn run(cli: Cli) -> anyhow::Result<serde_json::Value> {
    match cli.command {
        Command::Generate {
            data_dir,
            fixtures,
            big_versions,
            packages,
            events,
            jobs,
        } => {
            anyhow::ensure!(
                packages == 0 || events >= packages,
                "--events must be at least --packages"
            );
            let plan = generate::Plan {
                fixtures,
                big_versions,
                packages,
                events,
                jobs,
            };
            let started = Instant::now();
            let written = generate::generate(&data_dir, &plan).await?;
            let seconds = started.elapsed().as_secs_f64();
            #[expect(clippy::cast_precision_loss, reason = "an event count")]
            let rate = written as f64 / seconds;
            Ok(serde_json::json!({
                "events": written,
                "seconds": seconds,
                "events_per_second": rate,
            }))
        }
        Command::Publish {
            registry,
            concurrency,
            seconds,
            prefix,
            prebuilt,
        } => load::publish(&registry, &prefix, concurrency, seconds, prebuilt).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(summary) => {
            #[expect(clippy::print_stdout, reason = "the tool's one JSON result")]
            {
                println!("{summary}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            #[expect(clippy::print_stderr, reason = "the tool's error report")]
            {
                eprintln!("regesta-bench: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

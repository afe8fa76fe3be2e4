//! The `regesta` command: the registry server (`regesta serve`) and the
//! client for publishers, auditors and mirror operators.
#![expect(
    clippy::doc_markdown,
    reason = "doc comments of the clap types are --help text, not rustdoc"
)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// mimalloc instead of the system allocator: a request allocates and frees
/// dozens of small buffers, and glibc's malloc/free took ~14% of the CPU
/// of a cached read under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod archive;
mod compare;
mod keys;
mod log_check;
mod log_verify;
mod mirror;
mod mirror_bundles;
mod mirror_files;
mod mirror_inventory;
mod mirror_log;
mod mirror_saves;
mod printer;
mod project;
mod serve;
mod sumdb_check;
mod verify;
mod verify_cargo;
mod verify_events;
mod verify_go;
mod verify_npm;
mod verify_pypi;
mod write;

use printer::Printer;

/// Regesta: a package registry you can verify instead of trust.
#[derive(Debug, Parser)]
#[command(name = "regesta", version, about, long_about = None)]
struct Cli {
    /// Print one JSON document instead of human text.
    #[arg(long, global = true)]
    json: bool,
    /// Print only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Print more detail.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

/// Where the registry is.
#[derive(Debug, Args)]
struct RegistryArg {
    /// Registry URL.
    #[arg(
        long,
        env = "REGESTA_REGISTRY",
        default_value = "http://127.0.0.1:4321"
    )]
    registry: String,
}

/// Which key signs a write.
#[derive(Debug, Args)]
struct KeyArgs {
    /// Private key file written by `regesta keygen` (private-key.json).
    #[arg(long, value_name = "FILE")]
    auth_key: Option<PathBuf>,
    /// Unencrypted OpenSSH ssh-ed25519 private key.
    #[arg(long, value_name = "FILE")]
    ssh_key: Option<PathBuf>,
    /// Sign with an SSH key through a program (`ssh-keygen -Y sign`), e.g. a
    /// key in an agent: a public key line, a .pub file, or a private key path.
    #[arg(long, value_name = "KEY")]
    ssh_signing_key: Option<String>,
    /// The signing program for --ssh-signing-key.
    #[arg(long, value_name = "PROGRAM")]
    ssh_signing_program: Option<String>,
    /// Key id in the domain binding (default: the key file's kid, or the
    /// ssh-ed25519:<fingerprint> of an SSH key).
    #[arg(long)]
    kid: Option<String>,
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
    /// Run a transparency-log witness (c2sp.org/tlog-witness): it cosigns
    /// checkpoints of the logs whose keys it is given, only when they are
    /// consistent with the last checkpoint it cosigned for that log.
    ///
    /// Example:
    ///   regesta witness --name witness.example/w1 --key-file w1.key \
    ///       --log "registry.example/log+1a2b3c4d+AU…" --listen 127.0.0.1:4322
    #[command(verbatim_doc_comment)]
    Witness(WitnessArgs),
    /// Copy a registry from the embedded store (SQLite + files) to
    /// PostgreSQL + S3-compatible object storage, event by event in log
    /// order; resumable (a rerun copies only what is missing) and verified
    /// at the end. Stop the embedded server first.
    ///
    /// Example:
    ///   AWS_ENDPOINT_URL=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… \
    ///   regesta migrate --from ./regesta-data --to postgres://regesta@db/regesta \
    ///       --objects s3://registry-objects/prod
    #[command(verbatim_doc_comment)]
    Migrate(MigrateArgs),
    /// Create a signing key and the domain binding that authorizes it.
    ///
    /// Examples:
    ///   regesta keygen ./keys --domain example.com
    ///   regesta keygen --ssh ~/.ssh/id_ed25519.pub --domain example.com
    #[command(verbatim_doc_comment)]
    Keygen {
        /// Output directory (private-key.json, public-key.json, domain-binding.json).
        #[arg(required_unless_present = "ssh")]
        dir: Option<PathBuf>,
        /// The owner domain the key writes for.
        #[arg(long)]
        domain: String,
        /// Key id (default: a random ed25519:… id).
        #[arg(long)]
        kid: Option<String>,
        /// Print the binding for an existing ssh-ed25519 public key (line or .pub file).
        #[arg(long, value_name = "PUB")]
        ssh: Option<String>,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Publish a release signed by the owner domain's key.
    ///
    /// An npm project's id comes from package.json "@domain/name" (or
    /// regesta.json "id"); its install tarball from `npm pack` (`pnpm pack`
    /// when pnpm-lock.yaml exists). A Python project's id is
    /// pypi:<domain>/<normalized name> from pyproject.toml and --domain (or
    /// regesta.json "domain"); its sdist and wheel from `uv build`. The
    /// source archive comes from regesta.json source.include/exclude, built
    /// deterministically.
    ///
    /// Examples:
    ///   regesta publish --auth-key keys/private-key.json
    ///   regesta publish ./pkg --ssh-key ~/.ssh/id_ed25519 --registry https://registry.example
    ///   regesta publish --dry-run
    ///   regesta publish ./py-lib --domain example.com --auth-key keys/private-key.json
    ///   regesta publish --domain example.com \
    ///       --artifact dist/tool-1.0.0.tar.gz --artifact dist/tool-1.0.0-py3-none-any.whl
    #[command(verbatim_doc_comment)]
    Publish {
        /// Project directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[command(flatten)]
        registry: RegistryArg,
        #[command(flatten)]
        key: KeyArgs,
        /// Show what would be published without sending anything.
        #[arg(long)]
        dry_run: bool,
        /// Package id (overrides regesta.json and package.json).
        #[arg(long)]
        id: Option<String>,
        /// Version (overrides regesta.json and package.json).
        #[arg(long)]
        version: Option<String>,
        /// The owner domain, for ecosystems whose names carry none (a
        /// pyproject.toml project: `pypi:<domain>/<name>`).
        #[arg(long)]
        domain: Option<String>,
        /// An artifact file built elsewhere, instead of the ecosystem's own
        /// build (repeatable: a wheel and an sdist). Wheels, sdists and npm
        /// tarballs are recognised by their file names.
        #[arg(long)]
        artifact: Vec<PathBuf>,
        /// The artifacts' format, for files no ecosystem recognises.
        #[arg(long)]
        format: Option<String>,
        /// The artifacts' role (with --artifact).
        #[arg(long, default_value = "install")]
        role: String,
        /// The artifacts' media type, for files no ecosystem recognises
        /// (default application/octet-stream).
        #[arg(long)]
        media_type: Option<String>,
    },
    /// Move or delete a channel (dist-tag), signed by the owner domain.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Verify one release from public data: envelope, event, manifest,
    /// source and artifacts, digests and transport headers.
    ///
    /// Exit code: 0 ok, 1 problems found, 2 could not check.
    ///
    /// Example: regesta verify npm:example.com/sdk@1.0.0
    #[command(verbatim_doc_comment)]
    Verify {
        /// <id>@<version>
        target: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Verify a package: every release, and its state replayed from the log.
    ///
    /// Example: regesta verify-package npm:example.com/sdk
    #[command(verbatim_doc_comment)]
    VerifyPackage {
        /// Package id.
        id: String,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Verify the whole event log: ids, refetches, duplicates, channel
    /// consistency.
    ///
    /// Example: regesta verify-log --registry https://registry.example
    #[command(verbatim_doc_comment)]
    VerifyLog {
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Mirror a registry into a directory, verifying everything first;
    /// a second run resumes after the last mirrored event.
    ///
    /// Example: regesta mirror ./mirror --registry https://registry.example
    #[command(verbatim_doc_comment)]
    Mirror {
        /// Mirror directory.
        dir: PathBuf,
        #[command(flatten)]
        registry: RegistryArg,
    },
    /// Compare two mirror directories; differences are classified by the
    /// lowest layer that disagrees (event-divergence, event-mutation,
    /// object, release, state). Exit 0 equal, 1 different.
    ///
    /// Example: regesta compare-mirrors ./mirror-a ./mirror-b
    #[command(verbatim_doc_comment)]
    CompareMirrors {
        /// First mirror.
        a: PathBuf,
        /// Second mirror.
        b: PathBuf,
    },
    /// The transparency log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Compare two registries' event logs: exit 0 when one is a prefix of
    /// the other, 1 when they diverge.
    ///
    /// Example: regesta compare-logs https://a.example https://b.example
    #[command(verbatim_doc_comment)]
    CompareLogs {
        /// First registry URL.
        a: String,
        /// Second registry URL.
        b: String,
    },
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Verify the registry's signed checkpoint, its witness cosignatures and
    /// its consistency with the last checkpoint this client verified
    /// (kept per origin under $REGESTA_STATE_DIR, $XDG_STATE_HOME/regesta or
    /// ~/.local/state/regesta). On a fork, prints both signed checkpoints
    /// as proof of misbehaviour and exits 1.
    ///
    /// Without --log-key the key served at /log/key is trusted on first use
    /// and pinned.
    ///
    /// Example: regesta log verify --log-key "registry.example/log+1a2b3c4d+AU…"
    #[command(verbatim_doc_comment)]
    Verify {
        #[command(flatten)]
        registry: RegistryArg,
        /// The log's verifier key (`<origin>+<key id>+<base64>`).
        #[arg(long, env = "REGESTA_LOG_KEY")]
        log_key: Option<String>,
        /// A witness verifier key whose cosignatures count (repeatable).
        #[arg(long = "witness", value_name = "KEY")]
        witnesses: Vec<String>,
        /// Witness cosignatures required.
        #[arg(long, default_value_t = 0)]
        quorum: usize,
        /// Where verified checkpoints are kept.
        #[arg(long, value_name = "DIR", env = "REGESTA_STATE_DIR")]
        state_dir: Option<PathBuf>,
        /// The XDG state home (default state dir: <it>/regesta).
        #[arg(long, hide = true, env = "XDG_STATE_HOME")]
        xdg_state_home: Option<PathBuf>,
        /// The home directory (default state dir: ~/.local/state/regesta).
        #[arg(long, hide = true, env = "HOME")]
        home: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ChannelCommand {
    /// Point a channel at a published version.
    ///
    /// Example: regesta channel set npm:example.com/sdk beta 1.1.0-rc.1 --auth-key keys/private-key.json
    #[command(verbatim_doc_comment)]
    Set {
        /// Package id.
        id: String,
        /// Channel name.
        channel: String,
        /// Target version.
        version: String,
        #[command(flatten)]
        registry: RegistryArg,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Delete a channel.
    ///
    /// Example: regesta channel rm npm:example.com/sdk beta --auth-key keys/private-key.json
    #[command(verbatim_doc_comment)]
    Rm {
        /// Package id.
        id: String,
        /// Channel name.
        channel: String,
        #[command(flatten)]
        registry: RegistryArg,
        #[command(flatten)]
        key: KeyArgs,
    },
}

/// Flags of `regesta migrate`.
#[derive(Debug, clap::Args)]
struct MigrateArgs {
    /// The embedded data dir to copy.
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// The PostgreSQL database to copy into.
    #[arg(long, value_name = "URL")]
    to: String,
    /// The bucket (and prefix) to copy objects into: s3://bucket[/prefix].
    #[arg(long, value_name = "URL")]
    objects: String,
    /// S3-compatible endpoint.
    #[arg(long, env = "AWS_ENDPOINT_URL", hide_env_values = true)]
    s3_endpoint: Option<String>,
    /// S3 region.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    s3_region: String,
    /// S3 access key id.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    s3_access_key_id: Option<String>,
    /// S3 secret access key.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    s3_secret_access_key: Option<String>,
}

/// Flags of `regesta witness`.
#[derive(Debug, clap::Args)]
struct WitnessArgs {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:4322")]
    listen: std::net::SocketAddr,
    /// The witness's key name (a schema-less URL).
    #[arg(long)]
    name: String,
    /// Its cosigning key (created, mode 0600, when missing).
    #[arg(long, value_name = "FILE")]
    key_file: PathBuf,
    /// A log it witnesses (repeatable): its verifier key, whose name is
    /// the checkpoints' origin, or `KEY ORIGIN` for a log whose origin
    /// line is not its key's name (a Go checksum database:
    /// `<key> go.sum database tree`).
    #[arg(long = "log", value_name = "KEY", required = true)]
    logs: Vec<String>,
    /// Where it keeps the latest cosigned checkpoint per log
    /// [default: <key file>.state.json].
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,
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

fn signer(key: &KeyArgs) -> anyhow::Result<regesta_client::sign::Signer> {
    keys::load_signer(keys::KeyChoice {
        auth_key: key.auth_key.as_ref(),
        ssh_key: key.ssh_key.as_ref(),
        ssh_signing_program: key.ssh_signing_program.as_deref(),
        ssh_signing_key: key.ssh_signing_key.as_deref(),
        kid: key.kid.as_deref(),
    })
}

/// `regesta publish`.
async fn run_publish(command: Command, printer: &Printer) -> anyhow::Result<u8> {
    let Command::Publish {
        dir,
        registry,
        key,
        dry_run,
        id,
        version,
        domain,
        artifact,
        format,
        role,
        media_type,
    } = command
    else {
        anyhow::bail!("not a publish command");
    };
    let overrides = project::Overrides {
        id,
        version,
        domain,
        artifacts: artifact
            .into_iter()
            .map(|file| project::GenericArtifact {
                file,
                format: format.clone(),
                role: role.clone(),
                media_type: media_type.clone(),
            })
            .collect(),
    };
    let signer = if dry_run
        && key.auth_key.is_none()
        && key.ssh_key.is_none()
        && key.ssh_signing_key.is_none()
    {
        None
    } else {
        Some(signer(&key)?)
    };
    write::publish(
        &dir,
        &registry.registry,
        signer.as_ref(),
        &overrides,
        dry_run,
        printer,
    )
    .await?;
    Ok(0)
}

async fn run(command: Command, printer: &Printer) -> anyhow::Result<u8> {
    match command {
        Command::Serve(_) | Command::Witness(_) => Ok(2),
        Command::Migrate(args) => serve::migrate(&args, printer).await,
        Command::Keygen {
            dir,
            domain,
            kid,
            ssh,
            force,
        } => {
            match (ssh, dir) {
                (Some(public), _) => keys::keygen_ssh(&public, &domain, kid.as_deref(), printer)?,
                (None, Some(dir)) => keys::keygen(&dir, &domain, kid.as_deref(), force, printer)?,
                (None, None) => anyhow::bail!("give an output directory or --ssh"),
            }
            Ok(0)
        }
        publish @ Command::Publish { .. } => run_publish(publish, printer).await,
        Command::Channel(ChannelCommand::Set {
            id,
            channel,
            version,
            registry,
            key,
        }) => {
            write::channel(
                &registry.registry,
                &signer(&key)?,
                &id,
                &channel,
                Some(&version),
                printer,
            )
            .await?;
            Ok(0)
        }
        Command::Channel(ChannelCommand::Rm {
            id,
            channel,
            registry,
            key,
        }) => {
            write::channel(
                &registry.registry,
                &signer(&key)?,
                &id,
                &channel,
                None,
                printer,
            )
            .await?;
            Ok(0)
        }
        Command::Verify { target, registry } => {
            verify::verify(&registry.registry, &target, printer).await
        }
        Command::VerifyPackage { id, registry } => {
            verify::verify_package(&registry.registry, &id, printer).await
        }
        Command::VerifyLog { registry } => verify::verify_log(&registry.registry, printer).await,
        Command::Mirror { dir, registry } => {
            mirror::mirror(&dir, &registry.registry, printer).await
        }
        Command::CompareMirrors { a, b } => compare::compare_mirrors(&a, &b, printer),
        Command::CompareLogs { a, b } => compare::compare_logs(&a, &b, printer).await,
        Command::Log(LogCommand::Verify {
            registry,
            log_key,
            witnesses,
            quorum,
            state_dir,
            xdg_state_home,
            home,
        }) => {
            let state_dir = state_dir
                .or_else(|| xdg_state_home.map(|d| d.join("regesta")))
                .or_else(|| home.map(|d| d.join(".local/state/regesta")))
                .ok_or_else(|| anyhow::anyhow!("no state dir: set --state-dir or HOME"))?;
            let trust = log_verify::Trust {
                log_key,
                witnesses,
                quorum,
                state_dir,
            };
            log_verify::verify(&registry.registry, &trust, printer).await
        }
    }
}

/// Threads of the command-line runtime's blocking pool (see `main`).
const BLOCKING_THREADS: usize = 8;

fn main() -> ExitCode {
    // mimalloc asks for transparent huge pages on the large regions it
    // reserves, and a huge page is committed whole (2 MiB) when any byte
    // of it is touched: a heap of many small buffers then holds two to
    // three times the memory it uses (a mirror of 10,000 events: 116 MiB
    // resident, against 51 MiB with 4 KiB pages, at the same speed).
    // Inherited by the tools the CLI runs (`npm pack`, `cargo package`,
    // `uv build`, `ssh-keygen`), which lose nothing by it.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let cli = Cli::parse();
    let printer = Printer::new(cli.json, cli.quiet, cli.verbose);
    if let Command::Serve(args) = &cli.command {
        return serve::run(args);
    }
    if let Command::Witness(args) = &cli.command {
        return serve::run_witness(args);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // The blocking pool hashes and writes for verifiers and mirrors. A
        // few threads keep both cores busy; hundreds would each keep their
        // own allocator pages, and a mirror's memory would grow with them.
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            printer.error(&error.into());
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command, &printer)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            printer.error(&error);
            ExitCode::from(2)
        }
    }
}

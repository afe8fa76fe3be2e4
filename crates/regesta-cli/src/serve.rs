//! `regesta serve`.

use std::process::ExitCode;

use anyhow::Context as _;
use regesta_server::Config;

use crate::printer::Printer;
use crate::{MigrateArgs, ServeArgs, WitnessArgs};

/// Applies the flags over the environment configuration.
fn config(args: &ServeArgs) -> anyhow::Result<Config> {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place the server's environment is read"
    )]
    let mut config = Config::from_env(|name| std::env::var(name).ok())?;
    if let Some(host) = args.host {
        config.host = host;
    }
    if let Some(port) = args.port {
        config.port = port;
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir.clone_from(dir);
    }
    if args.dev {
        config.dev = true;
    }
    config.validate()?;
    Ok(config)
}

/// Structured JSON logs on stdout, written by a background thread so a slow
/// terminal or pipe never holds up a request (see [`regesta_server::logs`]).
fn init_logs() -> regesta_server::logs::SinkGuard {
    let guard = regesta_server::logs::install();
    let writer = || regesta_server::logs::SinkWriter;
    let filter = tracing_subscriber::EnvFilter::try_from_env("REGESTA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_writer(writer)
        .with_env_filter(filter)
        .with_current_span(false)
        .init();
    guard
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!(target: "regesta.server", "shutting down");
}

async fn serve(mut config: Config) -> anyhow::Result<()> {
    let address = std::net::SocketAddr::new(config.host, config.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener.local_addr()?;
    // With `--port 0` the real port is only known now; links use it.
    config.port = bound.port();
    let dev = config.dev;
    let data_dir = config.data_dir.display().to_string();
    let public = config.public_base();
    let header_timeout = std::time::Duration::from_millis(config.header_timeout_ms);
    let (app, _site) = regesta_server::build(config).await?;
    if dev {
        tracing::warn!(
            target: "regesta.server",
            kid = regesta_server::dev::DEMO_KID,
            "DEV MODE: *.localhost bindings come from local files and dev.localhost uses the \
             project's PUBLIC demo key (src/dev/demo-private-key.json). Anyone can sign for \
             *.localhost. Never run dev mode in production."
        );
    }
    tracing::info!(target: "regesta.server", address = %bound, public, data_dir, dev, "regesta listening");
    regesta_server::serve(listener, app, header_timeout, shutdown_signal()).await?;
    Ok(())
}

/// Runs the server until SIGTERM or SIGINT.
pub(crate) fn run(args: &ServeArgs) -> ExitCode {
    let config = match config(args) {
        Ok(config) => config,
        Err(error) => {
            report(&format!("regesta serve: {error:#}"));
            return ExitCode::from(2);
        }
    };
    let _guard = init_logs();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // An idle worker hands its batch of request lines to the writer.
        .on_thread_park(regesta_server::logs::flush_thread)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            report(&format!("regesta serve: cannot start the runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(target: "regesta.server", error = %format!("{error:#}"), "regesta serve failed");
            report(&format!("regesta serve: {error:#}"));
            ExitCode::FAILURE
        }
    }
}

async fn witness(args: &WitnessArgs) -> anyhow::Result<()> {
    let state_file = args.state_file.clone().unwrap_or_else(|| {
        let mut name = args.key_file.clone().into_os_string();
        name.push(".state.json");
        name.into()
    });
    let config = regesta_server::witness::WitnessConfig {
        name: args.name.clone(),
        key_file: args.key_file.clone(),
        logs: args.logs.clone(),
        state_file,
    };
    let (router, signer) =
        regesta_server::witness::router(&config).map_err(|e| anyhow::anyhow!(e))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let bound = listener.local_addr()?;
    tracing::info!(
        target: "regesta.witness",
        address = %bound,
        verifier_key = %signer.verifier_key(),
        "witness listening"
    );
    regesta_server::witness::serve(listener, router, shutdown_signal()).await?;
    Ok(())
}

/// Runs a witness until SIGTERM or SIGINT.
pub(crate) fn run_witness(args: &WitnessArgs) -> ExitCode {
    let _guard = init_logs();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            report(&format!(
                "regesta witness: cannot start the runtime: {error}"
            ));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(witness(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&format!("regesta witness: {error:#}"));
            ExitCode::FAILURE
        }
    }
}

/// `regesta migrate`.
pub(crate) async fn migrate(args: &MigrateArgs, printer: &Printer) -> anyhow::Result<u8> {
    let (bucket, prefix) = regesta_server::s3_location(&args.objects)
        .map_err(|problem| anyhow::anyhow!("--objects {problem}"))?;
    let objects = regesta_server::config::ObjectStoreConfig {
        bucket,
        prefix,
        endpoint: args.s3_endpoint.clone(),
        region: args.s3_region.clone(),
        access_key_id: args.s3_access_key_id.clone(),
        secret_access_key: args
            .s3_secret_access_key
            .clone()
            .map(regesta_server::config::Secret::new),
        redirect: false,
    };
    let to = regesta_server::config::Secret::new(args.to.clone());
    let spinner = printer.spinner();
    let progress = |n: u64| spinner.set_message(format!("{n} events copied"));
    let done = regesta_server::migrate::run(&args.from, &to, &objects, &progress).await?;
    spinner.finish_and_clear();
    printer.result(
        &format!(
            "{} {} events and {} objects copied; the target holds all {} events of the source, verified",
            printer.ok("migrated"),
            done.events,
            done.objects,
            done.total
        ),
        &serde_json::json!({"events": done.events, "objects": done.objects, "total": done.total}),
    );
    Ok(0)
}

#[expect(clippy::print_stderr, reason = "the binary's own terminal output")]
fn report(message: &str) {
    eprintln!("{message}");
}

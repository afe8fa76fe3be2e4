//! Regesta's HTTP transport: the v0 core routes on axum, with the error
//! envelope mapped in one place, request ids and logs, CORS, size limits,
//! and the dev-mode `dev.localhost` site.
//!
//! [`build`] wires the embedded store from a [`Config`]; [`router`] turns any
//! registry into an axum router; [`serve`] runs it until a shutdown signal.

pub mod config;
pub mod dev;
mod go_sumdb;
pub mod hot;
pub use regesta_http::error;
pub use regesta_store::files;
pub mod http;
mod listen;
pub use listen::serve;
pub mod logs;
pub mod middleware;
pub mod migrate;
pub mod ratelimit;
pub mod readiness;
mod routes;
pub mod state;
pub mod tlog;
pub mod witness;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse;
use regesta_core::{Clock, Registry};
use regesta_protocol::Timestamp;
use regesta_store::fs::FsBlobs;
use regesta_store::sqlite::SqliteDb;
use regesta_trust::{BindingSource, FetchSettings, HttpsBindings, LocalFirst};

pub use config::{Config, ConfigError};

/// Parses an `s3://bucket[/prefix]` location into bucket and prefix.
///
/// # Errors
/// Another scheme or no bucket.
pub fn s3_location(url: &str) -> Result<(String, String), regesta_store::s3::LocationError> {
    regesta_store::s3::S3Settings::from_url(url)
}
pub use routes::ROUTE_TABLE;

/// The OpenAPI 3.1 document of the core API, served at `/openapi.json`.
pub const OPENAPI: &[u8] = include_bytes!("openapi/openapi.json");
pub use dev::DevSite;
pub use state::AppState;

/// The system clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp::from_unix_millis(millis).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// Every ecosystem this build serves, registered on the core's seam: the
/// one place that lists them.
pub fn ecosystems() -> regesta_core::Ecosystems {
    regesta_core::Ecosystems::new()
        .with(std::sync::Arc::new(regesta_projection_npm::NpmProcessor))
        .with(std::sync::Arc::new(regesta_projection_pypi::PypiProcessor))
        .with(std::sync::Arc::new(
            regesta_projection_cargo::CargoProcessor,
        ))
        .with(std::sync::Arc::new(regesta_projection_go::GoProcessor))
}

/// The ecosystem projections `config` turns on, over `registry`: the one
/// place that lists them.
///
/// # Errors
/// A projection cannot be set up (the npm upstream client).
pub fn projections(
    registry: &Registry,
    config: &Config,
    go_sumdb: Option<regesta_tlog::NoteSigner>,
) -> Result<Vec<Arc<dyn regesta_http::Projection>>, ConfigError> {
    let mut projections: Vec<Arc<dyn regesta_http::Projection>> = Vec::new();
    if config.projections.npm {
        let fallback =
            config
                .npm_upstream_fallback
                .then(|| regesta_projection_npm::http::FallbackSettings {
                    url: config.npm_upstream_url.clone(),
                    timeout: Duration::from_millis(config.npm_upstream_timeout_ms),
                    max_bytes: config.npm_upstream_max_bytes,
                });
        let settings = regesta_projection_npm::NpmSettings {
            public_base: config.public_base(),
            npm_base: config.npm_base(),
            fallback,
        };
        let npm = regesta_projection_npm::NpmProjection::new(registry.clone(), settings).map_err(
            |e| ConfigError {
                name: "REGESTA_NPM_UPSTREAM_URL",
                problem: e.to_string(),
            },
        )?;
        projections.push(Arc::new(npm));
    }
    if config.projections.pypi {
        let pypi = regesta_projection_pypi::http::PypiProjection::new(
            registry.clone(),
            config.public_base(),
        );
        projections.push(Arc::new(pypi));
    }
    if config.projections.cargo {
        let cargo = regesta_projection_cargo::http::CargoProjection::new(
            registry.clone(),
            config.public_base(),
            format!("{}/cargo", config.public_base()),
        );
        projections.push(Arc::new(cargo));
    }
    if config.projections.go {
        let sumdb = go_sumdb.map(regesta_projection_go::checksum_db::ChecksumDb::new);
        let go = regesta_projection_go::http::GoProjection::new(
            registry.clone(),
            config.public_base(),
            sumdb,
        );
        projections.push(Arc::new(go));
    }
    Ok(projections)
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Configuration or dev binding problem.
    #[error("{0}")]
    Config(String),
    /// The embedded store could not be opened.
    #[error("cannot open the registry data in {dir}: {source}")]
    Store {
        /// The data dir.
        dir: String,
        /// Why.
        source: regesta_store::StoreError,
    },
}

/// The whole HTTP application: the hot path in front of the router plus
/// the response fix-ups that must run outside it.
pub type App = hot::Hot<
    tower::util::MapResponse<Router, fn(axum::response::Response) -> axum::response::Response>,
>;

/// The application for `state`, with the dev site when dev mode is on.
pub fn router(state: AppState, dev: Option<&DevSite>) -> App {
    let mut core = routes::core_routes();
    let mut hosts = Vec::new();
    for projection in state.projections() {
        let ecosystem = projection.ecosystem();
        core = core.nest(&format!("/{ecosystem}"), projection.router().with_state(()));
        let at_root = projection
            .router()
            .with_state(())
            .fallback(routes::unmatched)
            .with_state(state.clone());
        hosts.push((ecosystem, at_root));
    }
    let mut app = core
        .fallback(routes::unmatched)
        .method_not_allowed_fallback(|| async {
            error::ApiError::route_not_found().into_response()
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::declared_size,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_writes_by_ip,
        ))
        .with_state(state.clone());
    if !hosts.is_empty() {
        app = app.layer(axum::middleware::from_fn_with_state(
            Arc::new(hosts),
            middleware::projection_host,
        ));
    }
    if let Some(site) = dev {
        app = app.layer(axum::middleware::from_fn_with_state(
            site.router(),
            middleware::dev_host,
        ));
    }
    let app = app.layer(axum::middleware::from_fn(middleware::cors));
    let bytes = prepared_bytes(state.config());
    hot::Hot::new(
        tower::util::MapResponse::new(app, middleware::finish as fn(_) -> _),
        state,
        bytes,
        dev.is_some(),
    )
}

/// The share of `REGESTA_CACHE_BYTES` the hot path's prepared responses
/// get: a quarter (rendered views a quarter, the store's caches half).
fn prepared_bytes(config: &Config) -> u64 {
    config.cache_bytes / 4
}

/// Opens the embedded store and builds the application for `config`:
/// bindings are fetched over HTTPS from the owner domains (SSRF-safe); in
/// dev mode `*.localhost` bindings come from local files instead.
///
/// # Errors
/// Unreadable dev bindings or an unopenable data dir.
pub async fn build(config: Config) -> Result<(App, Option<DevSite>), StartError> {
    let dev = if config.dev {
        Some(DevSite::load(&config.dev_bindings).map_err(|e| StartError::Config(e.to_string()))?)
    } else {
        None
    };
    let store_error = |source| StartError::Store {
        dir: config.data_dir.display().to_string(),
        source,
    };
    let db: Arc<dyn regesta_store::RegistryDb> = match &config.database_url {
        Some(url) => {
            let settings = regesta_store::postgres::PoolSettings {
                max_connections: u32::try_from(config.database_pool).unwrap_or(u32::MAX),
                ..Default::default()
            };
            Arc::new(
                regesta_store::postgres::PostgresDb::open(url.expose(), settings)
                    .await
                    .map_err(|source| StartError::Store {
                        dir: "REGESTA_DATABASE_URL".into(),
                        source,
                    })?,
            )
        }
        None => Arc::new(
            SqliteDb::open(&config.data_dir)
                .await
                .map_err(store_error)?,
        ),
    };
    let blobs: Arc<dyn regesta_store::BlobStore> = match &config.object_store {
        Some(s3) => Arc::new(regesta_store::s3::S3Blobs::new(&s3.settings()).map_err(
            |source| StartError::Store {
                dir: "REGESTA_OBJECT_STORE_URL".into(),
                source,
            },
        )?),
        None => Arc::new(FsBlobs::open(&config.data_dir).map_err(store_error)?),
    };
    let (db, blobs, views) = caches(db, blobs, &config).await.map_err(store_error)?;
    let https = HttpsBindings::new(FetchSettings::production(Duration::from_millis(
        config.binding_timeout_ms,
    )))
    .map_err(|e| StartError::Config(e.to_string()))?;
    let bindings: Arc<dyn BindingSource> = match &dev {
        Some(site) => Arc::new(LocalFirst::new(site.bindings.clone(), https)),
        None => Arc::new(https),
    };
    let registry = Registry {
        db,
        blobs,
        bindings,
        clock: Arc::new(SystemClock),
        timestamp_tolerance_ms: i64::try_from(config.timestamp_tolerance_ms).unwrap_or(i64::MAX),
        views,
        ecosystems: Arc::new(ecosystems()),
        write_limits: match config.domain_write_rate() {
            Some(rate) => Arc::new(ratelimit::DomainLimits::new(rate)),
            None => Arc::new(regesta_core::Unlimited),
        },
    };
    let (log, created) =
        tlog::load_or_create(&config).map_err(|e| StartError::Config(e.to_string()))?;
    if created {
        tracing::warn!(
            path = %config.log_key_path().display(),
            "created the transparency log's checkpoint key; back it up"
        );
    }
    tlog::claim_identity(&registry, &log)
        .await
        .map_err(|e| StartError::Config(e.to_string()))?;
    tlog::ensure_checkpoint(&registry, &log).await;
    tracing::info!(verifier_key = %log.signer.verifier_key(), "transparency log key");
    let peers = config
        .witness_peers()
        .map_err(|e| StartError::Config(e.to_string()))?;
    let quorum = config
        .log_witness_quorum
        .map_or(peers.len(), |q| usize::try_from(q).unwrap_or(usize::MAX));
    let witnessing = (!peers.is_empty()).then(|| tlog::Witnessing::new(peers, quorum));
    tokio::spawn(tlog::run_sequencer(
        registry.clone(),
        log.clone(),
        config.log_lease_ms,
        witnessing.clone(),
    ));
    let go_sumdb = go_sumdb::at_start(&config).map_err(StartError::Config)?;
    let state = AppState::with_go_sumdb(registry, config, go_sumdb)
        .map_err(|e| StartError::Config(e.to_string()))?
        .with_log(log, witnessing.is_some());
    for projection in state.projections() {
        if let Some(work) = projection.warm_up() {
            tokio::spawn(work);
        }
    }
    let app = router(state, dev.as_ref());
    Ok((app, dev))
}

/// The stores behind the read caches `config` sizes, and the view cache;
/// starts the task that drops from the caches what other replicas changed.
///
/// # Errors
/// The log head cannot be read.
async fn caches(
    db: Arc<dyn regesta_store::RegistryDb>,
    blobs: Arc<dyn regesta_store::BlobStore>,
    config: &Config,
) -> Result<
    (
        Arc<dyn regesta_store::RegistryDb>,
        Arc<dyn regesta_store::BlobStore>,
        Arc<regesta_core::views::ViewCache>,
    ),
    regesta_store::StoreError,
> {
    use regesta_store::cached::{CacheBudget, CachedBlobs, CachedDb};
    let views = config.cache_bytes / 4;
    let budget = CacheBudget::split(config.cache_bytes - views - prepared_bytes(config));
    let cached = Arc::new(CachedDb::open(db, budget.metadata).await?);
    let refresh = Duration::from_millis(config.cache_refresh_ms);
    tokio::spawn(follow_replicas(Arc::downgrade(&cached), refresh));
    let blobs = CachedBlobs::new(blobs, budget.objects, budget.max_object);
    let views =
        regesta_core::views::ViewCache::with_capacity(usize::try_from(views).unwrap_or(usize::MAX));
    Ok((cached, Arc::new(blobs), Arc::new(views)))
}

/// Every `every`, drops from the cache the packages other replicas wrote
/// to; ends with the server.
async fn follow_replicas(cache: std::sync::Weak<regesta_store::cached::CachedDb>, every: Duration) {
    let mut failing = false;
    loop {
        tokio::time::sleep(every).await;
        let Some(cache) = cache.upgrade() else { return };
        match cache.catch_up().await {
            Ok(_) => failing = false,
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(target: "regesta.server", %error, "cannot follow the event log; caches may lag");
            }
            Err(_) => {}
        }
    }
}

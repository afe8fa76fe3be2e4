//! Typed server configuration, loaded once: CLI flags override `REGESTA_*`
//! environment variables, which override defaults. Integers are plain
//! decimal without leading zeros and booleans exactly `true`/`false` (the v0
//! rules); anything else fails start-up with an error naming the variable.

use std::net::IpAddr;
use std::path::PathBuf;

use thiserror::Error;

mod limits;
mod storage;

pub use limits::DEFAULT_WRITE_RATE;
use limits::load_limits;
use storage::load_storage;
pub use storage::{ObjectStoreConfig, Secret};

/// Why configuration could not be loaded.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{name} {problem}")]
pub struct ConfigError {
    /// The variable or flag.
    pub name: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

/// The ecosystem projections a server mounts, each on by default and
/// turned off by its own variable (`REGESTA_<ECOSYSTEM>_PROJECTION=false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one independent switch per ecosystem, not a state in disguise"
)]
pub struct Projections {
    /// The npm registry API (`REGESTA_NPM_PROJECTION`).
    pub npm: bool,
    /// The PyPI Simple API (`REGESTA_PYPI_PROJECTION`).
    pub pypi: bool,
    /// The Cargo sparse registries (`REGESTA_CARGO_PROJECTION`).
    pub cargo: bool,
    /// The Go module proxy (`REGESTA_GO_PROJECTION`).
    pub go: bool,
}

impl Default for Projections {
    fn default() -> Self {
        Self {
            npm: true,
            pypi: true,
            cargo: true,
            go: true,
        }
    }
}

impl Projections {
    /// The defaults, with each `REGESTA_<ECOSYSTEM>_PROJECTION` applied.
    fn from_env(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut projections = Self::default();
        for (name, on) in [
            ("REGESTA_NPM_PROJECTION", &mut projections.npm),
            ("REGESTA_PYPI_PROJECTION", &mut projections.pypi),
            ("REGESTA_CARGO_PROJECTION", &mut projections.cargo),
            ("REGESTA_GO_PROJECTION", &mut projections.go),
        ] {
            if let Some(v) = get(name) {
                *on = boolean(name, &v)?;
            }
        }
        Ok(projections)
    }
}

/// Every setting of `regesta serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Listen address (`HOST`, default `127.0.0.1`).
    pub host: IpAddr,
    /// Listen port (`PORT`, default 4321).
    pub port: u16,
    /// Embedded store location (`REGESTA_DATA_DIR`, default `./regesta-data`).
    pub data_dir: PathBuf,
    /// PostgreSQL for registry metadata instead of the embedded SQLite
    /// (`REGESTA_DATABASE_URL=postgres://…`).
    pub database_url: Option<Secret>,
    /// Most PostgreSQL connections per server (`REGESTA_DATABASE_POOL`).
    pub database_pool: u64,
    /// S3-compatible object storage instead of files in the data dir
    /// (`REGESTA_OBJECT_STORE_URL=s3://bucket[/prefix]`, with `AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
    pub object_store: Option<ObjectStoreConfig>,
    /// Dev mode (`REGESTA_DEV`): serves `*.localhost` bindings from files.
    pub dev: bool,
    /// Extra dev binding files (`REGESTA_DEV_BINDINGS`, comma-separated).
    pub dev_bindings: Vec<PathBuf>,
    /// Largest request body (`REGESTA_MAX_REQUEST_BYTES`).
    pub max_request_bytes: u64,
    /// Largest artifact part (`REGESTA_MAX_PUBLISH_ARTIFACT_BYTES`).
    pub max_artifact_bytes: u64,
    /// Largest source part (`REGESTA_MAX_PUBLISH_SOURCE_BYTES`).
    pub max_source_bytes: u64,
    /// Domain-binding fetch timeout (`REGESTA_DOMAIN_BINDING_TIMEOUT_MS`).
    pub binding_timeout_ms: u64,
    /// Readiness probe timeout (`REGESTA_READINESS_TIMEOUT_MS`).
    pub readiness_timeout_ms: u64,
    /// Deployment statistics cache (`REGESTA_STATISTICS_CACHE_TTL_MS`).
    pub statistics_ttl_ms: u64,
    /// Bytes of memory the read caches may hold (`REGESTA_CACHE_BYTES`).
    pub cache_bytes: u64,
    /// How often a server reads the events other replicas committed, to
    /// drop what they changed from its caches (`REGESTA_CACHE_REFRESH_MS`).
    pub cache_refresh_ms: u64,
    /// Write-intent clock skew window (`REGESTA_WRITE_TIMESTAMP_TOLERANCE_MS`).
    pub timestamp_tolerance_ms: u64,
    /// Public base URL of the core API (`REGESTA_PUBLIC_URL`); default
    /// `http://<host>:<port>`. Links are built from it, never from `Host`.
    pub public_url: Option<String>,
    /// Public base URL of the npm projection (`REGESTA_NPM_PUBLIC_URL`);
    /// default `<public url>/npm`.
    pub npm_public_url: Option<String>,
    /// Which ecosystem projections are served.
    pub projections: Projections,
    /// Answer npm reads of packages not hosted here from an upstream npm
    /// registry (`REGESTA_NPM_UPSTREAM_FALLBACK`, default false).
    pub npm_upstream_fallback: bool,
    /// The upstream npm registry (`REGESTA_NPM_UPSTREAM_URL`, default
    /// `https://registry.npmjs.org`), without a trailing slash.
    pub npm_upstream_url: String,
    /// Upstream request timeout (`REGESTA_NPM_UPSTREAM_TIMEOUT_MS`, default
    /// 10 s; 0 means none, as in v0).
    pub npm_upstream_timeout_ms: u64,
    /// Largest upstream document passed on (`REGESTA_NPM_UPSTREAM_MAX_BYTES`).
    pub npm_upstream_max_bytes: u64,
    /// Transparency log origin line and checkpoint key name
    /// (`REGESTA_LOG_ORIGIN`); default `<public host>/log`.
    pub log_origin: Option<String>,
    /// The checkpoint signing key in Go's `PRIVATE+KEY+…` text
    /// (`REGESTA_LOG_KEY_FILE`); default `<data dir>/log-key`, created on
    /// first start when missing.
    pub log_key_file: Option<PathBuf>,
    /// Go checksum database name (`REGESTA_GO_SUMDB_NAME`); default the
    /// public host.
    pub go_sumdb_name: Option<String>,
    /// Go checksum database signing key in Go's `PRIVATE+KEY+…` text
    /// (`REGESTA_GO_SUMDB_KEY_FILE`); default `<data dir>/go-sumdb-key`,
    /// created on first start when missing.
    pub go_sumdb_key_file: Option<PathBuf>,
    /// How long the sequencer lease lasts without renewal
    /// (`REGESTA_LOG_LEASE_MS`, default 2 s): the bound on a failover.
    pub log_lease_ms: u64,
    /// Witnesses to submit checkpoints to (`REGESTA_LOG_WITNESSES`:
    /// comma-separated `<url> <cosigner verifier key>`).
    pub log_witnesses: Option<String>,
    /// Cosignatures needed before a checkpoint is published
    /// (`REGESTA_LOG_WITNESS_QUORUM`, default: every witness).
    pub log_witness_quorum: Option<u64>,
    /// Longest a client may take to send its request headers before the
    /// connection is closed, and a connection may go without starting a
    /// request (`REGESTA_HEADER_READ_TIMEOUT_MS`, default 30 s).
    pub header_timeout_ms: u64,
    /// Longest a write request may take to send its body
    /// (`REGESTA_REQUEST_BODY_TIMEOUT_MS`, default 60 s).
    pub body_timeout_ms: u64,
    /// Write requests per minute per client IP (`REGESTA_WRITE_RATE_PER_IP`;
    /// 0 turns it off; default [`DEFAULT_WRITE_RATE`], off in dev mode).
    pub write_rate_per_ip: Option<u64>,
    /// Verified writes per minute per owner domain
    /// (`REGESTA_WRITE_RATE_PER_DOMAIN`; as above).
    pub write_rate_per_domain: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 4321,
            data_dir: PathBuf::from("regesta-data"),
            database_url: None,
            database_pool: 16,
            object_store: None,
            dev: false,
            dev_bindings: Vec::new(),
            max_request_bytes: 64 * 1024 * 1024,
            max_artifact_bytes: 64 * 1024 * 1024,
            max_source_bytes: 64 * 1024 * 1024,
            binding_timeout_ms: 10_000,
            readiness_timeout_ms: 5_000,
            statistics_ttl_ms: 10_000,
            cache_bytes: 128 * 1024 * 1024,
            cache_refresh_ms: 100,
            timestamp_tolerance_ms: 600_000,
            public_url: None,
            npm_public_url: None,
            projections: Projections::default(),
            npm_upstream_fallback: false,
            npm_upstream_url: "https://registry.npmjs.org".to_owned(),
            npm_upstream_timeout_ms: 10_000,
            npm_upstream_max_bytes: 64 * 1024 * 1024,
            log_origin: None,
            log_key_file: None,
            go_sumdb_name: None,
            go_sumdb_key_file: None,
            log_lease_ms: 2_000,
            log_witnesses: None,
            log_witness_quorum: None,
            body_timeout_ms: 60_000,
            header_timeout_ms: 30_000,
            write_rate_per_ip: None,
            write_rate_per_domain: None,
        }
    }
}

fn err(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        problem: problem.into(),
    }
}

/// Parses a v0 integer: plain decimal, no sign, no leading zeros.
fn integer(name: &'static str, value: &str, positive: bool) -> Result<u64, ConfigError> {
    let plain = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && (value == "0" || !value.starts_with('0'));
    let kind = if positive { "positive" } else { "non-negative" };
    let parsed = plain
        .then(|| value.parse::<u64>().ok())
        .flatten()
        .filter(|n| *n <= regesta_protocol::json::MAX_SAFE_INTEGER && (!positive || *n > 0));
    parsed.ok_or_else(|| {
        err(
            name,
            format!("must be a {kind} safe integer, got {value:?}"),
        )
    })
}

/// Parses a v0 boolean: exactly `true` or `false`.
fn boolean(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(err(name, format!("must be true or false, got {value:?}"))),
    }
}

/// An upstream registry base: http(s), no credentials (they would end up
/// in logs), no query or fragment (paths are appended to it).
fn upstream_url(value: &str) -> Result<String, ConfigError> {
    const NAME: &str = "REGESTA_NPM_UPSTREAM_URL";
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| err(NAME, format!("must be an http(s) URL, got {value:?}")))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(err(NAME, "must name a host and carry no credentials"));
    }
    if value.contains(['?', '#']) || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(NAME, "must not have a query, fragment or spaces"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// The npm upstream and transparency log settings.
fn load_npm_and_log(
    config: &mut Config,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(v) = get("REGESTA_NPM_UPSTREAM_FALLBACK") {
        config.npm_upstream_fallback = boolean("REGESTA_NPM_UPSTREAM_FALLBACK", &v)?;
    }
    if let Some(v) = get("REGESTA_LOG_ORIGIN") {
        let bad = v.contains('+') || v.chars().any(|c| c.is_whitespace() || c.is_control());
        if bad {
            return Err(err("REGESTA_LOG_ORIGIN", "must have no spaces or +"));
        }
        config.log_origin = Some(v);
    }
    if let Some(v) = get("REGESTA_LOG_WITNESSES") {
        config.log_witnesses = Some(v);
    }
    if let Some(v) = get("REGESTA_LOG_WITNESS_QUORUM") {
        config.log_witness_quorum = Some(integer("REGESTA_LOG_WITNESS_QUORUM", &v, false)?);
    }
    if let Some(v) = get("REGESTA_LOG_KEY_FILE") {
        config.log_key_file = Some(PathBuf::from(v));
    }
    if let Some(v) = get("REGESTA_GO_SUMDB_KEY_FILE") {
        config.go_sumdb_key_file = Some(PathBuf::from(v));
    }
    if let Some(v) = get("REGESTA_GO_SUMDB_NAME") {
        config.go_sumdb_name = Some(v);
    }
    if let Some(v) = get("REGESTA_NPM_UPSTREAM_URL") {
        config.npm_upstream_url = upstream_url(&v)?;
    }
    Ok(())
}

impl Config {
    /// Loads the environment part of the configuration through `lookup` (so
    /// tests never touch the process environment). Empty values count as
    /// unset, as in the reference.
    ///
    /// # Errors
    /// The first invalid variable, by name.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let mut config = Self::default();
        if let Some(v) = get("HOST") {
            config.host = v
                .parse()
                .map_err(|_| err("HOST", format!("must be an IP address, got {v:?}")))?;
        }
        if let Some(v) = get("PORT") {
            let port = integer("PORT", &v, false)?;
            config.port = u16::try_from(port).map_err(|_| err("PORT", "must be at most 65535"))?;
        }
        if let Some(v) = get("REGESTA_DATA_DIR") {
            config.data_dir = PathBuf::from(v);
        }
        for (name, slot) in [
            ("REGESTA_PUBLIC_URL", &mut config.public_url),
            ("REGESTA_NPM_PUBLIC_URL", &mut config.npm_public_url),
        ] {
            if let Some(v) = get(name) {
                if !(v.starts_with("http://") || v.starts_with("https://")) {
                    return Err(err(name, format!("must be an http(s) URL, got {v:?}")));
                }
                *slot = Some(v.trim_end_matches('/').to_owned());
            }
        }
        config.projections = Projections::from_env(&get)?;
        load_npm_and_log(&mut config, &get)?;
        load_limits(&mut config, &get)?;
        load_storage(&mut config, &get)?;
        if let Some(v) = get("REGESTA_DEV") {
            config.dev = boolean("REGESTA_DEV", &v)?;
        }
        if let Some(v) = get("REGESTA_DEV_BINDINGS") {
            config.dev_bindings = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect();
        }
        let numbers: [(&'static str, &mut u64, bool); 10] = [
            ("REGESTA_LOG_LEASE_MS", &mut config.log_lease_ms, true),
            (
                "REGESTA_NPM_UPSTREAM_TIMEOUT_MS",
                &mut config.npm_upstream_timeout_ms,
                false,
            ),
            (
                "REGESTA_NPM_UPSTREAM_MAX_BYTES",
                &mut config.npm_upstream_max_bytes,
                true,
            ),
            (
                "REGESTA_MAX_REQUEST_BYTES",
                &mut config.max_request_bytes,
                false,
            ),
            (
                "REGESTA_MAX_PUBLISH_ARTIFACT_BYTES",
                &mut config.max_artifact_bytes,
                false,
            ),
            (
                "REGESTA_MAX_PUBLISH_SOURCE_BYTES",
                &mut config.max_source_bytes,
                false,
            ),
            (
                "REGESTA_DOMAIN_BINDING_TIMEOUT_MS",
                &mut config.binding_timeout_ms,
                true,
            ),
            (
                "REGESTA_READINESS_TIMEOUT_MS",
                &mut config.readiness_timeout_ms,
                true,
            ),
            (
                "REGESTA_STATISTICS_CACHE_TTL_MS",
                &mut config.statistics_ttl_ms,
                false,
            ),
            (
                "REGESTA_WRITE_TIMESTAMP_TOLERANCE_MS",
                &mut config.timestamp_tolerance_ms,
                true,
            ),
        ];
        for (name, slot, positive) in numbers {
            if let Some(v) = get(name) {
                *slot = integer(name, &v, positive)?;
            }
        }
        Ok(config)
    }

    /// The public base URL of the core API.
    pub fn public_base(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| match self.host {
            std::net::IpAddr::V6(ip) => format!("http://[{ip}]:{}", self.port),
            std::net::IpAddr::V4(ip) => format!("http://{ip}:{}", self.port),
        })
    }

    /// The origin of a new transparency log: configured, or the log's URL
    /// prefix without its scheme (`<host:port>/log`), as C2SP tlog-tiles
    /// recommends. An existing log keeps the origin its key is named for
    /// (older logs: `<host:port>/log/v1`).
    pub fn log_origin(&self) -> String {
        self.log_origin.clone().unwrap_or_else(|| {
            let base = self.public_base();
            let host = base
                .split_once("://")
                .map_or(base.as_str(), |(_, rest)| rest)
                .trim_end_matches('/');
            format!("{host}/log")
        })
    }

    /// The Go checksum database's name: `REGESTA_GO_SUMDB_NAME`, else the
    /// public host (`registry.example`, `127.0.0.1:4321`).
    pub fn go_sumdb_name(&self) -> String {
        self.go_sumdb_name.clone().unwrap_or_else(|| {
            let base = self.public_base();
            let rest = base.split_once("://").map_or(base.as_str(), |(_, r)| r);
            rest.split('/').next().unwrap_or(rest).to_owned()
        })
    }

    /// Where the Go checksum database's signing key lives.
    pub fn go_sumdb_key_path(&self) -> PathBuf {
        self.go_sumdb_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("go-sumdb-key"))
    }

    /// Where the checkpoint signing key lives.
    pub fn log_key_path(&self) -> PathBuf {
        self.log_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("log-key"))
    }

    /// The configured witnesses.
    ///
    /// # Errors
    /// A malformed `REGESTA_LOG_WITNESSES`.
    pub fn witness_peers(&self) -> Result<Vec<crate::witness::WitnessPeer>, ConfigError> {
        self.log_witnesses
            .as_deref()
            .map_or(Ok(Vec::new()), crate::witness::parse_peers)
            .map_err(|problem| err("REGESTA_LOG_WITNESSES", problem.to_string()))
    }

    /// The public base URL of the npm projection.
    pub fn npm_base(&self) -> String {
        self.npm_public_url
            .clone()
            .unwrap_or_else(|| format!("{}/npm", self.public_base()))
    }

    /// Checks combinations once flags and environment are merged.
    ///
    /// # Errors
    /// Dev binding files without dev mode.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let peers = self.witness_peers()?;
        if let Some(q) = self.log_witness_quorum
            && q > peers.len() as u64
        {
            return Err(err(
                "REGESTA_LOG_WITNESS_QUORUM",
                format!("is {q} but only {} witnesses are configured", peers.len()),
            ));
        }
        if !self.dev_bindings.is_empty() && !self.dev {
            return Err(err(
                "REGESTA_DEV_BINDINGS",
                "needs dev mode (REGESTA_DEV=true or --dev)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_env(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn a_new_log_is_named_for_its_url_prefix_without_the_scheme() {
        assert_eq!(load(&[]).unwrap().log_origin(), "127.0.0.1:4321/log");
        let public = load(&[("REGESTA_PUBLIC_URL", "https://registry.example/")]).unwrap();
        assert_eq!(public.log_origin(), "registry.example/log");
        let named = load(&[("REGESTA_LOG_ORIGIN", "custom.example/log/v1")]).unwrap();
        assert_eq!(named.log_origin(), "custom.example/log/v1");
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        assert_eq!(load(&[]).unwrap(), Config::default());
        assert_eq!(load(&[("PORT", "")]).unwrap().port, 4321);
    }

    #[test]
    fn each_projection_is_turned_off_by_its_own_variable() {
        let all = Projections {
            npm: true,
            pypi: true,
            cargo: true,
            go: true,
        };
        assert_eq!(load(&[]).unwrap().projections, all);
        for (name, off) in [
            ("REGESTA_NPM_PROJECTION", Projections { npm: false, ..all }),
            (
                "REGESTA_PYPI_PROJECTION",
                Projections { pypi: false, ..all },
            ),
            (
                "REGESTA_CARGO_PROJECTION",
                Projections {
                    cargo: false,
                    ..all
                },
            ),
            ("REGESTA_GO_PROJECTION", Projections { go: false, ..all }),
        ] {
            assert_eq!(load(&[(name, "false")]).unwrap().projections, off, "{name}");
            assert!(load(&[(name, "no")]).is_err(), "{name}");
        }
    }

    #[test]
    fn values_follow_the_v0_parsing_rules() {
        let c = load(&[
            ("PORT", "0"),
            ("HOST", "0.0.0.0"),
            ("REGESTA_MAX_REQUEST_BYTES", "1024"),
            ("REGESTA_DEV", "true"),
            ("REGESTA_DEV_BINDINGS", "a.json, b.json"),
        ])
        .unwrap();
        assert_eq!((c.port, c.max_request_bytes, c.dev), (0, 1024, true));
        assert_eq!(
            c.dev_bindings,
            vec![PathBuf::from("a.json"), PathBuf::from("b.json")]
        );
    }

    #[test]
    fn upstream_fallback_is_off_by_default_and_configurable() {
        let d = load(&[]).unwrap();
        assert!(!d.npm_upstream_fallback);
        assert_eq!(d.npm_upstream_url, "https://registry.npmjs.org");
        let c = load(&[
            ("REGESTA_NPM_UPSTREAM_FALLBACK", "true"),
            ("REGESTA_NPM_UPSTREAM_URL", "http://127.0.0.1:9/registry/"),
            ("REGESTA_NPM_UPSTREAM_TIMEOUT_MS", "0"),
        ])
        .unwrap();
        assert!(c.npm_upstream_fallback);
        assert_eq!(c.npm_upstream_url, "http://127.0.0.1:9/registry");
        assert_eq!(c.npm_upstream_timeout_ms, 0);
    }

    #[test]
    fn storage_settings_are_read_and_secrets_never_printed() {
        let c = load(&[
            ("REGESTA_DATABASE_URL", "postgres://u:pw@db:5432/r"),
            ("REGESTA_OBJECT_STORE_URL", "s3://bucket/some/prefix/"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_ACCESS_KEY_ID", "key"),
            ("AWS_SECRET_ACCESS_KEY", "hunter2"),
        ])
        .unwrap();
        assert_eq!(
            c.database_url.as_ref().map(Secret::expose),
            Some("postgres://u:pw@db:5432/r")
        );
        let s3 = c.object_store.clone().unwrap();
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str()),
            ("bucket", "some/prefix")
        );
        assert_eq!(s3.region, "us-east-1");
        assert!(!s3.redirect);
        let redirecting = load(&[
            ("REGESTA_OBJECT_STORE_URL", "s3://bucket"),
            ("REGESTA_OBJECT_REDIRECT", "true"),
        ])
        .unwrap();
        assert!(redirecting.object_store.unwrap().redirect);
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("hunter2") && !printed.contains(":pw@"),
            "{printed}"
        );
        for (name, value) in [
            ("REGESTA_DATABASE_URL", "mysql://x"),
            ("REGESTA_OBJECT_STORE_URL", "gs://b"),
            ("REGESTA_OBJECT_STORE_URL", "s3://"),
            ("REGESTA_DATABASE_POOL", "0"),
            ("REGESTA_OBJECT_REDIRECT", "true"),
        ] {
            assert_eq!(load(&[(name, value)]).unwrap_err().name, name, "{value}");
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("PORT", "080"),
            ("PORT", "70000"),
            ("REGESTA_MAX_REQUEST_BYTES", "-1"),
            ("REGESTA_MAX_REQUEST_BYTES", "1e3"),
            ("REGESTA_MAX_REQUEST_BYTES", "9007199254740992"),
            ("REGESTA_READINESS_TIMEOUT_MS", "0"),
            ("REGESTA_DEV", "yes"),
            ("REGESTA_DEV", "TRUE"),
            ("HOST", "localhost:1"),
            ("REGESTA_NPM_UPSTREAM_FALLBACK", "1"),
            ("REGESTA_NPM_UPSTREAM_URL", "ftp://registry"),
            ("REGESTA_NPM_UPSTREAM_URL", "https://user:token@registry"),
            ("REGESTA_NPM_UPSTREAM_URL", "https://registry/?a=b"),
            ("REGESTA_NPM_UPSTREAM_URL", "https:///x"),
            ("REGESTA_NPM_UPSTREAM_TIMEOUT_MS", "-5"),
            ("REGESTA_NPM_UPSTREAM_MAX_BYTES", "0"),
        ] {
            let error = load(&[(name, value)]).unwrap_err();
            assert_eq!(error.name, name, "{value}");
        }
        let bindings_without_dev = load(&[("REGESTA_DEV_BINDINGS", "x.json")]).unwrap();
        assert_eq!(
            bindings_without_dev.validate().unwrap_err().name,
            "REGESTA_DEV_BINDINGS"
        );
        let mut with_flag = bindings_without_dev;
        with_flag.dev = true;
        assert!(with_flag.validate().is_ok());
    }
}

//! The scale-out settings: PostgreSQL, S3-compatible object storage, and
//! the `Secret` wrapper that keeps credentials out of debug output.

use super::{Config, ConfigError, boolean, err, integer};

/// A credential-bearing setting: printed as `***` in debug output, so a
/// logged configuration never leaks it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where objects go when they are not in the data dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStoreConfig {
    /// Bucket.
    pub bucket: String,
    /// Key prefix.
    pub prefix: String,
    /// `AWS_ENDPOINT_URL` (S3-compatible servers).
    pub endpoint: Option<String>,
    /// `AWS_REGION` / `AWS_DEFAULT_REGION` (default `us-east-1`).
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<Secret>,
    /// Answer object GETs with a redirect to a presigned URL, so bytes
    /// bypass the server (`REGESTA_OBJECT_REDIRECT`, default false).
    pub redirect: bool,
}

impl ObjectStoreConfig {
    /// The store crate's settings.
    pub fn settings(&self) -> regesta_store::s3::S3Settings {
        regesta_store::s3::S3Settings {
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self
                .secret_access_key
                .as_ref()
                .map(|s| s.expose().to_owned()),
        }
    }
}

/// Where metadata and objects live when not in the embedded store.
pub(super) fn load_storage(
    config: &mut Config,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(v) = get("REGESTA_DATABASE_URL") {
        if !(v.starts_with("postgres://") || v.starts_with("postgresql://")) {
            return Err(err("REGESTA_DATABASE_URL", "must be a postgres:// URL"));
        }
        config.database_url = Some(Secret::new(v));
    }
    if let Some(v) = get("REGESTA_DATABASE_POOL") {
        config.database_pool = integer("REGESTA_DATABASE_POOL", &v, true)?;
    }
    if let Some(v) = get("REGESTA_OBJECT_STORE_URL") {
        let (bucket, prefix) = regesta_store::s3::S3Settings::from_url(&v)
            .map_err(|problem| err("REGESTA_OBJECT_STORE_URL", problem.to_string()))?;
        config.object_store = Some(ObjectStoreConfig {
            bucket,
            prefix,
            endpoint: get("AWS_ENDPOINT_URL"),
            region: get("AWS_REGION")
                .or_else(|| get("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: get("AWS_ACCESS_KEY_ID"),
            secret_access_key: get("AWS_SECRET_ACCESS_KEY").map(Secret::new),
            redirect: false,
        });
    }
    if let Some(v) = get("REGESTA_OBJECT_REDIRECT") {
        let redirect = boolean("REGESTA_OBJECT_REDIRECT", &v)?;
        match config.object_store.as_mut() {
            Some(s3) => s3.redirect = redirect,
            None if redirect => {
                return Err(err(
                    "REGESTA_OBJECT_REDIRECT",
                    "needs REGESTA_OBJECT_STORE_URL (presigned URLs come from S3)",
                ));
            }
            None => {}
        }
    }
    Ok(())
}

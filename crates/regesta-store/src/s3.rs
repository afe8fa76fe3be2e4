//! Content-addressed bytes in S3-compatible object storage (`object_store`'s
//! AWS backend): objects live at `<prefix>/objects/sha256/<hex>`. A put is
//! idempotent by digest — HEAD, then PUT when missing; racing writers of one
//! digest write identical bytes — so conditional PUT is never relied on
//! (Garage, for one, ignores it).

use async_trait::async_trait;
use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::{Method, Signer as _};
use object_store::{ObjectStoreExt as _, PutPayload};
use regesta_protocol::Digest;

use crate::error::{Result, StoreError};
use crate::traits::{BlobStore, ensure_digest};

/// Where the objects are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// Bucket.
    pub bucket: String,
    /// Key prefix (may be empty).
    pub prefix: String,
    /// Endpoint for S3-compatible servers (AWS when `None`).
    pub endpoint: Option<String>,
    /// Region.
    pub region: String,
    /// Access key id (else the standard AWS credential chain).
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
}

impl S3Settings {
    /// Parses `s3://bucket[/prefix]`.
    ///
    /// # Errors
    /// Another scheme or no bucket.
    pub fn from_url(url: &str) -> std::result::Result<(String, String), LocationError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| LocationError::Scheme(url.to_owned()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(LocationError::NoBucket);
        }
        Ok((bucket.to_owned(), prefix.trim_matches('/').to_owned()))
    }
}

/// Why an object-store location was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// Not an `s3://` URL.
    #[error("must be s3://bucket[/prefix], got {0:?}")]
    Scheme(String),
    /// `s3://` with nothing after it.
    #[error("names no bucket")]
    NoBucket,
}

/// Objects in S3.
#[derive(Debug)]
pub struct S3Blobs {
    store: AmazonS3,
    prefix: String,
}

/// An object-storage failure, kept as the error's source (its text names
/// the store and the operation).
fn backend(error: object_store::Error) -> StoreError {
    StoreError::Backend(error.into())
}

impl S3Blobs {
    /// A client for `settings` (no request is made).
    ///
    /// # Errors
    /// Invalid settings.
    pub fn new(settings: &S3Settings) -> Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let (Some(key), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
        }
        let store = builder.build().map_err(backend)?;
        Ok(Self {
            store,
            prefix: settings.prefix.clone(),
        })
    }

    fn path(&self, digest: &Digest) -> Path {
        let key = format!("objects/sha256/{}", digest.hex());
        if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, digest: &Digest, bytes: Bytes) -> Result<()> {
        ensure_digest(digest, &bytes)?;
        let path = self.path(digest);
        match self.store.head(&path).await {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(backend(e)),
        }
        self.store
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map(|_| ())
            .map_err(backend)
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Bytes>> {
        match self.store.get(&self.path(digest)).await {
            Ok(found) => {
                let bytes = found.bytes().await.map_err(backend)?;
                // Never serve bytes under a wrong address, whatever the
                // bucket holds.
                ensure_digest(digest, &bytes)?;
                Ok(Some(bytes))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    async fn open(&self, digest: &Digest) -> Result<Option<crate::traits::ByteStream>> {
        use futures_util::StreamExt as _;
        let found = match self.store.get(&self.path(digest)).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(backend(e)),
        };
        let chunks = found.into_stream().map(|chunk| chunk.map_err(backend));
        Ok(Some(crate::traits::checked_stream(chunks, *digest)))
    }

    async fn get_range(&self, digest: &Digest, start: u64, end: u64) -> Result<Option<Bytes>> {
        let Some(last) = end.checked_add(1).filter(|e| *e > start) else {
            return Ok(None);
        };
        match self.store.get_range(&self.path(digest), start..last).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    async fn presigned_get(
        &self,
        digest: &Digest,
        ttl: std::time::Duration,
    ) -> Result<Option<String>> {
        let url = self
            .store
            .signed_url(Method::GET, &self.path(digest), ttl)
            .await
            .map_err(backend)?;
        Ok(Some(url.to_string()))
    }

    async fn ping(&self) -> Result<()> {
        let probe = self.path(&Digest::of(b"regesta readiness probe"));
        match self.store.head(&probe).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }
}

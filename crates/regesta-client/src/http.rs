//! The HTTP side of the client: plain requests to a v0 registry that never
//! send ambient credentials (no cookies, no proxy credentials, no auth
//! headers), never follow redirects and never use a cache, so what a
//! verifier checks is exactly what the registry said.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use thiserror::Error;

/// Why a request failed before a response could be judged.
#[derive(Debug, Error)]
pub enum HttpError {
    /// The registry URL is not `http(s)://…`.
    #[error("invalid registry URL {0:?}: use http:// or https://")]
    BadUrl(String),
    /// Connection, TLS or timeout failure.
    #[error("cannot reach the registry at {url}: {source}")]
    Transport {
        /// The URL requested.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
}

/// A response, fully read.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The v0 error message of a failed response, or its status.
    pub fn error_message(&self) -> String {
        let body = self.json();
        match (body["code"].as_str(), body["message"].as_str()) {
            (Some(code), Some(message)) => {
                let issues: Vec<&str> = body["issues"]
                    .as_array()
                    .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
                    .unwrap_or_default();
                if issues.is_empty() {
                    format!("{message} ({code}, HTTP {})", self.status)
                } else {
                    format!(
                        "{message} ({code}, HTTP {}): {}",
                        self.status,
                        issues.join("; ")
                    )
                }
            }
            _ => format!("HTTP {}", self.status),
        }
    }
}

/// Receives upload progress, so libraries never draw to the terminal
/// themselves (the CLI turns this into a progress bar).
pub trait Reporter: Send + Sync {
    /// `sent` of `total` body bytes have been handed to the connection.
    fn sent(&self, sent: u64, total: u64);
}

/// Chunk size of progress-reported uploads.
const UPLOAD_CHUNK: usize = 64 * 1024;

/// A client of one registry.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    base: String,
    http: reqwest::Client,
}

impl RegistryClient {
    /// A client for the registry at `base` (`http://127.0.0.1:4321`).
    ///
    /// # Errors
    /// A malformed URL or an unavailable TLS stack.
    pub fn new(base: &str) -> Result<Self, HttpError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(HttpError::BadUrl(base));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_mins(5))
            .user_agent(concat!("regesta-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| HttpError::Transport {
                url: base.clone(),
                source,
            })?;
        Ok(Self { base, http })
    }

    /// The registry base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &str) -> Result<Reply, HttpError> {
        let transport = |source| HttpError::Transport {
            url: url.to_owned(),
            source,
        };
        let response = request
            .header("cache-control", "no-cache")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// `GET base + path`.
    ///
    /// # Errors
    /// Transport failure (an HTTP error status is a [`Reply`], not an error).
    pub async fn get(&self, path: &str) -> Result<Reply, HttpError> {
        let url = format!("{}{path}", self.base);
        self.send(self.http.get(&url), &url).await
    }

    /// `GET base + path` asking for `accept` (a projection page negotiated
    /// on `Accept`, such as PyPI's JSON Simple API).
    ///
    /// # Errors
    /// Transport failure.
    pub async fn get_accepting(&self, path: &str, accept: &str) -> Result<Reply, HttpError> {
        let url = format!("{}{path}", self.base);
        self.send(self.http.get(&url).header("accept", accept), &url)
            .await
    }

    /// `HEAD base + path`.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn head(&self, path: &str) -> Result<Reply, HttpError> {
        let url = format!("{}{path}", self.base);
        self.send(self.http.head(&url), &url).await
    }

    /// `POST base + path` with a body of `content_type`.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Reply, HttpError> {
        let url = format!("{}{path}", self.base);
        let request = self
            .http
            .post(&url)
            .header("content-type", content_type)
            .body(body);
        self.send(request, &url).await
    }

    /// `POST` reporting upload progress to `reporter`.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn post_with_progress(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        reporter: std::sync::Arc<dyn Reporter>,
    ) -> Result<Reply, HttpError> {
        let url = format!("{}{path}", self.base);
        let total = body.len() as u64;
        let body = Bytes::from(body);
        let chunks: Vec<Bytes> = (0..body.len())
            .step_by(UPLOAD_CHUNK)
            .map(|start| body.slice(start..(start + UPLOAD_CHUNK).min(body.len())))
            .collect();
        let mut sent = 0u64;
        let stream = futures_util::stream::iter(chunks.into_iter().map(move |chunk| {
            sent += chunk.len() as u64;
            reporter.sent(sent, total);
            Ok::<_, std::io::Error>(chunk)
        }));
        let request = self
            .http
            .post(&url)
            .header("content-type", content_type)
            .header("content-length", total)
            .body(reqwest::Body::wrap_stream(stream));
        self.send(request, &url).await
    }

    /// `PUT` or `DELETE` of a JSON body.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn send_json(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Reply, HttpError> {
        let url = format!("{}{path}", self.base);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::PUT);
        let request = self
            .http
            .request(method, &url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string());
        self.send(request, &url).await
    }
}

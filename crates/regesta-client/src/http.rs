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
    /// The HTTP version it came over.
    pub version: reqwest::Version,
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

/// How long [`RegistryClient::multiplexed`] waits for a plain-HTTP
/// registry to answer over HTTP/2 before keeping HTTP/1.1: an HTTP/1.1
/// server answers the HTTP/2 preface with an error or closes at once, but
/// one that waits for more must not hold the command up for long.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest HTTP/2 frame a multiplexed client accepts.
const H2_MAX_FRAME: u32 = 1 << 20;

/// The error of a request to `url` that got no response.
fn transport(url: &str) -> impl Fn(reqwest::Error) -> HttpError + Copy + '_ {
    move |source| HttpError::Transport {
        url: url.to_owned(),
        source,
    }
}

/// Settings every client of a registry shares.
fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_mins(5))
        .user_agent(concat!("regesta-cli/", env!("CARGO_PKG_VERSION")))
}

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
        let http = builder().build().map_err(transport(&base))?;
        Ok(Self { base, http })
    }

    /// As [`RegistryClient::new`], for a client about to send many
    /// requests at once (mirrors, verifiers): they share one HTTP/2
    /// connection when the registry speaks it, instead of a connection
    /// each, which costs both ends far fewer system calls. Over
    /// `https://`, TLS negotiates the protocol; over plain `http://`, a
    /// `GET /health` first tries HTTP/2 with prior knowledge, and the
    /// client keeps HTTP/1.1 when that fails (a registry or proxy that
    /// speaks only HTTP/1.1).
    ///
    /// # Errors
    /// As [`RegistryClient::new`]; an unreachable registry is not an
    /// error here (the first real request reports it).
    pub async fn multiplexed(base: &str) -> Result<Self, HttpError> {
        let client = Self::new(base)?;
        // Large documents (pages of events, entry bundles) in 16 KiB
        // frames, HTTP/2's default, made `verify-log` up to a third
        // slower than over HTTP/1.1; in 1 MiB frames it is as fast.
        let h2 = || builder().http2_max_frame_size(H2_MAX_FRAME);
        if client.base.starts_with("https://") {
            let http = h2().build().map_err(transport(&client.base))?;
            return Ok(Self { http, ..client });
        }
        let http = h2()
            .http2_prior_knowledge()
            .build()
            .map_err(transport(&client.base))?;
        let probe = http
            .get(format!("{}/health", client.base))
            .timeout(PROBE_TIMEOUT)
            .send()
            .await;
        Ok(match probe {
            Ok(_) => Self { http, ..client },
            Err(_) => client,
        })
    }

    /// The registry base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &str) -> Result<Reply, HttpError> {
        let transport = transport(url);
        let response = request
            .header("cache-control", "no-cache")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let version = response.version();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?;
        Ok(Reply {
            status,
            version,
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

#[cfg(test)]
mod tests {
    use super::RegistryClient;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A registry that speaks only HTTP/1.1, as a plain HTTP/1.1 server
    /// does: whatever a request's head says (the HTTP/2 preface reads as
    /// one), it answers `200 ok` and closes.
    async fn http1_only() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut head, mut read) = (vec![0; 4096], 0);
                    while !head[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut head[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read += n,
                        }
                    }
                    let reply =
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = stream.write_all(reply).await;
                });
            }
        });
        base
    }

    /// A registry that speaks both, as `regesta serve` does.
    async fn http1_and_2() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    #[tokio::test]
    async fn a_registry_that_speaks_http2_gets_it_and_one_that_does_not_keeps_http1() {
        let both = RegistryClient::multiplexed(&http1_and_2().await)
            .await
            .unwrap();
        let reply = both.get("/health").await.unwrap();
        assert_eq!(
            (reply.version, &reply.body[..]),
            (reqwest::Version::HTTP_2, &b"ok"[..])
        );

        let old = RegistryClient::multiplexed(&http1_only().await)
            .await
            .unwrap();
        for _ in 0..2 {
            let reply = old.get("/health").await.unwrap();
            assert_eq!(
                (reply.version, &reply.body[..]),
                (reqwest::Version::HTTP_11, &b"ok"[..])
            );
        }
        // Without multiplexing, HTTP/1.1 even where HTTP/2 is spoken.
        let plain = RegistryClient::new(&http1_and_2().await).unwrap();
        assert_eq!(
            plain.get("/health").await.unwrap().version,
            reqwest::Version::HTTP_11
        );
    }

    #[tokio::test]
    async fn an_unreachable_registry_is_reported_by_the_first_request() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let client = RegistryClient::multiplexed(&base).await.unwrap();
        let error = client.get("/health").await.unwrap_err();
        assert!(
            error.to_string().contains("cannot reach the registry"),
            "{error}"
        );
    }
}

//! The binding fetcher against a real loopback server: only a small JSON
//! body from the exact URL is accepted.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use regesta_protocol::OwnerDomain;
use regesta_trust::{AddressPolicy, BindingSource, FetchSettings, HttpsBindings};

const BINDING: &str = r#"{"domain":"example.com","keys":[],"object":"regesta.domain-binding"}"#;

async fn serve(router: Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    port
}

fn fetcher(port: u16, policy: AddressPolicy) -> HttpsBindings {
    HttpsBindings::new(FetchSettings {
        timeout: Duration::from_millis(500),
        policy,
        scheme: "http",
        port: Some(port),
    })
    .unwrap()
}

async fn fetch_with(handler: Router) -> Result<bytes::Bytes, regesta_trust::TrustError> {
    let port = serve(handler).await;
    fetcher(port, AddressPolicy::AllowLoopback)
        .fetch(&OwnerDomain::parse("127.0.0.1").unwrap())
        .await
}

fn at_well_known<H, T>(handler: H) -> Router
where
    H: axum::handler::Handler<T, ()>,
    T: 'static,
{
    Router::new().route("/.well-known/regesta.json", get(handler))
}

#[tokio::test]
async fn a_json_binding_is_fetched_byte_for_byte() {
    let body = fetch_with(at_well_known(|| async {
        ([(header::CONTENT_TYPE, "application/json")], BINDING)
    }))
    .await
    .unwrap();
    assert_eq!(body.as_ref(), BINDING.as_bytes());
}

#[tokio::test]
async fn redirects_errors_non_json_huge_and_slow_responses_are_refused() {
    let redirect = at_well_known(|| async {
        (
            StatusCode::FOUND,
            [(header::LOCATION, "http://127.0.0.1:1/")],
        )
            .into_response()
    });
    assert_eq!(
        fetch_with(redirect).await.unwrap_err().message,
        "Domain binding not found"
    );
    let missing = Router::new();
    assert_eq!(
        fetch_with(missing).await.unwrap_err().message,
        "Domain binding not found"
    );
    let html = at_well_known(|| async { ([(header::CONTENT_TYPE, "text/html")], BINDING) });
    assert_eq!(
        fetch_with(html).await.unwrap_err().message,
        "Domain binding response must be JSON"
    );
    let untyped = at_well_known(|| async { BINDING.as_bytes().to_vec() });
    assert!(fetch_with(untyped).await.is_err());
    let huge = at_well_known(|| async {
        (
            [(header::CONTENT_TYPE, "application/json")],
            vec![b' '; 70 * 1024],
        )
    });
    assert_eq!(
        fetch_with(huge).await.unwrap_err().message,
        "Domain binding response is too large"
    );
    let streamed = at_well_known(|| async {
        let chunks = (0..70).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 1024])));
        (
            [(header::CONTENT_TYPE, "application/json")],
            axum::body::Body::from_stream(futures_util::stream::iter(chunks)),
        )
    });
    assert_eq!(
        fetch_with(streamed).await.unwrap_err().message,
        "Domain binding response is too large"
    );
    let slow = at_well_known(|| async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        ([(header::CONTENT_TYPE, "application/json")], BINDING)
    });
    assert_eq!(
        fetch_with(slow).await.unwrap_err().message,
        "Domain binding fetch failed"
    );
}

#[tokio::test]
async fn loopback_and_ip_like_domains_are_refused_in_production_policy() {
    let port = serve(at_well_known(|| async {
        ([(header::CONTENT_TYPE, "application/json")], BINDING)
    }))
    .await;
    let strict = fetcher(port, AddressPolicy::PublicOnly);
    for domain in ["127.0.0.1", "0x7f.1", "10.0.0.1", "169.254.169.254"] {
        let error = strict
            .fetch(&OwnerDomain::parse(domain).unwrap())
            .await
            .unwrap_err();
        assert_eq!(error.message, "Domain binding fetch failed", "{domain}");
    }
    assert_eq!(
        strict.url(&OwnerDomain::parse("example.com").unwrap()),
        format!("http://example.com:{port}/.well-known/regesta.json")
    );
    let production = HttpsBindings::new(FetchSettings::production(Duration::from_secs(1))).unwrap();
    assert_eq!(
        production.url(&OwnerDomain::parse("example.com").unwrap()),
        "https://example.com/.well-known/regesta.json"
    );
}

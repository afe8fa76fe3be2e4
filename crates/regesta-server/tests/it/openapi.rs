//! The served OpenAPI document, the route table and the router agree.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::Request;
use regesta_server::{OPENAPI, ROUTE_TABLE};
use regesta_testkit::vectors_dir;

use crate::support::{app, get, send};

fn documented() -> BTreeSet<(String, String)> {
    let doc: serde_json::Value = serde_json::from_slice(OPENAPI).unwrap();
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect()
}

fn tabled() -> BTreeSet<(String, String)> {
    ROUTE_TABLE
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .iter()
                .map(move |m| ((*path).to_owned(), (*m).to_owned()))
        })
        .collect()
}

#[test]
fn the_openapi_document_lists_exactly_the_route_table() {
    assert_eq!(documented(), tabled());
}

#[tokio::test]
async fn every_route_in_the_table_is_routed_and_the_document_is_served() {
    let dir = vectors_dir();
    let t = app(
        &dir,
        "dev-binding/domain-binding.json",
        "2026-11-25T19:13:01.867Z",
        |_| {},
    );
    let zero = "0".repeat(64);
    for (path, method) in tabled() {
        let uri = path
            .replace("{id}", "npm%3Aa.b%2Fc")
            .replace("{version}", "1.0.0")
            .replace("{channel}", "beta")
            .replace("{digest}", &format!("sha256:{zero}"))
            .replace("{algorithm}", "sha256")
            .replace("{hex}", &zero)
            .replace("{path}", "0/000")
            .replace("{old}", "0")
            .replace("{new}", "0");
        let request = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        let reply = send(&t.app, request).await;
        let code = serde_json::from_slice::<serde_json::Value>(&reply.body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned));
        assert_ne!(
            code.as_deref(),
            Some("not_found"),
            "{method} {uri} is not routed"
        );
    }
    let served = get(&t.app, "/openapi.json").await;
    assert_eq!(served.body.as_ref(), OPENAPI);
    assert_eq!(served.json()["openapi"], "3.1.0");
}

//! The layer table of `STYLE.md`, checked against `cargo metadata`.

use serde_json::Value;

/// Which workspace crates each layer may depend on (normal and build
/// dependencies). `regesta-testkit` is dev-only and allowed as a
/// dev-dependency anywhere.
pub const ALLOWED: &[(&str, &[&str])] = &[
    ("regesta-protocol", &[]),
    ("regesta-trust", &["regesta-protocol"]),
    ("regesta-tlog", &["regesta-protocol"]),
    ("regesta-store", &["regesta-protocol"]),
    (
        "regesta-core",
        &[
            "regesta-protocol",
            "regesta-trust",
            "regesta-tlog",
            "regesta-store",
        ],
    ),
    // The HTTP vocabulary the transport and the projections share.
    ("regesta-http", &["regesta-core", "regesta-protocol"]),
    (
        "regesta-server",
        &[
            "regesta-core",
            "regesta-http",
            "regesta-protocol",
            "regesta-trust",
            "regesta-store",
            "regesta-tlog",
            "regesta-projection-npm",
        ],
    ),
    // tlog is pure spec code like protocol; clients verify logs with it.
    ("regesta-client", &["regesta-protocol", "regesta-tlog"]),
    // The CLI also uses ecosystem crates (see `ECOSYSTEM_USERS`).
    (
        "regesta-cli",
        &[
            "regesta-client",
            "regesta-core",
            "regesta-protocol",
            "regesta-tlog",
            "regesta-server",
        ],
    ),
    // The benchmark tools drive core in-process (the scale generator) and
    // speak HTTP as a client; nothing depends on them.
    (
        "regesta-bench",
        &[
            "regesta-client",
            "regesta-core",
            "regesta-protocol",
            "regesta-server",
            "regesta-store",
            "regesta-trust",
        ],
    ),
    ("regesta-testkit", &[]),
];

/// Projection crates (one per ecosystem, `regesta-projection-<ecosystem>`)
/// may depend on protocol, core, the shared HTTP vocabulary and the pure
/// Merkle log code (for ecosystems whose clients verify a log of their own,
/// Go's checksum database) only: never on each other, never on the
/// transport.
const PROJECTION_ALLOWED: &[&str] = &[
    "regesta-protocol",
    "regesta-core",
    "regesta-http",
    "regesta-tlog",
];

/// The crates that wire ecosystems in (the server mounts them, the CLI
/// publishes and verifies with them, the bench generator publishes through
/// them). Nothing below them may depend on an ecosystem crate.
const ECOSYSTEM_USERS: &[&str] = &["regesta-server", "regesta-cli", "regesta-bench"];

fn is_ecosystem(name: &str) -> bool {
    name.starts_with("regesta-projection-")
}

/// External crates a pure layer must never pull in directly.
pub const FORBIDDEN_EXTERNAL: &[(&str, &[&str])] = &[
    (
        "regesta-protocol",
        &[
            "tokio",
            "axum",
            "reqwest",
            "sqlx",
            "hyper",
            "object_store",
            "tar",
            "flate2",
        ],
    ),
    (
        "regesta-tlog",
        &["tokio", "axum", "reqwest", "sqlx", "hyper"],
    ),
];

/// Returns one message per forbidden arrow in `cargo metadata` output.
pub fn violations(metadata: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(packages) = metadata["packages"].as_array() else {
        return vec!["cargo metadata has no packages".into()];
    };
    for package in packages {
        let name = package["name"].as_str().unwrap_or_default();
        if !name.starts_with("regesta-") {
            continue;
        }
        let allowed: Vec<&str> = if name.starts_with("regesta-projection-") {
            PROJECTION_ALLOWED.to_vec()
        } else if let Some((_, list)) = ALLOWED.iter().find(|(n, _)| *n == name) {
            list.to_vec()
        } else {
            out.push(format!(
                "{name} is not in the layer table (crates/regesta-testkit/src/arrows.rs)"
            ));
            continue;
        };
        let forbidden_ext = FORBIDDEN_EXTERNAL
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[][..], |(_, l)| *l);
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            let is_dev = dep["kind"].as_str() == Some("dev");
            if dep_name.starts_with("regesta-") {
                if is_dev && dep_name == "regesta-testkit" {
                    continue;
                }
                let permitted = allowed.contains(&dep_name)
                    || (is_ecosystem(dep_name) && ECOSYSTEM_USERS.contains(&name))
                    || (is_dev && allowed_dev(name, dep_name));
                if !permitted {
                    out.push(format!("{name} must not depend on {dep_name}"));
                }
            } else if !is_dev && forbidden_ext.contains(&dep_name) {
                out.push(format!("{name} must not depend on {dep_name} (pure layer)"));
            }
        }
    }
    out
}

/// Dev-dependencies may reach one layer further up for end-to-end tests,
/// but never create a runtime arrow: the client's tests run the server,
/// core's integration tests publish through a real ecosystem processor,
/// and a crate's tests may depend on itself to enable its features.
fn allowed_dev(from: &str, to: &str) -> bool {
    matches!((from, to), ("regesta-client", "regesta-server"))
        || (from == "regesta-core" && is_ecosystem(to))
        // A crate's tests may turn on its own optional features.
        || from == to
}

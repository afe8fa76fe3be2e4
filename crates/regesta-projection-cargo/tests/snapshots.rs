//! Snapshots of what cargo reads: a domain's `config.json` and the index
//! lines of two releases. A change to any byte shows up as a snapshot
//! diff; review it with `cargo insta review` (or rerun with
//! `INSTA_UPDATE=always`) and commit the `.snap` file only when the change
//! is intended: cargo and every mirror read these bytes.

use regesta_projection_cargo::entry::{index_entry, index_line};
use regesta_projection_cargo::http::config_json;

/// The normalized `Cargo.toml` `cargo package` writes for a first release.
const FIRST: &str = r#"
[package]
edition = "2021"
name = "lib-a"
version = "0.1.0"
build = false
description = "a test crate"
license = "MIT"

[lib]
name = "lib_a"
path = "src/lib.rs"
"#;

/// A second release with every kind of dependency and both feature styles.
const SECOND: &str = r#"
[package]
edition = "2021"
name = "lib-a"
version = "0.2.0"
rust-version = "1.70"
links = "z"
description = "a test crate"
license = "MIT"

[dependencies.lib-helper]
version = "0.1"
optional = true
registry-index = "sparse+https://registry.example/cargo/some.dev/index/"

[dependencies.other]
version = "=0.3.1"
package = "real-other"
registry-index = "sparse+https://registry.example/cargo/other.dev/index/"

[dependencies.serde]
version = "1.0"
features = ["derive"]
default-features = false
registry-index = "https://github.com/rust-lang/crates.io-index"

[dev-dependencies.tempfile]
version = "3"
registry-index = "https://github.com/rust-lang/crates.io-index"

[target."cfg(unix)".build-dependencies.cc]
version = ">=1.0, <2"
registry-index = "https://github.com/rust-lang/crates.io-index"

[features]
default = ["fast"]
fast = []
fancy = ["dep:lib-helper", "serde/std"]
"#;

#[test]
fn config() {
    insta::assert_snapshot!(config_json("https://registry.example/cargo", "some.dev"));
}

#[test]
fn index_lines() {
    let line = |manifest: &str, cksum: &str, pubtime: &str| {
        let entry = index_entry(manifest, &cksum.repeat(64)).unwrap();
        String::from_utf8(index_line(&entry, pubtime)).unwrap()
    };
    let file = [
        line(FIRST, "a", "2026-12-05T10:00:00Z"),
        line(SECOND, "b", "2026-12-06T11:30:00Z"),
    ]
    .join("\n");
    insta::assert_snapshot!(file);
}

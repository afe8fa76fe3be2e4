//! Fails when a crate depends on something its layer may not.

use std::process::Command;

use regesta_testkit::arrows::violations;
use serde_json::json;

#[test]
fn workspace_dependencies_follow_the_layer_arrows() {
    let cargo = env!("CARGO");
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(regesta_testkit::workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let found = violations(&metadata);
    assert!(
        found.is_empty(),
        "forbidden dependencies:\n{}",
        found.join("\n")
    );
    let members = metadata["packages"].as_array().unwrap().len();
    assert!(members >= 9, "expected every layer crate, saw {members}");
}

#[test]
fn a_forbidden_arrow_is_reported() {
    let metadata = json!({"packages": [
        {"name": "regesta-core", "dependencies": [
            {"name": "regesta-server", "kind": null},
            {"name": "regesta-store", "kind": null}
        ]},
        {"name": "regesta-protocol", "dependencies": [{"name": "tokio", "kind": null}]},
        {"name": "regesta-projection-npm", "dependencies": [
            {"name": "regesta-projection-pypi", "kind": null},
            {"name": "regesta-server", "kind": null}
        ]},
        {"name": "regesta-store", "dependencies": [
            {"name": "regesta-projection-npm", "kind": null}
        ]},
        {"name": "regesta-trust", "dependencies": [
            {"name": "regesta-projection-npm", "kind": "dev"}
        ]},
        {"name": "regesta-core", "dependencies": [
            {"name": "regesta-projection-npm", "kind": null},
            {"name": "regesta-projection-npm", "kind": "dev"}
        ]},
        {"name": "regesta-server", "dependencies": [
            {"name": "regesta-projection-npm", "kind": null}
        ]},
        {"name": "regesta-http", "dependencies": [
            {"name": "regesta-projection-npm", "kind": null},
            {"name": "regesta-server", "kind": null},
            {"name": "regesta-core", "kind": null}
        ]},
        {"name": "regesta-protocol", "dependencies": [
            {"name": "flate2", "kind": null},
            {"name": "tar", "kind": null}
        ]}
    ]});
    assert_eq!(
        violations(&metadata),
        vec![
            "regesta-core must not depend on regesta-server",
            "regesta-protocol must not depend on tokio (pure layer)",
            "regesta-projection-npm must not depend on regesta-projection-pypi",
            "regesta-projection-npm must not depend on regesta-server",
            "regesta-store must not depend on regesta-projection-npm",
            "regesta-trust must not depend on regesta-projection-npm",
            "regesta-core must not depend on regesta-projection-npm",
            "regesta-http must not depend on regesta-projection-npm",
            "regesta-http must not depend on regesta-server",
            "regesta-protocol must not depend on flate2 (pure layer)",
            "regesta-protocol must not depend on tar (pure layer)",
        ]
    );
}

//! Snapshots of the Simple API documents, and the JSON ones checked
//! against a JSON Schema of PEP 691 (with PEP 592, 700 and 714) written from
//! the PEPs' text (`tests/schemas/simple-api-v1.json`). A change to any byte shows up as a snapshot diff; review it with
//! `cargo insta review` (or rerun with `INSTA_UPDATE=always`) and commit
//! the `.snap` file only when the change is intended.
#![expect(
    clippy::unwrap_used,
    reason = "test helpers panic on failure by design"
)]

use regesta_projection_pypi::negotiate::Format;
use regesta_projection_pypi::simple::{FileEntry, ProjectPage, render_index, render_project};

fn page() -> ProjectPage {
    let file =
        |filename: &str, requires: Option<&str>, metadata: bool, yanked: Option<&str>| FileEntry {
            filename: filename.into(),
            url: format!("../../files/my-lib/{filename}"),
            sha256: "a".repeat(64),
            requires_python: requires.map(Into::into),
            core_metadata_sha256: metadata.then(|| "b".repeat(64)),
            size: 1234,
            upload_time: "2026-12-05T12:00:00.000000Z".into(),
            yanked: yanked.map(Into::into),
        };
    ProjectPage {
        name: "my-lib".into(),
        versions: vec!["1.0".into(), "2.0rc1".into()],
        files: vec![
            file("my_lib-1.0.tar.gz", None, false, Some("")),
            file("my_lib-1.0-py3-none-any.whl", Some(">=3.8"), true, None),
            file(
                "my_lib-2.0rc1-py3-none-any.whl",
                Some(">=3.9, <4"),
                true,
                Some("broken <build>"),
            ),
        ],
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn project_page_html() {
    insta::assert_snapshot!(text(render_project(&page(), Format::Html)));
    assert_eq!(
        render_project(&page(), Format::Html),
        render_project(&page(), Format::LegacyHtml),
        "both HTML media types carry the same document"
    );
}

#[test]
fn project_page_json() {
    let bytes = render_project(&page(), Format::Json);
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["meta"]["api-version"], "1.1");
    assert_eq!(value["versions"], serde_json::json!(["1.0", "2.0rc1"]));
    let files = value["files"].as_array().unwrap();
    for file in files {
        for key in [
            "filename",
            "url",
            "hashes",
            "size",
            "upload-time",
            "yanked",
            "core-metadata",
        ] {
            assert!(file.get(key).is_some(), "{key} in {file}");
        }
    }
    assert_eq!(files[0]["yanked"], true);
    assert_eq!(files[1]["yanked"], false);
    assert_eq!(files[2]["yanked"], "broken <build>");
    assert_eq!(files[0]["core-metadata"], false);
    insta::assert_snapshot!(text(bytes));
}

#[test]
fn project_index() {
    let names = ["app", "my-lib"];
    insta::assert_snapshot!("index_html", text(render_index(&names, Format::Html)));
    insta::assert_snapshot!("index_json", text(render_index(&names, Format::Json)));
}

/// The schema, compiled.
fn schema() -> jsonschema::Validator {
    let text = include_str!("schemas/simple-api-v1.json");
    jsonschema::validator_for(&serde_json::from_str(text).unwrap()).unwrap()
}

fn errors(validator: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn json_pages_follow_the_pep_691_schema() {
    let validator = schema();
    for bytes in [
        render_project(&page(), Format::Json),
        render_index(&["app", "my-lib"], Format::Json),
        render_index(&[], Format::Json),
        render_project(
            &ProjectPage {
                name: "empty".into(),
                versions: Vec::new(),
                files: Vec::new(),
            },
            Format::Json,
        ),
    ] {
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(errors(&validator, &value), Vec::<String>::new(), "{value}");
    }
    // The schema can fail: each of these breaks one rule.
    let good: serde_json::Value =
        serde_json::from_slice(&render_project(&page(), Format::Json)).unwrap();
    let broken = [
        ("/meta", serde_json::Value::Null),
        ("/files/0/hashes/sha256", serde_json::json!("NOT HEX")),
        ("/files/1/size", serde_json::json!(-1)),
        ("/files/1/upload-time", serde_json::json!("yesterday")),
        ("/name", serde_json::json!("My_Lib")),
    ];
    for (pointer, value) in broken {
        let mut bad = good.clone();
        *bad.pointer_mut(pointer).unwrap() = value;
        assert!(!validator.is_valid(&bad), "{pointer}");
    }
}

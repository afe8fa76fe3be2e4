//! The real cargo against two domains' sparse registries on one fresh
//! `regesta serve`: crates published by `regesta publish` (which runs
//! `cargo package`), a dependency across domains, a feature with an
//! optional dependency, `cargo update --precise`, a tampered `.crate`
//! refused on its checksum, `cargo install --registry`, and `regesta
//! verify` and `mirror` over Cargo releases.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::npm_clients::Registry;
use crate::support::{get, ok};

/// The registry, and the cargo home the publishers package with.
struct Crates {
    registry: Registry,
    home: PathBuf,
}

/// Writes a crate: `Cargo.toml` (its `[package]` preamble from `name` and
/// `version`, then `rest`) and `files` under `dir`.
fn write_crate(dir: &Path, name: &str, version: &str, rest: &str, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\
             description = \"a test crate\"\nlicense = \"MIT\"\n\n{rest}\n[workspace]\n"
        ),
    )
    .unwrap();
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
}

impl Crates {
    /// A cargo home whose config names both domains' registries.
    fn cargo_home(&self, name: &str) -> PathBuf {
        let home = self.registry.root.join(name);
        std::fs::create_dir_all(&home).unwrap();
        let index = |domain: &str| format!("sparse+{}/cargo/{domain}/index/", self.registry.base);
        std::fs::write(
            home.join("config.toml"),
            format!(
                "[registries.a]\nindex = \"{}\"\n\n[registries.b]\nindex = \"{}\"\n",
                index("a.localhost"),
                index("b.localhost")
            ),
        )
        .unwrap();
        home
    }

    /// `regesta publish` in the crate directory `dir` for `domain`.
    fn publish(&self, dir: &Path, domain: &str) {
        let key = self.registry.key(domain);
        ok(&Command::new(env!("CARGO_BIN_EXE_regesta"))
            .args(["publish", dir.to_str().unwrap(), "--domain", domain])
            .args(["--registry", &self.registry.base, "--auth-key", &key, "-q"])
            .env_remove("REGESTA_REGISTRY")
            .env("CARGO_HOME", &self.home)
            .env_remove("RUSTC_WRAPPER")
            .output()
            .unwrap());
    }

    /// The index lines of `name` in `domain`'s registry.
    fn index_lines(&self, domain: &str, name: &str) -> Vec<serde_json::Value> {
        let path = regesta_projection_cargo::names::CrateName::parse(name)
            .unwrap()
            .index_path();
        let url = format!("{}/cargo/{domain}/index/{path}", self.registry.base);
        let (status, text) = get(&url);
        assert_eq!(status, 200, "{url}");
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The `cksum` of `name`@`version` in `domain`'s index.
    fn cksum(&self, domain: &str, name: &str, version: &str) -> String {
        let lines = self.index_lines(domain, name);
        let line = lines.iter().find(|l| l["vers"] == version).unwrap();
        line["cksum"].as_str().unwrap().to_owned()
    }

    /// The `.crate` object of a checksum, on the server's disk.
    fn object(&self, cksum: &str) -> PathBuf {
        self.registry
            .data
            .join("objects/sha256")
            .join(&cksum[..2])
            .join(cksum)
    }
}

/// Runs cargo in `dir` with `home` as its `CARGO_HOME`.
fn cargo(dir: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new("cargo")
        .args(args)
        .current_dir(dir)
        .env("CARGO_HOME", home)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_REGISTRIES_CRATES_IO_PROTOCOL")
        .output()
        .unwrap()
}

const LIB_A_2: &str = "[dependencies]\nlib-helper = { version = \"0.1\", registry = \"a\", optional = true }\n\n\
                       [features]\nfancy = [\"dep:lib-helper\"]\n";

const GREET_2: &str = "pub fn greet() -> String {\n    let text = String::from(\"hello from lib-a 0.2\");\n    \
                       #[cfg(feature = \"fancy\")]\n    let text = lib_helper::exclaim(&text);\n    text\n}\n";

/// lib-helper, lib-a 0.1.0 and 0.2.0 (feature `fancy` turns on the
/// optional lib-helper) and lib-spare on a.localhost; app-b (a library and
/// a binary, on lib-a from domain a's registry) on b.localhost.
fn publish_fixtures(crates: &Crates) {
    let root = &crates.registry.root;
    let helper = root.join("lib-helper");
    write_crate(
        &helper,
        "lib-helper",
        "0.1.0",
        "",
        &[(
            "src/lib.rs",
            "pub fn exclaim(s: &str) -> String { format!(\"{s}!\") }\n",
        )],
    );
    crates.publish(&helper, "a.localhost");
    let lib = root.join("lib-a");
    write_crate(
        &lib,
        "lib-a",
        "0.1.0",
        "",
        &[(
            "src/lib.rs",
            "pub fn greet() -> String { String::from(\"hello from lib-a 0.1\") }\n",
        )],
    );
    crates.publish(&lib, "a.localhost");
    write_crate(&lib, "lib-a", "0.2.0", LIB_A_2, &[("src/lib.rs", GREET_2)]);
    crates.publish(&lib, "a.localhost");
    let spare = root.join("lib-spare");
    write_crate(
        &spare,
        "lib-spare",
        "0.1.0",
        "",
        &[("src/lib.rs", "pub const SPARE: u8 = 1;\n")],
    );
    crates.publish(&spare, "a.localhost");
    let app = root.join("app-b");
    write_crate(
        &app,
        "app-b",
        "0.1.0",
        "[dependencies]\nlib-a = { version = \">=0.1, <0.3\", registry = \"a\" }\n",
        &[
            (
                "src/lib.rs",
                "pub fn run() -> String { format!(\"app-b sees: {}\", lib_a::greet()) }\n",
            ),
            (
                "src/main.rs",
                "fn main() { println!(\"{}\", app_b::run()); }\n",
            ),
        ],
    );
    crates.publish(&app, "b.localhost");
}

/// The index says what cargo needs: lib-a's two versions in publish order,
/// 0.2.0 with its optional dependency and `dep:` feature (so `v: 2`), and
/// app-b's dependency pointing at domain a's index.
fn index_describes_the_crates(crates: &Crates) {
    let lib = crates.index_lines("a.localhost", "lib-a");
    let versions: Vec<&str> = lib.iter().map(|l| l["vers"].as_str().unwrap()).collect();
    assert_eq!(versions, ["0.1.0", "0.2.0"]);
    assert_eq!(lib[1]["v"], 2);
    assert_eq!(lib[1]["features2"]["fancy"][0], "dep:lib-helper");
    let helper = &lib[1]["deps"][0];
    assert_eq!(helper["name"], "lib-helper");
    assert_eq!(helper["optional"], true);
    let app = crates.index_lines("b.localhost", "app-b");
    let dep = &app[0]["deps"][0];
    assert_eq!(dep["name"], "lib-a");
    let a_index = format!("sparse+{}/cargo/a.localhost/index/", crates.registry.base);
    assert_eq!(dep["registry"], a_index.as_str());
    // The index is prepared once and served from memory until the next
    // event; config.json and a version's download redirect for good.
    let lib_path = regesta_projection_cargo::names::CrateName::parse("lib-a")
        .unwrap()
        .index_path();
    for path in [
        "/cargo/a.localhost/index/config.json".to_owned(),
        format!("/cargo/a.localhost/index/{lib_path}"),
        "/cargo/a.localhost/files/lib-a/0.1.0/download".to_owned(),
    ] {
        crates.registry.assert_kept(&path);
    }
}

/// A consumer on both registries builds and runs with the feature on,
/// locks every crate's registry and checksum, and `cargo update --precise`
/// moves lib-a between its versions.
fn consumer_builds_and_moves(crates: &Crates) {
    let base = &crates.registry.base;
    let home = crates.cargo_home("consumer-home");
    let dir = crates.registry.root.join("consumer");
    let manifest = |lib_a: &str| {
        format!(
            "[dependencies]\napp-b = {{ version = \"0.1\", registry = \"b\" }}\nlib-a = {lib_a}\n"
        )
    };
    let main = "fn main() {\n    println!(\"{}\", app_b::run());\n    println!(\"{}\", lib_a::greet());\n}\n";
    write_crate(
        &dir,
        "consumer",
        "0.0.0",
        &manifest(r#"{ version = ">=0.1, <0.3", registry = "a", features = ["fancy"] }"#),
        &[("src/main.rs", main)],
    );
    let out = ok(&cargo(&dir, &home, &["run", "--quiet"]));
    assert_eq!(
        out,
        "app-b sees: hello from lib-a 0.2!\nhello from lib-a 0.2!\n"
    );
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    for (domain, name, version) in [
        ("a.localhost", "lib-a", "0.2.0"),
        ("a.localhost", "lib-helper", "0.1.0"),
        ("b.localhost", "app-b", "0.1.0"),
    ] {
        let entry = format!(
            "name = \"{name}\"\nversion = \"{version}\"\nsource = \"sparse+{base}/cargo/{domain}/index/\"\nchecksum = \"{}\"",
            crates.cksum(domain, name, version)
        );
        assert!(lock.contains(&entry), "{entry}\nnot in\n{lock}");
    }

    write_crate(
        &dir,
        "consumer",
        "0.0.0",
        &manifest(r#"{ version = ">=0.1, <0.3", registry = "a" }"#),
        &[],
    );
    ok(&cargo(
        &dir,
        &home,
        &["update", "--quiet", "-p", "lib-a", "--precise", "0.1.0"],
    ));
    let out = ok(&cargo(&dir, &home, &["run", "--quiet"]));
    assert_eq!(
        out,
        "app-b sees: hello from lib-a 0.1\nhello from lib-a 0.1\n"
    );
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains("name = \"lib-a\"\nversion = \"0.1.0\""),
        "{lock}"
    );
    assert!(!lock.contains("lib-helper"), "{lock}");
    ok(&cargo(
        &dir,
        &home,
        &["update", "--quiet", "-p", "lib-a", "--precise", "0.2.0"],
    ));
    let out = ok(&cargo(&dir, &home, &["run", "--quiet"]));
    assert_eq!(
        out,
        "app-b sees: hello from lib-a 0.2\nhello from lib-a 0.2\n"
    );
}

/// lib-spare's `.crate` object swapped on disk for another well-formed
/// crate: cargo refuses it on the checksum its index line carries, and
/// `regesta verify` reports the release. Nothing fetched lib-spare before
/// (the server keeps objects it served in memory).
fn tampered_crate_is_refused(crates: &Crates) {
    let cksum = crates.cksum("a.localhost", "lib-spare", "0.1.0");
    let object = crates.object(&cksum);
    let original = std::fs::read(&object).unwrap();
    let helper = crates.cksum("a.localhost", "lib-helper", "0.1.0");
    std::fs::write(&object, std::fs::read(crates.object(&helper)).unwrap()).unwrap();

    let home = crates.cargo_home("tampered-home");
    let dir = crates.registry.root.join("tampered");
    write_crate(
        &dir,
        "tampered",
        "0.0.0",
        "[dependencies]\nlib-spare = { version = \"0.1\", registry = \"a\" }\n",
        &[("src/main.rs", "fn main() { let _ = lib_spare::SPARE; }\n")],
    );
    let out = cargo(&dir, &home, &["fetch"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("checksum"), "{text}");
    assert!(
        !home.join("registry/src").exists()
            || walk_names(&home.join("registry/src")).all(|n| !n.starts_with("lib-spare")),
        "a tampered crate was unpacked"
    );
    let (code, text) = regesta_verify(crates, &["verify", "cargo:a.localhost/lib-spare@0.1.0"]);
    assert_eq!(code, Some(1), "{text}");
    std::fs::write(&object, original).unwrap();
}

/// The names two levels below `dir` (cargo unpacks crates under
/// `registry/src/<registry>/<crate>-<version>`).
fn walk_names(dir: &Path) -> impl Iterator<Item = String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|registry| std::fs::read_dir(registry.unwrap().path()).unwrap())
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
}

/// `cargo install --registry b app-b` builds the binary from the two
/// registries and it runs.
fn install_binary(crates: &Crates) {
    let home = crates.cargo_home("install-home");
    let root = crates.registry.root.join("installed");
    let work = crates.registry.root.join("install-work");
    std::fs::create_dir_all(&work).unwrap();
    ok(&cargo(
        &work,
        &home,
        &[
            "install",
            "--quiet",
            "--registry",
            "b",
            "app-b",
            "--root",
            root.to_str().unwrap(),
        ],
    ));
    let run = Command::new(root.join("bin/app-b")).output().unwrap();
    assert_eq!(ok(&run), "app-b sees: hello from lib-a 0.2\n");
}

fn regesta_verify(crates: &Crates, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_regesta"))
        .args(args)
        .args(["--registry", &crates.registry.base])
        .env_remove("REGESTA_REGISTRY")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// `regesta verify` re-derives each index entry from its `.crate`;
/// `verify-package`, `verify-log` and `mirror` take Cargo releases.
fn verify_and_mirror(crates: &Crates) {
    let mirror = crates.registry.root.join("mirror");
    for args in [
        &["verify", "cargo:a.localhost/lib-a@0.1.0"][..],
        &["verify", "cargo:a.localhost/lib-a@0.2.0"],
        &["verify", "cargo:b.localhost/app-b@0.1.0"],
        &["verify-package", "cargo:a.localhost/lib-a"],
        &["verify-log"],
        &["mirror", mirror.to_str().unwrap()],
    ] {
        let (code, text) = regesta_verify(crates, args);
        assert_eq!(code, Some(0), "{args:?}: {text}");
    }
}

/// Runs everywhere the tests run: cargo is what runs them.
#[test]
fn cargo_builds_installs_and_verifies_crates_across_domains() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::start(tmp.path());
    let mut crates = Crates {
        registry,
        home: PathBuf::new(),
    };
    crates.home = crates.cargo_home("publisher-home");
    publish_fixtures(&crates);
    index_describes_the_crates(&crates);
    tampered_crate_is_refused(&crates);
    consumer_builds_and_moves(&crates);
    install_binary(&crates);
    verify_and_mirror(&crates);
}

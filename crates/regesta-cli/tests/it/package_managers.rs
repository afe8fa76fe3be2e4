//! pnpm, yarn (classic and berry) and bun install from `regesta serve`
//! through the npm projection (they ask for the abbreviated packument).
//! The clients come from `scripts/install-test-clients`, which
//! `scripts/test` runs; a missing client fails the test, it never skips.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::npm_clients::{Registry, consumer, run};
use crate::support::{ok, tools_dir};

/// Where `scripts/install-test-clients` put the clients.
fn tools() -> PathBuf {
    let dir = tools_dir();
    assert!(
        dir.join("bin/pnpm").is_file(),
        "package-manager clients missing in {}: run scripts/install-test-clients",
        dir.display()
    );
    dir
}

/// What the consumer's `require("@a.localhost/app")` evaluates to.
fn loaded(project: &Path) -> String {
    let output = run("node", &["-p", "require('@a.localhost/app')"], project);
    ok(&output).trim().to_owned()
}

const LATEST_TREE: &str = "@a.localhost/app@1.0.0 -> @b.localhost/lib@1.1.0";

fn lockfile(project: &Path, name: &str) -> String {
    std::fs::read_to_string(project.join(name)).unwrap()
}

fn pnpm(registry: &Registry, tools: &Path, project: &Path, extra: &[&str]) -> Output {
    let url = format!("{}/npm/", registry.base);
    let store = registry.root.join("pnpm-store");
    let pnpm = tools.join("bin/pnpm");
    let args = [
        "add",
        "@a.localhost/app",
        "--registry",
        &url,
        "--store-dir",
        store.to_str().unwrap(),
    ];
    run(
        pnpm.to_str().unwrap(),
        &[&args[..], extra].concat(),
        project,
    )
}

fn pnpm_installs_and_honours_minimum_release_age(registry: &Registry, tools: &Path) {
    let project = registry.root.join("pnpm-project");
    consumer(&project, "pnpm-consumer");
    ok(&pnpm(
        registry,
        tools,
        &project,
        &["--config.minimum-release-age=0"],
    ));
    assert_eq!(loaded(&project), LATEST_TREE);
    let lock = lockfile(&project, "pnpm-lock.yaml");
    assert!(lock.contains("'@b.localhost/lib@1.1.0'"), "{lock}");
    assert!(lock.contains("integrity: sha512-"), "{lock}");

    // Everything was published seconds ago: a one-week minimum release age
    // leaves no version old enough, which pnpm can only know from `time`.
    let young = registry.root.join("pnpm-young");
    consumer(&young, "pnpm-young");
    let refused = pnpm(
        registry,
        tools,
        &young,
        &["--config.minimum-release-age=10080"],
    );
    assert!(
        !refused.status.success(),
        "too-young releases must be refused"
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(
        text.contains("MATURE") || text.contains("minimumReleaseAge"),
        "{text}"
    );
}

fn yarn_classic_installs(registry: &Registry, tools: &Path) {
    let project = registry.root.join("yarn-project");
    consumer(&project, "yarn-consumer");
    let url = format!("{}/npm/", registry.base);
    let cache = registry.root.join("yarn-cache");
    let yarn = tools.join("bin/yarn");
    let args = [
        "add",
        "@a.localhost/app",
        "--registry",
        &url,
        "--cache-folder",
        cache.to_str().unwrap(),
        "--non-interactive",
        "--no-progress",
    ];
    ok(&run(yarn.to_str().unwrap(), &args, &project));
    assert_eq!(loaded(&project), LATEST_TREE);
    let lock = lockfile(&project, "yarn.lock");
    assert!(lock.contains("\"@b.localhost/lib@^1\""), "{lock}");
    assert!(lock.contains("integrity sha512-"), "{lock}");
}

fn yarn_berry_installs(registry: &Registry, tools: &Path) {
    let project = registry.root.join("berry-project");
    consumer(&project, "berry-consumer");
    let host = registry.base.trim_start_matches("http://");
    let host = host.split(':').next().unwrap();
    std::fs::write(
        project.join(".yarnrc.yml"),
        format!(
            "npmRegistryServer: \"{}/npm\"\nunsafeHttpWhitelist: [\"{host}\"]\nnodeLinker: node-modules\nenableGlobalCache: false\nenableTelemetry: false\nnpmMinimalAgeGate: 0\ncacheFolder: \"{}\"\n",
            registry.base,
            registry.root.join("berry-cache").display()
        ),
    )
    .unwrap();
    std::fs::write(project.join("yarn.lock"), "").unwrap();
    let yarn = tools.join("berry/bin/yarn");
    ok(&run(
        yarn.to_str().unwrap(),
        &["add", "@a.localhost/app"],
        &project,
    ));
    assert_eq!(loaded(&project), LATEST_TREE);
    let lock = lockfile(&project, "yarn.lock");
    assert!(lock.contains("@b.localhost/lib@npm:1.1.0"), "{lock}");
}

fn bun_installs(registry: &Registry, tools: &Path) {
    let project = registry.root.join("bun-project");
    consumer(&project, "bun-consumer");
    let url = format!("{}/npm/", registry.base);
    let bun = tools.join("bin/bun");
    let output = std::process::Command::new(&bun)
        .args(["add", "@a.localhost/app", "--registry", &url])
        .current_dir(&project)
        .env("BUN_INSTALL_CACHE_DIR", registry.root.join("bun-cache"))
        .env("DO_NOT_TRACK", "1")
        .output()
        .unwrap();
    ok(&output);
    assert_eq!(loaded(&project), LATEST_TREE);
    let lock = lockfile(&project, "bun.lock");
    assert!(lock.contains("@b.localhost/lib@1.1.0"), "{lock}");
    assert!(lock.contains("sha512-"), "{lock}");
}

/// A project with a pnpm lockfile is packed by `pnpm pack`, and what it
/// packed installs.
fn pnpm_projects_are_packed_by_pnpm(registry: &Registry, tools: &Path) {
    let dir = registry.root.join("packed");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"@b.localhost/packed","version":"3.0.0","main":"index.js"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("index.js"), "module.exports = 'packed by pnpm';\n").unwrap();
    std::fs::write(dir.join("pnpm-lock.yaml"), "lockfileVersion: '9.0'\n").unwrap();
    #[expect(
        clippy::disallowed_methods,
        reason = "extend the test's PATH with the clients"
    )]
    let path = std::env::var("PATH").unwrap_or_default();
    let key = registry.root.join("keys-b.localhost/private-key.json");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_regesta"))
        .args([
            "publish",
            dir.to_str().unwrap(),
            "--registry",
            &registry.base,
        ])
        .args(["--auth-key", key.to_str().unwrap()])
        .env("PATH", format!("{}:{path}", tools.join("bin").display()))
        .output()
        .unwrap();
    ok(&output);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("pnpm pack"), "{said}");

    let project = registry.root.join("packed-consumer");
    consumer(&project, "packed-consumer");
    let url = format!("{}/npm/", registry.base);
    let pnpm = tools.join("bin/pnpm");
    let store = registry.root.join("pnpm-store");
    let args = [
        "add",
        "@b.localhost/packed",
        "--registry",
        &url,
        "--store-dir",
        store.to_str().unwrap(),
        "--config.minimum-release-age=0",
    ];
    ok(&run(pnpm.to_str().unwrap(), &args, &project));
    let loaded = run("node", &["-p", "require('@b.localhost/packed')"], &project);
    assert_eq!(ok(&loaded).trim(), "packed by pnpm");
}

#[test]
#[ignore = "needs pnpm, yarn and bun (scripts/install-test-clients): run scripts/test"]
fn pnpm_yarn_and_bun_install_across_domains() {
    let tools = tools();
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::start(tmp.path());
    registry.publish_fixtures();
    pnpm_installs_and_honours_minimum_release_age(&registry, &tools);
    yarn_classic_installs(&registry, &tools);
    yarn_berry_installs(&registry, &tools);
    bun_installs(&registry, &tools);
    pnpm_projects_are_packed_by_pnpm(&registry, &tools);
}

//! The real `npm` client installs from `regesta serve` through the npm
//! projection: dependencies across owner domains, dist-tags, lockfile
//! integrity, and a tampered tarball is refused.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::{Server, ok, regesta, start_with};

pub(crate) fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fetch_retries", "0")
        .env("npm_config_fetch_retry_mintimeout", "100")
        .env("npm_config_fetch_retry_maxtimeout", "200")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

pub(crate) fn package(dir: &Path, name: &str, version: &str, deps: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        format!(r#"{{"name":"{name}","version":"{version}","main":"index.js","dependencies":{{{deps}}}}}"#),
    )
    .unwrap();
    // Each module names itself and what it requires, so loading the
    // consumer's dependency proves the whole tree resolved under any layout.
    let requires = deps
        .split(',')
        .filter_map(|dep| dep.split(':').next())
        .filter(|dep| !dep.is_empty())
        .fold(String::new(), |mut out, dep| {
            write!(out, " + \" -> \" + require({dep})").unwrap();
            out
        });
    std::fs::write(
        dir.join("index.js"),
        format!(
            "module.exports = {:?}{requires};\n",
            format!("{name}@{version}")
        ),
    )
    .unwrap();
}

pub(crate) fn installed_version(project: &Path, name: &str) -> String {
    let text =
        std::fs::read_to_string(project.join("node_modules").join(name).join("package.json"))
            .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["version"].as_str().unwrap().to_owned()
}

/// Two owner domains with their keys, and the running registry they publish to.
pub(crate) struct Registry {
    pub(crate) root: std::path::PathBuf,
    pub(crate) data: std::path::PathBuf,
    pub(crate) base: String,
    /// The server environment (bindings and the caller's extras).
    pub(crate) env: Vec<(String, String)>,
    server: Option<Server>,
}

impl Registry {
    pub(crate) fn start(root: &Path) -> Self {
        Self::start_with(root, &[])
    }

    /// As [`Registry::start`], with extra server environment.
    pub(crate) fn start_with(root: &Path, env: &[(&str, &str)]) -> Self {
        for domain in ["a.localhost", "b.localhost"] {
            let keys = root.join(format!("keys-{domain}"));
            ok(&regesta(&[
                "keygen",
                keys.to_str().unwrap(),
                "--domain",
                domain,
            ]));
        }
        let bindings = format!(
            "{},{}",
            root.join("keys-a.localhost/domain-binding.json").display(),
            root.join("keys-b.localhost/domain-binding.json").display()
        );
        let data = root.join("data");
        let env = [&[("REGESTA_DEV_BINDINGS", bindings.as_str())], env].concat();
        let server = start_with(&data, &env);
        Self {
            root: root.to_owned(),
            data,
            base: server.base.clone(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            server: Some(server),
        }
    }

    /// Kills the server (SIGKILL).
    pub(crate) fn kill(&mut self) {
        self.server = None;
    }

    /// Kills the server and starts another on the same data and
    /// environment (at a new address).
    pub(crate) fn restart(&mut self) {
        self.server = None;
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let server = start_with(&self.data, &env);
        self.base.clone_from(&server.base);
        self.server = Some(server);
    }

    /// The fields of the first line the server logged with `message`.
    pub(crate) fn logged(&self, message: &str) -> Option<serde_json::Value> {
        self.server.as_ref().and_then(|s| s.logged(message))
    }

    /// The paths of the requests the server has logged so far.
    pub(crate) fn request_paths(&self) -> Vec<String> {
        self.server
            .as_ref()
            .map(Server::request_paths)
            .unwrap_or_default()
    }

    /// See [`Server::assert_kept`].
    pub(crate) fn assert_kept(&self, path: &str) {
        self.running().assert_kept(path);
    }

    /// See [`Server::fetch_use`].
    pub(crate) fn fetch_use(&self, path: &str) -> String {
        self.running().fetch_use(path)
    }

    fn running(&self) -> &Server {
        self.server.as_ref().expect("the registry is running")
    }

    pub(crate) fn key(&self, domain: &str) -> String {
        let key = self.root.join(format!("keys-{domain}/private-key.json"));
        key.to_str().unwrap().to_owned()
    }

    pub(crate) fn publish(&self, dir: &Path, domain: &str) {
        let key = self.key(domain);
        let args = ["publish", dir.to_str().unwrap(), "--registry", &self.base];
        ok(&regesta(&[&args[..], &["--auth-key", &key, "-q"]].concat()));
    }

    fn set_channel(&self, package: &str, tag: &str, version: &str, domain: &str) {
        let key = self.key(domain);
        let args = [
            "channel",
            "set",
            package,
            tag,
            version,
            "--registry",
            &self.base,
        ];
        ok(&regesta(&[&args[..], &["--auth-key", &key, "-q"]].concat()));
    }

    /// `npm` against the projection with its own cache directory.
    pub(crate) fn npm(&self, args: &[&str], dir: &Path, cache: &str) -> Output {
        let registry = format!("{}/npm/", self.base);
        let cache = self.root.join(cache);
        let flags = ["--registry", &registry, "--cache", cache.to_str().unwrap()];
        let full = [args, &flags[..], &["--no-audit", "--no-fund"]].concat();
        run("npm", &full, dir)
    }

    /// lib 1.0.0 and 1.1.0 on b.localhost; app 1.0.0 (`latest`) and
    /// 2.0.0-rc.1 (`next`) on a.localhost, both depending on `lib@^1`.
    pub(crate) fn publish_fixtures(&self) {
        let lib = self.root.join("lib");
        for version in ["1.0.0", "1.1.0"] {
            package(&lib, "@b.localhost/lib", version, "");
            self.publish(&lib, "b.localhost");
        }
        let app = self.root.join("app");
        for version in ["1.0.0", "2.0.0-rc.1"] {
            package(
                &app,
                "@a.localhost/app",
                version,
                r#""@b.localhost/lib":"^1""#,
            );
            self.publish(&app, "a.localhost");
        }
        for (tag, version) in [("latest", "1.0.0"), ("next", "2.0.0-rc.1")] {
            self.set_channel("npm:a.localhost/app", tag, version, "a.localhost");
        }
    }
}

pub(crate) fn consumer(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        format!(r#"{{"name":"{name}","version":"0.0.0","private":true}}"#),
    )
    .unwrap();
}

fn installs_latest_across_domains(registry: &Registry, project: &Path) {
    ok(&registry.npm(&["install", "@a.localhost/app"], project, "npm-cache"));
    assert_eq!(
        installed_version(project, "@a.localhost/app"),
        "1.0.0",
        "latest tag"
    );
    assert_eq!(
        installed_version(project, "@b.localhost/lib"),
        "1.1.0",
        "^1 resolves across domains"
    );
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("package-lock.json")).unwrap())
            .unwrap();
    let locked = &lock["packages"]["node_modules/@b.localhost/lib"];
    assert!(
        locked["integrity"].as_str().unwrap().starts_with("sha512-"),
        "{locked}"
    );
    // npm 11 leaves `resolved` out for packages from the configured
    // registry; when present it must name our tarball route.
    if let Some(resolved) = locked["resolved"].as_str() {
        assert!(
            resolved.ends_with("/npm/@b.localhost/lib/-/lib-1.1.0.tgz"),
            "{locked}"
        );
    }
}

fn follows_dist_tags(registry: &Registry, project: &Path) {
    let view = |field: &str| {
        let args = ["view", "@a.localhost/app", field, "--json"];
        ok(&registry.npm(&args, project, "npm-cache"))
    };
    let tags: serde_json::Value = serde_json::from_str(&view("dist-tags")).unwrap();
    assert_eq!(
        tags,
        serde_json::json!({"latest": "1.0.0", "next": "2.0.0-rc.1"})
    );
    assert!(view("versions").contains("2.0.0-rc.1"));
    let listed = ok(&registry.npm(
        &["dist-tag", "ls", "@a.localhost/app"],
        project,
        "npm-cache",
    ));
    assert_eq!(listed.trim(), "latest: 1.0.0\nnext: 2.0.0-rc.1");
    ok(&registry.npm(&["install", "@a.localhost/app@next"], project, "npm-cache"));
    assert_eq!(installed_version(project, "@a.localhost/app"), "2.0.0-rc.1");
}

/// Corrupts lib@1.0.0's tarball object on disk: a fresh install of it
/// must fail on integrity and leave nothing installed.
fn refuses_tampered_tarball(registry: &Registry, project: &Path) {
    let args = ["view", "@b.localhost/lib@1.0.0", "dist.tarball"];
    let tarball = ok(&registry.npm(&args, project, "npm-cache"));
    let location = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client.get(tarball.trim()).send().await.unwrap();
        response.headers()["location"].to_str().unwrap().to_owned()
    });
    let hex = location.rsplit_once("sha256:").unwrap().1.to_owned();
    let object = registry
        .data
        .join("objects/sha256")
        .join(&hex[..2])
        .join(&hex);
    let mut bytes = std::fs::read(&object).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&object, &bytes).unwrap();

    let victim = registry.root.join("victim");
    consumer(&victim, "victim");
    let refused = registry.npm(
        &["install", "@b.localhost/lib@1.0.0"],
        &victim,
        "fresh-cache",
    );
    assert!(
        !refused.status.success(),
        "a tampered tarball must not install"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("EINTEGRITY") || stderr.contains("integrity"),
        "{stderr}"
    );
    assert!(!victim.join("node_modules/@b.localhost/lib").exists());
}

#[test]
#[ignore = "needs the npm client (Node.js): run scripts/test"]
fn npm_installs_across_domains_with_tags_and_refuses_tampered_tarballs() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::start(tmp.path());
    registry.publish_fixtures();
    let project = tmp.path().join("consumer");
    consumer(&project, "consumer");
    installs_latest_across_domains(&registry, &project);
    follows_dist_tags(&registry, &project);
    refuses_tampered_tarball(&registry, &project);
}

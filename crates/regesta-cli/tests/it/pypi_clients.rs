//! The real `pip` and `uv` install from `regesta serve` through the PyPI
//! projection: one Simple index per owner domain, dependencies across
//! domains, `Requires-Python` honoured, PEP 658 metadata instead of
//! downloads when resolving, hash-checked installs, and a tampered
//! distribution refused by both clients.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::npm_clients::Registry;
use crate::support::{ok, tools_dir};

/// The directory holding the pinned `pip`, `uv` and their Python.
fn python_tools() -> PathBuf {
    let bin = tools_dir().join("python/bin");
    assert!(
        bin.join("uv").exists() && bin.join("pip").exists(),
        "pip and uv are missing from {}: run scripts/install-test-clients",
        bin.display()
    );
    bin
}

/// `PATH` with the Python tools first (`regesta publish` runs `uv build`).
fn path_with(tools: &Path) -> String {
    #[expect(
        clippy::disallowed_methods,
        reason = "extend the test's PATH with the clients"
    )]
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", tools.display())
}

/// The fixtures and clients of one run.
struct Python {
    registry: Registry,
    tools: PathBuf,
    path: String,
}

impl Python {
    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut command = Command::new(self.tools.join(program));
        command
            .current_dir(dir)
            .env("PATH", &self.path)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_NO_CACHE_DIR", "1")
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env("PIP_RETRIES", "0")
            .env("UV_CACHE_DIR", self.registry.root.join("uv-cache"))
            .env("UV_NO_CONFIG", "1")
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_PYTHON", self.tools.join("python"))
            .env_remove("PIP_INDEX_URL")
            .env_remove("UV_INDEX_URL")
            .env_remove("UV_DEFAULT_INDEX")
            .env_remove("VIRTUAL_ENV");
        command
    }

    fn run(&self, program: &str, args: &[&str], dir: &Path) -> Output {
        self.command(program, dir)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    }

    /// The PEP 691 JSON page of `project` on `domain`, which must exist.
    fn project_page(&self, domain: &str, project: &str) -> serde_json::Value {
        let url = format!("{}{project}/", self.index(domain));
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let response = reqwest::Client::new()
                .get(url)
                .header("accept", "application/vnd.pypi.simple.v1+json")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
        })
    }

    fn index(&self, domain: &str) -> String {
        format!("{}/pypi/{domain}/simple/", self.registry.base)
    }

    /// `regesta publish` with `args` after the registry and key flags.
    fn publish(&self, domain: &str, args: &[&str]) {
        ok(&self.try_publish(domain, &[args, &["-q"]].concat()));
    }

    /// As [`Python::publish`], returning what happened.
    fn try_publish(&self, domain: &str, args: &[&str]) -> Output {
        let key = self.registry.key(domain);
        Command::new(env!("CARGO_BIN_EXE_regesta"))
            .args(["publish", "--registry", &self.registry.base])
            .args(["--auth-key", &key])
            .args(args)
            .env("PATH", &self.path)
            // `uv build` otherwise looks for an interpreter that satisfies
            // the project's Requires-Python (none does for `>=4`).
            .env("UV_PYTHON", self.tools.join("python"))
            .env("UV_CACHE_DIR", self.registry.root.join("uv-cache"))
            .env_remove("REGESTA_REGISTRY")
            .output()
            .unwrap()
    }

    /// A fresh virtual environment without pip (the clients install into
    /// it from outside).
    fn venv(&self, name: &str) -> PathBuf {
        let dir = self.registry.root.join(name);
        let args = ["-m", "venv", "--without-pip", dir.to_str().unwrap()];
        ok(&self.run("python", &args, &self.registry.root));
        dir
    }

    /// What `import <module>; print(<module>.VERSION)` prints in `venv`.
    fn imported(venv: &Path, module: &str) -> String {
        let code = format!("import {module}; print({module}.VERSION)");
        let output = Command::new(venv.join("bin/python"))
            .args(["-c", &code])
            .output()
            .unwrap();
        ok(&output).trim().to_owned()
    }

    fn pip_install(&self, venv: &Path, args: &[&str]) -> Output {
        let python = venv.join("bin/python");
        let indexes = [
            "--index-url",
            &self.index("b.localhost"),
            "--extra-index-url",
            &self.index("a.localhost"),
        ];
        let head = ["--python", python.to_str().unwrap(), "install"];
        self.run(
            "pip",
            &[&head[..], &indexes, args].concat(),
            &self.registry.root,
        )
    }

    fn uv_pip_install(&self, venv: &Path, args: &[&str]) -> Output {
        let python = venv.join("bin/python");
        let indexes = [
            "--index-url",
            &self.index("b.localhost"),
            "--extra-index-url",
            &self.index("a.localhost"),
        ];
        let head = ["pip", "install", "--python", python.to_str().unwrap()];
        self.run(
            "uv",
            &[&head[..], &indexes, args].concat(),
            &self.registry.root,
        )
    }
}

/// A `uv_build` project named `name` at `version` whose module exposes
/// `VERSION`.
fn project(dir: &Path, name: &str, version: &str, python: &str, deps: &[&str]) {
    let module = name.replace('-', "_");
    std::fs::create_dir_all(dir.join("src").join(&module)).unwrap();
    let deps = deps
        .iter()
        .map(|dep| format!("{dep:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        dir.join("pyproject.toml"),
        format!(
            "[project]\nname = {name:?}\nversion = {version:?}\n\
             requires-python = {python:?}\ndependencies = [{deps}]\n\n\
             [build-system]\nrequires = [\"uv_build>=0.9,<0.14\"]\n\
             build-backend = \"uv_build\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src").join(&module).join("__init__.py"),
        format!("VERSION = {version:?}\n"),
    )
    .unwrap();
}

/// The hex SHA-256 of a file.
fn sha256(path: &Path) -> String {
    regesta_protocol::Digest::of(&std::fs::read(path).unwrap())
        .to_string()
        .trim_start_matches("sha256:")
        .to_owned()
}

/// The SHA-256 the PEP 691 JSON page of `project` on `domain` lists for
/// its `version` wheel.
fn wheel_sha256(python: &Python, domain: &str, project: &str, version: &str) -> String {
    let page = python.project_page(domain, project);
    let prefix = format!("{}-{version}-", project.replace('-', "_"));
    let file = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| {
            let name = file["filename"].as_str().unwrap();
            name.starts_with(&prefix) && Path::new(name).extension().is_some_and(|e| e == "whl")
        })
        .unwrap_or_else(|| panic!("no {prefix}*.whl in {page}"));
    file["hashes"]["sha256"].as_str().unwrap().to_owned()
}

/// The one file in `dir` ending with `suffix`.
fn built(dir: &Path, suffix: &str) -> PathBuf {
    let mut found = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(suffix));
    let file = found.next().unwrap();
    assert!(found.next().is_none(), "one {suffix} in {}", dir.display());
    file
}

/// demo-lib 1.0 (`>=3.8`) and 2.0 (`>=4`, so no client may pick it) on
/// a.localhost, published from their `pyproject.toml`; demo-app 1.0 on
/// b.localhost (`demo-lib>=1`), published as two built files; and
/// demo-spare 1.0 on a.localhost, never installed before it is tampered
/// with. Returns demo-app's wheel.
fn publish_fixtures(python: &Python) -> PathBuf {
    let root = &python.registry.root;
    let lib = root.join("demo-lib");
    for (version, requires) in [("2.0", ">=4"), ("1.0", ">=3.8")] {
        project(&lib, "demo-lib", version, requires, &[]);
        python.publish(
            "a.localhost",
            &[lib.to_str().unwrap(), "--domain", "a.localhost"],
        );
    }

    // A dry run shows the inferred id and both built files, sends nothing.
    let dry = ok(&python.try_publish(
        "a.localhost",
        &[
            lib.to_str().unwrap(),
            "--domain",
            "a.localhost",
            "--dry-run",
        ],
    ));
    for shown in [
        "pypi:a.localhost/demo-lib",
        "demo_lib-1.0-py3-none-any.whl",
        "demo_lib-1.0.tar.gz",
    ] {
        assert!(dry.contains(shown), "{shown} in {dry}");
    }

    // 1.0.0 is 1.0 to pip and uv: refused, naming the release in the way.
    project(&lib, "demo-lib", "1.0.0", ">=3.8", &[]);
    let refused = python.try_publish(
        "a.localhost",
        &[lib.to_str().unwrap(), "--domain", "a.localhost"],
    );
    assert!(!refused.status.success(), "an equal PEP 440 version");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("pypi:a.localhost/demo-lib@1.0 is the same version as 1.0.0"),
        "{stderr}"
    );

    let spare = root.join("demo-spare");
    project(&spare, "demo-spare", "1.0", ">=3.8", &[]);
    python.publish(
        "a.localhost",
        &[spare.to_str().unwrap(), "--domain", "a.localhost"],
    );

    let app = root.join("demo-app");
    project(&app, "demo-app", "1.0", ">=3.8", &["demo-lib>=1"]);
    let dist = root.join("demo-app-dist");
    let args = [
        "build",
        "--no-progress",
        "--out-dir",
        dist.to_str().unwrap(),
    ];
    ok(&python.run("uv", &args, &app));
    let wheel = built(&dist, ".whl");
    let sdist = built(&dist, ".tar.gz");
    python.publish(
        "b.localhost",
        &[
            app.to_str().unwrap(),
            "--id",
            "pypi:b.localhost/demo-app",
            "--version",
            "1.0",
            "--artifact",
            wheel.to_str().unwrap(),
            "--artifact",
            sdist.to_str().unwrap(),
        ],
    );
    wheel
}

/// demo-app 1.0 and demo-lib 1.0 are what `venv` imports: 2.0's
/// Requires-Python excludes it.
fn installed_app_and_lib_1(venv: &Path) {
    assert_eq!(Python::imported(venv, "demo_app"), "1.0");
    assert_eq!(Python::imported(venv, "demo_lib"), "1.0", "Requires-Python");
}

/// pip resolves across both domains' indexes from PEP 658 metadata alone,
/// then installs with hashes required.
fn pip_installs(python: &Python, app_wheel: &Path) {
    let before = python.registry.request_paths().len();
    let venv = python.venv("pip-dry");
    let out = python.pip_install(&venv, &["--dry-run", "demo-app"]);
    let stdout = ok(&out);
    assert!(stdout.contains("demo-app-1.0 demo-lib-1.0"), "{stdout}");
    let paths = python.registry.request_paths().split_off(before);
    assert!(
        paths.iter().any(|p| p.ends_with(".whl.metadata")),
        "{paths:?}"
    );
    assert!(
        !paths
            .iter()
            .any(|p| Path::new(p).extension().is_some_and(|e| e == "whl")),
        "a dry run resolves from metadata, never downloading a wheel: {paths:?}"
    );
    let objects = paths.iter().filter(|p| p.starts_with("/objects/")).count();
    let metadata = paths.iter().filter(|p| p.ends_with(".metadata")).count();
    assert_eq!(objects, metadata, "{paths:?}");

    let venv = python.venv("pip");
    ok(&python.pip_install(&venv, &["demo-app"]));
    installed_app_and_lib_1(&venv);

    let requirements = python.registry.root.join("requirements.txt");
    let pinned = |lib_hash: &str| {
        format!(
            "demo-app==1.0 --hash=sha256:{}\ndemo-lib==1.0 --hash=sha256:{lib_hash}\n",
            sha256(app_wheel)
        )
    };
    let lib_hash = wheel_sha256(python, "a.localhost", "demo-lib", "1.0");
    std::fs::write(&requirements, pinned(&lib_hash)).unwrap();
    let venv = python.venv("pip-hashes");
    let args = ["--require-hashes", "-r", requirements.to_str().unwrap()];
    ok(&python.pip_install(&venv, &args));
    assert_eq!(Python::imported(&venv, "demo_lib"), "1.0");

    std::fs::write(&requirements, pinned(&"0".repeat(64))).unwrap();
    let venv = python.venv("pip-wrong-hash");
    let out = python.pip_install(&venv, &args);
    assert!(
        !out.status.success(),
        "a pinned hash that differs must fail"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HASHES"), "{stderr}");
}

/// `uv pip install` with the same two indexes, and a uv project that pins
/// each package to its domain's index and locks their hashes.
fn uv_installs(python: &Python) {
    let venv = python.venv("uv-pip");
    ok(&python.uv_pip_install(&venv, &["demo-app"]));
    installed_app_and_lib_1(&venv);

    let consumer = python.registry.root.join("uv-project");
    std::fs::create_dir_all(&consumer).unwrap();
    std::fs::write(
        consumer.join("pyproject.toml"),
        format!(
            "[project]\nname = \"consumer\"\nversion = \"0.0.0\"\n\
             requires-python = \">=3.8\"\ndependencies = [\"demo-app\", \"demo-lib\"]\n\n\
             [[tool.uv.index]]\nname = \"a\"\nurl = {:?}\nexplicit = true\n\n\
             [[tool.uv.index]]\nname = \"b\"\nurl = {:?}\nexplicit = true\n\n\
             [tool.uv.sources]\ndemo-app = {{ index = \"b\" }}\n\
             demo-lib = {{ index = \"a\" }}\n",
            python.index("a.localhost"),
            python.index("b.localhost"),
        ),
    )
    .unwrap();
    let mut sync = python.command("uv", &consumer);
    // The consumer's own environment, not the tools' interpreter's.
    sync.env_remove("UV_PYTHON")
        .args(["sync", "--no-install-project", "--python"])
        .arg(python.tools.join("python"));
    ok(&sync.output().unwrap());
    let lock = std::fs::read_to_string(consumer.join("uv.lock")).unwrap();
    let expected = "/pypi/a.localhost/files/demo-lib/1.0/";
    assert!(lock.contains(expected), "{lock}");
    assert!(lock.contains("hash = \"sha256:"), "{lock}");
    assert_eq!(Python::imported(&consumer.join(".venv"), "demo_lib"), "1.0");
    // The index pages are prepared once and served from memory until the
    // next event, a file's redirect for good.
    let at = lock.find(expected).unwrap();
    let file = &lock[at..at + lock[at..].find(['"', '#']).unwrap()];
    for path in [
        "/pypi/a.localhost/simple/",
        "/pypi/a.localhost/simple/demo-lib/",
        file,
    ] {
        python.registry.assert_kept(path);
    }
}

/// Swaps demo-spare's wheel object on disk for another well-formed wheel
/// of the same name and version: pip and uv must both refuse it on its
/// hash and leave nothing installed. Runs before anything else fetches
/// that object: the server keeps objects it served in memory.
fn refuse_tampered(python: &Python) {
    let root = &python.registry.root;
    let hex = wheel_sha256(python, "a.localhost", "demo-spare", "1.0");
    let object = python
        .registry
        .data
        .join("objects/sha256")
        .join(&hex[..2])
        .join(&hex);
    let evil = root.join("evil-spare");
    project(&evil, "demo-spare", "1.0", ">=3.8", &[]);
    std::fs::write(
        evil.join("src/demo_spare/__init__.py"),
        "VERSION = \"evil\"\n",
    )
    .unwrap();
    let dist = root.join("evil-dist");
    let args = [
        "build",
        "--no-progress",
        "--wheel",
        "--out-dir",
        dist.to_str().unwrap(),
    ];
    ok(&python.run("uv", &args, &evil));
    let original = std::fs::read(&object).unwrap();
    std::fs::copy(built(&dist, ".whl"), &object).unwrap();

    let venv = python.venv("pip-tampered");
    let out = python.pip_install(&venv, &["--only-binary", ":all:", "demo-spare"]);
    assert!(!out.status.success(), "pip must refuse a tampered wheel");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.to_lowercase().contains("hash"), "{stderr}");

    let venv = python.venv("uv-tampered");
    let out = python.uv_pip_install(&venv, &["--only-binary", ":all:", "demo-spare"]);
    assert!(!out.status.success(), "uv must refuse a tampered wheel");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.to_lowercase().contains("hash"), "{stderr}");
    for venv in ["pip-tampered", "uv-tampered"] {
        let code = "import demo_spare";
        let python_bin = python.registry.root.join(venv).join("bin/python");
        let output = Command::new(python_bin)
            .args(["-c", code])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{venv}: nothing installed");
    }
    // Put back, so later steps read a whole registry.
    std::fs::write(&object, original).unwrap();
}

/// `regesta verify` re-runs the PyPI processor: a release passes, and a
/// core metadata object swapped on disk (new dependencies pip would act on)
/// is reported. `verify-package`, `verify-log` and `mirror` take PyPI
/// releases like any other.
fn verify_rederives(python: &Python) {
    let base = python.registry.base.as_str();
    let verify = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_regesta"))
            .args(args)
            .args(["--registry", base])
            .env_remove("REGESTA_REGISTRY")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), text)
    };
    for args in [
        &["verify", "pypi:a.localhost/demo-lib@1.0"][..],
        &["verify", "pypi:b.localhost/demo-app@1.0"],
        &["verify-package", "pypi:a.localhost/demo-lib"],
        &["verify-log"],
    ] {
        let (code, text) = verify(args);
        assert_eq!(code, Some(0), "{args:?}: {text}");
    }
    let mirror = python.registry.root.join("mirror");
    let (code, text) = verify(&["mirror", mirror.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");

    let extra = python.registry.root.join("demo-extra");
    project(&extra, "demo-extra", "1.0", ">=3.8", &[]);
    python.publish(
        "b.localhost",
        &[extra.to_str().unwrap(), "--domain", "b.localhost"],
    );
    // Not verified first: the server keeps objects it served in memory.
    let page = python.project_page("b.localhost", "demo-extra");
    let hex = page["files"][0]["core-metadata"]["sha256"]
        .as_str()
        .unwrap();
    let object = python
        .registry
        .data
        .join("objects/sha256")
        .join(&hex[..2])
        .join(hex);
    std::fs::write(
        &object,
        "Metadata-Version: 2.1\nName: demo-extra\nVersion: 1.0\nRequires-Dist: evil\n",
    )
    .unwrap();
    let (code, text) = verify(&["verify", "pypi:b.localhost/demo-extra@1.0"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("core metadata object"), "{text}");
}

#[test]
#[ignore = "needs pip and uv: run scripts/test"]
fn pip_and_uv_install_across_domains_and_refuse_tampered_files() {
    let tmp = tempfile::tempdir().unwrap();
    let tools = python_tools();
    let python = Python {
        registry: Registry::start(tmp.path()),
        path: path_with(&tools),
        tools,
    };
    let app_wheel = publish_fixtures(&python);
    pip_installs(&python, &app_wheel);
    uv_installs(&python);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(crate::pypi_routes::simple_routes(
        &python.registry.base,
        &python.index("a.localhost"),
    ));
    refuse_tampered(&python);
    verify_rederives(&python);
}

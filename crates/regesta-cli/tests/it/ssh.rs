//! SSH keys end to end: a binding entry from `keygen --ssh`, a publish signed
//! by `ssh-keygen -Y sign` (--ssh-signing-key), one signed in-process
//! (--ssh-key), a channel move, and the log verifies.

use std::path::Path;
use std::process::Command;

use crate::support::{ok, regesta, start_with};

fn project(dir: &Path, version: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        format!(r#"{{"name":"@sshpkg.localhost/tool","version":"{version}"}}"#),
    )
    .unwrap();
    std::fs::write(dir.join("index.js"), "module.exports = 1;\n").unwrap();
}

#[test]
fn ssh_keys_sign_publishes_and_channel_moves() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "regesta-test", "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen is installed");
    assert!(made.status.success());
    let key_str = key.to_str().unwrap();
    let public = format!("{key_str}.pub");
    let binding = ok(&regesta(&[
        "keygen",
        "--ssh",
        &public,
        "--domain",
        "sshpkg.localhost",
        "--json",
    ]));
    let line = std::fs::read_to_string(&public).unwrap();
    let from_line = ok(&regesta(&[
        "keygen",
        "--ssh",
        line.trim(),
        "--domain",
        "sshpkg.localhost",
        "--json",
    ]));
    assert_eq!(
        binding, from_line,
        "a key line and a .pub path give the same binding"
    );
    let binding_file = tmp.path().join("binding.json");
    std::fs::write(&binding_file, &binding).unwrap();

    let server = start_with(
        &tmp.path().join("data"),
        &[("REGESTA_DEV_BINDINGS", binding_file.to_str().unwrap())],
    );
    let base = server.base.clone();
    let dir = tmp.path().join("tool");
    let dir_str = dir.to_str().unwrap();
    project(&dir, "1.0.0");
    ok(&regesta(&[
        "publish",
        dir_str,
        "--registry",
        &base,
        "--ssh-signing-key",
        key_str,
    ]));
    project(&dir, "1.1.0");
    ok(&regesta(&[
        "publish",
        dir_str,
        "--registry",
        &base,
        "--ssh-key",
        key_str,
    ]));
    ok(&regesta(&[
        "channel",
        "set",
        "npm:sshpkg.localhost/tool",
        "beta",
        "1.0.0",
        "--registry",
        &base,
        "--ssh-key",
        key_str,
    ]));
    let log = ok(&regesta(&["verify-log", "--registry", &base, "--json"]));
    assert!(log.contains("\"ok\":true"), "{log}");
    ok(&regesta(&[
        "verify-package",
        "npm:sshpkg.localhost/tool",
        "--registry",
        &base,
    ]));
    let page = ok(&regesta(&[
        "mirror",
        tmp.path().join("m").to_str().unwrap(),
        "--registry",
        &base,
        "--json",
    ]));
    assert!(page.contains("\"newEvents\":3"), "{page}");
    let bad = regesta(&[
        "publish",
        dir_str,
        "--registry",
        &base,
        "--ssh-signing-key",
        key_str,
        "--ssh-signing-program",
        "false",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

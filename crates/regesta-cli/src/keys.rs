//! `regesta keygen` and loading signing keys for writes.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use regesta_client::sign::{ExternalSignError, Signer};
use regesta_protocol::OwnerDomain;
use regesta_protocol::keys::{Ed25519Jwk, SshEd25519Key, signing_key_from_d};
use serde_json::json;

use crate::printer::Printer;

/// Writes `value` as pretty JSON, refusing to overwrite unless `force`;
/// private files are created with mode 0600.
fn write_json(
    path: &Path,
    value: &serde_json::Value,
    force: bool,
    private: bool,
) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| {
        format!(
            "cannot create {} (use --force to overwrite)",
            path.display()
        )
    })?;
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    file.write_all(text.as_bytes())?;
    Ok(())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    bytes
}

/// A random nonce for a write intent (16 bytes, base64url).
pub(crate) fn nonce() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

/// `regesta keygen <dir> --domain D [--kid K]`: a new Ed25519 key pair and
/// the binding to publish at `https://D/.well-known/regesta.json`.
pub(crate) fn keygen(
    dir: &Path,
    domain: &str,
    kid: Option<&str>,
    force: bool,
    printer: &Printer,
) -> anyhow::Result<()> {
    let domain =
        OwnerDomain::parse(domain).context("--domain must be a lowercase DNS domain with a dot")?;
    let key = SigningKey::from_bytes(&random_bytes::<32>());
    let x = Ed25519Jwk::from_key(key.verifying_key()).x();
    let d = URL_SAFE_NO_PAD.encode(key.to_bytes());
    let kid = kid.map_or_else(
        || format!("ed25519:{}", URL_SAFE_NO_PAD.encode(random_bytes::<8>())),
        str::to_owned,
    );
    let public = json!({
        "alg": "EdDSA",
        "kid": kid,
        "publicKeyJwk": {"crv": "Ed25519", "kty": "OKP", "x": x},
        "use": "regesta-write",
    });
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let private_path = dir.join("private-key.json");
    let public_path = dir.join("public-key.json");
    let binding_path = dir.join("domain-binding.json");
    write_json(
        &private_path,
        &json!({"kid": kid, "privateKeyJwk": {"crv": "Ed25519", "d": d, "kty": "OKP", "x": x}}),
        force,
        true,
    )?;
    write_json(&public_path, &public, force, false)?;
    write_json(
        &binding_path,
        &json!({"domain": domain.as_str(), "keys": [public], "object": "regesta.domain-binding"}),
        force,
        false,
    )?;
    printer.result(
        &format!(
            "{} key {kid}\n  private key  {} (keep secret; mode 0600)\n  binding      {}\n\nPublish the binding at https://{domain}/.well-known/regesta.json\n(served as application/json, no redirects), then:\n  regesta publish --auth-key {}",
            printer.ok("created"),
            private_path.display(),
            binding_path.display(),
            private_path.display()
        ),
        &json!({
            "kid": kid,
            "privateKey": private_path,
            "publicKey": public_path,
            "domainBinding": binding_path,
            "bindingUrl": format!("https://{domain}/.well-known/regesta.json"),
        }),
    );
    Ok(())
}

/// Reads an `ssh-ed25519` public key given as a key line or a `.pub` path.
pub(crate) fn ssh_public_key(value: &str) -> anyhow::Result<SshEd25519Key> {
    let text = if value.trim_start().starts_with("ssh-ed25519 ") {
        value.to_owned()
    } else {
        std::fs::read_to_string(value).with_context(|| format!("cannot read public key {value}"))?
    };
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("ssh-ed25519 "))
        .context("no ssh-ed25519 key line found")?;
    Ok(SshEd25519Key::parse(line)?)
}

/// `regesta keygen --ssh PUB --domain D`: the binding entry for an existing
/// OpenSSH key.
pub(crate) fn keygen_ssh(
    public: &str,
    domain: &str,
    kid: Option<&str>,
    printer: &Printer,
) -> anyhow::Result<()> {
    let domain =
        OwnerDomain::parse(domain).context("--domain must be a lowercase DNS domain with a dot")?;
    let key = ssh_public_key(public)?;
    let kid = kid.map_or_else(|| key.kid(), str::to_owned);
    let entry =
        json!({"alg": "ssh-ed25519", "kid": kid, "publicKey": key.line(), "use": "regesta-write"});
    let binding =
        json!({"domain": domain.as_str(), "keys": [entry], "object": "regesta.domain-binding"});
    printer.result(&serde_json::to_string_pretty(&binding)?, &binding);
    Ok(())
}

/// Signs with an external program the way `git` and the reference CLI do:
/// `<program> -Y sign -f <key> -n regesta <file>`, reading `<file>.sig`.
/// A public-key *line* is written to a temporary `.pub` file first, so the
/// program can find the private half in an agent.
fn external_signer(program: &str, key: &str, kid: Option<&str>) -> anyhow::Result<Signer> {
    let is_line = key.trim_start().starts_with("ssh-ed25519 ");
    let public = if !is_line && Path::new(&format!("{key}.pub")).is_file() {
        ssh_public_key(&format!("{key}.pub"))?
    } else {
        ssh_public_key(key)?
    };
    let program = program.to_owned();
    let key = key.to_owned();
    let public_line = public.line().to_owned();
    let sign = move |message: &[u8]| -> Result<String, ExternalSignError> {
        let stage = |source| ExternalSignError::Stage {
            program: program.clone(),
            source,
        };
        let dir = tempfile::tempdir().map_err(stage)?;
        let payload = dir.path().join("payload");
        std::fs::write(&payload, message).map_err(stage)?;
        let key_arg = if is_line {
            let pub_file = dir.path().join("key.pub");
            std::fs::write(&pub_file, format!("{public_line}\n")).map_err(stage)?;
            pub_file.display().to_string()
        } else {
            key.clone()
        };
        let output = std::process::Command::new(&program)
            .args(["-Y", "sign", "-f", &key_arg, "-n", "regesta"])
            .arg(&payload)
            .output()
            .map_err(|source| ExternalSignError::Spawn {
                program: program.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(ExternalSignError::Failed {
                program: program.clone(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        let signature = match std::fs::read_to_string(dir.path().join("payload.sig")) {
            Ok(text) => text,
            Err(_) => {
                String::from_utf8(output.stdout).map_err(|source| ExternalSignError::NotText {
                    program: program.clone(),
                    source,
                })?
            }
        };
        Ok(signature.trim().to_owned())
    };
    Ok(Signer::SshExternal {
        kid: kid.map_or_else(|| public.kid(), str::to_owned),
        sign: std::sync::Arc::new(sign),
    })
}

/// Key flags of a write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyChoice<'a> {
    pub(crate) auth_key: Option<&'a PathBuf>,
    pub(crate) ssh_key: Option<&'a PathBuf>,
    pub(crate) ssh_signing_program: Option<&'a str>,
    pub(crate) ssh_signing_key: Option<&'a str>,
    pub(crate) kid: Option<&'a str>,
}

/// The signer named by the publish/channel flags.
pub(crate) fn load_signer(choice: KeyChoice<'_>) -> anyhow::Result<Signer> {
    if let Some(key) = choice.ssh_signing_key {
        if choice.auth_key.is_some() || choice.ssh_key.is_some() {
            bail!("give one of --auth-key, --ssh-key or --ssh-signing-key");
        }
        return external_signer(
            choice.ssh_signing_program.unwrap_or("ssh-keygen"),
            key,
            choice.kid,
        );
    }
    if choice.ssh_signing_program.is_some() {
        bail!("--ssh-signing-program needs --ssh-signing-key (a public key line or .pub file)");
    }
    let (auth_key, ssh_key, kid) = (choice.auth_key, choice.ssh_key, choice.kid);
    match (auth_key, ssh_key) {
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let file: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            let d = file["privateKeyJwk"]["d"].as_str().context(
                "the key file has no privateKeyJwk.d (expected regesta keygen's private-key.json)",
            )?;
            let file_kid = file["kid"].as_str().context("the key file has no kid")?;
            Ok(Signer::Ed25519 {
                kid: kid.unwrap_or(file_kid).to_owned(),
                key: Box::new(signing_key_from_d(d)?),
            })
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let key = ssh_key::PrivateKey::from_openssh(&text)
                .with_context(|| format!("{} is not an OpenSSH private key", path.display()))?;
            if key.is_encrypted() {
                bail!(
                    "{} is encrypted; decrypt it or use an unencrypted key for regesta",
                    path.display()
                );
            }
            let public = SshEd25519Key::parse(&key.public_key().to_openssh()?)?;
            Ok(Signer::Ssh {
                kid: kid.map_or_else(|| public.kid(), str::to_owned),
                key: Box::new(key),
            })
        }
        (None, None) => {
            bail!(
                "a write needs a key: --auth-key <private-key.json>, --ssh-key <id_ed25519> \
                 or --ssh-signing-key <key>"
            )
        }
        (Some(_), Some(_)) => bail!("give either --auth-key or --ssh-key, not both"),
    }
}

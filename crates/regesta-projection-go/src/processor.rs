//! Go on the ecosystem seam: the processor core runs when a `go:` release
//! is published. A release is one module zip named `<version>.zip`; it
//! must be this module at this version under the go command's zip rules,
//! its `go.mod` must name the module, and what `go.sum` and the proxy
//! serve is derived from it: the zip's and the `go.mod`'s `h1:` hashes
//! (the facts) and the `.mod` file (a derived object; a module without a
//! `go.mod`, possible only for `+incompatible` versions, gets the one-line
//! file the go command synthesizes).

use bytes::Bytes;
use regesta_core::{ArtifactBytes, ArtifactProcessor, ArtifactRefusal, DerivedObject, Processed};
use regesta_protocol::{Digest, ReleaseConfig, Text, Version};
use serde_json::json;

use crate::ECOSYSTEM;
use crate::gomod::module_path;
use crate::module_zip::{self, go_mod_hash};
use crate::paths::ModulePath;
use crate::versions::ModuleVersion;

/// Media type of the derived `.mod` objects.
pub const GO_MOD_MEDIA_TYPE: &str = "text/plain; charset=utf-8";

fn refuse(message: impl Into<String>) -> ArtifactRefusal {
    ArtifactRefusal::new(message)
}

/// The `.mod` bytes of a release: its `go.mod`, checked to name `module`,
/// or the synthesized `module <path>` line when it has none.
fn mod_file(
    go_mod: Option<Vec<u8>>,
    module: &ModulePath,
    version: &ModuleVersion,
) -> Result<Vec<u8>, ArtifactRefusal> {
    let Some(bytes) = go_mod else {
        if !version.is_incompatible() && module.major().is_some() {
            return Err(refuse(format!(
                "a {module} module zip needs a go.mod declaring module {module}"
            )));
        }
        return Ok(format!("module {module}\n").into_bytes());
    };
    if version.is_incompatible() {
        return Err(refuse(
            "+incompatible versions are for modules without a go.mod; this zip has one",
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| refuse("go.mod is not UTF-8 text"))?;
    match module_path(text) {
        Some(declared) if declared == module.as_str() => Ok(bytes),
        Some(declared) => Err(refuse(format!(
            "go.mod declares module {declared}, not {module}"
        ))),
        None => Err(refuse("go.mod has no module directive")),
    }
}

/// The Go processor.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoProcessor;

impl ArtifactProcessor for GoProcessor {
    fn ecosystem(&self) -> &'static str {
        ECOSYSTEM
    }

    fn process(
        &self,
        config: &ReleaseConfig,
        version: &Version,
        artifacts: &[ArtifactBytes<'_>],
    ) -> Result<Processed, ArtifactRefusal> {
        let module = ModulePath::from_id(&config.id)
            .map_err(|e| ArtifactRefusal::caused_by(format!("go module path: {e}"), e))?;
        let module_version = ModuleVersion::parse(version.as_str(), &module)
            .map_err(|e| ArtifactRefusal::caused_by(format!("go module version: {e}"), e))?;
        let expected = format!("{module_version}.zip");
        let artifact = ArtifactBytes::only_named(artifacts, ECOSYSTEM, "module zip", &expected)?;
        let read = module_zip::read(artifact.bytes, &module, &module_version)
            .map_err(|e| ArtifactRefusal::caused_by(format!("module zip: {e}"), e))?;
        let mod_bytes = mod_file(read.go_mod, &module, &module_version)?;
        let facts = json!({
            "zipHash": read.hash,
            "modHash": go_mod_hash(&mod_bytes),
            "mod": Digest::of(&mod_bytes).to_string(),
            "zip": Digest::of(artifact.bytes).to_string(),
        });
        let facts = regesta_protocol::json::to_canonical_vec(&facts)
            .map_err(|e| ArtifactRefusal::caused_by("go facts are not JSON", e))?;
        let media_type = Text::parse(GO_MOD_MEDIA_TYPE)
            .map_err(|e| ArtifactRefusal::caused_by("go.mod media type", e))?;
        Ok(Processed {
            config: None,
            metadata: None,
            facts: Some(Bytes::from(facts)),
            derived: vec![DerivedObject {
                media_type,
                bytes: Bytes::from(mod_bytes),
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use regesta_core::{ArtifactBytes, ArtifactProcessor};
    use regesta_protocol::{ReleaseConfig, Version};

    use super::GoProcessor;

    fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, text) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(text.as_bytes()).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn process(id: &str, version: &str, filename: &str, zip: &[u8]) -> Result<String, String> {
        let config = ReleaseConfig::from_json(serde_json::json!({
            "id": id, "version": version, "source": {"include": ["go.mod"]},
        }))
        .unwrap();
        let artifact = ArtifactBytes {
            role: "install",
            filename: Some(filename),
            media_type: "application/zip",
            bytes: zip,
        };
        GoProcessor
            .process(&config, &Version::parse(version).unwrap(), &[artifact])
            .map(|p| String::from_utf8(p.derived[0].bytes.to_vec()).unwrap())
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn the_zip_must_be_this_module_at_this_version() {
        let good = zip_of(&[("acme.dev/greet@v1.0.0/go.mod", "module acme.dev/greet\n")]);
        assert_eq!(
            process("go:acme.dev/greet", "v1.0.0", "v1.0.0.zip", &good).unwrap(),
            "module acme.dev/greet\n"
        );
        for (id, version, filename, zip, why) in [
            (
                "go:acme.dev/greet",
                "v1.0.0",
                "greet.zip",
                good.clone(),
                "is named v1.0.0.zip",
            ),
            (
                "go:acme.dev/greet",
                "v1.0.0",
                "v1.0.0.zip",
                zip_of(&[("acme.dev/greet@v1.0.0/go.mod", "module acme.dev/other\n")]),
                "declares module acme.dev/other",
            ),
            (
                "go:acme.dev/greet",
                "v2.0.0+incompatible",
                "v2.0.0+incompatible.zip",
                zip_of(&[(
                    "acme.dev/greet@v2.0.0+incompatible/go.mod",
                    "module acme.dev/greet\n",
                )]),
                "without a go.mod",
            ),
            (
                "go:acme.dev/greet/v2",
                "v2.0.0",
                "v2.0.0.zip",
                zip_of(&[("acme.dev/greet/v2@v2.0.0/a.go", "package a\n")]),
                "needs a go.mod",
            ),
        ] {
            let error = process(id, version, filename, &zip).unwrap_err();
            assert!(error.contains(why), "{why}: {error}");
        }
        // Without go.mod, a v0/v1 module gets the synthesized one.
        let bare = zip_of(&[("acme.dev/greet@v1.0.0/a.go", "package a\n")]);
        assert_eq!(
            process("go:acme.dev/greet", "v1.0.0", "v1.0.0.zip", &bare).unwrap(),
            "module acme.dev/greet\n"
        );
    }
}

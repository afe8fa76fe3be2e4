//! The pure half of the npm upstream fallback (v0): which packages may be
//! asked for upstream, the upstream paths, the header allowlists, and the
//! shape an upstream document must have before it is returned unchanged.
//! The transport does the fetching.

use serde_json::Value;

/// Request headers forwarded upstream: content negotiation and cache
/// validators only. Credentials (`authorization`, `cookie`, npm tokens) never
/// leave the registry.
pub const FORWARDED_REQUEST_HEADERS: &[&str] = &["accept", "if-modified-since", "if-none-match"];

/// `Accept` sent upstream when the client sent none.
pub const DEFAULT_ACCEPT: &str = "application/json";

/// Upstream response headers returned to the client: cache and content
/// metadata only (no cookies, redirects, auth challenges or extensions).
pub const RETURNED_RESPONSE_HEADERS: &[&str] =
    &["cache-control", "content-type", "etag", "last-modified"];

/// npm's own limit on package name length.
const MAX_NAME_LEN: usize = 214;

/// The longest version or dist-tag asked for upstream.
const MAX_SPEC_LEN: usize = 256;

/// Which npm document an upstream answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamDocument {
    /// `/<name>`: a packument (full or abbreviated).
    Packument,
    /// `/<name>/<version|tag>`: one version manifest.
    Version,
    /// `/-/package/<name>/dist-tags`.
    DistTags,
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!*'()".contains(c)
}

/// Whether `name` looks like an npm package name worth asking upstream
/// for: `name` or `@scope/name`, at most 214 characters of the URL-safe set
/// npm allows (legacy names may have capitals). Anything else is answered
/// 404 locally without a request.
pub fn is_upstream_name(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return false;
    }
    let segment = |s: &str| !s.is_empty() && !s.starts_with('.') && s.chars().all(name_char);
    match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, local)| segment(scope) && segment(local)),
        None => segment(name),
    }
}

/// Whether `spec` (a version or dist-tag) may be asked for upstream.
pub fn is_upstream_spec(spec: &str) -> bool {
    !spec.is_empty()
        && spec.len() <= MAX_SPEC_LEN
        && spec.chars().all(|c| c.is_ascii_graphic() && c != '/')
}

/// JavaScript's `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . !
/// ~ * ' ( )` percent-encoded as UTF-8, so `@scope/name` is one segment
/// (`%40scope%2Fname`), as the reference sends it.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let c = char::from(byte);
        if byte.is_ascii() && name_char(c) {
            out.push(c);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    out
}

/// The upstream path (below the upstream base URL) of a packument.
pub fn packument_path(name: &str) -> String {
    format!("/{}", encode_component(name))
}

/// The upstream path of a version or tag document.
pub fn version_path(name: &str, spec: &str) -> String {
    format!("{}/{}", packument_path(name), encode_component(spec))
}

/// The upstream path of a package's dist-tags.
pub fn dist_tags_path(name: &str) -> String {
    format!("/-/package/{}/dist-tags", encode_component(name))
}

/// The upstream path of a tarball.
pub fn tarball_path(name: &str, file: &str) -> String {
    format!("{}/-/{}", packument_path(name), encode_component(file))
}

fn is_version_manifest(value: &Value) -> bool {
    value.get("name").is_some_and(Value::is_string)
        && value.get("version").is_some_and(Value::is_string)
        && value
            .get("dist")
            .and_then(|d| d.get("tarball"))
            .is_some_and(Value::is_string)
}

fn is_string_map(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|m| m.values().all(Value::is_string))
}

/// Whether upstream `bytes` are JSON of the `kind` npm clients expect: a
/// packument has a name, string dist-tags and version manifests with a
/// tarball; dist-tags map names to strings. Only then are the bytes passed
/// on, unchanged.
pub fn is_valid_document(kind: UpstreamDocument, bytes: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    match kind {
        UpstreamDocument::Packument => {
            value.get("name").is_some_and(Value::is_string)
                && value.get("dist-tags").is_some_and(is_string_map)
                && value
                    .get("versions")
                    .and_then(Value::as_object)
                    .is_some_and(|versions| versions.values().all(is_version_manifest))
        }
        UpstreamDocument::Version => is_version_manifest(&value),
        UpstreamDocument::DistTags => is_string_map(&value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_as_one_segment_like_encode_uri_component() {
        assert_eq!(packument_path("@types/node"), "/%40types%2Fnode");
        assert_eq!(packument_path("left-pad"), "/left-pad");
        assert_eq!(
            version_path("@a/b", "1.0.0-beta+x"),
            "/%40a%2Fb/1.0.0-beta%2Bx"
        );
        assert_eq!(dist_tags_path("@a/b"), "/-/package/%40a%2Fb/dist-tags");
        assert_eq!(
            tarball_path("@a/b", "b-1.0.0.tgz"),
            "/%40a%2Fb/-/b-1.0.0.tgz"
        );
        assert_eq!(encode_component("é ~*'()!"), "%C3%A9%20~*'()!");
    }

    #[test]
    fn only_plausible_names_and_specs_go_upstream() {
        for good in ["lodash", "JSONStream", "@types/node", "a.b-c_d", "@s/n~1"] {
            assert!(is_upstream_name(good), "{good}");
        }
        let long = "a".repeat(215);
        for bad in [
            "",
            ".hidden",
            "@scope",
            "@/x",
            "@s/",
            "@s/a/b",
            "a/b",
            "a b",
            "a%2fb",
            "../etc",
            long.as_str(),
        ] {
            assert!(!is_upstream_name(bad), "{bad}");
        }
        assert!(is_upstream_spec("1.0.0") && is_upstream_spec("next"));
        assert!(!is_upstream_spec("") && !is_upstream_spec("a/b") && !is_upstream_spec("a b"));
    }

    #[test]
    fn documents_are_checked_for_the_shape_clients_need() {
        let manifest = r#"{"name":"a","version":"1.0.0","dist":{"tarball":"https://x/a.tgz"}}"#;
        let packument = format!(
            r#"{{"name":"a","dist-tags":{{"latest":"1.0.0"}},"versions":{{"1.0.0":{manifest}}}}}"#
        );
        assert!(is_valid_document(
            UpstreamDocument::Packument,
            packument.as_bytes()
        ));
        assert!(is_valid_document(
            UpstreamDocument::Version,
            manifest.as_bytes()
        ));
        assert!(is_valid_document(
            UpstreamDocument::DistTags,
            br#"{"latest":"1.0.0"}"#
        ));
        for (kind, bad) in [
            (UpstreamDocument::Packument, &b"not json"[..]),
            (
                UpstreamDocument::Packument,
                br#"{"name":"a","versions":{}}"#,
            ),
            (
                UpstreamDocument::Packument,
                br#"{"name":"a","dist-tags":{},"versions":{"1.0.0":{"name":"a"}}}"#,
            ),
            (UpstreamDocument::Version, br#"{"name":"a","version":"1"}"#),
            (UpstreamDocument::DistTags, br#"{"latest":1}"#),
            (UpstreamDocument::DistTags, b"[]"),
        ] {
            assert!(
                !is_valid_document(kind, bad),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

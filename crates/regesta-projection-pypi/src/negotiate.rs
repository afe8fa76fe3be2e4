//! Content negotiation for the Simple API (PEP 691): the client lists the
//! formats it takes with quality values, the server answers the best one
//! it serves, and `406` when it serves none of them. pip sends
//! `application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1, text/html;q=0.01`.

/// A format the Simple API pages are served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// PEP 691 JSON.
    Json,
    /// PEP 503 HTML, as `application/vnd.pypi.simple.v1+html`.
    Html,
    /// PEP 503 HTML, as `text/html` (clients from before PEP 691).
    LegacyHtml,
}

impl Format {
    /// The format's short name in validators (`json`, `html`, `text-html`).
    #[must_use]
    pub fn tag(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Html => "html",
            Self::LegacyHtml => "text-html",
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/vnd.pypi.simple.v1+json",
            Self::Html => "application/vnd.pypi.simple.v1+html",
            Self::LegacyHtml => "text/html",
        }
    }
}

/// Longest `Accept` header read; a longer one is answered as if absent.
pub const MAX_ACCEPT_LEN: usize = 4096;

/// The formats a media range asks for, best first.
fn formats_of(range: &str) -> &'static [Format] {
    match range {
        "application/vnd.pypi.simple.v1+json" | "application/vnd.pypi.simple.latest+json" => {
            &[Format::Json]
        }
        "application/vnd.pypi.simple.v1+html" | "application/vnd.pypi.simple.latest+html" => {
            &[Format::Html]
        }
        "text/html" | "text/*" => &[Format::LegacyHtml],
        // A wildcard takes anything; HTML first, as PyPI answers it, so a
        // client that states no preference gets the format every client
        // reads.
        "*/*" | "application/*" => &[Format::LegacyHtml, Format::Json],
        _ => &[],
    }
}

/// The quality of one `Accept` element's parameters (`q=0.1`), 1 when
/// absent, `None` when malformed.
fn quality<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            let value: f32 = value.trim().parse().ok()?;
            if !(0.0..=1.0).contains(&value) {
                return None;
            }
            // Three decimals at most (RFC 9110), so thousandths are exact.
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a value in 0..=1 times 1000"
            )]
            return Some((value * 1000.0).round() as u16);
        }
    }
    Some(1000)
}

/// The format to answer `accept` in, `None` for a `406`. No header (or an
/// unreadable one) gets HTML, as every client before PEP 691 expects.
pub fn negotiate(accept: Option<&str>) -> Option<Format> {
    let Some(accept) = accept.filter(|a| a.len() <= MAX_ACCEPT_LEN && !a.trim().is_empty()) else {
        return Some(Format::LegacyHtml);
    };
    let mut best: Option<(u16, usize, Format)> = None;
    let mut rank = 0_usize;
    for element in accept.split(',') {
        let mut parts = element.split(';');
        let range = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let Some(q) = quality(parts) else { continue };
        for &format in formats_of(&range) {
            rank += 1;
            // Higher quality wins; among equals, the earlier listed one.
            let better = best.is_none_or(|(bq, brank, _)| q > bq || (q == bq && rank < brank));
            if q > 0 && better {
                best = Some((q, rank, format));
            }
        }
    }
    best.map(|(_, _, format)| format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_served_format_is_chosen() {
        let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
        assert_eq!(negotiate(Some(pip)), Some(Format::Json));
        let uv = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";
        assert_eq!(negotiate(Some(uv)), Some(Format::Json));
        assert_eq!(
            negotiate(Some("text/html;q=0.9, application/vnd.pypi.simple.v1+html")),
            Some(Format::Html)
        );
        assert_eq!(negotiate(Some("text/html")), Some(Format::LegacyHtml));
        assert_eq!(
            negotiate(Some("application/vnd.pypi.simple.latest+json")),
            Some(Format::Json)
        );
        assert_eq!(negotiate(Some("*/*")), Some(Format::LegacyHtml));
        assert_eq!(negotiate(None), Some(Format::LegacyHtml));
        assert_eq!(negotiate(Some("")), Some(Format::LegacyHtml));
    }

    #[test]
    fn unserved_or_refused_formats_get_a_406() {
        assert_eq!(negotiate(Some("application/json")), None);
        assert_eq!(negotiate(Some("application/vnd.pypi.simple.v2+json")), None);
        assert_eq!(negotiate(Some("text/html;q=0")), None);
        assert_eq!(negotiate(Some("text/html;q=2")), None);
        assert_eq!(negotiate(Some("text/html;q=x")), None);
    }
}

//! The per-domain project index (`<domain>/simple/`) as prepared bytes.
//!
//! The core hands out one shared listing of a namespace until a write into
//! it, so the page rendered from a listing stays valid for exactly as long
//! as the listing is the same allocation: a hot request compares one
//! pointer and clones the stored bytes, with no store read, render or hash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use regesta_protocol::{Digest, PackageId};

use crate::negotiate::Format;
use crate::simple::render_index;

/// Most domains whose index pages are kept; past it the memo starts over
/// (bounded memory whatever the number of domains asked for).
const MAX_DOMAINS: usize = 4096;

/// An index page as served: the body and its validator.
#[derive(Debug, Clone)]
pub struct IndexPage {
    /// The rendered page.
    pub body: Bytes,
    /// Its ETag: the page's digest, so replicas agree.
    pub etag: String,
}

#[derive(Debug)]
struct Prepared {
    listing: Arc<[PackageId]>,
    page: IndexPage,
}

/// Index pages by (domain, format), each with the listing it came from.
#[derive(Debug, Default)]
pub struct IndexPages {
    pages: Mutex<HashMap<(String, Format), Prepared>>,
}

impl IndexPages {
    /// The page of `listing` for `domain` in `format`: the stored one when
    /// it was rendered from this very listing, else rendered and stored.
    pub fn page(&self, domain: &str, format: Format, listing: &Arc<[PackageId]>) -> IndexPage {
        let key = (domain.to_owned(), format);
        if let Ok(pages) = self.pages.lock()
            && let Some(prepared) = pages.get(&key)
            && Arc::ptr_eq(&prepared.listing, listing)
        {
            return prepared.page.clone();
        }
        let names: Vec<&str> = listing.iter().map(PackageId::local_name).collect();
        let body = Bytes::from(render_index(&names, format));
        let etag = format!(
            "W/\"regesta.pypi-index-{}:{}\"",
            format.tag(),
            Digest::of(&body)
        );
        let page = IndexPage { body, etag };
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= MAX_DOMAINS && !pages.contains_key(&key) {
                pages.clear();
            }
            let listing = Arc::clone(listing);
            pages.insert(
                key,
                Prepared {
                    listing,
                    page: page.clone(),
                },
            );
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(names: &[&str]) -> Arc<[PackageId]> {
        names
            .iter()
            .map(|n| PackageId::parse(&format!("pypi:a.dev/{n}")).unwrap())
            .collect()
    }

    #[test]
    fn a_page_is_rendered_once_per_listing() {
        let pages = IndexPages::default();
        let first = listing(&["app", "lib"]);
        let page = pages.page("a.dev", Format::Json, &first);
        let again = pages.page("a.dev", Format::Json, &first);
        assert_eq!(page.body.as_ptr(), again.body.as_ptr(), "stored bytes");
        let html = pages.page("a.dev", Format::Html, &first);
        assert_ne!(html.etag, page.etag, "one validator per format");

        // A new listing (a write into the namespace) renders afresh; equal
        // contents give an equal validator.
        let same = listing(&["app", "lib"]);
        let rerendered = pages.page("a.dev", Format::Json, &same);
        assert_ne!(rerendered.body.as_ptr(), page.body.as_ptr());
        assert_eq!(rerendered.etag, page.etag);
        let grown = pages.page("a.dev", Format::Json, &listing(&["app", "lib", "new"]));
        assert_ne!(grown.etag, page.etag);
        assert!(String::from_utf8_lossy(&grown.body).contains("\"new\""));
    }
}

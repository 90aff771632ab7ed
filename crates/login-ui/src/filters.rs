//! Tera filters available to the templates.
//!
//! `checked_url` guards every URL a template puts in `href` or `action`. Callers pass only URLs
//! they validated (a registered redirect URI, a route of ours), so the filter is defence in
//! depth: HTML escaping does not stop a `javascript:` or `data:` URL, and a path starting with
//! `//` is a link to another host. A refused URL fails the render instead of producing a page.

use std::collections::HashMap;

use tera::Value;

/// Name under which [`checked_url`] is registered.
pub(crate) const CHECKED_URL: &str = "checked_url";

/// Passes through an `http`/`https` URL or a same-site absolute path, refuses anything else.
pub(crate) fn checked_url(
    value: &Value,
    _arguments: &HashMap<String, Value>,
) -> tera::Result<Value> {
    let Some(url) = value.as_str() else {
        return Err(tera::Error::msg("checked_url expects a string"));
    };

    if is_allowed_url(url) {
        Ok(value.clone())
    } else {
        // The URL itself is left out of the message: it may come from a request.
        Err(tera::Error::msg(
            "refused a URL that is neither http(s) nor a same-site path",
        ))
    }
}

/// True for `http://…`, `https://…` and `/path` (but not `//host` or `/\host`).
pub(crate) fn is_allowed_url(url: &str) -> bool {
    // Browsers drop tabs and newlines inside URLs and trim spaces around them, which would let
    // "/\t/evil.example" become "//evil.example".
    if url
        .chars()
        .any(|character| character.is_control() || character.is_whitespace())
    {
        return false;
    }

    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return true;
    }

    url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\")
}

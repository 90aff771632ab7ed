//! Tera filters available to the templates.
//!
//! `checked_url` guards every URL a template puts in `href` or `action`. Callers pass only URLs
//! they validated (a registered redirect URI, a route of ours), so the filter is defence in
//! depth: HTML escaping does not stop a `javascript:` or `data:` URL, and a path starting with
//! `//` is a link to another host. A refused URL fails the render instead of producing a page.
//!
//! `format_message` fills the `{0}`, `{1}`… of a bundle message inside a template:
//! `{{ msg.linkExpiresIn | format_message(params=[link_expiration]) }}`. Its result is escaped
//! like any other value in an `.html` template, parameters included.

use std::collections::HashMap;

use tera::Value;

use crate::bundle;

/// Name under which [`checked_url`] is registered.
pub(crate) const CHECKED_URL: &str = "checked_url";

/// Name under which [`format_message`] is registered.
pub(crate) const FORMAT_MESSAGE: &str = "format_message";

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

/// Replaces `{0}`, `{1}`… in the message with the items of the `params` array argument.
///
/// Strings are used as they are, numbers and booleans in their usual notation; anything else
/// fails the render rather than printing a JSON dump into a page or a mail.
pub(crate) fn format_message(
    value: &Value,
    arguments: &HashMap<String, Value>,
) -> tera::Result<Value> {
    let Some(text) = value.as_str() else {
        return Err(tera::Error::msg("format_message expects a string"));
    };
    let params = match arguments.get("params") {
        None => Vec::new(),
        Some(Value::Array(values)) => values
            .iter()
            .map(param_text)
            .collect::<tera::Result<Vec<String>>>()?,
        Some(_) => {
            return Err(tera::Error::msg(
                "format_message expects `params` to be an array",
            ));
        }
    };

    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    Ok(Value::String(bundle::format_message(text, &params)))
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

fn param_text(value: &Value) -> tera::Result<String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => Err(tera::Error::msg(
            "format_message parameters must be strings, numbers or booleans",
        )),
    }
}

//! Static resources addressed by their content: `/resources/{hash}/{theme}/{path}`.
//!
//! The hash is the first 16 hexadecimal digits of the file's SHA-256, so a changed stylesheet
//! gets a new URL and the old one can be cached forever (`immutable`). Templates never write
//! these URLs by hand: the `resource_url` function of each theme's Tera instance gives the URL
//! of the file that theme uses, its own or the base theme's.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};
use tera::Value;

use crate::RESOURCES_URL_PREFIX;

/// Name under which the URL helper is registered in every theme's Tera instance.
pub(crate) const RESOURCE_URL: &str = "resource_url";

/// Number of hexadecimal digits of the SHA-256 kept in URLs: 64 bits, enough that two versions
/// of one file never share a URL.
const HASH_DIGITS: usize = 16;

/// One static file of a theme.
pub(crate) struct Resource {
    pub(crate) bytes: Cow<'static, [u8]>,
    pub(crate) content_type: &'static str,
    pub(crate) hash: String,
}

impl Resource {
    pub(crate) fn new(bytes: Cow<'static, [u8]>, content_type: &'static str) -> Resource {
        let digest = Sha256::digest(&bytes);
        let mut hash = String::with_capacity(HASH_DIGITS);
        for byte in digest.iter().take(HASH_DIGITS / 2) {
            hash.push_str(&format!("{byte:02x}"));
        }
        Resource {
            bytes,
            content_type,
            hash,
        }
    }

    /// The URL of this resource, served from `theme` at `path`.
    pub(crate) fn url(&self, theme: &str, path: &str) -> String {
        format!("{RESOURCES_URL_PREFIX}/{}/{theme}/{path}", self.hash)
    }
}

/// A path under the resources prefix split into its hash, theme and file path, when it has
/// that shape.
pub(crate) fn split_hashed_path(path: &str) -> Option<(&str, &str, &str)> {
    let (hash, rest) = path.split_once('/')?;
    let (theme, file) = rest.split_once('/')?;
    let is_hash = hash.len() == HASH_DIGITS
        && hash
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    (is_hash && !theme.is_empty() && !file.is_empty()).then_some((hash, theme, file))
}

/// The `resource_url(path="css/login.css")` function of a theme, from the URLs of every file
/// it can use.
pub(crate) fn url_function(
    urls: BTreeMap<String, String>,
) -> impl Fn(&HashMap<String, Value>) -> tera::Result<Value> + Send + Sync {
    move |arguments| {
        let Some(path) = arguments.get("path").and_then(Value::as_str) else {
            return Err(tera::Error::msg(
                "resource_url expects a `path` string argument",
            ));
        };
        match urls.get(path) {
            Some(url) => Ok(Value::String(url.clone())),
            // The path comes from a template, never from a request.
            None => Err(tera::Error::msg(format!(
                "resource_url: the theme has no resource {path}"
            ))),
        }
    }
}

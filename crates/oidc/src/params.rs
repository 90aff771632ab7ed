//! Request parameters from a query string or a form body, refusing repeated parameters
//! (RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once").

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};

/// The parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params(BTreeMap<String, String>);

/// A parameter appeared twice; it carries the parameter's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedParam(pub String);

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, RepeatedParam> {
        let mut params = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(bytes) {
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(RepeatedParam(name.into_owned()));
            }
        }
        Ok(Self(params))
    }

    /// A parameter's value. An empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// Whether the parameter was sent with a value.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Whether a request's body is `application/x-www-form-urlencoded`, with or without parameters
/// such as `charset`.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| {
            media_type
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        assert_eq!(
            Params::parse(b"a=1&a=2").unwrap_err(),
            RepeatedParam("a".to_owned())
        );
        let params = Params::parse(b"a=1&b=&c=x%2By+z").unwrap();
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("x+y z"));
    }

    #[test]
    fn form_content_type_with_charset() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "Application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        assert!(is_form(&headers));
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(!is_form(&headers));
    }
}

//! Request parameters from a query string or a form body, refusing repeated parameters
//! (RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once") and
//! values that do not decode to UTF-8 (RFC 6749 Appendix B).

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};

/// The parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params(BTreeMap<String, String>);

/// Why a query string or form body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// A parameter appeared twice; it carries the parameter's name.
    #[error("the parameter {0} is repeated")]
    Repeated(String),
    /// A name or value does not decode to UTF-8. Decoding it leniently would turn the bad bytes
    /// into U+FFFD and store, or compare, a value the sender never wrote.
    #[error("a parameter is not UTF-8 once percent-decoded")]
    NotUtf8,
}

impl ParamsError {
    /// A description for an OAuth `error_description`: ASCII, without the request's data.
    pub fn description(&self) -> &'static str {
        match self {
            Self::Repeated(_) => "a parameter is repeated",
            Self::NotUtf8 => "a parameter is not valid UTF-8",
        }
    }
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes, refusing repeated parameters and names
    /// or values that are not UTF-8 once percent-decoded.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParamsError> {
        let mut params = BTreeMap::new();
        for pair in bytes.split(|byte| *byte == b'&') {
            if pair.is_empty() {
                continue;
            }
            let mut parts = pair.splitn(2, |byte| *byte == b'=');
            let name = decode(parts.next().unwrap_or_default())?;
            let value = decode(parts.next().unwrap_or_default())?;
            if params.insert(name.clone(), value).is_some() {
                return Err(ParamsError::Repeated(name));
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

/// Decodes one name or value: `+` is a space, `%XY` a byte, and a `%` not followed by two
/// hexadecimal digits stays as it is (the WHATWG URL standard's form decoding).
fn decode(encoded: &[u8]) -> Result<String, ParamsError> {
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'+' => decoded.push(b' '),
            b'%' => match tail {
                [high, low, after @ ..] => match (hex_value(*high), hex_value(*low)) {
                    (Some(high), Some(low)) => {
                        decoded.push(high << 4 | low);
                        rest = after;
                    }
                    _ => decoded.push(b'%'),
                },
                _ => decoded.push(b'%'),
            },
            other => decoded.push(other),
        }
    }
    String::from_utf8(decoded).map_err(|_| ParamsError::NotUtf8)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        assert_eq!(
            Params::parse(b"a=1&a=2").unwrap_err(),
            ParamsError::Repeated("a".to_owned())
        );
        let params = Params::parse(b"a=1&b=&c=x%2By+z").unwrap();
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("x+y z"));
    }

    fn check(input: &[u8], expected: Result<&[(&str, &str)], ParamsError>) {
        let parsed = Params::parse(input).map(|params| params.0);
        let expected = expected.map(|pairs| {
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect::<BTreeMap<_, _>>()
        });
        assert_eq!(parsed, expected, "{}", String::from_utf8_lossy(input));
    }

    #[test]
    fn percent_decoding() {
        check(b"", Ok(&[]));
        check(b"&&a=1&", Ok(&[("a", "1")]));
        check(b"a", Ok(&[("a", "")]));
        check(b"a=b=c", Ok(&[("a", "b=c")]));
        check(b"a=%41%2b%2B+", Ok(&[("a", "A++ ")]));
        check(b"n%61me=%C3%A9t%C3%A9", Ok(&[("name", "\u{e9}t\u{e9}")]));
        // A `%` without two hexadecimal digits is kept, as browsers do.
        check(
            b"a=100%&b=%zz&c=%4",
            Ok(&[("a", "100%"), ("b", "%zz"), ("c", "%4")]),
        );
        // A real U+FFFD sent by the client is kept; only undecodable bytes are refused.
        check(b"a=%EF%BF%BD", Ok(&[("a", "\u{fffd}")]));
        check("a=\u{e9}".as_bytes(), Ok(&[("a", "\u{e9}")]));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        check(b"password-new=%FF%FEabc", Err(ParamsError::NotUtf8));
        check(b"state=%FF%FE", Err(ParamsError::NotUtf8));
        check(b"%C3=1", Err(ParamsError::NotUtf8));
        check(b"a=%C3", Err(ParamsError::NotUtf8));
        check(b"a=\xff", Err(ParamsError::NotUtf8));
        // Overlong encoding of `/` and an encoded UTF-16 surrogate are not UTF-8 either.
        check(b"a=%C0%AF", Err(ParamsError::NotUtf8));
        check(b"a=%ED%A0%80", Err(ParamsError::NotUtf8));
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

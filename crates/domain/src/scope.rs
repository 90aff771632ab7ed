//! Scopes, [RFC 6749 §3.3](https://www.rfc-editor.org/rfc/rfc6749#section-3.3).

use std::collections::BTreeSet;

/// The scopes Sésame knows. Others are dropped from requests, as RFC 6749 §3.3 allows.
pub const SUPPORTED_SCOPES: [&str; 4] = ["openid", "profile", "email", "roles"];

/// A set of known scope tokens, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses a space-separated `scope` parameter, keeping the scopes Sésame supports.
    pub fn parse_supported(scope: Option<&str>) -> Self {
        let tokens = scope
            .unwrap_or_default()
            .split(' ')
            .filter(|token| SUPPORTED_SCOPES.contains(token));
        Self(tokens.map(str::to_owned).collect())
    }

    /// Whether the set holds this scope.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Whether the set is a subset of `other`: a refresh may narrow scopes, never widen them.
    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Whether no scope was kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes as a `scope` parameter value.
    pub fn to_param(&self) -> String {
        self.0
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scopes_are_dropped() {
        let scopes = Scopes::parse_supported(Some("openid  email unknown profile"));
        assert_eq!(scopes.to_param(), "email openid profile");
        assert!(Scopes::parse_supported(Some("email")).is_subset(&scopes));
        assert!(Scopes::parse_supported(None).is_empty());
    }
}

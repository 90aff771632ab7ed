//! Users of a realm.

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable identifier, the `sub` of its tokens.
    pub id: String,
    /// The realm it belongs to.
    pub realm: String,
    /// Login name, unique in the realm, stored lower-case.
    pub username: String,
    /// Contact address, unique in the realm, stored lower-case.
    pub email: Option<String>,
    /// Whether the address was proven to reach the user.
    pub email_verified: bool,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// A disabled user cannot sign in.
    pub enabled: bool,
    /// The user's chosen language.
    pub locale: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

impl User {
    /// The full name, or the username when no name is known.
    pub fn display_name(&self) -> String {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if name.is_empty() {
            self.username.clone()
        } else {
            name
        }
    }
}

//! Audit events: what happened, to whom, through which client, from which address and when.
//!
//! Two families share one shape, as in Keycloak: user events (a login, a failure, a token
//! issued, a required action completed) and admin events (a change made through the admin API,
//! with its operation and the path of the resource it changed). Events are facts to keep, not
//! log lines: they never hold a password, a code, a token or a secret.

use std::collections::BTreeMap;

/// What happened to a user, with Keycloak's event type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A login finished: password and, where required, a one-time code.
    Login,
    /// A login step refused the user; the event's error says why.
    LoginError,
    /// An authorization code was exchanged for tokens.
    CodeToToken,
    /// An authorization code was refused (unknown, reused, expired, another client's, PKCE).
    CodeToTokenError,
    /// A refresh token was exchanged for new tokens.
    RefreshToken,
    /// A refresh token was refused (reused, expired, revoked).
    RefreshTokenError,
    /// A client got tokens for itself with the client credentials grant.
    ClientLogin,
    /// A client credentials grant was refused.
    ClientLoginError,
    /// A browser session ended at the user's request.
    Logout,
    /// The user chose a new password.
    UpdatePassword,
    /// The user enrolled an OTP device.
    UpdateTotp,
    /// An OTP device of the user was removed.
    RemoveTotp,
    /// The user updated their profile.
    UpdateProfile,
}

impl EventType {
    /// Every event type, in the order above.
    pub const ALL: [EventType; 13] = [
        Self::Login,
        Self::LoginError,
        Self::CodeToToken,
        Self::CodeToTokenError,
        Self::RefreshToken,
        Self::RefreshTokenError,
        Self::ClientLogin,
        Self::ClientLoginError,
        Self::Logout,
        Self::UpdatePassword,
        Self::UpdateTotp,
        Self::RemoveTotp,
        Self::UpdateProfile,
    ];

    /// Keycloak's name: `LOGIN`, `LOGIN_ERROR`, `CODE_TO_TOKEN`…
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "LOGIN",
            Self::LoginError => "LOGIN_ERROR",
            Self::CodeToToken => "CODE_TO_TOKEN",
            Self::CodeToTokenError => "CODE_TO_TOKEN_ERROR",
            Self::RefreshToken => "REFRESH_TOKEN",
            Self::RefreshTokenError => "REFRESH_TOKEN_ERROR",
            Self::ClientLogin => "CLIENT_LOGIN",
            Self::ClientLoginError => "CLIENT_LOGIN_ERROR",
            Self::Logout => "LOGOUT",
            Self::UpdatePassword => "UPDATE_PASSWORD",
            Self::UpdateTotp => "UPDATE_TOTP",
            Self::RemoveTotp => "REMOVE_TOTP",
            Self::UpdateProfile => "UPDATE_PROFILE",
        }
    }

    /// The type named `name` (Keycloak's spelling), if Sésame records it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// What an administrator did to a resource: Keycloak's admin event operation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationType {
    /// A resource was created.
    Create,
    /// A resource was changed.
    Update,
    /// A resource was deleted.
    Delete,
    /// Something was done to a resource without changing its representation (a mail sent, a
    /// password reset, sessions ended, a secret regenerated).
    Action,
}

impl OperationType {
    /// Every operation type.
    pub const ALL: [OperationType; 4] = [Self::Create, Self::Update, Self::Delete, Self::Action];

    /// Keycloak's name: `CREATE`, `UPDATE`, `DELETE` or `ACTION`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Action => "ACTION",
        }
    }

    /// The operation named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// The kind of resource an admin event concerns: the part of Keycloak's resource types that
/// Sésame's admin API changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    /// Realm settings.
    Realm,
    /// A user, its credentials and its required actions.
    User,
    /// A browser session.
    UserSession,
    /// A client.
    Client,
}

impl ResourceType {
    /// Every resource type.
    pub const ALL: [ResourceType; 4] = [Self::Realm, Self::User, Self::UserSession, Self::Client];

    /// Keycloak's name: `REALM`, `USER`, `USER_SESSION` or `CLIENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Realm => "REALM",
            Self::User => "USER",
            Self::UserSession => "USER_SESSION",
            Self::Client => "CLIENT",
        }
    }

    /// The resource type named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// Which family an event belongs to, with what only that family has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// Something that happened to a user or a client.
    User(EventType),
    /// A change through the admin API.
    Admin {
        /// What was done.
        operation: OperationType,
        /// To what kind of resource.
        resource_type: ResourceType,
        /// The resource's path under `/admin/realms/{realm}/`, such as `users/{id}`.
        resource_path: String,
        /// The realm of the administrator's client (`master` for the bootstrap client).
        auth_realm: String,
    },
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Unique identifier.
    pub id: String,
    /// The realm the event happened in.
    pub realm: String,
    /// When, in Unix seconds.
    pub time: i64,
    /// User or admin event, with its type or operation.
    pub kind: EventKind,
    /// The user concerned (user events) or the administrator acting as a user (admin events).
    pub user_id: Option<String>,
    /// The OAuth `client_id` involved (user events) or the administrator's client (admin
    /// events).
    pub client_id: Option<String>,
    /// The browser session involved, if any.
    pub session_id: Option<String>,
    /// The address of the request.
    pub ip_address: String,
    /// Why it failed, for error events: Keycloak's error codes such as
    /// `invalid_user_credentials`.
    pub error: Option<String>,
    /// Further facts, never secrets: the username typed, the OTP device used, the redirect URI.
    pub details: BTreeMap<String, String>,
}

impl AuditEvent {
    /// A user event of `event_type` at `time`, from `ip_address`.
    pub fn user(
        id: String,
        realm: &str,
        time: i64,
        event_type: EventType,
        ip_address: &str,
    ) -> Self {
        Self::new(id, realm, time, EventKind::User(event_type), ip_address)
    }

    /// An admin event: `operation` on the resource at `resource_path`, by the client
    /// `client_id` of `auth_realm`.
    pub fn admin(
        id: String,
        realm: &str,
        time: i64,
        (operation, resource_type, resource_path): (OperationType, ResourceType, String),
        (auth_realm, client_id): (&str, &str),
        ip_address: &str,
    ) -> Self {
        let kind = EventKind::Admin {
            operation,
            resource_type,
            resource_path,
            auth_realm: auth_realm.to_owned(),
        };
        Self::new(id, realm, time, kind, ip_address).client(client_id)
    }

    /// Sets the user concerned.
    pub fn user_id(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_owned()).filter(|id| !id.is_empty());
        self
    }

    /// Sets the client involved.
    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned()).filter(|id| !id.is_empty());
        self
    }

    /// Sets the browser session involved.
    pub fn session(mut self, session_id: &str) -> Self {
        self.session_id = Some(session_id.to_owned());
        self
    }

    /// Sets the error of a failure event.
    pub fn error(mut self, error: &str) -> Self {
        self.error = Some(error.to_owned());
        self
    }

    /// Adds a detail; values are cut at 255 characters so that no input can bloat the table.
    pub fn detail(mut self, name: &str, value: &str) -> Self {
        self.details
            .insert(name.to_owned(), value.chars().take(255).collect());
        self
    }

    /// The user event type, for user events.
    pub fn event_type(&self) -> Option<EventType> {
        match &self.kind {
            EventKind::User(event_type) => Some(*event_type),
            EventKind::Admin { .. } => None,
        }
    }

    fn new(id: String, realm: &str, time: i64, kind: EventKind, ip_address: &str) -> Self {
        Self {
            id,
            realm: realm.to_owned(),
            time,
            kind,
            user_id: None,
            client_id: None,
            session_id: None,
            ip_address: ip_address.to_owned(),
            error: None,
            details: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_keycloaks_and_parse_back() {
        for event_type in EventType::ALL {
            assert_eq!(EventType::parse(event_type.as_str()), Some(event_type));
        }
        for operation in OperationType::ALL {
            assert_eq!(OperationType::parse(operation.as_str()), Some(operation));
        }
        for resource_type in ResourceType::ALL {
            assert_eq!(
                ResourceType::parse(resource_type.as_str()),
                Some(resource_type)
            );
        }
        assert_eq!(EventType::CodeToToken.as_str(), "CODE_TO_TOKEN");
        assert_eq!(EventType::parse("login"), None);
    }

    #[test]
    fn details_are_cut_at_255_characters() {
        let event = AuditEvent::user("id".to_owned(), "r", 0, EventType::LoginError, "::1")
            .detail("username", &"é".repeat(300));
        assert_eq!(event.details["username"].chars().count(), 255);
    }
}

//! Realm settings, named as in Keycloak's realm representation so that exported realms, admin
//! scripts and realm files speak the same language.

use serde::{Deserialize, Serialize};

use crate::{PasswordPolicy, PasswordPolicyError};

/// The settings of one realm. Durations are in seconds, as in Keycloak's representation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RealmSettings {
    /// The name shown on login pages and in mails.
    pub display_name: String,
    /// A disabled realm serves no login and issues no token.
    pub enabled: bool,
    /// The language used when nothing else decides it.
    pub default_locale: String,
    /// The languages a user may choose.
    pub supported_locales: Vec<String>,
    /// The theme of the login pages, mails and account console.
    pub login_theme: String,
    /// Lifetime of access and ID tokens; 300 s by default.
    pub access_token_lifespan: i64,
    /// Lifetime of an authorization code; 60 s by default.
    pub access_code_lifespan: i64,
    /// Time for each step of a login (password, code, each required action); 300 s by default.
    pub access_code_lifespan_user_action: i64,
    /// Time for a whole login from the authorization request; 1800 s by default.
    pub access_code_lifespan_login: i64,
    /// Validity of links sent by an administrator (initialisation mail); 7 days by default.
    pub action_token_generated_by_admin_lifespan: i64,
    /// Validity of links a user asks for (forgotten password); 300 s by default.
    pub action_token_generated_by_user_lifespan: i64,
    /// A browser session unused for this long ends; 1800 s by default.
    pub sso_session_idle_timeout: i64,
    /// A browser session ends this long after its login, used or not; 10 hours by default.
    pub sso_session_max_lifespan: i64,
    /// `totp` (the only type offered).
    pub otp_policy_type: String,
    /// `HmacSHA1` by default: the only algorithm every listed app computes correctly.
    pub otp_policy_algorithm: String,
    /// 6 by default.
    pub otp_policy_digits: u32,
    /// Seconds per code; 30 by default, the only period Google and Microsoft apps honour.
    pub otp_policy_period: u32,
    /// Steps of clock drift accepted on each side; 1 by default.
    pub otp_policy_look_ahead_window: u32,
    /// Whether every user must have an OTP device before any token is issued.
    pub otp_required: bool,
    /// Keycloak's policy string, e.g. `length(12) and maxLength(64) and notUsername and notEmail`.
    pub password_policy: String,
    /// The order in which pending required actions run.
    pub required_action_order: Vec<RequiredAction>,
    /// The sender of the realm's mails.
    pub smtp_server: MailSettings,
    /// The algorithm of new signing keys: `RS256` (default) or `ES256`.
    pub default_signature_algorithm: SigningAlgorithm,
    /// Whether failed logins slow down and then lock an account and an address.
    pub brute_force_protected: bool,
    /// Failures before an account is locked for a while.
    pub failure_factor: u32,
    /// Seconds an account stays locked after `failure_factor` failures.
    pub wait_increment_seconds: i64,
    /// The `acr` given to a login with a password and a one-time code.
    pub strong_acr: String,
    /// Resource servers named in the `aud` of every access token, besides the client itself:
    /// an API checks that its own name is there. Empty by default.
    pub access_token_audience: Vec<String>,
}

impl Default for RealmSettings {
    fn default() -> Self {
        Self {
            display_name: String::new(),
            enabled: true,
            default_locale: "fr".to_owned(),
            supported_locales: vec!["fr".to_owned(), "en".to_owned()],
            login_theme: "base".to_owned(),
            access_token_lifespan: 300,
            access_code_lifespan: 60,
            access_code_lifespan_user_action: 300,
            access_code_lifespan_login: 1800,
            action_token_generated_by_admin_lifespan: 7 * 24 * 3600,
            action_token_generated_by_user_lifespan: 300,
            sso_session_idle_timeout: 1800,
            sso_session_max_lifespan: 36000,
            otp_policy_type: "totp".to_owned(),
            otp_policy_algorithm: "HmacSHA1".to_owned(),
            otp_policy_digits: 6,
            otp_policy_period: 30,
            otp_policy_look_ahead_window: 1,
            otp_required: false,
            password_policy: "length(8) and maxLength(128) and notUsername and notEmail".to_owned(),
            required_action_order: vec![
                RequiredAction::ConfigureTotp,
                RequiredAction::UpdatePassword,
                RequiredAction::UpdateProfile,
                RequiredAction::VerifyEmail,
            ],
            smtp_server: MailSettings::default(),
            default_signature_algorithm: SigningAlgorithm::Rs256,
            brute_force_protected: true,
            failure_factor: 10,
            wait_increment_seconds: 60,
            strong_acr: "2".to_owned(),
            access_token_audience: Vec::new(),
        }
    }
}

impl RealmSettings {
    /// The realm's name as people see it: its display name, or `realm` when it has none.
    pub fn shown_name(&self, realm: &str) -> String {
        if self.display_name.is_empty() {
            realm.to_owned()
        } else {
            self.display_name.clone()
        }
    }

    /// The language of what a user with this saved `locale` is sent: theirs when the realm
    /// supports it, the realm's default otherwise.
    pub fn locale_for(&self, locale: Option<&str>) -> String {
        locale
            .filter(|locale| self.supported_locales.iter().any(|known| known == locale))
            .unwrap_or(&self.default_locale)
            .to_owned()
    }

    /// The realm's password policy, parsed from its policy string, with the rules it could not
    /// understand. [`Self::validate`] refuses such a string, but one stored before strict parsing
    /// still applies the rules it understands; the caller should report the error.
    pub fn password_policy(&self) -> (PasswordPolicy, Option<PasswordPolicyError>) {
        PasswordPolicy::parse_known_rules(&self.password_policy)
    }

    /// The OTP parameters of the realm.
    pub fn otp_policy(&self) -> OtpPolicy {
        OtpPolicy {
            digits: self.otp_policy_digits,
            period: self.otp_policy_period,
            look_around: self.otp_policy_look_ahead_window,
        }
    }

    /// Checks values a bad realm file or admin request could make absurd.
    pub fn validate(&self) -> Result<(), String> {
        let lifespans = [
            ("accessTokenLifespan", self.access_token_lifespan),
            ("accessCodeLifespan", self.access_code_lifespan),
            (
                "accessCodeLifespanUserAction",
                self.access_code_lifespan_user_action,
            ),
            ("accessCodeLifespanLogin", self.access_code_lifespan_login),
            (
                "actionTokenGeneratedByAdminLifespan",
                self.action_token_generated_by_admin_lifespan,
            ),
            (
                "actionTokenGeneratedByUserLifespan",
                self.action_token_generated_by_user_lifespan,
            ),
            ("ssoSessionIdleTimeout", self.sso_session_idle_timeout),
            ("ssoSessionMaxLifespan", self.sso_session_max_lifespan),
        ];
        for (name, seconds) in lifespans {
            if !(1..=10 * 365 * 24 * 3600).contains(&seconds) {
                return Err(format!("{name} must be between 1 second and 10 years"));
            }
        }
        // Dropping a rule not understood would leave the realm weaker than written.
        PasswordPolicy::parse(&self.password_policy)
            .map_err(|err| format!("passwordPolicy: {err}"))?;
        if !matches!(self.otp_policy_digits, 6 | 8) {
            return Err("otpPolicyDigits must be 6 or 8".to_owned());
        }
        if !(15..=120).contains(&self.otp_policy_period) {
            return Err("otpPolicyPeriod must be between 15 and 120 seconds".to_owned());
        }
        if self.otp_policy_algorithm != "HmacSHA1" || self.otp_policy_type != "totp" {
            return Err("only totp with HmacSHA1 is supported by every listed app".to_owned());
        }
        if self.otp_policy_look_ahead_window > 3 {
            return Err("otpPolicyLookAheadWindow must be at most 3".to_owned());
        }
        if !self.supported_locales.contains(&self.default_locale) {
            return Err("defaultLocale must be one of supportedLocales".to_owned());
        }
        Ok(())
    }
}

/// The TOTP parameters of a realm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpPolicy {
    /// Digits per code.
    pub digits: u32,
    /// Seconds per step.
    pub period: u32,
    /// Steps of drift accepted on each side.
    pub look_around: u32,
}

/// The sender of a realm's mails, as in Keycloak's `smtpServer` map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MailSettings {
    /// The address mails come from.
    pub from: String,
    /// The name shown beside it.
    pub from_display_name: String,
    /// Where replies go, if not to `from`.
    pub reply_to: String,
}

/// An action a user must complete before a login ends, with Keycloak's aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequiredAction {
    /// Enrol an OTP device.
    #[serde(rename = "CONFIGURE_TOTP")]
    ConfigureTotp,
    /// Choose a new password.
    #[serde(rename = "UPDATE_PASSWORD")]
    UpdatePassword,
    /// Fill in first and last name.
    #[serde(rename = "UPDATE_PROFILE")]
    UpdateProfile,
    /// Confirm the e-mail address.
    #[serde(rename = "VERIFY_EMAIL")]
    VerifyEmail,
}

impl RequiredAction {
    /// Keycloak's alias of the action.
    pub fn alias(self) -> &'static str {
        match self {
            Self::ConfigureTotp => "CONFIGURE_TOTP",
            Self::UpdatePassword => "UPDATE_PASSWORD",
            Self::UpdateProfile => "UPDATE_PROFILE",
            Self::VerifyEmail => "VERIFY_EMAIL",
        }
    }

    /// Parses Keycloak's alias.
    pub fn from_alias(alias: &str) -> Option<Self> {
        [
            Self::ConfigureTotp,
            Self::UpdatePassword,
            Self::UpdateProfile,
            Self::VerifyEmail,
        ]
        .into_iter()
        .find(|action| action.alias() == alias)
    }
}

/// A JWS algorithm Sésame signs with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys: what every client library accepts.
    #[default]
    #[serde(rename = "RS256")]
    Rs256,
    /// ECDSA on P-256 with SHA-256: smaller and faster.
    #[serde(rename = "ES256")]
    Es256,
}

impl SigningAlgorithm {
    /// The JWS `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    /// Parses a JWS `alg` value.
    pub fn parse(alg: &str) -> Option<Self> {
        match alg {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RealmSettings;

    #[test]
    fn the_shown_name_is_the_display_name_or_the_realm() {
        let unnamed = RealmSettings {
            display_name: String::new(),
            ..RealmSettings::default()
        };
        assert_eq!(unnamed.shown_name("smart-oa"), "smart-oa");
        let named = RealmSettings {
            display_name: "Smart OA".to_owned(),
            ..RealmSettings::default()
        };
        assert_eq!(named.shown_name("smart-oa"), "Smart OA");
    }

    #[test]
    fn a_users_language_is_used_only_when_the_realm_supports_it() {
        let settings = RealmSettings {
            supported_locales: vec!["fr".to_owned(), "en".to_owned()],
            default_locale: "fr".to_owned(),
            ..RealmSettings::default()
        };
        assert_eq!(settings.locale_for(Some("en")), "en");
        assert_eq!(settings.locale_for(Some("de")), "fr");
        assert_eq!(settings.locale_for(None), "fr");
    }
}

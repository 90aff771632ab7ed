//! Password policies, written as Keycloak's policy strings
//! (`length(12) and maxLength(64) and notUsername and notEmail`).

use unicode_normalization::UnicodeNormalization;

/// Normalises a password to Unicode NFC before hashing or checking it, so that the same
/// characters typed on different keyboards give the same hash.
pub fn normalize_password(password: &str) -> String {
    password.nfc().collect()
}

/// A parsed password policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_length: usize,
    /// Maximum length in characters; it bounds the hashing cost an attacker can impose.
    pub max_length: usize,
    /// The password may not equal the username.
    pub not_username: bool,
    /// The password may not equal the e-mail address.
    pub not_email: bool,
    /// Minimum count of digits.
    pub digits: usize,
}

/// The rule a password broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    /// Shorter than the minimum length.
    TooShort(usize),
    /// Longer than the maximum length.
    TooLong(usize),
    /// Equal to the username.
    SameAsUsername,
    /// Equal to the e-mail address.
    SameAsEmail,
    /// Fewer digits than required.
    TooFewDigits(usize),
}

impl PasswordRule {
    /// The message-bundle key that explains the rule to a user.
    pub fn message_key(self) -> &'static str {
        match self {
            Self::TooShort(_) => "invalidPasswordMinLength",
            Self::TooLong(_) => "invalidPasswordMaxLength",
            Self::SameAsUsername => "invalidPasswordNotUsername",
            Self::SameAsEmail => "invalidPasswordNotEmail",
            Self::TooFewDigits(_) => "invalidPasswordMinDigits",
        }
    }

    /// The number the message speaks of, if any.
    pub fn parameter(self) -> Option<usize> {
        match self {
            Self::TooShort(count) | Self::TooLong(count) | Self::TooFewDigits(count) => Some(count),
            Self::SameAsUsername | Self::SameAsEmail => None,
        }
    }
}

/// The hard ceiling on password length, whatever the policy says: argon2 hashes any length, but
/// a megabyte-long password would let one request cost far more than a login should.
const ABSOLUTE_MAX_LENGTH: usize = 1024;

impl PasswordPolicy {
    /// Parses a Keycloak policy string. Unknown rules are ignored, as Keycloak ignores rules it
    /// has no provider for; malformed numbers fall back to the defaults.
    pub fn parse(policy: &str) -> Self {
        let mut parsed = Self {
            min_length: 8,
            max_length: 128,
            not_username: false,
            not_email: false,
            digits: 0,
        };
        for rule in policy.split(" and ").map(str::trim) {
            let (name, argument) = match rule.split_once('(') {
                Some((name, rest)) => (
                    name,
                    rest.strip_suffix(')')
                        .and_then(|arg| arg.trim().parse().ok()),
                ),
                None => (rule, None),
            };
            match name {
                "length" => parsed.min_length = argument.unwrap_or(8),
                "maxLength" => parsed.max_length = argument.unwrap_or(128).min(ABSOLUTE_MAX_LENGTH),
                "notUsername" => parsed.not_username = true,
                "notEmail" => parsed.not_email = true,
                "digits" => parsed.digits = argument.unwrap_or(1),
                _ => {}
            }
        }
        parsed
    }

    /// Checks a (normalised) password for a user, returning the first rule it breaks.
    pub fn check(
        &self,
        password: &str,
        username: &str,
        email: Option<&str>,
    ) -> Result<(), PasswordRule> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(PasswordRule::TooShort(self.min_length));
        }
        if length > self.max_length.min(ABSOLUTE_MAX_LENGTH) {
            return Err(PasswordRule::TooLong(self.max_length));
        }
        if self.not_username && password.to_lowercase() == username.to_lowercase() {
            return Err(PasswordRule::SameAsUsername);
        }
        if self.not_email
            && email.is_some_and(|email| password.to_lowercase() == email.to_lowercase())
        {
            return Err(PasswordRule::SameAsEmail);
        }
        if password.chars().filter(char::is_ascii_digit).count() < self.digits {
            return Err(PasswordRule::TooFewDigits(self.digits));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &str, password: &str, expected: Result<(), PasswordRule>) {
        let policy = PasswordPolicy::parse(policy);
        assert_eq!(
            policy.check(password, "jean.dupont", Some("jean@example.fr")),
            expected,
            "{password}"
        );
    }

    #[test]
    fn rules() {
        let policy = "length(12) and maxLength(20) and notUsername and notEmail";
        check(policy, "short", Err(PasswordRule::TooShort(12)));
        check(policy, "exactly12chr", Ok(()));
        check(policy, &"a".repeat(21), Err(PasswordRule::TooLong(20)));
        check(
            "length(8) and notUsername",
            "Jean.Dupont",
            Err(PasswordRule::SameAsUsername),
        );
        check(policy, "JEAN@example.fr", Err(PasswordRule::SameAsEmail));
        check(
            "length(4) and digits(2)",
            "abcd1",
            Err(PasswordRule::TooFewDigits(2)),
        );
        check("", "abcdefgh", Ok(()));
        check(
            "maxLength(5000)",
            &"a".repeat(1025),
            Err(PasswordRule::TooLong(1024)),
        );
    }

    #[test]
    fn length_counts_characters_after_normalisation() {
        // "é" typed as e + combining acute is two code points before NFC, one after.
        let decomposed = "e\u{301}";
        assert_eq!(normalize_password(decomposed), "\u{e9}");
        check(
            "length(8)",
            &normalize_password(&"e\u{301}".repeat(7)),
            Err(PasswordRule::TooShort(8)),
        );
    }
}

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

impl Default for PasswordPolicy {
    /// The policy of an empty policy string: 8 to 128 characters, nothing else.
    fn default() -> Self {
        Self {
            min_length: DEFAULT_MIN_LENGTH,
            max_length: DEFAULT_MAX_LENGTH,
            not_username: false,
            not_email: false,
            digits: 0,
        }
    }
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

/// The minimum length when the policy has no `length` rule.
const DEFAULT_MIN_LENGTH: usize = 8;

/// The maximum length when the policy has no `maxLength` rule.
const DEFAULT_MAX_LENGTH: usize = 128;

/// The hard ceiling on password length, whatever the policy says: argon2 hashes any length, but
/// a megabyte-long password would let one request cost far more than a login should.
const ABSOLUTE_MAX_LENGTH: usize = 1024;

/// Why a password policy string was refused. Each variant carries the part as written, so that
/// the administrator sees which one to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// A rule Sésame does not enforce, or a misspelt one.
    #[error(
        "unknown password policy rule {0:?} \
         (supported: length, maxLength, notUsername, notEmail, digits)"
    )]
    UnknownRule(String),
    /// A rule whose argument is not what it takes.
    #[error("password policy rule {0:?} takes a whole number, as in length(12)")]
    BadArgument(String),
    /// A rule that takes no argument, given one.
    #[error("password policy rule {0:?} takes no argument")]
    UnexpectedArgument(String),
    /// A rule written twice; only one of the two could apply.
    #[error("password policy rule {0:?} is written twice")]
    RepeatedRule(String),
    /// Two `and` with nothing between them, or one at either end.
    #[error("empty rule in password policy {0:?}")]
    EmptyRule(String),
    /// A minimum length above the maximum: no password could be set.
    #[error("password policy asks for at least {min} characters but at most {max}")]
    LengthConflict {
        /// The `length` rule's value.
        min: usize,
        /// The `maxLength` rule's value.
        max: usize,
    },
}

impl PasswordPolicy {
    /// Parses a Keycloak policy string strictly: rules joined by ` and `, each `name` or
    /// `name(argument)`. Any part it does not understand is an error naming that part, because
    /// dropping it would leave the realm with a weaker policy than the one written. An empty
    /// string is the default policy; `maxLength` above 1024 is lowered to 1024.
    pub fn parse(policy: &str) -> Result<Self, PasswordPolicyError> {
        let (parsed, error) = Self::parse_known_rules(policy);
        match error {
            Some(error) => Err(error),
            None => Ok(parsed),
        }
    }

    /// Parses a stored policy string that may predate strict parsing: applies the rules it
    /// understands and returns, beside the policy, the first error [`Self::parse`] would give.
    /// Use it only where refusing would lock users out (checking a password against a stored
    /// policy), and report the error.
    pub fn parse_known_rules(policy: &str) -> (Self, Option<PasswordPolicyError>) {
        let mut parsed = Self::default();
        let mut first_error = None;
        let mut seen: Vec<&str> = Vec::new();
        if policy.trim().is_empty() {
            return (parsed, None);
        }
        for rule in policy.split(" and ").map(str::trim) {
            if seen.contains(&rule_name(rule)) && first_error.is_none() {
                first_error = Some(PasswordPolicyError::RepeatedRule(rule.to_owned()));
            }
            seen.push(rule_name(rule));
            if let Err(error) = parsed.apply(rule, policy) {
                first_error.get_or_insert(error);
            }
        }
        if parsed.min_length > parsed.max_length {
            first_error.get_or_insert(PasswordPolicyError::LengthConflict {
                min: parsed.min_length,
                max: parsed.max_length,
            });
        }
        (parsed, first_error)
    }

    /// Applies one rule of `policy`, or says why it cannot.
    fn apply(&mut self, rule: &str, policy: &str) -> Result<(), PasswordPolicyError> {
        let (name, argument) = match rule.split_once('(') {
            Some((name, rest)) => {
                let argument = rest
                    .strip_suffix(')')
                    .ok_or_else(|| PasswordPolicyError::BadArgument(rule.to_owned()))?;
                (name.trim_end(), Some(argument.trim()))
            }
            None => (rule, None),
        };
        let number = |default: usize| match argument {
            None => Ok(default),
            Some(argument) => argument
                .parse::<usize>()
                .map_err(|_| PasswordPolicyError::BadArgument(rule.to_owned())),
        };
        // Keycloak's admin console writes `notUsername(undefined)` for its flag rules.
        let flag = || match argument {
            None | Some("" | "undefined") => Ok(true),
            Some(_) => Err(PasswordPolicyError::UnexpectedArgument(rule.to_owned())),
        };
        match name {
            "length" => self.min_length = number(DEFAULT_MIN_LENGTH)?,
            "maxLength" => self.max_length = number(DEFAULT_MAX_LENGTH)?.min(ABSOLUTE_MAX_LENGTH),
            "notUsername" => self.not_username = flag()?,
            "notEmail" => self.not_email = flag()?,
            "digits" => self.digits = number(1)?,
            "" => return Err(PasswordPolicyError::EmptyRule(policy.to_owned())),
            _ => return Err(PasswordPolicyError::UnknownRule(rule.to_owned())),
        }
        Ok(())
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

/// The name of a rule, for spotting one written twice.
fn rule_name(rule: &str) -> &str {
    rule.split_once('(')
        .map_or(rule, |(name, _)| name.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &str, password: &str, expected: Result<(), PasswordRule>) {
        let policy = PasswordPolicy::parse(policy).unwrap();
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

    fn check_parse(policy: &str, expected: &Result<PasswordPolicy, PasswordPolicyError>) {
        assert_eq!(&PasswordPolicy::parse(policy), expected, "{policy:?}");
    }

    #[test]
    fn parse_accepts_supported_rules() {
        let default = PasswordPolicy::default();
        check_parse("", &Ok(default.clone()));
        check_parse(
            "length(12) and maxLength(64) and notUsername and notEmail and digits(2)",
            &Ok(PasswordPolicy {
                min_length: 12,
                max_length: 64,
                not_username: true,
                not_email: true,
                digits: 2,
            }),
        );
        check_parse(
            "notUsername(undefined) and notEmail() and length( 10 )",
            &Ok(PasswordPolicy {
                min_length: 10,
                not_username: true,
                not_email: true,
                ..default
            }),
        );
        check_parse(
            "digits and maxLength(5000)",
            &Ok(PasswordPolicy {
                digits: 1,
                max_length: 1024,
                ..default
            }),
        );
    }

    #[test]
    fn parse_refuses_what_it_does_not_understand() {
        use PasswordPolicyError::*;
        let unknown = |part: &str| Err(UnknownRule(part.to_owned()));
        let bad = |part: &str| Err(BadArgument(part.to_owned()));
        check_parse("lenght(12)", &unknown("lenght(12)"));
        check_parse("length(abc) and foo", &bad("length(abc)"));
        check_parse("lenght(12) and bogus", &unknown("lenght(12)"));
        check_parse("length(12) and bogus", &unknown("bogus"));
        check_parse("length(12) and upperCase(1)", &unknown("upperCase(1)"));
        check_parse("length(12) and Length(20)", &unknown("Length(20)"));
        check_parse("length(-1)", &bad("length(-1)"));
        check_parse("length(12", &bad("length(12"));
        check_parse("length(12)x", &bad("length(12)x"));
        check_parse("length(12),notEmail", &bad("length(12),notEmail"));
        check_parse("length(12) and", &bad("length(12) and"));
        check_parse(
            "length(12) and  and notEmail",
            &Err(EmptyRule("length(12) and  and notEmail".to_owned())),
        );
        check_parse(
            "notEmail(yes)",
            &Err(UnexpectedArgument("notEmail(yes)".to_owned())),
        );
        check_parse(
            "length(12) and length(6)",
            &Err(RepeatedRule("length(6)".to_owned())),
        );
        check_parse(
            "length(20) and maxLength(10)",
            &Err(LengthConflict { min: 20, max: 10 }),
        );
        let message = PasswordPolicy::parse("lenght(12) and bogus")
            .unwrap_err()
            .to_string();
        assert!(message.contains("\"lenght(12)\""), "{message}");
    }

    #[test]
    fn stored_policies_keep_the_rules_they_understand() {
        let (policy, error) =
            PasswordPolicy::parse_known_rules("lenght(6) and length(12) and bogus");
        assert_eq!(policy.min_length, 12);
        assert_eq!(
            error,
            Some(PasswordPolicyError::UnknownRule("lenght(6)".to_owned()))
        );
        let (policy, error) = PasswordPolicy::parse_known_rules("length(abc) and digits(2)");
        assert_eq!((policy.min_length, policy.digits), (8, 2));
        assert!(error.is_some());
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

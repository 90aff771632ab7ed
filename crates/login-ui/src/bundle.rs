//! Message bundles: parsing, key comparison and parameter substitution.
//!
//! A bundle is a flat TOML file, one `key = "text"` per line, with comments and blank lines.
//! Only that subset is accepted (no tables, no dotted keys, no multi-line strings, no other value
//! types), and it is parsed here: the crate's dependency set has no TOML library, and a format
//! this small does not need one. Anything outside the subset is refused with its line number
//! rather than guessed at, so a theme author learns about a mistake at start-up.

use std::collections::BTreeMap;
use std::fmt;

/// Messages of one locale, by key.
pub(crate) type Messages = BTreeMap<String, String>;

/// Why a bundle could not be parsed, with the 1-based line where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BundleParseError {
    pub(crate) line: usize,
    pub(crate) reason: String,
}

impl fmt::Display for BundleParseError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "line {}: {}", self.line, self.reason)
    }
}

/// Keys present in one bundle and not in the other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyDifferences {
    pub(crate) only_in_first: Vec<String>,
    pub(crate) only_in_second: Vec<String>,
}

impl KeyDifferences {
    /// True when both bundles have exactly the same keys.
    pub(crate) fn is_empty(&self) -> bool {
        self.only_in_first.is_empty() && self.only_in_second.is_empty()
    }
}

/// Parses the text of a flat TOML bundle.
pub(crate) fn parse_bundle(text: &str) -> Result<Messages, BundleParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut messages = Messages::new();

    for (index, raw_line) in text.lines().enumerate() {
        let line_number = index + 1;
        let fail = |reason: &str| BundleParseError {
            line: line_number,
            reason: reason.to_owned(),
        };

        let line = raw_line.trim_start_matches([' ', '\t']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            return Err(fail(
                "tables are not supported: a bundle is a flat list of keys",
            ));
        }

        let key_length = line
            .find(|character: char| !is_bare_key_char(character))
            .unwrap_or(line.len());
        let (key, rest) = line.split_at(key_length);
        if key.is_empty() {
            return Err(fail("expected a key made of letters, digits, '_' or '-'"));
        }
        let rest = rest.trim_start_matches([' ', '\t']);
        let Some(rest) = rest.strip_prefix('=') else {
            return Err(fail("expected '=' after the key"));
        };
        let rest = rest.trim_start_matches([' ', '\t']);

        let (value, after_value) = parse_string(rest).map_err(|reason| fail(&reason))?;
        let after_value = after_value.trim_start_matches([' ', '\t']);
        if !after_value.is_empty() && !after_value.starts_with('#') {
            return Err(fail("unexpected text after the value"));
        }

        if messages.insert(key.to_owned(), value).is_some() {
            return Err(fail(&format!("key {key} is defined twice")));
        }
    }

    Ok(messages)
}

/// Lists the keys that only one of two bundles has.
///
/// The French and English bundles must have the same keys: a key missing from one locale would
/// show up as a raw key, or fail a render, only for the users of that locale.
pub(crate) fn key_differences(first: &Messages, second: &Messages) -> KeyDifferences {
    KeyDifferences {
        only_in_first: first
            .keys()
            .filter(|key| !second.contains_key(*key))
            .cloned()
            .collect(),
        only_in_second: second
            .keys()
            .filter(|key| !first.contains_key(*key))
            .cloned()
            .collect(),
    }
}

/// Replaces `{0}`, `{1}`… in `text` with the matching parameter.
///
/// A placeholder without a matching parameter is left as written, so that a missing parameter
/// shows on the page instead of silently disappearing. Apostrophes are plain text (unlike Java's
/// `MessageFormat`, which French texts would trip over).
pub(crate) fn format_message(text: &str, params: &[&str]) -> String {
    let mut formatted = String::with_capacity(text.len());
    let mut rest = text;

    while let Some((before, after_brace)) = rest.split_once('{') {
        formatted.push_str(before);

        let digits_length = after_brace
            .find(|character: char| !character.is_ascii_digit())
            .unwrap_or(after_brace.len());
        let (digits, after_digits) = after_brace.split_at(digits_length);
        let placeholder = after_digits
            .strip_prefix('}')
            .and_then(|after_placeholder| {
                let index = digits.parse::<usize>().ok()?;
                Some((params.get(index)?, after_placeholder))
            });

        match placeholder {
            Some((param, after_placeholder)) => {
                formatted.push_str(param);
                rest = after_placeholder;
            }
            None => {
                formatted.push('{');
                rest = after_brace;
            }
        }
    }

    formatted.push_str(rest);
    formatted
}

fn is_bare_key_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '_' || character == '-'
}

/// Parses a basic ("...") or literal ('...') TOML string at the start of `input`, returning its
/// value and what follows the closing quote.
fn parse_string(input: &str) -> Result<(String, &str), String> {
    if input.starts_with("\"\"\"") || input.starts_with("'''") {
        return Err("multi-line strings are not supported".to_owned());
    }
    if let Some(literal) = input.strip_prefix('\'') {
        let Some((value, after)) = literal.split_once('\'') else {
            return Err("unterminated string".to_owned());
        };
        if value.chars().any(is_forbidden_control) {
            return Err("control characters are not allowed in a string".to_owned());
        }
        return Ok((value.to_owned(), after));
    }
    let Some(basic) = input.strip_prefix('"') else {
        return Err("the value must be a quoted string".to_owned());
    };

    let mut value = String::with_capacity(basic.len());
    let mut characters = basic.chars();
    while let Some(character) = characters.next() {
        match character {
            '"' => return Ok((value, characters.as_str())),
            '\\' => {
                let escaped = match characters.next() {
                    Some('b') => '\u{8}',
                    Some('t') => '\t',
                    Some('n') => '\n',
                    Some('f') => '\u{c}',
                    Some('r') => '\r',
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('u') => parse_unicode_escape(&mut characters, 4)?,
                    Some('U') => parse_unicode_escape(&mut characters, 8)?,
                    Some(other) => return Err(format!("unknown escape sequence \\{other}")),
                    None => return Err("unterminated string".to_owned()),
                };
                value.push(escaped);
            }
            control if is_forbidden_control(control) => {
                return Err("control characters are not allowed in a string".to_owned());
            }
            other => value.push(other),
        }
    }

    Err("unterminated string".to_owned())
}

fn parse_unicode_escape(
    characters: &mut std::str::Chars<'_>,
    digit_count: usize,
) -> Result<char, String> {
    let mut code_point: u32 = 0;
    for _ in 0..digit_count {
        let digit = characters
            .next()
            .and_then(|character| character.to_digit(16))
            .ok_or_else(|| format!("\\u and \\U escapes need {digit_count} hexadecimal digits"))?;
        code_point = code_point * 16 + digit;
    }
    char::from_u32(code_point)
        .ok_or_else(|| format!("U+{code_point:X} is not a Unicode scalar value"))
}

/// TOML allows tab in strings but no other control character.
fn is_forbidden_control(character: char) -> bool {
    character.is_control() && character != '\t'
}

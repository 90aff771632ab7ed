//! Time-based one-time passwords: the secret, the codes, and what an authenticator app scans.
//!
//! Codes follow [RFC 4226](https://www.rfc-editor.org/rfc/rfc4226) (HOTP) and
//! [RFC 6238](https://www.rfc-editor.org/rfc/rfc6238) (TOTP) with HMAC-SHA1, the only algorithm
//! every authenticator app in the guide honours. Enrolment shows the secret as a Key URI
//! (Google Authenticator's "Key Uri Format") in a QR code and in base32 for manual entry.
//!
//! This module computes and compares; it never reads the clock nor stores anything. The caller
//! passes the time, and records the step [`verify`] returns so that a code is accepted only once
//! (RFC 6238 §5.2).

use std::fmt;
use std::fmt::Write as _;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use data_encoding::BASE32_NOPAD;
use qrcode::types::QrError;
use qrcode::{EcLevel, QrCode};
use unicode_normalization::UnicodeNormalization as _;

/// The length of a generated secret in bytes: 160 bits, the HMAC-SHA1 output size that
/// RFC 4226 §4 recommends.
pub const SECRET_LEN: usize = 20;

/// The furthest [`verify`] looks from the current step, whatever it is asked.
///
/// A realm setting of thousands of steps would accept almost any code and cost one HMAC per
/// step on every attempt; ten steps either side is already five minutes at 30 s.
pub const MAX_LOOK_AROUND: u32 = 10;

/// Empty light modules around the code, in modules: the QR specification's minimum, which
/// phone cameras need to find the finder patterns against a busy page.
const QUIET_ZONE: usize = 4;

/// The default on-screen size of one module in CSS pixels; the page may resize the SVG freely.
const MODULE_PIXELS: usize = 4;

/// A TOTP secret: the HMAC key shared with the authenticator app.
///
/// `Debug` prints `TotpSecret([redacted])`; there is no `Display` and no `PartialEq`, and the
/// key comes out only through [`TotpSecret::as_bytes`] and the base32 accessors.
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// Draws a fresh secret of [`SECRET_LEN`] bytes from the system's random source.
    pub fn generate() -> Self {
        let mut bytes = vec![0; SECRET_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system random source does not fail once the process has started");
        Self(bytes)
    }

    /// Wraps a secret read back from storage.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Reads a secret typed or pasted in base32 (RFC 4648 alphabet).
    ///
    /// Letters may be in either case, whitespace anywhere is ignored (apps show the key in
    /// groups) and so is trailing `=` padding. Returns `None` for an empty key, a character
    /// outside the alphabet, or a length no encoder produces.
    pub fn from_base32(text: &str) -> Option<Self> {
        let mut canonical: String = text
            .chars()
            .filter(|character| !character.is_whitespace())
            .map(|character| character.to_ascii_uppercase())
            .collect();
        let unpadded_len = canonical.trim_end_matches('=').len();
        canonical.truncate(unpadded_len);
        if canonical.is_empty() {
            return None;
        }

        BASE32_NOPAD.decode(canonical.as_bytes()).ok().map(Self)
    }

    /// The secret in base32 without padding, as the Key URI carries it.
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The raw HMAC key. Never log it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The base32 secret in groups of four characters separated by spaces, for people who type
    /// it into their app instead of scanning the QR code.
    pub fn grouped(&self) -> String {
        let base32 = self.to_base32();
        let mut grouped = String::with_capacity(base32.len() + base32.len() / 4);
        for (index, character) in base32.chars().enumerate() {
            if index > 0 && index % 4 == 0 {
                grouped.push(' ');
            }
            grouped.push(character);
        }
        grouped
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

/// Why an enrolment QR code could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    /// The Key URI is longer than the largest QR code holds at error correction level M
    /// (2331 bytes); an issuer or account name that long is the usual cause.
    #[error("the key URI is too long for a QR code")]
    QrTooLong,
    /// The QR encoder refused the Key URI for another reason.
    #[error("the key URI could not be encoded as a QR code: {0}")]
    QrEncoding(String),
}

/// The HOTP value of `secret` at `counter` ([RFC 4226 §5.3](https://www.rfc-editor.org/rfc/rfc4226#section-5.3)),
/// with HMAC-SHA1, zero-padded to `digits` characters.
///
/// RFC 4226 allows 6 to 8 digits: other values of `digits` are clamped to that range.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let digits = digits.clamp(6, 8);
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();

    // Dynamic truncation: the offset is the low nibble of the last byte, whatever the MAC's
    // length (hard-coding byte 19 only works for SHA-1).
    let offset = usize::from(mac.last().map_or(0, |last| last & 0x0f));
    let window: [u8; 4] = mac
        .get(offset..offset + 4)
        .and_then(|bytes| bytes.try_into().ok())
        .expect("an HMAC-SHA1 tag is 20 bytes and the offset at most 15");
    let truncated = u32::from_be_bytes(window) & 0x7fff_ffff;

    let code = truncated % 10_u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// The TOTP code of `secret` at `unix_time` ([RFC 6238 §4](https://www.rfc-editor.org/rfc/rfc6238#section-4)),
/// with T0 = 0 and a time step of `period` seconds.
///
/// A `period` of 0 is treated as 1 s, and times before 1970 as step 0: neither happens with a
/// valid realm and a sane clock, and this function must not panic on them.
pub fn totp(secret: &[u8], unix_time: i64, period: u32, digits: u32) -> String {
    let step = time_step(unix_time, period.max(1));
    hotp(secret, u64::try_from(step).unwrap_or(0), digits)
}

/// Checks a code typed by the user against the steps from `look_around` before the current one
/// to `look_around` after it, and returns the step it matches.
///
/// The caller stores that step and refuses any later code of the same or an earlier step,
/// since a code must be accepted only once
/// ([RFC 6238 §5.2](https://www.rfc-editor.org/rfc/rfc6238#section-5.2)).
///
/// Spaces around the code are ignored. A code that is not exactly `digits` ASCII digits is
/// refused before any HMAC is computed, and so is everything when `period` is 0 or `digits`
/// outside 6 to 8. `look_around` is capped at [`MAX_LOOK_AROUND`]. Codes are compared in
/// constant time, and every step of the window is computed even after a match, so the time
/// taken says nothing about which step matched.
pub fn verify(
    secret: &[u8],
    code: &str,
    unix_time: i64,
    period: u32,
    digits: u32,
    look_around: u32,
) -> Option<i64> {
    let code = code.trim();
    if period == 0 || !(6..=8).contains(&digits) {
        return None;
    }
    if code.len() != digits as usize || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }

    let current = time_step(unix_time, period);
    let look_around = i64::from(look_around.min(MAX_LOOK_AROUND));
    let first = current.saturating_sub(look_around).max(0);
    let last = current.saturating_add(look_around);
    let mut matched = None;
    for step in first..=last {
        let counter = u64::try_from(step).unwrap_or(0);
        let expected = hotp(secret, counter, digits);
        let equal = verify_slices_are_equal(expected.as_bytes(), code.as_bytes()).is_ok();
        if equal && matched.is_none() {
            matched = Some(step);
        }
    }

    matched
}

/// The Key URI that authenticator apps scan: `otpauth://totp/{issuer}:{account}?secret=…`
/// followed by `issuer`, `algorithm=SHA1`, `digits` and `period`.
///
/// The label and the `issuer` parameter are percent-encoded per
/// [RFC 3986](https://www.rfc-editor.org/rfc/rfc3986#section-2.1): everything but unreserved
/// characters and `@` becomes UTF-8 `%XX`, so a space is `%20` (never `+`, which some apps
/// read as a space and others as a plus) and a plus is `%2B`. `@` stays literal for
/// readability, as in the format's own example; it is allowed in both a path and a query.
///
/// Neither part of the label may contain a colon, which apps take as the separator: each `:`
/// in `issuer` or `account` becomes a space. Both are then NFC-normalised, their runs of
/// whitespace collapsed to one space and their ends trimmed, so that "Élodie: R&D" reads
/// "Élodie R&D". The same cleaned issuer is used in the label and in the parameter, as the
/// format recommends; when it is empty, the label is the account alone and the parameter is
/// left out.
pub fn key_uri(
    issuer: &str,
    account: &str,
    secret: &TotpSecret,
    digits: u32,
    period: u32,
) -> String {
    let issuer = percent_encode(&clean_label_part(issuer));
    let account = percent_encode(&clean_label_part(account));
    let secret = secret.to_base32();

    if issuer.is_empty() {
        format!(
            "otpauth://totp/{account}?secret={secret}&algorithm=SHA1&digits={digits}\
             &period={period}"
        )
    } else {
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1\
             &digits={digits}&period={period}"
        )
    }
}

/// The QR code of a Key URI as an inline SVG document.
///
/// Error correction level M, a quiet zone of four modules, dark modules black on a white
/// background. The `viewBox` counts one unit per module, so the page can size the image with
/// CSS; `width` and `height` give a default of four pixels per module. There is no `style`
/// attribute (the login pages forbid inline styles by CSP), only `fill` and `shape-rendering`.
/// The image has `role="img"` and `aria-label` set to `aria_label`, escaped.
///
/// The dark modules form one `<path>` of rectangles one module high, one per horizontal run:
/// `M{x} {y}h{len}v1h-{len}z` in viewBox units. `decode_qr_svg` (feature `test-support`)
/// relies on that shape.
pub fn qr_svg(uri: &str, aria_label: &str) -> Result<String, TotpError> {
    let qr = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).map_err(qr_error)?;
    let width = qr.width();
    let size = width + 2 * QUIET_ZONE;
    let pixels = size * MODULE_PIXELS;

    let mut path = String::new();
    for (row, modules) in qr.to_colors().chunks(width).enumerate() {
        let y = row + QUIET_ZONE;
        let mut column = 0;
        while column < modules.len() {
            let run = modules
                .iter()
                .skip(column)
                .take_while(|color| **color == qrcode::Color::Dark)
                .count();
            if run == 0 {
                column += 1;
                continue;
            }
            let x = column + QUIET_ZONE;
            // Writing to a String cannot fail.
            let _ = write!(path, "M{x} {y}h{run}v1h-{run}z");
            column += run;
        }
    }

    let label = escape_xml_attribute(aria_label);
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         width=\"{pixels}\" height=\"{pixels}\" role=\"img\" aria-label=\"{label}\" \
         shape-rendering=\"crispEdges\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

/// The time step containing `unix_time`; `period` must not be 0.
fn time_step(unix_time: i64, period: u32) -> i64 {
    unix_time.div_euclid(i64::from(period))
}

/// What a QR encoder failure means for enrolment.
fn qr_error(err: QrError) -> TotpError {
    match err {
        QrError::DataTooLong => TotpError::QrTooLong,
        other => TotpError::QrEncoding(other.to_string()),
    }
}

/// One part of a Key URI label without colons, NFC-normalised, with whitespace collapsed.
fn clean_label_part(part: &str) -> String {
    let without_colons: String = part
        .nfc()
        .map(|character| if character == ':' { ' ' } else { character })
        .collect();
    without_colons
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Percent-encodes all but RFC 3986 unreserved characters and `@`, in UTF-8.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            encoded.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// Escapes text for a double-quoted XML attribute.
fn escape_xml_attribute(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Reads back the text of a QR code drawn by [`qr_svg`], as a phone camera would: the SVG is
/// rasterised at four pixels per module and decoded with `rqrr`.
///
/// For tests only (feature `test-support`): it understands only the SVG that [`qr_svg`]
/// writes, and returns `None` for anything else or when no code can be decoded.
#[cfg(any(test, feature = "test-support"))]
pub fn decode_qr_svg(svg: &str) -> Option<String> {
    const SCALE: usize = 4;

    let size = svg_view_box_size(svg)?;
    let path = svg_dark_path(svg)?;
    let mut dark = vec![false; size.checked_mul(size)?];
    for rectangle in path.split('M').filter(|rectangle| !rectangle.is_empty()) {
        let (x, y, len) = parse_run(rectangle)?;
        for column in x..x.checked_add(len)? {
            if column >= size || y >= size {
                return None;
            }
            *dark.get_mut(y * size + column)? = true;
        }
    }

    let pixels = size.checked_mul(SCALE)?;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(pixels, pixels, |x, y| {
        let module = (y / SCALE) * size + x / SCALE;
        if dark.get(module).copied().unwrap_or(false) {
            0
        } else {
            255
        }
    });
    image
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok())
        .map(|(_, text)| text)
}

/// The module count of a square `viewBox="0 0 N N"`.
#[cfg(any(test, feature = "test-support"))]
fn svg_view_box_size(svg: &str) -> Option<usize> {
    let (_, rest) = svg.split_once("viewBox=\"0 0 ")?;
    let (value, _) = rest.split_once('"')?;
    let (width, height) = value.split_once(' ')?;
    let width: usize = width.parse().ok()?;
    (height.parse::<usize>().ok()? == width).then_some(width)
}

/// The `d` attribute of the path of dark modules.
#[cfg(any(test, feature = "test-support"))]
fn svg_dark_path(svg: &str) -> Option<&str> {
    let (_, rest) = svg.split_once("<path fill=\"#000\" d=\"")?;
    let (path, _) = rest.split_once('"')?;
    Some(path)
}

/// Parses `{x} {y}h{len}v1h-{len}z`, one run of dark modules.
#[cfg(any(test, feature = "test-support"))]
fn parse_run(rectangle: &str) -> Option<(usize, usize, usize)> {
    let (origin, rest) = rectangle.split_once('h')?;
    let (x, y) = origin.split_once(' ')?;
    let (len, rest) = rest.split_once('v')?;
    if rest != format!("1h-{len}z") {
        return None;
    }
    Some((x.parse().ok()?, y.parse().ok()?, len.parse().ok()?))
}

#[cfg(test)]
mod tests;

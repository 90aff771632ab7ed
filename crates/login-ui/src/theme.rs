//! The base theme compiled into the binary, and the directory that may override its files.
//!
//! Every file of `themes/base/` that the pages and mails need is embedded, so a bare binary
//! renders them. An operator's theme directory mirrors that layout (`base/login/login.html`,
//! `base/email/execute-actions.html`, `base/messages/messages_fr.toml`,
//! `base/resources/css/login.css`); a file found there replaces the embedded one with the same
//! relative path. Files that have no embedded counterpart are ignored: the renderer only knows
//! the templates listed here.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::UiError;

/// Name of the embedded theme, and first component of every override path.
pub(crate) const THEME_NAME: &str = "base";

/// Templates, by the name Tera knows them under (`login/<file>` for pages, `email/<file>` for
/// mails).
///
/// Names starting with `_` are partials, included by other templates and never rendered alone.
/// Tera escapes HTML in the templates whose name ends in `.html` and leaves `.txt` ones as
/// written, which is what the text part and the subject of a mail need.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "login/layout.html",
        include_str!("../../../themes/base/login/layout.html"),
    ),
    (
        "login/login.html",
        include_str!("../../../themes/base/login/login.html"),
    ),
    (
        "login/error.html",
        include_str!("../../../themes/base/login/error.html"),
    ),
    (
        "login/form_post.html",
        include_str!("../../../themes/base/login/form_post.html"),
    ),
    (
        "login/logout_confirm.html",
        include_str!("../../../themes/base/login/logout_confirm.html"),
    ),
    (
        "login/logged_out.html",
        include_str!("../../../themes/base/login/logged_out.html"),
    ),
    (
        "login/info.html",
        include_str!("../../../themes/base/login/info.html"),
    ),
    (
        "login/_alerts.html",
        include_str!("../../../themes/base/login/_alerts.html"),
    ),
    (
        "login/_new_password_fields.html",
        include_str!("../../../themes/base/login/_new_password_fields.html"),
    ),
    (
        "login/login-otp.html",
        include_str!("../../../themes/base/login/login-otp.html"),
    ),
    (
        "login/login-config-totp.html",
        include_str!("../../../themes/base/login/login-config-totp.html"),
    ),
    (
        "login/login-update-password.html",
        include_str!("../../../themes/base/login/login-update-password.html"),
    ),
    (
        "login/login-update-profile.html",
        include_str!("../../../themes/base/login/login-update-profile.html"),
    ),
    (
        "login/login-reset-password.html",
        include_str!("../../../themes/base/login/login-reset-password.html"),
    ),
    (
        "email/password-reset.subject.txt",
        include_str!("../../../themes/base/email/password-reset.subject.txt"),
    ),
    (
        "email/password-reset.txt",
        include_str!("../../../themes/base/email/password-reset.txt"),
    ),
    (
        "email/password-reset.html",
        include_str!("../../../themes/base/email/password-reset.html"),
    ),
    (
        "email/_header.html",
        include_str!("../../../themes/base/email/_header.html"),
    ),
    (
        "email/_footer.html",
        include_str!("../../../themes/base/email/_footer.html"),
    ),
    (
        "email/_header.txt",
        include_str!("../../../themes/base/email/_header.txt"),
    ),
    (
        "email/_footer.txt",
        include_str!("../../../themes/base/email/_footer.txt"),
    ),
    (
        "email/execute-actions.subject.txt",
        include_str!("../../../themes/base/email/execute-actions.subject.txt"),
    ),
    (
        "email/execute-actions.txt",
        include_str!("../../../themes/base/email/execute-actions.txt"),
    ),
    (
        "email/execute-actions.html",
        include_str!("../../../themes/base/email/execute-actions.html"),
    ),
    (
        "login/account.html",
        include_str!("../../../themes/base/login/account.html"),
    ),
    (
        "login/account-password.html",
        include_str!("../../../themes/base/login/account-password.html"),
    ),
    (
        "login/account-delete-device.html",
        include_str!("../../../themes/base/login/account-delete-device.html"),
    ),
    (
        "email/security-alert.subject.txt",
        include_str!("../../../themes/base/email/security-alert.subject.txt"),
    ),
    (
        "email/security-alert.txt",
        include_str!("../../../themes/base/email/security-alert.txt"),
    ),
    (
        "email/security-alert.html",
        include_str!("../../../themes/base/email/security-alert.html"),
    ),
];

/// Message bundles, by locale.
pub(crate) const BUNDLES: &[(&str, &str)] = &[
    (
        "en",
        include_str!("../../../themes/base/messages/messages_en.toml"),
    ),
    (
        "fr",
        include_str!("../../../themes/base/messages/messages_fr.toml"),
    ),
];

/// Static resources, by their path under the resources URL prefix.
pub(crate) const RESOURCES: &[(&str, &[u8])] = &[
    (
        "css/login.css",
        include_bytes!("../../../themes/base/resources/css/login.css"),
    ),
    (
        "js/autopost.js",
        include_bytes!("../../../themes/base/resources/js/autopost.js"),
    ),
];

/// Where a template is found in a theme directory.
pub(crate) fn template_path(name: &str) -> String {
    format!("{THEME_NAME}/{name}")
}

/// Where a locale's bundle is found in a theme directory.
pub(crate) fn bundle_path(locale: &str) -> String {
    format!("{THEME_NAME}/messages/messages_{locale}.toml")
}

/// Where a static resource is found in a theme directory.
pub(crate) fn resource_path(path: &str) -> String {
    format!("{THEME_NAME}/resources/{path}")
}

/// Checks that the override directory exists and is a directory.
pub(crate) fn check_override_dir(dir: &Path) -> Result<(), UiError> {
    match std::fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(UiError::OverrideUnreadable {
            path: dir.display().to_string(),
            reason: "not a directory".to_owned(),
        }),
        Err(err) => Err(UiError::OverrideUnreadable {
            path: dir.display().to_string(),
            reason: err.to_string(),
        }),
    }
}

/// Reads `<dir>/<relative>` if it exists.
///
/// A missing file means "keep the embedded one"; any other failure is an error, because
/// silently serving the embedded file would hide a broken deployment.
pub(crate) fn read_override(dir: &Path, relative: &str) -> Result<Option<Vec<u8>>, UiError> {
    let path: PathBuf = relative
        .split('/')
        .fold(dir.to_path_buf(), |path, component| path.join(component));

    match std::fs::read(&path) {
        Ok(bytes) => {
            tracing::debug!(file = relative, "theme file overridden");
            Ok(Some(bytes))
        }
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(UiError::OverrideUnreadable {
            path: path.display().to_string(),
            reason: err.to_string(),
        }),
    }
}

/// Reads an overriding text file, which must be UTF-8.
pub(crate) fn read_text_override(dir: &Path, relative: &str) -> Result<Option<String>, UiError> {
    let Some(bytes) = read_override(dir, relative)? else {
        return Ok(None);
    };

    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| UiError::OverrideUnreadable {
            path: relative.to_owned(),
            reason: "not valid UTF-8".to_owned(),
        })
}

/// The `Content-Type` to serve a resource with, from its extension.
pub(crate) fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, extension)| extension);
    match extension.to_ascii_lowercase().as_str() {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

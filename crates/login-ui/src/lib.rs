//! Renders the login pages and the mails of Sésame from a Tera theme and localised message
//! bundles.
//!
//! [`Ui`] holds the base theme compiled into the binary (page templates under `login/`, mail
//! templates under `email/`, message bundles, static resources), optionally with some files
//! replaced from an operator's theme directory. It renders a page or a mail from a template name,
//! a locale and a JSON context, picks a locale for a request, formats messages and durations
//! built outside templates and hands out static resources.
//!
//! This crate only displays: which page comes next, which error to show and which URLs are safe
//! to link to are decided by the callers. Pages follow a strict Content-Security-Policy
//! (`script-src 'self'; style-src 'self'`): templates load their script and stylesheet from
//! [`RESOURCES_URL_PREFIX`] and contain no inline script or style. Serving those resources, and
//! reading the locale cookie and headers, is left to the HTTP layer.
//!
//! Every template receives, besides the caller's context:
//! - `locale`: the locale the page is rendered in (`"fr"`, `"en"`);
//! - `msg`: the whole message bundle of that locale, so templates write `{{ msg.loginTitle }}`,
//!   or `{{ msg[error] }}` for a message key passed in the context;
//! - `resources`: [`RESOURCES_URL_PREFIX`], kept for templates written before `resource_url`.
//!
//! A page is rendered in the theme named by the context's optional `theme` key (a realm's
//! `loginTheme`): `base`, complete on its own, or a theme that extends it, such as `smart-oa`,
//! which replaces some templates, messages and static files and takes the others from `base`.
//! An unknown theme renders as `base`. Templates link static files through the
//! `resource_url` function, `{{ resource_url(path="css/login.css") }}`, which gives a URL
//! holding the file's content hash, served by [`Ui::hashed_resource`] and cacheable forever.
//!
//! Dates go through the `format_datetime` filter, which takes a Unix time in seconds and the
//! page's locale: `{{ device.created_at | format_datetime(locale=locale) }}` gives
//! "27 mars 2026 à 16:26" in French and "27 March 2026 at 16:26" in English (Paris time; pass
//! `timezone="UTC"` for UTC).
//!
//! URLs in `href` and `action` go through the `checked_url` filter, which fails the render for
//! anything but `http(s)://…` and same-site paths. Messages with parameters go through the
//! `format_message` filter: `{{ msg.linkExpiresIn | format_message(params=[link_expiration]) }}`.

mod assets;
mod bundle;
mod dates;
mod filters;
mod locale;
mod theme;
mod theme_set;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::assets::Resource;
use crate::bundle::Messages;
use crate::theme_set::{BASE_THEME, LoadedTheme};

/// URL prefix under which the static resources are served: `/resources/{path}`.
///
/// Templates receive it as `resources`; the server must route `{RESOURCES_URL_PREFIX}/{path}` to
/// [`Ui::resource`].
pub const RESOURCES_URL_PREFIX: &str = "/resources";

/// Locale used when a requested locale has no bundle.
pub const DEFAULT_LOCALE: &str = "fr";

/// Folder of the page templates, inside the theme.
const TEMPLATE_FOLDER: &str = "login";

/// Folder of the mail templates, inside the theme.
const EMAIL_FOLDER: &str = "email";

/// Prefix of the partials: templates included by others, never rendered on their own.
const PARTIAL_PREFIX: char = '_';

/// The renderer of the login pages and mails: Tera templates, message bundles and static
/// resources of one theme.
///
/// Build it once at start-up with [`Ui::load`] and share it (it is `Send + Sync`); rendering
/// does not touch the file system.
pub struct Ui {
    /// The base theme; its bundles always hold [`DEFAULT_LOCALE`].
    base: LoadedTheme,
    /// The themes that extend the base one, by name.
    extended: BTreeMap<String, LoadedTheme>,
    /// The keys of the bundles, sorted, for locale matching.
    locales: Vec<String>,
}

/// Why the theme could not be loaded or a page could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// The theme has no template of that name (the name includes the `login/` or `email/`
    /// folder).
    #[error("no template named {0}")]
    TemplateMissing(String),
    /// A template of the theme could not be parsed, or extends a template that does not exist.
    #[error("invalid template: {0}")]
    TemplateInvalid(String),
    /// Rendering failed: a variable the template needs is missing from the context, a URL was
    /// refused by `checked_url`, and so on. The text includes Tera's chain of causes.
    #[error("rendering failed: {0}")]
    Render(String),
    /// The render context was not a JSON object.
    #[error("the render context must be a JSON object")]
    ContextNotObject,
    /// A message bundle could not be parsed, or its keys differ from the other bundles'.
    #[error("invalid message bundle: {0}")]
    Bundle(String),
    /// The override directory, or a file in it, exists but could not be read.
    #[error("cannot read theme override {path}: {reason}")]
    OverrideUnreadable {
        /// The file or directory that could not be read.
        path: String,
        /// Why, as the operating system or the decoder put it.
        reason: String,
    },
}

/// A mail rendered in one locale: its subject and its two bodies, built from the same context.
///
/// `Debug` leaves the bodies out: they hold the action link, which must not reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// The subject line, on one line and trimmed.
    pub subject: String,
    /// The plain-text part, not HTML-escaped.
    pub text: String,
    /// The HTML part, escaped like the pages.
    pub html: String,
}

impl fmt::Debug for RenderedMail {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("RenderedMail")
            .field("subject", &self.subject)
            .field("text", &"[redacted]")
            .field("html", &"[redacted]")
            .finish()
    }
}

/// A unit of [`Ui::format_duration`]: its length in seconds, its singular and plural message keys.
type DurationUnit = (i64, &'static str, &'static str);

/// The smallest unit, which every duration is a whole number of.
const SECOND: DurationUnit = (1, "durationSecond", "durationSeconds");

/// Units of [`Ui::format_duration`], largest first.
const DURATION_UNITS: [DurationUnit; 4] = [
    (86_400, "durationDay", "durationDays"),
    (3_600, "durationHour", "durationHours"),
    (60, "durationMinute", "durationMinutes"),
    SECOND,
];

impl Ui {
    /// Loads the embedded themes (`base` and those that extend it), replacing with the files of
    /// `override_dir` those that exist there under the same relative path.
    ///
    /// The override directory mirrors `themes/`: `<dir>/base/login/login.html`,
    /// `<dir>/base/email/execute-actions.html`, `<dir>/base/messages/messages_fr.toml`,
    /// `<dir>/base/resources/css/login.css`, and the same under `<dir>/smart-oa/` for one theme
    /// only. A base bundle replaced there must still hold every key of the embedded one (the
    /// code and the other templates use them), and all bundles must have the same keys, the
    /// partial bundles of a theme too; this is checked here so that a broken theme stops the
    /// start-up rather than a page.
    ///
    /// # Errors
    ///
    /// [`UiError::OverrideUnreadable`] if the directory or one of its files cannot be read,
    /// [`UiError::TemplateInvalid`] if a template does not parse, [`UiError::Bundle`] if a
    /// bundle does not parse or the bundles' keys differ.
    pub fn load(override_dir: Option<&Path>) -> Result<Ui, UiError> {
        if let Some(dir) = override_dir {
            theme::check_override_dir(dir)?;
        }

        let templates = load_templates(override_dir)?;
        let bundles = load_bundles(override_dir)?;
        let resources = load_resources(override_dir)?;
        let tera = theme_set::build_tera(
            templates
                .iter()
                .map(|(name, text)| ((*name).to_owned(), text.clone()))
                .collect(),
            theme_set::base_resource_urls(&resources),
            &bundles,
        )?;
        let base = LoadedTheme {
            tera,
            bundles,
            resources,
        };

        let mut extended = BTreeMap::new();
        for embedded in theme_set::EXTENDED_THEMES {
            let loaded = theme_set::load_extended(embedded, &templates, &base, override_dir)?;
            extended.insert(embedded.name.to_owned(), loaded);
        }

        if let Some(dir) = override_dir {
            tracing::info!(dir = %dir.display(), "login theme loaded with overrides");
        }
        let locales = base.bundles.keys().cloned().collect();
        Ok(Ui {
            base,
            extended,
            locales,
        })
    }

    /// Renders the template `login/<template>` (for example `"login.html"`) in `locale`.
    ///
    /// An unknown `locale` falls back to its primary language ("fr-CA" to "fr"), then to
    /// [`DEFAULT_LOCALE`]. The context must be a JSON object; `locale`, `msg` and `resources`
    /// are added to it (see the crate documentation) and win over keys of the same name.
    /// HTML escaping is on for every `.html` template. Partials (names starting with `_`) are
    /// not pages and count as missing.
    ///
    /// # Errors
    ///
    /// [`UiError::TemplateMissing`] for an unknown template, [`UiError::ContextNotObject`] if
    /// `context` is not an object, [`UiError::Render`] if the template fails (a variable it
    /// needs is missing, a URL is refused by `checked_url`).
    pub fn render(
        &self,
        template: &str,
        locale: &str,
        context: &serde_json::Value,
    ) -> Result<String, UiError> {
        let name = format!("{TEMPLATE_FOLDER}/{template}");
        let theme = self.theme_of(context);
        if template.starts_with(PARTIAL_PREFIX) || !has_template(theme, &name) {
            return Err(UiError::TemplateMissing(name));
        }

        let tera_context = self.context(theme, locale, context)?;
        render_template(theme, &name, &tera_context)
    }

    /// Renders the mail `email/<template>` (for example `"execute-actions"`) in `locale`.
    ///
    /// A mail is three templates rendered from the same context: `<template>.subject.txt`,
    /// `<template>.txt` (not HTML-escaped) and `<template>.html` (escaped). The subject template
    /// receives `subject_params` for the `{0}`, `{1}`… of its message; its output is put on one
    /// line (line breaks and control characters become spaces, so that nothing in the context
    /// can add a mail header) and handed to the bodies as `subject`. The locale and the context
    /// work as in [`Ui::render`].
    ///
    /// # Errors
    ///
    /// [`UiError::TemplateMissing`] if one of the three templates does not exist,
    /// [`UiError::ContextNotObject`] if `context` is not an object, [`UiError::Render`] if a
    /// template fails or the subject comes out empty.
    pub fn render_email(
        &self,
        template: &str,
        locale: &str,
        subject_params: &[&str],
        context: &serde_json::Value,
    ) -> Result<RenderedMail, UiError> {
        let subject_name = format!("{EMAIL_FOLDER}/{template}.subject.txt");
        let text_name = format!("{EMAIL_FOLDER}/{template}.txt");
        let html_name = format!("{EMAIL_FOLDER}/{template}.html");
        let theme = self.theme_of(context);
        for name in [&subject_name, &text_name, &html_name] {
            if template.starts_with(PARTIAL_PREFIX) || !has_template(theme, name) {
                return Err(UiError::TemplateMissing(name.clone()));
            }
        }

        let mut tera_context = self.context(theme, locale, context)?;
        tera_context.insert("subject_params", subject_params);
        let subject = one_line(&render_template(theme, &subject_name, &tera_context)?);
        if subject.is_empty() {
            return Err(UiError::Render(format!(
                "{subject_name} rendered an empty subject"
            )));
        }
        tera_context.insert("subject", &subject);

        let text = render_template(theme, &text_name, &tera_context)?;
        let html = render_template(theme, &html_name, &tera_context)?;
        Ok(RenderedMail {
            subject,
            text,
            html,
        })
    }

    /// The message `key` in `locale`, with `{0}`, `{1}`… replaced by `params`, for texts built
    /// outside templates (mail subjects, headers).
    ///
    /// The locale falls back as in [`Ui::render`]. An unknown key is returned as is (and logged),
    /// so that a missing text shows up on screen instead of failing a request.
    #[must_use]
    pub fn message(&self, locale: &str, key: &str, params: &[&str]) -> String {
        let (locale, messages) = self.bundle(&self.base, locale);
        match messages.get(key) {
            Some(text) => bundle::format_message(text, params),
            None => {
                tracing::warn!(locale, key, "message key missing from bundle");
                key.to_owned()
            }
        }
    }

    /// A duration in words, in the largest unit that holds it exactly: "7 jours", "1 jour",
    /// "12 heures", "90 minutes"; "7 days", "12 hours" in English.
    ///
    /// Exact rather than rounded, so that the text is never wrong: 36 hours reads "36 heures",
    /// not "1 jour". Negative durations count as zero. French uses the
    /// singular for 0 and 1, English for 1 only. The locale falls back as in [`Ui::render`].
    #[must_use]
    pub fn format_duration(&self, locale: &str, seconds: i64) -> String {
        let seconds = seconds.max(0);
        let (unit_seconds, singular_key, plural_key) = DURATION_UNITS
            .into_iter()
            .find(|(unit_seconds, _, _)| seconds >= *unit_seconds && seconds % unit_seconds == 0)
            // Only zero matches no unit.
            .unwrap_or(SECOND);

        let count = seconds / unit_seconds;
        let (locale, _) = self.bundle(&self.base, locale);
        let singular = if locale == "fr" {
            count <= 1
        } else {
            count == 1
        };
        let key = if singular { singular_key } else { plural_key };
        self.message(locale, key, &[&count.to_string()])
    }

    /// A Unix time in words, in Paris time: "27 mars 2026 à 16:26", "27 March 2026 at 16:26".
    ///
    /// The same text as the templates' `format_datetime` filter, for code that builds a message
    /// outside a template. The locale falls back as in [`Ui::render`].
    #[must_use]
    pub fn format_datetime(&self, locale: &str, unix_seconds: i64) -> String {
        let (_, messages) = self.bundle(&self.base, locale);
        match dates::date_words(messages) {
            Ok(words) => dates::format_datetime(&words, dates::TimeZone::EuropeParis, unix_seconds),
            // `load` checked the words of every bundle.
            Err(_) => unix_seconds.to_string(),
        }
    }

    /// The base theme's static resource at `path` (for example `"css/login.css"`), with its
    /// `Content-Type`.
    ///
    /// This is the address without a content hash, which a browser may only cache briefly;
    /// pages link [`Ui::hashed_resource`] addresses.
    #[must_use]
    pub fn resource(&self, path: &str) -> Option<(&[u8], &'static str)> {
        self.base
            .resources
            .get(path)
            .map(|resource| (resource.bytes.as_ref(), resource.content_type))
    }

    /// The static resource at `path` under [`RESOURCES_URL_PREFIX`] when `path` has the shape
    /// `{hash}/{theme}/{file}` that `resource_url` gives and the hash is the file's current
    /// one, with its `Content-Type`.
    ///
    /// Such a URL always names the same bytes, so the answer may be cached as `immutable`. A
    /// hash of another version of the file gives `None`: serving the current bytes under an
    /// old or future hash would let caches keep the wrong file for good (during a rolling
    /// upgrade, nodes run different versions).
    #[must_use]
    pub fn hashed_resource(&self, path: &str) -> Option<(&[u8], &'static str)> {
        let (hash, theme_name, file) = assets::split_hashed_path(path)?;
        let theme = if theme_name == BASE_THEME {
            &self.base
        } else {
            self.extended.get(theme_name)?
        };
        theme
            .resources
            .get(file)
            .filter(|resource| resource.hash == hash)
            .map(|resource| (resource.bytes.as_ref(), resource.content_type))
    }

    /// The URL the templates of `theme` link for the static file `path` (for example
    /// `"css/login.css"`): the theme's own file or, failing that, the base theme's, with its
    /// content hash. `None` when neither has the file; an unknown theme counts as `base`.
    #[must_use]
    pub fn resource_url(&self, theme: &str, path: &str) -> Option<String> {
        if let Some(resource) = self
            .extended
            .get(theme)
            .and_then(|extended| extended.resources.get(path))
        {
            return Some(resource.url(theme, path));
        }
        self.base
            .resources
            .get(path)
            .map(|resource| resource.url(BASE_THEME, path))
    }

    /// The names of the themes a realm can pick, sorted (`["base", "smart-oa"]`).
    #[must_use]
    pub fn themes(&self) -> Vec<String> {
        let mut names: Vec<String> = self.extended.keys().cloned().collect();
        names.push(BASE_THEME.to_owned());
        names.sort();
        names
    }

    /// The locales that have a message bundle, sorted (`["en", "fr"]`).
    #[must_use]
    pub fn locales(&self) -> Vec<String> {
        self.locales.clone()
    }

    /// Picks the locale of a page among the realm's `supported` locales that have a bundle.
    ///
    /// In order: the first match in `ui_locales` (the space-separated OpenID Connect request
    /// parameter), the `cookie` value (the user's earlier choice), the `accept_language` header
    /// by decreasing weight, then `default`. A tag matches exactly or by its primary language
    /// ("fr-FR" gives "fr"), ignoring case. If `default` is not usable either, the result is
    /// [`DEFAULT_LOCALE`] or, failing that, the first usable locale. If none of `supported`
    /// has a bundle (a misconfigured realm), every bundled locale is usable.
    #[must_use]
    pub fn negotiate_locale(
        &self,
        ui_locales: Option<&str>,
        cookie: Option<&str>,
        accept_language: Option<&str>,
        supported: &[String],
        default: &str,
    ) -> String {
        let usable: Vec<String> = self
            .locales
            .iter()
            .filter(|locale| {
                supported
                    .iter()
                    .any(|wanted| wanted.eq_ignore_ascii_case(locale))
            })
            .cloned()
            .collect();
        let candidates = if usable.is_empty() {
            &self.locales
        } else {
            &usable
        };

        let fallback = locale::match_tag(default, candidates)
            .or_else(|| locale::match_tag(DEFAULT_LOCALE, candidates))
            .or_else(|| candidates.first().cloned())
            .unwrap_or_else(|| DEFAULT_LOCALE.to_owned());

        locale::negotiate(ui_locales, cookie, accept_language, candidates, &fallback)
    }

    /// The theme named by the context's `theme` key; the base theme when there is none or it
    /// is unknown.
    fn theme_of(&self, context: &serde_json::Value) -> &LoadedTheme {
        let Some(name) = context.get("theme").and_then(serde_json::Value::as_str) else {
            return &self.base;
        };
        match self.extended.get(name) {
            Some(theme) => theme,
            None => {
                if name != BASE_THEME {
                    tracing::warn!(theme = name, "unknown login theme: the base theme is used");
                }
                &self.base
            }
        }
    }

    /// The caller's context with the renderer's keys added (see the crate documentation).
    fn context(
        &self,
        theme: &LoadedTheme,
        locale: &str,
        context: &serde_json::Value,
    ) -> Result<tera::Context, UiError> {
        if !context.is_object() {
            return Err(UiError::ContextNotObject);
        }

        let (locale, messages) = self.bundle(theme, locale);
        let mut tera_context =
            tera::Context::from_value(context.clone()).map_err(|err| render_error(&err))?;
        tera_context.insert("locale", locale);
        tera_context.insert("msg", messages);
        tera_context.insert("resources", RESOURCES_URL_PREFIX);
        Ok(tera_context)
    }

    /// The bundle of `theme` to use for a requested locale, with the locale it belongs to.
    fn bundle<'theme>(
        &self,
        theme: &'theme LoadedTheme,
        requested: &str,
    ) -> (&'theme str, &'theme Messages) {
        static NO_MESSAGES: Messages = Messages::new();

        let locale = locale::match_tag(requested, &self.locales);
        let locale = locale.as_deref().unwrap_or(DEFAULT_LOCALE);
        match theme.bundles.get_key_value(locale) {
            Some((locale, messages)) => (locale.as_str(), messages),
            // `load` refuses a theme without the default bundle; this keeps rendering
            // panic-free all the same.
            None => (DEFAULT_LOCALE, &NO_MESSAGES),
        }
    }
}

impl fmt::Debug for Ui {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Ui")
            .field(
                "templates",
                &self.base.tera.get_template_names().collect::<Vec<_>>(),
            )
            .field("themes", &self.themes())
            .field("locales", &self.locales)
            .field("resources", &self.base.resources.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The texts of the base templates, after the operator's overrides.
fn load_templates(override_dir: Option<&Path>) -> Result<Vec<(&'static str, String)>, UiError> {
    let mut templates = Vec::with_capacity(theme::TEMPLATES.len());
    for &(name, embedded) in theme::TEMPLATES {
        let text = match override_dir {
            Some(dir) => theme::read_text_override(dir, &theme::template_path(name))?,
            None => None,
        };
        templates.push((name, text.unwrap_or_else(|| embedded.to_owned())));
    }
    Ok(templates)
}

fn load_bundles(override_dir: Option<&Path>) -> Result<BTreeMap<String, Messages>, UiError> {
    let mut bundles = BTreeMap::new();
    for &(locale, embedded) in theme::BUNDLES {
        let file = theme::bundle_path(locale);
        let parse = |text: &str| {
            bundle::parse_bundle(text).map_err(|err| UiError::Bundle(format!("{file}: {err}")))
        };

        let embedded_messages = parse(embedded)?;
        let overriding = match override_dir {
            Some(dir) => theme::read_text_override(dir, &file)?,
            None => None,
        };
        let messages = match overriding {
            Some(text) => {
                let messages = parse(&text)?;
                let missing = bundle::key_differences(&embedded_messages, &messages).only_in_first;
                if !missing.is_empty() {
                    return Err(UiError::Bundle(format!(
                        "{file} in the override directory lacks keys: {}",
                        missing.join(", ")
                    )));
                }
                messages
            }
            None => embedded_messages,
        };
        bundles.insert(locale.to_owned(), messages);
    }

    let Some(reference) = bundles.get(DEFAULT_LOCALE) else {
        return Err(UiError::Bundle(format!(
            "no bundle for the default locale {DEFAULT_LOCALE}"
        )));
    };
    for (locale, messages) in &bundles {
        let differences = bundle::key_differences(reference, messages);
        if !differences.is_empty() {
            return Err(UiError::Bundle(format!(
                "{} and {} have different keys; only in the first: [{}]; only in the second: [{}]",
                theme::bundle_path(DEFAULT_LOCALE),
                theme::bundle_path(locale),
                differences.only_in_first.join(", "),
                differences.only_in_second.join(", "),
            )));
        }
    }

    Ok(bundles)
}

fn load_resources(override_dir: Option<&Path>) -> Result<BTreeMap<String, Resource>, UiError> {
    let mut resources = BTreeMap::new();
    for &(path, embedded) in theme::RESOURCES {
        let overriding = match override_dir {
            Some(dir) => theme::read_override(dir, &theme::resource_path(path))?,
            None => None,
        };
        let bytes = overriding.map_or(Cow::Borrowed(embedded), Cow::Owned);
        let resource = Resource::new(bytes, theme::content_type(path));
        resources.insert(path.to_owned(), resource);
    }
    Ok(resources)
}

/// Puts a rendered subject on one line: a line break in a header would start a new header.
fn one_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|character| {
            if character.is_control() {
                ' '
            } else {
                character
            }
        })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn has_template(theme: &LoadedTheme, name: &str) -> bool {
    theme.tera.get_template_names().any(|known| known == name)
}

fn render_template(
    theme: &LoadedTheme,
    name: &str,
    context: &tera::Context,
) -> Result<String, UiError> {
    theme
        .tera
        .render(name, context)
        .map_err(|err| render_error(&err))
}

fn render_error(err: &tera::Error) -> UiError {
    UiError::Render(error_chain(err))
}

/// Tera's top-level message only names the template; the cause (missing variable, refused URL)
/// is in the chain of sources.
pub(crate) fn error_chain(err: &tera::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;

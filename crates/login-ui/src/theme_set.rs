//! The themes a realm can pick: `base`, complete on its own, and the themes that extend it.
//!
//! An extending theme (such as `smart-oa`) holds only what differs: some templates, some
//! messages, some static files. For each theme the renderer builds one Tera instance in which
//! every base template name resolves to the theme's file when it has one and to the base file
//! otherwise, so `{% extends "login/layout.html" %}` in a base page picks up the theme's layout.
//! The base files are also registered under `base/…` (`base/login/layout.html`), so a theme's
//! template can extend the base one and replace only some blocks.
//!
//! The operator's override directory applies to every theme: `<dir>/<theme>/login/…`,
//! `<dir>/<theme>/messages/…`, `<dir>/<theme>/resources/…`, for the files the theme or the base
//! theme knows.
//!
//! A theme's message bundles are partial: their keys replace or add to the base bundle of the
//! same locale. A theme's bundles must all have the same keys, like the base ones, so that no
//! language silently loses a theme's wording.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use tera::Tera;

use crate::assets::{self, Resource};
use crate::bundle::{self, Messages};
use crate::{UiError, dates, filters, theme};

/// Name of the theme every other one extends.
pub(crate) const BASE_THEME: &str = theme::THEME_NAME;

/// The files of a theme compiled into the binary.
pub(crate) struct EmbeddedTheme {
    /// The name a realm's `loginTheme` gives.
    pub(crate) name: &'static str,
    /// Templates, by the name of the base template they replace.
    pub(crate) templates: &'static [(&'static str, &'static str)],
    /// Partial message bundles, by locale.
    pub(crate) bundles: &'static [(&'static str, &'static str)],
    /// Static files, by path under the theme's `resources/`.
    pub(crate) resources: &'static [(&'static str, &'static [u8])],
}

/// The themes compiled into the binary besides `base`.
pub(crate) const EXTENDED_THEMES: &[EmbeddedTheme] = &[EmbeddedTheme {
    name: "smart-oa",
    templates: &[(
        "login/layout.html",
        include_str!("../../../themes/smart-oa/login/layout.html"),
    )],
    bundles: &[
        (
            "en",
            include_str!("../../../themes/smart-oa/messages/messages_en.toml"),
        ),
        (
            "fr",
            include_str!("../../../themes/smart-oa/messages/messages_fr.toml"),
        ),
    ],
    resources: &[
        (
            "css/smart-oa.css",
            include_bytes!("../../../themes/smart-oa/resources/css/smart-oa.css"),
        ),
        (
            "img/smart-oa-logo.svg",
            include_bytes!("../../../themes/smart-oa/resources/img/smart-oa-logo.svg"),
        ),
    ],
}];

/// A theme ready to render: its templates, its complete bundles and its own static files.
pub(crate) struct LoadedTheme {
    pub(crate) tera: Tera,
    /// Complete bundles (the base ones with the theme's messages applied), by locale.
    pub(crate) bundles: BTreeMap<String, Messages>,
    /// The theme's own static files, by path; for `base`, every base file.
    pub(crate) resources: BTreeMap<String, Resource>,
}

/// Builds the Tera instance of a theme from its template texts, with the filters and the
/// `resource_url` function of that theme.
pub(crate) fn build_tera(
    templates: Vec<(String, String)>,
    resource_urls: BTreeMap<String, String>,
    bundles: &BTreeMap<String, Messages>,
) -> Result<Tera, UiError> {
    let mut date_words = dates::DateWordsByLocale::new();
    for (locale, messages) in bundles {
        let words = dates::date_words(messages).map_err(|reason| {
            UiError::Bundle(format!("{}: {reason}", theme::bundle_path(locale)))
        })?;
        date_words.insert(locale.clone(), words);
    }

    // `Tera::default` keeps autoescaping on for `.html`, the only safe setting for these pages.
    let mut tera = Tera::default();
    tera.register_filter(filters::CHECKED_URL, filters::checked_url);
    tera.register_filter(filters::FORMAT_MESSAGE, filters::format_message);
    tera.register_filter(dates::FORMAT_DATETIME, dates::filter(Arc::new(date_words)));
    tera.register_function(assets::RESOURCE_URL, assets::url_function(resource_urls));
    tera.add_raw_templates(templates)
        .map_err(|err| UiError::TemplateInvalid(crate::error_chain(&err)))?;
    Ok(tera)
}

/// Loads an extending theme over the already loaded base theme.
///
/// `base_templates` are the base texts after the operator's overrides.
pub(crate) fn load_extended(
    embedded: &EmbeddedTheme,
    base_templates: &[(&'static str, String)],
    base: &LoadedTheme,
    override_dir: Option<&Path>,
) -> Result<LoadedTheme, UiError> {
    let name = embedded.name;
    let read_text = |relative: &str| match override_dir {
        Some(dir) => theme::read_text_override(dir, &format!("{name}/{relative}")),
        None => Ok(None),
    };

    // Static files: the theme's own, and those of the base theme the operator replaced for
    // this theme only.
    let mut resources = BTreeMap::new();
    let mut paths: Vec<&str> = embedded.resources.iter().map(|(path, _)| *path).collect();
    paths.extend(base.resources.keys().map(String::as_str));
    for path in paths {
        if resources.contains_key(path) {
            continue;
        }
        let overriding = match override_dir {
            Some(dir) => theme::read_override(dir, &format!("{name}/resources/{path}"))?,
            None => None,
        };
        let embedded_bytes = embedded
            .resources
            .iter()
            .find(|(embedded_path, _)| *embedded_path == path)
            .map(|(_, bytes)| Cow::Borrowed(*bytes));
        if let Some(bytes) = overriding.map(Cow::Owned).or(embedded_bytes) {
            let resource = Resource::new(bytes, theme::content_type(path));
            resources.insert(path.to_owned(), resource);
        }
    }
    let mut resource_urls: BTreeMap<String, String> = base
        .resources
        .iter()
        .map(|(path, resource)| (path.clone(), resource.url(BASE_THEME, path)))
        .collect();
    for (path, resource) in &resources {
        resource_urls.insert(path.clone(), resource.url(name, path));
    }

    // Bundles: the base ones with the theme's messages applied.
    let mut partial_bundles = BTreeMap::new();
    for &(locale, embedded_text) in embedded.bundles {
        let file = format!("{name}/messages/messages_{locale}.toml");
        let text = read_text(&format!("messages/messages_{locale}.toml"))?;
        let text = text.as_deref().unwrap_or(embedded_text);
        let messages =
            bundle::parse_bundle(text).map_err(|err| UiError::Bundle(format!("{file}: {err}")))?;
        partial_bundles.insert(locale, messages);
    }
    let mut partial_key_sets = partial_bundles.iter();
    if let Some((first_locale, first)) = partial_key_sets.next() {
        for (locale, messages) in partial_key_sets {
            let differences = bundle::key_differences(first, messages);
            if !differences.is_empty() {
                return Err(UiError::Bundle(format!(
                    "the {name} bundles {first_locale} and {locale} have different keys; only \
                     in the first: [{}]; only in the second: [{}]",
                    differences.only_in_first.join(", "),
                    differences.only_in_second.join(", "),
                )));
            }
        }
    }
    let mut bundles = base.bundles.clone();
    for (locale, messages) in &mut bundles {
        if let Some(partial) = partial_bundles.get(locale.as_str()) {
            messages.extend(
                partial
                    .iter()
                    .map(|(key, text)| (key.clone(), text.clone())),
            );
        } else if !partial_bundles.is_empty() {
            return Err(UiError::Bundle(format!(
                "the {name} theme has no bundle for the locale {locale}"
            )));
        }
    }

    // Templates: the theme's file, else the base one; and every base file under `base/`.
    let mut templates = Vec::with_capacity(base_templates.len() * 2);
    for (template, base_text) in base_templates {
        let embedded_text = embedded
            .templates
            .iter()
            .find(|(embedded_name, _)| embedded_name == template)
            .map(|(_, text)| (*text).to_owned());
        let text = read_text(template)?
            .or(embedded_text)
            .unwrap_or_else(|| base_text.clone());
        templates.push(((*template).to_owned(), text));
        templates.push((format!("{BASE_THEME}/{template}"), base_text.clone()));
    }
    let tera = build_tera(templates, resource_urls, &bundles)?;

    Ok(LoadedTheme {
        tera,
        bundles,
        resources,
    })
}

/// The URLs `resource_url` gives in the base theme.
pub(crate) fn base_resource_urls(
    resources: &BTreeMap<String, Resource>,
) -> BTreeMap<String, String> {
    resources
        .iter()
        .map(|(path, resource)| (path.clone(), resource.url(BASE_THEME, path)))
        .collect()
}

#[cfg(test)]
mod tests;

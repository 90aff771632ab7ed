//! Tests of the themes that extend the base one, of the content-hashed resources and of the
//! date filter, through the renderer's public API.

use serde_json::{Value, json};

use crate::bundle;
use crate::tests::{TempDir, csp_violations, render, sample_contexts, visible_text};
use crate::{Ui, UiError};

use super::EXTENDED_THEMES;

fn ui() -> Ui {
    Ui::load(None).expect("the embedded themes load")
}

/// `context` with `"theme": theme` added, as the login flow passes the realm's theme.
fn in_theme(theme: &str, context: &Value) -> Value {
    let mut context = context.clone();
    if let Some(object) = context.as_object_mut() {
        object.insert("theme".to_owned(), json!(theme));
    }
    context
}

/// A resource URL as it appears, escaped, in an attribute.
fn escaped(url: &str) -> String {
    url.replace('/', "&#x2F;")
}

/// The part of a resource URL after `/resources/`, as the server's route receives it.
fn route_path(url: &str) -> &str {
    url.strip_prefix("/resources/").expect("a resources URL")
}

#[test]
fn every_page_renders_in_the_smart_oa_theme_in_both_locales() {
    let ui = ui();
    let base_css = ui.resource_url("smart-oa", "css/login.css").unwrap();
    let theme_css = ui.resource_url("smart-oa", "css/smart-oa.css").unwrap();

    for (template, context) in sample_contexts() {
        let context = in_theme("smart-oa", &context);
        for (locale, tagline) in [
            ("fr", "Consignes d&#x27;arrêt ou de limitation"),
            ("en", "Curtailment orders for installations"),
        ] {
            let html = render(&ui, template, locale, &context);

            assert!(
                html.contains(&format!(r#"<html lang="{locale}">"#)),
                "{template}"
            );
            assert_eq!(html.matches("<h1").count(), 1, "{template}: exactly one h1");
            assert!(
                html.contains(r#"<p class="brand-name">Smart OA</p>"#),
                "{template}"
            );
            assert!(html.contains(tagline), "{template} in {locale}");
            assert!(
                !html.contains("realm-name"),
                "{template}: the base header is replaced"
            );
            let base_link = format!(r#"<link rel="stylesheet" href="{}">"#, escaped(&base_css));
            let theme_link = format!(r#"<link rel="stylesheet" href="{}">"#, escaped(&theme_css));
            let base_at = html
                .find(&base_link)
                .expect("the base stylesheet is linked");
            let theme_at = html
                .find(&theme_link)
                .expect("the theme stylesheet is linked");
            assert!(
                base_at < theme_at,
                "{template}: the theme's rules come last"
            );
            assert!(!html.contains("msg."), "{template}: an unrendered key");
        }
    }
}

#[test]
fn pages_without_a_theme_or_with_an_unknown_one_use_the_base_theme() {
    let ui = ui();
    let context = json!({ "realm_name": "Smart OA", "title": "errorTitle" });

    for context in [context.clone(), in_theme("no-such-theme", &context)] {
        let html = render(&ui, "info.html", "fr", &context);

        assert!(
            html.contains(r#"<p class="realm-name">Smart OA</p>"#),
            "{html}"
        );
        assert!(!html.contains("brand-name"), "{html}");
        assert!(!html.contains("smart-oa.css"), "{html}");
    }
}

#[test]
fn smart_oa_wording_replaces_the_base_messages() {
    let ui = ui();
    let context = json!({ "back_url": "https://portal.example/", "message": "errorTitle" });

    let base = visible_text(&render(&ui, "error.html", "fr", &context));
    let themed_fr = visible_text(&render(
        &ui,
        "error.html",
        "fr",
        &in_theme("smart-oa", &context),
    ));
    let themed_en = visible_text(&render(
        &ui,
        "error.html",
        "en",
        &in_theme("smart-oa", &context),
    ));

    assert!(base.contains("Retour à l'application"), "{base}");
    assert!(
        themed_fr.contains("Retour au portail Smart OA"),
        "{themed_fr}"
    );
    assert!(
        themed_en.contains("Back to the Smart OA portal"),
        "{themed_en}"
    );
}

#[test]
fn smart_oa_bundles_have_the_same_keys() {
    for theme in EXTENDED_THEMES {
        let mut bundles = theme
            .bundles
            .iter()
            .map(|(locale, text)| (locale, bundle::parse_bundle(text).expect("bundle parses")));
        let (first_locale, first) = bundles.next().expect("the theme has bundles");
        for (locale, messages) in bundles {
            let differences = bundle::key_differences(&first, &messages);
            assert!(
                differences.is_empty(),
                "{} {first_locale} and {locale}: {differences:?}",
                theme.name
            );
        }
    }
}

#[test]
fn themes_lists_base_and_the_extending_themes() {
    assert_eq!(ui().themes(), ["base", "smart-oa"]);
}

#[test]
fn hashed_urls_serve_the_file_of_their_theme() {
    let ui = ui();
    let theme_css = ui.resource_url("smart-oa", "css/smart-oa.css").unwrap();
    let logo = ui
        .resource_url("smart-oa", "img/smart-oa-logo.svg")
        .unwrap();
    let base_css = ui.resource_url("smart-oa", "css/login.css").unwrap();

    let (bytes, content_type) = ui.hashed_resource(route_path(&theme_css)).unwrap();
    assert_eq!(content_type, "text/css; charset=utf-8");
    assert!(std::str::from_utf8(bytes).unwrap().contains("#001a70"));
    assert_eq!(
        ui.hashed_resource(route_path(&logo)).unwrap().1,
        "image/svg+xml"
    );
    // A theme without its own copy links the base theme's file.
    assert_eq!(
        Some(base_css.clone()),
        ui.resource_url("base", "css/login.css")
    );
    assert!(base_css.contains("/base/css/login.css"), "{base_css}");
    assert!(ui.hashed_resource(route_path(&base_css)).is_some());
    // Files the theme does not have, and unknown themes.
    assert_eq!(ui.resource_url("base", "css/smart-oa.css"), None);
    assert_eq!(ui.resource_url("smart-oa", "css/missing.css"), None);
    assert_eq!(
        ui.resource_url("no-such-theme", "css/login.css"),
        Some(base_css)
    );
}

#[test]
fn hashed_urls_with_another_hash_or_shape_are_not_served() {
    let ui = ui();
    let url = ui.resource_url("smart-oa", "css/smart-oa.css").unwrap();
    let path = route_path(&url);
    let (hash, rest) = path.split_once('/').unwrap();
    let tail = hash.get(1..).unwrap();
    let other_hash = if hash.starts_with('0') {
        format!("1{tail}")
    } else {
        format!("0{tail}")
    };

    for refused in [
        format!("{other_hash}/{rest}"),
        format!("{}/{rest}", hash.to_uppercase()),
        format!("{tail}/{rest}"),
        format!("{hash}/no-such-theme/css/smart-oa.css"),
        format!("{hash}/smart-oa/css/../css/smart-oa.css"),
        format!("{hash}/base/css/smart-oa.css"),
        format!("{hash}/smart-oa/"),
        "css/smart-oa.css".to_owned(),
    ] {
        // An upper-case hash equals the real one when it has no letter.
        if refused != path {
            assert!(ui.hashed_resource(&refused).is_none(), "{refused}");
        }
    }
}

#[test]
fn override_dir_replaces_a_theme_stylesheet_and_its_url() {
    let dir = TempDir::new("theme-css");
    dir.write(
        "smart-oa/resources/css/smart-oa.css",
        "body { color: #000000; }\n",
    );
    let embedded = ui();
    let overridden = Ui::load(Some(dir.path())).unwrap();

    let old_url = embedded
        .resource_url("smart-oa", "css/smart-oa.css")
        .unwrap();
    let new_url = overridden
        .resource_url("smart-oa", "css/smart-oa.css")
        .unwrap();
    assert_ne!(old_url, new_url, "a changed file gets a new URL");
    let (bytes, _) = overridden.hashed_resource(route_path(&new_url)).unwrap();
    assert_eq!(bytes, b"body { color: #000000; }\n");
    assert!(overridden.hashed_resource(route_path(&old_url)).is_none());
    let html = render(
        &overridden,
        "info.html",
        "fr",
        &in_theme("smart-oa", &json!({ "title": "errorTitle" })),
    );
    assert!(html.contains(&escaped(&new_url)), "{html}");
    // The base theme is untouched.
    assert_eq!(
        embedded.resource_url("base", "css/login.css"),
        overridden.resource_url("base", "css/login.css")
    );
}

#[test]
fn override_dir_can_give_a_theme_its_own_copy_of_a_base_stylesheet() {
    let dir = TempDir::new("theme-base-css");
    dir.write("smart-oa/resources/css/login.css", "main { margin: 0; }\n");
    let ui = Ui::load(Some(dir.path())).unwrap();

    let themed = ui.resource_url("smart-oa", "css/login.css").unwrap();
    assert!(themed.contains("/smart-oa/css/login.css"), "{themed}");
    assert_eq!(
        ui.hashed_resource(route_path(&themed)).unwrap().0,
        b"main { margin: 0; }\n"
    );
    assert!(
        ui.resource_url("base", "css/login.css")
            .unwrap()
            .contains("/base/")
    );
}

#[test]
fn override_dir_replaces_a_template_of_one_theme_only() {
    let dir = TempDir::new("theme-template");
    dir.write(
        "smart-oa/login/info.html",
        "{% extends \"login/layout.html\" %}{% block heading %}Page Smart OA{% endblock heading %}",
    );
    let ui = Ui::load(Some(dir.path())).unwrap();
    let context = json!({ "title": "errorTitle" });

    let themed = render(&ui, "info.html", "fr", &in_theme("smart-oa", &context));
    let base = render(&ui, "info.html", "fr", &context);

    assert!(themed.contains("<h1>Page Smart OA</h1>"), "{themed}");
    assert!(
        themed.contains("brand-name"),
        "the theme's layout is kept: {themed}"
    );
    assert!(base.contains("<h1>Une erreur est survenue</h1>"), "{base}");
}

#[test]
fn a_base_template_override_reaches_themes_without_their_own() {
    let dir = TempDir::new("theme-base-template");
    dir.write(
        "base/login/info.html",
        "{% extends \"login/layout.html\" %}{% block heading %}Remplacée{% endblock heading %}",
    );
    let ui = Ui::load(Some(dir.path())).unwrap();

    let themed = render(&ui, "info.html", "fr", &in_theme("smart-oa", &json!({})));

    assert!(themed.contains("<h1>Remplacée</h1>"), "{themed}");
    assert!(themed.contains("brand-name"), "{themed}");
}

#[test]
fn theme_bundle_with_a_key_in_one_locale_only_is_refused() {
    let dir = TempDir::new("theme-bundle");
    dir.write(
        "smart-oa/messages/messages_fr.toml",
        "smartOaBrandName = \"Smart OA\"\nsmartOaTagline = \"x\"\nbackToApplication = \"y\"\n\
         onlyInFrench = \"z\"\n",
    );

    let err = Ui::load(Some(dir.path())).unwrap_err();

    let UiError::Bundle(text) = &err else {
        panic!("expected a bundle error, got {err:?}");
    };
    assert!(
        text.contains("smart-oa") && text.contains("onlyInFrench"),
        "{text}"
    );
}

#[test]
fn theme_bundle_with_a_syntax_error_names_its_file() {
    let dir = TempDir::new("theme-bundle-syntax");
    dir.write("smart-oa/messages/messages_en.toml", "broken\n");

    let err = Ui::load(Some(dir.path())).unwrap_err();

    assert!(
        err.to_string()
            .contains("smart-oa/messages/messages_en.toml: line 1"),
        "{err}"
    );
}

#[test]
fn format_datetime_filter_writes_dates_in_the_page_language() {
    let dir = TempDir::new("datetime-filter");
    dir.write(
        "base/login/info.html",
        "{% extends \"login/layout.html\" %}{% block content %}\
         <p id=\"paris\">{{ created_at | format_datetime(locale=locale) }}</p>\
         <p id=\"utc\">{{ created_at | format_datetime(locale=locale, timezone=\"UTC\") }}</p>\
         {% endblock content %}",
    );
    let ui = Ui::load(Some(dir.path())).unwrap();
    // 27 March 2026, 15:26 UTC: 16:26 in Paris, as in the guide's device list.
    let context = json!({ "created_at": 1_774_625_160_i64 });

    for (theme, locale, paris, utc) in [
        ("base", "fr", "27 mars 2026 à 16:26", "27 mars 2026 à 15:26"),
        (
            "base",
            "en",
            "27 March 2026 at 16:26",
            "27 March 2026 at 15:26",
        ),
        (
            "smart-oa",
            "fr",
            "27 mars 2026 à 16:26",
            "27 mars 2026 à 15:26",
        ),
        (
            "smart-oa",
            "en-GB",
            "27 March 2026 at 16:26",
            "27 March 2026 at 15:26",
        ),
    ] {
        let html = render(&ui, "info.html", locale, &in_theme(theme, &context));
        assert!(
            html.contains(&format!(r#"<p id="paris">{paris}</p>"#)),
            "{html}"
        );
        assert!(
            html.contains(&format!(r#"<p id="utc">{utc}</p>"#)),
            "{html}"
        );
    }
}

#[test]
fn format_datetime_filter_refuses_what_is_not_a_time() {
    let dir = TempDir::new("datetime-refused");
    dir.write(
        "base/login/info.html",
        "{% extends \"login/layout.html\" %}{% block content %}\
         {{ created_at | format_datetime(locale=locale, timezone=zone) }}{% endblock content %}",
    );
    let ui = Ui::load(Some(dir.path())).unwrap();

    for context in [
        json!({ "created_at": "yesterday", "zone": "UTC" }),
        json!({ "created_at": 0, "zone": "Mars/Olympus" }),
    ] {
        let err = ui.render("info.html", "fr", &context).unwrap_err();
        assert!(err.to_string().contains("format_datetime"), "{err}");
    }
}

#[test]
fn format_datetime_serves_code_outside_templates() {
    let ui = ui();

    assert_eq!(
        ui.format_datetime("fr", 1_774_625_160),
        "27 mars 2026 à 16:26"
    );
    assert_eq!(
        ui.format_datetime("en", 1_774_625_160),
        "27 March 2026 at 16:26"
    );
    assert_eq!(
        ui.format_datetime("fr", 1_798_759_800),
        "1er janvier 2027 à 00:30"
    );
    assert_eq!(ui.format_datetime("de", 0), "1er janvier 1970 à 01:00");
}

#[test]
fn extended_theme_files_keep_the_page_rules() {
    for theme in EXTENDED_THEMES {
        for (name, text) in theme.templates {
            let file = format!("{}/{name}", theme.name);
            assert_eq!(csp_violations(text), Vec::<&str>::new(), "{file}");
            // The base layout holds the page's one h1.
            assert!(!text.contains("<h1"), "{file} adds an h1");
            assert!(text.starts_with("{% extends "), "{file} extends a template");
        }
        for (path, bytes) in theme.resources {
            let text = std::str::from_utf8(bytes).unwrap();
            let file = format!("{}/resources/{path}", theme.name);
            assert!(!text.contains("@import"), "{file}");
            assert!(!text.contains("url("), "{file}: no external resource");
            assert!(!text.contains("<script"), "{file}");
            let external = text.replace("http://www.w3.org/2000/svg", "");
            assert!(!external.contains("http"), "{file}: no external resource");
        }
    }
}

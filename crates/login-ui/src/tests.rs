//! Tests of the renderer, the bundles and the theme files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::bundle::{self, BundleParseError, KeyDifferences, Messages};
use crate::{Ui, UiError, filters, theme};

mod account;

// ---------------------------------------------------------------------------------------------
// Helpers

fn ui() -> Ui {
    Ui::load(None).expect("the embedded theme loads")
}

/// The URL of a static file as it appears, escaped, in an attribute of a rendered page.
fn escaped_resource_url(ui: &Ui, theme: &str, path: &str) -> String {
    let url = ui
        .resource_url(theme, path)
        .unwrap_or_else(|| panic!("{theme} has {path}"));
    url.replace('/', "&#x2F;")
}

/// The base stylesheet's URL, escaped.
fn stylesheet_href(ui: &Ui) -> String {
    escaped_resource_url(ui, "base", "css/login.css")
}

pub(super) fn render(ui: &Ui, template: &str, locale: &str, context: &Value) -> String {
    match ui.render(template, locale, context) {
        Ok(html) => html,
        Err(err) => panic!("{template} in {locale} failed to render: {err}"),
    }
}

/// A context for each page, with every optional field set.
pub(super) fn sample_contexts() -> Vec<(&'static str, Value)> {
    vec![
        (
            "login.html",
            json!({
                "realm_name": "Smart OA",
                "action_url": "/realms/smart-oa/login-actions/authenticate?session_code=abc",
                "csrf_token": "csrf-123",
                "username": "",
                "error": "invalidUserMessage",
                "info": "loginTimeout",
                "forgot_password_url": "/realms/smart-oa/login-actions/reset-credentials",
            }),
        ),
        (
            "error.html",
            json!({
                "realm_name": "Smart OA",
                "title": "errorTitle",
                "message": "unknownClientMessage",
                "back_url": "https://portal.example/",
            }),
        ),
        (
            "form_post.html",
            json!({
                "redirect_uri": "https://portal.example/callback",
                "fields": [{"name": "code", "value": "abc"}, {"name": "state", "value": "xyz"}],
            }),
        ),
        (
            "logout_confirm.html",
            json!({
                "realm_name": "Smart OA",
                "action_url": "/realms/smart-oa/protocol/openid-connect/logout/confirm",
                "csrf_token": "csrf-123",
                "fields": [{"name": "state", "value": "xyz"}],
                "back_url": "https://portal.example/",
            }),
        ),
        (
            "logged_out.html",
            json!({"realm_name": "Smart OA", "back_url": "https://portal.example/"}),
        ),
        (
            "info.html",
            json!({
                "realm_name": "Smart OA",
                "title": "accountUpdatedTitle",
                "message": "loggedOutMessage",
                "link_url": "https://portal.example/",
                "link_text": "clickHereToLogIn",
            }),
        ),
        (
            "login-otp.html",
            form_context(json!({
                "info": "loginTimeout",
                "error": "invalidTotpMessage",
                "errors": {"otp": "Code à usage unique invalide."},
                "devices": [
                    {"id": "credential-1", "label": "Test Tuto Initialisation 1"},
                    {"id": "credential-2", "label": "Test Tuto 2"},
                ],
                "selected": "credential-2",
            })),
        ),
        (
            "login-config-totp.html",
            form_context(json!({
                "info": "loginTimeout",
                "error": "invalidTotpMessage",
                "errors": {
                    "totp": "Code à usage unique invalide.",
                    "userLabel": "Veuillez saisir un nom d'appareil.",
                },
                "qr_svg": SAMPLE_QR_SVG,
                "manual_url": "/realms/smart-oa/login-actions/required-action?mode=manual",
                "qr_url": "/realms/smart-oa/login-actions/required-action",
                "manual": false,
                "secret_grouped": "JBSW Y3DP EHPK 3PXP",
                "algorithm": "SHA1",
                "digits": 6,
                "period": 30,
                "user_label": "Téléphone de Jeanne",
                "logout_sessions": true,
                "cancel": true,
            })),
        ),
        (
            "login-config-totp.html",
            form_context(json!({
                "errors": {},
                "manual_url": "/realms/smart-oa/login-actions/required-action?mode=manual",
                "qr_url": "/realms/smart-oa/login-actions/required-action",
                "manual": true,
                "secret_grouped": "JBSW Y3DP EHPK 3PXP",
                "algorithm": "SHA1",
                "digits": 6,
                "period": 30,
                "cancel": false,
            })),
        ),
        (
            "login-update-password.html",
            form_context(json!({
                "info": "loginTimeout",
                "error": "notMatchPasswordMessage",
                "errors": {
                    "password-new": "Mot de passe invalide : longueur minimale 12.",
                    "password-confirm": "Les mots de passe ne correspondent pas.",
                },
                "username": "jeanne@example.fr",
                "logout_sessions": true,
            })),
        ),
        (
            "login-update-profile.html",
            form_context(json!({
                "info": "loginTimeout",
                "error": "emailExistsMessage",
                "errors": {
                    "email": "Cette adresse de courriel est déjà utilisée.",
                    "firstName": "Veuillez renseigner ce champ.",
                    "lastName": "Veuillez renseigner ce champ.",
                },
                "email": "jeanne@example.fr",
                "first_name": "",
                "last_name": "",
            })),
        ),
    ]
}

/// The QR code as the server would pass it: markup with its own text alternative.
const SAMPLE_QR_SVG: &str = concat!(
    r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29" role="img" "#,
    r#"aria-label="Code QR"><path d="M0 0h7v7H0z"/></svg>"#,
);

/// The context every form page of the login flow needs, with `extra` added.
fn form_context(extra: Value) -> Value {
    let mut context = json!({
        "realm_name": "Smart OA",
        "action_url": "/realms/smart-oa/login-actions/required-action?session_code=abc",
        "csrf_token": "csrf-123",
        "step": "step-42",
        "errors": {},
    });
    if let (Some(context), Value::Object(extra)) = (context.as_object_mut(), extra) {
        context.extend(extra);
    }
    context
}

/// The page as read on screen: tags removed, entities decoded, lines trimmed, blank lines
/// dropped.
pub(super) fn visible_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for character in html.chars() {
        match character {
            '<' => in_tag = true,
            '>' => in_tag = false,
            other if !in_tag => text.push(other),
            _ => {}
        }
    }
    decode_entities(&text)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Undoes Tera's HTML escaping, so that tests can look for the texts as a user reads them.
fn decode_entities(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every visible `<input>` must have a `<label for=...>` naming its id.
fn assert_inputs_labelled(page: &str, html: &str) {
    for input in html.split("<input ").skip(1) {
        let tag = input.split('>').next().unwrap_or_default();
        let hidden = tag
            .split_whitespace()
            .any(|attribute| attribute == "hidden");
        if tag.contains(r#"type="hidden""#) || hidden {
            continue;
        }
        let id = tag
            .split(r#"id=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{page}: input without id: <input {tag}>"));
        assert!(
            html.contains(&format!(r#"<label for="{id}">"#)),
            "{page}: input {id} has no label"
        );
    }
}

/// On a page that explains the "*" convention ("* Champs requis"), a required text field is
/// marked in its label and a required radio group in its legend.
fn assert_required_fields_marked(page: &str, html: &str) {
    if !html.contains(r#"<p class="form-hint">"#) {
        return;
    }
    for input in html.split("<input ").skip(1) {
        let tag = input.split('>').next().unwrap_or_default();
        let required = tag
            .split_whitespace()
            .any(|attribute| attribute == "required");
        if !required || tag.contains(r#"type="radio""#) {
            continue;
        }
        let id = tag
            .split(r#"id=""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{page}: required input without id: <input {tag}>"));
        let label = html
            .split(&format!(r#"<label for="{id}">"#))
            .nth(1)
            .and_then(|rest| rest.split("</label>").next())
            .unwrap_or_else(|| panic!("{page}: input {id} has no label"));
        assert!(
            label.contains(r#"<span class="required-mark" aria-hidden="true"> *</span>"#),
            "{page}: the label of {id} does not mark it required"
        );
    }
    if html.contains(r#"type="radio""#) {
        assert!(
            html.contains(r#"<span class="required-mark" aria-hidden="true"> *</span></legend>"#),
            "{page}: the radio group is not marked required"
        );
    }
}

/// Every `aria-describedby` names an element of the page, and every invalid field has one.
fn assert_descriptions_exist(page: &str, html: &str) {
    for reference in html.split(r#"aria-describedby=""#).skip(1) {
        let id = reference.split('"').next().unwrap_or_default();
        assert!(
            html.contains(&format!(r#" id="{id}""#)),
            "{page}: aria-describedby names {id}, which is not on the page"
        );
    }
    for input in html.split("<input ").skip(1) {
        let tag = input.split('>').next().unwrap_or_default();
        // A radio button is described through its fieldset.
        if tag.contains(r#"aria-invalid="true""#) && !tag.contains(r#"type="radio""#) {
            assert!(
                tag.contains("aria-describedby"),
                "{page}: invalid field without a description: <input {tag}>"
            );
        }
    }
}

/// What a strict Content-Security-Policy (`script-src 'self'; style-src 'self'`) would block.
pub(super) fn csp_violations(markup: &str) -> Vec<&'static str> {
    let lower = markup.to_ascii_lowercase();
    let mut violations = Vec::new();

    if lower.contains("<style") {
        violations.push("<style> element");
    }
    if lower.contains("style=") {
        violations.push("style attribute");
    }
    let has_event_handler = lower.split(" on").skip(1).any(|rest| {
        let name_length = rest
            .find(|character: char| !character.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let after_name = rest.get(name_length..).unwrap_or_default();
        name_length > 0 && after_name.trim_start().starts_with('=')
    });
    if has_event_handler {
        violations.push("event handler attribute");
    }
    let has_inline_script = lower.split("<script").skip(1).any(|script| {
        let tag = script.split('>').next().unwrap_or_default();
        !tag.contains("src=") || !script.contains("></script>")
    });
    if has_inline_script {
        violations.push("inline script");
    }

    violations
}

/// Compares whole documents and prints both on failure.
fn assert_same_document(actual: &str, expected: &str) {
    assert!(
        actual == expected,
        "documents differ\n--- expected\n{expected}\n--- actual\n{actual}\n---"
    );
}

/// A fresh directory under the system temporary directory, removed when dropped.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new(purpose: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "sesame-login-ui-{purpose}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        // A leftover from a killed run with the same process id would mix files in.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temporary directory is writable");
        TempDir(path)
    }

    pub(super) fn write(&self, relative: &str, contents: &str) {
        let path = relative
            .split('/')
            .fold(self.0.clone(), |path, part| path.join(part));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("temporary directory is writable");
        }
        std::fs::write(&path, contents).expect("temporary file is writable");
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn embedded_bundle(locale: &str) -> Messages {
    let text = theme::BUNDLES
        .iter()
        .find(|(name, _)| *name == locale)
        .map(|(_, text)| *text)
        .unwrap_or_else(|| panic!("no embedded bundle {locale}"));
    bundle::parse_bundle(text).expect("embedded bundle parses")
}

fn messages(pairs: &[(&str, &str)]) -> Messages {
    pairs
        .iter()
        .map(|(key, text)| ((*key).to_owned(), (*text).to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Pages

#[test]
fn every_template_renders_in_both_locales() {
    let ui = ui();

    for (template, context) in sample_contexts() {
        for locale in ["fr", "en"] {
            let html = render(&ui, template, locale, &context);

            assert!(html.starts_with("<!DOCTYPE html>"), "{template}: {html}");
            assert!(
                html.contains(&format!(r#"<html lang="{locale}">"#)),
                "{template}"
            );
            assert_eq!(html.matches("<h1").count(), 1, "{template}: exactly one h1");
            assert!(html.contains("<title>"), "{template}");
            assert!(html.contains("<main"), "{template}");
            assert!(
                html.contains(&format!(r#"href="{}""#, stylesheet_href(&ui))),
                "{template} links the stylesheet"
            );
            assert_inputs_labelled(template, &html);
            assert_required_fields_marked(template, &html);
            assert_descriptions_exist(template, &html);
            assert!(!html.contains("msg."), "{template}: an unrendered key");
        }
    }
}

#[test]
fn every_page_shows_the_realm_name_when_given() {
    let ui = ui();

    for (template, context) in sample_contexts() {
        if context.get("realm_name").is_none() {
            continue;
        }
        let html = render(&ui, template, "fr", &context);
        assert!(
            html.contains(r#"<p class="realm-name">Smart OA</p>"#),
            "{template}"
        );
        assert!(
            html.contains("<title>") && html.contains(" – Smart OA</title>"),
            "{template}"
        );
    }
}

#[test]
fn pages_render_without_their_optional_fields() {
    let ui = ui();
    let minimal = [
        (
            "login.html",
            json!({"realm_name": "Smart OA", "action_url": "/login", "csrf_token": "t"}),
        ),
        ("error.html", json!({})),
        (
            "form_post.html",
            json!({"redirect_uri": "https://portal.example/cb"}),
        ),
        (
            "logout_confirm.html",
            json!({"action_url": "/logout", "csrf_token": "t"}),
        ),
        ("logged_out.html", json!({})),
        ("info.html", json!({"title": "accountUpdatedTitle"})),
    ];

    for (template, context) in minimal {
        let html = render(&ui, template, "fr", &context);
        assert!(
            !html.contains("<a "),
            "{template} has no link without its URL"
        );
        if context.get("realm_name").is_none() {
            assert!(
                !html.contains("realm-name"),
                "{template} shows an empty realm name"
            );
        }
    }
}

#[test]
fn login_page_shows_the_labels_of_the_guide_in_french() {
    let ui = ui();
    let context = &sample_contexts()[0].1;

    let html = render(&ui, "login.html", "fr", context);
    let text = decode_entities(&html);

    assert!(html.contains(r#"<html lang="fr">"#));
    for expected in [
        "<title>Connectez-vous à votre compte – Smart OA</title>",
        "<h1>Connectez-vous à votre compte</h1>",
        r#"<label for="username">Nom d'utilisateur ou courriel</label>"#,
        r#"<label for="password">Mot de passe</label>"#,
        ">Mot de passe oublié ?</a>",
        ">Connexion</button>",
        "<p>Le temps imparti pour la connexion est écoulé. \
         Le processus de connexion redémarre depuis le début.</p>",
        "<p>Nom d'utilisateur ou mot de passe invalide.</p>",
        r#"<input type="hidden" name="csrf_token" value="csrf-123">"#,
        r#"action="/realms/smart-oa/login-actions/authenticate?session_code=abc""#,
        r#"href="/realms/smart-oa/login-actions/reset-credentials""#,
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn login_form_fields_have_the_expected_attributes() {
    let ui = ui();
    let context = json!({
        "realm_name": "Smart OA",
        "action_url": "/login",
        "csrf_token": "t",
        "username": "jeanne@example.fr",
        "error": "invalidUserMessage",
    });

    let html = decode_entities(&render(&ui, "login.html", "fr", &context));

    let username = concat!(
        r#"<input id="username" name="username" type="text" value="jeanne@example.fr" "#,
        r#"autocomplete="username" autocapitalize="none" spellcheck="false" required "#,
        r#"aria-invalid="true" aria-describedby="login-error">"#,
    );
    let password = concat!(
        r#"<input id="password" name="password" type="password" "#,
        r#"autocomplete="current-password" required autofocus "#,
        r#"aria-invalid="true" aria-describedby="login-error">"#,
    );
    assert!(html.contains(username), "{html}");
    assert!(html.contains(password), "{html}");
    assert!(html.contains(r#"<div id="login-error" class="alert alert-error" role="alert">"#));
    assert!(html.contains(r#"<form id="login-form" class="form" action="/login" method="post">"#));
}

#[test]
fn login_page_without_error_marks_no_field_invalid() {
    let ui = ui();
    let context = json!({"realm_name": "Smart OA", "action_url": "/login", "csrf_token": "t"});

    let html = render(&ui, "login.html", "fr", &context);

    assert!(!html.contains("aria-invalid"));
    assert!(!html.contains("aria-describedby"));
    assert!(!html.contains("alert"));
    assert!(
        !html.contains("<a "),
        "no forgotten-password link without its URL"
    );
    // An empty username field gets the focus, not the password.
    assert!(
        html.contains(r#"spellcheck="false" required autofocus>"#),
        "{html}"
    );
}

#[test]
fn login_page_in_english_uses_the_english_bundle() {
    let ui = ui();
    let context = &sample_contexts()[0].1;

    let html = render(&ui, "login.html", "en", context);

    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("<h1>Sign in to your account</h1>"));
    assert!(html.contains(r#"<label for="username">Username or email</label>"#));
}

#[test]
fn unknown_message_key_in_the_context_is_shown_as_is() {
    let ui = ui();
    let context = json!({"title": "noSuchTitle", "message": "noSuchMessage"});

    let html = render(&ui, "error.html", "fr", &context);

    assert!(html.contains("<h1>noSuchTitle</h1>"));
    assert!(html.contains("<p>noSuchMessage</p>"));
}

#[test]
fn error_page_shows_the_message_and_the_way_back() {
    let ui = ui();
    let context = &sample_contexts()[1].1;

    let html = decode_entities(&render(&ui, "error.html", "fr", context));

    assert!(html.contains("<h1>Une erreur est survenue</h1>"));
    assert!(html.contains("<p>Client inconnu.</p>"));
    assert!(html.contains(r#"<a href="https://portal.example/">Retour à l'application</a>"#));
}

#[test]
fn logout_pages_show_the_texts_of_the_brief() {
    let ui = ui();
    let contexts = sample_contexts();

    let confirm = decode_entities(&render(&ui, "logout_confirm.html", "fr", &contexts[3].1));
    let logged_out = decode_entities(&render(&ui, "logged_out.html", "fr", &contexts[4].1));

    assert!(confirm.contains("<p>Voulez-vous vous déconnecter ?</p>"));
    assert!(confirm.contains(">Se déconnecter</button>"));
    assert!(confirm.contains(r#"<input type="hidden" name="csrf_token" value="csrf-123">"#));
    assert!(confirm.contains(r#"<input type="hidden" name="state" value="xyz">"#));
    assert!(confirm.contains(r#"method="post""#));
    assert!(logged_out.contains("<p>Vous êtes déconnecté.</p>"));
}

#[test]
fn info_page_shows_the_link_of_the_guide() {
    let ui = ui();
    let context = &sample_contexts()[5].1;

    let html = decode_entities(&render(&ui, "info.html", "fr", context));

    assert!(html.contains("<h1>Votre compte a été mis à jour</h1>"));
    assert!(
        html.contains(r#"<a href="https://portal.example/">Cliquez ici pour vous connecter</a>"#)
    );
}

#[test]
fn form_post_page_is_the_expected_document() {
    let ui = ui();
    let context = json!({
        "redirect_uri": "https://portal.example/callback",
        "fields": [{"name": "code", "value": "abc"}, {"name": "state", "value": "x&y"}],
    });

    let html = render(&ui, "form_post.html", "fr", &context);

    let expected = r#"<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Redirection en cours</title>
<link rel="stylesheet" href="{stylesheet}">
</head>
<body>
<header class="site-header">
</header>
<main id="main" class="card">
<h1>Redirection en cours</h1>

<form id="form-post" class="form" method="post" action="{action}">
<input type="hidden" name="code" value="abc">
<input type="hidden" name="state" value="x&amp;y">
<noscript>
<p>JavaScript est désactivé dans votre navigateur. Cliquez sur « Continuer » pour poursuivre.</p>
<div class="form-actions">
<button type="submit" class="button button-primary">Continuer</button>
</div>
</noscript>
</form>

</main>
<script src="{script}"></script>
</body>
</html>
"#
    .replace("{action}", "https:&#x2F;&#x2F;portal.example&#x2F;callback")
    .replace("{stylesheet}", &stylesheet_href(&ui))
    .replace(
        "{script}",
        &escaped_resource_url(&ui, "base", "js/autopost.js"),
    )
    .replace("« Continuer »", "«\u{a0}Continuer\u{a0}»");
    assert_same_document(&html, &expected);
}

#[test]
fn form_post_escapes_names_and_values() {
    let ui = ui();
    let attack = r#""><script>alert(1)</script>"#;
    let context = json!({
        "redirect_uri": "https://portal.example/callback?a=\"><script>",
        "fields": [{"name": attack, "value": attack}],
    });

    let html = render(&ui, "form_post.html", "fr", &context);

    assert!(!html.contains(r#""><script>"#), "{html}");
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the autopost script: {html}"
    );
    let escaped = "&quot;&gt;&lt;script&gt;alert(1)&lt;&#x2F;script&gt;";
    let input = format!(r#"<input type="hidden" name="{escaped}" value="{escaped}">"#);
    assert!(html.contains(&input), "{html}");
    assert!(html.contains(
        r#"action="https:&#x2F;&#x2F;portal.example&#x2F;callback?a=&quot;&gt;&lt;script&gt;""#
    ));
}

#[test]
fn context_values_cannot_replace_the_renderer_keys() {
    let ui = ui();
    let context = json!({
        "realm_name": "Smart OA",
        "locale": "\"><script>",
        "resources": "https://cdn.example",
        "msg": {"loginTitle": "forged"},
        "action_url": "/login",
        "csrf_token": "t",
    });

    let html = render(&ui, "login.html", "fr", &context);

    assert!(html.contains(r#"<html lang="fr">"#));
    assert!(html.contains("<h1>Connectez-vous à votre compte</h1>"));
    assert!(!html.contains("cdn.example"));
}

#[test]
fn unsafe_urls_fail_the_render() {
    let ui = ui();

    for url in [
        "javascript:alert(1)",
        "//evil.example/",
        "data:text/html,x",
        " /login",
    ] {
        let context = json!({"action_url": url, "csrf_token": "t"});
        let result = ui.render("login.html", "fr", &context);
        assert!(
            matches!(&result, Err(UiError::Render(reason)) if reason.contains("refused a URL")),
            "{url}: {result:?}"
        );
    }
}

#[test]
fn allowed_urls() {
    fn check(url: &str, expected: bool) {
        assert_eq!(filters::is_allowed_url(url), expected, "{url}");
    }

    check("https://portal.example/cb?x=1", true);
    check("HTTPS://portal.example/", true);
    check("http://localhost:8080/", true);
    check("/realms/smart-oa/login-actions/authenticate", true);
    check("/", true);
    check("//evil.example/", false);
    check("/\\evil.example/", false);
    check("/\t/evil.example/", false);
    check("javascript:alert(1)", false);
    check("JavaScript:alert(1)", false);
    check("data:text/html,x", false);
    check("relative/path", false);
    check("", false);
    check("https://portal.example/a b", false);
    check("ftp://files.example/", false);
    check("é", false);
}

#[test]
fn missing_template_and_bad_context_are_errors() {
    let ui = ui();

    let missing = ui.render("nope.html", "fr", &json!({}));
    let traversal = ui.render("../login/login.html", "fr", &json!({}));
    let not_object = ui.render("error.html", "fr", &json!(["a"]));
    let missing_variable = ui.render("login.html", "fr", &json!({}));

    assert!(matches!(missing, Err(UiError::TemplateMissing(name)) if name == "login/nope.html"));
    assert!(matches!(traversal, Err(UiError::TemplateMissing(_))));
    assert!(matches!(not_object, Err(UiError::ContextNotObject)));
    assert!(
        matches!(&missing_variable, Err(UiError::Render(reason)) if reason.contains("action_url")),
        "{missing_variable:?}"
    );
}

#[test]
fn unknown_locale_renders_in_french_and_regional_tags_use_their_language() {
    let ui = ui();
    let context = json!({});

    for (requested, rendered) in [
        ("de", "fr"),
        ("", "fr"),
        ("en-GB", "en"),
        ("EN", "en"),
        ("fr_CA", "fr"),
    ] {
        let html = render(&ui, "logged_out.html", requested, &context);
        assert!(
            html.contains(&format!(r#"<html lang="{rendered}">"#)),
            "{requested}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Theme files

#[test]
fn templates_have_no_inline_script_or_style() {
    for (name, text) in theme::TEMPLATES {
        // Mails are not served under the pages' policy; they may carry inline styles.
        if name.starts_with("email/") {
            continue;
        }
        assert_eq!(csp_violations(text), Vec::<&str>::new(), "{name}");
    }
}

#[test]
fn csp_violations_finds_inline_script_and_style() {
    let broken = r#"<p style="color: red" onclick = "go()">x</p><style>p {}</style>
        <script>alert(1)</script><script src="/a.js"></script>"#;
    let clean = r#"<p class="one">one h1</p><script src="/resources/js/autopost.js"></script>"#;

    assert_eq!(
        csp_violations(broken),
        [
            "<style> element",
            "style attribute",
            "event handler attribute",
            "inline script"
        ]
    );
    assert!(csp_violations(clean).is_empty());
}

#[test]
fn templates_extend_the_layout() {
    for (name, text) in theme::TEMPLATES {
        if *name != "login/layout.html" {
            assert!(!text.contains("<h1"), "{name} adds an h1 of its own");
        }
        let is_partial = name
            .rsplit('/')
            .next()
            .is_some_and(|file| file.starts_with('_'));
        if *name == "login/layout.html" || is_partial || !name.starts_with("login/") {
            continue;
        }
        assert!(
            text.starts_with(r#"{% extends "login/layout.html" %}"#),
            "{name} does not extend the layout"
        );
    }
}

#[test]
fn stylesheet_uses_no_external_resource() {
    let ui = ui();
    let (css, content_type) = ui.resource("css/login.css").expect("stylesheet embedded");
    let css = std::str::from_utf8(css).expect("stylesheet is UTF-8");

    assert_eq!(content_type, "text/css; charset=utf-8");
    assert!(!css.contains("@import"));
    assert!(!css.contains("url("));
    assert!(!css.contains("http"));
    assert!(css.contains(":focus-visible"));
    assert!(css.contains("@media"));
}

#[test]
fn resources_are_served_by_path() {
    let ui = ui();

    let script = ui.resource("js/autopost.js");
    let missing = ui.resource("js/missing.js");
    let outside = ui.resource("../login/login.html");

    let (bytes, content_type) = script.expect("autopost script embedded");
    assert_eq!(content_type, "text/javascript; charset=utf-8");
    assert!(std::str::from_utf8(bytes).is_ok_and(|text| text.contains(".submit()")));
    assert!(missing.is_none());
    assert!(outside.is_none());
}

#[test]
fn content_types_follow_the_extension() {
    fn check(path: &str, expected: &str) {
        assert_eq!(theme::content_type(path), expected, "{path}");
    }

    check("css/login.css", "text/css; charset=utf-8");
    check("js/autopost.js", "text/javascript; charset=utf-8");
    check("img/logo.SVG", "image/svg+xml");
    check("img/logo.png", "image/png");
    check("README", "application/octet-stream");
}

#[test]
fn ui_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Ui>();
}

#[test]
fn debug_lists_the_theme_contents() {
    let debug = format!("{:?}", ui());

    assert!(debug.contains("login/login.html"));
    assert!(debug.contains(r#"locales: ["en", "fr"]"#));
    assert!(debug.contains("css/login.css"));
}

// ---------------------------------------------------------------------------------------------
// Message bundles

#[test]
fn french_and_english_bundles_have_the_same_keys() {
    let differences = bundle::key_differences(&embedded_bundle("fr"), &embedded_bundle("en"));

    assert!(
        differences.is_empty(),
        "only in messages_fr.toml: {:?}; only in messages_en.toml: {:?}",
        differences.only_in_first,
        differences.only_in_second
    );
}

#[test]
fn key_differences_finds_a_key_missing_on_either_side() {
    let french = messages(&[("loginTitle", "Connexion"), ("password", "Mot de passe")]);
    let english = messages(&[("loginTitle", "Sign in"), ("doLogIn", "Sign in")]);

    let differences = bundle::key_differences(&french, &english);

    assert!(!differences.is_empty());
    assert_eq!(
        differences,
        KeyDifferences {
            only_in_first: vec!["password".to_owned()],
            only_in_second: vec!["doLogIn".to_owned()],
        }
    );
    assert!(bundle::key_differences(&french, &french).is_empty());
}

#[test]
fn bundles_hold_the_keys_used_by_code() {
    let required = [
        "loginTitle",
        "usernameOrEmail",
        "password",
        "doLogIn",
        "forgotPassword",
        "invalidUserMessage",
        "loginTimeout",
        "errorTitle",
        "invalidRequestMessage",
        "unknownClientMessage",
        "invalidRedirectUriMessage",
        "expiredCodeMessage",
        "cookieNotFoundMessage",
        "sessionExpiredMessage",
        "internalServerErrorMessage",
        "temporarilyUnavailableMessage",
        "backToApplication",
        "logoutConfirmTitle",
        "logoutConfirmMessage",
        "doLogout",
        "loggedOutTitle",
        "loggedOutMessage",
        "doContinue",
        "accountDisabledMessage",
        "tooManyAttemptsMessage",
        "requiredFieldsHint",
        "requiredField",
        "accountUpdatedTitle",
        "accountUpdatedMessage",
        "clickHereToLogIn",
        "otpCode",
        "chooseDevice",
        "configureTotpTitle",
        "totpScanAlt",
        "updatePasswordTitle",
        "updatePasswordWarning",
        "passwordNew",
        "passwordConfirm",
        "logoutOtherSessions",
        "doSubmit",
        "doCancel",
        "updateProfileTitle",
        "email",
        "firstName",
        "lastName",
        "invalidTotpMessage",
        "missingTotpMessage",
        "missingDeviceNameMessage",
        "invalidDeviceNameMessage",
        "duplicateDeviceNameMessage",
        "invalidFormMessage",
        "notMatchPasswordMessage",
        "missingPasswordMessage",
        "invalidPasswordMinLength",
        "invalidPasswordMaxLength",
        "invalidPasswordNotUsername",
        "invalidPasswordNotEmail",
        "invalidPasswordMinDigits",
        "invalidEmailMessage",
        "emailExistsMessage",
        "expiredActionTokenMessage",
        "expiredActionTokenTitle",
        "loginCancelledMessage",
        "actionConfigureTotp",
        "actionUpdatePassword",
        "actionUpdateProfile",
        "actionVerifyEmail",
        "executeActionsSubject",
        "durationDay",
        "durationDays",
        "durationHour",
        "durationHours",
        "durationMinute",
        "durationMinutes",
        "durationSecond",
        "durationSeconds",
    ];

    for locale in ["fr", "en"] {
        let bundle = embedded_bundle(locale);
        for key in required {
            assert!(
                bundle.get(key).is_some_and(|text| !text.trim().is_empty()),
                "{key} missing or empty in {locale}"
            );
        }
    }
}

#[test]
fn bundles_hold_every_key_the_templates_use() {
    let french = embedded_bundle("fr");

    for (name, text) in theme::TEMPLATES {
        for usage in text.split("msg.").skip(1) {
            let key: String = usage
                .chars()
                .take_while(|character| character.is_ascii_alphanumeric() || *character == '_')
                .collect();
            assert!(
                french.contains_key(&key),
                "{name} uses {key}, not in the bundle"
            );
        }
    }
}

#[test]
fn french_texts_match_the_guide() {
    let french = embedded_bundle("fr");
    let check = |key: &str, expected: &str| {
        assert_eq!(french.get(key).map(String::as_str), Some(expected), "{key}");
    };

    check("loginTitle", "Connectez-vous à votre compte");
    check("usernameOrEmail", "Nom d'utilisateur ou courriel");
    check("password", "Mot de passe");
    check("forgotPassword", "Mot de passe oublié ?");
    check("doLogIn", "Connexion");
    check(
        "loginTimeout",
        "Le temps imparti pour la connexion est écoulé. \
         Le processus de connexion redémarre depuis le début.",
    );
    check(
        "invalidUserMessage",
        "Nom d'utilisateur ou mot de passe invalide.",
    );
    check("unknownClientMessage", "Client inconnu.");
    check("invalidRedirectUriMessage", "URL de redirection invalide.");
    check("doLogout", "Se déconnecter");
    check("logoutConfirmMessage", "Voulez-vous vous déconnecter ?");
    check("loggedOutMessage", "Vous êtes déconnecté.");
    check("doContinue", "Continuer");
    check("requiredFieldsHint", "* Champs requis");
    // The guide misspells this one as "Veillez".
    check("requiredField", "Veuillez renseigner ce champ.");
    check("accountUpdatedTitle", "Votre compte a été mis à jour");
    check("clickHereToLogIn", "Cliquez ici pour vous connecter");
    check("accountUpdatedMessage", "Votre compte a été mis à jour.");
    check("otpCode", "Code à usage unique");
    check("chooseDevice", "Choisissez votre appareil");
    check(
        "configureTotpTitle",
        "Configuration de l'authentification par mobile",
    );
    check(
        "totpStep1",
        "Installez une des applications suivantes sur votre mobile :",
    );
    check(
        "totpStep2",
        "Ouvrez l'application et scannez le code-barres :",
    );
    check("totpUnableToScan", "Impossible de scanner ?");
    check(
        "totpScanAlt",
        "Code QR à scanner avec votre application ; si vous ne pouvez pas le scanner, \
         utilisez le lien «\u{a0}Impossible de scanner ?\u{a0}»",
    );
    check(
        "totpStep2Manual",
        "Ouvrez l'application et saisissez la clé :",
    );
    check(
        "totpManualSettings",
        "Utilisez les valeurs de configuration suivantes si l'application permet de les définir :",
    );
    check("totpTimeBased", "Basé sur le temps");
    check("totpScanBarcode", "Scanner le code-barres ?");
    // The guide says "Sauvegarder" here, but its button reads "Soumettre".
    check(
        "totpStep3",
        "Entrez le code à usage unique fourni par l'application et cliquez sur Soumettre \
         pour terminer.",
    );
    check(
        "totpStep3DeviceName",
        "Renseignez un nom d'appareil pour vous aider à gérer vos appareils OTP.",
    );
    check("deviceName", "Nom d'appareil");
    check("logoutOtherSessions", "Se déconnecter des autres appareils");
    check("doSubmit", "Soumettre");
    check("doCancel", "Annuler");
    check("updatePasswordTitle", "Mise à jour du mot de passe");
    check(
        "updatePasswordWarning",
        "Vous devez changer votre mot de passe.",
    );
    check("passwordNew", "Nouveau mot de passe");
    check("passwordConfirm", "Confirmation du mot de passe");
    check("updateProfileTitle", "Mise à jour du compte");
    check("email", "Courriel");
    check("firstName", "Prénom");
    check("lastName", "Nom");
    check("invalidTotpMessage", "Code à usage unique invalide.");
    check(
        "missingTotpMessage",
        "Veuillez saisir le code à usage unique.",
    );
    check(
        "missingDeviceNameMessage",
        "Veuillez saisir un nom d'appareil.",
    );
    check(
        "duplicateDeviceNameMessage",
        "Ce nom d'appareil est déjà utilisé. Choisissez-en un autre.",
    );
    check(
        "notMatchPasswordMessage",
        "Les mots de passe ne correspondent pas.",
    );
    check("missingPasswordMessage", "Veuillez saisir un mot de passe.");
    check(
        "invalidPasswordMinLength",
        "Mot de passe invalide : longueur minimale {0}.",
    );
    check(
        "invalidPasswordMaxLength",
        "Mot de passe invalide : longueur maximale {0}.",
    );
    check(
        "invalidPasswordNotUsername",
        "Mot de passe invalide : il ne doit pas être identique au nom d'utilisateur.",
    );
    check(
        "invalidPasswordNotEmail",
        "Mot de passe invalide : il ne doit pas être identique au courriel.",
    );
    check(
        "invalidPasswordMinDigits",
        "Mot de passe invalide : il doit contenir au moins {0} chiffre(s).",
    );
    check("invalidEmailMessage", "Adresse de courriel invalide.");
    check(
        "emailExistsMessage",
        "Cette adresse de courriel est déjà utilisée.",
    );
    check(
        "expiredActionTokenMessage",
        "Ce lien a expiré ou a déjà été utilisé. \
         Demandez un nouveau mail d'initialisation à votre administrateur.",
    );
    check("expiredActionTokenTitle", "Lien expiré");
    check("loginCancelledMessage", "La connexion a été annulée.");
    check(
        "actionConfigureTotp",
        "Configurer l'authentification par mobile",
    );
    check("actionUpdatePassword", "Mettre à jour le mot de passe");
    check("actionUpdateProfile", "Mettre à jour le compte");
    check("actionVerifyEmail", "Vérifier le courriel");
    check(
        "executeActionsSubject",
        "Initialisation de votre compte {0}",
    );

    assert!(french.values().all(|text| !text.contains("Veillez")));
}

#[test]
fn message_formats_parameters_and_falls_back() {
    let ui = ui();

    assert_eq!(ui.message("fr", "doLogIn", &[]), "Connexion");
    assert_eq!(ui.message("en", "doLogIn", &[]), "Sign in");
    assert_eq!(ui.message("de", "doLogIn", &[]), "Connexion");
    assert_eq!(ui.message("fr", "noSuchKey", &["x"]), "noSuchKey");
}

#[test]
fn format_message_replaces_numbered_parameters() {
    fn check(text: &str, params: &[&str], expected: &str) {
        assert_eq!(
            bundle::format_message(text, params),
            expected,
            "{text:?} {params:?}"
        );
    }

    check("Bonjour {0} !", &["Jeanne"], "Bonjour Jeanne !");
    check("{1} puis {0}", &["a", "b"], "b puis a");
    check("{0}{0}", &["x"], "xx");
    check("manque {1}", &["a"], "manque {1}");
    check("vide {}", &["a"], "vide {}");
    check("lettre {a}", &["a"], "lettre {a}");
    check("ouvert {0", &["a"], "ouvert {0");
    check("double {{0}}", &["a"], "double {a}");
    check("{0} et {1}", &["{1}", "b"], "{1} et b");
    check("l'apostrophe {0}", &["reste"], "l'apostrophe reste");
    check(
        "énorme {99999999999999999999999}",
        &["a"],
        "énorme {99999999999999999999999}",
    );
    check("accent {0} é", &["à"], "accent à é");
}

#[test]
fn bundle_parser_reads_the_flat_subset_of_toml() {
    let text = "\u{feff}# comment\r\n\
                \r\n\
                plain = \"Nom d'utilisateur\"\r\n\
                  indented-key_2 = 'littéral \\n'   # trailing comment\n\
                escapes = \"a\\\"b\\\\c\\td\\u00A0e\\U0001F600\"\n\
                empty = \"\"\n";

    let parsed = bundle::parse_bundle(text).expect("valid bundle");

    assert_eq!(
        parsed,
        messages(&[
            ("plain", "Nom d'utilisateur"),
            ("indented-key_2", "littéral \\n"),
            ("escapes", "a\"b\\c\td\u{a0}e\u{1F600}"),
            ("empty", ""),
        ])
    );
}

#[test]
fn bundle_parser_refuses_what_is_outside_the_subset() {
    fn check(text: &str, line: usize, reason: &str) {
        let error = bundle::parse_bundle(text).expect_err(text);
        assert_eq!(error.line, line, "{text:?}: {error}");
        assert!(error.reason.contains(reason), "{text:?}: {error}");
    }

    check("a = \"x\"\n[section]\n", 2, "tables are not supported");
    check("a = \"x\"\na = \"y\"\n", 2, "defined twice");
    check("a \"x\"\n", 1, "expected '='");
    check("= \"x\"\n", 1, "expected a key");
    check("a.b = \"x\"\n", 1, "expected '='");
    check("a = x\n", 1, "quoted string");
    check("a = 1\n", 1, "quoted string");
    check("a = \"x\n", 1, "unterminated");
    check("a = 'x\n", 1, "unterminated");
    check("a = \"x\\q\"\n", 1, "unknown escape");
    check("a = \"\\u12\"\n", 1, "hexadecimal digits");
    check("a = \"\\uD800\"\n", 1, "not a Unicode scalar value");
    check("a = \"x\" y\n", 1, "unexpected text");
    check("a = \"\"\"x\"\"\"\n", 1, "multi-line");
    check("a = \"x\u{7}\"\n", 1, "control characters");
}

#[test]
fn bundle_parse_error_names_its_line() {
    let error = BundleParseError {
        line: 3,
        reason: "unterminated string".to_owned(),
    };

    assert_eq!(error.to_string(), "line 3: unterminated string");
}

// ---------------------------------------------------------------------------------------------
// Locale negotiation

#[test]
fn locales_lists_the_bundles() {
    assert_eq!(ui().locales(), ["en", "fr"]);
}

#[test]
fn negotiate_locale_follows_ui_locales_cookie_header_then_default() {
    let ui = ui();
    let both = ["fr".to_owned(), "en".to_owned()];
    let french_only = ["fr".to_owned()];
    let unbundled = ["de".to_owned()];
    let check = |ui_locales: Option<&str>,
                 cookie: Option<&str>,
                 accept_language: Option<&str>,
                 supported: &[String],
                 default: &str,
                 expected: &str| {
        let chosen = ui.negotiate_locale(ui_locales, cookie, accept_language, supported, default);
        assert_eq!(
            chosen, expected,
            "ui_locales={ui_locales:?} cookie={cookie:?} accept={accept_language:?} \
             supported={supported:?} default={default}"
        );
    };

    // Nothing asked: the realm's default.
    check(None, None, None, &both, "fr", "fr");
    check(None, None, None, &both, "en", "en");
    // ui_locales wins, first supported tag in order.
    check(Some("de en fr"), Some("fr"), Some("fr"), &both, "fr", "en");
    check(Some("  en-GB  "), None, None, &both, "fr", "en");
    check(Some("de it"), Some("en"), None, &both, "fr", "en");
    // Then the cookie.
    check(None, Some("en"), Some("fr"), &both, "fr", "en");
    check(None, Some("de"), Some("en"), &both, "fr", "en");
    // Then Accept-Language by weight, ties in header order.
    check(
        None,
        None,
        Some("en-US,en;q=0.9,fr;q=0.8"),
        &both,
        "fr",
        "en",
    );
    check(
        None,
        None,
        Some("de-DE, fr;q=0.5, en;q=0.7"),
        &both,
        "fr",
        "en",
    );
    check(None, None, Some("fr;q=0.5, en;q=0.5"), &both, "en", "fr");
    check(None, None, Some("en;q=0, fr;q=0.1"), &both, "en", "fr");
    check(None, None, Some("en;q=0"), &both, "fr", "fr");
    check(None, None, Some("*"), &both, "en", "en");
    check(None, None, Some("en;q=abc, fr"), &both, "en", "fr");
    check(None, None, Some("en;q=NaN"), &both, "fr", "fr");
    check(None, None, Some("en;q=2"), &both, "fr", "fr");
    check(None, None, Some("en;level"), &both, "fr", "fr");
    check(None, None, Some(",,;,"), &both, "en", "en");
    check(None, None, Some("EN"), &both, "fr", "en");
    // Only the realm's supported locales count.
    check(Some("en"), Some("en"), Some("en"), &french_only, "fr", "fr");
    // A default the realm does not support falls back to French.
    check(None, None, None, &french_only, "en", "fr");
    // A realm whose locales all lack a bundle can use every bundle.
    check(Some("en"), None, None, &unbundled, "de", "en");
    check(None, None, None, &unbundled, "de", "fr");
    check(None, None, None, &[], "en", "en");
}

// ---------------------------------------------------------------------------------------------
// Override directory

#[test]
fn override_dir_replaces_a_template() {
    let dir = TempDir::new("template");
    dir.write(
        "base/login/login.html",
        "{% extends \"login/layout.html\" %}\
         {% block title %}Personnalisé{% endblock title %}\
         {% block heading %}{{ msg.loginTitle }} (thème local){% endblock heading %}",
    );

    let ui = Ui::load(Some(dir.path())).expect("overridden theme loads");
    let html = render(&ui, "login.html", "fr", &json!({"realm_name": "Smart OA"}));
    let other_page = render(&ui, "logged_out.html", "fr", &json!({}));

    assert!(
        html.contains("<h1>Connectez-vous à votre compte (thème local)</h1>"),
        "{html}"
    );
    assert!(html.contains("<title>Personnalisé – Smart OA</title>"));
    assert!(
        other_page.contains("<p>Vous êtes déconnecté.</p>"),
        "other pages unchanged"
    );
    assert!(Ui::load(None).is_ok_and(|embedded| {
        embedded
            .render(
                "login.html",
                "fr",
                &json!({"action_url": "/", "csrf_token": "t"}),
            )
            .is_ok_and(|page| !page.contains("thème local"))
    }));
}

#[test]
fn override_dir_replaces_a_bundle_and_a_resource() {
    let dir = TempDir::new("bundle");
    let french = theme::BUNDLES
        .iter()
        .find(|(locale, _)| *locale == "fr")
        .map(|(_, text)| *text)
        .expect("French bundle embedded")
        .replace("doLogIn = \"Connexion\"", "doLogIn = \"Se connecter\"");
    dir.write("base/messages/messages_fr.toml", &french);
    dir.write("base/resources/css/login.css", "body { color: black; }\n");
    dir.write("base/resources/css/unknown.css", "ignored");

    let ui = Ui::load(Some(dir.path())).expect("overridden theme loads");

    assert_eq!(ui.message("fr", "doLogIn", &[]), "Se connecter");
    assert_eq!(ui.message("en", "doLogIn", &[]), "Sign in");
    assert_eq!(
        ui.resource("css/login.css").map(|(bytes, _)| bytes),
        Some(&b"body { color: black; }\n"[..])
    );
    assert!(ui.resource("css/unknown.css").is_none());
}

#[test]
fn override_bundle_missing_a_key_is_refused() {
    let dir = TempDir::new("missing-key");
    dir.write("base/messages/messages_en.toml", "doLogIn = \"Sign in\"\n");

    let result = Ui::load(Some(dir.path()));

    assert!(
        matches!(&result, Err(UiError::Bundle(reason))
            if reason.contains("messages_en.toml") && reason.contains("loginTitle")),
        "{result:?}"
    );
}

#[test]
fn override_bundle_with_an_extra_key_in_one_locale_is_refused() {
    let dir = TempDir::new("extra-key");
    let english = theme::BUNDLES
        .iter()
        .find(|(locale, _)| *locale == "en")
        .map(|(_, text)| format!("{text}\nportalName = \"Smart OA\"\n"))
        .expect("English bundle embedded");
    dir.write("base/messages/messages_en.toml", &english);

    let result = Ui::load(Some(dir.path()));

    assert!(
        matches!(&result, Err(UiError::Bundle(reason)) if reason.contains("portalName")),
        "{result:?}"
    );
}

#[test]
fn override_bundle_with_a_syntax_error_names_file_and_line() {
    let dir = TempDir::new("syntax");
    dir.write(
        "base/messages/messages_fr.toml",
        "# ok\nloginTitle = Connexion\n",
    );

    let result = Ui::load(Some(dir.path()));

    assert!(
        matches!(&result, Err(UiError::Bundle(reason))
            if reason.contains("messages_fr.toml: line 2")),
        "{result:?}"
    );
}

#[test]
fn override_template_with_a_syntax_error_is_refused() {
    let dir = TempDir::new("bad-template");
    dir.write(
        "base/login/error.html",
        "{% extends \"login/layout.html\" %}{% block content %}",
    );

    let result = Ui::load(Some(dir.path()));

    assert!(
        matches!(result, Err(UiError::TemplateInvalid(_))),
        "{result:?}"
    );
}

#[test]
fn override_dir_that_does_not_exist_is_refused() {
    let dir = TempDir::new("absent");
    let absent = dir.path().join("absent");
    dir.write("file", "x");

    let absent_result = Ui::load(Some(&absent));
    let file_result = Ui::load(Some(&dir.path().join("file")));

    assert!(matches!(
        absent_result,
        Err(UiError::OverrideUnreadable { .. })
    ));
    assert!(
        matches!(&file_result, Err(UiError::OverrideUnreadable { reason, .. })
            if reason == "not a directory"),
        "{file_result:?}"
    );
}

#[test]
fn empty_override_dir_keeps_the_embedded_theme() {
    let dir = TempDir::new("empty");

    let ui = Ui::load(Some(dir.path())).expect("empty override directory is fine");

    assert_eq!(ui.message("fr", "doLogIn", &[]), "Connexion");
}

// ---------------------------------------------------------------------------------------------
// Second sign-in step and required actions

/// Renders `template` in French with `context` and returns the text as read on screen.
fn french_text(ui: &Ui, template: &str, context: &Value) -> String {
    visible_text(&render(ui, template, "fr", context))
}

fn assert_contains_all(page: &str, text: &str, expected: &[&str]) {
    for fragment in expected {
        assert!(
            text.contains(fragment),
            "{page}: missing {fragment:?} in\n{text}"
        );
    }
}

#[test]
fn form_pages_render_with_only_their_required_fields() {
    let ui = ui();
    let required = json!({"action_url": "/a", "csrf_token": "t", "step": "s"});
    let mut config_totp = required.clone();
    config_totp["qr_svg"] = json!(SAMPLE_QR_SVG);
    config_totp["manual_url"] = json!("/a?mode=manual");

    for (template, context) in [
        ("login-otp.html", &required),
        ("login-config-totp.html", &config_totp),
        ("login-update-password.html", &required),
        ("login-update-profile.html", &required),
    ] {
        let html = render(&ui, template, "fr", context);

        assert!(!html.contains("error-summary"), "{template}");
        assert!(!html.contains("aria-invalid"), "{template}");
        assert!(!html.contains("field-error"), "{template}");
        assert!(
            html.contains(r#"<input type="hidden" name="step" value="s">"#),
            "{template} echoes the step"
        );
        assert!(
            html.contains(r#"<input type="hidden" name="csrf_token" value="t">"#),
            "{template}"
        );
        assert!(
            html.contains(r#"<p class="form-hint">* Champs requis</p>"#),
            "{template}"
        );
    }
}

#[test]
fn form_pages_need_their_step() {
    let ui = ui();
    let context = json!({"action_url": "/a", "csrf_token": "t"});

    for template in [
        "login-otp.html",
        "login-update-password.html",
        "login-update-profile.html",
    ] {
        let result = ui.render(template, "fr", &context);
        assert!(
            matches!(&result, Err(UiError::Render(reason)) if reason.contains("step")),
            "{template}: {result:?}"
        );
    }
}

#[test]
fn otp_page_shows_the_labels_of_the_guide() {
    let ui = ui();
    let context = form_context(json!({
        "devices": [
            {"id": "credential-1", "label": "Test Tuto Initialisation 1"},
            {"id": "credential-2", "label": "Test Tuto 2"},
        ],
        "selected": "credential-2",
    }));

    let text = french_text(&ui, "login-otp.html", &context);

    assert_contains_all(
        "login-otp.html",
        &text,
        &[
            "Connectez-vous à votre compte\n* Champs requis\nChoisissez votre appareil *\n\
             Test Tuto Initialisation 1\nTest Tuto 2\nCode à usage unique *\nConnexion",
        ],
    );
}

#[test]
fn otp_page_with_several_devices_offers_a_radio_group() {
    let ui = ui();
    let context = &sample_contexts()[6].1;

    let html = decode_entities(&render(&ui, "login-otp.html", "fr", context));

    assert_contains_all(
        "login-otp.html",
        &html,
        &[
            r#"<fieldset id="selected_credential">"#,
            "<legend>Choisissez votre appareil<span",
            concat!(
                r#"<input id="device-1" name="selected_credential" type="radio" "#,
                r#"value="credential-1" required>"#,
            ),
            r#"<label for="device-1">Test Tuto Initialisation 1</label>"#,
            concat!(
                r#"<input id="device-2" name="selected_credential" type="radio" "#,
                r#"value="credential-2" required checked>"#,
            ),
            r#"<label for="device-2">Test Tuto 2</label>"#,
            "</fieldset>",
            concat!(
                r#"<input id="otp" name="otp" type="text" inputmode="numeric" "#,
                r#"autocomplete="one-time-code" required autofocus "#,
                r#"aria-invalid="true" aria-describedby="otp-error">"#,
            ),
            r#"<p id="otp-error" class="field-error">Code à usage unique invalide.</p>"#,
            r##"<li><a href="#otp">Code à usage unique invalide.</a></li>"##,
            r#"<button type="submit" class="button button-primary">Connexion</button>"#,
        ],
    );
    assert_eq!(html.matches(" checked").count(), 1);

    let english = render(&ui, "login-otp.html", "en", context);
    assert!(english.contains("<legend>Choose your device<span"));
    assert!(english.contains(r#"<label for="otp">One-time code<span"#));
}

#[test]
fn otp_page_marks_the_device_choice_invalid() {
    let ui = ui();
    let context = form_context(json!({
        "devices": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}],
        "selected": "",
        "errors": {"selected_credential": "Choisissez un appareil."},
    }));

    let html = render(&ui, "login-otp.html", "fr", &context);

    assert!(html.contains(
        r#"<fieldset id="selected_credential" aria-describedby="selected_credential-error">"#
    ));
    assert!(html.contains(
        r#"<p id="selected_credential-error" class="field-error">Choisissez un appareil.</p>"#
    ));
    assert_eq!(html.matches(r#"aria-invalid="true""#).count(), 2, "{html}");
    assert!(!html.contains(" checked"), "nothing selected");
    assert!(html.contains(r##"<a href="#selected_credential">"##));
}

#[test]
fn otp_page_with_one_device_sends_it_hidden() {
    let ui = ui();
    let one = form_context(json!({"devices": [{"id": "credential-1", "label": "Mobile"}]}));
    let none = form_context(json!({"devices": []}));

    let with_one = render(&ui, "login-otp.html", "fr", &one);
    let with_none = render(&ui, "login-otp.html", "fr", &none);

    assert!(
        with_one
            .contains(r#"<input type="hidden" name="selected_credential" value="credential-1">"#)
    );
    assert!(!with_one.contains("<fieldset"));
    assert!(!with_one.contains("Mobile"), "a lone device is not shown");
    assert!(!with_none.contains("selected_credential"));
}

#[test]
fn config_totp_page_shows_step_2_of_the_guide() {
    let ui = ui();
    let context = &sample_contexts()[7].1;

    let html = render(&ui, "login-config-totp.html", "fr", context);
    let text = visible_text(&html);

    assert_contains_all(
        "login-config-totp.html",
        &text,
        &["Configuration de l'authentification par mobile\n\
           ⚠\n\
           Le temps imparti pour la connexion est écoulé. \
           Le processus de connexion redémarre depuis le début.\n\
           Code à usage unique invalide.\n\
           Code à usage unique invalide.\n\
           Veuillez saisir un nom d'appareil.\n\
           Installez une des applications suivantes sur votre mobile :\n\
           Microsoft Authenticator\nFreeOTP\nGoogle Authenticator\n\
           Ouvrez l'application et scannez le code-barres :\n\
           Impossible de scanner ?\n\
           Entrez le code à usage unique fourni par l'application et cliquez sur Soumettre \
           pour terminer.\n\
           Renseignez un nom d'appareil pour vous aider à gérer vos appareils OTP.\n\
           * Champs requis\n\
           Code à usage unique *\n\
           Code à usage unique invalide.\n\
           Nom d'appareil *\n\
           Veuillez saisir un nom d'appareil.\n\
           Se déconnecter des autres appareils\n\
           Soumettre\nAnnuler"],
    );
    let html = decode_entities(&html);
    assert_contains_all(
        "login-config-totp.html",
        &html,
        &[
            "<ol class=\"steps\">",
            &format!(r#"<div class="qr-code">{SAMPLE_QR_SVG}</div>"#),
            r#"<a href="/realms/smart-oa/login-actions/required-action?mode=manual">"#,
            concat!(
                r#"<input id="totp" name="totp" type="text" inputmode="numeric" "#,
                r#"autocomplete="one-time-code" required "#,
                r#"aria-invalid="true" aria-describedby="totp-error">"#,
            ),
            concat!(
                r#"<input id="userLabel" name="userLabel" type="text" "#,
                r#"value="Téléphone de Jeanne" autocomplete="off" required "#,
                r#"aria-invalid="true" aria-describedby="userLabel-error">"#,
            ),
            concat!(
                r#"<input id="logout-sessions" name="logout-sessions" type="checkbox" "#,
                r#"value="on" checked>"#,
            ),
            r#"<button type="submit" class="button button-primary">Soumettre</button>"#,
            concat!(
                r#"<button type="submit" class="button button-secondary" name="cancel" "#,
                r#"value="true" formnovalidate>Annuler</button>"#,
            ),
        ],
    );
    assert!(!html.contains("JBSW"), "the key only shows in manual mode");
}

#[test]
fn config_totp_page_in_manual_mode_shows_the_grouped_key_and_settings() {
    let ui = ui();
    let context = &sample_contexts()[8].1;

    let html = render(&ui, "login-config-totp.html", "fr", context);
    let text = visible_text(&html);
    let english = visible_text(&render(&ui, "login-config-totp.html", "en", context));

    assert!(
        html.contains(r#"<code id="totp-secret" class="secret-key">JBSW Y3DP EHPK 3PXP</code>"#)
    );
    assert_contains_all(
        "login-config-totp.html",
        &text,
        &["Ouvrez l'application et saisissez la clé :\n\
           JBSW Y3DP EHPK 3PXP\n\
           Utilisez les valeurs de configuration suivantes si l'application permet de les \
           définir :\n\
           Type : Basé sur le temps\n\
           Algorithme : SHA1\n\
           Chiffres : 6\n\
           Intervalle : 30 secondes\n\
           Scanner le code-barres ?"],
    );
    assert!(
        decode_entities(&html)
            .contains(r#"<a href="/realms/smart-oa/login-actions/required-action">"#)
    );
    assert!(!html.contains("<svg"), "no QR code in manual mode");
    assert!(!text.contains("Impossible de scanner"));
    assert!(!html.contains(r#"name="cancel""#), "no cancel unless asked");
    assert!(!html.contains(" checked"));
    assert!(english.contains("Type: Time-based\nAlgorithm: SHA1\nDigits: 6\nInterval: 30 seconds"));
}

#[test]
fn config_totp_page_refuses_an_unsafe_manual_link() {
    let ui = ui();
    let context = form_context(json!({
        "qr_svg": SAMPLE_QR_SVG,
        "manual_url": "javascript:alert(1)",
    }));

    let result = ui.render("login-config-totp.html", "fr", &context);

    assert!(matches!(result, Err(UiError::Render(_))), "{result:?}");
}

#[test]
fn update_password_page_ties_a_field_error_to_its_field() {
    let ui = ui();
    let context = form_context(json!({
        "errors": {"password-new": "Mot de passe invalide : longueur minimale 12."},
        "username": "jeanne@example.fr",
    }));

    let html = render(&ui, "login-update-password.html", "fr", &context);

    let expected = r##"<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Mise à jour du mot de passe – Smart OA</title>
<link rel="stylesheet" href="{stylesheet}">
</head>
<body>
<header class="site-header">
<p class="realm-name">Smart OA</p>
</header>
<main id="main" class="card">
<h1>Mise à jour du mot de passe</h1>

<div id="error-summary" class="alert alert-error" role="alert">
<div class="alert-body">
<p>Veuillez corriger les erreurs suivantes :</p>
<ul class="error-list">
<li><a href="#password-new">Mot de passe invalide : longueur minimale 12.</a></li>
</ul>
</div>
</div>
<div class="alert alert-warning">
<span class="alert-icon" aria-hidden="true">⚠</span>
<p>Vous devez changer votre mot de passe.</p>
</div>
<form id="password-form" class="form" action="{action}" method="post">
<input type="hidden" name="csrf_token" value="csrf-123">
<input type="hidden" name="step" value="step-42">
{username_input}
<p class="form-hint">* Champs requis</p>
<div class="field">
<label for="password-new">Nouveau mot de passe{required_mark}</label>
{new_input}
<p id="password-new-error" class="field-error">Mot de passe invalide : longueur minimale 12.</p>
</div>
<div class="field">
<label for="password-confirm">Confirmation du mot de passe{required_mark}</label>
{confirm_input}
</div>
<div class="field choice">
<input id="logout-sessions" name="logout-sessions" type="checkbox" value="on">
<label for="logout-sessions">Se déconnecter des autres appareils</label>
</div>
<div class="form-actions">
<button type="submit" class="button button-primary">Soumettre</button>
</div>
</form>

</main>

</body>
</html>
"##
    .replace("{stylesheet}", &stylesheet_href(&ui))
    .replace(
        "{action}",
        "&#x2F;realms&#x2F;smart-oa&#x2F;login-actions&#x2F;required-action?session_code=abc",
    )
    // Lines too long for the source file.
    .replace(
        "{username_input}",
        concat!(
            r#"<input id="username" name="username" type="text" value="jeanne@example.fr" "#,
            r#"autocomplete="username" readonly hidden>"#,
        ),
    )
    .replace(
        "{required_mark}",
        r#"<span class="required-mark" aria-hidden="true"> *</span>"#,
    )
    .replace(
        "{new_input}",
        concat!(
            r#"<input id="password-new" name="password-new" type="password" "#,
            r#"autocomplete="new-password" required autofocus "#,
            r#"aria-invalid="true" aria-describedby="password-new-error">"#,
        ),
    )
    .replace(
        "{confirm_input}",
        concat!(
            r#"<input id="password-confirm" name="password-confirm" type="password" "#,
            r#"autocomplete="new-password" required>"#,
        ),
    );
    assert_same_document(&html, &expected);
}

#[test]
fn update_password_page_shows_step_3_of_the_guide() {
    let ui = ui();
    let context = &sample_contexts()[9].1;

    let html = render(&ui, "login-update-password.html", "fr", context);
    let text = visible_text(&html);

    assert_contains_all(
        "login-update-password.html",
        &text,
        &["Mise à jour du mot de passe\n\
           ⚠\n\
           Le temps imparti pour la connexion est écoulé. \
           Le processus de connexion redémarre depuis le début.\n\
           Les mots de passe ne correspondent pas.\n\
           Mot de passe invalide : longueur minimale 12.\n\
           Les mots de passe ne correspondent pas.\n\
           ⚠\nVous devez changer votre mot de passe.\n\
           * Champs requis\n\
           Nouveau mot de passe *\n\
           Mot de passe invalide : longueur minimale 12.\n\
           Confirmation du mot de passe *\n\
           Les mots de passe ne correspondent pas.\n\
           Se déconnecter des autres appareils\n\
           Soumettre"],
    );
    // The summary lists the fields in form order, not in the order of the keys.
    let new_link = html.find(r##"href="#password-new""##);
    let confirm_link = html.find(r##"href="#password-confirm""##);
    assert!(new_link < confirm_link, "{html}");
    assert!(html.contains(concat!(
        r#"<input id="password-confirm" name="password-confirm" type="password" "#,
        r#"autocomplete="new-password" required "#,
        r#"aria-invalid="true" aria-describedby="password-confirm-error">"#,
    )));
}

#[test]
fn update_profile_page_shows_step_4_of_the_guide() {
    let ui = ui();
    let context = form_context(json!({
        "errors": {
            "firstName": "Veuillez renseigner ce champ.",
            "lastName": "Veuillez renseigner ce champ.",
        },
        "email": "jeanne@example.fr",
        "first_name": "",
        "last_name": "",
    }));

    let html = render(&ui, "login-update-profile.html", "fr", &context);
    let text = visible_text(&html);

    assert_contains_all(
        "login-update-profile.html",
        &text,
        &["Mise à jour du compte\n\
           Veuillez corriger les erreurs suivantes :\n\
           Veuillez renseigner ce champ.\n\
           Veuillez renseigner ce champ.\n\
           * Champs requis\n\
           Courriel *\n\
           Prénom *\n\
           Veuillez renseigner ce champ.\n\
           Nom *\n\
           Veuillez renseigner ce champ.\n\
           Soumettre"],
    );
    let html = decode_entities(&html);
    assert_contains_all(
        "login-update-profile.html",
        &html,
        &[
            concat!(
                r#"<input id="email" name="email" type="email" value="jeanne@example.fr" "#,
                r#"autocomplete="email" autocapitalize="none" spellcheck="false" required>"#,
            ),
            concat!(
                r#"<input id="firstName" name="firstName" type="text" value="" "#,
                r#"autocomplete="given-name" required "#,
                r#"aria-invalid="true" aria-describedby="firstName-error">"#,
            ),
            concat!(
                r#"<input id="lastName" name="lastName" type="text" value="" "#,
                r#"autocomplete="family-name" required "#,
                r#"aria-invalid="true" aria-describedby="lastName-error">"#,
            ),
            r#"<p id="firstName-error" class="field-error">Veuillez renseigner ce champ.</p>"#,
            r#"<p id="lastName-error" class="field-error">Veuillez renseigner ce champ.</p>"#,
        ],
    );
    assert!(!html.contains(r#"aria-describedby="email-error""#));
}

#[test]
fn update_profile_page_escapes_the_values_it_echoes() {
    let ui = ui();
    let attack = r#""><script>alert(1)</script>"#;
    let context = form_context(json!({
        "email": attack,
        "first_name": attack,
        "last_name": attack,
        "errors": {"email": attack},
    }));

    let html = render(&ui, "login-update-profile.html", "fr", &context);

    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&quot;&gt;&lt;script&gt;"));
}

#[test]
fn account_updated_page_uses_the_info_template() {
    let ui = ui();
    let context = json!({
        "realm_name": "Smart OA",
        "title": "accountUpdatedTitle",
        "message": "accountUpdatedMessage",
        "link_url": "https://portal.example/",
        "link_text": "clickHereToLogIn",
    });

    let text = french_text(&ui, "info.html", &context);
    let english = visible_text(&render(&ui, "info.html", "en", &context));

    assert!(text.contains(
        "Votre compte a été mis à jour\nVotre compte a été mis à jour.\n\
         Cliquez ici pour vous connecter"
    ));
    assert!(english.contains("Your account has been updated\n"));
}

#[test]
fn partials_are_not_pages() {
    let ui = ui();

    let result = ui.render("_alerts.html", "fr", &json!({}));

    assert!(
        matches!(&result, Err(UiError::TemplateMissing(name)) if name == "login/_alerts.html"),
        "{result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Mails

fn mail_context(link: &str) -> Value {
    json!({
        "realm_name": "Smart OA",
        "user_name": "",
        "link": link,
        "link_expiration": "7 jours",
        "actions": [
            "Configurer l'authentification par mobile",
            "Mettre à jour le mot de passe",
            "Mettre à jour le compte",
        ],
    })
}

const SAMPLE_LINK: &str =
    "https://idp.example/realms/smart-oa/login-actions/action-token?key=abc.def&client_id=portal";

fn render_mail(ui: &Ui, locale: &str, context: &Value) -> crate::RenderedMail {
    match ui.render_email("execute-actions", locale, &["Smart OA"], context) {
        Ok(mail) => mail,
        Err(err) => panic!("execute-actions in {locale} failed to render: {err}"),
    }
}

#[test]
fn execute_actions_mail_in_french_is_the_expected_text() {
    let ui = ui();

    let mail = render_mail(&ui, "fr", &mail_context(SAMPLE_LINK));

    assert_eq!(mail.subject, "Initialisation de votre compte Smart OA");
    let expected = "Smart OA

Bonjour,

Votre administrateur vous demande de finaliser votre compte Smart OA : Configurer \
l'authentification par mobile, Mettre à jour le mot de passe, Mettre à jour le compte. \
Cliquez sur le lien ci-dessous pour commencer.

https://idp.example/realms/smart-oa/login-actions/action-token?key=abc.def&client_id=portal

Ce lien expire dans 7 jours.

Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.

-- 
Ce message vous a été envoyé automatiquement par Smart OA.
";
    assert_same_document(&mail.text, expected);
}

#[test]
fn execute_actions_mail_html_part_escapes_and_holds_the_link() {
    let ui = ui();
    let escaped_link = "https:&#x2F;&#x2F;idp.example&#x2F;realms&#x2F;smart-oa&#x2F;\
                        login-actions&#x2F;action-token?key=abc.def&amp;client_id=portal";

    let mail = render_mail(&ui, "fr", &mail_context(SAMPLE_LINK));

    assert!(mail.html.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">"));
    assert!(
        mail.html
            .contains("<title>Initialisation de votre compte Smart OA</title>")
    );
    assert!(
        mail.html
            .contains(&format!(r#"<a href="{escaped_link}" style="#)),
        "button link: {}",
        mail.html
    );
    assert!(
        mail.html.contains(&format!(">{escaped_link}</p>")),
        "the link as text"
    );
    assert!(
        !mail.html.contains("&client_id"),
        "a raw & in the HTML part"
    );
    assert_contains_all(
        "execute-actions.html",
        &visible_text(&mail.html),
        &[
            "Smart OA\nBonjour,\n\
             Votre administrateur vous demande de finaliser votre compte Smart OA : \
             Configurer l'authentification par mobile, Mettre à jour le mot de passe, \
             Mettre à jour le compte. Cliquez sur le lien ci-dessous pour commencer.\n\
             Finaliser mon compte\n",
            "Ce lien expire dans 7 jours.\n\
             Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\
             Ce message vous a été envoyé automatiquement par Smart OA.",
        ],
    );
}

#[test]
fn execute_actions_mail_escapes_only_its_html_part() {
    let ui = ui();
    let mut context = mail_context("https://idp.example/a?x=1&y=2");
    context["user_name"] = json!("Jeanne <Dupont> & Cie");

    let mail = render_mail(&ui, "fr", &context);

    assert!(mail.text.contains("Bonjour Jeanne <Dupont> & Cie,\n"));
    assert!(mail.text.contains("\nhttps://idp.example/a?x=1&y=2\n"));
    assert!(!mail.text.contains("&amp;"));
    assert!(!mail.text.contains("&#x"));
    assert!(
        mail.html
            .contains("Bonjour Jeanne &lt;Dupont&gt; &amp; Cie,")
    );
    assert!(!mail.html.contains("<Dupont>"));
}

#[test]
fn execute_actions_mail_in_english() {
    let ui = ui();
    let mut context = mail_context(SAMPLE_LINK);
    context["user_name"] = json!("Jeanne Dupont");
    context["link_expiration"] = json!("7 days");
    context["actions"] = json!(["Set up mobile authentication", "Update your password"]);

    let mail = render_mail(&ui, "en", &context);

    assert_eq!(mail.subject, "Set up your Smart OA account");
    assert_contains_all(
        "execute-actions.txt",
        &mail.text,
        &[
            "Hello Jeanne Dupont,\n",
            "Your administrator asks you to finish setting up your Smart OA account: \
             Set up mobile authentication, Update your password. Click the link below to start.",
            &format!("\n{SAMPLE_LINK}\n"),
            "This link expires in 7 days.",
        ],
    );
    assert!(mail.html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(mail.html.contains(">Set up my account</a>"));
}

#[test]
fn mail_subject_stays_on_one_line() {
    let ui = ui();

    let mail = ui
        .render_email(
            "execute-actions",
            "fr",
            &["Smart\r\nBcc: someone@example.org\t"],
            &mail_context(SAMPLE_LINK),
        )
        .expect("mail renders");

    assert_eq!(
        mail.subject,
        "Initialisation de votre compte Smart Bcc: someone@example.org"
    );
}

#[test]
fn mail_errors_are_errors() {
    let ui = ui();
    let context = mail_context(SAMPLE_LINK);

    let missing = ui.render_email("no-such-mail", "fr", &[], &context);
    let partial = ui.render_email("_header", "fr", &[], &context);
    let traversal = ui.render_email("../login/login", "fr", &[], &context);
    let not_object = ui.render_email("execute-actions", "fr", &[], &json!("x"));
    let unsafe_link = ui.render_email(
        "execute-actions",
        "fr",
        &[],
        &mail_context("javascript:alert(1)"),
    );
    let missing_variable = ui.render_email("execute-actions", "fr", &[], &json!({}));

    assert!(
        matches!(&missing, Err(UiError::TemplateMissing(name))
            if name == "email/no-such-mail.subject.txt"),
        "{missing:?}"
    );
    assert!(matches!(partial, Err(UiError::TemplateMissing(_))));
    assert!(matches!(traversal, Err(UiError::TemplateMissing(_))));
    assert!(matches!(not_object, Err(UiError::ContextNotObject)));
    assert!(
        matches!(&unsafe_link, Err(UiError::Render(reason)) if reason.contains("refused a URL")),
        "{unsafe_link:?}"
    );
    assert!(matches!(missing_variable, Err(UiError::Render(_))));
}

#[test]
fn rendered_mail_debug_leaves_the_link_out() {
    let mail = render_mail(&ui(), "fr", &mail_context(SAMPLE_LINK));

    let debug = format!("{mail:?}");

    assert!(debug.contains("Initialisation de votre compte Smart OA"));
    assert!(!debug.contains("action-token"), "{debug}");
}

#[test]
fn mail_templates_have_no_script_and_share_partials() {
    for (name, text) in theme::TEMPLATES {
        if !name.starts_with("email/") {
            continue;
        }
        assert!(!text.to_ascii_lowercase().contains("<script"), "{name}");
    }
    let body = |name: &str| {
        theme::TEMPLATES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, text)| *text)
            .unwrap_or_else(|| panic!("{name} embedded"))
    };

    assert!(body("email/execute-actions.html").contains(r#"{% include "email/_header.html" %}"#));
    assert!(body("email/execute-actions.html").contains(r#"{% include "email/_footer.html" %}"#));
    assert!(body("email/execute-actions.txt").contains(r#"{% include "email/_header.txt""#));
    assert!(body("email/execute-actions.txt").contains(r#"{% include "email/_footer.txt""#));
    assert!(body("email/execute-actions.subject.txt").contains("msg.executeActionsSubject"));
}

#[test]
fn override_dir_replaces_a_mail_template() {
    let dir = TempDir::new("mail");
    dir.write(
        "base/email/execute-actions.subject.txt",
        "[{{ realm_name }}] \
         {{ msg.executeActionsSubject | format_message(params=subject_params) }}",
    );

    let ui = Ui::load(Some(dir.path())).expect("overridden theme loads");
    let mail = render_mail(&ui, "fr", &mail_context(SAMPLE_LINK));

    assert_eq!(
        mail.subject,
        "[Smart OA] Initialisation de votre compte Smart OA"
    );
}

// ---------------------------------------------------------------------------------------------
// Filters and durations

#[test]
fn format_message_filter_fills_parameters() {
    fn check(value: &Value, params: Option<Value>, expected: Result<&str, &str>) {
        let mut arguments = std::collections::HashMap::new();
        if let Some(params) = params {
            arguments.insert("params".to_owned(), params);
        }
        let result = filters::format_message(value, &arguments);
        match (result, expected) {
            (Ok(actual), Ok(expected)) => assert_eq!(actual, json!(expected)),
            (Err(err), Err(expected)) => {
                assert!(err.to_string().contains(expected), "{err}");
            }
            (result, expected) => panic!("{value} gave {result:?}, expected {expected:?}"),
        }
    }

    check(&json!("{0} jours"), Some(json!(["7"])), Ok("7 jours"));
    check(
        &json!("{0} / {1}"),
        Some(json!([30, true])),
        Ok("30 / true"),
    );
    check(&json!("{0}"), None, Ok("{0}"));
    check(&json!("{0}"), Some(json!([])), Ok("{0}"));
    check(&json!("{0}"), Some(json!("x")), Err("to be an array"));
    check(
        &json!("{0}"),
        Some(json!([null])),
        Err("strings, numbers or booleans"),
    );
    check(
        &json!("{0}"),
        Some(json!([{"a": 1}])),
        Err("strings, numbers or booleans"),
    );
    check(&json!(3), Some(json!(["x"])), Err("expects a string"));
}

#[test]
fn format_duration_uses_the_largest_exact_unit() {
    let ui = ui();
    let check = |locale: &str, seconds: i64, expected: &str| {
        assert_eq!(
            ui.format_duration(locale, seconds),
            expected,
            "{locale} {seconds}"
        );
    };

    check("fr", 7 * 86_400, "7 jours");
    check("fr", 86_400, "1 jour");
    check("fr", 12 * 3_600, "12 heures");
    check("fr", 3_600, "1 heure");
    check("fr", 36 * 3_600, "36 heures");
    check("fr", 5 * 60, "5 minutes");
    check("fr", 60, "1 minute");
    check("fr", 90 * 60, "90 minutes");
    check("fr", 90, "90 secondes");
    check("fr", 1, "1 seconde");
    check("fr", 0, "0 seconde");
    check("fr", -30, "0 seconde");
    check("fr", i64::MIN, "0 seconde");
    check("fr", i64::MAX, "9223372036854775807 secondes");
    check("en", 7 * 86_400, "7 days");
    check("en", 86_400, "1 day");
    check("en", 12 * 3_600, "12 hours");
    check("en", 3_600, "1 hour");
    check("en", 5 * 60, "5 minutes");
    check("en", 60, "1 minute");
    check("en", 1, "1 second");
    check("en", 0, "0 seconds");
    check("en-GB", 2 * 86_400, "2 days");
    check("de", 2 * 86_400, "2 jours");
}

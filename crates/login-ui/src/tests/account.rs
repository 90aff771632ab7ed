//! The account console's pages and its security mails: each renders in French and in English
//! with the accessibility wiring of the login pages.

use serde_json::{Value, json};

use super::{
    assert_descriptions_exist, assert_inputs_labelled, assert_required_fields_marked,
    csp_violations, render, ui, visible_text,
};

/// 27 March 2026 at 15:26 UTC: 16:26 in Paris, the date of the guide's first device.
const GUIDE_DEVICE_TIME: i64 = 1_774_625_160;

/// The context every console page gets, with `extra` added.
fn console_context(extra: Value) -> Value {
    let mut context = json!({
        "realm_name": "Smart OA",
        "csrf_token": "csrf-123",
        "account_url": "https://id.example/realms/smart-oa/account",
        "logout_url": "https://id.example/realms/smart-oa/protocol/openid-connect/logout",
        "user_name": "Jeanne Martin",
        "error": null,
        "errors": {},
    });
    if let (Some(context), Value::Object(extra)) = (context.as_object_mut(), extra) {
        context.extend(extra);
    }
    context
}

/// A context for each console page, with every optional part present.
fn console_contexts() -> Vec<(&'static str, Value)> {
    vec![
        (
            "account.html",
            console_context(json!({
                "error": "invalidFormMessage",
                "errors": {
                    "firstName": "Veuillez renseigner ce champ.",
                    "lastName": "Veuillez renseigner ce champ.",
                    "locale": "Choisissez une des langues proposées.",
                },
                "done": "accountProfileUpdatedMessage",
                "email": "jeanne@example.fr",
                "first_name": "",
                "last_name": "",
                "languages": [
                    {"code": "fr", "name": "Français", "selected": true},
                    {"code": "en", "name": "English", "selected": false},
                ],
                "password_url": "https://id.example/realms/smart-oa/account/password",
                "configure_totp_url": "https://id.example/realms/smart-oa/account/totp",
                "devices": [
                    {
                        "id": "d1",
                        "label": "Test Tuto Initialisation 1",
                        "created_at": GUIDE_DEVICE_TIME,
                        "delete_url": "https://id.example/realms/smart-oa/account/totp/d1/delete",
                    },
                    {
                        "id": "d2",
                        "label": "Test Tuto 2",
                        "created_at": GUIDE_DEVICE_TIME + 6_840,
                        "delete_url": "https://id.example/realms/smart-oa/account/totp/d2/delete",
                    },
                ],
                "sessions": [
                    {
                        "id": "s1",
                        "started_at": GUIDE_DEVICE_TIME,
                        "last_seen_at": GUIDE_DEVICE_TIME + 60,
                        "ip": "192.0.2.10",
                        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
                        "current": true,
                        "end_url": "https://id.example/realms/smart-oa/account/sessions/s1/end",
                    },
                    {
                        "id": "s2",
                        "started_at": GUIDE_DEVICE_TIME,
                        "last_seen_at": GUIDE_DEVICE_TIME,
                        "ip": "198.51.100.7",
                        "user_agent": "",
                        "current": false,
                        "end_url": "https://id.example/realms/smart-oa/account/sessions/s2/end",
                    },
                ],
                "events": [
                    {
                        "message": "accountEventLogin",
                        "time": GUIDE_DEVICE_TIME + 60,
                        "ip": "192.0.2.10",
                        "device": "Test Tuto 2",
                    },
                    {
                        "message": "accountEventLoginError",
                        "time": GUIDE_DEVICE_TIME,
                        "ip": "198.51.100.7",
                        "device": null,
                    },
                ],
                "end_other_sessions_url":
                    "https://id.example/realms/smart-oa/account/sessions/end-others",
            })),
        ),
        (
            "account.html",
            console_context(json!({
                "email": "jeanne@example.fr",
                "first_name": "Jeanne",
                "last_name": "Martin",
                "languages": [{"code": "fr", "name": "Français", "selected": true}],
                "password_url": "https://id.example/realms/smart-oa/account/password",
                "configure_totp_url": "https://id.example/realms/smart-oa/account/totp",
                "devices": [],
                "sessions": [],
            })),
        ),
        (
            "account-password.html",
            console_context(json!({
                "error": "invalidFormMessage",
                "errors": {
                    "password": "Mot de passe actuel incorrect.",
                    "password-new": "Mot de passe invalide : longueur minimale 12.",
                    "password-confirm": "Les mots de passe ne correspondent pas.",
                },
                "username": "jeanne@example.fr",
                "password_url": "https://id.example/realms/smart-oa/account/password",
                "logout_sessions": true,
            })),
        ),
        (
            "account-delete-device.html",
            console_context(json!({
                "device_label": "Test Tuto 2",
                "device_created_at": GUIDE_DEVICE_TIME,
                "delete_url": "https://id.example/realms/smart-oa/account/totp/d2/delete",
                "last_device": true,
            })),
        ),
    ]
}

#[test]
fn account_pages_render_in_both_locales_with_the_login_pages_wiring() {
    let ui = ui();

    for (template, context) in console_contexts() {
        for locale in ["fr", "en"] {
            let html = render(&ui, template, locale, &context);

            assert!(html.starts_with("<!DOCTYPE html>"), "{template}");
            assert!(
                html.contains(&format!(r#"<html lang="{locale}">"#)),
                "{template}"
            );
            assert_eq!(html.matches("<h1").count(), 1, "{template}: exactly one h1");
            assert!(html.contains(" – Smart OA</title>"), "{template}");
            assert_inputs_labelled(template, &html);
            assert_required_fields_marked(template, &html);
            assert_descriptions_exist(template, &html);
            assert!(!html.contains("msg."), "{template}: an unrendered key");
            assert!(csp_violations(&html).is_empty(), "{template}: {html}");
            // Every form that changes something carries the CSRF token.
            for form in html.split("<form ").skip(1) {
                assert!(
                    form.contains(r#"<input type="hidden" name="csrf_token" value="csrf-123">"#),
                    "{template}: a form without the CSRF token"
                );
                assert!(
                    form.starts_with("id=\""),
                    "{template}: a form without an id"
                );
            }
            if context["errors"]
                .as_object()
                .is_some_and(|errors| !errors.is_empty())
            {
                assert!(html.contains(r#"id="error-summary""#), "{template}");
                for field in context["errors"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(field, _)| field)
                {
                    assert!(
                        html.contains(&format!(r##"<a href="#{field}">"##)),
                        "{template}: {field} is not in the summary"
                    );
                    assert!(
                        html.contains(&format!(r#"aria-describedby="{field}-error""#)),
                        "{template}: {field} is not tied to its error"
                    );
                }
            }
        }
    }
}

#[test]
fn account_pages_render_in_the_smart_oa_theme() {
    let ui = ui();

    for (template, mut context) in console_contexts() {
        context["theme"] = json!("smart-oa");
        for locale in ["fr", "en"] {
            let html = render(&ui, template, locale, &context);
            assert_eq!(html.matches("<h1").count(), 1, "{template}");
            assert!(csp_violations(&html).is_empty(), "{template}");
        }
    }
}

#[test]
fn devices_show_their_name_and_creation_date_as_in_the_guide() {
    let ui = ui();
    let (_, context) = &console_contexts()[0];

    let french = visible_text(&render(&ui, "account.html", "fr", context));
    for expected in [
        "Authentification à deux facteurs",
        "Application d'authentification",
        "Configurer Application d'authentification",
        "Test Tuto Initialisation 1",
        "Créé le 27 mars 2026 à 16:26.",
        "Créé le 27 mars 2026 à 18:20.",
        "Supprimer",
        "Terminer toutes les autres sessions",
        "Navigateur inconnu",
        "Vos informations personnelles ont été enregistrées.",
        "Activité récente",
        "27 mars 2026 à 16:27 – Adresse IP 192.0.2.10",
        "Appareil : Test Tuto 2",
        "Échec de connexion",
    ] {
        assert!(french.contains(expected), "{expected}: {french}");
    }
    let english = visible_text(&render(&ui, "account.html", "en", context));
    for expected in [
        "Two-factor authentication",
        "Created on 27 March 2026 at 16:26.",
        "Delete",
        "End all other sessions",
    ] {
        assert!(english.contains(expected), "{expected}: {english}");
    }
}

#[test]
fn security_mails_render_in_both_locales_with_text_and_html() {
    let ui = ui();
    let cases = [
        (
            "securityAlertDeviceAddedSubject",
            "securityAlertDeviceAddedMessage",
            "Tablette",
            "Nouvel appareil d'authentification sur votre compte Smart OA",
            "New authenticator device on your Smart OA account",
        ),
        (
            "securityAlertDeviceRemovedSubject",
            "securityAlertDeviceRemovedMessage",
            "Tablette",
            "Appareil d'authentification supprimé de votre compte Smart OA",
            "Authenticator device deleted from your Smart OA account",
        ),
        (
            "securityAlertPasswordChangedSubject",
            "securityAlertPasswordChangedMessage",
            "",
            "Mot de passe changé sur votre compte Smart OA",
            "Password changed on your Smart OA account",
        ),
    ];
    for (subject_key, message_key, parameter, french_subject, english_subject) in cases {
        let context = json!({
            "realm_name": "Smart OA",
            "user_name": "Jeanne",
            "subject_key": subject_key,
            "message_key": message_key,
            "message_param": parameter,
            "account_url": "https://id.example/realms/smart-oa/account",
        });
        for (locale, subject) in [("fr", french_subject), ("en", english_subject)] {
            let mail = ui
                .render_email("security-alert", locale, &["Smart OA"], &context)
                .unwrap_or_else(|err| panic!("{message_key} in {locale}: {err}"));
            assert_eq!(mail.subject, subject);
            assert!(
                mail.text
                    .contains("https://id.example/realms/smart-oa/account")
            );
            assert!(
                mail.html.contains(r#"href="https:&#x2F;&#x2F;id.example"#),
                "{}",
                mail.html
            );
            assert!(!mail.text.contains("msg.") && !mail.html.contains("msg."));
            if !parameter.is_empty() {
                assert!(mail.text.contains(parameter), "{}", mail.text);
                assert!(mail.html.contains(parameter));
            }
        }
    }
}

//! The account console ("Mon Profil", the second half of the guide) over HTTP: signing in to it
//! with a password and a code, adding a second device through the configure-TOTP step, names
//! already used, the devices with their dates, deleting one after a confirmation, the
//! last-device rule, sessions, the password change, the fresh-login rule for sensitive changes,
//! the security mails, and `kc_action=CONFIGURE_TOTP` from a relying party.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::time::Duration;

use serde_json::{Value, json};
use sesame_actions::totp;

use crate::harness::{Backend, PORTAL, PORTAL_REDIRECT, TestServer, form_by_id};
use crate::journey::{enrol_from_qr, secret_from_qr, strong_realm};
use crate::mail::MailBox;
use crate::pages::{Page, form_fields};

const PASSWORD: &str = "un mot de passe solide";
const NEW_PASSWORD: &str = "un autre mot de passe solide";
const EMAIL: &str = "jeanne.martin@exemple.fr";
const PHONE: &str = "Téléphone de Jeanne";
const CONSOLE_TITLE: &str = "Mon compte";
const LOGIN_TITLE: &str = "Connectez-vous à votre compte";
const CONFIGURE_TITLE: &str = "Configuration de l'authentification par mobile";

/// A server with a Smart OA realm and an account whose first device was enrolled at its first
/// sign-in to the console.
struct Fixture {
    server: TestServer,
    mailbox: MailBox,
    user_id: String,
    /// The secret of the first device.
    secret: Vec<u8>,
}

impl Fixture {
    async fn start(backend: Backend) -> Fixture {
        let mailbox = MailBox::start().await;
        let server = TestServer::start_with_smtp(backend, &mailbox.url()).await;
        strong_realm(&server, json!({})).await;
        let user_id = server.create_user("jeanne.martin", EMAIL, PASSWORD).await;

        // The first visit: the login, then the device the realm requires, then the console.
        let browser = server.browser();
        let page = Page::follow(&browser, &console_url(&server, "")).await;
        assert!(page.text().contains(LOGIN_TITLE), "{}", page.text());
        let page = page
            .submit(&browser, &[("username", EMAIL), ("password", PASSWORD)])
            .await;
        let (secret, page) = enrol_from_qr(&server, &browser, &page, PHONE).await;
        assert_console(&page);
        assert!(page.text().contains(PHONE), "{}", page.text());
        let fixture = Fixture {
            server,
            mailbox,
            user_id,
            secret,
        };
        fixture
            .expect_mail(
                "Nouvel appareil d'authentification sur votre compte Smart OA",
                PHONE,
            )
            .await;
        // The code typed at enrolment is spent: the next sign-in uses the next one.
        fixture.server.advance_clock(30);
        fixture
    }

    /// Signs in to the console in `browser` with the password and a code of `secret`.
    async fn sign_in(&self, browser: &reqwest::Client, secret: &[u8]) -> Page {
        let page = Page::follow(browser, &console_url(&self.server, "")).await;
        self.log_in_from(browser, page, PASSWORD, secret).await
    }

    /// From a login page: the password, then the code; returns the page it leads to.
    async fn log_in_from(
        &self,
        browser: &reqwest::Client,
        page: Page,
        password: &str,
        secret: &[u8],
    ) -> Page {
        assert!(page.text().contains(LOGIN_TITLE), "{}", page.text());
        let page = page
            .submit(browser, &[("username", EMAIL), ("password", password)])
            .await;
        assert!(
            page.text().contains("Code à usage unique"),
            "{}",
            page.text()
        );
        let code = self.code(secret);
        page.submit(browser, &[("otp", code.as_str())]).await
    }

    fn code(&self, secret: &[u8]) -> String {
        totp::totp(secret, self.server.sesame_provider.clock.now(), 30, 6)
    }

    /// The next mail has this subject and mentions `detail`.
    async fn expect_mail(&self, subject: &str, detail: &str) {
        let mail = self
            .mailbox
            .next_mail(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no mail {subject:?}"));
        assert_eq!(mail.subject, subject);
        assert!(mail.raw.contains(EMAIL));
        assert!(mail.text.contains(detail), "{}", mail.text);
        assert!(crate::pages::unescape(&mail.html).contains(detail));
        assert!(
            mail.text
                .contains(&format!("{}/realms/test/account", self.server.base_url)),
            "{}",
            mail.text
        );
    }
}

/// The text of the devices' part of a console page.
fn devices_text(page: &Page) -> String {
    let text = page.text();
    let start = text.find("Authentification à deux facteurs").unwrap();
    let end = text.find("Sessions").unwrap();
    text[start..end].to_owned()
}

fn console_url(server: &TestServer, path: &str) -> String {
    format!("{}/realms/test/account{path}", server.base_url)
}

fn assert_console(page: &Page) {
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.text().contains(CONSOLE_TITLE)
            && page.text().contains("Authentification à deux facteurs"),
        "{}",
        page.text()
    );
}

/// Submits the form `id` of `page` with its hidden fields and `fields`, following Sésame's
/// redirects to the page it leads to.
async fn submit_form(
    browser: &reqwest::Client,
    page: &Page,
    id: &str,
    fields: &[(&str, &str)],
) -> Page {
    let response = post_form(browser, page, id, fields).await;
    let status = response.status().as_u16();
    match response.headers().get("location") {
        Some(location) => Page::follow(browser, location.to_str().unwrap()).await,
        None => Page {
            url: page.url.clone(),
            status,
            html: response.text().await.unwrap(),
        },
    }
}

/// Posts the form `id` of `page` and returns the response as it came.
async fn post_form(
    browser: &reqwest::Client,
    page: &Page,
    id: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let form = form_by_id(&page.html, id)
        .unwrap_or_else(|| panic!("no form {id} on {}: {}", page.url, page.text()));
    assert_eq!(form.method, "post");
    let mut values = form.fields;
    values.extend(
        fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    browser
        .post(&form.action)
        .form(&values)
        .send()
        .await
        .unwrap()
}

/// The link whose text is `text` right after the device named `device`.
fn delete_link(page: &Page, device: &str) -> String {
    let after = page
        .html
        .split(&format!(">{device}</strong>"))
        .nth(1)
        .unwrap_or_else(|| panic!("no device {device}: {}", page.html));
    let href = after
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    crate::pages::unescape(href)
}

async fn console_signs_in_with_password_and_code_and_adds_a_second_device(backend: Backend) {
    let fixture = Fixture::start(backend).await;
    let browser = fixture.server.browser();
    let page = fixture.sign_in(&browser, &fixture.secret).await;
    assert_console(&page);
    assert_eq!(
        page.text().matches("Créé le ").count(),
        1,
        "{}",
        page.text()
    );

    // "Configurer Application d'authentification" runs the enrolment step again; the names
    // already used are refused, trimmed and without regard to case.
    let enrolment = submit_form(&browser, &page, "configure-totp-form", &[]).await;
    let mut enrolment_page = enrolment;
    for taken in [" téléphone de jeanne ", "TÉLÉPHONE DE JEANNE"] {
        let (_, refused) = enrol_from_qr(&fixture.server, &browser, &enrolment_page, taken).await;
        assert!(
            refused.text().contains(CONFIGURE_TITLE)
                && refused
                    .text()
                    .contains("Ce nom d'appareil est déjà utilisé"),
            "{taken:?}: {}",
            refused.text()
        );
        assert!(
            refused
                .html
                .contains(r#"aria-describedby="userLabel-error""#)
        );
        enrolment_page = refused;
    }
    // With "Se déconnecter des autres appareils": the other browser's session ends, the
    // console's stays.
    assert_eq!(
        Page::follow(&browser, &console_url(&fixture.server, ""))
            .await
            .text()
            .matches("Dernière activité")
            .count(),
        2
    );
    let tablet_secret = secret_from_qr(&enrolment_page);
    let code = fixture.code(&tablet_secret);
    let page = enrolment_page
        .submit(
            &browser,
            &[
                ("totp", code.as_str()),
                ("userLabel", "Tablette"),
                ("logout-sessions", "on"),
            ],
        )
        .await;
    assert_console(&page);
    assert_eq!(
        page.text().matches("Dernière activité").count(),
        1,
        "{}",
        page.text()
    );
    assert!(
        page.text().contains("L'appareil a été ajouté."),
        "{}",
        page.text()
    );
    fixture
        .expect_mail(
            "Nouvel appareil d'authentification sur votre compte Smart OA",
            "Tablette",
        )
        .await;

    // Both devices, each with its name and creation date.
    let text = page.text();
    assert!(text.contains(PHONE) && text.contains("Tablette"), "{text}");
    assert_eq!(text.matches("Créé le ").count(), 2, "{text}");
    assert!(text.contains(" à "), "{text}");
    let year = 1970 + fixture.server.sesame_provider.clock.now() / 31_556_952;
    assert!(text.contains(&year.to_string()), "{text}");

    // "Supprimer" leads to a confirmation; cancelling it keeps the device.
    let confirmation = Page::follow(&browser, &delete_link(&page, "Tablette")).await;
    assert_eq!(confirmation.status, 200);
    assert!(
        confirmation
            .text()
            .contains("Voulez-vous vraiment supprimer l'appareil « Tablette »"),
        "{}",
        confirmation.text()
    );
    assert!(!confirmation.text().contains("dernier appareil"));
    let page = Page::follow(&browser, &console_url(&fixture.server, "")).await;
    assert!(devices_text(&page).contains("Tablette"));
    let page = submit_form(&browser, &confirmation, "delete-device-form", &[]).await;
    assert_console(&page);
    assert!(
        page.text().contains("L'appareil a été supprimé."),
        "{}",
        page.text()
    );
    assert!(!devices_text(&page).contains("Tablette"), "{}", page.text());
    assert!(devices_text(&page).contains(PHONE));
    fixture
        .expect_mail(
            "Appareil d'authentification supprimé de votre compte Smart OA",
            "Tablette",
        )
        .await;

    // The deleted device's codes no longer sign in; the phone's still do.
    fixture.server.advance_clock(30);
    let other = fixture.server.browser();

    let page = Page::follow(&other, &console_url(&fixture.server, "")).await;
    let page = page
        .submit(&other, &[("username", EMAIL), ("password", PASSWORD)])
        .await;
    let refused = page
        .submit(&other, &[("otp", fixture.code(&tablet_secret).as_str())])
        .await;
    assert!(
        refused.text().contains("Code à usage unique invalide."),
        "{}",
        refused.text()
    );
    let page = refused
        .submit(&other, &[("otp", fixture.code(&fixture.secret).as_str())])
        .await;
    assert_console(&page);

    // Recent activity, newest first: this login with its device, the refused code, the
    // deletion and the addition.
    let activity = page
        .text()
        .split("Activité récente")
        .nth(1)
        .unwrap_or_else(|| panic!("no recent activity: {}", page.text()))
        .to_owned();
    let position = |needle: &str| {
        activity
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} not in {activity}"))
    };
    assert!(activity.starts_with(" Connexion "), "{activity}");
    assert!(
        activity.contains(&format!("Appareil : {PHONE}")),
        "{activity}"
    );
    assert!(position("Échec de connexion") < position("Appareil d'authentification supprimé"));
    assert!(
        position("Appareil d'authentification supprimé")
            < position("Appareil d'authentification ajouté")
    );
    assert!(activity.contains("Appareil : Tablette"), "{activity}");
    assert!(activity.contains("Adresse IP 127.0.0.1"), "{activity}");
}

async fn personal_information_is_checked_and_saved(backend: Backend) {
    let fixture = Fixture::start(backend).await;
    let browser = fixture.server.browser();
    let page = fixture.sign_in(&browser, &fixture.secret).await;
    let email_input = page.between("<input id=\"email\"", ">").unwrap();
    assert!(email_input.contains("readonly") && email_input.contains(EMAIL));

    // Empty names: each named in the summary and next to its field.
    let refused = submit_form(
        &browser,
        &page,
        "profile-form",
        &[("firstName", " "), ("lastName", ""), ("locale", "fr")],
    )
    .await;
    assert_eq!(refused.status, 200);
    assert_eq!(
        refused
            .text()
            .matches("Veuillez renseigner ce champ.")
            .count(),
        4,
        "{}",
        refused.text()
    );
    assert!(refused.html.contains(r#"id="error-summary""#));
    assert!(refused.html.contains(r##"<a href="#firstName">"##));
    assert!(
        refused
            .html
            .contains(r#"aria-invalid="true" aria-describedby="firstName-error""#)
    );
    let refused = submit_form(
        &browser,
        &refused,
        "profile-form",
        &[
            ("firstName", "Jeanne"),
            ("lastName", "Martin"),
            ("locale", "de"),
        ],
    )
    .await;
    assert!(
        refused
            .text()
            .contains("Choisissez une des langues proposées."),
        "{}",
        refused.text()
    );
    assert_eq!(
        form_fields(&refused.html).get("firstName").unwrap(),
        "Jeanne"
    );

    // Saved, and the console now speaks English.
    let page = submit_form(
        &browser,
        &refused,
        "profile-form",
        &[
            ("firstName", "Jeanne"),
            ("lastName", "Martin"),
            ("locale", "en"),
        ],
    )
    .await;
    assert!(page.text().contains("My account"), "{}", page.text());
    assert!(page.text().contains("Your personal information was saved."));
    assert_eq!(form_fields(&page.html).get("lastName").unwrap(), "Martin");
    let user: Value = fixture
        .server
        .http()
        .get(format!(
            "{}/admin/realms/test/users/{}",
            fixture.server.base_url, fixture.user_id
        ))
        .bearer_auth(fixture.server.admin_token().await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["firstName"], "Jeanne");
    assert_eq!(user["lastName"], "Martin");
    assert_eq!(user["email"], EMAIL);
}

async fn sessions_are_listed_and_ended(backend: Backend) {
    let fixture = Fixture::start(backend).await;
    let first = fixture.server.browser();
    fixture.sign_in(&first, &fixture.secret).await;
    fixture.server.advance_clock(30);
    let second = fixture.server.browser();
    let page = fixture.sign_in(&second, &fixture.secret).await;

    // The browser of the enrolment, the first and the second: three sessions, this one first.
    let text = page.text();
    assert_eq!(text.matches("Dernière activité").count(), 3, "{text}");
    assert_eq!(text.matches("(cette session)").count(), 1, "{text}");
    assert!(
        text.contains("Dernière activité") && text.contains("Début"),
        "{text}"
    );

    // A form without the session's CSRF token changes nothing.
    let stale = post_form(
        &second,
        &page,
        "end-other-sessions-form",
        &[("csrf_token", "stale")],
    )
    .await;
    assert_eq!(stale.status(), 403);
    let page = Page::follow(&second, &console_url(&fixture.server, "")).await;
    assert_eq!(page.text().matches("Dernière activité").count(), 3);

    // End one other session: the first browser is signed out of the console.
    let page = submit_form(&second, &page, "end-session-2-form", &[]).await;
    assert!(
        page.text().contains("La session a été terminée."),
        "{}",
        page.text()
    );
    assert_eq!(page.text().matches("Dernière activité").count(), 2);
    let signed_out = Page::follow(&first, &console_url(&fixture.server, "")).await;
    assert!(
        signed_out.text().contains(LOGIN_TITLE),
        "{}",
        signed_out.text()
    );

    // End all the others: only this one is left.
    let page = submit_form(&second, &page, "end-other-sessions-form", &[]).await;
    assert!(
        page.text()
            .contains("Les autres sessions ont été terminées."),
        "{}",
        page.text()
    );
    assert_eq!(page.text().matches("Dernière activité").count(), 1);
    assert!(form_by_id(&page.html, "end-other-sessions-form").is_none());
    let activity = page.text();
    assert_eq!(
        activity.matches("Session terminée").count(),
        2,
        "{activity}"
    );

    // "Se déconnecter": the logout confirmation, then the console asks for a login again.
    let logout = page
        .between("– <a href=\"", "\"")
        .map(|href| crate::pages::unescape(&href))
        .unwrap();
    assert_eq!(logout, fixture.server.endpoint("logout"));
    let confirmation = Page::follow(&second, &logout).await;
    let signed_out = confirmation.submit(&second, &[]).await;
    assert!(
        signed_out.text().contains("Vous êtes déconnecté."),
        "{}",
        signed_out.text()
    );
    let login = Page::follow(&second, &console_url(&fixture.server, "")).await;
    assert!(login.text().contains(LOGIN_TITLE), "{}", login.text());
}

async fn password_change_checks_the_current_password_and_the_policy(backend: Backend) {
    let fixture = Fixture::start(backend).await;
    let browser = fixture.server.browser();
    let page = fixture.sign_in(&browser, &fixture.secret).await;
    fixture.server.advance_clock(30);
    let elsewhere = fixture.server.browser();
    fixture.sign_in(&elsewhere, &fixture.secret).await;
    let link = page
        .between("<a class=\"button button-secondary\" href=\"", "\"")
        .unwrap();
    let form = Page::follow(&browser, &crate::pages::unescape(&link)).await;
    assert!(
        form.text().contains("Mot de passe actuel"),
        "{}",
        form.text()
    );

    let refused = form
        .submit(
            &browser,
            &[
                ("password", "pas le bon mot de passe"),
                ("password-new", NEW_PASSWORD),
                ("password-confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(
        refused.text().contains("Mot de passe actuel incorrect."),
        "{}",
        refused.text()
    );
    assert!(
        refused
            .html
            .contains(r#"aria-invalid="true" aria-describedby="password-error""#)
    );
    let refused = refused
        .submit(
            &browser,
            &[
                ("password", PASSWORD),
                ("password-new", "court"),
                ("password-confirm", "court"),
            ],
        )
        .await;
    assert!(
        refused
            .text()
            .contains("Mot de passe invalide : longueur minimale 12."),
        "{}",
        refused.text()
    );
    let refused = refused
        .submit(
            &browser,
            &[
                ("password", PASSWORD),
                ("password-new", EMAIL),
                ("password-confirm", EMAIL),
            ],
        )
        .await;
    assert!(
        refused
            .text()
            .contains("il ne doit pas être identique au courriel"),
        "{}",
        refused.text()
    );
    let refused = refused
        .submit(
            &browser,
            &[
                ("password", PASSWORD),
                ("password-new", NEW_PASSWORD),
                ("password-confirm", "autre chose encore"),
            ],
        )
        .await;
    assert!(
        refused
            .text()
            .contains("Les mots de passe ne correspondent pas.")
    );

    let page = refused
        .submit(
            &browser,
            &[
                ("password", PASSWORD),
                ("password-new", NEW_PASSWORD),
                ("password-confirm", NEW_PASSWORD),
                ("logout-sessions", "on"),
            ],
        )
        .await;
    assert_console(&page);
    // "Se déconnecter des autres appareils": the other browser is signed out, this one is not.
    let signed_out = Page::follow(&elsewhere, &console_url(&fixture.server, "")).await;
    assert!(
        signed_out.text().contains(LOGIN_TITLE),
        "{}",
        signed_out.text()
    );
    assert_eq!(
        page.text().matches("Dernière activité").count(),
        1,
        "{}",
        page.text()
    );
    assert!(
        page.text().contains("Votre mot de passe a été changé."),
        "{}",
        page.text()
    );
    assert!(
        page.text()
            .split("Activité récente")
            .nth(1)
            .unwrap()
            .contains("Mot de passe changé"),
        "{}",
        page.text()
    );
    fixture
        .expect_mail(
            "Mot de passe changé sur votre compte Smart OA",
            "Le mot de passe de votre compte a été changé.",
        )
        .await;

    // The old password no longer signs in; the new one does.
    fixture.server.advance_clock(30);
    let other = fixture.server.browser();
    let login = Page::follow(&other, &console_url(&fixture.server, "")).await;
    let refused = login
        .submit(&other, &[("username", EMAIL), ("password", PASSWORD)])
        .await;
    assert!(
        refused
            .text()
            .contains("Nom d'utilisateur ou mot de passe invalide.")
    );
    let page = fixture
        .log_in_from(&other, refused, NEW_PASSWORD, &fixture.secret)
        .await;
    assert_console(&page);
}

async fn deleting_the_last_device_makes_configure_totp_pending(backend: Backend) {
    let fixture = Fixture::start(backend).await;
    let browser = fixture.server.browser();
    let page = fixture.sign_in(&browser, &fixture.secret).await;

    // An id that is not one of the user's devices: nothing to confirm.
    let unknown = Page::follow(
        &browser,
        &console_url(&fixture.server, "/totp/not-a-device%0D%0A/delete"),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.text().contains("Cet appareil n'existe pas"),
        "{}",
        unknown.text()
    );

    let confirmation = Page::follow(&browser, &delete_link(&page, PHONE)).await;
    assert!(
        confirmation.text().contains("C'est votre dernier appareil"),
        "{}",
        confirmation.text()
    );
    let page = submit_form(&browser, &confirmation, "delete-device-form", &[]).await;
    assert_console(&page);
    assert!(
        page.text().contains("Aucun appareil n'est configuré."),
        "{}",
        page.text()
    );

    let user: Value = fixture
        .server
        .http()
        .get(format!(
            "{}/admin/realms/test/users/{}",
            fixture.server.base_url, fixture.user_id
        ))
        .bearer_auth(fixture.server.admin_token().await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["requiredActions"], json!(["CONFIGURE_TOTP"]), "{user}");

    // The next sign-in asks for a new device right after the password.
    let other = fixture.server.browser();
    let login = Page::follow(&other, &console_url(&fixture.server, "")).await;
    let page = login
        .submit(&other, &[("username", EMAIL), ("password", PASSWORD)])
        .await;
    assert!(page.text().contains(CONFIGURE_TITLE), "{}", page.text());
}

async fn sensitive_changes_ask_for_a_fresh_login_after_five_minutes(backend: Backend) {
    let fixture = Fixture::start(backend).await;
    let browser = fixture.server.browser();
    let page = fixture.sign_in(&browser, &fixture.secret).await;
    let password_form = Page::follow(&browser, &console_url(&fixture.server, "/password")).await;
    assert!(password_form.text().contains("Mot de passe actuel"));

    fixture.server.advance_clock(301);
    // The console itself stays open.
    let page_later = Page::follow(&browser, &console_url(&fixture.server, "")).await;
    assert_console(&page_later);

    // The password form now asks for the password and a code first, then comes back.
    let login = Page::follow(&browser, &console_url(&fixture.server, "/password")).await;
    assert_eq!(
        form_fields(&login.html).get("username").map(String::as_str),
        Some("jeanne.martin"),
        "the login names the signed-in user"
    );
    let page_after = fixture
        .log_in_from(&browser, login, PASSWORD, &fixture.secret)
        .await;
    assert!(
        page_after.text().contains("Mot de passe actuel"),
        "{}",
        page_after.text()
    );
    assert!(
        page_after.url.ends_with("/realms/test/account/password"),
        "{}",
        page_after.url
    );

    // A form sent from a page opened before: the same, and nothing is deleted meanwhile.
    fixture.server.advance_clock(301);
    let phone_link = delete_link(&page, PHONE);
    let stale_confirmation = Page {
        url: phone_link.clone(),
        status: 200,
        html: format!(
            r#"<form id="delete-device-form" action="{phone_link}" method="post"><input type="hidden" name="csrf_token" value="{}"></form>"#,
            form_by_id(&page.html, "profile-form").unwrap().fields[0].1
        ),
    };
    let login = submit_form(&browser, &stale_confirmation, "delete-device-form", &[]).await;
    assert!(login.text().contains(LOGIN_TITLE), "{}", login.text());
    fixture.server.advance_clock(30);
    let confirmation = fixture
        .log_in_from(&browser, login, PASSWORD, &fixture.secret)
        .await;
    assert!(
        confirmation
            .text()
            .contains("Voulez-vous vraiment supprimer l'appareil"),
        "{}",
        confirmation.text()
    );
    let console = Page::follow(&browser, &console_url(&fixture.server, "")).await;
    assert!(devices_text(&console).contains(PHONE));
    // The fresh login renewed this browser's session rather than opening another.
    assert_eq!(console.text().matches("(cette session)").count(), 1);
    assert_eq!(
        console.text().matches("Dernière activité").count(),
        2,
        "the enrolment's browser and this one: {}",
        console.text()
    );

    // Adding a device after five minutes: password and code, then the enrolment.
    fixture.server.advance_clock(301);
    let login = submit_form(&browser, &console, "configure-totp-form", &[]).await;
    assert!(login.text().contains(LOGIN_TITLE), "{}", login.text());
    fixture.server.advance_clock(30);
    let enrolment = fixture
        .log_in_from(&browser, login, PASSWORD, &fixture.secret)
        .await;
    let secret = secret_from_qr(&enrolment);
    let code = fixture.code(&secret);
    let page = enrolment
        .submit(
            &browser,
            &[
                ("totp", code.as_str()),
                ("userLabel", "Tablette"),
                ("logout-sessions", "on"),
            ],
        )
        .await;
    assert_console(&page);
    assert!(devices_text(&page).contains("Tablette"));
    assert_eq!(
        page.text().matches("Dernière activité").count(),
        1,
        "{}",
        page.text()
    );
}

async fn kc_action_configure_totp_from_a_relying_party(backend: Backend) {
    let fixture = Fixture::start(backend).await;
    let browser = fixture.server.browser();
    let page = fixture.sign_in(&browser, &fixture.secret).await;
    assert_console(&page);
    fixture.server.advance_clock(30);

    // Even with a live session, the application's action goes through the password and code.
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", PORTAL),
            ("redirect_uri", PORTAL_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "add-device"),
            ("kc_action", "CONFIGURE_TOTP"),
        ])
        .finish();
    let login = Page::follow(
        &browser,
        &format!("{}?{query}", fixture.server.endpoint("auth")),
    )
    .await;
    let enrolment = fixture
        .log_in_from(&browser, login, PASSWORD, &fixture.secret)
        .await;
    let secret = secret_from_qr(&enrolment);
    let code = fixture.code(&secret);
    let redirect = enrolment
        .submit_expecting_redirect(
            &browser,
            &[("totp", code.as_str()), ("userLabel", "Tablette")],
        )
        .await;
    assert!(redirect.starts_with(PORTAL_REDIRECT), "{redirect}");
    assert!(
        redirect.contains("code=") && redirect.contains("state=add-device"),
        "{redirect}"
    );

    let page = Page::follow(&browser, &console_url(&fixture.server, "")).await;
    assert!(
        devices_text(&page).contains("Tablette") && devices_text(&page).contains(PHONE),
        "{}",
        page.text()
    );

    // An action Sésame does not run is refused back to the application.
    let response = fixture
        .server
        .authorize(
            &browser,
            &[
                ("client_id", PORTAL),
                ("redirect_uri", PORTAL_REDIRECT),
                ("response_type", "code"),
                ("state", "x"),
                ("kc_action", "NO_SUCH_ACTION"),
            ],
        )
        .await;
    let location = crate::harness::location(&response).unwrap();
    assert!(
        location.starts_with(&format!("{PORTAL_REDIRECT}?error=invalid_request")),
        "{location}"
    );
}

on_both_backends!(
    console_signs_in_with_password_and_code_and_adds_a_second_device,
    personal_information_is_checked_and_saved,
    sessions_are_listed_and_ended,
    password_change_checks_the_current_password_and_the_policy,
    deleting_the_last_device_makes_configure_totp_pending,
    sensitive_changes_ask_for_a_fresh_login_after_five_minutes,
    kc_action_configure_totp_from_a_relying_party,
);

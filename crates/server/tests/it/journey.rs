//! The strong-authentication journey of the guide, over HTTP: the initialisation mail read from
//! a real SMTP server, the QR code decoded from the page, codes computed from it, every screen,
//! then a login with password and code through the portal client.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::time::Duration;

use serde_json::{Value, json};
use sesame_actions::totp;

use crate::harness::{Backend, PORTAL, PORTAL_REDIRECT, PORTAL_SECRET, TestServer, pkce_pair};
use crate::mail::{MailBox, link_from_mail};
use crate::pages::{Page, form_fields};

const JOURNEY_ACTIONS: &str = r#"["CONFIGURE_TOTP","UPDATE_PASSWORD","UPDATE_PROFILE"]"#;
const PASSWORD: &str = "un mot de passe solide";

/// Sets the realm up as Smart OA's: OTP required, the guide's order, a 12-character policy.
pub(crate) async fn strong_realm(server: &TestServer, extra: Value) {
    let mut settings = json!({
        "otpRequired": true,
        "requiredActionOrder": ["CONFIGURE_TOTP", "UPDATE_PASSWORD", "UPDATE_PROFILE"],
        "passwordPolicy": "length(12) and notUsername and notEmail",
        "smtpServer": { "from": "no-reply@smart-oa.test", "fromDisplayName": "Smart OA" },
        "displayName": "Smart OA",
    });
    if let (Value::Object(settings), Value::Object(extra)) = (&mut settings, extra) {
        settings.extend(extra);
    }
    let response = server
        .http()
        .put(format!("{}/admin/realms/test", server.base_url))
        .bearer_auth(server.admin_token().await)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
}

/// Creates a user with only an address and sends the initialisation mail; returns its id.
pub(crate) async fn invite(server: &TestServer, email: &str) -> String {
    invite_with(server, email, "").await
}

/// Like [`invite`], with `extra_query` (such as `&lifespan=60`) added to the
/// execute-actions-email request.
pub(crate) async fn invite_with(server: &TestServer, email: &str, extra_query: &str) -> String {
    let token = server.admin_token().await;
    let response = server
        .http()
        .post(format!("{}/admin/realms/test/users", server.base_url))
        .bearer_auth(&token)
        .json(&json!({ "username": email, "email": email, "enabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let user_id = location.rsplit('/').next().unwrap().to_owned();
    let response = server
        .http()
        .put(format!(
            "{}/admin/realms/test/users/{user_id}/execute-actions-email?client_id={PORTAL}&redirect_uri={}{extra_query}",
            server.base_url,
            urlencode(PORTAL_REDIRECT)
        ))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(JOURNEY_ACTIONS)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
    user_id
}

pub(crate) fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Enrols a device on the configure-TOTP page: decodes the QR code, computes a code.
pub(crate) async fn enrol_from_qr(
    server: &TestServer,
    browser: &reqwest::Client,
    page: &Page,
    device: &str,
) -> (Vec<u8>, Page) {
    let secret = secret_from_qr(page);
    let code = totp::totp(&secret, server.sesame_provider.clock.now(), 30, 6);
    let next = page
        .submit(browser, &[("totp", code.as_str()), ("userLabel", device)])
        .await;
    (secret, next)
}

/// The secret of the QR code of a configure-TOTP page, as an authenticator app reads it.
pub(crate) fn secret_from_qr(page: &Page) -> Vec<u8> {
    assert!(
        page.text()
            .contains("Configuration de l'authentification par mobile"),
        "{}",
        page.text()
    );
    for app in ["Microsoft Authenticator", "FreeOTP", "Google Authenticator"] {
        assert!(page.text().contains(app));
    }
    let svg = page
        .between("<svg", "</svg>")
        .expect("the page shows a QR code");
    let uri = totp::decode_qr_svg(&format!("<svg{svg}</svg>")).expect("the QR code decodes");
    assert!(uri.starts_with("otpauth://totp/Smart%20OA:"), "{uri}");
    let secret_text = url::Url::parse(&uri)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "secret")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    let secret = totp::TotpSecret::from_base32(&secret_text).unwrap();
    assert_eq!(secret.as_bytes().len(), 20, "160-bit secret");
    secret.as_bytes().to_vec()
}

async fn journey_from_the_mail_to_a_strong_login(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = TestServer::start_with_smtp(backend, &mailbox.url()).await;
    strong_realm(&server, json!({})).await;
    let email = "jean.dupont@exemple.fr";
    invite(&server, email).await;

    // 1. The mail: from the realm's sender, to the user, with a link valid 7 days.
    let mail = mailbox
        .next_mail(Duration::from_secs(10))
        .await
        .expect("the initialisation mail arrives");
    assert!(mail.raw.contains("no-reply@smart-oa.test"), "{}", mail.raw);
    assert!(mail.raw.contains(email));
    assert!(mail.text.contains("7 jours"), "{}", mail.text);
    assert_eq!(mail.subject, "Initialisation de votre compte Smart OA");
    let link = link_from_mail(&mail.text).expect("a link in the text part");
    assert!(link.starts_with(&format!(
        "{}/realms/test/login-actions/action-token?key=",
        server.base_url
    )));
    assert!(
        crate::pages::unescape(&mail.html).contains(&link),
        "the HTML part has the same link"
    );

    // 2. Configure TOTP: QR code, manual mode, device name.
    let browser = server.browser();
    let page = Page::follow(&browser, &link).await;
    let manual = Page::follow(&browser, &format!("{}?mode=manual", page.url)).await;
    assert!(
        manual.text().contains("Impossible de scanner")
            || manual.text().contains("Scanner le code-barres")
    );
    assert!(manual.text().contains("SHA1"));
    let (secret, page) = enrol_from_qr(&server, &browser, &page, "Téléphone de Jean").await;

    // 3. Update password: refusals name the rule, then a good one.
    assert!(
        page.text().contains("Mise à jour du mot de passe"),
        "{}",
        page.text()
    );
    assert!(
        page.text()
            .contains("Vous devez changer votre mot de passe")
    );
    let refused = page
        .submit(
            &browser,
            &[("password-new", "court"), ("password-confirm", "court")],
        )
        .await;
    assert!(
        refused.text().contains("longueur minimale 12"),
        "{}",
        refused.text()
    );
    let refused = refused
        .submit(
            &browser,
            &[
                ("password-new", PASSWORD),
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
            &[("password-new", PASSWORD), ("password-confirm", PASSWORD)],
        )
        .await;

    // 4. Update profile: the address prefilled, names required.
    assert!(
        page.text().contains("Mise à jour du compte"),
        "{}",
        page.text()
    );
    assert_eq!(
        form_fields(&page.html).get("email").map(String::as_str),
        Some(email)
    );
    let refused = page
        .submit(&browser, &[("firstName", ""), ("lastName", "")])
        .await;
    // Each empty field is named twice: in the summary at the top and next to the field.
    assert_eq!(
        refused
            .text()
            .matches("Veuillez renseigner ce champ.")
            .count(),
        4,
        "{}",
        refused.text()
    );
    assert_eq!(
        refused.html.matches("aria-invalid=\"true\"").count(),
        2,
        "{}",
        refused.html
    );
    // The address the mail went to stays: another one in the form is ignored.
    assert!(
        refused.html.contains("readonly"),
        "the address is read-only: {}",
        refused.html
    );
    let page = refused
        .submit(
            &browser,
            &[
                ("email", "someone.else@exemple.fr"),
                ("firstName", "Jean"),
                ("lastName", "Dupont"),
            ],
        )
        .await;

    // 5. Account updated, with the way back to the portal.
    assert!(
        page.text().contains("Votre compte a été mis à jour"),
        "{}",
        page.text()
    );
    assert!(page.text().contains("Cliquez ici pour vous connecter"));
    assert!(
        crate::pages::unescape(&page.html).contains(&format!("href=\"{PORTAL_REDIRECT}\"")),
        "{}",
        page.html
    );

    // The link is dead once the journey is finished.
    let again = Page::follow(&server.browser(), &link).await;
    assert!(
        again
            .text()
            .contains("Ce lien a expiré ou a déjà été utilisé"),
        "{}",
        again.text()
    );
    assert_eq!(again.status, 400);

    // 6-7. Sign in through the portal: password, then the one-time code of the next step.
    server.advance_clock(30);
    let claims = login_with_code(&server, email, PASSWORD, &secret, None).await;
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
    assert_eq!(claims["acr"], "2");
    assert_eq!(claims["given_name"], "Jean");
    assert_eq!(claims["email"], email);
    assert_eq!(claims["family_name"], "Dupont");
}

/// Signs in through the portal with a password and a code of `secret`; returns the ID token's
/// claims. With `device`, picks that device first.
pub(crate) async fn login_with_code(
    server: &TestServer,
    username: &str,
    password: &str,
    secret: &[u8],
    device: Option<&str>,
) -> serde_json::Map<String, Value> {
    login_with_code_in(
        server,
        &server.browser(),
        username,
        password,
        secret,
        device,
    )
    .await
}

/// Like [`login_with_code`], in `browser`, which keeps the browser session.
pub(crate) async fn login_with_code_in(
    server: &TestServer,
    browser: &reqwest::Client,
    username: &str,
    password: &str,
    secret: &[u8],
    device: Option<&str>,
) -> serde_json::Map<String, Value> {
    let (verifier, challenge) = pkce_pair();
    let auth = [
        ("client_id", PORTAL),
        ("redirect_uri", PORTAL_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid profile email"),
        ("state", "journey"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let page = Page::follow(
        browser,
        &format!("{}?{}", server.endpoint("auth"), encode(&auth)),
    )
    .await;
    assert!(page.text().contains("Connectez-vous à votre compte"));
    let page = page
        .submit(browser, &[("username", username), ("password", password)])
        .await;
    assert!(
        page.text().contains("Code à usage unique"),
        "{}",
        page.text()
    );
    let code = totp::totp(secret, server.sesame_provider.clock.now(), 30, 6);
    let mut fields = vec![("otp", code.as_str())];
    let device_id;
    if let Some(device) = device {
        device_id = page
            .radio_value_for_label(device)
            .expect("the device is offered by name");
        fields.push(("selected_credential", device_id.as_str()));
    }
    let redirect = page.submit_expecting_redirect(browser, &fields).await;
    assert!(redirect.starts_with(PORTAL_REDIRECT), "{redirect}");
    let url = url::Url::parse(&redirect).unwrap();
    let code = url
        .query_pairs()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
        .into_owned();
    let response = server
        .http()
        .post(server.endpoint("token"))
        .basic_auth(PORTAL, Some(urlencode(PORTAL_SECRET)))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", PORTAL_REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    jwt_claims(body["id_token"].as_str().unwrap())
}

fn encode(params: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// The claims of a JWT, unverified (the openidconnect tests verify signatures).
pub(crate) fn jwt_claims(token: &str) -> serde_json::Map<String, Value> {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(payload.as_bytes())
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

on_both_backends!(journey_from_the_mail_to_a_strong_login);

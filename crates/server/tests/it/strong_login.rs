//! The edges of strong authentication: steps that run out of time, dead and tampered links, a
//! journey resumed after a timeout, one-time codes that count once, several devices, stale
//! forms, brute-force locks, two accounts in one browser, and a cancelled enrolment.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::time::Duration;

use serde_json::{Map, Value, json};
use sesame_actions::totp;

use crate::harness::{
    Backend, PORTAL, PORTAL_REDIRECT, PORTAL_SECRET, TestServer, location, query_params,
};
use crate::journey::{
    enrol_from_qr, invite, invite_with, jwt_claims, login_with_code, login_with_code_in,
    secret_from_qr, strong_realm, urlencode,
};
use crate::mail::{MailBox, link_from_mail};
use crate::pages::{Page, form_fields};

const PASSWORD: &str = "un mot de passe solide";
const WRONG_PASSWORD: &str = "pas le bon mot de passe";
const DEVICE: &str = "Téléphone de Jean";
/// The time for each step in the realms of the timeout scenarios.
const STEP_LIFESPAN: i64 = 60;

const TIMEOUT_MESSAGE: &str = "Le temps imparti pour la connexion est écoulé. Le processus de connexion redémarre depuis le début.";
const INVALID_CODE: &str = "Code à usage unique invalide.";
const INVALID_USER: &str = "Nom d'utilisateur ou mot de passe invalide.";
const DEAD_LINK: &str = "Ce lien a expiré ou a déjà été utilisé";

/// An account set up through the initialisation journey.
struct Account {
    id: String,
    email: String,
    /// The secret of its one device.
    secret: Vec<u8>,
}

/// A server whose mail reaches `mailbox`, its realm set up as Smart OA's with `extra` settings.
async fn strong_server(backend: Backend, mailbox: &MailBox, extra: Value) -> TestServer {
    let server = TestServer::start_with_smtp(backend, &mailbox.url()).await;
    strong_realm(&server, extra).await;
    server
}

/// The link of the next mail of `mailbox`.
async fn next_link(mailbox: &MailBox) -> String {
    let mail = mailbox
        .next_mail(Duration::from_secs(10))
        .await
        .expect("the initialisation mail arrives");
    link_from_mail(&mail.text).expect("a link in the mail")
}

/// Invites `email` and runs the whole journey from its mail in a browser of its own. The clock
/// then moves on by one code period, so that the code typed at enrolment is in the past.
async fn set_up_account(server: &TestServer, mailbox: &MailBox, email: &str) -> Account {
    let id = invite(server, email).await;
    let link = next_link(mailbox).await;
    let browser = server.browser();
    let page = Page::follow(&browser, &link).await;
    let (secret, page) = enrol_from_qr(server, &browser, &page, DEVICE).await;
    let page = finish_journey(&browser, page).await;
    assert!(
        page.text().contains("Votre compte a été mis à jour"),
        "{}",
        page.text()
    );
    server.advance_clock(30);
    Account {
        id,
        email: email.to_owned(),
        secret,
    }
}

/// From the update-password page of a journey to its last page.
async fn finish_journey(browser: &reqwest::Client, page: Page) -> Page {
    assert!(
        page.text().contains("Mise à jour du mot de passe"),
        "{}",
        page.text()
    );
    let page = page
        .submit(
            browser,
            &[("password-new", PASSWORD), ("password-confirm", PASSWORD)],
        )
        .await;
    assert!(
        page.text().contains("Mise à jour du compte"),
        "{}",
        page.text()
    );
    page.submit(browser, &[("firstName", "Jean"), ("lastName", "Dupont")])
        .await
}

/// The portal's authorization request, without PKCE (the portal does not require it).
fn portal_auth_url(server: &TestServer, state: &str, extra: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", PORTAL),
            ("redirect_uri", PORTAL_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid email"),
            ("state", state),
        ])
        .extend_pairs(extra)
        .finish();
    format!("{}?{query}", server.endpoint("auth"))
}

/// The login page of the portal, "Connectez-vous à votre compte".
async fn login_page(server: &TestServer, browser: &reqwest::Client) -> Page {
    let page = Page::follow(browser, &portal_auth_url(server, "edge", &[])).await;
    assert!(
        page.text().contains("Connectez-vous à votre compte"),
        "{}",
        page.text()
    );
    page
}

/// Opens the login and submits the password; returns the next page.
async fn password_step(
    server: &TestServer,
    browser: &reqwest::Client,
    username: &str,
    password: &str,
) -> Page {
    login_page(server, browser)
        .await
        .submit(browser, &[("username", username), ("password", password)])
        .await
}

/// Opens the login and submits the right password of an account with a device: the code page.
async fn code_page(server: &TestServer, browser: &reqwest::Client, account: &Account) -> Page {
    let page = password_step(server, browser, &account.email, PASSWORD).await;
    assert!(
        page.text().contains("Code à usage unique"),
        "{}",
        page.text()
    );
    page
}

/// The code of `secret` now.
fn code_now(server: &TestServer, secret: &[u8]) -> String {
    totp::totp(secret, server.sesame_provider.clock.now(), 30, 6)
}

/// Checks that `redirect` hands the portal a code with `state`; returns the code.
fn portal_code(redirect: &str, state: &str) -> String {
    assert!(redirect.starts_with(PORTAL_REDIRECT), "{redirect}");
    let params = query_params(&url::Url::parse(redirect).unwrap());
    assert_eq!(
        params.get("state").map(String::as_str),
        Some(state),
        "{redirect}"
    );
    params
        .get("code")
        .unwrap_or_else(|| panic!("no code in {redirect}"))
        .clone()
}

/// Redeems a portal code (no PKCE) and returns the ID token's claims.
async fn redeem(server: &TestServer, code: &str) -> Map<String, Value> {
    let response = server
        .http()
        .post(server.endpoint("token"))
        .basic_auth(PORTAL, Some(urlencode(PORTAL_SECRET)))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", PORTAL_REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    jwt_claims(body["id_token"].as_str().unwrap())
}

/// The number of device radio buttons on a code page.
fn device_choices(page: &Page) -> usize {
    page.html
        .matches("name=\"selected_credential\" type=\"radio\"")
        .count()
}

/// A page as returned by [`Page::post`], without following anything.
async fn read(url: String, response: reqwest::Response) -> Page {
    Page {
        url,
        status: response.status().as_u16(),
        html: response.text().await.unwrap(),
    }
}

async fn step_past_its_limit_restarts_the_login_with_the_message(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = strong_server(
        backend,
        &mailbox,
        json!({ "accessCodeLifespanUserAction": STEP_LIFESPAN }),
    )
    .await;
    let account = set_up_account(&server, &mailbox, "jean.dupont@exemple.fr").await;

    let browser = server.browser();
    let page = code_page(&server, &browser, &account).await;
    assert!(!page.text().contains(TIMEOUT_MESSAGE));
    server.advance_clock(STEP_LIFESPAN + 1);
    let code = code_now(&server, &account.secret);
    let restarted = page.submit(&browser, &[("otp", code.as_str())]).await;
    assert_eq!(restarted.status, 200);
    assert!(
        restarted.text().contains("Connectez-vous à votre compte"),
        "{}",
        restarted.text()
    );
    assert!(
        restarted.text().contains(TIMEOUT_MESSAGE),
        "{}",
        restarted.text()
    );
    assert!(
        !restarted.html.contains("name=\"otp\""),
        "{}",
        restarted.html
    );

    // Signing in again from there works, and the code was not spent by the late submission.
    let page = restarted
        .submit(
            &browser,
            &[("username", account.email.as_str()), ("password", PASSWORD)],
        )
        .await;
    assert!(
        page.text().contains("Code à usage unique"),
        "{}",
        page.text()
    );
    assert!(!page.text().contains(TIMEOUT_MESSAGE), "{}", page.text());
    let redirect = page
        .submit_expecting_redirect(&browser, &[("otp", code.as_str())])
        .await;
    let code = portal_code(&redirect, "edge");
    assert_eq!(redeem(&server, &code).await["sub"], json!(account.id));
}

/// The whole text of the page of a dead link.
const DEAD_LINK_PAGE: &str = "Lien expiré – Smart OA Smart OA Lien expiré Ce lien a expiré ou a déjà été utilisé. Demandez un nouveau mail d'initialisation à votre administrateur.";

/// Checks that `page` is the dead-link page and nothing else.
fn assert_dead_link_page(page: &Page) {
    assert_eq!(page.status, 400, "{}", page.text());
    assert!(page.text().contains(DEAD_LINK), "{}", page.text());
    assert_eq!(page.text(), DEAD_LINK_PAGE);
    assert!(!page.html.contains("<form"), "{}", page.html);
}

async fn expired_link_says_so(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = strong_server(backend, &mailbox, json!({})).await;
    invite_with(&server, "jean.dupont@exemple.fr", "&lifespan=60").await;
    let link = next_link(&mailbox).await;

    // Within its minute the link opens the journey.
    let page = Page::follow(&server.browser(), &link).await;
    assert!(
        page.text()
            .contains("Configuration de l'authentification par mobile"),
        "{}",
        page.text()
    );

    server.advance_clock(61);
    assert_dead_link_page(&Page::follow(&server.browser(), &link).await);
}

async fn tampered_link_says_so(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = strong_server(backend, &mailbox, json!({})).await;
    invite(&server, "jean.dupont@exemple.fr").await;
    let link = next_link(&mailbox).await;

    let (base, key) = link.split_once("key=").unwrap();
    let mut tampered_key: Vec<char> = key.chars().collect();
    let middle = tampered_key.len() / 2;
    tampered_key[middle] = if tampered_key[middle] == 'A' {
        'B'
    } else {
        'A'
    };
    let tampered = format!("{base}key={}", tampered_key.into_iter().collect::<String>());
    assert_ne!(tampered, link);
    assert_dead_link_page(&Page::follow(&server.browser(), &tampered).await);

    // The link as sent still works.
    let page = Page::follow(&server.browser(), &link).await;
    assert!(
        page.text()
            .contains("Configuration de l'authentification par mobile"),
        "{}",
        page.text()
    );
}

async fn journey_resumes_after_a_timeout_without_a_second_device(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = strong_server(
        backend,
        &mailbox,
        json!({ "accessCodeLifespanUserAction": STEP_LIFESPAN }),
    )
    .await;
    let email = "jean.dupont@exemple.fr";
    let user_id = invite(&server, email).await;
    let link = next_link(&mailbox).await;
    let browser = server.browser();
    let page = Page::follow(&browser, &link).await;
    let (secret, page) = enrol_from_qr(&server, &browser, &page, DEVICE).await;
    assert!(
        page.text().contains("Mise à jour du mot de passe"),
        "{}",
        page.text()
    );

    // The user lingers on the password page, then clicks the link of the mail again.
    server.advance_clock(STEP_LIFESPAN + 1);
    let resumed = Page::follow(&browser, &link).await;
    assert_eq!(resumed.status, 200);
    assert!(
        resumed.text().contains("Mise à jour du mot de passe"),
        "{}",
        resumed.text()
    );
    assert!(
        !resumed
            .text()
            .contains("Configuration de l'authentification par mobile")
    );
    // The step's time ran out in this browser's journey: the page says so.
    assert!(
        resumed.text().contains(TIMEOUT_MESSAGE),
        "{}",
        resumed.text()
    );

    // Another browser (the mail opened elsewhere) resumes at the same step, without the message.
    let elsewhere = Page::follow(&server.browser(), &link).await;
    assert!(
        elsewhere.text().contains("Mise à jour du mot de passe"),
        "{}",
        elsewhere.text()
    );
    assert!(!elsewhere.text().contains(TIMEOUT_MESSAGE));

    let done = finish_journey(&browser, resumed).await;
    assert!(
        done.text().contains("Votre compte a été mis à jour"),
        "{}",
        done.text()
    );

    let response = server
        .http()
        .get(format!(
            "{}/admin/realms/test/users/{user_id}",
            server.base_url
        ))
        .bearer_auth(server.admin_token().await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["requiredActions"], json!([]), "{user}");

    // One device only: the code page offers no choice.
    server.advance_clock(30);
    let account = Account {
        id: user_id,
        email: email.to_owned(),
        secret,
    };
    let page = code_page(&server, &server.browser(), &account).await;
    assert_eq!(device_choices(&page), 0, "{}", page.html);
    assert!(!page.html.contains("<fieldset"), "{}", page.html);
    let claims = login_with_code(&server, email, PASSWORD, &account.secret, None).await;
    assert_eq!(claims["sub"], json!(account.id));
}

async fn replayed_code_is_refused(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = strong_server(backend, &mailbox, json!({})).await;
    let account = set_up_account(&server, &mailbox, "jean.dupont@exemple.fr").await;

    let code = code_now(&server, &account.secret);
    let browser = server.browser();
    let redirect = code_page(&server, &browser, &account)
        .await
        .submit_expecting_redirect(&browser, &[("otp", code.as_str())])
        .await;
    portal_code(&redirect, "edge");

    // The same code, in another browser, within the same period.
    let browser = server.browser();
    let refused = code_page(&server, &browser, &account)
        .await
        .submit(&browser, &[("otp", code.as_str())])
        .await;
    assert!(refused.text().contains(INVALID_CODE), "{}", refused.text());
    assert!(refused.text().contains("Code à usage unique"));

    server.advance_clock(30);
    let fresh = code_now(&server, &account.secret);
    let redirect = refused
        .submit_expecting_redirect(&browser, &[("otp", fresh.as_str())])
        .await;
    let code = portal_code(&redirect, "edge");
    assert_eq!(redeem(&server, &code).await["sub"], json!(account.id));
}

async fn two_parallel_logins_with_one_code_let_only_one_through(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = strong_server(backend, &mailbox, json!({})).await;
    let account = set_up_account(&server, &mailbox, "jean.dupont@exemple.fr").await;

    let (first_browser, second_browser) = (server.browser(), server.browser());
    let first_page = code_page(&server, &first_browser, &account).await;
    let second_page = code_page(&server, &second_browser, &account).await;
    let code = code_now(&server, &account.secret);
    let fields = [("otp", code.as_str())];
    let (first, second) = tokio::join!(
        first_page.post(&first_browser, &fields),
        second_page.post(&second_browser, &fields),
    );

    let mut through = 0;
    let mut others = Vec::new();
    for (url, response) in [first, second] {
        match location(&response) {
            Some(target) if target.starts_with(PORTAL_REDIRECT) => {
                portal_code(&target, "edge");
                through += 1;
            }
            _ => others.push(read(url, response).await),
        }
    }
    assert_eq!(through, 1, "one login, and only one, goes through");
    // The other is told its code is invalid, as a replay one second later would be.
    let [refused] = others.as_slice() else {
        panic!("{} logins refused", others.len());
    };
    assert_eq!(refused.status, 200, "{}", refused.text());
    assert!(refused.text().contains(INVALID_CODE), "{}", refused.text());
}

async fn two_devices_picker_and_each_code(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = strong_server(backend, &mailbox, json!({})).await;
    let account = set_up_account(&server, &mailbox, "jean.dupont@exemple.fr").await;

    // The administrator asks for a second device.
    let response = server
        .http()
        .put(format!(
            "{}/admin/realms/test/users/{}",
            server.base_url, account.id
        ))
        .bearer_auth(server.admin_token().await)
        .json(&json!({ "requiredActions": ["CONFIGURE_TOTP"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    // The next login asks the code of the first device, then shows the enrolment.
    let browser = server.browser();
    let page = code_page(&server, &browser, &account).await;
    let first_code = code_now(&server, &account.secret);
    let mut page = page.submit(&browser, &[("otp", first_code.as_str())]).await;
    for taken in [" téléphone de jean ", "TÉLÉPHONE DE JEAN", DEVICE] {
        let (_, refused) = enrol_from_qr(&server, &browser, &page, taken).await;
        assert!(
            refused
                .text()
                .contains("Ce nom d'appareil est déjà utilisé"),
            "{taken:?}: {}",
            refused.text()
        );
        page = refused;
    }
    let second_secret = secret_from_qr(&page);
    assert_ne!(second_secret, account.secret);
    let second_code = code_now(&server, &second_secret);
    let redirect = page
        .submit_expecting_redirect(
            &browser,
            &[("totp", second_code.as_str()), ("userLabel", "Tablette")],
        )
        .await;
    portal_code(&redirect, "edge");

    // The next login offers both devices by name.
    server.advance_clock(30);
    let browser = server.browser();
    let page = code_page(&server, &browser, &account).await;
    assert_eq!(device_choices(&page), 2, "{}", page.html);
    let first_device = page
        .radio_value_for_label(DEVICE)
        .expect("the first device");
    let second_device = page.radio_value_for_label("Tablette").expect("the second");
    assert_ne!(first_device, second_device);

    // The tablet with the phone's code: refused.
    let phone_code = code_now(&server, &account.secret);
    let refused = page
        .submit(
            &browser,
            &[
                ("selected_credential", second_device.as_str()),
                ("otp", phone_code.as_str()),
            ],
        )
        .await;
    assert!(refused.text().contains(INVALID_CODE), "{}", refused.text());
    assert_eq!(device_choices(&refused), 2);

    // The tablet with its own code, in a login of its own: signed in.
    let claims = login_with_code(
        &server,
        &account.email,
        PASSWORD,
        &second_secret,
        Some("Tablette"),
    )
    .await;
    assert_eq!(claims["sub"], json!(account.id));
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
}

async fn back_button_and_double_submit_land_on_the_current_step(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = strong_server(backend, &mailbox, json!({})).await;
    invite(&server, "jean.dupont@exemple.fr").await;
    let link = next_link(&mailbox).await;
    let browser = server.browser();
    let totp_page = Page::follow(&browser, &link).await;
    let secret = secret_from_qr(&totp_page);
    let code = code_now(&server, &secret);
    let fields = [("totp", code.as_str()), ("userLabel", DEVICE)];
    let password_page = totp_page.submit(&browser, &fields).await;
    assert!(
        password_page.text().contains("Mise à jour du mot de passe"),
        "{}",
        password_page.text()
    );

    // Back to the enrolment page, the same form again: the current step, without an error.
    let again = totp_page.submit(&browser, &fields).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.text(), password_page.text());
    assert!(!again.html.contains("role=\"alert\""), "{}", again.html);

    // The password form sent twice: the second lands on the profile step too.
    let password = [("password-new", PASSWORD), ("password-confirm", PASSWORD)];
    let profile = password_page.submit(&browser, &password).await;
    assert!(
        profile.text().contains("Mise à jour du compte"),
        "{}",
        profile.text()
    );
    let twice = password_page.submit(&browser, &password).await;
    assert_eq!(twice.status, 200);
    assert!(
        twice.text().contains("Mise à jour du compte"),
        "{}",
        twice.text()
    );
    assert!(!twice.html.contains("role=\"alert\""), "{}", twice.html);
    let done = twice
        .submit(&browser, &[("firstName", "Jean"), ("lastName", "Dupont")])
        .await;
    assert!(
        done.text().contains("Votre compte a été mis à jour"),
        "{}",
        done.text()
    );
}

async fn brute_force_locks_then_the_same_message(backend: Backend) {
    let server = TestServer::start(backend).await;
    strong_realm(
        &server,
        json!({ "failureFactor": 3, "waitIncrementSeconds": 60 }),
    )
    .await;
    let email = "jean.dupont@exemple.fr";
    server.create_user("jean", email, PASSWORD).await;

    let browser = server.browser();
    let mut refusals = Vec::new();
    for _ in 0..3 {
        let page = password_step(&server, &browser, email, WRONG_PASSWORD).await;
        assert!(page.text().contains(INVALID_USER), "{}", page.text());
        refusals.push(page.text());
    }
    // Locked: the right password gets the same answer, and so does an unknown account.
    let locked = password_step(&server, &browser, email, PASSWORD).await;
    let unknown = password_step(&server, &browser, "personne@exemple.fr", PASSWORD).await;
    for page in [&locked, &unknown] {
        assert_eq!(page.status, 200);
        assert_eq!(page.text(), refusals[0]);
    }

    server.advance_clock(61);
    let page = password_step(&server, &browser, email, PASSWORD).await;
    assert!(
        page.text()
            .contains("Configuration de l'authentification par mobile"),
        "{}",
        page.text()
    );
}

async fn another_user_signed_in_does_not_mix_accounts(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = strong_server(backend, &mailbox, json!({})).await;
    let alice = set_up_account(&server, &mailbox, "alice@exemple.fr").await;
    let browser = server.browser();
    let claims = login_with_code_in(
        &server,
        &browser,
        &alice.email,
        PASSWORD,
        &alice.secret,
        None,
    )
    .await;
    assert_eq!(claims["sub"], json!(alice.id));

    // Bob's initialisation link, opened in Alice's browser: every page is Bob's.
    let bob_email = "bob@exemple.fr";
    let bob_id = invite(&server, bob_email).await;
    let link = next_link(&mailbox).await;
    let page = Page::follow(&browser, &link).await;
    let svg = page.between("<svg", "</svg>").unwrap();
    let uri = totp::decode_qr_svg(&format!("<svg{svg}</svg>")).unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Smart%20OA:bob@exemple.fr?"),
        "{uri}"
    );
    let (_, page) = enrol_from_qr(&server, &browser, &page, "Téléphone de Bob").await;
    assert_eq!(
        form_fields(&page.html).get("username").map(String::as_str),
        Some(bob_email)
    );
    let page = page
        .submit(
            &browser,
            &[("password-new", PASSWORD), ("password-confirm", PASSWORD)],
        )
        .await;
    assert!(
        page.text().contains("Mise à jour du compte"),
        "{}",
        page.text()
    );
    assert_eq!(
        form_fields(&page.html).get("email").map(String::as_str),
        Some(bob_email)
    );
    let page = page
        .submit(&browser, &[("firstName", "Bob"), ("lastName", "Martin")])
        .await;
    assert!(
        page.text().contains("Votre compte a été mis à jour"),
        "{}",
        page.text()
    );

    // Alice's session is still Alice's.
    let response = browser
        .get(portal_auth_url(&server, "silent", &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    let redirect = location(&response).expect("a redirect to the portal");
    let code = portal_code(&redirect, "silent");
    let claims = redeem(&server, &code).await;
    assert_eq!(claims["sub"], json!(alice.id));
    assert_ne!(claims["sub"], json!(bob_id));
    assert_eq!(claims["email"], json!(alice.email));
}

async fn cancel_on_totp_during_login_tells_the_client(backend: Backend) {
    let server = TestServer::start(backend).await;
    let email = "jean.dupont@exemple.fr";
    server.create_user("jean", email, PASSWORD).await;
    strong_realm(&server, json!({})).await;

    let browser = server.browser();
    let page = password_step(&server, &browser, email, PASSWORD).await;
    assert!(
        page.text()
            .contains("Configuration de l'authentification par mobile"),
        "{}",
        page.text()
    );
    let redirect = page
        .submit_expecting_redirect(&browser, &[("cancel", "true")])
        .await;
    assert!(redirect.starts_with(PORTAL_REDIRECT), "{redirect}");
    let params = query_params(&url::Url::parse(&redirect).unwrap());
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("access_denied")
    );
    assert_eq!(params.get("state").map(String::as_str), Some("edge"));
    assert_eq!(params.get("iss"), Some(&server.issuer()));
    assert!(!params.contains_key("code"), "{redirect}");
}

on_both_backends!(
    step_past_its_limit_restarts_the_login_with_the_message,
    expired_link_says_so,
    tampered_link_says_so,
    journey_resumes_after_a_timeout_without_a_second_device,
    replayed_code_is_refused,
    two_parallel_logins_with_one_code_let_only_one_through,
    two_devices_picker_and_each_code,
    back_button_and_double_submit_land_on_the_current_step,
    brute_force_locks_then_the_same_message,
    another_user_signed_in_does_not_mix_accounts,
    cancel_on_totp_during_login_tells_the_client,
);

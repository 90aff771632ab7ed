//! "Mot de passe oublié ?": a reset by mail, with the same answer whether the account exists.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::time::Duration;

use crate::harness::{Backend, PORTAL, PORTAL_REDIRECT, TestServer};
use crate::mail::{MailBox, link_from_mail};
use crate::pages::Page;

const OLD_PASSWORD: &str = "ancien mot de passe";
const NEW_PASSWORD: &str = "nouveau mot de passe";

const PORTAL_REQUEST: [(&str, &str); 4] = [
    ("client_id", PORTAL),
    ("redirect_uri", PORTAL_REDIRECT),
    ("response_type", "code"),
    ("scope", "openid"),
];

async fn login_page(server: &TestServer, browser: &reqwest::Client) -> Page {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(PORTAL_REQUEST)
        .finish();
    Page::follow(browser, &format!("{}?{query}", server.endpoint("auth"))).await
}

async fn ask_for_reset(server: &TestServer, login: &str) -> Page {
    let browser = server.browser();
    let page = login_page(server, &browser).await;
    assert!(
        page.text().contains("Mot de passe oublié ?"),
        "{}",
        page.text()
    );
    let reset_url = format!(
        "{}/realms/test/login-actions/reset-credentials",
        server.base_url
    );
    assert!(crate::pages::unescape(&page.html).contains(&reset_url));
    let form = Page::follow(&browser, &reset_url).await;
    assert!(
        form.text().contains("Nom d'utilisateur ou courriel"),
        "{}",
        form.text()
    );
    form.submit(&browser, &[("username", login)]).await
}

async fn forgotten_password_is_reset_by_mail(backend: Backend) {
    let mailbox = MailBox::start().await;
    let server = TestServer::start_with_smtp(backend, &mailbox.url()).await;
    server
        .create_user("claire", "claire@exemple.fr", OLD_PASSWORD)
        .await;

    // Unknown accounts get the same answer, and no mail.
    let unknown = ask_for_reset(&server, "personne@exemple.fr").await;
    let known = ask_for_reset(&server, "Claire@Exemple.fr").await;
    assert_eq!(unknown.text(), known.text());
    assert!(
        known.text().contains("Si un compte correspond"),
        "{}",
        known.text()
    );

    let mail = mailbox
        .next_mail(Duration::from_secs(10))
        .await
        .expect("the reset mail arrives");
    assert!(mail.raw.contains("claire@exemple.fr"));
    assert!(
        mail.subject
            .starts_with("Réinitialisation de votre mot de passe"),
        "{}",
        mail.subject
    );
    assert!(
        mailbox
            .next_mail(Duration::from_millis(500))
            .await
            .is_none(),
        "one mail only"
    );
    let link = link_from_mail(&mail.text).unwrap();

    // A login before the link is used asks nothing more: a reset request alone changes nothing.
    let login = server
        .login(&server.browser(), &PORTAL_REQUEST, "claire", OLD_PASSWORD)
        .await;
    assert!(login.as_str().starts_with(PORTAL_REDIRECT), "{login}");

    let browser = server.browser();
    let page = Page::follow(&browser, &link).await;
    assert!(
        page.text().contains("Mise à jour du mot de passe"),
        "{}",
        page.text()
    );
    let page = page
        .submit(
            &browser,
            &[
                ("password-new", NEW_PASSWORD),
                ("password-confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert!(
        page.text().contains("Votre compte a été mis à jour"),
        "{}",
        page.text()
    );

    let again = Page::follow(&server.browser(), &link).await;
    assert_eq!(again.status, 400, "the link is dead once used");

    let refused = server
        .login_response(&server.browser(), &PORTAL_REQUEST, "claire", OLD_PASSWORD)
        .await;
    let refused = crate::pages::unescape(&refused.text().await.unwrap());
    assert!(
        refused.contains("Nom d'utilisateur ou mot de passe invalide."),
        "{refused}"
    );
    let login = server
        .login(&server.browser(), &PORTAL_REQUEST, "claire", NEW_PASSWORD)
        .await;
    assert!(login.as_str().starts_with(PORTAL_REDIRECT), "{login}");
}

on_both_backends!(forgotten_password_is_reset_by_mail);

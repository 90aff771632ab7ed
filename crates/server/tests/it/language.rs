//! The language of the login pages: the switcher on every step, remembered in a cookie.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use crate::harness::{Backend, PORTAL, PORTAL_REDIRECT, TestServer};
use crate::pages::Page;

async fn switcher_changes_the_language_of_the_following_pages(backend: Backend) {
    let server = TestServer::start(backend).await;
    server
        .create_user("marie", "marie@exemple.fr", "mot de passe de marie")
        .await;
    let browser = server.browser();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", PORTAL),
            ("redirect_uri", PORTAL_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
        ])
        .finish();
    let french = Page::follow(&browser, &format!("{}?{query}", server.endpoint("auth"))).await;
    assert!(french.html.contains("lang=\"fr\""));
    assert!(french.text().contains("Connectez-vous à votre compte"));
    assert!(
        french.html.contains("href=\"?kc_locale=en\""),
        "{}",
        french.html
    );

    let english = Page::follow(&browser, &format!("{}?kc_locale=en", french.url)).await;
    assert!(
        english.html.contains("<html lang=\"en\">"),
        "{}",
        english.html
    );
    assert!(
        !english.text().contains("Connectez-vous"),
        "{}",
        english.text()
    );

    // The choice stays for the next page, a refused password here.
    let refused = english
        .submit(&browser, &[("username", "marie"), ("password", "wrong")])
        .await;
    assert!(
        refused.html.contains("<html lang=\"en\">"),
        "{}",
        refused.html
    );
    assert!(
        refused.text().contains("Invalid username or password"),
        "{}",
        refused.text()
    );

    // An unsupported language is ignored.
    let ignored = Page::follow(
        &server.browser(),
        &format!("{}?{query}&ui_locales=de", server.endpoint("auth")),
    )
    .await;
    assert!(ignored.html.contains("<html lang=\"fr\">"));
}

on_both_backends!(switcher_changes_the_language_of_the_following_pages);

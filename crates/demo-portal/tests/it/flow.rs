//! The browser's side: pages, sign-in with the authorization code flow and PKCE, the session
//! kept on the server, the orders page reading the API, sign-out at the provider, and every
//! way a callback can go wrong ending on a French page.

use std::collections::HashMap;

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use url::Url;

use sesame_demo_portal::{RunningPortal, orders_for_producer};

use crate::mock_idp::{Approval, CLIENT_ID, MockIdp};

const SUBJECT: &str = "9d3f1e0a-producer";

/// A browser that keeps cookies and follows no redirect.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("test browser")
}

/// `GET` a path of the portal.
async fn open(browser: &reqwest::Client, portal: &RunningPortal, path: &str) -> reqwest::Response {
    let url = portal
        .url()
        .join(path.trim_start_matches('/'))
        .expect("portal path");
    browser.get(url).send().await.expect("portal request")
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::to_owned)
        .collect()
}

fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// The authorization request `/login` redirected to, checked against what the portal must send.
struct AuthorizationRequest {
    state: String,
    nonce: String,
    code_challenge: String,
}

/// Opens `/login` (with `next`), checks the redirect to the provider and returns its parameters.
async fn start_login(
    browser: &reqwest::Client,
    idp: &MockIdp,
    portal: &RunningPortal,
    path: &str,
) -> AuthorizationRequest {
    let response = open(browser, portal, path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookies = set_cookies(&response);
    assert!(
        cookies
            .iter()
            .any(|cookie| cookie.starts_with("smartoa_login=")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")),
        "{cookies:?}"
    );
    let redirect = Url::parse(&location(&response)).expect("redirect to the provider");
    assert_eq!(
        redirect.as_str().split('?').next(),
        Some(idp.endpoint("auth").as_str())
    );
    let params = query(&redirect);
    assert_eq!(
        params.get("response_type").map(String::as_str),
        Some("code")
    );
    assert_eq!(params.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(
        params.get("redirect_uri"),
        Some(&format!("{}callback", portal.url()))
    );
    let scopes: Vec<&str> = params
        .get("scope")
        .map(|scope| scope.split(' ').collect())
        .unwrap_or_default();
    for scope in ["openid", "profile", "email"] {
        assert!(scopes.contains(&scope), "{scopes:?}");
    }
    assert_eq!(
        params.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    let param = |name: &str| {
        params
            .get(name)
            .filter(|value| value.len() >= 22)
            .unwrap_or_else(|| panic!("a random {name} in {redirect}"))
            .clone()
    };
    AuthorizationRequest {
        state: param("state"),
        nonce: param("nonce"),
        code_challenge: param("code_challenge"),
    }
}

fn approval(request: &AuthorizationRequest) -> Approval {
    Approval {
        subject: SUBJECT.to_owned(),
        given_name: "Zoé".to_owned(),
        family_name: "<Martin & Fils>".to_owned(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
    }
}

/// The provider's redirect back to the portal.
async fn callback(
    browser: &reqwest::Client,
    portal: &RunningPortal,
    params: &[(&str, &str)],
) -> reqwest::Response {
    let mut url = portal.url().join("callback").expect("callback URL");
    url.query_pairs_mut().extend_pairs(params);
    browser.get(url).send().await.expect("callback request")
}

#[tokio::test]
async fn a_user_signs_in_sees_their_orders_and_signs_out_at_the_provider() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;
    let browser = browser();

    let home = open(&browser, &portal, "/").await;
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.expect("home page");
    assert!(
        html.contains("Bienvenue sur le portail Smart OA."),
        "{html}"
    );
    assert!(html.contains(">Se connecter</a>"), "{html}");

    // The orders need a session: the portal sends the browser to sign in first.
    let orders = open(&browser, &portal, "/ordres-effacement").await;
    assert_eq!(orders.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&orders), "/login?next=/ordres-effacement");

    let request = start_login(&browser, &idp, &portal, "/login?next=/ordres-effacement").await;
    idp.approve("code-1", approval(&request));
    let issuer = idp.issuer.clone();
    let response = callback(
        &browser,
        &portal,
        &[
            ("code", "code-1"),
            ("state", &request.state),
            ("iss", &issuer),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/ordres-effacement");
    let cookies = set_cookies(&response);
    let session_cookie = cookies
        .iter()
        .find(|cookie| cookie.starts_with("smartoa_session="))
        .unwrap_or_else(|| panic!("a session cookie in {cookies:?}"));
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(
        !session_cookie.contains("Secure"),
        "http portal: {session_cookie}"
    );
    // The cookie is a random key, not a token.
    let value = session_cookie
        .trim_start_matches("smartoa_session=")
        .split(';')
        .next()
        .unwrap_or_default();
    assert_eq!(value.len(), 43, "{session_cookie}");
    assert!(!value.contains('.'), "{session_cookie}");

    // The header shows the name, escaped, with the profile link and sign-out.
    let html = open(&browser, &portal, "/")
        .await
        .text()
        .await
        .expect("home");
    assert!(
        html.contains("<span class=\"utilisateur\">Zoé &lt;Martin &amp; Fils&gt;</span>"),
        "{html}"
    );
    assert!(
        html.contains(&format!("<a href=\"{issuer}/account\">Mon Profil</a>")),
        "{html}"
    );
    assert!(
        html.contains("href=\"/logout\">Se déconnecter</a>"),
        "{html}"
    );
    assert!(!html.contains(">Se connecter</a>"), "{html}");

    // The orders page reads the API with the session's token.
    let orders = open(&browser, &portal, "/ordres-effacement").await;
    assert_eq!(orders.status(), StatusCode::OK);
    let html = orders.text().await.expect("orders page");
    let expected = orders_for_producer(SUBJECT);
    for order in &expected {
        assert!(html.contains(&format!("<td>{}</td>", order.id)), "{html}");
    }
    assert!(!html.contains("eyJ"), "no token in the page: {html}");

    // Sign-out ends the portal's session and sends the browser to the provider's logout.
    let response = open(&browser, &portal, "/logout").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        set_cookies(&response)
            .iter()
            .any(|cookie| cookie.starts_with("smartoa_session=;") && cookie.contains("Max-Age=0")),
        "{:?}",
        set_cookies(&response)
    );
    let logout = Url::parse(&location(&response)).expect("logout redirect");
    assert_eq!(
        logout.as_str().split('?').next(),
        Some(idp.endpoint("logout").as_str())
    );
    let params = query(&logout);
    assert!(
        params
            .get("id_token_hint")
            .is_some_and(|hint| hint.split('.').count() == 3),
        "{logout}"
    );
    assert_eq!(
        params.get("post_logout_redirect_uri").map(String::as_str),
        Some(portal.url().as_str())
    );
    assert!(
        params.get("state").is_some_and(|state| !state.is_empty()),
        "{logout}"
    );

    let html = open(&browser, &portal, "/")
        .await
        .text()
        .await
        .expect("home");
    assert!(html.contains(">Se connecter</a>"), "signed out: {html}");
    let orders = open(&browser, &portal, "/ordres-effacement").await;
    assert_eq!(orders.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_cancelled_login_shows_a_french_page() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;
    let browser = browser();

    let request = start_login(&browser, &idp, &portal, "/login").await;
    let response = callback(
        &browser,
        &portal,
        &[("error", "access_denied"), ("state", &request.state)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("page");
    assert!(html.contains("<h1>Connexion annulée</h1>"), "{html}");
    assert!(html.contains("href=\"/login\">Se connecter</a>"), "{html}");
}

#[tokio::test]
async fn callbacks_that_do_not_match_the_login_are_refused() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;

    // No login in progress in this browser at all.
    let response = callback(&browser(), &portal, &[("code", "x"), ("state", "y")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .expect("page")
            .contains("Connexion expirée")
    );

    // Each case: its name, the callback's parameters, the answer's status and page heading.
    type Params = Box<dyn Fn(&AuthorizationRequest) -> Vec<(String, String)>>;
    let cases: Vec<(&str, Params, StatusCode, &str)> = vec![
        (
            "another state",
            Box::new(|_| {
                vec![
                    ("code".into(), "c".into()),
                    ("state".into(), "forged".into()),
                ]
            }),
            StatusCode::BAD_REQUEST,
            "Connexion expirée",
        ),
        (
            "a repeated state",
            Box::new(|request| {
                vec![
                    ("code".into(), "c".into()),
                    ("state".into(), request.state.clone()),
                    ("state".into(), request.state.clone()),
                ]
            }),
            StatusCode::BAD_REQUEST,
            "Connexion expirée",
        ),
        (
            "another issuer",
            Box::new(|request| {
                vec![
                    ("code".into(), "c".into()),
                    ("state".into(), request.state.clone()),
                    ("iss".into(), "http://127.0.0.1:1/realms/evil".into()),
                ]
            }),
            StatusCode::BAD_GATEWAY,
            "Connexion impossible",
        ),
        (
            "a code the provider does not know",
            Box::new(|request| {
                vec![
                    ("code".into(), "unknown".into()),
                    ("state".into(), request.state.clone()),
                ]
            }),
            StatusCode::BAD_GATEWAY,
            "Connexion impossible",
        ),
        (
            "no code",
            Box::new(|request| vec![("state".into(), request.state.clone())]),
            StatusCode::BAD_REQUEST,
            "Connexion impossible",
        ),
        (
            "another error",
            Box::new(|request| {
                vec![
                    ("error".into(), "server_error".into()),
                    ("state".into(), request.state.clone()),
                ]
            }),
            StatusCode::BAD_GATEWAY,
            "Connexion impossible",
        ),
    ];
    for (case, params, status, title) in cases {
        let browser = browser();
        let request = start_login(&browser, &idp, &portal, "/login").await;
        let params = params(&request);
        let borrowed: Vec<(&str, &str)> = params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let response = callback(&browser, &portal, &borrowed).await;
        assert_eq!(response.status(), status, "{case}");
        let html = response.text().await.expect("page");
        assert!(
            html.contains(&format!("<h1>{title}</h1>")),
            "{case}: {html}"
        );
    }
}

#[tokio::test]
async fn an_id_token_for_another_nonce_is_refused_and_a_callback_works_once() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;
    let browser = browser();

    let request = start_login(&browser, &idp, &portal, "/login").await;
    let mut replayed = approval(&request);
    replayed.nonce = "a-nonce-from-another-login".to_owned();
    idp.approve("code-nonce", replayed);
    let response = callback(
        &browser,
        &portal,
        &[("code", "code-nonce"), ("state", &request.state)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        response
            .text()
            .await
            .expect("page")
            .contains("Connexion impossible")
    );

    // A good login, then the same callback again: the login was used up.
    let request = start_login(&browser, &idp, &portal, "/login").await;
    idp.approve("code-good", approval(&request));
    let params = [("code", "code-good"), ("state", request.state.as_str())];
    let first = callback(&browser, &portal, &params).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&first), "/");
    let again = callback(&browser, &portal, &params).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn menu_pages_render_for_everyone_and_unknown_paths_are_404() {
    let idp = MockIdp::start().await;
    let portal = idp.start_portal().await;
    let browser = browser();

    for (path, heading) in [
        ("/contrats", "<h1>Contrats</h1>"),
        ("/tuto-initialisation", "<h1>Tuto Initialisation</h1>"),
        ("/gestion-acces-api", "<h1>Gestion Accès API</h1>"),
    ] {
        let response = open(&browser, &portal, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let csp = response
            .headers()
            .get("content-security-policy")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        let html = response.text().await.expect("page");
        assert!(html.contains(heading), "{path}: {html}");
        assert!(!html.contains("<script"), "{path}: {html}");
    }

    let html = open(&browser, &portal, "/gestion-acces-api")
        .await
        .text()
        .await
        .expect("page");
    let token_endpoint = idp.endpoint("token");
    assert!(
        html.contains(&format!(
            "curl -u smart-oa-api-consumer-example:SECRET -d grant_type=client_credentials \
             {token_endpoint}"
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "curl -H \"Authorization: Bearer JETON\" {}api/ordres-effacement",
            portal.url()
        )),
        "{html}"
    );

    let stylesheet = open(&browser, &portal, "/static/portail.css").await;
    assert_eq!(stylesheet.status(), StatusCode::OK);
    assert_eq!(
        stylesheet
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok()),
        Some("text/css; charset=utf-8")
    );

    let missing = open(&browser, &portal, "/nulle-part").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        missing
            .text()
            .await
            .expect("page")
            .contains("Page introuvable")
    );

    // `next` only takes the portal's own pages.
    let response = open(&browser, &portal, "/login?next=https://evil.test/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

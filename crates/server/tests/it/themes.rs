//! The realm's login theme, static files addressed by their content, and the operator's theme
//! directory, seen over HTTP as a browser sees them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops at the first unexpected failure"
)]

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use serde_json::json;

use crate::harness::{
    Backend, PORTAL, PORTAL_REDIRECT, TestServer, location, unescape_html, unique_temp_dir,
};

/// An administrator sets the `test` realm's login theme through the admin API.
async fn set_login_theme(server: &TestServer, theme: &str) {
    let response = server
        .http()
        .put(format!("{}/admin/realms/test", server.base_url))
        .bearer_auth(server.admin_token().await)
        .json(&json!({ "loginTheme": theme }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// The login page a browser reaches from the portal's authorization request, unescaped.
async fn login_page(server: &TestServer) -> String {
    login_page_in(server, &server.browser()).await
}

/// Like [`login_page`], in `browser`, which keeps the login session.
async fn login_page_in(server: &TestServer, browser: &reqwest::Client) -> String {
    let params = [
        ("response_type", "code"),
        ("client_id", PORTAL),
        ("redirect_uri", PORTAL_REDIRECT),
        ("scope", "openid"),
        ("state", "theme-test"),
    ];
    let response = server.authorize(browser, &params).await;
    let login_url = location(&response).expect("the authorization request redirects");
    let page = browser.get(&login_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    unescape_html(&page.text().await.unwrap())
}

/// The stylesheets a page links, in order.
fn stylesheets(html: &str) -> Vec<String> {
    const LINK: &str = r#"<link rel="stylesheet" href=""#;
    html.match_indices(LINK)
        .filter_map(|(start, _)| {
            let rest = &html[start + LINK.len()..];
            rest.find('"').map(|end| rest[..end].to_owned())
        })
        .collect()
}

#[tokio::test]
async fn realm_login_theme_picks_the_theme_of_its_pages() {
    let server = TestServer::start(Backend::Sqlite).await;

    let base = login_page(&server).await;
    set_login_theme(&server, "smart-oa").await;
    let themed = login_page(&server).await;
    set_login_theme(&server, "base").await;
    let base_again = login_page(&server).await;

    for page in [&base, &base_again] {
        assert!(page.contains(r#"<p class="realm-name">Test</p>"#), "{page}");
        assert!(!page.contains("brand-name"), "{page}");
        assert_eq!(stylesheets(page).len(), 1, "{page}");
    }
    assert!(
        themed.contains(r#"<p class="brand-name">Smart OA</p>"#),
        "{themed}"
    );
    assert!(themed.contains("<h1>Connectez-vous à votre compte</h1>"));
    let links = stylesheets(&themed);
    assert_eq!(links.len(), 2, "{themed}");
    assert_eq!(
        links[0],
        stylesheets(&base)[0],
        "the base stylesheet comes first"
    );
    assert!(
        links[1].ends_with("/smart-oa/css/smart-oa.css"),
        "{links:?}"
    );
}

#[tokio::test]
async fn a_theme_the_server_lacks_is_refused_and_nothing_changes() {
    let server = TestServer::start(Backend::Sqlite).await;
    let response = server
        .http()
        .put(format!("{}/admin/realms/test", server.base_url))
        .bearer_auth(server.admin_token().await)
        .json(&json!({ "loginTheme": "nowhere", "displayName": "Changed" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["errorMessage"].as_str().unwrap().contains("nowhere"),
        "{body}"
    );
    let page = login_page(&server).await;
    assert!(page.contains(r#"<p class="realm-name">Test</p>"#), "{page}");
}

#[tokio::test]
async fn linked_static_files_are_immutable_and_other_hashes_are_not_found() {
    let server = TestServer::start(Backend::Sqlite).await;
    set_login_theme(&server, "smart-oa").await;
    let links = stylesheets(&login_page(&server).await);
    let http = server.http();

    for link in &links {
        let response = http
            .get(format!("{}{link}", server.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{link}");
        assert_eq!(
            response.headers()[CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{link}"
        );
        assert_eq!(response.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    }

    // The same file under another hash: a version this node does not have.
    let hash = links[1].split('/').nth(2).unwrap();
    let other = links[1].replace(hash, "0123456789abcdef");
    let response = http
        .get(format!("{}{other}", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "{other}");

    // The address without a hash, for templates written before, is cached briefly.
    let legacy = http
        .get(format!("{}/resources/css/login.css", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), StatusCode::OK);
    assert_eq!(legacy.headers()[CACHE_CONTROL], "public, max-age=3600");
}

#[tokio::test]
async fn theme_dir_replaces_a_stylesheet_and_a_template_without_rebuilding() {
    let theme_dir = unique_temp_dir();
    let css_dir = theme_dir.join("smart-oa").join("resources").join("css");
    std::fs::create_dir_all(&css_dir).unwrap();
    std::fs::write(
        css_dir.join("smart-oa.css"),
        "/* operator's colours */\nbody { background: #ffffff; }\n",
    )
    .unwrap();
    let login_dir = theme_dir.join("smart-oa").join("login");
    std::fs::create_dir_all(&login_dir).unwrap();
    std::fs::write(
        login_dir.join("layout.html"),
        "{% extends \"base/login/layout.html\" %}\
         {% block stylesheets %}\n<link rel=\"stylesheet\" \
         href=\"{{ resource_url(path='css/smart-oa.css') }}\">{% endblock stylesheets %}\
         {% block header %}<p class=\"brand-name\">Portail de l'exploitant</p>{% endblock header %}",
    )
    .unwrap();
    let server = TestServer::start_with(
        Backend::Sqlite,
        &[("SESAME_THEME_DIR", theme_dir.display().to_string())],
    )
    .await;
    set_login_theme(&server, "smart-oa").await;

    let page = login_page(&server).await;
    let links = stylesheets(&page);
    let mut served = Vec::new();
    for link in &links {
        let response = server
            .http()
            .get(format!("{}{link}", server.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{link}");
        served.push(response.text().await.unwrap());
    }

    assert!(
        page.contains(r#"<p class="brand-name">Portail de l'exploitant</p>"#),
        "{page}"
    );
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(served[0].contains(":focus-visible"), "the base stylesheet");
    assert!(
        served[1].starts_with("/* operator's colours */"),
        "{}",
        served[1]
    );
    let _ = std::fs::remove_dir_all(&theme_dir);
}

#[tokio::test]
async fn a_realm_file_naming_a_missing_theme_stops_start_up() {
    let data_dir = crate::harness::unique_temp_dir();
    let realms = data_dir.join("realms");
    std::fs::create_dir_all(&realms).unwrap();
    std::fs::write(
        realms.join("odd.toml"),
        "realm = \"odd\"\nloginTheme = \"nowhere\"\n",
    )
    .unwrap();
    let variables = std::collections::HashMap::from([
        ("SESAME_DATA_DIR", data_dir.display().to_string()),
        ("SESAME_REALMS_DIR", realms.display().to_string()),
    ]);
    let environment = |name: &str| variables.get(name).cloned();
    let config =
        sesame_server::config::load(sesame_server::config::Mode::Dev, None, &environment).unwrap();

    let error = match sesame_server::Sesame::build(&config).await {
        Ok(_) => panic!("a realm with an unknown theme was imported"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("odd.toml"), "{error}");
    assert!(error.contains("loginTheme \"nowhere\""), "{error}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn the_password_reset_page_follows_the_realm_theme() {
    let server = TestServer::start(Backend::Sqlite).await;
    set_login_theme(&server, "smart-oa").await;
    let browser = server.browser();
    login_page_in(&server, &browser).await;

    let page = browser
        .get(format!(
            "{}/realms/test/login-actions/reset-credentials",
            server.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = unescape_html(&page.text().await.unwrap());
    assert!(
        page.contains(r#"<p class="brand-name">Smart OA</p>"#),
        "{page}"
    );
    assert_eq!(stylesheets(&page).len(), 2, "{page}");
}

//! The newcomer's path and the demo portal as a real relying party: the README's first command
//! run as a process, its printed invitation link followed through the guide's journey, the
//! portal signed in with password and code, its API called with tokens of every kind, and the
//! sign-out reaching Sésame.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sesame_actions::totp;

use crate::harness::{API, API_SECRET, Backend, TestServer, unique_temp_dir};
use crate::journey::{secret_from_qr, urlencode};
use crate::pages::Page;

const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const README_COMMAND: &str = "cargo run --release -- start-dev";
const DEMO_PRODUCER: &str = "producteur.demo@smart-oa.example";
const PASSWORD: &str = "un mot de passe solide";

/// `sesame start-dev` running as a child process from the repository's root, as the README
/// says, on free ports and in its own data directory; stopped when dropped.
pub(crate) struct StartDev {
    child: Child,
    pub(crate) data_dir: PathBuf,
    /// Lines printed on standard output so far, for failure messages.
    printed: Vec<String>,
    lines: mpsc::Receiver<String>,
    /// Every line of the standard error output (the logs), as they come.
    pub(crate) logs: Arc<Mutex<Vec<String>>>,
}

impl StartDev {
    fn spawn() -> StartDev {
        Self::spawn_with(&[("SESAME_LOG_LEVEL", "warn")])
    }

    /// Like [`StartDev::spawn`], with extra settings.
    pub(crate) fn spawn_with(settings: &[(&str, &str)]) -> StartDev {
        let data_dir = unique_temp_dir();
        let (sesame_port, portal_port) = (free_port(), free_port());
        let mut command = Command::new(env!("CARGO_BIN_EXE_sesame"));
        command
            .arg("start-dev")
            .current_dir(WORKSPACE)
            .env("SESAME_DATA_DIR", &data_dir)
            .env("SESAME_HTTP_PORT", sesame_port.to_string())
            .env("SESAME_DEMO_PORTAL_PORT", portal_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Settings of the environment running the tests must not leak into the defaults.
        for (name, _) in std::env::vars() {
            if name.starts_with("SESAME_") && !name.starts_with("SESAME_TEST_") {
                command.env_remove(name);
            }
        }
        command.envs(settings.iter().copied());
        let mut child = command.spawn().expect("start sesame start-dev");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let collected = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // Shown with the test's output when it fails.
                eprintln!("{line}");
                collected.lock().unwrap().push(line);
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        StartDev {
            child,
            data_dir,
            printed: Vec::new(),
            lines,
            logs,
        }
    }

    /// Waits for a printed line starting with `prefix` (leading spaces ignored) and returns
    /// the rest of it, trimmed.
    pub(crate) fn printed_after(&mut self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.printed.push(line.clone());
                    if let Some(rest) = line.trim_start().strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Err(_) => panic!(
                    "start-dev printed no line starting with {prefix:?}; it printed:\n{}",
                    self.printed.join("\n")
                ),
            }
        }
    }

    /// Asks the process to stop as an operator's Ctrl-C would, and checks that it exits
    /// cleanly.
    pub(crate) fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        // Requests in flight get ten seconds; a loaded machine may need more to get there.
        let deadline = std::time::Instant::now() + Duration::from_secs(45);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "start-dev exited with {status}");
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "start-dev did not stop after SIGINT"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for StartDev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn now() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since_epoch.as_secs()).unwrap()
}

/// A browser: cookies kept per site, redirects followed by [`Page`] one at a time.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_readme_command_leads_a_newcomer_to_the_portal_signed_in() {
    let readme = std::fs::read_to_string(Path::new(WORKSPACE).join("README.md")).unwrap();
    assert!(
        readme.contains(README_COMMAND),
        "the README's first command is the one this test runs"
    );

    let mut sesame = StartDev::spawn();
    let sesame_url =
        sesame.printed_after("Sésame is running (development mode, embedded defaults) on");
    let portal_url = sesame.printed_after("Smart OA demo portal:");
    let mail_file = sesame.printed_after("mail");
    let link = sesame.printed_after("open");
    assert!(
        link.starts_with(&format!(
            "{sesame_url}/realms/smart-oa/login-actions/action-token?key="
        )),
        "{link}"
    );
    let mail = std::fs::read_to_string(&mail_file).unwrap();
    assert!(mail.contains(DEMO_PRODUCER), "{mail}");

    // The guide's journey from the printed link.
    let browser = browser();
    let page = Page::follow(&browser, &link).await;
    let secret = secret_from_qr(&page);
    let code = totp::totp(&secret, now(), 30, 6);
    let page = page
        .submit(&browser, &[("totp", &code), ("userLabel", "Mon téléphone")])
        .await;
    page.assert_shows("Mise à jour du mot de passe");
    let page = page
        .submit(
            &browser,
            &[("password-new", PASSWORD), ("password-confirm", PASSWORD)],
        )
        .await;
    page.assert_shows("Mise à jour du compte");
    let page = page
        .submit(&browser, &[("firstName", "Jeanne"), ("lastName", "Martin")])
        .await;
    page.assert_shows("Votre compte a été mis à jour");
    assert!(
        crate::pages::unescape(&page.html).contains(&format!("href=\"{portal_url}\"")),
        "the way back leads to the portal: {}",
        page.html
    );

    // The portal: the guide's home page, then "Se connecter", password, then code.
    let home = Page::follow(&browser, &portal_url).await;
    home.assert_shows("Bienvenue sur le portail Smart OA");
    home.assert_shows("Se connecter");
    let login = Page::follow(&browser, &format!("{portal_url}login")).await;
    login.assert_shows("Connectez-vous à votre compte");
    let page = login
        .submit(
            &browser,
            &[("username", DEMO_PRODUCER), ("password", PASSWORD)],
        )
        .await;
    page.assert_shows("Code à usage unique");
    // The enrolment's code counts as used: an app shows the next one.
    let code = totp::totp(&secret, now() + 30, 30, 6);
    let signed_in = page.submit(&browser, &[("otp", &code)]).await;
    assert!(signed_in.url.starts_with(&portal_url), "{}", signed_in.url);
    signed_in.assert_shows("Jeanne Martin");
    signed_in.assert_shows("Mon Profil");
    signed_in.assert_shows("Se déconnecter");

    // "Mon Profil": the account console, in the same browser session at Sésame.
    let profile_link = signed_in
        .between("<span class=\"utilisateur\">", "Mon Profil")
        .and_then(|area| {
            let start = area.find("href=\"")? + "href=\"".len();
            let end = area[start..].find('"')? + start;
            Some(crate::pages::unescape(&area[start..end]))
        })
        .expect("a Mon Profil link next to the name");
    assert_eq!(
        profile_link,
        format!("{sesame_url}/realms/smart-oa/account")
    );
    let console = Page::follow(&browser, &profile_link).await;
    console.assert_shows("Mon compte");
    console.assert_shows("Mon téléphone");
    console.assert_shows("Créé le");

    // Ordres d'effacement: the portal calls its API with the session's access token.
    let orders = Page::follow(&browser, &format!("{portal_url}ordres-effacement")).await;
    assert_eq!(orders.status, 200, "{}", orders.text());
    assert!(orders.html.contains("<table"), "{}", orders.text());

    // An API consumer: client credentials with the secret start-dev generated.
    let api = format!("{portal_url}api/ordres-effacement");
    let consumer_secret = std::fs::read_to_string(
        sesame
            .data_dir
            .join("secrets/smart-oa.smart-oa-api-consumer-example.secret"),
    )
    .unwrap();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!(
            "{sesame_url}/realms/smart-oa/protocol/openid-connect/token"
        ))
        .basic_auth(
            "smart-oa-api-consumer-example",
            Some(urlencode(consumer_secret.trim())),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = token["access_token"].as_str().unwrap();
    let response = http
        .get(&api)
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    // A service account sees every producer's orders.
    assert!(body["orders"].as_array().unwrap().len() > 5, "{body}");
    let response = http.get(&api).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"),
    );

    // Sign out: the portal sends the browser to Sésame, which ends its session too.
    let signed_out = Page::follow(&browser, &format!("{portal_url}logout")).await;
    assert!(
        signed_out.url.starts_with(&portal_url),
        "{}",
        signed_out.url
    );
    signed_out.assert_shows("Se connecter");
    let login = Page::follow(&browser, &format!("{portal_url}login")).await;
    assert!(
        login.text().contains("Connectez-vous à votre compte"),
        "Sésame asks for the password again: {}",
        login.text()
    );

    sesame.stop();
}

/// The demo API in front of a real Sésame: only tokens of that issuer, for the API's audience,
/// signed by one of its keys and not expired, are let through.
async fn the_demo_api_accepts_only_sesames_current_tokens_for_it(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin_token().await;
    let set_audience = async |audience: &str| {
        let response = server
            .http()
            .put(format!("{}/admin/realms/test", server.base_url))
            .bearer_auth(&admin)
            .json(&json!({ "accessTokenAudience": [audience] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    };
    set_audience("smart-oa-api").await;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let portal_url =
        url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let mut config = sesame_demo_portal::Config::new(
        url::Url::parse(&server.issuer()).unwrap(),
        crate::harness::PORTAL,
        sesame_demo_portal::ClientSecret::new(crate::harness::PORTAL_SECRET.to_owned()),
        portal_url.clone(),
    );
    config.extra_root_certificate_pem =
        Some(std::fs::read_to_string(server.data_dir.join("cert.pem")).unwrap());
    let portal = sesame_demo_portal::spawn_on(config, listener)
        .await
        .unwrap();
    let api = format!("{portal_url}api/ordres-effacement");
    let call = async |token: &str| {
        let response = reqwest::Client::new()
            .get(&api)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|value| value.to_str().unwrap().to_owned());
        (response.status().as_u16(), challenge)
    };
    let client_token = async || {
        let body: Value = server
            .http()
            .post(server.endpoint("token"))
            .basic_auth(API, Some(API_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    };

    let good = client_token().await;
    assert_eq!(call(&good).await, (200, None));

    // Signed by another key, under the kid of Sésame's own.
    let forged = resign_with_a_new_key(&good);
    let (status, challenge) = call(&forged).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));

    // Issued for another API.
    set_audience("another-api").await;
    let (status, challenge) = call(&client_token().await).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
    set_audience("smart-oa-api").await;

    // Expired: issued by a Sésame whose clock is an hour behind.
    server.advance_clock(-3600);
    let (status, challenge) = call(&client_token().await).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
    server.advance_clock(3600);
    assert_eq!(call(&client_token().await).await, (200, None));

    portal.stop().await.unwrap();
}

/// `token` with its header and claims kept and a signature by a fresh RSA key.
fn resign_with_a_new_key(token: &str) -> String {
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::RSA_PKCS1_SHA256;
    let signed_part = &token[..token.rfind('.').unwrap()];
    let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signed_part.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!(
        "{signed_part}.{}",
        data_encoding::BASE64URL_NOPAD.encode(&signature)
    )
}

on_both_backends!(the_demo_api_accepts_only_sesames_current_tokens_for_it);

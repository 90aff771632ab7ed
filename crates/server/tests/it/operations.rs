//! What an operator watches: `/metrics` in Prometheus' format and logs as JSON lines.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use serde_json::Value;

use crate::demo::StartDev;
use crate::harness::{API, API_SECRET, Backend, PORTAL, TestServer};
use crate::journey::urlencode;

/// The value of the sample `series` (name and labels exactly as exposed), 0 when absent.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().unwrap())
}

async fn metrics(server: &TestServer) -> String {
    let response = server
        .http()
        .get(format!("{}/metrics", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    response.text().await.unwrap()
}

async fn metrics_count_requests_tokens_and_logins(backend: Backend) {
    let server = TestServer::start(backend).await;
    server
        .create_user("marie", "marie@exemple.fr", "un bon mot de passe")
        .await;

    let token = server
        .http()
        .post(server.endpoint("token"))
        .basic_auth(API, Some(urlencode(API_SECRET)))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let browser = server.browser();
    let params = [
        ("client_id", PORTAL),
        ("redirect_uri", crate::harness::PORTAL_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
    ];
    let form = server.open_login(&browser, &params).await;
    server
        .submit_login(&browser, &form, "marie", "pas le bon")
        .await;
    server
        .login(&browser, &params, "marie", "un bon mot de passe")
        .await;

    let text = metrics(&server).await;
    assert_eq!(
        sample(
            &text,
            "sesame_tokens_issued_total{realm=\"test\",grant_type=\"client_credentials\"}"
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "sesame_logins_total{realm=\"test\",outcome=\"bad_password\"}"
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "sesame_logins_total{realm=\"test\",outcome=\"success\"}"
        ),
        1.0,
        "{text}"
    );
    let token_route = "route=\"/realms/{realm}/protocol/openid-connect/token\"";
    assert_eq!(
        sample(
            &text,
            &format!("sesame_http_requests_total{{method=\"POST\",{token_route},status=\"200\"}}")
        ),
        // The administrator's token that created the user, and the API consumer's.
        2.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                "sesame_http_request_duration_seconds_bucket{{method=\"POST\",{token_route},le=\"+Inf\"}}"
            )
        ),
        2.0,
        "{text}"
    );
    // Raw paths never become labels: an unknown path counts under one route.
    server
        .http()
        .get(format!(
            "{}/no/such/path/{}",
            server.base_url,
            "x".repeat(40)
        ))
        .send()
        .await
        .unwrap();
    let text = metrics(&server).await;
    assert!(!text.contains("no/such/path"), "{text}");
    assert!(
        text.contains(
            "sesame_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_on_standard_error() {
    let mut sesame = StartDev::spawn_with(&[
        ("SESAME_LOG_FORMAT", "json"),
        ("SESAME_LOG_LEVEL", "info"),
        ("SESAME_DEMO_PORTAL", "off"),
    ]);
    let url = sesame.printed_after("Sésame is running (development mode, embedded defaults) on");
    let response = reqwest::get(format!("{url}/health/ready")).await.unwrap();
    assert_eq!(response.status(), 200);
    let logs = sesame.logs.clone();
    sesame.stop();

    let lines = logs.lock().unwrap().clone();
    assert!(lines.len() >= 3, "{lines:?}");
    for line in &lines {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line}"));
        assert!(entry["timestamp"].is_string(), "{line}");
        assert!(entry["level"].is_string(), "{line}");
        assert!(entry["fields"]["message"].is_string(), "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|line| line.contains("shutting down: finishing requests in flight")),
        "{lines:?}"
    );
}

on_both_backends!(metrics_count_requests_tokens_and_logins);

#[test]
fn an_unusable_certificate_stops_start_up_before_the_banner() {
    let data_dir = crate::harness::unique_temp_dir();
    std::fs::create_dir_all(&data_dir).unwrap();
    let not_pem = data_dir.join("not-a-certificate.txt");
    std::fs::write(&not_pem, "this is not PEM\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sesame"))
        .arg("start-dev")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .env("SESAME_DATA_DIR", &data_dir)
        .env("SESAME_HTTP_PORT", crate::demo::free_port().to_string())
        .env("SESAME_DEMO_PORTAL", "off")
        .env("SESAME_TLS_CERT", &not_pem)
        .env("SESAME_TLS_KEY", &not_pem)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}{stderr}");
    assert!(!stdout.contains("Sésame is running"), "{stdout}");
    assert!(stderr.contains("tls."), "{stderr}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn a_bad_realm_file_is_named_once_with_what_is_wrong() {
    let data_dir = crate::harness::unique_temp_dir();
    std::fs::create_dir_all(&data_dir).unwrap();
    let file = data_dir.join("bad-realm.toml");
    std::fs::write(&file, "realm = \"x\"\npasswordPolicy = \"lenght(3)\"\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sesame"))
        .args(["realm", "import"])
        .arg(&file)
        .env("SESAME_DATA_DIR", &data_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert_eq!(stderr.matches("bad-realm.toml").count(), 1, "{stderr}");
    assert!(stderr.contains("lenght(3)"), "{stderr}");
    let _ = std::fs::remove_dir_all(&data_dir);
}

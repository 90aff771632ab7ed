//! Starting the portal: a port in use and an unreachable provider give clear errors, and
//! discovery waits for a provider that starts a moment later.

use std::time::{Duration, Instant};

use url::Url;

use sesame_demo_portal::{ClientSecret, Config, PortalError};

use crate::mock_idp::MockIdp;

fn config_for(issuer: &str, listen: std::net::SocketAddr) -> Config {
    let mut config = Config::new(
        Url::parse(issuer).expect("issuer"),
        "smart-oa-portal",
        ClientSecret::new("secret"),
        Url::parse(&format!("http://{listen}/")).expect("portal URL"),
    );
    config.listen = listen;
    config
}

/// A port nothing listens on: bound, then released.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

#[tokio::test]
async fn a_port_in_use_is_reported_as_such() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address");
    let config = config_for("http://127.0.0.1:1/realms/test", address);

    let err = sesame_demo_portal::spawn(config)
        .await
        .expect_err("the port is taken");
    assert!(matches!(err, PortalError::Bind { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("cannot listen on {address}"))
            && message.contains("already in use"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unreachable_provider_fails_start_up_after_the_timeout() {
    let listen = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("address");
    let issuer = format!("http://127.0.0.1:{}/realms/test", free_port());
    let mut config = config_for(&issuer, listen);
    config.discovery_timeout = Duration::from_secs(1);

    let started = Instant::now();
    let err = sesame_demo_portal::spawn(config)
        .await
        .expect_err("nobody answers discovery");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, PortalError::Discovery { .. }), "{err:?}");
    assert!(err.to_string().contains(&issuer), "{err}");
}

#[tokio::test]
async fn discovery_waits_for_a_provider_starting_in_parallel() {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}/realms/test");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the portal");
    let config = config_for(&issuer, listener.local_addr().expect("address"));

    let provider = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the provider's port");
        MockIdp::start_on(listener).await
    });
    let portal = sesame_demo_portal::spawn_on(config, listener)
        .await
        .unwrap_or_else(|err| panic!("the portal did not wait for the provider: {err}"));
    let _idp = provider.await.expect("the provider started");

    let response = reqwest::get(portal.url().as_str())
        .await
        .expect("home page");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    portal.stop().await.expect("clean stop");
}

//! `sesame user invite`: the command's work, on the development defaults (SQLite, the outbox)
//! with the Smart OA realm file of the repository.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::collections::HashMap;

use sesame_mail::test_sink::ParsedMail;
use sesame_server::Sesame;
use sesame_server::config::{self, Mode};

async fn dev_sesame(data_dir: &std::path::Path) -> Sesame {
    let realms = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/realms");
    let variables = HashMap::from([
        ("SESAME_DATA_DIR", data_dir.display().to_string()),
        ("SESAME_REALMS_DIR", realms.to_owned()),
        ("SESAME_LOG_LEVEL", "warn".to_owned()),
    ]);
    let environment = |name: &str| variables.get(name).cloned();
    let config = config::load(Mode::Dev, None, &environment).unwrap();
    Sesame::build(&config).await.unwrap()
}

#[tokio::test]
async fn invite_writes_the_initialisation_mail_to_the_outbox() {
    let data_dir = crate::harness::unique_temp_dir();
    let sesame = dev_sesame(&data_dir).await;

    let sent = sesame
        .invite("smart-oa", "Producteur@Exemple.fr")
        .await
        .unwrap();
    let file = sent.outbox_file.expect("start-dev mail goes to the outbox");
    assert!(file.starts_with(data_dir.join("outbox")));
    let mail = ParsedMail::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        mail.header("Subject"),
        Some("Initialisation de votre compte Smart OA")
    );
    assert!(mail.header("To").unwrap().contains("producteur@exemple.fr"));
    assert!(mail.part("text/plain").unwrap().contains(&sent.link));
    assert!(mail.part("text/plain").unwrap().contains("7 jours"));

    // Inviting again reuses the account and sends a new link.
    let again = sesame
        .invite("smart-oa", "producteur@exemple.fr")
        .await
        .unwrap();
    assert_ne!(again.link, sent.link);

    let unknown_realm = sesame.invite("nowhere", "producteur@exemple.fr").await;
    assert!(unknown_realm.is_err());
    let not_an_address = sesame.invite("smart-oa", "not an address").await;
    assert!(not_an_address.is_err());
    let _ = std::fs::remove_dir_all(&data_dir);
}

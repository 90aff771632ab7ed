//! Tests of both transports: the outbox file and a real SMTP exchange with the test sink, the
//! URL checks, and the reader of received mail.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::test_sink::{ParsedMail, SmtpSink};
use crate::{Mail, MailError, Mailer};

const SUBJECT: &str = "Mise à jour de votre compte Smart OA";

/// A text body with what tends to break encoders: accents, a line longer than 76 characters,
/// an `=` in a link, a line starting with a dot (SMTP dot-stuffing) and trailing spaces.
const TEXT: &str = "Bonjour Jérôme,\n\
\n\
Votre administrateur vous demande de mettre à jour votre compte Smart OA. Cliquez sur le lien \
ci-dessous pour démarrer le processus.\n\
\n\
https://sesame.example/realms/smart-oa/login-actions/action-token\
?key=abc.DEF-123_xyz&client_id=portail\n\
.Ce lien expirera dans 7 jours.  \n\
\n\
Si vous ne voulez pas mettre à jour votre compte, ignorez ce message.\n";

const HTML: &str = "<!DOCTYPE html>\n\
<html lang=\"fr\"><body>\n\
<p>Bonjour Jérôme,</p>\n\
<p><a href=\"https://sesame.example/realms/smart-oa/login-actions/action-token\
?key=abc.DEF-123_xyz\">\
Lien vers la mise à jour du compte</a></p>\n\
.<p>Ce lien expirera dans 7 jours.</p>\n\
</body></html>\n";

/// The mail every test sends, with French accents in the subject and both names.
fn sample_mail() -> Mail {
    Mail {
        from_address: "no-reply@smart-oa.example".to_owned(),
        from_name: "Équipe Smart OA".to_owned(),
        reply_to: Some("support@smart-oa.example".to_owned()),
        to_address: "jerome.lefevre+portail@producteur.example".to_owned(),
        to_name: Some("Jérôme Lefèvre".to_owned()),
        subject: SUBJECT.to_owned(),
        text: TEXT.to_owned(),
        html: HTML.to_owned(),
    }
}

/// A fresh folder under the system's temporary directory, removed by the test.
fn scratch_dir(name: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    std::env::temp_dir().join(format!("sesame-mail-{name}-{}-{nanos}", std::process::id()))
}

/// Checks what every message we build must hold, whichever transport carried it.
fn check_message(raw: &str) {
    let header_block = raw.split("\r\n\r\n").next().unwrap_or_default();
    assert!(
        header_block.is_ascii(),
        "headers must be 7-bit:\n{header_block}"
    );
    // RFC 2047 §5: lettre encodes the one word that is not ASCII.
    let subject_line = "Subject: Mise =?utf-8?b?w6A=?= jour de votre compte Smart OA";
    assert!(
        header_block.lines().any(|line| line == subject_line),
        "the subject must carry an RFC 2047 word:\n{header_block}"
    );

    let mail = ParsedMail::parse(raw).expect("the message parses");
    assert_eq!(mail.header("Subject"), Some(SUBJECT));
    assert_eq!(
        mail.header("From"),
        Some("Équipe Smart OA <no-reply@smart-oa.example>")
    );
    assert_eq!(
        mail.header("To"),
        Some("Jérôme Lefèvre <jerome.lefevre+portail@producteur.example>")
    );
    assert_eq!(mail.header("Reply-To"), Some("support@smart-oa.example"));
    assert_eq!(mail.header("MIME-Version"), Some("1.0"));
    assert_eq!(mail.header("Auto-Submitted"), Some("auto-generated"));

    let date = mail.header("Date").expect("a Date header");
    assert!(date.ends_with(" +0000"), "unexpected date {date}");
    let message_id = mail.header("Message-ID").expect("a Message-ID header");
    assert!(
        message_id.starts_with('<') && message_id.ends_with("@smart-oa.example>"),
        "unexpected message id {message_id}"
    );

    let content_type = mail.header("Content-Type").expect("a Content-Type header");
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{content_type}"
    );
    assert_eq!(mail.parts.len(), 2);
    assert_eq!(mail.parts[0].content_type, "text/plain; charset=utf-8");
    assert_eq!(mail.parts[1].content_type, "text/html; charset=utf-8");
    assert_eq!(mail.part("text/plain"), Some(TEXT));
    assert_eq!(mail.part("text/html"), Some(HTML));
}

#[tokio::test]
async fn outbox_writes_a_parseable_message_with_both_parts() {
    let dir = scratch_dir("outbox");
    let mailer = Mailer::dangerous_outbox(dir.clone());
    assert_eq!(mailer.outbox_dir(), Some(dir.as_path()));

    let path = mailer
        .send(&sample_mail())
        .await
        .expect("the outbox takes the mail");
    let path = path.expect("the outbox returns its file");
    let raw = std::fs::read_to_string(&path).expect("the outbox file is readable UTF-8");
    std::fs::remove_dir_all(&dir).expect("the scratch folder can be removed");

    assert_eq!(path.parent(), Some(dir.as_path()));
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .expect("a file name");
    let mut pieces = file_name.splitn(3, '-');
    let unix_time = pieces.next().unwrap_or_default();
    let counter = pieces.next().unwrap_or_default();
    assert!(unix_time.len() >= 10 && unix_time.bytes().all(|byte| byte.is_ascii_digit()));
    assert!(!counter.is_empty() && counter.bytes().all(|byte| byte.is_ascii_digit()));
    assert_eq!(
        pieces.next(),
        Some("jerome.lefevre+portail@producteur.example.eml")
    );

    check_message(&raw);
}

#[tokio::test]
async fn outbox_never_reuses_a_file_name() {
    let dir = scratch_dir("names");
    let mailer = Mailer::dangerous_outbox(dir.clone());
    let clone = mailer.clone();

    let first = mailer.send(&sample_mail()).await.expect("first mail");
    let second = clone.send(&sample_mail()).await.expect("second mail");
    // A second mailer on the same folder starts its counter again and must step over the
    // files already there.
    let other = Mailer::dangerous_outbox(dir.clone())
        .send(&sample_mail())
        .await
        .expect("third");
    let count = std::fs::read_dir(&dir)
        .expect("the outbox folder exists")
        .count();
    std::fs::remove_dir_all(&dir).expect("the scratch folder can be removed");

    assert_ne!(first, second);
    assert_ne!(first, other);
    assert_eq!(count, 3);
}

#[tokio::test]
async fn smtp_round_trip_delivers_both_parts() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::smtp(&format!("smtp://{}", sink.address)).expect("a valid URL");
    assert_eq!(mailer.outbox_dir(), None);

    for _ in 0..2 {
        let sent = mailer
            .send(&sample_mail())
            .await
            .expect("the sink takes the mail");
        assert_eq!(sent, None);

        let raw = sink
            .next_message(Duration::from_secs(10))
            .await
            .expect("a received message");
        assert!(raw.contains("jerome.lefevre+portail@producteur.example"));
        check_message(&raw);
    }
    assert_eq!(sink.next_message(Duration::from_millis(50)).await, None);
}

#[tokio::test]
async fn smtp_to_a_closed_port_is_a_send_error() {
    let sink = SmtpSink::start().await;
    let address = sink.address;
    drop(sink);
    // Give the aborted listener a moment to close its socket.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let mailer = Mailer::smtp(&format!("smtp://{address}")).expect("a valid URL");
    let result = mailer.send(&sample_mail()).await;
    assert!(matches!(result, Err(MailError::Send(_))), "{result:?}");
}

#[tokio::test]
async fn line_breaks_in_the_subject_cannot_add_headers() {
    let dir = scratch_dir("injection");
    let mail = Mail {
        subject: "Bonjour\r\nBcc: intrus@attaquant.example\r\n\r\nCorps".to_owned(),
        ..sample_mail()
    };

    let path = Mailer::dangerous_outbox(dir.clone())
        .send(&mail)
        .await
        .expect("sent");
    let raw = std::fs::read_to_string(path.expect("a file")).expect("readable");
    std::fs::remove_dir_all(&dir).expect("the scratch folder can be removed");

    let parsed = ParsedMail::parse(&raw).expect("the message parses");
    assert_eq!(
        parsed.header("Subject"),
        Some("Bonjour Bcc: intrus@attaquant.example Corps")
    );
    assert_eq!(parsed.header("Bcc"), None);
    assert!(!raw.contains("\nBcc:"));
    assert_eq!(parsed.parts.len(), 2);
}

#[tokio::test]
async fn invalid_addresses_are_build_errors() {
    let mailer = Mailer::dangerous_outbox(scratch_dir("never-created"));
    for mail in [
        Mail {
            to_address: "pas une adresse".to_owned(),
            ..sample_mail()
        },
        Mail {
            from_address: String::new(),
            ..sample_mail()
        },
        Mail {
            reply_to: Some("@".to_owned()),
            ..sample_mail()
        },
    ] {
        let result = mailer.send(&mail).await;
        assert!(matches!(result, Err(MailError::Build(_))), "{result:?}");
    }
}

#[test]
fn bad_smtp_urls_are_refused_without_repeating_the_password() {
    #[track_caller]
    fn check(url: &str, expected: &str) {
        let err = Mailer::smtp(url).expect_err("the URL must be refused");
        let MailError::BadSmtpUrl(message) = &err else {
            panic!("expected BadSmtpUrl for {url}, got {err:?}");
        };
        assert!(
            message.contains(expected),
            "{url}: {message:?} lacks {expected:?}"
        );
        for shown in [message.clone(), err.to_string(), format!("{err:?}")] {
            assert!(
                !shown.contains("s3cret"),
                "{url}: the password leaks in {shown:?}"
            );
        }
    }

    check("ftp://x", "unsupported scheme `ftp`");
    check("ftp://user:s3cret@x", "unsupported scheme `ftp`");
    check("smtp://", "host is missing");
    check("smtp://user:s3cret@:587?tls=required", "host is missing");
    check("not a url user:s3cret@host", "expected smtp://host:port");
    check("sm tp://user:s3cret@host", "scheme is not valid");
    check(
        "smtp://user:s3cret@mail.example",
        "would cross the network unencrypted",
    );
    check(
        "smtp://user:s3cret@mail.example?tls=opportunistic",
        "unencrypted",
    );
    check("smtp://user:s3cret@mail.example?tls=maybe", "`tls` must be");
    check(
        "smtp://user:s3cret@mail.example:smtp?tls=required",
        "port is not a number",
    );
    check("smtp://user:s3cret@[::1:587?tls=required", "unclosed `[`");
    // Refused by lettre's parser rather than ours.
    check(
        "smtp://user:s3cret@mail example:587?tls=required",
        "invalid domain character",
    );
}

#[test]
fn good_smtp_urls_are_accepted_and_debug_hides_credentials() {
    #[track_caller]
    fn check(url: &str, expected_debug: &str) {
        let mailer = Mailer::smtp(url).expect("the URL must be accepted");
        let debug = format!("{mailer:?}");
        assert_eq!(debug, expected_debug);
    }

    check(
        "smtp://127.0.0.1:2525",
        r#"Mailer { server: "127.0.0.1:2525", security: Plain, .. }"#,
    );
    check(
        "SMTP://localhost",
        r#"Mailer { server: "localhost:25", security: Plain, .. }"#,
    );
    check(
        "smtp://mail.example?tls=opportunistic",
        r#"Mailer { server: "mail.example:587", security: Opportunistic, .. }"#,
    );
    check(
        "smtp://user%40example:s3cret@mail.example?tls=required",
        r#"Mailer { server: "mail.example:587", security: StartTls, .. }"#,
    );
    check(
        "smtps://user:s3cret@mail.example",
        r#"Mailer { server: "mail.example:465", security: ImplicitTls, .. }"#,
    );
    check(
        "smtp://[::1]:2525",
        r#"Mailer { server: "[::1]:2525", security: Plain, .. }"#,
    );
}

#[test]
fn debug_of_a_mail_leaves_out_the_bodies() {
    let debug = format!("{:?}", sample_mail());
    assert!(debug.contains(SUBJECT));
    assert!(!debug.contains("action-token"), "{debug}");

    let outbox = format!(
        "{:?}",
        Mailer::dangerous_outbox(PathBuf::from("data/outbox"))
    );
    assert_eq!(outbox, r#"Mailer { outbox: "data/outbox", .. }"#);
}

#[test]
fn parsed_mail_decodes_encoded_words_and_parts() {
    let raw = "Subject: =?UTF-8?Q?caf=C3=A9_cr=C3=A8me?= et =?utf-8?b?w6k=?=\r\n \
               =?utf-8?B?w6k=?=\r\n\
               Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
               \r\n\
               preamble\r\n\
               --outer\r\n\
               Content-Type: text/plain; charset=utf-8\r\n\
               Content-Transfer-Encoding: base64\r\n\
               \r\n\
               w6l0w6k=\r\n\
               --outer\r\n\
               Content-Type: multipart/alternative; boundary=inner\r\n\
               \r\n\
               --inner\r\n\
               Content-Type: text/html\r\n\
               Content-Transfer-Encoding: quoted-printable\r\n\
               \r\n\
               <a href=3D\"x\">tr=C3=A8s long=\r\n\
               ue ligne</a>\r\n\
               --inner--\r\n\
               --outer--\r\n\
               epilogue\r\n";

    let mail = ParsedMail::parse(raw).expect("the message parses");
    assert_eq!(mail.header("subject"), Some("café crème et éé"));
    assert_eq!(mail.part("text/plain"), Some("été"));
    assert_eq!(
        mail.part("TEXT/HTML"),
        Some("<a href=\"x\">très longue ligne</a>")
    );
    assert_eq!(mail.parts.len(), 2);
    assert_eq!(ParsedMail::parse("Subject: no body separator"), None);
}

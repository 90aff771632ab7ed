//! A real SMTP server for the tests, and reading the mails it receives.

#![allow(
    clippy::unwrap_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::time::Duration;

use sesame_mail::test_sink::{ParsedMail, SmtpSink};

/// The mailbox of a test: an SMTP server on a free port.
pub(crate) struct MailBox {
    sink: SmtpSink,
}

/// A received mail with its decoded parts.
pub(crate) struct Mail {
    /// The message as received.
    pub(crate) raw: String,
    /// The decoded subject.
    pub(crate) subject: String,
    /// The text part, decoded.
    pub(crate) text: String,
    /// The HTML part, decoded.
    pub(crate) html: String,
}

impl MailBox {
    /// Starts the SMTP server.
    pub(crate) async fn start() -> MailBox {
        MailBox {
            sink: SmtpSink::start().await,
        }
    }

    /// The `SESAME_SMTP_URL` that reaches it.
    pub(crate) fn url(&self) -> String {
        format!("smtp://{}", self.sink.address)
    }

    /// The next mail, decoded.
    pub(crate) async fn next_mail(&self, timeout: Duration) -> Option<Mail> {
        let raw = self.sink.next_message(timeout).await?;
        let parsed = ParsedMail::parse(&raw).expect("a well-formed mail");
        let part = |media_type: &str| parsed.part(media_type).unwrap_or_default().to_owned();
        Some(Mail {
            subject: parsed.header("Subject").unwrap_or_default().to_owned(),
            text: part("text/plain"),
            html: part("text/html"),
            raw,
        })
    }
}

/// The first `https://` link of a text.
pub(crate) fn link_from_mail(text: &str) -> Option<String> {
    let start = text.find("https://")?;
    let end = text[start..]
        .find(char::is_whitespace)
        .map_or(text.len(), |end| start + end);
    Some(
        text[start..end]
            .trim_end_matches(['.', ',', ')', '>'])
            .to_owned(),
    )
}

//! Mail transports: SMTP through lettre for deployments, and a development outbox that writes
//! each mail to a file.
//!
//! This crate turns a rendered [`Mail`] (subject, text and HTML already produced from the
//! templates by the UI crate) into an RFC 5322 message and delivers it. It never renders, never
//! decides who gets a mail, and logs no body: bodies carry action-token links.
//!
//! With the `test-sink` feature, `test_sink` offers a minimal SMTP server that tests of other
//! crates use to read the mail Sésame really sent.

mod message;
mod outbox;
mod smtp;
#[cfg(any(test, feature = "test-sink"))]
pub mod test_sink;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::outbox::Outbox;
use crate::smtp::SmtpRelay;

/// Where mail goes: an SMTP server, or the development outbox.
///
/// Cloning is cheap and clones share one SMTP connection pool (or one outbox counter). `Debug`
/// shows the server and its transport security, never the credentials.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
}

/// Why a mail could not be delivered, or a mailer not configured.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP URL is malformed or unsafe; the message never repeats a password from the URL.
    #[error("bad SMTP URL: {0}")]
    BadSmtpUrl(String),
    /// An address is invalid or the message could not be assembled.
    #[error("could not build the mail: {0}")]
    Build(String),
    /// The SMTP server could not be reached or refused the mail.
    #[error("could not send the mail over SMTP: {0}")]
    Send(String),
    /// The outbox file could not be written.
    #[error("could not write the mail to the outbox: {0}")]
    Outbox(String),
}

/// One rendered mail, ready to send.
///
/// Its `Debug` leaves out the bodies, which carry links that act as credentials.
#[derive(Clone)]
pub struct Mail {
    /// Sender address (the realm's `from` setting).
    pub from_address: String,
    /// Sender display name; empty for none.
    pub from_name: String,
    /// Address that replies go to, if it differs from the sender.
    pub reply_to: Option<String>,
    /// Recipient address.
    pub to_address: String,
    /// Recipient display name.
    pub to_name: Option<String>,
    /// Subject line, in any script: it is encoded as RFC 2047 words when not ASCII.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// The transport behind a [`Mailer`].
#[expect(
    clippy::large_enum_variant,
    reason = "one per mailer, behind an `Arc`: boxing would only add an indirection"
)]
enum Transport {
    Smtp(SmtpRelay),
    Outbox(Outbox),
}

impl Mailer {
    /// Sends mail through an SMTP server given as a URL, following lettre's
    /// [`from_url`](lettre::AsyncSmtpTransport::from_url) conventions:
    ///
    /// - `smtp://host:port`: no encryption, for local sinks and tests (port 25 by default);
    /// - `smtp://user:password@host:587?tls=required`: STARTTLS, required;
    /// - `smtps://user:password@host:465`: implicit TLS.
    ///
    /// `?tls=opportunistic` is accepted without credentials. Credentials are refused unless TLS
    /// is required, since they would otherwise cross the network readable by anyone on the
    /// path. Each SMTP command times out after 10 seconds. Percent-encode special characters of
    /// the user and password.
    ///
    /// # Errors
    ///
    /// [`MailError::BadSmtpUrl`] when the URL is malformed, names another scheme, has no host,
    /// an unknown `tls` value, or credentials without required TLS.
    pub fn smtp(url: &str) -> Result<Mailer, MailError> {
        let relay = SmtpRelay::from_url(url)?;
        Ok(Mailer {
            transport: Arc::new(Transport::Smtp(relay)),
        })
    }

    /// Writes each mail as an `.eml` file under `dir` instead of sending it: for development
    /// only, since anyone who can read the folder can use the links in it.
    ///
    /// The folder is created on the first mail if missing. Each file is named
    /// `<unix-time>-<counter>-<recipient>.eml` and holds the same bytes SMTP would carry; one
    /// INFO log line gives the recipient and the file path.
    pub fn dangerous_outbox(dir: PathBuf) -> Mailer {
        Mailer {
            transport: Arc::new(Transport::Outbox(Outbox::new(dir))),
        }
    }

    /// Builds the message (`multipart/alternative` with the text and HTML parts, UTF-8 headers,
    /// `Date` and `Message-ID`) and delivers it.
    ///
    /// Returns the path of the file written when the mail went to the outbox, `None` when it
    /// went over SMTP.
    ///
    /// # Errors
    ///
    /// [`MailError::Build`] when an address is invalid, [`MailError::Send`] when the SMTP server
    /// cannot be reached or refuses the mail, [`MailError::Outbox`] when the file cannot be
    /// written.
    pub async fn send(&self, mail: &Mail) -> Result<Option<PathBuf>, MailError> {
        let message = message::build(mail)?;

        match self.transport.as_ref() {
            Transport::Smtp(relay) => {
                relay.send(&message).await?;
                tracing::debug!(
                    to = %mail.to_address,
                    server = %relay.server(),
                    "mail handed to the SMTP server"
                );
                Ok(None)
            }
            Transport::Outbox(outbox) => {
                let path = outbox.write(&mail.to_address, message.formatted()).await?;
                tracing::info!(
                    to = %mail.to_address,
                    path = %path.display(),
                    "mail written to the development outbox"
                );
                Ok(Some(path))
            }
        }
    }

    /// The outbox folder, when this mailer writes files rather than sending mail.
    pub fn outbox_dir(&self) -> Option<&Path> {
        match self.transport.as_ref() {
            Transport::Smtp(_) => None,
            Transport::Outbox(outbox) => Some(outbox.dir()),
        }
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transport.as_ref() {
            Transport::Smtp(relay) => fmt::Debug::fmt(relay, formatter),
            Transport::Outbox(outbox) => fmt::Debug::fmt(outbox, formatter),
        }
    }
}

impl fmt::Debug for Mail {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Mail")
            .field("from_address", &self.from_address)
            .field("from_name", &self.from_name)
            .field("reply_to", &self.reply_to)
            .field("to_address", &self.to_address)
            .field("to_name", &self.to_name)
            .field("subject", &self.subject)
            .field("text", &format_args!("[{} bytes]", self.text.len()))
            .field("html", &format_args!("[{} bytes]", self.html.len()))
            .finish()
    }
}

#[cfg(test)]
mod tests;

//! Assembles the RFC 5322 message of a [`Mail`]: addresses, UTF-8 headers and the two bodies.
//!
//! Both transports send what this module builds, so the outbox file and the SMTP `DATA` of a
//! mail are the same bytes.

use std::hash::{BuildHasher, RandomState};
use std::time::{SystemTime, UNIX_EPOCH};

use lettre::message::header::{ContentTransferEncoding, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};

use crate::{Mail, MailError};

/// Builds the `multipart/alternative` message of `mail`; lettre adds the `Date` header.
pub(crate) fn build(mail: &Mail) -> Result<Message, MailError> {
    let from_address = parse_address("from", &mail.from_address)?;
    let to_address = parse_address("to", &mail.to_address)?;
    let reply_to = match &mail.reply_to {
        Some(reply_to) => Some(parse_address("reply-to", reply_to)?),
        None => None,
    };

    let message_id = message_id(from_address.domain());
    let mut builder = Message::builder()
        .from(Mailbox::new(display_name(&mail.from_name), from_address))
        .to(Mailbox::new(
            mail.to_name.as_deref().and_then(display_name),
            to_address,
        ))
        .subject(one_line(&mail.subject))
        .message_id(Some(message_id))
        // RFC 3834 §5: tells vacation responders and mailing lists not to answer a mail that
        // no person wrote.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ));
    if let Some(reply_to) = reply_to {
        builder = builder.reply_to(Mailbox::new(None, reply_to));
    }

    // Quoted-printable rather than lettre's shortest choice: the parts stay 7-bit (no need for
    // the server's 8BITMIME) and a developer can still read an outbox file, accents aside.
    let text = Body::new_with_encoding(mail.text.clone(), ContentTransferEncoding::QuotedPrintable)
        .map_err(|_| MailError::Build("the text part cannot be encoded".to_owned()))?;
    let html = Body::new_with_encoding(mail.html.clone(), ContentTransferEncoding::QuotedPrintable)
        .map_err(|_| MailError::Build("the HTML part cannot be encoded".to_owned()))?;
    let body = MultiPart::alternative()
        .singlepart(SinglePart::plain(text))
        .singlepart(SinglePart::html(html));

    builder
        .multipart(body)
        .map_err(|err| MailError::Build(err.to_string()))
}

/// Parses one address, naming the field in the error.
fn parse_address(field: &str, address: &str) -> Result<Address, MailError> {
    address
        .trim()
        .parse()
        .map_err(|err| MailError::Build(format!("invalid {field} address `{address}`: {err}")))
}

/// A display name, or none when it is blank.
fn display_name(name: &str) -> Option<String> {
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// `text` on one line, each run of white space (line breaks included) made a single space.
///
/// lettre already encodes line breaks, so they cannot start a new header; a subject that
/// decodes to several lines would still show oddly in mail clients.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A globally unique `Message-ID` (RFC 5322 §3.6.4) on the sender's domain.
///
/// The sender's domain rather than the host name lettre would use: the host name of a
/// container says nothing useful to the recipient, and some filters compare the two domains.
/// Uniqueness comes from the clock and 128 bits from std's randomly seeded hasher keys; the id
/// needs to be unique, not secret.
fn message_id(domain: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let first = RandomState::new().hash_one(nanos);
    let second = RandomState::new().hash_one(first);
    format!("<{nanos:x}.{first:016x}{second:016x}@{domain}>")
}

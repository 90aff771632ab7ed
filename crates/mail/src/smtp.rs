//! The SMTP transport: checks the URL before lettre sees it, and hands messages to lettre's
//! pooled asynchronous transport.
//!
//! The URL carries the SMTP password, so nothing here repeats it: errors name the problem, and
//! `Debug` shows only the server and its transport security.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::MailError;

/// How long each SMTP command may take before the send fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// An SMTP server and the lettre transport that talks to it.
pub(crate) struct SmtpRelay {
    /// `host:port`, for logs and `Debug`.
    server: String,
    security: Security,
    builder: AsyncSmtpTransportBuilder,
    /// Built on the first send: with the `pool` feature, building spawns the pool's cleaning
    /// task, which needs a running Tokio runtime that [`crate::Mailer::smtp`] may not have.
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// No encryption (`smtp://` without `tls`).
    Plain,
    /// STARTTLS when the server offers it, plain text otherwise (`?tls=opportunistic`).
    Opportunistic,
    /// STARTTLS or fail (`?tls=required`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    ImplicitTls,
}

/// The parts of an SMTP URL that this module checks itself.
struct UrlParts<'a> {
    scheme: &'a str,
    has_credentials: bool,
    host: &'a str,
    port: Option<u16>,
    tls: Option<&'a str>,
}

impl SmtpRelay {
    /// Checks `url` and prepares the transport; see [`crate::Mailer::smtp`] for the forms.
    pub(crate) fn from_url(url: &str) -> Result<SmtpRelay, MailError> {
        let parts = split_url(url)?;
        // The `url` crate lowercases schemes, so lettre accepts `SMTP://` too.
        let scheme = parts.scheme.to_ascii_lowercase();
        let security = match (scheme.as_str(), parts.tls) {
            ("smtps", _) => Security::ImplicitTls,
            ("smtp", None) => Security::Plain,
            ("smtp", Some("opportunistic")) => Security::Opportunistic,
            ("smtp", Some("required")) => Security::StartTls,
            ("smtp", Some(_)) => {
                return Err(MailError::BadSmtpUrl(
                    "`tls` must be `required` or `opportunistic`".to_owned(),
                ));
            }
            (scheme, _) => {
                return Err(MailError::BadSmtpUrl(format!(
                    "unsupported scheme `{scheme}`, expected `smtp` or `smtps`"
                )));
            }
        };
        if parts.has_credentials && matches!(security, Security::Plain | Security::Opportunistic) {
            return Err(MailError::BadSmtpUrl(
                "credentials need `?tls=required` or `smtps://`: they would cross the network \
                 unencrypted"
                    .to_owned(),
            ));
        }

        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| MailError::BadSmtpUrl(without_userinfo(&err.to_string(), url)))?
            .timeout(Some(COMMAND_TIMEOUT));

        let port = parts.port.unwrap_or(match security {
            Security::Plain => 25,
            Security::Opportunistic | Security::StartTls => 587,
            Security::ImplicitTls => 465,
        });
        Ok(SmtpRelay {
            server: format!("{}:{port}", parts.host),
            security,
            builder,
            transport: OnceLock::new(),
        })
    }

    /// `host:port` of the server.
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    /// Sends `message` to the recipients of its headers.
    pub(crate) async fn send(&self, message: &Message) -> Result<(), MailError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MailError::Send(
                "SMTP mail must be sent from a Tokio runtime".to_owned(),
            ));
        }

        let transport = self.transport.get_or_init(|| self.builder.clone().build());
        transport
            .send(message.clone())
            .await
            .map_err(|err| MailError::Send(format!("{}: {err}", self.server)))?;
        Ok(())
    }
}

impl fmt::Debug for SmtpRelay {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Mailer")
            .field("server", &self.server)
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

/// Splits `scheme://[userinfo@]host[:port][/path][?query]` far enough to check it.
///
/// lettre parses the URL again with the `url` crate; this pass only decides what lettre would
/// accept silently but we refuse (an empty host, credentials in clear), and names the problem
/// without echoing the URL.
fn split_url(url: &str) -> Result<UrlParts<'_>, MailError> {
    let Some((scheme, rest)) = url.trim().split_once("://") else {
        return Err(MailError::BadSmtpUrl(
            "expected smtp://host:port, smtp://user:password@host:587?tls=required or \
             smtps://user:password@host:465"
                .to_owned(),
        ));
    };
    if !scheme
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || b"+-.".contains(&byte))
    {
        return Err(MailError::BadSmtpUrl("the scheme is not valid".to_owned()));
    }

    let (authority, after_authority) =
        rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let (has_credentials, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (!userinfo.is_empty(), host_port),
        None => (false, authority),
    };
    let (host, port) = split_host_port(host_port)?;
    if host.is_empty() {
        return Err(MailError::BadSmtpUrl("the host is missing".to_owned()));
    }

    let query = after_authority
        .split_once('?')
        .map_or("", |(_, query)| query);
    let query = query.split_once('#').map_or(query, |(query, _)| query);
    let tls = query.split('&').find_map(|pair| pair.strip_prefix("tls="));

    Ok(UrlParts {
        scheme,
        has_credentials,
        host,
        port,
        tls,
    })
}

/// Splits `host[:port]`, where the host may be a bracketed IPv6 address.
fn split_host_port(host_port: &str) -> Result<(&str, Option<u16>), MailError> {
    let (host, port) = if host_port.starts_with('[') {
        match host_port.split_once(']') {
            Some((address, after)) => {
                let host = host_port.get(..address.len() + 1).unwrap_or(host_port);
                (host, after.strip_prefix(':'))
            }
            None => return Err(MailError::BadSmtpUrl("unclosed `[` in the host".to_owned())),
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };

    let port = match port {
        Some(port) => Some(
            port.parse::<u16>()
                .map_err(|_| MailError::BadSmtpUrl("the port is not a number".to_owned()))?,
        ),
        None => None,
    };
    Ok((host, port))
}

/// Removes from `message` anything that could be the URL's user and password.
///
/// lettre's errors do not quote the URL today; this keeps a future version that does from
/// putting the SMTP password into a log line.
fn without_userinfo(message: &str, url: &str) -> String {
    let userinfo = url
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .map_or("", |(userinfo, _)| userinfo);
    let password = userinfo
        .split_once(':')
        .map_or("", |(_, password)| password);

    let mut message = message.to_owned();
    for secret in [userinfo, password] {
        if !secret.is_empty() {
            message = message.replace(secret, "[redacted]");
        }
    }
    message
}

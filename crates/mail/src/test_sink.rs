//! A minimal SMTP server for tests, and a reader for the mail it receives.
//!
//! [`SmtpSink`] listens on a free port of 127.0.0.1 and speaks just enough of RFC 5321 for an
//! SMTP client such as lettre to deliver: greeting, `EHLO`/`HELO`, `MAIL`, `RCPT`, `DATA`,
//! `RSET`, `NOOP` and `QUIT`, without TLS or authentication. Each message it accepts is queued
//! for [`SmtpSink::next_message`]. [`ParsedMail`] takes such a message apart (headers with their
//! RFC 2047 words decoded, the text and HTML parts decoded) so that a test can check a subject or
//! follow a link.
//!
//! Compiled for this crate's tests and, through the `test-sink` feature, for other crates' tests.
//! It is not meant for untrusted peers: it keeps everything it receives in memory.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::{JoinHandle, JoinSet};

/// Largest message kept, in bytes; a larger one is refused with 552 and discarded.
const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;

/// Longest command or data line read before the connection is dropped.
const MAX_LINE_LEN: usize = 1024 * 1024;

/// A running SMTP sink; it stops when dropped.
pub struct SmtpSink {
    /// Where to send mail: `smtp://{address}` is a valid URL for [`crate::Mailer::smtp`].
    pub address: SocketAddr,
    messages: Mutex<mpsc::UnboundedReceiver<String>>,
    server: JoinHandle<()>,
}

/// A received message split into decoded headers and decoded body parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMail {
    /// Header fields in order, names as sent, values unfolded and with encoded words decoded.
    pub headers: Vec<(String, String)>,
    /// The leaf parts of the body in order: the single body, or each part of a multipart.
    pub parts: Vec<MailPart>,
}

/// One leaf part of a message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPart {
    /// The `Content-Type` value, parameters included (`text/plain; charset=utf-8`).
    pub content_type: String,
    /// The body once its transfer encoding is undone, read as UTF-8, lines ending in `\n`.
    pub text: String,
}

impl SmtpSink {
    /// Starts a sink on a free port of 127.0.0.1.
    ///
    /// # Panics
    ///
    /// When no port of the loopback interface can be bound: the test cannot run at all then.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the loopback interface has a free port for the SMTP sink");
        let address = listener
            .local_addr()
            .expect("a bound TCP listener knows its address");
        let (sender, receiver) = mpsc::unbounded_channel();
        let server = tokio::spawn(accept_connections(listener, sender));
        SmtpSink {
            address,
            messages: Mutex::new(receiver),
            server,
        }
    }

    /// Waits up to `timeout` for the next message and returns it as it was sent in `DATA`:
    /// headers and body, without the final `.` line, dot-stuffing undone (RFC 5321 §4.5.2).
    ///
    /// Messages come in the order they were accepted; `None` when none arrived in time.
    pub async fn next_message(&self, timeout: Duration) -> Option<String> {
        let mut messages = self.messages.lock().await;
        tokio::time::timeout(timeout, messages.recv())
            .await
            .ok()
            .flatten()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Aborting the accepting task drops its `JoinSet`, which aborts every connection.
        self.server.abort();
    }
}

impl ParsedMail {
    /// Parses an RFC 5322 message with MIME bodies (RFC 2045 to 2047), as far as tests need:
    /// `quoted-printable`, `base64`, `7bit` and `8bit` parts, nested multiparts, UTF-8 text.
    ///
    /// Returns `None` when there is no blank line after the headers or a multipart has no
    /// boundary.
    pub fn parse(raw: &str) -> Option<ParsedMail> {
        let raw = raw.replace("\r\n", "\n");
        let (headers, body) = split_entity(&raw)?;
        let mut parts = Vec::new();
        collect_parts(&headers, body, &mut parts)?;
        Some(ParsedMail { headers, parts })
    }

    /// The first value of the header `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The text of the first part whose media type is `media_type` (`text/plain`, `text/html`).
    pub fn part(&self, media_type: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|part| media_type_of(&part.content_type).eq_ignore_ascii_case(media_type))
            .map(|part| part.text.as_str())
    }
}

/// Accepts connections until aborted, serving each one in its own task.
async fn accept_connections(listener: TcpListener, sender: mpsc::UnboundedSender<String>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve(stream, sender.clone()));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Runs one SMTP session; an I/O error ends it, as a client hanging up would.
async fn serve(stream: TcpStream, sender: mpsc::UnboundedSender<String>) -> io::Result<()> {
    let mut connection = Connection {
        stream,
        buffer: Vec::new(),
    };
    connection
        .write(b"220 sesame-test-sink ESMTP ready\r\n")
        .await?;

    let mut has_sender = false;
    let mut has_recipient = false;
    while let Some(line) = connection.read_line().await? {
        let verb = String::from_utf8_lossy(&line)
            .split_ascii_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                connection
                    .write(b"250-sesame-test-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?;
            }
            "HELO" => connection.write(b"250 sesame-test-sink\r\n").await?,
            "MAIL" => {
                has_sender = true;
                has_recipient = false;
                connection.write(b"250 2.1.0 Ok\r\n").await?;
            }
            "RCPT" if has_sender => {
                has_recipient = true;
                connection.write(b"250 2.1.5 Ok\r\n").await?;
            }
            "RCPT" => connection.write(b"503 5.5.1 MAIL first\r\n").await?,
            "DATA" if has_recipient => {
                connection
                    .write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let Some(data) = connection.read_data().await? else {
                    return Ok(());
                };
                has_sender = false;
                has_recipient = false;
                if data.len() > MAX_MESSAGE_LEN {
                    connection.write(b"552 5.3.4 Message too big\r\n").await?;
                } else {
                    // The receiver is gone only when the sink is being dropped.
                    let _ = sender.send(String::from_utf8_lossy(&data).into_owned());
                    connection.write(b"250 2.0.0 Ok: queued\r\n").await?;
                }
            }
            "DATA" => connection.write(b"503 5.5.1 RCPT first\r\n").await?,
            "RSET" => {
                has_sender = false;
                has_recipient = false;
                connection.write(b"250 2.0.0 Ok\r\n").await?;
            }
            "NOOP" => connection.write(b"250 2.0.0 Ok\r\n").await?,
            "QUIT" => {
                connection.write(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => {
                connection
                    .write(b"502 5.5.2 Command not recognised\r\n")
                    .await?
            }
        }
    }
    Ok(())
}

/// A client connection with the bytes read but not yet consumed.
///
/// Reads and writes go through `readable`/`try_read` and `writable`/`try_write`, which need
/// only Tokio's `net` feature: crates using this module through `test-sink` may not enable
/// `io-util`.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    /// The next line with its line ending, or `None` when the client closed the connection.
    async fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&byte| byte == b'\n') {
                // `end` is an index into `buffer`, so the range is in bounds.
                return Ok(Some(self.buffer.drain(..=end).collect()));
            }
            if self.buffer.len() > MAX_LINE_LEN {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
            }

            self.stream.readable().await?;
            let mut chunk = [0; 8192];
            match self.stream.try_read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(read) => self.buffer.extend(chunk.iter().take(read)),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// The message after `DATA`, up to the line holding a single `.`, dot-stuffing undone.
    ///
    /// Past [`MAX_MESSAGE_LEN`] bytes the rest is read and dropped, so the caller sees a
    /// message longer than the limit and refuses it. `None` when the client hung up.
    async fn read_data(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut data = Vec::new();
        while let Some(line) = self.read_line().await? {
            if line == b".\r\n" || line == b".\n" {
                return Ok(Some(data));
            }
            if data.len() <= MAX_MESSAGE_LEN {
                let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
                data.extend_from_slice(unstuffed);
            }
        }
        Ok(None)
    }

    /// Writes all of `bytes`.
    async fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            self.stream.writable().await?;
            match self.stream.try_write(bytes) {
                Ok(written) => bytes = bytes.get(written..).unwrap_or_default(),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }
}

/// Splits an entity (a message or a body part, `\n` line endings) into its unfolded, decoded
/// headers and its body.
fn split_entity(entity: &str) -> Option<(Vec<(String, String)>, &str)> {
    let (head, body) = if let Some(body) = entity.strip_prefix('\n') {
        ("", body)
    } else {
        entity.split_once("\n\n")?
    };

    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            // RFC 5322 §2.2.3: unfolding removes the line break and keeps the white space.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    for (_, value) in &mut headers {
        *value = decode_words(value);
    }
    Some((headers, body))
}

/// Adds the leaf parts of an entity to `parts`, descending into multiparts.
fn collect_parts(
    headers: &[(String, String)],
    body: &str,
    parts: &mut Vec<MailPart>,
) -> Option<()> {
    let content_type = find_header(headers, "Content-Type")
        .unwrap_or("text/plain")
        .to_owned();

    if media_type_of(&content_type)
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        let boundary = parameter(&content_type, "boundary")?;
        let delimiter = format!("\n--{boundary}");
        // The first delimiter may open the body, without a line break before it.
        let body = format!("\n{body}");
        for section in body.split(delimiter.as_str()).skip(1) {
            if section.starts_with("--") {
                break;
            }
            // Whatever follows the delimiter on its line is padding (RFC 2046 §5.1.1).
            let entity = section.split_once('\n').map_or("", |(_, entity)| entity);
            let (part_headers, part_body) = split_entity(entity)?;
            collect_parts(&part_headers, part_body, parts)?;
        }
        return Some(());
    }

    let encoding = find_header(headers, "Content-Transfer-Encoding").unwrap_or("7bit");
    let bytes = if encoding.eq_ignore_ascii_case("quoted-printable") {
        decode_quoted_printable(body, false)
    } else if encoding.eq_ignore_ascii_case("base64") {
        decode_base64(body)?
    } else {
        body.as_bytes().to_vec()
    };
    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    parts.push(MailPart { content_type, text });
    Some(())
}

/// The first value of the header `name`, compared without case.
fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(header, _)| header.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// The media type of a `Content-Type` value, without its parameters.
fn media_type_of(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or_default().trim()
}

/// The value of parameter `name` in a `Content-Type` value, unquoted.
fn parameter(content_type: &str, name: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// Decodes the RFC 2047 encoded words of a header value; only UTF-8 and US-ASCII words are
/// decoded, others are left as they are.
fn decode_words(value: &str) -> String {
    let mut decoded = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        let Some((text, after)) = decode_word(candidate) else {
            decoded.push_str(before);
            decoded.push_str("=?");
            rest = candidate.get(2..).unwrap_or_default();
            after_word = false;
            continue;
        };
        // RFC 2047 §6.2: white space between two encoded words is not displayed.
        if !(after_word && before.trim().is_empty()) {
            decoded.push_str(before);
        }
        decoded.push_str(&text);
        rest = after;
        after_word = true;
    }
    decoded.push_str(rest);
    decoded
}

/// Decodes one `=?charset?encoding?text?=` word at the start of `candidate`, returning the
/// text and what follows the word.
fn decode_word(candidate: &str) -> Option<(String, &str)> {
    let inner = candidate.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let (text, after) = inner.split_once("?=")?;

    let charset = charset.split('*').next().unwrap_or_default();
    if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("us-ascii") {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => decode_base64(text)?,
        "Q" | "q" => decode_quoted_printable(text, true),
        _ => return None,
    };
    Some((String::from_utf8_lossy(&bytes).into_owned(), after))
}

/// Decodes quoted-printable text (RFC 2045 §6.7); in an encoded word (`in_word`), `_` stands
/// for a space (RFC 2047 §4.2). Malformed escapes are kept as they are.
fn decode_quoted_printable(text: &str, in_word: bool) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(text.len());
    let mut bytes = text.bytes().peekable();
    while let Some(byte) = bytes.next() {
        match byte {
            b'=' => {
                if bytes.peek() == Some(&b'\n') {
                    // A soft line break.
                    bytes.next();
                    continue;
                }
                let high = bytes.next_if(u8::is_ascii_hexdigit);
                let low = high.and_then(|_| bytes.next_if(u8::is_ascii_hexdigit));
                match (high.and_then(hex_value), low.and_then(hex_value)) {
                    (Some(high), Some(low)) => decoded.push(high * 16 + low),
                    _ => {
                        decoded.push(b'=');
                        decoded.extend(high);
                        decoded.extend(low);
                    }
                }
            }
            b'_' if in_word => decoded.push(b' '),
            _ => decoded.push(byte),
        }
    }
    decoded
}

/// The value of one hexadecimal digit.
fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// Decodes standard base64 (RFC 4648 §4), ignoring white space and padding.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut decoded = Vec::with_capacity(text.len() / 4 * 3);
    let mut accumulator: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        accumulator = (accumulator << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            decoded.push(((accumulator >> bits) & 0xff) as u8);
        }
    }
    Some(decoded)
}

//! The development outbox: each message written to its own `.eml` file in a folder.
//!
//! Writing happens on Tokio's blocking pool, since the file system calls would otherwise stall
//! an HTTP worker.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::MailError;

/// Longest recipient part of a file name, in bytes: file systems cap names near 255.
const MAX_RECIPIENT_LEN: usize = 100;

/// How many names a write tries before giving up, when other writers took the first ones.
const MAX_ATTEMPTS: u32 = 100;

/// A folder that receives mail as files.
pub(crate) struct Outbox {
    dir: PathBuf,
    /// Tells apart files written in the same second; shared by clones of the mailer.
    counter: Arc<AtomicU64>,
}

impl Outbox {
    /// An outbox writing under `dir`, created on the first write.
    pub(crate) fn new(dir: PathBuf) -> Outbox {
        Outbox {
            dir,
            counter: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The folder.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `message` to a new file named after the time, the counter and `to_address`.
    pub(crate) async fn write(
        &self,
        to_address: &str,
        message: Vec<u8>,
    ) -> Result<PathBuf, MailError> {
        let dir = self.dir.clone();
        let counter = Arc::clone(&self.counter);
        let recipient = sanitise(to_address);

        tokio::task::spawn_blocking(move || write_new_file(&dir, &counter, &recipient, &message))
            .await
            .map_err(|err| MailError::Outbox(format!("the writing task failed: {err}")))?
    }
}

impl fmt::Debug for Outbox {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Mailer")
            .field("outbox", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Creates the folder if needed, then a file under a name no other file has.
fn write_new_file(
    dir: &Path,
    counter: &AtomicU64,
    recipient: &str,
    message: &[u8],
) -> Result<PathBuf, MailError> {
    fs::create_dir_all(dir)
        .map_err(|err| MailError::Outbox(format!("cannot create {}: {err}", dir.display())))?;

    // Another process (a second `start-dev`, a test) may write to the same folder with its own
    // counter: never overwrite, take the next number instead.
    for _ in 0..MAX_ATTEMPTS {
        let unix_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let number = counter.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{unix_time}-{number}-{recipient}.eml"));
        match create_new(&path) {
            Ok(mut file) => {
                file.write_all(message).map_err(|err| {
                    MailError::Outbox(format!("cannot write {}: {err}", path.display()))
                })?;
                return Ok(path);
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => {
                return Err(MailError::Outbox(format!(
                    "cannot create {}: {err}",
                    path.display()
                )));
            }
        }
    }
    Err(MailError::Outbox(format!(
        "no free file name in {}",
        dir.display()
    )))
}

/// Opens a file that must not exist yet, readable by its owner only where the system allows:
/// its links let anyone who reads them act as the recipient.
fn create_new(path: &Path) -> io::Result<fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Keeps the characters of an address that are safe in a file name on every system.
///
/// No separator or dot sequence survives that could leave the folder: `/`, `\` and `:` become
/// `_`, and the name always starts with the time.
fn sanitise(address: &str) -> String {
    let mut name: String = address
        .chars()
        .map(|char| match char {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '@' | '.' | '-' | '_' | '+' => char,
            _ => '_',
        })
        .collect();
    // Every kept character is ASCII, so any byte index is a character boundary.
    name.truncate(MAX_RECIPIENT_LEN);
    if name.is_empty() {
        name.push_str("unknown");
    }
    name
}

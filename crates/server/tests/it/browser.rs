//! The Smart OA journey in a real headless Chromium: runs the Node.js test of `tests/browser/`
//! (playwright-core driving Debian's chromium, axe-core on every page) against this build's
//! `sesame start-dev`, so that `cargo test --workspace` covers what only a browser shows: the
//! stylesheet, the Content-Security-Policy, focus and contrast.
//!
//! It needs Node.js and Chromium, which `scripts/test` installs. Without them the test fails with a
//! message saying what to install: a skipped browser test would look like a passing one.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops at the first unexpected failure"
)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's chromium package installs the browser; `SESAME_CHROMIUM` names another.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The whole journey takes about ten seconds alone; other tests share the two cores, and a
/// one-time code may have to wait for the next 30-second step.
const JOURNEY_TIMEOUT: Duration = Duration::from_secs(110);

#[test]
fn smart_oa_journey_in_headless_chromium() {
    let chromium = std::env::var_os("SESAME_CHROMIUM")
        .map_or_else(|| PathBuf::from(DEFAULT_CHROMIUM), PathBuf::from);
    assert!(
        chromium.exists(),
        "the browser test needs Chromium at {}: install it with `apt-get install -y chromium` \
         (as scripts/test does) or set SESAME_CHROMIUM",
        chromium.display()
    );
    let test_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    if !test_dir.join("node_modules").exists() {
        run_to_end(
            Command::new("npm").arg("ci").current_dir(&test_dir),
            "npm ci in tests/browser",
        );
    }

    let mut journey = Command::new("node");
    journey
        .arg("journey.test.mjs")
        .arg(env!("CARGO_BIN_EXE_sesame"))
        .env("SESAME_CHROMIUM", &chromium)
        .current_dir(&test_dir);
    let output = run_to_end(&mut journey, "the browser journey (node journey.test.mjs)");

    assert!(
        output.contains("browser journey passed"),
        "the browser journey ended without its summary:\n{output}"
    );
}

/// Runs a command to its end, within [`JOURNEY_TIMEOUT`], and returns its output; panics with
/// that output when it fails, cannot start or runs too long.
fn run_to_end(command: &mut Command, what: &str) -> String {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| {
            panic!("{what} could not start ({err}): the browser test needs Node.js and npm")
        });

    // Read both pipes on threads: a child blocked on a full pipe would never exit.
    let readers = [
        read_on_thread(child.stdout.take().expect("stdout is piped")),
        read_on_thread(child.stderr.take().expect("stderr is piped")),
    ];
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break Some(status);
        }
        if started.elapsed() > JOURNEY_TIMEOUT {
            // The journey stops Sésame and Chromium at its own deadline, shorter than this
            // one; this only ends a test that hangs in spite of it.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = readers
        .map(|reader| reader.join().unwrap_or_default())
        .join("\n");

    match status {
        Some(status) if status.success() => output,
        Some(status) => panic!("{what} failed ({status}):\n{output}"),
        None => panic!("{what} took more than {JOURNEY_TIMEOUT:?}:\n{output}"),
    }
}

fn read_on_thread(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

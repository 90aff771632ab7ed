//! The `demo-portal` binary: reads the `PORTAL_*` variables, listens, and serves the Smart OA
//! demo portal and API until Ctrl-C or SIGTERM. Start-up problems are printed as one clear
//! line and end the program with a non-zero status.

use std::process::ExitCode;

use sesame_demo_portal::{Config, PortalError};

/// The exit status for a configuration error.
const EXIT_CONFIG: u8 = 2;
/// The exit status for any other failure.
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    let level = match std::env::var("PORTAL_LOG_LEVEL") {
        Ok(value) if !value.is_empty() => match value.parse::<tracing::Level>() {
            Ok(level) => level,
            Err(_) => {
                eprintln!(
                    "demo-portal: PORTAL_LOG_LEVEL = {value:?} is not one of error, warn, \
                     info, debug, trace"
                );
                return ExitCode::from(EXIT_CONFIG);
            }
        },
        _ => tracing::Level::INFO,
    };
    tracing_subscriber::fmt().with_max_level(level).init();

    let config = match Config::from_env(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("demo-portal: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("demo-portal: cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("demo-portal: {}", describe(&err));
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

async fn run(config: Config) -> Result<(), PortalError> {
    let listener = sesame_demo_portal::bind(config.listen).await?;
    sesame_demo_portal::serve(config, listener, shutdown_signal()).await?;
    tracing::info!("portal stopped");
    Ok(())
}

/// The error with its causes, and for a taken port the setting that moves the portal.
fn describe(err: &PortalError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if let PortalError::Bind { .. } = err {
        text.push_str(" (set PORTAL_LISTEN, and PORTAL_URL to match)");
    }
    text
}

/// Completes at Ctrl-C or, on Unix, SIGTERM (what `docker stop` sends).
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

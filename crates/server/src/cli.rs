//! The command line: `start`, `start-dev`, and the administration commands.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{self, Config, LogFormat, Mode};
use crate::{Sesame, serve};

/// Sésame, an OpenID Connect identity provider.
#[derive(Debug, Parser)]
#[command(
    name = "sesame",
    version,
    about = "Sésame, an OpenID Connect identity provider."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs in production: settings from a file and SESAME_* variables, nothing generated.
    Start {
        /// The settings file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Runs on embedded defaults: SQLite under data/, HTTP on 127.0.0.1:8080, a generated key.
    StartDev {
        /// An optional settings file (TOML).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Realm files.
    Realm {
        #[command(subcommand)]
        command: RealmCommand,
    },
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RealmCommand {
    /// Imports a realm file: creates the realm, or with --overwrite applies the file to it.
    Import {
        /// The realm file (TOML).
        file: PathBuf,
        /// Apply the file to an existing realm (settings and the clients it lists).
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Writes a realm as a realm file: settings and clients, secrets as their digests.
    Export {
        /// The realm.
        #[arg(long)]
        realm: String,
        /// The file to write; standard output without it.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Creates the user if needed and sends the initialisation mail (the realm's required actions).
    Invite {
        /// The realm.
        #[arg(long)]
        realm: String,
        /// The user's address, also their username when the user is created.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        target: Target,
    },
    /// Lists the users of a realm, tab-separated.
    List {
        /// The realm.
        #[arg(long)]
        realm: String,
        #[command(flatten)]
        target: Target,
    },
    /// Disables a user and ends their sessions.
    Disable {
        /// The realm.
        #[arg(long)]
        realm: String,
        /// The user's address (or username).
        #[arg(long)]
        email: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Creates a client; a confidential one gets a random secret, printed once.
    Create {
        /// The realm.
        #[arg(long)]
        realm: String,
        /// The OAuth client_id.
        #[arg(long)]
        client_id: String,
        /// A name for people (default: the client id).
        #[arg(long)]
        name: Option<String>,
        /// A public client (no secret, PKCE required).
        #[arg(long)]
        public: bool,
        /// A redirect URI (repeatable); without any, the client has no browser flow.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI (repeatable).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// The client's home page.
        #[arg(long)]
        base_url: Option<String>,
        /// Allows the client credentials grant.
        #[arg(long)]
        service_account: bool,
        /// Lets the service account use the realm's admin API (needs --service-account).
        #[arg(long)]
        realm_admin: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Gives a confidential client a new random secret, printed once.
    RotateSecret {
        /// The realm.
        #[arg(long)]
        realm: String,
        /// The OAuth client_id.
        #[arg(long)]
        client_id: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Makes a new active signing key; the old ones stay published until their tokens expire.
    Rotate {
        /// The realm.
        #[arg(long)]
        realm: String,
        /// The algorithm of the new key: RS256 or ES256 (default: the realm's).
        #[arg(long)]
        algorithm: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

/// Which database an administration command works on.
#[derive(Debug, clap::Args)]
struct Target {
    /// The settings file of the installation; without it, the development defaults under data/
    /// (or SESAME_* variables) are used.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("sesame: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sesame: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let environment = |name: &str| std::env::var(name).ok();
    match cli.command {
        Command::Start { config } => {
            let config = config::load(Mode::Production, config.as_deref(), &environment)?;
            start(config, false).await
        }
        Command::StartDev { config } => {
            let config = config::load(Mode::Dev, config.as_deref(), &environment)?;
            start(config, true).await
        }
        Command::Realm {
            command:
                RealmCommand::Import {
                    file,
                    overwrite,
                    target,
                },
        } => {
            let config = admin_config(&target, &environment)?;
            crate::app::import_realm_file(&config, &file, overwrite)
        }
        Command::User {
            command:
                UserCommand::Invite {
                    realm,
                    email,
                    target,
                },
        } => {
            let config = admin_config(&target, &environment)?;
            crate::app::invite_user(&config, &realm, &email).await
        }
        Command::Realm {
            command:
                RealmCommand::Export {
                    realm,
                    output,
                    target,
                },
        } => {
            let config = admin_config(&target, &environment)?;
            crate::admin_commands::export_realm(&config, &realm, output.as_deref())
        }
        Command::User {
            command: UserCommand::List { realm, target },
        } => {
            let config = admin_config(&target, &environment)?;
            crate::admin_commands::list_users(&config, &realm)
        }
        Command::User {
            command:
                UserCommand::Disable {
                    realm,
                    email,
                    target,
                },
        } => {
            let config = admin_config(&target, &environment)?;
            crate::admin_commands::disable_user(&config, &realm, &email)
        }
        Command::Client { command } => client_command(command, &environment),
        Command::Keys {
            command:
                KeysCommand::Rotate {
                    realm,
                    algorithm,
                    target,
                },
        } => {
            let config = admin_config(&target, &environment)?;
            crate::app::rotate_keys(&config, &realm, algorithm.as_deref()).await
        }
    }
}

fn client_command(
    command: ClientCommand,
    environment: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create {
            realm,
            client_id,
            name,
            public,
            redirect_uris,
            post_logout_redirect_uris,
            base_url,
            service_account,
            realm_admin,
            target,
        } => {
            let config = admin_config(&target, environment)?;
            let new = crate::admin_commands::NewClient {
                client_id,
                name,
                public,
                redirect_uris,
                post_logout_redirect_uris,
                base_url,
                service_account,
                realm_admin,
            };
            crate::admin_commands::create_client(&config, &realm, &new)
        }
        ClientCommand::RotateSecret {
            realm,
            client_id,
            target,
        } => {
            let config = admin_config(&target, environment)?;
            crate::admin_commands::rotate_client_secret(&config, &realm, &client_id)
        }
    }
}

fn admin_config(
    target: &Target,
    environment: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Config> {
    // The development defaults (and a generated key) only when nothing points at an
    // installation: a settings file or a database URL means production rules, so a missing key
    // is an error rather than a new key no node could open.
    let installed = target.config.is_some() || environment("SESAME_DATABASE_URL").is_some();
    let mode = if installed {
        Mode::Production
    } else {
        Mode::Dev
    };
    Ok(config::load(mode, target.config.as_deref(), environment)?)
}

async fn start(config: Config, dev: bool) -> anyhow::Result<()> {
    init_logging(&config);
    // A certificate or key that does not load stops start-up before anything is announced.
    if let Some(files) = &config.tls {
        crate::app::rustls_config(files)?;
    }
    let sesame = Sesame::build(&config).await?;
    let listener = std::net::TcpListener::bind(config.http_addr).with_context(|| {
        format!(
            "cannot listen on {} (http.host/http.port, SESAME_HTTP_HOST/SESAME_HTTP_PORT): is \
             the port already in use?",
            config.http_addr
        )
    })?;
    let portal_listener = config
        .demo_portal_port
        .map(|port| crate::demo::bind_portal(&config, port))
        .transpose()?;

    // One signal stops Sésame and the demo portal alike.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let wait = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let (router, tls, server_stopped) = (sesame.router(), config.tls.clone(), stopped.clone());
    let server =
        tokio::spawn(
            async move { serve(listener, router, tls.as_ref(), wait(server_stopped)).await },
        );

    let demo = match portal_listener {
        Some(listener) => Some(crate::demo::start(&sesame, &config, listener).await?),
        None => None,
    };
    let realms = sesame.realm_names().await?;
    print_banner(&config, &realms, dev, demo.as_ref());
    let served = server.await.context("the HTTP server task failed")?;
    drop(demo);
    served
}

fn print_banner(config: &Config, realms: &[String], dev: bool, demo: Option<&crate::demo::Demo>) {
    let mode = if dev {
        "development mode, embedded defaults"
    } else {
        "production mode"
    };
    let base = config.public_url.as_str().trim_end_matches('/');
    println!("Sésame is running ({mode}) on {base}");
    for realm in realms.iter().filter(|realm| *realm != "master") {
        let issuer = config.issuer(realm);
        println!("  realm {realm}:");
        println!("    issuer     {issuer}");
        println!("    discovery  {issuer}/.well-known/openid-configuration");
    }
    if dev {
        println!("  data       {}", config.data_dir.display());
    }
    println!("  health     {base}/health/ready");
    if let Some(demo) = demo {
        println!();
        println!("Smart OA demo portal: {}", demo.portal.url());
        match &demo.invitation {
            Some(invitation) => {
                println!(
                    "Demo producer {} was sent the initialisation mail:",
                    crate::demo::DEMO_PRODUCER
                );
                if let Some(file) = &invitation.mail_file {
                    println!("  mail       {}", file.display());
                }
                println!("  open       {}", invitation.link);
                println!(
                    "Follow it with an authenticator app on your phone, then sign in on the portal."
                );
            }
            None => println!(
                "Demo producer {} is set up: sign in on the portal with their password and code.",
                crate::demo::DEMO_PRODUCER
            ),
        }
    }
}

fn init_logging(config: &Config) {
    // Logs on standard error, so that standard output holds only what commands print (the
    // banner, an exported realm) and JSON logs stay one object per line.
    let builder = tracing_subscriber::fmt()
        .with_max_level(config.log_level)
        .with_target(false)
        .with_writer(std::io::stderr);
    let installed = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if installed.is_err() {
        // Tests start several servers in one process: the first one's logger stays.
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};

    let interrupt = tokio::signal::ctrl_c();
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        // Without SIGTERM handling, Ctrl-C still stops the server gracefully.
        let _ = interrupt.await;
        return;
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

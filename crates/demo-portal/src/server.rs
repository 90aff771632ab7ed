//! Running the portal: binding its address (with a clear message when the port is taken),
//! serving until a shutdown signal, and a handle for running it inside another program's
//! runtime (Sésame's `start-dev`, tests).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use url::Url;

use crate::config::Config;
use crate::portal::{Portal, PortalError};

/// A portal running in the background; dropping the handle stops it too.
#[derive(Debug)]
pub struct RunningPortal {
    local_addr: SocketAddr,
    url: Url,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), PortalError>>>,
}

/// Binds `address`; a port in use gets a message saying so.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, PortalError> {
    TcpListener::bind(address)
        .await
        .map_err(|error| PortalError::Bind { address, error })
}

/// Runs the portal on `listener` until `shutdown` completes, then finishes the requests in
/// flight. Discovery (retried for [`Config::discovery_timeout`]) happens first; a shutdown
/// during it ends the call without error.
///
/// [`Config::listen`] is replaced by the listener's address, where the portal calls its own
/// API.
pub async fn serve(
    mut config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), PortalError> {
    config.listen = listener.local_addr().map_err(PortalError::Serve)?;
    let (stop_sender, stop_receiver) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_sender.send(true);
    });

    let portal = tokio::select! {
        portal = Portal::connect(config) => portal?,
        () = stopped(stop_receiver.clone()) => return Ok(()),
    };
    run(portal, listener, stopped(stop_receiver)).await
}

/// Binds [`Config::listen`], discovers Sésame, and serves in a background task. Returns once
/// the portal answers requests.
pub async fn spawn(config: Config) -> Result<RunningPortal, PortalError> {
    let listener = bind(config.listen).await?;
    spawn_on_listener(config, listener).await
}

/// Like [`spawn`], on a listener bound beforehand: a test binds `127.0.0.1:0`, learns the port
/// and sets [`Config::portal_url`] from it before starting the portal.
pub async fn spawn_on(
    config: Config,
    listener: std::net::TcpListener,
) -> Result<RunningPortal, PortalError> {
    let address = listener.local_addr().map_err(PortalError::Serve)?;
    listener
        .set_nonblocking(true)
        .map_err(|error| PortalError::Bind { address, error })?;
    let listener =
        TcpListener::from_std(listener).map_err(|error| PortalError::Bind { address, error })?;
    spawn_on_listener(config, listener).await
}

impl RunningPortal {
    /// The address the portal listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The portal's public base URL, from its configuration.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Stops the portal and waits for the requests in flight.
    pub async fn stop(mut self) -> Result<(), PortalError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result,
                Err(err) => Err(PortalError::Serve(std::io::Error::other(err))),
            },
            None => Ok(()),
        }
    }
}

impl Drop for RunningPortal {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The address to reach a listener at: the loopback address of the same family for an
/// unspecified one (`0.0.0.0`, `::`), which accepts connections but cannot be connected to.
pub(crate) fn reachable_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

async fn spawn_on_listener(
    mut config: Config,
    listener: TcpListener,
) -> Result<RunningPortal, PortalError> {
    let local_addr = listener.local_addr().map_err(PortalError::Serve)?;
    config.listen = local_addr;
    let url = config.portal_base();
    let portal = Portal::connect(config).await?;

    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run(portal, listener, async move {
        // A dropped handle stops the portal as well.
        let _ = stopped.await;
    }));
    Ok(RunningPortal {
        local_addr,
        url,
        stop: Some(stop),
        task: Some(task),
    })
}

async fn run(
    portal: Portal,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), PortalError> {
    let local_addr = listener.local_addr().map_err(PortalError::Serve)?;
    tracing::info!(
        address = %local_addr,
        url = %portal.config().portal_base(),
        "portal listening"
    );
    axum::serve(listener, crate::router(portal))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(PortalError::Serve)
}

/// Completes once the watch says stop (or its sender is gone).
async fn stopped(mut receiver: watch::Receiver<bool>) {
    let _ = receiver.wait_for(|stop| *stop).await;
}

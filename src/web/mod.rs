//! The web interface: admin and finance pages, a JSON API and Prometheus
//! `/metrics`, served by axum from the same store the daemon writes.
//!
//! * Pages (server-rendered HTML, no scripts): dashboard, received faxes
//!   with page-1 thumbnails and PDF download, outgoing jobs with cancel and
//!   retry, lines (ATAs, ports, roles, states, PCI flags), the PCI-DSS
//!   report (table and CSV), and a configuration summary without secrets.
//! * `/api/…`: the same data as JSON ([`api`]).
//! * `/metrics`: Prometheus text exposition ([`metrics`]), computed from the
//!   store at each scrape so it counts what every faxbridge process did
//!   (daemon, `faxbridge send`, recovery after a restart).
//!
//! Who may see what ([`auth`]): `admin` everything; `finance` the fax logs,
//! lines and the PCI-DSS report; `user` only faxes for their own address.
//! People sign in with a local account or through a trusted single sign-on
//! proxy; every change needs the session's CSRF token.
//!
//! The daemon starts it with [`serve`] when `[web] listen` is set.

pub mod api;
pub mod auth;
pub mod config;
pub mod data;
mod limit;
pub mod metrics;
pub mod pages;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use auth::Principal;
pub use config::{Role, SecureCookies, TrustedProxy, WebAccount, WebConfig};

use crate::queue::JobStore;
use crate::store::Store;

/// Why the web interface failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The listen address could not be bound.
    #[error(
        "cannot listen on {addr} for the web interface: {source}; choose a free port in \
         [web] listen or stop what uses it"
    )]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// `[web] metrics_token_file` cannot be used.
    #[error("[web] metrics_token_file: {0}; write a random token into it (`openssl rand -hex 32`)")]
    MetricsToken(String),
    /// A store query failed.
    #[error("database error while {what}: {source}; check that the database is reachable")]
    Db {
        /// What was being read or written.
        what: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The fax queue refused an operation.
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    /// The compliance store failed.
    #[error(transparent)]
    Compliance(#[from] crate::compliance::ComplianceStoreError),
}

impl WebError {
    pub(crate) fn db(what: &'static str) -> impl FnOnce(sqlx::Error) -> WebError {
        move |source| WebError::Db { what, source }
    }
}

/// What the web interface is told of the site's configuration. The daemon
/// builds it from the whole configuration (`Config::site`); the web layer
/// sees only these parts.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// `[web]`.
    pub web: WebConfig,
    /// `[queue]`, for the job views.
    pub queue: crate::queue::QueueConfig,
    /// `[general] spool_dir`, where calls in progress leave their records.
    pub spool_dir: std::path::PathBuf,
    /// `[ata]`: the units and ports shown on the Lines page.
    pub ata: crate::ata::AtaConfig,
    /// `[bridge.policy]`: each port's dialling policy, shown beside it.
    pub policy: crate::numbering::policy::PolicyConfig,
    /// The configuration summary an admin reads (no secrets).
    pub summary: serde_json::Value,
}

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) site: Site,
    pub(crate) store: Store,
    pub(crate) jobs: JobStore,
    pub(crate) auth: auth::Auth,
    pub(crate) metrics_from: Vec<crate::net::Cidr>,
    /// The bearer token that reads `/metrics` from anywhere.
    pub(crate) metrics_token: Option<String>,
}

/// A running web interface.
#[derive(Debug)]
pub struct WebServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl WebServer {
    /// The address it listens on (useful when the port was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Wait until it has stopped (after the shutdown signal, requests in
    /// progress are finished first).
    pub async fn join(self) {
        if let Err(e) = self.task.await {
            tracing::error!("the web interface task failed: {e}");
        }
    }
}

/// The routes, on shared state.
fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/faxes/in", get(pages::received))
        .route("/faxes/in/{id}/thumbnail.png", get(pages::thumbnail))
        .route("/faxes/in/{id}/fax.pdf", get(pages::pdf))
        .route("/faxes/out", get(pages::jobs))
        .route("/faxes/out/{id}/cancel", post(pages::cancel))
        .route("/faxes/out/{id}/retry", post(pages::retry))
        .route("/lines", get(pages::lines))
        .route("/pci", get(pages::pci))
        .route("/pci.csv", get(pages::pci_csv))
        .route("/pci/calls", get(pages::pci_calls))
        .route("/config", get(pages::config_summary))
        .route("/api/session", get(api::session))
        .route("/api/dashboard", get(api::dashboard))
        .route("/api/faxes/in", get(api::received))
        .route("/api/faxes/out", get(api::jobs))
        .route("/api/faxes/out/{id}", get(api::job))
        .route("/api/faxes/out/{id}/cancel", post(api::cancel))
        .route("/api/faxes/out/{id}/retry", post(api::retry))
        .route("/api/lines", get(api::lines))
        .route("/api/pci", get(api::pci))
        .route("/api/pci/calls", get(api::pci_calls))
        .route("/api/config", get(api::config_summary))
        .route("/metrics", get(metrics::metrics))
        .with_state(state)
}

/// Start the web interface when `[web] listen` is set (`Ok(None)` when it
/// is not). It serves until `shutdown` turns `true` (or its sender is
/// dropped), then finishes requests in progress.
pub async fn serve(
    site: Site,
    store: Store,
    shutdown: watch::Receiver<bool>,
) -> Result<Option<WebServer>, WebError> {
    let Some(addr) = site.web.listen else {
        return Ok(None);
    };
    let metrics_token = site.web.metrics_token().map_err(WebError::MetricsToken)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| WebError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| WebError::Bind { addr, source })?;
    let state = Arc::new(AppState {
        jobs: JobStore::new(store.clone(), site.queue.clone()),
        auth: auth::Auth::new(&site.web),
        metrics_from: site.web.metrics_networks(),
        metrics_token,
        site,
        store,
    });
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let mut stop = shutdown;
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!("the web interface stopped: {e}");
        }
    });
    tracing::info!(web = %local, "web interface listening");
    Ok(Some(WebServer { addr: local, task }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_can_cross_tasks_and_carry_context() {
        fn check<T: std::error::Error + Send + Sync + 'static>() {}
        check::<WebError>();
        fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}
        let (_tx, rx) = watch::channel(false);
        let dir = std::env::temp_dir();
        spawnable(async move {
            let store = Store::open_in_spool(&dir).await;
            if let Ok(store) = store {
                let _ = serve(Site::default(), store, rx).await;
            }
        });
    }
}

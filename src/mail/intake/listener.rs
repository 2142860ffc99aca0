//! The tokio driver around the SMTP [`Session`]: accepts connections, one
//! task each, bounded in number; reads with the command and data timeouts;
//! asks the [`MailHandler`]; runs the STARTTLS handshake with rustls.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::auth::{Accounts, PasswordHash};
use super::protocol::{self, Event, ProtocolConfig, Session, Waiting};
use super::{MailHandler, ReceivedMessage, SmtpConfig};
use crate::config::Problem;

/// Why the SMTP listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// `listen` is not set.
    #[error(
        "intake.smtp.listen is not set, so there is no SMTP listener to start; set it, e.g. listen = \"0.0.0.0:2525\""
    )]
    NotConfigured,
    /// The settings do not validate.
    #[error("[intake.smtp] cannot work: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// The address cannot be bound.
    #[error(
        "cannot listen for SMTP on {addr}: {source}; check that no other program uses the port and that faxbridge may bind it (ports below 1024 need CAP_NET_BIND_SERVICE)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// A certificate or key file cannot be read.
    #[error(
        "cannot read intake.smtp.{key} file {}: {source}; check the path and that faxbridge's user may read it",
        path.display()
    )]
    ReadFile {
        /// `tls_cert` or `tls_key`.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A certificate or key file holds no usable PEM item.
    #[error(
        "intake.smtp.{key} file {} holds no usable {what} ({reason}); give a PEM file with \"-----BEGIN {pem_label}-----\"",
        path.display()
    )]
    Pem {
        /// `tls_cert` or `tls_key`.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// What was looked for.
        what: &'static str,
        /// The PEM label expected.
        pem_label: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// rustls refused the certificate and key.
    #[error(
        "the certificate in intake.smtp.tls_cert and the key in intake.smtp.tls_key cannot be used: {0}; check that the key belongs to the certificate"
    )]
    Tls(rustls::Error),
}

/// Everything a connection task needs, shared by all of them.
struct Shared {
    protocol: ProtocolConfig,
    tls: Option<TlsAcceptor>,
    accounts: Arc<Accounts>,
    command_timeout: Duration,
    data_timeout: Duration,
    max_connections: usize,
}

/// The SMTP listener: bound by [`SmtpListener::bind`], serving by
/// [`SmtpListener::run`].
pub struct SmtpListener {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl SmtpListener {
    /// Validate the settings, load the TLS certificate and key, and bind the
    /// listening socket.
    pub async fn bind(config: &SmtpConfig) -> Result<SmtpListener, SmtpError> {
        let addr = config.listen.ok_or(SmtpError::NotConfigured)?;
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(SmtpError::Invalid(problems));
        }
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(load_tls(cert, key)?),
            _ => None,
        };
        let accounts = config
            .accounts
            .iter()
            .filter_map(|a| {
                PasswordHash::parse(&a.password_hash)
                    .ok()
                    .map(|h| (a.username.clone(), h))
            })
            .collect();
        let accounts = Accounts::new(accounts);
        let hostname = config.hostname.clone().unwrap_or_else(system_hostname);
        let protocol = ProtocolConfig {
            hostname,
            max_message_bytes: config.max_message_bytes,
            max_recipients: config.max_recipients,
            max_errors: config.max_errors,
            tls_available: tls.is_some(),
            require_tls: config.require_tls,
            auth_available: !accounts.is_empty(),
            allow_plain_auth: config.allow_plain_auth,
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SmtpError::Bind { addr, source })?;
        Ok(SmtpListener {
            listener,
            shared: Arc::new(Shared {
                protocol,
                tls,
                accounts: Arc::new(accounts),
                command_timeout: Duration::from_secs(config.command_timeout_secs),
                data_timeout: Duration::from_secs(config.data_timeout_secs),
                max_connections: config.max_connections,
            }),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accept and serve connections until `shutdown` completes. Then no new
    /// connection is accepted; idle sessions get 421 and are closed, and a
    /// session receiving a message or waiting for the handler finishes that
    /// step first. Returns when every session has ended.
    pub async fn run(self, handler: Arc<dyn MailHandler>, shutdown: impl Future<Output = ()>) {
        let SmtpListener { listener, shared } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let slots = Arc::new(Semaphore::new(shared.max_connections));
        let mut tasks = JoinSet::new();
        tracing::info!(addr = ?listener.local_addr().ok(), tls = shared.tls.is_some(), "SMTP listener started");
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => match slots.clone().try_acquire_owned() {
                        Ok(permit) => {
                            let shared = shared.clone();
                            let handler = handler.clone();
                            let stop = stop_rx.clone();
                            tasks.spawn(async move {
                                serve(stream, peer, &shared, handler.as_ref(), stop).await;
                                drop(permit);
                            });
                        }
                        Err(_) => {
                            tracing::warn!(%peer, limit = shared.max_connections, "SMTP connection refused: all connection slots in use");
                            let reply = protocol::busy_reply(&shared.protocol.hostname);
                            tasks.spawn(async move {
                                let mut stream = stream;
                                let _ = tokio::time::timeout(Duration::from_secs(5), async {
                                    stream.write_all(reply.as_bytes()).await?;
                                    stream.shutdown().await
                                })
                                .await;
                            });
                        }
                    },
                    Err(e) => {
                        // Usually out of file descriptors; accepting again
                        // at once would spin.
                        tracing::warn!(error = %e, "SMTP accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = done && e.is_panic() {
                        tracing::error!(error = %e, "SMTP session task panicked");
                    }
                }
            }
        }
        drop(listener);
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
        tracing::info!("SMTP listener stopped");
    }
}

fn load_tls(cert_path: &Path, key_path: &Path) -> Result<TlsAcceptor, SmtpError> {
    crate::mail::install_crypto_provider();
    let read = |key: &'static str, path: &Path| {
        std::fs::read(path).map_err(|source| SmtpError::ReadFile {
            key,
            path: path.to_path_buf(),
            source,
        })
    };
    let cert_pem = read("tls_cert", cert_path)?;
    let key_pem = read("tls_key", key_path)?;
    let pem_error = |key, path: &Path, what, pem_label, reason: String| SmtpError::Pem {
        key,
        path: path.to_path_buf(),
        what,
        pem_label,
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            pem_error(
                "tls_cert",
                cert_path,
                "certificate",
                "CERTIFICATE",
                e.to_string(),
            )
        })?;
    if certs.is_empty() {
        return Err(pem_error(
            "tls_cert",
            cert_path,
            "certificate",
            "CERTIFICATE",
            "no certificate found".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        pem_error(
            "tls_key",
            key_path,
            "private key",
            "PRIVATE KEY",
            e.to_string(),
        )
    })?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(SmtpError::Tls)?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(SmtpError::Tls)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The system's host name, for the greeting when none is configured.
fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| "localhost".to_string())
}

/// A message id for the `Received:` header and the logs: the start time and
/// a counter, unique within one host.
fn next_message_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{secs:X}.{}.{n:X}", std::process::id())
}

/// The connection, before or after STARTTLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only during the handshake.
    Gone,
}

impl Conn {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf).await,
            Conn::Tls(s) => s.read(buf).await,
            Conn::Gone => Ok(0),
        }
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        async fn write<S: AsyncWrite + Unpin>(s: &mut S, data: &[u8]) -> io::Result<()> {
            s.write_all(data).await?;
            s.flush().await
        }
        match self {
            Conn::Plain(s) => write(s, data).await,
            Conn::Tls(s) => write(s.as_mut(), data).await,
            Conn::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    async fn shutdown(&mut self) {
        async fn close<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) {
            let _ = s.shutdown().await;
        }
        match self {
            Conn::Plain(s) => close(s).await,
            Conn::Tls(s) => close(s.as_mut()).await,
            Conn::Gone => {}
        }
    }
}

/// Why a session ended early.
#[derive(Debug, thiserror::Error)]
enum End {
    #[error("connection error: {0}")]
    Io(io::Error),
    #[error("the client did not read our replies or finish the TLS handshake in time")]
    Timeout,
    #[error("TLS handshake failed: {0}")]
    Tls(io::Error),
}

/// One connection, from greeting to close.
async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    handler: &dyn MailHandler,
    stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut conn = Conn::Plain(stream);
    tracing::debug!(%peer, "SMTP connection");
    match drive(&mut conn, peer, shared, handler, stop).await {
        Ok(()) => tracing::debug!(%peer, "SMTP connection closed"),
        Err(e) => tracing::info!(%peer, reason = %e, "SMTP connection ended"),
    }
    conn.shutdown().await;
}

async fn flush(conn: &mut Conn, session: &mut Session, shared: &Shared) -> Result<(), End> {
    let out = session.take_output();
    if out.is_empty() {
        return Ok(());
    }
    match tokio::time::timeout(shared.command_timeout, conn.write_all(&out)).await {
        Ok(r) => r.map_err(End::Io),
        Err(_) => Err(End::Timeout),
    }
}

async fn drive(
    conn: &mut Conn,
    peer: SocketAddr,
    shared: &Shared,
    handler: &dyn MailHandler,
    mut stop: watch::Receiver<bool>,
) -> Result<(), End> {
    let mut session = Session::new(shared.protocol.clone(), peer);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match session.poll() {
            Event::NeedInput => {
                flush(conn, &mut session, shared).await?;
                let stopping = *stop.borrow();
                if stopping && session.is_idle() {
                    session.shutting_down();
                    continue;
                }
                let limit = match session.waiting() {
                    Waiting::Command => shared.command_timeout,
                    Waiting::Data => shared.data_timeout,
                };
                tokio::select! {
                    read = tokio::time::timeout(limit, conn.read(&mut buf)) => match read {
                        Err(_) => {
                            tracing::info!(%peer, seconds = limit.as_secs(), "SMTP session timed out");
                            session.timed_out();
                        }
                        Ok(Ok(0)) => return Ok(()),
                        Ok(Ok(n)) => session.feed(&buf[..n]),
                        Ok(Err(e)) => return Err(End::Io(e)),
                    },
                    // A closed channel also means stop.
                    _ = stop.changed(), if !stopping => {}
                }
            }
            Event::CheckSender { mail_from } => {
                flush(conn, &mut session, shared).await?;
                let info = session.info();
                let result = handler.check_sender(&info, &mail_from).await;
                if let Err(r) = &result {
                    tracing::info!(%peer, from = %mail_from, helo = %info.helo, user = ?info.authenticated, reason = %r.smtp_line(), "SMTP sender refused");
                }
                session.sender_checked(result);
            }
            Event::CheckRecipient {
                mail_from,
                recipient,
            } => {
                let info = session.info();
                let result = handler.check_recipient(&info, &mail_from, &recipient).await;
                if let Err(r) = &result {
                    tracing::info!(%peer, from = %mail_from, rcpt = %recipient, reason = %r.smtp_line(), "SMTP recipient refused");
                }
                session.recipient_checked(result);
            }
            Event::Deliver {
                mail_from,
                recipients,
                data,
            } => {
                flush(conn, &mut session, shared).await?;
                let info = session.info();
                let id = next_message_id();
                let received = protocol::received_header(
                    &shared.protocol.hostname,
                    &info.helo,
                    peer,
                    session.protocol(),
                    &id,
                    &recipients,
                    SystemTime::now(),
                );
                let mut full = Vec::with_capacity(received.len() + data.len());
                full.extend_from_slice(received.as_bytes());
                full.extend_from_slice(&data);
                let size = full.len();
                let message = ReceivedMessage {
                    mail_from: mail_from.clone(),
                    recipients: recipients.clone(),
                    data: full,
                };
                let result = handler.accept(&info, message).await;
                match &result {
                    Ok(accepted) => {
                        tracing::info!(%peer, id = %id, from = %mail_from, rcpt = ?recipients, size, jobs = ?accepted.jobs, "SMTP message accepted");
                    }
                    Err(r) => {
                        tracing::info!(%peer, id = %id, from = %mail_from, rcpt = ?recipients, size, reason = %r.smtp_line(), "SMTP message refused");
                    }
                }
                session.message_done(result.map(|a| a.jobs.len()));
            }
            Event::Authenticate { username, password } => {
                let accounts = shared.accounts.clone();
                let user = username.clone();
                // PBKDF2 is slow on purpose: keep it off the async workers.
                let ok = tokio::task::spawn_blocking(move || accounts.verify(&user, &password))
                    .await
                    .unwrap_or(false);
                if ok {
                    tracing::info!(%peer, user = %username, "SMTP AUTH succeeded");
                } else {
                    tracing::warn!(%peer, user = %username, "SMTP AUTH failed");
                }
                session.auth_checked(ok);
            }
            Event::StartTls => {
                flush(conn, &mut session, shared).await?;
                let Some(acceptor) = &shared.tls else {
                    return Ok(());
                };
                let Conn::Plain(tcp) = std::mem::replace(conn, Conn::Gone) else {
                    return Ok(());
                };
                match tokio::time::timeout(shared.command_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        *conn = Conn::Tls(Box::new(tls));
                        session.tls_started();
                        tracing::debug!(%peer, "SMTP STARTTLS done");
                    }
                    Ok(Err(e)) => return Err(End::Tls(e)),
                    Err(_) => return Err(End::Timeout),
                }
            }
            Event::Close => {
                flush(conn, &mut session, shared).await?;
                return Ok(());
            }
        }
    }
}

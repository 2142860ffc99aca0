//! The tokio driver around the SMTP [`Session`]: accepts connections, one
//! task each, admitted by the [`Slots`]; reads with the command and data
//! timeouts (and the shorter one for clients that have not yet
//! authenticated or had a sender accepted); asks the [`MailHandler`]; checks
//! passwords through the [`AuthLimiter`] on a bounded blocking pool; runs
//! the STARTTLS handshake with rustls.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::auth::Accounts;
use super::limits::{AuthLimiter, ClientKey, Gate, Refused, Slots};
use super::protocol::{self, Event, ProtocolConfig, Session, Waiting};
use super::{MailHandler, ReceivedMessage, SmtpConfig};
use crate::password::PasswordHash;
use crate::problem::{Problem, Validate};

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

/// What the SMTP listeners of this process counted since it started, for
/// `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmtpCounters {
    /// AUTH attempts with a wrong user name or password.
    pub auth_failures: u64,
    /// Client addresses locked out of AUTH after too many failures.
    pub auth_address_lockouts: u64,
    /// Accounts whose AUTH attempts started to be delayed after too many
    /// failures.
    pub auth_account_slowdowns: u64,
    /// Connections refused because every slot was taken.
    pub refused_full: u64,
    /// Connections from untrusted addresses refused because only the
    /// reserved slots were left.
    pub refused_reserved: u64,
    /// Connections refused because their address held its most unproven
    /// connections.
    pub refused_per_address: u64,
    /// Sessions closed for not authenticating or having a sender accepted
    /// within `pre_mail_timeout_secs`.
    pub unproven_timeouts: u64,
    /// Sessions closed after `max_sender_refusals` refused senders.
    pub sender_refusal_closes: u64,
}

static AUTH_FAILURES: AtomicU64 = AtomicU64::new(0);
static AUTH_ADDRESS_LOCKOUTS: AtomicU64 = AtomicU64::new(0);
static AUTH_ACCOUNT_SLOWDOWNS: AtomicU64 = AtomicU64::new(0);
static REFUSED_FULL: AtomicU64 = AtomicU64::new(0);
static REFUSED_RESERVED: AtomicU64 = AtomicU64::new(0);
static REFUSED_PER_ADDRESS: AtomicU64 = AtomicU64::new(0);
static UNPROVEN_TIMEOUTS: AtomicU64 = AtomicU64::new(0);
static SENDER_REFUSAL_CLOSES: AtomicU64 = AtomicU64::new(0);

/// The counters of every SMTP listener in this process.
pub fn counters() -> SmtpCounters {
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    SmtpCounters {
        auth_failures: get(&AUTH_FAILURES),
        auth_address_lockouts: get(&AUTH_ADDRESS_LOCKOUTS),
        auth_account_slowdowns: get(&AUTH_ACCOUNT_SLOWDOWNS),
        refused_full: get(&REFUSED_FULL),
        refused_reserved: get(&REFUSED_RESERVED),
        refused_per_address: get(&REFUSED_PER_ADDRESS),
        unproven_timeouts: get(&UNPROVEN_TIMEOUTS),
        sender_refusal_closes: get(&SENDER_REFUSAL_CLOSES),
    }
}

fn count(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Lock a mutex whose holder may have panicked (the data are counts that
/// stay consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One log line per this long about refused connections: a flood must not
/// become a flood of log lines.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Everything a connection task needs, shared by all of them.
struct Shared {
    protocol: ProtocolConfig,
    tls: Option<TlsAcceptor>,
    accounts: Arc<Accounts>,
    command_timeout: Duration,
    data_timeout: Duration,
    pre_mail_timeout: Duration,
    slots: Mutex<Slots>,
    limiter: Mutex<AuthLimiter>,
    auth_max_failures: u32,
    auth_window: Duration,
    /// Permits for password checks on the blocking pool.
    password_checks: Semaphore,
    /// When refused connections were last logged, and how many since.
    refusal_log: Mutex<(Option<Instant>, u64)>,
}

impl Shared {
    /// Log a refused connection, at most once per [`REFUSAL_LOG_EVERY`].
    fn log_refusal(&self, peer: SocketAddr, why: Refused) {
        let now = Instant::now();
        let mut log = lock(&self.refusal_log);
        let (last, suppressed) = &mut *log;
        if last.is_some_and(|t| now.duration_since(t) < REFUSAL_LOG_EVERY) {
            *suppressed += 1;
            return;
        }
        let (open, unproven) = lock(&self.slots).counts();
        tracing::warn!(%peer, reason = why.name(), open, unproven, refused_since_last_line = *suppressed, "SMTP connection refused: no slot for this client");
        *last = Some(now);
        *suppressed = 0;
    }
}

/// A connection's slot, given back when it is dropped.
struct Slot {
    shared: Arc<Shared>,
    client: ClientKey,
    proven: bool,
}

impl Slot {
    /// The connection has proved itself: it leaves the strangers' share.
    fn promote(&mut self) {
        if !self.proven {
            self.proven = true;
            lock(&self.shared.slots).promote(self.client);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.shared.slots).release(self.client, self.proven);
    }
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
            max_sender_refusals: config.max_sender_refusals,
        };
        let auth_window = Duration::from_secs(config.auth_window_secs);
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
                pre_mail_timeout: Duration::from_secs(config.pre_mail_timeout_secs),
                slots: Mutex::new(Slots::new(
                    config.max_connections,
                    config.reserved(),
                    config.max_connections_per_address,
                )),
                limiter: Mutex::new(AuthLimiter::new(
                    config.auth_max_failures,
                    auth_window,
                    Duration::from_millis(config.auth_delay_ms),
                )),
                auth_max_failures: config.auth_max_failures,
                auth_window,
                password_checks: Semaphore::new(config.auth_concurrency.max(1)),
                refusal_log: Mutex::new((None, 0)),
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
        let mut tasks = JoinSet::new();
        let mut backoff = crate::net::Backoff::default();
        let mut accept_log = crate::net::LogGate::new(Duration::from_secs(10));
        tracing::info!(addr = ?listener.local_addr().ok(), tls = shared.tls.is_some(), "SMTP listener started");
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        backoff.succeeded();
                        let trusted = handler.is_trusted(peer.ip());
                        let client = ClientKey::of(peer.ip());
                        let admitted = lock(&shared.slots).admit(client, trusted);
                        match admitted {
                            Ok(()) => {
                                let slot = Slot {
                                    shared: shared.clone(),
                                    client,
                                    proven: trusted,
                                };
                                let shared = shared.clone();
                                let handler = handler.clone();
                                let stop = stop_rx.clone();
                                tasks.spawn(async move {
                                    serve(stream, peer, slot, &shared, handler.as_ref(), stop).await;
                                });
                            }
                            Err(why) => {
                                count(match why {
                                    Refused::Full => &REFUSED_FULL,
                                    Refused::SharedFull => &REFUSED_RESERVED,
                                    Refused::AddressFull => &REFUSED_PER_ADDRESS,
                                });
                                shared.log_refusal(peer, why);
                                let reply = match why {
                                    Refused::AddressFull => protocol::address_busy_reply(&shared.protocol.hostname),
                                    Refused::Full | Refused::SharedFull => protocol::busy_reply(&shared.protocol.hostname),
                                };
                                // A new socket's send buffer is empty, so the
                                // short reply goes out at once; no task or
                                // timer is spent on a client we refuse.
                                let _ = stream.try_write(reply.as_bytes());
                                drop(stream);
                            }
                        }
                    }
                    Err(e) => {
                        // Usually out of file descriptors (EMFILE/ENFILE);
                        // accepting again at once would spin and flood the
                        // log: back off, and log once per interval.
                        if let Some(held) = accept_log.event(std::time::Instant::now()) {
                            tracing::warn!(error = %e, failures_not_logged = held, "SMTP accept failed; backing off");
                        }
                        tokio::time::sleep(backoff.failed()).await;
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
        crate::durable::read_bounded(path, crate::durable::CONFIG_FILE_LIMIT).map_err(|source| {
            SmtpError::ReadFile {
                key,
                path: path.to_path_buf(),
                source,
            }
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
    mut slot: Slot,
    shared: &Shared,
    handler: &dyn MailHandler,
    stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut conn = Conn::Plain(stream);
    tracing::debug!(%peer, trusted = slot.proven, "SMTP connection");
    match drive(&mut conn, peer, &mut slot, shared, handler, stop).await {
        Ok(()) => tracing::debug!(%peer, "SMTP connection closed"),
        Err(e) => tracing::info!(%peer, reason = %e, "SMTP connection ended"),
    }
    conn.shutdown().await;
    drop(slot);
}

/// How long to wait for the client now: `limit`, or for a session that has
/// not proved itself, no longer than until `deadline`. The flag says the
/// deadline is what limits.
fn wait_limit(session: &Session, limit: Duration, deadline: Instant) -> (Duration, bool) {
    if session.is_proven() {
        return (limit, false);
    }
    let left = deadline.saturating_duration_since(Instant::now());
    if left < limit {
        (left, true)
    } else {
        (limit, false)
    }
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
    slot: &mut Slot,
    shared: &Shared,
    handler: &dyn MailHandler,
    mut stop: watch::Receiver<bool>,
) -> Result<(), End> {
    let mut session = Session::new(shared.protocol.clone(), peer);
    if slot.proven {
        session.set_trusted();
    }
    // An unproven client must authenticate or have a sender accepted by
    // then; until it does it holds one of the strangers' slots.
    let deadline = Instant::now() + shared.pre_mail_timeout;
    let client = slot.client;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if session.is_proven() {
            slot.promote();
        }
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
                let (limit, early) = wait_limit(&session, limit, deadline);
                tokio::select! {
                    read = tokio::time::timeout(limit, conn.read(&mut buf)) => match read {
                        Err(_) if early => {
                            count(&UNPROVEN_TIMEOUTS);
                            tracing::info!(%peer, seconds = shared.pre_mail_timeout.as_secs(), "SMTP session closed: no login or accepted sender in time");
                            session.unproven_timed_out();
                        }
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
                let refused = result.is_err();
                session.sender_checked(result);
                if refused && session.is_closing() {
                    count(&SENDER_REFUSAL_CLOSES);
                }
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
                flush(conn, &mut session, shared).await?;
                let gate = lock(&shared.limiter).gate(client, &username, Instant::now());
                let delay = match gate {
                    Gate::Locked { retry_after } => {
                        tracing::debug!(%peer, user = %username, "SMTP AUTH refused: address locked out");
                        session.auth_locked(retry_after);
                        continue;
                    }
                    Gate::Check { delay } => delay,
                };
                if !delay.is_zero() {
                    // The account is under attack: every attempt on it
                    // waits, the right password too (answering that one
                    // at once would tell a guesser to stop waiting).
                    let stopping = *stop.borrow();
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.changed(), if !stopping => {}
                    }
                }
                let ok = check_password(shared, &username, password).await;
                if ok {
                    lock(&shared.limiter).succeeded(&username);
                    tracing::info!(%peer, user = %username, "SMTP AUTH succeeded");
                } else {
                    count(&AUTH_FAILURES);
                    let failure = lock(&shared.limiter).failed(client, &username, Instant::now());
                    tracing::warn!(%peer, user = %username, "SMTP AUTH failed");
                    if failure.address_locked {
                        count(&AUTH_ADDRESS_LOCKOUTS);
                        tracing::warn!(%peer, client = %client, failures = shared.auth_max_failures, window_secs = shared.auth_window.as_secs(), "SMTP AUTH locked out for this client address: too many failed logins; it gets 454 until the oldest failure is out of the window");
                    }
                    if failure.account_slowed {
                        count(&AUTH_ACCOUNT_SLOWDOWNS);
                        tracing::warn!(%peer, user = %username, failures = shared.auth_max_failures, window_secs = shared.auth_window.as_secs(), "SMTP AUTH slowed down for this account: too many failed logins; each further attempt waits before its password is checked");
                    }
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
                let (limit, _) = wait_limit(&session, shared.command_timeout, deadline);
                match tokio::time::timeout(limit, acceptor.accept(tcp)).await {
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

/// Check a password on the blocking pool, at most `auth_concurrency` at a
/// time: Argon2 and PBKDF2 take tens of milliseconds of CPU by design, which
/// must not stall the async workers, and a crowd of guessers must not take
/// every CPU (or, for Argon2, much memory) either.
async fn check_password(shared: &Shared, username: &str, password: Vec<u8>) -> bool {
    // The semaphore is never closed.
    let Ok(_permit) = shared.password_checks.acquire().await else {
        return false;
    };
    let accounts = shared.accounts.clone();
    let user = username.to_string();
    tokio::task::spawn_blocking(move || accounts.verify(&user, &password))
        .await
        .unwrap_or(false)
}

//! Listening sockets with the screening of [`super::wire`] in front.
//!
//! UDP datagrams pass through [`ScreenedUdpSocket`] before the stack parses
//! them: malformed requests with a `Via` are answered `400 Bad Request` to
//! their source address (RFC 3581 symmetric response), the rest dropped. A
//! TCP stream is framed by `Content-Length` and screened message by message
//! the same way before the stack sees it ([`screen_tcp_stream`]): a bad
//! request is answered 400 on the connection and skipped, and a stream
//! whose framing breaks is closed, since the next message boundary cannot
//! be found (RFC 3261 §18.3). [`RequestScreen`] then checks each parsed
//! request from every transport.
//!
//! SIP over TLS (RFC 3261 §26.2, RFC 5630) gets its own listener: the
//! stack frames the decrypted stream itself, so only [`RequestScreen`]
//! covers it. Outgoing TLS connections (`sips:` targets and
//! `;transport=tls`) verify the far end's certificate against `sip.tls_ca`;
//! in-dialog requests then ride the connection the dialog started on (RFC
//! 5923 connection reuse), so a caller without a TLS listener of its own
//! still receives the far end's BYE.
//!
//! The TCP and TLS accept loops are ours, not the stack's: the stack's
//! accept everything, retry a failed `accept` at once (out of descriptors,
//! that spins a core and floods the log) and give every connection two
//! 64 KiB buffers before it has said a word. Ours ([`serve_stream_listener`])
//! apply [`super::limits`]: a connection is admitted within the total and
//! per-address limits, and handed to the stack only once it has sent a
//! whole SIP message, within `sip.first_request_secs` (TCP: the bytes are
//! peeked, through a buffer that grows only as bytes arrive, and left in
//! the socket for the stack to read). A TLS connection must finish its
//! handshake in that time; it is then handed over at once (the stack reads
//! the decrypted stream), and a duplicate of its socket descriptor is kept
//! so that it can be shut down if no request arrives in that time again.
//! Failed accepts back off (100 ms doubling to 1 s) with one log line per
//! 10 s. The stack still lists the listeners (it builds `Via` and
//! `Contact` from them) but never runs an accept loop on them: see
//! [`register_listeners`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsipstack::platform::CancellationToken;
use rsipstack::platform::net::UdpSocket as StackUdpSocket;
use rsipstack::sip::{SipMessage, Transport};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::endpoint::TransportEventInspector;
use rsipstack::transaction::make_tag;
use rsipstack::transport::stream::StreamConnectionInner;
use rsipstack::transport::tcp::TcpConnection;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::tls::TlsConnection;
use rsipstack::transport::{
    SipAddr, SipConnection, TlsConfig, TlsListenerConnection, TransportEvent, TransportLayer,
};
use tracing::{debug, info, warn};

use super::config::TransportKind;
use super::endpoint::SipError;
use super::limits::framing::{Framing, MAX_MESSAGE, frame};
use super::limits::{Admission, ConnectionTable, Refusal, stats};
use crate::net::{Backoff, LogGate};

use super::wire::{
    Screening, StreamPiece, StreamScreen, bad_request, screen_datagram, tidy_request,
    validate_request,
};

/// A tokio UDP socket that screens every datagram it hands to the stack.
pub(crate) struct ScreenedUdpSocket {
    socket: tokio::net::UdpSocket,
}

impl ScreenedUdpSocket {
    /// Binds `addr` (port 0 picks a free port).
    pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(ScreenedUdpSocket {
            socket: tokio::net::UdpSocket::bind(addr).await?,
        })
    }

    /// The bound address.
    pub(crate) fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

#[async_trait::async_trait]
impl StackUdpSocket for ScreenedUdpSocket {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (len, from) = self.socket.recv_from(buf).await?;
            match screen_datagram(&buf[..len], make_tag().value()) {
                Screening::Pass => return Ok((len, from)),
                Screening::Drop(reason) => {
                    debug!(%from, len, reason, "dropped malformed SIP datagram");
                }
                Screening::Reject { response, reason } => {
                    info!(%from, reason, "answering malformed SIP request with 400");
                    if let Err(e) = self.socket.send_to(&response, from).await {
                        debug!(%from, error = %e, "could not send 400");
                    }
                }
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.socket.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }
}

/// Checks parsed requests from every transport; answers 400 to bad ones.
/// Also tells the stream limits that a TLS connection has spoken.
pub(crate) struct RequestScreen {
    /// The stream connections' bookkeeping.
    pub(crate) streams: Arc<StreamLimits>,
}

#[async_trait::async_trait]
impl TransportEventInspector for RequestScreen {
    async fn handle(&self, event: TransportEvent) -> Option<TransportEvent> {
        if let TransportEvent::Incoming(_, SipConnection::Tls(_), from) = &event
            && let Ok(addr) = from.get_socketaddr()
        {
            self.streams.tls_spoke(addr);
        }
        let TransportEvent::Incoming(SipMessage::Request(mut req), connection, from) = event else {
            return Some(event);
        };
        let Err(reason) = tidy_request(&mut req).and_then(|()| validate_request(&req)) else {
            return Some(TransportEvent::Incoming(
                SipMessage::Request(req),
                connection,
                from,
            ));
        };
        info!(%from, reason, "answering malformed SIP request with 400");
        let raw = req.to_string();
        if let Some(resp) = bad_request(raw.as_bytes(), reason, make_tag().value())
            .and_then(|bytes| SipMessage::try_from(bytes).ok())
        {
            let dest = (!connection.is_reliable()).then_some(from);
            if let Err(e) = connection.send(resp, dest.as_ref()).await {
                debug!(error = %e, "could not send 400");
            }
        }
        None
    }
}

/// Wraps a screened socket for the stack.
pub(crate) fn stack_socket(socket: ScreenedUdpSocket) -> Arc<dyn StackUdpSocket> {
    Arc::new(socket)
}

/// The client side of SIP over TLS: trust anchors from `ca` (PEM; none
/// means no server can be verified, and every TLS call is refused).
pub(crate) fn tls_client_config(ca: Option<&[u8]>) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = ca {
        // Bundles may hold certificates rustls cannot use (old or odd
        // encodings); skip those rather than refuse the whole bundle.
        let certs = CertificateDer::pem_slice_iter(pem).filter_map(Result::ok);
        let (added, ignored) = roots.add_parsable_certificates(certs);
        debug!(added, ignored, "TLS trust anchors loaded");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .unwrap_or_else(|_| {
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        });
    Arc::new(config)
}

/// Opens and verifies the TLS connection for a call to `target` before the
/// INVITE is sent, and hands it to the stack, which sends the INVITE and
/// the rest of the dialog over it. Done here rather than left to the stack
/// so that a certificate the trust anchors do not cover fails the call at
/// once, with the reason, instead of as a 408 after 32 s of retransmitted
/// handshakes.
pub(crate) async fn connect_tls(
    layer: &TransportLayer,
    config: Arc<rustls::ClientConfig>,
    target: &rsipstack::sip::HostWithPort,
) -> Result<(), SipError> {
    use rsipstack::sip::Host;
    use rsipstack::transport::SipAddr;
    let port = target.port.as_ref().map_or(5061, |p| p.value());
    let (host, ip) = match &target.host {
        Host::IpAddr(ip) => (ip.to_string(), Some(*ip)),
        Host::Domain(d) => (d.to_string(), None),
    };
    let tls_error = |reason: String| SipError::Tls {
        target: format!("{host}:{port}"),
        reason,
    };
    let server_name = rustls::pki_types::ServerName::try_from(host.clone())
        .map_err(|e| tls_error(e.to_string()))?;
    let tcp = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| tls_error("no TCP connection within 10 s".into()))?
    .map_err(|e| tls_error(e.to_string()))?;
    let stream = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio_rustls::TlsConnector::from(config).connect(server_name, tcp),
    )
    .await
    .map_err(|_| tls_error("no TLS handshake within 10 s".into()))?
    .map_err(|e| tls_error(e.to_string()))?;
    // The stack finds connections by the resolved address; a connection
    // to a name would not be found, and the stack dials its own (verified
    // the same way) after this check.
    if let Some(ip) = ip {
        let remote = SipAddr::new(Transport::Tls, SocketAddr::new(ip, port).into());
        let conn =
            rsipstack::transport::tls::TlsConnection::from_client_stream(stream, remote, None)
                .await?;
        layer.add_connection(conn.into());
    }
    Ok(())
}

/// Log lines about refused or closed connections: one per this interval.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// How often a connection that sent part of a request is looked at again.
const PEEK_EVERY: Duration = Duration::from_millis(50);

/// Bookkeeping of the TCP and TLS connections: the limits, the TLS
/// connections that have not spoken yet, and the gates of the log lines.
pub(crate) struct StreamLimits {
    table: Mutex<ConnectionTable<CancellationToken>>,
    /// Time a new connection has to send its first whole message.
    first_request: Duration,
    /// TLS connections handed to the stack that have not sent a message,
    /// by remote address: cancelled when one arrives.
    tls_silent: Mutex<HashMap<SocketAddr, CancellationToken>>,
    refused_log: Mutex<LogGate>,
    closed_log: Mutex<LogGate>,
    accept_log: Mutex<LogGate>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Releases a connection's slot when dropped.
struct Slot {
    limits: Arc<StreamLimits>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.limits.table).release(self.id);
        stats::OPEN.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl StreamLimits {
    /// Limits of `max_total` connections, `max_per_address` from one
    /// address, and `first_request` to the first whole message.
    pub(crate) fn new(max_total: usize, max_per_address: usize, first_request: Duration) -> Self {
        StreamLimits {
            table: Mutex::new(ConnectionTable::new(max_total, max_per_address)),
            first_request,
            tls_silent: Mutex::new(HashMap::new()),
            refused_log: Mutex::new(LogGate::new(LOG_EVERY)),
            closed_log: Mutex::new(LogGate::new(LOG_EVERY)),
            accept_log: Mutex::new(LogGate::new(LOG_EVERY)),
        }
    }

    /// Admits or refuses a connection from `peer`; on admission returns its
    /// slot and the token that closes it while it is silent.
    fn admit(
        self: &Arc<Self>,
        peer: SocketAddr,
        kind: TransportKind,
    ) -> Option<(Slot, CancellationToken)> {
        let close = CancellationToken::new();
        let admission = lock(&self.table).admit(peer.ip(), close.clone());
        match admission {
            Admission::Accept { id, evicted } => {
                stats::OPEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Some(evicted) = evicted {
                    evicted.cancel();
                    self.closed(
                        peer,
                        kind,
                        &stats::EVICTED,
                        "every slot was in use: the oldest silent connection was closed for this one",
                    );
                }
                Some((
                    Slot {
                        limits: self.clone(),
                        id,
                    },
                    close,
                ))
            }
            Admission::Refuse(why) => {
                let (counter, reason) = match why {
                    Refusal::PerAddress => {
                        (&stats::REFUSED_PER_ADDRESS, "its address holds its share")
                    }
                    Refusal::Total => (&stats::REFUSED_TOTAL, "every connection slot is in use"),
                };
                stats::count(counter);
                if let Some(held) = lock(&self.refused_log).event(Instant::now()) {
                    let s = stats::snapshot();
                    warn!(
                        %peer,
                        transport = ?kind,
                        reason,
                        not_logged_since_last = held,
                        refused_per_address = s.refused_per_address,
                        refused_all_in_use = s.refused_total,
                        "SIP connection refused"
                    );
                }
                None
            }
        }
    }

    /// A connection closed for sending no whole message (or not SIP).
    fn closed(
        &self,
        peer: SocketAddr,
        kind: TransportKind,
        counter: &std::sync::atomic::AtomicU64,
        reason: &str,
    ) {
        stats::count(counter);
        if let Some(held) = lock(&self.closed_log).event(Instant::now()) {
            let s = stats::snapshot();
            info!(
                %peer,
                transport = ?kind,
                reason,
                not_logged_since_last = held,
                closed_silent = s.no_request,
                closed_not_sip = s.not_sip,
                closed_for_room = s.evicted,
                "SIP connection closed"
            );
        }
    }

    /// The stack received a message on the TLS connection from `remote`.
    fn tls_spoke(&self, remote: SocketAddr) {
        if let Some(spoke) = lock(&self.tls_silent).remove(&remote) {
            spoke.cancel();
        }
    }

    /// A failed accept: counts it, logs one line per interval, and returns
    /// how long to wait before accepting again.
    fn accept_failed(
        &self,
        e: &std::io::Error,
        kind: TransportKind,
        backoff: &mut Backoff,
    ) -> Duration {
        stats::count(&stats::ACCEPT_ERRORS);
        let wait = backoff.failed();
        if let Some(held) = lock(&self.accept_log).event(Instant::now()) {
            warn!(
                transport = ?kind,
                error = %e,
                retry_in_ms = wait.as_millis() as u64,
                failures_not_logged = held,
                "SIP accept failed (out of file descriptors?); accepting again after a pause"
            );
        }
        wait
    }
}

/// What a stream listener hands its connections to.
#[derive(Clone)]
pub(crate) struct StreamServe {
    /// The stack, whose transport layer serves admitted connections.
    pub(crate) stack: EndpointInnerRef,
    /// The limits.
    pub(crate) limits: Arc<StreamLimits>,
    /// Our address as the connections' local address (Via, Contact).
    pub(crate) local: SipAddr,
    /// Stops the listener.
    pub(crate) cancel: CancellationToken,
}

/// Binds a listening TCP socket (SO_REUSEADDR, as SIP servers restart
/// onto their port while old connections linger in TIME_WAIT).
pub(crate) fn bind_stream(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Accepts connections on `listener` until cancelled: TLS when `tls` is
/// given, else TCP.
pub(crate) async fn serve_stream_listener(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    serve: StreamServe,
) {
    let kind = if tls.is_some() {
        TransportKind::Tls
    } else {
        TransportKind::Tcp
    };
    let mut backoff = Backoff::default();
    loop {
        let accepted = tokio::select! {
            _ = serve.cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                backoff.succeeded();
                a
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                // One connection gone before we took it: nothing to wait for.
                debug!(error = %e, "connection aborted before accept");
                continue;
            }
            Err(e) => {
                let wait = serve.limits.accept_failed(&e, kind, &mut backoff);
                tokio::select! {
                    _ = serve.cancel.cancelled() => break,
                    _ = tokio::time::sleep(wait) => continue,
                }
            }
        };
        let Some((slot, close)) = serve.limits.admit(peer, kind) else {
            drop(stream);
            continue;
        };
        let serve = serve.clone();
        match &tls {
            None => {
                tokio::spawn(first_tcp_request(stream, peer, slot, close, serve));
            }
            Some(acceptor) => {
                tokio::spawn(tls_handshake(
                    stream,
                    peer,
                    slot,
                    close,
                    acceptor.clone(),
                    serve,
                ));
            }
        }
    }
    debug!(transport = ?kind, "SIP stream listener stopped");
}

/// Holds a new TCP connection until it has sent a whole message, peeking
/// at it, then hands it to the stack; closes it after `first_request`, on
/// bytes that are not SIP, or when it must make room.
async fn first_tcp_request(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    slot: Slot,
    close: CancellationToken,
    serve: StreamServe,
) {
    let limits = serve.limits.clone();
    let deadline = tokio::time::Instant::now() + limits.first_request;
    // Grows with what arrives, up to the largest message: an idle
    // connection costs a small buffer only.
    let mut buf = vec![0u8; 2048];
    loop {
        let peeked = tokio::select! {
            _ = close.cancelled() => return,
            _ = serve.cancel.cancelled() => return,
            _ = tokio::time::sleep_until(deadline) => {
                limits.closed(peer, TransportKind::Tcp, &stats::NO_REQUEST, "no whole request in time");
                return;
            }
            peeked = stream.peek(&mut buf) => peeked,
        };
        let n = match peeked {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        match frame(&buf[..n]) {
            Framing::Complete(_) => break,
            Framing::Invalid(why) => {
                limits.closed(peer, TransportKind::Tcp, &stats::NOT_SIP, why);
                return;
            }
            Framing::Incomplete if n == buf.len() => {
                if buf.len() > MAX_MESSAGE {
                    limits.closed(
                        peer,
                        TransportKind::Tcp,
                        &stats::NOT_SIP,
                        "more than 64 KiB before a whole message",
                    );
                    return;
                }
                buf.resize((buf.len() * 2).min(MAX_MESSAGE + 64), 0);
            }
            Framing::Incomplete => {
                tokio::select! {
                    _ = close.cancelled() => return,
                    _ = serve.cancel.cancelled() => return,
                    _ = tokio::time::sleep(PEEK_EVERY) => {}
                }
            }
        }
    }
    drop(buf);
    lock(&limits.table).spoke(slot.id);
    // The stack cancels this token when it stops serving the connection.
    let closed = CancellationToken::new();
    match screened_tcp_connection(stream, peer, serve.local.clone(), closed.clone()) {
        Ok((conn, from_peer, to_stack)) => {
            serve
                .stack
                .transport_layer
                .add_connection(SipConnection::Tcp(conn.clone()));
            screen_tcp_stream(
                from_peer,
                to_stack,
                &conn,
                peer,
                &limits,
                &closed,
                &serve.cancel,
            )
            .await;
            // Whatever ended the screening, the stack's side ends too: the
            // pipe is closed, so its read sees the end of the stream.
            closed.cancelled().await;
        }
        Err(e) => debug!(%peer, error = %e, "TCP connection lost before it was served"),
    }
    drop(slot);
}

/// The stack's connection for an accepted TCP stream, with the stream's
/// reading side taken out of it.
///
/// The stack frames and parses a TCP stream itself, past the raw checks
/// that UDP datagrams get ([`screen_datagram`]). So the stack does not read
/// the peer's stream: it reads one end of a local socket pair, into which
/// [`screen_tcp_stream`] writes only the messages that passed the same
/// screening. It writes to the peer's stream directly, and knows the
/// peer's address as the connection's remote address, as before.
fn screened_tcp_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    local: SipAddr,
    closed: CancellationToken,
) -> std::io::Result<(
    TcpConnection,
    tokio::io::ReadHalf<tokio::net::TcpStream>,
    tokio::net::UnixStream,
)> {
    let (stack_end, our_end) = std::os::unix::net::UnixStream::pair()?;
    stack_end.set_nonblocking(true)?;
    our_end.set_nonblocking(true)?;
    // The stack's connection type reads a `TcpStream`; a stream socket of
    // another family reads and writes alike (the stack asks it for no
    // address: the connection is given the peer's below).
    let stack_end = tokio::net::TcpStream::from_std(std::net::TcpStream::from(
        std::os::fd::OwnedFd::from(stack_end),
    ))?;
    let our_end = tokio::net::UnixStream::from_std(our_end)?;
    let (stack_read, _) = tokio::io::split(stack_end);
    let (from_peer, to_peer) = tokio::io::split(stream);
    let remote = SipAddr {
        r#type: Some(Transport::Tcp),
        addr: peer.into(),
    };
    let conn = TcpConnection {
        inner: Arc::new(StreamConnectionInner::new(
            local, remote, stack_read, to_peer,
        )),
        cancel_token: Some(closed),
    };
    Ok((conn, from_peer, our_end))
}

/// Reads the peer's TCP stream, frames and screens it message by message
/// ([`StreamScreen`]): what passes goes on to the stack, a bad request is
/// answered 400 on the connection and skipped, and broken framing closes
/// the connection. Returns when the peer closes, the stack stops serving
/// the connection, or the listener stops.
async fn screen_tcp_stream(
    mut from_peer: tokio::io::ReadHalf<tokio::net::TcpStream>,
    mut to_stack: tokio::net::UnixStream,
    conn: &TcpConnection,
    peer: SocketAddr,
    limits: &StreamLimits,
    closed: &CancellationToken,
    cancel: &CancellationToken,
) {
    use rsipstack::transport::stream::StreamConnection;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut screen = StreamScreen::new();
    let mut chunk = vec![0u8; 8192];
    loop {
        let n = tokio::select! {
            _ = closed.cancelled() => return,
            _ = cancel.cancelled() => return,
            n = from_peer.read(&mut chunk) => n,
        };
        let n = match n {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        screen.push(&chunk[..n]);
        while let Some(piece) = screen.next_piece(make_tag().value()) {
            match piece {
                StreamPiece::Forward(bytes) => {
                    let written = tokio::select! {
                        _ = closed.cancelled() => return,
                        _ = cancel.cancelled() => return,
                        w = to_stack.write_all(&bytes) => w,
                    };
                    if written.is_err() {
                        return;
                    }
                }
                StreamPiece::Reject { response, reason } => {
                    info!(%peer, reason, "answering malformed SIP request with 400");
                    if let Err(e) = conn.send_raw(&response).await {
                        debug!(%peer, error = %e, "could not send 400");
                    }
                }
                StreamPiece::Drop(reason) => {
                    debug!(%peer, reason, "dropped malformed SIP message");
                }
                StreamPiece::Close(why) => {
                    limits.closed(peer, TransportKind::Tcp, &stats::NOT_SIP, why);
                    let _ = conn.close().await;
                    return;
                }
            }
        }
    }
    // The peer closed its side: so does the pipe, and the stack's read
    // sees the end of the stream.
    let _ = to_stack.shutdown().await;
}

/// Completes the TLS handshake of a new connection within `first_request`,
/// hands the connection to the stack, and shuts it down if it sends no
/// message within `first_request` again or must make room.
async fn tls_handshake(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    slot: Slot,
    close: CancellationToken,
    acceptor: tokio_rustls::TlsAcceptor,
    serve: StreamServe,
) {
    let limits = serve.limits.clone();
    let tls = tokio::select! {
        _ = close.cancelled() => return,
        _ = serve.cancel.cancelled() => return,
        _ = tokio::time::sleep(limits.first_request) => {
            limits.closed(peer, TransportKind::Tls, &stats::NO_REQUEST, "no TLS handshake in time");
            return;
        }
        tls = acceptor.accept(stream) => tls,
    };
    let tls = match tls {
        Ok(tls) => tls,
        Err(e) => {
            limits.closed(
                peer,
                TransportKind::Tls,
                &stats::NOT_SIP,
                "TLS handshake failed",
            );
            debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
    };
    // A second descriptor of the same socket: shutting it down ends the
    // stack's reads of the connection.
    let socket = match tls.get_ref().0.as_fd().try_clone_to_owned() {
        Ok(fd) => std::net::TcpStream::from(fd),
        Err(e) => {
            // No descriptor for the duplicate: do not serve a connection
            // that could not be closed.
            limits.closed(
                peer,
                TransportKind::Tls,
                &stats::NO_REQUEST,
                "no descriptor to watch it",
            );
            debug!(%peer, error = %e, "cannot duplicate the TLS socket");
            return;
        }
    };
    let spoke = CancellationToken::new();
    lock(&limits.tls_silent).insert(peer, spoke.clone());
    let closed = CancellationToken::new();
    let remote = SipAddr::new(Transport::Tls, peer.into());
    let conn = match TlsConnection::from_server_stream(
        tls,
        serve.local.clone(),
        remote,
        Some(closed.clone()),
    )
    .await
    {
        Ok(conn) => conn,
        Err(e) => {
            lock(&limits.tls_silent).remove(&peer);
            debug!(%peer, error = %e, "TLS connection lost before it was served");
            return;
        }
    };
    serve
        .stack
        .transport_layer
        .add_connection(SipConnection::Tls(conn));
    tokio::select! {
        _ = spoke.cancelled() => {
            lock(&limits.table).spoke(slot.id);
            drop(socket);
        }
        _ = close.cancelled() => {
            lock(&limits.tls_silent).remove(&peer);
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        _ = tokio::time::sleep(limits.first_request) => {
            lock(&limits.tls_silent).remove(&peer);
            limits.closed(peer, TransportKind::Tls, &stats::NO_REQUEST, "no whole request in time after the TLS handshake");
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        _ = closed.cancelled() => {
            lock(&limits.tls_silent).remove(&peer);
        }
    }
    closed.cancelled().await;
    drop(slot);
}

/// The server side of SIP over TLS from the listener's PEM certificate
/// chain and key (checked by [`super::config::SipConfig::tls_material`]).
pub(crate) fn tls_acceptor(cert: &[u8], key: &[u8]) -> Result<tokio_rustls::TlsAcceptor, SipError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |e: String| SipError::Stack(format!("TLS listener: {e}"));
    let certs = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| bad(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| bad(e.to_string()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Trust anchors for outgoing TLS on `layer` (the stack's own dialling
/// uses them; [`connect_tls`] verifies first).
pub(crate) fn set_tls_trust(layer: &TransportLayer, ca: Option<Vec<u8>>) {
    layer.set_tls_config(TlsConfig {
        ca_certs: ca,
        ..TlsConfig::default()
    });
}

/// Lists our TCP and TLS listeners with the stack, which builds `Via` and
/// `Contact` from its listener list. Must run after the stack took its
/// snapshot of that list to start accept loops (in the first poll of
/// `Endpoint::serve`; see [`FirstPoll`]), so that the stack runs no accept
/// loop of its own on them. Were it to try, its bind would fail anyway:
/// our sockets hold the ports.
pub(crate) async fn register_listeners(
    layer: &TransportLayer,
    tcp: Option<SipAddr>,
    tls: Option<SipAddr>,
) -> Result<(), SipError> {
    let external = |a: &SipAddr| a.get_socketaddr().ok();
    if let Some(a) = tcp {
        let addr = external(&a).ok_or_else(|| SipError::Stack("TCP listener address".into()))?;
        let conn = TcpListenerConnection::new(addr, None).await?;
        layer.add_transport(conn.into());
    }
    if let Some(a) = tls {
        let addr = external(&a).ok_or_else(|| SipError::Stack("TLS listener address".into()))?;
        let conn = TlsListenerConnection::new(addr, None, TlsConfig::default()).await?;
        layer.add_transport(conn.into());
    }
    Ok(())
}

/// A future that says when it has been polled once: the stack takes its
/// snapshot of the listener list in the first poll of `Endpoint::serve`.
pub(crate) struct FirstPoll<F> {
    inner: std::pin::Pin<Box<F>>,
    polled: Option<tokio::sync::oneshot::Sender<()>>,
}

impl<F> FirstPoll<F> {
    /// Wraps `inner`; `polled` fires after its first poll.
    pub(crate) fn new(inner: F, polled: tokio::sync::oneshot::Sender<()>) -> Self {
        FirstPoll {
            inner: Box::pin(inner),
            polled: Some(polled),
        }
    }
}

impl<F: std::future::Future> std::future::Future for FirstPoll<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let out = self.inner.as_mut().poll(cx);
        if let Some(tx) = self.polled.take() {
            let _ = tx.send(());
        }
        out
    }
}

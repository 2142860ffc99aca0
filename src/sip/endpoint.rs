//! The tokio driver: sockets, the SIP stack, and dispatch of requests.
//!
//! Decisions are taken by the pure modules ([`super::acl`],
//! [`super::routing`], [`super::offer`], [`super::policy`],
//! [`super::wire`]); this file wires them to rsipstack. The stack supplies the
//! transaction layer (retransmission timers A–K of RFC 3261 §17) and dialogs.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rsipstack::dialog::DialogId;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::platform::CancellationToken;
use rsipstack::sip::{
    Header, Method, Param, Request, Scheme, StatusCode, StatusCodeKind, Transport, Uri,
    prelude::{HeadersExt, ToTypedHeader},
};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transaction::{TransactionReceiver, make_tag, make_uuid_v4};
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, SipConnection, TransportLayer};
use rsipstack::{EndpointBuilder, transaction::endpoint::EndpointOption};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::acl::{Account, Acl, AuthAttempt, Verdict};
use super::call::{
    CallHandle, CallShared, CallTask, Dialing, IncomingCall, SdpState, reject_pending,
    session_expires_for,
};
use super::config::{SipConfig, SipConfigError, TransportKind};
use super::digest::{Challenge, Credentials, DigestAlgorithm, NonceIssuer};
use super::listener::{
    RequestScreen, ScreenedUdpSocket, add_tls, connect_tls, stack_socket, tls_client_config,
    wait_tls_listening,
};
use super::offer::inspect_offer;
use super::policy::{ACCEPT, ALLOW, Refusal, SUPPORTED};
use super::wire::{invite_must_wait, retry_after_secs};
use crate::numbering::policy::{LocalTime, Weekday};
use crate::routing::did::called_number;
use crate::routing::{CallRequest, Decision, Router};

/// Errors starting or using the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    /// The `[sip]` section is invalid.
    #[error(transparent)]
    Config(#[from] SipConfigError),
    /// A socket could not be bound.
    #[error(
        "cannot listen for SIP on {transport:?} {addr}: {source}; free the port or change sip.listen"
    )]
    Bind {
        /// Transport.
        transport: TransportKind,
        /// Address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A target URI is unusable.
    #[error("`{0}` is not a usable SIP URI; write e.g. sip:2000@192.0.2.1:5060;transport=tcp")]
    Target(String),
    /// The endpoint does not listen on the transport the target needs.
    #[error("no {0:?} listener to send from; add it to sip.transports")]
    NoListener(TransportKind),
    /// The SIP stack failed.
    #[error("SIP stack error: {0}")]
    Stack(String),
    /// The request got no final response.
    #[error("no final response from {0}")]
    NoResponse(String),
    /// A TLS connection to the far end could not be set up.
    #[error(
        "cannot call {target} over TLS: {reason}; check the address, and that sip.tls_ca holds the CA that issued its certificate"
    )]
    Tls {
        /// Host and port.
        target: String,
        /// What failed (connection, handshake, certificate verification).
        reason: String,
    },
}

impl From<rsipstack::Error> for SipError {
    fn from(e: rsipstack::Error) -> Self {
        SipError::Stack(e.to_string())
    }
}

/// Dialogs and calls in progress, cleaned up when a call ends.
#[derive(Clone)]
pub(crate) struct Registry {
    dialogs: Arc<DialogLayer>,
    calls: Arc<Mutex<HashMap<String, CallHandle>>>,
}

impl Registry {
    /// Forgets a finished call and its dialog (the stack keeps dialogs until
    /// told to remove them).
    pub(crate) fn remove(&self, call_id: &str, id: &DialogId) {
        self.dialogs.remove_dialog(id);
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(call_id);
    }

    fn insert(&self, handle: CallHandle) {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(handle.call_id().to_string(), handle);
    }

    fn handles(&self) -> Vec<CallHandle> {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

struct Shared {
    stack: EndpointInnerRef,
    registry: Registry,
    acl: Acl,
    /// Where INVITEs go ([`crate::routing`]); replaced as a whole on
    /// reload (SIGHUP), read once per INVITE.
    router: std::sync::RwLock<Arc<Router>>,
    /// The ATAs' registrar ([`SipEndpoint::set_registrar`]); `None`:
    /// REGISTER gets 405.
    registrar: std::sync::RwLock<Option<Arc<super::registrar::Registrar>>>,
    nonces: NonceIssuer,
    realm: String,
    algorithms: Vec<DigestAlgorithm>,
    answer_timeout: Duration,
    /// Bound addresses.
    udp: Option<SocketAddr>,
    tcp: Option<SocketAddr>,
    tls: Option<SocketAddr>,
    /// Verifies the far end of outgoing TLS calls.
    tls_client: Arc<rustls::ClientConfig>,
    /// The address peers reach us at (Via, Contact, From).
    advertised_ip: IpAddr,
    calls_tx: mpsc::Sender<IncomingCall>,
    /// Emergency calls, when [`SipEndpoint::take_emergency_calls`] was
    /// called: never refused for a full queue, served until the endpoint
    /// stops.
    emergency_tx: mpsc::UnboundedSender<IncomingCall>,
    emergency_taken: AtomicBool,
}

impl Shared {
    /// The address peers reach our `kind` listener at.
    fn advertised(&self, kind: TransportKind) -> Option<SocketAddr> {
        let bound = match kind {
            TransportKind::Udp => self.udp,
            TransportKind::Tcp => self.tcp,
            TransportKind::Tls => self.tls,
        }?;
        Some(SocketAddr::new(self.advertised_ip, bound.port()))
    }
}

/// A running SIP endpoint.
///
/// Dropping it stops the listeners at once, without telling anyone; call
/// [`SipEndpoint::shutdown`] first to end calls cleanly.
pub struct SipEndpoint {
    shared: Arc<Shared>,
    cancel: CancellationToken,
    emergency_rx: Mutex<Option<mpsc::UnboundedReceiver<IncomingCall>>>,
}

/// A call to place.
#[derive(Debug, Clone)]
pub struct DialRequest {
    /// Target URI, e.g. `sip:2000@192.0.2.1:5060` (`;transport=tcp` for TCP).
    pub target: String,
    /// User part of our From/Contact (e.g. the sending fax's number).
    pub from_user: String,
    /// SDP offer.
    pub offer: Vec<u8>,
    /// Digest credentials for challenges from the far end.
    pub account: Option<Account>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn transport_kind(t: Transport) -> TransportKind {
    match t {
        Transport::Tls => TransportKind::Tls,
        Transport::Tcp | Transport::Ws | Transport::Wss => TransportKind::Tcp,
        _ => TransportKind::Udp,
    }
}

/// The stack binds its TCP listener in a background task; wait until it
/// accepts so that `start` returning means the endpoint is reachable.
async fn wait_listening(addr: SocketAddr) -> Result<(), SipError> {
    let probe = super::listener::probe_address(addr);
    let mut last = None;
    for _ in 0..200 {
        match tokio::net::TcpStream::connect(probe).await {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(SipError::Bind {
        transport: TransportKind::Tcp,
        addr,
        source: last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AddrInUse)),
    })
}

/// Whether a TCP listener could bind `addr` now. The stack binds its TCP
/// listener later, in the background, and only logs a failure; checking
/// first turns a busy port into a start-up error.
fn tcp_port_free(addr: SocketAddr) -> bool {
    std::net::TcpListener::bind(addr).is_ok()
}

impl SipEndpoint {
    /// Binds the listeners and starts serving. Incoming calls are delivered
    /// on the returned channel (capacity 64; when it is full new INVITEs get
    /// 503).
    pub async fn start(
        config: &SipConfig,
    ) -> Result<(SipEndpoint, mpsc::Receiver<IncomingCall>), SipError> {
        config.validate()?;
        // rustls panics at first use when two crypto providers are linked;
        // choose ring explicitly (a second install just returns Err).
        let _ = rustls::crypto::ring::default_provider().install_default();

        let advertised_ip = config
            .public_address
            .unwrap_or_else(|| SipConnection::resolve_bind_address(config.listen).ip());
        let external = |port: u16| {
            (advertised_ip != config.listen.ip()).then(|| SocketAddr::new(advertised_ip, port))
        };
        let cancel = CancellationToken::new();
        let transport_layer = TransportLayer::new(cancel.clone());
        // A TCP flow carrying a fax call can stay silent for as long as the
        // fax lasts; the stack's default 5-minute idle close would drop it
        // mid-call. Two hours still reclaims connections whose peer vanished.
        transport_layer.set_stream_idle_timeout(Duration::from_secs(2 * 3600));
        let mut udp = None;
        let mut tcp = None;
        if config.transports.contains(&TransportKind::Udp) {
            let socket = ScreenedUdpSocket::bind(config.listen)
                .await
                .map_err(|source| SipError::Bind {
                    transport: TransportKind::Udp,
                    addr: config.listen,
                    source,
                })?;
            let local = socket.local_addr().map_err(|source| SipError::Bind {
                transport: TransportKind::Udp,
                addr: config.listen,
                source,
            })?;
            let conn = UdpConnection::from_socket(
                stack_socket(socket),
                external(local.port()),
                Some(cancel.child_token()),
            )
            .await?;
            transport_layer.add_transport(conn.into());
            udp = Some(local);
        }
        if config.transports.contains(&TransportKind::Tcp) {
            let mut addr = config.listen;
            if addr.port() == 0 {
                // Port 0: share the UDP port number when it is free for TCP
                // too (peers expect one port for both), else any free port.
                addr = match udp {
                    Some(u) if tcp_port_free(SocketAddr::new(addr.ip(), u.port())) => {
                        SocketAddr::new(addr.ip(), u.port())
                    }
                    _ => {
                        let l =
                            std::net::TcpListener::bind(addr).map_err(|source| SipError::Bind {
                                transport: TransportKind::Tcp,
                                addr,
                                source,
                            })?;
                        l.local_addr().map_err(|source| SipError::Bind {
                            transport: TransportKind::Tcp,
                            addr,
                            source,
                        })?
                    }
                };
            } else if !tcp_port_free(addr) {
                return Err(SipError::Bind {
                    transport: TransportKind::Tcp,
                    addr,
                    source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
                });
            }
            let conn = TcpListenerConnection::new(addr, external(addr.port())).await?;
            transport_layer.add_transport(conn.into());
            tcp = Some(addr);
        }
        let tls_material = config.tls_material()?;
        let tls_client = tls_client_config(tls_material.ca.as_deref());
        let tls = add_tls(
            &transport_layer,
            config.tls_listen,
            config
                .tls_listen
                .filter(|l| l.ip() != advertised_ip)
                .map(|_| advertised_ip),
            tls_material,
        )
        .await?;

        let option = EndpointOption {
            callid_suffix: Some("faxbridge".into()),
            ..Default::default()
        };
        let endpoint = EndpointBuilder::new()
            .with_user_agent(&config.user_agent)
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport_layer)
            .with_transport_inspector(Box::new(RequestScreen))
            .with_option(option)
            .with_allows(vec![
                Method::Invite,
                Method::Ack,
                Method::Cancel,
                Method::Bye,
                Method::Options,
                Method::Update,
            ])
            .build();
        let incoming = endpoint.incoming_transactions()?;
        let stack = endpoint.inner.clone();
        let registry = Registry {
            dialogs: Arc::new(DialogLayer::new(stack.clone())),
            calls: Arc::new(Mutex::new(HashMap::new())),
        };
        let (calls_tx, calls_rx) = mpsc::channel(64);
        let (emergency_tx, emergency_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            stack: stack.clone(),
            registry,
            acl: config.acl()?,
            router: std::sync::RwLock::new(Arc::new(config.fax_router())),
            registrar: std::sync::RwLock::new(None),
            nonces: NonceIssuer::new(rand::random(), config.nonce_lifetime_secs),
            realm: config.realm.clone(),
            algorithms: config.digest_algorithms.clone(),
            answer_timeout: Duration::from_secs(config.answer_timeout_secs.max(1)),
            udp,
            tcp,
            tls,
            tls_client,
            advertised_ip,
            calls_tx,
            emergency_tx,
            emergency_taken: AtomicBool::new(false),
        });
        tokio::spawn(async move { endpoint.serve().await });
        tokio::spawn(serve_requests(shared.clone(), incoming));
        if let Some(addr) = tcp {
            wait_listening(addr).await?;
        }
        if let Some(addr) = tls {
            wait_tls_listening(addr).await?;
        }
        info!(?udp, ?tcp, ?tls, %advertised_ip, "SIP endpoint listening");
        Ok((
            SipEndpoint {
                shared,
                cancel,
                emergency_rx: Mutex::new(Some(emergency_rx)),
            },
            calls_rx,
        ))
    }

    /// Route INVITEs with `router` from now on (at start, and on reload:
    /// calls already routed keep their decision, the next INVITE uses the
    /// new router). Until this is called the endpoint routes with
    /// [`SipConfig::fax_router`]: fax numbers only.
    pub fn set_router(&self, router: Arc<Router>) {
        *self
            .shared
            .router
            .write()
            .unwrap_or_else(|p| p.into_inner()) = router;
    }

    /// The receiver of emergency calls. Once taken, emergency calls come
    /// here instead of the channel [`SipEndpoint::start`] returned: never
    /// refused for a full queue, and still delivered while the daemon
    /// drains other calls. `None` the second time.
    pub fn take_emergency_calls(&self) -> Option<mpsc::UnboundedReceiver<IncomingCall>> {
        let rx = self
            .emergency_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if rx.is_some() {
            self.shared.emergency_taken.store(true, Ordering::SeqCst);
        }
        rx
    }

    /// Make the endpoint the registrar of the ATAs (REGISTER is served by
    /// `registrar`; see [`super::registrar`]) and purge lapsed bindings
    /// every minute while the endpoint runs.
    pub fn set_registrar(&self, registrar: Arc<super::registrar::Registrar>) {
        tokio::spawn(
            registrar
                .clone()
                .purge_every(Duration::from_secs(60), self.cancel.child_token()),
        );
        *self
            .shared
            .registrar
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(registrar);
    }

    /// The live contact port `user` of unit `unit` registered, if any.
    pub async fn registered_contact(&self, unit: &str, user: &str) -> Option<String> {
        let registrar = self
            .shared
            .registrar
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        registrar.contact_for(unit, user).await
    }

    /// The bound UDP address, if listening on UDP.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.shared.udp
    }

    /// The bound TCP address, if listening on TCP.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.shared.tcp
    }

    /// The bound SIP-over-TLS address, if `sip.tls_listen` is set.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.shared.tls
    }

    /// Number of calls in progress.
    pub fn active_calls(&self) -> usize {
        self.shared.registry.handles().len()
    }

    /// Our advertised address for `kind`.
    fn local_addr(&self, kind: TransportKind) -> Result<SocketAddr, SipError> {
        // Without a TLS listener an outgoing TLS call still works: the far
        // end answers and sends in-dialog requests on the connection we
        // opened (RFC 5923), so any listener's address serves as Contact.
        let fallback = (kind == TransportKind::Tls)
            .then(|| {
                self.shared
                    .advertised(TransportKind::Tcp)
                    .or(self.shared.advertised(TransportKind::Udp))
            })
            .flatten();
        self.shared
            .advertised(kind)
            .or(fallback)
            .ok_or(SipError::NoListener(kind))
    }

    fn parse_target(&self, target: &str) -> Result<(Uri, TransportKind, SocketAddr), SipError> {
        let uri = Uri::try_from(target).map_err(|_| SipError::Target(target.to_string()))?;
        let kind = uri
            .params
            .iter()
            .find_map(|p| match p {
                Param::Transport(t) => Some(transport_kind(*t)),
                _ => None,
            })
            .unwrap_or(if uri.scheme == Some(Scheme::Sips) {
                // RFC 3261 §26.2.2: a sips: URI is reached over TLS.
                TransportKind::Tls
            } else {
                TransportKind::Udp
            });
        let local = self.local_addr(kind)?;
        Ok((uri, kind, local))
    }

    /// Places a call. Returns at once; [`Dialing::outcome`] waits for the answer.
    pub async fn dial(&self, req: DialRequest) -> Result<Dialing, SipError> {
        self.dial_with(req, super::call::DialOptions::default())
            .await
    }

    /// Places a call with extra headers (P-Asserted-Identity, Privacy…, see
    /// [`super::call::DialOptions`]).
    pub async fn dial_with(
        &self,
        req: DialRequest,
        options: super::call::DialOptions,
    ) -> Result<Dialing, SipError> {
        let (callee, kind, local) = self.parse_target(&req.target)?;
        let call_id = format!("{}@{}", make_uuid_v4(), local.ip());
        let mut me = Uri::try_from(format!("sip:{}@{}", req.from_user, local).as_str())
            .map_err(|_| SipError::Target(req.from_user.clone()))?;
        let mut contact = me.clone();
        if kind == TransportKind::Tcp {
            me.params.clear();
        }
        if kind == TransportKind::Tls {
            contact.params.push(Param::Transport(Transport::Tls));
        }
        // A sips: target without `;transport=tls` still goes over TLS, to
        // port 5061 unless it names one (RFC 3261 §26.2.2).
        let destination = (kind == TransportKind::Tls)
            .then(|| SipAddr::new(Transport::Tls, callee.host_with_port.clone()));
        if kind == TransportKind::Tls {
            connect_tls(
                &self.shared.stack.transport_layer,
                self.shared.tls_client.clone(),
                &callee.host_with_port,
            )
            .await?;
        }
        let option = InviteOption {
            caller: me,
            callee,
            contact,
            content_type: Some("application/sdp".into()),
            offer: Some(req.offer.clone()),
            credential: req.account.map(|a| Credential {
                username: a.username,
                password: a.password,
                realm: None,
                auth_username: None,
            }),
            call_id: Some(call_id.clone()),
            destination,
            headers: Some(
                [
                    Header::Allow(ALLOW.to_string().into()),
                    Header::Supported(SUPPORTED.to_string().into()),
                ]
                .into_iter()
                .chain(options.headers(&local.to_string()))
                .collect(),
            ),
            ..Default::default()
        };
        let registry = &self.shared.registry;
        let (state_tx, state_rx) = registry.dialogs.new_dialog_state_channel();
        let (dialog, join) = registry.dialogs.do_invite_async(option, state_tx)?;
        let handle = CallHandle {
            shared: Arc::new(CallShared {
                call_id,
                dialog,
                owns_call_id: true,
                our_reinvite: AtomicBool::new(false),
                their_reinvite: AtomicBool::new(false),
                sdp: Mutex::new(SdpState {
                    local: req.offer,
                    remote: Vec::new(),
                }),
                ended: AtomicBool::new(false),
                session_expires: None,
                refused_with: AtomicU16::new(0),
            }),
        };
        registry.insert(handle.clone());
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (progress_tx, progress_rx) = mpsc::unbounded_channel();
        tokio::spawn(
            CallTask {
                handle: handle.clone(),
                states: state_rx,
                events: events_tx,
                progress: Some(progress_tx),
                registry: registry.clone(),
                answer_timeout: self.shared.answer_timeout,
            }
            .run(),
        );
        Ok(Dialing {
            handle,
            progress: progress_rx,
            events: events_rx,
            join,
        })
    }

    /// Sends an out-of-dialog OPTIONS (a keep-alive or capability probe,
    /// RFC 3261 §11) and returns the final status code.
    pub async fn options(&self, target: &str) -> Result<u16, SipError> {
        let (uri, kind, local) = self.parse_target(target)?;
        let transport = match kind {
            TransportKind::Udp => Transport::Udp,
            TransportKind::Tcp => Transport::Tcp,
            TransportKind::Tls => Transport::Tls,
        };
        let stack = &self.shared.stack;
        let via = stack.get_via(Some(SipAddr::new(transport, local.into())), None)?;
        let me = Uri::try_from(format!("sip:faxbridge@{local}").as_str())
            .map_err(|_| SipError::Target(local.to_string()))?;
        let from = rsipstack::sip::typed::From {
            display_name: None,
            uri: me,
            params: vec![],
        }
        .with_tag(make_tag());
        let to = rsipstack::sip::typed::To {
            display_name: None,
            uri: uri.clone(),
            params: vec![],
        };
        let call_id = format!("{}@{}", make_uuid_v4(), local.ip());
        let mut request =
            stack.make_request(Method::Options, uri, via, from, to, 1, Some(call_id.into()));
        request
            .headers
            .push(Header::Accept(ACCEPT.to_string().into()));
        let key = TransactionKey::from_request(&request, TransactionRole::Client)?;
        let mut tx = Transaction::new_client(key, request, stack.clone(), None);
        tx.send().await?;
        while let Some(msg) = tx.receive().await {
            if let rsipstack::sip::SipMessage::Response(resp) = msg
                && resp.status_code.kind() != StatusCodeKind::Provisional
            {
                return Ok(u16::from(resp.status_code));
            }
        }
        Err(SipError::NoResponse(target.to_string()))
    }

    /// Ends every call (BYE for established ones, CANCEL for ones we are
    /// placing, 503 for unanswered incoming ones), waits up to 5 s for the
    /// far ends to confirm, then stops the listeners.
    pub async fn shutdown(&self) {
        let mut hangups = tokio::task::JoinSet::new();
        for handle in self.shared.registry.handles() {
            let dialog = &handle.shared.dialog;
            if dialog.role() == TransactionRole::Server && dialog.state().can_cancel() {
                let _ = dialog.reject(Some(StatusCode::ServiceUnavailable), None);
                continue;
            }
            hangups.spawn(async move {
                if let Err(e) = handle.hangup().await {
                    debug!(call_id = handle.call_id(), error = %e, "hangup at shutdown failed");
                }
            });
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), hangups.join_all()).await;
        self.cancel.cancel();
    }
}

impl Drop for SipEndpoint {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The source address of a server transaction.
fn source_of(tx: &Transaction) -> Option<SocketAddr> {
    tx.connection
        .as_ref()
        .and_then(SipConnection::get_remote_addr)
        .and_then(|a| a.get_socketaddr().ok())
}

async fn serve_requests(shared: Arc<Shared>, mut incoming: TransactionReceiver) {
    while let Some(mut tx) = incoming.recv().await {
        let in_dialog = tx
            .original
            .to_header()
            .ok()
            .and_then(|t| t.tag().ok().flatten())
            .is_some();
        if in_dialog {
            match shared.registry.dialogs.match_dialog(&tx) {
                Some(dialog)
                    if tx.original.method == Method::Invite
                        && invite_must_wait(
                            &dialog.state(),
                            matches!(&dialog, rsipstack::dialog::dialog::Dialog::Invite(d)
                                if d.role() == TransactionRole::Server),
                        ) =>
                {
                    tokio::spawn(refuse_early_invite(tx));
                }
                Some(mut dialog) => {
                    tokio::spawn(async move {
                        if let Err(e) = dialog.handle(&mut tx).await {
                            debug!(error = %e, "in-dialog request failed");
                        }
                    });
                }
                None if tx.original.method == Method::Ack => {}
                None => {
                    let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
                }
            }
            continue;
        }
        let shared = shared.clone();
        tokio::spawn(async move { out_of_dialog(shared, tx).await });
    }
}

/// RFC 3261 §14.2: an INVITE in a dialog whose previous INVITE is not yet
/// answered or acknowledged gets `500` with a random `Retry-After` of 0–10
/// s; the dialog carries on untouched. The transaction is then kept until
/// the ACK for the 500 arrives (or Timer H, 64*T1, runs out) so that the
/// 500 is retransmitted over UDP until acknowledged.
async fn refuse_early_invite(mut tx: Transaction) {
    let secs = retry_after_secs(rand::random());
    info!(
        retry_after = secs,
        "INVITE before the previous one completed: 500"
    );
    let retry = Header::RetryAfter(secs.to_string().into());
    if let Err(e) = tx
        .reply_with(StatusCode::ServerInternalError, vec![retry], None)
        .await
    {
        debug!(error = %e, "could not send 500");
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(32), async {
        while tx.receive().await.is_some() {}
    })
    .await;
}

async fn out_of_dialog(shared: Arc<Shared>, mut tx: Transaction) {
    let method = tx.original.method;
    if method == Method::Ack {
        return;
    }
    let Some(source) = source_of(&tx) else {
        warn!("request without a source address; dropped");
        return;
    };
    let authorization = tx.original.header_value("Authorization");
    let credentials = authorization
        .as_deref()
        .and_then(|v| Credentials::parse(v).ok());
    let method_name = method.to_string();
    let verdict = shared.acl.judge(
        source.ip(),
        AuthAttempt {
            method: &method_name,
            credentials: credentials.as_ref(),
        },
        &shared.realm,
        &shared.nonces,
        now_secs(),
    );
    // Where an INVITE goes is decided before admission: an emergency call
    // from an ATA unit goes ahead whatever the peer list or digest say.
    let decision = (method == Method::Invite).then(|| {
        let peer = match &verdict {
            Verdict::Admit(a) => Some(a.name()),
            _ => None,
        };
        decide(&shared, &tx.original, source, peer)
    });
    let admitted = match verdict {
        Verdict::Admit(a) => a.name().to_string(),
        _ if matches!(&decision, Some((_, Decision::Emergency(e))) if e.from_unit) => {
            warn!(%source, ?verdict, "emergency call from an ATA unit admitted without the peer list or digest");
            let unit = shared
                .router
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .inventory()
                .unit_by_ip(source.ip())
                .map(|u| u.name.clone())
                .unwrap_or_default();
            format!("unit {unit}")
        }
        Verdict::Forbid => {
            info!(%source, %method, "request from unknown source refused");
            let _ = tx.reply(StatusCode::Forbidden).await;
            return;
        }
        Verdict::Challenge { stale } => {
            let nonce = shared.nonces.issue(now_secs());
            let headers = shared
                .algorithms
                .iter()
                .map(|&algorithm| {
                    Header::WwwAuthenticate(
                        Challenge {
                            realm: shared.realm.clone(),
                            nonce: nonce.clone(),
                            algorithm,
                            stale,
                        }
                        .header_value()
                        .into(),
                    )
                })
                .collect();
            debug!(%source, %method, stale, "digest challenge");
            let _ = tx.reply_with(StatusCode::Unauthorized, headers, None).await;
            return;
        }
    };
    match method {
        Method::Invite => {
            let (did, decision) = decision.expect("decided for every INVITE");
            on_invite(shared, tx, admitted, source, did, decision).await
        }
        Method::Register => {
            let registrar = shared
                .registrar
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            match registrar {
                Some(r) => r.serve(&mut tx, source).await,
                None => {
                    let allow = Header::Allow(ALLOW.to_string().into());
                    let _ = tx
                        .reply_with(StatusCode::MethodNotAllowed, vec![allow], None)
                        .await;
                }
            }
        }
        Method::Options => {
            let headers = vec![
                Header::Allow(ALLOW.to_string().into()),
                Header::Accept(ACCEPT.to_string().into()),
                Header::Supported(SUPPORTED.to_string().into()),
            ];
            let _ = tx.reply_with(StatusCode::OK, headers, None).await;
        }
        Method::Bye => {
            let _ = tx.reply(StatusCode::CallTransactionDoesNotExist).await;
        }
        _ => {
            let _ = tx
                .reply_with(
                    StatusCode::MethodNotAllowed,
                    vec![Header::Allow(ALLOW.to_string().into())],
                    None,
                )
                .await;
        }
    }
}

/// The called number and the router's decision for an INVITE from
/// `source`, admitted as `peer` (`None`: not admitted).
fn decide(
    shared: &Shared,
    req: &Request,
    source: SocketAddr,
    peer: Option<&str>,
) -> (Option<String>, Decision) {
    let to_uri = req.to_header().ok().and_then(|t| t.uri().ok());
    let did = called_number(req.uri.user(), to_uri.as_ref().and_then(|u| u.user()));
    let from_user = req
        .from_header()
        .ok()
        .and_then(|f| f.uri().ok())
        .and_then(|u| u.user().map(str::to_string))
        .unwrap_or_default();
    let (weekday, minute) = crate::utc::local_weekday_minute();
    let router = shared
        .router
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let decision = router.decide(&CallRequest {
        source: source.ip(),
        peer,
        from_user: &from_user,
        called: did.as_deref().unwrap_or(""),
        now: LocalTime {
            weekday: Weekday::from_monday(weekday),
            minute,
        },
    });
    (did, decision)
}

/// `Reason` (RFC 3326) and `Warning` (RFC 3261 §20.43, code 399: other)
/// headers that say why a call was refused.
fn refusal_headers(status: u16, reason: &str) -> Vec<Header> {
    let text: String = reason.chars().filter(|c| *c != '"').collect();
    vec![
        Header::Reason(super::call::reason_value(status, reason).into()),
        Header::Warning(format!("399 faxbridge \"{text}\"").into()),
    ]
}

fn refuse_status(r: Refusal) -> StatusCode {
    StatusCode::from(r.status().0)
}

async fn on_invite(
    shared: Arc<Shared>,
    mut tx: Transaction,
    peer: String,
    source: SocketAddr,
    did: Option<String>,
    decision: Decision,
) {
    let req: &Request = &tx.original;
    let to_uri = req.to_header().ok().and_then(|t| t.uri().ok());
    if let Decision::Refuse(r) = &decision {
        match r.rule {
            Some(rule) => {
                warn!(%source, ?did, rule, "call refused by the toll-fraud policy: {}", r.reason)
            }
            None => info!(%source, ?did, status = r.status, "call refused: {}", r.reason),
        }
        let _ = tx
            .reply_with(
                StatusCode::from(r.status),
                refusal_headers(r.status, &r.reason),
                None,
            )
            .await;
        return;
    }
    let summary = match inspect_offer(req.header_value("Content-Type").as_deref(), &req.body) {
        Ok(s) => s,
        Err(e) => {
            info!(%source, error = %e, "offer refused");
            // RFC 3261 §20.43 warn-code 304: media type not available.
            let text: String = e.to_string().chars().filter(|c| *c != '"').collect();
            let warning = Header::Warning(format!("304 faxbridge \"{text}\"").into());
            let _ = tx
                .reply_with(StatusCode::from(e.sip_status()), vec![warning], None)
                .await;
            return;
        }
    };
    let transport = tx
        .connection
        .as_ref()
        .map(|c| transport_kind(c.transport()))
        .unwrap_or(TransportKind::Udp);
    let local = shared.advertised(transport);
    let contact = local.map(|l| {
        let mut uri = Uri {
            scheme: Some(Scheme::Sip),
            auth: Some(rsipstack::sip::Auth {
                user: did.clone().unwrap_or_else(|| "faxbridge".into()),
                password: None,
            }),
            host_with_port: l.into(),
            ..Default::default()
        };
        match transport {
            TransportKind::Tcp => uri.params.push(Param::Transport(Transport::Tcp)),
            // RFC 3261 §8.1.1.8: a sips: Request-URI asks for a sips: Contact.
            TransportKind::Tls if req.uri.scheme == Some(Scheme::Sips) => {
                uri.scheme = Some(Scheme::Sips)
            }
            TransportKind::Tls => uri.params.push(Param::Transport(Transport::Tls)),
            TransportKind::Udp => {}
        }
        uri
    });
    let call_id = req
        .call_id_header()
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let from = req
        .from_header()
        .ok()
        .and_then(|f| f.typed().ok())
        .map(|f| f.uri.to_string())
        .unwrap_or_default();
    let to = to_uri.map(|u| u.to_string()).unwrap_or_default();
    let offer = req.body.clone();
    let session_expires = session_expires_for(req);
    let identity = super::call::identity_headers(req);
    // Provisional responses other than the stack's 180/183 forms go
    // straight to the INVITE server transaction.
    let responder = tx.tu_sender.clone();

    let registry = &shared.registry;
    let (state_tx, state_rx) = registry.dialogs.new_dialog_state_channel();
    let dialog = match registry
        .dialogs
        .get_or_create_server_invite(&tx, state_tx, None, contact)
    {
        Ok(d) => d,
        Err(e) => {
            info!(%source, error = %e, "cannot create a dialog for the INVITE");
            let _ = tx.reply(refuse_status(Refusal::Malformed)).await;
            return;
        }
    };
    let handle = CallHandle {
        shared: Arc::new(CallShared {
            call_id: call_id.clone(),
            dialog: dialog.clone(),
            owns_call_id: false,
            our_reinvite: AtomicBool::new(false),
            their_reinvite: AtomicBool::new(false),
            sdp: Mutex::new(SdpState {
                local: Vec::new(),
                remote: offer.clone(),
            }),
            ended: AtomicBool::new(false),
            session_expires,
            refused_with: AtomicU16::new(0),
        }),
    };
    registry.insert(handle.clone());
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    tokio::spawn(
        CallTask {
            handle: handle.clone(),
            states: state_rx,
            events: events_tx,
            progress: None,
            registry: registry.clone(),
            answer_timeout: shared.answer_timeout,
        }
        .run(),
    );
    // The dialog drives the INVITE server transaction: 100 Trying, our final
    // response, CANCEL (→ 487) and the ACK.
    let mut driver = dialog.clone();
    tokio::spawn(async move {
        if let Err(e) = driver.handle(&mut tx).await {
            debug!(error = %e, "INVITE transaction ended with an error");
        }
    });

    let state = Arc::new(AtomicU8::new(0));
    let bridged = decision.is_bridged();
    let emergency = matches!(decision, Decision::Emergency(_));
    let call = IncomingCall {
        asserted_identity: identity.0,
        privacy: identity.1,
        responder: Some(responder),
        call_id: call_id.clone(),
        from,
        to,
        did,
        decision,
        peer: peer.clone(),
        source,
        transport,
        summary,
        offer,
        handle: handle.clone(),
        events: Some(events_rx),
        state: state.clone(),
    };
    info!(%call_id, %source, %peer, "incoming call");
    if emergency {
        // Never refused for a full queue; still served while the daemon
        // drains other calls.
        let sent = if shared.emergency_taken.load(Ordering::SeqCst) {
            shared.emergency_tx.send(call).map_err(|e| e.0)
        } else {
            shared.calls_tx.send(call).await.map_err(|e| e.0)
        };
        if let Err(call) = sent {
            error!(%call_id, "EMERGENCY CALL cannot be handed to the bridge: the daemon is stopping");
            drop(call);
        }
        return;
    }
    if let Err(e) = shared.calls_tx.try_send(call) {
        warn!(%call_id, "call handler not taking calls: {e}");
        // Dropping the IncomingCall inside the error answers 480; a full
        // queue is overload, so say 503 first.
        reject_pending(&handle, &state, Refusal::Overloaded.status().0);
        return;
    }
    // RFC 3261 §13.3.1.1: a UAS must answer; give the handler a bounded time.
    // Not for bridged calls: a phone may ring for a minute; the callee's
    // final response or the caller's CANCEL ends them (and the bridge's
    // own Timer C, RFC 3261 §16.6 step 11).
    if bridged {
        return;
    }
    tokio::time::sleep(shared.answer_timeout).await;
    reject_pending(&handle, &state, Refusal::NotAnswered.status().0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_kinds() {
        assert_eq!(transport_kind(Transport::Tcp), TransportKind::Tcp);
        assert_eq!(transport_kind(Transport::Udp), TransportKind::Udp);
    }
}

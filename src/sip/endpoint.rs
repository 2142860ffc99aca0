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
use std::time::Duration;

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
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, SipConnection, TransportLayer};
use rsipstack::{EndpointBuilder, transaction::endpoint::EndpointOption};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::acl::{Account, Acl, Admitted, AuthAttempt, DigestState, ForbidReason, Verdict};
use super::call::{
    CallHandle, CallShared, CallTask, Dialing, IncomingCall, SdpState, reject_pending,
    session_expires_for,
};
use super::config::{SipConfig, SipConfigError, TransportKind};
use super::digest::{Challenge, Credentials, DigestAlgorithm, NonceCounts, NonceIssuer};
use super::limits::{CallTable, plan_descriptors, stats};
use super::listener::{
    FirstPoll, RequestScreen, ScreenedUdpSocket, StreamLimits, StreamServe, bind_stream,
    connect_tls, register_listeners, serve_stream_listener, set_tls_trust, stack_socket,
    tls_acceptor, tls_client_config,
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
    /// Nonce counts seen (replay detection, [`NonceCounts`]).
    nonce_counts: Mutex<NonceCounts>,
    /// Calls in progress per admitted peer or account.
    call_slots: Arc<Mutex<CallTable<Admitted>>>,
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

/// Nonces whose counts are remembered at once (about 100 bytes each).
const NONCE_COUNT_CAPACITY: usize = 16_384;

/// `Retry-After` (seconds) of the 503 for a peer over its call limit.
pub const PEER_BUSY_RETRY_AFTER_SECS: u32 = 10;

/// The soft limit of open file descriptors now (1024 when unreadable).
fn descriptor_soft_limit() -> u64 {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024)
}

use crate::clock::now_secs;

fn transport_kind(t: Transport) -> TransportKind {
    match t {
        Transport::Tls => TransportKind::Tls,
        Transport::Tcp | Transport::Ws | Transport::Wss => TransportKind::Tcp,
        _ => TransportKind::Udp,
    }
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
        // mid-call. `sip.tcp_idle_secs` (2 h by default) still reclaims
        // connections whose peer vanished.
        transport_layer.set_stream_idle_timeout(Duration::from_secs(config.tcp_idle_secs));
        let mut udp = None;
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
        // TCP and TLS listeners are bound here and served by our own accept
        // loops ([`super::listener`]), with the limits of [`super::limits`].
        let bind_error = |transport, addr| {
            move |source| SipError::Bind {
                transport,
                addr,
                source,
            }
        };
        let mut tcp_listener = None;
        if config.transports.contains(&TransportKind::Tcp) {
            let addr = config.listen;
            let listener = if addr.port() == 0 {
                // Port 0: share the UDP port number when it is free for TCP
                // too (peers expect one port for both), else any free port.
                match udp.and_then(|u| bind_stream(SocketAddr::new(addr.ip(), u.port())).ok()) {
                    Some(l) => l,
                    None => bind_stream(addr).map_err(bind_error(TransportKind::Tcp, addr))?,
                }
            } else {
                bind_stream(addr).map_err(bind_error(TransportKind::Tcp, addr))?
            };
            let bound = listener
                .local_addr()
                .map_err(bind_error(TransportKind::Tcp, addr))?;
            tcp_listener = Some((listener, bound));
        }
        let tcp = tcp_listener.as_ref().map(|(_, a)| *a);
        let tls_material = config.tls_material()?;
        let tls_client = tls_client_config(tls_material.ca.as_deref());
        set_tls_trust(&transport_layer, tls_material.ca.clone());
        let mut tls_listener = None;
        if let (Some(listen), Some((cert, key))) = (config.tls_listen, &tls_material.identity) {
            let acceptor = tls_acceptor(cert, key)?;
            let listener = bind_stream(listen).map_err(bind_error(TransportKind::Tls, listen))?;
            let bound = listener
                .local_addr()
                .map_err(bind_error(TransportKind::Tls, listen))?;
            tls_listener = Some((listener, bound, acceptor));
        }
        let tls = tls_listener.as_ref().map(|(_, a, _)| *a);

        let acl = config.acl()?;
        let plan = plan_descriptors(
            descriptor_soft_limit(),
            acl.total_max_calls(),
            config.max_connections,
            config.max_connections_per_address,
        );
        let streams = Arc::new(StreamLimits::new(
            plan.max_connections,
            plan.max_per_address,
            Duration::from_secs(config.first_request_secs),
        ));
        if tcp.is_some() || tls.is_some() {
            let soft = descriptor_soft_limit();
            if plan.lowered {
                warn!(
                    configured = config.max_connections,
                    allowed = plan.max_connections,
                    descriptor_limit = soft,
                    reserved_for_calls = plan.for_calls,
                    "sip.max_connections lowered to fit the file descriptor limit; raise LimitNOFILE"
                );
            }
            info!(
                max_connections = plan.max_connections,
                max_connections_per_address = plan.max_per_address,
                first_request_secs = config.first_request_secs,
                idle_secs = config.tcp_idle_secs,
                descriptor_limit = soft,
                descriptors_for_calls = plan.for_calls,
                descriptors_reserved = super::limits::DESCRIPTOR_RESERVE,
                "SIP over TCP/TLS limits"
            );
        }

        let option = EndpointOption {
            callid_suffix: Some("faxbridge".into()),
            ..Default::default()
        };
        let endpoint = EndpointBuilder::new()
            .with_user_agent(&config.user_agent)
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport_layer)
            .with_transport_inspector(Box::new(RequestScreen {
                streams: streams.clone(),
            }))
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
            acl,
            router: std::sync::RwLock::new(Arc::new(config.fax_router())),
            registrar: std::sync::RwLock::new(None),
            nonces: NonceIssuer::new(rand::random(), config.nonce_lifetime_secs),
            nonce_counts: Mutex::new(NonceCounts::new(NONCE_COUNT_CAPACITY)),
            call_slots: Arc::new(Mutex::new(CallTable::new())),
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
        // The stack starts accept loops for the listeners it lists when
        // `serve` is first polled; ours are listed after that.
        let (polled_tx, polled_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(FirstPoll::new(
            async move { endpoint.serve().await },
            polled_tx,
        ));
        let _ = polled_rx.await;
        let stream_addr = |kind: Transport, bound: SocketAddr| {
            SipAddr::new(kind, external(bound.port()).unwrap_or(bound).into())
        };
        register_listeners(
            &stack.transport_layer,
            tcp.map(|a| stream_addr(Transport::Tcp, a)),
            tls.map(|a| stream_addr(Transport::Tls, a)),
        )
        .await?;
        if let Some((listener, bound)) = tcp_listener {
            tokio::spawn(serve_stream_listener(
                listener,
                None,
                StreamServe {
                    stack: stack.clone(),
                    limits: streams.clone(),
                    local: stream_addr(Transport::Tcp, bound),
                    cancel: cancel.child_token(),
                },
            ));
        }
        if let Some((listener, bound, acceptor)) = tls_listener {
            tokio::spawn(serve_stream_listener(
                listener,
                Some(acceptor),
                StreamServe {
                    stack: stack.clone(),
                    limits: streams.clone(),
                    local: stream_addr(Transport::Tls, bound),
                    cancel: cancel.child_token(),
                },
            ));
        }
        tokio::spawn(serve_requests(shared.clone(), incoming));
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
                        && invite_must_wait(&dialog.state(), answered_by_us(&dialog)) =>
                {
                    tokio::spawn(invite_after_the_previous(dialog, tx));
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

/// We answered the dialog's initial INVITE (we are its UAS).
fn answered_by_us(dialog: &rsipstack::dialog::dialog::Dialog) -> bool {
    matches!(dialog, rsipstack::dialog::dialog::Dialog::Invite(d)
        if d.role() == TransactionRole::Server)
}

/// How long an in-dialog INVITE that finds the dialog's previous INVITE
/// still in progress waits for it to complete before it is refused.
///
/// The ACK that completes a 2xx is applied to the dialog by the previous
/// INVITE's own transaction task, while a new INVITE comes in on the
/// endpoint's queue: a far end that sends its next re-INVITE as soon as it
/// has acknowledged the last one (as RFC 3261 §14.1 lets it) would race
/// that task and get a needless 500. Shorter than T1 (500 ms), so a UDP
/// client does not retransmit meanwhile.
const PREVIOUS_INVITE_GRACE: Duration = Duration::from_millis(250);

/// An INVITE in a dialog whose previous INVITE looked in progress
/// ([`invite_must_wait`]): handled as usual once that INVITE completes
/// within [`PREVIOUS_INVITE_GRACE`], else refused with 500
/// ([`refuse_early_invite`]).
async fn invite_after_the_previous(
    mut dialog: rsipstack::dialog::dialog::Dialog,
    mut tx: Transaction,
) {
    let server = answered_by_us(&dialog);
    let deadline = tokio::time::Instant::now() + PREVIOUS_INVITE_GRACE;
    while invite_must_wait(&dialog.state(), server) {
        if tokio::time::Instant::now() >= deadline {
            return refuse_early_invite(tx).await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if let Err(e) = dialog.handle(&mut tx).await {
        debug!(error = %e, "in-dialog request failed");
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
    let request_uri = tx.original.uri.to_string();
    let verdict = {
        let mut counts = shared
            .nonce_counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        shared.acl.judge(
            source.ip(),
            AuthAttempt {
                method: &method_name,
                request_uri: &request_uri,
                credentials: credentials.as_ref(),
            },
            DigestState {
                realm: &shared.realm,
                nonces: &shared.nonces,
                counts: &mut counts,
                now_secs: now_secs(),
            },
        )
    };
    // Where an INVITE goes is decided before admission: an emergency call
    // from an ATA unit goes ahead whatever the peer list or digest say.
    let decision = (method == Method::Invite).then(|| {
        let peer = match &verdict {
            Verdict::Admit(a) => Some(a.name()),
            _ => None,
        };
        decide(&shared, &tx.original, source, peer)
    });
    let (admitted, admitted_as) = match verdict {
        Verdict::Admit(a) => (a.name().to_string(), Some(a)),
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
            (format!("unit {unit}"), None)
        }
        Verdict::Forbid(why) => {
            match why {
                ForbidReason::UnknownSource => {
                    info!(%source, %method, "request from unknown source refused")
                }
                ForbidReason::AccountSource => {
                    warn!(%source, %method, user = credentials.as_ref().map(|c| c.username.as_str()).unwrap_or(""), "digest account used from outside its sources refused")
                }
            }
            let _ = tx.reply(StatusCode::Forbidden).await;
            return;
        }
        Verdict::Challenge { stale } => {
            let nonce = shared.nonces.issue(now_secs(), rand::random());
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
            on_invite(shared, tx, admitted, admitted_as, source, did, decision).await
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
    let (weekday, minute) = crate::clock::local_weekday_minute();
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

/// A call slot of a peer or account ([`CallTable`]), given back when the
/// call ends.
struct CallSlot {
    table: Arc<Mutex<CallTable<Admitted>>>,
    key: Admitted,
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .release(&self.key);
    }
}

/// Takes a call slot of the peer or account `admitted_as` for a call with
/// `decision`. `Ok(None)`: the call takes none (an emergency call, or an
/// emergency admission without a peer); `Err(limit)`: the peer has
/// `limit` calls in progress already.
fn take_call_slot(
    shared: &Shared,
    admitted_as: Option<&Admitted>,
    decision: &Decision,
) -> Result<Option<CallSlot>, u32> {
    if matches!(decision, Decision::Emergency(_)) {
        return Ok(None);
    }
    let Some(key) = admitted_as else {
        return Ok(None);
    };
    let Some(limit) = shared.acl.max_calls(key) else {
        return Ok(None);
    };
    let taken = shared
        .call_slots
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .try_acquire(key, limit);
    if taken {
        Ok(Some(CallSlot {
            table: shared.call_slots.clone(),
            key: key.clone(),
        }))
    } else {
        Err(limit)
    }
}

async fn on_invite(
    shared: Arc<Shared>,
    mut tx: Transaction,
    peer: String,
    admitted_as: Option<Admitted>,
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
    // A flood of INVITEs from one admitted peer must not take every fax
    // channel: beyond its limit, 503 with Retry-After (RFC 3261 §21.5.4).
    let slot = match take_call_slot(&shared, admitted_as.as_ref(), &decision) {
        Ok(slot) => slot,
        Err(limit) => {
            stats::count(&stats::CALLS_REFUSED);
            warn!(%source, %peer, limit, "call refused: the peer has its limit of calls in progress (sip max_calls)");
            let mut headers = refusal_headers(503, "too many calls in progress from this peer");
            headers.push(Header::RetryAfter(
                PEER_BUSY_RETRY_AFTER_SECS.to_string().into(),
            ));
            let _ = tx
                .reply_with(StatusCode::ServiceUnavailable, headers, None)
                .await;
            return;
        }
    };
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
    let task = CallTask {
        handle: handle.clone(),
        states: state_rx,
        events: events_tx,
        progress: None,
        registry: registry.clone(),
        answer_timeout: shared.answer_timeout,
    };
    tokio::spawn(async move {
        task.run().await;
        // The peer's call slot is free once the dialog has ended.
        drop(slot);
    });
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

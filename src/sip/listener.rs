//! Listening sockets with the screening of [`super::wire`] in front.
//!
//! UDP datagrams pass through [`ScreenedUdpSocket`] before the stack parses
//! them: malformed requests with a `Via` are answered `400 Bad Request` to
//! their source address (RFC 3581 symmetric response), the rest dropped. On
//! TCP the stack frames messages itself; [`RequestScreen`] checks each parsed
//! request there and answers 400 on the same connection. A TCP stream whose
//! framing breaks is closed by the stack: after a framing error the next
//! message boundary cannot be found (RFC 3261 §18.3).
//!
//! SIP over TLS (RFC 3261 §26.2, RFC 5630) gets its own listener,
//! [`add_tls`]: the stack frames TLS streams like TCP ones, so the same
//! [`RequestScreen`] covers them. Outgoing TLS connections (`sips:` targets
//! and `;transport=tls`) verify the far end's certificate against
//! `sip.tls_ca`; in-dialog requests then ride the connection the dialog
//! started on (RFC 5923 connection reuse), so a caller without a TLS
//! listener of its own still receives the far end's BYE.

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::platform::net::UdpSocket as StackUdpSocket;
use rsipstack::sip::{SipMessage, Transport};
use rsipstack::transaction::endpoint::TransportEventInspector;
use rsipstack::transaction::make_tag;
use rsipstack::transport::{TlsConfig, TlsListenerConnection, TransportEvent, TransportLayer};
use tracing::{debug, info};

use super::config::{TlsMaterial, TransportKind};
use super::endpoint::SipError;

use super::wire::{Screening, bad_request, screen_datagram, validate_request};

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
pub(crate) struct RequestScreen;

#[async_trait::async_trait]
impl TransportEventInspector for RequestScreen {
    async fn handle(&self, event: TransportEvent) -> Option<TransportEvent> {
        let TransportEvent::Incoming(SipMessage::Request(req), connection, from) = event else {
            return Some(event);
        };
        let Err(reason) = validate_request(&req) else {
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

/// Accepts any server certificate. Used only by [`wait_tls_listening`],
/// which talks to our own listener and sends nothing over the connection.
#[derive(Debug)]
struct OwnListener(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for OwnListener {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Where to reach our own listener bound at `addr`: loopback of the same
/// family when it is bound to the unspecified address.
pub(crate) fn probe_address(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        let ip: std::net::IpAddr = if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        SocketAddr::new(ip, addr.port())
    } else {
        addr
    }
}

/// Waits until our TLS listener at `addr` completes a handshake. The stack
/// binds it in the background; a whole handshake (not a bare TCP connect,
/// which the stack would log as a failed handshake) proves it serves.
pub(crate) async fn wait_tls_listening(addr: SocketAddr) -> Result<(), SipError> {
    let probe = probe_address(addr);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| SipError::Stack(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(OwnListener(provider)))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::IpAddress(probe.ip().into());
    let mut last = None;
    for _ in 0..200 {
        match tokio::net::TcpStream::connect(probe).await {
            Ok(tcp) => match connector.connect(name.clone(), tcp).await {
                Ok(mut stream) => {
                    use tokio::io::AsyncWriteExt;
                    let _ = stream.shutdown().await;
                    return Ok(());
                }
                Err(e) => last = Some(e),
            },
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Err(SipError::Bind {
        transport: TransportKind::Tls,
        addr,
        source: last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AddrInUse)),
    })
}

/// Sets up SIP over TLS on `layer`: trust anchors for outgoing connections
/// always, and a listener on `listen` when the material has a certificate.
/// Returns the bound listener address. The stack binds the listener when it
/// starts serving, so the port is checked here (a busy port is a start-up
/// error, not a log line) and port 0 is resolved to a free port.
pub(crate) async fn add_tls(
    layer: &TransportLayer,
    listen: Option<SocketAddr>,
    external_ip: Option<std::net::IpAddr>,
    material: TlsMaterial,
) -> Result<Option<SocketAddr>, SipError> {
    layer.set_tls_config(TlsConfig {
        ca_certs: material.ca,
        ..TlsConfig::default()
    });
    let (Some(listen), Some((cert, key))) = (listen, material.identity) else {
        return Ok(None);
    };
    let bind_error = |source| SipError::Bind {
        transport: TransportKind::Tls,
        addr: listen,
        source,
    };
    // Binding and dropping also proves the port is free now.
    let addr = std::net::TcpListener::bind(listen)
        .and_then(|l| l.local_addr())
        .map_err(bind_error)?;
    let external = external_ip.map(|ip| SocketAddr::new(ip, addr.port()));
    let conn = TlsListenerConnection::new(
        addr,
        external,
        TlsConfig {
            cert: Some(cert),
            key: Some(key),
            ..TlsConfig::default()
        },
    )
    .await?;
    layer.add_transport(conn.into());
    Ok(Some(addr))
}

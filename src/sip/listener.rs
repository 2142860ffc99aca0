//! Listening sockets with the screening of [`super::wire`] in front.
//!
//! UDP datagrams pass through [`ScreenedUdpSocket`] before the stack parses
//! them: malformed requests with a `Via` are answered `400 Bad Request` to
//! their source address (RFC 3581 symmetric response), the rest dropped. On
//! TCP the stack frames messages itself; [`RequestScreen`] checks each parsed
//! request there and answers 400 on the same connection. A TCP stream whose
//! framing breaks is closed by the stack: after a framing error the next
//! message boundary cannot be found (RFC 3261 §18.3).

use std::net::SocketAddr;
use std::sync::Arc;

use rsipstack::platform::net::UdpSocket as StackUdpSocket;
use rsipstack::sip::SipMessage;
use rsipstack::transaction::endpoint::TransportEventInspector;
use rsipstack::transaction::make_tag;
use rsipstack::transport::TransportEvent;
use tracing::{debug, info};

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

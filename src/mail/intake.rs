//! SMTP listener for email-to-fax: the site's mail relay forwards
//! `number@fax-domain` mail here.
//!
//! The listener speaks SMTP; what is accepted is decided by a
//! [`MailHandler`] (the intake pipeline), asked at each step so that
//! refusals happen at SMTP time with a reason, never by a silent drop.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::intake::Refusal;

/// `[intake.smtp]`: the SMTP listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Address to listen on; unset: no SMTP listener.
    pub listen: Option<SocketAddr>,
}

/// What the listener knows about the client when it asks the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The client's address.
    pub peer: SocketAddr,
    /// The name given in EHLO/HELO.
    pub helo: String,
    /// Whether the session runs under TLS (STARTTLS done).
    pub tls: bool,
    /// The user name the client authenticated as (SMTP AUTH), if any.
    pub authenticated: Option<String>,
}

/// One message as received: envelope and raw RFC 5322 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The envelope sender (MAIL FROM), empty for the null sender `<>`.
    pub mail_from: String,
    /// The envelope recipients (RCPT TO) the handler accepted, in order.
    pub recipients: Vec<String>,
    /// The message exactly as received (dot-unstuffed, CRLF line ends),
    /// with the listener's `Received:` header prepended.
    pub data: Vec<u8>,
}

/// What the handler did with an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Ids of the fax jobs queued (one per recipient).
    pub jobs: Vec<String>,
}

/// The decisions the SMTP listener asks for; implemented by the intake
/// pipeline. Each refusal becomes the SMTP reply (its code, enhanced code
/// and reason).
#[async_trait::async_trait]
pub trait MailHandler: Send + Sync + 'static {
    /// MAIL FROM: may this sender send, from this client?
    async fn check_sender(&self, session: &SessionInfo, mail_from: &str) -> Result<(), Refusal>;
    /// RCPT TO: is this a fax address we can dial for this sender?
    async fn check_recipient(
        &self,
        session: &SessionInfo,
        mail_from: &str,
        recipient: &str,
    ) -> Result<(), Refusal>;
    /// End of DATA: render and queue, or refuse the whole message. Only
    /// return `Ok` once every job is committed to the store.
    async fn accept(
        &self,
        session: &SessionInfo,
        message: ReceivedMessage,
    ) -> Result<Accepted, Refusal>;
}

//! SMTP listener for email-to-fax: the site's mail relay forwards
//! `number@fax-domain` mail here.

use std::net::SocketAddr;

use serde::Deserialize;

/// `[intake.smtp]`: the SMTP listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Address to listen on; unset: no SMTP listener.
    pub listen: Option<SocketAddr>,
}

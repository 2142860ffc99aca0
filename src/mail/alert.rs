//! Alerts by mail: one message per alert to every `[alerts] to` mailbox,
//! queued in the durable outbox so that an alert raised while the relay is
//! down still arrives.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, SinglePart};
use tracing::{error, info};

use super::outbox::{Outbox, OutgoingMessage};
use crate::alert::Alerts;
use crate::problem::Problem;

/// The outbox `kind` of alert mails.
const KIND: &str = "alert";

/// [`Alerts`] that log at ERROR and mail `[alerts] to` through the outbox.
#[derive(Clone)]
pub struct MailAlerts {
    outbox: Option<Outbox>,
    to: Arc<Vec<Mailbox>>,
    seq: Arc<AtomicU64>,
}

impl MailAlerts {
    /// Alerts to `to` (already checked by [`problems`]; unreadable entries
    /// are skipped) through `outbox`; `None`: the log only.
    pub fn new(outbox: Option<Outbox>, to: &[String]) -> MailAlerts {
        MailAlerts {
            outbox,
            to: Arc::new(to.iter().filter_map(|t| t.parse().ok()).collect()),
            seq: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Alerts for MailAlerts {
    fn alert(&self, subject: &str, body: &str) {
        crate::alert::count();
        error!("ALERT: {subject}: {body}");
        let Some(outbox) = self.outbox.clone() else {
            return;
        };
        if self.to.is_empty() {
            return;
        }
        let now = SystemTime::now();
        let stamp = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0);
        let key = format!("{stamp}.{}", self.seq.fetch_add(1, Ordering::Relaxed));
        let to = self.to.clone();
        let subject = format!("faxbridge ALERT: {subject}");
        let body =
            format!("{body}\n\nThis alert was raised at once; the daemon's log has the details.\n");
        // Queueing writes and fsyncs; the caller may be a call's task.
        tokio::spawn(async move {
            for (n, mailbox) in to.iter().enumerate() {
                let key = format!("{key}.{n}");
                let message = lettre::Message::builder()
                    .from(outbox.sender().clone())
                    .to(mailbox.clone())
                    .subject(&subject)
                    .date(now)
                    .message_id(Some(format!("<{}>", outbox.message_id(KIND, &key))))
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("Auto-Submitted"),
                        "auto-generated".to_string(),
                    ))
                    .singlepart(SinglePart::plain(body.clone()));
                let message = match message {
                    Ok(m) => m.formatted(),
                    Err(e) => {
                        error!(to = %mailbox, "alert mail not built: {e}");
                        continue;
                    }
                };
                match outbox
                    .enqueue_message(&OutgoingMessage {
                        kind: KIND,
                        key: &key,
                        recipient: mailbox.email.as_ref(),
                        bytes: &message,
                    })
                    .await
                {
                    Ok(_) => info!(to = %mailbox, %subject, "alert mail queued"),
                    Err(e) => error!(to = %mailbox, "alert mail not queued: {e}"),
                }
            }
        });
    }
}

impl crate::problem::Validate for crate::alert::AlertsConfig {
    fn problems(&self) -> Vec<Problem> {
        problems(&self.to)
    }
}

/// Every `[alerts] to` entry that is not a mailbox.
pub fn problems(to: &[String]) -> Vec<Problem> {
    to.iter()
        .enumerate()
        .filter(|(_, t)| t.parse::<Mailbox>().is_err())
        .map(|(i, t)| {
            Problem::new(
                format!("alerts.to[{i}]"),
                format!("{t:?} is not a mail address"),
                "write e.g. \"Telephony <telephony@example.org>\"",
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn recipients_are_checked() {
        assert!(super::problems(&["Ops <ops@example.org>".into(), "a@b.c".into()]).is_empty());
        let p = super::problems(&["ops".into()]);
        assert_eq!(p[0].key, "alerts.to[0]");
    }
}

//! Live flags from bridged calls, and the alert when a flag is new.
//!
//! When a bridged call ends, the daemon hands [`observe_call`] what it
//! knows: the ATA port the call came from or went to (from the inventory),
//! the call's times, the dialled number, and the classifier's verdict. The
//! pure [`super::evaluate_call`] decides which flags the call raises; they
//! are recorded with their evidence ([`ComplianceStore::record_observations`]).
//!
//! Only confident findings reach finance ([`FlagEvidence::alerts_finance`]):
//! facts (a `pdq` port, an acquirer number, an unencrypted payments port)
//! and modem handshakes with a signature (medium or high confidence). A
//! call the classifier only *suspects* (a lone tone) raises no flag and no
//! mail; it stays in the call history with its verdict, confidence and
//! signals, where the report lists it as suspected.
//!
//! A flag seen for the first time (a new ATA, port and reason) is alerted
//! at once, besides the periodic finance digest ([`super::digest`]): an
//! error line in the log, and one mail per call listing its new findings
//! to every `[compliance.finance_digest] to` address, queued in the
//! durable outbox under the key `<first new flag id>.<recipient index>`.
//! A flag is new only once, and queueing the same key again finds the
//! message already queued, so a second observation never mails twice.
//! Later calls on a flagged line only add evidence. The flag is committed
//! before its mail is queued: a crash between the two leaves that finding
//! to the periodic digest, which lists every open flag.
//!
//! The alert carries what the report carries (port, ATA, building, call
//! times, the matched acquirer number, signals heard, requirements), never
//! card data or audio: the classifier keeps band energies, and the only
//! digits are a dialled number that matched a configured acquirer prefix.

use std::time::{Duration, SystemTime};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, SinglePart};
use tracing::{error, info};

use super::report::format_utc;
use super::store::{CallEvidence, ComplianceStore, ComplianceStoreError, Recorded};
use super::{CallFacts, ComplianceConfig, FinanceDigest, FlagEvidence, PortFacts, evaluate_call};
use crate::ata::Inventory;
use crate::mail::outbox::{Outbox, OutgoingMessage};
use crate::media::classifier::{Classification, Direction};
use crate::routing::{Decision, PortRef};

/// Outbox kind of new-flag alert messages.
pub const KIND: &str = "pci-alert";

/// Why a call's flags could not be recorded or alerted.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The flags could not be stored.
    #[error(transparent)]
    Store(#[from] ComplianceStoreError),
    /// A recipient is not a mail address.
    #[error(
        "[compliance.finance_digest] to: {0:?} is not a mail address; write e.g. \
         \"finance@example.org\""
    )]
    Recipient(String),
    /// The message could not be built or queued.
    #[error(
        "queueing the PCI-DSS alert for flag {flag}: {reason}; the flag is recorded, \
             see `faxbridge pci report`"
    )]
    Mail {
        /// The flag alerted on.
        flag: String,
        /// What went wrong.
        reason: String,
    },
}

/// What recording one call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Every flag the call raised (new or not), in evaluation order.
    pub flags: Vec<Recorded>,
    /// Alert messages newly queued.
    pub alerts_queued: usize,
}

/// Record the flags one finished bridged call raises, alert on the new
/// ones, and add the call to the call history (with the classifier's
/// verdict, whatever it is). `outbox` is `None` when mail is not available
/// (the flags are still recorded and logged).
pub async fn observe_call(
    store: &ComplianceStore,
    cfg: &ComplianceConfig,
    outbox: Option<&Outbox>,
    call_id: &str,
    port: &PortFacts,
    call: &CallFacts,
    classification: Option<&Classification>,
) -> Result<Observed, AlertError> {
    let evidence = evaluate_call(port, call, classification, cfg);
    let recorded = if evidence.is_empty() {
        Vec::new()
    } else {
        store.record_observations(&evidence).await?
    };
    let new: Vec<(&str, &FlagEvidence)> = recorded
        .iter()
        .zip(&evidence)
        .filter(|(r, e)| r.new && e.alerts_finance())
        .map(|(r, e)| (r.id.as_str(), e))
        .collect();
    for (id, e) in &new {
        error!(
            flag = %id, ata = %e.ata, port = %e.port, building = %e.building,
            reason = %e.reason,
            requirements = %e.reason.requirements().iter().map(|q| q.id).collect::<Vec<_>>().join(" "),
            "PCI-DSS ALERT: new finding: {}", e.reason.description()
        );
    }
    store
        .record_call(&call_evidence(
            call_id,
            port,
            call,
            classification,
            &recorded,
        ))
        .await?;
    let alerts_queued = match outbox {
        Some(outbox) if !new.is_empty() => queue_alert(&cfg.finance_digest, outbox, &new).await?,
        _ => 0,
    };
    Ok(Observed {
        flags: recorded,
        alerts_queued,
    })
}

/// The call-history row of one call on one port.
fn call_evidence(
    call_id: &str,
    port: &PortFacts,
    call: &CallFacts,
    classification: Option<&Classification>,
    flags: &[Recorded],
) -> CallEvidence {
    let mut flags: Vec<String> = flags.iter().map(|r| r.id.clone()).collect();
    flags.dedup();
    let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    CallEvidence {
        call_id: call_id.to_string(),
        ata: port.ata.clone(),
        port: port.port.clone(),
        building: port.building.clone(),
        started_ms: call.started_at_ms,
        ended_ms: call.ended_at_ms,
        label: classification.map_or_else(|| "not analysed".into(), |c| c.verdict()),
        confidence: classification
            .map(|c| c.confidence.as_str().to_string())
            .unwrap_or_default(),
        speech_ms: classification.map_or(0, |c| ms(c.speech_ms)),
        analysed_ms: classification.map_or(0, |c| ms(c.analysed_ms)),
        signals: classification
            .map(|c| c.evidence.clone())
            .unwrap_or_default(),
        flags,
    }
}

/// The ATA ports a bridged call involves, each with the number it dialled
/// (empty for the port that was rung), from the bridge's routing decision
/// for the call and the inventory. Calls that reach no port (refused, or
/// for faxbridge's own fax reception) involve none.
///
/// `encrypted` is false: the bridge relays plain RTP (no SRTP), so no
/// bridged call is protected on the ATA side.
pub fn ports_of_call(inventory: &Inventory, decision: &Decision) -> Vec<(PortFacts, String)> {
    let mut refs: Vec<(&PortRef, String)> = Vec::new();
    match decision {
        Decision::ToTrunk(t) => refs.push((&t.from, t.number.clone())),
        Decision::Emergency(e) => refs.extend(e.from.as_ref().map(|p| (p, e.dialled.clone()))),
        Decision::ToPort(p) => {
            refs.extend(p.from.as_ref().map(|f| (f, p.did.clone())));
            refs.push((&p.to, String::new()));
        }
        Decision::Fax(_) | Decision::Refuse(_) => {}
    }
    refs.into_iter()
        .map(|(r, dialled)| {
            let config = inventory.port_by_user(&r.unit, &r.sip_user);
            let building = inventory
                .units()
                .iter()
                .find(|u| u.name == r.unit)
                .map(|u| u.building.clone())
                .unwrap_or_default();
            let facts = PortFacts {
                ata: r.unit.clone(),
                port: config
                    .map(|c| c.line_id())
                    .unwrap_or_else(|| format!("Port{}", r.port)),
                building,
                role: r.role.as_str().to_string(),
                takes_payments: config.is_some_and(|c| c.takes_payments),
                encrypted: false,
            };
            (facts, dialled)
        })
        .collect()
}

/// After a bridged call ended (`(start, end)` in ms since the Unix
/// epoch): record, alert and add to the call history for every port it
/// involved ([`ports_of_call`]). Failures are logged, never fatal: the
/// call is over either way.
pub async fn observe_bridged_call(
    store: &ComplianceStore,
    cfg: &ComplianceConfig,
    outbox: Option<&Outbox>,
    call_id: &str,
    ports: &[(PortFacts, String)],
    (started_at_ms, ended_at_ms): (i64, i64),
    classification: Option<&Classification>,
) {
    for (port, dialled) in ports {
        let call = CallFacts {
            started_at_ms,
            ended_at_ms,
            dialled: dialled.clone(),
            encrypted: false,
        };
        match observe_call(store, cfg, outbox, call_id, port, &call, classification).await {
            Ok(o) if !o.flags.is_empty() => info!(
                ata = %port.ata, port = %port.port,
                flags = %o.flags.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(" "),
                alerts = o.alerts_queued,
                "PCI-DSS evidence recorded for a bridged call"
            ),
            Ok(_) => {}
            Err(e) => {
                error!(ata = %port.ata, port = %port.port, "PCI-DSS evidence not recorded: {e}")
            }
        }
    }
}

/// The facts of every port in the inventory, for
/// [`super::evaluate_inventory`]. `encrypted` is false, as for bridged
/// calls (the bridge relays plain RTP).
pub fn inventory_ports(inventory: &Inventory) -> Vec<PortFacts> {
    inventory
        .units()
        .iter()
        .flat_map(|u| {
            inventory.ports_of(&u.name).into_iter().map(|p| PortFacts {
                ata: u.name.clone(),
                port: p.line_id(),
                building: u.building.clone(),
                role: p.role.as_str().to_string(),
                takes_payments: p.takes_payments,
                encrypted: false,
            })
        })
        .collect()
}

/// At start: flag every port the inventory lists with role `pdq`
/// ([`super::Reason::RolePdq`]), without waiting for it to carry a call.
/// Flags are created only where absent
/// ([`ComplianceStore::record_if_absent`]), so a restart adds no evidence
/// and alerts on nothing it alerted on before; a newly listed `pdq` port
/// is alerted at once, one message per port.
pub async fn observe_inventory(
    store: &ComplianceStore,
    cfg: &ComplianceConfig,
    outbox: Option<&Outbox>,
    inventory: &Inventory,
    now_ms: i64,
) -> Result<Observed, AlertError> {
    let evidence = super::evaluate_inventory(&inventory_ports(inventory), now_ms);
    if evidence.is_empty() {
        return Ok(Observed::default());
    }
    let recorded = store.record_if_absent(&evidence).await?;
    let mut alerts_queued = 0;
    for (r, e) in recorded.iter().zip(&evidence).filter(|(r, _)| r.new) {
        error!(
            flag = %r.id, ata = %e.ata, port = %e.port, building = %e.building,
            reason = %e.reason,
            requirements = %e.reason.requirements().iter().map(|q| q.id).collect::<Vec<_>>().join(" "),
            "PCI-DSS ALERT: new finding: {}", e.reason.description()
        );
        if let Some(outbox) = outbox {
            alerts_queued +=
                queue_alert(&cfg.finance_digest, outbox, &[(r.id.as_str(), e)]).await?;
        }
    }
    Ok(Observed {
        flags: recorded,
        alerts_queued,
    })
}

/// Queue the alert for the new flags of one call (`(flag id, evidence)`,
/// at least one) to every finance recipient. Returns how many messages
/// were newly queued (0 when no recipient is configured or they were
/// queued before).
pub async fn queue_alert(
    cfg: &FinanceDigest,
    outbox: &Outbox,
    new: &[(&str, &FlagEvidence)],
) -> Result<usize, AlertError> {
    let Some(&(flag_id, first)) = new.first() else {
        return Ok(0);
    };
    let (subject, body) = alert_text(new);
    let mut queued = 0;
    for (n, to) in cfg.to.iter().enumerate() {
        let mailbox: Mailbox = to.parse().map_err(|_| AlertError::Recipient(to.clone()))?;
        let key = format!("{flag_id}.{n}");
        let mail_err = |reason: String| AlertError::Mail {
            flag: flag_id.to_string(),
            reason,
        };
        let message = lettre::Message::builder()
            .from(outbox.sender().clone())
            .to(mailbox.clone())
            .subject(&subject)
            .date(SystemTime::UNIX_EPOCH + Duration::from_millis(first.at_ms.max(0) as u64))
            .message_id(Some(format!("<{}>", outbox.message_id(KIND, &key))))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_string(),
            ))
            .singlepart(SinglePart::plain(body.clone()))
            .map_err(|x| mail_err(x.to_string()))?
            .formatted();
        let new = outbox
            .enqueue_message(&OutgoingMessage {
                kind: KIND,
                key: &key,
                recipient: mailbox.email.as_ref(),
                bytes: &message,
            })
            .await
            .map_err(|x| mail_err(x.to_string()))?;
        if new {
            queued += 1;
            info!(to = %mailbox, flag = %flag_id, "PCI-DSS new-finding alert queued");
        }
    }
    Ok(queued)
}

/// Subject and plain-text body of the alert for the new flags of one
/// call (all on the same port). Pure.
pub fn alert_text(new: &[(&str, &FlagEvidence)]) -> (String, String) {
    let mut b = String::new();
    let Some((_, first)) = new.first() else {
        return (String::new(), b);
    };
    let subject = format!(
        "PCI-DSS alert: card payments on analogue line {} port {} ({})",
        first.ata, first.port, first.building
    );
    b.push_str(
        "faxbridge found a new reason to believe an analogue telephone line carries card \
         payments over VoIP, which PCI-DSS does not accept. No card data or call audio is \
         stored.\n\n",
    );
    let line = |b: &mut String, k: &str, v: &str| b.push_str(&format!("{k:<13}{v}\n"));
    line(&mut b, "Building:", &first.building);
    line(&mut b, "ATA:", &first.ata);
    line(&mut b, "Port:", &first.port);
    line(&mut b, "First seen:", &format_utc(first.at_ms));
    if let Some((start, end)) = first.call {
        let call = format!(
            "{} to {} ({} s)",
            format_utc(start),
            format_utc(end),
            (end - start).max(0) / 1000
        );
        line(&mut b, "Call:", &call);
    }
    for (id, e) in new {
        b.push_str(&format!("\nFinding {id}: {}\n", e.reason.description()));
        line(&mut b, "  Detail:", &e.detail);
        if let Some(n) = &e.number {
            line(&mut b, "  Dialled:", n);
        }
        if let Some(c) = e.confidence {
            b.push_str(&format!("  Confidence: {c} (handshake signature)\n"));
        }
        if !e.signals.is_empty() {
            b.push_str("  Signals heard (time from the start of the call):\n");
            for s in &e.signals {
                let from = match s.direction {
                    Direction::CallerToCallee => "from the calling side",
                    Direction::CalleeToCaller => "from the called side",
                };
                b.push_str(&format!(
                    "    +{}.{} s  {}, {from}, for {}.{} s\n",
                    s.at_ms / 1000,
                    s.at_ms % 1000 / 100,
                    s.signal.description(),
                    s.duration_ms / 1000,
                    s.duration_ms % 1000 / 100
                ));
            }
        }
        b.push_str("  PCI-DSS requirements concerned:\n");
        for q in e.reason.requirements() {
            b.push_str(&format!("    {}: {}\n", q.id, q.explanation));
        }
    }
    b.push_str(&format!(
        "\nThis mail is sent once per finding; later calls on the line are added to its \
         evidence. The full report is `faxbridge pci report` or the PCI page of the web \
         interface; acknowledge with `faxbridge pci ack FLAG_ID --by NAME --note TEXT`, \
         e.g. `faxbridge pci ack {} ...`.\n",
        new[0].0
    ));
    (subject, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::Reason;
    use crate::media::classifier::{Evidence, Signal};

    fn evidence() -> FlagEvidence {
        FlagEvidence {
            ata: "shop-ata".into(),
            port: "2".into(),
            building: "Shop 1".into(),
            reason: Reason::ModemHandshake,
            at_ms: 1_764_070_000_000,
            call: Some((1_764_070_000_000, 1_764_070_031_000)),
            number: None,
            signals: vec![Evidence {
                signal: Signal::Bell2225,
                direction: Direction::CalleeToCaller,
                at_ms: 2_400,
                duration_ms: 1_500,
            }],
            confidence: Some(crate::media::classifier::Confidence::High),
            detail: "classifier: data modem (Bell 212A), high confidence (handshake signature)"
                .into(),
        }
    }

    fn inventory() -> Inventory {
        use crate::ata::{BuildingConfig, PortConfig, PortRole, SnmpOverride, UnitConfig};
        let unit = UnitConfig {
            name: "shop-ata".into(),
            address: "192.0.2.10".parse().unwrap(),
            model: String::new(),
            building: "Shop 1".into(),
            firmware: None,
            snmp: SnmpOverride::default(),
        };
        let port = |number, sip_user: &str, role, takes_payments| PortConfig {
            unit: "shop-ata".into(),
            number,
            line: None,
            sip_user: sip_user.into(),
            role,
            owner: String::new(),
            takes_payments,
            hot_dial: None,
            warm_dial: None,
        };
        let buildings = [BuildingConfig {
            name: "Shop 1".into(),
            subnets: vec!["192.0.2.0/24".into()],
            emergency_cli: "+441632960999".into(),
        }];
        Inventory::new(
            &[unit],
            &[
                port(1, "3001", PortRole::Pdq, true),
                port(2, "3002", PortRole::Phone, false),
            ],
            &buildings,
        )
    }

    #[test]
    fn ports_come_from_the_routing_decision() {
        use crate::numbering::policy::{LocalTime, Weekday};
        use crate::routing::{BridgeConfig, CallRequest, LineConfig, Router};
        let inv = inventory();
        let dialplan = crate::numbering::DialPlan::default();
        let bridge = BridgeConfig {
            lines: vec![LineConfig {
                unit: "shop-ata".into(),
                port: 2,
                number: "+441632960402".into(),
                cli: None,
            }],
            ..BridgeConfig::default()
        };
        let router = Router::new(
            inv.clone(),
            dialplan,
            bridge,
            &[],
            None,
            "sip:{number}@192.0.2.1",
            &[],
        );
        let plan = |peer, source: &str, from_user, called| {
            let d = router.decide(&CallRequest {
                source: source.parse().unwrap(),
                peer: Some(peer),
                from_user,
                called,
                now: LocalTime {
                    weekday: Weekday::Mon,
                    minute: 600,
                },
            });
            ports_of_call(&inv, &d)
        };
        // The card terminal dials out: its port, with the number dialled.
        let out = plan("ata", "192.0.2.10", "3001", "08009123456");
        assert_eq!(out.len(), 1);
        let (p, dialled) = &out[0];
        assert_eq!(
            (p.ata.as_str(), p.port.as_str(), p.building.as_str()),
            ("shop-ata", "Port1", "Shop 1")
        );
        assert_eq!(
            (p.role.as_str(), p.takes_payments, p.encrypted),
            ("pdq", true, false)
        );
        assert_eq!(dialled, "08009123456");
        // A trunk call to a line: the port rung, nothing dialled.
        let inbound = plan("trunk", "198.51.100.1", "01632960300", "+441632960402");
        assert_eq!(inbound.len(), 1);
        assert_eq!(
            (inbound[0].0.port.as_str(), inbound[0].1.as_str()),
            ("Port2", "")
        );
        // Port to port: both ends.
        let both = plan("ata", "192.0.2.10", "3001", "+441632960402");
        let ports: Vec<(&str, &str)> = both
            .iter()
            .map(|(p, d)| (p.port.as_str(), d.as_str()))
            .collect();
        assert_eq!(ports, [("Port1", "+441632960402"), ("Port2", "")]);
        // Refused: none.
        assert!(plan("ata", "203.0.113.9", "9999", "0123").is_empty());
    }

    #[test]
    fn alert_names_the_line_the_signals_and_the_requirements() {
        let modem = evidence();
        let mut number = evidence();
        number.reason = Reason::AcquirerNumber;
        number.number = Some("0800912345".into());
        number.signals.clear();
        let (subject, body) = alert_text(&[("pci-0123456789ab", &modem)]);
        assert!(subject.contains("shop-ata port 2 (Shop 1)"), "{subject}");
        for want in [
            "Finding pci-0123456789ab: a card-terminal modem handshake",
            "Building:    Shop 1",
            "2025-11-25 11:26:40Z to 2025-11-25 11:27:11Z (31 s)",
            "+2.4 s  Bell 212A modem answer tone (2225 Hz), from the called side, for 1.5 s",
            "4.2.1: ",
            "12.5.2: ",
            "faxbridge pci ack pci-0123456789ab",
            "  Confidence: high",
        ] {
            assert!(body.contains(want), "missing {want:?} in:\n{body}");
        }
        assert!(!body.contains("Dialled:"), "no number unless it matched");
        let (_, body) = alert_text(&[("pci-1", &modem), ("pci-2", &number)]);
        assert!(body.contains("Finding pci-2: the line dialled"), "{body}");
        assert!(body.contains("  Dialled:   0800912345"), "{body}");
        assert_eq!(alert_text(&[]).0, "");
    }
}

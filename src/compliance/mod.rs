//! PCI-DSS guard: which analogue lines carry card payments, with evidence.
//!
//! An analogue card terminal (PDQ) dialling its acquirer through an ATA and
//! VoIP sends cardholder data over a network PCI-DSS does not accept for it
//! (a modem call in G.711 is not strong cryptography). faxbridge cannot stop
//! that, but it can find such lines and keep the evidence a finance team
//! needs to move them to an IP or cellular terminal. A line is flagged when:
//!
//! * its port role is `pdq` in the inventory ([`Reason::RolePdq`]);
//! * the call classifier heard a data-modem handshake *signature* on it
//!   ([`Reason::ModemHandshake`], see [`crate::media::classifier`]): an
//!   answer tone followed by the modems training, or a V.29/V.27ter
//!   training outside a fax call, with medium or high confidence. A lone
//!   tone or band (980 Hz, 2225 Hz, a second of carrier) makes the call
//!   only *suspected*: it is kept in the call history and listed in the
//!   report as suspected, never flagged and never alerted;
//! * it dialled a number starting with a configured acquirer or
//!   authorisation prefix ([`Reason::AcquirerNumber`]);
//! * a port marked as taking payments carried a call without SIP TLS and
//!   SRTP ([`Reason::UnencryptedPayments`]).
//!
//! Each flag keeps port, ATA, building, call times, the matching number,
//! the signals heard and how sure the classifier was, first and last seen,
//! and the PCI-DSS requirements concerned. Never card data, never audio: the only digits stored are the
//! dialled number that matched an acquirer prefix, and free text (notes)
//! is refused when it contains anything that passes the Luhn check of a
//! card number ([`pan`]).
//!
//! Flags can be acknowledged (who, when, note) but never deleted: the store
//! has no delete path, and every acknowledgement is kept as history.
//!
//! [`evaluate_call`] and [`evaluate_inventory`] are pure; [`store`] keeps
//! flags in the database; [`report`] renders CSV, JSON, HTML and the
//! finance digest; [`alert`] records the flags of each finished bridged
//! call and alerts at once on a new one.

pub mod alert;
pub mod digest;
pub mod pan;
pub mod report;
pub mod store;

use serde::{Deserialize, Serialize};

use crate::media::classifier::{Classification, Confidence, Evidence};
use crate::problem::{Problem, Validate};

pub use store::{
    Acknowledgement, CallEvidence, ComplianceStore, ComplianceStoreError, Flag, FlagEvidenceRecord,
    Recorded, SuspectedLine,
};

/// `[compliance]`: the PCI-DSS guard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {
    /// Dialled-number prefixes of card acquirers and authorisation centres
    /// (digits, optionally a leading `+`), e.g. `["08009", "+441268"]`. A
    /// call to a number starting with one of them flags its line.
    pub acquirer_prefixes: Vec<String>,
    /// Who receives the periodic digest of flagged lines.
    pub finance_digest: FinanceDigest,
}

/// `[compliance.finance_digest]`: the periodic mail to finance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinanceDigest {
    /// Mailboxes; empty for no digest.
    pub to: Vec<String>,
    /// Hours between digests (1–720).
    pub interval_hours: u32,
}

impl Default for FinanceDigest {
    fn default() -> Self {
        FinanceDigest {
            to: Vec::new(),
            interval_hours: 24,
        }
    }
}

impl ComplianceConfig {
    /// The configured prefix `number` starts with, if any. Separators
    /// (spaces, dashes, dots, brackets) in the dialled number are ignored.
    pub fn matching_prefix(&self, number: &str) -> Option<&str> {
        let n = normalise_number(number);
        self.acquirer_prefixes
            .iter()
            .find(|p| !p.is_empty() && n.starts_with(&normalise_number(p)))
            .map(String::as_str)
    }
}

impl Validate for ComplianceConfig {
    /// Every value that cannot work.
    fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for (i, p) in self.acquirer_prefixes.iter().enumerate() {
            let digits = p.strip_prefix('+').unwrap_or(p);
            if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                out.push(Problem {
                    key: format!("compliance.acquirer_prefixes[{i}]"),
                    problem: format!("`{p}` is not a number prefix of at least 3 digits"),
                    fix: "write digits with an optional leading +, e.g. \"08009\"".into(),
                });
            }
        }
        for (i, to) in self.finance_digest.to.iter().enumerate() {
            let ok = to
                .rsplit_once('@')
                .is_some_and(|(l, d)| !l.trim().is_empty() && d.contains('.') || d == "localhost");
            if !ok {
                out.push(Problem {
                    key: format!("compliance.finance_digest.to[{i}]"),
                    problem: format!("`{to}` is not a mail address"),
                    fix: "write e.g. \"finance@example.org\"".into(),
                });
            }
        }
        if !(1..=720).contains(&self.finance_digest.interval_hours) {
            out.push(Problem {
                key: "compliance.finance_digest.interval_hours".into(),
                problem: format!("{} is out of range", self.finance_digest.interval_hours),
                fix: "use 1 to 720 hours, e.g. 24 for a daily digest".into(),
            });
        }
        out
    }
}

use crate::numbering::dial_digits as normalise_number;

/// A PCI-DSS v4.0 requirement a flag concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// Requirement number, e.g. `4.2.1`.
    pub id: &'static str,
    /// What it asks, in plain English.
    pub explanation: &'static str,
}

/// PCI-DSS 4.2.1: strong cryptography for card data over open networks.
pub const REQ_4_2_1: Requirement = Requirement {
    id: "4.2.1",
    explanation: "Card data sent over public or shared networks must be protected with strong \
                  encryption; a card terminal's modem call carried as ordinary VoIP audio is not.",
};
/// PCI-DSS 9.5.1: card-reading devices are inventoried and protected.
pub const REQ_9_5_1: Requirement = Requirement {
    id: "9.5.1",
    explanation: "Card terminals (POI devices) must be listed, checked and protected against \
                  tampering or substitution; this line has one attached.",
};
/// PCI-DSS 12.5.2: the cardholder-data scope is documented and confirmed.
pub const REQ_12_5_2: Requirement = Requirement {
    id: "12.5.2",
    explanation: "Every place card data flows must be in the documented PCI-DSS scope; this \
                  telephone line carries card payments and must be included or removed.",
};

/// Why a line is flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The inventory gives the port the role `pdq`.
    RolePdq,
    /// The classifier heard a data-modem (card terminal) handshake.
    ModemHandshake,
    /// The line dialled a configured acquirer/authorisation number.
    AcquirerNumber,
    /// A port that takes payments carried a call without SIP TLS and SRTP.
    UnencryptedPayments,
}

impl Reason {
    /// Every reason, in report order.
    pub const ALL: [Reason; 4] = [
        Reason::RolePdq,
        Reason::ModemHandshake,
        Reason::AcquirerNumber,
        Reason::UnencryptedPayments,
    ];

    /// Stable identifier, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::RolePdq => "role_pdq",
            Reason::ModemHandshake => "modem_handshake",
            Reason::AcquirerNumber => "acquirer_number",
            Reason::UnencryptedPayments => "unencrypted_payments",
        }
    }

    /// Parse [`Reason::as_str`].
    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The reason in plain English.
    pub fn description(self) -> &'static str {
        match self {
            Reason::RolePdq => "port is registered as a card terminal (PDQ) line",
            Reason::ModemHandshake => "a card-terminal modem handshake was heard on the line",
            Reason::AcquirerNumber => "the line dialled a card acquirer / authorisation number",
            Reason::UnencryptedPayments => {
                "a line that takes payments carried a call without encryption (no SIP TLS/SRTP)"
            }
        }
    }

    /// The PCI-DSS requirements concerned.
    pub fn requirements(self) -> &'static [Requirement] {
        match self {
            Reason::RolePdq => &[REQ_9_5_1, REQ_12_5_2],
            Reason::ModemHandshake => &[REQ_4_2_1, REQ_12_5_2],
            Reason::AcquirerNumber => &[REQ_4_2_1, REQ_12_5_2],
            Reason::UnencryptedPayments => &[REQ_4_2_1],
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the bridge knows about the ATA port of a call (filled from the
/// inventory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFacts {
    /// ATA name or identifier.
    pub ata: String,
    /// Port on the ATA (e.g. `FXS1`).
    pub port: String,
    /// Building the ATA is in.
    pub building: String,
    /// Port role from the inventory (`pdq` marks a card terminal line).
    pub role: String,
    /// The port is marked as taking card payments.
    pub takes_payments: bool,
    /// The port's calls use SIP over TLS and SRTP.
    pub encrypted: bool,
}

/// One call on a port, as the bridge saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFacts {
    /// Answer (or start) time, ms since the Unix epoch.
    pub started_at_ms: i64,
    /// End time, ms since the Unix epoch.
    pub ended_at_ms: i64,
    /// The number the line dialled (empty for incoming calls).
    pub dialled: String,
    /// This call used SIP TLS and SRTP end to end on the ATA side.
    pub encrypted: bool,
}

/// One observation that flags a line, ready to [`ComplianceStore::record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagEvidence {
    /// ATA.
    pub ata: String,
    /// Port.
    pub port: String,
    /// Building.
    pub building: String,
    /// Why.
    pub reason: Reason,
    /// When it was observed, ms since the Unix epoch.
    pub at_ms: i64,
    /// The call's start and end, when the observation comes from a call.
    pub call: Option<(i64, i64)>,
    /// The dialled number, only when it matched an acquirer prefix.
    pub number: Option<String>,
    /// Signals the classifier heard (times relative to the call start).
    pub signals: Vec<Evidence>,
    /// How sure the classifier was, for a modem handshake (`None` for the
    /// other reasons, which are facts).
    pub confidence: Option<Confidence>,
    /// One line of context in plain English.
    pub detail: String,
}

impl FlagEvidence {
    /// Whether this observation may alert finance: every reason that is a
    /// fact (the inventory, a dialled number, an unencrypted payments
    /// port), and a modem handshake only with a signature (medium or high
    /// confidence). A suspected modem never does.
    pub fn alerts_finance(&self) -> bool {
        match self.reason {
            Reason::ModemHandshake => self.confidence.is_some_and(|c| c >= Confidence::Medium),
            Reason::RolePdq | Reason::AcquirerNumber | Reason::UnencryptedPayments => true,
        }
    }
}

fn base(port: &PortFacts, reason: Reason, at_ms: i64, detail: String) -> FlagEvidence {
    FlagEvidence {
        ata: port.ata.clone(),
        port: port.port.clone(),
        building: port.building.clone(),
        reason,
        at_ms,
        call: None,
        number: None,
        signals: Vec::new(),
        confidence: None,
        detail,
    }
}

/// Whether a port role names a card terminal line.
fn is_pdq(role: &str) -> bool {
    role.trim().eq_ignore_ascii_case("pdq")
}

/// The flags one finished call raises. Pure: no I/O, no clock.
pub fn evaluate_call(
    port: &PortFacts,
    call: &CallFacts,
    classification: Option<&Classification>,
    cfg: &ComplianceConfig,
) -> Vec<FlagEvidence> {
    let mut out = Vec::new();
    let times = Some((call.started_at_ms, call.ended_at_ms));
    let mut push = |mut e: FlagEvidence| {
        e.call = times;
        out.push(e);
    };
    if is_pdq(&port.role) {
        push(base(
            port,
            Reason::RolePdq,
            call.started_at_ms,
            "call on a port registered as a card terminal line".into(),
        ));
    }
    // Only a handshake signature is a finding; a suspected modem (a lone
    // tone or band) stays in the call history.
    if let Some(c) = classification.filter(|c| c.is_finding()) {
        let mut e = base(
            port,
            Reason::ModemHandshake,
            call.started_at_ms,
            format!(
                "classifier: {}, {} confidence (handshake signature)",
                c.label, c.confidence
            ),
        );
        e.signals = c.evidence.clone();
        e.confidence = Some(c.confidence);
        push(e);
    }
    if let Some(prefix) = cfg.matching_prefix(&call.dialled) {
        let mut e = base(
            port,
            Reason::AcquirerNumber,
            call.started_at_ms,
            format!("dialled number matches acquirer prefix {prefix}"),
        );
        e.number = Some(normalise_number(&call.dialled));
        push(e);
    }
    if port.takes_payments && !(port.encrypted && call.encrypted) {
        push(base(
            port,
            Reason::UnencryptedPayments,
            call.started_at_ms,
            "call on a payments port without SIP TLS and SRTP".into(),
        ));
    }
    out
}

/// The flags the inventory alone raises: every port whose role is `pdq`.
pub fn evaluate_inventory(ports: &[PortFacts], now_ms: i64) -> Vec<FlagEvidence> {
    ports
        .iter()
        .filter(|p| is_pdq(&p.role))
        .map(|p| {
            base(
                p,
                Reason::RolePdq,
                now_ms,
                "inventory lists the port with role pdq".into(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::classifier::{Confidence, Direction, Label, ModemKind, Signal};

    fn port(role: &str, takes_payments: bool, encrypted: bool) -> PortFacts {
        PortFacts {
            ata: "ata-shop1".into(),
            port: "FXS2".into(),
            building: "Shop 1".into(),
            role: role.into(),
            takes_payments,
            encrypted,
        }
    }

    fn cfg() -> ComplianceConfig {
        ComplianceConfig {
            acquirer_prefixes: vec!["08009".into(), "+441268".into()],
            ..ComplianceConfig::default()
        }
    }

    fn call(dialled: &str) -> CallFacts {
        CallFacts {
            started_at_ms: 1_000,
            ended_at_ms: 31_000,
            dialled: dialled.into(),
            encrypted: false,
        }
    }

    fn modem() -> Classification {
        Classification {
            label: Label::DataModem {
                kind: ModemKind::V22,
            },
            confidence: Confidence::High,
            evidence: vec![Evidence {
                signal: Signal::V22Carrier1200,
                direction: Direction::CallerToCallee,
                at_ms: 4000,
                duration_ms: 2000,
            }],
            speech_ms: 0,
            analysed_ms: 30_000,
            vetoed: 0,
        }
    }

    #[test]
    fn each_reason_is_raised_by_its_own_fact() {
        let reasons = |p: &PortFacts, c: &CallFacts, cl: Option<&Classification>| {
            evaluate_call(p, c, cl, &cfg())
                .into_iter()
                .map(|e| e.reason)
                .collect::<Vec<_>>()
        };
        let plain = port("phone", false, false);
        assert!(reasons(&plain, &call("01632960000"), None).is_empty());
        assert_eq!(
            reasons(&port("PDQ", false, false), &call(""), None),
            [Reason::RolePdq]
        );
        assert_eq!(
            reasons(&plain, &call(""), Some(&modem())),
            [Reason::ModemHandshake]
        );
        // A suspected modem (no signature) is no finding.
        let suspected = Classification {
            confidence: Confidence::Low,
            ..modem()
        };
        assert!(reasons(&plain, &call(""), Some(&suspected)).is_empty());
        let e = evaluate_call(&plain, &call(""), Some(&modem()), &cfg());
        assert_eq!(e[0].confidence, Some(Confidence::High));
        assert!(e[0].detail.contains("high confidence"), "{}", e[0].detail);
        assert_eq!(
            reasons(&plain, &call("0800 9123 456"), None),
            [Reason::AcquirerNumber]
        );
        assert_eq!(
            reasons(&port("phone", true, false), &call(""), None),
            [Reason::UnencryptedPayments]
        );
        assert!(
            reasons(
                &port("phone", true, true),
                &CallFacts {
                    encrypted: true,
                    ..call("")
                },
                None
            )
            .is_empty()
        );
    }

    #[test]
    fn only_the_matching_number_is_kept() {
        let e = evaluate_call(
            &port("phone", false, false),
            &call("+44 1268 555 000"),
            None,
            &cfg(),
        );
        assert_eq!(e[0].number.as_deref(), Some("+441268555000"));
        let e = evaluate_call(
            &port("pdq", false, false),
            &call("01632960000"),
            None,
            &cfg(),
        );
        assert_eq!(e[0].number, None);
        assert_eq!(e[0].call, Some((1_000, 31_000)));
    }

    #[test]
    fn only_confident_findings_alert_finance() {
        let mut e = base(
            &port("phone", false, false),
            Reason::ModemHandshake,
            0,
            String::new(),
        );
        for (confidence, alerts) in [
            (None, false),
            (Some(Confidence::Low), false),
            (Some(Confidence::Medium), true),
            (Some(Confidence::High), true),
        ] {
            e.confidence = confidence;
            assert_eq!(e.alerts_finance(), alerts, "{confidence:?}");
        }
        for reason in [
            Reason::RolePdq,
            Reason::AcquirerNumber,
            Reason::UnencryptedPayments,
        ] {
            e.reason = reason;
            e.confidence = None;
            assert!(e.alerts_finance(), "{reason:?}");
        }
    }

    #[test]
    fn requirements_are_mapped() {
        let ids = |r: Reason| r.requirements().iter().map(|q| q.id).collect::<Vec<_>>();
        assert_eq!(ids(Reason::RolePdq), ["9.5.1", "12.5.2"]);
        assert_eq!(ids(Reason::ModemHandshake), ["4.2.1", "12.5.2"]);
        assert_eq!(ids(Reason::UnencryptedPayments), ["4.2.1"]);
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn inventory_flags_pdq_ports_only() {
        let ports = [port("pdq", true, false), port("fax", false, false)];
        let e = evaluate_inventory(&ports, 5);
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].reason, e[0].at_ms, e[0].call),
            (Reason::RolePdq, 5, None)
        );
    }

    #[test]
    fn config_problems_name_the_key() {
        assert!(cfg().problems().is_empty());
        let bad = ComplianceConfig {
            acquirer_prefixes: vec!["08x".into()],
            finance_digest: FinanceDigest {
                to: vec!["finance".into()],
                interval_hours: 0,
            },
        };
        let keys: Vec<_> = bad.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "compliance.acquirer_prefixes[0]",
                "compliance.finance_digest.to[0]",
                "compliance.finance_digest.interval_hours"
            ]
        );
    }
}

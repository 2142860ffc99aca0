//! The analogue bridge: a back-to-back user agent between the FXS ports of
//! Mediatrix ATAs and the SIP trunk.
//!
//! A call from a port goes to the trunk (or to one of faxbridge's own
//! fax-to-email numbers, so a physical fax machine can send to email); a
//! call from the trunk to a port's number rings that port. 999 and 112 go to
//! the trunk at once from any port, with the emergency caller ID of the
//! building the ATA stands in, and are never refused.
//!
//! * [`plan`]: the routing decision for one INVITE, a pure function of the
//!   request and the configuration ([`plan::Planner::plan`]).
//! * [`dial`]: hot dial (Mediatrix "Automatic Call") and warm dial
//!   (Mediatrix "Delayed Hotline"): which number an off-hook port calls.
//! * [`media`]: the session descriptions each party is shown (the relay's
//!   addresses) and where each party receives; which relay mode fits.
//! * [`call`]: the signalling state machine of a bridged call: progress,
//!   failures, CANCEL, BYE and re-INVITEs from one leg to the other.
//! * [`relay`]: the media task of a bridged call: RTP and UDPTL forwarded
//!   untouched between the two legs, each taken only from the party that
//!   signalled it, with the call classifier listening.
//!
//! * [`b2bua`]: the task that drives one bridged call on the SIP endpoint
//!   with the parts above.

pub mod b2bua;
pub mod call;
pub mod dial;
pub mod media;
pub mod plan;
pub mod relay;

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

use crate::config::Problem;

/// `[bridge]`: the numbers of the bridged ports and how the bridge presents
/// calls.
///
/// ```toml
/// [bridge]
/// trunk_peer = "trunk"              # the [[sip.peers]] name of the trunk
/// default_cli = "+441632960100"     # presented for ports without a number
/// warm_dial_marker = "warm"         # Request-URI user of Delayed Hotline calls
/// ata_sip_port = 5060               # where the ATAs listen for INVITEs
///
/// [[bridge.lines]]
/// unit = "ho-ata-1"                 # an [[ata.units]] name
/// port = 1                          # its [[ata.ports]] number
/// number = "+441632960201"          # trunk calls to this number ring the port
/// # cli = "+441632960200"           # presented instead of `number`
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BridgeConfig {
    /// The `[[sip.peers]]` name INVITEs from the trunk are admitted as;
    /// every other source is treated as an ATA port.
    pub trunk_peer: String,
    /// Caller ID presented on trunk calls from ports that have no number
    /// of their own (and on emergency calls from a subnet without a
    /// building, so that the operator at least sees a callable number).
    pub default_cli: Option<String>,
    /// The Request-URI user a Mediatrix port sends when its Delayed
    /// Hotline fires (see [`dial`]); configure it as the unit's Delayed
    /// Hotline target.
    pub warm_dial_marker: String,
    /// UDP port the ATAs receive SIP on, for calls from the trunk to a port.
    pub ata_sip_port: u16,
    /// `[[bridge.lines]]`: the public number of each bridged port.
    pub lines: Vec<LineConfig>,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            trunk_peer: "trunk".to_string(),
            default_cli: None,
            warm_dial_marker: dial::DEFAULT_WARM_DIAL_MARKER.to_string(),
            ata_sip_port: 5060,
            lines: Vec::new(),
        }
    }
}

/// Bridged calls in this process, from the INVITE until both legs ended.
static ACTIVE_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Bridged calls in progress in this process (ringing or connected): the
/// dashboard and `/metrics` show them beside the fax calls.
pub fn active_calls() -> usize {
    ACTIVE_CALLS.load(Ordering::Relaxed)
}

/// Counts one bridged call in [`active_calls`] for as long as it lives.
#[derive(Debug)]
pub struct ActiveCall(());

impl ActiveCall {
    /// Count a call that has just arrived.
    pub fn start() -> ActiveCall {
        ACTIVE_CALLS.fetch_add(1, Ordering::Relaxed);
        ActiveCall(())
    }
}

impl Drop for ActiveCall {
    fn drop(&mut self) {
        ACTIVE_CALLS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `[[bridge.lines]]`: the number of one ATA port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// The unit's name (`[[ata.units]] name`).
    pub unit: String,
    /// The port's number on the unit (`[[ata.ports]] number`).
    pub port: u32,
    /// The port's public number (DID): trunk calls to it ring the port,
    /// and it is the caller ID of the port's calls unless `cli` is set.
    pub number: String,
    /// Caller ID presented on the port's calls instead of `number`.
    #[serde(default)]
    pub cli: Option<String>,
}

/// A string a telephone network accepts as a number: digits, `*`, `#` and
/// an optional leading `+`.
pub(crate) fn dialable(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
}

impl BridgeConfig {
    /// Every value that cannot work, each naming its key; `ata` is the
    /// inventory the lines refer to.
    pub fn problems(&self, ata: &crate::ata::AtaConfig) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key: String, problem: String, fix: &str| {
            out.push(Problem {
                key,
                problem,
                fix: fix.to_string(),
            })
        };
        if let Some(cli) = &self.default_cli
            && !dialable(cli)
        {
            bad(
                "bridge.default_cli".into(),
                format!("{cli:?} is not a dialable number"),
                "write the number to present, e.g. \"+441632960100\"",
            );
        }
        if self.trunk_peer.trim().is_empty() {
            bad(
                "bridge.trunk_peer".into(),
                "is empty".into(),
                "write the name of the trunk's [[sip.peers]] entry, e.g. \"trunk\"",
            );
        }
        if !dial::valid_marker(&self.warm_dial_marker) {
            bad(
                "bridge.warm_dial_marker".into(),
                format!(
                    "{:?} cannot be told apart from dialled digits",
                    self.warm_dial_marker
                ),
                "use a word with at least one letter, e.g. \"warm\"",
            );
        }
        if self.ata_sip_port == 0 {
            bad(
                "bridge.ata_sip_port".into(),
                "is 0".into(),
                "write the SIP port of the ATAs (5060 on Mediatrix units)",
            );
        }
        let mut numbers = std::collections::BTreeMap::new();
        let mut ports = std::collections::BTreeSet::new();
        for (i, l) in self.lines.iter().enumerate() {
            let key = format!("bridge.lines[{i}]");
            if !ata
                .ports
                .iter()
                .any(|p| p.unit == l.unit && p.number == l.port)
            {
                bad(
                    format!("{key}.port"),
                    format!(
                        "port {} of unit {:?} is not in [[ata.ports]]",
                        l.port, l.unit
                    ),
                    "add the port to [[ata.ports]] or correct unit and port",
                );
            }
            if !ports.insert((l.unit.as_str(), l.port)) {
                bad(
                    format!("{key}.port"),
                    format!("port {} of unit {:?} is listed twice", l.port, l.unit),
                    "give each port one [[bridge.lines]] entry",
                );
            }
            if !dialable(&l.number) {
                bad(
                    format!("{key}.number"),
                    format!("{:?} is not a dialable number", l.number),
                    "write the port's public number, e.g. \"+441632960201\"",
                );
            } else if let Some(other) = numbers.insert(plan::digits_key(&l.number), i) {
                bad(
                    format!("{key}.number"),
                    format!("{:?} is also the number of bridge.lines[{other}]", l.number),
                    "each number rings one port; remove or change one",
                );
            }
            if let Some(cli) = &l.cli
                && !dialable(cli)
            {
                bad(
                    format!("{key}.cli"),
                    format!("{cli:?} is not a dialable number"),
                    "write the caller ID to present, e.g. \"+441632960200\"",
                );
            }
        }
        out
    }

    /// The line entry of one port.
    pub fn line(&self, unit: &str, port: u32) -> Option<&LineConfig> {
        self.lines.iter().find(|l| l.unit == unit && l.port == port)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn active_calls_count_while_their_guard_lives() {
        // No unit test bridges calls, so the count starts at zero here.
        let before = super::active_calls();
        let a = super::ActiveCall::start();
        let b = super::ActiveCall::start();
        assert_eq!(super::active_calls(), before + 2);
        drop(a);
        assert_eq!(super::active_calls(), before + 1);
        drop(b);
        assert_eq!(super::active_calls(), before);
    }

    use super::*;
    use crate::ata::{AtaConfig, PortConfig, PortRole};

    fn ata() -> AtaConfig {
        AtaConfig {
            ports: vec![PortConfig {
                unit: "a1".into(),
                number: 1,
                line: None,
                sip_user: "2001".into(),
                role: PortRole::Fax,
                owner: String::new(),
                takes_payments: false,
                hot_dial: None,
                warm_dial: None,
            }],
            ..AtaConfig::default()
        }
    }

    #[test]
    fn empty_section_is_valid_and_parses() {
        let c: BridgeConfig = toml::from_str("").unwrap();
        assert_eq!(c, BridgeConfig::default());
        assert!(c.problems(&ata()).is_empty());
        let c: BridgeConfig = toml::from_str(
            "default_cli = \"+441632960100\"\n[[lines]]\nunit = \"a1\"\nport = 1\nnumber = \"+441632960201\"\n",
        )
        .unwrap();
        assert!(c.problems(&ata()).is_empty());
        assert_eq!(c.line("a1", 1).unwrap().number, "+441632960201");
        assert!(toml::from_str::<BridgeConfig>("unknown = 1").is_err());
    }

    #[test]
    fn problems_name_their_keys() {
        let line = |unit: &str, port, number: &str| LineConfig {
            unit: unit.into(),
            port,
            number: number.into(),
            cli: Some("desk".into()),
        };
        let c = BridgeConfig {
            trunk_peer: " ".into(),
            default_cli: Some("reception".into()),
            warm_dial_marker: "123".into(),
            ata_sip_port: 0,
            lines: vec![
                line("a1", 1, "+441632960201"),
                line("a1", 1, "+441632960201"),
                line("ghost", 2, "20x1"),
            ],
        };
        let keys: Vec<String> = c.problems(&ata()).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "bridge.default_cli",
                "bridge.trunk_peer",
                "bridge.warm_dial_marker",
                "bridge.ata_sip_port",
                "bridge.lines[0].cli",
                "bridge.lines[1].port",
                "bridge.lines[1].number",
                "bridge.lines[1].cli",
                "bridge.lines[2].port",
                "bridge.lines[2].number",
                "bridge.lines[2].cli",
            ]
        );
    }
}

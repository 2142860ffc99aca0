//! `[bridge]`: the numbers of the bridged ports, how their calls are
//! presented, which numbers are emergency numbers, and the toll-fraud
//! policy of the ports. Read by the router ([`super::Router`]); the bridge
//! only carries out what the router decided.

use serde::Deserialize;

use super::dial;
use crate::numbering::dialable;
use crate::numbering::policy::PolicyConfig;
use crate::problem::Problem;

/// `[bridge]`: the numbers of the bridged ports and how the bridge presents
/// calls.
///
/// ```toml
/// [bridge]
/// trunk_peer = "trunk"              # the [[sip.peers]] name of the trunk
/// default_cli = "+441632960100"     # presented for ports without a number
/// warm_dial_marker = "warm"         # Request-URI user of Delayed Hotline calls
/// ata_sip_port = 5060               # where the ATAs listen for INVITEs
/// emergency_numbers = ["911"]       # besides 999 and 112
///
/// [bridge.policy]                   # toll-fraud rules for calls from ports
/// international = false
/// max_calls_per_hour = 120
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
    /// Emergency numbers besides 999 and 112 (`["911"]` for North
    /// America): from any port they go to the trunk at once, with the
    /// building's emergency caller ID, whatever else applies.
    pub emergency_numbers: Vec<String>,
    /// `[bridge.policy]`: the toll-fraud rules for calls from ports.
    pub policy: PolicyConfig,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            trunk_peer: "trunk".to_string(),
            default_cli: None,
            warm_dial_marker: dial::DEFAULT_WARM_DIAL_MARKER.to_string(),
            ata_sip_port: 5060,
            lines: Vec::new(),
            emergency_numbers: Vec::new(),
            policy: PolicyConfig::default(),
        }
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
            } else if let Some(other) = numbers.insert(crate::numbering::digits_key(&l.number), i) {
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
        for (i, n) in self.emergency_numbers.iter().enumerate() {
            if !n.bytes().all(|b| b.is_ascii_digit()) || !(2..=6).contains(&n.len()) {
                bad(
                    format!("bridge.emergency_numbers[{i}]"),
                    format!("{n:?} is not an emergency short code"),
                    "write the digits dialled, e.g. \"911\" (999 and 112 are always emergency numbers)",
                );
            }
        }
        let ports: Vec<String> = ata
            .ports
            .iter()
            .map(|p| crate::numbering::policy::port_key(&p.unit, p.number))
            .collect();
        let roles: Vec<&str> = crate::ata::PortRole::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        out.extend(self.policy.problems("bridge.policy", &roles, &ports));
        out
    }

    /// The line entry of one port.
    pub fn line(&self, unit: &str, port: u32) -> Option<&LineConfig> {
        self.lines.iter().find(|l| l.unit == unit && l.port == port)
    }
}

#[cfg(test)]
mod tests {
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
            emergency_numbers: vec!["911".into(), "9-1-1".into()],
            policy: toml::from_str("[ports.\"a1/9\"]").unwrap(),
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
                "bridge.emergency_numbers[1]",
                "bridge.policy.ports.\"a1/9\"",
            ]
        );
    }
}

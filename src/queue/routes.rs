//! Which way a job's calls go: straight to an ATA port, or out through the
//! trunk.
//!
//! A fax to the number of one of our own analogue ports (`[[bridge.lines]]`)
//! must not leave the building: through the trunk it would be charged twice,
//! depend on the carrier, and come back as a trunk call the bridge then
//! rings through to the port. So when a job's number is a port's number the
//! job is queued on [`Route::Ata`] and dialled at the port itself, as the
//! bridge rings it: at the contact the port registered (RFC 3261 §10), else
//! at `sip:<sip_user>@<unit address>:<[bridge] ata_sip_port>`; without the
//! trunk's digest account. An FXS port carries one call, so such a route allows one call at
//! a time ([`super::QueueConfig::max_calls`]) and is not counted against the
//! trunk's limit. Retries and the fallback ladder are the same as for any
//! job.
//!
//! Numbers are compared in the forms the dial plan gives them: E.164 when
//! it can read the number, the bare digits, and the digits read as a
//! national significant number (a trunk format without the prefix), so
//! `01632 960201`, `+44 1632 960201` and `1632960201` all find the port
//! whose number is `+441632960201`. [`Routes`] is a pure table built once
//! from the configuration.
//!
//! The trunk is optional: a site whose only fax machines are on its ATAs
//! sends to them without `[outgoing] uri`. A number that is not a port's
//! then has nowhere to go, and [`Routes::sendable`] refuses it with
//! [`NoTrunk`] when it is submitted, rather than queueing a job no call can
//! carry.

use std::net::SocketAddr;

use super::Route;
use super::worker::OutgoingConfig;
use crate::ata::AtaConfig;
use crate::numbering::DialPlan;
use crate::routing::BridgeConfig;

/// One ATA port reachable directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtaLine {
    /// `unit:port`, the name of its [`Route::Ata`].
    name: String,
    /// The forms of the port's number, for comparison.
    keys: Vec<String>,
    /// The unit's name (`[[ata.units]] name`).
    pub unit: String,
    /// The port's SIP user, under which it registers.
    pub sip_user: String,
    /// The Request-URI that rings the port when it has not registered:
    /// `[bridge] ata_sip_port` of its unit's address.
    pub target: String,
}

/// A number that is not an ATA port's, with no trunk to reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no trunk configured: set [outgoing] uri")]
pub struct NoTrunk;

/// The routing table of outgoing jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    trunk: Route,
    /// Whether `[outgoing] uri` is set.
    has_trunk: bool,
    lines: Vec<AtaLine>,
    dialplan: DialPlan,
}

impl Routes {
    /// The table of `[outgoing]` (the trunk), `[bridge]` lines, the ATA
    /// inventory (unit addresses and port SIP users) and the dial plan.
    /// Lines whose unit or port is not in the inventory are left out (the
    /// configuration check reports them).
    pub fn new(
        outgoing: &OutgoingConfig,
        bridge: &BridgeConfig,
        ata: &AtaConfig,
        dialplan: &DialPlan,
    ) -> Routes {
        let lines = bridge
            .lines
            .iter()
            .filter_map(|l| {
                let unit = ata.units.iter().find(|u| u.name == l.unit)?;
                let port = ata
                    .ports
                    .iter()
                    .find(|p| p.unit == l.unit && p.number == l.port)?;
                Some(AtaLine {
                    name: format!("{}:{}", l.unit, l.port),
                    keys: dialplan.match_keys(&l.number),
                    unit: l.unit.clone(),
                    sip_user: port.sip_user.clone(),
                    target: format!(
                        "sip:{}@{}",
                        port.sip_user,
                        SocketAddr::new(unit.address, bridge.ata_sip_port)
                    ),
                })
            })
            .collect();
        Routes {
            trunk: outgoing.route(),
            has_trunk: outgoing.enabled(),
            lines,
            dialplan: dialplan.clone(),
        }
    }

    /// The route a job to `number` is queued on: the ATA port whose
    /// number it is, else the trunk.
    pub fn route_for(&self, number: &str) -> Route {
        let keys = self.dialplan.match_keys(number);
        self.lines
            .iter()
            .find(|l| l.keys.first().is_some_and(|k| keys.contains(k)))
            .map_or_else(|| self.trunk.clone(), |l| Route::Ata(l.name.clone()))
    }

    /// The route a job to `number` is queued on, or [`NoTrunk`] when that
    /// would be the trunk and `[outgoing] uri` is not set.
    pub fn sendable(&self, number: &str) -> Result<Route, NoTrunk> {
        match self.route_for(number) {
            Route::Trunk(_) if !self.has_trunk => Err(NoTrunk),
            route => Ok(route),
        }
    }

    /// Whether any job can be sent: through the trunk, or to at least one
    /// port dialled directly. Without either, outgoing faxes are off.
    pub fn can_send(&self) -> bool {
        self.has_trunk || !self.lines.is_empty()
    }

    /// The port of the ATA route named `name` (`unit:port`).
    pub fn ata_line(&self, name: &str) -> Option<&AtaLine> {
        self.lines.iter().find(|l| l.name == name)
    }

    /// The Request-URI of the ATA route named `name` when the port has not
    /// registered.
    pub fn ata_target(&self, name: &str) -> Option<&str> {
        self.ata_line(name).map(|l| l.target.as_str())
    }

    /// How many ATA ports can be dialled directly (each one call at a time).
    pub fn ata_lines(&self) -> usize {
        self.lines.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ata::{PortConfig, PortRole, UnitConfig};
    use crate::routing::LineConfig;

    fn routes() -> Routes {
        let ata = AtaConfig {
            units: vec![UnitConfig {
                name: "ho-ata-1".into(),
                address: "192.0.2.10".parse().unwrap(),
                model: String::new(),
                building: String::new(),
                firmware: None,
                snmp: Default::default(),
            }],
            ports: vec![PortConfig {
                unit: "ho-ata-1".into(),
                number: 2,
                line: None,
                sip_user: "2002".into(),
                role: PortRole::Fax,
                owner: String::new(),
                takes_payments: false,
                hot_dial: None,
                warm_dial: None,
            }],
            ..AtaConfig::default()
        };
        let bridge = BridgeConfig {
            ata_sip_port: 5062,
            lines: vec![
                LineConfig {
                    unit: "ho-ata-1".into(),
                    port: 2,
                    number: "+441632960202".into(),
                    cli: None,
                },
                // Not in the inventory: never a route.
                LineConfig {
                    unit: "ghost".into(),
                    port: 1,
                    number: "+441632960203".into(),
                    cli: None,
                },
            ],
            ..BridgeConfig::default()
        };
        Routes::new(
            &OutgoingConfig::default(),
            &bridge,
            &ata,
            &DialPlan::default(),
        )
    }

    #[test]
    fn a_ports_number_in_any_form_goes_to_the_port() {
        let r = routes();
        let port = Route::Ata("ho-ata-1:2".into());
        for n in [
            "+441632960202",
            "+44 1632 960202",
            "01632 960202",
            "1632960202",
        ] {
            assert_eq!(r.route_for(n), port, "{n}");
        }
        assert_eq!(r.ata_target("ho-ata-1:2"), Some("sip:2002@192.0.2.10:5062"));
        assert_eq!(r.ata_lines(), 1);
    }

    #[test]
    fn other_numbers_go_to_the_trunk() {
        let r = routes();
        let trunk = Route::Trunk("main".into());
        for n in ["01632960201", "+441632960203", "999", "", "2002"] {
            assert_eq!(r.route_for(n), trunk, "{n}");
        }
        assert_eq!(r.ata_target("ghost:1"), None);
    }

    #[test]
    fn without_a_trunk_only_ports_are_sendable() {
        // `routes()` has no `[outgoing] uri`.
        let r = routes();
        assert!(r.can_send());
        assert_eq!(
            r.sendable("01632 960202"),
            Ok(Route::Ata("ho-ata-1:2".into()))
        );
        assert_eq!(r.sendable("01632960201"), Err(NoTrunk));
        assert_eq!(
            NoTrunk.to_string(),
            "no trunk configured: set [outgoing] uri"
        );
        let with_trunk = Routes::new(
            &OutgoingConfig {
                uri: "sip:{number}@192.0.2.1".into(),
                ..OutgoingConfig::default()
            },
            &BridgeConfig::default(),
            &AtaConfig::default(),
            &DialPlan::default(),
        );
        assert!(with_trunk.can_send());
        assert_eq!(
            with_trunk.sendable("01632960201"),
            Ok(Route::Trunk("main".into()))
        );
        let neither = Routes::new(
            &OutgoingConfig::default(),
            &BridgeConfig::default(),
            &AtaConfig::default(),
            &DialPlan::default(),
        );
        assert!(!neither.can_send());
    }
}

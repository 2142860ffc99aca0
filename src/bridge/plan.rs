//! Where a bridged call goes: the routing decision for one INVITE.
//!
//! Sans-IO: [`Planner::plan`] takes what the INVITE says (who sent it, from
//! which address, for which number) and the configuration, and returns a
//! [`Decision`]. The SIP glue acts on it; nothing here blocks or fails.
//!
//! # Calls from ATA ports
//!
//! In this order:
//!
//! 1. **Emergency.** A Request-URI that is 999 or 112 — also behind the
//!    outside-line prefix (`9999`) or written with the country code, per
//!    [`DialPlan::emergency_candidates`] — goes to the trunk at once. Not
//!    the port lookup, the ACL, a quota or any other policy can stop it:
//!    a call from an unknown unit or port still goes through. The caller ID
//!    presented is the emergency CLI of the building whose subnet holds the
//!    ATA's source address (longest prefix), because UK emergency services
//!    locate a caller by that number. A source in no building's subnet gets
//!    through with the port's own number (or `[bridge] default_cli`) and a
//!    loud alert: the operator will not have the right address.
//! 2. **The port.** The unit is found by source address, the port by the
//!    SIP user of From; a request matching no port is refused (403).
//! 3. **Hot and warm dial** ([`super::dial`]) turn an off-hook call into
//!    the configured number (which may itself be 999: a lift line).
//! 4. **faxbridge's own fax-to-email numbers** (`[sip.routing]` routes)
//!    are answered by faxbridge itself, so a fax machine on a port can send
//!    to email.
//! 5. **Another bridged port's number** rings that port directly.
//! 6. **Anything else** the dial plan accepts goes to the trunk, with the
//!    port's number as caller ID; a number it cannot read is refused with
//!    484 (incomplete) or 404 (not a number).
//!
//! # Calls from the trunk
//!
//! The called number is compared, in E.164 form where the dial plan can
//! read it, with the numbers of `[[bridge.lines]]`; a match rings the port
//! at the unit's address. A call to one of faxbridge's own fax numbers is
//! handed to fax reception, and any other number is refused with 404.

use std::net::{IpAddr, SocketAddr};

use super::dial::{self, DialKind};
use super::{BridgeConfig, LineConfig, dialable};
use crate::ata::{Inventory, PortConfig, PortRole};
use crate::intake::dialplan::{DialError, DialPlan, NumberKind};
use crate::sip::routing::{RouteRule, RoutingTable, normalize_number};

/// Who sent the INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The SIP trunk (the `[[sip.peers]]` entry the trunk is admitted as).
    Trunk,
    /// Anything else: an ATA port, or a source that claims to be one.
    Port,
}

/// What the INVITE says.
#[derive(Debug, Clone, Copy)]
pub struct CallRequest<'a> {
    /// Who sent it.
    pub origin: Origin,
    /// Source address of the INVITE (the ATA's address for port calls).
    pub source: IpAddr,
    /// User part of From (the port's SIP user; the caller's number for
    /// trunk calls).
    pub from_user: &'a str,
    /// User part of the Request-URI: the dialled digits, a warm-dial
    /// marker, or empty for an Automatic Call without a number.
    pub request_user: &'a str,
}

/// One ATA port, as the decision names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRef {
    /// The unit's name.
    pub unit: String,
    /// The port's number on the unit.
    pub port: u32,
    /// The SIP user the port registers and calls with.
    pub sip_user: String,
    /// What is plugged in.
    pub role: PortRole,
    /// The unit's address.
    pub address: IpAddr,
}

/// A problem an emergency call is placed despite; each is alerted loudly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// The source address is in no building's subnet: the emergency CLI of
    /// the building is unknown, so the operator will not see its address.
    NoBuilding {
        /// The ATA's source address.
        source: IpAddr,
    },
    /// The request matches no port of the inventory.
    UnknownPort {
        /// Source address.
        source: IpAddr,
        /// SIP user of From.
        sip_user: String,
    },
    /// No caller ID at all could be presented.
    NoCli,
    /// No trunk is configured (`[outgoing] uri`): the call cannot be placed.
    NoTrunk,
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Alert::NoBuilding { source } => write!(
                f,
                "{source} is in no [[ata.buildings]] subnet: the building's emergency CLI is not presented; add the subnet to its building"
            ),
            Alert::UnknownPort { source, sip_user } => write!(
                f,
                "user {sip_user:?} at {source} is no port in [[ata.ports]]; add the port"
            ),
            Alert::NoCli => f.write_str(
                "no caller ID could be presented; set the building's emergency_cli or [bridge] default_cli",
            ),
            Alert::NoTrunk => f.write_str(
                "no trunk is configured, the emergency call cannot be placed; set [outgoing] uri",
            ),
        }
    }
}

/// A 999/112 call: to the trunk at once, whatever else applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyCall {
    /// The emergency number reached: `999` or `112`.
    pub number: String,
    /// What the port sent (e.g. `9999` behind an outside-line prefix).
    pub dialled: String,
    /// The dial string for the trunk.
    pub dial: String,
    /// The trunk URI to send the INVITE to; `None` when no trunk is
    /// configured (see [`Alert::NoTrunk`]).
    pub target: Option<String>,
    /// Caller ID to present: the building's emergency CLI, or a fallback.
    pub presented_cli: Option<String>,
    /// The building the source address lies in.
    pub building: Option<String>,
    /// The port, when the request matches one.
    pub from: Option<PortRef>,
    /// How the number was chosen (hot dial to 999 is a lift line).
    pub kind: DialKind,
    /// Problems to alert loudly about; the call goes ahead regardless.
    pub alerts: Vec<Alert>,
}

/// A call from a port to the trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkCall {
    /// The calling port.
    pub from: PortRef,
    /// The number as dialled or configured.
    pub number: String,
    /// E.164 form when the number is a public one.
    pub e164: Option<String>,
    /// The dial string for the trunk (dial plan's trunk format).
    pub dial: String,
    /// The trunk URI to send the INVITE to.
    pub target: String,
    /// Caller ID to present: the port's `cli` or `number`, else
    /// `[bridge] default_cli`.
    pub presented_cli: Option<String>,
    /// How the number was chosen.
    pub kind: DialKind,
}

/// A call to one of faxbridge's own fax-to-email numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnFaxCall {
    /// The calling port (`None` for a trunk call).
    pub from: Option<PortRef>,
    /// The number called.
    pub did: String,
    /// The `[sip.routing]` route it belongs to.
    pub route: String,
    /// How the number was chosen.
    pub kind: DialKind,
}

/// A call that rings a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortCall {
    /// The port rung.
    pub to: PortRef,
    /// The URI to send the INVITE to: the port's SIP user at its unit.
    pub target: String,
    /// The number called (the port's line number).
    pub did: String,
    /// Caller ID to pass on: the trunk caller's number, or the calling
    /// port's number for a call between ports.
    pub caller: Option<String>,
    /// The calling port for a call between ports.
    pub from: Option<PortRef>,
    /// How the number was chosen.
    pub kind: DialKind,
}

impl PortCall {
    /// Where to send the INVITE: the contact the port registered, when it
    /// holds a live registration (RFC 3261 §10: the registrar's location
    /// service maps the port's address-of-record to it; §16.5 retargets
    /// the request there), else [`PortCall::target`] (the port's SIP user
    /// at `[bridge] ata_sip_port` of its unit's address).
    pub fn reach(&self, registered: Option<&str>) -> String {
        match registered.map(str::trim) {
            Some(contact) if !contact.is_empty() => contact.to_string(),
            _ => self.target.clone(),
        }
    }
}

/// A refused INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Final status: 403 (not a known port), 404 (no such number), 484
    /// (incomplete number) or 503 (no trunk).
    pub status: u16,
    /// What was wrong and what to do, for the log and the reason phrase's
    /// `Warning`.
    pub reason: String,
}

/// The routing decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 999/112: to the trunk now, with the building's emergency CLI.
    Emergency(EmergencyCall),
    /// To the trunk.
    ToTrunk(TrunkCall),
    /// To faxbridge's own fax reception (fax-to-email).
    ToOwnFax(OwnFaxCall),
    /// To an ATA port.
    ToPort(PortCall),
    /// Refused.
    Refuse(Refusal),
}

fn refuse(status: u16, reason: impl Into<String>) -> Decision {
    Decision::Refuse(Refusal {
        status,
        reason: reason.into(),
    })
}

/// A number with its separators removed (`+44 1632-960201` →
/// `+441632960201`), for comparing configured numbers with each other.
pub(crate) fn digits_key(number: &str) -> String {
    let n = normalize_number(number);
    let plus = n.starts_with('+');
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    if plus { format!("+{digits}") } else { digits }
}

/// The routing decision maker, built once from the configuration.
#[derive(Debug, Clone)]
pub struct Planner<'a> {
    inventory: &'a Inventory,
    dialplan: &'a DialPlan,
    bridge: &'a BridgeConfig,
    own_fax: RoutingTable,
    trunk_uri: Option<String>,
}

impl<'a> Planner<'a> {
    /// A planner over the inventory, the dial plan, `[bridge]`, the DID
    /// routes of faxbridge's own fax reception (`[sip.routing] routes`; the
    /// default route is not used: only listed numbers are faxbridge's) and
    /// the trunk's URI template (`[outgoing] uri`, `{number}` standing for
    /// the dial string; empty: no trunk).
    pub fn new(
        inventory: &'a Inventory,
        dialplan: &'a DialPlan,
        bridge: &'a BridgeConfig,
        own_fax_routes: &[RouteRule],
        trunk_uri: &str,
    ) -> Self {
        Planner {
            inventory,
            dialplan,
            bridge,
            own_fax: RoutingTable::new(own_fax_routes, None),
            trunk_uri: (!trunk_uri.trim().is_empty()).then(|| trunk_uri.trim().to_string()),
        }
    }

    /// Where the call goes.
    pub fn plan(&self, req: &CallRequest<'_>) -> Decision {
        match req.origin {
            Origin::Trunk => self.trunk_call(req),
            Origin::Port => self.port_call(req),
        }
    }

    fn trunk_target(&self, dial: &str) -> Option<String> {
        self.trunk_uri.as_ref().map(|t| t.replace("{number}", dial))
    }

    fn port_ref(&self, port: &PortConfig) -> Option<PortRef> {
        let unit = self
            .inventory
            .units()
            .iter()
            .find(|u| u.name == port.unit)?;
        Some(PortRef {
            unit: port.unit.clone(),
            port: port.number,
            sip_user: port.sip_user.clone(),
            role: port.role,
            address: unit.address,
        })
    }

    /// The emergency number `number` reaches, if it is one: 999/112 as
    /// they are or behind a prefix the dial plan knows.
    fn emergency_number(&self, number: &str) -> Option<String> {
        if !dialable(number) {
            return None;
        }
        self.dialplan
            .emergency_candidates(number)
            .into_iter()
            .find(|c| crate::ata::inventory::is_emergency_number(c))
    }

    /// A caller ID in the form the trunk is given numbers: E.164 where the
    /// dial plan can read it, else as configured.
    fn present(&self, cli: &str) -> String {
        self.dialplan
            .normalise(cli)
            .ok()
            .and_then(|n| n.e164)
            .unwrap_or_else(|| cli.to_string())
    }

    fn port_cli(&self, port: Option<&PortConfig>) -> Option<String> {
        port.and_then(|p| self.bridge.line(&p.unit, p.number))
            .map(|l| l.cli.as_deref().unwrap_or(&l.number))
            .or(self.bridge.default_cli.as_deref())
            .map(|c| self.present(c))
    }

    fn emergency(
        &self,
        req: &CallRequest<'_>,
        number: String,
        dialled: &str,
        port: Option<&PortConfig>,
        kind: DialKind,
    ) -> Decision {
        let mut alerts = Vec::new();
        let from = port.and_then(|p| self.port_ref(p));
        if from.is_none() {
            alerts.push(Alert::UnknownPort {
                source: req.source,
                sip_user: req.from_user.to_string(),
            });
        }
        let (building, presented_cli) = match self.inventory.emergency_cli_for(req.source) {
            Some((b, cli)) => (Some(b.name.clone()), Some(cli.to_string())),
            None => {
                alerts.push(Alert::NoBuilding { source: req.source });
                (None, self.port_cli(port))
            }
        };
        if presented_cli.is_none() {
            alerts.push(Alert::NoCli);
        }
        // A PBX trunk may need its outside-line prefix in front even of 999.
        let dial = self
            .dialplan
            .normalise(&number)
            .map(|n| n.dial)
            .unwrap_or_else(|_| number.clone());
        let target = self.trunk_target(&dial);
        if target.is_none() {
            alerts.push(Alert::NoTrunk);
        }
        Decision::Emergency(EmergencyCall {
            number,
            dialled: dialled.to_string(),
            dial,
            target,
            presented_cli,
            building,
            from,
            kind,
            alerts,
        })
    }

    fn port_call(&self, req: &CallRequest<'_>) -> Decision {
        let dialled = normalize_number(req.request_user);
        let port = self
            .inventory
            .port_by_source(req.source, req.from_user.trim())
            .map(|(_, p)| p);
        // 1. Emergency before anything that could refuse.
        if let Some(number) = self.emergency_number(&dialled) {
            return self.emergency(req, number, &dialled, port, DialKind::Dialled);
        }
        // 2. The port.
        let Some(port) = port else {
            return match self.inventory.unit_by_ip(req.source) {
                Some(unit) => refuse(
                    403,
                    format!(
                        "unit {:?} has no port with SIP user {:?}; add it to [[ata.ports]]",
                        unit.name, req.from_user
                    ),
                ),
                None => refuse(
                    403,
                    format!(
                        "{} is no unit in [[ata.units]]; add the unit to bridge its calls",
                        req.source
                    ),
                ),
            };
        };
        let Some(from) = self.port_ref(port) else {
            return refuse(403, format!("port {} has no unit", port.number));
        };
        // 3. Hot and warm dial.
        let resolved = match dial::resolve(port, req.request_user, &self.bridge.warm_dial_marker) {
            Ok(r) => r,
            Err(e) => return refuse(e.status(), e.to_string()),
        };
        if let Some(number) = self.emergency_number(&resolved.number) {
            return self.emergency(req, number, &resolved.number, Some(port), resolved.kind);
        }
        let number = resolved.number;
        let normalised = self.dialplan.normalise(&number);
        // 4. faxbridge's own fax-to-email numbers.
        let mut forms = vec![number.clone()];
        if let Ok(n) = &normalised {
            forms.extend(n.e164.clone());
            forms.push(n.national.clone());
        }
        if let Some(route) = forms.iter().find_map(|f| self.own_fax.route(Some(f))) {
            return Decision::ToOwnFax(OwnFaxCall {
                from: Some(from),
                did: number,
                route: route.to_string(),
                kind: resolved.kind,
            });
        }
        // 5. Another bridged port.
        if let Some((line, to)) = self.line_for(&number) {
            if to.unit == from.unit && to.port == from.port {
                return refuse(
                    486,
                    format!("{number} is the calling port's own number; the line is busy"),
                );
            }
            return Decision::ToPort(PortCall {
                target: self.port_target(&to),
                to,
                did: line.number.clone(),
                caller: self.port_cli(Some(port)),
                from: Some(from),
                kind: resolved.kind,
            });
        }
        // 6. The trunk.
        let n = match normalised {
            Ok(n) => n,
            Err(e) => {
                let status = match &e {
                    DialError::Empty { .. } | DialError::NoPrefix { .. } => 484,
                    DialError::NationalLength { digits, min, .. } if *digits < *min as usize => 484,
                    _ => 404,
                };
                return refuse(status, e.to_string());
            }
        };
        let Some(target) = self.trunk_target(&n.dial) else {
            return refuse(
                503,
                "no trunk is configured for calls from ports; set [outgoing] uri",
            );
        };
        let kind = resolved.kind;
        let e164 = match n.kind {
            NumberKind::National | NumberKind::International => n.e164,
            NumberKind::Extension | NumberKind::ShortCode => None,
        };
        Decision::ToTrunk(TrunkCall {
            presented_cli: self.port_cli(Some(port)),
            from,
            number,
            e164,
            dial: n.dial,
            target,
            kind,
        })
    }

    fn trunk_call(&self, req: &CallRequest<'_>) -> Decision {
        let called = normalize_number(req.request_user);
        if called.is_empty() {
            return refuse(
                404,
                "the trunk's INVITE names no number; the trunk must put the called number in the Request-URI",
            );
        }
        let caller = normalize_number(req.from_user);
        let caller = (!caller.is_empty()).then_some(caller);
        if let Some((line, to)) = self.line_for(&called) {
            return Decision::ToPort(PortCall {
                target: self.port_target(&to),
                to,
                did: line.number.clone(),
                caller,
                from: None,
                kind: DialKind::Dialled,
            });
        }
        let mut forms = self.number_keys(&called);
        forms.push(called.clone());
        if let Some(route) = forms.iter().find_map(|k| self.own_fax.route(Some(k))) {
            return Decision::ToOwnFax(OwnFaxCall {
                from: None,
                did: called,
                route: route.to_string(),
                kind: DialKind::Dialled,
            });
        }
        refuse(
            404,
            format!("{called} is neither a port's number in [[bridge.lines]] nor a fax number"),
        )
    }

    /// The forms a number may be compared in: E.164 when the dial plan
    /// reads it, the bare digits, and the digits read as a national
    /// significant number without its prefix (trunks that send
    /// `1632960201` for `+441632960201`).
    fn number_keys(&self, number: &str) -> Vec<String> {
        let mut keys = Vec::new();
        if let Ok(n) = self.dialplan.normalise(number)
            && let Some(e) = n.e164
        {
            keys.push(e);
        }
        let digits = digits_key(number);
        if !digits.starts_with('+') && !digits.starts_with('0') && !digits.is_empty() {
            keys.push(format!("+{}{digits}", self.dialplan.country_code));
        }
        keys.push(digits);
        keys
    }

    /// The line and port whose number `number` is.
    fn line_for(&self, number: &str) -> Option<(&'a LineConfig, PortRef)> {
        let keys = self.number_keys(number);
        self.bridge.lines.iter().find_map(|l| {
            let own = self.number_keys(&l.number);
            // The line's first key is its most canonical form.
            let canonical = own.first()?;
            if !keys.contains(canonical) {
                return None;
            }
            let port = self
                .inventory
                .ports_of(&l.unit)
                .into_iter()
                .find(|p| p.number == l.port)?;
            Some((l, self.port_ref(port)?))
        })
    }

    fn port_target(&self, to: &PortRef) -> String {
        format!(
            "sip:{}@{}",
            to.sip_user,
            SocketAddr::new(to.address, self.bridge.ata_sip_port)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ata::inventory::WarmDial;
    use crate::ata::{BuildingConfig, SnmpOverride, UnitConfig};
    use crate::intake::dialplan::TrunkFormat;

    const TRUNK: &str = "sip:{number}@192.0.2.1:5060";

    struct World {
        inventory: Inventory,
        dialplan: DialPlan,
        bridge: BridgeConfig,
        routes: Vec<RouteRule>,
        trunk: String,
    }

    fn port(unit: &str, number: u32, user: &str, role: PortRole) -> PortConfig {
        PortConfig {
            unit: unit.into(),
            number,
            line: None,
            sip_user: user.into(),
            role,
            owner: String::new(),
            takes_payments: false,
            hot_dial: None,
            warm_dial: None,
        }
    }

    fn unit(name: &str, ip: &str, building: &str) -> UnitConfig {
        UnitConfig {
            name: name.into(),
            address: ip.parse().unwrap(),
            model: "Mediatrix 4104".into(),
            building: building.into(),
            firmware: None,
            snmp: SnmpOverride::default(),
        }
    }

    fn line(unit: &str, port: u32, number: &str, cli: Option<&str>) -> LineConfig {
        LineConfig {
            unit: unit.into(),
            port,
            number: number.into(),
            cli: cli.map(str::to_string),
        }
    }

    /// Head office (10.1.0.0/16) with an annex /24 inside it, a depot
    /// (10.2.0.0/16), and a unit in a subnet no building lists (10.9.0.0).
    fn world() -> World {
        let units = vec![
            unit("ho", "10.1.2.3", "HO"),
            unit("annex", "10.1.200.7", "Annex"),
            unit("depot", "10.2.0.9", "Depot"),
            unit("stray", "10.9.0.5", "HO"),
        ];
        let mut lift = port("annex", 1, "3001", PortRole::Alarm);
        lift.hot_dial = Some("999".into());
        let mut hot = port("ho", 3, "2003", PortRole::Phone);
        hot.hot_dial = Some("01223 000000".into());
        let mut warm = port("ho", 4, "2004", PortRole::Phone);
        warm.warm_dial = Some(WarmDial {
            number: "2000".into(),
            after_seconds: 5,
        });
        let ports = vec![
            port("ho", 1, "2001", PortRole::Fax),
            port("ho", 2, "2002", PortRole::Pdq),
            hot,
            warm,
            lift,
            port("depot", 1, "2001", PortRole::Phone),
            port("stray", 1, "2001", PortRole::Phone),
        ];
        let buildings = vec![
            BuildingConfig {
                name: "HO".into(),
                subnets: vec!["10.1.0.0/16".into()],
                emergency_cli: "+441632960001".into(),
            },
            BuildingConfig {
                name: "Annex".into(),
                subnets: vec!["10.1.200.0/24".into()],
                emergency_cli: "+441632960003".into(),
            },
            BuildingConfig {
                name: "Depot".into(),
                subnets: vec!["10.2.0.0/16".into()],
                emergency_cli: "+441632960002".into(),
            },
        ];
        World {
            inventory: Inventory::new(&units, &ports, &buildings),
            dialplan: DialPlan::default(),
            bridge: BridgeConfig {
                default_cli: Some("+441632960100".into()),
                lines: vec![
                    line("ho", 1, "+441632960201", None),
                    line("ho", 2, "01632 960202", Some("+441632960200")),
                    line("depot", 1, "+441632960301", None),
                    line("stray", 1, "+441632960901", None),
                ],
                ..BridgeConfig::default()
            },
            routes: vec![
                RouteRule {
                    did: "+44 1632 960500".into(),
                    route: "accounts".into(),
                },
                RouteRule {
                    did: "5000".into(),
                    route: "internal".into(),
                },
            ],
            trunk: TRUNK.into(),
        }
    }

    impl World {
        fn planner(&self) -> Planner<'_> {
            Planner::new(
                &self.inventory,
                &self.dialplan,
                &self.bridge,
                &self.routes,
                &self.trunk,
            )
        }

        fn port_call(&self, ip: &str, user: &str, dialled: &str) -> Decision {
            self.planner().plan(&CallRequest {
                origin: Origin::Port,
                source: ip.parse().unwrap(),
                from_user: user,
                request_user: dialled,
            })
        }

        fn trunk_call(&self, caller: &str, called: &str) -> Decision {
            self.planner().plan(&CallRequest {
                origin: Origin::Trunk,
                source: "192.0.2.1".parse().unwrap(),
                from_user: caller,
                request_user: called,
            })
        }
    }

    fn emergency(d: Decision) -> EmergencyCall {
        match d {
            Decision::Emergency(e) => e,
            other => panic!("expected an emergency call, got {other:?}"),
        }
    }

    fn trunk(d: Decision) -> TrunkCall {
        match d {
            Decision::ToTrunk(t) => t,
            other => panic!("expected a trunk call, got {other:?}"),
        }
    }

    fn to_port(d: Decision) -> PortCall {
        match d {
            Decision::ToPort(p) => p,
            other => panic!("expected a call to a port, got {other:?}"),
        }
    }

    fn refusal(d: Decision) -> Refusal {
        match d {
            Decision::Refuse(r) => r,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn emergency_from_a_known_port_presents_the_building_cli() {
        let w = world();
        for number in ["999", "112"] {
            let e = emergency(w.port_call("10.1.2.3", "2002", number));
            assert_eq!(e.number, number);
            assert_eq!(e.dial, number);
            assert_eq!(
                e.target.as_deref(),
                Some(&*format!("sip:{number}@192.0.2.1:5060"))
            );
            assert_eq!(e.presented_cli.as_deref(), Some("+441632960001"));
            assert_eq!(e.building.as_deref(), Some("HO"));
            assert_eq!(e.from.as_ref().unwrap().role, PortRole::Pdq);
            assert_eq!(e.kind, DialKind::Dialled);
            assert!(e.alerts.is_empty(), "{:?}", e.alerts);
        }
        // The annex /24 inside head office's /16 has its own CLI.
        let e = emergency(w.port_call("10.1.200.7", "3001", "999"));
        assert_eq!(e.presented_cli.as_deref(), Some("+441632960003"));
        assert_eq!(e.building.as_deref(), Some("Annex"));
        let e = emergency(w.port_call("10.2.0.9", "2001", "112"));
        assert_eq!(e.presented_cli.as_deref(), Some("+441632960002"));
    }

    #[test]
    fn emergency_behind_prefixes_is_still_emergency() {
        let mut w = world();
        w.dialplan.outside_line_prefix = "9".into();
        for (dialled, number) in [
            ("9999", "999"),
            ("9112", "112"),
            ("+44999", "999"),
            ("0044112", "112"),
            ("9-9-9", "999"),
        ] {
            let e = emergency(w.port_call("10.1.2.3", "2001", dialled));
            assert_eq!(e.number, number, "{dialled}");
            assert_eq!(e.dialled, normalize_number(dialled));
            assert_eq!(e.presented_cli.as_deref(), Some("+441632960001"));
        }
    }

    #[test]
    fn emergency_is_never_refused() {
        let w = world();
        // Unknown port on a known unit.
        let e = emergency(w.port_call("10.1.2.3", "2999", "999"));
        assert_eq!(e.from, None);
        assert_eq!(e.presented_cli.as_deref(), Some("+441632960001"));
        assert_eq!(
            e.alerts,
            [Alert::UnknownPort {
                source: "10.1.2.3".parse().unwrap(),
                sip_user: "2999".into()
            }]
        );
        // A source that is no unit at all, inside a building's subnet.
        let e = emergency(w.port_call("10.2.77.1", "anyone", "112"));
        assert_eq!(e.building.as_deref(), Some("Depot"));
        assert_eq!(e.target.as_deref(), Some("sip:112@192.0.2.1:5060"));
        // A hot-dial port may still reach 999: the ATA sends what it sends.
        let e = emergency(w.port_call("10.1.2.3", "2003", "999"));
        assert_eq!(e.kind, DialKind::Dialled);
    }

    #[test]
    fn emergency_from_a_subnet_without_building_gets_through_loudly() {
        let w = world();
        let e = emergency(w.port_call("10.9.0.5", "2001", "999"));
        // The port's own number stands in for the missing building CLI.
        assert_eq!(e.presented_cli.as_deref(), Some("+441632960901"));
        assert_eq!(e.building, None);
        assert_eq!(
            e.alerts,
            [Alert::NoBuilding {
                source: "10.9.0.5".parse().unwrap()
            }]
        );
        assert!(e.alerts[0].to_string().contains("[[ata.buildings]]"));
        // No port, no building: the default CLI.
        let e = emergency(w.port_call("192.0.2.99", "x", "999"));
        assert_eq!(e.presented_cli.as_deref(), Some("+441632960100"));
        assert_eq!(e.alerts.len(), 2);
        // Nothing at all to present: still placed, with one more alert.
        let mut w = world();
        w.bridge.default_cli = None;
        let e = emergency(w.port_call("192.0.2.99", "x", "999"));
        assert_eq!(e.presented_cli, None);
        assert!(e.alerts.contains(&Alert::NoCli));
        assert_eq!(e.target.as_deref(), Some("sip:999@192.0.2.1:5060"));
    }

    #[test]
    fn emergency_without_a_trunk_is_still_an_emergency_decision() {
        let mut w = world();
        w.trunk = String::new();
        let e = emergency(w.port_call("10.1.2.3", "2001", "999"));
        assert_eq!(e.target, None);
        assert_eq!(e.alerts, [Alert::NoTrunk]);
        // Ordinary calls are refused with 503 instead.
        assert_eq!(
            refusal(w.port_call("10.1.2.3", "2001", "01223123456")).status,
            503
        );
    }

    #[test]
    fn emergency_dial_string_follows_a_pbx_trunk() {
        let mut w = world();
        w.dialplan.outside_line_prefix = "9".into();
        w.dialplan.add_outside_line = true;
        w.dialplan.trunk_format = TrunkFormat::National;
        let e = emergency(w.port_call("10.1.2.3", "2001", "9999"));
        assert_eq!((e.number.as_str(), e.dial.as_str()), ("999", "9999"));
    }

    #[test]
    fn hot_dial_to_999_is_an_emergency_call() {
        let w = world();
        for sent in ["", "s", "3001"] {
            let e = emergency(w.port_call("10.1.200.7", "3001", sent));
            assert_eq!(e.kind, DialKind::HotDial, "{sent:?}");
            assert_eq!(e.number, "999");
            assert_eq!(e.building.as_deref(), Some("Annex"));
        }
    }

    #[test]
    fn ordinary_calls_go_to_the_trunk_with_the_port_cli() {
        let w = world();
        let t = trunk(w.port_call("10.1.2.3", "2001", "01223 123456"));
        assert_eq!(t.dial, "+441223123456");
        assert_eq!(t.e164.as_deref(), Some("+441223123456"));
        assert_eq!(t.target, "sip:+441223123456@192.0.2.1:5060");
        assert_eq!(t.presented_cli.as_deref(), Some("+441632960201"));
        assert_eq!((t.from.unit.as_str(), t.from.port), ("ho", 1));
        assert_eq!(t.kind, DialKind::Dialled);
        // A line with its own cli presents it; the number is written nationally.
        let t = trunk(w.port_call("10.1.2.3", "2002", "+33 1 23 45 67 89"));
        assert_eq!(t.presented_cli.as_deref(), Some("+441632960200"));
        assert_eq!(t.dial, "+33123456789");
        // A port without a line presents the default CLI.
        let t = trunk(w.port_call("10.1.2.3", "2003", ""));
        assert_eq!(t.presented_cli.as_deref(), Some("+441632960100"));
        // Short codes other than emergency ones go out as dialled.
        let t = trunk(w.port_call("10.2.0.9", "2001", "118118"));
        assert_eq!((t.dial.as_str(), t.e164), ("118118", None));
    }

    #[test]
    fn hot_and_warm_dial_resolve_before_routing() {
        let w = world();
        let t = trunk(w.port_call("10.1.2.3", "2003", ""));
        assert_eq!(
            (t.number.as_str(), t.kind),
            ("01223 000000", DialKind::HotDial)
        );
        assert_eq!(t.dial, "+441223000000");
        let t = trunk(w.port_call("10.1.2.3", "2003", "77"));
        assert_eq!(t.kind, DialKind::HotDial);
        // Warm dial: the marker → the configured number (a 4-digit short code here).
        let t = trunk(w.port_call("10.1.2.3", "2004", "warm"));
        assert_eq!((t.number.as_str(), t.kind), ("2000", DialKind::WarmDial));
        // Digits before the timer: the user's own call.
        let t = trunk(w.port_call("10.1.2.3", "2004", "01223123456"));
        assert_eq!(t.kind, DialKind::Dialled);
        // No number from a plain port: incomplete.
        let r = refusal(w.port_call("10.1.2.3", "2001", ""));
        assert_eq!(r.status, 484);
    }

    #[test]
    fn own_fax_numbers_are_answered_by_faxbridge() {
        let w = world();
        for dialled in ["+441632960500", "01632 960500", "0044 1632 960500"] {
            match w.port_call("10.1.2.3", "2001", dialled) {
                Decision::ToOwnFax(f) => {
                    assert_eq!(f.route, "accounts", "{dialled}");
                    assert_eq!(f.from.as_ref().unwrap().port, 1);
                }
                other => panic!("{dialled}: {other:?}"),
            }
        }
        match w.port_call("10.1.2.3", "2001", "5000") {
            Decision::ToOwnFax(f) => {
                assert_eq!((f.route.as_str(), f.did.as_str()), ("internal", "5000"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_port_may_call_another_port() {
        let w = world();
        let p = to_port(w.port_call("10.1.2.3", "2001", "01632 960301"));
        assert_eq!((p.to.unit.as_str(), p.to.port), ("depot", 1));
        assert_eq!(p.target, "sip:2001@10.2.0.9:5060");
        assert_eq!(p.caller.as_deref(), Some("+441632960201"));
        assert_eq!(p.from.unwrap().port, 1);
        // Its own number: busy.
        assert_eq!(
            refusal(w.port_call("10.1.2.3", "2001", "+441632960201")).status,
            486
        );
    }

    #[test]
    fn unknown_sources_and_bad_numbers_are_refused() {
        let w = world();
        let r = refusal(w.port_call("10.1.2.3", "2999", "01223123456"));
        assert_eq!(r.status, 403);
        assert!(r.reason.contains("\"ho\""), "{}", r.reason);
        let r = refusal(w.port_call("192.0.2.50", "2001", "01223123456"));
        assert_eq!(r.status, 403);
        assert!(r.reason.contains("[[ata.units]]"), "{}", r.reason);
        assert_eq!(
            refusal(w.port_call("10.1.2.3", "2001", "0122312")).status,
            484
        );
        assert_eq!(
            refusal(w.port_call("10.1.2.3", "2001", "1223123456")).status,
            484
        );
        assert_eq!(
            refusal(w.port_call("10.1.2.3", "2001", "0800FAX")).status,
            404
        );
        assert_eq!(
            refusal(w.port_call("10.1.2.3", "2001", "012231234567890")).status,
            404
        );
        assert_eq!(refusal(w.port_call("10.1.2.3", "2001", "warm")).status, 484);
    }

    #[test]
    fn trunk_calls_ring_the_port_with_that_number() {
        let w = world();
        for called in [
            "+441632960201",
            "01632960201",
            "1632960201",
            "+44-1632-960201;npdi",
        ] {
            let p = to_port(w.trunk_call("+441223123456", called));
            assert_eq!((p.to.unit.as_str(), p.to.port), ("ho", 1), "{called}");
            assert_eq!(p.to.sip_user, "2001");
            assert_eq!(p.target, "sip:2001@10.1.2.3:5060");
            assert_eq!(p.did, "+441632960201");
            assert_eq!(p.caller.as_deref(), Some("+441223123456"));
            assert_eq!(p.from, None);
        }
        // A line written in national form is matched by its E.164 form.
        let p = to_port(w.trunk_call("", "+441632960202"));
        assert_eq!(p.to.port, 2);
        assert_eq!(p.caller, None);
        // Same SIP user on another unit: the number decides.
        let p = to_port(w.trunk_call("anonymous", "+441632960301"));
        assert_eq!(p.target, "sip:2001@10.2.0.9:5060");
    }

    #[test]
    fn trunk_calls_to_fax_numbers_and_unknown_numbers() {
        let w = world();
        match w.trunk_call("+441223123456", "01632960500") {
            Decision::ToOwnFax(f) => {
                assert_eq!(f.route, "accounts");
                assert_eq!(f.from, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(refusal(w.trunk_call("x", "+441632960999")).status, 404);
        assert_eq!(refusal(w.trunk_call("x", "")).status, 404);
        // A trunk call to 999 is not an emergency call from a port.
        assert_eq!(refusal(w.trunk_call("x", "999")).status, 404);
    }

    #[test]
    fn a_registered_port_is_reached_at_its_contact() {
        let w = world();
        let p = to_port(w.trunk_call("+441223123456", "+441632960201"));
        assert_eq!(
            p.reach(None),
            "sip:2001@10.1.2.3:5060",
            "no binding: the fallback"
        );
        assert_eq!(p.reach(Some(" ")), "sip:2001@10.1.2.3:5060");
        assert_eq!(
            p.reach(Some("sip:2001@10.1.2.3:5062;transport=udp")),
            "sip:2001@10.1.2.3:5062;transport=udp"
        );
    }

    #[test]
    fn ipv6_units_get_bracketed_targets() {
        let units = vec![unit("v6", "2001:db8::5", "B")];
        let ports = vec![port("v6", 1, "2001", PortRole::Fax)];
        let buildings = vec![BuildingConfig {
            name: "B".into(),
            subnets: vec!["2001:db8::/32".into()],
            emergency_cli: "+441632960009".into(),
        }];
        let inventory = Inventory::new(&units, &ports, &buildings);
        let dialplan = DialPlan::default();
        let bridge = BridgeConfig {
            lines: vec![line("v6", 1, "+441632960401", None)],
            ..BridgeConfig::default()
        };
        let planner = Planner::new(&inventory, &dialplan, &bridge, &[], TRUNK);
        let p = to_port(planner.plan(&CallRequest {
            origin: Origin::Trunk,
            source: "192.0.2.1".parse().unwrap(),
            from_user: "",
            request_user: "+441632960401",
        }));
        assert_eq!(p.target, "sip:2001@[2001:db8::5]:5060");
        let e = emergency(planner.plan(&CallRequest {
            origin: Origin::Port,
            source: "2001:db8::5".parse().unwrap(),
            from_user: "2001",
            request_user: "112",
        }));
        assert_eq!(e.presented_cli.as_deref(), Some("+441632960009"));
    }
}

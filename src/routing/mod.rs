//! Where an INVITE goes: one pure decision for every call faxbridge takes.
//!
//! [`Router::decide`] takes what an INVITE says (its source address, the
//! peer it was admitted as, the caller and the called number) and the time
//! of day, and returns a [`Decision`]. The SIP endpoint asks it before
//! anything else is done with the call; the fax receiver and the bridge
//! only carry the decision out. Nothing here blocks, fails or keeps state.
//!
//! # The order
//!
//! A call comes from an ATA port when its source address is one of
//! `[[ata.units]]`; otherwise it comes from the network side (the trunk,
//! `[bridge] trunk_peer`, or another admitted peer such as a PBX).
//! Decisions are taken in this order, the first that applies wins:
//!
//! 1. **Emergency.** An emergency number (999, 112 and `[bridge]
//!    emergency_numbers`, also behind the outside-line prefix or with the
//!    country code, per [`DialPlan::emergency_candidates`]; also a port's
//!    hot or warm dial that resolves to one, a lift line) from an ATA unit
//!    goes to the trunk(s) at once, with the emergency CLI of the building
//!    whose subnet holds the unit's address. Nothing refuses it: not an
//!    unknown port, not the peer list or digest (the endpoint admits it
//!    from any unit address), not the toll-fraud policy, not a quota. The
//!    same holds for an emergency number from any other admitted peer
//!    except the trunk itself, which never has its calls sent back to it.
//! 2. **Port → port.** A number of `[[bridge.lines]]` dialled on a port
//!    rings that port.
//! 3. **Fax.** A number listed in `[sip.routing] routes` is answered by
//!    faxbridge's own fax receiver (fax-to-email), from a port or from the
//!    network.
//! 4. **Port → trunk.** Anything else a port dials goes to the trunk with
//!    the port's number as caller ID, if the dial plan can read it and the
//!    port's toll-fraud policy ([`crate::numbering::policy`]) allows it;
//!    a refusal is `403` naming the rule.
//! 5. **Network → port.** A network call to a line's number rings its port.
//! 6. **Network → fax, default.** `[sip.routing] default_route` takes any
//!    other network call. It never applies to calls from ATA units: a
//!    port's call is never answered by the fax inbox unless its number is
//!    listed for fax.
//!
//! Otherwise the call is refused: `404` for a number nobody has, `484`
//! for an incomplete one, `403` for a port faxbridge does not know, `503`
//! without a trunk.

pub mod config;
pub mod dial;
pub mod did;

use std::net::{IpAddr, SocketAddr};

pub use config::{BridgeConfig, LineConfig};
use dial::DialKind;
use did::{RouteRule, RoutingTable};

use crate::ata::{Inventory, PortConfig, PortRole};
use crate::numbering::policy::{Breach, CallLimits, LocalTime, port_key};
use crate::numbering::{DialError, DialPlan, NumberKind, dialable, normalize_number};

/// What an INVITE says, and when it came.
#[derive(Debug, Clone, Copy)]
pub struct CallRequest<'a> {
    /// Source address of the INVITE.
    pub source: IpAddr,
    /// The `[[sip.peers]]` entry or `[sip.auth]` account it was admitted
    /// as; `None` when the ACL did not admit it (only an emergency call
    /// from an ATA unit goes ahead then).
    pub peer: Option<&'a str>,
    /// User part of From (the port's SIP user; the caller's number for
    /// network calls).
    pub from_user: &'a str,
    /// The called number: the Request-URI user, or the To user when the
    /// Request-URI has none; for a port, the dialled digits, a warm-dial
    /// marker, or empty for an Automatic Call without a number.
    pub called: &'a str,
    /// The site's local time, for the hours rule of the policy.
    pub now: LocalTime,
}

/// Where the call came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A configured ATA unit (`[[ata.units]]` address).
    Unit,
    /// The trunk (`[bridge] trunk_peer`).
    Trunk,
    /// Another admitted peer (a PBX, a roaming account).
    Peer,
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
    /// No trunk is configured (`[outgoing] uri` or `emergency_uris`): the
    /// call cannot be placed.
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
                "no trunk is configured, the emergency call cannot be placed; set [outgoing] uri or emergency_uris",
            ),
        }
    }
}

/// An emergency call: to the trunk now, whatever else applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyCall {
    /// The emergency number reached: `999`, `112` or one of `[bridge]
    /// emergency_numbers`.
    pub number: String,
    /// What the port sent (e.g. `9999` behind an outside-line prefix).
    pub dialled: String,
    /// The dial string for the trunk.
    pub dial: String,
    /// The trunk URIs to try, in order (`[outgoing] emergency_uris`, else
    /// `[outgoing] uri`); empty when no trunk is configured (see
    /// [`Alert::NoTrunk`]).
    pub targets: Vec<String>,
    /// Caller ID to present: the building's emergency CLI, or a fallback.
    pub presented_cli: Option<String>,
    /// The building the source address lies in.
    pub building: Option<String>,
    /// The port, when the request matches one.
    pub from: Option<PortRef>,
    /// True when the source is a configured ATA unit: the endpoint admits
    /// the call whatever the peer list and digest say.
    pub from_unit: bool,
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
    /// The port's limits on calls at once and per hour, which the bridge
    /// applies with its call counter ([`crate::numbering::policy::CallCounter`]).
    pub limits: CallLimits,
}

impl TrunkCall {
    /// The port's key in the call counter and `[bridge.policy.ports]`.
    pub fn port_key(&self) -> String {
        port_key(&self.from.unit, self.from.port)
    }
}

/// A call for faxbridge's own fax receiver (fax-to-email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaxCall {
    /// The calling port (`None` for a network call).
    pub from: Option<PortRef>,
    /// The number called.
    pub did: String,
    /// The `[sip.routing]` route (and `[routes]` mailboxes) it belongs to.
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
    /// Caller ID to pass on: the network caller's number, or the calling
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
    /// Final status: 403 (not a known port, or a policy rule), 404 (no
    /// such number), 484 (incomplete number), 486 (a port's own number) or
    /// 503 (no trunk).
    pub status: u16,
    /// What was wrong and what to do, for the log and the `Reason` header.
    pub reason: String,
    /// The toll-fraud rule that refused the call, when one did (its key in
    /// `[bridge.policy]`).
    pub rule: Option<&'static str>,
}

/// The routing decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An emergency number: to the trunk now, with the building's CLI.
    Emergency(EmergencyCall),
    /// From a port to the trunk.
    ToTrunk(TrunkCall),
    /// To faxbridge's own fax receiver.
    Fax(FaxCall),
    /// To an ATA port.
    ToPort(PortCall),
    /// Refused.
    Refuse(Refusal),
}

impl Decision {
    /// The `[sip.routing]` route of a call for the fax receiver.
    pub fn fax_route(&self) -> Option<&str> {
        match self {
            Decision::Fax(f) => Some(&f.route),
            _ => None,
        }
    }

    /// True for calls the analogue bridge carries (everything but fax
    /// reception and refusals): they may ring past `[sip]
    /// answer_timeout_secs`.
    pub fn is_bridged(&self) -> bool {
        matches!(
            self,
            Decision::Emergency(_) | Decision::ToTrunk(_) | Decision::ToPort(_)
        )
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Emergency(_) => "emergency",
            Decision::ToTrunk(_) => "port-to-trunk",
            Decision::Fax(_) => "fax",
            Decision::ToPort(_) => "to-port",
            Decision::Refuse(_) => "refused",
        }
    }
}

fn refuse(status: u16, reason: impl Into<String>) -> Decision {
    Decision::Refuse(Refusal {
        status,
        reason: reason.into(),
        rule: None,
    })
}

/// The refusal of a call that breaks a toll-fraud rule: `403 Forbidden`
/// (RFC 3261 §21.4.4: authorising will not help) naming the rule.
pub fn policy_refusal(number: &str, breach: &Breach) -> Refusal {
    Refusal {
        status: 403,
        reason: format!(
            "{number} refused by [bridge.policy] {}: {breach}",
            breach.rule()
        ),
        rule: Some(breach.rule()),
    }
}

/// The routing decision maker, built once from the configuration and
/// swapped as a whole on reload.
#[derive(Debug, Clone, Default)]
pub struct Router {
    inventory: Inventory,
    dialplan: DialPlan,
    bridge: BridgeConfig,
    /// `[sip.routing] routes`: the numbers listed for fax.
    fax: RoutingTable,
    /// `[sip.routing] default_route`: network calls only.
    default_route: Option<String>,
    /// `[outgoing] uri` (`{number}` stands for the dial string).
    trunk_uri: Option<String>,
    /// Trunks for emergency calls, in order.
    emergency_uris: Vec<String>,
}

impl Router {
    /// A router over the ATA inventory, the dial plan, `[bridge]`, the
    /// fax numbers (`[sip.routing]` routes and default route), the trunk's
    /// URI template (`[outgoing] uri`; empty: no trunk) and the trunks for
    /// emergency calls (`[outgoing] emergency_uris`; empty: the trunk).
    pub fn new(
        inventory: Inventory,
        dialplan: DialPlan,
        bridge: BridgeConfig,
        fax_routes: &[RouteRule],
        default_route: Option<String>,
        trunk_uri: &str,
        emergency_uris: &[String],
    ) -> Self {
        let trunk_uri = (!trunk_uri.trim().is_empty()).then(|| trunk_uri.trim().to_string());
        let mut emergency: Vec<String> = emergency_uris
            .iter()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if emergency.is_empty() {
            emergency.extend(trunk_uri.clone());
        }
        Router {
            inventory,
            dialplan,
            bridge,
            fax: RoutingTable::new(fax_routes, None),
            default_route,
            trunk_uri,
            emergency_uris: emergency,
        }
    }

    /// A router for fax reception alone (no ATAs, no trunk): the listed
    /// numbers and the default route.
    pub fn fax_only(fax_routes: &[RouteRule], default_route: Option<String>) -> Self {
        Router::new(
            Inventory::default(),
            DialPlan::default(),
            BridgeConfig::default(),
            fax_routes,
            default_route,
            "",
            &[],
        )
    }

    /// The ATA inventory the router reads.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// Where the call comes from.
    pub fn origin(&self, req: &CallRequest<'_>) -> Origin {
        if self.inventory.unit_by_ip(req.source).is_some() {
            Origin::Unit
        } else if req.peer == Some(self.bridge.trunk_peer.as_str()) {
            Origin::Trunk
        } else {
            Origin::Peer
        }
    }

    /// Where the call goes.
    pub fn decide(&self, req: &CallRequest<'_>) -> Decision {
        let origin = self.origin(req);
        let dialled = normalize_number(req.called);
        // 1. Emergency before anything that could refuse.
        if origin != Origin::Trunk
            && let Some(number) = self.emergency_number(&dialled)
        {
            let port = self.port_of(req);
            return self.emergency(req, origin, number, &dialled, port, DialKind::Dialled);
        }
        match origin {
            Origin::Unit => self.port_call(req),
            Origin::Trunk | Origin::Peer => self.network_call(req, origin, &dialled),
        }
    }

    fn port_of(&self, req: &CallRequest<'_>) -> Option<&PortConfig> {
        self.inventory
            .port_by_source(req.source, req.from_user.trim())
            .map(|(_, p)| p)
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

    /// The emergency number `number` reaches, if it is one: as it is or
    /// behind a prefix the dial plan knows.
    fn emergency_number(&self, number: &str) -> Option<String> {
        if !dialable(number) {
            return None;
        }
        self.dialplan
            .emergency_candidates(number)
            .into_iter()
            .find(|c| {
                crate::numbering::is_emergency_number(c)
                    || self.bridge.emergency_numbers.iter().any(|e| e == c)
            })
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
        origin: Origin,
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
        let targets: Vec<String> = self
            .emergency_uris
            .iter()
            .map(|t| t.replace("{number}", &dial))
            .collect();
        if targets.is_empty() {
            alerts.push(Alert::NoTrunk);
        }
        Decision::Emergency(EmergencyCall {
            number,
            dialled: dialled.to_string(),
            dial,
            targets,
            presented_cli,
            building,
            from,
            from_unit: origin == Origin::Unit,
            kind,
            alerts,
        })
    }

    /// The `[sip.routing]` route a number is listed under, in any of the
    /// forms it may be written in.
    fn fax_route(&self, number: &str) -> Option<&str> {
        let mut forms = self.dialplan.match_keys(number);
        forms.push(number.to_string());
        forms.iter().find_map(|f| self.fax.route(Some(f)))
    }

    fn port_call(&self, req: &CallRequest<'_>) -> Decision {
        let Some(port) = self.port_of(req) else {
            let unit = self
                .inventory
                .unit_by_ip(req.source)
                .map_or("?", |u| u.name.as_str());
            return refuse(
                403,
                format!(
                    "unit {unit:?} has no port with SIP user {:?}; add it to [[ata.ports]]",
                    req.from_user
                ),
            );
        };
        let Some(from) = self.port_ref(port) else {
            return refuse(403, format!("port {} has no unit", port.number));
        };
        // Hot and warm dial decide the number; it may be 999 (a lift line).
        let resolved = match dial::resolve(port, req.called, &self.bridge.warm_dial_marker) {
            Ok(r) => r,
            Err(e) => return refuse(e.status(), e.to_string()),
        };
        if let Some(number) = self.emergency_number(&resolved.number) {
            return self.emergency(
                req,
                Origin::Unit,
                number,
                &resolved.number,
                Some(port),
                resolved.kind,
            );
        }
        let number = resolved.number;
        let kind = resolved.kind;
        // 2. Another bridged port.
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
                kind,
            });
        }
        // 3. A number listed for fax.
        if let Some(route) = self.fax_route(&number) {
            return Decision::Fax(FaxCall {
                from: Some(from),
                did: number,
                route: route.to_string(),
                kind,
            });
        }
        // 4. The trunk, within the port's policy.
        let n = match self.dialplan.normalise(&number) {
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
        let policy = self
            .bridge
            .policy
            .for_port(&from.unit, from.port, from.role.as_str());
        if let Err(breach) = policy.check(&n, req.now) {
            return Decision::Refuse(policy_refusal(&number, &breach));
        }
        let Some(target) = self.trunk_target(&n.dial) else {
            return refuse(
                503,
                "no trunk is configured for calls from ports; set [outgoing] uri",
            );
        };
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
            limits: policy.limits(),
        })
    }

    fn network_call(&self, req: &CallRequest<'_>, origin: Origin, called: &str) -> Decision {
        let caller = normalize_number(req.from_user);
        let caller = (!caller.is_empty()).then_some(caller);
        if !called.is_empty() {
            // 3. A number listed for fax.
            if let Some(route) = self.fax_route(called) {
                return Decision::Fax(FaxCall {
                    from: None,
                    did: called.to_string(),
                    route: route.to_string(),
                    kind: DialKind::Dialled,
                });
            }
            // 5. A line's number rings its port.
            if let Some((line, to)) = self.line_for(called) {
                return Decision::ToPort(PortCall {
                    target: self.port_target(&to),
                    to,
                    did: line.number.clone(),
                    caller,
                    from: None,
                    kind: DialKind::Dialled,
                });
            }
        }
        // 6. The default fax route, for network calls only.
        if let Some(route) = &self.default_route {
            return Decision::Fax(FaxCall {
                from: None,
                did: called.to_string(),
                route: route.clone(),
                kind: DialKind::Dialled,
            });
        }
        if called.is_empty() {
            return refuse(
                404,
                "the INVITE names no number; the caller must put the called number in the Request-URI",
            );
        }
        let mut reason =
            format!("{called} is neither a port's number in [[bridge.lines]] nor a fax number");
        if origin == Origin::Peer && !self.inventory.units().is_empty() {
            reason.push_str(&format!(
                "; {} is no [[ata.units]] unit, so its calls are not put through to the trunk",
                req.source
            ));
        }
        refuse(404, reason)
    }

    /// The line and port whose number `number` is.
    fn line_for(&self, number: &str) -> Option<(&LineConfig, PortRef)> {
        let keys = self.dialplan.match_keys(number);
        self.bridge.lines.iter().find_map(|l| {
            let own = self.dialplan.match_keys(&l.number);
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
    use crate::numbering::TrunkFormat;
    use crate::numbering::policy::Weekday;

    const TRUNK: &str = "sip:{number}@192.0.2.1:5060";

    struct World {
        inventory: Inventory,
        dialplan: DialPlan,
        bridge: BridgeConfig,
        routes: Vec<RouteRule>,
        default_route: Option<String>,
        trunk: String,
        emergency: Vec<String>,
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
            default_route: None,
            trunk: TRUNK.into(),
            emergency: Vec::new(),
        }
    }

    const MONDAY_NOON: LocalTime = LocalTime {
        weekday: Weekday::Mon,
        minute: 12 * 60,
    };

    impl World {
        fn router(&self) -> Router {
            Router::new(
                self.inventory.clone(),
                self.dialplan.clone(),
                self.bridge.clone(),
                &self.routes,
                self.default_route.clone(),
                &self.trunk,
                &self.emergency,
            )
        }

        /// A call from `ip` (an ATA unit, or a peer that is not the trunk).
        fn port_call(&self, ip: &str, user: &str, dialled: &str) -> Decision {
            self.call(ip, Some("ata"), user, dialled)
        }

        /// A call from the trunk.
        fn trunk_call(&self, caller: &str, called: &str) -> Decision {
            self.call("192.0.2.1", Some("trunk"), caller, called)
        }

        fn call(&self, ip: &str, peer: Option<&str>, user: &str, called: &str) -> Decision {
            self.router().decide(&CallRequest {
                source: ip.parse().unwrap(),
                peer,
                from_user: user,
                called,
                now: MONDAY_NOON,
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
                e.targets.first().map(String::as_str),
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
        assert_eq!(
            e.targets.first().map(String::as_str),
            Some("sip:112@192.0.2.1:5060")
        );
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
        assert_eq!(
            e.targets.first().map(String::as_str),
            Some("sip:999@192.0.2.1:5060")
        );
    }

    #[test]
    fn emergency_without_a_trunk_is_still_an_emergency_decision() {
        let mut w = world();
        w.trunk = String::new();
        let e = emergency(w.port_call("10.1.2.3", "2001", "999"));
        assert!(e.targets.is_empty());
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
        let mut w = world();
        // A site whose ports may call abroad and directory enquiries.
        w.bridge.policy.international = true;
        w.bridge.policy.blocked_prefixes.clear();
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
                Decision::Fax(f) => {
                    assert_eq!(f.route, "accounts", "{dialled}");
                    assert_eq!(f.from.as_ref().unwrap().port, 1);
                }
                other => panic!("{dialled}: {other:?}"),
            }
        }
        match w.port_call("10.1.2.3", "2001", "5000") {
            Decision::Fax(f) => {
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
        // A source that is no unit is not a port: its call to an outside
        // number is not put through to the trunk.
        let r = refusal(w.port_call("192.0.2.50", "2001", "01223123456"));
        assert_eq!(r.status, 404);
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
            "441632960201",
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
            Decision::Fax(f) => {
                assert_eq!(f.route, "accounts");
                assert_eq!(f.from, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(refusal(w.trunk_call("x", "+441632960999")).status, 404);
        for near in ["01632960209", "201", "0", "960201"] {
            assert_eq!(refusal(w.trunk_call("x", near)).status, 404, "{near}");
        }
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
        let router = Router::new(inventory, dialplan, bridge, &[], None, TRUNK, &[]);
        let p = to_port(router.decide(&CallRequest {
            source: "192.0.2.1".parse().unwrap(),
            peer: Some("trunk"),
            from_user: "",
            called: "+441632960401",
            now: MONDAY_NOON,
        }));
        assert_eq!(p.target, "sip:2001@[2001:db8::5]:5060");
        let e = emergency(router.decide(&CallRequest {
            source: "2001:db8::5".parse().unwrap(),
            peer: None,
            from_user: "2001",
            called: "112",
            now: MONDAY_NOON,
        }));
        assert_eq!(e.presented_cli.as_deref(), Some("+441632960009"));
    }

    fn fax(d: Decision) -> FaxCall {
        match d {
            Decision::Fax(f) => f,
            other => panic!("expected a fax call, got {other:?}"),
        }
    }

    #[test]
    fn ports_never_take_the_default_fax_route() {
        let mut w = world();
        w.default_route = Some("inbox".into());
        // Emergency calls from two buildings reach the trunk with each
        // building's CLI, never the fax inbox.
        for (ip, user, cli) in [
            ("10.1.2.3", "2001", "+441632960001"),
            ("10.2.0.9", "2001", "+441632960002"),
        ] {
            for number in ["999", "112"] {
                let e = emergency(w.port_call(ip, user, number));
                assert_eq!(e.presented_cli.as_deref(), Some(cli), "{ip} {number}");
                assert!(e.from_unit);
            }
        }
        // A port's ordinary call goes to the trunk with its line number.
        let t = trunk(w.port_call("10.1.2.3", "2001", "01223 123456"));
        assert_eq!(t.presented_cli.as_deref(), Some("+441632960201"));
        // A port's call to another port rings it.
        let p = to_port(w.port_call("10.1.2.3", "2001", "+441632960301"));
        assert_eq!(p.to.unit, "depot");
        // An incomplete number from a port is refused, not faxed.
        assert_eq!(refusal(w.port_call("10.1.2.3", "2001", "0122")).status, 484);
        // Network calls: a line's number rings the port, anything else
        // takes the default route.
        assert_eq!(to_port(w.trunk_call("x", "+441632960201")).to.port, 1);
        assert_eq!(fax(w.trunk_call("x", "+441632960999")).route, "inbox");
        assert_eq!(fax(w.trunk_call("x", "")).route, "inbox");
        assert_eq!(
            fax(w.call("192.0.2.7", Some("pbx"), "x", "7000")).route,
            "inbox"
        );
        // A network call to 999 is no call from a port: the trunk never
        // has it sent back, and it takes the default route like any number.
        assert_eq!(fax(w.trunk_call("x", "999")).route, "inbox");
    }

    #[test]
    fn the_order_port_to_port_then_fax_then_trunk() {
        let mut w = world();
        // A number both a line's and listed for fax.
        w.routes.push(RouteRule {
            did: "+441632960301".into(),
            route: "depot-fax".into(),
        });
        // From a port: the port is rung (rule 2 before rule 3).
        assert_eq!(
            to_port(w.port_call("10.1.2.3", "2001", "+441632960301"))
                .to
                .unit,
            "depot"
        );
        // From the network: the number is faxbridge's (rule 3 before 5).
        assert_eq!(fax(w.trunk_call("x", "+441632960301")).route, "depot-fax");
        // A listed fax number from a port is answered by faxbridge even
        // when the policy would refuse the trunk.
        w.bridge.policy.blocked_prefixes = vec!["0".into()];
        assert_eq!(
            fax(w.port_call("10.1.2.3", "2001", "01632 960500")).route,
            "accounts"
        );
    }

    #[test]
    fn emergency_calls_from_units_need_no_admission() {
        let w = world();
        let e = emergency(w.call("10.1.2.3", None, "2001", "999"));
        assert!(e.from_unit);
        assert_eq!(e.presented_cli.as_deref(), Some("+441632960001"));
        // From an admitted peer that is no unit: still an emergency call,
        // but not one the endpoint admits without the peer list.
        let e = emergency(w.call("10.1.9.9", Some("pbx"), "x", "112"));
        assert!(!e.from_unit);
        assert_eq!(e.building.as_deref(), Some("HO"));
    }

    #[test]
    fn configured_emergency_numbers_and_trunks() {
        let mut w = world();
        assert_eq!(
            trunk(w.port_call("10.1.2.3", "2001", "911")).dial,
            "911",
            "not an emergency number here"
        );
        w.bridge.emergency_numbers = vec!["911".into()];
        w.emergency = vec![
            "sip:{number}@198.51.100.1".into(),
            " ".into(),
            "sip:{number}@198.51.100.2;transport=tcp".into(),
        ];
        let e = emergency(w.port_call("10.1.2.3", "2001", "911"));
        assert_eq!(
            e.targets,
            ["sip:911@198.51.100.1", "sip:911@198.51.100.2;transport=tcp"]
        );
        // Without emergency_uris, the trunk.
        let w = world();
        assert_eq!(
            emergency(w.port_call("10.1.2.3", "2001", "999")).targets,
            ["sip:999@192.0.2.1:5060"]
        );
    }

    #[test]
    fn toll_fraud_policy_refuses_with_the_rule() {
        let mut w = world();
        let cases: [(&str, &str, Option<&str>); 6] = [
            ("2001", "0906 123 4567", Some("blocked_prefixes")),
            ("2001", "118 118", Some("blocked_prefixes")),
            ("2001", "+33 1 23 45 67 89", Some("international")),
            ("2001", "0033 1 23 45 67 89", Some("international")),
            ("2001", "01223 123456", None),
            ("2001", "999", None),
        ];
        for (user, number, rule) in cases {
            match (w.port_call("10.1.2.3", user, number), rule) {
                (Decision::Refuse(r), Some(rule)) => {
                    assert_eq!((r.status, r.rule), (403, Some(rule)), "{number}");
                    assert!(r.reason.contains(rule), "{}", r.reason);
                }
                (Decision::ToTrunk(_) | Decision::Emergency(_), None) => {}
                (other, _) => panic!("{number}: {other:?}"),
            }
        }
        // A hot-dial number is subject to it too.
        let mut world_hot = world();
        world_hot.bridge.policy.blocked_prefixes = vec!["01223".into()];
        assert_eq!(
            refusal(world_hot.port_call("10.1.2.3", "2003", "")).rule,
            Some("blocked_prefixes")
        );
        // Per role: card terminals may call their acquirer abroad.
        w.bridge.policy.roles.insert(
            "pdq".into(),
            crate::numbering::policy::PolicyOverride {
                international: Some(true),
                max_calls_per_hour: Some(30),
                ..Default::default()
            },
        );
        let t = trunk(w.port_call("10.1.2.3", "2002", "+33 1 23 45 67 89"));
        assert_eq!(
            t.limits,
            CallLimits {
                concurrent: 2,
                per_hour: 30
            }
        );
        assert_eq!(t.port_key(), "ho/2");
        // Hours: refused at night, but 999 always goes through.
        w.bridge.policy.hours = Some("07:00-19:00".into());
        let night = |called: &str| {
            w.router().decide(&CallRequest {
                source: "10.1.2.3".parse().unwrap(),
                peer: Some("ata"),
                from_user: "2001",
                called,
                now: LocalTime {
                    weekday: Weekday::Tue,
                    minute: 3 * 60,
                },
            })
        };
        assert_eq!(refusal(night("01223 123456")).rule, Some("hours"));
        assert_eq!(emergency(night("999")).number, "999");
    }
}

//! The ATA inventory: units, their FXS ports, and the buildings they stand in.
//!
//! Everything here is plain data read once from `[ata]` and looked up by the
//! SIP side without I/O. Two lookups matter for calls:
//!
//! * which unit and port an INVITE comes from (source IP, then the SIP user
//!   the port registers with), for hot/warm dial and the port's role;
//! * which building a 999/112 call comes from, by the longest subnet that
//!   holds the ATA's source address: UK emergency services locate a caller
//!   by the presented CLI, so each building presents its own emergency CLI.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::net::Cidr;
use crate::numbering::dialable;
use crate::problem::Problem;

/// What an analogue port is used for. PDQ (card terminal) ports matter for
/// PCI-DSS reporting; alarm panels must never be blocked by policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortRole {
    /// A fax machine.
    Fax,
    /// A telephone.
    Phone,
    /// A card payment terminal (PDQ) dialling its acquirer.
    Pdq,
    /// An alarm panel or lift line dialling a receiving centre.
    Alarm,
    /// Anything else (franking machine, door entry…).
    Other,
}

impl PortRole {
    /// Every role.
    pub const ALL: [PortRole; 5] = [
        PortRole::Fax,
        PortRole::Phone,
        PortRole::Pdq,
        PortRole::Alarm,
        PortRole::Other,
    ];

    /// The configuration word for the role.
    pub fn as_str(self) -> &'static str {
        match self {
            PortRole::Fax => "fax",
            PortRole::Phone => "phone",
            PortRole::Pdq => "pdq",
            PortRole::Alarm => "alarm",
            PortRole::Other => "other",
        }
    }
}

/// SNMP protocol version for one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnmpVersion {
    /// SNMPv2c: community string, GETBULK.
    V2c,
    /// SNMPv3 with the user-based security model (RFC 3414).
    V3,
}

/// SNMPv3 authentication protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthProtocol {
    /// HMAC-SHA-96 (RFC 3414), what Mediatrix units offer.
    Sha,
    /// HMAC-SHA-256 (RFC 7860).
    Sha256,
}

/// SNMPv3 privacy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivProtocol {
    /// No encryption (authNoPriv).
    None,
    /// AES-128 CFB (RFC 3826).
    Aes,
}

/// SNMP settings, given in `[ata.snmp]` for every unit and overridable per
/// unit in `[ata.units.snmp]` (only the keys written there change).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnmpOverride {
    /// `v2c` or `v3`.
    pub version: Option<SnmpVersion>,
    /// v2c community.
    pub community: Option<String>,
    /// v3 user name.
    pub user: Option<String>,
    /// v3 authentication protocol: `sha` or `sha256`.
    pub auth: Option<AuthProtocol>,
    /// v3 authentication passphrase (at least 8 characters, RFC 3414 §11.2).
    pub auth_password: Option<String>,
    /// v3 privacy protocol: `aes` or `none`.
    pub privacy: Option<PrivProtocol>,
    /// v3 privacy passphrase.
    pub privacy_password: Option<String>,
    /// v3 context name (RFC 3411 §3.3.1); Mediatrix units use the default,
    /// empty context.
    pub context: Option<String>,
    /// UDP port of the agent.
    pub port: Option<u16>,
    /// How long to wait for each response, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// How many times to resend a request that got no response.
    pub retries: Option<u32>,
}

/// The SNMP settings in force for one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnmpSettings {
    /// Protocol version.
    pub version: SnmpVersion,
    /// v2c community.
    pub community: String,
    /// v3 user name.
    pub user: String,
    /// v3 authentication protocol.
    pub auth: AuthProtocol,
    /// v3 authentication passphrase.
    pub auth_password: String,
    /// v3 privacy protocol.
    pub privacy: PrivProtocol,
    /// v3 privacy passphrase.
    pub privacy_password: String,
    /// v3 context name.
    pub context: String,
    /// UDP port of the agent.
    pub port: u16,
    /// Wait for each response.
    pub timeout_ms: u64,
    /// Resends after the first try.
    pub retries: u32,
}

impl Default for SnmpSettings {
    fn default() -> Self {
        SnmpSettings {
            version: SnmpVersion::V2c,
            community: "public".into(),
            user: String::new(),
            auth: AuthProtocol::Sha,
            auth_password: String::new(),
            privacy: PrivProtocol::Aes,
            privacy_password: String::new(),
            context: String::new(),
            port: 161,
            timeout_ms: 1000,
            retries: 2,
        }
    }
}

impl SnmpOverride {
    /// `self` laid over `base`.
    pub fn apply(&self, base: &SnmpSettings) -> SnmpSettings {
        SnmpSettings {
            version: self.version.unwrap_or(base.version),
            community: self.community.clone().unwrap_or(base.community.clone()),
            user: self.user.clone().unwrap_or(base.user.clone()),
            auth: self.auth.unwrap_or(base.auth),
            auth_password: self
                .auth_password
                .clone()
                .unwrap_or(base.auth_password.clone()),
            privacy: self.privacy.unwrap_or(base.privacy),
            privacy_password: self
                .privacy_password
                .clone()
                .unwrap_or(base.privacy_password.clone()),
            context: self.context.clone().unwrap_or(base.context.clone()),
            port: self.port.unwrap_or(base.port),
            timeout_ms: self.timeout_ms.unwrap_or(base.timeout_ms),
            retries: self.retries.unwrap_or(base.retries),
        }
    }
}

/// `[[ata.units]]`: one Mediatrix unit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitConfig {
    /// Unique name, used in logs and by `[[ata.ports]]`.
    pub name: String,
    /// The unit's IP address (SIP source, source of its bridged media, and
    /// SNMP agent).
    pub address: IpAddr,
    /// Model, e.g. `Mediatrix 4104`.
    #[serde(default)]
    pub model: String,
    /// Name of the `[[ata.buildings]]` entry it stands in.
    pub building: String,
    /// Firmware version the unit should run; a different one is reported.
    #[serde(default)]
    pub firmware: Option<String>,
    /// SNMP settings for this unit only.
    #[serde(default)]
    pub snmp: SnmpOverride,
}

/// Warm dial ("Delayed Hotline" on Mediatrix): no first digit within
/// `after_seconds` of going off-hook → call `number`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WarmDial {
    /// Number dialled when the timer runs out.
    pub number: String,
    /// Seconds without a first digit.
    pub after_seconds: u32,
}

/// `[[ata.ports]]`: one FXS port of a unit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortConfig {
    /// The unit's `name`.
    pub unit: String,
    /// Port number on the unit, from 1.
    pub number: u32,
    /// The line's id in MX-POTS-MIB's lineTable (default `Port<number>`,
    /// which is how DGW firmware names FXS lines).
    #[serde(default)]
    pub line: Option<String>,
    /// The SIP user (extension) the port registers and calls with.
    pub sip_user: String,
    /// What is plugged in.
    pub role: PortRole,
    /// Who answers for the line (team or person).
    #[serde(default)]
    pub owner: String,
    /// A card terminal takes payments on this line (PCI-DSS scope).
    #[serde(default)]
    pub takes_payments: bool,
    /// Hot dial ("Automatic Call" on Mediatrix): off-hook → call this number
    /// at once.
    #[serde(default)]
    pub hot_dial: Option<String>,
    /// Warm dial: off-hook without a digit for a while → call a number.
    #[serde(default)]
    pub warm_dial: Option<WarmDial>,
}

impl PortConfig {
    /// The lineTable index (`lineId`) of this port.
    pub fn line_id(&self) -> String {
        self.line
            .clone()
            .unwrap_or_else(|| format!("Port{}", self.number))
    }
}

/// `[[ata.buildings]]`: a site with its subnets and emergency CLI.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildingConfig {
    /// Unique name.
    pub name: String,
    /// Subnets the building's ATAs send from, e.g. `["10.1.0.0/16"]`.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Caller ID presented on 999/112 calls from this building: the number
    /// the emergency operator's address record is keyed on.
    pub emergency_cli: String,
}

/// `[ata.monitor]`: how the SNMP poller runs and judges.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// Poll every unit this often (seconds); 0 turns polling off.
    pub interval_secs: u64,
    /// A unit that started a firmware upgrade may be unreachable this long
    /// (seconds) before it is reported stuck.
    pub upgrade_window_secs: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            interval_secs: 60,
            upgrade_window_secs: 1800,
        }
    }
}

/// A building with parsed subnets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Building {
    /// Name.
    pub name: String,
    /// Parsed subnets (entries that did not parse are reported by
    /// validation and left out here).
    pub subnets: Vec<Cidr>,
    /// Emergency caller ID.
    pub emergency_cli: String,
}

/// The validated inventory with its lookups.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    units: Vec<UnitConfig>,
    ports: Vec<PortConfig>,
    buildings: Vec<Building>,
}

impl Inventory {
    /// Build the inventory from configuration (validation is separate:
    /// [`Inventory::problems`]).
    pub fn new(units: &[UnitConfig], ports: &[PortConfig], buildings: &[BuildingConfig]) -> Self {
        Inventory {
            units: units.to_vec(),
            ports: ports.to_vec(),
            buildings: buildings
                .iter()
                .map(|b| Building {
                    name: b.name.clone(),
                    subnets: b.subnets.iter().filter_map(|s| s.parse().ok()).collect(),
                    emergency_cli: b.emergency_cli.clone(),
                })
                .collect(),
        }
    }

    /// Every unit, in configuration order.
    pub fn units(&self) -> &[UnitConfig] {
        &self.units
    }

    /// Every building.
    pub fn buildings(&self) -> &[Building] {
        &self.buildings
    }

    /// The ports of one unit, by port number.
    pub fn ports_of(&self, unit: &str) -> Vec<&PortConfig> {
        let mut ports: Vec<_> = self.ports.iter().filter(|p| p.unit == unit).collect();
        ports.sort_by_key(|p| p.number);
        ports
    }

    /// The unit a SIP request with this source address comes from.
    pub fn unit_by_ip(&self, ip: IpAddr) -> Option<&UnitConfig> {
        let ip = ip.to_canonical();
        self.units.iter().find(|u| u.address == ip)
    }

    /// The port of `unit` that uses SIP user `sip_user`.
    pub fn port_by_user(&self, unit: &str, sip_user: &str) -> Option<&PortConfig> {
        self.ports
            .iter()
            .find(|p| p.unit == unit && p.sip_user == sip_user)
    }

    /// The unit and port behind a request from `ip` with SIP user `sip_user`.
    pub fn port_by_source(&self, ip: IpAddr, sip_user: &str) -> Option<(&UnitConfig, &PortConfig)> {
        let unit = self.unit_by_ip(ip)?;
        Some((unit, self.port_by_user(&unit.name, sip_user)?))
    }

    /// The building whose subnet holds `ip` most specifically (longest
    /// prefix), with its emergency CLI.
    pub fn emergency_cli_for(&self, ip: IpAddr) -> Option<(&Building, &str)> {
        self.buildings
            .iter()
            .flat_map(|b| b.subnets.iter().map(move |s| (b, s)))
            .filter(|(_, s)| s.contains(ip))
            .max_by_key(|(_, s)| s.prefix())
            .map(|(b, _)| (b, b.emergency_cli.as_str()))
    }

    /// Every inconsistency, each naming its key.
    pub fn problems(
        units: &[UnitConfig],
        ports: &[PortConfig],
        buildings: &[BuildingConfig],
    ) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key: String, problem: String, fix: &str| {
            out.push(Problem {
                key,
                problem,
                fix: fix.to_string(),
            })
        };

        let mut building_names = BTreeSet::new();
        let mut parsed: Vec<(String, String, Cidr)> = Vec::new();
        for (i, b) in buildings.iter().enumerate() {
            let key = format!("ata.buildings[{i}]");
            if b.name.trim().is_empty() {
                bad(
                    format!("{key}.name"),
                    "is empty".into(),
                    "give each building a name",
                );
            } else if !building_names.insert(b.name.as_str()) {
                bad(
                    format!("{key}.name"),
                    format!("building {:?} is listed twice", b.name),
                    "merge the two entries or rename one",
                );
            }
            if !dialable(&b.emergency_cli) {
                bad(
                    format!("{key}.emergency_cli"),
                    format!("{:?} is not a dialable number", b.emergency_cli),
                    "write the building's emergency caller ID, e.g. \"+441632960000\"",
                );
            }
            for (j, s) in b.subnets.iter().enumerate() {
                match Cidr::network(s) {
                    Ok(net) => parsed.push((b.name.clone(), format!("{key}.subnets[{j}]"), net)),
                    Err(e) => bad(
                        format!("{key}.subnets[{j}]"),
                        e.to_string(),
                        "write a CIDR block with the network address",
                    ),
                }
            }
        }
        // Nested subnets in different buildings are allowed (the longest
        // prefix wins); the same block twice, or a partial overlap within
        // one building, is a mistake. Two CIDR blocks either nest or are
        // disjoint, so only identical blocks and same-building nesting are
        // reported.
        for (a, (ba, ka, na)) in parsed.iter().enumerate() {
            for (bb, kb, nb) in parsed.iter().skip(a + 1) {
                if na.overlaps(nb) && (na.prefix() == nb.prefix() || ba == bb) {
                    bad(
                        kb.clone(),
                        format!("{nb} overlaps {na} ({ka}, building {ba:?})"),
                        "each address must map to one building; remove or narrow one block",
                    );
                }
            }
        }

        let mut unit_names = BTreeSet::new();
        let mut addresses = BTreeMap::new();
        for (i, u) in units.iter().enumerate() {
            let key = format!("ata.units[{i}]");
            if u.name.trim().is_empty() {
                bad(
                    format!("{key}.name"),
                    "is empty".into(),
                    "give each unit a name",
                );
            } else if !unit_names.insert(u.name.as_str()) {
                bad(
                    format!("{key}.name"),
                    format!("unit {:?} is listed twice", u.name),
                    "unit names must be unique",
                );
            }
            if let Some(other) = addresses.insert(u.address, u.name.as_str()) {
                bad(
                    format!("{key}.address"),
                    format!("{} is also the address of unit {other:?}", u.address),
                    "each unit has its own address; SIP requests are matched by source address",
                );
            }
            if !building_names.contains(u.building.as_str()) {
                bad(
                    format!("{key}.building"),
                    format!(
                        "names building {:?}, which is not in [[ata.buildings]]",
                        u.building
                    ),
                    "add the building or correct the name",
                );
            }
            let snmp = u.snmp.apply(&SnmpSettings::default());
            if snmp.timeout_ms == 0 {
                bad(
                    format!("{key}.snmp.timeout_ms"),
                    "is 0".into(),
                    "use at least 100; 1000 suits a LAN",
                );
            }
        }

        let mut port_keys = BTreeSet::new();
        let mut users = BTreeSet::new();
        for (i, p) in ports.iter().enumerate() {
            let key = format!("ata.ports[{i}]");
            if !unit_names.contains(p.unit.as_str()) {
                bad(
                    format!("{key}.unit"),
                    format!("names unit {:?}, which is not in [[ata.units]]", p.unit),
                    "add the unit or correct the name",
                );
            }
            if p.number == 0 {
                bad(
                    format!("{key}.number"),
                    "is 0; Mediatrix ports are numbered from 1".into(),
                    "write the port number printed on the unit",
                );
            }
            if !port_keys.insert((p.unit.as_str(), p.number)) {
                bad(
                    format!("{key}.number"),
                    format!("port {} of unit {:?} is listed twice", p.number, p.unit),
                    "list each port once",
                );
            }
            if p.sip_user.trim().is_empty() {
                bad(
                    format!("{key}.sip_user"),
                    "is empty".into(),
                    "write the SIP user name the port registers with",
                );
            } else if !users.insert((p.unit.as_str(), p.sip_user.as_str())) {
                bad(
                    format!("{key}.sip_user"),
                    format!("{:?} is used by two ports of unit {:?}", p.sip_user, p.unit),
                    "give each port its own SIP user",
                );
            }
            if let Some(n) = &p.hot_dial
                && !dialable(n)
            {
                bad(
                    format!("{key}.hot_dial"),
                    format!("{n:?} is not a dialable number"),
                    "write digits only, e.g. \"2000\"",
                );
            }
            if let Some(w) = &p.warm_dial {
                if !dialable(&w.number) {
                    bad(
                        format!("{key}.warm_dial.number"),
                        format!("{:?} is not a dialable number", w.number),
                        "write digits only, e.g. \"2000\"",
                    );
                }
                if w.after_seconds == 0 || w.after_seconds > 60 {
                    bad(
                        format!("{key}.warm_dial.after_seconds"),
                        format!("is {} s", w.after_seconds),
                        "use 1 to 60 s (0 s would be hot dial: use hot_dial instead)",
                    );
                }
                if p.hot_dial.is_some() {
                    bad(
                        format!("{key}.warm_dial"),
                        "is set together with hot_dial; a hot-dial port never waits for digits"
                            .into(),
                        "keep one of hot_dial and warm_dial",
                    );
                }
            }
            if p.takes_payments && p.role != PortRole::Pdq {
                bad(
                    format!("{key}.takes_payments"),
                    format!("is true on a {} port", p.role.as_str()),
                    "set role = \"pdq\" for card terminals",
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn building(name: &str, subnets: &[&str], cli: &str) -> BuildingConfig {
        BuildingConfig {
            name: name.into(),
            subnets: subnets.iter().map(|s| s.to_string()).collect(),
            emergency_cli: cli.into(),
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

    fn port(unit: &str, number: u32, user: &str, role: PortRole) -> PortConfig {
        PortConfig {
            unit: unit.into(),
            number,
            line: None,
            sip_user: user.into(),
            role,
            owner: "Accounts".into(),
            takes_payments: false,
            hot_dial: None,
            warm_dial: None,
        }
    }

    fn sample() -> (Vec<UnitConfig>, Vec<PortConfig>, Vec<BuildingConfig>) {
        (
            vec![
                unit("a1", "10.1.2.3", "A"),
                unit("b1", "10.2.0.9", "B"),
                unit("a-annex", "10.1.200.7", "Annex"),
            ],
            vec![
                port("a1", 1, "2001", PortRole::Fax),
                port("a1", 2, "2002", PortRole::Pdq),
                port("b1", 1, "2001", PortRole::Phone),
            ],
            vec![
                building("A", &["10.1.0.0/16"], "+441632960001"),
                building("B", &["10.2.0.0/16", "2001:db8:2::/48"], "+441632960002"),
                building("Annex", &["10.1.200.0/24"], "+441632960003"),
            ],
        )
    }

    fn keys(p: &[Problem]) -> Vec<&str> {
        p.iter().map(|p| p.key.as_str()).collect()
    }

    #[test]
    fn subnets_parse_and_match() {
        let s: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(s.contains("10.1.255.1".parse().unwrap()));
        assert!(!s.contains("10.2.0.1".parse().unwrap()));
        assert!(s.contains("::ffff:10.1.0.5".parse().unwrap()));
        assert!(!s.contains("2001:db8::1".parse().unwrap()));
        assert_eq!("192.0.2.7".parse::<Cidr>().unwrap().prefix(), 32);
        assert!(Cidr::network("10.1.0.1/16").is_err(), "host bits set");
        assert!(Cidr::network("10.1.0.0/33").is_err());
        assert!(Cidr::network("ten/8").is_err());
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        let wide: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(wide.overlaps(&s) && s.overlaps(&wide));
        assert!(!s.overlaps(&"10.2.0.0/16".parse().unwrap()));
    }

    #[test]
    fn sample_inventory_is_valid() {
        let (u, p, b) = sample();
        assert_eq!(Inventory::problems(&u, &p, &b), vec![]);
    }

    #[test]
    fn unit_and_port_by_source() {
        let (u, p, b) = sample();
        let inv = Inventory::new(&u, &p, &b);
        let ip = "10.1.2.3".parse().unwrap();
        assert_eq!(inv.unit_by_ip(ip).unwrap().name, "a1");
        assert_eq!(
            inv.unit_by_ip("::ffff:10.1.2.3".parse().unwrap())
                .unwrap()
                .name,
            "a1"
        );
        assert!(inv.unit_by_ip("10.1.2.4".parse().unwrap()).is_none());
        let (unit, port) = inv.port_by_source(ip, "2002").unwrap();
        assert_eq!((unit.name.as_str(), port.number), ("a1", 2));
        assert_eq!(port.role, PortRole::Pdq);
        // The same SIP user on another unit is another port.
        let (_, other) = inv
            .port_by_source("10.2.0.9".parse().unwrap(), "2001")
            .unwrap();
        assert_eq!((other.unit.as_str(), other.role), ("b1", PortRole::Phone));
        assert!(inv.port_by_source(ip, "2999").is_none());
        assert_eq!(
            inv.ports_of("a1")
                .iter()
                .map(|p| p.line_id())
                .collect::<Vec<_>>(),
            ["Port1", "Port2"]
        );
    }

    #[test]
    fn emergency_cli_by_longest_prefix() {
        let (u, p, b) = sample();
        let inv = Inventory::new(&u, &p, &b);
        let cli = |ip: &str| {
            inv.emergency_cli_for(ip.parse().unwrap())
                .map(|(b, cli)| (b.name.clone(), cli.to_string()))
        };
        assert_eq!(cli("10.1.2.3"), Some(("A".into(), "+441632960001".into())));
        // 10.1.200.0/24 (Annex) is inside 10.1.0.0/16 (A): the /24 wins.
        assert_eq!(
            cli("10.1.200.7"),
            Some(("Annex".into(), "+441632960003".into()))
        );
        assert_eq!(
            cli("2001:db8:2::99"),
            Some(("B".into(), "+441632960002".into()))
        );
        assert_eq!(cli("192.0.2.1"), None);
    }

    #[test]
    fn duplicates_and_unknown_names_are_reported() {
        let (mut u, mut p, mut b) = sample();
        u.push(unit("a1", "10.1.2.99", "Nowhere"));
        p.push(port("ghost", 1, "3001", PortRole::Fax));
        p.push(port("a1", 1, "2009", PortRole::Fax));
        p.push(port("a1", 3, "2001", PortRole::Fax));
        b.push(building("A", &[], "+441632960009"));
        let problems = Inventory::problems(&u, &p, &b);
        let k = keys(&problems);
        assert!(k.contains(&"ata.units[3].name"), "{problems:?}");
        assert!(k.contains(&"ata.units[3].building"), "{problems:?}");
        assert!(k.contains(&"ata.ports[3].unit"), "{problems:?}");
        assert!(k.contains(&"ata.ports[4].number"), "{problems:?}");
        assert!(k.contains(&"ata.ports[5].sip_user"), "{problems:?}");
        assert!(k.contains(&"ata.buildings[3].name"), "{problems:?}");
        assert!(problems.iter().all(|p| !p.fix.is_empty()));
    }

    #[test]
    fn subnet_problems() {
        let (u, p, mut b) = sample();
        b.push(building(
            "C",
            &["10.2.0.0/16", "10.3.0.0/33", "10.4.0.1/24"],
            "+441632960004",
        ));
        b.push(building(
            "D",
            &["10.9.0.0/16", "10.9.1.0/24"],
            "+441632960005",
        ));
        let problems = Inventory::problems(&u, &p, &b);
        let k = keys(&problems);
        assert!(k.contains(&"ata.buildings[3].subnets[0]"), "{problems:?}");
        assert!(k.contains(&"ata.buildings[3].subnets[1]"), "{problems:?}");
        assert!(k.contains(&"ata.buildings[3].subnets[2]"), "{problems:?}");
        assert!(k.contains(&"ata.buildings[4].subnets[1]"), "{problems:?}");
        // Annex's /24 nested in A's /16 is fine (different buildings).
        assert!(!k.contains(&"ata.buildings[2].subnets[0]"), "{problems:?}");
    }

    #[test]
    fn dial_settings_are_checked() {
        let (u, mut p, b) = sample();
        p[0].warm_dial = Some(WarmDial {
            number: "2000".into(),
            after_seconds: 0,
        });
        p[1].hot_dial = Some("20x0".into());
        p[2].hot_dial = Some("2000".into());
        p[2].warm_dial = Some(WarmDial {
            number: "2000".into(),
            after_seconds: 5,
        });
        p[2].takes_payments = true;
        let problems = Inventory::problems(&u, &p, &b);
        let k = keys(&problems);
        assert_eq!(
            k,
            [
                "ata.ports[0].warm_dial.after_seconds",
                "ata.ports[1].hot_dial",
                "ata.ports[2].warm_dial",
                "ata.ports[2].takes_payments"
            ],
            "{problems:?}"
        );
    }

    #[test]
    fn bad_emergency_cli_is_reported() {
        let (u, p, mut b) = sample();
        b[0].emergency_cli = "reception".into();
        let problems = Inventory::problems(&u, &p, &b);
        assert_eq!(keys(&problems), ["ata.buildings[0].emergency_cli"]);
    }
}

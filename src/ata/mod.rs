//! Mediatrix ATAs: the inventory of units and ports, and their monitoring.
//!
//! * [`inventory`]: units, ports (role, owner, hot/warm dial), buildings
//!   (subnets, emergency CLI) and the lookups the SIP side uses.
//! * [`status`]: what a poll found ([`status::Snapshot`]) and the pure
//!   judgement [`status::assess`] that turns it into a unit's state and events
//!   (unreachable, rebooted, port down, firmware mismatch, stuck upgrade).
//! * [`poller`]: SNMP (v2c/v3) reads of the system group and the Mediatrix
//!   DGW MIBs, and the monitor task that polls every unit on a timer.
//! * [`store`]: the last known state of each unit in the database, so
//!   `faxbridge lines` in another process can show it.

pub mod inventory;
pub mod poller;
pub mod status;
pub mod store;

use serde::Deserialize;

use crate::problem::{Problem, Validate};
pub use inventory::{
    Building, BuildingConfig, Inventory, MonitorConfig, PortConfig, PortRole, SnmpOverride,
    SnmpSettings, UnitConfig,
};

/// `[ata]`: the analogue adapters faxbridge serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AtaConfig {
    /// `[ata.snmp]`: SNMP settings for every unit (each unit may override).
    pub snmp: SnmpOverride,
    /// `[ata.monitor]`: polling interval and upgrade window.
    pub monitor: MonitorConfig,
    /// `[[ata.buildings]]`: sites, their subnets and emergency CLIs.
    pub buildings: Vec<BuildingConfig>,
    /// `[[ata.units]]`: the Mediatrix units.
    pub units: Vec<UnitConfig>,
    /// `[[ata.ports]]`: the FXS ports of the units.
    pub ports: Vec<PortConfig>,
}

impl AtaConfig {
    /// The inventory with its lookups.
    pub fn inventory(&self) -> Inventory {
        Inventory::new(&self.units, &self.ports, &self.buildings)
    }

    /// The SNMP settings for `unit`: `[ata.snmp]` with the unit's overrides.
    pub fn snmp_for(&self, unit: &UnitConfig) -> SnmpSettings {
        unit.snmp.apply(&self.snmp.apply(&SnmpSettings::default()))
    }
}

impl Validate for AtaConfig {
    /// Every value that cannot work.
    fn problems(&self) -> Vec<Problem> {
        let mut problems = Inventory::problems(&self.units, &self.ports, &self.buildings);
        let base = self.snmp.apply(&SnmpSettings::default());
        if base.timeout_ms == 0 {
            problems.push(Problem {
                key: "ata.snmp.timeout_ms".into(),
                problem: "is 0".into(),
                fix: "use at least 100; 1000 suits a LAN".into(),
            });
        }
        for (i, u) in self.units.iter().enumerate() {
            let s = self.snmp_for(u);
            let key = if u.snmp == SnmpOverride::default() {
                "ata.snmp".to_string()
            } else {
                format!("ata.units[{i}].snmp")
            };
            problems.extend(snmp_problems(&key, &s));
        }
        if self.monitor.interval_secs != 0 && self.monitor.interval_secs < 5 {
            problems.push(Problem {
                key: "ata.monitor.interval_secs".into(),
                problem: format!("is {} s", self.monitor.interval_secs),
                fix: "poll every 5 s or more (60 is the default), or 0 to turn polling off".into(),
            });
        }
        problems.dedup();
        problems
    }
}

/// SNMPv3 settings that cannot authenticate.
fn snmp_problems(key: &str, s: &SnmpSettings) -> Vec<Problem> {
    use inventory::{PrivProtocol, SnmpVersion};
    let mut out = Vec::new();
    let mut bad = |k: &str, problem: &str, fix: &str| {
        out.push(Problem {
            key: format!("{key}.{k}"),
            problem: problem.into(),
            fix: fix.into(),
        })
    };
    match s.version {
        SnmpVersion::V2c => {
            if s.community.is_empty() {
                bad("community", "is empty", "write the unit's read community");
            }
        }
        SnmpVersion::V3 => {
            if s.user.is_empty() {
                bad("user", "is empty for SNMPv3", "write the v3 user name");
            }
            // RFC 3414 §11.2: passphrases shorter than 8 octets are refused
            // by agents (Mediatrix among them).
            if s.auth_password.len() < 8 {
                bad(
                    "auth_password",
                    "is shorter than 8 characters",
                    "use the unit's v3 authentication passphrase (8 characters or more)",
                );
            }
            if s.privacy == PrivProtocol::Aes && s.privacy_password.len() < 8 {
                bad(
                    "privacy_password",
                    "is shorter than 8 characters",
                    "use the unit's v3 privacy passphrase, or privacy = \"none\"",
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const SAMPLE: &str = r#"
[ata.snmp]
community = "mxread"
timeout_ms = 500
retries = 1

[ata.monitor]
interval_secs = 30
upgrade_window_secs = 900

[[ata.buildings]]
name = "Head office"
subnets = ["10.1.0.0/16"]
emergency_cli = "+441632960001"

[[ata.units]]
name = "ho-1"
address = "10.1.2.3"
model = "Mediatrix 4104"
building = "Head office"
firmware = "48.1.2"

[[ata.units]]
name = "ho-2"
address = "10.1.2.4"
building = "Head office"
snmp = { version = "v3", user = "monitor", auth = "sha", auth_password = "authpass1", privacy = "aes", privacy_password = "privpass1" }

[[ata.ports]]
unit = "ho-1"
number = 1
sip_user = "2001"
role = "fax"
owner = "Accounts"

[[ata.ports]]
unit = "ho-1"
number = 2
sip_user = "2002"
role = "pdq"
owner = "Shop"
takes_payments = true
warm_dial = { number = "2000", after_seconds = 5 }
"#;

    #[test]
    fn sample_section_parses_and_validates() {
        let config = Config::parse(SAMPLE).unwrap();
        assert_eq!(config.ata.problems(), vec![]);
        let ata = &config.ata;
        assert_eq!(ata.units.len(), 2);
        let s1 = ata.snmp_for(&ata.units[0]);
        assert_eq!(
            (s1.community.as_str(), s1.timeout_ms, s1.retries),
            ("mxread", 500, 1)
        );
        let s2 = ata.snmp_for(&ata.units[1]);
        assert_eq!(s2.version, inventory::SnmpVersion::V3);
        assert_eq!((s2.user.as_str(), s2.timeout_ms), ("monitor", 500));
        assert_eq!(ata.ports[1].warm_dial.as_ref().unwrap().after_seconds, 5);
    }

    #[test]
    fn empty_section_is_valid() {
        assert_eq!(AtaConfig::default().problems(), vec![]);
    }

    #[test]
    fn short_v3_passphrases_are_reported() {
        let mut config = Config::parse(SAMPLE).unwrap();
        config.ata.units[1].snmp.auth_password = Some("short".into());
        let keys: Vec<_> = config.ata.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["ata.units[1].snmp.auth_password"]);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::parse("[[ata.units]]\nname = \"x\"\naddress = \"10.0.0.1\"\nbuilding = \"b\"\nfirmwre = \"1\"\n")
            .unwrap_err();
        assert!(err.contains("firmwre"), "{err}");
    }
}

//! What a poll of a unit found, and what it means.
//!
//! [`assess`] is the whole judgement and does no I/O: it compares a new
//! [`Snapshot`] with the unit's previous [`UnitStatus`] and returns the new
//! status with the [`AtaEvent`]s worth telling an operator. Events are edges
//! (a port that stays down is reported once); the status carries the
//! standing problems for displays.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
pub use crate::clock::Millis;

/// MX-POTS-MIB `lineState` of one FXS line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineState {
    /// On hook, ready (100).
    Idle,
    /// Off hook or in a call (200).
    InUse,
    /// Administratively disabled (300).
    Disabled,
    /// Bypass relay engaged: the line is patched to the bypass port (400).
    Bypass,
    /// Out of service, e.g. a hardware fault (500).
    Down,
    /// A value the MIB does not define.
    Unknown(i64),
}

impl LineState {
    /// From the MIB's integer.
    pub fn from_mib(v: i64) -> Self {
        match v {
            100 => LineState::Idle,
            200 => LineState::InUse,
            300 => LineState::Disabled,
            400 => LineState::Bypass,
            500 => LineState::Down,
            other => LineState::Unknown(other),
        }
    }

    /// The line cannot carry calls.
    pub fn is_fault(self) -> bool {
        matches!(
            self,
            LineState::Disabled | LineState::Down | LineState::Unknown(_)
        )
    }
}

impl fmt::Display for LineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineState::Idle => f.write_str("idle"),
            LineState::InUse => f.write_str("in use"),
            LineState::Disabled => f.write_str("disabled"),
            LineState::Bypass => f.write_str("bypass"),
            LineState::Down => f.write_str("down"),
            LineState::Unknown(v) => write!(f, "unknown ({v})"),
        }
    }
}

/// MX-SIPEP-MIB `registrationStatusState` of one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// 100.
    Unregistered,
    /// 200.
    Registering,
    /// 300.
    Registered,
    /// 400: a refresh is under way, still registered.
    Refreshing,
    /// 500.
    Unregistering,
    /// 600: the registrar did not answer.
    Unreachable,
    /// 700: credentials refused.
    AuthFailed,
    /// 800.
    Rejected,
    /// 900.
    ConfigError,
    /// 1000.
    InvalidResponse,
    /// A value the MIB does not define.
    Unknown(i64),
}

impl Registration {
    /// From the MIB's integer.
    pub fn from_mib(v: i64) -> Self {
        match v {
            100 => Registration::Unregistered,
            200 => Registration::Registering,
            300 => Registration::Registered,
            400 => Registration::Refreshing,
            500 => Registration::Unregistering,
            600 => Registration::Unreachable,
            700 => Registration::AuthFailed,
            800 => Registration::Rejected,
            900 => Registration::ConfigError,
            1000 => Registration::InvalidResponse,
            other => Registration::Unknown(other),
        }
    }

    /// Calls to the endpoint can be routed.
    pub fn is_registered(self) -> bool {
        matches!(self, Registration::Registered | Registration::Refreshing)
    }
}

impl fmt::Display for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Registration::Unregistered => "unregistered",
            Registration::Registering => "registering",
            Registration::Registered => "registered",
            Registration::Refreshing => "refreshing",
            Registration::Unregistering => "unregistering",
            Registration::Unreachable => "registrar unreachable",
            Registration::AuthFailed => "auth failed",
            Registration::Rejected => "rejected",
            Registration::ConfigError => "config error",
            Registration::InvalidResponse => "invalid response",
            Registration::Unknown(v) => return write!(f, "unknown ({v})"),
        };
        f.write_str(s)
    }
}

/// MX-FPU-MIB `status`: the firmware pack updater is installing (300),
/// rolling back (500) or waiting for a graceful restart (600). The unit will
/// restart and be unreachable for a while.
pub fn fpu_upgrading(status: i64) -> bool {
    matches!(status, 300 | 500 | 600)
}

/// What one poll read from a reachable unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// SNMPv2-MIB sysDescr.
    pub sys_descr: String,
    /// sysObjectID, dotted.
    pub sys_object_id: String,
    /// sysName.
    pub sys_name: String,
    /// sysUpTime in hundredths of a second.
    pub uptime_ticks: u32,
    /// Running firmware version (DGW firmware pack in use, or the older
    /// units' sysSoftwareVersion).
    pub firmware: Option<String>,
    /// MX-FPU-MIB `status`, when the unit has it.
    pub fpu_status: Option<i64>,
    /// MX-EPADM-MIB unitAdminState (100 unlocked, 200 shutting down,
    /// 300 locked).
    pub unit_admin_state: Option<i64>,
    /// MX-EPADM-MIB unitOpState (1 enabled, 0 disabled).
    pub unit_op_state: Option<i64>,
    /// lineState by lineId (`Port1`…).
    pub lines: BTreeMap<String, LineState>,
    /// Registration state by endpoint (`Port1`…).
    pub registrations: BTreeMap<String, Registration>,
}

/// The result of polling one unit once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The unit's name.
    pub unit: String,
    /// When the poll finished.
    pub at: Millis,
    /// What was read, or why nothing could be.
    pub result: Result<Reading, String>,
}

/// What the monitor knows about one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitStatus {
    /// The unit's name.
    pub unit: String,
    /// The last poll got answers.
    pub reachable: bool,
    /// When the last poll ended.
    pub last_poll: Millis,
    /// When the unit last answered.
    pub last_seen: Option<Millis>,
    /// Since when it has not answered.
    pub unreachable_since: Option<Millis>,
    /// Why the last poll failed.
    pub error: Option<String>,
    /// The last reading that succeeded (kept while unreachable).
    pub reading: Option<Reading>,
    /// When the unit last booted, from sysUpTime.
    pub booted_at: Option<Millis>,
    /// A firmware upgrade was seen starting at this time and the unit has
    /// not come back from it yet.
    pub upgrading_since: Option<Millis>,
    /// Unreachable for longer than the upgrade window after an upgrade.
    pub stuck: bool,
    /// Standing problems, one sentence each.
    pub problems: Vec<String>,
}

/// Something about a unit that changed and that an operator should hear of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AtaEvent {
    /// The unit stopped answering SNMP.
    Unreachable {
        /// Unit name.
        unit: String,
        /// The poller's error.
        reason: String,
    },
    /// The unit answers again.
    Recovered {
        /// Unit name.
        unit: String,
        /// How long it was unreachable.
        after_ms: Millis,
    },
    /// sysUpTime went back (or the boot time moved): the unit restarted.
    Rebooted {
        /// Unit name.
        unit: String,
        /// Uptime before, hundredths of a second.
        previous_uptime: u32,
        /// Uptime now.
        uptime: u32,
    },
    /// A line became disabled, down or unknown.
    PortFault {
        /// Unit name.
        unit: String,
        /// lineId.
        line: String,
        /// New state.
        state: LineState,
    },
    /// A line that was faulty works again.
    PortRecovered {
        /// Unit name.
        unit: String,
        /// lineId.
        line: String,
        /// New state.
        state: LineState,
    },
    /// A configured port's line is missing from the unit's lineTable.
    PortMissing {
        /// Unit name.
        unit: String,
        /// lineId expected.
        line: String,
    },
    /// An endpoint lost (or never got) its SIP registration.
    RegistrationLost {
        /// Unit name.
        unit: String,
        /// Endpoint id.
        endpoint: String,
        /// New state.
        state: Registration,
    },
    /// An endpoint is registered again.
    RegistrationRestored {
        /// Unit name.
        unit: String,
        /// Endpoint id.
        endpoint: String,
    },
    /// The unit runs firmware other than the configured one.
    FirmwareMismatch {
        /// Unit name.
        unit: String,
        /// Configured version.
        expected: String,
        /// Running version.
        found: String,
    },
    /// The unit started installing firmware.
    UpgradeStarted {
        /// Unit name.
        unit: String,
    },
    /// The unit has been unreachable longer than the upgrade window after
    /// starting an upgrade: it needs hands on site.
    Stuck {
        /// Unit name.
        unit: String,
        /// Since when the upgrade started.
        since: Millis,
    },
}

impl AtaEvent {
    /// Error-level events need someone to act; the rest are warnings or
    /// good news.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            AtaEvent::Unreachable { .. } | AtaEvent::Stuck { .. } | AtaEvent::PortFault { .. }
        )
    }
}

impl fmt::Display for AtaEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AtaEvent::Unreachable { unit, reason } => {
                write!(f, "{unit}: unreachable ({reason})")
            }
            AtaEvent::Recovered { unit, after_ms } => {
                write!(f, "{unit}: reachable again after {} s", after_ms / 1000)
            }
            AtaEvent::Rebooted {
                unit,
                previous_uptime,
                uptime,
            } => write!(
                f,
                "{unit}: rebooted (uptime {} s, was {} s)",
                uptime / 100,
                previous_uptime / 100
            ),
            AtaEvent::PortFault { unit, line, state } => write!(f, "{unit}: {line} is {state}"),
            AtaEvent::PortRecovered { unit, line, state } => {
                write!(f, "{unit}: {line} is {state} again")
            }
            AtaEvent::PortMissing { unit, line } => {
                write!(f, "{unit}: {line} is not in the unit's line table")
            }
            AtaEvent::RegistrationLost {
                unit,
                endpoint,
                state,
            } => write!(f, "{unit}: {endpoint} SIP registration {state}"),
            AtaEvent::RegistrationRestored { unit, endpoint } => {
                write!(f, "{unit}: {endpoint} registered again")
            }
            AtaEvent::FirmwareMismatch {
                unit,
                expected,
                found,
            } => write!(f, "{unit}: runs firmware {found}, expected {expected}"),
            AtaEvent::UpgradeStarted { unit } => write!(f, "{unit}: firmware upgrade started"),
            AtaEvent::Stuck { unit, since } => write!(
                f,
                "{unit}: still unreachable after the upgrade window (upgrade seen at {})",
                crate::clock::format_utc(*since)
            ),
        }
    }
}

/// What [`assess`] needs to know about the unit's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// Firmware version the unit should run.
    pub firmware: Option<String>,
    /// lineIds of the configured ports.
    pub lines: Vec<String>,
    /// How long an upgrading unit may stay unreachable.
    pub upgrade_window_ms: Millis,
}

/// A boot time later than the previous one by more than this is a restart
/// that happened while the unit was not watched (poll jitter and clock
/// adjustments stay well below it).
const BOOT_SLACK_MS: Millis = 60_000;

/// TimeTicks wrap at 2^32 hundredths of a second (about 497 days).
const TICKS_WRAP_MS: Millis = (1 << 32) * 10;

/// Judge a new snapshot against the unit's previous status.
pub fn assess(
    previous: Option<&UnitStatus>,
    now: &Snapshot,
    expect: &Expectations,
) -> (UnitStatus, Vec<AtaEvent>) {
    let unit = now.unit.clone();
    let mut events = Vec::new();
    match &now.result {
        Err(reason) => {
            let unreachable_since = previous.and_then(|p| p.unreachable_since).unwrap_or(now.at);
            let upgrading_since = previous.and_then(|p| p.upgrading_since);
            let was_stuck = previous.is_some_and(|p| p.stuck);
            let stuck = upgrading_since
                .is_some_and(|since| now.at.saturating_sub(since) > expect.upgrade_window_ms);
            let was_reachable = previous.is_none_or(|p| p.reachable);
            if stuck && !was_stuck {
                events.push(AtaEvent::Stuck {
                    unit: unit.clone(),
                    since: upgrading_since.unwrap_or(now.at),
                });
            } else if was_reachable && upgrading_since.is_none() {
                events.push(AtaEvent::Unreachable {
                    unit: unit.clone(),
                    reason: reason.clone(),
                });
            }
            let mut problems = vec![if stuck {
                "stuck after a firmware upgrade: unreachable past the upgrade window".to_string()
            } else if upgrading_since.is_some() {
                "upgrading firmware (unreachable while it restarts)".to_string()
            } else {
                format!("unreachable: {reason}")
            }];
            problems.dedup();
            let status = UnitStatus {
                unit,
                reachable: false,
                last_poll: now.at,
                last_seen: previous.and_then(|p| p.last_seen),
                unreachable_since: Some(unreachable_since),
                error: Some(reason.clone()),
                reading: previous.and_then(|p| p.reading.clone()),
                booted_at: previous.and_then(|p| p.booted_at),
                upgrading_since,
                stuck,
                problems,
            };
            (status, events)
        }
        Ok(reading) => {
            if let Some(p) = previous
                && !p.reachable
            {
                events.push(AtaEvent::Recovered {
                    unit: unit.clone(),
                    after_ms: now.at - p.unreachable_since.unwrap_or(p.last_poll),
                });
            }
            let booted_at = now.at - Millis::from(reading.uptime_ticks) * 10;
            let prev_reading = previous.and_then(|p| p.reading.as_ref());
            if let (Some(p), Some(pr)) = (previous, prev_reading) {
                let went_back = reading.uptime_ticks < pr.uptime_ticks;
                let moved = p.booted_at.map_or(0, |b| booted_at - b);
                let wrapped = (moved - TICKS_WRAP_MS).abs() < BOOT_SLACK_MS;
                if !wrapped && (went_back || moved > BOOT_SLACK_MS) {
                    events.push(AtaEvent::Rebooted {
                        unit: unit.clone(),
                        previous_uptime: pr.uptime_ticks,
                        uptime: reading.uptime_ticks,
                    });
                }
            }

            let mut problems = Vec::new();
            let upgrading_now = reading.fpu_status.is_some_and(fpu_upgrading);
            let upgrading_since = if upgrading_now {
                let since = previous.and_then(|p| p.upgrading_since);
                if since.is_none() {
                    events.push(AtaEvent::UpgradeStarted { unit: unit.clone() });
                }
                problems.push("upgrading firmware".to_string());
                Some(since.unwrap_or(now.at))
            } else {
                None
            };

            if let (Some(expected), Some(found)) = (&expect.firmware, &reading.firmware)
                && expected != found
                && !upgrading_now
            {
                problems.push(format!("firmware {found}, expected {expected}"));
                let reported = prev_reading.and_then(|r| r.firmware.as_ref()) == Some(found)
                    && previous.is_some_and(|p| p.reachable);
                if !reported {
                    events.push(AtaEvent::FirmwareMismatch {
                        unit: unit.clone(),
                        expected: expected.clone(),
                        found: found.clone(),
                    });
                }
            }
            if reading.unit_admin_state.is_some_and(|s| s != 100) {
                problems.push("unit locked or shutting down (MX-EPADM unitAdminState)".into());
            }
            if reading.unit_op_state == Some(0) {
                problems.push("unit disabled (MX-EPADM unitOpState)".into());
            }

            let prev_line = |line: &str| prev_reading.and_then(|r| r.lines.get(line)).copied();
            for (line, state) in &reading.lines {
                let before = prev_line(line);
                if state.is_fault() {
                    problems.push(format!("{line} {state}"));
                    if before != Some(*state) {
                        events.push(AtaEvent::PortFault {
                            unit: unit.clone(),
                            line: line.clone(),
                            state: *state,
                        });
                    }
                } else if before.is_some_and(LineState::is_fault) {
                    events.push(AtaEvent::PortRecovered {
                        unit: unit.clone(),
                        line: line.clone(),
                        state: *state,
                    });
                }
            }
            for line in &expect.lines {
                if !reading.lines.contains_key(line) {
                    problems.push(format!("{line} not reported by the unit"));
                    let was_there = prev_reading.is_none_or(|r| r.lines.contains_key(line));
                    if was_there {
                        events.push(AtaEvent::PortMissing {
                            unit: unit.clone(),
                            line: line.clone(),
                        });
                    }
                }
            }
            for (endpoint, state) in &reading.registrations {
                let before = prev_reading.and_then(|r| r.registrations.get(endpoint));
                if !state.is_registered() {
                    problems.push(format!("{endpoint} SIP {state}"));
                    if before.is_none_or(|b| b.is_registered()) {
                        events.push(AtaEvent::RegistrationLost {
                            unit: unit.clone(),
                            endpoint: endpoint.clone(),
                            state: *state,
                        });
                    }
                } else if before.is_some_and(|b| !b.is_registered()) {
                    events.push(AtaEvent::RegistrationRestored {
                        unit: unit.clone(),
                        endpoint: endpoint.clone(),
                    });
                }
            }

            let status = UnitStatus {
                unit,
                reachable: true,
                last_poll: now.at,
                last_seen: Some(now.at),
                unreachable_since: None,
                error: None,
                reading: Some(reading.clone()),
                booted_at: Some(booted_at),
                upgrading_since,
                stuck: false,
                problems,
            };
            (status, events)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_795_600_000_000;

    fn reading(uptime: u32) -> Reading {
        Reading {
            sys_descr: "Mediatrix".into(),
            sys_object_id: "1.3.6.1.4.1.4935.1000.100.100.300".into(),
            sys_name: "ata".into(),
            uptime_ticks: uptime,
            firmware: Some("48.1.2".into()),
            fpu_status: Some(200),
            unit_admin_state: Some(100),
            unit_op_state: Some(1),
            lines: [
                ("Port1".to_string(), LineState::Idle),
                ("Port2".to_string(), LineState::InUse),
            ]
            .into(),
            registrations: [
                ("Port1".to_string(), Registration::Registered),
                ("Port2".to_string(), Registration::Registered),
            ]
            .into(),
        }
    }

    fn ok(at: Millis, r: Reading) -> Snapshot {
        Snapshot {
            unit: "ata1".into(),
            at,
            result: Ok(r),
        }
    }

    fn down(at: Millis) -> Snapshot {
        Snapshot {
            unit: "ata1".into(),
            at,
            result: Err("no response after 3 tries of 1000 ms".into()),
        }
    }

    fn expect() -> Expectations {
        Expectations {
            firmware: Some("48.1.2".into()),
            lines: vec!["Port1".into(), "Port2".into()],
            upgrade_window_ms: 600_000,
        }
    }

    #[test]
    fn healthy_unit_has_no_events() {
        let (s, ev) = assess(None, &ok(T0, reading(100_000)), &expect());
        assert!(ev.is_empty(), "{ev:?}");
        assert!(s.reachable && s.problems.is_empty(), "{s:?}");
        assert_eq!(s.booted_at, Some(T0 - 1_000_000));
        let (s2, ev) = assess(Some(&s), &ok(T0 + 60_000, reading(106_000)), &expect());
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(s2.last_seen, Some(T0 + 60_000));
    }

    #[test]
    fn unreachable_once_then_recovered() {
        let (s, _) = assess(None, &ok(T0, reading(100_000)), &expect());
        let (s, ev) = assess(Some(&s), &down(T0 + 60_000), &expect());
        assert!(matches!(&ev[..], [AtaEvent::Unreachable { .. }]), "{ev:?}");
        assert!(ev[0].is_error());
        assert!(!s.reachable);
        assert_eq!(s.last_seen, Some(T0));
        assert!(s.reading.is_some(), "the last reading is kept");
        let (s, ev) = assess(Some(&s), &down(T0 + 120_000), &expect());
        assert!(ev.is_empty(), "reported once: {ev:?}");
        assert_eq!(s.unreachable_since, Some(T0 + 60_000));
        let (s, ev) = assess(Some(&s), &ok(T0 + 180_000, reading(118_000)), &expect());
        assert_eq!(
            ev,
            [AtaEvent::Recovered {
                unit: "ata1".into(),
                after_ms: 120_000
            }]
        );
        assert!(s.reachable && s.unreachable_since.is_none());
    }

    #[test]
    fn first_poll_unreachable_is_reported() {
        let (s, ev) = assess(None, &down(T0), &expect());
        assert!(matches!(&ev[..], [AtaEvent::Unreachable { .. }]), "{ev:?}");
        assert!(s.problems[0].starts_with("unreachable"), "{s:?}");
    }

    #[test]
    fn uptime_going_back_is_a_reboot() {
        let (s, _) = assess(None, &ok(T0, reading(100_000)), &expect());
        let (_, ev) = assess(Some(&s), &ok(T0 + 60_000, reading(2_000)), &expect());
        assert_eq!(
            ev,
            [AtaEvent::Rebooted {
                unit: "ata1".into(),
                previous_uptime: 100_000,
                uptime: 2_000
            }]
        );
    }

    #[test]
    fn reboot_hidden_by_an_outage_is_found_by_boot_time() {
        let (s, _) = assess(None, &ok(T0, reading(100_000)), &expect());
        let (s, _) = assess(Some(&s), &down(T0 + 60_000), &expect());
        // Back 2 h later with an uptime of 1 h: larger than before, but the
        // unit booted 1 h ago, long after the first poll's boot time.
        let (_, ev) = assess(Some(&s), &ok(T0 + 7_200_000, reading(360_000)), &expect());
        assert!(
            ev.iter().any(|e| matches!(e, AtaEvent::Rebooted { .. })),
            "{ev:?}"
        );
    }

    #[test]
    fn uptime_wrap_is_not_a_reboot() {
        let (s, _) = assess(None, &ok(T0, reading(u32::MAX - 1_000)), &expect());
        let (_, ev) = assess(Some(&s), &ok(T0 + 60_000, reading(4_999)), &expect());
        assert!(ev.is_empty(), "{ev:?}");
    }

    #[test]
    fn port_faults_are_edges() {
        let (s, _) = assess(None, &ok(T0, reading(100_000)), &expect());
        let mut r = reading(106_000);
        r.lines.insert("Port2".into(), LineState::Disabled);
        let (s, ev) = assess(Some(&s), &ok(T0 + 60_000, r.clone()), &expect());
        assert_eq!(
            ev,
            [AtaEvent::PortFault {
                unit: "ata1".into(),
                line: "Port2".into(),
                state: LineState::Disabled
            }]
        );
        assert_eq!(s.problems, ["Port2 disabled"]);
        r.uptime_ticks = 112_000;
        let (s, ev) = assess(Some(&s), &ok(T0 + 120_000, r.clone()), &expect());
        assert!(ev.is_empty(), "{ev:?}");
        r.lines.insert("Port2".into(), LineState::Down);
        r.uptime_ticks = 118_000;
        let (s, ev) = assess(Some(&s), &ok(T0 + 180_000, r.clone()), &expect());
        assert!(
            matches!(
                &ev[..],
                [AtaEvent::PortFault {
                    state: LineState::Down,
                    ..
                }]
            ),
            "{ev:?}"
        );
        r.lines.insert("Port2".into(), LineState::Idle);
        r.uptime_ticks = 124_000;
        let (s, ev) = assess(Some(&s), &ok(T0 + 240_000, r), &expect());
        assert!(
            matches!(&ev[..], [AtaEvent::PortRecovered { .. }]),
            "{ev:?}"
        );
        assert!(s.problems.is_empty());
    }

    #[test]
    fn missing_configured_line_is_reported() {
        let mut e = expect();
        e.lines.push("Port3".into());
        let (s, ev) = assess(None, &ok(T0, reading(100_000)), &e);
        assert_eq!(
            ev,
            [AtaEvent::PortMissing {
                unit: "ata1".into(),
                line: "Port3".into()
            }]
        );
        assert_eq!(s.problems, ["Port3 not reported by the unit"]);
    }

    #[test]
    fn firmware_mismatch_reported_once() {
        let mut r = reading(100_000);
        r.firmware = Some("47.0.0".into());
        let (s, ev) = assess(None, &ok(T0, r.clone()), &expect());
        assert_eq!(
            ev,
            [AtaEvent::FirmwareMismatch {
                unit: "ata1".into(),
                expected: "48.1.2".into(),
                found: "47.0.0".into()
            }]
        );
        r.uptime_ticks = 106_000;
        let (s, ev) = assess(Some(&s), &ok(T0 + 60_000, r), &expect());
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(s.problems, ["firmware 47.0.0, expected 48.1.2"]);
    }

    #[test]
    fn registration_loss_and_return() {
        let (s, _) = assess(None, &ok(T0, reading(100_000)), &expect());
        let mut r = reading(106_000);
        r.registrations
            .insert("Port1".into(), Registration::AuthFailed);
        let (s, ev) = assess(Some(&s), &ok(T0 + 60_000, r.clone()), &expect());
        assert!(
            matches!(
                &ev[..],
                [AtaEvent::RegistrationLost {
                    state: Registration::AuthFailed,
                    ..
                }]
            ),
            "{ev:?}"
        );
        r.registrations
            .insert("Port1".into(), Registration::Refreshing);
        r.uptime_ticks = 112_000;
        let (_, ev) = assess(Some(&s), &ok(T0 + 120_000, r), &expect());
        assert!(
            matches!(&ev[..], [AtaEvent::RegistrationRestored { .. }]),
            "{ev:?}"
        );
    }

    #[test]
    fn upgrade_window_then_stuck() {
        let (s, _) = assess(None, &ok(T0, reading(100_000)), &expect());
        let mut r = reading(106_000);
        r.fpu_status = Some(300);
        r.firmware = Some("47.0.0".into());
        let (s, ev) = assess(Some(&s), &ok(T0 + 60_000, r), &expect());
        assert_eq!(
            ev,
            [AtaEvent::UpgradeStarted {
                unit: "ata1".into()
            }]
        );
        assert_eq!(s.upgrading_since, Some(T0 + 60_000));
        // Restarting: unreachable inside the window is expected, not alarmed.
        let (s, ev) = assess(Some(&s), &down(T0 + 120_000), &expect());
        assert!(ev.is_empty(), "{ev:?}");
        assert!(!s.stuck);
        let (s, ev) = assess(Some(&s), &down(T0 + 600_000), &expect());
        assert!(ev.is_empty(), "{ev:?}");
        // Past the window (600 s after the upgrade started): stuck, once.
        let (s, ev) = assess(Some(&s), &down(T0 + 700_000), &expect());
        assert_eq!(
            ev,
            [AtaEvent::Stuck {
                unit: "ata1".into(),
                since: T0 + 60_000
            }]
        );
        assert!(s.stuck && ev[0].is_error());
        let (s, ev) = assess(Some(&s), &down(T0 + 760_000), &expect());
        assert!(ev.is_empty(), "{ev:?}");
        // It comes back on the new firmware after a reboot.
        let (s, ev) = assess(Some(&s), &ok(T0 + 820_000, reading(3_000)), &expect());
        assert!(
            ev.iter().any(|e| matches!(e, AtaEvent::Recovered { .. })),
            "{ev:?}"
        );
        assert!(
            ev.iter().any(|e| matches!(e, AtaEvent::Rebooted { .. })),
            "{ev:?}"
        );
        assert!(!s.stuck && s.upgrading_since.is_none() && s.problems.is_empty());
    }

    #[test]
    fn mib_values_map() {
        assert_eq!(LineState::from_mib(300), LineState::Disabled);
        assert_eq!(LineState::from_mib(7), LineState::Unknown(7));
        assert!(LineState::Down.is_fault() && !LineState::Bypass.is_fault());
        assert_eq!(Registration::from_mib(300), Registration::Registered);
        assert!(!Registration::from_mib(600).is_registered());
        assert!(fpu_upgrading(300) && !fpu_upgrading(200));
    }
}

//! Toll-fraud policy: which numbers may be dialled, how many calls at once
//! and per hour, and at what time.
//!
//! A fax gateway that reaches the public network is a target: a hijacked
//! ATA account or a forgotten port can run up premium-rate and
//! international charges overnight. The same rules guard both ways out:
//!
//! * email-to-fax checks a recipient with [`check_number`] (blocked
//!   prefixes, and international numbers only for listed senders);
//! * the analogue bridge checks every call from a port with the port's
//!   [`PortPolicy`]: the number rules, the hours of the day, and the
//!   number of calls at once and in the last hour ([`CallCounter`]).
//!
//! Emergency numbers are never subject to any of it: the router decides
//! them before a policy is consulted, and [`PortPolicy::check`] is never
//! asked about them.
//!
//! A refusal is a [`Breach`] that names its rule (the configuration key)
//! and says in plain words what was refused; the bridge answers it with
//! `403 Forbidden` and a `Reason` header, intake with an SMTP reply.
//!
//! # Configuration
//!
//! `[bridge.policy]` holds the rules every port follows; a role
//! (`[bridge.policy.roles.pdq]`) or a single port
//! (`[bridge.policy.ports."ho-ata-1/2"]`) may override any of them, the
//! port's entry before its role's.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::{Normalised, NumberKind};
use crate::problem::Problem;

/// Prefixes blocked unless configured otherwise (UK): premium rate (09),
/// revenue-sharing 0871-0873, directory enquiries (118), personal numbers
/// (070), the usual targets of toll fraud.
pub const DEFAULT_BLOCKED_PREFIXES: [&str; 6] = ["09", "0871", "0872", "0873", "118", "070"];

/// The port role whose calls no default rule holds back.
const ALARM_ROLE: &str = "alarm";

/// Seconds in the window of the hourly limit.
const HOUR_SECS: u64 = 3600;

/// A rule a call or fax broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breach {
    /// The number starts with a blocked prefix.
    BlockedPrefix {
        /// The longest blocked prefix it starts with.
        prefix: String,
    },
    /// The number is abroad and calls abroad are not allowed.
    International,
    /// The call is outside the hours (or days) calls are allowed.
    OutsideHours {
        /// The allowed hours, as configured (`07:00-19:00`).
        hours: String,
    },
    /// As many calls as allowed are in progress.
    Concurrent {
        /// The limit.
        limit: u32,
    },
    /// As many calls as allowed were started in the last hour.
    Hourly {
        /// The limit.
        limit: u32,
        /// True for the first refusal in the current hour: the one to
        /// alert about (later ones would only repeat it).
        first: bool,
    },
}

impl Breach {
    /// The configuration key of the rule, for the log and `Reason`.
    pub fn rule(&self) -> &'static str {
        match self {
            Breach::BlockedPrefix { .. } => "blocked_prefixes",
            Breach::International => "international",
            Breach::OutsideHours { .. } => "hours",
            Breach::Concurrent { .. } => "max_concurrent_calls",
            Breach::Hourly { .. } => "max_calls_per_hour",
        }
    }
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Breach::BlockedPrefix { prefix } => write!(
                f,
                "numbers starting {prefix} ({}) are not dialled from here",
                describe_prefix(prefix)
            ),
            Breach::International => f.write_str("calls abroad are not allowed from here"),
            Breach::OutsideHours { hours } => {
                write!(f, "calls are allowed only {hours}")
            }
            Breach::Concurrent { limit } => {
                write!(
                    f,
                    "{limit} call(s) already in progress, the most allowed at once"
                )
            }
            Breach::Hourly { limit, .. } => {
                write!(
                    f,
                    "{limit} call(s) were made in the last hour, the most allowed"
                )
            }
        }
    }
}

/// What a blocked prefix is, in plain words.
pub fn describe_prefix(prefix: &str) -> &'static str {
    match prefix {
        p if p.starts_with("09") => "a premium-rate number",
        p if p.starts_with("087") => "a revenue-sharing (087) number",
        p if p.starts_with("118") => "a directory enquiries number",
        p if p.starts_with("070") => {
            "a personal number (070), often used to divert calls at high cost"
        }
        _ => "a blocked number",
    }
}

/// The number rules: a blocked prefix (longest first; matched on the
/// number as dialled at home, `00…` for abroad) refuses, then a number
/// abroad needs `international`. Extensions are never subject to them.
pub fn check_number(
    blocked_prefixes: &[String],
    international: bool,
    n: &Normalised,
) -> Result<(), Breach> {
    if n.kind == NumberKind::Extension {
        return Ok(());
    }
    if let Some(prefix) = blocked_prefixes
        .iter()
        .filter(|p| !p.is_empty() && n.national.starts_with(p.as_str()))
        .max_by_key(|p| p.len())
    {
        return Err(Breach::BlockedPrefix {
            prefix: prefix.clone(),
        });
    }
    if n.kind == NumberKind::International && !international {
        return Err(Breach::International);
    }
    Ok(())
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// Every day, Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// Short name, as configured.
    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        }
    }

    /// The day from Monday = 0.
    pub fn from_monday(days: u8) -> Weekday {
        Weekday::ALL[usize::from(days % 7)]
    }
}

/// The site's local time, for the hours rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Day of the week.
    pub weekday: Weekday,
    /// Minutes since local midnight (0-1439).
    pub minute: u16,
}

/// Hours of the day calls are allowed: `07:00-19:00`, or across midnight
/// `22:00-06:00`; `24:00` is the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    start: u16,
    end: u16,
}

impl Hours {
    /// Reads `HH:MM-HH:MM`; `None` when it is not that.
    pub fn parse(s: &str) -> Option<Hours> {
        let minute = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
        };
        let (a, b) = s.split_once('-')?;
        let (start, end) = (minute(a)?, minute(b)?);
        (start != end && start < 24 * 60).then_some(Hours { start, end })
    }

    /// True when `minute` (since midnight) lies inside.
    pub fn contains(&self, minute: u16) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

/// Per-port rules, after the role's and the port's overrides: what
/// [`PortPolicy::check`] and the call counter apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPolicy {
    /// Prefixes never dialled.
    pub blocked_prefixes: Vec<String>,
    /// Calls abroad allowed.
    pub international: bool,
    /// Calls at once (0: no limit).
    pub max_concurrent_calls: u32,
    /// Calls started in the last hour (0: no limit).
    pub max_calls_per_hour: u32,
    /// Hours calls are allowed, as configured; `None`: any time.
    pub hours: Option<String>,
    /// Days calls are allowed; empty: every day.
    pub days: Vec<Weekday>,
}

impl PortPolicy {
    /// The number and time rules for a call to `n` at `now` (the counts
    /// are [`CallCounter::admit`]'s).
    pub fn check(&self, n: &Normalised, now: LocalTime) -> Result<(), Breach> {
        check_number(&self.blocked_prefixes, self.international, n)?;
        let in_hours = self
            .hours
            .as_deref()
            .and_then(Hours::parse)
            .is_none_or(|h| h.contains(now.minute));
        let on_day = self.days.is_empty() || self.days.contains(&now.weekday);
        if !(in_hours && on_day) {
            return Err(Breach::OutsideHours {
                hours: self.describe_hours(),
            });
        }
        Ok(())
    }

    /// The limits the call counter applies.
    pub fn limits(&self) -> CallLimits {
        CallLimits {
            concurrent: self.max_concurrent_calls,
            per_hour: self.max_calls_per_hour,
        }
    }

    fn describe_hours(&self) -> String {
        let days = if self.days.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = self.days.iter().map(|d| d.as_str()).collect();
            format!(" on {}", names.join(","))
        };
        match &self.hours {
            Some(h) => format!("{h}{days}"),
            None => format!("at any hour{days}"),
        }
    }

    /// One line for `faxbridge lines` and the Lines page.
    pub fn summary(&self) -> String {
        let limit = |n: u32| {
            if n == 0 {
                "no limit".to_string()
            } else {
                n.to_string()
            }
        };
        let blocked = if self.blocked_prefixes.is_empty() {
            "none".to_string()
        } else {
            self.blocked_prefixes.join(" ")
        };
        format!(
            "blocked {blocked}; abroad {}; at once {}; per hour {}; {}",
            if self.international { "yes" } else { "no" },
            limit(self.max_concurrent_calls),
            limit(self.max_calls_per_hour),
            self.describe_hours(),
        )
    }
}

/// `[bridge.policy]`: the rules for calls from ATA ports to the trunk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Prefixes never dialled (as dialled at home: `09`, `0871`, `00…`).
    pub blocked_prefixes: Vec<String>,
    /// Whether ports may call abroad.
    pub international: bool,
    /// Calls at once per port (0: no limit).
    pub max_concurrent_calls: u32,
    /// Calls started per port within an hour (0: no limit); going over is
    /// alerted.
    pub max_calls_per_hour: u32,
    /// Hours calls are allowed, local time (`"07:00-19:00"`); unset: any.
    pub hours: Option<String>,
    /// Days calls are allowed (`["mon", "tue", …]`); empty: every day.
    pub days: Vec<Weekday>,
    /// Overrides per port role (`fax`, `phone`, `pdq`, `alarm`, `other`).
    pub roles: BTreeMap<String, PolicyOverride>,
    /// Overrides per port, keyed `"UNIT/PORT"` (`"ho-ata-1/2"`).
    pub ports: BTreeMap<String, PolicyOverride>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            blocked_prefixes: DEFAULT_BLOCKED_PREFIXES.map(String::from).to_vec(),
            international: false,
            max_concurrent_calls: 2,
            max_calls_per_hour: 120,
            hours: None,
            days: Vec::new(),
            roles: BTreeMap::new(),
            ports: BTreeMap::new(),
        }
    }
}

/// Any rule of `[bridge.policy]`, set for one role or port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverride {
    /// See [`PolicyConfig::blocked_prefixes`].
    pub blocked_prefixes: Option<Vec<String>>,
    /// See [`PolicyConfig::international`].
    pub international: Option<bool>,
    /// See [`PolicyConfig::max_concurrent_calls`].
    pub max_concurrent_calls: Option<u32>,
    /// See [`PolicyConfig::max_calls_per_hour`].
    pub max_calls_per_hour: Option<u32>,
    /// See [`PolicyConfig::hours`].
    pub hours: Option<String>,
    /// See [`PolicyConfig::days`].
    pub days: Option<Vec<Weekday>>,
}

impl PolicyOverride {
    fn apply(&self, p: &mut PortPolicy) {
        if let Some(v) = &self.blocked_prefixes {
            p.blocked_prefixes = v.clone();
        }
        if let Some(v) = self.international {
            p.international = v;
        }
        if let Some(v) = self.max_concurrent_calls {
            p.max_concurrent_calls = v;
        }
        if let Some(v) = self.max_calls_per_hour {
            p.max_calls_per_hour = v;
        }
        if let Some(v) = &self.hours {
            p.hours = Some(v.clone());
        }
        if let Some(v) = &self.days {
            p.days = v.clone();
        }
    }

    fn problems(&self, key: &str, out: &mut Vec<Problem>) {
        if let Some(p) = &self.blocked_prefixes {
            prefix_problems(&format!("{key}.blocked_prefixes"), p, out);
        }
        if let Some(h) = &self.hours {
            hours_problem(&format!("{key}.hours"), h, out);
        }
    }
}

fn prefix_problems(key: &str, prefixes: &[String], out: &mut Vec<Problem>) {
    for (i, p) in prefixes.iter().enumerate() {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            out.push(Problem::new(
                format!("{key}[{i}]"),
                format!("{p:?} is not a number prefix"),
                "write digits as dialled at home, e.g. \"09\" or \"00\" for every call abroad",
            ));
        }
    }
}

fn hours_problem(key: &str, hours: &str, out: &mut Vec<Problem>) {
    if Hours::parse(hours).is_none() {
        out.push(Problem::new(
            key,
            format!("{hours:?} is not a span of hours"),
            "write HH:MM-HH:MM in local time, e.g. \"07:00-19:00\" (\"22:00-06:00\" spans midnight)",
        ));
    }
}

impl PolicyConfig {
    /// The rules for port `port` of unit `unit`, whose role is `role`.
    ///
    /// Alarm panels and lift lines (role `alarm`) must reach their
    /// receiving centre whenever they call: they start from no rules at
    /// all, and only what `[bridge.policy.roles.alarm]` or their port's
    /// entry sets applies to them.
    pub fn for_port(&self, unit: &str, port: u32, role: &str) -> PortPolicy {
        let mut p = if role == ALARM_ROLE {
            PortPolicy {
                blocked_prefixes: Vec::new(),
                international: true,
                max_concurrent_calls: 0,
                max_calls_per_hour: 0,
                hours: None,
                days: Vec::new(),
            }
        } else {
            PortPolicy {
                blocked_prefixes: self.blocked_prefixes.clone(),
                international: self.international,
                max_concurrent_calls: self.max_concurrent_calls,
                max_calls_per_hour: self.max_calls_per_hour,
                hours: self.hours.clone(),
                days: self.days.clone(),
            }
        };
        if let Some(o) = self.roles.get(role) {
            o.apply(&mut p);
        }
        if let Some(o) = self.ports.get(&port_key(unit, port)) {
            o.apply(&mut p);
        }
        p
    }

    /// Every value that cannot work, keys under `section` (`bridge.policy`);
    /// `roles` are the role names there are, `ports` the `UNIT/PORT` keys.
    pub fn problems(&self, section: &str, roles: &[&str], ports: &[String]) -> Vec<Problem> {
        let mut out = Vec::new();
        prefix_problems(
            &format!("{section}.blocked_prefixes"),
            &self.blocked_prefixes,
            &mut out,
        );
        if let Some(h) = &self.hours {
            hours_problem(&format!("{section}.hours"), h, &mut out);
        }
        for (role, o) in &self.roles {
            let key = format!("{section}.roles.{role}");
            if !roles.contains(&role.as_str()) {
                out.push(Problem::new(
                    &key,
                    format!("{role:?} is not a port role"),
                    format!("use one of {}", roles.join(", ")),
                ));
            }
            o.problems(&key, &mut out);
        }
        for (port, o) in &self.ports {
            let key = format!("{section}.ports.\"{port}\"");
            if !ports.contains(port) {
                out.push(Problem::new(
                    &key,
                    format!("{port:?} is not a port of [[ata.ports]]"),
                    "write the unit's name and the port's number, e.g. \"ho-ata-1/2\"",
                ));
            }
            o.problems(&key, &mut out);
        }
        out
    }
}

/// The key of a port in `[bridge.policy.ports]` and in the call counter.
pub fn port_key(unit: &str, port: u32) -> String {
    format!("{unit}/{port}")
}

/// The limits of [`CallCounter::admit`]; 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    /// Calls at once.
    pub concurrent: u32,
    /// Calls started within an hour.
    pub per_hour: u32,
}

#[derive(Debug, Default)]
struct Usage {
    active: u32,
    /// Start times (seconds) within the last hour, oldest first.
    starts: VecDeque<u64>,
    /// When the hourly limit was last alerted.
    alerted_at: Option<u64>,
}

/// Calls in progress and started within the last hour, per key (a port),
/// shared by every call task. Time is passed in.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    inner: Arc<Mutex<HashMap<String, Usage>>>,
}

/// One admitted call, counted as in progress until dropped.
#[derive(Debug)]
pub struct CallSlot {
    counter: Arc<Mutex<HashMap<String, Usage>>>,
    key: String,
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        let mut map = self.counter.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(u) = map.get_mut(&self.key) {
            u.active = u.active.saturating_sub(1);
        }
    }
}

impl CallCounter {
    /// A counter with nothing counted.
    pub fn new() -> CallCounter {
        CallCounter::default()
    }

    /// Admit one more call for `key` at `now_secs` within `limits`, or say
    /// which limit it would break. A refused call is not counted.
    pub fn admit(&self, key: &str, limits: CallLimits, now_secs: u64) -> Result<CallSlot, Breach> {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let u = map.entry(key.to_string()).or_default();
        while u.starts.front().is_some_and(|&t| t + HOUR_SECS <= now_secs) {
            u.starts.pop_front();
        }
        if limits.concurrent > 0 && u.active >= limits.concurrent {
            return Err(Breach::Concurrent {
                limit: limits.concurrent,
            });
        }
        if limits.per_hour > 0 && u.starts.len() >= limits.per_hour as usize {
            let first = u.alerted_at.is_none_or(|t| t + HOUR_SECS <= now_secs);
            if first {
                u.alerted_at = Some(now_secs);
            }
            return Err(Breach::Hourly {
                limit: limits.per_hour,
                first,
            });
        }
        u.active += 1;
        u.starts.push_back(now_secs);
        Ok(CallSlot {
            counter: self.inner.clone(),
            key: key.to_string(),
        })
    }

    /// Calls of `key` in progress, and started within the hour before
    /// `now_secs`.
    pub fn usage(&self, key: &str, now_secs: u64) -> (u32, u32) {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).map_or((0, 0), |u| {
            let recent = u
                .starts
                .iter()
                .filter(|&&t| t + HOUR_SECS > now_secs)
                .count();
            (u.active, recent as u32)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numbering::DialPlan;

    fn n(written: &str) -> Normalised {
        DialPlan {
            extension_lengths: vec![4],
            ..DialPlan::default()
        }
        .normalise(written)
        .unwrap()
    }

    fn at(weekday: Weekday, hh: u16, mm: u16) -> LocalTime {
        LocalTime {
            weekday,
            minute: hh * 60 + mm,
        }
    }

    fn defaults() -> PortPolicy {
        PolicyConfig::default().for_port("u", 1, "phone")
    }

    #[test]
    fn number_rules_table() {
        let monday_noon = at(Weekday::Mon, 12, 0);
        let p = defaults();
        let cases: [(&str, Result<(), &str>); 9] = [
            ("01223 123456", Ok(())),
            ("+44 1223 123456", Ok(())),
            ("2001", Ok(())),
            ("0906 123 4567", Err("blocked_prefixes")),
            ("0871 123 4567", Err("blocked_prefixes")),
            ("118 118", Err("blocked_prefixes")),
            ("07000 123456", Err("blocked_prefixes")),
            ("+33 1 23 45 67 89", Err("international")),
            ("0033 1 23 45 67 89", Err("international")),
        ];
        for (number, want) in cases {
            let got = p.check(&n(number), monday_noon).map_err(|b| b.rule());
            assert_eq!(got, want, "{number}");
        }
    }

    #[test]
    fn longest_blocked_prefix_is_named_and_explained() {
        let blocked = vec!["0".to_string(), "09".into(), "0906".into()];
        let err = check_number(&blocked, true, &n("0906 123 4567")).unwrap_err();
        assert_eq!(
            err,
            Breach::BlockedPrefix {
                prefix: "0906".into()
            }
        );
        assert!(err.to_string().contains("premium-rate"), "{err}");
        // A prefix for every call abroad blocks them even when allowed.
        let err = check_number(&["00".into()], true, &n("+33 1 23 45 67 89")).unwrap_err();
        assert_eq!(err.rule(), "blocked_prefixes");
    }

    #[test]
    fn role_and_port_override_in_that_order() {
        let cfg: PolicyConfig = toml::from_str(
            r#"
            max_calls_per_hour = 10
            [roles.pdq]
            international = true
            max_calls_per_hour = 60
            [ports."ho/2"]
            max_calls_per_hour = 5
            blocked_prefixes = []
            "#,
        )
        .unwrap();
        let phone = cfg.for_port("ho", 1, "phone");
        assert!(!phone.international);
        assert_eq!(phone.max_calls_per_hour, 10);
        let pdq = cfg.for_port("ho", 3, "pdq");
        assert!(pdq.international);
        assert_eq!(pdq.max_calls_per_hour, 60);
        assert_eq!(
            pdq.blocked_prefixes,
            DEFAULT_BLOCKED_PREFIXES.map(String::from)
        );
        let port = cfg.for_port("ho", 2, "pdq");
        assert!(port.international, "the role's rule stays");
        assert_eq!(port.max_calls_per_hour, 5, "the port's rule wins");
        assert!(port.blocked_prefixes.is_empty());
        assert!(
            port.check(&n("0906 123 4567"), at(Weekday::Sun, 3, 0))
                .is_ok()
        );
    }

    #[test]
    fn alarm_lines_start_from_no_rules() {
        let cfg: PolicyConfig = toml::from_str("hours = \"07:00-19:00\"").unwrap();
        let alarm = cfg.for_port("u", 1, "alarm");
        assert!(
            alarm
                .check(&n("+33 1 23 45 67 89"), at(Weekday::Sun, 3, 0))
                .is_ok()
        );
        assert_eq!(
            alarm.limits(),
            CallLimits {
                concurrent: 0,
                per_hour: 0
            }
        );
        let cfg: PolicyConfig =
            toml::from_str("[roles.alarm]\nblocked_prefixes = [\"09\"]").unwrap();
        let alarm = cfg.for_port("u", 1, "alarm");
        assert_eq!(alarm.blocked_prefixes, ["09"]);
        assert_eq!(
            alarm.max_calls_per_hour, 0,
            "only what the role sets applies"
        );
    }

    #[test]
    fn hours_and_days() {
        let day = PortPolicy {
            hours: Some("07:00-19:00".into()),
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            ..defaults()
        };
        let local = n("01223 123456");
        for (when, ok) in [
            (at(Weekday::Mon, 7, 0), true),
            (at(Weekday::Fri, 18, 59), true),
            (at(Weekday::Fri, 19, 0), false),
            (at(Weekday::Tue, 6, 59), false),
            (at(Weekday::Sat, 12, 0), false),
        ] {
            let r = day.check(&local, when);
            assert_eq!(r.is_ok(), ok, "{when:?}");
            if let Err(e) = r {
                assert_eq!(e.rule(), "hours");
                assert!(
                    e.to_string().contains("07:00-19:00 on mon,tue,wed,thu,fri"),
                    "{e}"
                );
            }
        }
        let night = Hours::parse("22:00-06:00").unwrap();
        assert!(night.contains(23 * 60));
        assert!(night.contains(5 * 60 + 59));
        assert!(!night.contains(6 * 60));
        assert!(Hours::parse("00:00-24:00").unwrap().contains(23 * 60 + 59));
        for bad in [
            "7-19",
            "07:00",
            "25:00-26:00",
            "07:00-07:00",
            "07:60-08:00",
            "",
        ] {
            assert!(Hours::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn counter_limits_calls_at_once_and_per_hour() {
        let c = CallCounter::new();
        let limits = CallLimits {
            concurrent: 2,
            per_hour: 3,
        };
        let a = c.admit("u/1", limits, 1000).unwrap();
        let b = c.admit("u/1", limits, 1001).unwrap();
        assert_eq!(
            c.admit("u/1", limits, 1002).unwrap_err(),
            Breach::Concurrent { limit: 2 }
        );
        assert!(c.admit("u/2", limits, 1002).is_ok(), "ports count apart");
        drop(a);
        assert_eq!(c.usage("u/1", 1003), (1, 2));
        let _c3 = c.admit("u/1", limits, 1003).unwrap();
        drop(b);
        // Three started within the hour: the fourth is refused, alerted once.
        assert_eq!(
            c.admit("u/1", limits, 1004).unwrap_err(),
            Breach::Hourly {
                limit: 3,
                first: true
            }
        );
        assert_eq!(
            c.admit("u/1", limits, 1005).unwrap_err(),
            Breach::Hourly {
                limit: 3,
                first: false
            }
        );
        // An hour after the first start, one slot is free again.
        assert!(c.admit("u/1", limits, 1000 + HOUR_SECS).is_ok());
        let unlimited = CallLimits {
            concurrent: 0,
            per_hour: 0,
        };
        let many: Vec<_> = (0..50)
            .map(|i| c.admit("u/9", unlimited, 2000 + i).unwrap())
            .collect();
        assert_eq!(c.usage("u/9", 2100).0, 50);
        drop(many);
        assert_eq!(c.usage("u/9", 2100).0, 0);
    }

    #[test]
    fn problems_name_keys() {
        let cfg: PolicyConfig = toml::from_str(
            r#"
            blocked_prefixes = ["09", "x"]
            hours = "9-5"
            [roles.kiosk]
            [roles.pdq]
            hours = "later"
            [ports."ghost/1"]
            "#,
        )
        .unwrap();
        let keys: Vec<String> = cfg
            .problems("bridge.policy", &["fax", "phone", "pdq"], &["ho/1".into()])
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(
            keys,
            [
                "bridge.policy.blocked_prefixes[1]",
                "bridge.policy.hours",
                "bridge.policy.roles.kiosk",
                "bridge.policy.roles.pdq.hours",
                "bridge.policy.ports.\"ghost/1\"",
            ]
        );
        assert!(PolicyConfig::default().problems("p", &[], &[]).is_empty());
        assert!(toml::from_str::<PolicyConfig>("unknown = 1").is_err());
    }

    #[test]
    fn summary_reads_plainly() {
        assert_eq!(
            defaults().summary(),
            "blocked 09 0871 0872 0873 118 070; abroad no; at once 2; per hour 120; at any hour"
        );
    }
}

//! `faxbridge lines`: the ATAs and their ports for operators.
//!
//! One block per unit (address, building, model, reachability, firmware,
//! uptime, last seen, problems) and one line per port (role, owner, SIP user,
//! line state, SIP registration). By default the state is the one the
//! daemon's ATA monitor stored after its last poll; `--poll` asks every unit
//! now over SNMP instead (and stores nothing). `--format json` prints the
//! same as one JSON document for scripts.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::ata::inventory::UnitConfig;
use crate::ata::poller::Monitor;
use crate::ata::status::UnitStatus;
use crate::clock::format_utc;
use crate::config::Config;
use crate::store::{DEFAULT_DB_FILE, StoreError};

/// Output format of `faxbridge lines`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LinesFormat {
    /// Aligned text for people.
    Table,
    /// One JSON document.
    Json,
}

/// Command-line arguments of `faxbridge lines`.
#[derive(Debug, clap::Args)]
pub struct LinesArgs {
    /// Configuration file (TOML) with the [ata] inventory.
    #[arg(short, long)]
    pub config: Option<PathBuf>,
    /// Poll every unit over SNMP now instead of showing the stored state.
    #[arg(long)]
    pub poll: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: LinesFormat,
    /// Print what to set on each unit instead (registrar, each port's SIP
    /// user, hot dial as Automatic Call, warm dial as Delayed Hotline); no
    /// SNMP, no store.
    #[arg(long, conflicts_with_all = ["poll", "format"])]
    pub settings: bool,
}

/// Why `faxbridge lines` could not run.
#[derive(Debug, thiserror::Error)]
pub enum LinesError {
    /// The database could not be opened.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// The stored statuses could not be read.
    #[error("cannot read the stored ATA statuses: {0}; run with --poll to ask the units directly")]
    Read(#[from] sqlx::Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// The statuses to show: polled now, or as stored by the daemon.
pub async fn statuses(config: &Config, poll: bool) -> Result<Vec<UnitStatus>, LinesError> {
    // The default SQLite file is read only once the daemon has made it;
    // a configured database is always there to ask.
    let db = config.general.spool_dir.join(DEFAULT_DB_FILE);
    let store = if config.store.url.is_some() || db.exists() {
        Some(config.store.open(&config.general.spool_dir).await?)
    } else {
        None
    };
    let out = if poll {
        // The stored state is the "previous" poll, so a reboot or a new
        // fault shows in the problems; nothing is written back.
        let previous = match &store {
            Some(store) => crate::ata::store::load_all(store).await?,
            None => Vec::new(),
        };
        let monitor = Monitor::new(&config.ata, None);
        monitor.seed(previous).await;
        monitor.poll_once().await;
        let status = monitor.status();
        let map = status.read().await;
        map.values().cloned().collect()
    } else if let Some(store) = &store {
        crate::ata::store::load_all(store).await?
    } else {
        Vec::new()
    };
    if let Some(store) = store {
        store.close().await;
    }
    Ok(out)
}

fn age(now: i64, then: i64) -> String {
    let secs = (now - then).max(0) / 1000;
    if secs < 120 {
        format!("{secs} s ago")
    } else if secs < 7200 {
        format!("{} min ago", secs / 60)
    } else if secs < 172_800 {
        format!("{} h ago", secs / 3600)
    } else {
        format!("{} days ago", secs / 86_400)
    }
}

fn uptime(ticks: u32) -> String {
    let s = ticks / 100;
    format!(
        "{}d {:02}:{:02}:{:02}",
        s / 86_400,
        s / 3600 % 24,
        s / 60 % 60,
        s % 60
    )
}

fn unit_state(status: Option<&UnitStatus>) -> &'static str {
    match status {
        None => "never polled",
        Some(s) if s.stuck => "STUCK",
        Some(s) if s.upgrading_since.is_some() => "upgrading",
        Some(s) if !s.reachable => "UNREACHABLE",
        Some(s) if s.problems.is_empty() => "ok",
        Some(_) => "problems",
    }
}

/// The table for people.
pub fn format_table(config: &Config, statuses: &[UnitStatus], now: i64) -> String {
    let inventory = config.ata.inventory();
    let mut out = String::new();
    if config.ata.units.is_empty() {
        out.push_str("no ATAs configured ([[ata.units]] in the configuration file)\n");
        return out;
    }
    for unit in &config.ata.units {
        let status = statuses.iter().find(|s| s.unit == unit.name);
        let reading = status.and_then(|s| s.reading.as_ref());
        let _ = writeln!(
            out,
            "{}  {}  {}  {}  [{}]",
            unit.name,
            unit.address,
            unit.building,
            if unit.model.is_empty() {
                "-"
            } else {
                &unit.model
            },
            unit_state(status)
        );
        let firmware = reading
            .and_then(|r| r.firmware.clone())
            .unwrap_or_else(|| "-".into());
        let expected = unit
            .firmware
            .as_ref()
            .map(|f| format!(" (expected {f})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  firmware {firmware}{expected}  uptime {}  last seen {}",
            reading.map_or("-".into(), |r| uptime(r.uptime_ticks)),
            status
                .and_then(|s| s.last_seen)
                .map_or("never".into(), |t| format!(
                    "{} ({})",
                    format_utc(t),
                    age(now, t)
                ))
        );
        let _ = writeln!(
            out,
            "  {:<4} {:<8} {:<6} {:<16} {:<10} {:<10} REGISTRATION",
            "PORT", "LINE", "ROLE", "OWNER", "SIP USER", "STATE"
        );
        for row in port_rows(unit, config, &inventory, status) {
            let _ = writeln!(
                out,
                "  {:<4} {:<8} {:<6} {:<16} {:<10} {:<10} {}",
                row["number"].as_u64().map_or("-".into(), |n| n.to_string()),
                row["line"].as_str().unwrap_or("-"),
                row["role"].as_str().unwrap_or("-"),
                row["owner"]
                    .as_str()
                    .filter(|o| !o.is_empty())
                    .unwrap_or("-"),
                row["sip_user"].as_str().unwrap_or("-"),
                row["line_state"].as_str().unwrap_or("-"),
                row["registration"].as_str().unwrap_or("-"),
            );
            if let Some(policy) = row["policy"]["summary"].as_str() {
                let _ = writeln!(out, "       calls: {policy}");
            }
        }
        if let Some(s) = status {
            for p in &s.problems {
                let _ = writeln!(out, "  ! {p}");
            }
        }
        out.push('\n');
    }
    out
}

/// The unit's configured ports, then lines the unit reports that no port
/// names.
fn port_rows(
    unit: &UnitConfig,
    config: &Config,
    inventory: &crate::ata::Inventory,
    status: Option<&UnitStatus>,
) -> Vec<Value> {
    let reading = status.and_then(|s| s.reading.as_ref());
    let line_state = |line: &str| {
        reading
            .and_then(|r| r.lines.get(line))
            .map(|s| s.to_string())
    };
    let registration = |line: &str| {
        reading
            .and_then(|r| r.registrations.get(line))
            .map(|s| s.to_string())
    };
    let ports = inventory.ports_of(&unit.name);
    let mut rows: Vec<Value> = ports
        .iter()
        .map(|p| {
            let line = p.line_id();
            let policy = config
                .bridge
                .policy
                .for_port(&p.unit, p.number, p.role.as_str());
            json!({
                "number": p.number,
                "line": line,
                "role": p.role.as_str(),
                "owner": p.owner,
                "sip_user": p.sip_user,
                "takes_payments": p.takes_payments,
                "hot_dial": p.hot_dial,
                "warm_dial": p.warm_dial,
                "line_state": line_state(&line),
                "registration": registration(&line),
                "policy": {
                    "summary": policy.summary(),
                    "blocked_prefixes": policy.blocked_prefixes,
                    "international": policy.international,
                    "max_concurrent_calls": policy.max_concurrent_calls,
                    "max_calls_per_hour": policy.max_calls_per_hour,
                    "hours": policy.hours,
                    "days": policy.days.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
                },
            })
        })
        .collect();
    if let Some(r) = reading {
        for line in r.lines.keys() {
            if !ports.iter().any(|p| &p.line_id() == line) {
                rows.push(json!({
                    "number": null,
                    "line": line,
                    "role": null,
                    "owner": "(not configured)",
                    "sip_user": null,
                    "line_state": line_state(line),
                    "registration": registration(line),
                }));
            }
        }
    }
    rows
}

/// The JSON document for scripts.
pub fn format_json(config: &Config, statuses: &[UnitStatus]) -> Value {
    let inventory = config.ata.inventory();
    let units: Vec<Value> = config
        .ata
        .units
        .iter()
        .map(|unit| {
            let status = statuses.iter().find(|s| s.unit == unit.name);
            let reading = status.and_then(|s| s.reading.as_ref());
            json!({
                "name": unit.name,
                "address": unit.address.to_string(),
                "model": unit.model,
                "building": unit.building,
                "state": unit_state(status),
                "reachable": status.map(|s| s.reachable),
                "last_poll_ms": status.map(|s| s.last_poll),
                "last_seen_ms": status.and_then(|s| s.last_seen),
                "error": status.and_then(|s| s.error.clone()),
                "sys_descr": reading.map(|r| r.sys_descr.clone()),
                "sys_object_id": reading.map(|r| r.sys_object_id.clone()),
                "sys_name": reading.map(|r| r.sys_name.clone()),
                "uptime_ticks": reading.map(|r| r.uptime_ticks),
                "firmware": reading.and_then(|r| r.firmware.clone()),
                "expected_firmware": unit.firmware,
                "stuck": status.is_some_and(|s| s.stuck),
                "upgrading_since_ms": status.and_then(|s| s.upgrading_since),
                "problems": status.map(|s| s.problems.clone()).unwrap_or_default(),
                "ports": port_rows(unit, config, &inventory, status),
            })
        })
        .collect();
    json!({ "units": units })
}

/// `faxbridge lines` with a loaded configuration.
pub fn run_cli(args: LinesArgs, config: &Config) -> Result<ExitCode, LinesError> {
    if args.settings {
        print!("{}", unit_settings_text(config));
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Runtime::new().map_err(LinesError::Runtime)?;
    let statuses = runtime.block_on(statuses(config, args.poll))?;
    let now = crate::clock::now_ms();
    match args.format {
        LinesFormat::Table => print!("{}", format_table(config, &statuses, now)),
        LinesFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&format_json(config, &statuses))
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// What to set on each unit so that its ports call through faxbridge as
/// the configuration expects: the registrar and proxy (faxbridge's SIP
/// address), each port's SIP user, and hot or warm dial, which the unit
/// itself performs (Automatic Call: dial at once on off-hook; Delayed
/// Hotline: dial the warm-dial marker when no digit comes within the
/// delay, and faxbridge puts the call through to the port's warm-dial
/// number).
pub fn unit_settings_text(config: &Config) -> String {
    use crate::routing::dial::{UnitSettings, unit_settings};
    let sip = config
        .sip
        .public_address
        .map(|ip| std::net::SocketAddr::new(ip, config.sip.listen.port()).to_string())
        .unwrap_or_else(|| config.sip.listen.to_string());
    let mut out = String::new();
    if config.ata.units.is_empty() {
        out.push_str("No [[ata.units]] in the configuration.\n");
    }
    for unit in &config.ata.units {
        out.push_str(&format!(
            "{} ({}, {}{})\n  SIP registrar and outbound proxy: {sip}\n",
            unit.name,
            unit.address,
            unit.building,
            if unit.model.is_empty() {
                String::new()
            } else {
                format!(", {}", unit.model)
            }
        ));
        let ports: Vec<_> = config
            .ata
            .ports
            .iter()
            .filter(|p| p.unit == unit.name)
            .collect();
        if ports.is_empty() {
            out.push_str("  no ports listed in [[ata.ports]]\n");
        }
        for port in ports {
            let dial = match unit_settings(port, &config.bridge.warm_dial_marker) {
                UnitSettings::Off => "hot line off (the user dials)".to_string(),
                UnitSettings::AutomaticCall { target } => {
                    format!("Automatic Call on, target {target} (hot dial)")
                }
                UnitSettings::DelayedHotline {
                    target,
                    delay_seconds,
                } => format!(
                    "Delayed Hotline on, target {target}, after {delay_seconds} s without a digit (warm dial to {})",
                    port.warm_dial.as_ref().map_or("", |w| w.number.as_str())
                ),
            };
            out.push_str(&format!(
                "  port {} ({}): SIP user {}, {dial}\n",
                port.number,
                port.role.as_str(),
                port.sip_user
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ata::status::{LineState, Reading, Registration};

    #[test]
    fn settings_say_what_to_set_on_each_unit() {
        let mut c = config();
        let text = |c: &Config| unit_settings_text(c);
        let t = text(&c);
        assert!(t.contains("hq-1 (10.1.2.3, HQ, Mediatrix 4102S)"), "{t}");
        assert!(t.contains("SIP registrar and outbound proxy: "), "{t}");
        assert!(
            t.contains("port 1 (fax): SIP user 2001, hot line off"),
            "{t}"
        );
        assert!(t.contains("hq-2 (10.1.2.4, HQ)\n"), "{t}");
        assert!(t.contains("no ports listed"), "{t}");
        c.ata.ports[0].hot_dial = Some("2000".into());
        assert!(text(&c).contains("Automatic Call on, target 2000 (hot dial)"));
        c.ata.ports[0].hot_dial = None;
        c.ata.ports[0].warm_dial = Some(crate::ata::inventory::WarmDial {
            number: "01632960100".into(),
            after_seconds: 5,
        });
        let t = text(&c);
        assert!(
            t.contains("Delayed Hotline on, target warm, after 5 s without a digit (warm dial to 01632960100)"),
            "{t}"
        );
    }

    fn config() -> Config {
        Config::parse(
            r#"
[[ata.buildings]]
name = "HQ"
subnets = ["10.1.0.0/16"]
emergency_cli = "+441632960001"

[[ata.units]]
name = "hq-1"
address = "10.1.2.3"
model = "Mediatrix 4102S"
building = "HQ"
firmware = "48.0.1234"

[[ata.units]]
name = "hq-2"
address = "10.1.2.4"
building = "HQ"

[[ata.ports]]
unit = "hq-1"
number = 1
sip_user = "2001"
role = "fax"
owner = "Accounts"
"#,
        )
        .unwrap()
    }

    fn status() -> UnitStatus {
        UnitStatus {
            unit: "hq-1".into(),
            reachable: true,
            last_poll: 1_795_606_822_000,
            last_seen: Some(1_795_606_822_000),
            unreachable_since: None,
            error: None,
            reading: Some(Reading {
                uptime_ticks: 9_000_000,
                firmware: Some("48.0.1234".into()),
                lines: [
                    ("Port1".to_string(), LineState::Idle),
                    ("Port2".to_string(), LineState::Down),
                ]
                .into(),
                registrations: [("Port1".to_string(), Registration::Registered)].into(),
                ..Reading::default()
            }),
            booted_at: None,
            upgrading_since: None,
            stuck: false,
            problems: vec!["Port2 down".into()],
        }
    }

    #[test]
    fn table_shows_units_ports_and_problems() {
        let text = format_table(&config(), &[status()], 1_795_606_882_000);
        assert!(
            text.contains("hq-1  10.1.2.3  HQ  Mediatrix 4102S  [problems]"),
            "{text}"
        );
        assert!(
            text.contains("firmware 48.0.1234 (expected 48.0.1234)  uptime 1d 01:00:00"),
            "{text}"
        );
        assert!(text.contains("2026-11-25 11:40:22Z (60 s ago)"), "{text}");
        let port1 = text
            .lines()
            .find(|l| l.trim_start().starts_with("1 "))
            .unwrap();
        assert!(
            port1.contains("fax") && port1.contains("Accounts"),
            "{port1}"
        );
        assert!(
            port1.contains("idle") && port1.contains("registered"),
            "{port1}"
        );
        assert!(text.contains("(not configured)"), "{text}");
        assert!(
            text.contains("       calls: blocked 09 0871 0872 0873 118 070; abroad no; at once 2; per hour 120; at any hour"),
            "{text}"
        );
        assert!(text.contains("! Port2 down"), "{text}");
        assert!(
            text.contains("hq-2  10.1.2.4  HQ  -  [never polled]"),
            "{text}"
        );
    }

    #[test]
    fn json_has_every_unit_and_port() {
        let v = format_json(&config(), &[status()]);
        let units = v["units"].as_array().unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[0]["state"], "problems");
        assert_eq!(units[0]["ports"][0]["role"], "fax");
        assert_eq!(units[0]["ports"][0]["line_state"], "idle");
        assert_eq!(units[0]["ports"][0]["policy"]["international"], false);
        assert_eq!(units[0]["ports"][0]["policy"]["max_calls_per_hour"], 120);
        assert_eq!(units[0]["ports"][1]["line"], "Port2");
        assert_eq!(units[0]["ports"][1]["line_state"], "down");
        assert_eq!(units[1]["state"], "never polled");
        assert_eq!(units[1]["reachable"], Value::Null);
    }
}

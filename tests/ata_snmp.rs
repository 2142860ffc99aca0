//! ATA monitoring against a real SNMP agent: snmpsim (PyPI) serving
//! Mediatrix-like `.snmprec` fixtures from `tests/fixtures/ata/`.
//!
//! snmpsim picks the data file by SNMPv2c community (the file name), so one
//! agent serves every variant:
//! * `ata-ok`: the shared synthetic DGW dump plus firmware-pack and SIP
//!   registration rows (Port3 disabled, Port4 down, Port4 unregistered);
//! * `ata-port-disabled`: the same with Port1 disabled and unregistered;
//! * `ata-rebooted`: the same with a lower sysUpTime;
//! * `mediatrix-dgw-synthetic`: the shared fixture as it is.
//!
//! Over SNMPv3 snmpsim picks the data file by context name instead.
//!
//! The first test to need the agent creates a venv in
//! `target/snmpsim-venv` from Debian's `/usr/bin/python3` (a Python under
//! /root would be unreadable to `nobody`, whom snmpsim switches to when
//! started as root) and installs snmpsim 1.2.2 with pysmi and cryptography.

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use faxbridge::ata::AtaConfig;
use faxbridge::ata::inventory::SnmpSettings;
use faxbridge::ata::poller::{Monitor, PollError, SnmpClient, read_unit};
use faxbridge::ata::status::{AtaEvent, LineState, Registration};
use faxbridge::config::Config;
use faxbridge::store::Store;

/// The venv's `snmpsim-command-responder`, created on first use.
fn snmpsim_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let target = support::smtp::target_dir();
        std::fs::create_dir_all(&target).unwrap();
        let venv = target.join("snmpsim-venv");
        let bin = venv.join("bin/snmpsim-command-responder");
        let py = venv.join("bin/python");
        let ready = || {
            bin.exists()
                && Command::new(&py)
                    .args(["-c", "import snmpsim, pysmi, cryptography"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
        };
        let lock = std::fs::File::create(target.join("snmpsim-venv.lock")).unwrap();
        lock.lock().unwrap();
        if !ready() {
            let base = if Path::new("/usr/bin/python3").exists() {
                "/usr/bin/python3"
            } else {
                "python3"
            };
            let ok = Command::new(base)
                .args(["-m", "venv", "--clear"])
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "cannot create {} (install Debian python3-venv)",
                venv.display()
            );
            let ok = Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "snmpsim==1.2.2",
                    "pysmi",
                    "cryptography",
                ])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "pip install snmpsim==1.2.2 pysmi cryptography failed");
            assert!(ready(), "snmpsim is installed but cannot be imported");
        }
        bin
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A free UDP port on 127.0.0.1 (bound, read, released).
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running snmpsim, killed on drop.
struct Agent {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    /// snmpsim serving a copy of `tests/fixtures/ata` (readable and, for
    /// the index cache, writable by `nobody`).
    fn start(extra_args: &[&str]) -> Agent {
        let bin = snmpsim_bin();
        let dir = tempfile::Builder::new()
            .prefix("faxbridge-snmpsim")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        let cache = dir.path().join("cache");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&cache).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ata");
        for entry in std::fs::read_dir(&fixtures).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), data.join(entry.file_name())).unwrap();
        }
        let _ = Command::new("chmod")
            .args(["-R", "a+rwX"])
            .arg(dir.path())
            .status();
        let port = free_udp_port();
        let log = dir.path().join("snmpsim.log");
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--data-dir={}", data.display()))
            .arg(format!("--cache-dir={}", cache.display()))
            .arg(format!("--agent-udpv4-endpoint=127.0.0.1:{port}"))
            .args(extra_args);
        if running_as_root() {
            cmd.args(["--process-user=nobody", "--process-group=nogroup"]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("snmpsim.err")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut agent = Agent {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = std::fs::read_to_string(&log).unwrap_or_default()
                + &std::fs::read_to_string(agent._dir.path().join("snmpsim.err"))
                    .unwrap_or_default();
            // "Listening" is printed before snmpsim serves requests (it
            // drops privileges after): wait until it really answers.
            if out.contains("Listening at UDP/IPv4 endpoint") && agent.answers() {
                return agent;
            }
            if let Ok(Some(status)) = agent.child.try_wait() {
                panic!("snmpsim exited ({status}) before listening:\n{out}");
            }
            if Instant::now() > deadline {
                let _ = agent.child.kill();
                panic!("snmpsim did not start listening within 60 s:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Agent {
    /// A v2c GET of sysUpTime succeeds.
    fn answers(&self) -> bool {
        let s = SnmpSettings {
            community: "ata-ok".into(),
            timeout_ms: 200,
            retries: 0,
            ..SnmpSettings::default()
        };
        let addr = self.addr;
        rt().block_on(async move {
            SnmpClient::new(addr, s)
                .get(&[vec![1, 3, 6, 1, 2, 1, 1, 3, 0]])
                .await
                .is_ok()
        })
    }
}

fn settings(community: &str) -> SnmpSettings {
    SnmpSettings {
        community: community.into(),
        timeout_ms: 2000,
        retries: 2,
        ..SnmpSettings::default()
    }
}

/// An `[ata]` section with one unit `ata1` at `addr` reached with
/// `community`, four ports and an expected firmware.
fn ata_config(addr: SocketAddr, community: &str, timeout_ms: u64, retries: u32) -> Config {
    let text = format!(
        r#"
[general]
spool_dir = "spool"

[ata.snmp]
community = "{community}"
port = {port}
timeout_ms = {timeout_ms}
retries = {retries}

[[ata.buildings]]
name = "Building A"
subnets = ["127.0.0.0/8"]
emergency_cli = "+441632960001"

[[ata.units]]
name = "ata1"
address = "{ip}"
model = "Mediatrix 4104"
building = "Building A"
firmware = "48.0.1234"

[[ata.ports]]
unit = "ata1"
number = 1
sip_user = "2001"
role = "fax"
owner = "Accounts"

[[ata.ports]]
unit = "ata1"
number = 2
sip_user = "2002"
role = "pdq"
owner = "Shop"
takes_payments = true

[[ata.ports]]
unit = "ata1"
number = 3
sip_user = "2003"
role = "phone"
owner = "Reception"
hot_dial = "2000"

[[ata.ports]]
unit = "ata1"
number = 4
sip_user = "2004"
role = "alarm"
owner = "Facilities"
warm_dial = {{ number = "2000", after_seconds = 5 }}
"#,
        port = addr.port(),
        ip = addr.ip(),
    );
    let config = Config::parse(&text).unwrap();
    config.validate().unwrap();
    config
}

fn with_community(config: &AtaConfig, community: &str) -> AtaConfig {
    let mut c = config.clone();
    c.snmp.community = Some(community.into());
    c
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn reads_system_firmware_lines_and_registration() {
    let agent = Agent::start(&[]);
    let reading = rt().block_on(async {
        let mut client = SnmpClient::new(agent.addr, settings("ata-ok"));
        read_unit(&mut client).await.unwrap()
    });
    assert_eq!(
        reading.sys_descr,
        "SYNTHETIC Mediatrix-like ATA (test fixture, not a real dump)"
    );
    assert_eq!(reading.sys_object_id, "1.3.6.1.4.1.4935.1000.100.100.300");
    assert_eq!(reading.sys_name, "ata-bldg-a-1");
    assert_eq!(reading.uptime_ticks, 123_456);
    assert_eq!(reading.firmware.as_deref(), Some("48.0.1234"));
    assert_eq!(reading.fpu_status, Some(200));
    assert_eq!(reading.unit_admin_state, Some(100));
    assert_eq!(reading.unit_op_state, Some(1));
    let lines: Vec<_> = reading
        .lines
        .iter()
        .map(|(l, s)| (l.as_str(), *s))
        .collect();
    assert_eq!(
        lines,
        [
            ("Port1", LineState::Idle),
            ("Port2", LineState::InUse),
            ("Port3", LineState::Disabled),
            ("Port4", LineState::Down)
        ]
    );
    let regs: Vec<_> = reading
        .registrations
        .iter()
        .map(|(e, s)| (e.as_str(), *s))
        .collect();
    assert_eq!(
        regs,
        [
            ("Port1", Registration::Registered),
            ("Port2", Registration::Registered),
            ("Port3", Registration::Registered),
            ("Port4", Registration::Unreachable)
        ]
    );
}

#[test]
fn shared_fixture_without_firmware_or_registration_rows() {
    let agent = Agent::start(&[]);
    let reading = rt().block_on(async {
        let mut client = SnmpClient::new(agent.addr, settings("mediatrix-dgw-synthetic"));
        read_unit(&mut client).await.unwrap()
    });
    assert_eq!(reading.uptime_ticks, 123_456);
    assert_eq!(reading.firmware, None);
    assert!(reading.registrations.is_empty());
    assert_eq!(reading.lines.len(), 4);
    assert_eq!(reading.lines["Port4"], LineState::Down);
}

#[test]
fn wrong_community_is_no_response() {
    let agent = Agent::start(&[]);
    let started = Instant::now();
    let err = rt().block_on(async {
        let mut s = settings("no-such-community");
        s.timeout_ms = 200;
        s.retries = 1;
        let mut client = SnmpClient::new(agent.addr, s);
        read_unit(&mut client).await.unwrap_err()
    });
    assert_eq!(
        err,
        PollError::NoResponse {
            tries: 2,
            timeout_ms: 200
        }
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn disabled_port_in_second_poll_is_reported_and_stored() {
    let agent = Agent::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let mut config = ata_config(agent.addr, "ata-ok", 2000, 2);
    config.general.spool_dir = dir.path().to_path_buf();
    let rt = rt();
    let (first, second) = rt.block_on(async {
        let store = Store::open_in_spool(dir.path()).await.unwrap();
        let monitor = Monitor::new(&config.ata, Some(store.clone()));
        let first = monitor.poll_once().await;
        // Same unit, now answering with the variant where Port1 is disabled.
        let changed = Monitor::new(
            &with_community(&config.ata, "ata-port-disabled"),
            Some(store.clone()),
        );
        changed.load().await.unwrap();
        let second = changed.poll_once().await;
        store.close().await;
        (first, second)
    });
    // First poll: the fixture's standing faults, each once.
    assert!(
        first.contains(&AtaEvent::PortFault {
            unit: "ata1".into(),
            line: "Port3".into(),
            state: LineState::Disabled
        }),
        "{first:?}"
    );
    assert!(
        first.contains(&AtaEvent::PortFault {
            unit: "ata1".into(),
            line: "Port4".into(),
            state: LineState::Down
        }),
        "{first:?}"
    );
    assert!(
        !first
            .iter()
            .any(|e| matches!(e, AtaEvent::FirmwareMismatch { .. })),
        "firmware matches: {first:?}"
    );
    // Second poll: only what changed.
    assert_eq!(
        second,
        [
            AtaEvent::PortFault {
                unit: "ata1".into(),
                line: "Port1".into(),
                state: LineState::Disabled
            },
            AtaEvent::RegistrationLost {
                unit: "ata1".into(),
                endpoint: "Port1".into(),
                state: Registration::Unregistered
            }
        ]
    );

    // `faxbridge lines` (another process) shows the stored state.
    let config_file = dir.path().join("faxbridge.toml");
    std::fs::write(
        &config_file,
        format!(
            "[general]\nspool_dir = \"{}\"\n\n{}",
            dir.path().display(),
            ata_section(agent.addr, "ata-ok")
        ),
    )
    .unwrap();
    let out = Command::new(support::procs::BIN)
        .args(["lines", "--format", "json", "--config"])
        .arg(&config_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let unit = &v["units"][0];
    assert_eq!(unit["name"], "ata1");
    assert_eq!(unit["reachable"], true);
    assert_eq!(unit["firmware"], "48.0.1234");
    assert_eq!(unit["ports"][0]["role"], "fax");
    assert_eq!(unit["ports"][0]["line_state"], "disabled");
    assert_eq!(unit["ports"][0]["registration"], "unregistered");
    assert_eq!(unit["ports"][1]["role"], "pdq");
    assert_eq!(unit["ports"][1]["line_state"], "in use");
    let problems: Vec<_> = unit["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(problems.contains(&"Port1 disabled"), "{problems:?}");
    assert!(problems.contains(&"Port4 down"), "{problems:?}");

    // `--poll` asks the unit now (community ata-ok: Port1 idle again).
    let out = Command::new(support::procs::BIN)
        .args(["lines", "--poll", "--config"])
        .arg(&config_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let port1 = text
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap_or_else(|| panic!("no port 1 row:\n{text}"));
    assert!(
        port1.contains("idle") && port1.contains("Accounts"),
        "{text}"
    );
    assert!(
        text.contains("ata1  127.0.0.1  Building A  Mediatrix 4104  [problems]"),
        "{text}"
    );
    assert!(text.contains("! Port3 disabled"), "{text}");
}

/// The `[ata]` part of [`ata_config`] as text, for a config file.
fn ata_section(addr: SocketAddr, community: &str) -> String {
    format!(
        r#"[ata.snmp]
community = "{community}"
port = {port}
timeout_ms = 2000
retries = 2

[[ata.buildings]]
name = "Building A"
subnets = ["127.0.0.0/8"]
emergency_cli = "+441632960001"

[[ata.units]]
name = "ata1"
address = "{ip}"
model = "Mediatrix 4104"
building = "Building A"
firmware = "48.0.1234"

[[ata.ports]]
unit = "ata1"
number = 1
sip_user = "2001"
role = "fax"
owner = "Accounts"

[[ata.ports]]
unit = "ata1"
number = 2
sip_user = "2002"
role = "pdq"
owner = "Shop"
takes_payments = true
"#,
        port = addr.port(),
        ip = addr.ip(),
    )
}

#[test]
fn lower_uptime_is_a_reboot() {
    let agent = Agent::start(&[]);
    let config = ata_config(agent.addr, "ata-ok", 2000, 2);
    let events = rt().block_on(async {
        let monitor = Monitor::new(&config.ata, None);
        monitor.poll_once().await;
        let before = monitor.status().read().await.clone();
        let rebooted = Monitor::new(&with_community(&config.ata, "ata-rebooted"), None);
        rebooted.seed(before.into_values().collect()).await;
        rebooted.poll_once().await
    });
    assert_eq!(
        events,
        [AtaEvent::Rebooted {
            unit: "ata1".into(),
            previous_uptime: 123_456,
            uptime: 1_234
        }]
    );
}

#[test]
fn silent_unit_is_unreachable_after_timeout_times_tries() {
    // Bound but never answering: every request times out.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = ata_config(silent.local_addr().unwrap(), "ata-ok", 300, 2);
    let started = Instant::now();
    let (events, status) = rt().block_on(async {
        let monitor = Monitor::new(&config.ata, None);
        let events = monitor.poll_once().await;
        let status = monitor.status().read().await["ata1"].clone();
        (events, status)
    });
    let took = started.elapsed();
    assert_eq!(events.len(), 1, "{events:?}");
    let AtaEvent::Unreachable { unit, reason } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(unit, "ata1");
    assert!(
        reason.contains("no SNMP response after 3 tries of 300 ms"),
        "{reason}"
    );
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!status.reachable && status.last_seen.is_none());
    // Three requests reached the socket, one per try.
    silent.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while silent.recv_from(&mut buf).is_ok() {
        n += 1;
    }
    assert_eq!(n, 3);
}

#[test]
fn nothing_listening_is_unreachable() {
    let port = free_udp_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let config = ata_config(addr, "ata-ok", 300, 2);
    let started = Instant::now();
    let events = rt().block_on(async { Monitor::new(&config.ata, None).poll_once().await });
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(&events[0], AtaEvent::Unreachable { unit, .. } if unit == "ata1"),
        "{events:?}"
    );
}

#[test]
fn snmpv3_sha_aes() {
    let agent = Agent::start(&[
        "--v3-user=monitor",
        "--v3-auth-key=authpass1",
        "--v3-auth-proto=SHA",
        "--v3-priv-key=privpass1",
        "--v3-priv-proto=AES",
    ]);
    let mut text = ata_section(agent.addr, "unused");
    text = text.replace(
        "community = \"unused\"",
        "version = \"v3\"\nuser = \"monitor\"\nauth = \"sha\"\nauth_password = \"authpass1\"\n\
         privacy = \"aes\"\nprivacy_password = \"privpass1\"\n\
         context = \"ata-ok\"",
    );
    let config = Config::parse(&text).unwrap();
    config.validate().unwrap();
    let settings = config.ata.snmp_for(&config.ata.units[0]);
    let reading = rt().block_on(async {
        let mut client = SnmpClient::new(agent.addr, settings);
        read_unit(&mut client).await
    });
    let reading = reading.unwrap();
    assert_eq!(reading.uptime_ticks, 123_456);
    assert_eq!(reading.lines.len(), 4);

    // A wrong authentication passphrase never yields data.
    let mut wrong = config.ata.snmp_for(&config.ata.units[0]);
    wrong.auth_password = "not-the-key".into();
    wrong.timeout_ms = 300;
    wrong.retries = 1;
    let err = rt().block_on(async {
        let mut client = SnmpClient::new(agent.addr, wrong);
        read_unit(&mut client).await
    });
    assert!(err.is_err(), "{err:?}");
}

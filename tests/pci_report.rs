//! PCI-DSS report end to end: flags recorded from evaluated call facts into
//! the spool's SQLite store, then `faxbridge pci report` (CSV, JSON, HTML)
//! and `faxbridge pci ack` through the real binary.

mod support;

use std::path::Path;
use std::process::Command;

use faxbridge::compliance::{
    CallFacts, ComplianceConfig, ComplianceStore, PortFacts, evaluate_call, evaluate_inventory,
};
use faxbridge::media::classifier::{CallClassifier, Direction};
use faxbridge::store::Store;
use support::config::DaemonConfig;
use support::procs::BIN;

const T0: i64 = 1_764_000_000_000;

fn port(ata: &str, port: &str, role: &str, takes_payments: bool) -> PortFacts {
    PortFacts {
        ata: ata.into(),
        port: port.into(),
        building: "Leeds Shop".into(),
        role: role.into(),
        takes_payments,
        encrypted: false,
    }
}

/// The classifier's verdict on a real Bell 212A handshake (SpanDSP): the
/// 2225 Hz answer tone, then the answering and calling modems at 1200
/// bit/s (V.22 modulation) training on each other. The tone alone would be
/// only suspected, never a finding.
fn bell_call() -> faxbridge::media::classifier::Classification {
    let mut c = CallClassifier::new().unwrap();
    let mut g = faxbridge::fax::ConnectToneTx::new(faxbridge::fax::GeneratedTone::BellAns).unwrap();
    let mut block = [0i16; 160];
    for _ in 0..100 {
        c.feed(Direction::CalleeToCaller, &[0; 160]);
        c.feed(Direction::CallerToCallee, &[0; 160]);
    }
    for _ in 0..150 {
        g.tx(&mut block);
        c.feed(Direction::CalleeToCaller, &block);
        c.feed(Direction::CallerToCallee, &[0; 160]);
    }
    let mut answerer = faxbridge::fax::V22bisModem::new(1200, false).unwrap();
    let mut caller = faxbridge::fax::V22bisModem::new(1200, true).unwrap();
    let (mut a, mut b) = ([0i16; 160], [0i16; 160]);
    for _ in 0..250 {
        answerer.tx(&mut a);
        caller.tx(&mut b);
        answerer.rx(&b);
        caller.rx(&a);
        c.feed(Direction::CalleeToCaller, &a);
        c.feed(Direction::CallerToCallee, &b);
    }
    c.classification()
}

/// The classifier's verdict on a call that holds only SpanDSP's V.21
/// channel 1 mark (980 Hz, the FastPOS calling tone) between silences.
fn lone_980_call() -> faxbridge::media::classifier::Classification {
    let mut c = CallClassifier::new().unwrap();
    let mut fsk = faxbridge::fax::FskTx::new(faxbridge::fax::FskChannel::V21Ch1, true, 1).unwrap();
    let mut block = [0i16; 160];
    for n in 0..200 {
        if (50..125).contains(&n) {
            fsk.tx(&mut block);
        } else {
            block = [0; 160];
        }
        c.feed(Direction::CallerToCallee, &block);
        c.feed(Direction::CalleeToCaller, &[0; 160]);
    }
    c.classification()
}

fn pci(config: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .arg("pci")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run faxbridge pci");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every run of 13 or more digits (possible card numbers) in `text`.
fn long_digit_runs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            cur.push(c);
        } else {
            if cur.len() >= 13 && !(cur.len() == 13 && cur.starts_with("17")) {
                out.push(cur.clone());
            }
            cur.clear();
        }
    }
    out
}

#[test]
fn flags_are_reported_acknowledged_and_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let config = dir.path().join("faxbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\nspool_dir = {:?}\n\n[compliance]\nacquirer_prefixes = [\"08009\"]\n",
            spool.to_str().unwrap()
        ),
    )
    .unwrap();
    let cfg = ComplianceConfig {
        acquirer_prefixes: vec!["08009".into()],
        ..ComplianceConfig::default()
    };

    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut ids = rt.block_on(async {
        let store = Store::open_in_spool(&spool).await.unwrap();
        let pci = ComplianceStore::new(store.clone());
        let call = |dialled: &str, i: i64| CallFacts {
            started_at_ms: T0 + i * 60_000,
            ended_at_ms: T0 + i * 60_000 + 25_000,
            dialled: dialled.into(),
            encrypted: false,
        };
        let mut ids = Vec::new();
        // A port registered as a PDQ line (inventory).
        ids.extend(
            pci.record(&evaluate_inventory(
                &[port("ata-a", "FXS1", "pdq", false)],
                T0,
            ))
            .await
            .unwrap(),
        );
        // A phone port where a modem handshake was heard, twice.
        let heard = bell_call();
        assert!(heard.is_data_modem(), "{heard:?}");
        assert!(heard.is_finding(), "{heard:?}");
        for i in 1..=2 {
            ids.extend(
                pci.record(&evaluate_call(
                    &port("ata-a", "FXS2", "phone", false),
                    &call("01632960000", i),
                    Some(&heard),
                    &cfg,
                ))
                .await
                .unwrap(),
            );
        }
        // A port that dialled the acquirer (the number must be the only
        // long digit string stored).
        ids.extend(
            pci.record(&evaluate_call(
                &port("ata-b", "FXS1", "phone", false),
                &call("0800 9123 4567", 3),
                None,
                &cfg,
            ))
            .await
            .unwrap(),
        );
        // A payments port without TLS/SRTP.
        ids.extend(
            pci.record(&evaluate_call(
                &port("ata-b", "FXS3", "phone", true),
                &call("", 4),
                None,
                &cfg,
            ))
            .await
            .unwrap(),
        );
        // A phone port whose call held only the V.29 FastPOS calling tone
        // (980 Hz), with no handshake after it: suspected, not a finding.
        let lone = lone_980_call();
        assert!(lone.is_suspected(), "{lone:?}");
        let observed = faxbridge::compliance::alert::observe_call(
            &pci,
            &cfg,
            None,
            "call-lone-980",
            &port("ata-b", "FXS4", "phone", false),
            &call("01632960999", 5),
            Some(&lone),
        )
        .await
        .unwrap();
        assert!(observed.flags.is_empty(), "a suspected call raises no flag");
        assert_eq!(observed.alerts_queued, 0);
        store.close().await;
        ids
    });
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "{ids:?}");

    let (ok, csv, err) = pci(&config, &["report", "--format", "csv"]);
    assert!(ok, "{err}");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5, "{csv}");
    for (reason, reqs) in [
        ("role_pdq", "9.5.1 12.5.2"),
        ("modem_handshake", "4.2.1 12.5.2"),
        ("acquirer_number", "4.2.1 12.5.2"),
        ("unencrypted_payments", "4.2.1"),
    ] {
        let row = rows
            .iter()
            .find(|r| r.contains(reason))
            .unwrap_or_else(|| panic!("{reason}: {csv}"));
        assert!(row.contains(reqs), "{row}");
        assert!(row.contains("Leeds Shop"), "{row}");
    }
    let modem_row = rows.iter().find(|r| r.contains("modem_handshake")).unwrap();
    assert!(
        modem_row.contains("Bell2225 (callee->caller)"),
        "{modem_row}"
    );
    assert!(modem_row.contains(",2,"), "two calls counted: {modem_row}");
    assert!(csv.contains("080091234567"), "{csv}");
    // The dialled number of the non-matching call is not kept.
    assert!(!csv.contains("01632960000"), "{csv}");

    let (ok, json, err) = pci(&config, &["report", "--format", "json"]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let flags = doc["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 4);
    let acq = flags
        .iter()
        .find(|f| f["reason"] == "acquirer_number")
        .unwrap();
    assert_eq!(acq["requirements"][0]["id"], "4.2.1");
    assert_eq!(acq["evidence"][0]["number"], "080091234567");
    assert_eq!(acq["calls"], 1);
    let modem = flags
        .iter()
        .find(|f| f["reason"] == "modem_handshake")
        .unwrap();
    assert_eq!(modem["evidence"][0]["confidence"], "high", "{modem:#}");
    // The suspected line is listed apart, not as a finding.
    let suspected = doc["suspected"].as_array().unwrap();
    assert_eq!(suspected.len(), 1, "{doc:#}");
    assert_eq!(suspected[0]["port"], "FXS4");
    assert_eq!(
        suspected[0]["verdicts"][0],
        "suspected data modem (V.29 FastPOS)"
    );
    assert!(
        !csv.contains("FXS4"),
        "a suspected line is no row of the findings: {csv}"
    );

    let (ok, page, err) = pci(&config, &["report", "--format", "html"]);
    assert!(ok, "{err}");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(
        page.contains("4 finding(s), 4 not yet acknowledged"),
        "{page}"
    );
    assert!(page.contains("Suspected lines (not findings)"), "{page}");
    assert!(page.contains("ata-b / FXS4"), "{page}");
    assert!(page.contains("Classifier confidence: high"), "{page}");
    assert!(
        page.contains("<b>9.5.1</b>") && page.contains("<b>12.5.2</b>"),
        "{page}"
    );
    assert!(page.contains("Not acknowledged"));

    for text in [&csv, &json, &page] {
        let runs: Vec<String> = long_digit_runs(text)
            .into_iter()
            .filter(|r| r != "080091234567")
            .collect();
        assert!(runs.is_empty(), "card-like digits in a report: {runs:?}");
        assert!(
            faxbridge::intake::pan::scan(text).is_empty(),
            "PAN in a report"
        );
    }

    // Acknowledge through the binary; the flag stays, with its history.
    let id = &flags.iter().find(|f| f["reason"] == "role_pdq").unwrap()["id"];
    let id = id.as_str().unwrap();
    let (ok, out, err) = pci(
        &config,
        &[
            "ack",
            id,
            "--by",
            "Jo Finance",
            "--note",
            "IP terminal ordered",
        ],
    );
    assert!(ok, "{out}{err}");
    let (ok, _, err) = pci(
        &config,
        &["ack", id, "--by", "Al Ops", "--note", "installed 2 Dec"],
    );
    assert!(ok, "{err}");
    // A note with a card number is refused.
    let (ok, _, err) = pci(
        &config,
        &[
            "ack",
            id,
            "--by",
            "Al",
            "--note",
            "card 4111 1111 1111 1111",
        ],
    );
    assert!(!ok && err.contains("card-number"), "{err}");
    // Unknown ids are refused with a hint.
    let (ok, _, err) = pci(
        &config,
        &["ack", "pci-000000000000", "--by", "Al", "--note", "x"],
    );
    assert!(!ok && err.contains("pci report"), "{err}");

    let (ok, json, _) = pci(&config, &["report", "--format", "json"]);
    assert!(ok);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let flags = doc["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 4, "a flag disappeared");
    let f = flags.iter().find(|f| f["id"] == id).unwrap();
    let acks = f["acknowledgements"].as_array().unwrap();
    assert_eq!(acks.len(), 2, "{f}");
    assert_eq!(acks[0]["by"], "Jo Finance");
    assert_eq!(acks[1]["note"], "installed 2 Dec");
    let (_, page, _) = pci(&config, &["report", "--format", "html"]);
    assert!(page.contains("Al Ops on "), "{page}");
    assert!(page.contains("1 earlier acknowledgement(s) kept"), "{page}");
    assert!(page.contains("3 not yet acknowledged"), "{page}");

    // There is no delete command.
    for cmd in ["delete", "remove", "rm", "clear"] {
        let (ok, _, _) = pci(&config, &[cmd, id]);
        assert!(!ok, "`pci {cmd}` must not exist");
    }
    let (_, csv, _) = pci(&config, &["report"]);
    assert_eq!(csv.lines().count(), 5, "{csv}");
}

/// Finance alert mails in the daemon's local maildir (no relay configured).
fn alert_mails(spool: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for dir in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(spool.join("maildir").join(dir)) else {
            continue;
        };
        for e in entries {
            let raw = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
            let text = raw.replace("\r\n", "\n").replace("\n ", " ");
            if text.contains("Subject: PCI-DSS alert") {
                found.push(text);
            }
        }
    }
    found
}

/// The daemon flags the inventory's `pdq` ports when it starts, before
/// they carry any call, and alerts finance once; a restart finds the flag
/// and adds neither evidence nor a second alert. Other roles raise nothing.
#[test]
fn pdq_ports_are_flagged_at_start_once() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let config = DaemonConfig::new(dir.path())
        .entry(
            "ata.buildings",
            "name = \"Leeds Shop\"\nsubnets = [\"10.20.0.0/24\"]\nemergency_cli = \"+441632960999\"",
        )
        .ata_unit("till-ata", "10.20.0.5", "building = \"Leeds Shop\"")
        .ata_port("till-ata", 1, "3001", "pdq", "takes_payments = true")
        .ata_port("till-ata", 2, "3002", "phone", "")
        .set("compliance.finance_digest", "to = [\"finance@example.org\"]")
        .write();
    let report = || {
        let (ok, out, err) = pci(&config, &["report", "--format", "json"]);
        assert!(ok, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !done() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };

    let daemon = support::procs::start_daemon(&config);
    wait_for("no alert mail after the first start", &|| {
        !alert_mails(&spool).is_empty()
    });
    let first = report();
    let flags = first["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "only the pdq port: {first:#}");
    let f = &flags[0];
    assert_eq!(f["reason"], "role_pdq");
    assert_eq!(f["ata"], "till-ata");
    assert_eq!(f["port"], "Port1");
    assert_eq!(f["building"], "Leeds Shop");
    assert_eq!(f["calls"], 0, "no call yet: {f:#}");
    assert_eq!(f["evidence"].as_array().unwrap().len(), 1, "{f:#}");
    assert!(
        f["evidence"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("role pdq")
    );
    let mails = alert_mails(&spool);
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert!(
        mails[0].contains("till-ata port Port1 (Leeds Shop)"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("To: finance@example.org"));
    assert!(daemon.sigterm().success());

    // Restart: the flag is found, nothing is added or mailed again.
    let daemon = support::procs::start_daemon(&config);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let second = report();
    assert!(daemon.sigterm().success());
    assert_eq!(second["flags"], first["flags"], "a restart changes nothing");
    assert_eq!(alert_mails(&spool).len(), 1, "alerted only once");
}

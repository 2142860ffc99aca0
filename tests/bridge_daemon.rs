//! The analogue bridge in the real daemon: a fax machine on an ATA port
//! (played by `faxbridge dial` from the ATA's address) calls a number on
//! the trunk (played by `faxbridge answer` on another loopback address);
//! `faxbridge run` bridges the two legs over G.711 and the pages arrive at
//! the trunk side pixel for pixel. A call from the port to one of
//! faxbridge's own fax numbers is received and mailed instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use faxbridge::docs::tiff::{Compression, read_tiff, write_tiff};

mod support;
use support::fax::{assert_same_pages, free_sip_port, pages};
use support::procs::{BIN, Proc, start_daemon};

fn config(root: &Path, port: u16, trunk_port: u16) -> PathBuf {
    let path = root.join("faxbridge.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[general]
spool_dir = "{spool}"

[sip]
listen = "127.0.0.1:{port}"
[[sip.peers]]
name = "ata"
addresses = ["127.0.0.1/32"]
[[sip.peers]]
name = "trunk"
addresses = ["127.0.0.3/32"]
[sip.routing]
routes = [{{ did = "100", route = "lab" }}]

[routes.lab]
mailboxes = ["lab@example.org"]

[outgoing]
uri = "sip:{{number}}@127.0.0.3:{trunk_port}"

[[ata.buildings]]
name = "Lab"
subnets = ["127.0.0.0/24"]
emergency_cli = "+441632960999"

[[ata.units]]
name = "lab-ata"
address = "127.0.0.1"
model = "Mediatrix 4102"
building = "Lab"

[[ata.ports]]
unit = "lab-ata"
number = 1
sip_user = "2001"
role = "fax"
owner = "Physics"

[[bridge.lines]]
unit = "lab-ata"
port = 1
number = "+441632960201"
"#,
            spool = root.join("spool").display(),
        ),
    )
    .unwrap();
    let check = Command::new(BIN)
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    path
}

fn dial(port: u16, number: &str, doc: &Path) -> String {
    let out = Command::new(BIN)
        .args([
            "dial",
            &format!("sip:{number}@127.0.0.1:{port}"),
            "--g711",
            "--from",
            "2001",
        ])
        .arg(doc)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dial failed: {text}");
    text
}

#[test]
fn fax_from_an_ata_port_is_bridged_to_the_trunk_and_own_numbers_are_received() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let port = free_sip_port();
    let trunk_port = free_sip_port();
    let config = config(root, port, trunk_port);
    let out = root.join("trunk");
    std::fs::create_dir_all(&out).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args([
        "answer",
        "--listen",
        &format!("127.0.0.3:{trunk_port}"),
        "--out",
    ])
    .arg(&out)
    .args(["--ident", "+44 1632 960300"])
    .env("RUST_LOG", "warn");
    let _trunk = Proc::start("trunk", &mut cmd, "listening on sip:");
    let daemon = start_daemon(&config);

    let sent = pages(200);
    let doc = root.join("doc.tif");
    write_tiff(&doc, &sent, Compression::Group4).unwrap();

    // Port → trunk: bridged, pages end to end.
    let result = dial(port, "01632960300", &doc);
    assert!(result.contains("sent 3/3 pages"), "{result}");
    let received: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tif"))
        .collect();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_same_pages(&sent, &read_tiff(&received[0]).unwrap());

    // Port → faxbridge's own fax number: received and mailed.
    dial(port, "100", &doc);
    let new = root.join("spool/maildir/new");
    let start = Instant::now();
    while std::fs::read_dir(&new).map(|d| d.count()).unwrap_or(0) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no mail for the own number"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(daemon.sigterm().success());
}

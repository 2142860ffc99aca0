//! The tests' configuration builder (`tests/support/config.rs`) writes
//! files `faxbridge check-config` accepts, and the daemon started on one
//! with every listener on port 0 says in its ready line where each is.

use std::net::TcpStream;

mod support;
use support::config::{DaemonConfig, assert_valid};
use support::procs::start_daemon;

#[test]
fn built_configurations_pass_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();

    // The defaults alone.
    assert_valid(&DaemonConfig::new(root).write_to("plain.toml"));

    // A fax-to-email gateway with a trunk, a relay and SMTP intake.
    assert_valid(
        &DaemonConfig::new(root)
            .ident("+44 1632 960000")
            .did("100", "lab")
            .route("lab", &["Physics Lab <lab@example.org>"])
            .mail_from("Fax Service <fax@example.org>")
            .relay(2525)
            .trunk("sip:{number}@127.0.0.1:5062")
            .set("outgoing", "from_user = \"01632960000\"")
            .email_intake("fax.example.org", "example.org")
            .write_to("gateway.toml"),
    );

    // The analogue bridge: named peers, an ATA with a port and its line,
    // the web interface, and a raw section.
    assert_valid(
        &DaemonConfig::new(root)
            .peer("ata", &["127.0.0.1/32"])
            .peer("trunk", &["127.0.0.3/32"])
            .did("100", "lab")
            .route("lab", &["lab@example.org"])
            .trunk("sip:{number}@127.0.0.3:5062")
            .set("bridge", "ata_sip_port = 5060")
            .lab_ata("127.0.0.1")
            .web("metrics_from = [\"127.0.0.1\"]")
            .entry(
                "web.accounts",
                "username = \"admin\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\nrole = \"admin\"",
            )
            .extra("[queue.retry]\nnetwork_initial_delay_secs = 600")
            .write_to("bridge.toml"),
    );
}

#[test]
fn the_ready_line_names_every_bound_listener() {
    let dir = tempfile::tempdir().unwrap();
    let config = DaemonConfig::new(dir.path())
        .trunk("sip:{number}@127.0.0.1:5062")
        .set("intake", "fax_domains = [\"fax.example.org\"]")
        .set("intake.senders", "allowed = [\"example.org\"]")
        .smtp_intake("")
        .web("metrics_from = [\"127.0.0.1\"]")
        .entry(
            "web.accounts",
            "username = \"admin\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\nrole = \"admin\"",
        )
        .write();
    assert_valid(&config);
    let daemon = start_daemon(&config);
    let line = daemon.ready_line().to_string();
    for key in ["udp", "tcp", "smtp", "web"] {
        let addr = daemon.addr(key);
        assert_eq!(addr.ip().to_string(), "127.0.0.1", "{key}: {line}");
        assert_ne!(addr.port(), 0, "{key}: {line}");
    }
    // No TLS listener was asked for: no field for it.
    assert!(!line.contains("tls="), "{line}");
    // The stream listeners take connections at the ports reported.
    for key in ["tcp", "smtp", "web"] {
        TcpStream::connect(daemon.addr(key)).unwrap_or_else(|e| panic!("{key}: {e}: {line}"));
    }
    // Killed on drop: the daemon installs its SIGTERM handler only after
    // the ready line, so a SIGTERM this early is not a clean stop.
    drop(daemon);
}

//! Emergency calls, routing order and the toll-fraud policy of the
//! analogue bridge, through the real daemon with independent SIP peers:
//! SIPp plays Mediatrix units (INVITEs shaped like the unit's) in three
//! buildings, another SIPp the trunk, and a third an overloaded trunk that
//! answers 503. A dead trunk (nothing listening) is first in
//! `[outgoing] emergency_uris`.
//!
//! The configuration is the one that once sent 999 to the fax inbox:
//! `[sip.routing] default_route = "inbox"`. One unit (annex) is in no
//! `[[sip.peers]]` entry and another (lab) is in one that demands digest
//! credentials the unit does not send; their emergency calls must still go
//! through.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod support;
use support::config::DaemonConfig;
use support::procs::{BIN, LOG_WAIT, start_daemon};
use support::sipp::{UacRun, Uas, received, uac};
use support::smtp::free_port;

/// Seconds from the time stamp line SIPp writes before each traced
/// message (`----… 2026-12-07 10:00:00.123456`).
fn stamp(block_head: &str) -> Option<f64> {
    let time = block_head.split_whitespace().nth(1)?;
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// Seconds between the INVITE the port sent and the first response from
/// the far end (180 Ringing: the trunk rings as soon as it has the INVITE).
fn invite_to_ringing(trace: &str) -> f64 {
    let mut sent = None;
    for block in trace.split("----------------------------------------------- ") {
        let head = block.lines().next().unwrap_or("");
        if block.contains("message sent") && block.contains("INVITE sip:") {
            sent = sent.or(stamp(head));
        }
        if block.contains("message received") && block.contains("SIP/2.0 180") {
            return stamp(head).unwrap() - sent.expect("INVITE before 180");
        }
    }
    panic!("no 180 in the port's trace:\n{trace}");
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn config(root: &Path, trunk: u16, refuser: u16, dead: u16) -> std::path::PathBuf {
    DaemonConfig::new(root)
        .set("sip", "transports = [\"udp\"]")
        .peer("trunk", &["127.0.0.3/32", "127.0.0.4/32"])
        .peer("ho-atas", &["127.0.1.1/32"])
        .entry(
            "sip.peers",
            "name = \"lab-atas\"\naddresses = [\"127.0.3.1/32\"]\n\
             account = { username = \"lab\", password = \"a-secret-the-unit-does-not-send\" }",
        )
        .set("sip.routing", "default_route = \"inbox\"")
        .route("inbox", &["Fax Inbox <fax@example.org>"])
        .set("alerts", "to = [\"Telephony <telephony@example.org>\"]")
        .trunk(&format!("sip:{{number}}@127.0.0.3:{trunk}"))
        .set(
            "outgoing",
            &format!(
                "emergency_uris = [\"sip:{{number}}@127.0.0.5:{dead}\", \
                 \"sip:{{number}}@127.0.0.3:{trunk}\", \"sip:{{number}}@127.0.0.4:{refuser}\"]"
            ),
        )
        .set("bridge", "trunk_peer = \"trunk\"")
        .set("bridge.policy.ports.\"ho/2\"", "max_calls_per_hour = 1")
        .entry(
            "ata.buildings",
            "name = \"Head office\"\nsubnets = [\"127.0.1.0/24\"]\nemergency_cli = \"+441632960001\"",
        )
        .entry(
            "ata.buildings",
            "name = \"Annex\"\nsubnets = [\"127.0.2.0/24\"]\nemergency_cli = \"+441632960002\"",
        )
        .entry(
            "ata.buildings",
            "name = \"Lab\"\nsubnets = [\"127.0.3.0/24\"]\nemergency_cli = \"+441632960003\"",
        )
        .ata_unit(
            "ho",
            "127.0.1.1",
            "model = \"Mediatrix 4102\"\nbuilding = \"Head office\"",
        )
        .ata_unit(
            "annex",
            "127.0.2.1",
            "model = \"Mediatrix 4102\"\nbuilding = \"Annex\"",
        )
        .ata_unit(
            "lab",
            "127.0.3.1",
            "model = \"Mediatrix 4104\"\nbuilding = \"Lab\"",
        )
        .ata_port("ho", 1, "2001", "phone", "")
        .ata_port("ho", 2, "2002", "pdq", "")
        .ata_port("annex", 1, "3001", "phone", "")
        .ata_port("lab", 1, "4001", "phone", "")
        .bridge_line("ho", 1, "+441632960201")
        .bridge_line("ho", 2, "+441632960202")
        .bridge_line("annex", 1, "+441632960301")
        .write()
}

/// One call from port `user` of the unit at `ip`.
fn port_call(
    scenario: &str,
    ip: &str,
    user: &str,
    number: &str,
    fb: SocketAddr,
    dir: &Path,
) -> UacRun {
    // SIPp's own port is reserved: SIPp cannot bind port 0 and say where.
    let run = uac(
        scenario,
        ip,
        free_port(),
        fb,
        number,
        &[("user", user)],
        dir,
    );
    assert!(
        run.status.success(),
        "{scenario} from {user}@{ip} to {number} failed ({:?}):\n{}\n{}",
        run.status,
        run.errors,
        run.messages
    );
    run
}

fn mails(maildir: &Path) -> Vec<String> {
    std::fs::read_dir(maildir.join("new"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn wait_for_mail(maildir: &Path, needle: &str) -> String {
    for _ in 0..100 {
        if let Some(m) = mails(maildir).into_iter().find(|m| m.contains(needle)) {
            return m;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no mail containing {needle:?}; mails: {:?}", mails(maildir));
}

#[test]
fn emergency_calls_win_over_every_route_and_ports_keep_to_their_policy() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // The SIPp trunks' ports are reserved: SIPp takes `-p 0` for no port
    // (it then binds 5060 or the next free one) and does not say which
    // port it got. Nothing listens on the dead trunk's.
    let (trunk_port, refuser_port, dead_port) = (free_port(), free_port(), free_port());
    let cfg = config(root, trunk_port, refuser_port, dead_port);
    let maildir = root.join("spool").join("maildir");

    // check-config accepts it, and says what an operator should know.
    let check = Command::new(BIN)
        .arg("check-config")
        .arg(&cfg)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        said.contains("warning: ata.units[1].address: 127.0.2.1 (unit \"annex\")"),
        "the annex unit is in no [[sip.peers]] entry: {said}"
    );

    let trunk = Uas::start("trunk_answer.xml", "127.0.0.3", trunk_port, 8, root);
    let refuser = Uas::start("trunk_refuse.xml", "127.0.0.4", refuser_port, 1, root);
    let daemon = start_daemon(&cfg);
    let fb = daemon.addr("udp");

    // 1. 999 and 112 from two buildings, from a unit without a peer entry
    //    and one whose digest fails: each reaches the trunk with its
    //    building's emergency CLI, the dead first trunk skipped within 6 s.
    let emergencies = [
        ("127.0.1.1", "2001", "999", "+441632960001"),
        ("127.0.1.1", "2001", "112", "+441632960001"),
        ("127.0.2.1", "3001", "999", "+441632960002"),
        ("127.0.2.1", "3001", "112", "+441632960002"),
        ("127.0.3.1", "4001", "999", "+441632960003"),
    ];
    for (n, (ip, user, number, cli)) in emergencies.into_iter().enumerate() {
        let run = port_call("mediatrix_call.xml", ip, user, number, fb, root);
        let t = invite_to_ringing(&run.messages);
        assert!(
            (5.0..6.0).contains(&t),
            "{number} from {ip}: the second trunk rang after {t:.2} s (the dead one holds 5 s)"
        );
        let invites = trunk.invites();
        let invite = invites.get(n).expect("the trunk got the emergency call");
        assert!(
            invite.starts_with(&format!("INVITE sip:{number}@127.0.0.3")),
            "{invite}"
        );
        let from = header(invite, "From").unwrap();
        assert!(
            from.contains(&format!("sip:{cli}@")),
            "{number} from {ip}: From {from}"
        );
        let pai = header(invite, "P-Asserted-Identity").unwrap();
        assert!(
            pai.contains(cli),
            "{number} from {ip}: P-Asserted-Identity {pai}"
        );
        assert!(
            header(invite, "Privacy").is_none(),
            "an emergency call is never anonymous"
        );
    }
    assert!(daemon.log_contains(&["EMERGENCY CALL from an ATA port"], LOG_WAIT));
    assert!(daemon.log_contains(
        &[
            "emergency call from an ATA unit admitted without the peer list or digest",
            "127.0.2.1"
        ],
        LOG_WAIT
    ));

    // 2. A port's ordinary call reaches the trunk with its line number, at
    //    once, and the fax inbox never sees it.
    let run = port_call(
        "mediatrix_call.xml",
        "127.0.1.1",
        "2001",
        "01223123456",
        fb,
        root,
    );
    assert!(invite_to_ringing(&run.messages) < 2.0);
    let invites = trunk.invites();
    let invite = invites.last().unwrap();
    assert!(
        invite.starts_with("INVITE sip:+441223123456@127.0.0.3"),
        "{invite}"
    );
    assert!(
        header(invite, "From")
            .unwrap()
            .contains("sip:+441632960201@")
    );
    assert!(!daemon.log_contains(&["incoming fax call"], Duration::ZERO));

    // 3. The toll-fraud policy: 403 with a Reason naming the rule.
    for (number, rule) in [
        ("09061234567", "blocked_prefixes"),
        ("+33123456789", "international"),
    ] {
        let run = port_call(
            "mediatrix_refused.xml",
            "127.0.1.1",
            "2001",
            number,
            fb,
            root,
        );
        let refusal = received(&run.messages, "SIP/2.0 403").pop().unwrap();
        let reason = header(&refusal, "Reason").unwrap();
        assert!(reason.contains(rule), "{number}: Reason {reason}");
        assert!(daemon.log_contains(&["toll-fraud policy", rule], Duration::from_secs(2)));
    }

    // 4. The card terminal's hourly limit (1): the second call is refused
    //    and alerted at once; 999 from the same port still goes through.
    port_call(
        "mediatrix_call.xml",
        "127.0.1.1",
        "2002",
        "01223123457",
        fb,
        root,
    );
    let run = port_call(
        "mediatrix_refused.xml",
        "127.0.1.1",
        "2002",
        "01223123458",
        fb,
        root,
    );
    let refusal = received(&run.messages, "SIP/2.0 403").pop().unwrap();
    assert!(
        header(&refusal, "Reason")
            .unwrap()
            .contains("max_calls_per_hour")
    );
    let alert = wait_for_mail(&maildir, "over its hourly call limit");
    assert!(
        alert.contains("To: Telephony <telephony@example.org>"),
        "{alert}"
    );
    assert!(alert.contains("ho/2"), "{alert}");
    port_call("mediatrix_call.xml", "127.0.1.1", "2002", "999", fb, root);
    assert_eq!(
        trunk.invites().len(),
        8,
        "5 emergency + 2 ordinary + 1 emergency"
    );

    // 5. No trunk takes it: the port hears 503, the failure is logged at
    //    ERROR and alerted at once.
    std::thread::sleep(Duration::from_millis(500));
    trunk.stop();
    port_call(
        "mediatrix_unavailable.xml",
        "127.0.2.1",
        "3001",
        "999",
        fb,
        root,
    );
    assert_eq!(refuser.invites().len(), 1, "the last trunk was tried");
    assert!(daemon.log_contains(
        &["ERROR", "EMERGENCY CALL not taken by the trunk"],
        Duration::ZERO
    ));
    let alert = wait_for_mail(&maildir, "emergency call not connected");
    assert!(alert.contains("127.0.2.1"), "{alert}");

    // Nothing of this was mailed as a fax.
    assert!(
        mails(&maildir)
            .iter()
            .all(|m| !m.contains("fax@example.org")),
        "a call reached the fax inbox"
    );
}

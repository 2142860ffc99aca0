//! Outgoing faxes end to end: `faxbridge send` queues a document, the real
//! `faxbridge run` daemon's queue worker calls the trunk, and the far end —
//! the `faxbridge answer` receiver over loopback SIP/RTP/UDPTL — stores the
//! pages, which must equal the sent pages pixel for pixel. `faxbridge jobs`
//! follows the job to `done`.
//!
//! Also: a trunk where nothing answers defers the job (the INVITE times out,
//! which RFC 3261 §8.1.3.1 reports as a 408: cause `no-answer`); once the
//! far end is up, `faxbridge jobs retry` sends it at once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use faxbridge::docs::Page;
use faxbridge::docs::tiff::{Compression, read_tiff, write_tiff};

mod support;
use support::config::DaemonConfig;
use support::fax::{assert_same_pages, free_sip_port, pages};
use support::procs::{BIN, Proc, start_daemon};

/// `faxbridge answer` on 127.0.0.1:`port`, storing into `out`.
fn start_answerer(port: u16, out: &Path, t38: bool) -> Proc {
    start_answerer_at("127.0.0.1", port, out, t38)
}

/// `faxbridge answer` on `ip`:`port`, storing into `out`.
fn start_answerer_at(ip: &str, port: u16, out: &Path, t38: bool) -> Proc {
    let mut cmd = Command::new(BIN);
    cmd.args(["answer", "--listen", &format!("{ip}:{port}"), "--out"])
        .arg(out)
        .args(["--ident", "+44 1632 960999"])
        .env("RUST_LOG", "warn");
    if t38 {
        cmd.arg("--t38");
    }
    Proc::start("answer", &mut cmd, "listening on sip:")
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// Written by [`Setup::configure`].
    config: PathBuf,
    document: PathBuf,
    sent: Vec<Page>,
}

/// A test directory with a three-page document; no configuration yet.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let sent = pages(300);
    let document = root.join("doc.tif");
    write_tiff(&document, &sent, Compression::Group4).unwrap();
    Setup {
        config: root.join("faxbridge.toml"),
        _dir: dir,
        root,
        document,
        sent,
    }
}

impl Setup {
    /// The daemon's configuration: its trunk is `trunk_uri` (`{port}`
    /// stands for `trunk_port`; empty for none).
    fn configure(&self, trunk_uri: &str, trunk_port: u16) -> DaemonConfig {
        let mut config = DaemonConfig::new(&self.root);
        config
            .ident("+44 1632 960000")
            .mail_from("Fax Service <fax@example.org>")
            .trunk(&trunk_uri.replace("{port}", &trunk_port.to_string()))
            .set("outgoing", "from_user = \"01632960000\"")
            .set("queue.retry", "network_initial_delay_secs = 600");
        config
    }

    /// [`Setup::configure`], written.
    fn write(&self, trunk_uri: &str, trunk_port: u16) {
        assert_eq!(self.configure(trunk_uri, trunk_port).write(), self.config);
    }
}

fn faxbridge(setup: &Setup, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(&setup.config)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run faxbridge");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "faxbridge {args:?} failed: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn send(setup: &Setup) -> String {
    send_to(setup, "100")
}

fn send_to(setup: &Setup, number: &str) -> String {
    let out = Command::new(BIN)
        .args(["send", "--to", number, "--from", "lab"])
        .arg(&setup.document)
        .arg("--config")
        .arg(&setup.config)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run faxbridge send");
    assert!(
        out.status.success(),
        "send failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(
        !id.is_empty() && !id.contains(char::is_whitespace),
        "{id:?}"
    );
    id
}

/// The value of `key:` in `faxbridge jobs show` output.
fn field(show: &str, key: &str) -> Option<String> {
    show.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
}

/// Poll `faxbridge jobs show ID` until its state is `want`; a final state
/// other than `want` fails at once.
fn wait_for_state(setup: &Setup, id: &str, want: &str, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        let show = faxbridge(setup, &["jobs", "show", id]);
        let state = field(&show, "state").unwrap_or_default();
        if state == want {
            eprintln!("job {id} {want} after {:?}", start.elapsed());
            return show;
        }
        assert!(
            !matches!(state.as_str(), "done" | "failed" | "cancelled"),
            "job ended {state}, expected {want}:\n{show}"
        );
        assert!(
            start.elapsed() < limit,
            "job still {state} after {limit:?}, expected {want}:\n{show}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The one TIFF the answerer stored.
fn received(out: &Path) -> Vec<Page> {
    let files: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tif"))
        .collect();
    assert_eq!(files.len(), 1, "received files: {files:?}");
    read_tiff(&files[0]).expect("read the received TIFF")
}

#[test]
fn queued_fax_is_sent_through_the_trunk() {
    let setup = setup();
    let out = setup.root.join("received");
    let answerer = start_answerer(0, &out, true);
    setup.write("sip:{number}@127.0.0.1:{port}", answerer.sip_addr().port());
    let daemon = start_daemon(&setup.config);

    let started = Instant::now();
    let id = send(&setup);
    let show = wait_for_state(&setup, &id, "done", Duration::from_secs(180));
    eprintln!("sent in {:?}", started.elapsed());
    assert_eq!(
        field(&show, "pages").as_deref(),
        Some("3 of 3 confirmed"),
        "{show}"
    );
    assert_eq!(field(&show, "attempts").as_deref(), Some("1"), "{show}");
    assert!(show.contains("success"), "{show}");
    // The first rung offers T.38 by re-INVITE and this far end accepts it.
    assert!(show.contains("via t38"), "{show}");
    assert_same_pages(&setup.sent, &received(&out));

    let list = faxbridge(&setup, &["jobs", "list"]);
    let row = list
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("job {id} not listed:\n{list}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[1..5], ["done", "100", "3/3", "1"], "{row}");

    // A finished job cannot be cancelled; the refusal names its state.
    let refused = Command::new(BIN)
        .args(["jobs", "cancel", &id, "--config"])
        .arg(&setup.config)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("done"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(daemon.sigterm().success());
}

#[test]
fn unreachable_trunk_defers_and_retry_sends() {
    // Over TCP, so that the second attempt also covers SIP over TCP. With
    // nothing listening the INVITE transaction times out after 64*T1 = 32 s.
    // The far end comes up only after the first attempt failed, on the
    // port the trunk URI names: that port is reserved beforehand.
    let setup = setup();
    let answer_port = free_sip_port();
    setup.write("sip:{number}@127.0.0.1:{port};transport=tcp", answer_port);
    let daemon = start_daemon(&setup.config);

    let id = send(&setup);
    let show = wait_for_state(&setup, &id, "deferred", Duration::from_secs(60));
    assert_eq!(
        field(&show, "last cause").as_deref(),
        Some("no-answer"),
        "{show}"
    );
    assert!(show.contains("SIP 408"), "{show}");
    assert_eq!(field(&show, "pages").as_deref(), Some("0 of 3 confirmed"));
    assert!(
        field(&show, "next attempt").is_some_and(|n| n.starts_with("in ")),
        "{show}"
    );

    let out = setup.root.join("received");
    let _answerer = start_answerer(answer_port, &out, false);
    let retried = faxbridge(&setup, &["jobs", "retry", &id]);
    assert!(retried.contains("queued"), "{retried}");
    let started = Instant::now();
    let show = wait_for_state(&setup, &id, "done", Duration::from_secs(180));
    eprintln!("sent in {:?} after the retry", started.elapsed());
    assert_eq!(field(&show, "attempts").as_deref(), Some("2"), "{show}");
    assert_eq!(field(&show, "pages").as_deref(), Some("3 of 3 confirmed"));
    // This far end refuses T.38 (488): the call carries on over G.711.
    assert!(show.contains("via g711"), "{show}");
    assert_same_pages(&setup.sent, &received(&out));
    assert!(daemon.sigterm().success());
}

#[test]
fn sigterm_lets_a_call_in_progress_finish() {
    let setup = setup();
    let out = setup.root.join("received");
    let answerer = start_answerer(0, &out, false);
    setup.write("sip:{number}@127.0.0.1:{port}", answerer.sip_addr().port());
    let daemon = start_daemon(&setup.config);

    let id = send(&setup);
    // Answered: the call is under way (`sending` is committed on answer).
    wait_for_state(&setup, &id, "sending", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(2));
    let stopping = Instant::now();
    assert!(daemon.sigterm().success());
    eprintln!("daemon stopped {:?} after SIGTERM", stopping.elapsed());
    // The daemon is gone; the store says how the call ended.
    let show = faxbridge(&setup, &["jobs", "show", &id]);
    assert_eq!(field(&show, "state").as_deref(), Some("done"), "{show}");
    assert_eq!(field(&show, "attempts").as_deref(), Some("1"), "{show}");
    assert_same_pages(&setup.sent, &received(&out));
}

/// An earlier attempt got page 1 through and then the call dropped (as a
/// sending driver records it through the store's API). After a manual
/// retry, the daemon sends only pages 2 and 3, one rung down the fallback
/// ladder (G.711 only: no T.38 re-INVITE although this far end takes T.38).
#[test]
fn resend_starts_at_the_first_unconfirmed_page() {
    use faxbridge::fax::Modem;
    use faxbridge::queue::{
        CallOutcome, CallResult, JobState, JobStore, NewJob, QueueConfig, Route, Transport,
    };

    let setup = setup();
    let spool = setup.root.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let id = runtime.block_on(async {
        let store = faxbridge::store::Store::open_in_spool(&spool)
            .await
            .unwrap();
        let jobs = JobStore::new(store, QueueConfig::default());
        let now = faxbridge::clock::now_ms();
        let job = jobs
            .enqueue(
                &NewJob {
                    idempotency_key: "resume-test".into(),
                    destination: "100".into(),
                    route: Route::Trunk("main".into()),
                    document: setup.document.to_string_lossy().into_owned(),
                    pages_total: 3,
                    submitter: "test".into(),
                    report_to: None,
                    subject: String::new(),
                    not_before: None,
                },
                now,
            )
            .await
            .unwrap();
        let claim = jobs.claim_due(now, 1).await.unwrap().pop().unwrap();
        assert_eq!(claim.pages, 1..=3);
        jobs.start_sending(&job.id, 1, now).await.unwrap();
        jobs.confirm_pages(&job.id, 1, 1).await.unwrap();
        let dropped = CallOutcome {
            result: CallResult::Fax {
                t30_code: spandsp_sys::t30_err_e::T30_ERR_CALLDROPPED as i32,
                t30_text: "the call dropped prematurely".into(),
                pages_confirmed: 1,
            },
            transport: Some(Transport::T38),
            ecm: Some(true),
            modem: Some(Modem::V17),
            remote_ident: None,
            call_duration: None,
            bit_rate: None,
        };
        let state = jobs
            .finish_attempt(&job.id, 1, &dropped, now)
            .await
            .unwrap();
        assert!(matches!(state, JobState::Deferred { .. }), "{state}");
        assert_eq!(
            jobs.retry_now(&job.id, "test", now).await.unwrap(),
            JobState::Queued
        );
        jobs.store().close().await;
        job.id
    });

    let out = setup.root.join("received");
    let answerer = start_answerer(0, &out, true);
    setup.write("sip:{number}@127.0.0.1:{port}", answerer.sip_addr().port());
    let daemon = start_daemon(&setup.config);
    let show = wait_for_state(&setup, &id, "done", Duration::from_secs(180));
    assert_eq!(field(&show, "pages").as_deref(), Some("3 of 3 confirmed"));
    let second = show
        .lines()
        .find(|l| l.trim_start().starts_with("#2 "))
        .unwrap_or_else(|| panic!("no second attempt:\n{show}"));
    assert!(
        second.contains("planned g711/ecm/v17 from page 2") && second.contains("via g711"),
        "{second}"
    );
    assert!(second.contains("2 page(s) confirmed"), "{second}");
    assert_same_pages(&setup.sent[1..], &received(&out));
    assert!(daemon.sigterm().success());
}

/// The daemon is killed (SIGKILL) in the middle of sending a job: the pages
/// the far end had confirmed by then were committed during the call, so
/// after the restart the job resumes at the first unconfirmed page and the
/// far end gets exactly the rest — nothing twice, nothing lost.
#[test]
fn sigkill_mid_send_resumes_after_the_pages_confirmed_so_far() {
    let setup = setup();
    let out = setup.root.join("received");
    let answerer = start_answerer(0, &out, false);
    setup.write("sip:{number}@127.0.0.1:{port}", answerer.sip_addr().port());
    let daemon = start_daemon(&setup.config);
    let id = send(&setup);

    // Wait until the far end has confirmed at least one page, then kill.
    let start = Instant::now();
    let confirmed = loop {
        let show = faxbridge(&setup, &["jobs", "show", &id]);
        let pages = field(&show, "pages").unwrap_or_default();
        let n: u32 = pages
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if (1..3).contains(&n) {
            assert_eq!(field(&show, "state").as_deref(), Some("sending"), "{show}");
            break n;
        }
        assert!(n < 3, "the whole fax went through before the kill:\n{show}");
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no page confirmed during the call:\n{show}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    daemon.sigkill();
    eprintln!("killed with {confirmed} page(s) confirmed");

    let daemon = start_daemon(&setup.config);
    faxbridge(&setup, &["jobs", "retry", &id]);
    let show = wait_for_state(&setup, &id, "done", Duration::from_secs(180));
    assert_eq!(field(&show, "pages").as_deref(), Some("3 of 3 confirmed"));
    let resumed = show
        .lines()
        .rfind(|l| l.trim_start().starts_with('#'))
        .unwrap()
        .to_string();
    assert!(
        resumed.contains(&format!("from page {}", confirmed + 1)),
        "{resumed}\n{show}"
    );
    // The newest received file holds exactly the pages not yet confirmed.
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tif"))
        .collect();
    files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    let last = read_tiff(files.last().unwrap()).unwrap();
    assert_same_pages(&setup.sent[confirmed as usize..], &last);
    assert!(daemon.sigterm().success());
}

/// One bridged ATA port, `lab-ata:2` at 127.0.0.2 with SIP on
/// `ata_port`, whose number is +441632960202.
fn add_ata_port(config: &mut DaemonConfig, ata_port: u16) -> &mut DaemonConfig {
    config
        .entry(
            "ata.buildings",
            "name = \"Lab\"\nsubnets = [\"127.0.0.0/24\"]\nemergency_cli = \"+441632960001\"",
        )
        .ata_unit("lab-ata", "127.0.0.2", "building = \"Lab\"")
        .ata_port("lab-ata", 2, "2002", "fax", "")
        .set("bridge", &format!("ata_sip_port = {ata_port}"))
        .bridge_line("lab-ata", 2, "+441632960202")
}

/// A fax to the number of one of our own ATA ports is dialled straight at
/// the port (the unit's address, `[bridge] ata_sip_port`), not through the
/// trunk: a `faxbridge answer` posing as the port receives every page
/// pixel for pixel while the trunk's answerer never sees a call.
#[test]
fn a_fax_to_an_ata_ports_number_goes_straight_to_the_port() {
    let setup = setup();
    let trunk_out = setup.root.join("trunk");
    let port_out = setup.root.join("port");
    let trunk = start_answerer(0, &trunk_out, true);
    let port = start_answerer_at("127.0.0.2", 0, &port_out, false);
    add_ata_port(
        &mut setup.configure("sip:{number}@127.0.0.1:{port}", trunk.sip_addr().port()),
        port.sip_addr().port(),
    )
    .write();
    let daemon = start_daemon(&setup.config);

    // Written the national way; the port's number is configured in E.164.
    let id = send_to(&setup, "01632 960202");
    let show = wait_for_state(&setup, &id, "done", Duration::from_secs(180));
    assert_eq!(field(&show, "pages").as_deref(), Some("3 of 3 confirmed"));
    assert!(show.contains("via ata:lab-ata:2"), "{show}");
    assert_same_pages(&setup.sent, &received(&port_out));
    let trunk_files = std::fs::read_dir(&trunk_out)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(trunk_files, 0, "the trunk received a call");
    assert!(daemon.sigterm().success());
}

/// A site whose fax machines are all on its ATAs has no trunk (`[outgoing]
/// uri` unset): the daemon still runs the sending worker, a job to a port's
/// number is faxed to the port, and a number that is not a port's is
/// refused when submitted, with the reason, instead of waiting for ever. A
/// trunk job already in the queue (queued while a trunk was configured)
/// fails at once with the same reason rather than staying queued.
#[test]
fn without_a_trunk_ports_are_sent_to_and_other_numbers_refused() {
    use faxbridge::queue::{JobStore, NewJob, QueueConfig, Route};

    let setup = setup();
    let port_out = setup.root.join("port");
    let port = start_answerer_at("127.0.0.2", 0, &port_out, false);
    add_ata_port(&mut setup.configure("", 0), port.sip_addr().port()).write();

    // Refused at submission: nothing is queued.
    let refused = Command::new(BIN)
        .args(["send", "--to", "01632 960201", "--from", "lab"])
        .arg(&setup.document)
        .arg("--config")
        .arg(&setup.config)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("no trunk configured: set [outgoing] uri"),
        "{stderr}"
    );
    assert_eq!(
        faxbridge(&setup, &["jobs", "list"]).lines().count(),
        1,
        "a refused fax was queued"
    );

    // A trunk job from the past, queued directly in the store.
    let spool = setup.root.join("spool");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stale = runtime.block_on(async {
        let store = faxbridge::store::Store::open_in_spool(&spool)
            .await
            .unwrap();
        let jobs = JobStore::new(store, QueueConfig::default());
        let job = jobs
            .enqueue(
                &NewJob {
                    idempotency_key: "before-the-trunk-went".into(),
                    destination: "01632960201".into(),
                    route: Route::Trunk("main".into()),
                    document: setup.document.to_string_lossy().into_owned(),
                    pages_total: 3,
                    submitter: "test".into(),
                    report_to: None,
                    subject: String::new(),
                    not_before: None,
                },
                faxbridge::clock::now_ms(),
            )
            .await
            .unwrap();
        jobs.store().close().await;
        job.id
    });

    let daemon = start_daemon(&setup.config);
    let id = send_to(&setup, "+44 1632 960202");
    let show = wait_for_state(&setup, &id, "done", Duration::from_secs(180));
    assert_eq!(field(&show, "pages").as_deref(), Some("3 of 3 confirmed"));
    assert!(show.contains("via ata:lab-ata:2"), "{show}");
    assert_same_pages(&setup.sent, &received(&port_out));

    let show = wait_for_state(&setup, &stale, "failed", Duration::from_secs(30));
    assert_eq!(
        field(&show, "last cause").as_deref(),
        Some("no trunk configured: set [outgoing] uri"),
        "{show}"
    );
    assert_eq!(field(&show, "pages").as_deref(), Some("0 of 3 confirmed"));
    assert!(daemon.sigterm().success());
}

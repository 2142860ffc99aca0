//! A store with one of everything the web interface shows, and a small
//! HTTP/1.1 client, shared by the web integration tests.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;

use faxbridge::ata::status::{LineState, Reading, UnitStatus};
use faxbridge::compliance::{ComplianceStore, FlagEvidence, Reason};
use faxbridge::config::Config;
use faxbridge::docs::{Page, Resolution};
use faxbridge::queue::{JobStore, NewJob, Route};
use faxbridge::store::Store;
use faxbridge::web::{WebServer, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

/// Passwords of the seeded accounts (PBKDF2-SHA256, 100,000 iterations,
/// the least a configuration may use, salt "salt").
pub const ADMIN: (&str, &str) = ("admin", "adminpass");
pub const FINANCE: (&str, &str) = ("fin", "finpass");
pub const USER: (&str, &str) = ("sales", "userpass");

/// The received fax's id and its recipient.
pub const FAX_ID: &str = "20261125T101500-00000000000000aa";
pub const OTHER_FAX_ID: &str = "20261125T111500-00000000000000bb";
pub const JOB_KEY: &str = "<m1@example.org>/+441234567890";

pub fn config(spool: &Path) -> Config {
    config_with(spool, "metrics_from = [\"127.0.0.1\"]")
}

/// The test configuration with `web` as the `[web]` keys besides `listen`
/// (the default: `metrics_from = ["127.0.0.1"]`).
pub fn config_with(spool: &Path, web: &str) -> Config {
    let text = format!(
        r#"
[general]
spool_dir = "{spool}"

[web]
listen = "127.0.0.1:0"
{web}

[[web.accounts]]
username = "admin"
password_hash = "pbkdf2-sha256$100000$salt$EAE46998928517C506DEE34AEC1B801EDB5D4DF14490B63DFA19514F2310FAC0"
role = "admin"

[[web.accounts]]
username = "fin"
password_hash = "pbkdf2-sha256$100000$salt$59FC84E4275ECEEE5E1125D06203821F7F4A3AB7971408A5CA73EFA8CF1DB7CE"
role = "finance"

[[web.accounts]]
username = "sales"
password_hash = "pbkdf2-sha256$100000$salt$1B3D67769B4B16A3FDC6AC9D79CF03B8B9C56DC60FC6588019304A10F49033C3"
role = "user"
email = "sales@example.org"

[web.trusted_proxy]
addresses = ["127.0.0.2"]
header = "X-Remote-User"
roles = {{ "alice@example.org" = "finance" }}

[[ata.buildings]]
name = "Shop"
subnets = ["192.0.2.0/24"]
emergency_cli = "+441234000999"

[[ata.units]]
name = "ata-shop"
address = "192.0.2.10"
building = "Shop"
model = "Mediatrix 4102"

[[ata.ports]]
unit = "ata-shop"
number = 1
sip_user = "2001"
role = "pdq"
owner = "Till 1"
takes_payments = true

[[ata.ports]]
unit = "ata-shop"
number = 2
sip_user = "2002"
role = "fax"
"#,
        spool = spool.display()
    );
    let c = Config::parse(&text).expect("test config parses");
    c.validate().expect("test config is valid");
    c
}

fn page(mark: u32) -> Page {
    let mut p = Page::blank(1728, 400, Resolution::Standard);
    for y in 0..p.height {
        for x in 0..p.width {
            let frame = x < 16 || x >= p.width - 16 || y < 8 || y >= p.height - 8;
            let bars = y > 60 && y < 340 && (x / 48) % (mark + 2) == 0;
            if frame || bars {
                p.set(x, y, true);
            }
        }
    }
    p
}

async fn received_fax(store: &Store, spool: &Path, id: &str, recipient: &str, started: i64) {
    let dir = spool.join("incoming");
    std::fs::create_dir_all(&dir).unwrap();
    let tiff = dir.join(format!("{id}.tif"));
    let pdf = dir.join(format!("{id}.pdf"));
    let png = dir.join(format!("{id}.png"));
    faxbridge::docs::tiff::write_tiff(&tiff, &[page(1), page(2)], Default::default()).unwrap();
    faxbridge::docs::convert_to_pdf(&tiff, &pdf).unwrap();
    faxbridge::docs::thumbnail_png(&tiff, &png).unwrap();
    sqlx::query(
        "INSERT INTO received_fax (id, tiff_path, caller, called, remote_csi, pages_received, \
         pages_expected, started_at_ms, duration_ms, bit_rate, ecm, result_text, success, \
         recipients, attach_tiff, state, convert_attempts, pdf_path, thumb_path, pdf_pages, \
         conversion_error, created_at_ms, updated_at_ms) VALUES ($1, $2, '01611234567', '100', \
         'ACME SUPPLIES', 2, 2, $3, 61000, 14400, 1, 'OK', 1, $4, 0, 'queued', 1, $5, $6, 2, \
         NULL, $3, $3)",
    )
    .bind(id)
    .bind(tiff.to_string_lossy().into_owned())
    .bind(started)
    .bind(recipient)
    .bind(pdf.to_string_lossy().into_owned())
    .bind(png.to_string_lossy().into_owned())
    .execute(store.pool())
    .await
    .unwrap();
}

/// Seed the store: two received faxes (one for sales@, one for accounts@),
/// a queued job, an ATA status with a port in use, a PCI flag on port 1.
pub async fn seed(config: &Config, store: &Store) {
    let spool = &config.general.spool_dir;
    received_fax(
        store,
        spool,
        FAX_ID,
        "Sales <sales@example.org>",
        1_795_000_000_000,
    )
    .await;
    received_fax(
        store,
        spool,
        OTHER_FAX_ID,
        "Accounts <accounts@example.org>",
        1_795_000_600_000,
    )
    .await;
    let doc = spool.join("outgoing").join("job1.tif");
    std::fs::create_dir_all(doc.parent().unwrap()).unwrap();
    faxbridge::docs::tiff::write_tiff(&doc, &[page(3)], Default::default()).unwrap();
    JobStore::new(store.clone(), config.queue.clone())
        .enqueue(
            &NewJob {
                idempotency_key: JOB_KEY.into(),
                destination: "+44 1234 567890".into(),
                route: Route::Trunk("main".into()),
                document: doc.to_string_lossy().into_owned(),
                pages_total: 1,
                submitter: "accounts@example.org".into(),
                report_to: Some("accounts@example.org".into()),
                subject: "Invoice 42".into(),
                not_before: None,
            },
            1_795_000_700_000,
        )
        .await
        .unwrap();
    faxbridge::ata::store::save(
        store,
        &UnitStatus {
            unit: "ata-shop".into(),
            reachable: true,
            last_poll: 1_795_000_800_000,
            last_seen: Some(1_795_000_800_000),
            unreachable_since: None,
            error: None,
            reading: Some(Reading {
                uptime_ticks: 500,
                firmware: Some("DGW 48.0".into()),
                lines: [
                    ("Port1".to_string(), LineState::InUse),
                    ("Port2".to_string(), LineState::Idle),
                ]
                .into(),
                ..Reading::default()
            }),
            booted_at: Some(1_795_000_000_000),
            upgrading_since: None,
            stuck: false,
            problems: Vec::new(),
        },
    )
    .await
    .unwrap();
    ComplianceStore::new(store.clone())
        .record(&[FlagEvidence {
            ata: "ata-shop".into(),
            port: "Port1".into(),
            building: "Shop".into(),
            reason: Reason::AcquirerNumber,
            at_ms: 1_795_000_900_000,
            call: Some((1_795_000_900_000, 1_795_000_960_000)),
            number: Some("08001234".into()),
            signals: Vec::new(),
            confidence: None,
            detail: "dialled an acquirer number".into(),
        }])
        .await
        .unwrap();
}

/// A seeded store and a running web interface on 127.0.0.1.
pub struct Running {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub server: Option<WebServer>,
    pub addr: SocketAddr,
    pub stop: watch::Sender<bool>,
}

pub async fn start() -> Running {
    start_with(|_| "metrics_from = [\"127.0.0.1\"]".to_string()).await
}

/// [`start`] with other `[web]` keys (given the spool directory, e.g. to
/// write a token file there).
pub async fn start_with(web: impl FnOnce(&Path) -> String) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(dir.path(), &web(dir.path()));
    let store = Store::open_in_spool(dir.path()).await.unwrap();
    seed(&config, &store).await;
    let (stop, stop_rx) = watch::channel(false);
    let server = serve(config.site(), store.clone(), stop_rx)
        .await
        .unwrap()
        .expect("[web] listen is set");
    let addr = server.local_addr();
    Running {
        dir,
        store,
        server: Some(server),
        addr,
        stop,
    }
}

impl Running {
    /// Stop the server and wait for it.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(s) = self.server.take() {
            tokio::time::timeout(std::time::Duration::from_secs(10), s.join())
                .await
                .expect("web interface stops on the shutdown signal");
        }
    }
}

/// One HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The session cookie (`name=value`) set by this response.
    pub fn session_cookie(&self) -> Option<String> {
        let v = self.header("set-cookie")?;
        Some(v.split(';').next()?.to_string())
    }
}

fn decode_chunked(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&b[..nl]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("chunk size");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
}

/// Send one request (HTTP/1.1, `Connection: close`) from `local` (an
/// address in 127.0.0.0/8, to test the proxy and metrics allow-lists).
pub async fn request_from(
    local: Option<std::net::IpAddr>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Reply {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(ip) = local {
        socket.bind(SocketAddr::new(ip, 0)).unwrap();
    }
    let mut stream = socket.connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some((ctype, b)) = body {
        req.push_str(&format!(
            "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
            b.len()
        ));
    } else if method == "POST" {
        req.push_str("Content-Length: 0\r\n");
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some((_, b)) = body {
        bytes.extend_from_slice(b);
    }
    stream.write_all(&bytes).await.unwrap();
    // Read until the body is complete by its Content-Length (some servers
    // keep the connection open despite `Connection: close`), the chunked
    // terminator, or end of stream.
    let mut raw = Vec::new();
    let read = async {
        let mut buf = [0u8; 8192];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if let Some(len) = length
                    && raw.len() >= split + 4 + len
                {
                    break;
                }
                if head.contains("transfer-encoding: chunked") && raw.ends_with(b"0\r\n\r\n") {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(90), read)
        .await
        .expect("response within 90 s");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = decode_chunked(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// [`request_from`] from the default address.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Reply {
    request_from(None, addr, method, path, headers, body).await
}

/// Sign in; returns the session cookie.
pub async fn login(addr: SocketAddr, (user, password): (&str, &str)) -> String {
    let form = format!("username={user}&password={password}");
    let r = request(
        addr,
        "POST",
        "/login",
        &[],
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    )
    .await;
    assert_eq!(r.status, 303, "sign-in of {user}: {}", r.text());
    r.session_cookie().expect("a session cookie")
}

//! The web interface's defences in the running daemon (`faxbridge run`),
//! with a plain HTTP/1.1 client on chosen loopback addresses: `/metrics`
//! only straight from `metrics_from` or with the bearer token, and
//! password guessing locking out the guessing address, not the account.
//! The account's hash is made by `faxbridge passwd`.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::config::{DaemonConfig, quote};
use support::procs::{BIN, start_daemon};

/// One request from `from`; the status and the whole response.
fn request(
    from: &str,
    to: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String) {
    let from: IpAddr = from.parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::new(from, 0).into()).unwrap();
    socket.connect(&to.into()).unwrap();
    let mut s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn passwd(password: &str) -> String {
    let mut child = Command::new(BIN)
        .arg("passwd")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    hash
}

#[test]
fn metrics_and_sign_in_are_guarded_in_the_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let token_file = root.join("metrics.token");
    std::fs::write(&token_file, "7f3a9c2e5b8d1f4a6c0e9b2d7a5f3c1e\n").unwrap();
    let cfg = DaemonConfig::new(root)
        .peer("loopback", &["127.0.0.0/8"])
        .web(&format!(
            "metrics_from = [\"127.0.0.1\"]\nmetrics_token_file = {}",
            quote(token_file.display())
        ))
        .entry(
            "web.accounts",
            &format!(
                "username = \"admin\"\npassword_hash = {}\nrole = \"admin\"",
                quote(passwd("correct horse battery"))
            ),
        )
        .write();
    let daemon = start_daemon(&cfg);
    // Every listener was asked for port 0; the ready line says where each
    // is.
    let web = daemon.addr("web");
    assert_ne!(web.port(), 0);
    assert_ne!(daemon.addr("udp").port(), 0);
    assert_ne!(daemon.addr("tcp").port(), 0);
    let metrics = |from, headers: &[&str]| request(from, web, "GET", "/metrics", headers, "").0;

    // /metrics: straight from metrics_from, or with the token; never
    // through a proxy's forwarding headers.
    assert_eq!(metrics("127.0.0.1", &[]), 200);
    assert_eq!(metrics("127.0.0.1", &["X-Forwarded-For: 203.0.113.9"]), 403);
    assert_eq!(metrics("127.0.0.5", &[]), 403);
    assert_eq!(
        metrics(
            "127.0.0.5",
            &["Authorization: Bearer 7f3a9c2e5b8d1f4a6c0e9b2d7a5f3c1e"]
        ),
        200
    );
    assert_eq!(
        metrics(
            "127.0.0.5",
            &["Authorization: Bearer 7f3a9c2e5b8d1f4a6c0e9b2d7a5f3c1f"]
        ),
        401
    );

    // Guessing the admin's password from one address locks out that
    // address, not the admin.
    let login = |from, password: &str| {
        request(
            from,
            web,
            "POST",
            "/login",
            &[],
            &format!("username=admin&password={}", password.replace(' ', "+")),
        )
        .0
    };
    for _ in 0..5 {
        assert_eq!(login("127.0.0.20", "guess"), 401);
    }
    assert_eq!(login("127.0.0.20", "correct horse battery"), 429);
    let started = Instant::now();
    assert_eq!(login("127.0.0.30", "correct horse battery"), 303);
    assert!(
        started.elapsed() < Duration::from_secs(17),
        "slowed, never refused"
    );
    let (_, text) = request("127.0.0.1", web, "GET", "/metrics", &[], "");
    assert!(
        text.contains("faxbridge_web_login_lockouts_total 1"),
        "{text}"
    );
}

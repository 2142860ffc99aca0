//! The web interface over real HTTP on loopback: sign-in, roles, CSRF,
//! fax files, JSON API, single sign-on header and Prometheus metrics, on a
//! store seeded with one of everything.

#[path = "web/seed.rs"]
mod seed;

use seed::{ADMIN, FAX_ID, FINANCE, OTHER_FAX_ID, USER, login, request, request_from};

fn cookie_header(c: &str) -> [(&'static str, &str); 1] {
    [("Cookie", c)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_and_out() {
    let web = seed::start().await;
    let a = web.addr;
    let r = request(a, "GET", "/", &[], None).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login"));
    let r = request(a, "GET", "/api/dashboard", &[], None).await;
    assert_eq!(r.status, 401);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("not signed in")
    );

    let form = b"username=admin&password=wrong";
    let r = request(
        a,
        "POST",
        "/login",
        &[],
        Some(("application/x-www-form-urlencoded", form)),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.session_cookie().is_none());
    assert!(r.text().contains("Wrong user name or password"));

    let form = b"username=admin&password=adminpass";
    let r = request(
        a,
        "POST",
        "/login",
        &[("Origin", "http://evil.example")],
        Some(("application/x-www-form-urlencoded", form)),
    )
    .await;
    assert_eq!(r.status, 403, "login from another site's form");
    assert!(r.session_cookie().is_none());
    let r = request(
        a,
        "POST",
        "/login",
        &[],
        Some(("application/x-www-form-urlencoded", form)),
    )
    .await;
    assert_eq!(r.status, 303);
    let set = r.header("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = r.session_cookie().unwrap();
    let r = request(a, "GET", "/", &cookie_header(&cookie), None).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("admin (admin)"));
    let r = request(a, "GET", "/login", &cookie_header(&cookie), None).await;
    assert_eq!(r.status, 303, "signed in: the form sends to the dashboard");

    // Sign out needs the CSRF token too.
    let r = request(
        a,
        "POST",
        "/logout",
        &cookie_header(&cookie),
        Some(("application/x-www-form-urlencoded", b"csrf=nope")),
    )
    .await;
    assert_eq!(r.status, 403);
    let token = request(a, "GET", "/api/session", &cookie_header(&cookie), None)
        .await
        .json()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let form = format!("csrf={token}");
    let r = request(
        a,
        "POST",
        "/logout",
        &cookie_header(&cookie),
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    )
    .await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = request(a, "GET", "/api/session", &cookie_header(&cookie), None).await;
    assert_eq!(r.status, 401, "the session is gone after sign-out");
    web.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sees_faxes_with_thumbnail_and_pdf() {
    let web = seed::start().await;
    let a = web.addr;
    let cookie = login(a, ADMIN).await;
    let h = cookie_header(&cookie);
    let page = request(a, "GET", "/faxes/in", &h, None).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains(FAX_ID) && html.contains(OTHER_FAX_ID));
    assert!(html.contains(&format!("/faxes/in/{FAX_ID}/thumbnail.png")));
    assert!(html.contains("ACME SUPPLIES"));
    assert_eq!(page.header("cache-control"), Some("no-store"));

    let png = request(
        a,
        "GET",
        &format!("/faxes/in/{FAX_ID}/thumbnail.png"),
        &h,
        None,
    )
    .await;
    assert_eq!(png.status, 200);
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n"));

    let pdf = request(a, "GET", &format!("/faxes/in/{FAX_ID}/fax.pdf"), &h, None).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert_eq!(
        pdf.header("content-disposition"),
        Some(format!("attachment; filename=\"fax-{FAX_ID}.pdf\"").as_str())
    );
    assert!(pdf.body.starts_with(b"%PDF-"));
    let on_disk = std::fs::read(
        web.dir
            .path()
            .join("incoming")
            .join(format!("{FAX_ID}.pdf")),
    )
    .unwrap();
    assert_eq!(pdf.body, on_disk);

    let missing = request(a, "GET", "/faxes/in/nope/fax.pdf", &h, None).await;
    assert_eq!(missing.status, 404);

    // Lines and configuration are admin pages; no secret is shown.
    let lines = request(a, "GET", "/lines", &h, None).await.text();
    assert!(
        lines.contains("ata-shop") && lines.contains("InUse") && lines.contains("acquirer_number"),
        "{lines}"
    );
    assert!(
        lines.contains("Call policy") && lines.contains("abroad no; at once 2; per hour 120"),
        "each port's toll-fraud policy is shown: {lines}"
    );
    let config = request(a, "GET", "/config", &h, None).await;
    assert_eq!(config.status, 200);
    assert!(!config.text().contains("pbkdf2"), "hashes never shown");
    let api = request(a, "GET", "/api/config", &h, None).await;
    assert_eq!(
        api.json()["web"]["accounts"],
        "admin (admin), fin (finance), sales (user)"
    );
    assert!(!api.text().contains("pbkdf2"));
    web.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_sees_the_pci_report_but_no_admin_page() {
    let web = seed::start().await;
    let a = web.addr;
    let cookie = login(a, FINANCE).await;
    let h = cookie_header(&cookie);
    let pci = request(a, "GET", "/pci", &h, None).await;
    assert_eq!(pci.status, 200);
    let html = pci.text();
    assert!(html.contains("ata-shop") && html.contains("Port1") && html.contains("Shop"));
    assert!(
        html.contains("4.2.1") && html.contains("08001234"),
        "{html}"
    );

    let csv = request(a, "GET", "/pci.csv", &h, None).await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        csv.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let text = csv.text();
    let mut rows = text.lines();
    assert!(
        rows.next()
            .unwrap()
            .starts_with("id,building,ata,port,reason")
    );
    let row = rows.next().unwrap();
    assert!(
        row.contains(",Shop,ata-shop,Port1,acquirer_number,"),
        "{row}"
    );
    assert!(rows.next().is_none());

    let json = request(a, "GET", "/api/pci", &h, None).await.json();
    assert_eq!(json["flags"][0]["reason"], "acquirer_number");

    for path in ["/config", "/api/config"] {
        let r = request(a, "GET", path, &h, None).await;
        assert_eq!(r.status, 403, "{path}");
        assert!(r.text().contains("fin (finance) may not use this page"));
    }
    // Finance may read the logs but not change jobs.
    let jobs = request(a, "GET", "/api/faxes/out", &h, None).await.json();
    let id = jobs["jobs"][0]["id"].as_str().unwrap().to_string();
    let token = request(a, "GET", "/api/session", &h, None).await.json()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = request(
        a,
        "POST",
        &format!("/api/faxes/out/{id}/cancel"),
        &[("Cookie", &cookie), ("X-CSRF-Token", &token)],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    web.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_only_their_own_faxes() {
    let web = seed::start().await;
    let a = web.addr;
    let cookie = login(a, USER).await;
    let h = cookie_header(&cookie);
    let faxes = request(a, "GET", "/api/faxes/in", &h, None).await.json();
    let ids: Vec<&str> = faxes["faxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [FAX_ID]);
    let theirs = request(
        a,
        "GET",
        &format!("/faxes/in/{OTHER_FAX_ID}/fax.pdf"),
        &h,
        None,
    )
    .await;
    assert_eq!(theirs.status, 404, "another person's fax is not found");
    let own = request(a, "GET", &format!("/faxes/in/{FAX_ID}/fax.pdf"), &h, None).await;
    assert_eq!(own.status, 200);
    let jobs = request(a, "GET", "/api/faxes/out", &h, None).await.json();
    assert_eq!(
        jobs["jobs"].as_array().unwrap().len(),
        0,
        "the job belongs to accounts@"
    );
    for path in ["/pci", "/lines", "/config", "/api/pci"] {
        assert_eq!(
            request(a, "GET", path, &h, None).await.status,
            403,
            "{path}"
        );
    }
    let dash = request(a, "GET", "/api/dashboard", &h, None).await.json();
    assert!(dash["pci_open"].is_null());
    assert_eq!(dash["last_received"].as_array().unwrap().len(), 1);
    web.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_need_the_csrf_token() {
    let web = seed::start().await;
    let a = web.addr;
    let cookie = login(a, ADMIN).await;
    let h = cookie_header(&cookie);
    let jobs = request(a, "GET", "/api/faxes/out", &h, None).await.json();
    let job = &jobs["jobs"][0];
    assert_eq!(job["state"], "queued");
    assert_eq!(job["subject"], "Invoice 42");
    let id = job["id"].as_str().unwrap().to_string();
    let state = |j: serde_json::Value| j["job"]["state"].as_str().unwrap().to_string();

    let form = "application/x-www-form-urlencoded";
    let cancel = format!("/faxes/out/{id}/cancel");
    let r = request(a, "POST", &cancel, &h, Some((form, b""))).await;
    assert_eq!(r.status, 403, "no token");
    let r = request(a, "POST", &cancel, &h, Some((form, b"csrf=0000"))).await;
    assert_eq!(r.status, 403, "wrong token");
    let detail = request(a, "GET", &format!("/api/faxes/out/{id}"), &h, None)
        .await
        .json();
    assert_eq!(state(detail), "queued", "refused requests changed nothing");

    let page = request(a, "GET", "/faxes/out", &h, None).await.text();
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // A cross-site form carrying a valid token is still refused by Origin.
    let body = format!("csrf={token}");
    let r = request(
        a,
        "POST",
        &cancel,
        &[("Cookie", &cookie), ("Origin", "http://evil.example")],
        Some((form, body.as_bytes())),
    )
    .await;
    assert_eq!(r.status, 403);
    let origin = format!("http://{a}");
    let r = request(
        a,
        "POST",
        &cancel,
        &[("Cookie", &cookie), ("Origin", &origin)],
        Some((form, body.as_bytes())),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let detail = request(a, "GET", &format!("/api/faxes/out/{id}"), &h, None)
        .await
        .json();
    assert_eq!(detail["job"]["state"], "cancelled");
    assert!(
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["detail"] == "cancelled by admin (web)")
    );
    // Cancelling again is a conflict, not an error page.
    let r = request(a, "POST", &cancel, &h, Some((form, body.as_bytes()))).await;
    assert_eq!(r.status, 409);

    let retry = format!("/api/faxes/out/{id}/retry");
    let r = request(a, "POST", &retry, &h, None).await;
    assert_eq!(r.status, 403);
    let r = request(
        a,
        "POST",
        &retry,
        &[("Cookie", &cookie), ("X-CSRF-Token", &token)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "queued");
    web.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_dashboard_and_lines() {
    let web = seed::start().await;
    let a = web.addr;
    let cookie = login(a, ADMIN).await;
    let h = cookie_header(&cookie);
    let d = request(a, "GET", "/api/dashboard", &h, None).await.json();
    assert_eq!(d["queue"]["queued"], 1);
    assert_eq!(d["outgoing_calls"], 0);
    assert_eq!(d["atas_reachable"], 1);
    assert_eq!(d["pci_open"], 1);
    assert_eq!(d["last_received"][0]["id"], OTHER_FAX_ID, "newest first");
    let lines = request(a, "GET", "/api/lines", &h, None).await.json();
    let unit = &lines["units"][0];
    assert_eq!(unit["name"], "ata-shop");
    assert_eq!(unit["reachable"], true);
    assert_eq!(unit["ports"][0]["role"], "pdq");
    assert_eq!(unit["ports"][0]["state"], "InUse");
    assert_eq!(unit["ports"][0]["pci_flags"][0], "acquirer_number");
    assert!(
        unit["ports"][0]["policy"]
            .as_str()
            .unwrap()
            .starts_with("blocked 09 0871"),
        "{unit}"
    );
    assert_eq!(unit["ports"][1]["state"], "Idle");
    web.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_proxy_header_only_from_the_proxy() {
    let web = seed::start().await;
    let a = web.addr;
    let proxy = Some("127.0.0.2".parse().unwrap());
    let sso = [("X-Remote-User", "alice@example.org")];
    let r = request_from(proxy, a, "GET", "/api/session", &sso, None).await;
    assert_eq!(r.status, 200);
    let s = r.json();
    assert_eq!(s["role"], "finance");
    assert_eq!(s["via_proxy"], true);
    assert_eq!(
        request_from(proxy, a, "GET", "/pci", &sso, None)
            .await
            .status,
        200
    );
    assert_eq!(
        request_from(proxy, a, "GET", "/config", &sso, None)
            .await
            .status,
        403
    );
    // The same header from anywhere else is ignored.
    let r = request_from(
        Some("127.0.0.3".parse().unwrap()),
        a,
        "GET",
        "/api/session",
        &sso,
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    // A name the proxy has no role for is refused.
    let r = request_from(
        proxy,
        a,
        "GET",
        "/api/session",
        &[("X-Remote-User", "mallory")],
        None,
    )
    .await;
    assert_eq!(r.status, 401);
    web.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_metrics() {
    let web = seed::start().await;
    let a = web.addr;
    let r = request(a, "GET", "/metrics", &[], None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text();
    for line in [
        "# TYPE faxbridge_received_faxes_total counter",
        "faxbridge_received_faxes_total{result=\"success\"} 2",
        "faxbridge_received_faxes_total{result=\"failure\"} 0",
        "faxbridge_fax_pages_total{direction=\"in\"} 4",
        "faxbridge_queue_jobs{state=\"queued\"} 1",
        "faxbridge_queue_jobs{state=\"failed\"} 0",
        "faxbridge_outbox_messages{state=\"dead\"} 0",
        "faxbridge_ata_reachable{unit=\"ata-shop\"} 1",
        "faxbridge_pci_flags{status=\"open\"} 1",
        "faxbridge_pci_flags{status=\"acknowledged\"} 0",
        "# TYPE faxbridge_pci_new_findings_total counter",
        "faxbridge_pci_new_findings_total{reason=\"acquirer_number\"} 1",
        "faxbridge_pci_new_findings_total{reason=\"modem_handshake\"} 0",
        "faxbridge_calls_in_progress{direction=\"out\"} 0",
        "faxbridge_calls_in_progress{direction=\"bridged\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // A failed reception shows up by its T.30 result.
    sqlx::query("UPDATE received_fax SET success = 0, result_text = 'Timed out waiting for initial communication' WHERE id = $1")
        .bind(FAX_ID)
        .execute(web.store.pool())
        .await
        .unwrap();
    faxbridge::compliance::ComplianceStore::new(web.store.clone())
        .acknowledge(
            &faxbridge::compliance::store::flag_id(
                "ata-shop",
                "Port1",
                faxbridge::compliance::Reason::AcquirerNumber,
            ),
            "Finance",
            "terminal replaced by a 4G one",
            1_795_001_000_000,
        )
        .await
        .unwrap();
    let text = request(a, "GET", "/metrics", &[], None).await.text();
    assert!(text.contains("faxbridge_fax_failures_total{direction=\"in\",result=\"Timed out waiting for initial communication\"} 1"), "{text}");
    assert!(text.contains("faxbridge_pci_flags{status=\"acknowledged\"} 1"));
    assert!(
        text.contains("faxbridge_pci_new_findings_total{reason=\"acquirer_number\"} 1"),
        "acknowledging does not take a finding back"
    );

    // Outside [web] metrics_from: refused, unless an admin is signed in.
    let other = Some("127.0.0.3".parse().unwrap());
    assert_eq!(
        request_from(other, a, "GET", "/metrics", &[], None)
            .await
            .status,
        403
    );
    let fin = login(a, FINANCE).await;
    assert_eq!(
        request_from(other, a, "GET", "/metrics", &[("Cookie", &fin)], None)
            .await
            .status,
        403
    );
    let admin = login(a, ADMIN).await;
    assert_eq!(
        request_from(other, a, "GET", "/metrics", &[("Cookie", &admin)], None)
            .await
            .status,
        200
    );
    web.shutdown().await;
}

#[tokio::test]
async fn no_listen_address_means_no_web_interface() {
    let dir = tempfile::tempdir().unwrap();
    let store = faxbridge::store::Store::open_in_spool(dir.path())
        .await
        .unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let config = faxbridge::config::Config::embedded_default();
    assert!(
        faxbridge::web::serve(config.site(), store, rx)
            .await
            .unwrap()
            .is_none()
    );
}

async fn login_from(
    from: &str,
    a: std::net::SocketAddr,
    (user, password): (&str, &str),
    headers: &[(&str, &str)],
) -> seed::Reply {
    let form = format!("username={user}&password={password}");
    request_from(
        Some(from.parse().unwrap()),
        a,
        "POST",
        "/login",
        headers,
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_secure_behind_the_https_proxy_only() {
    let web = seed::start().await;
    let a = web.addr;
    let https = [("X-Forwarded-Proto", "https")];
    // Straight to faxbridge over plain HTTP: a Secure cookie would never
    // come back, so `auto` leaves it out.
    let r = login_from("127.0.0.1", a, ADMIN, &[]).await;
    assert_eq!(r.status, 303);
    let set = r.header("set-cookie").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    assert!(!set.contains("Secure"), "{set}");
    // Anyone can send X-Forwarded-Proto; only the trusted proxy (127.0.0.2)
    // is believed.
    let r = login_from("127.0.0.3", a, ADMIN, &https).await;
    assert_eq!(r.status, 303);
    assert!(!r.header("set-cookie").unwrap().contains("Secure"));
    // Through the proxy that terminated HTTPS: Secure.
    let r = login_from("127.0.0.2", a, FINANCE, &https).await;
    assert_eq!(r.status, 303);
    let set = r.header("set-cookie").unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("; Secure"),
        "{set}"
    );
    let r = login_from("127.0.0.2", a, FINANCE, &[("X-Forwarded-Proto", "http")]).await;
    assert!(!r.header("set-cookie").unwrap().contains("Secure"));
    // Signing out through the proxy removes the cookie with the same
    // attributes.
    let cookie = set.split(';').next().unwrap().to_string();
    let token = request_from(
        Some("127.0.0.2".parse().unwrap()),
        a,
        "GET",
        "/api/session",
        &cookie_header(&cookie),
        None,
    )
    .await
    .json()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let form = format!("csrf={token}");
    let r = request_from(
        Some("127.0.0.2".parse().unwrap()),
        a,
        "POST",
        "/logout",
        &[("Cookie", &cookie), ("X-Forwarded-Proto", "https")],
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    )
    .await;
    assert_eq!(r.status, 303);
    let set = r.header("set-cookie").unwrap();
    assert!(
        set.contains("Max-Age=0") && set.contains("; Secure"),
        "{set}"
    );
    web.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_limited_per_address_and_per_account() {
    let web = seed::start().await;
    let a = web.addr;
    fn wrong(user: &str) -> (&str, &str) {
        (user, "wrong")
    }

    // Five wrong passwords for `fin` from one address: each is 401.
    for _ in 0..5 {
        let r = login_from("127.0.0.1", a, wrong("fin"), &[]).await;
        assert_eq!(r.status, 401, "{}", r.text());
    }
    // The sixth attempt is refused before the password is checked, even
    // with the right password, and says when to come back.
    let r = login_from("127.0.0.1", a, FINANCE, &[]).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.session_cookie().is_none());
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((250..=300).contains(&retry), "Retry-After {retry}");
    assert!(
        r.text().contains("Too many failed sign-ins"),
        "{}",
        r.text()
    );
    // The account is not locked out: its right password from another
    // address signs in, after the delay its five failures call for (4 s)…
    let started = std::time::Instant::now();
    let r = login_from("127.0.0.3", a, FINANCE, &[]).await;
    assert_eq!(r.status, 303, "the right password from a clean address");
    assert!(started.elapsed() >= std::time::Duration::from_secs(4));
    // …and another account signs in from there too.
    assert_eq!(login_from("127.0.0.3", a, ADMIN, &[]).await.status, 303);

    // One address guessing five different names is blocked for all names.
    for n in 0..5 {
        let name = format!("nobody{n}");
        let r = login_from("127.0.0.4", a, wrong(&name), &[]).await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(login_from("127.0.0.4", a, ADMIN, &[]).await.status, 429);
    assert_eq!(login_from("127.0.0.5", a, ADMIN, &[]).await.status, 303);

    // Behind the trusted proxy the client is the address it forwards for.
    let from = |ip| [("X-Forwarded-For", ip)];
    for n in 0..5 {
        let name = format!("guess{n}");
        let r = login_from("127.0.0.2", a, wrong(&name), &from("192.0.2.50")).await;
        assert_eq!(r.status, 401);
    }
    let r = login_from("127.0.0.2", a, ADMIN, &from("192.0.2.50")).await;
    assert_eq!(r.status, 429, "the guessing client");
    let r = login_from("127.0.0.2", a, ADMIN, &from("192.0.2.51")).await;
    assert_eq!(r.status, 303, "another client of the same proxy");
    web.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_history_for_finance_only() {
    let web = seed::start().await;
    let a = web.addr;
    let pci = faxbridge::compliance::ComplianceStore::new(web.store.clone());
    for (id, ended, label) in [
        ("c1", 1_795_000_000_000, "voice"),
        ("c2", 1_795_000_100_000, "fax"),
    ] {
        pci.record_call(&faxbridge::compliance::CallEvidence {
            call_id: id.into(),
            ata: "ata-shop".into(),
            port: "Port1".into(),
            building: "Shop".into(),
            started_ms: ended - 60_000,
            ended_ms: ended,
            label: label.into(),
            confidence: "high".into(),
            speech_ms: 0,
            analysed_ms: 60_000,
            signals: Vec::new(),
            flags: Vec::new(),
        })
        .await
        .unwrap();
    }
    let fin = login(a, FINANCE).await;
    let r = request(a, "GET", "/api/pci/calls", &cookie_header(&fin), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let labels: Vec<String> = r.json()["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels, ["fax", "voice"], "newest first");
    let r = request(
        a,
        "GET",
        "/api/pci/calls?limit=1",
        &cookie_header(&fin),
        None,
    )
    .await;
    assert_eq!(r.json()["calls"].as_array().unwrap().len(), 1);
    let user = login(a, USER).await;
    let r = request(a, "GET", "/api/pci/calls", &cookie_header(&user), None).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        request(a, "GET", "/api/pci/calls", &[], None).await.status,
        401
    );
    web.shutdown().await;
}

/// `/pci/calls`: the call history as a page, linked from the PCI report,
/// for finance and admin only. Each call shows when, where, what it
/// carried, the signals heard and the flags it raised (by reason).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_history_page_for_finance_only() {
    use faxbridge::media::classifier::{Direction, Evidence, Signal};
    let web = seed::start().await;
    let a = web.addr;
    let fin = login(a, FINANCE).await;
    let h = cookie_header(&fin);
    let report = request(a, "GET", "/pci", &h, None).await;
    assert!(
        report.text().contains("href=\"/pci/calls\""),
        "linked from the report"
    );
    let flag = request(a, "GET", "/api/pci", &h, None).await.json()["flags"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pci = faxbridge::compliance::ComplianceStore::new(web.store.clone());
    for (id, port, ended, label, signals, flags) in [
        (
            "c1",
            "Port2",
            1_795_000_000_000,
            "voice",
            Vec::new(),
            Vec::new(),
        ),
        (
            "c2",
            "Port1",
            1_795_000_100_000,
            "data modem (V.22)",
            vec![Evidence {
                signal: Signal::V22Carrier2400,
                direction: Direction::CalleeToCaller,
                at_ms: 2_300,
                duration_ms: 4_100,
            }],
            vec![flag.clone()],
        ),
    ] {
        pci.record_call(&faxbridge::compliance::CallEvidence {
            call_id: id.into(),
            ata: "ata-shop".into(),
            port: port.into(),
            building: "Shop".into(),
            started_ms: ended - 60_000,
            ended_ms: ended,
            label: label.into(),
            confidence: "high".into(),
            speech_ms: 0,
            analysed_ms: 60_000,
            signals,
            flags,
        })
        .await
        .unwrap();
    }
    let r = request(a, "GET", "/pci/calls", &h, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let html = r.text();
    for want in [
        "PCI-DSS call history",
        "2026-11-18 11:07:20Z", // c2 started at 1_795_000_040_000 ms
        "ata-shop",
        "data modem (V.22) (high confidence)",
        "+2.3 s: V.22/V.22bis answering modem carrier (2400 Hz), from the called side, for 4.1 s",
        "the line dialled a card acquirer / authorisation number",
        "60.0 s",
    ] {
        assert!(html.contains(want), "{want:?} missing:\n{html}");
    }
    assert!(html.contains(&flag));
    // Newest first: the modem call before the voice call.
    let modem = html.find("data modem").unwrap();
    let voice = html.find(">voice").unwrap();
    assert!(modem < voice, "newest first:\n{html}");

    let admin = login(a, ADMIN).await;
    let r = request(a, "GET", "/pci/calls", &cookie_header(&admin), None).await;
    assert_eq!(r.status, 200);
    let user = login(a, USER).await;
    let r = request(a, "GET", "/pci/calls", &cookie_header(&user), None).await;
    assert_eq!(r.status, 403);
    assert!(!r.text().contains("ata-shop"));
    let r = request(a, "GET", "/pci/calls", &[], None).await;
    assert_eq!(r.status, 303, "not signed in: to the sign-in form");
    assert_eq!(r.header("location"), Some("/login"));
    web.shutdown().await;
}

/// Log lines of every web interface in this test binary, for the tests that
/// check what is logged (the subscriber is process-wide: handlers run on
/// the runtime's worker threads).
fn logs() -> String {
    use std::sync::{Mutex, Once};
    static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
    static INIT: Once = Once::new();
    struct Capture;
    impl std::io::Write for Capture {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            LOGS.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(|| Capture)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .try_init();
    });
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

/// Five wrong passwords for `admin` from one address lock that address out
/// (even its right password is refused, with `Retry-After`), while the real
/// administrator signs in from another address: slowed by the account's
/// failures, never refused. The lockout is logged once and counted in
/// `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_admin_passwords_lock_out_the_guessing_address_not_the_admin() {
    use std::time::{Duration, Instant};
    logs();
    let web = seed::start().await;
    let a = web.addr;
    let started = Instant::now();
    for i in 0..5 {
        let r = login_from("127.0.0.20", a, ("admin", "wrong"), &[]).await;
        assert_eq!(r.status, 401, "attempt {i}: {}", r.text());
    }
    // The fourth and fifth attempt waited 1 s and 2 s: the account slows
    // down after three failures.
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let r = login_from("127.0.0.20", a, ADMIN, &[]).await;
    assert_eq!(
        r.status, 429,
        "the guessing address, even with the right password"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once"
    );
    assert!(r.session_cookie().is_none());
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((250..=300).contains(&retry), "Retry-After {retry}");

    // The administrator from another address: signed in, after 4 s.
    let started = Instant::now();
    let r = login_from("127.0.0.30", a, ADMIN, &[]).await;
    let waited = started.elapsed();
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(16)).contains(&waited),
        "slowed by the account's five failures: {waited:?}"
    );
    let cookie = r.session_cookie().unwrap();
    let s = request(a, "GET", "/api/session", &cookie_header(&cookie), None).await;
    assert_eq!(s.json()["role"], "admin");
    // An account without failures is not slowed.
    let started = Instant::now();
    assert_eq!(login_from("127.0.0.31", a, FINANCE, &[]).await.status, 303);
    assert!(started.elapsed() < Duration::from_secs(2));

    let text = request(a, "GET", "/metrics", &[], None).await.text();
    for line in [
        "faxbridge_web_login_lockouts_total 1",
        "faxbridge_web_login_failures_total 5",
        "faxbridge_web_login_refused_total 1",
        "faxbridge_web_login_delayed_total 3",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let logged: Vec<String> = logs()
        .lines()
        .filter(|l| l.contains("locked out") && l.contains("address=127.0.0.20"))
        .map(str::to_string)
        .collect();
    assert_eq!(logged.len(), 1, "one line per lockout: {logged:?}");
    assert!(
        logged[0].contains("WARN") && logged[0].contains("after 5 failed attempts"),
        "{logged:?}"
    );
    web.shutdown().await;
}

const METRICS_TOKEN: &str = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c";

/// `/metrics` without signing in only straight from `metrics_from`; never
/// through the trusted proxy (its address, or forwarding headers), where a
/// bearer token from `metrics_token_file` or an admin's sign-in is needed.
/// No other role reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_straight_from_metrics_from_or_with_the_token() {
    // The proxy (127.0.0.2) is in metrics_from too: it still needs a token.
    let web = seed::start_with(|dir| {
        let file = dir.join("metrics.token");
        std::fs::write(&file, format!("{METRICS_TOKEN}\n")).unwrap();
        format!(
            "metrics_from = [\"127.0.0.1\", \"127.0.0.2\"]\nmetrics_token_file = \"{}\"\n",
            file.display()
        )
    })
    .await;
    let a = web.addr;
    let get = |from: &str, headers: Vec<(&'static str, String)>| {
        let from: std::net::IpAddr = from.parse().unwrap();
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            request_from(Some(from), a, "GET", "/metrics", &h, None).await
        }
    };
    let bearer = |t: &str| vec![("Authorization", format!("Bearer {t}"))];
    let scraped = |r: &seed::Reply| {
        r.status == 200
            && r.text()
                .contains("faxbridge_ata_reachable{unit=\"ata-shop\"} 1")
    };

    let r = get("127.0.0.1", vec![]).await;
    assert!(
        scraped(&r),
        "straight from metrics_from: {} {}",
        r.status,
        r.text()
    );
    assert_eq!(
        get("127.0.0.3", vec![]).await.status,
        403,
        "another address"
    );
    for (name, value) in [
        ("X-Forwarded-For", "127.0.0.1"),
        ("X-Forwarded-For", "192.0.2.80"),
        ("Forwarded", "for=192.0.2.80;proto=https"),
        ("X-Real-IP", "192.0.2.80"),
        ("X-Forwarded-Proto", "https"),
        ("Via", "1.1 proxy.example"),
    ] {
        let r = get("127.0.0.1", vec![(name, value.to_string())]).await;
        assert_eq!(r.status, 403, "{name}: {value} from a metrics_from address");
        assert!(!r.text().contains("ata-shop"));
    }
    // The trusted proxy's own address is in metrics_from, and still refused.
    assert_eq!(get("127.0.0.2", vec![]).await.status, 403, "the proxy");
    let sso = || vec![("X-Remote-User", "alice@example.org".to_string())];
    assert_eq!(
        get("127.0.0.2", sso()).await.status,
        403,
        "a finance user through the proxy"
    );

    // The bearer token opens it from anywhere, through the proxy too.
    for from in ["127.0.0.3", "127.0.0.2", "127.0.0.1"] {
        let mut h = bearer(METRICS_TOKEN);
        h.push(("X-Forwarded-For", "192.0.2.80".to_string()));
        let r = get(from, h).await;
        assert!(scraped(&r), "token from {from}: {} {}", r.status, r.text());
    }
    for wrong in [&METRICS_TOKEN[1..], "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9d", ""] {
        let r = get("127.0.0.3", bearer(wrong)).await;
        assert_eq!(r.status, 401, "wrong token {wrong:?}");
        assert!(
            r.header("www-authenticate").unwrap().starts_with("Bearer"),
            "{:?}",
            r.headers
        );
        // A wrong token is refused even where no token is needed.
        assert_eq!(get("127.0.0.1", bearer(wrong)).await.status, 401);
    }
    let basic = vec![("Authorization", "Basic YWRtaW46YWRtaW5wYXNz".to_string())];
    assert_eq!(get("127.0.0.3", basic).await.status, 401);

    // An admin signed in through the proxy reads it; a user nowhere.
    let admin = login(a, ADMIN).await;
    let r = get(
        "127.0.0.2",
        vec![
            ("Cookie", admin.clone()),
            ("X-Forwarded-For", "192.0.2.80".into()),
        ],
    )
    .await;
    assert!(scraped(&r), "admin through the proxy: {}", r.status);
    let user = login(a, USER).await;
    let r = get("127.0.0.1", vec![("Cookie", user)]).await;
    assert_eq!(r.status, 403, "a user, even from metrics_from");
    assert!(!r.text().contains("ata-shop"));
    web.shutdown().await;
}

/// A `user` sees their own faxes and nothing of the site: no counts of
/// calls, queue or mail, no ATA names, on any page or API endpoint they
/// can reach (nor `/metrics` with their session).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_no_site_wide_counts_or_ata_names() {
    let web = seed::start().await;
    let a = web.addr;
    // The user's own job goes out through an ATA port; the ATA is down.
    let doc = web.dir.path().join("outgoing").join("job2.tif");
    std::fs::copy(web.dir.path().join("outgoing").join("job1.tif"), &doc).unwrap();
    let job = faxbridge::queue::JobStore::new(web.store.clone(), Default::default())
        .enqueue(
            &faxbridge::queue::NewJob {
                idempotency_key: "<m2@example.org>/2002".into(),
                destination: "2002".into(),
                route: faxbridge::queue::Route::Ata("ata-shop:2".into()),
                document: doc.to_string_lossy().into_owned(),
                pages_total: 1,
                submitter: "sales@example.org".into(),
                report_to: Some("sales@example.org".into()),
                subject: "Order 7".into(),
                not_before: None,
            },
            1_795_000_750_000,
        )
        .await
        .unwrap();
    let mut status = faxbridge::ata::store::load_all(&web.store).await.unwrap()[0].clone();
    status.reachable = false;
    faxbridge::ata::store::save(&web.store, &status)
        .await
        .unwrap();

    // What the administrator sees, so the checks below can fail.
    let admin = login(a, ADMIN).await;
    let h = cookie_header(&admin);
    let dash = request(a, "GET", "/", &h, None).await.text();
    assert!(dash.contains("ata-shop needs attention") && dash.contains("Queue"));
    let d = request(a, "GET", "/api/dashboard", &h, None).await.json();
    assert_eq!(d["queue"]["queued"], 2);
    assert_eq!(d["atas_with_problems"][0], "ata-shop");
    let out = request(a, "GET", "/api/faxes/out", &h, None).await.text();
    assert!(out.contains("ata:ata-shop:2"));

    let user = login(a, USER).await;
    let h = cookie_header(&user);
    let job_id = job.id.clone();
    let mut paths: Vec<String> = [
        "/",
        "/faxes/in",
        "/faxes/out",
        "/lines",
        "/pci",
        "/pci.csv",
        "/pci/calls",
        "/config",
        "/api/session",
        "/api/dashboard",
        "/api/faxes/in",
        "/api/faxes/out",
        "/api/lines",
        "/api/pci",
        "/api/pci/calls",
        "/api/config",
        "/metrics",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    paths.push(format!("/api/faxes/out/{job_id}"));
    paths.push(format!("/faxes/in/{FAX_ID}/thumbnail.png"));
    paths.push(format!("/faxes/in/{FAX_ID}/fax.pdf"));
    for path in &paths {
        let r = request(a, "GET", path, &h, None).await;
        assert!([200, 403, 404].contains(&r.status), "{path}: {}", r.status);
        let body = r.text();
        for secret in ["ata-shop", "Calls in progress", "Mail outbox", "reachable"] {
            assert!(!body.contains(secret), "{path} shows {secret:?}:\n{body}");
        }
    }
    let d = request(a, "GET", "/api/dashboard", &h, None).await.json();
    for key in [
        "queue",
        "outbox",
        "incoming_calls",
        "outgoing_calls",
        "bridged_calls",
        "atas_reachable",
        "atas_polled",
        "atas_with_problems",
    ] {
        assert!(d.get(key).is_none(), "{key} in a user's dashboard: {d}");
    }
    assert_eq!(d["last_sent"][0]["subject"], "Order 7", "their own job");
    assert_eq!(d["last_sent"][0]["route"], "ATA port");
    let detail = request(a, "GET", &format!("/api/faxes/out/{job_id}"), &h, None)
        .await
        .json();
    assert_eq!(detail["job"]["route"], "ATA port");
    assert_eq!(
        request(a, "GET", "/metrics", &h, None).await.status,
        403,
        "the user's session from metrics_from"
    );
    web.shutdown().await;
}

/// `check-config` names `[web] metrics_token_file` when the file cannot be
/// read or holds no token, with a fix line.
#[test]
fn check_config_names_an_unusable_metrics_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    let config = dir.path().join("faxbridge.toml");
    let check = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_faxbridge"))
            .arg("check-config")
            .arg(&config)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    std::fs::write(
        &config,
        format!("[web]\nmetrics_token_file = \"{}\"\n", token.display()),
    )
    .unwrap();
    let (ok, text) = check();
    assert!(!ok, "{text}");
    assert!(
        text.contains("web.metrics_token_file")
            && text.contains("cannot read")
            && text.contains("openssl rand -hex 32"),
        "{text}"
    );
    std::fs::write(&token, "\n").unwrap();
    let (ok, text) = check();
    assert!(!ok && text.contains("is empty"), "{text}");
    std::fs::write(&token, format!("{METRICS_TOKEN}\n")).unwrap();
    let (ok, text) = check();
    assert!(ok, "{text}");
}

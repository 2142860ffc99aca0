//! The web interface in a real browser: headless Chromium driven through
//! chromedriver's W3C WebDriver HTTP API (plain HTTP and JSON).
//!
//! An admin signs in with the form, sees the received fax with its page-1
//! thumbnail, and downloads its PDF by clicking the link (the file lands
//! in the browser's download directory and must be a PDF). Then finance
//! signs in, sees the flagged card-terminal line in the PCI-DSS report,
//! and is refused the configuration page.
//!
//! Needs Debian's `chromium` and `chromium-driver`. Set
//! `FAXBRIDGE_SCREENSHOTS=DIR` to keep a screenshot of each step.

#[path = "web/seed.rs"]
mod seed;

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use seed::{FAX_ID, request};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// W3C WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver in its own process group, which is killed on drop with
/// every browser it started (also when an assertion failed mid-session).
struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Driver {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: `apt-get install -y chromium chromium-driver`"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start chromedriver");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let driver = Driver { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                let status = request(addr, "GET", "/status", &[], None).await.json();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let text = body.map(|b| b.to_string());
        let r = request(
            self.addr,
            method,
            path,
            &[],
            text.as_deref()
                .map(|t| ("application/json; charset=utf-8", t.as_bytes())),
        )
        .await;
        let v = r.json();
        assert!(
            r.status == 200,
            "WebDriver {method} {path}: {} {}",
            r.status,
            v["value"]
        );
        v["value"].clone()
    }
}

/// One browser session.
struct Browser<'a> {
    driver: &'a Driver,
    id: String,
    base: String,
    shots: Option<PathBuf>,
}

impl<'a> Browser<'a> {
    async fn open(driver: &'a Driver, base: String, profile: &Path, downloads: &Path) -> Self {
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--no-first-run", "--disable-dev-shm-usage",
                        "--window-size=1280,900",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                    "prefs": {
                        "download.default_directory": downloads.display().to_string(),
                        "download.prompt_for_download": false,
                        "plugins.always_open_pdf_externally": true,
                    },
                },
            }}
        });
        let v = driver.call("POST", "/session", Some(caps)).await;
        Browser {
            driver,
            id: v["sessionId"].as_str().expect("a session id").to_string(),
            base,
            shots: std::env::var_os("FAXBRIDGE_SCREENSHOTS").map(PathBuf::from),
        }
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
            .await
    }

    async fn go(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v[ELEMENT].as_str().expect("an element").to_string()
    }

    async fn find_all(&self, css: &str) -> usize {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await
        .as_array()
        .map_or(0, |a| a.len())
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})))
            .await;
    }

    async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn title(&self) -> String {
        self.cmd("GET", "/title", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Wait for the page a click started to load (a form submission may
    /// still be on its way when the click returns).
    async fn wait_title(&self, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let title = self.title().await;
            if title == want {
                return;
            }
            if Instant::now() > deadline {
                let source = self.cmd("GET", "/source", None).await;
                panic!(
                    "expected page {want:?}, still {title:?} at {}: {source}",
                    self.url().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Run a script in the page and return its result.
    async fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": js, "args": [] })),
        )
        .await
    }

    async fn screenshot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            let b64 = self.cmd("GET", "/screenshot", None).await;
            let png = base64::engine::general_purpose::STANDARD
                .decode(b64.as_str().unwrap_or_default())
                .unwrap();
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }

    async fn sign_in(&self, user: &str, password: &str) {
        self.go("/login").await;
        assert_eq!(self.title().await, "Sign in · faxbridge");
        self.type_into("input[name=username]", user).await;
        self.type_into("input[name=password]", password).await;
        self.click("button[type=submit]").await;
        // The password check (PBKDF2) may still run when the click returns.
        self.wait_title("Dashboard · faxbridge").await;
    }

    async fn close(self) {
        self.driver
            .call("DELETE", &format!("/session/{}", self.id), None)
            .await;
    }
}

async fn wait_for_file(dir: &Path, suffix: &str) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(p) = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(suffix))
        {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "no {suffix} file downloaded into {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_finance_in_headless_chromium() {
    let web = seed::start().await;
    let base = format!("http://{}", web.addr);
    let driver = Driver::start().await;
    let work = tempfile::tempdir().unwrap();
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();

    // Admin: sign in, see the received fax, download its PDF.
    let admin = Browser::open(&driver, base.clone(), &work.path().join("p1"), &downloads).await;
    admin.sign_in("admin", "adminpass").await;
    admin.screenshot("1-dashboard").await;
    admin.go("/faxes/in").await;
    let table = admin.text("table").await;
    assert!(
        table.contains(FAX_ID) && table.contains("ACME SUPPLIES"),
        "{table}"
    );
    // The thumbnail is a real image the browser decoded.
    let width = admin
        .script(&format!(
            "const i = document.querySelector('img[src=\"/faxes/in/{FAX_ID}/thumbnail.png\"]'); \
             return i && i.complete ? i.naturalWidth : 0;"
        ))
        .await;
    assert!(
        width.as_u64().unwrap_or(0) > 50,
        "thumbnail not shown: {width}"
    );
    admin.screenshot("2-faxes-in").await;
    admin
        .click(&format!("a[href=\"/faxes/in/{FAX_ID}/fax.pdf\"]"))
        .await;
    let pdf = wait_for_file(&downloads, &format!("fax-{FAX_ID}.pdf")).await;
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"), "downloaded file is not a PDF");
    let on_disk = std::fs::read(
        web.dir
            .path()
            .join("incoming")
            .join(format!("{FAX_ID}.pdf")),
    )
    .unwrap();
    assert_eq!(bytes, on_disk);
    // Sign out with the form (it carries the CSRF token).
    admin.click("header form button").await;
    admin.wait_title("Sign in · faxbridge").await;
    assert!(admin.url().await.ends_with("/login"));
    admin.close().await;

    // Finance: see the flagged line, be refused an admin page.
    let fin = Browser::open(&driver, base, &work.path().join("p2"), &downloads).await;
    fin.sign_in("fin", "finpass").await;
    assert_eq!(
        fin.find_all("a[href=\"/config\"]").await,
        0,
        "no admin link for finance"
    );
    fin.go("/pci").await;
    assert_eq!(fin.title().await, "PCI-DSS report · faxbridge");
    let report = fin.text("table").await;
    assert!(
        report.contains("ata-shop") && report.contains("Port1") && report.contains("Shop"),
        "{report}"
    );
    assert!(
        report.contains("dialled a card acquirer") && report.contains("open"),
        "{report}"
    );
    fin.screenshot("3-pci").await;
    fin.go("/config").await;
    assert_eq!(fin.title().await, "Forbidden · faxbridge");
    assert!(
        fin.text("main")
            .await
            .contains("fin (finance) may not use this page")
    );
    fin.screenshot("4-forbidden").await;
    fin.close().await;
    drop(driver);
    web.shutdown().await;
}

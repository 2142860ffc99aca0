//! The daemon's configuration file for a test, built from typed pieces
//! instead of pasted TOML.
//!
//! [`DaemonConfig::new`] starts from test defaults: the spool in the test's
//! directory and SIP listening on `127.0.0.1:0` (the daemon's ready line
//! says where: [`super::procs::Proc::addr`]), with every loopback address a
//! SIP peer unless [`DaemonConfig::peer`] names the peers. The other
//! methods add what a test needs; [`DaemonConfig::set`] and
//! [`DaemonConfig::entry`] take raw TOML lines for anything rarer, and
//! [`DaemonConfig::extra`] whole sections. [`DaemonConfig::write`] writes
//! `faxbridge.toml` and returns its path.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::procs::BIN;

/// A configuration file being built; see the module documentation.
pub struct DaemonConfig {
    root: PathBuf,
    /// `[table]`s in the order first named, each with its `key = value`
    /// lines.
    tables: Vec<(String, Vec<String>)>,
    /// `[[array]]` entries, in order.
    entries: Vec<(String, Vec<String>)>,
    /// `did = route` pairs of `[sip.routing] routes`.
    dids: Vec<(String, String)>,
    extra: String,
}

/// `s` as a TOML basic string.
pub fn quote(s: impl Display) -> String {
    let s = s.to_string();
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `items` as a TOML array of strings.
pub fn list(items: &[&str]) -> String {
    let items: Vec<String> = items.iter().map(quote).collect();
    format!("[{}]", items.join(", "))
}

impl DaemonConfig {
    /// Defaults for a test whose files live in `root`: spool in
    /// `root/spool` (received faxes are mailed to `root/spool/maildir`
    /// unless [`DaemonConfig::relay`] is set), SIP on `127.0.0.1:0`.
    pub fn new(root: &Path) -> DaemonConfig {
        let mut c = DaemonConfig {
            root: root.to_path_buf(),
            tables: Vec::new(),
            entries: Vec::new(),
            dids: Vec::new(),
            extra: String::new(),
        };
        c.set(
            "general",
            &format!("spool_dir = {}", quote(root.join("spool").display())),
        );
        c.set("sip", "listen = \"127.0.0.1:0\"");
        c
    }

    /// `key = value` lines (raw TOML, one or more) under `[table]`.
    pub fn set(&mut self, table: &str, lines: &str) -> &mut Self {
        let lines = lines.trim().lines().map(|l| l.trim().to_string());
        match self.tables.iter_mut().find(|(t, _)| t == table) {
            Some((_, body)) => {
                // A key set again replaces the earlier value.
                for line in lines {
                    let key = line.split('=').next().unwrap_or("").trim().to_string();
                    body.retain(|l| l.split('=').next().unwrap_or("").trim() != key);
                    body.push(line);
                }
            }
            None => self.tables.push((table.to_string(), lines.collect())),
        }
        self
    }

    /// One `[[array]]` entry of raw TOML `key = value` lines.
    pub fn entry(&mut self, array: &str, lines: &str) -> &mut Self {
        let lines = lines.trim().lines().map(|l| l.trim().to_string());
        self.entries.push((array.to_string(), lines.collect()));
        self
    }

    /// Whole sections of raw TOML appended at the end, for what the
    /// builder has no words for (a table named here must not be named by
    /// the builder too).
    pub fn extra(&mut self, toml: &str) -> &mut Self {
        self.extra.push_str(toml);
        self.extra.push('\n');
        self
    }

    /// Where the daemon listens for SIP (UDP and TCP).
    pub fn sip_listen(&mut self, addr: impl Display) -> &mut Self {
        self.set("sip", &format!("listen = {}", quote(addr)))
    }

    /// A `[[sip.peers]]` entry (for more keys, an [`DaemonConfig::entry`]
    /// of `sip.peers`); without any, `127.0.0.0/8` is one peer.
    pub fn peer(&mut self, name: &str, addresses: &[&str]) -> &mut Self {
        self.entry(
            "sip.peers",
            &format!("name = {}\naddresses = {}", quote(name), list(addresses)),
        )
    }

    /// Calls to `did` go to `route` (`[sip.routing] routes`).
    pub fn did(&mut self, did: &str, route: &str) -> &mut Self {
        self.dids.push((did.to_string(), route.to_string()));
        self
    }

    /// `[routes.NAME]` mailing to `mailboxes`.
    pub fn route(&mut self, name: &str, mailboxes: &[&str]) -> &mut Self {
        self.set(
            &format!("routes.{name}"),
            &format!("mailboxes = {}", list(mailboxes)),
        )
    }

    /// `[fax] ident`.
    pub fn ident(&mut self, ident: &str) -> &mut Self {
        self.set("fax", &format!("ident = {}", quote(ident)))
    }

    /// `[mail] from`.
    pub fn mail_from(&mut self, from: &str) -> &mut Self {
        self.set("mail", &format!("from = {}", quote(from)))
    }

    /// Mail goes to the SMTP relay on `127.0.0.1:port` (no TLS), retried
    /// after a second.
    pub fn relay(&mut self, port: u16) -> &mut Self {
        self.set("mail", "retry_initial_secs = 1\nretry_max_secs = 2");
        self.set(
            "mail.relay",
            &format!("host = \"127.0.0.1\"\nport = {port}\ntls = \"none\""),
        )
    }

    /// The trunk: `[outgoing] uri` (`{number}` stands for the number
    /// dialled).
    pub fn trunk(&mut self, uri: &str) -> &mut Self {
        self.set("outgoing", &format!("uri = {}", quote(uri)))
    }

    /// Email-to-fax over SMTP on `127.0.0.1:0` (`[intake.smtp]`); `lines`
    /// are further keys of that table.
    pub fn smtp_intake(&mut self, lines: &str) -> &mut Self {
        self.set("intake.smtp", "listen = \"127.0.0.1:0\"");
        self.set("intake.smtp", lines)
    }

    /// The web interface on `127.0.0.1:0` (`[web]`); `lines` are further
    /// keys of that table.
    pub fn web(&mut self, lines: &str) -> &mut Self {
        self.set("web", "listen = \"127.0.0.1:0\"");
        self.set("web", lines)
    }

    /// An `[[ata.units]]` entry: the unit `name` at `address`; `lines` are
    /// further keys (`building`, `model`, ...).
    pub fn ata_unit(&mut self, name: &str, address: &str, lines: &str) -> &mut Self {
        self.entry(
            "ata.units",
            &format!(
                "name = {}\naddress = {}\n{lines}",
                quote(name),
                quote(address)
            ),
        )
    }

    /// An `[[ata.ports]]` entry; `lines` are further keys (`owner`, ...).
    pub fn ata_port(
        &mut self,
        unit: &str,
        number: u32,
        sip_user: &str,
        role: &str,
        lines: &str,
    ) -> &mut Self {
        self.entry(
            "ata.ports",
            &format!(
                "unit = {}\nnumber = {number}\nsip_user = {}\nrole = {}\n{lines}",
                quote(unit),
                quote(sip_user),
                quote(role)
            ),
        )
    }

    /// A `[[bridge.lines]]` entry: port `port` of `unit` has the number
    /// `number`.
    pub fn bridge_line(&mut self, unit: &str, port: u32, number: &str) -> &mut Self {
        self.entry(
            "bridge.lines",
            &format!(
                "unit = {}\nport = {port}\nnumber = {}",
                quote(unit),
                quote(number)
            ),
        )
    }

    /// The lab's analogue bridge: building "Lab" on 127.0.0.0/24 with
    /// emergency CLI +441632960999, the Mediatrix unit `lab-ata` at
    /// `address`, its port 1 a fax machine (SIP user 2001, owner Physics)
    /// with the line number +441632960201.
    pub fn lab_ata(&mut self, address: &str) -> &mut Self {
        self.entry(
            "ata.buildings",
            "name = \"Lab\"\nsubnets = [\"127.0.0.0/24\"]\nemergency_cli = \"+441632960999\"",
        )
        .ata_unit(
            "lab-ata",
            address,
            "model = \"Mediatrix 4102\"\nbuilding = \"Lab\"",
        )
        .ata_port("lab-ata", 1, "2001", "fax", "owner = \"Physics\"")
        .bridge_line("lab-ata", 1, "+441632960201")
    }

    /// Email-to-fax over SMTP (port 0) for `fax_domain`, senders of
    /// `sender_domain` allowed, loopback a trusted relay.
    pub fn email_intake(&mut self, fax_domain: &str, sender_domain: &str) -> &mut Self {
        self.set("intake", &format!("fax_domains = [{}]", quote(fax_domain)))
            .set(
                "intake.senders",
                &format!(
                    "allowed = [{}]\ntrusted_relays = [\"127.0.0.0/8\"]",
                    quote(sender_domain)
                ),
            )
            .smtp_intake("")
    }

    /// The configuration as TOML.
    pub fn toml(&self) -> String {
        let mut out = String::new();
        let mut tables = self.tables.clone();
        if !self.dids.is_empty() {
            let routes: Vec<String> = self
                .dids
                .iter()
                .map(|(d, r)| format!("{{ did = {}, route = {} }}", quote(d), quote(r)))
                .collect();
            let line = format!("routes = [{}]", routes.join(", "));
            match tables.iter_mut().find(|(t, _)| t == "sip.routing") {
                Some((_, body)) => body.push(line),
                None => tables.push(("sip.routing".into(), vec![line])),
            }
        }
        for (name, body) in &tables {
            out.push_str(&format!("[{name}]\n{}\n\n", body.join("\n")));
        }
        if !self.entries.iter().any(|(name, _)| name == "sip.peers") {
            out.push_str("[[sip.peers]]\nname = \"loopback\"\naddresses = [\"127.0.0.0/8\"]\n\n");
        }
        for (name, body) in &self.entries {
            out.push_str(&format!("[[{name}]]\n{}\n\n", body.join("\n")));
        }
        out.push_str(&self.extra);
        out
    }

    /// Write `faxbridge.toml` in the test's directory; its path.
    pub fn write(&self) -> PathBuf {
        self.write_to("faxbridge.toml")
    }

    /// Write the configuration to `name` in the test's directory; its path.
    pub fn write_to(&self, name: &str) -> PathBuf {
        let path = self.root.join(name);
        std::fs::write(&path, self.toml()).unwrap();
        path
    }
}

/// `faxbridge check-config` on `path`.
pub fn check_config(path: &Path) -> Output {
    Command::new(BIN)
        .arg("check-config")
        .arg(path)
        .output()
        .expect("run faxbridge check-config")
}

/// Fail unless `faxbridge check-config` accepts `path`.
pub fn assert_valid(path: &Path) {
    let out = check_config(path);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

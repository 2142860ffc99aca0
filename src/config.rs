//! Configuration: TOML parsed once at start into typed, validated structs.
//!
//! Every key has a default, so an empty file (or no file at all: the embedded
//! default) gives a daemon that works alone on 127.0.0.1 with a local spool.
//! Unknown keys are refused, and each validation error names the key and the
//! fix, so `faxbridge check-config` tells an admin exactly what to change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::docs::render::Workers;
use crate::docs::{Paper, RenderOptions, Resolution};
use crate::fax::FaxSettings;

/// The whole configuration of one faxbridge instance.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Process-wide settings: where data lives, logging.
    pub general: General,
    /// Where the state lives: the SQLite file in the spool, or PostgreSQL.
    pub store: crate::store::StoreConfig,
    /// The fax engine's T.30 settings.
    pub fax: FaxSettings,
    /// Limits and defaults for documents turned into fax pages.
    pub documents: Documents,
    /// SIP listeners, peers, digest accounts and DID routes.
    pub sip: crate::sip::SipConfig,
    /// RTP/UDPTL media of fax calls: address, T.38 policy, timing.
    pub media: MediaConfig,
    /// Where each route's received faxes are mailed, by route name (the
    /// names that `[sip.routing]` maps called numbers to).
    pub routes: BTreeMap<String, RouteConfig>,
    /// Fax-to-email delivery: sender, relay, retries.
    pub mail: crate::mail::MailConfig,
    /// The outgoing fax queue: call limits, retry policy, fallback ladder.
    pub queue: crate::queue::QueueConfig,
    /// Where queued faxes are sent: the trunk's SIP URI and credentials.
    pub outgoing: crate::queue::worker::OutgoingConfig,
    /// Email-to-fax intake: fax domains, SMTP listener, dial plan, policy.
    pub intake: crate::intake::IntakeConfig,
    /// Mediatrix ATAs: inventory, ports, buildings, SNMP monitoring.
    pub ata: crate::ata::AtaConfig,
    /// The analogue bridge: port numbers, caller IDs, warm-dial marker.
    pub bridge: crate::bridge::BridgeConfig,
    /// PCI-DSS guard: acquirer numbers, finance digest.
    pub compliance: crate::compliance::ComplianceConfig,
    /// How long received and sent faxes are kept.
    pub retention: crate::retention::RetentionConfig,
    /// The admin and finance web interface, JSON API and `/metrics`.
    pub web: crate::web::WebConfig,
    /// Who is told at once when something needs an operator.
    pub alerts: crate::alert::AlertsConfig,
}

/// `[general]`: process-wide settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct General {
    /// Spool directory for received and outgoing fax files. A relative path is
    /// taken from the daemon's working directory (the systemd unit sets it to
    /// `/var/lib/faxbridge`).
    pub spool_dir: PathBuf,
    /// MiB that must stay free on the spool's filesystem: below it, new fax
    /// calls are answered 503 and fax mail 452 (both retried by the
    /// sender) and an operator alert is raised, until space is freed. 0
    /// turns the check off (a write that fails for want of space is still
    /// refused the same way).
    pub spool_min_free_mb: u64,
    /// Log filter in `tracing` syntax, e.g. `info` or `faxbridge=debug,info`.
    /// The `RUST_LOG` environment variable overrides it.
    pub log: String,
}

/// `[general] spool_min_free_mb` unless set: room for a few hundred
/// received faxes, their mails and the database's journal.
pub const DEFAULT_SPOOL_MIN_FREE_MB: u64 = 100;

/// The largest `[general] spool_min_free_mb` taken (1 TiB).
const MAX_SPOOL_MIN_FREE_MB: u64 = 1 << 20;

impl Default for General {
    fn default() -> Self {
        General {
            spool_dir: PathBuf::from("spool"),
            spool_min_free_mb: DEFAULT_SPOOL_MIN_FREE_MB,
            log: "info".to_string(),
        }
    }
}

/// `[media]`: how fax calls use RTP and T.38.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Address for RTP/UDPTL sockets and the SDP `c=` line. Default: the SIP
    /// listen address.
    pub address: Option<std::net::IpAddr>,
    /// Accept and offer T.38 (in the first INVITE or a re-INVITE).
    pub t38: bool,
    /// When an offer has both G.711 and T.38, take T.38.
    pub prefer_t38: bool,
    /// Re-INVITE to T.38 ourselves when the far end's fax signal (CNG, CED
    /// or V.21 preamble) is heard on a G.711 call.
    pub t38_reinvite: bool,
    /// UDPTL redundancy depth (0–15); Mediatrix gateways use 3.
    pub redundancy: u8,
    /// Fixed RTP playout delay in milliseconds (20–200). Fixed so that no
    /// audio sample is ever inserted or dropped during a fax.
    pub playout_delay_ms: u64,
    /// End a call whose fax session shows no progress for this many seconds.
    pub watchdog_secs: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            address: None,
            t38: true,
            prefer_t38: true,
            t38_reinvite: false,
            redundancy: crate::media::udptl::MEDIATRIX_REDUNDANCY,
            playout_delay_ms: 60,
            watchdog_secs: 120,
        }
    }
}

impl MediaConfig {
    /// The media settings of one fax call.
    pub fn call_config(&self, fax: &FaxSettings) -> crate::media::fax_call::FaxCallConfig {
        crate::media::fax_call::FaxCallConfig {
            fax: fax.clone(),
            t38: self.t38,
            prefer_t38: self.t38 && self.prefer_t38,
            t38_reinvite: self.t38 && self.t38_reinvite,
            redundancy: self.redundancy,
            playout_delay: std::time::Duration::from_millis(self.playout_delay_ms),
            watchdog: std::time::Duration::from_secs(self.watchdog_secs),
            ..Default::default()
        }
    }
}

/// `[routes.NAME]`: the mailboxes of one route.
pub use crate::mail::Route as RouteConfig;

/// `[documents]`: limits and defaults when documents become fax pages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Documents {
    /// Refuse documents with more pages than this.
    pub max_pages: usize,
    /// Refuse images with more pixels than this (checked before decoding).
    pub max_pixels: u64,
    /// Refuse input files larger than this many bytes.
    pub max_input_bytes: u64,
    /// Paper size for rendered pages: `a4` or `letter`.
    pub paper: Paper,
    /// Resolution for rendered pages: `standard` or `fine`.
    pub resolution: Resolution,
    /// Refuse a document that takes longer than this many seconds to
    /// render (pathological PDFs); 0 for no limit.
    pub render_timeout_secs: u64,
    /// Refuse a PDF with a compressed stream (or a page's content) that
    /// decodes to more than this many bytes; checked while decoding.
    pub max_decompressed_stream_bytes: u64,
    /// Refuse a PDF whose streams together decode to more than this.
    pub max_decompressed_bytes: u64,
    /// Refuse a PDF with a page of more drawing operators than this.
    pub max_operators_per_page: u64,
    /// Memory one document's rendering may use: the worker process that
    /// renders it is held to this by the kernel.
    pub max_document_memory_bytes: u64,
    /// Memory all documents being rendered at once may use together; a
    /// document waits (up to its time limit) for room.
    pub memory_budget_bytes: u64,
}

impl Documents {
    /// `render_timeout_secs` as the renderer takes it.
    pub fn render_timeout(&self) -> Option<std::time::Duration> {
        (self.render_timeout_secs > 0)
            .then(|| std::time::Duration::from_secs(self.render_timeout_secs))
    }

    /// The renderer's options for these limits, at `resolution`; PDFs are
    /// rendered in this process until [`RenderOptions::workers`] is set
    /// (see [`Documents::workers`]).
    pub fn render_options(&self, resolution: Resolution) -> RenderOptions {
        RenderOptions {
            resolution,
            paper: self.paper,
            max_pages: self.max_pages,
            max_pixels: self.max_pixels,
            max_input_bytes: self.max_input_bytes,
            render_timeout: self.render_timeout(),
            max_decompressed_stream_bytes: self.max_decompressed_stream_bytes,
            max_decompressed_bytes: self.max_decompressed_bytes,
            max_operators_per_page: self.max_operators_per_page,
            workers: None,
        }
    }

    /// Worker processes for PDFs, started from `exe` (this program), with
    /// these memory limits.
    pub fn workers(&self, exe: PathBuf) -> std::sync::Arc<Workers> {
        Workers::new(
            exe,
            self.max_document_memory_bytes,
            self.memory_budget_bytes,
        )
    }
}

impl Default for Documents {
    fn default() -> Self {
        Documents {
            max_pages: 100,
            max_pixels: 100_000_000,
            max_input_bytes: 25 * 1024 * 1024,
            paper: Paper::A4,
            resolution: Resolution::Fine,
            render_timeout_secs: 60,
            max_decompressed_stream_bytes: crate::docs::render::DEFAULT_MAX_STREAM_BYTES,
            max_decompressed_bytes: crate::docs::render::DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_operators_per_page: crate::docs::render::DEFAULT_MAX_OPERATORS_PER_PAGE,
            max_document_memory_bytes: 768 << 20,
            memory_budget_bytes: 1536 << 20,
        }
    }
}

/// A configuration that could not be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// One or more keys have values that cannot work.
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

pub use crate::problem::Problem;
use crate::problem::Validate;

/// A TOML error said as `check-config` says every problem: `key: what is
/// wrong; fix: what to write`, then the parser's own message (line, column,
/// the line itself). The key path (`sip.listen`, `ata.ports[2].role`) is
/// read from the text around the error's offset: the table header above it
/// and the key on its line.
pub fn syntax_message(text: &str, offset: Option<usize>, message: &str, full: &str) -> String {
    let key = offset.and_then(|at| key_path_at(text, at));
    let what = message.trim();
    let fix = syntax_fix(what, key.as_deref());
    let head = match key {
        Some(k) => format!("{k}: {what}; fix: {fix}"),
        None => format!("{what}; fix: {fix}"),
    };
    format!("{head}\n{}", full.trim_end())
}

/// The dotted key at byte `at` of a TOML text: the last `[table]` or
/// `[[array]]` header before it (arrays counted, `ports[2]`) and the key
/// that starts the line, if any.
fn key_path_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let mut table = String::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for line in text[..line_start].lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.split("]]").next()) {
            let name = name.trim().to_string();
            let n = counts.entry(name.clone()).or_insert(0);
            table = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            table = name.trim().to_string();
        }
    }
    let line = text[line_start..].lines().next().unwrap_or("").trim();
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .or_else(|| {
            // An unknown key is reported at the key itself.
            let word: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            (!word.is_empty()).then_some(word)
        });
    match (table.is_empty(), key) {
        (true, Some(k)) => Some(k),
        (false, Some(k)) => Some(format!("{table}.{k}")),
        (false, None) => Some(table),
        (true, None) => None,
    }
}

/// What to write instead, from the parser's message.
fn syntax_fix(message: &str, key: Option<&str>) -> String {
    let leaf = key
        .and_then(|k| k.rsplit('.').next())
        .map(|k| k.split('[').next().unwrap_or(k))
        .unwrap_or("the key");
    let section = key
        .and_then(|k| k.rsplit_once('.').map(|(t, _)| t))
        .map(|t| t.split('[').next().unwrap_or(t))
        .unwrap_or("");
    let example = if section.is_empty() {
        "see config/faxbridge.example.toml".to_string()
    } else {
        format!("see the [{section}] section of config/faxbridge.example.toml")
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (wrong, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        return match closest(wrong, &known) {
            Some(k) => format!("did you mean `{k}`? ({example})"),
            None => format!("remove `{wrong}` or check its spelling ({example})"),
        };
    }
    if message.contains("socket address") {
        return format!("write an address and port in quotes, e.g. {leaf} = \"127.0.0.1:5060\"");
    }
    if message.contains("IP address") {
        return format!("write an IP address in quotes, e.g. {leaf} = \"192.0.2.10\"");
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let expected = rest.split(", expected ").nth(1).unwrap_or("");
        let how = if expected.starts_with('u') || expected.starts_with('i') {
            format!("a whole number without quotes, e.g. {leaf} = 10")
        } else if expected.starts_with('f') {
            format!("a number without quotes, e.g. {leaf} = 1.5")
        } else if expected.contains("bool") {
            format!("true or false without quotes, e.g. {leaf} = true")
        } else if expected.contains("string") || expected.contains("path") {
            format!("text in double quotes, e.g. {leaf} = \"…\"")
        } else if expected.contains("sequence") {
            format!("a list in brackets, e.g. {leaf} = [\"…\"]")
        } else {
            format!("the kind of value {example} shows")
        };
        return format!("write {how}");
    }
    if message.starts_with("unknown variant") {
        return format!("use one of the values the message lists ({example})");
    }
    if message.starts_with("missing field") {
        return format!("add the key the message names ({example})");
    }
    if message.contains("duplicate key") {
        return "write each key once per table".to_string();
    }
    format!("correct the line shown ({example})")
}

/// The known name nearest to `wrong` by edit distance, if near enough to
/// be a typing slip.
fn closest<'a>(wrong: &str, known: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    known
        .iter()
        .map(|k| (distance(wrong, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

impl Config {
    /// The embedded default: everything on 127.0.0.1 (SIP accepted from
    /// loopback only), spool under `./spool`, every called number routed to
    /// `fax@localhost`, which (with no relay configured) is the Maildir
    /// `spool/maildir`.
    pub fn embedded_default() -> Config {
        let mut config = Config::default();
        config.sip.peers.push(crate::sip::config::PeerConfig {
            name: "loopback".to_string(),
            addresses: vec!["127.0.0.0/8".to_string()],
            account: None,
            max_calls: None,
        });
        config.sip.routing.default_route = Some("inbox".to_string());
        config.routes.insert(
            "inbox".to_string(),
            RouteConfig {
                mailboxes: vec!["Fax Inbox <fax@localhost>".to_string()],
                attach_tiff: false,
            },
        );
        config
    }

    /// Read, parse and validate a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = crate::durable::read_bounded(path, crate::durable::CONFIG_FILE_LIMIT)
            .and_then(|b| {
                String::from_utf8(b).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text")
                })
            })
            .map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        let config = Config::parse(&text).map_err(|message| ConfigError::Syntax {
            path: path.to_path_buf(),
            message,
        })?;
        config.validate().map_err(ConfigError::Invalid)?;
        Ok(config)
    }

    /// Parse TOML text without validating it. The error starts with the
    /// key path and what is wrong, then a fix line, then the parser's
    /// message with the line and column (see [`syntax_message`]).
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e: toml::de::Error| {
            syntax_message(text, e.span().map(|s| s.start), e.message(), &e.to_string())
        })
    }

    /// Check every value that the type system cannot; returns all problems.
    pub fn validate(&self) -> Result<(), Vec<Problem>> {
        // In the order of the example file: sections first, then what ties
        // them together (routes to mailboxes, bridge lines to ATA ports).
        let mut problems: Vec<Problem> = [
            &self.general as &dyn Validate,
            &self.store,
            &self.fax,
            &self.sip,
        ]
        .iter()
        .flat_map(|s| s.problems())
        .collect();
        self.check_routes(&mut |key: &str, problem: String, fix: &str| {
            problems.push(Problem::new(key, problem, fix))
        });
        let sections: [&dyn Validate; 8] = [
            &self.media,
            &self.documents,
            &self.queue,
            &self.outgoing,
            &self.mail,
            &self.intake,
            &self.intake.smtp,
            &self.ata,
        ];
        problems.extend(sections.iter().flat_map(|s| s.problems()));
        problems.extend(self.bridge.problems(&self.ata));
        let sections: [&dyn Validate; 4] =
            [&self.compliance, &self.retention, &self.web, &self.alerts];
        problems.extend(sections.iter().flat_map(|s| s.problems()));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl Validate for General {
    fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, problem: String, fix: &str| {
            problems.push(Problem::new(key, problem, fix));
        };
        if self.spool_dir.as_os_str().is_empty() {
            bad(
                "general.spool_dir",
                "is empty".into(),
                "set a directory the daemon can write, e.g. \"/var/spool/faxbridge\"",
            );
        }
        if self.spool_min_free_mb > MAX_SPOOL_MIN_FREE_MB {
            bad(
                "general.spool_min_free_mb",
                format!(
                    "is {} MiB, more than any spool needs (at most {MAX_SPOOL_MIN_FREE_MB})",
                    self.spool_min_free_mb
                ),
                "write the MiB to keep free for the spool, e.g. 100 (0 turns the check off)",
            );
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            bad(
                "general.log",
                format!("is not a valid log filter ({e})"),
                "use a level such as \"info\" or \"faxbridge=debug,info\"",
            );
        }

        problems
    }
}

impl Validate for MediaConfig {
    fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, problem: String, fix: &str| {
            problems.push(Problem::new(key, problem, fix));
        };
        if self.redundancy > 15 {
            bad(
                "media.redundancy",
                format!(
                    "is {}; UDPTL carries at most 15 earlier packets",
                    self.redundancy
                ),
                "use 3 (what Mediatrix gateways send) or 0 to turn it off",
            );
        }
        if !(20..=200).contains(&self.playout_delay_ms) {
            bad(
                "media.playout_delay_ms",
                format!("is {} ms", self.playout_delay_ms),
                "use 20 to 200 ms; 60 absorbs usual LAN jitter",
            );
        }
        if self.watchdog_secs < 30 {
            bad(
                "media.watchdog_secs",
                format!(
                    "is {} s; T.30 may legitimately wait 35 s (T1) between messages",
                    self.watchdog_secs
                ),
                "use at least 60; 120 is the default",
            );
        }
        problems
    }
}

impl Validate for Documents {
    fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, problem: String, fix: &str| {
            problems.push(Problem::new(key, problem, fix));
        };
        if self.max_pages == 0 {
            bad(
                "documents.max_pages",
                "is 0, so every document would be refused".into(),
                "set a page limit such as 100",
            );
        }
        if self.max_pixels < 1728 * 2339 {
            bad(
                "documents.max_pixels",
                format!(
                    "is {}, less than one fine A4 fax page (1728 x 2339)",
                    self.max_pixels
                ),
                "set at least 4041792, e.g. 100000000",
            );
        }
        if self.max_input_bytes < 1024 {
            bad(
                "documents.max_input_bytes",
                format!(
                    "is {} bytes, too small for any document",
                    self.max_input_bytes
                ),
                "set a limit such as 26214400 (25 MiB)",
            );
        }
        let d = self;
        if d.max_decompressed_stream_bytes < 1 << 20 {
            bad(
                "documents.max_decompressed_stream_bytes",
                format!(
                    "is {} bytes, less than a page of text can decode to",
                    d.max_decompressed_stream_bytes
                ),
                "set at least 1048576; 67108864 (64 MiB) is the default",
            );
        }
        if d.max_decompressed_bytes < d.max_decompressed_stream_bytes {
            bad(
                "documents.max_decompressed_bytes",
                format!(
                    "is {} bytes, less than max_decompressed_stream_bytes ({})",
                    d.max_decompressed_bytes, d.max_decompressed_stream_bytes
                ),
                "set it to at least max_decompressed_stream_bytes; 268435456 (256 MiB) is the default",
            );
        }
        if d.max_operators_per_page < 10_000 {
            bad(
                "documents.max_operators_per_page",
                format!(
                    "is {}, fewer than a page of dense text runs",
                    d.max_operators_per_page
                ),
                "set at least 10000; 1000000 is the default",
            );
        }
        if d.max_document_memory_bytes < 128 << 20 {
            bad(
                "documents.max_document_memory_bytes",
                format!(
                    "is {} bytes, too little to render a fax page",
                    d.max_document_memory_bytes
                ),
                "set at least 134217728 (128 MiB); 805306368 (768 MiB) is the default",
            );
        }
        if d.memory_budget_bytes < d.max_document_memory_bytes {
            bad(
                "documents.memory_budget_bytes",
                format!(
                    "is {} bytes, less than one document may use (max_document_memory_bytes = {})",
                    d.memory_budget_bytes, d.max_document_memory_bytes
                ),
                "set it to max_document_memory_bytes times the documents to render at once, e.g. twice it",
            );
        }
        if !matches!(self.resolution, Resolution::Standard | Resolution::Fine) {
            bad(
                "documents.resolution",
                "must be \"standard\" or \"fine\" for rendered pages".into(),
                "use \"fine\" for documents with small text, \"standard\" for speed",
            );
        }

        problems
    }
}

impl Config {
    /// The configuration summary: what an admin checks, never a password,
    /// hash or shared secret (only whether one is set).
    pub fn summary(&self) -> serde_json::Value {
        let c = self;
        serde_json::json!({
            "general": {
                "spool_dir": c.general.spool_dir.display().to_string(),
                "spool_min_free_mb": c.general.spool_min_free_mb,
                "log": c.general.log,
            },
            "store": {
                "database": c.store.describe(&c.general.spool_dir),
            },
            "sip": {
                "listen": c.sip.listen.to_string(),
                "peers": c.sip.peers.iter().map(|p| format!("{} ({})", p.name, p.addresses.join(", "))).collect::<Vec<_>>().join("; "),
                "default_route": c.sip.routing.default_route,
            },
            "media": {
                "t38": c.media.t38,
                "prefer_t38": c.media.prefer_t38,
                "redundancy": c.media.redundancy,
                "playout_delay_ms": c.media.playout_delay_ms,
            },
            "routes": c.routes.iter().map(|(name, r)| (name.clone(), serde_json::Value::from(r.mailboxes.join(", ")))).collect::<serde_json::Map<_, _>>(),
            "mail": {
                "from": c.mail.from,
                "relay": c.mail.relay.as_ref().map(|r| format!("{}:{}", r.host, r.port.map(|p| p.to_string()).unwrap_or_else(|| "default".into()))),
                "relay_authenticated": c.mail.relay.as_ref().is_some_and(|r| r.username.is_some()),
                "max_attempts": c.mail.max_attempts,
            },
            "queue": {
                "max_calls_per_trunk": c.queue.max_calls_per_trunk,
                "trunks": c.queue.trunks.len(),
            },
            "outgoing": {
                "enabled": c.outgoing.enabled(),
                "trunk": c.outgoing.trunk,
                "uri": c.outgoing.uri,
                "authenticated": c.outgoing.account.is_some(),
            },
            "intake": {
                "fax_domains": c.intake.fax_domains.join(", "),
                "smtp_listen": c.intake.smtp.listen.map(|a| a.to_string()),
                "smtp_accounts": c.intake.smtp.accounts.len(),
            },
            "ata": {
                "units": c.ata.units.iter().map(|u| format!("{} {} ({})", u.name, u.address, u.building)).collect::<Vec<_>>().join("; "),
                "ports": c.ata.ports.len(),
                "buildings": c.ata.buildings.iter().map(|b| b.name.clone()).collect::<Vec<_>>().join(", "),
            },
            "compliance": {
                "acquirer_prefixes": c.compliance.acquirer_prefixes.join(", "),
                "finance_digest_to": c.compliance.finance_digest.to.join(", "),
            },
            "retention": {
                "received_days": c.retention.received_days,
                "sent_days": c.retention.sent_days,
            },
            "web": {
                "listen": c.web.listen.map(|a| a.to_string()),
                "session_minutes": c.web.session_minutes,
                "accounts": c.web.accounts.iter().map(|a| format!("{} ({})", a.username, a.role.as_str())).collect::<Vec<_>>().join(", "),
                "trusted_proxy": c.web.trusted_proxy.as_ref().map(|p| format!("{} from {}", p.header, p.addresses.join(", "))),
                "metrics_from": c.web.metrics_from.join(", "),
            },
        })
    }

    /// What the web interface is told of this configuration.
    pub fn site(&self) -> crate::web::Site {
        crate::web::Site {
            web: self.web.clone(),
            queue: self.queue.clone(),
            spool_dir: self.general.spool_dir.clone(),
            ata: self.ata.clone(),
            policy: self.bridge.policy.clone(),
            summary: self.summary(),
        }
    }

    /// Where a number's fax is sent: an ATA port's number straight to the
    /// port, anything else through the trunk.
    pub fn send_routes(&self) -> crate::queue::Routes {
        crate::queue::Routes::new(
            &self.outgoing,
            &self.bridge,
            &self.ata,
            &self.intake.dialplan,
        )
    }

    /// What email intake needs: `[intake]`, documents rendered at its
    /// default resolution, the send routes, and the spool's `outgoing`
    /// directory (absolute).
    pub fn intake_settings(&self) -> crate::intake::IntakeSettings {
        let spool = std::path::absolute(&self.general.spool_dir)
            .unwrap_or_else(|_| self.general.spool_dir.clone());
        crate::intake::IntakeSettings {
            intake: self.intake.clone(),
            render: self
                .documents
                .render_options(self.intake.default_resolution),
            routes: self.send_routes(),
            outgoing_dir: spool.join("outgoing"),
        }
    }

    /// Settings that work but are likely not what the operator meant:
    /// printed by `check-config` and logged at start, never fatal.
    pub fn warnings(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Ok(acl) = self.sip.acl() {
            for (i, unit) in self.ata.units.iter().enumerate() {
                if acl.peer_for(unit.address).is_none() {
                    out.push(Problem::new(
                        format!("ata.units[{i}].address"),
                        format!(
                            "{} (unit {:?}) is covered by no [[sip.peers]] entry: only its emergency calls get through, its other calls and REGISTERs are refused with 403",
                            unit.address, unit.name
                        ),
                        "add the unit's address to a [[sip.peers]] entry (with an account for digest)",
                    ));
                }
            }
        }
        let uri = self.outgoing.uri.trim();
        if !uri.is_empty()
            && !self.outgoing.emergency_uris.is_empty()
            && !self.outgoing.emergency_uris.iter().any(|u| u.trim() == uri)
        {
            out.push(Problem::new(
                "outgoing.emergency_uris",
                "does not list outgoing.uri: emergency calls never try the main trunk",
                "add the main trunk's URI to the list if it can carry 999 calls",
            ));
        }
        if !self.ata.units.is_empty()
            && self.outgoing.uri.trim().is_empty()
            && self.outgoing.emergency_uris.is_empty()
        {
            out.push(Problem::new(
                "outgoing.uri",
                "is empty while ATA units are configured: 999 and 112 from their ports cannot reach the emergency services",
                "set [outgoing] uri (or emergency_uris) to the trunk",
            ));
        }
        out.extend(self.intake.warnings());
        out
    }

    /// Every route name `[sip.routing]` can produce must have mailboxes, and
    /// every mailbox must be a valid address.
    fn check_routes(&self, bad: &mut impl FnMut(&str, String, &str)) {
        let routing = &self.sip.routing;
        let used = routing
            .default_route
            .iter()
            .chain(routing.routes.iter().map(|r| &r.route));
        for name in used {
            if !self.routes.contains_key(name) {
                bad(
                    "sip.routing",
                    format!("sends calls to route {name:?}, which has no [routes.{name}] section"),
                    &format!("add [routes.{name}] with mailboxes = [\"someone@example.org\"]"),
                );
            }
        }
        for (name, route) in &self.routes {
            let key = format!("routes.{name}.mailboxes");
            if route.mailboxes.is_empty() {
                bad(
                    &key,
                    "is empty, so faxes on this route would go nowhere".into(),
                    "list at least one address",
                );
            }
            for mailbox in &route.mailboxes {
                if let Err(e) = mailbox.parse::<lettre::message::Mailbox>() {
                    bad(
                        &key,
                        format!("{mailbox:?} is not a valid mail address ({e})"),
                        "write addresses such as \"Accounts <accounts@example.org>\"",
                    );
                }
            }
        }
    }

    /// The mail route for a route name.
    pub fn mail_route(&self, name: &str) -> Option<crate::mail::Route> {
        self.routes.get(name).map(|r| crate::mail::Route {
            mailboxes: r.mailboxes.clone(),
            attach_tiff: r.attach_tiff,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_error_names_the_key_path_and_a_fix() {
        let cases: &[(&str, &str)] = &[
            (
                "[sip]\nlisten = \"nonsense\"\n",
                "sip.listen: invalid socket address syntax; fix: write an address and port in quotes, e.g. listen = \"127.0.0.1:5060\"",
            ),
            (
                "[mail]\nmax_attempts = \"ten\"\n",
                "mail.max_attempts: invalid type: string \"ten\", expected u32; fix: write a whole number without quotes, e.g. max_attempts = 10",
            ),
            (
                "[sip]\nlisen = \"127.0.0.1:5060\"\n",
                "sip.lisen: unknown field `lisen`",
            ),
            (
                "[[ata.units]]\nname = \"a\"\naddress = \"10.0.0.1\"\nbuilding = \"b\"\n[[ata.units]]\nname = \"b\"\naddress = 7\n",
                "ata.units[1].address: invalid type: integer `7`",
            ),
        ];
        for (text, want) in cases {
            let err = Config::parse(text).unwrap_err();
            assert!(err.starts_with(want), "{text:?}\n{err}");
            assert!(err.contains("line "), "keeps the parser's line: {err}");
        }
        let err = Config::parse("[sip]\nlisen = \"127.0.0.1:5060\"\n").unwrap_err();
        assert!(err.contains("did you mean `listen`?"), "{err}");
    }

    #[test]
    fn embedded_default_is_valid() {
        let c = Config::embedded_default();
        c.validate().unwrap();
        assert!(c.sip.listen.ip().is_loopback());
        assert!(c.mail.relay.is_none());
        assert_eq!(c.mail_route("inbox").unwrap().mailboxes.len(), 1);
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("").unwrap();
        assert!(c.fax.ecm);
        assert_eq!(c.documents.max_pages, 100);
    }

    #[test]
    fn example_config_parses_and_validates() {
        let text = include_str!("../config/faxbridge.example.toml");
        let c = Config::parse(text).unwrap();
        c.validate().unwrap();
    }

    #[test]
    fn unknown_key_is_refused_with_its_name() {
        let err = Config::parse("[fax]\necm_mode = true\n").unwrap_err();
        assert!(err.contains("ecm_mode"), "{err}");
    }

    #[test]
    fn mistyped_value_names_line() {
        let err = Config::parse("[fax]\necm = \"yes\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn bad_values_name_key_and_fix() {
        let c =
            Config::parse("[fax]\nident = \"Physics Dept\"\n[documents]\nmax_pages = 0\n").unwrap();
        let problems = c.validate().unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"fax.ident"));
        assert!(keys.contains(&"documents.max_pages"));
        assert!(problems.iter().all(|p| !p.fix.is_empty()));
    }

    #[test]
    fn document_limits_that_cannot_work_name_key_and_fix() {
        let c = Config::parse(
            "[documents]\nmax_decompressed_stream_bytes = 1000\nmax_operators_per_page = 5\n\
             max_document_memory_bytes = 1000000000\nmemory_budget_bytes = 1000\n",
        )
        .unwrap();
        let problems = c.validate().unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "documents.max_decompressed_stream_bytes",
                "documents.max_operators_per_page",
                "documents.memory_budget_bytes"
            ]
        );
        assert!(problems.iter().all(|p| !p.fix.is_empty()));
        // The defaults work, and reach the renderer.
        let d = Config::parse("").unwrap().documents;
        let opts = d.render_options(Resolution::Standard);
        assert_eq!(opts.max_decompressed_stream_bytes, 64 << 20);
        assert_eq!(opts.max_operators_per_page, 1_000_000);
        assert_eq!(opts.resolution, Resolution::Standard);
        assert!(opts.workers.is_none());
    }

    #[test]
    fn long_ident_refused() {
        let c = Config::parse("[fax]\nident = \"+44 1234 567890 12345\"\n").unwrap();
        let p = c.validate().unwrap_err();
        assert_eq!(p[0].key, "fax.ident");
        assert!(p[0].problem.contains("21 characters"), "{}", p[0]);
    }

    #[test]
    fn routes_must_exist_and_have_valid_mailboxes() {
        let c = Config::parse(
            "[sip.routing]\ndefault_route = \"inbox\"\nroutes = [{ did = \"100\", route = \"sales\" }]\n\
             [routes.sales]\nmailboxes = [\"not an address\"]\n",
        )
        .unwrap();
        let p = c.validate().unwrap_err();
        assert!(
            p.iter()
                .any(|p| p.key == "sip.routing" && p.problem.contains("\"inbox\""))
        );
        assert!(p.iter().any(|p| p.key == "routes.sales.mailboxes"));
        let ok = Config::parse(
            "[sip.routing]\ndefault_route = \"inbox\"\n[routes.inbox]\nmailboxes = [\"Fax <fax@example.org>\"]\n",
        )
        .unwrap();
        ok.validate().unwrap();
        assert_eq!(ok.mail_route("inbox").unwrap().mailboxes.len(), 1);
    }

    #[test]
    fn t6_without_ecm_refused() {
        let c = Config::parse("[fax]\necm = false\ncompressions = [\"t4-1d\", \"t6\"]\n").unwrap();
        let p = c.validate().unwrap_err();
        assert_eq!(p[0].key, "fax.compressions");
    }

    #[test]
    fn load_reports_file_and_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(&path, "[documents]\nmax_pages = 0\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("documents.max_pages"), "{err}");
        let missing = Config::load(&dir.path().join("nope.toml")).unwrap_err();
        assert!(missing.to_string().contains("nope.toml"));
    }
}

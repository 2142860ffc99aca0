//! The intake pipeline: from a received mail message to fax jobs in the queue.
//!
//! [`Intake`] is the [`MailHandler`] the SMTP listener asks at `MAIL FROM`,
//! `RCPT TO` and end of `DATA`; `faxbridge submit` drives the same
//! [`Intake::submit`] for messages piped in by the local mail server. A
//! message goes through these steps, and the first that fails refuses the
//! whole message with a [`Refusal`] saying what is wrong and what to do:
//!
//! 1. the gateway can send at all (`[outgoing] uri` is set, or a
//!    `[[bridge.lines]]` port can be dialled directly);
//! 2. the sender may send ([`authorise_sender`]; an SMTP account only as its
//!    own addresses), how far its address is believed ([`standing`]), and
//!    each recipient is a fax number this sender may dial
//!    ([`parse_recipient`], [`check_destination_at`]) and that can be
//!    reached: without a trunk, only a port's number
//!    ([`crate::queue::Routes::sendable`]);
//! 3. the MIME structure is intact (mail-parser; a part whose transfer
//!    encoding is damaged or a multipart whose boundary never appears is
//!    named), and the message says what to fax ([`message::plan`]);
//! 4. no payment card number is in the text: subject, body, plain-text
//!    attachments and the text shown in PDF attachments ([`pan::scan`],
//!    [`check_pan_at`]; images are not read, see [`pan`]);
//! 5. the sender is within the hourly message and daily page allowance
//!    ([`check_quota`], counted from the `fax_job` table);
//! 6. every document and cover page renders (CPU-bound, on the blocking
//!    pool); an unreadable attachment is named with the reason;
//! 7. every TIFF-F is written, fsynced and renamed into `<spool>/outgoing`,
//!    and only then one job per recipient is queued, on the trunk or, for
//!    the number of one of our own ATA ports, straight to that port
//!    ([`crate::queue::routes`]), with the parts left out of the fax
//!    recorded for the delivery report.
//!
//! Each job's idempotency key is built from the sender, the message
//! (its `Message-ID`, or a hash of its content when it has none) and the
//! dialled number ([`idempotency_key`]), so the same message submitted again
//! (a mail server retrying after a lost reply, a crash between two
//! enqueues) finds its jobs instead of sending the fax twice. A message whose
//! jobs are all queued already is answered from the store without rendering.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::sync::Notify;
use tracing::{info, warn};

use super::cover::render_cover;
use super::message::{self, MessagePlan, Skipped};
use super::policy::{Limits, Origin, Sender, Standing, Usage};
use super::{
    Document, FaxOptions, InboundMessage, IntakeConfig, Normalised, Part, Refusal,
    authorise_sender, check_destination_at, check_pan_at, check_quota, pan, parse_recipient,
    standing,
};
use crate::clock::now_ms;
use crate::docs::render::Workers;
use crate::docs::tiff::{Compression, write_tiff};
use crate::docs::{DocError, Page, RenderOptions, Resolution};
use crate::queue::{JobStore, LeftOut, Millis, NewJob, Routes};
use crate::smtp::{Accepted, MailHandler, ReceivedMessage, SessionInfo};

/// One hour in milliseconds: the window of the message allowance.
const HOUR_MS: Millis = 3_600_000;
/// One day in milliseconds: the window of the page allowance.
const DAY_MS: Millis = 24 * HOUR_MS;
/// Message-IDs longer than this are hashed before they go into a key.
const MAX_ID_IN_KEY: usize = 200;

/// The email-to-fax intake, shared by every SMTP session (cheap to clone).
#[derive(Clone)]
pub struct Intake {
    inner: Arc<Inner>,
}

struct Inner {
    intake: IntakeConfig,
    render: RenderOptions,
    /// Trunk or ATA port, by destination number; also whether a trunk is
    /// configured at all.
    routes: Routes,
    jobs: JobStore,
    outgoing_dir: PathBuf,
    wake: Option<Arc<Notify>>,
    /// The spool's free space: messages are refused for now (452) while
    /// it is low.
    space: Option<crate::spool::SpaceGuard>,
}

/// One fax job of an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedFax {
    /// The job's id.
    pub id: String,
    /// The number dialled.
    pub number: String,
    /// Pages in the job's document, the cover page included.
    pub pages: u32,
    /// `false` when the job had been queued by an earlier submission of the
    /// same message.
    pub created: bool,
}

/// What happened to an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// One job per distinct recipient number, in recipient order.
    pub jobs: Vec<QueuedFax>,
    /// Parts of the message that were not faxed, and why (empty when the
    /// answer came from an earlier submission).
    pub skipped: Vec<Skipped>,
}

/// The resolution and cover-page choice for one recipient: what the address
/// says (`^fine`/`^standard`, `^cover`/`^nocover`), else `[intake]`'s defaults.
pub fn recipient_settings(options: &FaxOptions, cfg: &IntakeConfig) -> (Resolution, bool) {
    (
        options.resolution.unwrap_or(cfg.default_resolution),
        options.cover.unwrap_or(cfg.cover_page),
    )
}

/// The part of an idempotency key that names the message: for a mail
/// message `mail:<sender>:<message>`, for any other key (e.g.
/// `faxbridge send`'s) the key itself, since such a job is a submission of
/// its own. Jobs with the same message key count as one message.
pub fn message_of_key(key: &str) -> &str {
    match key.rsplit_once(':') {
        Some((message, _number)) if key.starts_with("mail:") => message,
        _ => key,
    }
}

/// The message key for a sender and message: the `Message-ID` (RFC 5322
/// §3.6.4, unique per message) when present, else a hash of the content.
///
/// The sender is part of the key so that one sender reusing another's
/// Message-ID cannot make the other's fax look already queued.
pub fn message_key(sender: &str, message_id: Option<&str>, data: &[u8]) -> String {
    let sender = bare_address(sender).to_ascii_lowercase();
    let id = message_id
        .map(|m| m.trim().trim_start_matches('<').trim_end_matches('>'))
        .filter(|m| !m.is_empty());
    let id = match id {
        Some(m) if m.len() <= MAX_ID_IN_KEY && m.chars().all(|c| c.is_ascii_graphic()) => {
            format!("id:{m}")
        }
        Some(m) => format!("idhash:{}", hex(&Sha256::digest(m.as_bytes()))),
        None => format!("sha256:{}", content_hash(data)),
    };
    format!("mail:{sender}:{id}")
}

/// The idempotency key of the job for one recipient of a message.
pub fn idempotency_key(message_key: &str, dial: &str) -> String {
    format!("{message_key}:{dial}")
}

/// SHA-256 of a message without its leading trace header fields
/// (`Received:`, `Return-Path:`, `Delivered-To:`, `X-Original-To:`), which
/// each relay and each delivery attempt adds in front (RFC 5321 §4.4): the
/// same message retried through another hop hashes the same.
pub fn content_hash(data: &[u8]) -> String {
    const TRACE: [&[u8]; 4] = [
        b"received:",
        b"return-path:",
        b"delivered-to:",
        b"x-original-to:",
    ];
    let mut rest = data;
    loop {
        let is_trace = TRACE
            .iter()
            .any(|t| rest.len() >= t.len() && rest[..t.len()].eq_ignore_ascii_case(t));
        if !is_trace {
            break;
        }
        // Skip the field and its folded continuation lines (RFC 5322 §2.2.3).
        let mut end = 0;
        loop {
            match rest[end..].iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    end += nl + 1;
                    if !matches!(rest.get(end), Some(b' ' | b'\t')) {
                        break;
                    }
                }
                None => {
                    end = rest.len();
                    break;
                }
            }
        }
        rest = &rest[end..];
    }
    hex(&Sha256::digest(rest))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An address without angle brackets or surrounding space.
fn bare_address(s: &str) -> &str {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
}

/// One recent job of a sender, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    /// The job's idempotency key.
    pub key: String,
    /// When it was queued.
    pub created: Millis,
    /// Pages in its document.
    pub pages: u32,
    /// Whether it was cancelled before sending (its pages do not count).
    pub cancelled: bool,
}

/// A sender's usage at `now` from their recent jobs: messages queued in the
/// last hour (jobs of one message count once; `current` — the message being
/// submitted, when it is a resubmission — not at all) and pages queued in
/// the last 24 hours, cancelled jobs excepted.
pub fn count_usage(rows: &[UsageRow], now: Millis, current: &str) -> Usage {
    let mut messages: Vec<&str> = rows
        .iter()
        .filter(|r| r.created > now - HOUR_MS && r.created <= now)
        .map(|r| message_of_key(&r.key))
        .filter(|m| *m != current)
        .collect();
    messages.sort_unstable();
    messages.dedup();
    let pages = rows
        .iter()
        .filter(|r| r.created > now - DAY_MS && r.created <= now && !r.cancelled)
        .fold(0u32, |acc, r| acc.saturating_add(r.pages));
    Usage {
        messages_last_hour: u32::try_from(messages.len()).unwrap_or(u32::MAX),
        pages_today: pages,
    }
}

/// One recipient after the address, dial plan and destination checks.
#[derive(Debug, Clone)]
struct Recipient {
    written: String,
    normalised: Normalised,
    resolution: Resolution,
    cover: bool,
}

/// A MIME leaf part, owned, for the blocking pool.
#[derive(Debug, Clone)]
struct OwnedPart {
    filename: Option<String>,
    content_type: String,
    inline: bool,
    data: Vec<u8>,
}

/// The message after parsing and planning.
#[derive(Debug)]
pub(crate) struct Analysed {
    message_id: Option<String>,
    subject: String,
    body: Option<String>,
    parts: Vec<OwnedPart>,
    pub(crate) plan: MessagePlan,
}

/// The refusal for a message that is not intact MIME.
fn malformed(what: impl Into<String>) -> Refusal {
    Refusal::new(
        554,
        "5.6.0",
        format!("The message could not be read: {}.", what.into()),
        "Nothing was sent. The message was damaged on its way or by the program that wrote it; send it again from your usual mail program.",
    )
}

/// A temporary local failure (disk, database, worker pool). The reply
/// says which part failed in plain words (`what`); the library's own error
/// (`detail`: paths, database and runtime messages) goes to the log only.
fn local_failure(what: &str, detail: impl std::fmt::Display) -> Refusal {
    tracing::error!("{what}: {detail}");
    Refusal::new(
        451,
        "4.3.0",
        format!("The fax server could not queue the message: {what}."),
        "Nothing was sent. Your mail server will try again; if this persists, tell the fax administrator.",
    )
}

/// The refusal while the spool's disk is full (RFC 3463 4.3.1, RFC 5321
/// 452): temporary, so the sending mail server keeps the message and tries
/// again.
fn insufficient_storage() -> Refusal {
    Refusal::new(
        452,
        "4.3.1",
        "Insufficient system storage: the fax server's disk is full, so the message was not queued.",
        "Nothing was sent. Your mail server will try again later; if this persists, tell the fax administrator.",
    )
}

/// True when a document error is a full disk.
fn doc_storage_full(e: &DocError) -> bool {
    matches!(e, DocError::Io { source, .. } if crate::spool::is_storage_full(source))
}

/// The refusal for a document that could not be rendered.
fn doc_refusal(e: &DocError) -> Refusal {
    let (code, enhanced) = match e {
        DocError::Io { .. } if doc_storage_full(e) => {
            warn!("message refused for now: {e}");
            return insufficient_storage();
        }
        DocError::Io { .. } => return local_failure("a fax document could not be written", e),
        DocError::Busy { .. } => (451, "4.3.1"),
        DocError::TooManyPages { .. }
        | DocError::InputTooLarge { .. }
        | DocError::ImageTooLarge { .. }
        | DocError::DecompressedTooLarge { .. }
        | DocError::TooManyOperators { .. }
        | DocError::MemoryLimit { .. } => (552, "5.3.4"),
        _ => (554, "5.6.0"),
    };
    if code == 451 {
        return Refusal::new(
            code,
            enhanced,
            format!("The message was not faxed yet: {e}."),
            "Nothing was sent. Your mail server will try again later.",
        );
    }
    Refusal::new(
        code,
        enhanced,
        format!("The message was not faxed: {e}."),
        "Nothing was sent. Fix or replace the file named above and send the message again.",
    )
}

/// A content type as `type/subtype`, lower case; empty when undeclared.
fn content_type_of(part: &mail_parser::MessagePart<'_>) -> String {
    part.content_type()
        .map(|c| {
            format!(
                "{}/{}",
                c.ctype().to_ascii_lowercase(),
                c.subtype().unwrap_or("").to_ascii_lowercase()
            )
        })
        .unwrap_or_default()
}

/// How a part is named in a malformed-message refusal.
fn part_label(part: &mail_parser::MessagePart<'_>, index: usize) -> String {
    match part.attachment_name() {
        Some(n) => format!("the attachment {n:?}"),
        None => {
            let ct = content_type_of(part);
            if ct.is_empty() {
                format!("MIME part {}", index + 1)
            } else {
                format!("MIME part {} ({ct})", index + 1)
            }
        }
    }
}

/// Parse the RFC 5322 bytes and plan the fax (blocking: MIME decoding and
/// text conversion of large messages take time).
pub(crate) fn analyse(
    data: &[u8],
    envelope_from: &str,
    cfg: &message::MessageConfig,
) -> Result<Analysed, Refusal> {
    // mail-parser asserts on some damaged nestings of multipart parts
    // (a `debug_assert!` that the release build drops, going on with a
    // guess); any panic of the parser is damaged MIME, refused for good
    // rather than failing the session over and over.
    let parsed = std::panic::catch_unwind(|| MessageParser::default().parse(data))
        .map_err(|_| malformed("its MIME structure is damaged beyond reading"))?
        // Garbage parses as one unknown header field; a message has at least
        // one of the standard fields (RFC 5322 §3.6).
        .filter(|m| {
            m.headers()
                .iter()
                .any(|h| !matches!(h.name, mail_parser::HeaderName::Other(_)))
        })
        .ok_or_else(|| malformed("it has no header lines, so it is not an email message"))?;

    // The parser recovers what it can from damaged MIME; a fax must not
    // silently lose or garble a part, so any recovery refuses the message.
    for (i, part) in parsed.parts.iter().enumerate() {
        let ct = part.content_type();
        if ct.is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart")) {
            match (&part.body, ct.and_then(|c| c.attribute("boundary"))) {
                (PartType::Multipart(_), _) => {}
                (_, None) => {
                    return Err(malformed(format!(
                        "{} is declared as {} but has no boundary parameter",
                        part_label(part, i),
                        content_type_of(part)
                    )));
                }
                (_, Some(b)) => {
                    return Err(malformed(format!(
                        "{} is declared as {} with the boundary {b:?}, which never appears in it",
                        part_label(part, i),
                        content_type_of(part)
                    )));
                }
            }
        }
        if part.is_encoding_problem {
            let cte = part
                .content_transfer_encoding()
                .map(|e| format!("its {e} encoding"))
                .unwrap_or_else(|| "its encoding".to_string());
            return Err(malformed(format!(
                "{} cannot be decoded ({cte} is damaged)",
                part_label(part, i)
            )));
        }
    }

    let mut parts = Vec::new();
    for part in parsed.attachments() {
        let data: Vec<u8> = match &part.body {
            PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
            PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
            PartType::Message(m) => m.raw_message.to_vec(),
            PartType::Multipart(_) => continue,
        };
        let disposition = part.content_disposition();
        parts.push(OwnedPart {
            filename: part.attachment_name().map(String::from),
            content_type: content_type_of(part),
            inline: disposition.is_some_and(|d| d.is_inline())
                || (disposition.is_none() && part.content_id().is_some()),
            data,
        });
    }
    let bodies: Vec<Cow<'_, str>> = (0..parsed.text_body_count())
        .filter_map(|i| parsed.body_text(i))
        .collect();
    let body = (!bodies.is_empty()).then(|| bodies.join("\n"));
    let from = parsed
        .from()
        .and_then(|a| a.first())
        .map(|a| match (a.name(), a.address()) {
            (Some(n), Some(addr)) => format!("{n} <{addr}>"),
            (None, Some(addr)) => addr.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| bare_address(envelope_from).to_string());
    let subject = parsed.subject().unwrap_or("").to_string();
    let message_id = parsed.message_id().map(String::from);

    let borrowed: Vec<Part<'_>> = parts
        .iter()
        .map(|p| Part {
            filename: p.filename.as_deref(),
            content_type: &p.content_type,
            inline: p.inline,
            data: &p.data,
        })
        .collect();
    let inbound = InboundMessage {
        from: &from,
        subject: Some(subject.as_str()).filter(|s| !s.is_empty()),
        body_text: body.as_deref(),
        parts: borrowed,
        date: SystemTime::now(),
    };
    let plan = message::plan(&inbound, cfg).map_err(|r| r.refusal())?;
    Ok(Analysed {
        message_id,
        subject,
        body,
        parts,
        plan,
    })
}

impl Analysed {
    /// The texts the card-number guard reads, each with its place: the
    /// subject, the body, plain-text attachments and the text shown in PDF
    /// attachments ([`crate::docs::pdf_text`], within the document's render
    /// time limit). Images are not read: that needs OCR, which faxbridge
    /// does not have. A PDF whose text cannot be read is left to the
    /// renderer, which refuses it by name; one that takes longer than the
    /// limit is refused here.
    fn scan_texts(&self, render: &RenderOptions) -> Result<Vec<(String, String)>, Refusal> {
        let mut out = self.texts();
        for d in &self.plan.documents {
            if let Document::Attachment {
                index,
                name,
                kind: crate::docs::render::InputKind::Pdf,
            } = d
                && let Some(part) = self.parts.get(*index)
            {
                match crate::docs::pdf_text(&part.data, name, render) {
                    Ok(text) => out.push((name.clone(), text)),
                    // Over a limit: the renderer would refuse it the same way.
                    Err(
                        e @ (DocError::RenderTimeout { .. }
                        | DocError::DecompressedTooLarge { .. }
                        | DocError::TooManyOperators { .. }
                        | DocError::ImageTooLarge { .. }
                        | DocError::MemoryLimit { .. }
                        | DocError::Busy { .. }),
                    ) => return Err(doc_refusal(&e)),
                    Err(e) => warn!(part = %name, "cannot read the text of a PDF: {e}"),
                }
            }
        }
        Ok(out)
    }

    /// The texts of the message itself and its plain-text attachments.
    pub(crate) fn texts(&self) -> Vec<(String, String)> {
        let borrowed: Vec<Part<'_>> = self
            .parts
            .iter()
            .map(|p| Part {
                filename: p.filename.as_deref(),
                content_type: &p.content_type,
                inline: p.inline,
                data: &p.data,
            })
            .collect();
        let inbound = InboundMessage {
            from: &self.plan.from,
            subject: Some(self.subject.as_str()).filter(|s| !s.is_empty()),
            body_text: self.body.as_deref(),
            parts: borrowed,
            date: self.plan.date,
        };
        self.plan
            .texts(&inbound)
            .into_iter()
            .map(|(place, text)| (place, text.into_owned()))
            .collect()
    }

    /// Render every document at `resolution`, in fax order.
    fn render(&self, resolution: Resolution, base: &RenderOptions) -> Result<Vec<Page>, Refusal> {
        let opts = RenderOptions {
            resolution,
            ..base.clone()
        };
        let mut pages = Vec::new();
        for doc in &self.plan.documents {
            let (name, data) = match doc {
                Document::Attachment { index, name, .. } => {
                    let Some(part) = self.parts.get(*index) else {
                        return Err(local_failure(
                            "an attachment went missing",
                            format!("attachment {name} is not in the parsed message"),
                        ));
                    };
                    (name.as_str(), part.data.as_slice())
                }
                Document::Body => (
                    "the message text",
                    self.body.as_deref().unwrap_or("").as_bytes(),
                ),
            };
            if data.len() as u64 > opts.max_input_bytes {
                return Err(doc_refusal(&DocError::InputTooLarge {
                    what: name.to_string(),
                    bytes: data.len() as u64,
                    max: opts.max_input_bytes,
                }));
            }
            let rendered =
                crate::docs::render::render_bytes(data.to_vec(), name, &opts, pages.len())
                    .map_err(|e| doc_refusal(&e))?;
            pages.extend(rendered);
        }
        Ok(pages)
    }
}

/// A rendered fax for one recipient, written to the spool.
struct Written {
    recipient: usize,
    key: String,
    path: PathBuf,
    pages: u32,
}

/// Render documents and cover pages for `todo` (indices into `recipients`)
/// and write one TIFF-F per recipient, durably. Nothing is left behind on
/// failure.
fn render_and_write(
    analysed: &Analysed,
    recipients: &[Recipient],
    todo: &[(usize, String)],
    render: &RenderOptions,
    dir: &Path,
    usage: &Usage,
    limits: &Limits,
) -> Result<Vec<Written>, Refusal> {
    let mut by_resolution: BTreeMap<u8, Vec<Page>> = BTreeMap::new();
    let res_id = |r: Resolution| Resolution::ALL.iter().position(|x| *x == r).unwrap_or(0) as u8;
    for (i, _) in todo {
        let res = recipients[*i].resolution;
        if let std::collections::btree_map::Entry::Vacant(v) = by_resolution.entry(res_id(res)) {
            v.insert(analysed.render(res, render)?);
        }
    }
    let mut faxes: Vec<(usize, String, Vec<Page>)> = Vec::new();
    for (i, key) in todo {
        let r = &recipients[*i];
        let docs = &by_resolution[&res_id(r.resolution)];
        let mut pages = Vec::with_capacity(docs.len() + 1);
        if r.cover {
            let mut spec = analysed
                .plan
                .cover(&r.written, r.normalised.e164.as_deref());
            spec.pages = Some(docs.len() as u32);
            pages.push(
                render_cover(&spec, r.resolution, render.paper).map_err(|e| doc_refusal(&e))?,
            );
        }
        pages.extend(docs.iter().cloned());
        faxes.push((*i, key.clone(), pages));
    }
    let total: u32 = faxes
        .iter()
        .fold(0u32, |acc, (_, _, p)| acc.saturating_add(p.len() as u32));
    check_quota(usage, limits, total)?;

    std::fs::create_dir_all(dir).map_err(|e| {
        if crate::spool::is_storage_full(&e) {
            warn!(
                "message refused for now: cannot create {}: {e}",
                dir.display()
            );
            return insufficient_storage();
        }
        local_failure(
            "the spool cannot be written",
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let mut written: Vec<Written> = Vec::new();
    for (i, key, pages) in faxes {
        let name = format!(
            "mail-{}-{:011x}-{:08x}.tif",
            &hex(&Sha256::digest(key.as_bytes()))[..16],
            now_ms(),
            rand::random::<u32>()
        );
        let path = dir.join(name);
        if let Err(e) = write_tiff(&path, &pages, Compression::Group4) {
            // Nothing half-written stays: this document and those before it.
            remove_documents(std::iter::once(path.as_path()));
            remove_documents(written.iter().map(|w| w.path.as_path()));
            if doc_storage_full(&e) {
                warn!("message refused for now: {e}");
                return Err(insufficient_storage());
            }
            return Err(local_failure("a fax document could not be written", e));
        }
        written.push(Written {
            recipient: i,
            key,
            path,
            pages: pages.len() as u32,
        });
    }
    Ok(written)
}

fn remove_documents<'a>(paths: impl Iterator<Item = &'a Path>) {
    for p in paths {
        if let Err(e) = std::fs::remove_file(p)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            warn!(path = %p.display(), error = %e, "cannot remove an unused fax document");
        }
    }
}

/// What the intake needs of the configuration: `[intake]`, how documents
/// are rendered, where faxes can be sent, and where the rendered documents
/// go. The configuration assembles it (`Config::intake_settings`).
#[derive(Debug, Clone)]
pub struct IntakeSettings {
    /// `[intake]`.
    pub intake: IntakeConfig,
    /// `[documents]` at `[intake] default_resolution`.
    pub render: RenderOptions,
    /// Where a number's fax goes: an ATA port or the trunk.
    pub routes: Routes,
    /// `<general.spool_dir>/outgoing`, absolute.
    pub outgoing_dir: std::path::PathBuf,
}

impl Intake {
    /// The intake of `settings` queueing into `jobs`. `wake`, when given,
    /// is notified after each queued message so that the queue worker of
    /// this process calls at once instead of at its next poll
    /// ([`crate::queue::worker::Worker::waker`]).
    ///
    /// PDFs are rendered and read in this process; the daemon uses
    /// [`Intake::with_workers`].
    pub fn new(settings: IntakeSettings, jobs: JobStore, wake: Option<Arc<Notify>>) -> Intake {
        Intake::with_workers(settings, jobs, wake, None)
    }

    /// [`Intake::new`], rendering and reading PDF attachments in the
    /// worker processes of `workers` (held to `[documents]`' memory and
    /// time limits, killed when a document is given up).
    pub fn with_workers(
        settings: IntakeSettings,
        jobs: JobStore,
        wake: Option<Arc<Notify>>,
        workers: Option<Arc<Workers>>,
    ) -> Intake {
        let IntakeSettings {
            intake,
            render,
            routes,
            outgoing_dir,
        } = settings;
        Intake {
            inner: Arc::new(Inner {
                intake,
                render: RenderOptions { workers, ..render },
                routes,
                jobs,
                outgoing_dir,
                wake,
                space: None,
            }),
        }
    }

    /// Refuse messages for now (452 4.3.1) while `guard` finds the
    /// spool's free space low, and raise its alert when a write finds the
    /// disk full.
    pub fn with_space_guard(mut self, guard: crate::spool::SpaceGuard) -> Intake {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.space = Some(guard),
            None => unreachable!("the intake is not shared before it is built"),
        }
        self
    }

    /// The 452 refusal for a full disk; the disk-full episode begins.
    fn insufficient_storage(&self, what: &str, detail: impl std::fmt::Display) -> Refusal {
        warn!("message refused for now: {what}: {detail}");
        if let Some(space) = &self.inner.space {
            space.note_full(what, &detail.to_string());
        }
        insufficient_storage()
    }

    /// The job store jobs are queued in.
    pub fn jobs(&self) -> &JobStore {
        &self.inner.jobs
    }

    fn cfg(&self) -> &IntakeConfig {
        &self.inner.intake
    }

    fn outgoing_check(&self) -> Result<(), Refusal> {
        // A site without a trunk still sends to its own ATA ports.
        if self.inner.routes.can_send() {
            return Ok(());
        }
        Err(Refusal::new(
            451,
            "4.3.5",
            "This gateway cannot send faxes at the moment: no outgoing line (trunk) is configured.",
            "Your mail server will try again later. Tell the fax administrator: [outgoing] uri must be set in the faxbridge configuration.",
        ))
    }

    /// Check one recipient for `sender` (believed as far as `standing`
    /// says): a fax address, a number the dial plan understands, a
    /// destination this sender may dial.
    fn recipient(
        &self,
        sender: &str,
        standing: Standing,
        rcpt: &str,
    ) -> Result<Recipient, Refusal> {
        let cfg = self.cfg();
        let address = parse_recipient(rcpt, &cfg.fax_domains).map_err(|e| e.refusal())?;
        let normalised = check_destination_at(
            &cfg.destinations,
            &cfg.dialplan,
            bare_address(sender),
            standing,
            &address.number,
        )?;
        // Without a trunk only our own ports can be reached. Permanent: the
        // number cannot be sent from this gateway as configured.
        if let Err(no_trunk) = self.inner.routes.sendable(&normalised.dial) {
            return Err(Refusal::new(
                550,
                "5.3.5",
                format!(
                    "This gateway cannot send faxes to {}: {no_trunk}.",
                    normalised.dial
                ),
                "Only the fax numbers of this site's own lines can be reached. Tell the fax administrator if other numbers should be.",
            ));
        }
        let (resolution, cover) = recipient_settings(&address.options, cfg);
        Ok(Recipient {
            written: address.number,
            normalised,
            resolution,
            cover,
        })
    }

    /// The sender's recent jobs from the store.
    async fn usage_rows(&self, sender: &str, now: Millis) -> Result<Vec<UsageRow>, Refusal> {
        let rows = sqlx::query(
            "SELECT idempotency_key, created_at_ms, pages_total, state FROM fax_job \
             WHERE lower(submitter) = $1 AND created_at_ms > $2",
        )
        .bind(bare_address(sender).to_ascii_lowercase())
        .bind(now - DAY_MS)
        .fetch_all(self.inner.jobs.pool())
        .await
        .map_err(|e| local_failure("the job database failed", e))?;
        rows.iter()
            .map(|r| {
                let pages: i64 = r.try_get("pages_total")?;
                let state: String = r.try_get("state")?;
                Ok(UsageRow {
                    key: r.try_get("idempotency_key")?,
                    created: r.try_get("created_at_ms")?,
                    pages: u32::try_from(pages).unwrap_or(u32::MAX),
                    cancelled: state == "cancelled",
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| local_failure("the job database failed", e))
    }

    /// The id of the job queued under `key`, if any.
    async fn existing(&self, key: &str) -> Result<Option<(String, u32)>, Refusal> {
        let row = sqlx::query("SELECT id, pages_total FROM fax_job WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(self.inner.jobs.pool())
            .await
            .map_err(|e| local_failure("the job database failed", e))?;
        row.map(|r| {
            let id: String = r.try_get("id")?;
            let pages: i64 = r.try_get("pages_total")?;
            Ok((id, u32::try_from(pages).unwrap_or(0)))
        })
        .transpose()
        .map_err(|e: sqlx::Error| local_failure("the job database failed", e))
    }

    /// Take one message: check, render and queue one fax per recipient, or
    /// refuse the whole message. Only returns `Ok` once every job is
    /// committed to the store.
    pub async fn submit(
        &self,
        sender: &Sender,
        recipients: &[String],
        data: Vec<u8>,
    ) -> Result<Submitted, Refusal> {
        self.outgoing_check()?;
        authorise_sender(&self.cfg().senders, sender)?;
        let standing = standing(&self.cfg().senders, &sender.origin);
        let sender_addr = bare_address(&sender.address).to_string();
        if recipients.is_empty() {
            return Err(Refusal::new(
                554,
                "5.5.1",
                "The message has no fax recipients.",
                "Address the message to the fax number at the fax domain, e.g. 01223123456@fax.example.ac.uk.",
            ));
        }
        // Recipients, one job per distinct dialled number.
        let mut list: Vec<Recipient> = Vec::new();
        for rcpt in recipients {
            let r = self.recipient(&sender_addr, standing, rcpt)?;
            if !list.iter().any(|x| x.normalised.dial == r.normalised.dial) {
                list.push(r);
            }
        }

        // Parse and plan off the async threads.
        let message_cfg = self.cfg().message.clone();
        let envelope = sender_addr.clone();
        let (analysed, data) = tokio::task::spawn_blocking(move || {
            let a = analyse(&data, &envelope, &message_cfg);
            (a, data)
        })
        .await
        .map_err(|e| local_failure("the message reader stopped", e))?;
        let analysed = analysed?;
        let mkey = message_key(&sender_addr, analysed.message_id.as_deref(), &data);
        drop(data);

        // Already queued by an earlier submission of the same message?
        let mut found: Vec<Option<(String, u32)>> = Vec::with_capacity(list.len());
        for r in &list {
            found.push(
                self.existing(&idempotency_key(&mkey, &r.normalised.dial))
                    .await?,
            );
        }
        let todo: Vec<(usize, String)> = list
            .iter()
            .enumerate()
            .filter(|(i, _)| found[*i].is_none())
            .map(|(i, r)| (i, idempotency_key(&mkey, &r.normalised.dial)))
            .collect();
        if todo.is_empty() {
            info!(message = %mkey, "message already queued; nothing new to send");
            return Ok(Submitted {
                jobs: list
                    .iter()
                    .zip(found)
                    .filter_map(|(r, f)| {
                        f.map(|(id, pages)| QueuedFax {
                            id,
                            number: r.normalised.dial.clone(),
                            pages,
                            created: false,
                        })
                    })
                    .collect(),
                skipped: Vec::new(),
            });
        }

        // New work needs room: refused for now (452) while the spool's disk
        // is low, before anything is rendered or written.
        if let Some(space) = &self.inner.space
            && let Err(low) = space.check()
        {
            warn!("message refused for now: {low}");
            return Err(insufficient_storage());
        }

        // Card numbers in the text (PCI DSS): refused unless the sender is
        // listed. Reading PDFs is CPU work: off the async threads.
        let render = self.inner.render.clone();
        let pci = standing.pci(&self.cfg().pci);
        // PDFs are only read when a finding would refuse the message.
        let guarded =
            pci.enabled && !super::policy::matches_any(&pci.allowed_senders, &sender_addr);
        let (analysed, texts) = tokio::task::spawn_blocking(move || {
            let texts = if guarded {
                analysed.scan_texts(&render)
            } else {
                Ok(analysed.texts())
            };
            (analysed, texts)
        })
        .await
        .map_err(|e| local_failure("the card-number check stopped", e))?;
        let findings: Vec<(String, pan::PanFinding)> = texts?
            .into_iter()
            .flat_map(|(place, text)| {
                pan::scan(&text)
                    .into_iter()
                    .map(move |f| (place.clone(), f))
            })
            .collect();
        check_pan_at(&self.cfg().pci, &sender_addr, standing, &findings)?;

        // The message allowance now; the page allowance once pages are known.
        let now = now_ms();
        let rows = self.usage_rows(&sender_addr, now).await?;
        let usage = count_usage(&rows, now, &mkey);
        let limits = standing.quota(&self.cfg().quota).limits_for(&sender_addr);
        check_quota(&usage, &limits, 0)?;

        let render = self.inner.render.clone();
        let dir = self.inner.outgoing_dir.clone();
        let list = Arc::new(list);
        let (analysed, written) = {
            let list = list.clone();
            tokio::task::spawn_blocking(move || {
                let w = render_and_write(&analysed, &list, &todo, &render, &dir, &usage, &limits);
                (analysed, w)
            })
            .await
            .map_err(|e| local_failure("the document renderer stopped", e))?
        };
        let written = written.inspect_err(|r| {
            if r.code == 452
                && let Some(space) = &self.inner.space
            {
                space.note_full("writing a fax document", "No space left on device");
            }
        })?;

        // Every document is on disk: queue one job per recipient.
        let report_to = (!sender_addr.is_empty()).then(|| sender_addr.clone());
        let mut results: Vec<Option<QueuedFax>> = found
            .into_iter()
            .zip(list.iter())
            .map(|(f, r)| {
                f.map(|(id, pages)| QueuedFax {
                    id,
                    number: r.normalised.dial.clone(),
                    pages,
                    created: false,
                })
            })
            .collect();
        let mut unused: Vec<&Path> = Vec::new();
        // Parts not faxed, for the delivery report of every job.
        let left_out: Vec<LeftOut> = analysed
            .plan
            .skipped
            .iter()
            .map(|s| LeftOut {
                name: s.name.clone(),
                reason: s.reason.clone(),
            })
            .collect();
        for (n, w) in written.iter().enumerate() {
            let r = &list[w.recipient];
            let job = NewJob {
                idempotency_key: w.key.clone(),
                destination: r.normalised.dial.clone(),
                route: self.inner.routes.route_for(&r.normalised.dial),
                document: w.path.to_string_lossy().into_owned(),
                pages_total: w.pages,
                submitter: sender_addr.to_ascii_lowercase(),
                report_to: report_to.clone(),
                subject: analysed.subject.clone(),
                not_before: None,
            };
            match self.inner.jobs.enqueue_noting(&job, &left_out, now).await {
                Ok(q) => {
                    if !q.created {
                        // Queued meanwhile by a concurrent submission, with its own document.
                        unused.push(&w.path);
                    }
                    results[w.recipient] = Some(QueuedFax {
                        id: q.id,
                        number: r.normalised.dial.clone(),
                        pages: w.pages,
                        created: q.created,
                    });
                }
                Err(e) => {
                    // Jobs queued so far stay (their documents are complete);
                    // the sender's retry finds them by key and queues the rest.
                    remove_documents(written[n..].iter().map(|w| w.path.as_path()));
                    remove_documents(unused.into_iter());
                    if e.is_storage_full() {
                        return Err(self.insufficient_storage("queueing a fax job", e));
                    }
                    return Err(local_failure("the job queue failed", e));
                }
            }
        }
        remove_documents(unused.into_iter());
        if let Some(w) = &self.inner.wake {
            w.notify_one();
        }
        let jobs: Vec<QueuedFax> = results.into_iter().flatten().collect();
        for j in &jobs {
            info!(job = %j.id, to = %j.number, pages = j.pages, from = %sender_addr, new = j.created, "fax queued from mail");
        }
        for s in &analysed.plan.skipped {
            info!(part = %s.name, reason = %s.reason, "mail part not faxed");
        }
        Ok(Submitted {
            jobs,
            skipped: analysed.plan.skipped.clone(),
        })
    }
}

impl Intake {
    /// The sender as the SMTP session presents it: the client, and for an
    /// authenticated session the addresses its account may use.
    fn smtp_sender(&self, session: &SessionInfo, mail_from: &str) -> Sender {
        let account_addresses = session
            .authenticated
            .as_deref()
            .and_then(|user| self.cfg().smtp.accounts.iter().find(|a| a.username == user))
            .map(|a| a.sender_addresses())
            .unwrap_or_default();
        Sender {
            address: bare_address(mail_from).to_string(),
            origin: Origin::Smtp {
                ip: session.peer.ip(),
                auth_user: session.authenticated.clone(),
                account_addresses,
            },
        }
    }
}

#[async_trait::async_trait]
impl MailHandler for Intake {
    fn is_trusted(&self, client: std::net::IpAddr) -> bool {
        super::policy::is_trusted_relay(&self.cfg().senders, client)
    }

    async fn check_sender(&self, session: &SessionInfo, mail_from: &str) -> Result<(), Refusal> {
        let sender = self.smtp_sender(session, mail_from);
        authorise_sender(&self.cfg().senders, &sender)?;
        let standing = standing(&self.cfg().senders, &sender.origin);
        // The hourly message allowance can be refused before any data is sent.
        let now = now_ms();
        let rows = self.usage_rows(&sender.address, now).await?;
        let usage = count_usage(&rows, now, "");
        let limits = standing
            .quota(&self.cfg().quota)
            .limits_for(&sender.address);
        check_quota(&usage, &limits, 0)
    }

    async fn check_recipient(
        &self,
        session: &SessionInfo,
        mail_from: &str,
        recipient: &str,
    ) -> Result<(), Refusal> {
        self.outgoing_check()?;
        let sender = self.smtp_sender(session, mail_from);
        authorise_sender(&self.cfg().senders, &sender)?;
        let standing = standing(&self.cfg().senders, &sender.origin);
        self.recipient(mail_from, standing, recipient).map(|_| ())
    }

    async fn accept(
        &self,
        session: &SessionInfo,
        message: ReceivedMessage,
    ) -> Result<Accepted, Refusal> {
        let sender = self.smtp_sender(session, &message.mail_from);
        let done = self
            .submit(&sender, &message.recipients, message.data)
            .await?;
        Ok(Accepted {
            jobs: done.jobs.into_iter().map(|j| j.id).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_limit_and_keep_library_errors_to_the_log() {
        // What a disk, a database or a crashed task says stays in the log.
        let io = DocError::io(
            "write",
            Path::new("/var/lib/faxbridge/spool/outgoing/mail-1.tif"),
            std::io::Error::from_raw_os_error(libc::EIO),
        );
        // A full disk is its own temporary refusal: 452 4.3.1.
        let full = DocError::io(
            "write",
            Path::new("/var/lib/faxbridge/spool/outgoing/mail-1.tif"),
            std::io::Error::from_raw_os_error(libc::ENOSPC),
        );
        let line = doc_refusal(&full).smtp_line();
        assert!(
            line.starts_with("452 4.3.1 Insufficient system storage"),
            "{line}"
        );
        assert!(
            !line.contains("/var/lib") && !line.contains("os error"),
            "{line}"
        );
        let sqlx = sqlx::Error::Protocol("unexpected response from the database".into());
        for r in [
            doc_refusal(&io),
            local_failure("the job database failed", &sqlx),
            local_failure(
                "the document renderer stopped",
                "task 7 panicked with message \"x\"",
            ),
        ] {
            let line = r.smtp_line();
            assert!(line.starts_with("451 4.3.0"), "{line}");
            for internal in [
                "/var/lib",
                "os error",
                "I/O error",
                "unexpected response",
                "panicked",
            ] {
                assert!(!line.contains(internal), "{internal:?} in {line:?}");
            }
        }
        // Limits are named in words, permanently (5.3.4: too big for the system).
        let r = doc_refusal(&DocError::DecompressedTooLarge {
            what: "bomb.pdf".into(),
            limit: "64 MiB".into(),
            scope: "one part of a document".into(),
        });
        assert_eq!((r.code, r.enhanced), (552, "5.3.4"));
        assert!(
            r.smtp_line().contains("expands to more than 64 MiB"),
            "{}",
            r.smtp_line()
        );
        let r = doc_refusal(&DocError::TooManyOperators {
            what: "plan.pdf".into(),
            page: 3,
            max: 1_000_000,
        });
        assert_eq!((r.code, r.enhanced), (552, "5.3.4"));
        assert!(
            r.smtp_line()
                .contains("page 3 of plan.pdf has more than 1000000")
        );
        let r = doc_refusal(&DocError::MemoryLimit {
            what: "scan.pdf".into(),
            limit: "768 MiB".into(),
        });
        assert_eq!((r.code, r.enhanced), (552, "5.3.4"));
        // Busy is temporary: the sending server tries again.
        let r = doc_refusal(&DocError::Busy {
            what: "scan.pdf".into(),
            secs: 60,
        });
        assert_eq!((r.code, r.enhanced), (451, "4.3.1"));
    }

    fn row(key: &str, ago_ms: Millis, pages: u32) -> UsageRow {
        UsageRow {
            key: key.to_string(),
            created: 10 * DAY_MS - ago_ms,
            pages,
            cancelled: false,
        }
    }

    const NOW: Millis = 10 * DAY_MS;

    #[test]
    fn jobs_of_one_message_count_as_one_message() {
        let rows = [
            row("mail:a@x.ac.uk:id:1@x:+441223123456", 60_000, 3),
            row("mail:a@x.ac.uk:id:1@x:+441223654321", 60_000, 3),
            row("mail:a@x.ac.uk:id:2@x:+441223123456", 120_000, 2),
            row("send-00000000001-0000000000000001", 30_000, 1),
        ];
        let u = count_usage(&rows, NOW, "");
        assert_eq!(u.messages_last_hour, 3);
        assert_eq!(u.pages_today, 9);
    }

    #[test]
    fn the_windows_are_an_hour_and_a_day() {
        let rows = [
            row("mail:a@x:id:old:1", HOUR_MS, 5),
            row("mail:a@x:id:recent:1", HOUR_MS - 1, 7),
            row("mail:a@x:id:yesterday:1", DAY_MS, 100),
            row("mail:a@x:id:today:1", DAY_MS - 1, 11),
            row("mail:a@x:id:future:1", -5, 13),
        ];
        let u = count_usage(&rows, NOW, "");
        assert_eq!(u.messages_last_hour, 1, "only 'recent' is within the hour");
        assert_eq!(u.pages_today, 5 + 7 + 11);
    }

    #[test]
    fn a_resubmission_is_not_counted_against_itself_and_cancelled_pages_are_free() {
        let mut cancelled = row("mail:a@x:id:2:+441", 10, 50);
        cancelled.cancelled = true;
        let rows = [row("mail:a@x:id:1:+441", 10, 4), cancelled];
        let u = count_usage(&rows, NOW, "mail:a@x:id:1");
        assert_eq!(
            u.messages_last_hour, 1,
            "message 2 counts, message 1 is this one"
        );
        assert_eq!(
            u.pages_today, 4,
            "its pages are real; the cancelled job's are not"
        );
        assert_eq!(count_usage(&[], NOW, ""), Usage::default());
    }

    #[test]
    fn keys_name_sender_message_and_number() {
        let k = message_key(
            "<J.Smith@Example.ac.uk>",
            Some("<abc.123@mail.example.ac.uk>"),
            b"x",
        );
        assert_eq!(
            k,
            "mail:j.smith@example.ac.uk:id:abc.123@mail.example.ac.uk"
        );
        let job = idempotency_key(&k, "+441223123456");
        assert_eq!(
            job,
            "mail:j.smith@example.ac.uk:id:abc.123@mail.example.ac.uk:+441223123456"
        );
        assert_eq!(message_of_key(&job), k);
        // Another sender with the same Message-ID gets another key.
        assert_ne!(
            message_key(
                "other@example.ac.uk",
                Some("<abc.123@mail.example.ac.uk>"),
                b"x"
            ),
            k
        );
        // `faxbridge send` keys are their own message.
        assert_eq!(message_of_key("send-1-2"), "send-1-2");
        // Odd or very long ids are hashed into a fixed-size key.
        let long = "x".repeat(500);
        let k = message_key("a@x", Some(&long), b"");
        assert!(k.starts_with("mail:a@x:idhash:") && k.len() < 100, "{k}");
        assert!(message_key("a@x", Some("a b@c"), b"").contains(":idhash:"));
    }

    #[test]
    fn without_message_id_the_content_is_hashed_without_trace_fields() {
        let msg = b"From: a@x\r\nSubject: s\r\n\r\nbody\r\n";
        let relayed = [
            &b"Received: from a by b;\r\n\tWed, 25 Nov 2026 13:00:00 +0000\r\nReturn-Path: <a@x>\r\n"[..],
            &msg[..],
        ]
        .concat();
        assert_eq!(content_hash(msg), content_hash(&relayed));
        let k1 = message_key("a@x", None, msg);
        let k2 = message_key("a@x", Some("  "), &relayed);
        assert_eq!(k1, k2);
        assert!(k1.starts_with("mail:a@x:sha256:"));
        assert_ne!(
            content_hash(msg),
            content_hash(b"From: a@x\r\nSubject: t\r\n\r\nbody\r\n")
        );
        // A Received: field further down is content, not trace.
        let inner = b"From: a@x\r\nReceived: y\r\n\r\nbody\r\n";
        assert_ne!(
            content_hash(inner),
            content_hash(b"From: a@x\r\n\r\nbody\r\n")
        );
    }

    #[test]
    fn address_options_override_the_defaults() {
        let cfg = IntakeConfig::default();
        assert_eq!(
            recipient_settings(&FaxOptions::default(), &cfg),
            (Resolution::Fine, true)
        );
        let standard_nocover = FaxOptions {
            resolution: Some(Resolution::Standard),
            cover: Some(false),
        };
        assert_eq!(
            recipient_settings(&standard_nocover, &cfg),
            (Resolution::Standard, false)
        );
        let cfg = IntakeConfig {
            default_resolution: Resolution::Standard,
            cover_page: false,
            ..IntakeConfig::default()
        };
        let fine_cover = FaxOptions {
            resolution: Some(Resolution::Fine),
            cover: Some(true),
        };
        assert_eq!(
            recipient_settings(&fine_cover, &cfg),
            (Resolution::Fine, true)
        );
        assert_eq!(
            recipient_settings(&FaxOptions::default(), &cfg),
            (Resolution::Standard, false)
        );
    }

    #[test]
    fn damaged_mime_is_named() {
        let cfg = message::MessageConfig::default();
        let r = analyse(b"\x00\x01\x02", "a@x", &cfg).unwrap_err();
        assert!(r.reason.contains("not an email message"), "{}", r.reason);

        let no_boundary = b"From: a@x\r\nContent-Type: multipart/mixed\r\n\r\nhello\r\n";
        let r = analyse(no_boundary, "a@x", &cfg).unwrap_err();
        assert!(r.reason.contains("no boundary parameter"), "{}", r.reason);
        assert_eq!((r.code, r.enhanced), (554, "5.6.0"));

        let lost_boundary =
            b"From: a@x\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\nhello\r\n";
        let r = analyse(lost_boundary, "a@x", &cfg).unwrap_err();
        assert!(
            r.reason.contains("\"zz\", which never appears"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_message_that_trips_the_mime_parser_is_refused_not_a_panic() {
        // Found by the mime fuzz target: a message/rfc822 part whose
        // headers run into the outer boundary loses mail-parser its
        // multipart ancestor.
        let raw = include_bytes!("../../fuzz/regressions/mime/mail-parser-lost-multipart");
        let cfg = message::MessageConfig::default();
        match analyse(raw, "a@x", &cfg) {
            Err(r) => assert_eq!((r.code, r.enhanced), (554, "5.6.0"), "{}", r.reason),
            Ok(_) if cfg!(debug_assertions) => panic!("the parser's assertion did not fire"),
            // Without debug assertions the parser goes on with a guess.
            Ok(_) => {}
        }
    }

    #[test]
    fn a_text_only_message_is_planned_from_its_body() {
        let cfg = message::MessageConfig::default();
        let raw = b"From: Jane <j@example.ac.uk>\r\nSubject: Hello\r\nMessage-ID: <m1@x>\r\n\r\nPlease call me.\r\n";
        let a = analyse(raw, "j@example.ac.uk", &cfg).unwrap();
        assert_eq!(a.plan.documents, [Document::Body]);
        assert_eq!(a.plan.from, "Jane <j@example.ac.uk>");
        assert_eq!(a.subject, "Hello");
        assert_eq!(a.message_id.as_deref(), Some("m1@x"));
        let texts = a.texts();
        assert_eq!(
            texts[1],
            (
                "the message text".to_string(),
                "Please call me.\r\n".to_string()
            )
        );
    }
}

#[cfg(test)]
mod no_trunk_tests {
    use super::*;
    use crate::ata::{PortConfig, PortRole, UnitConfig};
    use crate::bridge::LineConfig;
    use crate::config::Config;

    /// An intake with no `[outgoing] uri` and, with `port`, one bridged
    /// ATA port numbered +441632960202.
    async fn intake(dir: &Path, port: bool) -> Intake {
        let mut config = Config::default();
        config.general.spool_dir = dir.join("spool");
        config.intake.fax_domains = vec!["fax.example.org".into()];
        if port {
            config.ata.units = vec![UnitConfig {
                name: "lab-ata".into(),
                address: "192.0.2.10".parse().unwrap(),
                model: String::new(),
                building: String::new(),
                firmware: None,
                snmp: Default::default(),
            }];
            config.ata.ports = vec![PortConfig {
                unit: "lab-ata".into(),
                number: 2,
                line: None,
                sip_user: "2002".into(),
                role: PortRole::Fax,
                owner: String::new(),
                takes_payments: false,
                hot_dial: None,
                warm_dial: None,
            }];
            config.bridge.lines = vec![LineConfig {
                unit: "lab-ata".into(),
                port: 2,
                number: "+441632960202".into(),
                cli: None,
            }];
        }
        crate::daemon::prepare_spool(&config.general.spool_dir).unwrap();
        let store = crate::store::Store::open_in_spool(&config.general.spool_dir)
            .await
            .unwrap();
        Intake::new(
            config.intake_settings(),
            JobStore::new(store, config.queue.clone()),
            None,
        )
    }

    #[tokio::test]
    async fn without_a_trunk_only_a_ports_number_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let intake = intake(dir.path(), true).await;
        assert!(intake.outgoing_check().is_ok());
        let to_port = intake.recipient(
            "a@example.org",
            Standing::Address,
            "01632960202@fax.example.org",
        );
        assert!(to_port.is_ok(), "{to_port:?}");
        let refused = intake
            .recipient(
                "a@example.org",
                Standing::Address,
                "01632960201@fax.example.org",
            )
            .unwrap_err();
        assert_eq!((refused.code, refused.enhanced), (550, "5.3.5"));
        assert!(
            refused
                .reason
                .contains("no trunk configured: set [outgoing] uri"),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn without_a_trunk_or_a_port_nothing_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let intake = intake(dir.path(), false).await;
        let refused = intake.outgoing_check().unwrap_err();
        assert_eq!(refused.code, 451);
    }
}

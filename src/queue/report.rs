//! The delivery report for an outgoing fax: the email the sender gets when
//! the job reached a final state (RFC 5322, MIME per RFC 2045–2049).
//!
//! ```text
//! multipart/mixed
//! ├── text/plain          outcome, pages, attempts, far end, advice,
//! │                       parts of the mail message that were not faxed
//! └── application/pdf     exactly the pages the far end confirmed
//! ```
//!
//! A fax counts as delivered only when the T.30 session ended in success and
//! every page of the document was confirmed (MCF), which is when the queue
//! marks the job done. The PDF attached is made from the job's own TIFF,
//! the bytes that went down the line (G4 pages carried over unchanged by
//! `docs::pdf`): all pages for a delivered fax, and for a failed or
//! cancelled one only the pages the receiver confirmed, so the sender sees
//! what the recipient holds.
//!
//! The message is marked `Auto-Submitted: auto-generated` (RFC 3834), so
//! vacation responders do not answer it and the email intake does not take
//! a bounced report for a new fax. `X-Fax-Job`, `X-Fax-Destination`,
//! `X-Fax-Result` and `X-Fax-Pages` let mail rules sort reports.
//!
//! Building is pure: the job record and the TIFF bytes in, message bytes
//! out; the advice is derived from the queue's [`Cause`] of the last
//! failed attempt.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use super::{Attempt, Cause, JobDetail, JobState, Millis, Transport};
use crate::docs::pdf::tiff_to_pdf_bytes;
use crate::docs::tiff::parse_tiff;
use crate::fax::Modem;
use crate::mail::MailError;
use crate::mail::message::{format_duration, format_utc};

/// Everything one delivery report is made of.
#[derive(Debug, Clone)]
pub struct JobReport<'a> {
    /// The job in its final state, with its attempts and history.
    pub detail: &'a JobDetail,
    /// `From:` (the configured sender, `[mail] from`).
    pub from: &'a Mailbox,
    /// `To:` (the job's `report_to`).
    pub to: &'a Mailbox,
    /// `Message-ID` without angle brackets, stable across rebuilds.
    pub message_id: &'a str,
    /// `Date:`.
    pub date: SystemTime,
    /// The job's document (the TIFF that was sent), if it could be read.
    pub document: Option<&'a [u8]>,
    /// Why the document could not be read, if it could not.
    pub document_error: Option<&'a str>,
}

/// How the job ended, for the words of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every page confirmed with a T.30 success.
    Delivered,
    /// No further attempt will be made; the cause of the last failed
    /// attempt, if any attempt was made.
    Failed(Option<Cause>),
    /// Cancelled by an operator.
    Cancelled,
}

impl Outcome {
    /// The outcome of a job in a final state; `None` for a job still in
    /// progress (no report is due for it).
    pub fn of(detail: &JobDetail) -> Option<Outcome> {
        match detail.job.state {
            JobState::Done => Some(Outcome::Delivered),
            JobState::Failed { .. } => Some(Outcome::Failed(last_cause(&detail.attempts))),
            JobState::Cancelled => Some(Outcome::Cancelled),
            _ => None,
        }
    }

    fn header(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed(_) => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// The cause of the last attempt that failed.
fn last_cause(attempts: &[Attempt]) -> Option<Cause> {
    attempts.iter().rev().find_map(|a| a.cause)
}

/// The report's subject: "Fax to NUMBER delivered (N pages)", "Fax to
/// NUMBER failed: short reason" or "Fax to NUMBER cancelled".
pub fn subject(detail: &JobDetail) -> String {
    let job = &detail.job;
    match Outcome::of(detail) {
        Some(Outcome::Delivered) => format!(
            "Fax to {} delivered ({})",
            job.destination,
            pages_word(job.pages_total)
        ),
        Some(Outcome::Failed(cause)) => format!(
            "Fax to {} failed: {}",
            job.destination,
            cause.map_or("not sent", short_reason)
        ),
        Some(Outcome::Cancelled) => format!("Fax to {} cancelled", job.destination),
        None => format!("Fax to {}: {}", job.destination, job.state.name()),
    }
}

/// A few plain words for the subject line.
pub fn short_reason(cause: Cause) -> &'static str {
    match cause {
        Cause::Busy => "line busy",
        Cause::NoAnswer => "no answer",
        Cause::T30Failure => "transmission error",
        Cause::NotFax => "not a fax machine",
        Cause::Network => "telephone network failure",
        Cause::MediaRefused => "call refused by the receiving side",
        Cause::Interrupted => "interrupted",
        Cause::BadNumber => "number does not exist",
        Cause::Refused => "call refused by the telephone provider",
        Cause::Incompatible => "receiving machine cannot take the document",
        Cause::DocumentError => "document could not be read",
    }
}

/// What to do about a failure with `cause`, in plain words. `times` is how
/// many attempts failed with this cause.
pub fn advice(cause: Cause, times: u32) -> String {
    let tried = match times {
        0 | 1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    };
    match cause {
        Cause::Busy => format!(
            "The line was busy (tried {tried}). The receiving machine may be busy with \
             other faxes; send the fax again later, or call the recipient to ask when \
             their line is free."
        ),
        Cause::NoAnswer => format!(
            "Nobody answered (tried {tried}). Check with the recipient that their fax \
             machine is switched on, connected and set to answer, then send the fax again."
        ),
        Cause::BadNumber => "The telephone network reports that this number does not exist \
             or is incomplete (SIP 404/484). Check the number, including the country and \
             area code, and send the fax again to the correct number."
            .to_string(),
        Cause::Refused => "The telephone provider refused to connect the call (for example \
             calls to this destination are barred for this service). Retrying will not \
             help; ask your fax administrator."
            .to_string(),
        Cause::NotFax => format!(
            "The number answered, but not with a fax machine: a person or an answering \
             machine picked up (tried {tried}). Check that this is the recipient's fax \
             number, not their telephone number."
        ),
        Cause::Incompatible => "The receiving fax machine refused the document: it cannot \
             receive, or not at this resolution or paper size, or it did not accept our \
             identity. Ask the recipient to check their machine; sending a simpler, \
             A4-sized document may help."
            .to_string(),
        Cause::T30Failure => format!(
            "The fax machines connected but the transmission failed (tried {tried}, with \
             slower and safer settings each time). This is usually a poor line or a \
             problem with the receiving machine (out of paper, memory full). Send the fax \
             again later; if it keeps failing, ask the recipient to check their machine."
        ),
        Cause::MediaRefused => "The receiving side refused the kind of call we offered \
             (SIP 488/606). Retrying will not help until the line or the service is \
             reconfigured; ask your fax administrator."
            .to_string(),
        Cause::Network => format!(
            "The telephone network or our provider failed (tried {tried}). This is usually \
             temporary: send the fax again later. If it persists, tell your fax \
             administrator."
        ),
        Cause::Interrupted => "The fax service restarted during the call and the attempts \
             allowed ran out. Send the fax again; if this happens again, tell your fax \
             administrator."
            .to_string(),
        Cause::DocumentError => "Your document could not be read for sending. Check that \
             the attachment opens (PDF, image or plain text) and send it again; a \
             password-protected or damaged file cannot be faxed."
            .to_string(),
    }
}

/// Pages of the document the far end confirmed, over every attempt
/// (1-based). T.30 confirms pages in order, so each attempt confirmed the
/// first `pages_confirmed` pages of the run it sent.
pub fn pages_through(detail: &JobDetail) -> BTreeSet<u32> {
    let total = detail.job.pages_total;
    if detail.job.state == JobState::Done {
        return (1..=total).collect();
    }
    let mut pages = BTreeSet::new();
    for a in &detail.attempts {
        let last = a
            .first_page
            .saturating_add(a.pages_confirmed)
            .saturating_sub(1)
            .min(total);
        pages.extend(a.first_page.max(1)..=last);
    }
    pages
}

/// "1-3, 5" for a set of page numbers.
pub fn page_ranges(pages: &BTreeSet<u32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(u32, u32)> = None;
    for &p in pages {
        run = match run {
            Some((a, b)) if p == b + 1 => Some((a, p)),
            Some(r) => {
                out.push(range_words(r));
                Some((p, p))
            }
            None => Some((p, p)),
        };
    }
    if let Some(r) = run {
        out.push(range_words(r));
    }
    out.join(", ")
}

fn range_words((a, b): (u32, u32)) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

fn pages_word(n: u32) -> String {
    format!("{n} {}", if n == 1 { "page" } else { "pages" })
}

/// Build the PDF of `pages` (1-based) of the TIFF `tiff`: exactly those
/// pages, in order, G4 data carried over. Returns the PDF and its page
/// count.
pub fn pdf_of_pages(tiff: &[u8], pages: &BTreeSet<u32>) -> Result<(Vec<u8>, usize), String> {
    let raw = parse_tiff(tiff).map_err(|e| e.to_string())?;
    let chosen: Vec<_> = pages
        .iter()
        .filter_map(|&p| raw.get(p.checked_sub(1)? as usize).cloned())
        .collect();
    if chosen.len() != pages.len() {
        return Err(format!(
            "the document has {} pages, but pages {} were sent",
            raw.len(),
            page_ranges(pages)
        ));
    }
    let (bytes, _) = tiff_to_pdf_bytes(&chosen).map_err(|e| e.to_string())?;
    Ok((bytes, chosen.len()))
}

/// Build the report and return its RFC 5322 bytes (CRLF line ends).
pub fn build(r: &JobReport<'_>) -> Result<Vec<u8>, MailError> {
    let detail = r.detail;
    let job = &detail.job;
    let build_err = |reason: String| MailError::Build {
        fax: format!("job {}", job.id),
        reason,
    };
    let outcome = Outcome::of(detail).ok_or_else(|| {
        build_err(format!(
            "the job is {}, not finished; a report is made only for a final state",
            job.state.name()
        ))
    })?;
    let through = pages_through(detail);
    let (pdf, pdf_note) = attachment(r, &through);

    let text = plain_body(r, outcome, &through, &pdf_note);
    let body = SinglePart::plain(text);
    let mut builder = lettre::Message::builder()
        .from(r.from.clone())
        .to(r.to.clone())
        .subject(subject(detail))
        .date(r.date)
        .message_id(Some(format!("<{}>", r.message_id)))
        .user_agent(format!("faxbridge {}", env!("CARGO_PKG_VERSION")));
    for (name, value) in [
        // RFC 3834 §5: a report is generated by a process, not a person.
        ("Auto-Submitted", "auto-generated".to_string()),
        ("X-Fax-Job", job.id.clone()),
        ("X-Fax-Destination", job.destination.clone()),
        ("X-Fax-Result", outcome.header().to_string()),
        (
            "X-Fax-Pages",
            format!("{}/{}", through.len(), job.pages_total),
        ),
    ] {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(name),
            value,
        ));
    }
    let message = match pdf {
        Some((bytes, name)) => builder.multipart(
            MultiPart::mixed()
                .singlepart(body)
                .singlepart(Attachment::new(name).body(bytes, pdf_type()?)),
        ),
        None => builder.singlepart(body),
    }
    .map_err(|e| build_err(e.to_string()))?;
    Ok(message.formatted())
}

fn pdf_type() -> Result<ContentType, MailError> {
    ContentType::parse("application/pdf").map_err(|e| MailError::Build {
        fax: String::new(),
        reason: format!("content type application/pdf refused by the MIME library: {e}"),
    })
}

/// The PDF to attach (bytes, file name) and the sentence about it.
fn attachment(r: &JobReport<'_>, through: &BTreeSet<u32>) -> (Option<(Vec<u8>, String)>, String) {
    let job = &r.detail.job;
    if through.is_empty() {
        return (
            None,
            "No page reached the recipient, so no copy is attached.".into(),
        );
    }
    let all = through.len() as u32 == job.pages_total;
    let Some(tiff) = r.document else {
        return (
            None,
            format!(
                "A copy of the pages sent cannot be attached: the document is no longer \
                 readable ({}).",
                clean(r.document_error.unwrap_or("missing"))
            ),
        );
    };
    match pdf_of_pages(tiff, through) {
        Ok((bytes, n)) => {
            let stamp = civil_stamp(job.finished.unwrap_or(job.updated));
            let number: String = job
                .destination
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '+')
                .collect();
            let name = if all {
                format!("fax-to-{number}-{stamp}.pdf")
            } else {
                format!("fax-to-{number}-{stamp}-pages-{}.pdf", page_ranges(through))
                    .replace(", ", "_")
            };
            let note = if all {
                format!(
                    "The attached PDF is exactly what was sent ({}).",
                    pages_word(n as u32)
                )
            } else {
                format!(
                    "The attached PDF holds exactly the pages that got through ({} of {}).",
                    n, job.pages_total
                )
            };
            (Some((bytes, name)), note)
        }
        Err(e) => (
            None,
            format!(
                "A copy of the pages sent cannot be attached: {}.",
                clean(&e)
            ),
        ),
    }
}

fn plain_body(
    r: &JobReport<'_>,
    outcome: Outcome,
    through: &BTreeSet<u32>,
    pdf_note: &str,
) -> String {
    let detail = r.detail;
    let job = &detail.job;
    let mut s = String::new();
    let headline = match outcome {
        Outcome::Delivered => format!(
            "Your fax to {} was delivered: the receiving machine confirmed all {}.",
            job.destination,
            pages_word(job.pages_total)
        ),
        Outcome::Failed(_) => format!(
            "Your fax to {} could not be delivered{}.",
            job.destination,
            partial_words(through, job.pages_total)
        ),
        Outcome::Cancelled => format!(
            "Your fax to {} was cancelled before it was delivered{}.",
            job.destination,
            partial_words(through, job.pages_total)
        ),
    };
    let _ = writeln!(s, "{}\n", wrap_at(&headline, 0));

    let mut facts: Vec<(&str, String)> = Vec::new();
    facts.push(("Destination", job.destination.clone()));
    let subject = clean(&job.subject);
    facts.push((
        "Subject",
        if subject.is_empty() {
            "(none)".into()
        } else {
            subject
        },
    ));
    facts.push((
        "Pages sent",
        match (through.is_empty(), through.len() as u32 == job.pages_total) {
            (_, true) => format!("{} of {}", through.len(), job.pages_total),
            (true, false) => format!("0 of {}", job.pages_total),
            (false, false) => format!(
                "{} of {} (pages {})",
                through.len(),
                job.pages_total,
                page_ranges(through)
            ),
        },
    ));
    facts.push(("Attempts", job.attempts.to_string()));
    facts.push(("Queued", utc(job.created)));
    if let Some(f) = job.finished {
        facts.push(("Finished", utc(f)));
    }
    // The call that says most about the far end: the successful one, else
    // the last one a fax machine answered.
    let answered = detail
        .attempts
        .iter()
        .rev()
        .find(|a| a.success)
        .or_else(|| {
            detail
                .attempts
                .iter()
                .rev()
                .find(|a| a.call_duration.is_some() || a.t30_code.is_some())
        });
    if let Some(a) = answered {
        if let Some(d) = a.call_duration {
            facts.push(("Call duration", format_duration(d)));
        }
        facts.push((
            "Remote fax ID",
            a.remote_ident
                .as_deref()
                .map(clean)
                .filter(|s| !s.is_empty())
                .map(|s| format!("{s} (CSI)"))
                .unwrap_or_else(|| "not sent by the receiving machine".into()),
        ));
        if let Some(line) = line_words(a) {
            facts.push(("Transmission", line));
        }
    }
    let on_line: Duration = detail.attempts.iter().filter_map(|a| a.call_duration).sum();
    if detail.attempts.len() > 1 && !on_line.is_zero() {
        facts.push((
            "Time on line",
            format!("{} in all", format_duration(on_line)),
        ));
    }
    facts.push(("Job", job.id.clone()));
    for (label, value) in &facts {
        let _ = writeln!(s, "{:<15}{value}", format!("{label}:"));
    }

    if !detail.attempts.is_empty() {
        let _ = writeln!(s, "\nAttempts:");
        for a in &detail.attempts {
            let _ = writeln!(
                s,
                "{}",
                hanging(
                    &format!("  {}. {}  ", a.number, utc(a.started)),
                    &attempt_words(a, job.pages_total),
                    6
                )
            );
        }
    }

    match outcome {
        Outcome::Failed(cause) => {
            let _ = writeln!(s, "\nWhat happened:");
            let reason = match &job.state {
                JobState::Failed { reason } => clean(reason),
                _ => String::new(),
            };
            match cause {
                Some(c) => {
                    let times = detail
                        .attempts
                        .iter()
                        .filter(|a| a.cause == Some(c))
                        .count() as u32;
                    let _ = writeln!(s, "  {}.", capitalise(short_reason(c)));
                    if !reason.is_empty() {
                        let _ = writeln!(s, "  Details: {reason}.");
                    }
                    let _ = writeln!(s, "\nWhat to do:\n{}", wrap(&advice(c, times)));
                }
                None => {
                    let _ = writeln!(
                        s,
                        "  {}.",
                        if reason.is_empty() {
                            "The fax was not sent".into()
                        } else {
                            capitalise(&reason)
                        }
                    );
                    let _ = writeln!(
                        s,
                        "\nWhat to do:\n  Send the fax again; if it fails again, tell your \
                         fax administrator."
                    );
                }
            }
            if !through.is_empty() {
                let _ = writeln!(
                    s,
                    "\n{}",
                    wrap(&format!(
                        "The recipient already has pages {}; if you send again, you may \
                         leave them out.",
                        page_ranges(through)
                    ))
                );
            }
        }
        Outcome::Cancelled => {
            let by = detail
                .events
                .iter()
                .rev()
                .find(|e| e.to == "cancelled")
                .map(|e| clean(&e.detail));
            if let Some(by) = by {
                let _ = writeln!(s, "\nWhat happened:\n  {}.", capitalise(&by));
            }
            let _ = writeln!(
                s,
                "\nWhat to do:\n  Nothing, if the cancellation was intended. Otherwise send \
                 the fax again."
            );
        }
        Outcome::Delivered => {}
    }
    if !detail.left_out.is_empty() {
        let _ = writeln!(s, "\nNot faxed from your message:");
        for part in &detail.left_out {
            let _ = writeln!(
                s,
                "{}",
                hanging(
                    &format!("  - {}: ", clean(&part.name)),
                    &clean(&part.reason),
                    4
                )
            );
        }
        let _ = writeln!(
            s,
            "\n{}",
            wrap_at(
                "If one of these was meant to be faxed, send it again as a PDF attachment.",
                0
            )
        );
    }
    let _ = writeln!(s, "\n{}", wrap_at(pdf_note, 0));
    s
}

/// Width of the plain-text body: short lines read well in every client
/// and survive quoting (RFC 3676 recommends at most 78).
const TEXT_WIDTH: usize = 72;

/// A paragraph wrapped to [`TEXT_WIDTH`], indented by two spaces.
fn wrap(text: &str) -> String {
    wrap_at(text, 2)
}

fn wrap_at(text: &str, indent: usize) -> String {
    hanging(&" ".repeat(indent), text, indent)
}

/// `first` then `text` wrapped to [`TEXT_WIDTH`], continuation lines
/// indented by `indent` spaces.
fn hanging(first: &str, text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut lines: Vec<String> = Vec::new();
    let mut line = first.to_string();
    let mut start = line.len();
    for word in text.split_whitespace() {
        if line.len() > start && line.len() + 1 + word.len() > TEXT_WIDTH {
            lines.push(std::mem::replace(&mut line, pad.clone()));
            start = indent;
        }
        if line.len() > start {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines.join("\n")
}

fn partial_words(through: &BTreeSet<u32>, total: u32) -> String {
    if through.is_empty() {
        String::new()
    } else {
        format!(
            "; only pages {} of {total} got through",
            page_ranges(through)
        )
    }
}

/// "14400 bit/s (V.17), error correction on, over T.38".
fn line_words(a: &Attempt) -> Option<String> {
    let mut parts = Vec::new();
    match (a.bit_rate, a.modem) {
        (Some(r), Some(m)) => parts.push(format!("{r} bit/s ({})", modem_words(m))),
        (Some(r), None) => parts.push(format!("{r} bit/s")),
        (None, Some(m)) => parts.push(modem_words(m).to_string()),
        (None, None) => {}
    }
    if let Some(ecm) = a.ecm {
        parts.push(format!(
            "error correction {}",
            if ecm { "on" } else { "off" }
        ));
    }
    if let Some(t) = a.transport {
        parts.push(
            match t {
                Transport::T38 => "over T.38",
                Transport::G711 => "over G.711 audio",
            }
            .to_string(),
        );
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn modem_words(m: Modem) -> &'static str {
    match m {
        Modem::V17 => "V.17",
        Modem::V29 => "V.29",
        Modem::V27ter => "V.27ter",
    }
}

/// One line per attempt: the result and what the call carried.
fn attempt_words(a: &Attempt, total: u32) -> String {
    let mut s = if a.success {
        "delivered".to_string()
    } else {
        match a.cause {
            Some(c) => short_reason(c).to_string(),
            None if a.ended.is_none() => "in progress".to_string(),
            None => "ended".to_string(),
        }
    };
    if let Some(status) = a.sip_status {
        let _ = write!(s, " (SIP {status})");
    } else if !a.success
        && let Some(t) = a.t30_text.as_deref().map(clean).filter(|t| !t.is_empty())
    {
        let _ = write!(s, " ({t})");
    }
    if a.pages_confirmed > 0 {
        let last = (a.first_page + a.pages_confirmed - 1).min(total);
        let _ = write!(s, ", pages {} confirmed", range_words((a.first_page, last)));
    }
    if let Some(d) = a.call_duration {
        let _ = write!(s, ", {}", format_duration(d));
    }
    if let Some(id) = a
        .remote_ident
        .as_deref()
        .map(clean)
        .filter(|i| !i.is_empty())
    {
        let _ = write!(s, ", CSI {id}");
    }
    s
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Printable text from values people or the far end chose (subject, CSI).
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

fn to_time(ms: Millis) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

fn utc(ms: Millis) -> String {
    format_utc(to_time(ms))
}

/// `2026-11-25-1015` for file names.
fn civil_stamp(ms: Millis) -> String {
    let (y, mo, d, h, mi, _) = crate::clock::civil_from_unix(ms.max(0) / 1000);
    format!("{y:04}-{mo:02}-{d:02}-{h:02}{mi:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::tiff::{Compression, tiff_bytes};
    use crate::docs::{Page, Resolution};
    use crate::queue::{JobEvent, JobSummary, Route, Settings};
    use mail_parser::{MessageParser, MimeHeaders};

    const T0: Millis = 1_795_601_716_000;

    /// Whether the body says `want`: the words may be wrapped across lines.
    fn has(text: &str, want: &str) -> bool {
        let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        text.contains(want) || flat(text).contains(&flat(want))
    }

    fn document(pages: u32) -> Vec<u8> {
        let pages: Vec<Page> = (0..pages)
            .map(|n| {
                let mut p = Page::blank(1728, 64, Resolution::Fine);
                for x in 0..(100 * (n + 1)) {
                    p.set(x, 10, true);
                }
                p
            })
            .collect();
        tiff_bytes(&pages, Compression::Group4).unwrap()
    }

    fn attempt(number: u32, first: u32, confirmed: u32, cause: Option<Cause>) -> Attempt {
        Attempt {
            number,
            started: T0 + i64::from(number) * 60_000,
            ended: Some(T0 + i64::from(number) * 60_000 + 30_000),
            cause,
            sip_status: None,
            t30_code: Some(if cause.is_none() { 0 } else { 49 }),
            t30_text: Some(if cause.is_none() {
                "success".into()
            } else {
                "The call dropped prematurely".into()
            }),
            first_page: first,
            pages_confirmed: confirmed,
            planned: Settings::decode("t38/ecm/v17").unwrap(),
            transport: Some(Transport::T38),
            ecm: Some(true),
            modem: Some(Modem::V17),
            success: cause.is_none(),
            remote_ident: Some("+44 20 7946 0000".into()),
            call_duration: Some(Duration::from_secs(65)),
            bit_rate: Some(14_400),
        }
    }

    fn busy(number: u32) -> Attempt {
        Attempt {
            sip_status: Some(486),
            t30_code: None,
            t30_text: None,
            transport: None,
            ecm: None,
            modem: None,
            remote_ident: None,
            call_duration: None,
            bit_rate: None,
            ..attempt(number, 1, 0, Some(Cause::Busy))
        }
    }

    fn detail(state: JobState, pages: u32, attempts: Vec<Attempt>) -> JobDetail {
        JobDetail {
            job: JobSummary {
                id: "0123456789abcdef01234567".into(),
                idempotency_key: "<m1@example.org>/+442079460000".into(),
                destination: "+442079460000".into(),
                route: Route::Trunk("main".into()),
                document: "/spool/outgoing/x.tif".into(),
                pages_total: pages,
                pages_confirmed: 0,
                submitter: "alice@example.org".into(),
                report_to: Some("alice@example.org".into()),
                subject: "Invoice 42".into(),
                state: state.clone(),
                attempts: attempts.len() as u32,
                created: T0,
                updated: T0 + 600_000,
                finished: Some(T0 + 600_000),
            },
            attempts,
            events: vec![JobEvent {
                seq: 9,
                at: T0 + 600_000,
                from: Some("queued".into()),
                to: state.name().into(),
                detail: "cancelled by bob".into(),
            }],
            left_out: Vec::new(),
        }
    }

    fn build_for(d: &JobDetail, doc: Option<&[u8]>) -> mail_parser::Message<'static> {
        let from: Mailbox = "Fax Service <fax@example.org>".parse().unwrap();
        let to: Mailbox = "alice@example.org".parse().unwrap();
        let bytes = build(&JobReport {
            detail: d,
            from: &from,
            to: &to,
            message_id: "job-report.x.9@example.org",
            date: to_time(T0 + 601_000),
            document: doc,
            document_error: Some("No such file or directory"),
        })
        .unwrap();
        MessageParser::default().parse(&bytes).unwrap().into_owned()
    }

    fn pdf_pages(pdf: &[u8]) -> usize {
        // Every page object of docs::pdf carries "/Type /Page" once.
        let text = String::from_utf8_lossy(pdf);
        text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
    }

    #[test]
    fn delivered_report_has_facts_and_the_whole_document() {
        let doc = document(3);
        let d = detail(JobState::Done, 3, vec![busy(1), attempt(2, 1, 3, None)]);
        let msg = build_for(&d, Some(&doc));
        assert_eq!(
            msg.subject(),
            Some("Fax to +442079460000 delivered (3 pages)")
        );
        assert_eq!(msg.message_id(), Some("job-report.x.9@example.org"));
        assert_eq!(
            msg.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-generated")
        );
        assert_eq!(
            msg.header_raw("X-Fax-Result").map(str::trim),
            Some("delivered")
        );
        assert_eq!(msg.header_raw("X-Fax-Pages").map(str::trim), Some("3/3"));
        let from = msg.from().unwrap().first().unwrap();
        assert_eq!(from.address(), Some("fax@example.org"));
        let text = msg.body_text(0).unwrap();
        for want in [
            "was delivered",
            "Invoice 42",
            "Pages sent:    3 of 3",
            "Attempts:      2",
            "Call duration: 1 min 05 s",
            "+44 20 7946 0000 (CSI)",
            "14400 bit/s (V.17), error correction on, over T.38",
            "1. 2026-11-25",
            "line busy (SIP 486)",
            "2. ",
            "delivered, pages 1-3 confirmed",
            "exactly what was sent (3 pages)",
        ] {
            assert!(has(&text, want), "{want:?} missing from:\n{text}");
        }
        assert!(!has(&text, "What to do"), "{text}");
        let pdf = msg.attachments().next().expect("PDF attached");
        assert_eq!(pdf.content_type().unwrap().subtype(), Some("pdf"));
        let name = pdf.attachment_name().unwrap();
        assert!(name.starts_with("fax-to-+442079460000-"), "{name}");
        assert!(pdf.contents().starts_with(b"%PDF-"));
        assert_eq!(pdf_pages(pdf.contents()), 3);
    }

    #[test]
    fn failure_explains_the_cause_and_attaches_the_pages_that_got_through() {
        let doc = document(4);
        let d = detail(
            JobState::Failed {
                reason: "fax transmission failed after 2 attempts".into(),
            },
            4,
            vec![
                attempt(1, 1, 2, Some(Cause::T30Failure)),
                attempt(2, 3, 0, Some(Cause::T30Failure)),
            ],
        );
        let msg = build_for(&d, Some(&doc));
        assert_eq!(
            msg.subject(),
            Some("Fax to +442079460000 failed: transmission error")
        );
        let text = msg.body_text(0).unwrap();
        assert!(
            text.lines().all(|l| l.chars().count() <= TEXT_WIDTH),
            "long lines are wrapped:\n{text}"
        );

        for want in [
            "could not be delivered; only pages 1-2 of 4 got through",
            "Pages sent:    2 of 4 (pages 1-2)",
            "Transmission error.",
            "Details: fax transmission failed after 2 attempts.",
            "tried twice",
            "The call dropped prematurely",
            "pages 1-2 confirmed",
            "The recipient already has pages 1-2",
            "exactly the pages that got through (2 of 4)",
        ] {
            assert!(has(&text, want), "{want:?} missing from:\n{text}");
        }
        let pdf = msg.attachments().next().expect("partial PDF attached");
        assert_eq!(pdf_pages(pdf.contents()), 2);
        assert_eq!(msg.header_raw("X-Fax-Pages").map(str::trim), Some("2/4"));
    }

    #[test]
    fn advice_follows_the_cause() {
        let cases = [
            (Cause::Busy, "number does not exist", false),
            (Cause::BadNumber, "Check the number", true),
            (Cause::NotFax, "not with a fax machine", true),
            (Cause::Incompatible, "refused the document", true),
            (Cause::DocumentError, "could not be read", true),
            (Cause::NoAnswer, "Nobody answered", true),
            (Cause::Busy, "tried 3 times", true),
        ];
        for (cause, words, present) in cases {
            assert_eq!(
                advice(cause, 3).contains(words),
                present,
                "{cause}: {words}"
            );
        }
        let d = detail(
            JobState::Failed {
                reason: "the number does not exist: retrying cannot help".into(),
            },
            2,
            vec![Attempt {
                sip_status: Some(404),
                ..busy(1)
            }]
            .into_iter()
            .map(|mut a| {
                a.cause = Some(Cause::BadNumber);
                a
            })
            .collect(),
        );
        let msg = build_for(&d, Some(&document(2)));
        assert_eq!(
            msg.subject(),
            Some("Fax to +442079460000 failed: number does not exist")
        );
        let text = msg.body_text(0).unwrap();
        assert!(
            has(&text, "(SIP 404)") && has(&text, "Check the number"),
            "{text}"
        );
        assert!(has(&text, "No page reached the recipient"), "{text}");
        assert_eq!(msg.attachments().count(), 0);
    }

    #[test]
    fn cancelled_report_says_who_and_survives_a_missing_document() {
        let d = detail(
            JobState::Cancelled,
            2,
            vec![attempt(1, 1, 1, Some(Cause::Busy))],
        );
        let msg = build_for(&d, None);
        assert_eq!(msg.subject(), Some("Fax to +442079460000 cancelled"));
        let text = msg.body_text(0).unwrap();
        assert!(has(&text, "Cancelled by bob."), "{text}");
        assert!(
            has(&text, "no longer readable (No such file or directory)"),
            "{text}"
        );
        assert_eq!(msg.attachments().count(), 0);
    }

    #[test]
    fn unfinished_jobs_get_no_report() {
        let d = detail(JobState::Queued, 2, vec![]);
        let from: Mailbox = "fax@example.org".parse().unwrap();
        let err = build(&JobReport {
            detail: &d,
            from: &from,
            to: &from,
            message_id: "x@y",
            date: SystemTime::now(),
            document: None,
            document_error: None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("not finished"), "{err}");
    }

    #[test]
    fn page_ranges_read_naturally() {
        let set = |v: &[u32]| v.iter().copied().collect::<BTreeSet<u32>>();
        assert_eq!(page_ranges(&set(&[1, 2, 3, 5, 7, 8])), "1-3, 5, 7-8");
        assert_eq!(page_ranges(&set(&[])), "");
        let doc = document(3);
        assert!(pdf_of_pages(&doc, &set(&[2, 4])).is_err());
        let (pdf, n) = pdf_of_pages(&doc, &set(&[2])).unwrap();
        assert_eq!((n, pdf_pages(&pdf)), (1, 1));
    }
}

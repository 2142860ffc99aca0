//! The email that carries a received fax (RFC 5322, MIME per RFC 2045–2049).
//!
//! Structure, chosen so that every mail client shows something useful:
//!
//! ```text
//! multipart/mixed
//! ├── multipart/alternative
//! │   ├── text/plain            who sent it, pages, time, duration, rate, result
//! │   └── multipart/related     (RFC 2387)
//! │       ├── text/html         the same, with <img src="cid:…"> of page 1
//! │       └── image/png         the first-page thumbnail (inline, Content-ID)
//! ├── application/pdf           the fax (attachment)
//! └── image/tiff                the original TIFF (attachment, when the route asks)
//! ```
//!
//! Headers `X-Fax-Caller`, `X-Fax-Called`, `X-Fax-CSI`, `X-Fax-Pages` and
//! `X-Fax-Result` let mail rules sort faxes without parsing the body.
//! Building is pure: bytes and values in, message bytes out.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use super::{MailError, ReceivedFax};

/// Everything one fax email is made of.
#[derive(Debug, Clone)]
pub struct FaxMessage<'a> {
    /// The fax.
    pub fax: &'a ReceivedFax,
    /// `From:` (the configured sender).
    pub from: &'a Mailbox,
    /// `To:` (one recipient; each recipient gets its own message).
    pub to: &'a Mailbox,
    /// `Message-ID` without angle brackets, stable across rebuilds so a
    /// duplicate delivery can be recognised.
    pub message_id: &'a str,
    /// `Date:`.
    pub date: SystemTime,
    /// The PDF, when conversion succeeded.
    pub pdf: Option<&'a [u8]>,
    /// Pages in the PDF (shown in the text when it differs from the count
    /// the engine reported).
    pub pdf_pages: Option<u32>,
    /// PNG thumbnail of page 1, shown inline in the HTML part.
    pub thumbnail: Option<&'a [u8]>,
    /// The original TIFF, attached when the route asks or when there is no PDF.
    pub tiff: Option<&'a [u8]>,
    /// Why the PDF could not be made, if it could not.
    pub conversion_error: Option<&'a str>,
}

/// Build the message and return its RFC 5322 bytes (CRLF line ends).
pub fn build(m: &FaxMessage<'_>) -> Result<Vec<u8>, MailError> {
    let fax = m.fax;
    let build_err = |reason: String| MailError::Build {
        fax: fax.id.clone(),
        reason,
    };
    let sender = sender_words(fax);
    let pages = pages_words(fax);
    let subject = if fax.success {
        format!("Fax from {sender}, {pages}")
    } else {
        format!("Incomplete fax from {sender}, {pages}")
    };

    let facts = facts(m);
    let text = plain_body(m, &facts);
    let cid = format!("page1.{}@faxbridge", fax.id);
    let html = html_body(m, &facts, m.thumbnail.map(|_| cid.as_str()));

    let html_part = SinglePart::html(html);
    let alternative = match m.thumbnail {
        Some(png) => MultiPart::alternative()
            .singlepart(SinglePart::plain(text))
            .multipart(
                MultiPart::related().singlepart(html_part).singlepart(
                    Attachment::new_inline_with_name(cid.clone(), "page1.png".into())
                        .body(png.to_vec(), content_type("image/png")?),
                ),
            ),
        None => MultiPart::alternative()
            .singlepart(SinglePart::plain(text))
            .singlepart(html_part),
    };
    let mut mixed = MultiPart::mixed().multipart(alternative);
    let base = file_base(fax);
    if let Some(pdf) = m.pdf {
        mixed = mixed.singlepart(
            Attachment::new(format!("{base}.pdf"))
                .body(pdf.to_vec(), content_type("application/pdf")?),
        );
    }
    if let Some(tiff) = m.tiff {
        mixed = mixed.singlepart(
            Attachment::new(format!("{base}.tif")).body(tiff.to_vec(), content_type("image/tiff")?),
        );
    }

    let mut builder = lettre::Message::builder()
        .from(m.from.clone())
        .to(m.to.clone())
        .subject(subject)
        .date(m.date)
        .message_id(Some(format!("<{}>", m.message_id)))
        .user_agent(format!("faxbridge {}", env!("CARGO_PKG_VERSION")));
    for (name, value) in [
        ("X-Fax-Caller", fax.caller.as_str()),
        ("X-Fax-Called", fax.called.as_str()),
        ("X-Fax-CSI", fax.remote_csi.as_str()),
    ] {
        if !clean(value).is_empty() {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(name),
                clean(value),
            ));
        }
    }
    builder = builder
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Fax-Pages"),
            fax.pages_received.to_string(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Fax-Result"),
            if fax.success {
                "complete"
            } else {
                "incomplete"
            }
            .to_string(),
        ));
    let message = builder
        .multipart(mixed)
        .map_err(|e| build_err(e.to_string()))?;
    Ok(message.formatted())
}

fn content_type(s: &'static str) -> Result<ContentType, MailError> {
    ContentType::parse(s).map_err(|e| MailError::Build {
        fax: String::new(),
        reason: format!("content type {s} refused by the MIME library: {e}"),
    })
}

/// Printable text from a value the far end chose (CSI, numbers): control
/// characters dropped, surrounding spaces trimmed.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

/// "+44 1234 567890 (01234 567890)", or whichever of CSI and caller exists.
fn sender_words(fax: &ReceivedFax) -> String {
    let csi = clean(&fax.remote_csi);
    let caller = clean(&fax.caller);
    match (csi.is_empty(), caller.is_empty()) {
        (false, false) if csi != caller => format!("{csi} ({caller})"),
        (false, _) => csi,
        (true, false) => caller,
        (true, true) => "an unknown sender".to_string(),
    }
}

fn pages_words(fax: &ReceivedFax) -> String {
    let n = fax.pages_received;
    let unit = if n == 1 { "page" } else { "pages" };
    match fax.pages_expected {
        Some(e) if e != n => format!("{n} of {e} {}", if e == 1 { "page" } else { "pages" }),
        _ => format!("{n} {unit}"),
    }
}

/// File name stem for attachments: `fax-2026-11-25-1015-<caller>`.
fn file_base(fax: &ReceivedFax) -> String {
    let t = civil(fax.started_at);
    let who: String = clean(&fax.caller)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+')
        .collect();
    let mut base = format!("fax-{:04}-{:02}-{:02}-{:02}{:02}", t.0, t.1, t.2, t.3, t.4);
    if !who.is_empty() {
        base.push('-');
        base.push_str(&who);
    }
    base
}

/// The (label, value) lines shown in both bodies.
fn facts(m: &FaxMessage<'_>) -> Vec<(&'static str, String)> {
    let fax = m.fax;
    let or_unknown = |s: &str| {
        let s = clean(s);
        if s.is_empty() {
            "not given".to_string()
        } else {
            s
        }
    };
    let mut pages = pages_words(fax);
    if let Some(p) = m.pdf_pages
        && p != fax.pages_received
    {
        let _ = write!(pages, " ({p} in the PDF)");
    }
    vec![
        ("Sender (CSI)", or_unknown(&fax.remote_csi)),
        ("Caller number", or_unknown(&fax.caller)),
        ("Called number", or_unknown(&fax.called)),
        ("Pages", pages),
        ("Received", format_utc(fax.started_at)),
        ("Duration", format_duration(fax.duration)),
        (
            "Rate",
            format!(
                "{} bit/s, error correction {}",
                fax.bit_rate,
                if fax.ecm { "on" } else { "off" }
            ),
        ),
        ("Result", or_unknown(&fax.result)),
    ]
}

fn headline(m: &FaxMessage<'_>) -> String {
    let fax = m.fax;
    if fax.success {
        format!(
            "A fax from {} arrived for {}.",
            sender_words(fax),
            if clean(&fax.called).is_empty() {
                "this service".to_string()
            } else {
                clean(&fax.called)
            }
        )
    } else {
        format!(
            "A fax from {} was not received completely: {}. The pages that arrived are attached.",
            sender_words(fax),
            clean(&fax.result).trim_end_matches('.')
        )
    }
}

fn attachment_note(m: &FaxMessage<'_>) -> String {
    match (m.pdf.is_some(), m.tiff.is_some(), m.conversion_error) {
        (true, true, _) => "The fax is attached as a PDF, and as the original TIFF.".into(),
        (true, false, _) => "The fax is attached as a PDF.".into(),
        (false, true, Some(e)) => format!(
            "The fax could not be converted to PDF ({}); the original TIFF is attached.",
            clean(e)
        ),
        (false, true, None) => "The original TIFF is attached.".into(),
        (false, false, e) => format!(
            "The pages of this fax could not be read{}; ask the sender to send it again.",
            e.map(|e| format!(" ({})", clean(e))).unwrap_or_default()
        ),
    }
}

fn plain_body(m: &FaxMessage<'_>, facts: &[(&'static str, String)]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}\n", headline(m));
    for (label, value) in facts {
        let _ = writeln!(s, "{:<15}{}", format!("{label}:"), value);
    }
    let _ = writeln!(s, "\n{}", attachment_note(m));
    s
}

fn html_body(m: &FaxMessage<'_>, facts: &[(&'static str, String)], cid: Option<&str>) -> String {
    let mut s = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body \
         style=\"font-family:sans-serif\">\n",
    );
    let _ = writeln!(s, "<p>{}</p>", escape(&headline(m)));
    s.push_str("<table>\n");
    for (label, value) in facts {
        let _ = writeln!(
            s,
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            escape(label),
            escape(value)
        );
    }
    s.push_str("</table>\n");
    if let Some(cid) = cid {
        let _ = writeln!(
            s,
            "<p><img src=\"cid:{}\" alt=\"First page of the fax\" \
             style=\"border:1px solid #888\"></p>",
            escape(cid)
        );
    }
    let _ = writeln!(s, "<p>{}</p>\n</body></html>", escape(&attachment_note(m)));
    s
}

/// HTML text escaping for values the far end chose.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub use crate::clock::format_utc_text as format_utc;

/// "45 s", "3 min 05 s", "1 h 02 min".
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}

/// UTC calendar fields of a time; times before 1970 show as 1970.
fn civil(t: SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    crate::clock::civil_from_unix(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::{MessageParser, MimeHeaders};
    use std::path::PathBuf;

    fn fax(success: bool) -> ReceivedFax {
        ReceivedFax {
            id: "f1".into(),
            tiff: PathBuf::from("/x.tif"),
            caller: "01234567890".into(),
            called: "+441234500000".into(),
            remote_csi: "+44 1234 567890<b>".into(),
            pages_received: 2,
            pages_expected: Some(3),
            started_at: UNIX_EPOCH + Duration::from_secs(1_795_601_716),
            duration: Duration::from_secs(95),
            bit_rate: 14_400,
            ecm: true,
            result: "The line dropped after page 2".into(),
            success,
        }
    }

    #[test]
    fn dates_and_durations() {
        assert_eq!(format_utc(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        // 2024-02-29 12:34:56 UTC (leap day).
        assert_eq!(
            format_utc(UNIX_EPOCH + Duration::from_secs(1_709_210_096)),
            "2024-02-29 12:34:56 UTC"
        );
        assert_eq!(format_duration(Duration::from_secs(45)), "45 s");
        assert_eq!(format_duration(Duration::from_secs(185)), "3 min 05 s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1 h 02 min");
    }

    #[test]
    fn message_has_all_parts_and_escapes_the_csi() {
        let from: Mailbox = "Fax <fax@example.org>".parse().unwrap();
        let to: Mailbox = "accounts@example.org".parse().unwrap();
        let f = fax(false);
        let bytes = build(&FaxMessage {
            fax: &f,
            from: &from,
            to: &to,
            message_id: "f1.0@example.org",
            date: f.started_at,
            pdf: Some(b"%PDF-1.4\n%%EOF\n"),
            pdf_pages: Some(2),
            thumbnail: Some(b"\x89PNG\r\n\x1a\nfake"),
            tiff: Some(b"II*\0"),
            conversion_error: None,
        })
        .unwrap();
        let msg = MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(msg.message_id(), Some("f1.0@example.org"));
        let subject = msg.subject().unwrap();
        assert!(subject.starts_with("Incomplete fax from +44 1234 567890<b> (01234567890)"));
        assert!(subject.ends_with("2 of 3 pages"), "{subject}");
        let text = msg.body_text(0).unwrap();
        assert!(text.contains("The line dropped after page 2"), "{text}");
        assert!(text.contains("14400 bit/s, error correction on"), "{text}");
        assert!(text.contains("1 min 35 s"), "{text}");
        let html = msg.body_html(0).unwrap();
        assert!(
            html.contains("&lt;b&gt;") && !html.contains("<b>"),
            "{html}"
        );
        assert!(html.contains("cid:page1.f1@faxbridge"), "{html}");
        let names: Vec<String> = msg
            .attachments()
            .map(|a| a.attachment_name().unwrap_or("").to_string())
            .collect();
        assert!(names.iter().any(|n| n.ends_with(".pdf")), "{names:?}");
        assert!(names.iter().any(|n| n.ends_with(".tif")), "{names:?}");
        let inline = msg
            .attachments()
            .find(|a| a.content_id() == Some("page1.f1@faxbridge"))
            .expect("inline thumbnail");
        assert_eq!(inline.contents(), b"\x89PNG\r\n\x1a\nfake");
        assert_eq!(
            msg.header_raw("X-Fax-Caller").map(str::trim),
            Some("01234567890")
        );
    }

    #[test]
    fn conversion_failure_is_explained() {
        let from: Mailbox = "fax@example.org".parse().unwrap();
        let f = fax(true);
        let bytes = build(&FaxMessage {
            fax: &f,
            from: &from,
            to: &from,
            message_id: "x@y",
            date: f.started_at,
            pdf: None,
            pdf_pages: None,
            thumbnail: None,
            tiff: Some(b"II*\0"),
            conversion_error: Some("TIFF page 1 is damaged"),
        })
        .unwrap();
        let msg = MessageParser::default().parse(&bytes).unwrap();
        assert!(msg.subject().unwrap().starts_with("Fax from"));
        let text = msg.body_text(0).unwrap();
        assert!(text.contains("could not be converted to PDF (TIFF page 1 is damaged)"));
    }
}

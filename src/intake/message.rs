//! From a parsed email to the documents a fax is made of and its cover page.
//!
//! The MIME parsing is done by the caller; this module takes plain values
//! ([`InboundMessage`]) and decides:
//!
//! - **which parts are faxed, in order** — every attachment that is a PDF,
//!   PNG, JPEG, GIF, TIFF or plain text (recognised from its content, as the
//!   renderer does); the text body only when no attachment is faxed;
//! - **which parts are left out, and why** — digital signatures (S/MIME
//!   `application/pkcs7-signature`, OpenPGP `application/pgp-signature`),
//!   contact cards, and small *inline* images. Mail programs put the logos
//!   of an email signature into the message as inline parts (`Content-ID`
//!   inside `multipart/related`, RFC 2387) of a few kilobytes; faxing them would
//!   add a page per logo. An inline image under `inline_image_max_bytes` is
//!   therefore taken for decoration. A screenshot or scan pasted into the text
//!   is inline too but is far larger, and anything attached as a file is
//!   faxed whatever its size. Every part left out is named in the report, so
//!   nothing disappears silently;
//! - **which parts stop the message** — empty files, Word/Excel/HTML/RTF and
//!   other formats that cannot be laid out faithfully, files whose content
//!   contradicts their declared type (damaged). A fax with a missing page is
//!   worse than no fax, so one such part refuses the whole message, and the
//!   report names each file and what to do;
//! - **what the cover page says** ([`CoverSpec`]): sender, recipient, subject,
//!   the body as a note (without the RFC 3676 §4.3 signature block `-- `),
//!   date, and a page count filled in after rendering.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use serde::Deserialize;

use crate::docs::render::{InputKind, detect};

use super::Refusal;

/// `[intake.message]`: turning a message into documents.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessageConfig {
    /// Inline images smaller than this many bytes are taken for signature
    /// logos and left out; 0 faxes every inline image.
    pub inline_image_max_bytes: usize,
    /// The cover page shows at most this many characters of the message text.
    pub cover_note_max_chars: usize,
}

impl Default for MessageConfig {
    fn default() -> Self {
        MessageConfig {
            inline_image_max_bytes: 16 * 1024,
            cover_note_max_chars: 2000,
        }
    }
}

/// One MIME leaf part other than the text body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part<'a> {
    /// The file name (`Content-Disposition` `filename` or `Content-Type` `name`), if any.
    pub filename: Option<&'a str>,
    /// The declared `Content-Type`, e.g. `application/pdf` (parameters allowed).
    pub content_type: &'a str,
    /// True for a part shown inside the message rather than attached:
    /// `Content-Disposition: inline`, or no disposition but a `Content-ID`
    /// inside `multipart/related`.
    pub inline: bool,
    /// The decoded content.
    pub data: &'a [u8],
}

/// A received message, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage<'a> {
    /// The `From:` address (with display name if any), for the cover page.
    pub from: &'a str,
    /// The decoded `Subject:`.
    pub subject: Option<&'a str>,
    /// The `text/plain` body (or the text rendering of the HTML body).
    pub body_text: Option<&'a str>,
    /// Every other leaf part, in message order.
    pub parts: Vec<Part<'a>>,
    /// When the message was received (or its `Date:`).
    pub date: SystemTime,
}

/// A document to render, in fax order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// `parts[index]` of the message.
    Attachment {
        /// Index into [`InboundMessage::parts`].
        index: usize,
        /// Display name for reports.
        name: String,
        /// The content type as recognised.
        kind: InputKind,
    },
    /// The text body.
    Body,
}

/// A part left out of the fax, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Display name for reports.
    pub name: String,
    /// Why it was left out.
    pub reason: String,
}

/// A part that cannot be faxed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartProblem {
    /// Display name for reports (the file name when there is one).
    pub name: String,
    /// What is wrong and what to do.
    pub reason: String,
}

/// The message cannot be faxed as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Rejected {
    /// Every part that cannot be faxed (or one entry for "nothing to fax").
    pub problems: Vec<PartProblem>,
    /// Parts that would have been left out anyway.
    pub skipped: Vec<Skipped>,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("The message was not faxed: ")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}: {}", p.name, p.reason)?;
        }
        Ok(())
    }
}

impl Rejected {
    /// The refusal for the report: 554 5.6.1, media not supported (RFC 3463).
    pub fn refusal(&self) -> Refusal {
        Refusal::new(
            554,
            "5.6.1",
            self.to_string(),
            "Nothing was sent. Fix the files named above and send the message again.",
        )
    }
}

/// What will be faxed for a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePlan {
    /// The documents, in fax order (never empty).
    pub documents: Vec<Document>,
    /// Parts left out, for the report.
    pub skipped: Vec<Skipped>,
    /// Sender as shown on the cover page.
    pub from: String,
    /// Subject as shown on the cover page.
    pub subject: Option<String>,
    /// Text for the cover page: the body without its signature, shortened;
    /// `None` when the body is faxed as a document itself or is empty.
    pub note: Option<String>,
    /// When the message was received.
    pub date: SystemTime,
}

/// The data of one cover page; drawing it is the renderer's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverSpec {
    /// Sender (`From:`).
    pub from: String,
    /// Recipient: the number as written, and the dialled form when it differs.
    pub to: String,
    /// Subject.
    pub subject: Option<String>,
    /// Message text.
    pub note: Option<String>,
    /// Pages following the cover; `None` until the documents are rendered.
    pub pages: Option<u32>,
    /// When the message was received.
    pub date: SystemTime,
}

impl MessagePlan {
    /// The cover page for one recipient; `pages` is filled in after rendering.
    pub fn cover(&self, written: &str, e164: Option<&str>) -> CoverSpec {
        let written = clean_line(written, 64);
        let to = match e164 {
            Some(e) if e != written => format!("{written} ({e})"),
            _ => written,
        };
        CoverSpec {
            from: self.from.clone(),
            to,
            subject: self.subject.clone(),
            note: self.note.clone(),
            pages: None,
            date: self.date,
        }
    }
}

impl MessagePlan {
    /// The texts the card-number guard must read, each with a name for the
    /// report: the subject, the body, and every plain-text attachment that is
    /// faxed. The intake adds the text shown in faxed PDFs; images are not
    /// read (no OCR, see [`super::pan`]).
    pub fn texts<'a>(&self, msg: &InboundMessage<'a>) -> Vec<(String, Cow<'a, str>)> {
        let mut out = Vec::new();
        if let Some(s) = msg.subject {
            out.push(("the subject".to_string(), Cow::Borrowed(s)));
        }
        if let Some(b) = msg.body_text {
            out.push(("the message text".to_string(), Cow::Borrowed(b)));
        }
        for d in &self.documents {
            if let Document::Attachment {
                index,
                name,
                kind: InputKind::Text,
            } = d
                && let Some(part) = msg.parts.get(*index)
            {
                out.push((name.clone(), String::from_utf8_lossy(part.data)));
            }
        }
        out
    }
}

/// Decide what to fax for `msg`.
pub fn plan(msg: &InboundMessage<'_>, cfg: &MessageConfig) -> Result<MessagePlan, Rejected> {
    let mut documents = Vec::new();
    let mut skipped = Vec::new();
    let mut problems = Vec::new();
    for (index, part) in msg.parts.iter().enumerate() {
        let name = display_name(part, index);
        match classify(part, cfg) {
            Verdict::Fax(kind) => documents.push(Document::Attachment { index, name, kind }),
            Verdict::Skip(reason) => skipped.push(Skipped { name, reason }),
            Verdict::Refuse(reason) => problems.push(PartProblem { name, reason }),
        }
    }
    let body = msg.body_text.unwrap_or("");
    let body_has_text = !strip_signature(body).trim().is_empty();
    let note = if documents.is_empty() {
        None
    } else {
        cover_note(body, cfg.cover_note_max_chars)
    };
    if documents.is_empty() && problems.is_empty() {
        if body_has_text {
            documents.push(Document::Body);
        } else {
            problems.push(PartProblem {
                name: "the message".into(),
                reason: "has no attachment and no text, so there is nothing to fax; attach the document (PDF is best) and send again.".into(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(Rejected { problems, skipped });
    }
    Ok(MessagePlan {
        documents,
        skipped,
        from: clean_line(msg.from, 200),
        subject: msg
            .subject
            .map(|s| clean_line(s, 200))
            .filter(|s| !s.is_empty()),
        note,
        date: msg.date,
    })
}

enum Verdict {
    Fax(InputKind),
    Skip(String),
    Refuse(String),
}

/// The declared type without parameters, lower case.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn classify(part: &Part<'_>, cfg: &MessageConfig) -> Verdict {
    let declared = essence(part.content_type);
    let ext = part
        .filename
        .and_then(|f| f.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();

    match declared.as_str() {
        "application/pkcs7-signature"
        | "application/x-pkcs7-signature"
        | "application/pgp-signature" => {
            return Verdict::Skip("digital signature of the message, not a document".into());
        }
        "application/pgp-keys" => return Verdict::Skip("encryption key, not a document".into()),
        "text/vcard" | "text/x-vcard" | "text/directory" => {
            return Verdict::Skip("contact card, not a document".into());
        }
        _ if ext == "p7s" || (ext == "asc" && declared == "application/octet-stream") => {
            return Verdict::Skip("digital signature of the message, not a document".into());
        }
        _ => {}
    }
    if part.data.is_empty() {
        return Verdict::Refuse("is empty (0 bytes); attach the file again.".into());
    }
    let kind = detect(part.data);
    let is_image_kind = matches!(
        kind,
        Some(InputKind::Png | InputKind::Jpeg | InputKind::Gif | InputKind::Tiff)
    );
    if part.inline
        && (declared.starts_with("image/") || is_image_kind)
        && part.data.len() < cfg.inline_image_max_bytes
    {
        return Verdict::Skip(format!(
            "small picture inside the message text ({} bytes), taken for a logo in an email signature; attach it as a file to fax it",
            part.data.len()
        ));
    }
    let declared_kind = match declared.as_str() {
        "application/pdf" | "application/x-pdf" => Some(InputKind::Pdf),
        "image/png" => Some(InputKind::Png),
        "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(InputKind::Jpeg),
        "image/gif" => Some(InputKind::Gif),
        "image/tiff" | "image/tif" => Some(InputKind::Tiff),
        _ => None,
    };
    match (declared_kind, kind) {
        // A PDF must be a PDF; a picture may be another picture format (mislabelled, still readable).
        (Some(InputKind::Pdf), Some(InputKind::Pdf)) => Verdict::Fax(InputKind::Pdf),
        (Some(d), Some(k)) if d != InputKind::Pdf && is_image_kind => Verdict::Fax(k),
        (Some(d), _) => Verdict::Refuse(format!(
            "is declared as {} but its content is not; it may be damaged. Ask for a fresh copy or save it again, then send it again.",
            kind_name(d)
        )),
        (None, Some(InputKind::Text)) => text_verdict(&declared, &ext, part.data),
        (None, Some(k)) if declared.starts_with("text/") => Verdict::Refuse(format!(
            "is declared as text but holds a {} file; it may be damaged. Attach it again.",
            kind_name(k)
        )),
        (None, Some(k)) => Verdict::Fax(k),
        (None, None) => Verdict::Refuse(unsupported_advice(&declared, &ext)),
    }
}

/// Plain text is faxed; text that is really markup (HTML, RTF, XML, calendar) is not.
fn text_verdict(declared: &str, ext: &str, data: &[u8]) -> Verdict {
    let head: String = String::from_utf8_lossy(&data[..data.len().min(512)])
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    let looks_html = head.starts_with("<!doctype html") || head.starts_with("<html");
    let looks_rtf = head.starts_with("{\\rtf");
    let to_pdf = "open it and print or save it as PDF, then attach the PDF";
    if looks_rtf || declared == "text/rtf" || declared == "application/rtf" || ext == "rtf" {
        return Verdict::Refuse(format!(
            "is a rich-text (RTF) document, which cannot be laid out faithfully; {to_pdf}."
        ));
    }
    if looks_html || declared == "text/html" || ext == "html" || ext == "htm" {
        return Verdict::Refuse(format!(
            "is a web page (HTML), which cannot be laid out faithfully; {to_pdf}."
        ));
    }
    if declared == "text/calendar" || ext == "ics" {
        return Verdict::Refuse(format!(
            "is a calendar invitation, not a document; {to_pdf}."
        ));
    }
    if declared.ends_with("xml") || ext == "xml" {
        return Verdict::Refuse(format!("is an XML file, not a document; {to_pdf}."));
    }
    Verdict::Fax(InputKind::Text)
}

fn unsupported_advice(declared: &str, ext: &str) -> String {
    let office = declared.starts_with("application/vnd.openxmlformats")
        || declared.starts_with("application/vnd.oasis.opendocument")
        || declared.starts_with("application/vnd.ms-")
        || declared == "application/msword"
        || matches!(
            ext,
            "doc" | "docx" | "xls" | "xlsx" | "ppt" | "pptx" | "odt" | "ods" | "odp"
        );
    if office {
        return "is an office document (Word, Excel, PowerPoint or similar), which faxbridge cannot lay out faithfully; open it and print or save it as PDF, then attach the PDF.".into();
    }
    if declared.contains("zip") || matches!(ext, "zip" | "7z" | "rar" | "gz") {
        return "is an archive; attach the documents inside it instead (PDF is best).".into();
    }
    if declared == "message/rfc822" || ext == "eml" || ext == "msg" {
        return "is a forwarded email; forward it inline or print it as PDF and attach that."
            .into();
    }
    "is not a PDF, PNG, JPEG, GIF, TIFF or plain-text file (the type is read from the content, not the name); convert it to PDF and send it again.".into()
}

fn kind_name(k: InputKind) -> &'static str {
    match k {
        InputKind::Pdf => "a PDF",
        InputKind::Png => "a PNG image",
        InputKind::Jpeg => "a JPEG image",
        InputKind::Gif => "a GIF image",
        InputKind::Tiff => "a TIFF image",
        InputKind::Text => "text",
    }
}

/// A name for reports: the file name without any path, control characters or
/// excessive length; otherwise `attachment N (type)`.
fn display_name(part: &Part<'_>, index: usize) -> String {
    let base = part
        .filename
        .map(|f| f.rsplit(['/', '\\']).next().unwrap_or(f))
        .map(|f| clean_line(f, 100))
        .filter(|f| !f.is_empty());
    base.unwrap_or_else(|| {
        let ct = essence(part.content_type);
        let ct = if ct.is_empty() {
            "no type".to_string()
        } else {
            clean_line(&ct, 60)
        };
        format!("attachment {} ({ct})", index + 1)
    })
}

/// One line of text: control characters become spaces, runs of whitespace
/// collapse, and the result is cut at `max` characters with an ellipsis.
fn clean_line(s: &str, max: usize) -> String {
    let collapsed = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    truncate_chars(&collapsed, max)
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    // Prefer to cut at a word boundary when one is reasonably close.
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > cut.len() * 3 / 4 => cut[..i].trim_end().to_string(),
        _ => cut,
    };
    format!("{cut}…")
}

/// The body up to the signature separator, a line that is exactly `-- `
/// (RFC 3676 §4.3; a bare `--` is accepted too, as some programs trim it).
fn strip_signature(body: &str) -> &str {
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if bare == "-- " || bare == "--" {
            return &body[..offset];
        }
        offset += line.len();
    }
    body
}

/// The cover-page note: body without signature, trailing blank lines and
/// control characters (line breaks and tabs kept), shortened to `max` characters.
fn cover_note(body: &str, max: usize) -> Option<String> {
    let text: String = strip_signature(body)
        .replace("\r\n", "\n")
        .chars()
        .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
        .collect();
    let text = text.trim();
    if text.is_empty() || max == 0 {
        return None;
    }
    Some(truncate_chars(text, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'];
    const DOCX: &[u8] = b"PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0\xff\xfe";

    fn part<'a>(filename: Option<&'a str>, content_type: &'a str, data: &'a [u8]) -> Part<'a> {
        Part {
            filename,
            content_type,
            inline: false,
            data,
        }
    }

    fn msg<'a>(body: Option<&'a str>, parts: Vec<Part<'a>>) -> InboundMessage<'a> {
        InboundMessage {
            from: "Jane Smith <j.smith@example.ac.uk>",
            subject: Some("Signed contract"),
            body_text: body,
            parts,
            date: SystemTime::UNIX_EPOCH,
        }
    }

    fn cfg() -> MessageConfig {
        MessageConfig::default()
    }

    fn names(p: &MessagePlan) -> Vec<String> {
        p.documents
            .iter()
            .map(|d| match d {
                Document::Attachment { name, .. } => name.clone(),
                Document::Body => "<body>".into(),
            })
            .collect()
    }

    #[test]
    fn attachments_are_faxed_in_message_order_and_the_body_goes_on_the_cover() {
        let m = msg(
            Some(
                "Please find the contract attached.\n\nThanks,\nJane\n-- \nJane Smith\nFinance Office\n",
            ),
            vec![
                part(Some("contract.pdf"), "application/pdf", PDF),
                part(Some("scan.jpg"), "image/jpeg", JPEG),
                part(
                    Some("notes.txt"),
                    "text/plain; charset=utf-8",
                    b"Room 12, ask for Sam.\n",
                ),
            ],
        );
        let p = plan(&m, &cfg()).unwrap();
        assert_eq!(names(&p), ["contract.pdf", "scan.jpg", "notes.txt"]);
        assert!(matches!(
            p.documents[1],
            Document::Attachment {
                index: 1,
                kind: InputKind::Jpeg,
                ..
            }
        ));
        assert_eq!(
            p.note.as_deref(),
            Some("Please find the contract attached.\n\nThanks,\nJane")
        );
        assert_eq!(p.subject.as_deref(), Some("Signed contract"));
        assert!(p.skipped.is_empty());
    }

    #[test]
    fn the_body_is_the_document_when_nothing_is_attached() {
        let p = plan(
            &msg(Some("Dear Sir,\nPlease cancel order 12.\n"), vec![]),
            &cfg(),
        )
        .unwrap();
        assert_eq!(p.documents, [Document::Body]);
        assert_eq!(p.note, None, "the text is not repeated on the cover");
    }

    #[test]
    fn nothing_to_fax_is_refused() {
        for body in [
            None,
            Some(""),
            Some("  \n\n"),
            Some("-- \nJane Smith\nFinance\n"),
        ] {
            let err = plan(&msg(body, vec![]), &cfg()).unwrap_err();
            assert_eq!(err.problems.len(), 1);
            assert!(err.to_string().contains("nothing to fax"), "{err}");
            assert_eq!(err.refusal().enhanced, "5.6.1");
        }
    }

    #[test]
    fn small_inline_images_are_taken_for_signature_logos() {
        let logo = [PNG, &[0u8; 3000][..]].concat();
        let m = msg(
            Some("Text only.\n"),
            vec![Part {
                inline: true,
                ..part(Some("image001.png"), "image/png", &logo)
            }],
        );
        let p = plan(&m, &cfg()).unwrap();
        assert_eq!(p.documents, [Document::Body]);
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].name, "image001.png");
        assert!(
            p.skipped[0].reason.contains("3016 bytes"),
            "{}",
            p.skipped[0].reason
        );
    }

    #[test]
    fn large_inline_images_and_attached_small_images_are_faxed() {
        let big = [PNG, &[0u8; 40_000][..]].concat();
        let small = [PNG, &[0u8; 500][..]].concat();
        let m = msg(
            None,
            vec![
                Part {
                    inline: true,
                    ..part(Some("pasted.png"), "image/png", &big)
                },
                part(Some("stamp.png"), "image/png", &small),
            ],
        );
        let p = plan(&m, &cfg()).unwrap();
        assert_eq!(names(&p), ["pasted.png", "stamp.png"]);
        // With the threshold at 0 every inline image is faxed.
        let none = MessageConfig {
            inline_image_max_bytes: 0,
            ..cfg()
        };
        let m = msg(
            None,
            vec![Part {
                inline: true,
                ..part(None, "image/png", &small)
            }],
        );
        assert_eq!(plan(&m, &none).unwrap().documents.len(), 1);
    }

    #[test]
    fn signatures_and_contact_cards_are_left_out_and_listed() {
        let m = msg(
            Some("See attached."),
            vec![
                part(Some("form.pdf"), "application/pdf", PDF),
                part(
                    Some("smime.p7s"),
                    "application/pkcs7-signature",
                    b"\x30\x82",
                ),
                part(
                    Some("signature.asc"),
                    "application/pgp-signature",
                    b"-----BEGIN PGP SIGNATURE-----",
                ),
                part(Some("Jane Smith.vcf"), "text/x-vcard", b"BEGIN:VCARD\r\n"),
            ],
        );
        let p = plan(&m, &cfg()).unwrap();
        assert_eq!(names(&p), ["form.pdf"]);
        let skipped: Vec<&str> = p.skipped.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(skipped, ["smime.p7s", "signature.asc", "Jane Smith.vcf"]);
    }

    #[test]
    fn unsupported_attachments_refuse_the_whole_message_naming_each_file() {
        let m = msg(
            Some("Two files."),
            vec![
                part(Some("report.pdf"), "application/pdf", PDF),
                part(
                    Some("budget.docx"),
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    DOCX,
                ),
                part(
                    Some("page.html"),
                    "text/html",
                    b"<!DOCTYPE html><html><body>x</body></html>",
                ),
                part(
                    Some("letter.rtf"),
                    "application/octet-stream",
                    b"{\\rtf1\\ansi hello}",
                ),
                part(Some("files.zip"), "application/zip", DOCX),
                part(Some("invite.ics"), "text/calendar", b"BEGIN:VCALENDAR\r\n"),
                part(
                    Some("blob.bin"),
                    "application/octet-stream",
                    &[0u8, 1, 2, 3, 0xff],
                ),
            ],
        );
        let err = plan(&m, &cfg()).unwrap_err();
        let got: Vec<(&str, &str)> = err
            .problems
            .iter()
            .map(|p| (p.name.as_str(), p.reason.split([',', ';']).next().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("budget.docx", "is an office document (Word"),
                ("page.html", "is a web page (HTML)"),
                ("letter.rtf", "is a rich-text (RTF) document"),
                ("files.zip", "is an archive"),
                ("invite.ics", "is a calendar invitation"),
                ("blob.bin", "is not a PDF"),
            ]
        );
        let text = err.to_string();
        assert!(
            text.contains("budget.docx: is an office document"),
            "{text}"
        );
        assert!(text.contains("save it as PDF"), "{text}");
        let r = err.refusal();
        assert_eq!((r.code, r.enhanced), (554, "5.6.1"));
        assert!(r.advice.contains("Nothing was sent"));
    }

    #[test]
    fn declared_types_that_contradict_the_content_are_reported_as_damaged() {
        let m = msg(
            None,
            vec![part(
                Some("invoice.pdf"),
                "application/pdf",
                b"<html>not a pdf</html>",
            )],
        );
        let err = plan(&m, &cfg()).unwrap_err();
        assert!(
            err.problems[0].reason.contains("declared as a PDF"),
            "{err}"
        );
        assert!(err.problems[0].reason.contains("damaged"));
        let m = msg(None, vec![part(Some("photo.png"), "image/png", PDF)]);
        assert!(plan(&m, &cfg()).is_err());
    }

    #[test]
    fn mislabelled_pictures_and_octet_streams_go_by_their_content() {
        let m = msg(
            None,
            vec![
                part(Some("photo.png"), "image/png", JPEG),
                part(Some("scan"), "application/octet-stream", PDF),
                part(Some("readme"), "application/octet-stream", b"plain words\n"),
            ],
        );
        let p = plan(&m, &cfg()).unwrap();
        let kinds: Vec<InputKind> = p
            .documents
            .iter()
            .filter_map(|d| match d {
                Document::Attachment { kind, .. } => Some(*kind),
                Document::Body => None,
            })
            .collect();
        assert_eq!(kinds, [InputKind::Jpeg, InputKind::Pdf, InputKind::Text]);
    }

    #[test]
    fn empty_attachments_are_reported() {
        let m = msg(
            Some("body"),
            vec![part(Some("scan.pdf"), "application/pdf", b"")],
        );
        let err = plan(&m, &cfg()).unwrap_err();
        assert_eq!(err.problems[0].name, "scan.pdf");
        assert!(err.problems[0].reason.contains("empty"));
    }

    #[test]
    fn names_in_reports_are_safe_and_fall_back_to_the_position() {
        let m = msg(
            None,
            vec![
                part(
                    Some("C:\\Users\\jane\\Desktop\\form\r\n.pdf"),
                    "application/pdf",
                    PDF,
                ),
                part(None, "application/pdf", PDF),
                part(Some("../../etc/passwd.pdf"), "application/pdf", PDF),
            ],
        );
        let p = plan(&m, &cfg()).unwrap();
        assert_eq!(
            names(&p),
            ["form .pdf", "attachment 2 (application/pdf)", "passwd.pdf"]
        );
    }

    #[test]
    fn the_cover_page_spec_carries_sender_recipient_subject_note_and_date() {
        let mut m = msg(
            Some("Hello\r\n\r\nSee attached.\r\n"),
            vec![part(Some("a.pdf"), "application/pdf", PDF)],
        );
        m.subject = Some("Contract\r\n\tfor\u{7} signing");
        m.date = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_072_000);
        let p = plan(&m, &cfg()).unwrap();
        let c = p.cover("+44 (0)1223 123456", Some("+441223123456"));
        assert_eq!(c.from, "Jane Smith <j.smith@example.ac.uk>");
        assert_eq!(c.to, "+44 (0)1223 123456 (+441223123456)");
        assert_eq!(c.subject.as_deref(), Some("Contract for signing"));
        assert_eq!(c.note.as_deref(), Some("Hello\n\nSee attached."));
        assert_eq!(c.pages, None);
        assert_eq!(c.date, m.date);
        assert_eq!(
            p.cover("+441223123456", Some("+441223123456")).to,
            "+441223123456"
        );
        assert_eq!(p.cover("4321", None).to, "4321");
    }

    #[test]
    fn long_notes_and_subjects_are_shortened() {
        let body = "word ".repeat(1000);
        let subject = "s".repeat(500);
        let m = InboundMessage {
            subject: Some(&subject),
            ..msg(
                Some(&body),
                vec![part(Some("a.pdf"), "application/pdf", PDF)],
            )
        };
        let p = plan(
            &m,
            &MessageConfig {
                cover_note_max_chars: 100,
                ..cfg()
            },
        )
        .unwrap();
        let note = p.note.unwrap();
        assert!(note.chars().count() <= 100, "{}", note.chars().count());
        assert!(note.ends_with("word…"), "{note}");
        let subject = p.subject.unwrap();
        assert_eq!(subject.chars().count(), 200);
        assert!(subject.ends_with('…'));
    }

    #[test]
    fn an_empty_subject_is_none() {
        let m = InboundMessage {
            subject: Some("  \r\n "),
            ..msg(Some("x"), vec![])
        };
        assert_eq!(plan(&m, &cfg()).unwrap().subject, None);
    }

    /// An Outlook-style message (signature logo in multipart/related, PDF
    /// attached, S/MIME signature) parsed by a real MIME parser.
    #[test]
    fn a_real_mime_message_from_a_mail_program() {
        use mail_parser::{MessageParser, MimeHeaders};
        use std::fmt::Write as _;

        let b64 = |data: &[u8]| {
            const T: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut out = String::new();
            for chunk in data.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
                for i in 0..4 {
                    if i <= chunk.len() {
                        out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
                    } else {
                        out.push('=');
                    }
                }
            }
            out
        };
        let logo = [PNG, &[7u8; 2000][..]].concat();
        let mut raw = String::new();
        write!(
            raw,
            "From: Jane Smith <j.smith@example.ac.uk>\r\n\
             To: 01223123456^nocover@fax.example.ac.uk\r\n\
             Subject: =?UTF-8?Q?Contract_=E2=80=93_signed?=\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"sig\"\r\n\
             \r\n\
             --sig\r\n\
             Content-Type: multipart/mixed; boundary=\"mix\"\r\n\
             \r\n\
             --mix\r\n\
             Content-Type: multipart/related; boundary=\"rel\"\r\n\
             \r\n\
             --rel\r\n\
             Content-Type: multipart/alternative; boundary=\"alt\"\r\n\
             \r\n\
             --alt\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             \r\n\
             Please sign page 2.\r\n\
             -- \r\n\
             Jane Smith, Finance\r\n\
             --alt\r\n\
             Content-Type: text/html; charset=utf-8\r\n\
             \r\n\
             <p>Please sign page 2.</p><img src=\"cid:logo@x\">\r\n\
             --alt--\r\n\
             --rel\r\n\
             Content-Type: image/png; name=\"image001.png\"\r\n\
             Content-ID: <logo@x>\r\n\
             Content-Transfer-Encoding: base64\r\n\
             \r\n\
             {}\r\n\
             --rel--\r\n\
             --mix\r\n\
             Content-Type: application/pdf; name=\"contract.pdf\"\r\n\
             Content-Disposition: attachment; filename=\"contract.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             \r\n\
             {}\r\n\
             --mix--\r\n\
             --sig\r\n\
             Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
             Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             \r\n\
             MIIB\r\n\
             --sig--\r\n",
            b64(&logo),
            b64(PDF)
        )
        .unwrap();

        let parsed = MessageParser::default().parse(raw.as_bytes()).unwrap();
        let types: Vec<String> = parsed
            .attachments()
            .map(|a| {
                let ct = a.content_type().unwrap();
                format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or(""))
            })
            .collect();
        let parts: Vec<Part<'_>> = parsed
            .attachments()
            .zip(&types)
            .map(|(a, ct)| Part {
                filename: a.attachment_name(),
                content_type: ct,
                inline: a.content_disposition().is_some_and(|d| d.is_inline())
                    || (a.content_disposition().is_none() && a.content_id().is_some()),
                data: a.contents(),
            })
            .collect();
        let body = parsed.body_text(0);
        let m = InboundMessage {
            from: "Jane Smith <j.smith@example.ac.uk>",
            subject: parsed.subject(),
            body_text: body.as_deref(),
            parts,
            date: SystemTime::UNIX_EPOCH,
        };
        let p = plan(&m, &cfg()).unwrap();
        assert_eq!(names(&p), ["contract.pdf"]);
        let skipped: Vec<&str> = p.skipped.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(skipped, ["image001.png", "smime.p7s"]);
        assert_eq!(p.subject.as_deref(), Some("Contract – signed"));
        assert_eq!(p.note.as_deref(), Some("Please sign page 2."));
    }

    #[test]
    fn the_guard_reads_subject_body_and_text_attachments() {
        let m = InboundMessage {
            subject: Some("Card 5555 5555 5555 4444"),
            ..msg(
                Some("see list"),
                vec![
                    part(Some("a.pdf"), "application/pdf", PDF),
                    part(Some("list.txt"), "text/plain", b"4111111111111111\n"),
                ],
            )
        };
        let p = plan(&m, &cfg()).unwrap();
        let texts = p.texts(&m);
        let names: Vec<&str> = texts.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["the subject", "the message text", "list.txt"]);
        let found: usize = texts
            .iter()
            .map(|(_, t)| crate::compliance::pan::scan(t).len())
            .sum();
        assert_eq!(found, 2);
    }
}

//! The cover page sent in front of an emailed fax.
//!
//! A fax machine prints pages with no envelope, so the first page tells
//! whoever picks them up who they are for, who sent them, how many pages to
//! expect and what they are about. The page is laid out as a one-page PDF in
//! the standard fonts (ISO 32000-1 §9.6.2.2: Helvetica and Courier need no
//! embedding) and drawn by the same renderer as the documents, so it lands on
//! the fax grid at the job's resolution and paper size like any other page:
//!
//! - a large "FAX" heading and a rule under it;
//! - a table of From, To, Date, Pages (counting the cover page itself, as
//!   the recipient counts the sheets in the tray) and Subject;
//! - the message text as a note, in the 80-column Courier layout of the
//!   text renderer, cut off with a remark when it does not fit on the page.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::docs::render::text::{paginate, paper_points, win_ansi};
use crate::docs::render::{RenderOptions, render_bytes};
use crate::docs::{DocError, Page, Paper, Resolution};

use super::CoverSpec;

/// Page margin in points.
const MARGIN: f32 = 54.0;
/// Size of the "FAX" heading in points.
const HEADING_PT: f32 = 48.0;
/// Type size of the table values (Courier: 0.6 em per character).
const VALUE_PT: f32 = 11.0;
/// Type size of the table labels.
const LABEL_PT: f32 = 11.0;
/// Height of one table line.
const ROW_PT: f32 = 16.0;
/// Width of the label column.
const LABEL_COLUMN: f32 = 80.0;
/// Type size and leading of the note (the text renderer's 10/12 Courier).
const NOTE_PT: f32 = 10.0;
const NOTE_LEADING: f32 = 12.0;
/// Table values longer than this many lines are shortened.
const MAX_VALUE_LINES: usize = 3;

/// The name used for the cover page in error messages.
const WHAT: &str = "the cover page";

/// Draw the cover page for `spec` as one fax page at `resolution` on `paper`.
pub fn render_cover(
    spec: &CoverSpec,
    resolution: Resolution,
    paper: Paper,
) -> Result<Page, DocError> {
    let opts = RenderOptions {
        resolution,
        paper,
        max_pages: 1,
        ..RenderOptions::default()
    };
    let mut pages = render_bytes(cover_pdf(spec, paper), WHAT, &opts, 0)?;
    match pages.len() {
        1 => Ok(pages.remove(0)),
        n => Err(DocError::Render {
            what: WHAT.into(),
            reason: format!("the layout produced {n} pages instead of one"),
        }),
    }
}

/// The text printed after "Pages:": the total the recipient should find,
/// this cover page included.
pub fn pages_text(following: Option<u32>) -> String {
    match following {
        Some(n) => {
            let total = n.saturating_add(1);
            format!(
                "{total} including this cover page ({n} page{} follow{})",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" }
            )
        }
        None => "this cover page and the pages that follow".to_string(),
    }
}

/// A UTC date and time for the cover, e.g. `2026-11-25 13:17 UTC`.
pub fn date_text(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (y, mo, d, h, mi, _) = crate::clock::civil_from_unix(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// The cover page as a one-page PDF.
pub(crate) fn cover_pdf(spec: &CoverSpec, paper: Paper) -> Vec<u8> {
    let (pw, ph) = paper_points(paper);
    let right = pw - MARGIN;
    let mut c = String::new();

    // Heading and rule.
    let heading_base = ph - MARGIN - HEADING_PT * 0.75;
    let _ = writeln!(
        c,
        "BT /F2 {HEADING_PT} Tf {MARGIN:.2} {heading_base:.2} Td ({}) Tj ET",
        pdf_text("FAX")
    );
    let rule_y = heading_base - 14.0;
    let _ = writeln!(
        c,
        "3 w {MARGIN:.2} {rule_y:.2} m {right:.2} {rule_y:.2} l S"
    );

    // The table.
    let value_x = MARGIN + LABEL_COLUMN;
    let value_cols = (((right - value_x) / (VALUE_PT * 0.6)).floor() as usize).max(10);
    let rows: [(&str, String); 5] = [
        ("From", spec.from.clone()),
        ("To", spec.to.clone()),
        ("Date", date_text(spec.date)),
        ("Pages", pages_text(spec.pages)),
        ("Subject", spec.subject.clone().unwrap_or_default()),
    ];
    let mut y = rule_y - 8.0;
    for (label, value) in &rows {
        let lines = wrap(value, value_cols, MAX_VALUE_LINES);
        let first_base = y - ROW_PT + 4.0;
        let _ = writeln!(
            c,
            "BT /F2 {LABEL_PT} Tf {MARGIN:.2} {first_base:.2} Td ({}:) Tj ET",
            pdf_text(label)
        );
        let _ = write!(
            c,
            "BT /F1 {VALUE_PT} Tf {ROW_PT} TL {value_x:.2} {first_base:.2} Td"
        );
        for line in &lines {
            let _ = write!(c, " ({}) Tj T*", pdf_text(line));
        }
        let _ = writeln!(c, " ET");
        y -= ROW_PT * lines.len() as f32 + 6.0;
        let _ = writeln!(c, "0.75 w {MARGIN:.2} {y:.2} m {right:.2} {y:.2} l S");
    }

    // The note.
    if let Some(note) = spec.note.as_deref().filter(|n| !n.trim().is_empty()) {
        y -= 24.0;
        let _ = writeln!(
            c,
            "BT /F2 {LABEL_PT} Tf {MARGIN:.2} {y:.2} Td (Message:) Tj ET"
        );
        y -= NOTE_LEADING + 4.0;
        let room = (((y - MARGIN) / NOTE_LEADING).floor() as usize).max(1);
        let mut lines: Vec<String> = paginate(note, usize::MAX).into_iter().flatten().collect();
        if lines.len() > room {
            lines.truncate(room.saturating_sub(1));
            lines.push("[The rest of the message text is in the email.]".to_string());
        }
        let _ = write!(
            c,
            "BT /F1 {NOTE_PT} Tf {NOTE_LEADING} TL {MARGIN:.2} {y:.2} Td"
        );
        for line in &lines {
            let _ = write!(c, " ({}) Tj T*", pdf_text(line));
        }
        let _ = writeln!(c, " ET");
    }

    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [ 3 0 R ] /Count 1 >>".to_string(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw} {ph}] \
             /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> /Contents 4 0 R >>"
        ),
        format!("<< /Length {} >>\nstream\n{c}endstream", c.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>"
            .to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_string(),
    ];
    // `c` holds only ASCII (pdf_text escapes the rest), so its length in
    // characters is its length in bytes, as /Length requires.
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = write!(out, "{} 0 obj\n{o}\nendobj\n", i + 1);
    }
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        let _ = writeln!(out, "{off:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.into_bytes()
}

/// A PDF literal string body in WinAnsiEncoding, ASCII only: `(`, `)` and
/// `\` escaped, other bytes as octal escapes, characters outside the
/// encoding as `?`.
fn pdf_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        let ch = if ch.is_control() { ' ' } else { ch };
        match win_ansi(ch) {
            b @ (b'(' | b')' | b'\\') => {
                out.push('\\');
                out.push(char::from(b));
            }
            b @ 0x20..=0x7e => out.push(char::from(b)),
            b => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out
}

/// Wrap one value at word boundaries into at most `max_lines` lines of
/// `cols` characters; a value that does not fit ends with an ellipsis.
fn wrap(value: &str, cols: usize, max_lines: usize) -> Vec<String> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in words {
        let mut word: String = word.to_string();
        loop {
            let len = current.chars().count();
            let wlen = word.chars().count();
            let need = if len == 0 { wlen } else { len + 1 + wlen };
            if need <= cols {
                if len > 0 {
                    current.push(' ');
                }
                current.push_str(&word);
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut current));
                continue;
            }
            // A word longer than a line is cut.
            let head: String = word.chars().take(cols).collect();
            word = word.chars().skip(cols).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            let keep: String = last.chars().take(cols.saturating_sub(1)).collect();
            *last = format!("{keep}…");
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pages: Option<u32>, note: Option<&str>) -> CoverSpec {
        CoverSpec {
            from: "Jane Smith <j.smith@example.ac.uk>".into(),
            to: "01223 123456 (+441223123456)".into(),
            subject: Some("Signed contract (final) – page 2 needs a stamp".into()),
            note: note.map(String::from),
            pages,
            date: UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000),
        }
    }

    fn black_in(page: &Page, rows: std::ops::Range<u32>) -> usize {
        let stride = page.stride();
        rows.map(|y| {
            page.bits[y as usize * stride..(y as usize + 1) * stride]
                .iter()
                .map(|b| b.count_ones() as usize)
                .sum::<usize>()
        })
        .sum()
    }

    #[test]
    fn the_page_has_the_job_size_and_a_heading() {
        for (res, paper, rows) in [
            (Resolution::Fine, Paper::A4, 2292),
            (Resolution::Standard, Paper::A4, 1146),
            (Resolution::Fine, Paper::Letter, 2156),
        ] {
            let page = render_cover(&spec(Some(2), Some("Please sign.")), res, paper).unwrap();
            assert_eq!(page.width, 1728, "{res:?} {paper:?}");
            assert!(
                page.height.abs_diff(rows) <= 1,
                "{res:?} {paper:?}: {}",
                page.height
            );
            assert_eq!(page.resolution(), Some(res));
            // The heading sits between the top margin (0.75 in) and about
            // 1.5 in from the top; the band above it is white.
            let dpi = res.y_dpi();
            let top = (0.7 * dpi) as u32;
            let heading = (0.75 * dpi) as u32..(1.5 * dpi) as u32;
            assert_eq!(black_in(&page, 0..top), 0, "{res:?}: ink above the margin");
            let ink = black_in(&page, heading);
            assert!(
                ink > 2000,
                "{res:?} {paper:?}: heading has {ink} black pixels"
            );
        }
    }

    #[test]
    fn the_page_count_includes_the_cover() {
        assert_eq!(
            pages_text(Some(3)),
            "4 including this cover page (3 pages follow)"
        );
        assert_eq!(
            pages_text(Some(1)),
            "2 including this cover page (1 page follows)"
        );
        assert_eq!(
            pages_text(None),
            "this cover page and the pages that follow"
        );
        let pdf = String::from_utf8(cover_pdf(&spec(Some(3), None), Paper::A4)).unwrap();
        assert!(
            pdf.contains("(4 including this cover page \\(3 pages follow\\)) Tj"),
            "{pdf}"
        );
    }

    #[test]
    fn the_table_and_note_are_written() {
        let pdf = String::from_utf8(cover_pdf(
            &spec(Some(1), Some("Line one\nLine (two)")),
            Paper::A4,
        ))
        .unwrap();
        for expected in [
            "(FAX) Tj",
            "(From:) Tj",
            "(Jane Smith <j.smith@example.ac.uk>) Tj",
            "(01223 123456 \\(+441223123456\\)) Tj",
            "(2026-11-18 ",
            "(Subject:) Tj",
            "\\226 page 2",
            "(Message:) Tj",
            "(Line one) Tj T* (Line \\(two\\)) Tj",
        ] {
            assert!(pdf.contains(expected), "{expected} missing from\n{pdf}");
        }
        assert!(pdf.is_ascii());
    }

    #[test]
    fn a_long_note_is_cut_to_one_page() {
        let note: String = (0..300).map(|i| format!("line {i}\n")).collect();
        let page = render_cover(&spec(Some(1), Some(&note)), Resolution::Fine, Paper::A4).unwrap();
        assert_eq!(page.width, 1728);
        let pdf = String::from_utf8(cover_pdf(&spec(Some(1), Some(&note)), Paper::A4)).unwrap();
        assert!(pdf.contains("[The rest of the message text is in the email.]"));
        assert!(!pdf.contains("(line 299)"));
    }

    #[test]
    fn long_values_wrap_and_are_shortened() {
        assert_eq!(wrap("a b c", 3, 3), ["a b", "c"]);
        assert_eq!(wrap("", 10, 3), [""]);
        assert_eq!(wrap("abcdefgh", 3, 5), ["abc", "def", "gh"]);
        let w = wrap(&"word ".repeat(100), 20, 3);
        assert_eq!(w.len(), 3);
        assert!(w[2].ends_with('…'));
        assert!(w.iter().all(|l| l.chars().count() <= 20));
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(date_text(UNIX_EPOCH), "1970-01-01 00:00 UTC");
        assert_eq!(
            date_text(UNIX_EPOCH + std::time::Duration::from_secs(1_798_761_599)),
            "2026-12-31 23:59 UTC"
        );
    }
}

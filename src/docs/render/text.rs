//! Plain text to a PDF in Courier, which the PDF renderer then draws.
//!
//! Courier is one of the 14 standard PDF fonts (ISO 32000-1 §9.6.2.2) that
//! need no embedding; the renderer supplies a metric-compatible substitute.
//! Text is laid out 80 columns wide in 10-point type (6 points per character,
//! 12-point leading), wrapped at word boundaries, tabs expanded to 8 columns,
//! form feeds honoured, and paginated for the paper size.

use std::fmt::Write as _;

use crate::docs::Paper;

/// Columns per line.
pub(crate) const COLUMNS: usize = 80;
const FONT_PT: f32 = 10.0;
const CHAR_PT: f32 = 6.0;
const LEADING_PT: f32 = 12.0;
const MARGIN_PT: f32 = 36.0;

/// Decode text as UTF-8, or as ISO 8859-1 when it is not valid UTF-8.
pub(crate) fn decode(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(s) => s.trim_start_matches('\u{feff}').to_string(),
        Err(_) => data.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Whether the bytes look like plain text: no NULs and no control characters
/// other than tab, line feed, carriage return, form feed and escape.
pub(crate) fn looks_like_text(data: &[u8]) -> bool {
    !data.is_empty()
        && data
            .iter()
            .all(|&b| b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
}

/// Break text into pages of lines.
pub(crate) fn paginate(text: &str, lines_per_page: usize) -> Vec<Vec<String>> {
    let mut pages: Vec<Vec<String>> = vec![Vec::new()];
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    for (n, chunk) in text.split('\x0c').enumerate() {
        if n > 0 {
            pages.push(Vec::new());
        }
        let chunk = chunk.strip_suffix('\n').unwrap_or(chunk);
        if chunk.is_empty() && n > 0 {
            continue;
        }
        for line in chunk.split('\n') {
            for wrapped in wrap(&expand_tabs(line), COLUMNS) {
                if pages.last().is_some_and(|p| p.len() >= lines_per_page) {
                    pages.push(Vec::new());
                }
                if let Some(p) = pages.last_mut() {
                    p.push(wrapped);
                }
            }
        }
    }
    while pages.len() > 1 && pages.last().is_some_and(|p| p.is_empty()) {
        pages.pop();
    }
    pages
}

fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut col = 0;
    for c in line.chars() {
        if c == '\t' {
            let n = 8 - col % 8;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else if !c.is_control() {
            out.push(c);
            col += 1;
        }
    }
    out
}

/// Wrap at spaces; words longer than a line are cut.
fn wrap(line: &str, cols: usize) -> Vec<String> {
    let chars: Vec<char> = line.trim_end().chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    let mut start = 0;
    while chars.len() - start > cols {
        let window = &chars[start..start + cols + 1];
        let cut = window.iter().rposition(|&c| c == ' ').filter(|&p| p > 0);
        match cut {
            Some(p) => {
                out.push(
                    chars[start..start + p]
                        .iter()
                        .collect::<String>()
                        .trim_end()
                        .to_string(),
                );
                start += p + 1;
            }
            None => {
                out.push(chars[start..start + cols].iter().collect());
                start += cols;
            }
        }
    }
    out.push(chars[start..].iter().collect());
    out
}

/// A character in WinAnsiEncoding (ISO 32000-1 Annex D), `?` when absent.
pub(crate) fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '‚' => 0x82,
        '„' => 0x84,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '™' => 0x99,
        _ => b'?',
    }
}

/// Page size in points.
pub(crate) fn paper_points(paper: Paper) -> (f32, f32) {
    match paper {
        Paper::A4 => (595.276, 841.89),
        Paper::Letter => (612.0, 792.0),
    }
}

/// Lines that fit on one page of `paper`.
pub(crate) fn lines_per_page(paper: Paper) -> usize {
    let (_, h) = paper_points(paper);
    ((h - 2.0 * MARGIN_PT) / LEADING_PT).floor() as usize
}

/// Lay text out as a PDF using the standard Courier font.
pub(crate) fn text_to_pdf(text: &str, paper: Paper) -> (Vec<u8>, usize) {
    let (pw, ph) = paper_points(paper);
    let pages = paginate(text, lines_per_page(paper));
    let left = ((pw - COLUMNS as f32 * CHAR_PT) / 2.0).max(MARGIN_PT);
    let top = ph - MARGIN_PT - FONT_PT;
    let n = pages.len();
    // Objects: 1 catalog, 2 pages, 3 font, then page 4+2i, contents 5+2i.
    let mut objs: Vec<Vec<u8>> = Vec::with_capacity(3 + 2 * n);
    objs.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: String = (0..n).map(|i| format!("{} 0 R ", 4 + 2 * i)).collect();
    objs.push(format!("<< /Type /Pages /Kids [ {kids}] /Count {n} >>").into_bytes());
    objs.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>".to_vec(),
    );
    for (i, lines) in pages.iter().enumerate() {
        let mut content: Vec<u8> = Vec::new();
        let _ = writeln!(
            Bytes(&mut content),
            "BT /F1 {FONT_PT} Tf {LEADING_PT} TL {left:.2} {top:.2} Td"
        );
        for line in lines {
            content.push(b'(');
            for c in line.chars() {
                match win_ansi(c) {
                    b @ (b'(' | b')' | b'\\') => content.extend_from_slice(&[b'\\', b]),
                    b @ 0x20..=0x7e => content.push(b),
                    b => {
                        let _ = write!(Bytes(&mut content), "\\{b:03o}");
                    }
                }
            }
            content.extend_from_slice(b") Tj T*\n");
        }
        content.extend_from_slice(b"ET\n");
        objs.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw} {ph}] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(&content);
        stream.extend_from_slice(b"endstream");
        objs.push(stream);
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objs.len());
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        let _ = writeln!(Bytes(&mut out), "{} 0 obj", i + 1);
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let _ = write!(
        Bytes(&mut out),
        "xref\n0 {}\n0000000000 65535 f \n",
        objs.len() + 1
    );
    for off in offsets {
        let _ = writeln!(Bytes(&mut out), "{off:010} 00000 n ");
    }
    let _ = write!(
        Bytes(&mut out),
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objs.len() + 1
    );
    (out, n)
}

struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_words_and_cuts_long_words() {
        let line = format!("{} {}", "a".repeat(70), "b".repeat(20));
        assert_eq!(wrap(&line, 80), vec!["a".repeat(70), "b".repeat(20)]);
        let long = "x".repeat(170);
        let w = wrap(&long, 80);
        assert_eq!(
            w.iter().map(String::len).collect::<Vec<_>>(),
            vec![80, 80, 10]
        );
    }

    #[test]
    fn paginates_and_honours_form_feed() {
        let text: String = (0..150).map(|i| format!("line {i}\n")).collect();
        let pages = paginate(&text, 64);
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![64, 64, 22]
        );
        let ff = paginate("one\n\x0ctwo\n", 64);
        assert_eq!(ff, vec![vec!["one".to_string()], vec!["two".to_string()]]);
    }

    #[test]
    fn tabs_expand_to_eight_columns() {
        assert_eq!(expand_tabs("a\tb"), "a       b");
    }

    #[test]
    fn text_detection() {
        assert!(looks_like_text(b"Hello\r\n\tworld\x0c"));
        assert!(looks_like_text("Grüße".as_bytes()));
        assert!(!looks_like_text(b"\x00\x01binary"));
        assert!(!looks_like_text(b""));
    }

    #[test]
    fn pdf_strings_are_escaped() {
        let (pdf, n) = text_to_pdf("a(b)c\\d é", Paper::A4);
        assert_eq!(n, 1);
        let s = String::from_utf8_lossy(&pdf);
        assert!(s.contains("(a\\(b\\)c\\\\d \\351) Tj"), "{s}");
    }
}

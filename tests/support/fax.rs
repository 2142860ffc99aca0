//! Test documents and ports shared by the fax integration tests.

use std::path::Path;

use faxbridge::docs::{Page, Resolution};
use mail_parser::MimeHeaders;

use super::smtp::free_port;

/// Three short standard-resolution pages, each with a frame, its own bar
/// pattern and a page-number block.
pub fn pages(rows: u32) -> Vec<Page> {
    (0..3u32)
        .map(|n| {
            let mut p = Page::blank(1728, rows, Resolution::Standard);
            for y in 0..p.height {
                for x in 0..p.width {
                    let frame = x < 16 || x >= p.width - 16 || y < 8 || y >= p.height - 8;
                    let bars =
                        y > 40 && y < rows - 40 && (x / 48) % (n + 2) == 0 && (y / 12) % 2 == 0;
                    let number = (100..100 + 40 * (n + 1)).contains(&x) && (20..36).contains(&y);
                    if frame || bars || number {
                        p.set(x, y, true);
                    }
                }
            }
            p
        })
        .collect()
}

/// A free port for both UDP and TCP on 127.0.0.1, for a far end that
/// must be named before it listens (see [`free_port`]).
pub fn free_sip_port() -> u16 {
    loop {
        let port = free_port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Fail unless `got` has the same pages as `sent`: count, size, resolution
/// and every pixel.
pub fn assert_same_pages(sent: &[Page], got: &[Page]) {
    assert_eq!(got.len(), sent.len(), "page count");
    for (n, (s, g)) in sent.iter().zip(got).enumerate() {
        assert_eq!(
            (g.width, g.height),
            (s.width, s.height),
            "page {} size",
            n + 1
        );
        assert_eq!(g.resolution(), s.resolution(), "page {} resolution", n + 1);
        let differ = (0..s.height)
            .flat_map(|y| (0..s.width).map(move |x| (x, y)))
            .filter(|&(x, y)| s.get(x, y) != g.get(x, y))
            .count();
        assert_eq!(differ, 0, "page {}: {differ} pixels differ", n + 1);
    }
}

/// The PDF attachment's page images at native resolution (poppler's
/// `pdfimages`).
pub fn pdf_pages(message: &[u8], work: &Path) -> Vec<image::GrayImage> {
    let msg = mail_parser::MessageParser::default()
        .parse(message)
        .expect("parse mail");
    let pdf = msg
        .attachments()
        .find(|a| a.content_type().is_some_and(|c| c.subtype() == Some("pdf")))
        .expect("a PDF attachment");
    std::fs::create_dir_all(work).unwrap();
    let pdf_path = work.join("fax.pdf");
    std::fs::write(&pdf_path, pdf.contents()).unwrap();
    let status = std::process::Command::new("pdfimages")
        .arg("-png")
        .arg(&pdf_path)
        .arg(work.join("img"))
        .status()
        .expect("pdfimages (poppler-utils)");
    assert!(status.success());
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(work)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("img-"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| image::open(f).unwrap().to_luma8())
        .collect()
}

/// A received page image equals the page sent, pixel for pixel.
pub fn assert_same_pixels(sent: &Page, got: &image::GrayImage, page: usize) {
    assert_eq!(
        (got.width(), got.height()),
        (sent.width, sent.height),
        "page {page} size"
    );
    let differ = (0..sent.height)
        .flat_map(|y| (0..sent.width).map(move |x| (x, y)))
        .filter(|&(x, y)| (got.get_pixel(x, y).0[0] < 128) != sent.get(x, y))
        .count();
    assert_eq!(differ, 0, "page {page}: {differ} pixels differ");
}

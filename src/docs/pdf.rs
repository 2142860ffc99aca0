//! Received fax TIFF to PDF, and a PNG thumbnail of the first page.
//!
//! A received page is already T.6 (G4) coded by SpanDSP, and PDF's
//! `/CCITTFaxDecode` filter (ISO 32000-1 §7.4.6) takes exactly that coding, so
//! each page's strip is embedded as is: no decoding, no re-encoding, no loss,
//! and output about the size of the TIFF. Only the bit order may need
//! reversing (SpanDSP writes FillOrder LSB2MSB; PDF reads MSB first), which
//! does not touch the coding. A page stored in several G4 strips becomes one
//! image per strip, stacked. Pages in another coding (T.4, uncompressed) are
//! decoded and re-encoded as G4.
//!
//! Each page keeps its physical size: the MediaBox is `width / x_dpi * 72` by
//! `height / y_dpi * 72` points, so a standard-resolution page (98 lines per
//! inch) is not squashed and a fine page not stretched.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use super::tiff::{FillOrder, RawPage, StripCoding, encode_g4, parse_tiff_file, read_file};
use super::{
    ConvertReport, DocError, Durability, Page, Resolution, write_durable, write_file_with,
};

/// One strip of a page in the PDF: rows, T.6 data, and whether its bytes
/// must be bit-reversed on the way out (a TIFF strip in FillOrder 2).
struct Strip<'a> {
    rows: u32,
    data: Cow<'a, [u8]>,
    lsb_first: bool,
}

/// One image page ready for the PDF: G4 strips, top to bottom.
struct PdfPage<'a> {
    width: u32,
    height: u32,
    x_dpi: f32,
    y_dpi: f32,
    /// A TIFF strip is coded independently (its first reference line is
    /// white), exactly like a separate image.
    strips: Vec<Strip<'a>>,
    black_is_1: bool,
}

impl<'a> PdfPage<'a> {
    /// Take a TIFF page across, without re-encoding (nor copying) when it is
    /// G4 coded.
    fn from_raw(raw: &RawPage<'a>, page_no: usize) -> Result<(PdfPage<'a>, bool), DocError> {
        if raw.coding == StripCoding::Group4 {
            let mut strips = Vec::with_capacity(raw.strips.len());
            let mut done = 0u32;
            for data in &raw.strips {
                let rows = raw.rows_per_strip.min(raw.height - done);
                strips.push(Strip {
                    rows,
                    data: Cow::Borrowed(*data),
                    lsb_first: raw.fill_order == FillOrder::LsbFirst,
                });
                done += rows;
            }
            return Ok((
                PdfPage {
                    width: raw.width,
                    height: raw.height,
                    x_dpi: raw.x_dpi,
                    y_dpi: raw.y_dpi,
                    strips,
                    // With min-is-black, "white" code runs are black pixels:
                    // BlackIs1 makes the filter emit them as 0 (black in DeviceGray).
                    black_is_1: raw.min_is_black,
                },
                true,
            ));
        }
        let page = raw.decode(page_no)?;
        Ok((PdfPage::from_page(&page), false))
    }

    fn from_page(page: &Page) -> PdfPage<'static> {
        PdfPage {
            width: page.width,
            height: page.height,
            x_dpi: page.x_dpi,
            y_dpi: page.y_dpi,
            strips: vec![Strip {
                rows: page.height,
                data: Cow::Owned(encode_g4(page)),
                lsb_first: false,
            }],
            black_is_1: false,
        }
    }
}

/// Format a PDF real number with at most 4 decimals and no exponent.
fn real(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// A writer that counts the bytes written: the PDF's object offsets.
struct Counted<W> {
    inner: W,
    at: u64,
}

impl<W: Write> Counted<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.at += bytes.len() as u64;
        Ok(())
    }

    fn put_fmt(&mut self, args: std::fmt::Arguments<'_>) -> io::Result<()> {
        match args.as_str() {
            Some(s) => self.put(s.as_bytes()),
            None => self.put(args.to_string().as_bytes()),
        }
    }

    /// Strip data, bit-reversed through a small buffer when it is stored
    /// LSB first (PDF's CCITT filter reads MSB first); reversing the bit
    /// order does not touch the coding.
    fn put_strip(&mut self, strip: &Strip<'_>) -> io::Result<()> {
        if !strip.lsb_first {
            return self.put(&strip.data);
        }
        let mut buf = [0u8; 8192];
        for chunk in strip.data.chunks(buf.len()) {
            let out = &mut buf[..chunk.len()];
            for (o, b) in out.iter_mut().zip(chunk) {
                *o = b.reverse_bits();
            }
            self.put(out)?;
        }
        Ok(())
    }
}

/// Serialise image pages as a PDF 1.4 file (uncompressed object structure,
/// CCITT image streams, classic cross-reference table) into `out`, strip
/// data written straight from where it lies. Returns the bytes written.
fn write_pdf<W: Write>(pages: &[PdfPage<'_>], out: W) -> io::Result<u64> {
    let mut out = Counted { inner: out, at: 0 };
    // Object numbers: 1 catalog, 2 page tree, then for each page: the page,
    // its content stream, one image per strip.
    let mut page_ids = Vec::with_capacity(pages.len());
    let mut next_id = 3;
    for p in pages {
        page_ids.push(next_id);
        next_id += 2 + p.strips.len();
    }
    let n_objs = next_id - 1;
    let mut offsets = vec![0u64; n_objs + 1];
    out.put(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")?;

    offsets[1] = out.at;
    out.put(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")?;

    offsets[2] = out.at;
    let mut kids = String::new();
    for id in &page_ids {
        let _ = write!(kids, "{id} 0 R ");
    }
    out.put_fmt(format_args!(
        "2 0 obj\n<< /Type /Pages /Kids [ {kids}] /Count {} >>\nendobj\n",
        pages.len()
    ))?;

    for (p, &page_id) in pages.iter().zip(&page_ids) {
        let content_id = page_id + 1;
        let pt_per_row = 72.0 / f64::from(p.y_dpi);
        let w_pt = f64::from(p.width) * 72.0 / f64::from(p.x_dpi);
        let h_pt = f64::from(p.height) * pt_per_row;
        let (w, h) = (real(w_pt), real(h_pt));

        let mut xobjects = String::new();
        // Each strip image is scaled from the unit square onto its band of
        // the page; a single strip fills the whole MediaBox.
        let mut content = String::new();
        let mut top_row = 0u32;
        for (i, strip) in p.strips.iter().enumerate() {
            let rows = strip.rows;
            let _ = write!(xobjects, "/Im{i} {} 0 R ", content_id + 1 + i);
            let band = f64::from(rows) * pt_per_row;
            let y = h_pt - f64::from(top_row + rows) * pt_per_row;
            let _ = writeln!(
                content,
                "q {w} 0 0 {} 0 {} cm /Im{i} Do Q",
                real(band),
                real(y.max(0.0))
            );
            top_row += rows;
        }

        offsets[page_id] = out.at;
        out.put_fmt(format_args!(
            "{page_id} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] \
             /Resources << /XObject << {xobjects}>> >> /Contents {content_id} 0 R >>\n\
             endobj\n"
        ))?;

        offsets[content_id] = out.at;
        out.put_fmt(format_args!(
            "{content_id} 0 obj\n<< /Length {} >>\nstream\n{content}endstream\nendobj\n",
            content.len()
        ))?;

        for (i, strip) in p.strips.iter().enumerate() {
            let image_id = content_id + 1 + i;
            offsets[image_id] = out.at;
            out.put_fmt(format_args!(
                "{image_id} 0 obj\n<< /Type /XObject /Subtype /Image /Width {0} /Height {1} \
                 /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode \
                 /DecodeParms << /K -1 /Columns {0} /Rows {1} /BlackIs1 {2} >> /Length {3} >>\n\
                 stream\n",
                p.width,
                strip.rows,
                p.black_is_1,
                strip.data.len()
            ))?;
            out.put_strip(strip)?;
            out.put(b"\nendstream\nendobj\n")?;
        }
    }

    let xref_at = out.at;
    let mut xref = String::with_capacity(32 + 20 * n_objs);
    let _ = write!(xref, "xref\n0 {}\n0000000000 65535 f \n", n_objs + 1);
    for off in &offsets[1..] {
        let _ = writeln!(xref, "{off:010} 00000 n ");
    }
    let _ = write!(
        xref,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
        n_objs + 1
    );
    out.put(xref.as_bytes())?;
    Ok(out.at)
}

/// [`write_pdf`] into memory.
fn pdf_bytes(pages: &[PdfPage<'_>]) -> Vec<u8> {
    let total: usize = pages
        .iter()
        .flat_map(|p| p.strips.iter().map(|s| s.data.len() + 400))
        .sum();
    let mut out: Vec<u8> = Vec::with_capacity(total + 1024);
    write_pdf(pages, &mut out).expect("writing to memory does not fail");
    out
}

/// The fax resolution shared by every page, if they share one.
fn common_resolution<'a>(mut dpis: impl Iterator<Item = (f32, f32)> + 'a) -> Option<Resolution> {
    let (x, y) = dpis.next()?;
    let first = Resolution::from_dpi(x, y)?;
    dpis.all(|(x, y)| Resolution::from_dpi(x, y) == Some(first))
        .then_some(first)
}

/// Take the pages of a parsed TIFF into PDF pages; returns them and how
/// many were carried across without re-encoding.
fn pdf_pages<'a>(raw: &[RawPage<'a>]) -> Result<(Vec<PdfPage<'a>>, usize), DocError> {
    let mut pages = Vec::with_capacity(raw.len());
    let mut passthrough = 0;
    for (i, r) in raw.iter().enumerate() {
        let (p, direct) = PdfPage::from_raw(r, i + 1)?;
        passthrough += usize::from(direct);
        pages.push(p);
    }
    Ok((pages, passthrough))
}

/// Build the PDF of a received fax TIFF in memory.
///
/// Returns the file image and how many pages were carried across without
/// re-encoding.
pub fn tiff_to_pdf_bytes(raw: &[RawPage<'_>]) -> Result<(Vec<u8>, usize), DocError> {
    let (pages, passthrough) = pdf_pages(raw)?;
    Ok((pdf_bytes(&pages), passthrough))
}

/// Build a PDF from bitmaps (G4-encoding each page).
pub fn pages_to_pdf_bytes(pages: &[Page]) -> Vec<u8> {
    let pdf: Vec<PdfPage<'_>> = pages.iter().map(PdfPage::from_page).collect();
    pdf_bytes(&pdf)
}

/// Convert a received fax TIFF to PDF.
///
/// G4 pages are embedded without re-encoding; the output is written durably
/// (temporary file, fsync, rename) and nothing is written when any page fails.
pub fn convert_to_pdf(input: &Path, output: &Path) -> Result<ConvertReport, DocError> {
    convert_to_pdf_with(input, output, Durability::Durable)
}

/// [`convert_to_pdf`] with a choice of how carefully the output is written:
/// the daemon's spool and mail use [`Durability::Durable`]; `faxbridge
/// convert to-pdf`, writing a file its user can make again, uses
/// [`Durability::Atomic`] like other command-line converters.
///
/// The file is read once; G4 strips go from that image straight into the
/// output file (bit-reversed on the way when stored LSB first), so the
/// memory used is about the input's size, not three times it.
pub fn convert_to_pdf_with(
    input: &Path,
    output: &Path,
    durability: Durability,
) -> Result<ConvertReport, DocError> {
    let image = read_file(input)?;
    let raw = parse_tiff_file(input, &image)?;
    let (pages, passthrough_pages) = pdf_pages(&raw)?;
    let bytes = write_file_with(output, durability, |w| write_pdf(&pages, w))?;
    Ok(ConvertReport {
        pages: raw.len(),
        bytes,
        resolution: common_resolution(raw.iter().map(|r| (r.x_dpi, r.y_dpi))),
        passthrough_pages,
    })
}

/// Width in pixels of thumbnails.
pub const THUMBNAIL_WIDTH: u32 = 200;

/// Downscale a bilevel page to a grey thumbnail `out_w` pixels wide with area
/// averaging; the height follows the page's physical aspect ratio (so a
/// standard-resolution page, with half as many rows per inch, is not squashed).
pub fn thumbnail(page: &Page, out_w: u32) -> image::GrayImage {
    let out_w = out_w.clamp(1, page.width.max(1));
    let phys_w = page.width as f64 / f64::from(page.x_dpi);
    let phys_h = page.height as f64 / f64::from(page.y_dpi);
    let out_h = ((out_w as f64 * phys_h / phys_w).round() as u32).max(1);
    // Each output pixel covers sx × sy source pixels (fractional).
    let sx = page.width as f64 / out_w as f64;
    let sy = page.height as f64 / out_h as f64;
    // Horizontal pass: black coverage of each output column, per source row.
    let stride = page.stride();
    let mut cols = vec![0f32; out_w as usize * page.height as usize];
    for y in 0..page.height as usize {
        let row = &page.bits[y * stride..(y + 1) * stride];
        let acc = &mut cols[y * out_w as usize..(y + 1) * out_w as usize];
        for x in (0..page.width).filter(|&x| row[(x / 8) as usize] & (0x80 >> (x % 8)) != 0) {
            spread(acc, x as f64, sx);
        }
    }
    // Vertical pass: distribute each source row's sums over output rows.
    let mut grey = vec![0f64; out_w as usize * out_h as usize];
    for y in 0..page.height as usize {
        let y0 = y as f64 / sy;
        let y1 = (y + 1) as f64 / sy;
        let mut oy = y0.floor() as usize;
        while (oy as f64) < y1 && oy < out_h as usize {
            let w = (y1.min(oy as f64 + 1.0) - y0.max(oy as f64)).max(0.0);
            let src = &cols[y * out_w as usize..(y + 1) * out_w as usize];
            let dst = &mut grey[oy * out_w as usize..(oy + 1) * out_w as usize];
            for (d, s) in dst.iter_mut().zip(src) {
                *d += w * f64::from(*s);
            }
            oy += 1;
        }
    }
    // Weights are overlaps measured in output pixels, so each output pixel's
    // weights sum to 1 and `grey` is already its black coverage.
    let pixels = grey
        .iter()
        .map(|&b| (255.0 * (1.0 - b.clamp(0.0, 1.0))).round() as u8)
        .collect();
    image::GrayImage::from_raw(out_w, out_h, pixels).unwrap_or_else(|| image::GrayImage::new(1, 1))
}

/// Add one black source pixel at column `x` to the output columns it
/// overlaps, weighted by overlap and normalised by the box width `sx`.
fn spread(acc: &mut [f32], x: f64, sx: f64) {
    let x0 = x / sx;
    let x1 = (x + 1.0) / sx;
    let mut ox = x0.floor() as usize;
    while (ox as f64) < x1 && ox < acc.len() {
        let w = (x1.min(ox as f64 + 1.0) - x0.max(ox as f64)).max(0.0);
        acc[ox] += w as f32;
        ox += 1;
    }
}

/// Write a PNG thumbnail (about 200 pixels wide) of the first page of a fax TIFF.
pub fn thumbnail_png(tiff: &Path, out: &Path) -> Result<(), DocError> {
    let image = read_file(tiff)?;
    let raw = parse_tiff_file(tiff, &image)?;
    let first = raw.first().ok_or_else(|| DocError::NoPages {
        what: tiff.display().to_string(),
    })?;
    let page = first.decode(1)?;
    let img = thumbnail(&page, THUMBNAIL_WIDTH);
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| DocError::Render {
            what: format!("the thumbnail of {}", tiff.display()),
            reason: e.to_string(),
        })?;
    write_durable(out, &png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::tiff::{Compression, parse_tiff, tiff_bytes};

    fn test_page(res: Resolution, height: u32) -> Page {
        let mut p = Page::blank(1728, height, res);
        for y in 0..height {
            for x in 0..1728 {
                if (x / 64 + y / 32) % 3 == 0 || x == y {
                    p.set(x, y, true);
                }
            }
        }
        p
    }

    /// Pull `/MediaBox [0 0 w h]` values out of our own output.
    fn media_boxes(pdf: &[u8]) -> Vec<(f32, f32)> {
        let s = String::from_utf8_lossy(pdf);
        s.match_indices("/MediaBox [0 0 ")
            .map(|(i, m)| {
                let rest = &s[i + m.len()..];
                let end = rest.find(']').unwrap();
                let mut it = rest[..end]
                    .split_whitespace()
                    .map(|v| v.parse::<f32>().unwrap());
                (it.next().unwrap(), it.next().unwrap())
            })
            .collect()
    }

    #[test]
    fn g4_strips_are_embedded_byte_for_byte() {
        let pages = vec![
            test_page(Resolution::Fine, 300),
            test_page(Resolution::Standard, 150),
        ];
        let tiff = tiff_bytes(&pages, Compression::Group4).unwrap();
        let raw = parse_tiff(&tiff).unwrap();
        let (pdf, direct) = tiff_to_pdf_bytes(&raw).unwrap();
        assert_eq!(direct, 2);
        for r in &raw {
            let strip = r.strip_msb_first(0);
            assert!(
                pdf.windows(strip.len()).any(|w| w == &strip[..]),
                "strip not found verbatim"
            );
        }
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF\n"));
    }

    #[test]
    fn media_box_follows_each_pages_resolution() {
        // The same 1728-pixel width is 8.47 in at every fax resolution; the
        // height in inches is rows / lines-per-inch.
        let pages: Vec<Page> = [
            Resolution::Standard,
            Resolution::Fine,
            Resolution::Superfine,
        ]
        .into_iter()
        .map(|r| test_page(r, 200))
        .collect();
        let pdf = pages_to_pdf_bytes(&pages);
        let boxes = media_boxes(&pdf);
        assert_eq!(boxes.len(), 3);
        for ((w, h), p) in boxes.iter().zip(&pages) {
            assert!((w - 1728.0 * 72.0 / 204.0).abs() < 0.01, "{w}");
            assert!((h - 200.0 * 72.0 / p.y_dpi).abs() < 0.01, "{h}");
        }
    }

    #[test]
    fn xref_offsets_point_at_objects() {
        let pdf = pages_to_pdf_bytes(&[test_page(Resolution::Fine, 40)]);
        let find_last = |needle: &[u8]| {
            pdf.windows(needle.len())
                .rposition(|w| w == needle)
                .unwrap()
        };
        let xref = find_last(b"\nxref\n") + 1;
        let table = String::from_utf8(pdf[xref..].to_vec()).unwrap();
        for (i, l) in table.lines().skip(3).take(5).enumerate() {
            let off: usize = l[..10].parse().unwrap();
            let want = format!("{} 0 obj", i + 1);
            assert!(pdf[off..].starts_with(want.as_bytes()), "object {}", i + 1);
        }
        let start_at = find_last(b"startxref\n") + 10;
        let start: usize = table[start_at - xref..]
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(start, xref);
    }

    #[test]
    fn lsb_first_and_multi_strip_pages_are_handled() {
        let page = test_page(Resolution::Fine, 100);
        let tiff = tiff_bytes(std::slice::from_ref(&page), Compression::Group3OneD).unwrap();
        let raw = parse_tiff(&tiff).unwrap();
        let (pdf, direct) = tiff_to_pdf_bytes(&raw).unwrap();
        assert_eq!(direct, 0, "T.4 pages are re-encoded");
        // The re-encoded G4 is exactly what encode_g4 gives for the page.
        let g4 = encode_g4(&page);
        assert!(pdf.windows(g4.len()).any(|w| w == &g4[..]));
    }

    #[test]
    fn lsb_first_strips_are_bit_reversed_on_the_way_out_in_chunks() {
        // Two independently coded strips of a tall page, stored LSB first
        // as SpanDSP stores them; each strip is larger than the 8 KB
        // reversal buffer, and the second is not a multiple of it.
        let noisy = |height: u32, seed: u32| {
            let mut p = Page::blank(1728, height, Resolution::Superfine);
            for y in 0..height {
                for x in 0..1728 {
                    let h = (x ^ seed).wrapping_mul(0x9e37_79b9) ^ y.wrapping_mul(0x85eb_ca6b);
                    p.set(x, y, h.rotate_left(13).is_multiple_of(7));
                }
            }
            p
        };
        let (top, bottom) = (noisy(1500, 1), noisy(1100, 2));
        let (g4_top, g4_bottom) = (encode_g4(&top), encode_g4(&bottom));
        assert!(g4_top.len() > 8192 && g4_bottom.len() > 8192);
        assert_ne!(g4_bottom.len() % 8192, 0);
        let stored: Vec<Vec<u8>> = [&g4_top, &g4_bottom]
            .iter()
            .map(|g| g.iter().map(|b| b.reverse_bits()).collect())
            .collect();
        let raw = RawPage {
            width: 1728,
            height: 2600,
            x_dpi: 204.0,
            y_dpi: 391.0,
            coding: StripCoding::Group4,
            fill_order: FillOrder::LsbFirst,
            min_is_black: false,
            rows_per_strip: 1500,
            strips: stored.iter().map(Vec::as_slice).collect(),
        };
        let (pdf, direct) = tiff_to_pdf_bytes(std::slice::from_ref(&raw)).unwrap();
        assert_eq!(direct, 1);
        for (g4, rows) in [(&g4_top, 1500), (&g4_bottom, 1100)] {
            let header = format!(
                "/Rows {rows} /BlackIs1 false >> /Length {} >>\nstream\n",
                g4.len()
            );
            let at = pdf
                .windows(header.len())
                .position(|w| w == header.as_bytes())
                .expect("image header")
                + header.len();
            assert!(
                pdf[at..at + g4.len()] == g4[..],
                "strip of {rows} rows differs"
            );
        }
    }

    #[test]
    fn a_file_converted_on_disk_equals_the_pdf_built_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let pages = vec![
            test_page(Resolution::Fine, 700),
            test_page(Resolution::Standard, 350),
            test_page(Resolution::R300, 500),
        ];
        let tiff = tiff_bytes(&pages, Compression::Group4).unwrap();
        let input = dir.path().join("in.tif");
        std::fs::write(&input, &tiff).unwrap();
        let (want, _) = tiff_to_pdf_bytes(&parse_tiff(&tiff).unwrap()).unwrap();
        for durability in [Durability::Durable, Durability::Atomic] {
            let out = dir.path().join("out.pdf");
            std::fs::write(&out, b"an older, longer file that must be replaced whole").unwrap();
            let report = convert_to_pdf_with(&input, &out, durability).unwrap();
            assert_eq!(report.pages, 3);
            assert_eq!(report.passthrough_pages, 3);
            assert_eq!(report.bytes, want.len() as u64);
            assert_eq!(std::fs::read(&out).unwrap(), want);
        }
        // Nothing but the output is left in the directory.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_bad_input_leaves_an_existing_output_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("bad.tif");
        let tiff = tiff_bytes(&[test_page(Resolution::Fine, 100)], Compression::Group4).unwrap();
        std::fs::write(&input, &tiff[..tiff.len() / 2]).unwrap();
        let out = dir.path().join("out.pdf");
        std::fs::write(&out, b"keep me").unwrap();
        assert!(convert_to_pdf_with(&input, &out, Durability::Atomic).is_err());
        assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn thumbnail_keeps_physical_aspect_and_greys() {
        let mut p = Page::blank(1728, 1100, Resolution::Standard);
        // Left half black.
        for y in 0..1100 {
            for x in 0..864 {
                p.set(x, y, true);
            }
        }
        let t = thumbnail(&p, 200);
        // 1728/204 in wide, 1100/98 in tall.
        let expect_h = (200.0 * (1100.0 / 98.0) / (1728.0 / 204.0_f64)).round() as u32;
        assert_eq!((t.width(), t.height()), (200, expect_h));
        assert_eq!(t.get_pixel(10, 10).0[0], 0);
        assert_eq!(t.get_pixel(190, 10).0[0], 255);
        // A 50 % checkerboard averages to mid-grey.
        let mut c = Page::blank(1728, 400, Resolution::Fine);
        for y in 0..400 {
            for x in 0..1728 {
                if (x + y) % 2 == 0 {
                    c.set(x, y, true);
                }
            }
        }
        let t = thumbnail(&c, 200);
        let v = t.get_pixel(100, 20).0[0];
        assert!((120..=135).contains(&v), "{v}");
    }
}

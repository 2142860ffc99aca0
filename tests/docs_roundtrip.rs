//! Document pipeline, end to end, checked against independent tools:
//! documents → fax TIFF (ours) → PDF (ours) → bitmap (poppler's `pdftoppm`),
//! compared with the pages we rendered; page sizes checked with `pdfinfo`;
//! hostile and unsupported inputs refused with the right error.
//!
//! Needs Debian `poppler-utils` (pdftoppm, pdfinfo) and `libtiff-tools`
//! (tiffcp). Fixtures live in `tests/fixtures/docs/` (see make_fixtures.py).

use std::path::{Path, PathBuf};
use std::process::Command;

use faxbridge::docs::tiff::{Compression, read_tiff, write_tiff};
use faxbridge::docs::{
    DocError, Page, Paper, RenderOptions, Resolution, convert_to_fax, convert_to_pdf, thumbnail_png,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/docs")
        .join(name)
}

fn tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} must be installed (poppler-utils / libtiff-tools): {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A binary PBM (P4) as rows of booleans, `true` = black.
struct Pbm {
    width: usize,
    height: usize,
    bits: Vec<bool>,
}

fn read_pbm(path: &Path) -> Pbm {
    let data = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 3 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        if data[i] == b'#' {
            while data[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P4");
    let width: usize = fields[1].parse().unwrap();
    let height: usize = fields[2].parse().unwrap();
    let raster = &data[i + 1..];
    let stride = width.div_ceil(8);
    let mut bits = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            bits.push(raster[y * stride + x / 8] & (0x80 >> (x % 8)) != 0);
        }
    }
    Pbm {
        width,
        height,
        bits,
    }
}

/// Rasterise every page of a PDF with poppler at 1728 pixels across, keeping
/// the page's aspect ratio (square pixels).
fn rasterise(pdf: &Path, dir: &Path) -> Vec<Pbm> {
    let prefix = dir.join("ppm");
    tool(
        "pdftoppm",
        &[
            "-mono",
            "-scale-to-x",
            "1728",
            "-scale-to-y",
            "-1",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pbm"))
        .collect();
    files.sort();
    let pages = files.iter().map(|p| read_pbm(p)).collect();
    for f in files {
        std::fs::remove_file(f).unwrap();
    }
    pages
}

/// Compare poppler's square-pixel raster with our fax page.
///
/// pdftoppm scales the page to 1728 × (1728 · height_in / width_in): the
/// columns match ours one to one, but each of our rows (1/98 or 1/196 inch)
/// covers 2.08 or 1.04 of its rows (1/204 inch), and poppler's sampling of a
/// bilevel image may round a row boundary, or a column, to the neighbouring
/// pixel. So a poppler pixel is counted as consistent when it equals one of
/// our pixels within ±1 column and ±1 row of where it maps. What remains
/// must be under 0.05 % of the pixels (a real defect — a shifted, squashed,
/// inverted or rotated page — fails by tens of percent of the ink), and the
/// nearest-neighbour mismatch is reported for information.
fn compare(ours: &Page, theirs: &Pbm) -> (f64, f64) {
    assert_eq!(theirs.width, ours.width as usize, "poppler width");
    let expect_h = ours.width as f64 * (ours.height as f64 / ours.y_dpi as f64)
        / (ours.width as f64 / ours.x_dpi as f64);
    assert!(
        (theirs.height as f64 - expect_h).abs() <= 1.5,
        "poppler height {} for expected {expect_h:.1}: page size wrong",
        theirs.height
    );
    let scale = ours.height as f64 / theirs.height as f64;
    let (mut strict, mut loose) = (0usize, 0usize);
    for y in 0..theirs.height {
        let yc = ((y as f64 + 0.5) * scale).floor() as i64;
        for x in 0..theirs.width {
            let v = theirs.bits[y * theirs.width + x];
            let at = |xx: i64, yy: i64| {
                xx >= 0
                    && yy >= 0
                    && (xx as u32) < ours.width
                    && (yy as u32) < ours.height
                    && ours.get(xx as u32, yy as u32) == v
            };
            if !at(x as i64, yc) {
                strict += 1;
                let near = (-1..=1).any(|dy| (-1..=1).any(|dx| at(x as i64 + dx, yc + dy)));
                if !near {
                    loose += 1;
                }
            }
        }
    }
    let n = (theirs.width * theirs.height) as f64;
    (strict as f64 / n, loose as f64 / n)
}

fn black_pixels(p: &Page) -> usize {
    p.bits.iter().map(|b| b.count_ones() as usize).sum()
}

/// Line art with 1-pixel and thick strokes, landscape so it is rotated.
fn line_art_png(path: &Path) {
    let img = image::GrayImage::from_fn(900, 600, |x, y| {
        let black = (x < 120 && y < 80)
            || x % 100 == 0
            || y % 75 == 0
            || (300..320).contains(&x)
            || (x as i64 - y as i64 * 3 / 2).abs() < 2;
        image::Luma([if black { 0 } else { 255 }])
    });
    img.save(path).unwrap();
}

fn memo_text(path: &Path) {
    let mut text = String::new();
    for i in 0..90 {
        text.push_str(&format!(
            "{i:3}. Invoice {}: please pay within 30 days; ref \"faxbridge\" (tabs:\there).\n",
            1000 + i
        ));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn render_to_tiff_to_pdf_matches_poppler_raster() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("art.png");
    let txt = dir.path().join("memo.txt");
    line_art_png(&png);
    memo_text(&txt);
    let inputs = vec![fixture("sample.pdf"), txt, png];
    for res in [Resolution::Fine, Resolution::Standard] {
        let opts = RenderOptions {
            resolution: res,
            paper: Paper::A4,
            ..RenderOptions::default()
        };
        let tif = dir.path().join("job.tif");
        let report = convert_to_fax(&inputs, &tif, &opts).unwrap();
        assert_eq!(report.pages, 2 + 2 + 1, "{report}");
        let pages = read_tiff(&tif).unwrap();
        assert_eq!(pages.len(), 5);
        for p in &pages {
            assert_eq!(p.width, 1728);
            assert_eq!((p.x_dpi, p.y_dpi), (res.x_dpi(), res.y_dpi()));
            assert!(black_pixels(p) > 2_000, "blank page rendered");
        }
        let pdf = dir.path().join("job.pdf");
        let pdf_report = convert_to_pdf(&tif, &pdf).unwrap();
        assert_eq!(pdf_report.pages, 5);
        assert_eq!(
            pdf_report.passthrough_pages, 5,
            "G4 must be embedded, not re-encoded"
        );
        let raster_dir = dir.path().join(format!("r{:?}", res));
        std::fs::create_dir(&raster_dir).unwrap();
        let raster = rasterise(&pdf, &raster_dir);
        assert_eq!(raster.len(), 5);
        for (i, (ours, theirs)) in pages.iter().zip(&raster).enumerate() {
            let (strict, loose) = compare(ours, theirs);
            eprintln!(
                "{res:?} page {}: nearest-pixel mismatch {:.3} %, beyond ±1 pixel {:.4} %",
                i + 1,
                strict * 100.0,
                loose * 100.0
            );
            assert!(
                loose < 0.0005,
                "page {} differs from poppler's raster",
                i + 1
            );
            // Text edges cross row boundaries that poppler rounds its own way
            // when stretching 98/196 rows per inch to 204: up to ~5 % here.
            assert!(
                strict < 0.06,
                "page {} differs from poppler's raster",
                i + 1
            );
        }
        // The comparison has teeth: the first page moved down by 4 rows
        // (1/50 inch at fine resolution) is caught.
        let mut shifted = Page::blank(1728, pages[0].height, res);
        for y in 4..pages[0].height {
            for x in 0..1728 {
                shifted.set(x, y, pages[0].get(x, y - 4));
            }
        }
        assert!(
            compare(&shifted, &raster[0]).1 > 0.0005,
            "shift went unnoticed"
        );
    }
}

#[test]
fn spandsp_lsb_first_g4_passes_through_to_pdf() {
    // SpanDSP (libtiff) writes G4 with FillOrder LSB2MSB; make such a file
    // with libtiff itself.
    let dir = tempfile::tempdir().unwrap();
    let mut page = Page::blank(1728, 1100, Resolution::Standard);
    for y in 0..1100 {
        for x in 0..1728 {
            if (x / 40 + y / 20) % 4 == 0 || x == y {
                page.set(x, y, true);
            }
        }
    }
    let plain = dir.path().join("plain.tif");
    write_tiff(
        &plain,
        &[page.clone(), page.clone()],
        Compression::Uncompressed,
    )
    .unwrap();
    let spandsp = dir.path().join("rx.tif");
    tool(
        "tiffcp",
        &[
            "-c",
            "g4",
            "-f",
            "lsb2msb",
            plain.to_str().unwrap(),
            spandsp.to_str().unwrap(),
        ],
    );
    assert!(tool("tiffinfo", &[spandsp.to_str().unwrap()]).contains("lsb-to-msb"));
    let pdf = dir.path().join("rx.pdf");
    let report = convert_to_pdf(&spandsp, &pdf).unwrap();
    assert_eq!((report.pages, report.passthrough_pages), (2, 2));
    assert_eq!(report.resolution, Some(Resolution::Standard));
    let raster_dir = dir.path().join("r");
    std::fs::create_dir(&raster_dir).unwrap();
    for theirs in rasterise(&pdf, &raster_dir) {
        let (_, loose) = compare(&page, &theirs);
        assert!(loose < 0.0005, "bit-reversed G4 rendered wrongly: {loose}");
    }
}

/// `/MediaBox [0 0 w h]` of each page of our PDF.
fn media_boxes(pdf: &[u8]) -> Vec<(f64, f64)> {
    let needle = b"/MediaBox [0 0 ";
    let mut out = Vec::new();
    for i in 0..pdf.len().saturating_sub(needle.len()) {
        if &pdf[i..i + needle.len()] == needle {
            let rest = &pdf[i + needle.len()..];
            let end = rest.iter().position(|&b| b == b']').unwrap();
            let nums: Vec<f64> = String::from_utf8_lossy(&rest[..end])
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect();
            out.push((nums[0], nums[1]));
        }
    }
    out
}

#[test]
fn pdf_page_size_follows_each_resolution() {
    let dir = tempfile::tempdir().unwrap();
    for res in Resolution::ALL {
        // An A4-length page at this resolution.
        let rows = (297.0 / 25.4 * res.y_dpi()).round() as u32;
        let mut page = Page::blank(res.page_width_px(), rows, res);
        page.set(10, 10, true);
        let tif = dir.path().join("p.tif");
        write_tiff(&tif, &[page.clone()], Compression::Group4).unwrap();
        let pdf = dir.path().join("p.pdf");
        convert_to_pdf(&tif, &pdf).unwrap();
        let want_w = page.width as f64 * 72.0 / res.x_dpi() as f64;
        let want_h = rows as f64 * 72.0 / res.y_dpi() as f64;
        // Every page is A4 long; the scan line is 215 mm (1728 px at 204 dpi)
        // or 219.5 mm (2592 px at 300 dpi, 3456 at 400 dpi), per T.4 Table 1.
        assert!((609.0..623.0).contains(&want_w) && (want_h - 841.9).abs() < 1.0);
        let boxes = media_boxes(&std::fs::read(&pdf).unwrap());
        assert_eq!(boxes.len(), 1);
        assert!(
            (boxes[0].0 - want_w).abs() < 0.001,
            "{res:?} width {}",
            boxes[0].0
        );
        assert!(
            (boxes[0].1 - want_h).abs() < 0.001,
            "{res:?} height {}",
            boxes[0].1
        );
        let info = tool("pdfinfo", &[pdf.to_str().unwrap()]);
        let line = info.lines().find(|l| l.starts_with("Page size:")).unwrap();
        let nums: Vec<f64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert!((nums[0] - want_w).abs() < 0.01, "{res:?}: pdfinfo {line}");
        assert!((nums[1] - want_h).abs() < 0.01, "{res:?}: pdfinfo {line}");
    }
}

#[test]
fn thumbnail_has_page_aspect() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("memo.txt");
    memo_text(&txt);
    for res in [Resolution::Standard, Resolution::Fine] {
        let tif = dir.path().join("t.tif");
        let opts = RenderOptions {
            resolution: res,
            ..RenderOptions::default()
        };
        convert_to_fax(std::slice::from_ref(&txt), &tif, &opts).unwrap();
        let png = dir.path().join("t.png");
        thumbnail_png(&tif, &png).unwrap();
        let img = image::open(&png).unwrap().into_luma8();
        // A4 page 8.47 × 11.69 in: 200 wide → 276 tall at either resolution.
        assert_eq!(img.width(), 200);
        assert!(
            (275..=277).contains(&img.height()),
            "{res:?}: {}",
            img.height()
        );
        assert!(
            img.pixels().any(|p| p.0[0] < 200),
            "thumbnail shows no text"
        );
    }
}

#[test]
fn landscape_image_is_turned_clockwise() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("wide.png");
    // Black block in the top-left corner of a landscape image.
    image::GrayImage::from_fn(800, 400, |x, y| {
        image::Luma([if x < 100 && y < 100 { 0 } else { 255 }])
    })
    .save(&png)
    .unwrap();
    let tif = dir.path().join("wide.tif");
    convert_to_fax(&[png], &tif, &RenderOptions::default()).unwrap();
    let page = &read_tiff(&tif).unwrap()[0];
    // Turned a quarter clockwise, the top-left corner lands at the top
    // right of the (centred) picture: all ink is right of centre, at the top.
    let (mut x0, mut y0, mut y1) = (u32::MAX, u32::MAX, 0);
    for y in 0..page.height {
        for x in 0..page.width {
            if page.get(x, y) {
                x0 = x0.min(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
    }
    assert!(x0 > 864, "ink starts at column {x0}, not right of centre");
    assert!(y0 < 5 && y1 < page.height / 3, "ink rows {y0}..{y1}");
}

/// Run a conversion expected to fail; the output must not exist afterwards.
fn refused(inputs: &[PathBuf], opts: &RenderOptions) -> DocError {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.tif");
    let err = convert_to_fax(inputs, &out, opts).expect_err("conversion should be refused");
    assert!(!out.exists(), "output written despite error: {err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "stray files"
    );
    err
}

#[test]
fn bad_inputs_are_refused_with_reasons() {
    let opts = RenderOptions::default();
    let err = refused(&[fixture("encrypted.pdf")], &opts);
    assert!(matches!(err, DocError::Encrypted { .. }), "{err}");
    assert!(err.to_string().contains("unprotected copy"), "{err}");

    let err = refused(&[fixture("encrypted_owner_only.pdf")], &opts);
    assert!(matches!(err, DocError::Encrypted { .. }), "{err}");

    let err = refused(&[fixture("zero_pages.pdf")], &opts);
    assert!(matches!(err, DocError::NoPages { .. }), "{err}");

    let err = refused(&[fixture("huge_header.png")], &opts);
    assert!(
        matches!(
            err,
            DocError::ImageTooLarge {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err}"
    );

    let err = refused(&[fixture("bomb.png")], &opts);
    assert!(
        matches!(err, DocError::ImageTooLarge { width: 20_000, .. }),
        "{err}"
    );

    let err = refused(&[fixture("random.bin")], &opts);
    assert!(matches!(err, DocError::UnknownType { .. }), "{err}");
    assert!(err.to_string().contains("not a PDF"), "{err}");

    // A JPEG cut off half way through its entropy-coded data.
    let dir = tempfile::tempdir().unwrap();
    let jpg = dir.path().join("photo.jpg");
    image::RgbImage::from_fn(400, 300, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    })
    .save(&jpg)
    .unwrap();
    let data = std::fs::read(&jpg).unwrap();
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &data[..data.len() / 2]).unwrap();
    let err = refused(&[cut], &opts);
    assert!(matches!(err, DocError::Corrupt { .. }), "{err}");
    // The whole JPEG is fine.
    let ok = dir.path().join("ok.tif");
    assert_eq!(convert_to_fax(&[jpg], &ok, &opts).unwrap().pages, 1);
    // A photo is error-diffused, not thresholded into a black blob: in the
    // middle of the picture both colours are present at every scale.
    let photo = &read_tiff(&ok).unwrap()[0];
    let (mut black, mut total) = (0usize, 0usize);
    for y in 400..800 {
        for x in 500..1200 {
            black += usize::from(photo.get(x, y));
            total += 1;
        }
    }
    let share = black as f64 / total as f64;
    assert!(
        (0.15..0.85).contains(&share),
        "photo area is {share:.2} black"
    );

    let err = refused(
        &[fixture("sample.pdf")],
        &RenderOptions {
            max_pages: 1,
            ..opts.clone()
        },
    );
    assert!(
        matches!(
            err,
            DocError::TooManyPages {
                pages: 2,
                max: 1,
                ..
            }
        ),
        "{err}"
    );

    let err = refused(
        &[fixture("sample.pdf")],
        &RenderOptions {
            max_input_bytes: 100,
            ..opts.clone()
        },
    );
    assert!(matches!(err, DocError::InputTooLarge { .. }), "{err}");

    let err = refused(&[], &opts);
    assert!(matches!(err, DocError::NoInputs), "{err}");

    // One bad input spoils the job: nothing is written for the good ones.
    let err = refused(&[fixture("sample.pdf"), fixture("random.bin")], &opts);
    assert!(matches!(err, DocError::UnknownType { .. }), "{err}");
}

#[test]
fn convert_to_pdf_refuses_bad_tiffs_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pdf");
    let err = convert_to_pdf(&fixture("random.bin"), &out).unwrap_err();
    assert!(matches!(err, DocError::Corrupt { .. }), "{err}");
    let tif = dir.path().join("t.tif");
    let page = Page::blank(1728, 500, Resolution::Fine);
    write_tiff(&tif, &[page.clone(), page], Compression::Group4).unwrap();
    let data = std::fs::read(&tif).unwrap();
    let cut = dir.path().join("cut.tif");
    std::fs::write(&cut, &data[..data.len() - 40]).unwrap();
    let err = convert_to_pdf(&cut, &out).unwrap_err();
    assert!(matches!(err, DocError::Corrupt { .. }), "{err}");
    let err = convert_to_pdf(&dir.path().join("missing.tif"), &out).unwrap_err();
    assert!(matches!(err, DocError::Io { .. }), "{err}");
    assert!(!out.exists());
}

#[test]
fn damaged_documents_never_panic() {
    // Flip bytes of a valid PDF and PNG at pseudo-random places: every
    // outcome must be a page set or a DocError, never a panic or a stray file.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("art.png");
    line_art_png(&png);
    let sources = [
        std::fs::read(fixture("sample.pdf")).unwrap(),
        std::fs::read(&png).unwrap(),
    ];
    let opts = RenderOptions {
        resolution: Resolution::Standard,
        ..RenderOptions::default()
    };
    let mut seed = 0x9e37_79b9u32;
    let mut outcomes = [0usize; 2];
    for round in 0..30 {
        let mut data = sources[round % 2].clone();
        for _ in 0..(1 + round % 5) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let i = 16 + seed as usize % (data.len() - 16);
            data[i] = (seed >> 8) as u8;
        }
        let input = dir.path().join("damaged.bin");
        std::fs::write(&input, &data).unwrap();
        let out = dir.path().join("out.tif");
        match convert_to_fax(&[input], &out, &opts) {
            Ok(r) => {
                outcomes[0] += 1;
                assert!(r.pages >= 1);
                std::fs::remove_file(&out).unwrap();
            }
            Err(e) => {
                outcomes[1] += 1;
                assert!(!out.exists(), "{e}");
            }
        }
    }
    eprintln!(
        "damaged inputs: {} converted, {} refused",
        outcomes[0], outcomes[1]
    );
}

/// A one-page PDF (A4) whose content stream fills `paths` separate
/// page-sized curved shapes, each its own path of a few bytes and each
/// costing the rasteriser the whole page: cheap to write, slow to render.
fn many_paths_pdf(paths: usize) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut content = String::with_capacity(paths * 48);
    for i in 0..paths {
        let g = (i % 7) as f32 / 10.0 + 0.2;
        let d = i % 40;
        let _ = writeln!(
            content,
            "{g} g {d} 0 m 595 {d} 0 842 595 842 c 300 {d} l h f"
        );
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        tail.push_str(&format!("{o:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}

/// `[documents] render_timeout_secs`: a pathological PDF is refused with
/// the limit and advice once the limit has passed, instead of holding the
/// caller for as long as it takes; the same document renders without it.
#[test]
fn a_pdf_slower_than_the_time_limit_is_refused_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let slow = dir.path().join("slow.pdf");
    std::fs::write(&slow, many_paths_pdf(5_000)).unwrap();
    let limit = std::time::Duration::from_secs(1);
    let opts = RenderOptions {
        resolution: Resolution::Fine,
        render_timeout: Some(limit),
        ..RenderOptions::default()
    };
    let started = std::time::Instant::now();
    let err = faxbridge::docs::render::render_to_pages(std::slice::from_ref(&slow), &opts)
        .expect_err("refused at the time limit");
    let waited = started.elapsed();
    let text = err.to_string();
    assert!(
        matches!(err, DocError::RenderTimeout { secs: 1, .. }),
        "{text}"
    );
    assert!(
        text.contains("slow.pdf") && text.contains("longer than 1 s") && text.contains("new PDF"),
        "{text}"
    );
    // Parsing counts against the limit too; the caller is let go close to it.
    assert!(
        waited < limit + std::time::Duration::from_millis(1500),
        "{waited:?}"
    );

    // Without a limit the same file does render (it is slow, not broken),
    // and it takes longer than the limit did.
    let started = std::time::Instant::now();
    let pages = faxbridge::docs::render::render_to_pages(
        std::slice::from_ref(&slow),
        &RenderOptions {
            render_timeout: None,
            ..opts.clone()
        },
    )
    .expect("renders without a limit");
    let took = started.elapsed();
    eprintln!("rendered in {took:?} without a limit; refused after {waited:?}");
    assert_eq!(pages.len(), 1);
    assert!(black_pixels(&pages[0]) > 10_000);
    assert!(took > limit, "the test document is too fast: {took:?}");
}

/// A one-page PDF showing one `size`×`size` RGB image, its samples (all
/// mid grey) deflated a row at a time: 243 MB of pixels for 9000 in about
/// a megabyte of file.
fn big_image_pdf(size: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let row = vec![0x80u8; size * 3];
    for _ in 0..size {
        z.write_all(&row).unwrap();
    }
    let data = z.finish().unwrap();
    let content = b"q 595 0 0 842 0 0 cm /Im0 Do Q";
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
    ];
    let mut c = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    c.extend_from_slice(content);
    c.extend_from_slice(b"\nendstream");
    objects.push(c);
    let mut img = format!(
        "<< /Type /XObject /Subtype /Image /Width {size} /Height {size} /BitsPerComponent 8 \
         /ColorSpace /DeviceRGB /Filter /FlateDecode /Length {} >>\nstream\n",
        data.len()
    )
    .into_bytes();
    img.extend_from_slice(&data);
    img.extend_from_slice(b"\nendstream");
    objects.push(img);
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(o);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        tail.push_str(&format!("{o:010} 00000 n \n"));
    }
    tail.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}

/// `[documents] max_decompressed_stream_bytes`, in the library (no worker
/// process): an image stream decoding past the limit is refused, naming
/// the limit, before it is decoded.
#[test]
fn a_stream_decoding_past_the_limit_is_refused_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.pdf");
    std::fs::write(&path, big_image_pdf(9000)).unwrap();
    let err = refused(&[path], &RenderOptions::default());
    let text = err.to_string();
    assert!(
        matches!(err, DocError::DecompressedTooLarge { .. }),
        "{text}"
    );
    assert!(
        text.contains("photo.pdf") && text.contains("more than 64 MiB"),
        "{text}"
    );
}

/// `[documents] max_document_memory_bytes`, through `faxbridge convert
/// to-fax` and its worker process: a document within the decode limits
/// that needs more memory than one document may use is refused by the
/// kernel's limit on the worker, in words, and the command itself is
/// unharmed.
#[test]
fn a_pdf_needing_more_memory_than_a_document_may_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("photo.pdf");
    std::fs::write(&pdf, big_image_pdf(9000)).unwrap();
    let config = dir.path().join("limits.toml");
    std::fs::write(
        &config,
        "[documents]\n\
         max_decompressed_stream_bytes = 268435456\n\
         max_decompressed_bytes = 268435456\n\
         max_document_memory_bytes = 134217728\n\
         memory_budget_bytes = 134217728\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_faxbridge"))
        .args(["convert", "to-fax"])
        .arg(&pdf)
        .arg(dir.path().join("out.tif"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("photo.pdf needs more than 128 MiB of memory to render"),
        "{stderr}"
    );
    assert!(!dir.path().join("out.tif").exists());
}

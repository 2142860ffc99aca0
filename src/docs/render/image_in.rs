//! PNG, JPEG, GIF and TIFF images to grey fax pages.
//!
//! The pixel budget is checked from the header before anything is decoded: a
//! 100-byte PNG can declare 100 000 × 100 000 pixels (40 GB decoded), so the
//! declared size is read with `into_dimensions` and refused above
//! `max_pixels`; the decoder then runs with matching allocation limits as a
//! second guard. Bilevel fax TIFFs (G3/G4, any fill order) go through the
//! local TIFF reader and keep all their pages.

use std::io::Cursor;

use image::{DynamicImage, ImageReader, Limits};

use super::geometry::Target;
use super::halftone::GreyPage;
use crate::docs::DocError;
use crate::docs::tiff::parse_tiff;

/// Declared width and height, read from the header only.
pub(crate) fn dimensions(data: &[u8], what: &str) -> Result<(u32, u32), DocError> {
    ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| DocError::corrupt(what, e.to_string()))?
        .into_dimensions()
        .map_err(|e| DocError::corrupt(what, format!("unreadable image header ({e})")))
}

fn check_budget(w: u64, h: u64, max_pixels: u64, what: &str) -> Result<(), DocError> {
    if w.saturating_mul(h) > max_pixels {
        return Err(DocError::ImageTooLarge {
            what: what.into(),
            width: w,
            height: h,
            max_pixels,
        });
    }
    Ok(())
}

/// A JPEG must end with EOI (ITU-T T.81 §B.2.1) after its scan data. The
/// decoder silently greys out whatever is missing from a cut-off file, so
/// truncation is caught here: after the first SOS marker, entropy-coded data
/// never contains `FF D9` (a data `FF` is always followed by `00`), so the
/// first `FF D9` after SOS is the EOI.
fn jpeg_is_complete(data: &[u8]) -> bool {
    let Some(sos) = data.windows(2).position(|w| w == [0xFF, 0xDA]) else {
        return false;
    };
    data[sos..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Decode an image file (first frame) into a luminance image, within budget.
fn decode(data: &[u8], max_pixels: u64, what: &str) -> Result<image::GrayImage, DocError> {
    let (w, h) = dimensions(data, what)?;
    if data.starts_with(&[0xFF, 0xD8]) && !jpeg_is_complete(data) {
        return Err(DocError::corrupt(
            what,
            "the JPEG stops before its end-of-image marker (the file is truncated)",
        ));
    }
    check_budget(u64::from(w), u64::from(h), max_pixels, what)?;
    let mut reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| DocError::corrupt(what, e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(w.max(1));
    limits.max_image_height = Some(h.max(1));
    // Decoded RGBA16 is the worst case at 8 bytes per pixel, plus slack.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let bad = |e: image::ImageError| {
        DocError::corrupt(what, format!("the image cannot be decoded ({e})"))
    };
    let mut decoder = reader.into_decoder().map_err(bad)?;
    // Cameras and phones store the sensor's pixels and say in EXIF how to
    // turn them (JPEG, TIFF, PNG eXIf, WebP): a photo of a document taken
    // in portrait is otherwise faxed lying on its side.
    let orientation = image::ImageDecoder::orientation(&mut decoder)
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(bad)?;
    img.apply_orientation(orientation);
    Ok(flatten_on_white(img))
}

/// Luminance with transparency composited over white paper.
fn flatten_on_white(img: DynamicImage) -> image::GrayImage {
    if !img.color().has_alpha() {
        return img.into_luma8();
    }
    let la = img.into_luma_alpha8();
    let (w, h) = la.dimensions();
    let data = la
        .pixels()
        .map(|p| {
            let (l, a) = (u32::from(p.0[0]), u32::from(p.0[1]));
            ((l * a + 255 * (255 - a)) / 255) as u8
        })
        .collect();
    image::GrayImage::from_raw(w, h, data).unwrap_or_else(|| image::GrayImage::new(1, 1))
}

/// Place an image on a fax page: rotate landscape, scale to fit keeping the
/// physical aspect (source pixels are taken as square unless `src_aspect`
/// says how many source pixels across equal one down, as for fax TIFFs).
pub(crate) fn place_on_page(img: &image::GrayImage, src_aspect: f64, target: &Target) -> GreyPage {
    let (w, h) = img.dimensions();
    let phys_w = f64::from(w) / src_aspect;
    let place = target.place(phys_w, f64::from(h));
    let rotated;
    let src = if place.rotate {
        rotated = image::imageops::rotate90(img);
        &rotated
    } else {
        img
    };
    // Triangle filter: bilinear when enlarging, area-like averaging when
    // shrinking (the support widens with the reduction factor).
    let scaled = image::imageops::resize(
        src,
        place.width,
        place.height,
        image::imageops::FilterType::Triangle,
    );
    let mut page = GreyPage::white(
        target.width_px,
        target.height_px,
        target.x_dpi,
        target.y_dpi,
    );
    let pw = target.width_px as usize;
    for (y, row) in scaled.rows().enumerate() {
        let dst = (place.y as usize + y) * pw + place.x as usize;
        for (i, p) in row.enumerate() {
            page.data[dst + i] = p.0[0];
        }
    }
    page
}

/// Render an image file (PNG, JPEG, GIF, TIFF) into fax pages.
pub(crate) fn render(
    data: &[u8],
    max_pixels: u64,
    max_pages: usize,
    target: &Target,
    what: &str,
) -> Result<Vec<GreyPage>, DocError> {
    if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        // Fax TIFFs (bilevel, possibly T.4/T.6 LSB-first): every page.
        if let Ok(raw) = parse_tiff(data) {
            if raw.len() > max_pages {
                return Err(DocError::TooManyPages {
                    what: what.into(),
                    pages: raw.len(),
                    max: max_pages,
                });
            }
            let mut pages = Vec::with_capacity(raw.len());
            for (i, r) in raw.iter().enumerate() {
                check_budget(u64::from(r.width), u64::from(r.height), max_pixels, what)?;
                let bits = r.decode(i + 1)?;
                let grey = image::GrayImage::from_fn(bits.width, bits.height, |x, y| {
                    image::Luma([if bits.get(x, y) { 0 } else { 255 }])
                });
                let aspect = f64::from(bits.x_dpi) / f64::from(bits.y_dpi);
                pages.push(place_on_page(&grey, aspect, target));
            }
            return Ok(pages);
        }
    }
    let img = decode(data, max_pixels, what)?;
    Ok(vec![place_on_page(&img, 1.0, target)])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 200×100 JPEG, left half black, with an EXIF APP1 segment whose
    /// Orientation (tag 0x0112) is `orientation`.
    fn jpeg_with_orientation(orientation: u16) -> Vec<u8> {
        let img = image::GrayImage::from_fn(200, 100, |x, _| {
            image::Luma([if x < 100 { 0 } else { 255 }])
        });
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
            .encode_image(&img)
            .unwrap();
        // TIFF header (big-endian), one IFD with one SHORT entry.
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&1u16.to_be_bytes());
        tiff.extend_from_slice(&0x0112u16.to_be_bytes());
        tiff.extend_from_slice(&3u16.to_be_bytes());
        tiff.extend_from_slice(&1u32.to_be_bytes());
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0]);
        tiff.extend_from_slice(&0u32.to_be_bytes());
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    fn dark(img: &image::GrayImage, x: u32, y: u32) -> bool {
        img.get_pixel(x, y).0[0] < 128
    }

    #[test]
    fn exif_orientation_turns_photos_upright() {
        let plain = decode(&jpeg_with_orientation(1), 1 << 20, "a.jpg").unwrap();
        assert_eq!(plain.dimensions(), (200, 100));
        assert!(dark(&plain, 10, 50) && !dark(&plain, 190, 50));

        // 6: the stored image must be turned 90° clockwise to stand upright:
        // its left half ends up on top.
        let turned = decode(&jpeg_with_orientation(6), 1 << 20, "b.jpg").unwrap();
        assert_eq!(turned.dimensions(), (100, 200));
        assert!(dark(&turned, 50, 10) && !dark(&turned, 50, 190));

        // 8: 90° anticlockwise: the left half ends up at the bottom.
        let turned = decode(&jpeg_with_orientation(8), 1 << 20, "c.jpg").unwrap();
        assert_eq!(turned.dimensions(), (100, 200));
        assert!(!dark(&turned, 50, 10) && dark(&turned, 50, 190));

        // 3: upside down: the left half ends up on the right.
        let turned = decode(&jpeg_with_orientation(3), 1 << 20, "d.jpg").unwrap();
        assert_eq!(turned.dimensions(), (200, 100));
        assert!(!dark(&turned, 10, 50) && dark(&turned, 190, 50));
    }
}

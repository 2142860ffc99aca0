//! Grey to bilevel: sharp thresholding for text and line art, Floyd–Steinberg
//! error diffusion for photographs and grey areas.
//!
//! A fax page is one bit per pixel. Thresholding keeps text edges crisp (error
//! diffusion would fray them with dots), while photographs thresholded turn
//! into black blobs. The page is judged in 16 × 16 tiles: anti-aliased text
//! only has mid-grey pixels along thin edges, so a tile counts as a picture
//! when many of its mid-grey pixels are surrounded by mid-grey on all four
//! sides. Picture tiles are error-diffused, the rest thresholded.

use crate::docs::Page;

/// A grey page on the fax grid: 0 black … 255 white, one byte per pixel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GreyPage {
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Horizontal dots per inch.
    pub x_dpi: f32,
    /// Vertical lines per inch.
    pub y_dpi: f32,
    /// Row-major luminance.
    pub data: Vec<u8>,
}

impl GreyPage {
    /// A white page.
    pub fn white(width: u32, height: u32, x_dpi: f32, y_dpi: f32) -> GreyPage {
        GreyPage {
            width,
            height,
            x_dpi,
            y_dpi,
            data: vec![255; width as usize * height as usize],
        }
    }
}

/// Tile edge in pixels for the text/picture decision.
const TILE: usize = 16;
/// Luminance below which a thresholded pixel is black. Above mid-grey on
/// purpose: a one-pixel stroke anti-aliased across two pixels (two 50 % greys)
/// must stay visible.
const THRESHOLD: u8 = 170;
/// Mid-grey band used to recognise pictures.
const GREY_LO: u8 = 24;
const GREY_HI: u8 = 232;
/// Fraction of "interior grey" pixels that makes a tile a picture.
const PICTURE_FRACTION: f32 = 0.25;

fn is_grey(v: u8) -> bool {
    (GREY_LO..=GREY_HI).contains(&v)
}

/// Which tiles hold pictures (true) rather than text or line art.
///
/// Works on rows of 0/1 "mid-grey" masks so every step is a plain loop over
/// bytes that the compiler vectorises; three mask rows are kept rolling.
pub(crate) fn picture_tiles(g: &GreyPage) -> (Vec<bool>, usize) {
    let (w, h) = (g.width as usize, g.height as usize);
    let tw = w.div_ceil(TILE);
    let th = h.div_ceil(TILE);
    let mut counts = vec![0u32; tw * th];
    if w < 3 || h < 3 {
        return (vec![false; tw * th], tw);
    }
    let mask = |y: usize, out: &mut [u8]| {
        for (m, &v) in out.iter_mut().zip(&g.data[y * w..(y + 1) * w]) {
            *m = u8::from(is_grey(v));
        }
    };
    let mut up = vec![0u8; w];
    let mut cur = vec![0u8; w];
    let mut down = vec![0u8; w];
    let mut interior = vec![0u8; w];
    mask(0, &mut up);
    mask(1, &mut cur);
    for y in 1..h - 1 {
        mask(y + 1, &mut down);
        let tile_counts = &mut counts[(y / TILE) * tw..(y / TILE + 1) * tw];
        for (t, c) in tile_counts.iter_mut().enumerate() {
            let (x0, x1) = ((t * TILE).max(1), ((t + 1) * TILE).min(w - 1));
            // No grey in this stretch of the row: nothing to count.
            if x0 >= x1 || cur[x0..x1].iter().fold(0u8, |a, &v| a | v) == 0 {
                continue;
            }
            for x in x0..x1 {
                interior[x] = cur[x] & cur[x - 1] & cur[x + 1] & up[x] & down[x];
            }
            *c += interior[x0..x1].iter().map(|&v| u32::from(v)).sum::<u32>();
        }
        std::mem::swap(&mut up, &mut cur);
        std::mem::swap(&mut cur, &mut down);
    }
    let need = (PICTURE_FRACTION * (TILE * TILE) as f32) as u32;
    (counts.iter().map(|&c| c >= need).collect(), tw)
}

/// Threshold a row of grey pixels into packed bits, 8 pixels per step.
fn threshold_row(row: &[u8], out: &mut [u8]) {
    let mut chunks = row.chunks_exact(8);
    for (o, px) in out.iter_mut().zip(&mut chunks) {
        let mut b = 0u8;
        for (k, &v) in px.iter().enumerate() {
            b |= u8::from(v < THRESHOLD) << (7 - k);
        }
        *o = b;
    }
    let rem = chunks.remainder();
    if !rem.is_empty() {
        let mut b = 0u8;
        for (k, &v) in rem.iter().enumerate() {
            b |= u8::from(v < THRESHOLD) << (7 - k);
        }
        if let Some(o) = out.get_mut(row.len() / 8) {
            *o = b;
        }
    }
}

/// Convert a grey page to a bilevel fax page.
pub(crate) fn binarize(g: &GreyPage) -> Page {
    let (w, h) = (g.width as usize, g.height as usize);
    let (tiles, tw) = picture_tiles(g);
    let any_picture = tiles.iter().any(|&t| t);
    let stride = w.div_ceil(8);
    let mut bits = vec![0u8; stride * h];
    // Error rows for Floyd–Steinberg, with one guard cell each side.
    let mut cur = vec![0i32; w + 2];
    let mut next = vec![0i32; w + 2];
    for y in 0..h {
        let row = &g.data[y * w..(y + 1) * w];
        let out = &mut bits[y * stride..(y + 1) * stride];
        let tile_row = &tiles[(y / TILE) * tw..(y / TILE + 1) * tw];
        if !any_picture || !tile_row.iter().any(|&t| t) {
            threshold_row(row, out);
            cur.iter_mut().for_each(|e| *e = 0);
            continue;
        }
        for x in 0..w {
            let v = i32::from(row[x]);
            if !tile_row[x / TILE] {
                if row[x] < THRESHOLD {
                    out[x / 8] |= 0x80 >> (x % 8);
                }
                continue;
            }
            // Floyd–Steinberg: push the quantisation error 7/16 right,
            // 3/16 down-left, 5/16 down, 1/16 down-right.
            let want = (v + cur[x + 1] / 16).clamp(0, 255);
            let black = want < 128;
            if black {
                out[x / 8] |= 0x80 >> (x % 8);
            }
            let err = want - if black { 0 } else { 255 };
            cur[x + 2] += err * 7;
            next[x] += err * 3;
            next[x + 1] += err * 5;
            next[x + 2] += err;
        }
        std::mem::swap(&mut cur, &mut next);
        next.iter_mut().for_each(|e| *e = 0);
    }
    Page {
        width: g.width,
        height: g.height,
        x_dpi: g.x_dpi,
        y_dpi: g.y_dpi,
        bits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_with(f: impl Fn(usize, usize) -> u8, w: u32, h: u32) -> GreyPage {
        let mut g = GreyPage::white(w, h, 204.0, 196.0);
        for y in 0..h as usize {
            for x in 0..w as usize {
                g.data[y * w as usize + x] = f(x, y);
            }
        }
        g
    }

    fn black_fraction(p: &Page, x0: u32, x1: u32, y0: u32, y1: u32) -> f64 {
        let mut n = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                n += usize::from(p.get(x, y));
            }
        }
        n as f64 / f64::from((x1 - x0) * (y1 - y0))
    }

    #[test]
    fn flat_grey_is_dithered_to_its_density() {
        // 25 % grey (192) should come out about 25 % black, not all white.
        let g = page_with(|_, _| 192, 256, 128);
        let p = binarize(&g);
        let f = black_fraction(&p, 16, 240, 16, 112);
        assert!((f - 0.25).abs() < 0.03, "{f}");
    }

    #[test]
    fn text_like_strokes_are_thresholded_without_dots() {
        // Black strokes with one anti-aliased grey pixel each side on white.
        let g = page_with(
            |x, _| match x % 12 {
                4 => 128,
                5 | 6 => 0,
                7 => 200,
                _ => 255,
            },
            240,
            64,
        );
        let (tiles, _) = picture_tiles(&g);
        assert!(tiles.iter().all(|&t| !t), "text judged a picture");
        let p = binarize(&g);
        for y in 0..64 {
            for x in 0..240u32 {
                let want = matches!(x % 12, 4..=6);
                assert_eq!(p.get(x, y), want, "pixel {x},{y}");
            }
        }
    }

    #[test]
    fn gradient_photo_keeps_tone_ramp() {
        let g = page_with(|x, _| (x * 255 / 511) as u8, 512, 128);
        let p = binarize(&g);
        let dark = black_fraction(&p, 16, 96, 16, 112);
        let light = black_fraction(&p, 416, 496, 16, 112);
        assert!(dark > 0.7 && light < 0.3, "{dark} {light}");
        let mid = black_fraction(&p, 224, 288, 16, 112);
        assert!((mid - 0.5).abs() < 0.1, "{mid}");
    }
}

//! Where a source page lands on a fax page.
//!
//! A fax page is a fixed grid: 1728 pixels across a 215 mm scan line (T.4
//! §2.2, 204 dpi) and a number of rows set by the paper length and the
//! vertical resolution (98, 196 or 391 lines per inch). Pixels are therefore
//! not square at standard and fine resolution, and every placement below is
//! computed in inches first so the picture keeps its true aspect ratio.

use crate::docs::{Paper, Resolution};

/// The fax page grid for a paper size and resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Target {
    /// Pixels per row (1728 at the 204-dpi resolutions).
    pub width_px: u32,
    /// Rows per page.
    pub height_px: u32,
    /// Horizontal dots per inch.
    pub x_dpi: f32,
    /// Vertical lines per inch.
    pub y_dpi: f32,
}

impl Target {
    /// The page grid for `paper` at `res`.
    pub fn new(paper: Paper, res: Resolution) -> Target {
        let height_in = match paper {
            Paper::A4 => 297.0 / 25.4,
            Paper::Letter => 11.0,
        };
        Target {
            width_px: res.page_width_px(),
            height_px: (height_in * res.y_dpi()).round() as u32,
            x_dpi: res.x_dpi(),
            y_dpi: res.y_dpi(),
        }
    }

    /// Printable width in inches (the whole scan line).
    pub fn width_in(&self) -> f64 {
        f64::from(self.width_px) / f64::from(self.x_dpi)
    }

    /// Page length in inches.
    pub fn height_in(&self) -> f64 {
        f64::from(self.height_px) / f64::from(self.y_dpi)
    }

    /// Place a source of `w` × `h` inches (or of any unit: the placement
    /// depends only on the ratio) on this page, turned to portrait and scaled
    /// to fit both the scan line and the page length.
    pub fn place(&self, w: f64, h: f64) -> Placement {
        let rotate = w > h;
        let (rw, rh) = if rotate { (h, w) } else { (w, h) };
        let (rw, rh) = (rw.max(1e-6), rh.max(1e-6));
        // Largest scale (inches of page per unit of source) that fits both ways.
        let scale = (self.width_in() / rw).min(self.height_in() / rh);
        let cw = ((rw * scale * f64::from(self.x_dpi)).round() as u32).clamp(1, self.width_px);
        let ch = ((rh * scale * f64::from(self.y_dpi)).round() as u32).clamp(1, self.height_px);
        Placement {
            rotate,
            scale,
            x: (self.width_px - cw) / 2,
            y: 0,
            width: cw,
            height: ch,
        }
    }
}

/// A source's position on the fax page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Placement {
    /// Turn the source 90° clockwise (landscape onto portrait).
    pub rotate: bool,
    /// Inches of page per source unit.
    pub scale: f64,
    /// Left edge in pixels (the content is centred across the scan line).
    pub x: u32,
    /// Top edge in rows (content starts at the top, like a printed page).
    pub y: u32,
    /// Content width in pixels.
    pub width: u32,
    /// Content height in rows.
    pub height: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_grids() {
        let a4f = Target::new(Paper::A4, Resolution::Fine);
        assert_eq!((a4f.width_px, a4f.height_px), (1728, 2292));
        let a4s = Target::new(Paper::A4, Resolution::Standard);
        assert_eq!(a4s.height_px, 1146);
        let lf = Target::new(Paper::Letter, Resolution::Fine);
        assert_eq!(lf.height_px, 2156);
    }

    #[test]
    fn a4_portrait_fills_the_page_with_true_aspect() {
        let t = Target::new(Paper::A4, Resolution::Standard);
        let p = t.place(595.0 / 72.0, 842.0 / 72.0);
        assert!(!p.rotate);
        // Physical aspect of the placed box equals the source's.
        let w_in = f64::from(p.width) / 204.0;
        let h_in = f64::from(p.height) / 98.0;
        assert!((w_in / h_in - 595.0 / 842.0).abs() < 0.01);
        assert!(p.height >= t.height_px - 2);
    }

    #[test]
    fn landscape_is_rotated_and_fits() {
        let t = Target::new(Paper::Letter, Resolution::Fine);
        let p = t.place(11.0, 8.5);
        assert!(p.rotate);
        assert!(p.width <= t.width_px && p.height <= t.height_px);
        let w_in = f64::from(p.width) / 204.0;
        let h_in = f64::from(p.height) / 196.0;
        assert!((w_in / h_in - 8.5 / 11.0).abs() < 0.01);
    }
}

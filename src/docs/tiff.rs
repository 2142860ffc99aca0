//! TIFF-F (RFC 2306) reading and writing for fax pages.
//!
//! The fax engine (SpanDSP over libtiff) sends from, and receives into,
//! multi-page bilevel TIFF files. This module writes what SpanDSP's `t4_tx`
//! accepts — one strip per page, PhotometricInterpretation min-is-white,
//! FillOrder MSB2LSB, resolution in dots per inch, T.6 (G4) or T.4 (MH) — and
//! reads what SpanDSP's `t4_rx` writes: G4 with FillOrder LSB2MSB (bits of each
//! byte in transmission order), one strip per page, resolution in inches
//! (older builds used centimetres, both are accepted).
//!
//! The IFD chain is parsed here rather than with the `tiff` crate, which
//! cannot read LSB2MSB or Group 3 data. Parsing is defensive: every offset is
//! bounds-checked, IFD loops are detected, and page dimensions are limited
//! before any pixel buffer is allocated, so a hostile file yields a
//! [`DocError`] instead of a panic or an allocation storm.
//!
//! Decoding uses `hayro-ccitt` (T.4 1D/2D and T.6); G4 encoding uses the `fax`
//! crate's T.6 encoder; the T.4 1D (Modified Huffman) encoder is local.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

use super::{DocError, Page, write_durable};

/// Widest page accepted when reading (A3 at 1200 dpi is 14 032 pixels).
pub const MAX_WIDTH: u32 = 16_384;
/// Tallest page accepted when reading (a 2.5 m fax at 1200 dpi fits).
pub const MAX_HEIGHT: u32 = 131_072;
/// Largest page area accepted when reading: 2^28 pixels is a 32 MiB bitmap.
pub const MAX_PAGE_PIXELS: u64 = 1 << 28;
/// Most pages accepted in one TIFF file.
pub const MAX_PAGES: usize = 10_000;

/// How pages are compressed when written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// ITU-T T.6 (Group 4, MMR): smallest; SpanDSP transcodes it to whatever
    /// the far end negotiates.
    #[default]
    Group4,
    /// ITU-T T.4 one-dimensional (Modified Huffman) with byte-aligned EOLs
    /// (TIFF Compression 3, T4Options 4).
    Group3OneD,
    /// Uncompressed, one bit per pixel.
    Uncompressed,
}

/// How one page's strips are coded, as declared by its IFD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripCoding {
    /// Compression 1: packed rows, one bit per pixel.
    Uncompressed,
    /// Compression 2: Modified Huffman rows without EOLs, each row byte-aligned.
    ModifiedHuffmanRle,
    /// Compression 3: T.4 with EOLs; `two_d` is T4Options bit 0 (MR coding).
    Group3 {
        /// Modified READ (2D) coding is in use.
        two_d: bool,
    },
    /// Compression 4: T.6 (Group 4, MMR).
    Group4,
}

/// Bit order of each byte of the strip data (TIFF tag FillOrder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillOrder {
    /// FillOrder 1: first pixel/code bit in the most significant bit.
    MsbFirst,
    /// FillOrder 2: first bit in the least significant bit, the order bits go
    /// down the line; SpanDSP writes this.
    LsbFirst,
}

/// One page as stored in a TIFF file: the raw strips and the tags needed to
/// decode them or to embed them in a PDF unchanged.
///
/// The strips borrow the file image they were parsed from: taking a page
/// into a PDF copies each strip once, straight into the output.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPage<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Horizontal resolution in dots per inch.
    pub x_dpi: f32,
    /// Vertical resolution in dots per inch.
    pub y_dpi: f32,
    /// Coding of the strip data.
    pub coding: StripCoding,
    /// Bit order of the strip bytes.
    pub fill_order: FillOrder,
    /// PhotometricInterpretation 1: a 0 bit (a "white" code run) is black.
    pub min_is_black: bool,
    /// Rows in each strip (the last may hold fewer).
    pub rows_per_strip: u32,
    /// The strips' bytes, exactly as stored.
    pub strips: Vec<&'a [u8]>,
}

impl<'a> RawPage<'a> {
    /// Strip `i` with the bits of each byte in MSB-first order (reversed if
    /// the file uses FillOrder 2). Reversing bit order is not re-encoding.
    pub fn strip_msb_first(&self, i: usize) -> Cow<'a, [u8]> {
        let s = self.strips[i];
        match self.fill_order {
            FillOrder::MsbFirst => Cow::Borrowed(s),
            FillOrder::LsbFirst => Cow::Owned(s.iter().map(|b| b.reverse_bits()).collect()),
        }
    }

    /// Decode the page into a bitmap (`1` = black, whatever the photometric).
    pub fn decode(&self, page_no: usize) -> Result<Page, DocError> {
        let what = format!("TIFF page {page_no}");
        let stride = self.width.div_ceil(8) as usize;
        let mut bits: Vec<u8> = Vec::new();
        let mut rows_done: u32 = 0;
        for i in 0..self.strips.len() {
            let rows = self.rows_per_strip.min(self.height - rows_done);
            let data = self.strip_msb_first(i);
            match self.coding {
                StripCoding::Uncompressed => {
                    let need = stride * rows as usize;
                    if data.len() < need {
                        return Err(DocError::corrupt(
                            what,
                            format!(
                                "uncompressed strip {i} holds {} bytes, {need} needed",
                                data.len()
                            ),
                        ));
                    }
                    bits.extend_from_slice(&data[..need]);
                    // Clear padding bits past the width so pages compare equal.
                    clear_padding(&mut bits[rows_done as usize * stride..], self.width);
                }
                coding => {
                    let got =
                        decode_ccitt(&data, coding, self.width, rows, &mut bits).map_err(|e| {
                            DocError::corrupt(
                                what.clone(),
                                format!("strip {i} has invalid fax coding ({e})"),
                            )
                        })?;
                    if got < rows {
                        // Encoders may omit trailing rows of a strip; they are white.
                        bits.resize(bits.len() + (rows - got) as usize * stride, 0);
                    }
                }
            }
            rows_done += rows;
        }
        if self.min_is_black {
            for b in &mut bits {
                *b = !*b;
            }
            clear_padding(&mut bits, self.width);
        }
        Ok(Page {
            width: self.width,
            height: self.height,
            x_dpi: self.x_dpi,
            y_dpi: self.y_dpi,
            bits,
        })
    }
}

/// Zero the bits past `width` in every row of `bits`.
fn clear_padding(bits: &mut [u8], width: u32) {
    let stride = width.div_ceil(8) as usize;
    let rem = width % 8;
    if rem == 0 || stride == 0 {
        return;
    }
    let mask = 0xFFu8 << (8 - rem);
    for row in bits.chunks_mut(stride) {
        if let Some(last) = row.last_mut() {
            *last &= mask;
        }
    }
}

/// Sink turning hayro-ccitt's colour changes into packed rows.
struct RowSink<'a> {
    out: &'a mut Vec<u8>,
    width: u32,
    stride: usize,
    rows: u32,
    max_rows: u32,
}

impl hayro_ccitt::Decoder for RowSink<'_> {
    fn push_row(&mut self, changes: &[u32]) {
        if self.rows >= self.max_rows {
            return;
        }
        let start = self.out.len();
        self.out.resize(start + self.stride, 0);
        let row = &mut self.out[start..];
        for pair in changes.chunks(2) {
            let from = pair[0].min(self.width);
            let to = pair.get(1).copied().unwrap_or(self.width).min(self.width);
            fill_run(row, from, to);
        }
        self.rows += 1;
    }
}

/// Set bits `[from, to)` of a packed MSB-first row.
pub(crate) fn fill_run(row: &mut [u8], from: u32, to: u32) {
    if from >= to {
        return;
    }
    let (from, to) = (from as usize, to as usize);
    let (fb, lb) = (from / 8, (to - 1) / 8);
    let first_mask = 0xFFu8 >> (from % 8);
    let last_mask = 0xFFu8 << (7 - (to - 1) % 8);
    if fb == lb {
        row[fb] |= first_mask & last_mask;
    } else {
        row[fb] |= first_mask;
        for b in &mut row[fb + 1..lb] {
            *b = 0xFF;
        }
        row[lb] |= last_mask;
    }
}

/// Decode one MSB-first CCITT strip of `rows` rows, appending packed rows to
/// `out`. Returns how many rows the data held.
fn decode_ccitt(
    data: &[u8],
    coding: StripCoding,
    width: u32,
    rows: u32,
    out: &mut Vec<u8>,
) -> Result<u32, hayro_ccitt::DecodeError> {
    use hayro_ccitt::{DecodeSettings, DecoderContext, EncodingMode};
    let (encoding, end_of_line, aligned) = match coding {
        StripCoding::Group4 => (EncodingMode::Group4, false, false),
        StripCoding::Group3 { two_d: false } => (EncodingMode::Group3_1D, true, false),
        StripCoding::Group3 { two_d: true } => (EncodingMode::Group3_2D, true, false),
        StripCoding::ModifiedHuffmanRle => (EncodingMode::Group3_1D, false, true),
        StripCoding::Uncompressed => unreachable!("uncompressed strips are not CCITT-coded"),
    };
    let settings = DecodeSettings {
        columns: width,
        rows,
        end_of_block: true,
        end_of_line,
        rows_are_byte_aligned: aligned,
        encoding,
        strict: false,
    };
    let mut ctx = DecoderContext::new(settings);
    let mut sink = RowSink {
        out,
        width,
        stride: width.div_ceil(8) as usize,
        rows: 0,
        max_rows: rows,
    };
    hayro_ccitt::decode(data, &mut sink, &mut ctx)?;
    Ok(sink.rows)
}

/// Encode a page as T.6 (Group 4, MMR), MSB-first, ending with EOFB, with
/// the `fax` crate's encoder (one colour per pixel fed through an iterator).
///
/// Kept as the reference implementation: [`encode_g4`] must produce the same
/// bytes, which the tests check.
pub fn encode_g4_reference(page: &Page) -> Vec<u8> {
    use fax::{Color, VecWriter, encoder::Encoder};
    let stride = page.stride();
    let mut enc = Encoder::new(VecWriter::with_capacity(page.bits.len()));
    for row in page.bits.chunks(stride).take(page.height as usize) {
        let pels = (0..page.width).map(|x| {
            if row[(x / 8) as usize] & (0x80 >> (x % 8)) != 0 {
                Color::Black
            } else {
                Color::White
            }
        });
        // VecWriter cannot fail (its error type is Infallible).
        let Ok(()) = enc.encode_line(pels, page.width);
    }
    let Ok(w) = enc.finish();
    w.finish()
}

/// Changing elements of a packed row (T.4 §4.2.1.3.1): the positions whose
/// colour differs from the pixel before, the row starting on an imaginary
/// white pixel. The row is read 64 pixels at a time: XOR of each word with
/// itself shifted by one pixel marks the changes, so a white stretch costs
/// one compare per 64 pixels and each change one count of leading zeros.
fn changing_elements(row: &[u8], width: u32, out: &mut Vec<u32>) {
    out.clear();
    let (words, tail) = row.as_chunks::<8>();
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    // The pixel before the word being read: white before the row.
    let mut before = 0u64;
    for (i, word) in words
        .iter()
        .chain(Some(&last).filter(|_| !tail.is_empty()))
        .enumerate()
    {
        let word = u64::from_be_bytes(*word);
        let mut changes = word ^ ((word >> 1) | (before << 63));
        before = word & 1;
        let base = i as u32 * 64;
        while changes != 0 {
            let lz = changes.leading_zeros();
            let x = base + lz;
            if x >= width {
                return;
            }
            out.push(x);
            // Clear the change just taken (the highest set bit).
            changes ^= 1u64 << (63 - lz);
        }
    }
}

/// MSB-first bit writer with a 64-bit accumulator.
struct Bits64 {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits64 {
    #[inline]
    fn put(&mut self, data: u16, len: u8) {
        let len = u32::from(len);
        self.acc = (self.acc << len) | u64::from(data);
        self.n += len;
        // Codes are at most 16 bits: flushing at 32 keeps `acc` under 48 bits.
        if self.n >= 32 {
            self.n -= 32;
            self.out
                .extend_from_slice(&((self.acc >> self.n) as u32).to_be_bytes());
        }
    }

    fn finish(mut self) -> Vec<u8> {
        while self.n >= 8 {
            self.n -= 8;
            self.out.push((self.acc >> self.n) as u8);
        }
        if self.n > 0 {
            self.out.push((self.acc << (8 - self.n)) as u8);
        }
        self.out
    }
}

/// Write one run as make-up codes plus a terminating code (T.4 §4.1.1),
/// in the same order as the reference encoder (2560-codes first).
#[inline]
fn put_run64(w: &mut Bits64, black: bool, mut n: u32) {
    let code = |v: u16| {
        let bits = if black {
            fax::maps::black::encode(v)
        } else {
            fax::maps::white::encode(v)
        };
        bits.expect("run-length tables cover 0..=63 and multiples of 64 up to 2560")
    };
    while n >= 2560 {
        let b = code(2560);
        w.put(b.data, b.len);
        n -= 2560;
    }
    if n >= 64 {
        let b = code((n & !63) as u16);
        w.put(b.data, b.len);
        n &= 63;
    }
    let b = code(n as u16);
    w.put(b.data, b.len);
}

/// Encode a page as T.6 (Group 4, MMR), MSB-first, ending with EOFB.
///
/// Two-dimensional coding of each row against the one above (T.4 §4.2.1.3,
/// T.6 §2.2): pass mode when the reference run ends before the coding run,
/// vertical mode when the transitions are within 3 pixels, horizontal mode
/// (two run lengths) otherwise. Works on changing-element lists instead of
/// pixels, and codes a row identical to the one above (blank paper, most
/// of a fax page) as its run of V0 codes without looking at its pixels,
/// which makes it several times faster than the pixel-by-pixel
/// [`encode_g4_reference`] while emitting the same bytes.
pub fn encode_g4(page: &Page) -> Vec<u8> {
    let width = page.width;
    let stride = page.stride();
    let mut w = Bits64 {
        out: Vec::with_capacity(page.bits.len() / 16 + 16),
        acc: 0,
        n: 0,
    };
    // Changing-element lists end with three imaginary elements at the
    // line's end (T.4 §4.2.1.3.1: a1, a2, b1 and b2 past the last change
    // are at the end of the line), so the coder reads them without bounds
    // checks. The line above the first is white: no changes.
    const PAST_END: usize = 3;
    let mut reference: Vec<u32> = vec![width; PAST_END];
    let mut coding: Vec<u32> = Vec::new();
    let mut above: Option<&[u8]> = None;
    let end = i64::from(width);
    for row in page.bits.chunks(stride).take(page.height as usize) {
        if above == Some(row) {
            // The same pixels as the row above (blank rows, vertical
            // strokes): every changing element sits right under its
            // reference element, so the row is one V0 code ("1") per
            // reference element plus the one that reaches the line's end.
            let mut n = reference.len() - PAST_END + 1;
            while n > 0 {
                let k = n.min(16);
                w.put((u32::MAX >> (32 - k)) as u16, k as u8);
                n -= k;
            }
            continue;
        }
        above = Some(row);
        changing_elements(row, width, &mut coding);
        coding.extend_from_slice(&[width; PAST_END]);
        // a0 starts on the imaginary white pixel before the row.
        let mut a0: i64 = -1;
        let mut black = false;
        let mut ai = 0usize; // first coding element > a0
        let mut bi = 0usize; // first reference element > a0
        while a0 < end {
            while i64::from(coding[ai]) <= a0 {
                ai += 1;
            }
            let a1 = coding[ai];
            while i64::from(reference[bi]) <= a0 {
                bi += 1;
            }
            // b1 must change to the colour opposite a0's: reference element k
            // turns black when k is even.
            let k = bi + usize::from(bi.is_multiple_of(2) == black);
            let (b1, b2) = (reference[k], reference[k + 1]);
            if b2 < a1 {
                w.put(0b0001, 4); // pass
                a0 = i64::from(b2);
                continue;
            }
            let delta = i64::from(a1) - i64::from(b1);
            if delta.abs() <= 3 {
                let (code, len) = match delta {
                    0 => (0b1, 1),
                    1 => (0b011, 3),
                    2 => (0b000011, 6),
                    3 => (0b0000011, 7),
                    -1 => (0b010, 3),
                    -2 => (0b000010, 6),
                    _ => (0b0000010, 7),
                };
                w.put(code, len);
                a0 = i64::from(a1);
                black = !black;
                ai += 1;
                continue;
            }
            let a2 = coding[ai + 1];
            w.put(0b001, 3); // horizontal
            put_run64(&mut w, black, a1 - a0.max(0) as u32);
            put_run64(&mut w, !black, a2 - a1);
            a0 = i64::from(a2);
            ai += 2;
        }
        std::mem::swap(&mut reference, &mut coding);
    }
    // EOFB: two EOLs (T.6 §2.4).
    w.put(1, 12);
    w.put(1, 12);
    w.finish()
}

/// MSB-first bit writer for the T.4 encoder.
struct BitSink {
    out: Vec<u8>,
    acc: u32,
    n: u8,
}

impl BitSink {
    fn put(&mut self, data: u16, len: u8) {
        for i in (0..len).rev() {
            self.acc = (self.acc << 1) | u32::from((data >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    /// Pad with zero fill bits so that the next EOL ends on a byte boundary
    /// (T.4 §4.1.2 fill; TIFF T4Options bit 2).
    fn eol_aligned(&mut self) {
        while !(self.n + 12).is_multiple_of(8) {
            self.put(0, 1);
        }
        self.put(1, 12);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push((self.acc << (8 - self.n)) as u8);
        }
        self.out
    }
}

/// Write one run with make-up codes as needed (T.4 §4.1.1).
fn put_run(w: &mut BitSink, black: bool, mut n: u32) {
    let code = |v: u16| {
        let bits = if black {
            fax::maps::black::encode(v)
        } else {
            fax::maps::white::encode(v)
        };
        bits.expect("run-length tables cover 0..=63 and multiples of 64 up to 2560")
    };
    while n > 2560 {
        let b = code(2560);
        w.put(b.data, b.len);
        n -= 2560;
    }
    if n >= 64 {
        let b = code((n & !63) as u16);
        w.put(b.data, b.len);
        n &= 63;
    }
    let b = code(n as u16);
    w.put(b.data, b.len);
}

/// Encode a page as T.4 one-dimensional (Modified Huffman) with an EOL before
/// each row, EOLs byte-aligned, and RTC (six EOLs) at the end.
pub fn encode_g3_1d(page: &Page) -> Vec<u8> {
    let stride = page.stride();
    let mut w = BitSink {
        out: Vec::with_capacity(page.bits.len() / 4),
        acc: 0,
        n: 0,
    };
    for row in page.bits.chunks(stride).take(page.height as usize) {
        w.eol_aligned();
        let mut x = 0u32;
        let mut black = false;
        while x < page.width {
            let start = x;
            while x < page.width && (row[(x / 8) as usize] & (0x80 >> (x % 8)) != 0) == black {
                x += 1;
            }
            put_run(&mut w, black, x - start);
            black = !black;
        }
    }
    for _ in 0..6 {
        w.eol_aligned();
    }
    w.finish()
}

/// Code one page's strip.
fn encode_page(page: &Page, compression: Compression) -> Vec<u8> {
    match compression {
        Compression::Group4 => encode_g4(page),
        Compression::Group3OneD => encode_g3_1d(page),
        Compression::Uncompressed => {
            let mut d = page.bits[..page.stride() * page.height as usize].to_vec();
            clear_padding(&mut d, page.width);
            d
        }
    }
}

/// Code every page, sharing the pages between up to one thread per CPU
/// (at most 4): pages are independent, and coding is most of the cost of
/// writing a fax file.
fn encode_all(pages: &[Page], compression: Compression) -> Vec<Vec<u8>> {
    let cpus = std::thread::available_parallelism().map_or(1, |c| c.get());
    let workers = cpus.min(4).min(pages.len()).max(1);
    if workers == 1 {
        return pages.iter().map(|p| encode_page(p, compression)).collect();
    }
    let chunk = pages.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = pages
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|p| encode_page(p, compression))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(pages.chunks(chunk))
            .flat_map(|(h, part)| {
                // Coding cannot panic on a well-formed page; should a thread
                // die anyway, code its share here.
                h.join()
                    .unwrap_or_else(|_| part.iter().map(|p| encode_page(p, compression)).collect())
            })
            .collect()
    })
}

/// Serialise pages as a multi-page TIFF-F file image in memory.
pub fn tiff_bytes(pages: &[Page], compression: Compression) -> Result<Vec<u8>, DocError> {
    if pages.is_empty() {
        return Err(DocError::NoPages {
            what: "the fax document".into(),
        });
    }
    let total = u16::try_from(pages.len()).map_err(|_| DocError::TooManyPages {
        what: "the fax document".into(),
        pages: pages.len(),
        max: u16::MAX as usize,
    })?;
    for (i, page) in pages.iter().enumerate() {
        if page.width == 0
            || page.height == 0
            || page.bits.len() < page.stride() * page.height as usize
        {
            return Err(DocError::Render {
                what: format!("page {}", i + 1),
                reason: format!(
                    "the bitmap is inconsistent ({}×{} with {} bytes)",
                    page.width,
                    page.height,
                    page.bits.len()
                ),
            });
        }
    }
    let coded = encode_all(pages, compression);
    let mut out: Vec<u8> = Vec::with_capacity(coded.iter().map(|c| c.len() + 256).sum());
    out.extend_from_slice(b"II\x2a\x00\0\0\0\0");
    let mut next_ptr_at = 4usize;
    for (i, page) in pages.iter().enumerate() {
        let data = &coded[i];
        let (code, t4t6_tag, t4t6) = match compression {
            Compression::Group4 => (4u16, 293u16, 0u32),
            Compression::Group3OneD => (3, 292, 4),
            Compression::Uncompressed => (1, 0, 0),
        };
        let strip_off = out.len();
        out.extend_from_slice(data);
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let ifd_off = out.len();
        let strip_off = u32::try_from(strip_off).map_err(|_| too_big())?;
        let strip_len = u32::try_from(data.len()).map_err(|_| too_big())?;
        // Entries must be in ascending tag order (TIFF 6.0 §2).
        let mut entries: Vec<(u16, u16, u32, u32)> = vec![
            (254, 4, 1, 2), // NewSubfileType: page of a multi-page document
            (256, 4, 1, page.width),
            (257, 4, 1, page.height),
            (258, 3, 1, 1), // BitsPerSample
            (259, 3, 1, u32::from(code)),
            (262, 3, 1, 0), // Photometric: min-is-white
            (266, 3, 1, 1), // FillOrder: MSB2LSB
            (273, 4, 1, strip_off),
            (274, 3, 1, 1), // Orientation: top-left
            (277, 3, 1, 1), // SamplesPerPixel
            (278, 4, 1, page.height),
            (279, 4, 1, strip_len),
            (282, 5, 1, 0), // XResolution (offset patched below)
            (283, 5, 1, 0), // YResolution
            (284, 3, 1, 1), // PlanarConfiguration: contiguous
        ];
        if t4t6_tag != 0 {
            entries.push((t4t6_tag, 4, 1, t4t6));
        }
        entries.push((296, 3, 1, 2)); // ResolutionUnit: inch
        entries.push((297, 3, 2, u32::from(i as u16) | (u32::from(total) << 16))); // PageNumber
        let software = b"faxbridge\0";
        entries.push((305, 2, software.len() as u32, 0));
        let ifd_len = 2 + entries.len() * 12 + 4;
        let ext = ifd_off + ifd_len;
        let xres_off = u32::try_from(ext).map_err(|_| too_big())?;
        let yres_off = xres_off + 8;
        let sw_off = yres_off + 8;
        for e in &mut entries {
            match e.0 {
                282 => e.3 = xres_off,
                283 => e.3 = yres_off,
                305 => e.3 = sw_off,
                _ => {}
            }
        }
        // Point the previous IFD (or the header) at this one.
        out[next_ptr_at..next_ptr_at + 4].copy_from_slice(&(ifd_off as u32).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, typ, count, value) in &entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&typ.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            if *typ == 3 && *count == 1 {
                // A single SHORT sits left-justified in the value field.
                out.extend_from_slice(&(*value as u16).to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        next_ptr_at = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
        for dpi in [page.x_dpi, page.y_dpi] {
            let (n, d) = rational(dpi);
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.extend_from_slice(software);
        if out.len() % 2 == 1 {
            out.push(0);
        }
    }
    Ok(out)
}

fn too_big() -> DocError {
    DocError::unsupported(
        "the fax document",
        "it would exceed the 4 GiB size limit of TIFF",
    )
}

/// A resolution as a TIFF RATIONAL: whole numbers exactly, others to 1/100.
fn rational(dpi: f32) -> (u32, u32) {
    let dpi = if dpi.is_finite() && dpi > 0.0 {
        dpi
    } else {
        204.0
    };
    if (dpi - dpi.round()).abs() < 1e-4 {
        (dpi.round() as u32, 1)
    } else {
        ((dpi * 100.0).round() as u32, 100)
    }
}

/// Write pages as a multi-page TIFF-F file that SpanDSP can send.
///
/// The file is written to a temporary name, fsynced and renamed over `path`,
/// so a reader never sees a partial file.
pub fn write_tiff(path: &Path, pages: &[Page], compression: Compression) -> Result<(), DocError> {
    let bytes = tiff_bytes(pages, compression)?;
    write_durable(path, &bytes)
}

/// Read every page of a fax TIFF and decode it to bitmaps.
pub fn read_tiff(path: &Path) -> Result<Vec<Page>, DocError> {
    let bytes = read_file(path)?;
    let raw = parse_tiff_file(path, &bytes)?;
    raw.iter()
        .enumerate()
        .map(|(i, p)| p.decode(i + 1))
        .collect()
}

/// Read a whole file, with the path in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, DocError> {
    std::fs::read(path).map_err(|e| DocError::io("read", path, e))
}

/// [`parse_tiff`] of the image of the file at `path` (read with
/// [`read_file`]), naming the file in any error: every page without
/// decoding, raw strips and the tags needed to decode or embed them.
pub fn parse_tiff_file<'a>(path: &Path, bytes: &'a [u8]) -> Result<Vec<RawPage<'a>>, DocError> {
    parse_tiff(bytes).map_err(|e| match e {
        DocError::Corrupt { what, reason } => DocError::Corrupt {
            what: format!("{} ({what})", path.display()),
            reason,
        },
        DocError::Unsupported { what, reason } => DocError::Unsupported {
            what: format!("{} ({what})", path.display()),
            reason,
        },
        DocError::ImageTooLarge {
            what,
            width,
            height,
            max_pixels,
        } => DocError::ImageTooLarge {
            what: format!("{} ({what})", path.display()),
            width,
            height,
            max_pixels,
        },
        other => other,
    })
}

/// Byte-order-aware bounds-checked reader over the file image.
struct Reader<'a> {
    b: &'a [u8],
    le: bool,
}

impl<'a> Reader<'a> {
    fn bytes(&self, off: u64, len: u64) -> Option<&'a [u8]> {
        let end = off.checked_add(len)?;
        if end > self.b.len() as u64 {
            return None;
        }
        Some(&self.b[off as usize..end as usize])
    }
    fn u16(&self, off: u64) -> Option<u16> {
        let s = self.bytes(off, 2)?;
        let a = [s[0], s[1]];
        Some(if self.le {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        })
    }
    fn u32(&self, off: u64) -> Option<u32> {
        let s = self.bytes(off, 4)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }
}

/// The values of one IFD entry, as integers or as real numbers.
#[derive(Debug, Clone)]
enum TagValue {
    Ints(Vec<u64>),
    Reals(Vec<f64>),
    Other,
}

impl TagValue {
    fn first_int(&self) -> Option<u64> {
        match self {
            TagValue::Ints(v) => v.first().copied(),
            _ => None,
        }
    }
    fn first_real(&self) -> Option<f64> {
        match self {
            TagValue::Reals(v) => v.first().copied(),
            TagValue::Ints(v) => v.first().map(|&x| x as f64),
            TagValue::Other => None,
        }
    }
}

/// Most values read for one tag (strip tables of huge images are refused).
const MAX_TAG_VALUES: u64 = 1 << 16;

fn read_entry(r: &Reader<'_>, at: u64, what: &str) -> Result<(u16, TagValue), DocError> {
    let bad = |reason: &str| DocError::corrupt(what.to_string(), reason.to_string());
    let tag = r
        .u16(at)
        .ok_or_else(|| bad("IFD entry runs past the end of the file"))?;
    let typ = r
        .u16(at + 2)
        .ok_or_else(|| bad("IFD entry runs past the end of the file"))?;
    let count = u64::from(
        r.u32(at + 4)
            .ok_or_else(|| bad("IFD entry runs past the end of the file"))?,
    );
    let size: u64 = match typ {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 => 4,
        5 | 10 | 12 => 8,
        _ => return Ok((tag, TagValue::Other)),
    };
    let interesting = matches!(tag, 254..=297 | 322 | 323);
    if !interesting || matches!(typ, 2 | 7) {
        return Ok((tag, TagValue::Other));
    }
    if count > MAX_TAG_VALUES {
        return Err(bad(&format!("tag {tag} claims {count} values")));
    }
    let total = count * size;
    let data_off = if total <= 4 {
        at + 8
    } else {
        u64::from(
            r.u32(at + 8)
                .ok_or_else(|| bad("IFD entry runs past the end of the file"))?,
        )
    };
    let data = r
        .bytes(data_off, total)
        .ok_or_else(|| bad(&format!("the values of tag {tag} lie outside the file")))?;
    let sub = Reader { b: data, le: r.le };
    let mut ints = Vec::new();
    let mut reals = Vec::new();
    for i in 0..count {
        let o = i * size;
        // `data` holds exactly `count * size` bytes, so these reads succeed.
        let v = match typ {
            1 | 6 => Some(u64::from(data[o as usize])),
            3 | 8 => sub.u16(o).map(u64::from),
            4 | 9 => sub.u32(o).map(u64::from),
            _ => None,
        };
        match (typ, v) {
            (5 | 10, _) => {
                let n = sub.u32(o).unwrap_or(0) as f64;
                let d = sub.u32(o + 4).unwrap_or(0) as f64;
                reals.push(if d == 0.0 { 0.0 } else { n / d });
            }
            (11, _) => reals.push(f64::from(f32::from_bits(sub.u32(o).unwrap_or(0)))),
            (12, _) => {
                let hi = u64::from(sub.u32(o).unwrap_or(0));
                let lo = u64::from(sub.u32(o + 4).unwrap_or(0));
                let bits = if r.le {
                    (lo << 32) | hi
                } else {
                    (hi << 32) | lo
                };
                reals.push(f64::from_bits(bits));
            }
            (_, Some(v)) => ints.push(v),
            _ => {}
        }
    }
    Ok((
        tag,
        if reals.is_empty() {
            TagValue::Ints(ints)
        } else {
            TagValue::Reals(reals)
        },
    ))
}

/// Where the next-IFD pointer of directory `keep` (counted from 1) sits in
/// the classic TIFF image `b`, and whether it points anywhere: `None` when
/// the file has fewer directories or is not a classic TIFF.
fn next_ifd_pointer(b: &[u8], keep: usize) -> Option<(u64, bool)> {
    let le = match b.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let r = Reader { b, le };
    if r.u16(2)? != 42 {
        return None;
    }
    let mut off = u64::from(r.u32(4)?);
    for n in 1..=keep.min(MAX_PAGES) {
        if off == 0 {
            return None;
        }
        let at = off + 2 + u64::from(r.u16(off)?) * 12;
        let next = r.u32(at)?;
        if n == keep {
            return Some((at, next != 0));
        }
        off = u64::from(next);
    }
    None
}

/// End the directory chain of the TIFF at `path` after its first `keep`
/// directories (pages), in place. A receiver whose disk filled up mid-page
/// leaves the last whole page pointing at a directory that was never
/// written; cutting the chain there makes the pages that did arrive
/// readable. Does nothing when the chain already ends there (so it may be
/// repeated) or `keep` is 0. Only the four octets of the pointer are
/// written, which needs no free space.
pub fn keep_first_pages(path: &Path, keep: usize) -> Result<(), DocError> {
    use std::io::{Seek, SeekFrom, Write};
    if keep == 0 {
        return Ok(());
    }
    let bytes = read_file(path)?;
    let Some((at, linked)) = next_ifd_pointer(&bytes, keep) else {
        return Ok(());
    };
    if !linked {
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| DocError::io("open", path, e))?;
    f.seek(SeekFrom::Start(at))
        .and_then(|_| f.write_all(&[0; 4]))
        .and_then(|()| f.sync_all())
        .map_err(|e| DocError::io("write", path, e))
}

/// Parse a TIFF file image into raw pages, checking every offset and limit.
pub fn parse_tiff(b: &[u8]) -> Result<Vec<RawPage<'_>>, DocError> {
    let what = "TIFF file";
    if b.len() < 8 {
        return Err(DocError::corrupt(what, "shorter than a TIFF header"));
    }
    let le = match &b[..2] {
        b"II" => true,
        b"MM" => false,
        _ => return Err(DocError::corrupt(what, "no TIFF byte-order mark")),
    };
    let r = Reader { b, le };
    match r.u16(2) {
        Some(42) => {}
        Some(43) => {
            return Err(DocError::unsupported(
                what,
                "BigTIFF is not used for fax; save it as a classic TIFF",
            ));
        }
        _ => return Err(DocError::corrupt(what, "bad TIFF version number")),
    }
    let mut off = u64::from(r.u32(4).unwrap_or(0));
    let mut seen = HashSet::new();
    let mut pages = Vec::new();
    while off != 0 {
        let page_no = pages.len() + 1;
        let pwhat = format!("page {page_no}");
        if !seen.insert(off) {
            return Err(DocError::corrupt(
                what,
                format!("the IFD chain loops back at {page_no}"),
            ));
        }
        if pages.len() >= MAX_PAGES {
            return Err(DocError::TooManyPages {
                what: what.into(),
                pages: pages.len() + 1,
                max: MAX_PAGES,
            });
        }
        let n = r.u16(off).ok_or_else(|| {
            DocError::corrupt(what, format!("IFD of {pwhat} lies outside the file"))
        })?;
        let mut tags = std::collections::HashMap::new();
        for i in 0..u64::from(n) {
            let (tag, val) = read_entry(&r, off + 2 + i * 12, &pwhat)?;
            tags.insert(tag, val);
        }
        let next = r
            .u32(off + 2 + u64::from(n) * 12)
            .ok_or_else(|| DocError::corrupt(what, format!("IFD of {pwhat} is truncated")))?;
        // Reduced-resolution images (NewSubfileType bit 0) are previews, not pages.
        let subfile = tags.get(&254).and_then(TagValue::first_int).unwrap_or(0);
        if subfile & 1 == 0 {
            pages.push(page_from_tags(&r, &tags, &pwhat)?);
        }
        off = u64::from(next);
    }
    if pages.is_empty() {
        return Err(DocError::NoPages { what: what.into() });
    }
    Ok(pages)
}

fn page_from_tags<'a>(
    r: &Reader<'a>,
    tags: &std::collections::HashMap<u16, TagValue>,
    what: &str,
) -> Result<RawPage<'a>, DocError> {
    let int = |t: u16| tags.get(&t).and_then(TagValue::first_int);
    let ints = |t: u16| match tags.get(&t) {
        Some(TagValue::Ints(v)) => v.clone(),
        _ => Vec::new(),
    };
    let width = int(256).ok_or_else(|| DocError::corrupt(what, "no ImageWidth tag"))?;
    let height = int(257).ok_or_else(|| DocError::corrupt(what, "no ImageLength tag"))?;
    if width == 0 || height == 0 {
        return Err(DocError::corrupt(
            what,
            format!("empty image ({width}×{height})"),
        ));
    }
    if width > u64::from(MAX_WIDTH)
        || height > u64::from(MAX_HEIGHT)
        || width * height > MAX_PAGE_PIXELS
    {
        return Err(DocError::ImageTooLarge {
            what: what.into(),
            width,
            height,
            max_pixels: MAX_PAGE_PIXELS,
        });
    }
    let (width, height) = (width as u32, height as u32);
    if tags.contains_key(&322) || tags.contains_key(&323) {
        return Err(DocError::unsupported(
            what,
            "tiled TIFF is not a fax layout; use strips",
        ));
    }
    let bps = int(258).unwrap_or(1);
    let spp = int(277).unwrap_or(1);
    if bps != 1 || spp != 1 {
        return Err(DocError::unsupported(
            what,
            format!(
                "not a bilevel fax page ({spp} samples of {bps} bits per pixel); send it as an \
                 image attachment so it is converted to fax pages"
            ),
        ));
    }
    let t4 = int(292).unwrap_or(0);
    let coding = match int(259).unwrap_or(1) {
        1 => StripCoding::Uncompressed,
        2 => StripCoding::ModifiedHuffmanRle,
        3 => {
            if t4 & 2 != 0 {
                return Err(DocError::unsupported(
                    what,
                    "T.4 uncompressed mode (T4Options bit 1) is not supported",
                ));
            }
            StripCoding::Group3 { two_d: t4 & 1 != 0 }
        }
        4 => StripCoding::Group4,
        c => {
            return Err(DocError::unsupported(
                what,
                format!("compression {c} is not a fax coding (expected 1, 2, 3 or 4)"),
            ));
        }
    };
    if int(293).unwrap_or(0) & 2 != 0 {
        return Err(DocError::unsupported(
            what,
            "T.6 uncompressed mode is not supported",
        ));
    }
    let min_is_black = match int(262).unwrap_or(0) {
        0 => false,
        1 => true,
        p => {
            return Err(DocError::unsupported(
                what,
                format!("photometric interpretation {p} is not bilevel"),
            ));
        }
    };
    let fill_order = match int(266).unwrap_or(1) {
        2 => FillOrder::LsbFirst,
        _ => FillOrder::MsbFirst,
    };
    let rows_per_strip = int(278)
        .unwrap_or(u64::from(height))
        .clamp(1, u64::from(height)) as u32;
    let offsets = ints(273);
    let counts = ints(279);
    let expected = height.div_ceil(rows_per_strip) as usize;
    if offsets.len() != expected || counts.len() != expected {
        return Err(DocError::corrupt(
            what,
            format!(
                "{} strip offsets and {} byte counts for {expected} strips",
                offsets.len(),
                counts.len()
            ),
        ));
    }
    let mut strips = Vec::with_capacity(expected);
    for (i, (&o, &c)) in offsets.iter().zip(&counts).enumerate() {
        let s = r.bytes(o, c).ok_or_else(|| {
            DocError::corrupt(
                what,
                format!("strip {i} ({c} bytes at {o}) runs past the end of the file (truncated?)"),
            )
        })?;
        strips.push(s);
    }
    let unit = int(296).unwrap_or(2);
    let xr = tags.get(&282).and_then(TagValue::first_real).unwrap_or(0.0);
    let yr = tags.get(&283).and_then(TagValue::first_real).unwrap_or(0.0);
    let (x_dpi, y_dpi) = resolution_dpi(xr, yr, unit);
    Ok(RawPage {
        width,
        height,
        x_dpi,
        y_dpi,
        coding,
        fill_order,
        min_is_black,
        rows_per_strip,
        strips,
    })
}

/// Convert TIFF resolution tags to dots per inch. Missing or absurd values
/// fall back to fax fine resolution (204×196), the commonest received form.
fn resolution_dpi(xr: f64, yr: f64, unit: u64) -> (f32, f32) {
    let sane = |v: f64| v.is_finite() && (10.0..=10_000.0).contains(&v);
    let (mut x, mut y) = match unit {
        3 => (xr * 2.54, yr * 2.54),
        // Unit "none" gives only the aspect ratio: assume fax horizontal density.
        1 if sane(xr) && sane(yr) => (204.0, 204.0 * yr / xr),
        _ => (xr, yr),
    };
    if !sane(x) {
        x = 204.0;
    }
    if !sane(y) {
        y = 196.0;
    }
    // cm-based files round 8 pels/mm to 80 pels/cm = 203.2 dpi: snap to the
    // fax resolution they stand for so page sizes and names come out right.
    if let Some(res) = super::Resolution::from_dpi(x as f32, y as f32) {
        return (res.x_dpi(), res.y_dpi());
    }
    (x as f32, y as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::Resolution;

    /// A deterministic test page with text-like strokes, runs crossing byte
    /// boundaries, long runs (> 2560 needs two make-up codes only at widths
    /// over 2560) and noise.
    pub(crate) fn pattern_page(width: u32, height: u32, res: Resolution, seed: u32) -> Page {
        let mut p = Page::blank(width, height, res);
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        for y in 0..height {
            for x in 0..width {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let band = (x / 37 + y / 11) % 5 == 0;
                let frame = x < 3 || y < 2 || x + 3 >= width || y + 2 >= height;
                let noise = s.is_multiple_of(97);
                if band || frame || noise {
                    p.set(x, y, true);
                }
            }
        }
        p
    }

    #[test]
    fn a_chain_pointing_past_the_end_is_cut_after_the_pages_kept() {
        let pages: Vec<Page> = (0..2)
            .map(|i| pattern_page(64, 20, Resolution::Fine, i))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rx.tif");
        let mut bytes = tiff_bytes(&pages, Compression::Group4).unwrap();
        // What a receiver whose disk filled up leaves: page 1's directory
        // links to a page 2 directory that was never written.
        let (at, linked) = next_ifd_pointer(&bytes, 1).unwrap();
        assert!(linked);
        let past_end = (bytes.len() as u32 + 4096).to_le_bytes();
        bytes[at as usize..at as usize + 4].copy_from_slice(&past_end);
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_tiff(&path).is_err());

        keep_first_pages(&path, 1).unwrap();
        keep_first_pages(&path, 1).unwrap();
        let got = read_tiff(&path).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0], pages[0]);
        // Asking to keep more than the file has changes nothing.
        let whole = dir.path().join("whole.tif");
        write_tiff(&whole, &pages, Compression::Group4).unwrap();
        keep_first_pages(&whole, 5).unwrap();
        keep_first_pages(&whole, 0).unwrap();
        assert_eq!(read_tiff(&whole).unwrap().len(), 2);
    }

    fn roundtrip(pages: &[Page], c: Compression) -> Vec<Page> {
        let bytes = tiff_bytes(pages, c).unwrap();
        parse_tiff(&bytes)
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, r)| r.decode(i + 1).unwrap())
            .collect()
    }

    #[test]
    fn g4_roundtrip_is_pixel_exact_over_several_pages_and_resolutions() {
        let pages = vec![
            pattern_page(1728, 300, Resolution::Fine, 1),
            pattern_page(1728, 150, Resolution::Standard, 2),
            pattern_page(2592, 200, Resolution::R300, 3),
            pattern_page(13, 7, Resolution::Superfine, 4),
        ];
        let back = roundtrip(&pages, Compression::Group4);
        assert_eq!(back, pages);
    }

    #[test]
    fn g3_and_uncompressed_roundtrip_are_pixel_exact() {
        let pages = vec![
            pattern_page(1728, 120, Resolution::Fine, 5),
            pattern_page(3000, 40, Resolution::R400, 6),
            pattern_page(21, 9, Resolution::Standard, 7),
        ];
        assert_eq!(roundtrip(&pages, Compression::Group3OneD), pages);
        assert_eq!(roundtrip(&pages, Compression::Uncompressed), pages);
    }

    #[test]
    fn fast_g4_encoder_matches_the_reference_byte_for_byte() {
        let mut pages = vec![
            pattern_page(1728, 200, Resolution::Fine, 30),
            pattern_page(2592, 60, Resolution::R300, 31),
            pattern_page(13, 9, Resolution::Fine, 32),
            pattern_page(6000, 4, Resolution::Fine, 33),
        ];
        let mut black = Page::blank(1728, 5, Resolution::Fine);
        black.bits.iter_mut().for_each(|b| *b = 0xFF);
        pages.push(black);
        pages.push(Page::blank(1728, 5, Resolution::Fine));
        for (i, p) in pages.iter().enumerate() {
            assert_eq!(encode_g4(p), encode_g4_reference(p), "page {i}");
        }
    }

    /// A page whose rows repeat in runs of 1 to 7, as blank rows and the
    /// rows of a line of text do, so the encoder's repeated-row path runs
    /// with both few and many changing elements.
    fn repeated_rows_page(width: u32, height: u32, seed: u32) -> Page {
        let source = pattern_page(width, height, Resolution::Fine, seed);
        let mut p = Page::blank(width, height, Resolution::Fine);
        let stride = p.stride();
        let (mut y, mut run) = (0usize, 1usize);
        while y < height as usize {
            let end = (y + run).min(height as usize);
            for to in y..end {
                // Every fourth run is blank paper.
                if run % 4 != 0 {
                    let from = &source.bits[y * stride..(y + 1) * stride];
                    p.bits[to * stride..(to + 1) * stride].copy_from_slice(from);
                }
            }
            y = end;
            run = run % 7 + 1;
        }
        p
    }

    #[test]
    fn fast_g4_encoder_matches_the_reference_on_repeated_rows() {
        for (i, width) in [1728, 2592, 13, 64, 65, 6000].into_iter().enumerate() {
            let p = repeated_rows_page(width, 90, 40 + i as u32);
            assert_eq!(encode_g4(&p), encode_g4_reference(&p), "width {width}");
            assert_eq!(
                roundtrip(std::slice::from_ref(&p), Compression::Group4),
                vec![p]
            );
        }
    }

    #[test]
    fn all_black_and_all_white_rows_roundtrip() {
        let mut p = Page::blank(1728, 20, Resolution::Fine);
        for y in 5..10 {
            for x in 0..1728 {
                p.set(x, y, true);
            }
        }
        let pages = vec![p];
        assert_eq!(roundtrip(&pages, Compression::Group4), pages);
        assert_eq!(roundtrip(&pages, Compression::Group3OneD), pages);
    }

    #[test]
    fn written_tags_follow_tiff_f() {
        let pages = vec![pattern_page(1728, 50, Resolution::Fine, 8)];
        let bytes = tiff_bytes(&pages, Compression::Group4).unwrap();
        let raw = parse_tiff(&bytes).unwrap();
        assert_eq!(raw.len(), 1);
        let r = &raw[0];
        assert_eq!(r.coding, StripCoding::Group4);
        assert_eq!(r.fill_order, FillOrder::MsbFirst);
        assert!(!r.min_is_black);
        assert_eq!(r.strips.len(), 1);
        assert_eq!((r.x_dpi, r.y_dpi), (204.0, 196.0));
        assert_eq!(&bytes[..4], b"II\x2a\x00");
    }

    #[test]
    fn lsb_first_strips_from_spandsp_are_read() {
        // Build the file SpanDSP would write: same G4 data, bits reversed,
        // FillOrder 2, resolution in centimetres.
        let page = pattern_page(1728, 80, Resolution::Standard, 9);
        let mut bytes = tiff_bytes(std::slice::from_ref(&page), Compression::Group4).unwrap();
        let strip_len = parse_tiff(&bytes).unwrap()[0].strips[0].len();
        let strip_at = 8usize;
        for b in &mut bytes[strip_at..strip_at + strip_len] {
            *b = b.reverse_bits();
        }
        patch_short_tag(&mut bytes, 266, 2);
        patch_short_tag(&mut bytes, 296, 3);
        patch_rational_tag(&mut bytes, 282, 80, 1); // 8 pels/mm
        patch_rational_tag(&mut bytes, 283, 385, 10); // 3.85 lines/mm
        let raw = parse_tiff(&bytes).unwrap().remove(0);
        assert_eq!(raw.fill_order, FillOrder::LsbFirst);
        assert_eq!((raw.x_dpi, raw.y_dpi), (204.0, 98.0));
        assert_eq!(raw.decode(1).unwrap(), page);
    }

    fn find_entry(bytes: &[u8], tag: u16) -> usize {
        let ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let n = u16::from_le_bytes([bytes[ifd], bytes[ifd + 1]]) as usize;
        (0..n)
            .map(|i| ifd + 2 + i * 12)
            .find(|&e| u16::from_le_bytes([bytes[e], bytes[e + 1]]) == tag)
            .unwrap()
    }

    fn patch_short_tag(bytes: &mut [u8], tag: u16, v: u16) {
        let e = find_entry(bytes, tag);
        bytes[e + 8..e + 10].copy_from_slice(&v.to_le_bytes());
    }

    fn patch_rational_tag(bytes: &mut [u8], tag: u16, n: u32, d: u32) {
        let e = find_entry(bytes, tag);
        let off = u32::from_le_bytes(bytes[e + 8..e + 12].try_into().unwrap()) as usize;
        bytes[off..off + 4].copy_from_slice(&n.to_le_bytes());
        bytes[off + 4..off + 8].copy_from_slice(&d.to_le_bytes());
    }

    #[test]
    fn write_tiff_is_durable_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.tif");
        let pages = vec![pattern_page(1728, 40, Resolution::Fine, 10)];
        write_tiff(&path, &pages, Compression::Group4).unwrap();
        assert_eq!(read_tiff(&path).unwrap(), pages);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind");
    }

    #[test]
    fn truncated_files_are_errors_at_every_length() {
        let pages = vec![
            pattern_page(1728, 30, Resolution::Fine, 11),
            pattern_page(1728, 30, Resolution::Fine, 12),
        ];
        let bytes = tiff_bytes(&pages, Compression::Group4).unwrap();
        for len in 0..bytes.len() {
            // Must not panic; an error or (when only trailing padding is
            // cut) a result is fine, but never a wrong page count silently.
            if let Ok(p) = parse_tiff(&bytes[..len]) {
                for (i, r) in p.iter().enumerate() {
                    let _ = r.decode(i + 1);
                }
            }
        }
        assert!(parse_tiff(&bytes[..bytes.len() / 2]).is_err());
    }

    #[test]
    fn huge_dimensions_are_refused_before_allocation() {
        let pages = vec![pattern_page(16, 4, Resolution::Fine, 13)];
        let mut bytes = tiff_bytes(&pages, Compression::Group4).unwrap();
        let e = find_entry(&bytes, 257);
        bytes[e + 8..e + 12].copy_from_slice(&4_000_000_000u32.to_le_bytes());
        match parse_tiff(&bytes) {
            Err(DocError::ImageTooLarge { height, .. }) => assert_eq!(height, 4_000_000_000),
            other => panic!("expected ImageTooLarge, got {other:?}"),
        }
    }

    #[test]
    fn ifd_loops_are_detected() {
        let pages = vec![
            pattern_page(16, 4, Resolution::Fine, 14),
            pattern_page(16, 4, Resolution::Fine, 15),
        ];
        let mut bytes = tiff_bytes(&pages, Compression::Group4).unwrap();
        let first = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        let n = u16::from_le_bytes([bytes[first], bytes[first + 1]]) as usize;
        let next_at = first + 2 + n * 12;
        let second = u32::from_le_bytes(bytes[next_at..next_at + 4].try_into().unwrap()) as usize;
        let n2 = u16::from_le_bytes([bytes[second], bytes[second + 1]]) as usize;
        let next2_at = second + 2 + n2 * 12;
        bytes[next2_at..next2_at + 4].copy_from_slice(&(first as u32).to_le_bytes());
        let err = parse_tiff(&bytes).unwrap_err();
        assert!(err.to_string().contains("loops"), "{err}");
    }

    #[test]
    fn random_and_corrupted_bytes_never_panic() {
        let good = tiff_bytes(
            &[pattern_page(64, 16, Resolution::Fine, 16)],
            Compression::Group4,
        )
        .unwrap();
        let mut s = 0x1234_5678u32;
        for round in 0..2000 {
            let mut b = good.clone();
            for _ in 0..(1 + round % 8) {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let i = s as usize % b.len();
                b[i] = (s >> 8) as u8;
            }
            if let Ok(p) = parse_tiff(&b) {
                for (i, r) in p.iter().enumerate() {
                    let _ = r.decode(i + 1);
                }
            }
        }
        assert!(parse_tiff(b"not a tiff at all").is_err());
        assert!(parse_tiff(b"MM\x00\x2b\0\0\0\0").is_err());
    }

    /// Run libtiff's `tiffcp` (Debian libtiff-tools, required by CI).
    fn tiffcp(args: &[&str], from: &Path, to: &Path) {
        let out = std::process::Command::new("tiffcp")
            .args(args)
            .arg(from)
            .arg(to)
            .output()
            .expect("tiffcp (Debian package libtiff-tools) must be installed");
        assert!(
            out.status.success(),
            "tiffcp {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn libtiff_reads_what_we_write_and_we_read_what_libtiff_writes() {
        let dir = tempfile::tempdir().unwrap();
        let pages = vec![
            pattern_page(1728, 200, Resolution::Fine, 20),
            pattern_page(1728, 100, Resolution::Standard, 21),
        ];
        for c in [
            Compression::Group4,
            Compression::Group3OneD,
            Compression::Uncompressed,
        ] {
            let ours = dir.path().join("ours.tif");
            write_tiff(&ours, &pages, c).unwrap();
            // libtiff decodes our coding to raw bits: must match exactly.
            let plain = dir.path().join("plain.tif");
            tiffcp(&["-c", "none"], &ours, &plain);
            assert_eq!(read_tiff(&plain).unwrap(), pages, "libtiff decode of {c:?}");
        }
        let ours = dir.path().join("ours.tif");
        write_tiff(&ours, &pages, Compression::Uncompressed).unwrap();
        // What SpanDSP's libtiff writes: G4 LSB2MSB; also G3 1D/2D and MH RLE.
        for args in [
            &["-c", "g4", "-f", "lsb2msb"][..],
            &["-c", "g4"][..],
            &["-c", "g3:1d", "-f", "lsb2msb"][..],
            &["-c", "g3:2d"][..],
            &["-c", "g3:2d:fill"][..],
            &["-c", "g4", "-r", "37"][..],
        ] {
            let theirs = dir.path().join("theirs.tif");
            tiffcp(args, &ours, &theirs);
            assert_eq!(
                read_tiff(&theirs).unwrap(),
                pages,
                "reading tiffcp {args:?}"
            );
        }
    }

    #[test]
    fn non_bilevel_tiff_is_refused_with_advice() {
        let pages = vec![pattern_page(16, 4, Resolution::Fine, 17)];
        let mut bytes = tiff_bytes(&pages, Compression::Group4).unwrap();
        patch_short_tag(&mut bytes, 258, 8);
        let err = parse_tiff(&bytes).unwrap_err();
        assert!(err.to_string().contains("bilevel"), "{err}");
    }
}

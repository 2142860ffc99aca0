//! PDF stream filters decoded under a byte limit, as the data arrives.
//!
//! A PDF stream is stored through a chain of filters (ISO 32000-1 §7.4):
//! `FlateDecode` (zlib/deflate, RFC 1950/1951), `LZWDecode`,
//! `RunLengthDecode`, `ASCIIHexDecode`, `ASCII85Decode`, each optionally
//! followed by a PNG or TIFF predictor (§7.4.4.4). Deflate turns a run of
//! zeros into about a thousandth of its size, and filters can be chained,
//! so a two-megabyte attachment can hold a stream of gigabytes: a reader
//! that decodes a stream before looking at its size has already lost.
//!
//! [`decode_capped`] runs the chain as a pipeline of push decoders with
//! fixed buffers and hands each decoded chunk to a sink; the sink counts
//! (and may read, see [`super::operators`]) and stops the pipeline the
//! moment the total passes the limit. Memory is a few hundred kilobytes
//! whatever the stream inflates to, and the work done is proportional to
//! the limit, not to the stream.
//!
//! Image filters (`DCTDecode`, `JPXDecode`, `JBIG2Decode`,
//! `CCITTFaxDecode`) end the chain here: what they produce is bounded by
//! the image's declared size, checked against `max_pixels` instead.

use flate2::{Decompress, FlushDecompress, Status};

/// Bytes each stage decodes into before handing them on.
const CHUNK: usize = 64 * 1024;

/// Why decoding stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The decoded data passed the limit given to [`decode_capped`].
    Limit,
    /// The sink asked to stop (it has seen enough).
    Sink,
    /// The data is damaged: a filter cannot decode it further.
    Damaged,
}

/// One stream filter, as named in a stream's `/Filter` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filter {
    /// `FlateDecode` / `Fl`.
    Flate,
    /// `LZWDecode` / `LZW`; `early_change` is the `/EarlyChange` parameter
    /// (default 1: the code width grows one code early, as in TIFF).
    Lzw {
        /// `/EarlyChange` is not 0.
        early_change: bool,
    },
    /// `RunLengthDecode` / `RL`.
    RunLength,
    /// `ASCIIHexDecode` / `AHx`.
    AsciiHex,
    /// `ASCII85Decode` / `A85`.
    Ascii85,
    /// An image filter: the chain ends before it.
    Image,
    /// `Crypt` (handled by decryption, not here).
    Crypt,
}

impl Filter {
    /// The filter a `/Filter` name stands for; `None` for names no reader
    /// knows (which readers skip).
    pub(crate) fn from_name(name: &[u8], early_change: bool) -> Option<Filter> {
        Some(match name {
            b"FlateDecode" | b"Fl" => Filter::Flate,
            b"LZWDecode" | b"LZW" => Filter::Lzw { early_change },
            b"RunLengthDecode" | b"RL" => Filter::RunLength,
            b"ASCIIHexDecode" | b"AHx" => Filter::AsciiHex,
            b"ASCII85Decode" | b"A85" => Filter::Ascii85,
            b"DCTDecode" | b"DCT" | b"JPXDecode" | b"JBIG2Decode" | b"CCITTFaxDecode" | b"CCF" => {
                Filter::Image
            }
            b"Crypt" => Filter::Crypt,
            _ => return None,
        })
    }
}

/// A predictor from a filter's `/DecodeParms` (ISO 32000-1 Table 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Predictor {
    /// `/Predictor`: 2 is TIFF predictor 2, 10–15 are PNG predictors.
    pub kind: u32,
    /// `/Colors`, components per sample.
    pub colors: u32,
    /// `/BitsPerComponent`.
    pub bits: u32,
    /// `/Columns`, samples per row.
    pub columns: u32,
}

/// One step of a stream's filter chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// The filter.
    pub filter: Filter,
    /// Its predictor, if `/DecodeParms` names one (Flate and LZW only).
    pub predictor: Option<Predictor>,
}

/// A push decoder: takes input in pieces, hands output on in pieces.
trait Stage {
    /// Decode `input`, passing what it yields to `emit`.
    fn push(
        &mut self,
        input: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
    ) -> Result<(), Stop>;
    /// The input has ended: pass on whatever is held back.
    fn finish(&mut self, _emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>) -> Result<(), Stop> {
        Ok(())
    }
}

/// Deflate, with or without the zlib wrapper, chosen from the first two
/// bytes as PDF readers do (a zlib header: compression method 8, the check
/// bits right, no preset dictionary).
struct Inflate {
    /// The first bytes, until two have come to decide the wrapper.
    head: Vec<u8>,
    inner: Option<Decompress>,
    done: bool,
    out: Vec<u8>,
}

impl Inflate {
    fn new() -> Inflate {
        Inflate {
            head: Vec::new(),
            inner: None,
            done: false,
            out: vec![0; CHUNK],
        }
    }

    fn run(
        &mut self,
        mut input: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let Some(z) = self.inner.as_mut() else {
            return Ok(());
        };
        while !self.done {
            let (before_in, before_out) = (z.total_in(), z.total_out());
            let status = z
                .decompress(input, &mut self.out, FlushDecompress::None)
                .map_err(|_| Stop::Damaged)?;
            let used = (z.total_in() - before_in) as usize;
            let made = (z.total_out() - before_out) as usize;
            input = &input[used..];
            if made > 0 {
                emit(&self.out[..made])?;
            }
            if status == Status::StreamEnd {
                self.done = true;
            } else if (used == 0 && made == 0) || (input.is_empty() && made < self.out.len()) {
                // No progress, or out of input with room to spare: wait for more.
                break;
            }
        }
        Ok(())
    }
}

impl Stage for Inflate {
    fn push(
        &mut self,
        input: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        if self.inner.is_some() {
            return self.run(input, emit);
        }
        self.head.extend_from_slice(input);
        if self.head.len() < 2 {
            return Ok(());
        }
        let (cmf, flg) = (self.head[0], self.head[1]);
        let zlib = cmf & 0x0f == 8
            && (u16::from(cmf) << 8 | u16::from(flg)).is_multiple_of(31)
            && flg & 0x20 == 0;
        self.inner = Some(Decompress::new(zlib));
        let head = std::mem::take(&mut self.head);
        self.run(&head, emit)
    }

    fn finish(&mut self, emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>) -> Result<(), Stop> {
        if self.inner.is_none() && !self.head.is_empty() {
            self.inner = Some(Decompress::new(false));
            let head = std::mem::take(&mut self.head);
            self.run(&head, emit)?;
        }
        // Let the decoder flush what it holds for a stream cut short.
        if let Some(z) = self.inner.as_mut()
            && !self.done
        {
            let before = z.total_out();
            let _ = z.decompress(&[], &mut self.out, FlushDecompress::Finish);
            let made = (z.total_out() - before) as usize;
            if made > 0 {
                emit(&self.out[..made])?;
            }
        }
        Ok(())
    }
}

/// LZW with 8-bit literals, most significant bit first (ISO 32000-1 §7.4.4.2).
struct Lzw {
    inner: weezl::decode::Decoder,
    done: bool,
    out: Vec<u8>,
}

impl Lzw {
    fn new(early_change: bool) -> Lzw {
        let order = weezl::BitOrder::Msb;
        Lzw {
            inner: if early_change {
                weezl::decode::Decoder::with_tiff_size_switch(order, 8)
            } else {
                weezl::decode::Decoder::new(order, 8)
            },
            done: false,
            out: vec![0; CHUNK],
        }
    }
}

impl Stage for Lzw {
    fn push(
        &mut self,
        mut input: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        while !self.done {
            let r = self.inner.decode_bytes(input, &mut self.out);
            input = &input[r.consumed_in..];
            if r.consumed_out > 0 {
                emit(&self.out[..r.consumed_out])?;
            }
            match r.status {
                Ok(weezl::LzwStatus::Done) => self.done = true,
                Ok(weezl::LzwStatus::NoProgress) => break,
                Ok(weezl::LzwStatus::Ok) => {
                    if input.is_empty() && r.consumed_out < self.out.len() {
                        break;
                    }
                }
                Err(_) => return Err(Stop::Damaged),
            }
        }
        Ok(())
    }
}

/// Run-length (ISO 32000-1 §7.4.5): a length byte 0–127 copies that many
/// plus one bytes, 129–255 repeats the next byte 257 minus that many times,
/// 128 ends the data.
#[derive(Default)]
struct RunLength {
    /// Literal bytes still to copy.
    literal: usize,
    /// A repeat waiting for its byte.
    repeat: Option<usize>,
    done: bool,
    out: Vec<u8>,
}

impl Stage for RunLength {
    fn push(
        &mut self,
        input: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let mut i = 0;
        while i < input.len() && !self.done {
            if self.literal > 0 {
                let n = self.literal.min(input.len() - i);
                self.out.extend_from_slice(&input[i..i + n]);
                self.literal -= n;
                i += n;
            } else if let Some(n) = self.repeat.take() {
                self.out.resize(self.out.len() + n, input[i]);
                i += 1;
            } else {
                match input[i] {
                    128 => self.done = true,
                    l @ 0..=127 => self.literal = usize::from(l) + 1,
                    l => self.repeat = Some(257 - usize::from(l)),
                }
                i += 1;
            }
            if self.out.len() >= CHUNK {
                emit(&self.out)?;
                self.out.clear();
            }
        }
        Ok(())
    }

    fn finish(&mut self, emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>) -> Result<(), Stop> {
        if !self.out.is_empty() {
            emit(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }
}

/// PDF white space (ISO 32000-1 Table 1).
fn is_white(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}

/// Hexadecimal pairs, white space ignored, `>` ending the data
/// (ISO 32000-1 §7.4.2); an odd last digit is followed by a 0.
#[derive(Default)]
struct AsciiHex {
    high: Option<u8>,
    done: bool,
    out: Vec<u8>,
}

impl Stage for AsciiHex {
    fn push(
        &mut self,
        input: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        for &b in input {
            if self.done {
                break;
            }
            let v = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                b'>' => {
                    self.done = true;
                    continue;
                }
                b if is_white(b) => continue,
                _ => return Err(Stop::Damaged),
            };
            match self.high.take() {
                Some(h) => self.out.push(h << 4 | v),
                None => self.high = Some(v),
            }
        }
        if self.out.len() >= CHUNK {
            emit(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    fn finish(&mut self, emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>) -> Result<(), Stop> {
        if let Some(h) = self.high.take() {
            self.out.push(h << 4);
        }
        if !self.out.is_empty() {
            emit(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }
}

/// Base-85 groups of five characters `!`–`u` giving four bytes, `z` for
/// four zero bytes, `~>` ending the data (ISO 32000-1 §7.4.3).
#[derive(Default)]
struct Ascii85 {
    group: Vec<u8>,
    done: bool,
    out: Vec<u8>,
}

impl Ascii85 {
    /// Decode a group of 2–5 digits (a short last group is padded with `u`).
    fn flush(&mut self) -> Result<(), Stop> {
        let n = self.group.len();
        if n == 0 {
            return Ok(());
        }
        if n == 1 {
            return Err(Stop::Damaged);
        }
        let mut v: u64 = 0;
        for i in 0..5 {
            let d = self.group.get(i).map_or(84, |b| u64::from(b - b'!'));
            v = v * 85 + d;
        }
        let v = u32::try_from(v).map_err(|_| Stop::Damaged)?;
        self.out.extend_from_slice(&v.to_be_bytes()[..n - 1]);
        self.group.clear();
        Ok(())
    }
}

impl Stage for Ascii85 {
    fn push(
        &mut self,
        input: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        for &b in input {
            if self.done {
                break;
            }
            match b {
                b'~' => {
                    self.flush()?;
                    self.done = true;
                }
                b'z' if self.group.is_empty() => self.out.extend_from_slice(&[0; 4]),
                b'!'..=b'u' => {
                    self.group.push(b);
                    if self.group.len() == 5 {
                        self.flush()?;
                    }
                }
                b if is_white(b) => {}
                _ => return Err(Stop::Damaged),
            }
            if self.out.len() >= CHUNK {
                emit(&self.out)?;
                self.out.clear();
            }
        }
        Ok(())
    }

    fn finish(&mut self, emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>) -> Result<(), Stop> {
        self.flush()?;
        if !self.out.is_empty() {
            emit(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }
}

/// PNG predictors (a filter-type byte before each row, RFC 2083 §6) and
/// TIFF predictor 2 (horizontal differences of 8-bit samples), undone row
/// by row (ISO 32000-1 §7.4.4.4).
struct Unpredict {
    png: bool,
    /// Bytes per pixel (at least 1) and per row.
    bpp: usize,
    row_len: usize,
    /// The row being filled (with its filter byte for PNG) and the row
    /// before it.
    row: Vec<u8>,
    prev: Vec<u8>,
}

impl Unpredict {
    /// `None` when the row would be larger than `max_row` bytes.
    fn new(p: &Predictor, max_row: usize) -> Option<Unpredict> {
        let bits_per_pixel = u64::from(p.colors.max(1)) * u64::from(p.bits.max(1));
        let row_len = (u64::from(p.columns.max(1)) * bits_per_pixel).div_ceil(8);
        if row_len > max_row as u64 {
            return None;
        }
        let row_len = row_len as usize;
        Some(Unpredict {
            png: p.kind >= 10,
            bpp: bits_per_pixel.div_ceil(8).max(1) as usize,
            row_len,
            row: Vec::with_capacity(row_len + 1),
            prev: vec![0; row_len],
        })
    }

    /// Undo the prediction of the full row in `self.row`.
    fn decode_row(&mut self) -> &[u8] {
        let bpp = self.bpp;
        if !self.png {
            let row = &mut self.row;
            for i in bpp..row.len() {
                row[i] = row[i].wrapping_add(row[i - bpp]);
            }
            return &self.row;
        }
        let kind = self.row[0];
        let (prev, row) = (&self.prev, &mut self.row[1..]);
        for i in 0..row.len() {
            let a = if i >= bpp { row[i - bpp] } else { 0 };
            let b = prev[i];
            let c = if i >= bpp { prev[i - bpp] } else { 0 };
            row[i] = row[i].wrapping_add(match kind {
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                _ => 0,
            });
        }
        self.prev.copy_from_slice(row);
        &self.row[1..]
    }
}

impl Stage for Unpredict {
    fn push(
        &mut self,
        mut input: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let full = self.row_len + usize::from(self.png);
        while !input.is_empty() {
            let n = (full - self.row.len()).min(input.len());
            self.row.extend_from_slice(&input[..n]);
            input = &input[n..];
            if self.row.len() == full {
                emit(self.decode_row())?;
                self.row.clear();
            }
        }
        Ok(())
    }

    fn finish(&mut self, emit: &mut dyn FnMut(&[u8]) -> Result<(), Stop>) -> Result<(), Stop> {
        // A last short row is passed on as it is.
        let start = usize::from(self.png).min(self.row.len());
        if self.row.len() > start {
            emit(&self.row[start..])?;
        }
        self.row.clear();
        Ok(())
    }
}

/// Feed `input` through `stages` into `sink`.
fn run(
    stages: &mut [Box<dyn Stage>],
    input: &[u8],
    sink: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
) -> Result<(), Stop> {
    match stages.split_first_mut() {
        None => sink(input),
        Some((first, rest)) => first.push(input, &mut |out| run(rest, out, sink)),
    }
}

/// End of input: each stage in turn passes on what it holds.
fn finish(
    stages: &mut [Box<dyn Stage>],
    sink: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
) -> Result<(), Stop> {
    match stages.split_first_mut() {
        None => Ok(()),
        Some((first, rest)) => {
            first.finish(&mut |out| run(rest, out, sink))?;
            finish(rest, sink)
        }
    }
}

/// The outcome of [`decode_capped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Decoded bytes handed to the sink (at most `limit + 1`).
    pub bytes: u64,
    /// Why decoding stopped before the end, if it did.
    pub stopped: Option<Stop>,
}

/// Decode `raw` through `steps` (in order), handing the decoded data to
/// `sink` in chunks, and stop as soon as more than `limit` bytes have come
/// out (with [`Stop::Limit`]), the sink returns an error, or the data turns
/// out damaged. Nothing is decoded past the limit: the cost is that of
/// `limit` bytes, however large the stream would be.
pub(crate) fn decode_capped(
    raw: &[u8],
    steps: &[Step],
    limit: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), Stop>,
) -> Decoded {
    let mut stages: Vec<Box<dyn Stage>> = Vec::new();
    for step in steps {
        match step.filter {
            Filter::Flate => stages.push(Box::new(Inflate::new())),
            Filter::Lzw { early_change } => stages.push(Box::new(Lzw::new(early_change))),
            Filter::RunLength => stages.push(Box::<RunLength>::default()),
            Filter::AsciiHex => stages.push(Box::<AsciiHex>::default()),
            Filter::Ascii85 => stages.push(Box::<Ascii85>::default()),
            Filter::Crypt => {}
            Filter::Image => break,
        }
        if let Some(p) = step.predictor.filter(|p| p.kind >= 2)
            && matches!(step.filter, Filter::Flate | Filter::Lzw { .. })
        {
            match Unpredict::new(&p, usize::try_from(limit).unwrap_or(usize::MAX)) {
                Some(u) => stages.push(Box::new(u)),
                // A row larger than the whole limit: nothing sensible can come out.
                None => {
                    return Decoded {
                        bytes: 0,
                        stopped: Some(Stop::Damaged),
                    };
                }
            }
        }
    }
    let mut bytes = 0u64;
    let mut counted = |chunk: &[u8]| -> Result<(), Stop> {
        let room = limit.saturating_sub(bytes);
        bytes += chunk.len() as u64;
        if chunk.len() as u64 > room {
            // Hand on only what fits, plus one byte to show it did not.
            sink(&chunk[..room as usize])?;
            return Err(Stop::Limit);
        }
        sink(chunk)
    };
    let result =
        run(&mut stages, raw, &mut counted).and_then(|()| finish(&mut stages, &mut counted));
    Decoded {
        bytes: bytes.min(limit.saturating_add(1)),
        stopped: result.err(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn step(filter: Filter) -> Step {
        Step {
            filter,
            predictor: None,
        }
    }

    /// Decode everything (limit far above) and collect the output.
    fn decode_all(raw: &[u8], steps: &[Step]) -> (Vec<u8>, Option<Stop>) {
        let mut out = Vec::new();
        let d = decode_capped(raw, steps, 1 << 30, &mut |c| {
            out.extend_from_slice(c);
            Ok(())
        });
        assert_eq!(d.bytes, out.len() as u64);
        (out, d.stopped)
    }

    #[test]
    fn zlib_and_raw_deflate_decode_fed_in_any_pieces() {
        let text: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let z = zlib(&text);
        assert_eq!(decode_all(&z, &[step(Filter::Flate)]), (text.clone(), None));
        // Raw deflate (no zlib wrapper), as some producers write it.
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&text).unwrap();
        let raw = e.finish().unwrap();
        assert_eq!(decode_all(&raw, &[step(Filter::Flate)]).0, text);
        // Two Flate filters chained: the second stage gets the first's
        // output in 64 KiB pieces, its header split across none or some.
        let twice = zlib(&z);
        assert_eq!(
            decode_all(&twice, &[step(Filter::Flate), step(Filter::Flate)]).0,
            text
        );
    }

    #[test]
    fn an_inflate_bomb_stops_at_the_limit_having_decoded_only_that_much() {
        // 1 GiB of zeros, compressed a chunk at a time (about 1 MB).
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < 2 << 20, "{}", bomb.len());
        let limit = 8 << 20;
        let mut seen = 0u64;
        let started = std::time::Instant::now();
        let d = decode_capped(&bomb, &[step(Filter::Flate)], limit, &mut |c| {
            seen += c.len() as u64;
            Ok(())
        });
        assert_eq!(d.stopped, Some(Stop::Limit));
        assert_eq!(d.bytes, limit + 1);
        // The sink saw exactly the limit, nothing beyond it.
        assert_eq!(seen, limit);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn the_limit_is_exact() {
        let data = vec![b'x'; 100_000];
        let z = zlib(&data);
        let at = |limit| decode_capped(&z, &[step(Filter::Flate)], limit, &mut |_| Ok(()));
        assert_eq!(at(100_000).stopped, None);
        assert_eq!(at(100_000).bytes, 100_000);
        assert_eq!(at(99_999).stopped, Some(Stop::Limit));
    }

    #[test]
    fn chained_filters_multiply_and_are_capped_at_the_end() {
        // Flate of Flate of zeros: a million to one.
        let inner = zlib(&vec![0u8; 64 << 20]);
        let outer = zlib(&inner);
        let d = decode_capped(
            &outer,
            &[step(Filter::Flate), step(Filter::Flate)],
            1 << 20,
            &mut |_| Ok(()),
        );
        assert_eq!(d.stopped, Some(Stop::Limit));
    }

    #[test]
    fn ascii_filters_and_run_length_decode() {
        assert_eq!(
            decode_all(b"48 65 6c6C6f>ignored", &[step(Filter::AsciiHex)]),
            (b"Hello".to_vec(), None)
        );
        assert_eq!(decode_all(b"414", &[step(Filter::AsciiHex)]).0, b"A\x40");
        assert_eq!(
            decode_all(b"87cURD]i,\"Ebo80~>", &[step(Filter::Ascii85)]),
            (b"Hello World!".to_vec(), None)
        );
        assert_eq!(
            decode_all(b"z!!~>", &[step(Filter::Ascii85)]).0,
            [0, 0, 0, 0, 0]
        );
        assert_eq!(
            decode_all(
                &[2, b'a', b'b', b'c', 254, b'z', 128, 9],
                &[step(Filter::RunLength)]
            )
            .0,
            b"abczzz"
        );
        // 255 repeats 2 times; 129 repeats 128 times: 64:1 at most.
        let bomb: Vec<u8> = (0..1000).flat_map(|_| [129u8, 0]).collect();
        let d = decode_capped(&bomb, &[step(Filter::RunLength)], 10_000, &mut |_| Ok(()));
        assert_eq!(d.stopped, Some(Stop::Limit));
        assert_eq!(
            decode_all(b"4G", &[step(Filter::AsciiHex)]).1,
            Some(Stop::Damaged)
        );
    }

    #[test]
    fn lzw_decodes_with_and_without_early_change() {
        let text = b"-----A---B-----A---B-----A---B".repeat(100);
        for early in [true, false] {
            let mut enc = if early {
                weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            } else {
                weezl::encode::Encoder::new(weezl::BitOrder::Msb, 8)
            };
            let coded = enc.encode(&text).unwrap();
            let out = decode_all(
                &coded,
                &[step(Filter::Lzw {
                    early_change: early,
                })],
            );
            assert_eq!(out, (text.clone(), None), "early change {early}");
        }
    }

    #[test]
    fn png_and_tiff_predictors_are_undone() {
        // Two rows of 4 one-byte pixels: PNG Sub then Up.
        let png = [1u8, 10, 1, 1, 1, 2, 1, 1, 1, 1];
        let predictor = Predictor {
            kind: 12,
            colors: 1,
            bits: 8,
            columns: 4,
        };
        let steps = [Step {
            filter: Filter::Flate,
            predictor: Some(predictor),
        }];
        assert_eq!(
            decode_all(&zlib(&png), &steps).0,
            [10, 11, 12, 13, 11, 12, 13, 14]
        );
        let tiff = [5u8, 1, 1, 1];
        let steps = [Step {
            filter: Filter::Flate,
            predictor: Some(Predictor {
                kind: 2,
                ..predictor
            }),
        }];
        assert_eq!(decode_all(&zlib(&tiff), &steps).0, [5, 6, 7, 8]);
    }

    #[test]
    fn image_filters_end_the_chain() {
        let z = zlib(b"jpeg bytes");
        let steps = [
            step(Filter::Flate),
            step(Filter::Image),
            step(Filter::Flate),
        ];
        assert_eq!(decode_all(&z, &steps), (b"jpeg bytes".to_vec(), None));
    }

    #[test]
    fn damaged_deflate_stops_without_error_past_what_decoded() {
        let mut z = zlib(&vec![b'a'; 10_000]);
        let n = z.len();
        z[n / 2] ^= 0xff;
        z[n / 2 + 1] ^= 0x55;
        let (out, _) = decode_all(&z, &[step(Filter::Flate)]);
        assert!(out.len() <= 10_000);
    }
}

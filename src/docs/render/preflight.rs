//! Limits a PDF must meet before it is rendered or read.
//!
//! A PDF's size says little about what it costs: a two-megabyte file can
//! hold a stream that inflates to gigabytes, or a page of a billion drawing
//! operators, and hayro (like any renderer) decodes a stream whole before
//! it reads it. So each PDF is checked first, with the decoders of
//! [`super::filters`], which stop at the limit instead of after the damage:
//!
//! * every stream, and every page's content (the concatenation of its
//!   content streams, which the renderer holds as one), decodes to at most
//!   [`Limits::stream_bytes`];
//! * all streams of the document together decode to at most
//!   [`Limits::document_bytes`] (each stream counted once);
//! * each page runs at most [`Limits::page_operators`] operators, counting
//!   the operators of a form XObject each time the page (or another form)
//!   invokes it, as a renderer runs it, down to the 50 levels of nesting a
//!   renderer follows; annotation appearances count as forms drawn once;
//! * every image XObject declares at most `max_pixels` pixels.
//!
//! Object and cross-reference streams are read by the PDF parser itself,
//! before any of the above can look at the document, so they are found in
//! the raw bytes and measured first ([`check_raw`]).
//!
//! What this does not bound (Type 3 glyph procedures, tiling pattern
//! cells, the cost of a single operator) is bounded by the render time
//! limit and, in the daemon, by the memory and CPU limits of the worker
//! process that renders ([`super::worker`]).

use std::collections::{HashMap, HashSet};

use hayro::hayro_syntax::Pdf;
use hayro::hayro_syntax::object::{Array, Dict, Name, Object, ObjectIdentifier, Stream};

use super::filters::{Decoded, Filter, Predictor, Step, Stop, decode_capped};
use super::operators::{OperatorCounter, unescape_name};
use crate::docs::DocError;

/// Nesting levels of forms a renderer follows (hayro stops at 50).
const MAX_NESTING: u8 = 50;
/// Steps of the form-cost walk before a document is judged too complex.
const MAX_WALK: u64 = 1_000_000;

/// The limits checked before a PDF is rendered (from `[documents]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Decoded bytes of one stream, or of one page's content.
    pub stream_bytes: u64,
    /// Decoded bytes of all streams of a document.
    pub document_bytes: u64,
    /// Operators one page may run, forms counted at each use.
    pub page_operators: u64,
    /// Pixels an image may declare.
    pub max_pixels: u64,
}

/// The filter chain of a stream, as a reader applies it (ISO 32000-1
/// §7.3.8.2: `/Filter` a name or an array, `/DecodeParms` a dictionary or
/// an array of them in step with the filters).
pub(crate) fn steps_of(dict: &Dict<'_>) -> Vec<Step> {
    let params_of = |p: Option<Dict<'_>>| {
        let p = p.unwrap_or_default();
        let early_change = p.get::<i64>(b"EarlyChange").unwrap_or(1) != 0;
        let predictor = p.get::<u32>(b"Predictor").map(|kind| Predictor {
            kind,
            colors: p.get::<u32>(b"Colors").unwrap_or(1),
            bits: p.get::<u32>(b"BitsPerComponent").unwrap_or(8),
            columns: p.get::<u32>(b"Columns").unwrap_or(1),
        });
        (early_change, predictor)
    };
    let step = |name: &Name<'_>, params: Option<Dict<'_>>| {
        let (early_change, predictor) = params_of(params);
        Filter::from_name(name.as_ref(), early_change).map(|filter| Step { filter, predictor })
    };
    let get_name = |k: &[u8]| dict.get::<Name<'_>>(k);
    let get_array = |k: &[u8]| dict.get::<Array<'_>>(k);
    if let Some(name) = get_name(b"F").or_else(|| get_name(b"Filter")) {
        let params = dict
            .get::<Dict<'_>>(b"DP")
            .or_else(|| dict.get::<Dict<'_>>(b"DecodeParms"));
        return step(&name, params).into_iter().collect();
    }
    let Some(names) = get_array(b"F").or_else(|| get_array(b"Filter")) else {
        return Vec::new();
    };
    let mut params = get_array(b"DP")
        .or_else(|| get_array(b"DecodeParms"))
        .map(|a| a.iter::<Object<'_>>());
    names
        .iter::<Name<'_>>()
        .filter_map(|name| {
            let p = params
                .as_mut()
                .and_then(|p| p.next())
                .and_then(|p| p.into_dict());
            step(&name, p)
        })
        .collect()
}

/// `n` bytes as people read sizes.
pub(crate) fn size_text(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else {
        format!("{n} bytes")
    }
}

fn stream_too_large(what: &str, limits: &Limits) -> DocError {
    DocError::DecompressedTooLarge {
        what: what.to_string(),
        limit: size_text(limits.stream_bytes),
        scope: "one part of a document".into(),
    }
}

fn document_too_large(what: &str, limits: &Limits) -> DocError {
    DocError::DecompressedTooLarge {
        what: what.to_string(),
        limit: size_text(limits.document_bytes),
        scope: "a whole document".into(),
    }
}

fn too_many_operators(what: &str, page: usize, limits: &Limits) -> DocError {
    DocError::TooManyOperators {
        what: what.to_string(),
        page,
        max: limits.page_operators,
    }
}

/// Find `needle` in `hay` from `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Measure the object streams and cross-reference streams of the raw file
/// (ISO 32000-1 §7.5.7, §7.5.8), which the parser decodes while it opens
/// the document: each must decode to at most `limits.stream_bytes`.
///
/// The dictionary is read only for its `/Length` (when it is a number) and
/// its filter; without a usable `/Length` the data runs to `endstream`.
pub(crate) fn check_raw(data: &[u8], what: &str, limits: &Limits) -> Result<(), DocError> {
    // Every step looks at bytes past the last one: the scan is linear in
    // the file whatever it holds, and decodes each byte at most once.
    let mut at = 0;
    let mut dict_floor = 0;
    let mut total = 0u64;
    let mut next_end: Option<Option<usize>> = None;
    while let Some(pos) = find(data, b"stream", at) {
        at = pos + 6;
        let dict_from = dict_floor.max(pos.saturating_sub(4096));
        dict_floor = at;
        // The keyword, not the end of `endstream`.
        if pos >= 3 && &data[pos - 3..pos] == b"end" {
            continue;
        }
        let start = match data.get(at..at + 2) {
            Some([b'\r', b'\n']) => at + 2,
            Some([b'\n', _]) | Some([b'\r', _]) => at + 1,
            _ => continue,
        };
        // The dictionary: back to `obj`, within 4 KiB and after the
        // previous keyword.
        let dict = &data[dict_from..pos];
        let dict = dict
            .windows(3)
            .rposition(|w| w == b"obj")
            .map_or(dict, |o| &dict[o + 3..]);
        let is = |n: &[u8]| find(dict, n, 0).is_some();
        if !(is(b"/ObjStm") || is(b"/XRef")) || !(is(b"/FlateDecode") || is(b"/Fl")) {
            continue;
        }
        let length = find(dict, b"/Length", 0).and_then(|l| {
            let rest = &dict[l + 7..];
            let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let after = &rest[digits..];
            let after = &after[after.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
            // `N G R` is an indirect length: not usable here.
            let indirect = after.first().is_some_and(u8::is_ascii_digit);
            std::str::from_utf8(&rest[..digits])
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|_| !indirect)
        });
        let end = match length
            .map(|l| start.saturating_add(l))
            .filter(|&e| e <= data.len())
        {
            Some(e) => e,
            None => {
                if next_end.is_none_or(|e| e.is_some_and(|e| e < start)) {
                    next_end = Some(find(data, b"endstream", start));
                }
                next_end.flatten().unwrap_or(data.len())
            }
        };
        let step = Step {
            filter: Filter::Flate,
            predictor: None,
        };
        let d = decode_capped(&data[start..end], &[step], limits.stream_bytes, &mut |_| {
            Ok(())
        });
        if d.stopped == Some(Stop::Limit) {
            return Err(stream_too_large(what, limits));
        }
        total = total.saturating_add(d.bytes);
        if total > limits.document_bytes {
            return Err(document_too_large(what, limits));
        }
        at = at.max(end);
        dict_floor = at;
    }
    Ok(())
}

/// What one content stream (a page's or a form's) holds.
#[derive(Debug, Default)]
struct Content {
    operators: u64,
    /// Names given to `Do`, `#xx` escapes decoded, with their counts.
    invocations: Vec<(Vec<u8>, u64)>,
    /// `Do`s whose name was not kept: each may invoke the costliest XObject.
    unknown: u64,
}

/// Whose `/Resources` a form runs with: its own, or those of the page or
/// form that invoked it (a form without `/Resources` inherits them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    Page(usize),
    Object(ObjectIdentifier),
}

/// The document walk: sizes measured so far and forms read.
struct Check<'p> {
    what: &'p str,
    limits: &'p Limits,
    /// Decoded size of each stream object measured, counted once.
    measured: HashMap<ObjectIdentifier, u64>,
    total: u64,
    forms: HashMap<ObjectIdentifier, Content>,
    costs: HashMap<(ObjectIdentifier, Owner, u8), u64>,
    walked: u64,
}

impl<'p> Check<'p> {
    /// Count a stream object's decoded size towards the document total.
    fn count(&mut self, id: ObjectIdentifier, bytes: u64) -> Result<(), DocError> {
        if self.measured.insert(id, bytes).is_none() {
            self.total = self.total.saturating_add(bytes);
            if self.total > self.limits.document_bytes {
                return Err(document_too_large(self.what, self.limits));
            }
        }
        Ok(())
    }

    /// Decode `stream` (at most `room` bytes) into `counter`, stopping
    /// early once it holds more than the operator limit.
    fn read_content(
        &mut self,
        stream: &Stream<'_>,
        room: u64,
        counter: &mut OperatorCounter,
    ) -> Result<Decoded, DocError> {
        let limit = self.limits.page_operators;
        let raw = stream.raw_data();
        let d = decode_capped(&raw, &steps_of(stream.dict()), room, &mut |chunk| {
            counter.feed(chunk);
            if counter.operators() > limit {
                Err(Stop::Sink)
            } else {
                Ok(())
            }
        });
        counter.end_stream();
        if d.stopped == Some(Stop::Limit) {
            return Err(stream_too_large(self.what, self.limits));
        }
        self.count(stream.obj_id(), d.bytes)?;
        Ok(d)
    }

    /// The content of a form XObject, read once.
    fn form(&mut self, stream: &Stream<'_>) -> Result<(), DocError> {
        let id = stream.obj_id();
        if self.forms.contains_key(&id) {
            return Ok(());
        }
        let mut counter = OperatorCounter::new();
        self.read_content(stream, self.limits.stream_bytes, &mut counter)?;
        let content = content_of(&counter);
        self.forms.insert(id, content);
        Ok(())
    }

    /// The form XObject `name` resolves to in `xobjects`, if it is one.
    fn resolve<'a>(xobjects: &Dict<'a>, name: &[u8]) -> Option<Stream<'a>> {
        xobjects
            .get::<Stream<'_>>(name)
            .filter(|s| s.dict().get::<Name<'_>>(b"Subtype").as_deref() == Some(b"Form".as_slice()))
    }

    /// Operators of `content` run with `xobjects` (owned by `owner`) at
    /// nesting `depth`, its forms counted at each use; saturates a little
    /// above the limit.
    fn cost(
        &mut self,
        content: &Content,
        xobjects: &Dict<'_>,
        owner: Owner,
        depth: u8,
    ) -> Result<u64, DocError> {
        let cap = self.limits.page_operators.saturating_add(1);
        let mut total = content.operators;
        if depth >= MAX_NESTING || total >= cap {
            return Ok(total.min(cap));
        }
        let mut costliest = None;
        if content.unknown > 0 {
            let names: Vec<Vec<u8>> = xobjects.keys().map(|k| k.as_ref().to_vec()).collect();
            let mut most = 0;
            for name in names {
                if let Some(form) = Self::resolve(xobjects, &name) {
                    most = most.max(self.form_cost(&form, xobjects, owner, depth + 1)?);
                }
            }
            costliest = Some(most);
        }
        total = total.saturating_add(content.unknown.saturating_mul(costliest.unwrap_or(0)));
        for (name, uses) in &content.invocations {
            if total >= cap {
                break;
            }
            if let Some(form) = Self::resolve(xobjects, name) {
                let each = self.form_cost(&form, xobjects, owner, depth + 1)?;
                total = total.saturating_add(each.saturating_mul(*uses));
            }
        }
        Ok(total.min(cap))
    }

    /// Operators of one run of `form`, invoked with `xobjects` of `owner`.
    fn form_cost(
        &mut self,
        form: &Stream<'_>,
        xobjects: &Dict<'_>,
        owner: Owner,
        depth: u8,
    ) -> Result<u64, DocError> {
        let id = form.obj_id();
        let own = form.dict().get::<Dict<'_>>(b"Resources");
        let (owner, inner) = match &own {
            Some(r) => (
                Owner::Object(id),
                r.get::<Dict<'_>>(b"XObject").unwrap_or_default(),
            ),
            None => (owner, xobjects.clone()),
        };
        if let Some(&c) = self.costs.get(&(id, owner, depth)) {
            return Ok(c);
        }
        self.walked += 1;
        if self.walked > MAX_WALK {
            // Only a hostile document has this many distinct form uses.
            return Ok(self.limits.page_operators.saturating_add(1));
        }
        self.form(form)?;
        let content = self.forms.remove(&id).unwrap_or_default();
        let cost = self.cost(&content, &inner, owner, depth);
        self.forms.insert(id, content);
        let cost = cost?;
        self.costs.insert((id, owner, depth), cost);
        Ok(cost)
    }
}

fn content_of(counter: &OperatorCounter) -> Content {
    Content {
        operators: counter.operators(),
        invocations: counter
            .invocations()
            .iter()
            .map(|(n, c)| (unescape_name(n), *c))
            .collect(),
        unknown: counter.unknown_invocations(),
    }
}

/// The appearance streams an annotation may draw (ISO 32000-1 §12.5.5):
/// `/AP /N`, a stream or a dictionary of states.
fn appearances<'a>(annot: &Dict<'a>) -> Vec<Stream<'a>> {
    let Some(ap) = annot.get::<Dict<'_>>(b"AP") else {
        return Vec::new();
    };
    match ap.get::<Object<'_>>(b"N") {
        Some(Object::Stream(s)) => vec![s],
        Some(Object::Dict(states)) => {
            let keys: Vec<Vec<u8>> = states.keys().map(|k| k.as_ref().to_vec()).collect();
            keys.iter()
                .filter_map(|k| states.get::<Stream<'_>>(k.as_slice()))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Check a parsed PDF against `limits`; the first limit exceeded is
/// refused, naming it.
pub(crate) fn check(pdf: &Pdf, what: &str, limits: &Limits) -> Result<(), DocError> {
    let mut c = Check {
        what,
        limits,
        measured: HashMap::new(),
        total: 0,
        forms: HashMap::new(),
        costs: HashMap::new(),
        walked: 0,
    };
    for (i, page) in pdf.pages().iter().enumerate() {
        let dict = page.raw();
        let contents: Vec<Stream<'_>> = if let Some(s) = dict.get::<Stream<'_>>(b"Contents") {
            vec![s]
        } else if let Some(a) = dict.get::<Array<'_>>(b"Contents") {
            a.iter::<Stream<'_>>().collect()
        } else {
            Vec::new()
        };
        // The page's content is the streams joined: the renderer holds it
        // as one, so together they meet the per-stream limit.
        let mut counter = OperatorCounter::new();
        let mut page_bytes = 0u64;
        for s in &contents {
            let room = limits.stream_bytes - page_bytes.min(limits.stream_bytes);
            let d = c.read_content(s, room, &mut counter)?;
            page_bytes = page_bytes.saturating_add(d.bytes);
            if counter.operators() > limits.page_operators {
                return Err(too_many_operators(what, i + 1, limits));
            }
        }
        let content = content_of(&counter);
        let xobjects = page.resources().x_objects.clone();
        let owner = Owner::Page(i);
        let mut ops = c.cost(&content, &xobjects, owner, 0)?;
        if let Some(annots) = dict.get::<Array<'_>>(b"Annots") {
            for annot in annots.iter::<Dict<'_>>() {
                for ap in appearances(&annot) {
                    if ops > limits.page_operators {
                        break;
                    }
                    ops = ops.saturating_add(c.form_cost(&ap, &xobjects, owner, 1)?);
                }
            }
        }
        if ops > limits.page_operators {
            return Err(too_many_operators(what, i + 1, limits));
        }
    }
    // Every other stream: fonts, images, embedded files, unused objects.
    let mut seen = HashSet::new();
    for object in pdf.objects() {
        let Object::Stream(s) = object else { continue };
        let id = s.obj_id();
        if !seen.insert(id) {
            continue;
        }
        let dict = s.dict();
        if dict.get::<Name<'_>>(b"Subtype").as_deref() == Some(b"Image".as_slice()) {
            let w = dict.get::<i64>(b"Width").map_or(0, |v| v.max(0) as u64);
            let h = dict.get::<i64>(b"Height").map_or(0, |v| v.max(0) as u64);
            if w.saturating_mul(h) > limits.max_pixels {
                return Err(DocError::ImageTooLarge {
                    what: format!("an image in {what}"),
                    width: w,
                    height: h,
                    max_pixels: limits.max_pixels,
                });
            }
        }
        if c.measured.contains_key(&id) {
            continue;
        }
        let raw = s.raw_data();
        let d = decode_capped(&raw, &steps_of(dict), limits.stream_bytes, &mut |_| Ok(()));
        if d.stopped == Some(Stop::Limit) {
            return Err(stream_too_large(what, limits));
        }
        c.count(id, d.bytes)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// Serialise object bodies (object i+1) with a correct cross-reference table.
    pub(crate) fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"%PDF-1.5\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    pub(crate) fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut s = format!("<< /Length {} {dict} >>\nstream\n", data.len()).into_bytes();
        s.extend_from_slice(data);
        s.extend_from_slice(b"\nendstream");
        s
    }

    /// `unit` repeated until `total` bytes, deflated a piece at a time.
    pub(crate) fn deflated_repeat(unit: &[u8], total: usize) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let piece = unit.repeat((1 << 20) / unit.len());
        let mut n = 0;
        while n < total {
            e.write_all(&piece).unwrap();
            n += piece.len();
        }
        e.finish().unwrap()
    }

    /// A one-page PDF whose page shows `content` (given as object bodies
    /// from object 4 on, the page's content stream first).
    fn one_page(resources: &str, rest: Vec<Vec<u8>>) -> Vec<u8> {
        let mut objects = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources {resources} /Contents 4 0 R >>"
            )
            .into_bytes(),
        ];
        objects.extend(rest);
        pdf(&objects)
    }

    fn limits() -> Limits {
        Limits {
            stream_bytes: 8 << 20,
            document_bytes: 16 << 20,
            page_operators: 100_000,
            max_pixels: 10_000_000,
        }
    }

    fn checked(data: &[u8]) -> Result<(), DocError> {
        check_raw(data, "t.pdf", &limits())?;
        let pdf = Pdf::new(data.to_vec()).map_err(|_| DocError::corrupt("t.pdf", "unparsable"))?;
        check(&pdf, "t.pdf", &limits())
    }

    #[test]
    fn an_ordinary_page_passes() {
        let content = b"BT /F1 12 Tf 72 700 Td (Hello) Tj ET 0 0 m 100 100 l S";
        let doc = one_page("<< >>", vec![stream("", content)]);
        checked(&doc).unwrap();
    }

    #[test]
    fn a_content_stream_inflating_past_the_limit_is_refused_naming_it() {
        let bomb = deflated_repeat(b"\0", 64 << 20);
        let doc = one_page("<< >>", vec![stream("/Filter /FlateDecode", &bomb)]);
        let err = checked(&doc).unwrap_err();
        assert!(
            matches!(err, DocError::DecompressedTooLarge { .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("8 MiB") && text.contains("one part"),
            "{text}"
        );
    }

    #[test]
    fn the_document_total_counts_every_stream_once() {
        // Three unused 6 MiB streams: each under the stream limit, together
        // over the 16 MiB document limit.
        let big = deflated_repeat(b"\0", 6 << 20);
        let mut rest = vec![stream("", b"0 0 m")];
        for _ in 0..3 {
            rest.push(stream("/Filter /FlateDecode", &big));
        }
        let err = checked(&one_page("<< >>", rest)).unwrap_err();
        assert!(err.to_string().contains("whole document"), "{err}");
        // Two fit.
        let rest = vec![
            stream("", b"0 0 m"),
            stream("/Filter /FlateDecode", &big),
            stream("/Filter /FlateDecode", &big),
        ];
        checked(&one_page("<< >>", rest)).unwrap();
    }

    #[test]
    fn operators_over_the_page_limit_are_refused_with_the_page() {
        let flood = deflated_repeat(b"h ", 4 << 20);
        let doc = one_page("<< >>", vec![stream("/Filter /FlateDecode", &flood)]);
        let err = checked(&doc).unwrap_err();
        assert!(
            matches!(
                err,
                DocError::TooManyOperators {
                    page: 1,
                    max: 100_000,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn forms_count_at_every_use_down_the_nesting() {
        // Page: 10 × Fm1; Fm1: 10 × Fm2; Fm2: 10 × Fm3; Fm3: 200 operators.
        // 10 × 10 × 10 × 200 = 200 000 operators from a few hundred bytes.
        let nest = |inner: &str| {
            let body = "/X Do ".repeat(10);
            stream(
                &format!(
                    "/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X {inner} >> >>"
                ),
                body.as_bytes(),
            )
        };
        let leaf = stream(
            "/Type /XObject /Subtype /Form /BBox [0 0 10 10]",
            "0 0 m ".repeat(100).as_bytes(),
        );
        let rest = vec![
            stream("", "/Fm1 Do ".repeat(10).as_bytes()),
            nest("6 0 R"),
            nest("7 0 R"),
            leaf,
        ];
        let doc = one_page("<< /XObject << /Fm1 5 0 R >> >>", rest.clone());
        let err = checked(&doc).unwrap_err();
        assert!(
            matches!(err, DocError::TooManyOperators { page: 1, .. }),
            "{err}"
        );
        // With the page invoking it once, 20 000 operators: fine.
        let mut once = rest;
        once[0] = stream("", b"/Fm1 Do");
        checked(&one_page("<< /XObject << /Fm1 5 0 R >> >>", once)).unwrap();
    }

    #[test]
    fn forms_invoking_each_other_are_cut_where_the_reader_cuts_them() {
        // A runs B twice and B runs A twice: endless if followed. The
        // reader does not resolve a reference back into the chain it came
        // by, so neither the check nor the renderer goes round: both end
        // at once, and the page renders.
        let form = |other: u32| {
            stream(
                &format!(
                    "/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X {other} 0 R >> >>"
                ),
                b"0 0 10 10 re f /X Do /X Do",
            )
        };
        let doc = one_page(
            "<< /XObject << /Fm1 5 0 R >> >>",
            vec![stream("", b"/Fm1 Do"), form(6), form(5)],
        );
        let started = std::time::Instant::now();
        checked(&doc).unwrap();
        let opts = crate::docs::RenderOptions::default();
        let pages = crate::docs::render::render_bytes(doc, "t.pdf", &opts, 0).unwrap();
        assert_eq!(pages.len(), 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn images_declaring_too_many_pixels_are_refused() {
        let img = stream(
            "/Type /XObject /Subtype /Image /Width 100000 /Height 100000 /BitsPerComponent 8 /ColorSpace /DeviceGray",
            b"\0",
        );
        let doc = one_page(
            "<< /XObject << /Im0 5 0 R >> >>",
            vec![stream("", b"/Im0 Do"), img],
        );
        assert!(matches!(
            checked(&doc),
            Err(DocError::ImageTooLarge { width: 100000, .. })
        ));
    }

    #[test]
    fn object_streams_are_measured_before_the_parser_opens_them() {
        let bomb = deflated_repeat(b" ", 32 << 20);
        let mut doc = b"%PDF-1.5\n9 0 obj\n".to_vec();
        doc.extend_from_slice(&stream(
            "/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
            &bomb,
        ));
        doc.extend_from_slice(b"\nendobj\n%%EOF\n");
        let err = check_raw(&doc, "t.pdf", &limits()).unwrap_err();
        assert!(
            matches!(err, DocError::DecompressedTooLarge { .. }),
            "{err}"
        );
        // An ordinary content stream is left to the full check.
        let ok = one_page("<< >>", vec![stream("/Filter /FlateDecode", &bomb)]);
        check_raw(&ok, "t.pdf", &limits()).unwrap();
    }

    #[test]
    fn the_raw_scan_stays_linear_on_a_file_of_stream_keywords() {
        // Five megabytes of `stream` keywords and nothing else.
        let junk = b"x stream\n".repeat(600_000);
        let started = std::time::Instant::now();
        check_raw(&junk, "t.pdf", &limits()).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn filter_chains_follow_the_stream_dictionary() {
        let doc = one_page(
            "<< >>",
            vec![stream(
                "/Filter [/AHx /FlateDecode] /DecodeParms [null << /Predictor 12 /Columns 4 >>]",
                b"",
            )],
        );
        let pdf = Pdf::new(doc).unwrap();
        let page = &pdf.pages()[0];
        let s = page.raw().get::<Stream<'_>>(b"Contents").unwrap();
        let steps = steps_of(s.dict());
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].filter, Filter::AsciiHex);
        assert_eq!(steps[1].filter, Filter::Flate);
        assert_eq!(
            steps[1].predictor.map(|p| (p.kind, p.columns)),
            Some((12, 4))
        );
    }
}

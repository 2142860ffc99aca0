//! The UDPTL decoder as it was before it kept its IFPs in reusable buffers
//! (ordered maps, a new vector per IFP): the model the allocation-free
//! decoder is checked against, datagram by datagram, in the tests.

use std::collections::BTreeMap;

use super::{
    HISTORY, IfpSource, MAX_HOLD, RESYNC_JUMP, Recovery, RxEvent, RxStats, UdptlError, parse_packet,
};

/// FEC data carried by one received datagram.
#[derive(Debug, Clone)]
struct FecInfo {
    span: i64,
    entries: Vec<Vec<u8>>,
}

/// Reassembles the IFP stream of one T.38 session from UDPTL datagrams.
///
/// Sequence numbers are unwrapped to a 64-bit count around the newest one
/// seen (serial-number arithmetic), so the wrap from 65535 to 0 is an
/// ordinary step. A datagram up to 128 behind the delivery point is a
/// duplicate or arrived too late and is dropped; one further behind, or more
/// than 1024 ahead of the newest, means the far end restarted its numbering,
/// and the decoder delivers what it holds and starts again from it.
#[derive(Debug, Clone)]
pub(super) struct ReferenceDecoder {
    hold: i64,
    /// Next unwrapped sequence number to deliver; `None` before the first datagram.
    next: Option<i64>,
    /// Highest unwrapped sequence number seen.
    highest: i64,
    /// Received or recovered IFPs not yet delivered.
    pending: BTreeMap<i64, (Vec<u8>, IfpSource)>,
    /// IFP bytes of recent packets (delivered or pending), for FEC repair.
    known: BTreeMap<i64, Vec<u8>>,
    /// FEC data of recent datagrams.
    fec: BTreeMap<i64, FecInfo>,
    stats: RxStats,
}

impl ReferenceDecoder {
    /// A decoder that declares a gap missing once a datagram more than
    /// `hold` packets newer than the gap has arrived and nothing filled it.
    ///
    /// `hold = 0` behaves like SpanDSP: a gap is filled from the datagram
    /// that reveals it or reported missing at once, which keeps T.30 timing
    /// intact. A larger `hold` waits for reordered datagrams and later FEC at
    /// the cost of delay; [`ReferenceDecoder::flush`] ends the wait (e.g. on a
    /// timer in the media task).
    ///
    /// `hold` is capped at 256 packets, which bounds the memory a far end
    /// can make the decoder buffer.
    pub fn new(hold: u16) -> Self {
        Self {
            hold: i64::from(hold.min(MAX_HOLD)),
            next: None,
            highest: 0,
            pending: BTreeMap::new(),
            known: BTreeMap::new(),
            fec: BTreeMap::new(),
            stats: RxStats::default(),
        }
    }

    /// Counters since the decoder was made.
    pub fn stats(&self) -> RxStats {
        self.stats
    }

    /// Take one datagram; returns the IFPs (and gaps) that are now ready, in
    /// sequence order. A malformed datagram changes no state and yields an
    /// error.
    pub fn receive(&mut self, datagram: &[u8]) -> Result<Vec<RxEvent>, UdptlError> {
        let packet = match parse_packet(datagram) {
            Ok(p) => p,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        self.stats.datagrams += 1;
        let mut out = Vec::new();
        if self.next.is_some_and(|next| {
            let ext = self.unwrap_seq(packet.seq);
            ext < next - HISTORY || ext > self.highest + RESYNC_JUMP
        }) {
            // The far end restarted its numbering (a new T.38 session after
            // a re-INVITE, or a gateway reboot). SpanDSP follows such a jump
            // at once; do the same rather than discard thousands of packets
            // as late or report them missing.
            out = self.flush();
            self.next = None;
            self.pending.clear();
            self.known.clear();
            self.fec.clear();
            self.stats.resyncs += 1;
        }
        let ext = match self.next {
            None => {
                // T.38 senders number from 0; a first datagram with a small
                // number means the opening ones were lost, and its recovery
                // data may bring them back.
                let ext = i64::from(packet.seq);
                self.next = Some(if ext < 16 { 0 } else { ext });
                self.highest = ext;
                ext
            }
            Some(_) => self.unwrap_seq(packet.seq),
        };
        let next = self.next.unwrap_or(ext);
        if ext < next || self.pending.contains_key(&ext) {
            if self.known.contains_key(&ext) {
                self.stats.duplicates += 1;
            } else {
                self.stats.late += 1;
                // Too late to deliver, but it may complete an FEC group.
                if ext > self.highest - HISTORY {
                    self.known.insert(ext, packet.primary.to_vec());
                }
            }
            return Ok(out);
        }
        self.highest = self.highest.max(ext);
        self.store(ext, packet.primary.to_vec(), IfpSource::Primary);

        match packet.recovery {
            Recovery::Redundancy(secondary) => {
                for (i, ifp) in secondary.iter().enumerate() {
                    let p = ext - 1 - i as i64;
                    // Zero-length secondaries are fillers some senders use.
                    if p >= next && !ifp.is_empty() && !self.known.contains_key(&p) {
                        self.store(p, ifp.to_vec(), IfpSource::Redundancy);
                        self.stats.recovered_redundancy += 1;
                    }
                }
            }
            Recovery::Fec { span, entries } => {
                self.fec.insert(
                    ext,
                    FecInfo {
                        span: span as i64,
                        entries: entries.iter().map(|e| e.to_vec()).collect(),
                    },
                );
                self.repair_from_fec(next);
            }
        }
        self.prune();
        out.extend(self.deliver(false));
        Ok(out)
    }

    /// Place a 16-bit sequence number on the unwrapped count, taking the
    /// nearer of the candidates around the newest packet seen.
    fn unwrap_seq(&self, seq: u16) -> i64 {
        self.highest + i64::from(seq.wrapping_sub(self.highest as u16) as i16)
    }

    /// Deliver everything still held back, declaring the remaining gaps
    /// missing. Call when the hold time runs out or the session ends.
    pub fn flush(&mut self) -> Vec<RxEvent> {
        self.deliver(true)
    }

    fn store(&mut self, ext: i64, data: Vec<u8>, source: IfpSource) {
        self.known.insert(ext, data.clone());
        self.pending.insert(ext, (data, source));
    }

    /// Rebuild single losses in any FEC group, repeating while repairs make
    /// further groups solvable.
    fn repair_from_fec(&mut self, next: i64) {
        loop {
            let mut repaired = None;
            // A group of packet `l` covers only packets before `l`, so
            // packets at or before `next` have nothing left to repair.
            'search: for (&l, info) in self.fec.range(next + 1..) {
                let n = info.entries.len() as i64;
                for (m, block) in info.entries.iter().enumerate() {
                    let m = m as i64;
                    let mut lost = None;
                    let mut lost_count = 0;
                    for k in 0..info.span {
                        let p = l + m - info.span * n + k * n;
                        if !self.known.contains_key(&p) {
                            lost = Some(p);
                            lost_count += 1;
                        }
                    }
                    let Some(p) = lost else { continue };
                    if lost_count != 1 || p < next {
                        continue;
                    }
                    let mut data = block.clone();
                    for k in 0..info.span {
                        let q = l + m - info.span * n + k * n;
                        if let Some(other) = self.known.get(&q) {
                            for (d, o) in data.iter_mut().zip(other) {
                                *d ^= o;
                            }
                        }
                    }
                    repaired = Some((p, data));
                    break 'search;
                }
            }
            match repaired {
                Some((p, data)) => {
                    self.store(p, data, IfpSource::Fec);
                    self.stats.recovered_fec += 1;
                }
                None => break,
            }
        }
    }

    /// Forget history older than [`HISTORY`] packets. Entries are removed
    /// from the front one by one: normally one per datagram, where
    /// `split_off` would move the whole window into a new tree each time.
    fn prune(&mut self) {
        let floor = self.highest - HISTORY;
        while let Some(entry) = self.known.first_entry()
            && *entry.key() < floor
        {
            entry.remove();
        }
        while let Some(entry) = self.fec.first_entry()
            && *entry.key() < floor
        {
            entry.remove();
        }
    }

    fn deliver(&mut self, flush: bool) -> Vec<RxEvent> {
        let mut out = Vec::new();
        let Some(mut next) = self.next else {
            return out;
        };
        loop {
            if let Some((data, source)) = self.pending.remove(&next) {
                out.push(RxEvent::Ifp {
                    seq: next as u16,
                    data,
                    source,
                });
                next += 1;
                continue;
            }
            let Some((&first_present, _)) = self.pending.iter().next() else {
                break;
            };
            // A gap before `first_present`: declare as much of it missing as
            // the hold allows.
            let limit = if flush {
                first_present
            } else {
                first_present.min(self.highest - self.hold)
            };
            if limit <= next {
                break;
            }
            let count = (limit - next) as u32;
            out.push(RxEvent::Missing {
                first: next as u16,
                count,
            });
            self.stats.missing += u64::from(count);
            next = limit;
        }
        self.next = Some(next);
        out
    }
}

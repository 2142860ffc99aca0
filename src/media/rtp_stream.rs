//! Receiving one G.711 RTP stream for a fax modem: a fixed-delay playout
//! buffer. (Which packets belong to the stream at all — its source address
//! and SSRC — is [`super::source`]'s decision.)
//!
//! A fax modem is a clock-exact listener: V.17 or V.29 demodulators lose lock
//! when samples are inserted or dropped, so the buffer never stretches or
//! shrinks audio. Packets are placed by their RTP timestamp (RFC 3550 §5.1:
//! the sampling instant of the first octet) and played out a fixed delay
//! after the first one arrived. Every 20 ms the media task pulls exactly 160
//! samples; a slot whose packet has not arrived by then is reported as
//! missing (the modem bridges it, T.30 timers keep running) and the packet,
//! should it come later, is dropped as late.
//!
//! Sans-IO: the media task owns the socket and the clock.

use std::collections::BTreeMap;

/// A timestamp jump larger than this (2 s at 8 kHz) is taken as a restart of
/// the far end's stream (new source after a re-INVITE, a gateway reboot)
/// rather than as loss or extreme jitter: the buffer starts again from it.
const RESYNC_JUMP: i64 = 16_000;

/// Most packets held at once. Bounds memory when a far end sends tiny
/// packets with scattered timestamps.
const MAX_PACKETS: usize = 256;

/// What to hand to the fax session for one stretch of the playout timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// G.711 octets that arrived in time, one per sample.
    Audio(Vec<u8>),
    /// This many samples never arrived (or arrived too late).
    Missing(usize),
}

/// Counters for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlayoutStats {
    /// Packets accepted into the buffer.
    pub packets: u64,
    /// Packets that arrived after their slot was played.
    pub late: u64,
    /// Packets whose timestamp was already held.
    pub duplicates: u64,
    /// Packets dropped because the buffer was full.
    pub overflow: u64,
    /// Times the timeline restarted on a timestamp jump.
    pub resyncs: u64,
    /// Samples played from received audio.
    pub played: u64,
    /// Samples reported missing.
    pub missing: u64,
}

/// A fixed-delay playout buffer for one RTP stream, in 8 kHz samples.
#[derive(Debug, Clone)]
pub struct PlayoutBuffer {
    delay: i64,
    /// Unwrapped timestamp of the next sample to play; `None` before the
    /// first packet.
    cursor: Option<i64>,
    /// Packets by unwrapped timestamp.
    packets: BTreeMap<i64, Vec<u8>>,
    stats: PlayoutStats,
}

impl PlayoutBuffer {
    /// A buffer that plays each packet `delay_samples` after the first
    /// packet's arrival would put it (480 samples = 60 ms is ample on a LAN
    /// and small next to T.30's timers).
    pub fn new(delay_samples: u32) -> Self {
        Self {
            delay: i64::from(delay_samples),
            cursor: None,
            packets: BTreeMap::new(),
            stats: PlayoutStats::default(),
        }
    }

    /// Counters since the buffer was made.
    pub fn stats(&self) -> PlayoutStats {
        self.stats
    }

    /// Forget the timeline: the next packet starts it again (a new source).
    pub fn reset(&mut self) {
        self.cursor = None;
        self.packets.clear();
    }

    /// Place a 32-bit RTP timestamp on the unwrapped timeline, nearest to
    /// the playout point (serial-number arithmetic, so the wrap at 2^32 is
    /// an ordinary step).
    fn unwrap(&self, cursor: i64, timestamp: u32) -> i64 {
        cursor + i64::from(timestamp.wrapping_sub(cursor as u32) as i32)
    }

    /// Take one received payload stamped `timestamp`.
    pub fn push(&mut self, timestamp: u32, payload: &[u8]) {
        if payload.is_empty() {
            return;
        }
        let len = payload.len() as i64;
        let ext = match self.cursor {
            None => {
                let ext = i64::from(timestamp);
                self.cursor = Some(ext - self.delay);
                ext
            }
            Some(cursor) => {
                let ext = self.unwrap(cursor, timestamp);
                if ext > cursor + self.delay + RESYNC_JUMP || ext + len < cursor - RESYNC_JUMP {
                    self.stats.resyncs += 1;
                    self.packets.clear();
                    self.cursor = Some(ext - self.delay);
                } else if ext + len <= cursor {
                    self.stats.late += 1;
                    return;
                }
                ext
            }
        };
        if self.packets.contains_key(&ext) {
            self.stats.duplicates += 1;
            return;
        }
        if self.packets.len() >= MAX_PACKETS {
            self.stats.overflow += 1;
            return;
        }
        self.stats.packets += 1;
        self.packets.insert(ext, payload.to_vec());
    }

    /// The next `samples` of the timeline, in order, summing to exactly
    /// `samples`: received audio where it arrived in time, gaps elsewhere.
    pub fn pull(&mut self, samples: usize) -> Vec<Chunk> {
        let mut out: Vec<Chunk> = Vec::new();
        let Some(start) = self.cursor else {
            self.stats.missing += samples as u64;
            return vec![Chunk::Missing(samples)];
        };
        let end = start + samples as i64;
        let mut pos = start;
        while pos < end {
            // The packet covering `pos`, if any (the latest starting at or
            // before it; overlapping packets resolve to the later start).
            let covering = self
                .packets
                .range(..=pos)
                .next_back()
                .filter(|(s, data)| **s + data.len() as i64 > pos)
                .map(|(s, data)| (*s, data));
            if let Some((s, data)) = covering {
                let from = (pos - s) as usize;
                let upto = ((end - s) as usize).min(data.len());
                // A later packet starting inside this one takes over there.
                let upto = self
                    .packets
                    .range(pos + 1..s + upto as i64)
                    .next()
                    .map_or(upto, |(next, _)| (next - s) as usize);
                let bytes = &data[from..upto];
                self.stats.played += bytes.len() as u64;
                match out.last_mut() {
                    Some(Chunk::Audio(v)) => v.extend_from_slice(bytes),
                    _ => out.push(Chunk::Audio(bytes.to_vec())),
                }
                pos = s + upto as i64;
            } else {
                let next = self
                    .packets
                    .range(pos + 1..end)
                    .next()
                    .map_or(end, |(s, _)| *s);
                let gap = (next - pos) as usize;
                self.stats.missing += gap as u64;
                match out.last_mut() {
                    Some(Chunk::Missing(n)) => *n += gap,
                    _ => out.push(Chunk::Missing(gap)),
                }
                pos = next;
            }
        }
        self.cursor = Some(end);
        // Drop what has been played completely.
        while let Some((&s, data)) = self.packets.first_key_value() {
            if s + data.len() as i64 <= end {
                self.packets.pop_first();
            } else {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(v: u8) -> Vec<u8> {
        vec![v; 160]
    }

    fn total(chunks: &[Chunk]) -> usize {
        chunks
            .iter()
            .map(|c| match c {
                Chunk::Audio(v) => v.len(),
                Chunk::Missing(n) => *n,
            })
            .sum()
    }

    #[test]
    fn nothing_received_is_missing() {
        let mut b = PlayoutBuffer::new(480);
        assert_eq!(b.pull(160), vec![Chunk::Missing(160)]);
        assert_eq!(b.stats().missing, 160);
    }

    #[test]
    fn plays_after_the_fixed_delay_in_timestamp_order() {
        let mut b = PlayoutBuffer::new(480);
        let ts0 = u32::MAX - 400; // wraps during the test
        b.push(ts0, &frame(1));
        // Reordered arrival.
        b.push(ts0.wrapping_add(320), &frame(3));
        b.push(ts0.wrapping_add(160), &frame(2));
        for _ in 0..3 {
            assert_eq!(b.pull(160), vec![Chunk::Missing(160)]);
        }
        assert_eq!(b.pull(160), vec![Chunk::Audio(frame(1))]);
        assert_eq!(b.pull(160), vec![Chunk::Audio(frame(2))]);
        assert_eq!(b.pull(160), vec![Chunk::Audio(frame(3))]);
        assert_eq!(b.pull(160), vec![Chunk::Missing(160)]);
    }

    #[test]
    fn lost_slot_is_missing_and_late_packet_dropped() {
        let mut b = PlayoutBuffer::new(320);
        for i in 0..4u32 {
            if i != 2 {
                b.push(1000 + i * 160, &frame(i as u8));
            }
        }
        b.pull(160);
        b.pull(160);
        assert_eq!(b.pull(160), vec![Chunk::Audio(frame(0))]);
        assert_eq!(b.pull(160), vec![Chunk::Audio(frame(1))]);
        assert_eq!(b.pull(160), vec![Chunk::Missing(160)]);
        // Slot 2 arrives after it was due: never played.
        b.push(1000 + 2 * 160, &frame(2));
        assert_eq!(b.stats().late, 1);
        assert_eq!(b.pull(160), vec![Chunk::Audio(frame(3))]);
        let s = b.stats();
        assert_eq!((s.played, s.missing), (3 * 160, 3 * 160));
    }

    #[test]
    fn odd_packet_sizes_keep_exact_sample_count() {
        // 30 ms packets (240 samples) pulled 20 ms at a time.
        let mut b = PlayoutBuffer::new(0);
        let mut played = Vec::new();
        for i in 0..4u32 {
            b.push(
                i * 240,
                &(0..240).map(|k| (i * 240 + k) as u8).collect::<Vec<_>>(),
            );
        }
        for _ in 0..6 {
            let c = b.pull(160);
            assert_eq!(total(&c), 160);
            for ch in c {
                match ch {
                    Chunk::Audio(v) => played.extend(v),
                    Chunk::Missing(_) => panic!("nothing is missing"),
                }
            }
        }
        let want: Vec<u8> = (0..960u32).map(|k| k as u8).collect();
        assert_eq!(played, want);
    }

    #[test]
    fn partial_gap_is_split() {
        let mut b = PlayoutBuffer::new(0);
        b.push(0, &[1; 80]);
        b.push(120, &[2; 40]);
        assert_eq!(
            b.pull(160),
            vec![
                Chunk::Audio(vec![1; 80]),
                Chunk::Missing(40),
                Chunk::Audio(vec![2; 40])
            ]
        );
    }

    #[test]
    fn duplicates_and_jumps() {
        let mut b = PlayoutBuffer::new(160);
        b.push(0, &frame(1));
        b.push(0, &frame(9));
        assert_eq!(b.stats().duplicates, 1);
        b.pull(160);
        assert_eq!(b.pull(160), vec![Chunk::Audio(frame(1))]);
        // The far end restarts its timestamps far away: follow it.
        b.push(3_000_000, &frame(5));
        assert_eq!(b.stats().resyncs, 1);
        assert_eq!(b.pull(160), vec![Chunk::Missing(160)]);
        assert_eq!(b.pull(160), vec![Chunk::Audio(frame(5))]);
    }

    #[test]
    fn memory_is_bounded() {
        let mut b = PlayoutBuffer::new(480);
        for i in 0..10_000u32 {
            b.push(i, &[0]);
        }
        assert!(b.stats().overflow > 0);
        assert_eq!(total(&b.pull(160)), 160);
    }
}

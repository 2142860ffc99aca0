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

/// A timestamp jump larger than this (2 s at 8 kHz) is taken as a restart of
/// the far end's stream (new source after a re-INVITE, a gateway reboot)
/// rather than as loss or extreme jitter: the buffer starts again from it.
const RESYNC_JUMP: i64 = 16_000;

/// Longest payload placed (samples); the rest of a longer one is dropped.
const MAX_PAYLOAD: usize = 2048;

/// What to hand to the fax session for one stretch of the playout timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// G.711 octets that arrived in time, one per sample.
    Audio(Vec<u8>),
    /// This many samples never arrived (or arrived too late).
    Missing(usize),
}

/// A stretch of the playout timeline, borrowed from the buffer
/// ([`PlayoutBuffer::pull_each`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// G.711 octets that arrived in time, one per sample.
    Audio(&'a [u8]),
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
///
/// The samples live in a ring indexed by unwrapped timestamp, with a bit
/// per sample saying whether it arrived: placing a packet and playing a
/// step copy samples and flip bits, and allocate nothing once the ring
/// exists (it is made with the first packet, large enough for every
/// timestamp short of a restart of the stream).
#[derive(Debug, Clone)]
pub struct PlayoutBuffer {
    delay: i64,
    /// Unwrapped timestamp of the next sample to play; `None` before the
    /// first packet.
    cursor: Option<i64>,
    /// Samples by unwrapped timestamp modulo the ring's length (a power of
    /// two).
    ring: Vec<u8>,
    /// One bit per ring slot: the sample there arrived and is not played.
    present: Vec<u64>,
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
            ring: Vec::new(),
            present: Vec::new(),
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
        self.present.fill(0);
    }

    /// Place a 32-bit RTP timestamp on the unwrapped timeline, nearest to
    /// the playout point (serial-number arithmetic, so the wrap at 2^32 is
    /// an ordinary step).
    fn unwrap(&self, cursor: i64, timestamp: u32) -> i64 {
        cursor + i64::from(timestamp.wrapping_sub(cursor as u32) as i32)
    }

    /// The ring, made on first use: every timestamp from the cursor up to
    /// a restart (delay + [`RESYNC_JUMP`] + a payload) has its own slot.
    fn ring_len(&mut self) -> usize {
        if self.ring.is_empty() {
            let need = self.delay as usize + RESYNC_JUMP as usize + MAX_PAYLOAD;
            let len = need.next_power_of_two();
            self.ring = vec![0; len];
            self.present = vec![0; len / 64];
        }
        self.ring.len()
    }

    fn slot(&self, ext: i64) -> usize {
        (ext as u64 & (self.ring.len() as u64 - 1)) as usize
    }

    fn is_present(&self, ext: i64) -> bool {
        let i = self.slot(ext);
        self.present[i / 64] & (1 << (i % 64)) != 0
    }

    /// Take one received payload stamped `timestamp`.
    pub fn push(&mut self, timestamp: u32, payload: &[u8]) {
        if payload.is_empty() {
            return;
        }
        let payload = &payload[..payload.len().min(MAX_PAYLOAD)];
        let len = payload.len() as i64;
        let ring_len = self.ring_len() as i64;
        let (ext, cursor) = match self.cursor {
            None => {
                let ext = i64::from(timestamp);
                self.cursor = Some(ext - self.delay);
                (ext, ext - self.delay)
            }
            Some(cursor) => {
                let ext = self.unwrap(cursor, timestamp);
                if ext > cursor + self.delay + RESYNC_JUMP || ext + len < cursor - RESYNC_JUMP {
                    self.stats.resyncs += 1;
                    self.present.fill(0);
                    self.cursor = Some(ext - self.delay);
                    (ext, ext - self.delay)
                } else if ext + len <= cursor {
                    self.stats.late += 1;
                    return;
                } else {
                    (ext, cursor)
                }
            }
        };
        if ext >= cursor && self.is_present(ext) {
            self.stats.duplicates += 1;
            return;
        }
        if ext + len > cursor + ring_len {
            self.stats.overflow += 1;
            return;
        }
        self.stats.packets += 1;
        // Only what is still to be played: a packet partly late keeps its
        // tail.
        let skip = (cursor - ext).max(0) as usize;
        for (k, &b) in payload.iter().enumerate().skip(skip) {
            let i = self.slot(ext + k as i64);
            self.ring[i] = b;
            self.present[i / 64] |= 1 << (i % 64);
        }
    }

    /// The next `samples` of the timeline, in order, summing to exactly
    /// `samples`: received audio where it arrived in time, gaps elsewhere.
    /// `each` gets the pieces in order, borrowed from the buffer; nothing
    /// is allocated.
    pub fn pull_each(&mut self, samples: usize, mut each: impl FnMut(Piece<'_>)) {
        let Some(start) = self.cursor else {
            self.stats.missing += samples as u64;
            each(Piece::Missing(samples));
            return;
        };
        let end = start + samples as i64;
        let mut pos = start;
        while pos < end {
            let present = self.is_present(pos);
            // The run of slots with the same state, up to the end of the
            // step or of the ring.
            let mut run_end = pos + 1;
            let wrap = pos - self.slot(pos) as i64 + self.ring.len() as i64;
            while run_end < end && run_end < wrap && self.is_present(run_end) == present {
                run_end += 1;
            }
            let n = (run_end - pos) as usize;
            if present {
                let i = self.slot(pos);
                for k in i..i + n {
                    self.present[k / 64] &= !(1 << (k % 64));
                }
                self.stats.played += n as u64;
                each(Piece::Audio(&self.ring[i..i + n]));
            } else {
                self.stats.missing += n as u64;
                each(Piece::Missing(n));
            }
            pos = run_end;
        }
        self.cursor = Some(end);
    }

    /// [`PlayoutBuffer::pull_each`] collected: adjacent pieces of the same
    /// kind joined.
    pub fn pull(&mut self, samples: usize) -> Vec<Chunk> {
        let mut out: Vec<Chunk> = Vec::new();
        self.pull_each(samples, |piece| match (piece, out.last_mut()) {
            (Piece::Audio(b), Some(Chunk::Audio(v))) => v.extend_from_slice(b),
            (Piece::Audio(b), _) => out.push(Chunk::Audio(b.to_vec())),
            (Piece::Missing(n), Some(Chunk::Missing(m))) => *m += n,
            (Piece::Missing(n), _) => out.push(Chunk::Missing(n)),
        });
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
    fn memory_is_fixed_however_packets_come() {
        let mut b = PlayoutBuffer::new(480);
        for i in 0..10_000u32 {
            b.push(i, &[(i % 251) as u8]);
        }
        let ring = b.ring.len();
        assert!(ring <= 32_768, "{ring}");
        // A payload far ahead, short of a restart, is still placed.
        b.push(15_000, &frame(7));
        assert_eq!(b.ring.len(), ring);
        assert_eq!(b.stats().overflow, 0);
        // Every one of the 10 000 samples plays, in order, after the delay.
        let mut played = Vec::new();
        for _ in 0..66 {
            for c in b.pull(160) {
                if let Chunk::Audio(v) = c {
                    played.extend(v);
                }
            }
        }
        let want: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        assert!(played == want, "{} samples played", played.len());
    }

    #[test]
    fn a_step_across_the_end_of_the_ring_is_whole() {
        let mut b = PlayoutBuffer::new(0);
        b.push(0, &[0]);
        let len = b.ring.len() as u32;
        b.pull(1);
        // Packets right up to and past the ring's end.
        let start = len - 80;
        let mut played = Vec::new();
        let mut ts = 1;
        while ts < start + 320 {
            let n = 160.min(start + 320 - ts);
            let data: Vec<u8> = (ts..ts + n).map(|t| (t % 256) as u8).collect();
            b.push(ts, &data);
            ts += n;
            b.pull_each(n as usize, |p| match p {
                Piece::Audio(a) => played.extend_from_slice(a),
                Piece::Missing(_) => panic!("nothing is missing"),
            });
        }
        let want: Vec<u8> = (1..start + 320).map(|t| (t % 256) as u8).collect();
        assert_eq!(played, want);
    }
}

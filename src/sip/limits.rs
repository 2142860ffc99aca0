//! What a stranger can cost: limits on SIP-over-TCP/TLS connections,
//! calls per peer and file descriptors, as pure decisions.
//!
//! A TCP connection costs the daemon a file descriptor and, once the SIP
//! stack serves it, two 64 KiB buffers. Without limits a single address
//! can open connections until the process runs out of descriptors; then
//! every `accept` fails at once and a loop that retries at once spins a
//! core and floods the log, while calls in progress cannot open their
//! media sockets or spool files. So:
//!
//! * [`ConnectionTable`] admits a connection only within a total and a
//!   per-address limit. A connection is *pending* until it has sent one
//!   whole SIP message ([`framing`]); when the total is reached, the oldest
//!   pending connection makes room for the new one (a client that speaks
//!   at once is never starved by idle ones), and a connection that stays
//!   pending past `first_request_secs` is closed.
//! * [`Backoff`] spaces out retries of a failing `accept` (EMFILE: out of
//!   descriptors) and [`LogGate`] lets one log line through per interval,
//!   with the number of events it held back.
//! * [`plan_descriptors`] derives the connection limits from the process's
//!   descriptor limit so that connections, the calls the per-peer limits
//!   let in, and a reserve for the store, the spool and the listeners fit.
//! * [`CallTable`] counts calls in progress per peer or account; beyond
//!   the peer's limit an INVITE gets `503 Service Unavailable` with
//!   `Retry-After` (RFC 3261 §21.5.4), except emergency calls.
//!
//! Counters for `/metrics` are in [`stats`].

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a connection was refused at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The source address already holds its share.
    PerAddress,
    /// Every slot is held by a connection that already sent a request.
    Total,
}

/// What [`ConnectionTable::admit`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission<T> {
    /// Take it under `id`; `evicted` is the pending connection that made
    /// room (close it now).
    Accept {
        /// The new connection's id.
        id: u64,
        /// The payload of the oldest pending connection, closed for room.
        evicted: Option<T>,
    },
    /// Close it at once.
    Refuse(Refusal),
}

#[derive(Debug)]
struct Entry {
    ip: IpAddr,
    pending: bool,
}

/// Open stream connections by source address, with the pending ones (no
/// whole request yet) in arrival order. `T` is what closes a pending
/// connection (a cancellation token in the endpoint).
#[derive(Debug)]
pub struct ConnectionTable<T> {
    max_total: usize,
    max_per_address: usize,
    entries: HashMap<u64, Entry>,
    per_address: HashMap<IpAddr, usize>,
    pending: BTreeMap<u64, T>,
    next_id: u64,
}

impl<T> ConnectionTable<T> {
    /// A table admitting `max_total` connections, `max_per_address` from one
    /// address (both at least 1).
    pub fn new(max_total: usize, max_per_address: usize) -> Self {
        ConnectionTable {
            max_total: max_total.max(1),
            max_per_address: max_per_address.max(1),
            entries: HashMap::new(),
            per_address: HashMap::new(),
            pending: BTreeMap::new(),
            next_id: 0,
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.entries.len()
    }

    /// Connections open now from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.per_address.get(&ip).copied().unwrap_or(0)
    }

    fn remove(&mut self, id: u64) -> Option<T> {
        let entry = self.entries.remove(&id)?;
        if let Some(n) = self.per_address.get_mut(&entry.ip) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(&entry.ip);
            }
        }
        if entry.pending {
            self.pending.remove(&id)
        } else {
            None
        }
    }

    /// Decides on a new connection from `ip`; `close` is kept while it is
    /// pending, to close it if it must make room.
    pub fn admit(&mut self, ip: IpAddr, close: T) -> Admission<T> {
        if self.open_from(ip) >= self.max_per_address {
            return Admission::Refuse(Refusal::PerAddress);
        }
        let mut evicted = None;
        if self.entries.len() >= self.max_total {
            let Some(&oldest) = self.pending.keys().next() else {
                return Admission::Refuse(Refusal::Total);
            };
            evicted = self.remove(oldest);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(id, Entry { ip, pending: true });
        *self.per_address.entry(ip).or_insert(0) += 1;
        self.pending.insert(id, close);
        Admission::Accept { id, evicted }
    }

    /// Connection `id` sent its first whole request: it is no longer
    /// pending, so it is never closed to make room.
    pub fn spoke(&mut self, id: u64) {
        if let Some(e) = self.entries.get_mut(&id)
            && e.pending
        {
            e.pending = false;
            self.pending.remove(&id);
        }
    }

    /// Connection `id` closed (a no-op when it was evicted already).
    pub fn release(&mut self, id: u64) {
        self.remove(id);
    }
}

/// Whether the bytes at the start of a stream hold a whole SIP message
/// (RFC 3261 §18.3: over a stream, `Content-Length` frames the body).
pub mod framing {
    /// Longest message accepted (the stack's own limit).
    pub const MAX_MESSAGE: usize = 65_535;

    /// What the bytes so far amount to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Framing {
        /// More bytes are needed.
        Incomplete,
        /// A whole message ends at this offset.
        Complete(usize),
        /// Not SIP, or too long: close the connection.
        Invalid(&'static str),
    }

    fn header_value<'a>(line: &'a [u8], names: &[&[u8]]) -> Option<&'a [u8]> {
        let colon = line.iter().position(|&b| b == b':')?;
        let name = line[..colon].trim_ascii();
        names
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
            .then(|| line[colon + 1..].trim_ascii())
    }

    /// Looks at the first bytes received on a connection. Keep-alive
    /// CRLFs (RFC 5626 §3.5.1) before the message are skipped and do not
    /// count as a message.
    pub fn frame(buf: &[u8]) -> Framing {
        let start = buf
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(buf.len());
        let msg = &buf[start..];
        // The start line must be text: this catches TLS, HTTP/2 prefaces
        // and binary junk without waiting for the time limit.
        // Without a CRLF yet, a CR at the end may be the first half of one
        // (a read can end between the two).
        let line_end = msg
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(msg.len() - usize::from(msg.last() == Some(&b'\r')));
        if msg[..line_end].iter().any(|&b| !(0x20..0x7f).contains(&b)) {
            return Framing::Invalid("the start line is not text");
        }
        let Some(head_len) = msg.windows(4).position(|w| w == b"\r\n\r\n") else {
            return if msg.len() > MAX_MESSAGE {
                Framing::Invalid("no end of headers within 64 KiB")
            } else {
                Framing::Incomplete
            };
        };
        let head = &msg[..head_len];
        let mut content_length = 0usize;
        for line in head.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(v) = header_value(line, &[b"content-length", b"l"]) {
                match std::str::from_utf8(v).ok().and_then(|v| v.parse().ok()) {
                    Some(n) => content_length = n,
                    None => return Framing::Invalid("unreadable Content-Length"),
                }
            }
        }
        let total = match (head_len + 4).checked_add(content_length) {
            Some(t) if t <= MAX_MESSAGE => t,
            _ => return Framing::Invalid("message longer than 64 KiB"),
        };
        if msg.len() >= total {
            Framing::Complete(start + total)
        } else {
            Framing::Incomplete
        }
    }
}

/// Descriptors kept free for everything that is not a SIP connection or a
/// call: the store (SQLite and its journal), spool files, listeners, SMTP
/// and web connections, logs, and the runtime's own.
pub const DESCRIPTOR_RESERVE: u64 = 256;

/// Descriptors one call may need: RTP and T.38 sockets for each leg of a
/// bridged call, the spool file and its TIFF, and the connection to the
/// mail relay.
pub const DESCRIPTORS_PER_CALL: u64 = 6;

/// Emergency calls are not counted by the per-peer limits; room for this
/// many is kept besides.
pub const EMERGENCY_CALL_RESERVE: u64 = 16;

/// Descriptors one stream connection may need: its socket, and for TCP the
/// local socket pair through which its screened messages reach the SIP
/// stack (a TLS connection needs its socket and a duplicate).
pub const DESCRIPTORS_PER_CONNECTION: u64 = 3;

/// The connection limits that fit the descriptor limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorPlan {
    /// Most stream connections at once.
    pub max_connections: usize,
    /// Most from one address.
    pub max_per_address: usize,
    /// Descriptors set aside for calls.
    pub for_calls: u64,
    /// True when the configured `max_connections` had to be lowered.
    pub lowered: bool,
}

/// Derives the connection limits: connections ×
/// [`DESCRIPTORS_PER_CONNECTION`] + `calls` ×
/// [`DESCRIPTORS_PER_CALL`] + [`DESCRIPTOR_RESERVE`] stay within
/// `soft_limit`, so a call in progress never fails for lack of a
/// descriptor. At least one connection is always allowed.
pub fn plan_descriptors(
    soft_limit: u64,
    calls: u64,
    max_connections: u32,
    max_per_address: u32,
) -> DescriptorPlan {
    let for_calls = (calls + EMERGENCY_CALL_RESERVE).saturating_mul(DESCRIPTORS_PER_CALL);
    let room = soft_limit
        .saturating_sub(DESCRIPTOR_RESERVE)
        .saturating_sub(for_calls)
        / DESCRIPTORS_PER_CONNECTION;
    let room = room.max(1);
    let total = u64::from(max_connections).min(room).max(1);
    DescriptorPlan {
        max_connections: total as usize,
        max_per_address: u64::from(max_per_address).min(total) as usize,
        for_calls,
        lowered: total < u64::from(max_connections),
    }
}

/// Calls in progress per peer or account.
#[derive(Debug, Default)]
pub struct CallTable<K> {
    counts: HashMap<K, u32>,
}

impl<K: Eq + Hash + Clone> CallTable<K> {
    /// An empty table.
    pub fn new() -> Self {
        CallTable {
            counts: HashMap::new(),
        }
    }

    /// Takes a call slot of `key` when it has fewer than `limit` calls.
    pub fn try_acquire(&mut self, key: &K, limit: u32) -> bool {
        let n = self.counts.entry(key.clone()).or_insert(0);
        if *n >= limit {
            return false;
        }
        *n += 1;
        true
    }

    /// A call of `key` ended.
    pub fn release(&mut self, key: &K) {
        if let Some(n) = self.counts.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.counts.remove(key);
            }
        }
    }

    /// Calls of `key` in progress.
    pub fn calls(&self, key: &K) -> u32 {
        self.counts.get(key).copied().unwrap_or(0)
    }
}

/// Process-wide counters of the SIP listeners, for `/metrics`.
pub mod stats {
    use super::*;

    /// Stream connections open now (TCP and TLS).
    pub(crate) static OPEN: AtomicU64 = AtomicU64::new(0);
    /// Refused at accept: the source address held its share.
    pub(crate) static REFUSED_PER_ADDRESS: AtomicU64 = AtomicU64::new(0);
    /// Refused at accept: every slot held by a connection in use.
    pub(crate) static REFUSED_TOTAL: AtomicU64 = AtomicU64::new(0);
    /// Closed to make room for a new connection while still silent.
    pub(crate) static EVICTED: AtomicU64 = AtomicU64::new(0);
    /// Closed for sending no whole request (or no TLS handshake) in time.
    pub(crate) static NO_REQUEST: AtomicU64 = AtomicU64::new(0);
    /// Closed for sending something that is not SIP.
    pub(crate) static NOT_SIP: AtomicU64 = AtomicU64::new(0);
    /// `accept` failures (mostly out of descriptors).
    pub(crate) static ACCEPT_ERRORS: AtomicU64 = AtomicU64::new(0);
    /// INVITEs refused with 503 for a peer's call limit.
    pub(crate) static CALLS_REFUSED: AtomicU64 = AtomicU64::new(0);

    /// A snapshot of the counters.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Snapshot {
        /// Stream connections open now.
        pub open_connections: u64,
        /// Connections closed at accept because their address held its share.
        pub refused_per_address: u64,
        /// Connections closed at accept because every slot was in use.
        pub refused_total: u64,
        /// Silent connections closed to make room.
        pub evicted: u64,
        /// Connections closed for sending no whole request in time.
        pub no_request: u64,
        /// Connections closed for sending something that is not SIP.
        pub not_sip: u64,
        /// Failed accepts.
        pub accept_errors: u64,
        /// INVITEs refused with 503 for a peer's call limit.
        pub calls_refused: u64,
    }

    /// The counters now.
    pub fn snapshot() -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Snapshot {
            open_connections: get(&OPEN),
            refused_per_address: get(&REFUSED_PER_ADDRESS),
            refused_total: get(&REFUSED_TOTAL),
            evicted: get(&EVICTED),
            no_request: get(&NO_REQUEST),
            not_sip: get(&NOT_SIP),
            accept_errors: get(&ACCEPT_ERRORS),
            calls_refused: get(&CALLS_REFUSED),
        }
    }

    /// Adds one to `counter`.
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::framing::{Framing, frame};
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn connection_table_limits_and_eviction() {
        // Steps: (action, address, expected outcome).
        #[derive(Debug)]
        enum Step {
            Admit(&'static str, Result<Option<&'static str>, Refusal>),
            Spoke(u64),
            Release(u64),
        }
        use Step::*;
        let mut t: ConnectionTable<&'static str> = ConnectionTable::new(4, 2);
        let steps = [
            Admit("10.0.0.1", Ok(None)),                 // id 0
            Admit("10.0.0.1", Ok(None)),                 // id 1
            Admit("10.0.0.1", Err(Refusal::PerAddress)), // third from one address
            Admit("10.0.0.2", Ok(None)),                 // id 2
            Spoke(2),
            Admit("10.0.0.3", Ok(None)),             // id 3: table full
            Admit("10.0.0.4", Ok(Some("10.0.0.1"))), // id 4 evicts id 0
            Admit("10.0.0.1", Ok(Some("10.0.0.1"))), // id 5 evicts id 1
            Spoke(3),
            Spoke(4),
            Spoke(5),
            Admit("10.0.0.6", Err(Refusal::Total)), // all four spoke
            Release(0),                             // evicted already: no-op
            Release(4),
            Admit("10.0.0.6", Ok(None)), // id 6
        ];
        let mut payloads = HashMap::new();
        for (i, step) in steps.into_iter().enumerate() {
            match step {
                Admit(addr, want) => {
                    let got = t.admit(ip(addr), addr);
                    match (got, want) {
                        (Admission::Accept { id, evicted }, Ok(ev)) => {
                            payloads.insert(id, addr);
                            assert_eq!(evicted, ev, "step {i}");
                        }
                        (Admission::Refuse(r), Err(w)) => assert_eq!(r, w, "step {i}"),
                        (got, want) => panic!("step {i}: got {got:?}, want {want:?}"),
                    }
                }
                Spoke(id) => t.spoke(id),
                Release(id) => t.release(id),
            }
        }
        assert_eq!(t.open(), 4);
        assert_eq!(t.open_from(ip("10.0.0.1")), 1);
        assert_eq!(t.open_from(ip("10.0.0.9")), 0);
        for id in [2, 3, 5, 6] {
            t.release(id);
        }
        assert_eq!(t.open(), 0);
        assert!(t.per_address.is_empty() && t.pending.is_empty());
    }

    #[test]
    fn framing_of_the_first_message() {
        let options = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nContent-Length: 0\r\n\r\n";
        let invite = "INVITE sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello";
        let table: Vec<(Vec<u8>, Framing)> = vec![
            (b"".to_vec(), Framing::Incomplete),
            (b"\r\n\r\n".to_vec(), Framing::Incomplete),
            (b"OPTIONS sip:a@b SIP/2.0\r\n".to_vec(), Framing::Incomplete),
            // A Content-Length that would overflow the message's length.
            (
                b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 18446744073709551615\r\n\r\n".to_vec(),
                Framing::Invalid("message longer than 64 KiB"),
            ),
            // A read that ends between the CR and the LF of the start line.
            (b"OPTIONS sip:a@b SIP/2.0\r".to_vec(), Framing::Incomplete),
            (b"\nrealm:@\r".to_vec(), Framing::Incomplete),
            (options.into(), Framing::Complete(options.len())),
            (
                format!("\r\n\r\n{options}").into(),
                Framing::Complete(options.len() + 4),
            ),
            (
                format!("{options}INVITE").into(),
                Framing::Complete(options.len()),
            ),
            (invite[..invite.len() - 1].into(), Framing::Incomplete),
            (invite.into(), Framing::Complete(invite.len())),
            (
                b"INVITE sip:a@b SIP/2.0\r\ncontent-LENGTH:  2 \r\n\r\nab".to_vec(),
                Framing::Complete(49),
            ),
            (b"SIP/2.0 200 OK\r\n\r\n".to_vec(), Framing::Complete(18)),
            (
                b"INVITE sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n".to_vec(),
                Framing::Invalid("unreadable Content-Length"),
            ),
            (
                b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 70000\r\n\r\n".to_vec(),
                Framing::Invalid("message longer than 64 KiB"),
            ),
            (
                vec![0x16, 0x03, 0x01, 0x02, 0x00],
                Framing::Invalid("the start line is not text"),
            ),
            (
                vec![b'A'; 70_000],
                Framing::Invalid("no end of headers within 64 KiB"),
            ),
        ];
        for (i, (bytes, want)) in table.into_iter().enumerate() {
            assert_eq!(
                frame(&bytes),
                want,
                "row {i}: {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
            );
        }
    }

    #[test]
    fn descriptor_plans() {
        // (soft limit, calls, max_connections, per address) -> (total, per address, lowered)
        let table = [
            (65_536, 96, 1000, 32, (1000, 32, false)),
            // The unit's old 1024: (1024 - 256 - (96 + 16) * 6) / 3 = 32.
            (1024, 96, 1000, 32, (32, 32, true)),
            (1024, 0, 1000, 32, (224, 32, true)),
            (300, 96, 1000, 32, (1, 1, true)),
            (1_048_576, 10_000, 5000, 64, (5000, 64, false)),
        ];
        for (soft, calls, max, per, (total, per_addr, lowered)) in table {
            let p = plan_descriptors(soft, calls, max, per);
            assert_eq!(
                (p.max_connections, p.max_per_address, p.lowered),
                (total, per_addr, lowered),
                "soft {soft}, calls {calls}"
            );
            assert!(
                p.max_connections as u64 * DESCRIPTORS_PER_CONNECTION
                    + p.for_calls
                    + DESCRIPTOR_RESERVE
                    <= soft.max(p.for_calls + DESCRIPTOR_RESERVE + DESCRIPTORS_PER_CONNECTION),
                "soft {soft}"
            );
        }
    }

    #[test]
    fn call_table_counts_per_key() {
        let mut t: CallTable<&str> = CallTable::new();
        assert!(t.try_acquire(&"flood", 2));
        assert!(t.try_acquire(&"flood", 2));
        assert!(!t.try_acquire(&"flood", 2), "third call over the limit");
        assert!(t.try_acquire(&"other", 2), "another peer has its own");
        assert_eq!(t.calls(&"flood"), 2);
        t.release(&"flood");
        assert!(t.try_acquire(&"flood", 2));
        t.release(&"flood");
        t.release(&"flood");
        t.release(&"flood");
        assert_eq!(t.calls(&"flood"), 0);
        assert!(!t.counts.contains_key("flood"));
    }
}

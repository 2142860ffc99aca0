//! Datagrams sent a little later than asked: a sender that imitates the
//! arrival jitter of a real network (`faxbridge dial --jitter-ms`, and the
//! channels benchmark that drives it).
//!
//! A fax call's media is stepped every 20 ms by the clock, so its packets
//! leave exactly 20 ms apart; deployed gateways' packets do not arrive that
//! way. With a jitter of `j`, each packet is handed to one process-wide
//! thread that sends it after a delay drawn uniformly from `0..=2j`, so
//! it arrives within ±`j` of its slot (around a constant `j` of added
//! delay). With `j` below 10 ms, packets are never reordered. The thread
//! sends everything due on a 1 ms sweep.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

struct Pending {
    due: Instant,
    /// Arrival order among datagrams due at the same instant.
    order: u64,
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    datagram: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Pending>>,
    next_order: u64,
}

/// The delay for a jitter of `jitter` and a random number: uniform in
/// `0..=2 × jitter`, in whole microseconds.
fn delay(jitter: Duration, random: u64) -> Duration {
    let spread = jitter.as_micros() as u64 * 2;
    Duration::from_micros(random % (spread + 1))
}

/// The process's delay line.
pub struct DelayLine {
    queue: Mutex<Queue>,
    wake: Condvar,
}

impl DelayLine {
    /// The process's delay line, its thread started on first use.
    pub fn global() -> &'static Arc<DelayLine> {
        static LINE: OnceLock<Arc<DelayLine>> = OnceLock::new();
        LINE.get_or_init(|| {
            let line = Arc::new(DelayLine {
                queue: Mutex::new(Queue::default()),
                wake: Condvar::new(),
            });
            let l = line.clone();
            std::thread::Builder::new()
                .name("delay-line".into())
                .spawn(move || l.run())
                .expect("cannot start the delay line thread");
            line
        })
    }

    /// Send `datagram` from `socket` to `to` after a random delay of
    /// `0..=2 × jitter`.
    pub fn send(
        &self,
        socket: &Arc<UdpSocket>,
        to: SocketAddr,
        datagram: Vec<u8>,
        jitter: Duration,
    ) {
        let delay = delay(jitter, rand::random());
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let order = q.next_order;
        q.next_order += 1;
        q.heap.push(Reverse(Pending {
            due: Instant::now() + delay,
            order,
            socket: socket.clone(),
            to,
            datagram,
        }));
        drop(q);
        self.wake.notify_one();
    }

    fn run(&self) {
        let mut due_now = Vec::new();
        loop {
            {
                let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                while q.heap.is_empty() {
                    q = self.wake.wait(q).unwrap_or_else(|e| e.into_inner());
                }
                let now = Instant::now();
                while q.heap.peek().is_some_and(|p| p.0.due <= now) {
                    due_now.push(q.heap.pop().expect("peeked").0);
                }
            }
            for p in due_now.drain(..) {
                // Best effort, as the network is: a full socket buffer
                // loses the datagram.
                let _ = p.socket.send_to(&p.datagram, p.to);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_spread_over_twice_the_jitter() {
        let j = Duration::from_millis(5);
        for (random, want_us) in [
            (0, 0),
            (1, 1),
            (10_000, 10_000),
            (10_001, 0),
            (u64::MAX, u64::MAX % 10_001),
        ] {
            assert_eq!(delay(j, random), Duration::from_micros(want_us), "{random}");
        }
        assert_eq!(delay(Duration::ZERO, 12345), Duration::ZERO);
    }

    /// Every datagram arrives, in the order sent (a 5 ms jitter cannot
    /// reorder packets 20 ms apart). Timing is not checked here: on a
    /// loaded machine the thread's wake-ups are late by more than that.
    #[test]
    fn datagrams_arrive_in_order() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let to = rx.local_addr().unwrap();
        let line = DelayLine::global();
        for i in 0..20u8 {
            line.send(&tx, to, vec![i], Duration::from_millis(5));
            std::thread::sleep(Duration::from_millis(20));
        }
        rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 8];
        for i in 0..20u8 {
            let n = rx.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[i]);
        }
    }
}

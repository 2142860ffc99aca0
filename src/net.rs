//! Helpers for network listeners, used by every accept loop (SIP over TCP
//! and TLS, SMTP): the back-off after a failed `accept`, and a gate that
//! keeps a flood of refusals down to one log line per interval.
//!
//! A failed `accept` is usually a process out of file descriptors
//! (`EMFILE`) or a system out of them (`ENFILE`); accepting again at once
//! fails again at once, and a loop that does so spins a core and floods
//! the log. These sit at the bottom of the crate and import nothing of it.

use std::time::{Duration, Instant};

/// Delay before retrying a failed `accept`: 100 ms, doubling up to 1 s,
/// back to 100 ms after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: Backoff::FIRST,
        }
    }
}

impl Backoff {
    /// First delay.
    pub const FIRST: Duration = Duration::from_millis(100);
    /// Longest delay.
    pub const MAX: Duration = Duration::from_secs(1);

    /// The delay to wait after another failure.
    pub fn failed(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Backoff::MAX);
        d
    }

    /// An accept succeeded.
    pub fn succeeded(&mut self) {
        self.next = Backoff::FIRST;
    }
}

/// Lets one log line through per interval and counts the ones held back.
#[derive(Debug, Clone)]
pub struct LogGate {
    every: Duration,
    last: Option<Instant>,
    held: u64,
}

impl LogGate {
    /// A gate opening at most once per `every`.
    pub fn new(every: Duration) -> Self {
        LogGate {
            every,
            last: None,
            held: 0,
        }
    }

    /// An event at `now`: `Some(n)` when it may be logged, `n` being the
    /// events held back since the last line; `None` when it must not be.
    pub fn event(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                self.held += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_second_and_resets() {
        let mut b = Backoff::default();
        let got: Vec<u64> = (0..6).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(), Duration::from_millis(100));
    }

    #[test]
    fn log_gate_lets_one_line_per_interval() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut g = LogGate::new(Duration::from_secs(10));
        let table = [
            (0, Some(0)),
            (1, None),
            (5_000, None),
            (9_999, None),
            (10_000, Some(3)),
            (10_001, None),
            (30_000, Some(1)),
        ];
        for (ms, want) in table {
            assert_eq!(g.event(at(ms)), want, "at {ms} ms");
        }
    }
}

//! Addresses and listeners: the one CIDR block type every part uses
//! (SIP peers, building subnets, trusted relays, web proxies and
//! `metrics_from`), and the helpers of every accept loop (SIP over TCP and
//! TLS, SMTP): the back-off after a failed `accept`, and a gate that keeps
//! a flood of refusals down to one log line per interval.
//!
//! Addresses are compared in their canonical form: an IPv4-mapped IPv6
//! address (`::ffff:a.b.c.d`, as a dual-stack socket reports an IPv4 peer)
//! is the IPv4 address ([`IpAddr::to_canonical`]).
//!
//! A failed `accept` is usually a process out of file descriptors
//! (`EMFILE`) or a system out of them (`ENFILE`); accepting again at once
//! fails again at once, and a loop that does so spins a core and floods
//! the log.
//!
//! This module sits at the bottom of the crate and imports nothing of it.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// An address block such as `10.20.0.0/16`, `2001:db8::/32` or a single
/// host (`192.0.2.7`, a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// A CIDR block that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not an address or CIDR block ({why}); write e.g. `192.0.2.7` or `10.1.0.0/16`"
)]
pub struct CidrError {
    input: String,
    why: &'static str,
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Reads `ADDRESS[/PREFIX]`; bits beyond the prefix are ignored
    /// ([`Cidr::network`] refuses them).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| CidrError {
            input: s.to_string(),
            why,
        };
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err("bad address"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| err("bad prefix length"))?,
            None => max,
        };
        if prefix > max {
            return Err(err("prefix length too long for the address family"));
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    /// Reads a network, refusing an address with host bits set
    /// (`10.1.0.1/16`), which is usually a typing mistake in a subnet.
    pub fn network(s: &str) -> Result<Cidr, CidrError> {
        let c: Cidr = s.parse()?;
        if c.masked(c.addr) != c.addr {
            return Err(CidrError {
                input: s.to_string(),
                why: "host bits are set; use the network address",
            });
        }
        Ok(c)
    }

    /// Prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        }
    }

    /// True when `ip` lies inside the block (IPv4-mapped IPv6 counts as
    /// IPv4; the two families never mix).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.addr.is_ipv4() && self.masked(ip) == self.masked(self.addr)
    }

    /// True when the two blocks share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        if self.addr.is_ipv4() != other.addr.is_ipv4() {
            return false;
        }
        let (wide, narrow) = if self.prefix <= other.prefix {
            (self, other)
        } else {
            (other, self)
        };
        wide.contains(narrow.addr)
    }
}

/// Delay before retrying a failed `accept`: 100 ms, doubling up to 1 s,
/// back to 100 ms after a success.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// First delay.
    pub const FIRST: Duration = Duration::from_millis(100);
    /// Longest delay.
    pub const MAX: Duration = Duration::from_secs(1);

    /// The delay to wait after another failure.
    pub fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        crate::clock::backoff(Backoff::FIRST, Backoff::MAX, self.failures)
    }

    /// An accept succeeded.
    pub fn succeeded(&mut self) {
        self.failures = 0;
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

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parsing_and_matching() {
        let n: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains(ip("10.1.200.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(n.contains(ip("::ffff:10.1.0.9")), "v4-mapped v6 source");
        let host: Cidr = "192.0.2.7".parse().unwrap();
        assert_eq!(host.prefix(), 32);
        assert!(host.contains(ip("192.0.2.7")));
        assert!(!host.contains(ip("192.0.2.8")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")));
        assert!(!all.contains(ip("2001:db8::1")), "families never mix");
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("2001:db9::5")));
        let v6all: Cidr = "::/0".parse().unwrap();
        assert!(v6all.contains(ip("2001:db9::5")));
        // A peer written with host bits still matches its block.
        let loose: Cidr = "10.1.0.1/16".parse().unwrap();
        assert!(loose.contains(ip("10.1.9.9")));
        for bad in ["10.0.0.0/33", "ten/8", "10.0.0.0/x", "", "::/129"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn networks_refuse_host_bits_and_overlap() {
        assert!(Cidr::network("10.1.0.1/16").is_err(), "host bits set");
        assert!(Cidr::network("10.1.0.0/16").is_ok());
        let wide = Cidr::network("10.0.0.0/8").unwrap();
        let narrow = Cidr::network("10.1.200.0/24").unwrap();
        assert!(wide.overlaps(&narrow) && narrow.overlaps(&wide));
        assert!(!wide.overlaps(&Cidr::network("192.168.0.0/16").unwrap()));
        assert!(!wide.overlaps(&Cidr::network("::/0").unwrap()));
    }

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

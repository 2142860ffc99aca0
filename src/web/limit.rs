//! Sign-in limits: a lockout per client address, a growing delay per
//! account.
//!
//! Password guessing comes in two shapes, and each gets its own answer:
//!
//! * **One address trying many passwords** (on one or many accounts): after
//!   `max_failures` failed attempts within `window`, the address is locked
//!   out. Its further attempts are refused (HTTP 429 with `Retry-After`)
//!   without checking the password, until the oldest counted failure
//!   leaves the window. A successful sign-in does not clear the address's
//!   failures: a valid account must not unlock guessing on the others.
//! * **Many addresses trying one account**: a lockout per account would let
//!   anyone lock the real administrator out from everywhere by typing five
//!   wrong passwords. So an account is never refused; instead every attempt
//!   on it waits before its password is checked, for a delay that doubles
//!   with each recent failure on the account (after the first few, which
//!   cost nothing) up to a cap. The right password from an address that is
//!   not locked out still signs in, only later. Each guess then holds a
//!   connection for that long, and every address behind it is still held
//!   to its own `max_failures` per window.
//!
//! Attempts are counted when they start, not when their password has been
//! checked: many requests sent at once from one address cannot all pass the
//! check before the first failure is recorded. A success takes its own
//! attempt back, and the account's earlier failures from the same address
//! (the person's own typing mistakes); an attempt whose client went away
//! before the answer stays counted as failed.
//!
//! An IPv6 client is counted by its /64 (one subscriber's network: its
//! host part is the client's to choose); an IPv4-mapped IPv6 address as the
//! IPv4 address it maps.
//!
//! Sans-IO: the caller passes the time and does the waiting and the
//! logging. Kept in memory like the sessions: a restart forgets it.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// Keys kept per map before expired ones are swept on every new attempt.
const SWEEP_ABOVE: usize = 4096;

/// Longest account name kept as a key (bytes); a longer name counts under
/// its first 128 bytes, so a guesser cannot fill memory with huge names.
const ACCOUNT_KEY_BYTES: usize = 128;

/// How attempts on one account are slowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delays {
    /// Recent failures on an account that cost nothing (typing mistakes).
    pub(crate) free: u32,
    /// The delay once `free` failures are recent; it doubles with each
    /// further failure.
    pub(crate) first: Duration,
    /// The most an attempt waits, however many failures are recent.
    pub(crate) max: Duration,
}

impl Default for Delays {
    /// Three failures free, then 1 s, 2 s, 4 s, 8 s, at most 16 s.
    fn default() -> Self {
        Delays {
            free: 3,
            first: Duration::from_secs(1),
            max: Duration::from_secs(16),
        }
    }
}

impl Delays {
    /// The wait of an attempt on an account with `recent` failures (and
    /// attempts in progress) within the window.
    pub(crate) fn for_recent(&self, recent: usize) -> Duration {
        let over = match u32::try_from(recent) {
            Ok(n) if n < self.free => return Duration::ZERO,
            Ok(n) => n - self.free,
            Err(_) => u32::MAX,
        };
        let factor = 1u32.checked_shl(over).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// One counted attempt: a failure, or an attempt whose password is still
/// being checked.
#[derive(Debug, Clone, Copy)]
struct Mark {
    at: Instant,
    id: u64,
    /// The client address key it came from.
    from: IpAddr,
    /// The password was checked and was wrong.
    settled: bool,
}

/// Drop the marks older than `window`.
fn expire(q: &mut VecDeque<Mark>, window: Duration, now: Instant) {
    while q
        .front()
        .is_some_and(|m| now.saturating_duration_since(m.at) >= window)
    {
        q.pop_front();
    }
}

/// The key an address is counted under.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
            )),
        },
    }
}

/// The key an account name is counted under.
fn account_key(name: &str) -> String {
    if name.len() <= ACCOUNT_KEY_BYTES {
        return name.to_string();
    }
    let mut end = ACCOUNT_KEY_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// The sign-in limiter of one web interface.
#[derive(Debug)]
pub(crate) struct LoginLimiter {
    max_failures: u32,
    window: Duration,
    delays: Delays,
    by_address: HashMap<IpAddr, VecDeque<Mark>>,
    by_account: HashMap<String, VecDeque<Mark>>,
    next_id: u64,
}

/// An attempt that may go ahead: wait [`Attempt::delay`], check the
/// password, then report it with [`LoginLimiter::failed`] or
/// [`LoginLimiter::succeeded`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Attempt {
    id: u64,
    address: IpAddr,
    account: String,
    delay: Duration,
}

impl Attempt {
    /// How long to wait before checking the password.
    pub(crate) fn delay(&self) -> Duration {
        self.delay
    }
}

/// The client address is locked out: refuse before checking the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Locked {
    /// Wait this long before trying again (at least one second).
    pub(crate) retry_after: Duration,
}

/// A client address has just been locked out (reported once per lockout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lockout {
    /// The address (for IPv6 its /64) that is locked out.
    pub(crate) address: IpAddr,
    /// The failures that locked it out.
    pub(crate) failures: u32,
    /// How long the lockout lasts if no further attempt is made.
    pub(crate) lasts: Duration,
}

impl LoginLimiter {
    /// At most `max_failures` failures per `window` per client address;
    /// attempts on an account slowed by `delays`.
    pub(crate) fn new(max_failures: u32, window: Duration, delays: Delays) -> LoginLimiter {
        LoginLimiter {
            max_failures: max_failures.max(1),
            window,
            delays,
            by_address: HashMap::new(),
            by_account: HashMap::new(),
            next_id: 0,
        }
    }

    /// How long until the address with these marks is no longer locked
    /// out, if it is.
    fn locked_for(&self, q: &VecDeque<Mark>, now: Instant) -> Option<Duration> {
        let max = self.max_failures as usize;
        if q.len() < max {
            return None;
        }
        // Unlocked when the mark `max` places from the end leaves the window.
        let oldest = q[q.len() - max].at;
        Some(
            (oldest + self.window)
                .saturating_duration_since(now)
                .max(Duration::from_secs(1)),
        )
    }

    fn sweep(&mut self, now: Instant) {
        let window = self.window;
        let live = |q: &mut VecDeque<Mark>| {
            expire(q, window, now);
            !q.is_empty()
        };
        if self.by_address.len() > SWEEP_ABOVE {
            self.by_address.retain(|_, q| live(q));
        }
        if self.by_account.len() > SWEEP_ABOVE {
            self.by_account.retain(|_, q| live(q));
        }
    }

    /// `address` wants to try a password for `account` at `now`: refused
    /// when the address is locked out, else counted (as a failure until
    /// reported otherwise) with the delay the account's recent failures
    /// call for.
    pub(crate) fn begin(
        &mut self,
        address: IpAddr,
        account: &str,
        now: Instant,
    ) -> Result<Attempt, Locked> {
        let address = address_key(address);
        let account = account_key(account);
        let window = self.window;
        if let Some(q) = self.by_address.get_mut(&address) {
            expire(q, window, now);
        }
        if let Some(retry_after) = self
            .by_address
            .get(&address)
            .and_then(|q| self.locked_for(q, now))
        {
            return Err(Locked { retry_after });
        }
        let recent = match self.by_account.get_mut(&account) {
            Some(q) => {
                expire(q, window, now);
                q.len()
            }
            None => 0,
        };
        self.sweep(now);
        let id = self.next_id;
        self.next_id += 1;
        let mark = Mark {
            at: now,
            id,
            from: address,
            settled: false,
        };
        self.by_address.entry(address).or_default().push_back(mark);
        self.by_account
            .entry(account.clone())
            .or_default()
            .push_back(mark);
        Ok(Attempt {
            id,
            address,
            account,
            delay: self.delays.for_recent(recent),
        })
    }

    /// The password of `attempt` was wrong (or the name unknown). Returns
    /// the lockout this failure starts, if it starts one.
    pub(crate) fn failed(&mut self, attempt: Attempt, now: Instant) -> Option<Lockout> {
        let settle = |q: &mut VecDeque<Mark>| {
            if let Some(m) = q.iter_mut().find(|m| m.id == attempt.id) {
                m.settled = true;
            }
        };
        if let Some(q) = self.by_account.get_mut(&attempt.account) {
            settle(q);
        }
        let q = self.by_address.get_mut(&attempt.address)?;
        settle(q);
        expire(q, self.window, now);
        let settled = q.iter().filter(|m| m.settled).count();
        if settled != self.max_failures as usize {
            return None;
        }
        let q = self.by_address.get(&attempt.address)?;
        Some(Lockout {
            address: attempt.address,
            failures: self.max_failures,
            lasts: self.locked_for(q, now)?,
        })
    }

    /// The password of `attempt` was right: the attempt is taken back, and
    /// so are the account's failures from the same address.
    pub(crate) fn succeeded(&mut self, attempt: Attempt) {
        if let Some(q) = self.by_address.get_mut(&attempt.address) {
            q.retain(|m| m.id != attempt.id);
        }
        if let Some(q) = self.by_account.get_mut(&attempt.account) {
            q.retain(|m| m.id != attempt.id && !(m.settled && m.from == attempt.address));
            if q.is_empty() {
                self.by_account.remove(&attempt.account);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    /// One step of a scenario: at `t` seconds, `ip(addr)` tries `account`.
    #[derive(Debug, Clone, Copy)]
    enum Then {
        /// The attempt goes ahead after this many seconds, password wrong.
        FailsAfter(u64),
        /// The attempt goes ahead after this many seconds, wrong, and locks
        /// the address out for this many seconds.
        LocksOutAfter(u64, u64),
        /// The attempt goes ahead after this many seconds, password right.
        SucceedsAfter(u64),
        /// Refused at once: retry after this many seconds.
        Refused(u64),
    }
    use Then::*;

    fn run(name: &str, max: u32, steps: &[(u64, u8, &str, Then)]) {
        let mut l = LoginLimiter::new(max, 5 * MIN, Delays::default());
        let t0 = Instant::now();
        for (i, &(t, addr, account, then)) in steps.iter().enumerate() {
            let now = t0 + Duration::from_secs(t);
            let got = l.begin(ip(addr), account, now);
            let what = format!("{name}, step {i}: {t} s, {} {account}", ip(addr));
            match then {
                Refused(secs) => {
                    assert_eq!(
                        got,
                        Err(Locked {
                            retry_after: Duration::from_secs(secs)
                        }),
                        "{what}"
                    );
                }
                FailsAfter(wait) => {
                    let a = got.unwrap_or_else(|e| panic!("{what}: refused {e:?}"));
                    assert_eq!(a.delay(), Duration::from_secs(wait), "{what}");
                    assert_eq!(l.failed(a, now), None, "{what}");
                }
                LocksOutAfter(wait, lasts) => {
                    let a = got.unwrap_or_else(|e| panic!("{what}: refused {e:?}"));
                    assert_eq!(a.delay(), Duration::from_secs(wait), "{what}");
                    assert_eq!(
                        l.failed(a, now),
                        Some(Lockout {
                            address: ip(addr),
                            failures: max,
                            lasts: Duration::from_secs(lasts)
                        }),
                        "{what}"
                    );
                }
                SucceedsAfter(wait) => {
                    let a = got.unwrap_or_else(|e| panic!("{what}: refused {e:?}"));
                    assert_eq!(a.delay(), Duration::from_secs(wait), "{what}");
                    l.succeeded(a);
                }
            }
        }
    }

    #[test]
    fn scenarios() {
        run(
            "five wrong passwords for admin lock out the address, not the account",
            5,
            &[
                (0, 1, "admin", FailsAfter(0)),
                (10, 1, "admin", FailsAfter(0)),
                (20, 1, "admin", FailsAfter(0)),
                (30, 1, "admin", FailsAfter(1)),
                (40, 1, "admin", LocksOutAfter(2, 260)),
                // Even the right password is refused from there, until the
                // first failure leaves the window…
                (60, 1, "admin", Refused(240)),
                (60, 1, "finance", Refused(240)),
                // …while the administrator signs in from elsewhere, slowed.
                (61, 2, "admin", SucceedsAfter(4)),
                (299, 1, "admin", Refused(1)),
                // One failure left the window: one more try, which locks
                // it out again until the second leaves.
                (300, 1, "admin", LocksOutAfter(2, 10)),
                (305, 1, "admin", Refused(5)),
            ],
        );
        run(
            "one address guessing many names is locked out for all of them",
            5,
            &[
                (0, 1, "a", FailsAfter(0)),
                (0, 1, "b", FailsAfter(0)),
                (0, 1, "c", FailsAfter(0)),
                (0, 1, "d", FailsAfter(0)),
                (0, 1, "e", LocksOutAfter(0, 300)),
                (1, 1, "f", Refused(299)),
                (1, 2, "f", FailsAfter(0)),
            ],
        );
        run(
            "many addresses guessing one account slow it down, never lock it",
            3,
            &[
                (0, 1, "admin", FailsAfter(0)),
                (0, 2, "admin", FailsAfter(0)),
                (0, 3, "admin", FailsAfter(0)),
                (0, 4, "admin", FailsAfter(1)),
                (0, 5, "admin", FailsAfter(2)),
                (0, 6, "admin", FailsAfter(4)),
                (0, 7, "admin", FailsAfter(8)),
                (0, 8, "admin", FailsAfter(16)),
                (0, 9, "admin", FailsAfter(16)),
                (0, 10, "admin", SucceedsAfter(16)),
                // The successful sign-in did not forget the others' guesses.
                (1, 11, "admin", FailsAfter(16)),
                // Other accounts are not slowed.
                (1, 11, "finance", FailsAfter(0)),
                // After the window, the account is quick again.
                (301, 12, "admin", SucceedsAfter(0)),
            ],
        );
        run(
            "a person's own typing mistakes are forgiven by signing in",
            5,
            &[
                (0, 1, "fin", FailsAfter(0)),
                (1, 1, "fin", FailsAfter(0)),
                (2, 1, "fin", FailsAfter(0)),
                (3, 1, "fin", SucceedsAfter(1)),
                (4, 1, "fin", SucceedsAfter(0)),
                // The address's failures stay: two more and it is locked.
                (5, 1, "x", FailsAfter(0)),
                (6, 1, "y", LocksOutAfter(0, 294)),
            ],
        );
        run(
            "the retry time is never zero",
            1,
            &[
                (0, 1, "a", LocksOutAfter(0, 300)),
                (300 - 1, 1, "a", Refused(1)),
                (300, 1, "a", LocksOutAfter(0, 300)),
            ],
        );
    }

    #[test]
    fn attempts_in_progress_count_so_a_burst_cannot_overshoot() {
        let mut l = LoginLimiter::new(5, 5 * MIN, Delays::default());
        let now = Instant::now();
        // Twenty requests at once from one address: five go ahead, each
        // slowed as the account's count grows, the rest are refused.
        let burst: Vec<_> = (0..20).map(|_| l.begin(ip(1), "admin", now)).collect();
        let delays: Vec<u64> = burst
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|a| a.delay().as_secs()))
            .collect();
        assert_eq!(delays, [0, 0, 0, 1, 2]);
        assert_eq!(burst.iter().filter(|r| r.is_err()).count(), 15);
        // The lockout is reported once, when the fifth failure is known.
        let lockouts: Vec<_> = burst
            .into_iter()
            .flatten()
            .filter_map(|a| l.failed(a, now))
            .collect();
        assert_eq!(lockouts.len(), 1);
        // An abandoned attempt (client gone during its delay) still counts.
        let a = l.begin(ip(2), "x", now).unwrap();
        drop(a);
        for name in ["a", "b", "c", "d"] {
            let a = l.begin(ip(2), name, now).unwrap();
            l.failed(a, now);
        }
        assert!(l.begin(ip(2), "y", now).is_err());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let mut l = LoginLimiter::new(2, 5 * MIN, Delays::default());
        let now = Instant::now();
        let a: IpAddr = "2001:db8:1:2::10".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::99".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::10".parse().unwrap();
        let x = l.begin(a, "u", now).unwrap();
        assert_eq!(l.failed(x, now), None);
        let x = l.begin(b, "v", now).unwrap();
        let lockout = l.failed(x, now).unwrap();
        assert_eq!(lockout.address, "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert!(l.begin(a, "w", now).is_err());
        assert!(l.begin(other, "w", now).is_ok());

        let v4 = ip(7);
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let x = l.begin(mapped, "m", now).unwrap();
        l.failed(x, now);
        let x = l.begin(v4, "n", now).unwrap();
        assert_eq!(l.failed(x, now).map(|l| l.address), Some(v4));
        assert!(l.begin(mapped, "o", now).is_err());
    }

    #[test]
    fn delays_double_and_stop_at_the_cap() {
        let d = Delays::default();
        let secs: Vec<u64> = (0..10).map(|n| d.for_recent(n).as_secs()).collect();
        assert_eq!(secs, [0, 0, 0, 1, 2, 4, 8, 16, 16, 16]);
        assert_eq!(d.for_recent(usize::MAX), d.max);
        assert_eq!(d.for_recent(200), d.max);
    }

    #[test]
    fn long_names_share_one_key() {
        let long = "é".repeat(100);
        let key = account_key(&long);
        assert!(key.len() <= ACCOUNT_KEY_BYTES && long.starts_with(&key));
        assert_eq!(account_key("admin"), "admin");
    }
}

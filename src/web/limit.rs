//! Sign-in rate limit: failed passwords per client address and per
//! account name, in a sliding window.
//!
//! Password guessing is slowed twice over: one address cannot try many
//! passwords on many accounts, and many addresses together cannot try many
//! passwords on one account. After `max_failures` failures within `window`
//! on either key, further attempts are refused (HTTP 429 with
//! `Retry-After`) without checking the password, until the oldest failure
//! leaves the window. A successful sign-in clears the account's failures
//! (the address's stay: a valid account must not unlock guessing on the
//! others).
//!
//! Sans-IO: the caller passes the time; nothing here sleeps or logs. Kept
//! in memory like the sessions: a restart forgets it.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Keys kept per map before expired ones are swept on every failure.
const SWEEP_ABOVE: usize = 4096;

/// Recent failures per key.
#[derive(Debug)]
struct Window<K> {
    failures: HashMap<K, VecDeque<Instant>>,
}

impl<K: Eq + Hash + Clone> Window<K> {
    fn new() -> Self {
        Window {
            failures: HashMap::new(),
        }
    }

    /// Failures of `key` still inside `window` at `now`.
    fn recent(&mut self, key: &K, window: Duration, now: Instant) -> Option<&VecDeque<Instant>> {
        let q = self.failures.get_mut(key)?;
        while q
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            q.pop_front();
        }
        if q.is_empty() {
            self.failures.remove(key);
            return None;
        }
        self.failures.get(key)
    }

    /// How long until `key` may try again, if it is blocked.
    fn blocked(&mut self, key: &K, max: u32, window: Duration, now: Instant) -> Option<Duration> {
        let q = self.recent(key, window, now)?;
        if q.len() < max as usize {
            return None;
        }
        // The attempt after the oldest counted failure leaves the window.
        let oldest = q[q.len() - max as usize];
        Some((oldest + window).saturating_duration_since(now))
    }

    fn add(&mut self, key: K, window: Duration, now: Instant) {
        if self.failures.len() > SWEEP_ABOVE {
            self.failures.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
            });
        }
        self.failures.entry(key).or_default().push_back(now);
    }
}

/// The sign-in limiter of one web interface.
#[derive(Debug)]
pub(crate) struct LoginLimiter {
    max_failures: u32,
    window: Duration,
    by_address: Window<IpAddr>,
    by_account: Window<String>,
}

/// Why an attempt is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blocked {
    /// Wait this long before trying again (at least one second).
    pub(crate) retry_after: Duration,
    /// The account name (rather than only the address) is blocked.
    pub(crate) account: bool,
}

impl LoginLimiter {
    /// At most `max_failures` failures per `window` per address and per
    /// account.
    pub(crate) fn new(max_failures: u32, window: Duration) -> LoginLimiter {
        LoginLimiter {
            max_failures: max_failures.max(1),
            window,
            by_address: Window::new(),
            by_account: Window::new(),
        }
    }

    /// May `address` try a password for `account` now?
    pub(crate) fn check(
        &mut self,
        address: IpAddr,
        account: &str,
        now: Instant,
    ) -> Result<(), Blocked> {
        let (max, window) = (self.max_failures, self.window);
        let ip = self.by_address.blocked(&address, max, window, now);
        let acct = self
            .by_account
            .blocked(&account.to_string(), max, window, now);
        match (ip, acct) {
            (None, None) => Ok(()),
            (ip, acct) => Err(Blocked {
                retry_after: ip
                    .unwrap_or_default()
                    .max(acct.unwrap_or_default())
                    .max(Duration::from_secs(1)),
                account: acct.is_some(),
            }),
        }
    }

    /// A wrong password (or unknown name) from `address` for `account`.
    pub(crate) fn failed(&mut self, address: IpAddr, account: &str, now: Instant) {
        self.by_address.add(address, self.window, now);
        self.by_account.add(account.to_string(), self.window, now);
    }

    /// A successful sign-in: the account's failures are forgotten.
    pub(crate) fn succeeded(&mut self, account: &str) {
        self.by_account.failures.remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, n])
    }

    #[test]
    fn five_failures_block_the_address_until_the_oldest_leaves_the_window() {
        let mut l = LoginLimiter::new(5, 5 * MIN);
        let t0 = Instant::now();
        for i in 0..5 {
            let now = t0 + Duration::from_secs(i * 10);
            assert_eq!(l.check(ip(1), &format!("user{i}"), now), Ok(()));
            l.failed(ip(1), &format!("user{i}"), now);
        }
        let b = l.check(ip(1), "user9", t0 + MIN).unwrap_err();
        assert_eq!(
            b.retry_after,
            4 * MIN,
            "oldest failure at t0 leaves at 5 min"
        );
        assert!(
            !b.account,
            "five different names: only the address is blocked"
        );
        assert_eq!(l.check(ip(2), "user9", t0 + MIN), Ok(()), "other addresses");
        assert_eq!(l.check(ip(1), "user9", t0 + 5 * MIN), Ok(()));
    }

    #[test]
    fn many_addresses_cannot_guess_one_account_and_success_clears_it() {
        let mut l = LoginLimiter::new(5, 5 * MIN);
        let t0 = Instant::now();
        for n in 0..5 {
            l.failed(ip(n), "admin", t0);
        }
        let b = l
            .check(ip(9), "admin", t0 + Duration::from_secs(1))
            .unwrap_err();
        assert!(b.account);
        assert_eq!(b.retry_after, 5 * MIN - Duration::from_secs(1));
        assert_eq!(l.check(ip(9), "finance", t0), Ok(()));
        // After the window, a right password clears the account's failures.
        let later = t0 + 5 * MIN;
        assert_eq!(l.check(ip(9), "admin", later), Ok(()));
        for n in 0..4 {
            l.failed(ip(n), "admin", later);
        }
        l.succeeded("admin");
        l.failed(ip(5), "admin", later);
        assert_eq!(l.check(ip(6), "admin", later), Ok(()));
    }

    #[test]
    fn retry_after_is_never_zero() {
        let mut l = LoginLimiter::new(1, Duration::from_millis(1500));
        let t0 = Instant::now();
        l.failed(ip(1), "a", t0);
        let b = l
            .check(ip(1), "a", t0 + Duration::from_millis(1200))
            .unwrap_err();
        assert_eq!(b.retry_after, Duration::from_secs(1));
    }
}

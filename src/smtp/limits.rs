//! What a client may cost the SMTP listener before it has proved anything:
//! connection slots and password guesses.
//!
//! An SMTP server must keep a connection open for minutes while it waits
//! for the next command (RFC 5321 §4.5.3.2.7), so a stranger who opens
//! connections and says nothing can hold every slot, and the site's relay
//! is turned away with 421. And AUTH lets anyone try passwords as fast as
//! the server checks them. Both are limited here, per client address:
//!
//! * [`Slots`]: a connection from an address that is not a trusted relay is
//!   *unproven* until it authenticates or has a sender accepted. Unproven
//!   connections may hold at most `max_connections − reserved` slots in
//!   all and `per_address` from one address; trusted relays and proven
//!   connections may use every slot. So a crowd of idle strangers leaves
//!   the reserve to the relay, and one address cannot take the strangers'
//!   share alone.
//! * [`AuthLimiter`]: failed AUTH attempts are counted per client address
//!   and per account name in a sliding window. An address with
//!   `max_failures` recent failures is locked out (454 4.7.0, no password
//!   checked) until the oldest leaves the window; an account with as many
//!   is not locked, which would let anyone lock its owner out, but each
//!   further attempt on it waits first, twice as long after every further
//!   failure (up to 32 times the first delay, and at most a minute).
//!
//! IPv6 clients are counted by /64, the block one host or one customer
//! usually gets: counting single addresses would let one machine be a
//! million clients. IPv4-mapped IPv6 addresses count as IPv4.
//!
//! Sans-IO: the caller passes the time; nothing here sleeps, logs or locks.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// Keys kept per failure map before expired ones are swept on each failure.
const SWEEP_ABOVE: usize = 4096;

/// Keys a failure map never grows beyond (a flood of made-up account names
/// or IPv6 blocks must not grow memory without bound).
const MAX_KEYS: usize = 65_536;

/// The longest delay is this many times the first ...
const MAX_DELAY_FACTOR: u32 = 32;

/// ... and never more than this, well inside any client's reply timeout.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// A client as the limits count it: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of a client address.
    pub(crate) fn of(ip: IpAddr) -> ClientKey {
        match ip.to_canonical() {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !(u128::from(u64::MAX));
                ClientKey(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
        }
    }
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}"),
            IpAddr::V6(a) => write!(f, "{a}/64"),
        }
    }
}

/// Why a connection is not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Every slot is taken.
    Full,
    /// The strangers' share is taken; only the reserve is left.
    SharedFull,
    /// This address holds its most unproven connections already.
    AddressFull,
}

impl Refused {
    /// A short name, for logs and the metric's label.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Refused::Full => "full",
            Refused::SharedFull => "reserved",
            Refused::AddressFull => "per_address",
        }
    }
}

/// The connection slots of one listener.
#[derive(Debug)]
pub(crate) struct Slots {
    max_total: usize,
    max_unproven: usize,
    per_address: usize,
    total: usize,
    unproven: usize,
    by_address: HashMap<ClientKey, usize>,
}

impl Slots {
    /// `max_total` slots of which `reserved` are kept for trusted and
    /// proven connections; at most `per_address` unproven ones per client.
    pub(crate) fn new(max_total: usize, reserved: usize, per_address: usize) -> Slots {
        Slots {
            max_total,
            max_unproven: max_total.saturating_sub(reserved),
            per_address,
            total: 0,
            unproven: 0,
            by_address: HashMap::new(),
        }
    }

    /// Admit a new connection from `client`; a trusted one starts proven.
    /// Each admitted connection must be [`Slots::release`]d once.
    pub(crate) fn admit(&mut self, client: ClientKey, trusted: bool) -> Result<(), Refused> {
        if self.total >= self.max_total {
            return Err(Refused::Full);
        }
        if !trusted {
            if self.by_address.get(&client).copied().unwrap_or(0) >= self.per_address {
                return Err(Refused::AddressFull);
            }
            if self.unproven >= self.max_unproven {
                return Err(Refused::SharedFull);
            }
            self.unproven += 1;
            *self.by_address.entry(client).or_default() += 1;
        }
        self.total += 1;
        Ok(())
    }

    /// An unproven connection from `client` has authenticated or had a
    /// sender accepted: it no longer counts against the strangers' share.
    pub(crate) fn promote(&mut self, client: ClientKey) {
        self.unproven = self.unproven.saturating_sub(1);
        self.forget_one(client);
    }

    /// A connection from `client` ended; `proven` as it was then (a trusted
    /// connection is proven from the start).
    pub(crate) fn release(&mut self, client: ClientKey, proven: bool) {
        self.total = self.total.saturating_sub(1);
        if !proven {
            self.unproven = self.unproven.saturating_sub(1);
            self.forget_one(client);
        }
    }

    fn forget_one(&mut self, client: ClientKey) {
        if let Some(n) = self.by_address.get_mut(&client) {
            *n -= 1;
            if *n == 0 {
                self.by_address.remove(&client);
            }
        }
    }

    /// Connections open, and of those unproven.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.total, self.unproven)
    }
}

/// Recent failures per key, in a sliding window.
#[derive(Debug)]
struct Window<K> {
    failures: HashMap<K, VecDeque<Instant>>,
    /// Sweep expired keys when a new key would make this many.
    sweep_at: usize,
}

impl<K: Eq + Hash + Clone> Window<K> {
    fn new() -> Self {
        Window {
            failures: HashMap::new(),
            sweep_at: SWEEP_ABOVE,
        }
    }

    /// How many failures of `key` are inside `window` at `now`, and when
    /// the oldest of the last `max` of them leaves it.
    fn recent(&mut self, key: &K, max: u32, window: Duration, now: Instant) -> (u32, Instant) {
        let Some(q) = self.failures.get_mut(key) else {
            return (0, now);
        };
        while q
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            q.pop_front();
        }
        if q.is_empty() {
            self.failures.remove(key);
            return (0, now);
        }
        let n = q.len();
        let oldest_counted = q[n.saturating_sub(max as usize)];
        (
            u32::try_from(n).unwrap_or(u32::MAX),
            oldest_counted + window,
        )
    }

    /// Count a failure; returns how many are now inside the window.
    fn add(&mut self, key: K, max: u32, window: Duration, now: Instant) -> u32 {
        if !self.failures.contains_key(&key) {
            if self.failures.len() >= self.sweep_at {
                self.failures.retain(|_, q| {
                    q.back()
                        .is_some_and(|t| now.saturating_duration_since(*t) < window)
                });
                // Sweeping again only after the map has doubled keeps the
                // cost per failure constant.
                self.sweep_at = (self.failures.len() * 2).max(SWEEP_ABOVE);
            }
            if self.failures.len() >= MAX_KEYS {
                return 0;
            }
        }
        let (n, _) = self.recent(&key, max, window, now);
        let q = self.failures.entry(key).or_default();
        q.push_back(now);
        // Only the last `max` (and one more, for the delay) matter.
        while q.len() > max as usize + MAX_DELAY_FACTOR.ilog2() as usize + 1 {
            q.pop_front();
        }
        n + 1
    }

    fn clear(&mut self, key: &K) {
        self.failures.remove(key);
    }
}

/// What to do with an AUTH attempt before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Check the password after waiting `delay` (zero: at once).
    Check {
        /// How long to wait first.
        delay: Duration,
    },
    /// The client's address is locked out: answer 454 without checking.
    Locked {
        /// When it may try again.
        retry_after: Duration,
    },
}

/// What a failed attempt changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Failure {
    /// This failure locked the client's address out.
    pub address_locked: bool,
    /// This failure made the account's further attempts wait.
    pub account_slowed: bool,
}

/// Failed AUTH attempts of one listener, per client address and per account.
#[derive(Debug)]
pub(crate) struct AuthLimiter {
    max_failures: u32,
    window: Duration,
    delay: Duration,
    by_address: Window<ClientKey>,
    by_account: Window<String>,
}

impl AuthLimiter {
    /// Lock out or slow down after `max_failures` within `window`; the
    /// first delay is `delay`.
    pub(crate) fn new(max_failures: u32, window: Duration, delay: Duration) -> AuthLimiter {
        AuthLimiter {
            max_failures: max_failures.max(1),
            window,
            delay,
            by_address: Window::new(),
            by_account: Window::new(),
        }
    }

    /// May `client` try a password for `account` now, and after how long?
    pub(crate) fn gate(&mut self, client: ClientKey, account: &str, now: Instant) -> Gate {
        let max = self.max_failures;
        let (n, free_at) = self.by_address.recent(&client, max, self.window, now);
        if n >= max {
            return Gate::Locked {
                retry_after: free_at.saturating_duration_since(now),
            };
        }
        let (n, _) = self
            .by_account
            .recent(&account.to_string(), max, self.window, now);
        if n < max {
            return Gate::Check {
                delay: Duration::ZERO,
            };
        }
        let doublings = (n - max).min(MAX_DELAY_FACTOR.ilog2());
        Gate::Check {
            delay: (self.delay * (1u32 << doublings)).min(MAX_DELAY.max(self.delay)),
        }
    }

    /// Count a failed attempt by `client` on `account`.
    pub(crate) fn failed(&mut self, client: ClientKey, account: &str, now: Instant) -> Failure {
        let max = self.max_failures;
        let by_address = self.by_address.add(client, max, self.window, now);
        let by_account = self
            .by_account
            .add(account.to_string(), max, self.window, now);
        Failure {
            address_locked: by_address == max,
            account_slowed: by_account == max,
        }
    }

    /// A successful AUTH clears the account's failures (the address's
    /// stay: one valid password must not unlock guessing at the others).
    pub(crate) fn succeeded(&mut self, account: &str) {
        self.by_account.clear(&account.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ClientKey {
        ClientKey::of(s.parse().unwrap())
    }

    #[test]
    fn clients_are_counted_by_ipv4_address_and_ipv6_slash_64() {
        assert_eq!(key("192.0.2.1"), key("::ffff:192.0.2.1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(key("192.0.2.1").to_string(), "192.0.2.1");
    }

    #[test]
    fn strangers_share_what_the_reserve_leaves_and_one_address_only_a_part() {
        // 10 slots, 3 reserved, 4 per address.
        let mut s = Slots::new(10, 3, 4);
        let a = key("198.51.100.1");
        let relay = key("192.0.2.25");
        // (client, trusted, expected)
        let steps: &[(&str, bool, Result<(), Refused>)] = &[
            ("198.51.100.1", false, Ok(())),
            ("198.51.100.1", false, Ok(())),
            ("198.51.100.1", false, Ok(())),
            ("198.51.100.1", false, Ok(())),
            ("198.51.100.1", false, Err(Refused::AddressFull)),
            ("198.51.100.2", false, Ok(())),
            ("198.51.100.2", false, Ok(())),
            ("198.51.100.3", false, Ok(())),
            // 7 unproven: the strangers' share is full.
            ("198.51.100.4", false, Err(Refused::SharedFull)),
            // The relay still gets the reserve ...
            ("192.0.2.25", true, Ok(())),
            ("192.0.2.25", true, Ok(())),
            ("192.0.2.25", true, Ok(())),
            // ... until every slot is taken.
            ("192.0.2.25", true, Err(Refused::Full)),
        ];
        for (i, (client, trusted, want)) in steps.iter().enumerate() {
            assert_eq!(s.admit(key(client), *trusted), *want, "step {i}: {client}");
        }
        assert_eq!(s.counts(), (10, 7));
        // A trusted connection leaves: a slot is free, but not for strangers.
        s.release(relay, true);
        assert_eq!(
            s.admit(key("198.51.100.4"), false),
            Err(Refused::SharedFull)
        );
        s.release(relay, true);
        // One of a's connections authenticates: it leaves the strangers'
        // share and a's count, so another stranger (or a) may come in.
        s.promote(a);
        assert_eq!(s.counts(), (8, 6));
        assert_eq!(s.admit(a, false), Ok(()));
        assert_eq!(s.admit(a, false), Err(Refused::AddressFull));
        // The promoted connection ends: released as proven.
        s.release(a, true);
        s.release(a, false);
        assert_eq!(s.counts(), (7, 6));
        assert_eq!(s.admit(key("198.51.100.9"), false), Ok(()));
    }

    #[test]
    fn no_reserve_and_no_room() {
        let mut s = Slots::new(2, 0, 5);
        assert_eq!(s.admit(key("198.51.100.1"), false), Ok(()));
        assert_eq!(s.admit(key("198.51.100.2"), false), Ok(()));
        assert_eq!(s.admit(key("192.0.2.25"), true), Err(Refused::Full));
        s.release(key("198.51.100.1"), false);
        s.release(key("198.51.100.2"), false);
        assert_eq!(s.counts(), (0, 0));
        assert!(s.by_address.is_empty());
    }

    const MIN: Duration = Duration::from_secs(60);
    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn an_address_is_locked_after_max_failures_until_the_window_passes() {
        let t0 = Instant::now();
        let mut l = AuthLimiter::new(3, 10 * MIN, SEC);
        let a = key("198.51.100.1");
        let b = key("198.51.100.2");
        let open = Gate::Check {
            delay: Duration::ZERO,
        };
        assert_eq!(l.gate(a, "u1", t0), open);
        assert_eq!(l.failed(a, "u1", t0), Failure::default());
        assert_eq!(l.failed(a, "u2", t0 + MIN), Failure::default());
        // The third failure locks the address (across accounts).
        assert_eq!(
            l.failed(a, "u3", t0 + 2 * MIN),
            Failure {
                address_locked: true,
                account_slowed: false
            }
        );
        assert_eq!(
            l.gate(a, "u4", t0 + 2 * MIN),
            Gate::Locked {
                retry_after: 8 * MIN
            }
        );
        // Another address is not affected.
        assert_eq!(l.gate(b, "u1", t0 + 2 * MIN), open);
        // When the first failure leaves the window, one more try is allowed.
        assert_eq!(l.gate(a, "u1", t0 + 10 * MIN), open);
        // A success does not unlock the address.
        let mut l = AuthLimiter::new(2, 10 * MIN, SEC);
        l.failed(a, "u1", t0);
        l.failed(a, "u1", t0);
        l.succeeded("u1");
        assert!(matches!(l.gate(a, "u1", t0), Gate::Locked { .. }));
    }

    #[test]
    fn an_account_under_attack_is_slowed_never_locked() {
        let t0 = Instant::now();
        let mut l = AuthLimiter::new(3, 10 * MIN, SEC);
        // Failures from many addresses, each below its own limit.
        let clients: Vec<ClientKey> = (1..=8).map(|i| key(&format!("198.51.100.{i}"))).collect();
        let mut slowed = Vec::new();
        for c in &clients {
            slowed.push(l.failed(*c, "admin", t0).account_slowed);
        }
        assert_eq!(
            slowed,
            [false, false, true, false, false, false, false, false],
            "one log line: when the account reaches the limit"
        );
        // 8 failures, limit 3: 5 doublings, capped at 32x.
        let fresh = key("203.0.113.9");
        assert_eq!(l.gate(fresh, "admin", t0), Gate::Check { delay: 32 * SEC });
        assert_eq!(
            l.gate(fresh, "other", t0),
            Gate::Check {
                delay: Duration::ZERO
            }
        );
        // Delays by count: 3 -> 1 s, 4 -> 2 s, 5 -> 4 s.
        let mut l = AuthLimiter::new(3, 10 * MIN, SEC);
        let mut delays = Vec::new();
        for c in &clients[..5] {
            l.failed(*c, "admin", t0);
            delays.push(l.gate(fresh, "admin", t0));
        }
        let d = |s| Gate::Check {
            delay: Duration::from_secs(s),
        };
        assert_eq!(delays, [d(0), d(0), d(1), d(2), d(4)]);
        // The owner's success clears the account.
        l.succeeded("admin");
        assert_eq!(l.gate(fresh, "admin", t0), d(0));
        // And failures age out of the window.
        let mut l = AuthLimiter::new(3, 10 * MIN, SEC);
        for c in &clients[..3] {
            l.failed(*c, "admin", t0);
        }
        assert_eq!(l.gate(fresh, "admin", t0 + 10 * MIN), d(0));
    }

    #[test]
    fn delays_stop_growing_at_a_minute() {
        let t0 = Instant::now();
        let mut l = AuthLimiter::new(1, 10 * MIN, 5 * SEC);
        for i in 0..10 {
            l.failed(key(&format!("198.51.100.{i}")), "admin", t0);
        }
        assert_eq!(
            l.gate(key("203.0.113.1"), "admin", t0),
            Gate::Check { delay: MIN }
        );
    }

    #[test]
    fn made_up_names_cannot_grow_memory_without_bound() {
        let t0 = Instant::now();
        let mut l = AuthLimiter::new(3, 10 * MIN, SEC);
        let a = key("198.51.100.1");
        for i in 0..(MAX_KEYS + 10) {
            l.failed(a, &format!("user{i}"), t0);
        }
        assert!(l.by_account.failures.len() <= MAX_KEYS);
        // Each key keeps only the failures that matter.
        assert!(l.by_address.failures[&a].len() <= 3 + 6);
    }
}

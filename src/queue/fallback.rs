//! The interop fallback ladder: which call settings the next attempt to a
//! destination uses, learnt from earlier attempts to the same number.
//!
//! Fax interop failures are usually about settings, not the line: a T.38
//! gateway in the path that mangles the UDPTL stream, an old machine whose
//! ECM implementation is broken, or a noisy analogue leg on which V.17
//! (14 400 bit/s) will not train but V.29 (9600) or V.27ter (4800) will. So
//! after a failure that points at settings (a T.30 failure or a refused media
//! offer, see [`Cause::is_interop`]) the next attempt steps one rung down:
//!
//! ```text
//! T.38, ECM, V.17 → G.711, ECM, V.17 → G.711, no ECM, V.17 → … V.29 → … V.27ter
//! ```
//!
//! Busy lines, unanswered calls and network faults say nothing about
//! settings and move nothing. The combination that last worked for a
//! destination is used first next time, until it fails or the memory
//! expires (`memory_days`), so one bad day does not pin a number to
//! 4800 bit/s forever.

use std::fmt;

use serde::Deserialize;

use super::Millis;
use super::retry::Cause;
use crate::fax::Modem;

/// How the fax travels in the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Offer T.38 (UDPTL); the call falls back to G.711 if the far end
    /// refuses the re-INVITE.
    T38,
    /// Modem audio over G.711 only; never offer T.38.
    G711,
}

impl Transport {
    /// Stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::T38 => "t38",
            Transport::G711 => "g711",
        }
    }

    /// Parse a name written by [`Transport::as_str`].
    pub fn parse(s: &str) -> Option<Transport> {
        match s {
            "t38" => Some(Transport::T38),
            "g711" => Some(Transport::G711),
            _ => None,
        }
    }
}

/// Stored and displayed name of a page-data modem.
pub fn modem_name(m: Modem) -> &'static str {
    match m {
        Modem::V17 => "v17",
        Modem::V29 => "v29",
        Modem::V27ter => "v27ter",
    }
}

/// Parse a name written by [`modem_name`].
pub fn parse_modem(s: &str) -> Option<Modem> {
    match s {
        "v17" => Some(Modem::V17),
        "v29" => Some(Modem::V29),
        "v27ter" => Some(Modem::V27ter),
        _ => None,
    }
}

/// The settings of one attempt: one rung of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Settings {
    /// T.38 offered, or G.711 only.
    pub transport: Transport,
    /// Error correction mode offered.
    pub ecm: bool,
    /// Fastest page-data modem offered (slower ones stay allowed).
    pub modem: Modem,
}

impl Settings {
    /// Compact text form, e.g. `t38/ecm/v17` or `g711/noecm/v29`.
    pub fn encode(&self) -> String {
        format!(
            "{}/{}/{}",
            self.transport.as_str(),
            if self.ecm { "ecm" } else { "noecm" },
            modem_name(self.modem)
        )
    }

    /// Parse [`Settings::encode`]'s form.
    pub fn decode(s: &str) -> Option<Settings> {
        let mut parts = s.split('/');
        let transport = Transport::parse(parts.next()?)?;
        let ecm = match parts.next()? {
            "ecm" => true,
            "noecm" => false,
            _ => return None,
        };
        let modem = parse_modem(parts.next()?)?;
        parts.next().is_none().then_some(Settings {
            transport,
            ecm,
            modem,
        })
    }
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// `[queue.fallback]`: the top of the ladder and how long to remember.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FallbackConfig {
    /// Offer T.38 on the first rung (turn off for trunks that cannot carry
    /// it).
    pub t38: bool,
    /// Offer ECM on the first rungs.
    pub ecm: bool,
    /// Fastest modem of the first rung: `"v17"`, `"v29"` or `"v27ter"`.
    pub top_modem: Modem,
    /// Forget a destination's successes and failures after this many days.
    pub memory_days: u32,
}

impl Default for FallbackConfig {
    fn default() -> Self {
        FallbackConfig {
            t38: true,
            ecm: true,
            top_modem: Modem::V17,
            memory_days: 30,
        }
    }
}

impl FallbackConfig {
    /// The ladder from the most capable rung down, one step at a time:
    /// T.38 → G.711, then ECM on → off, then V.17 → V.29 → V.27ter.
    pub fn ladder(&self) -> Vec<Settings> {
        let mut s = Settings {
            transport: if self.t38 {
                Transport::T38
            } else {
                Transport::G711
            },
            ecm: self.ecm,
            modem: self.top_modem,
        };
        let mut rungs = vec![s];
        if s.transport == Transport::T38 {
            s.transport = Transport::G711;
            rungs.push(s);
        }
        if s.ecm {
            s.ecm = false;
            rungs.push(s);
        }
        while let Some(slower) = match s.modem {
            Modem::V17 => Some(Modem::V29),
            Modem::V29 => Some(Modem::V27ter),
            Modem::V27ter => None,
        } {
            s.modem = slower;
            rungs.push(s);
        }
        rungs
    }

    fn memory_ms(&self) -> Millis {
        i64::from(self.memory_days) * 86_400_000
    }
}

/// What is remembered about one destination number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationProfile {
    /// The settings of the last successful send, and when.
    pub success: Option<(Settings, Millis)>,
    /// The last interop failure per settings combination, and when.
    pub failures: Vec<(Settings, Millis)>,
}

impl DestinationProfile {
    /// Record a successful send with `settings` at `now`.
    pub fn record_success(&mut self, settings: Settings, now: Millis) {
        self.success = Some((settings, now));
        self.failures.retain(|(s, _)| *s != settings);
    }

    /// Record a failed attempt. Only causes that point at the settings
    /// ([`Cause::is_interop`]) are remembered; returns whether it was.
    pub fn record_failure(&mut self, settings: Settings, cause: Cause, now: Millis) -> bool {
        if !cause.is_interop() {
            return false;
        }
        self.failures.retain(|(s, _)| *s != settings);
        self.failures.push((settings, now));
        true
    }

    /// Drop what is older than the configured memory.
    pub fn forget_expired(&mut self, cfg: &FallbackConfig, now: Millis) {
        let oldest = now.saturating_sub(cfg.memory_ms());
        if self.success.is_some_and(|(_, at)| at < oldest) {
            self.success = None;
        }
        self.failures.retain(|&(_, at)| at >= oldest);
    }

    /// Text form of the failures for the database: `settings@ms;…`.
    pub fn encode_failures(&self) -> String {
        self.failures
            .iter()
            .map(|(s, at)| format!("{}@{at}", s.encode()))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Parse [`DestinationProfile::encode_failures`]' form; unreadable
    /// entries are skipped (they only cost an extra rung).
    pub fn decode_failures(text: &str) -> Vec<(Settings, Millis)> {
        text.split(';')
            .filter_map(|item| {
                let (s, at) = item.split_once('@')?;
                Some((Settings::decode(s)?, at.parse().ok()?))
            })
            .collect()
    }

    fn last_failure(&self, settings: Settings) -> Option<Millis> {
        self.failures
            .iter()
            .filter(|(s, _)| *s == settings)
            .map(|&(_, at)| at)
            .max()
    }
}

/// Choose the settings for the next attempt to a destination.
///
/// 1. The combination that last succeeded, unless it has failed since.
/// 2. Otherwise the rung below the lowest rung that failed (the top rung
///    when nothing failed).
/// 3. When every rung failed, the one whose failure is oldest: conditions
///    change, and the top rungs are worth another try before the bottom
///    one is tried again.
pub fn choose(cfg: &FallbackConfig, profile: &DestinationProfile, now: Millis) -> Settings {
    let mut profile = profile.clone();
    profile.forget_expired(cfg, now);
    let ladder = cfg.ladder();
    if let Some((good, at)) = profile.success
        && ladder.contains(&good)
        && profile.last_failure(good).is_none_or(|f| f < at)
    {
        return good;
    }
    let lowest_failed = ladder
        .iter()
        .rposition(|s| profile.last_failure(*s).is_some());
    match lowest_failed {
        None => ladder[0],
        Some(i) if i + 1 < ladder.len() => ladder[i + 1],
        Some(_) => *ladder
            .iter()
            .min_by_key(|s| profile.last_failure(**s).unwrap_or(Millis::MIN))
            .unwrap_or(&ladder[0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Millis = 86_400_000;

    fn s(transport: Transport, ecm: bool, modem: Modem) -> Settings {
        Settings {
            transport,
            ecm,
            modem,
        }
    }

    #[test]
    fn ladder_steps_one_setting_at_a_time() {
        use Transport::*;
        assert_eq!(
            FallbackConfig::default().ladder(),
            vec![
                s(T38, true, Modem::V17),
                s(G711, true, Modem::V17),
                s(G711, false, Modem::V17),
                s(G711, false, Modem::V29),
                s(G711, false, Modem::V27ter),
            ]
        );
        let no_t38 = FallbackConfig {
            t38: false,
            ecm: false,
            top_modem: Modem::V29,
            ..FallbackConfig::default()
        };
        assert_eq!(
            no_t38.ladder(),
            vec![s(G711, false, Modem::V29), s(G711, false, Modem::V27ter)]
        );
    }

    #[test]
    fn each_interop_failure_steps_down_and_busy_does_not() {
        let cfg = FallbackConfig::default();
        let ladder = cfg.ladder();
        let mut p = DestinationProfile::default();
        assert_eq!(choose(&cfg, &p, 0), ladder[0]);
        assert!(!p.record_failure(ladder[0], Cause::Busy, 1));
        assert!(!p.record_failure(ladder[0], Cause::Network, 1));
        assert_eq!(choose(&cfg, &p, 2), ladder[0]);
        for (i, rung) in ladder.iter().enumerate().take(ladder.len() - 1) {
            assert_eq!(choose(&cfg, &p, 10 + i as i64), *rung);
            assert!(p.record_failure(*rung, Cause::T30Failure, 10 + i as i64));
            assert_eq!(choose(&cfg, &p, 11 + i as i64), ladder[i + 1]);
        }
        // All failed: the oldest failure is tried again first (T.38).
        p.record_failure(ladder[4], Cause::T30Failure, 100);
        assert_eq!(choose(&cfg, &p, 101), ladder[0]);
        p.record_failure(ladder[0], Cause::MediaRefused, 102);
        assert_eq!(choose(&cfg, &p, 103), ladder[1]);
    }

    #[test]
    fn success_is_preferred_until_it_fails_or_expires() {
        let cfg = FallbackConfig::default();
        let ladder = cfg.ladder();
        let mut p = DestinationProfile::default();
        p.record_failure(ladder[0], Cause::T30Failure, 0);
        p.record_failure(ladder[1], Cause::T30Failure, DAY);
        p.record_success(ladder[2], 2 * DAY);
        assert_eq!(choose(&cfg, &p, 3 * DAY), ladder[2]);
        // Failures before the memory window are forgotten, then the
        // success too: the top rung is tried again.
        assert_eq!(choose(&cfg, &p, 31 * DAY), ladder[2]);
        assert_eq!(choose(&cfg, &p, 33 * DAY), ladder[0]);
        // A later failure of the remembered combination overrides it.
        p.record_failure(ladder[2], Cause::T30Failure, 3 * DAY);
        assert_eq!(choose(&cfg, &p, 4 * DAY), ladder[3]);
    }

    #[test]
    fn remembered_settings_off_the_ladder_are_ignored() {
        let cfg = FallbackConfig {
            t38: false,
            ..FallbackConfig::default()
        };
        let mut p = DestinationProfile::default();
        p.record_success(s(Transport::T38, true, Modem::V17), 0);
        assert_eq!(choose(&cfg, &p, 1), cfg.ladder()[0]);
    }

    #[test]
    fn text_forms_round_trip() {
        for rung in FallbackConfig::default().ladder() {
            assert_eq!(Settings::decode(&rung.encode()), Some(rung));
        }
        assert_eq!(Settings::decode("t38/ecm"), None);
        assert_eq!(Settings::decode("t38/ecm/v17/x"), None);
        assert_eq!(Settings::decode("x25/ecm/v17"), None);
        let mut p = DestinationProfile::default();
        let l = FallbackConfig::default().ladder();
        p.record_failure(l[0], Cause::T30Failure, 5);
        p.record_failure(l[3], Cause::T30Failure, 7);
        let text = p.encode_failures();
        assert_eq!(text, "t38/ecm/v17@5;g711/noecm/v29@7");
        assert_eq!(DestinationProfile::decode_failures(&text), p.failures);
        assert_eq!(
            DestinationProfile::decode_failures("junk;g711/noecm/v29@7;@"),
            vec![(l[3], 7)]
        );
        assert!(DestinationProfile::decode_failures("").is_empty());
    }
}

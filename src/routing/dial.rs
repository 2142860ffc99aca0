//! Hot dial and warm dial: which number an off-hook port calls.
//!
//! Both are done by the Mediatrix unit itself, because only the unit sees
//! the hook and the digits; faxbridge decides the number, so that it is
//! changed in one place (`[[ata.ports]] hot_dial` / `warm_dial`) and every
//! such call is logged as what it is.
//!
//! # Hot dial (Mediatrix "Automatic Call")
//!
//! The port calls as soon as it goes off-hook; no digit can be dialled. The
//! unit is set to Automatic Call with the configured number as its target
//! ([`unit_settings`] gives the value), and sends the INVITE to faxbridge,
//! its registrar and call target. Whatever user the INVITE's Request-URI
//! carries — the number, empty, `s`, or stale digits from an older setting
//! — faxbridge dials the number in `hot_dial`. The one exception is decided
//! before this module is asked: an INVITE for 999 or 112 is an emergency
//! call from any port (see [`super`]).
//!
//! # Warm dial (Mediatrix "Delayed Hotline")
//!
//! The port behaves as a normal line while the user dials; when no first
//! digit comes within `after_seconds` of going off-hook, the unit calls its
//! Delayed Hotline target. The timer runs on the unit (faxbridge never sees
//! an off-hook without an INVITE), so:
//!
//! * the unit's Delayed Hotline delay is set to `after_seconds`, and its
//!   target to the **warm-dial marker** (`[bridge] warm_dial_marker`,
//!   default `warm`): a word, never digits, so faxbridge can tell a timer
//!   call from a dialled number;
//! * an INVITE from a warm-dial port whose Request-URI user is the marker
//!   (any case), empty or `s` is resolved to `warm_dial.number`;
//! * an INVITE with digits is the user's own call and is dialled as it is.
//!
//! A unit configured with the number itself as target also works (its
//! INVITE carries digits and is dialled as such), but the call is then not
//! recognised as a warm dial, and changing the number means visiting every
//! unit.

use crate::ata::PortConfig;
use crate::numbering::normalize_number;

/// The default Request-URI user of Delayed Hotline calls.
pub const DEFAULT_WARM_DIAL_MARKER: &str = "warm";

/// The user part Asterisk-style equipment sends for "no number": start.
const START_USER: &str = "s";

/// True when `marker` can be told apart from anything a phone dials: a
/// word of letters, digits, `-` and `_` with at least one letter, and not
/// the start marker `s`.
pub fn valid_marker(marker: &str) -> bool {
    !marker.is_empty()
        && !marker.eq_ignore_ascii_case(START_USER)
        && marker.chars().any(|c| c.is_ascii_alphabetic())
        && marker
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// How the number of a call from a port was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialKind {
    /// The user dialled it.
    Dialled,
    /// The port's hot-dial number (Automatic Call).
    HotDial,
    /// The port's warm-dial number (Delayed Hotline after the first-digit
    /// timeout).
    WarmDial,
}

impl DialKind {
    /// Word for logs and call records.
    pub fn as_str(self) -> &'static str {
        match self {
            DialKind::Dialled => "dialled",
            DialKind::HotDial => "hot dial",
            DialKind::WarmDial => "warm dial",
        }
    }
}

/// The number a port calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The number, as written in the configuration or dialled (separators
    /// and URI parameters removed).
    pub number: String,
    /// How it was chosen.
    pub kind: DialKind,
}

/// Why an INVITE from a port names no number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No digits, and the port has neither hot nor warm dial.
    #[error(
        "the port sent no number and has no hot_dial or warm_dial; dial a number, or set one for the port in [[ata.ports]]"
    )]
    NoNumber,
    /// The warm-dial marker from a port without warm dial: the unit's
    /// Delayed Hotline is on but faxbridge has no number for it.
    #[error(
        "the port's Delayed Hotline fired but the port has no warm_dial; set warm_dial in [[ata.ports]] or turn Delayed Hotline off on the unit"
    )]
    NoWarmDial,
}

impl ResolveError {
    /// The SIP status the INVITE is refused with: 484 Address Incomplete
    /// (RFC 3261 §21.4.22), the answer for a Request-URI without a
    /// complete number.
    pub fn status(&self) -> u16 {
        484
    }
}

/// The number to call for an INVITE from `port` whose Request-URI user is
/// `request_user`; `marker` is `[bridge] warm_dial_marker`.
///
/// Emergency numbers are checked by the caller before this is asked.
pub fn resolve(
    port: &PortConfig,
    request_user: &str,
    marker: &str,
) -> Result<Resolved, ResolveError> {
    let user = normalize_number(request_user);
    let no_number = user.is_empty() || user.eq_ignore_ascii_case(START_USER);
    let is_marker = !marker.is_empty() && user.eq_ignore_ascii_case(marker);
    if let Some(hot) = &port.hot_dial {
        return Ok(Resolved {
            number: hot.clone(),
            kind: DialKind::HotDial,
        });
    }
    if no_number || is_marker {
        return match &port.warm_dial {
            Some(warm) => Ok(Resolved {
                number: warm.number.clone(),
                kind: DialKind::WarmDial,
            }),
            None if is_marker => Err(ResolveError::NoWarmDial),
            None => Err(ResolveError::NoNumber),
        };
    }
    Ok(Resolved {
        number: user,
        kind: DialKind::Dialled,
    })
}

/// What to set on the Mediatrix unit for one port so that it places hot or
/// warm dial calls the way [`resolve`] expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitSettings {
    /// Neither: Automatic Call and Delayed Hotline off.
    Off,
    /// Automatic Call on, calling `target` as soon as the port goes
    /// off-hook.
    AutomaticCall {
        /// The Automatic Call target (the hot-dial number).
        target: String,
    },
    /// Delayed Hotline on: after `delay_seconds` without a first digit the
    /// unit calls `target`.
    DelayedHotline {
        /// The Delayed Hotline target: the warm-dial marker.
        target: String,
        /// The first-digit delay, `warm_dial.after_seconds`.
        delay_seconds: u32,
    },
}

/// The unit settings for `port`, with `marker` as the Delayed Hotline
/// target.
pub fn unit_settings(port: &PortConfig, marker: &str) -> UnitSettings {
    match (&port.hot_dial, &port.warm_dial) {
        (Some(hot), _) => UnitSettings::AutomaticCall {
            target: hot.clone(),
        },
        (None, Some(warm)) => UnitSettings::DelayedHotline {
            target: marker.to_string(),
            delay_seconds: warm.after_seconds,
        },
        (None, None) => UnitSettings::Off,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ata::PortRole;
    use crate::ata::inventory::WarmDial;

    fn port(hot: Option<&str>, warm: Option<(&str, u32)>) -> PortConfig {
        PortConfig {
            unit: "a1".into(),
            number: 1,
            line: None,
            sip_user: "2001".into(),
            role: PortRole::Phone,
            owner: String::new(),
            takes_payments: false,
            hot_dial: hot.map(str::to_string),
            warm_dial: warm.map(|(n, s)| WarmDial {
                number: n.into(),
                after_seconds: s,
            }),
        }
    }

    fn ok(number: &str, kind: DialKind) -> Result<Resolved, ResolveError> {
        Ok(Resolved {
            number: number.into(),
            kind,
        })
    }

    #[test]
    fn a_plain_port_dials_what_was_dialled() {
        let p = port(None, None);
        assert_eq!(
            resolve(&p, "01223123456", "warm"),
            ok("01223123456", DialKind::Dialled)
        );
        assert_eq!(
            resolve(&p, "+44-1223-123456;user=phone", "warm"),
            ok("+441223123456", DialKind::Dialled)
        );
        assert_eq!(resolve(&p, "", "warm"), Err(ResolveError::NoNumber));
        assert_eq!(resolve(&p, "s", "warm"), Err(ResolveError::NoNumber));
        assert_eq!(resolve(&p, "WARM", "warm"), Err(ResolveError::NoWarmDial));
        assert_eq!(ResolveError::NoNumber.status(), 484);
    }

    #[test]
    fn hot_dial_ignores_whatever_the_unit_sent() {
        let p = port(Some("2000"), None);
        for user in ["", "s", "2000", "5555", "warm", "01223123456"] {
            assert_eq!(
                resolve(&p, user, "warm"),
                ok("2000", DialKind::HotDial),
                "{user:?}"
            );
        }
    }

    #[test]
    fn warm_dial_fires_on_the_marker_or_no_number() {
        let p = port(None, Some(("01223000000", 5)));
        for user in ["warm", "Warm", "", "s", "S"] {
            assert_eq!(
                resolve(&p, user, "warm"),
                ok("01223000000", DialKind::WarmDial),
                "{user:?}"
            );
        }
        // Digits dialled before the timer ran out are the user's own call.
        assert_eq!(
            resolve(&p, "01223123456", "warm"),
            ok("01223123456", DialKind::Dialled)
        );
        // Another marker configured: the old word is just a (bad) number.
        assert_eq!(
            resolve(&p, "warm", "hotline"),
            ok("warm", DialKind::Dialled)
        );
        assert_eq!(
            resolve(&p, "hotline", "hotline"),
            ok("01223000000", DialKind::WarmDial)
        );
    }

    #[test]
    fn markers_cannot_look_like_digits() {
        for good in ["warm", "hotline", "dh-1", "W_2"] {
            assert!(valid_marker(good), "{good}");
        }
        for bad in ["", "s", "S", "123", "*9", "warm dial", "wärm"] {
            assert!(!valid_marker(bad), "{bad}");
        }
    }

    #[test]
    fn unit_settings_follow_the_port() {
        assert_eq!(unit_settings(&port(None, None), "warm"), UnitSettings::Off);
        assert_eq!(
            unit_settings(&port(Some("2000"), None), "warm"),
            UnitSettings::AutomaticCall {
                target: "2000".into()
            }
        );
        assert_eq!(
            unit_settings(&port(None, Some(("2000", 7))), "warm"),
            UnitSettings::DelayedHotline {
                target: "warm".into(),
                delay_seconds: 7
            }
        );
        assert_eq!(DialKind::WarmDial.as_str(), "warm dial");
    }
}

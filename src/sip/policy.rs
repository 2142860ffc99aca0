//! Protocol decisions of the endpoint, as pure functions.
//!
//! Which final response answers which failure, how long to wait after a
//! re-INVITE glare, how to answer a session-timer request so that a long fax
//! is never cut off, and when a re-offer is only a session refresh.

use std::time::Duration;

/// Why a request is refused; each maps to one SIP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The message is malformed (RFC 3261 §21.4.1).
    Malformed,
    /// Source not allowed and no digest would help (§21.4.4).
    Forbidden,
    /// Digest authentication needed (§21.4.2; a UAS, not a proxy, so 401).
    AuthenticationRequired,
    /// The called number has no route (§21.4.5).
    UnknownNumber,
    /// The session description cannot be accepted (§21.4.26).
    OfferNotAcceptable,
    /// A re-INVITE arrived while ours is pending (§14.2, §21.4.27).
    Glare,
    /// A second re-INVITE arrived while we still process one (§14.2:
    /// 500 with Retry-After).
    ReInviteInProgress,
    /// The application layer is not taking calls now (§21.5.4).
    Overloaded,
    /// The application did not answer or went away (§21.4.18).
    NotAnswered,
    /// The method is not allowed outside a dialog here (§21.4.6).
    MethodNotAllowed,
    /// An in-dialog request for a dialog we do not know (§21.4.19).
    NoSuchDialog,
}

impl Refusal {
    /// Status code and reason phrase.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Refusal::Malformed => (400, "Bad Request"),
            Refusal::Forbidden => (403, "Forbidden"),
            Refusal::AuthenticationRequired => (401, "Unauthorized"),
            Refusal::UnknownNumber => (404, "Not Found"),
            Refusal::OfferNotAcceptable => (488, "Not Acceptable Here"),
            Refusal::Glare => (491, "Request Pending"),
            Refusal::ReInviteInProgress => (500, "Server Internal Error"),
            Refusal::Overloaded => (503, "Service Unavailable"),
            Refusal::NotAnswered => (480, "Temporarily Unavailable"),
            Refusal::MethodNotAllowed => (405, "Method Not Allowed"),
            Refusal::NoSuchDialog => (481, "Call/Transaction Does Not Exist"),
        }
    }
}

/// Methods the endpoint implements, for `Allow` (RFC 3261 §20.5).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE";
/// Bodies the endpoint understands, for `Accept` (§20.1).
pub const ACCEPT: &str = "application/sdp";
/// Extensions supported (`timer`: RFC 4028, answered without ever ending calls).
pub const SUPPORTED: &str = "timer";

/// Wait before retrying a re-INVITE refused with 491 (RFC 3261 §14.1).
///
/// The UA that chose the Call-ID waits 2.1–4 s, the other 0–2 s, in 10 ms
/// steps; `random` supplies the chance. Different ranges make the two sides
/// retry at different times so the glare resolves.
pub fn glare_backoff(owns_call_id: bool, random: u32) -> Duration {
    let (base, steps) = if owns_call_id { (2100, 191) } else { (0, 201) };
    Duration::from_millis(base + 10 * u64::from(random % steps))
}

/// How long to wait before sending a re-INVITE again that the far end
/// refused with `500` and a `Retry-After` (RFC 3261 §14.1: the UAS was still
/// busy with another offer, or our ACK had not reached it). `None`: the
/// refusal is final. A wait beyond 10 s is treated as final too: a fax call
/// cannot stall that long, and §14.2 asks for 0–10 s.
pub fn reinvite_retry_after(status: u16, retry_after: Option<&str>) -> Option<Duration> {
    if status != 500 {
        return None;
    }
    // `Retry-After: 5 (busy);duration=10`: the seconds come first.
    let value = retry_after?.trim();
    let digits = value
        .find(|c: char| !c.is_ascii_digit())
        .map_or(value, |end| &value[..end]);
    let secs: u64 = digits.parse().ok()?;
    (secs <= 10).then(|| Duration::from_secs(secs).max(Duration::from_millis(100)))
}

/// The `Session-Expires` value to put in our 2xx, if any (RFC 4028 §9).
///
/// We never refresh and never end a call when a timer runs out: a fax may
/// last far longer than any interval a trunk proposes. When the UAC supports
/// timers we make it the refresher (`refresher=uac`), keeping its interval;
/// when it does not, we answer without a timer, which RFC 4028 §9 allows.
pub fn session_expires_answer(
    request_session_expires: Option<&str>,
    uac_supports_timer: bool,
) -> Option<String> {
    let value = request_session_expires?;
    if !uac_supports_timer {
        return None;
    }
    let secs: u32 = value.split(';').next()?.trim().parse().ok()?;
    Some(format!("{secs};refresher=uac"))
}

/// For a call we placed: if the 2xx made us the refresher, how often to
/// refresh (half the interval, RFC 4028 §10). `None`: nothing to do.
pub fn refresh_interval_as_uac(response_session_expires: Option<&str>) -> Option<Duration> {
    let value = response_session_expires?;
    let mut parts = value.split(';');
    let secs: u64 = parts.next()?.trim().parse().ok()?;
    let refresher_uac = parts.any(|p| {
        let p = p.trim();
        p.eq_ignore_ascii_case("refresher=uac")
    });
    (refresher_uac && secs > 0).then(|| Duration::from_secs((secs / 2).max(1)))
}

/// The `o=` line of an SDP body, with surrounding white space removed.
fn origin_line(sdp: &[u8]) -> Option<&str> {
    std::str::from_utf8(sdp)
        .ok()?
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("o="))
}

/// True when `new_offer` repeats `previous_offer`'s origin line exactly:
/// RFC 3264 §8 says an unchanged session version means an unchanged
/// session, as sent in session-timer refreshes. Such a re-INVITE is answered
/// with the previous answer without troubling the media layer.
pub fn is_unchanged_offer(previous_offer: &[u8], new_offer: &[u8]) -> bool {
    match (origin_line(previous_offer), origin_line(new_offer)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping() {
        assert_eq!(Refusal::Malformed.status().0, 400);
        assert_eq!(Refusal::AuthenticationRequired.status().0, 401);
        assert_eq!(Refusal::Forbidden.status().0, 403);
        assert_eq!(Refusal::UnknownNumber.status().0, 404);
        assert_eq!(Refusal::MethodNotAllowed.status().0, 405);
        assert_eq!(Refusal::NotAnswered.status().0, 480);
        assert_eq!(Refusal::NoSuchDialog.status().0, 481);
        assert_eq!(Refusal::OfferNotAcceptable.status().0, 488);
        assert_eq!(Refusal::Glare.status().0, 491);
        assert_eq!(Refusal::ReInviteInProgress.status().0, 500);
        assert_eq!(Refusal::Overloaded.status().0, 503);
    }

    #[test]
    fn reinvite_retry_after_table() {
        let ms = |n| Some(Duration::from_millis(n));
        let cases: &[(u16, Option<&str>, Option<Duration>)] = &[
            (500, Some("3"), ms(3000)),
            (500, Some(" 7 (busy);duration=60"), ms(7000)),
            (500, Some("10"), ms(10_000)),
            (500, Some("0"), ms(100)),
            (500, Some("11"), None),
            (500, Some("3600"), None),
            (500, Some("soon"), None),
            (500, Some(""), None),
            (500, None, None),
            (503, Some("3"), None),
            (488, Some("1"), None),
            (491, Some("1"), None),
        ];
        for &(status, header, want) in cases {
            assert_eq!(
                reinvite_retry_after(status, header),
                want,
                "{status} {header:?}"
            );
        }
    }

    #[test]
    fn glare_backoff_ranges() {
        for r in [0u32, 1, 190, 191, 200, 201, 12345, u32::MAX] {
            let owner = glare_backoff(true, r);
            assert!(owner >= Duration::from_millis(2100), "{owner:?}");
            assert!(owner <= Duration::from_millis(4000), "{owner:?}");
            assert_eq!(owner.as_millis() % 10, 0);
            let other = glare_backoff(false, r);
            assert!(other <= Duration::from_millis(2000), "{other:?}");
            assert_eq!(other.as_millis() % 10, 0);
        }
        assert_eq!(glare_backoff(true, 0), Duration::from_millis(2100));
        assert_eq!(glare_backoff(true, 190), Duration::from_millis(4000));
        assert_eq!(glare_backoff(false, 200), Duration::from_millis(2000));
    }

    #[test]
    fn session_timer_answers_never_make_us_refresh() {
        assert_eq!(
            session_expires_answer(Some("1800"), true).as_deref(),
            Some("1800;refresher=uac")
        );
        assert_eq!(
            session_expires_answer(Some("90;refresher=uas"), true).as_deref(),
            Some("90;refresher=uac")
        );
        assert_eq!(session_expires_answer(Some("1800"), false), None);
        assert_eq!(session_expires_answer(None, true), None);
        assert_eq!(session_expires_answer(Some("soon"), true), None);
    }

    #[test]
    fn uac_refresh_interval() {
        assert_eq!(
            refresh_interval_as_uac(Some("1800;refresher=uac")),
            Some(Duration::from_secs(900))
        );
        assert_eq!(refresh_interval_as_uac(Some("1800;refresher=uas")), None);
        assert_eq!(refresh_interval_as_uac(Some("1800")), None);
        assert_eq!(refresh_interval_as_uac(None), None);
        assert_eq!(refresh_interval_as_uac(Some("0;refresher=uac")), None);
    }

    #[test]
    fn refresh_detection() {
        let a = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\n";
        let same = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\n";
        let bumped = b"v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nm=image 4002 udptl t38\r\n";
        assert!(is_unchanged_offer(a, same));
        assert!(!is_unchanged_offer(a, bumped));
        assert!(!is_unchanged_offer(a, b"garbage"));
        assert!(!is_unchanged_offer(b"", b""));
    }
}

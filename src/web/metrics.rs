//! `GET /metrics`: Prometheus text exposition (format 0.0.4).
//!
//! The values are computed from the store at each scrape rather than kept
//! in process-local counters: the store is the one place that sees what
//! every faxbridge process did (the daemon, `faxbridge send`, recovery
//! after a restart), the numbers survive restarts, and no other module has
//! to be instrumented. A scrape costs a handful of `COUNT … GROUP BY`
//! queries on indexed tables.
//!
//! The `_total` series count rows still in the store: the retention purge
//! removes old faxes, which Prometheus sees as a counter reset (`rate()`
//! and `increase()` handle that).
//!
//! Two families describe live media rather than stored calls, and are this
//! process's own: the bridged calls in progress, and
//! `faxbridge_media_packets_dropped_total`, the media datagrams dropped
//! because they did not come from the party that signalled the stream
//! ([`crate::media::source`]). The latter starts from zero when the daemon
//! starts (a counter reset to Prometheus); alert on any increase, which
//! means someone sent media into a call that was not theirs.
//!
//! The sign-in counters (`faxbridge_web_login_*`) are the exception: they
//! count this process's sign-ins since it started, kept in memory like the
//! sign-in limiter itself.
//!
//! # Who may read it
//!
//! The counts and ATA names are site-wide, so only the monitoring system
//! and administrators read them:
//!
//! * without signing in, only a request straight from a `[web]
//!   metrics_from` address (the Prometheus server). A request from a
//!   `[web.trusted_proxy]` address, or carrying a proxy's forwarding
//!   headers (`Forwarded`, `X-Forwarded-For`, `Via`, the proxy's user
//!   header…), does not count as coming from where it connects from: a
//!   proxy on the Prometheus host would otherwise open the metrics to
//!   anyone who can reach the proxy;
//! * from anywhere, with `Authorization: Bearer TOKEN` where TOKEN is the
//!   contents of `[web] metrics_token_file` (compared in constant time); a
//!   wrong token is 401;
//! * from anywhere, a signed-in admin. Any other signed-in person is
//!   refused, even from a `metrics_from` address.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::sync::atomic::Ordering;

use super::config::Role;
use super::data;
use super::{AppState, WebError};
use crate::mail::DeliveryState;
use crate::media::source::{CallKind, DropReason, dropped_total};
use crate::queue::JobState;

/// Escape a label value (backslash, double quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Builds the exposition text.
#[derive(Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: i64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            let parts: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
                .collect();
            let _ = write!(self.out, "{{{}}}", parts.join(","));
        }
        let _ = writeln!(self.out, " {value}");
    }
}

async fn grouped(
    store: &crate::store::Store,
    sql: &'static str,
) -> Result<Vec<(String, i64)>, WebError> {
    let rows = sqlx::query(sql)
        .fetch_all(store.pool())
        .await
        .map_err(WebError::db("computing metrics"))?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(WebError::db("computing metrics"))
}

async fn scalar(store: &crate::store::Store, sql: &'static str) -> Result<i64, WebError> {
    sqlx::query(sql)
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get::<i64, _>(0))
        .map_err(WebError::db("computing metrics"))
}

/// The SIP listeners' limits at work ([`crate::sip::limits`]): counters of
/// this process.
fn sip_limits(e: &mut Exposition) {
    let s = crate::sip::limits::stats::snapshot();
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    e.family(
        "faxbridge_sip_connections",
        "gauge",
        "SIP-over-TCP and TLS connections open now.",
    );
    e.sample("faxbridge_sip_connections", &[], n(s.open_connections));
    e.family(
        "faxbridge_sip_connections_closed_total",
        "counter",
        "SIP-over-TCP and TLS connections closed by the limits, by reason.",
    );
    for (reason, v) in [
        ("per_address", s.refused_per_address),
        ("all_in_use", s.refused_total),
        ("made_room", s.evicted),
        ("no_request", s.no_request),
        ("not_sip", s.not_sip),
    ] {
        e.sample(
            "faxbridge_sip_connections_closed_total",
            &[("reason", reason)],
            n(v),
        );
    }
    e.family(
        "faxbridge_sip_accept_errors_total",
        "counter",
        "Failed accepts on the SIP TCP and TLS listeners (mostly: out of file descriptors).",
    );
    e.sample("faxbridge_sip_accept_errors_total", &[], n(s.accept_errors));
    e.family(
        "faxbridge_sip_calls_refused_total",
        "counter",
        "INVITEs refused with 503 because their peer had its limit of calls in progress.",
    );
    e.sample("faxbridge_sip_calls_refused_total", &[], n(s.calls_refused));
}

/// The whole exposition.
pub(crate) async fn render(st: &AppState) -> Result<String, WebError> {
    let store = &st.store;
    let mut e = Exposition::default();

    let received = grouped(
        store,
        "SELECT CASE WHEN success <> 0 THEN 'success' ELSE 'failure' END, COUNT(*) \
         FROM received_fax GROUP BY 1",
    )
    .await?;
    let received: BTreeMap<String, i64> = received.into_iter().collect();
    e.family(
        "faxbridge_received_faxes_total",
        "counter",
        "Faxes received, by T.30 outcome.",
    );
    for outcome in ["success", "failure"] {
        let n = received.get(outcome).copied().unwrap_or(0);
        e.sample("faxbridge_received_faxes_total", &[("result", outcome)], n);
    }

    e.family(
        "faxbridge_fax_calls_total",
        "counter",
        "Fax calls, received and placed (one per sending attempt).",
    );
    let in_calls = received.values().sum();
    e.sample(
        "faxbridge_fax_calls_total",
        &[("direction", "in")],
        in_calls,
    );
    let out_calls = scalar(
        store,
        "SELECT COUNT(*) FROM fax_job_attempt WHERE ended_at_ms IS NOT NULL",
    )
    .await?;
    e.sample(
        "faxbridge_fax_calls_total",
        &[("direction", "out")],
        out_calls,
    );

    e.family(
        "faxbridge_fax_pages_total",
        "counter",
        "Fax pages received, and pages sent that the far end confirmed.",
    );
    let pages_in = scalar(
        store,
        "SELECT CAST(COALESCE(SUM(pages_received), 0) AS BIGINT) FROM received_fax",
    )
    .await?;
    e.sample(
        "faxbridge_fax_pages_total",
        &[("direction", "in")],
        pages_in,
    );
    let pages_out = scalar(
        store,
        "SELECT CAST(COALESCE(SUM(pages_confirmed), 0) AS BIGINT) FROM fax_job",
    )
    .await?;
    e.sample(
        "faxbridge_fax_pages_total",
        &[("direction", "out")],
        pages_out,
    );

    e.family(
        "faxbridge_fax_failures_total",
        "counter",
        "Failed fax calls by T.30 result (or the call's failure cause when no fax session ran).",
    );
    for (result, n) in grouped(
        store,
        "SELECT result_text, COUNT(*) FROM received_fax WHERE success = 0 GROUP BY result_text",
    )
    .await?
    {
        e.sample(
            "faxbridge_fax_failures_total",
            &[("direction", "in"), ("result", &result)],
            n,
        );
    }
    for (result, n) in grouped(
        store,
        "SELECT COALESCE(t30_text, cause, 'unknown'), COUNT(*) FROM fax_job_attempt \
         WHERE success = 0 AND ended_at_ms IS NOT NULL GROUP BY 1",
    )
    .await?
    {
        e.sample(
            "faxbridge_fax_failures_total",
            &[("direction", "out"), ("result", &result)],
            n,
        );
    }

    e.family(
        "faxbridge_calls_in_progress",
        "gauge",
        "Calls in progress (fax in: call records in the spool; fax out: jobs dialling or sending; bridged: calls through the analogue bridge).",
    );
    let queue = data::counts_by_state(store, "fax_job").await?;
    e.sample(
        "faxbridge_calls_in_progress",
        &[("direction", "in")],
        data::incoming_calls(&st.site) as i64,
    );
    let out_active =
        queue.get("dialling").copied().unwrap_or(0) + queue.get("sending").copied().unwrap_or(0);
    e.sample(
        "faxbridge_calls_in_progress",
        &[("direction", "out")],
        out_active,
    );
    e.sample(
        "faxbridge_calls_in_progress",
        &[("direction", "bridged")],
        crate::bridge::active_calls() as i64,
    );
    sip_limits(&mut e);

    e.family(
        "faxbridge_media_packets_dropped_total",
        "counter",
        "Media datagrams (RTP, RTCP, UDPTL) dropped since the process started because they did not come from the party that signalled the stream: foreign_source (another address, or another port once the stream was bound), ssrc (another RTP source from the party's address); call is bridged (the analogue bridge's relay) or fax (faxbridge's own fax calls).",
    );
    for kind in CallKind::ALL {
        for reason in DropReason::ALL {
            e.sample(
                "faxbridge_media_packets_dropped_total",
                &[("call", kind.as_str()), ("reason", reason.as_str())],
                dropped_total(kind, reason) as i64,
            );
        }
    }

    e.family(
        "faxbridge_queue_jobs",
        "gauge",
        "Outgoing fax jobs by state.",
    );
    for state in JobState::NAMES {
        let n = queue.get(state).copied().unwrap_or(0);
        e.sample("faxbridge_queue_jobs", &[("state", state)], n);
    }

    e.family(
        "faxbridge_outbox_messages",
        "gauge",
        "Outgoing mail (received faxes, delivery reports) by delivery state; pending, deferred and dead are the backlog.",
    );
    let outbox = data::counts_by_state(store, "mail_outbox").await?;
    for state in [
        DeliveryState::Pending,
        DeliveryState::Sending,
        DeliveryState::Sent,
        DeliveryState::Deferred,
        DeliveryState::Dead,
    ] {
        let n = outbox.get(state.as_str()).copied().unwrap_or(0);
        e.sample("faxbridge_outbox_messages", &[("state", state.as_str())], n);
    }

    let statuses = data::ata_statuses(store).await?;
    e.family(
        "faxbridge_ata_reachable",
        "gauge",
        "1 when the ATA answered its last SNMP poll, 0 when it did not.",
    );
    for s in &statuses {
        e.sample(
            "faxbridge_ata_reachable",
            &[("unit", &s.unit)],
            i64::from(s.reachable),
        );
    }
    e.family(
        "faxbridge_ata_problems",
        "gauge",
        "Problems found at the ATA's last poll (line faults, registration, firmware).",
    );
    for s in &statuses {
        e.sample(
            "faxbridge_ata_problems",
            &[("unit", &s.unit)],
            s.problems.len() as i64,
        );
    }

    let flags = data::flags(store).await?;
    e.family(
        "faxbridge_pci_flags",
        "gauge",
        "PCI-DSS flagged lines (analogue card payments over VoIP), open or acknowledged.",
    );
    let acked = flags.iter().filter(|f| f.acknowledged().is_some()).count() as i64;
    e.sample(
        "faxbridge_pci_flags",
        &[("status", "open")],
        flags.len() as i64 - acked,
    );
    e.sample("faxbridge_pci_flags", &[("status", "acknowledged")], acked);
    // Flags are never deleted, so their number per reason only grows: each
    // increment is one new finding (alert on `increase(...[5m]) > 0`).
    e.family(
        "faxbridge_pci_new_findings_total",
        "counter",
        "PCI-DSS findings raised (a new ATA port and reason), by reason.",
    );
    for reason in crate::compliance::Reason::ALL {
        let n = flags.iter().filter(|f| f.reason == reason).count() as i64;
        e.sample(
            "faxbridge_pci_new_findings_total",
            &[("reason", reason.as_str())],
            n,
        );
    }

    let counts = st.auth.login_counts();
    for (name, help, value) in [
        (
            "faxbridge_web_login_failures_total",
            "Web sign-ins refused for a wrong user name or password (since start).",
            &counts.failures,
        ),
        (
            "faxbridge_web_login_lockouts_total",
            "Client addresses locked out of web sign-in after too many failures (since start).",
            &counts.lockouts,
        ),
        (
            "faxbridge_web_login_refused_total",
            "Web sign-in attempts refused because their address was locked out (since start).",
            &counts.refused,
        ),
        (
            "faxbridge_web_login_delayed_total",
            "Web sign-in attempts slowed because their account had recent failures (since start).",
            &counts.delayed,
        ),
    ] {
        e.family(name, "counter", help);
        let n = i64::try_from(value.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        e.sample(name, &[], n);
    }
    smtp(&mut e);
    Ok(e.out)
}

/// The SMTP listener's defences: counted in this process since it started
/// (the store never sees a refused connection or a wrong password), so
/// they restart from 0 with the daemon, which `rate()` handles.
fn smtp(e: &mut Exposition) {
    let c = crate::smtp::counters();
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    e.family(
        "faxbridge_smtp_auth_failures_total",
        "counter",
        "SMTP AUTH attempts with a wrong user name or password.",
    );
    e.sample(
        "faxbridge_smtp_auth_failures_total",
        &[],
        n(c.auth_failures),
    );
    e.family(
        "faxbridge_smtp_auth_lockouts_total",
        "counter",
        "SMTP AUTH lockouts after too many failures: a client address locked out, or an account's attempts slowed down.",
    );
    for (scope, v) in [
        ("address", c.auth_address_lockouts),
        ("account", c.auth_account_slowdowns),
    ] {
        e.sample(
            "faxbridge_smtp_auth_lockouts_total",
            &[("scope", scope)],
            n(v),
        );
    }
    e.family(
        "faxbridge_smtp_connections_refused_total",
        "counter",
        "SMTP connections refused at connect: every slot taken, only reserved slots left, or the client address at its limit.",
    );
    for (reason, v) in [
        ("full", c.refused_full),
        ("reserved", c.refused_reserved),
        ("per_address", c.refused_per_address),
    ] {
        e.sample(
            "faxbridge_smtp_connections_refused_total",
            &[("reason", reason)],
            n(v),
        );
    }
    e.family(
        "faxbridge_smtp_sessions_closed_total",
        "counter",
        "SMTP sessions closed early: no login or accepted sender in time, or too many refused senders.",
    );
    for (reason, v) in [
        ("pre_mail_timeout", c.unproven_timeouts),
        ("sender_refusals", c.sender_refusal_closes),
    ] {
        e.sample(
            "faxbridge_smtp_sessions_closed_total",
            &[("reason", reason)],
            n(v),
        );
    }
}

/// Headers a reverse proxy adds to say whom it forwards for. A request
/// carrying any of them came through a proxy, whatever address it
/// connects from.
const FORWARDING_HEADERS: [&str; 10] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-server",
    "x-forwarded-prefix",
    "x-real-ip",
    "x-client-ip",
    "via",
];

/// The bearer token a request shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bearer {
    /// No `Authorization` header.
    Absent,
    /// The token of `metrics_token_file`.
    Valid,
    /// Another token, another scheme, or no token is configured.
    Invalid,
}

/// What decides a `/metrics` request.
#[derive(Debug, Clone, Copy)]
struct Asking {
    /// The connection comes from a `metrics_from` address.
    from_metrics_net: bool,
    /// It came through a proxy (the trusted proxy's address, or forwarding
    /// headers).
    proxied: bool,
    bearer: Bearer,
    /// The role of the signed-in person, if any.
    role: Option<Role>,
}

/// The answer to a `/metrics` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Granted,
    /// 403: no credentials, and not straight from `metrics_from`.
    NeedsCredentials,
    /// 401: a bearer token that is not the configured one.
    BadToken,
    /// 403: signed in, but not as an admin.
    NotAdmin,
}

fn access(a: Asking) -> Access {
    match a.bearer {
        Bearer::Valid => return Access::Granted,
        Bearer::Invalid => return Access::BadToken,
        Bearer::Absent => {}
    }
    match a.role {
        Some(Role::Admin) => Access::Granted,
        Some(_) => Access::NotAdmin,
        None if a.from_metrics_net && !a.proxied => Access::Granted,
        None => Access::NeedsCredentials,
    }
}

/// Equal without an early exit, and without revealing the length.
fn same_token(a: &str, b: &str) -> bool {
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

fn bearer(headers: &HeaderMap, token: Option<&str>) -> Bearer {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Bearer::Absent;
    };
    if values.next().is_some() {
        return Bearer::Invalid;
    }
    let shown = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match (shown, token) {
        (Some(shown), Some(token)) if same_token(shown, token) => Bearer::Valid,
        _ => Bearer::Invalid,
    }
}

fn proxied(st: &AppState, headers: &HeaderMap, peer: std::net::IpAddr) -> bool {
    st.auth.is_proxy(peer)
        || FORWARDING_HEADERS.iter().any(|h| headers.contains_key(*h))
        || st
            .auth
            .proxy_header()
            .is_some_and(|h| headers.contains_key(h))
}

/// `GET /metrics`.
pub(crate) async fn metrics(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let who = st.auth.identify(&headers, peer.ip()).map(|(who, _)| who);
    let asking = Asking {
        from_metrics_net: st.metrics_from.iter().any(|n| n.contains(peer.ip())),
        proxied: proxied(&st, &headers, peer.ip()),
        bearer: bearer(&headers, st.metrics_token.as_deref()),
        role: who.as_ref().map(|w| w.role),
    };
    match access(asking) {
        Access::Granted => {}
        Access::NeedsCredentials => {
            return (
                StatusCode::FORBIDDEN,
                "metrics are readable without signing in only straight from [web] metrics_from, \
                 never through the proxy; sign in as an admin or send Authorization: Bearer \
                 with the token of [web] metrics_token_file\n",
            )
                .into_response();
        }
        Access::BadToken => {
            let mut r = (
                StatusCode::UNAUTHORIZED,
                "wrong bearer token; send the contents of [web] metrics_token_file\n",
            )
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"faxbridge metrics\", error=\"invalid_token\"",
                ),
            );
            return r;
        }
        Access::NotAdmin => {
            let text = match &who {
                Some(w) => format!(
                    "{} ({}) may not read metrics; ask an administrator\n",
                    w.name,
                    w.role.as_str()
                ),
                None => "only administrators may read metrics\n".to_string(),
            };
            return (StatusCode::FORBIDDEN, text).into_response();
        }
    }
    match render(&st).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!("metrics: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_read_metrics() {
        use Access::*;
        use Bearer::*;
        // (from metrics_from, through a proxy, bearer, signed-in role, answer)
        let table = [
            (true, false, Absent, None, Granted),
            (false, false, Absent, None, NeedsCredentials),
            (true, true, Absent, None, NeedsCredentials),
            (false, true, Absent, None, NeedsCredentials),
            (false, false, Valid, None, Granted),
            (true, true, Valid, None, Granted),
            (false, true, Invalid, None, BadToken),
            (true, false, Invalid, None, BadToken),
            (true, true, Invalid, Some(Role::Admin), BadToken),
            (false, true, Absent, Some(Role::Admin), Granted),
            (false, false, Absent, Some(Role::Finance), NotAdmin),
            (true, false, Absent, Some(Role::User), NotAdmin),
            (true, true, Absent, Some(Role::User), NotAdmin),
            (true, false, Valid, Some(Role::User), Granted),
        ];
        for (i, (from_metrics_net, proxied, bearer, role, want)) in table.into_iter().enumerate() {
            let asking = Asking {
                from_metrics_net,
                proxied,
                bearer,
                role,
            };
            assert_eq!(access(asking), want, "row {i}: {asking:?}");
        }
    }

    #[test]
    fn bearer_tokens() {
        let token = Some("0123456789abcdef0123");
        let h = |v: &[&str]| {
            let mut m = HeaderMap::new();
            for v in v {
                m.append(header::AUTHORIZATION, v.parse().unwrap());
            }
            m
        };
        assert_eq!(bearer(&h(&[]), token), Bearer::Absent);
        assert_eq!(
            bearer(&h(&["Bearer 0123456789abcdef0123"]), token),
            Bearer::Valid
        );
        assert_eq!(
            bearer(&h(&["bearer  0123456789abcdef0123 "]), token),
            Bearer::Valid
        );
        for wrong in [
            "Bearer 0123456789abcdef012",
            "Bearer 0123456789abcdef01234",
            "Basic MDEyMzQ1Njc4OWFiY2RlZjAxMjM=",
            "Bearer",
            "0123456789abcdef0123",
        ] {
            assert_eq!(bearer(&h(&[wrong]), token), Bearer::Invalid, "{wrong}");
        }
        assert_eq!(
            bearer(
                &h(&["Bearer 0123456789abcdef0123", "Bearer 0123456789abcdef0123"]),
                token
            ),
            Bearer::Invalid,
            "two Authorization headers"
        );
        assert_eq!(
            bearer(&h(&["Bearer 0123456789abcdef0123"]), None),
            Bearer::Invalid,
            "no token configured: none is right"
        );
    }

    #[test]
    fn smtp_defences_are_exposed() {
        let mut e = Exposition::default();
        smtp(&mut e);
        for line in [
            "# TYPE faxbridge_smtp_auth_failures_total counter",
            "faxbridge_smtp_auth_lockouts_total{scope=\"address\"} ",
            "faxbridge_smtp_auth_lockouts_total{scope=\"account\"} ",
            "faxbridge_smtp_connections_refused_total{reason=\"per_address\"} ",
            "faxbridge_smtp_sessions_closed_total{reason=\"pre_mail_timeout\"} ",
        ] {
            assert!(e.out.contains(line), "{line} missing in {}", e.out);
        }
    }

    #[test]
    fn labels_are_escaped() {
        let mut e = Exposition::default();
        e.family("m", "gauge", "help");
        e.sample("m", &[("r", "a \"b\"\\\nc")], 3);
        assert_eq!(
            e.out,
            "# HELP m help\n# TYPE m gauge\nm{r=\"a \\\"b\\\"\\\\\\nc\"} 3\n"
        );
    }
}

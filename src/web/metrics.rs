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
//! Readable without signing in from `[web] metrics_from` (the Prometheus
//! server), and by signed-in admins from anywhere.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sqlx::Row;

use super::config::Role;
use super::data;
use super::{AppState, WebError};
use crate::mail::DeliveryState;
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
        data::incoming_calls(&st.config) as i64,
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
    Ok(e.out)
}

/// `GET /metrics`.
pub(crate) async fn metrics(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let allowed = st.metrics_from.iter().any(|n| n.contains(peer.ip()))
        || st
            .auth
            .identify(&headers, peer.ip())
            .is_some_and(|(who, _)| who.role == Role::Admin);
    if !allowed {
        return (
            StatusCode::FORBIDDEN,
            "metrics are readable from [web] metrics_from or by signed-in admins\n",
        )
            .into_response();
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

//! The JSON API under `/api/`: the same data as the pages, for scripts.
//!
//! Authentication is the same as for the pages (session cookie from
//! `POST /login`, or the trusted proxy's header); an unauthenticated request
//! gets `401` with a JSON error instead of a redirect. `POST`s need the
//! session's CSRF token (from `GET /api/session`) in `X-CSRF-Token`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Signed;
use super::config::Role;
use super::data::{self, LIST_LIMIT};
use super::{AppState, WebError};
use crate::clock::now_ms;

/// A JSON document with `status`.
fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_string());
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body + "\n",
    )
        .into_response()
}

/// `{"error": text}` with `status`.
pub(crate) fn error(status: StatusCode, text: &str) -> Response {
    json_response(status, &json!({ "error": text }))
}

fn failed(e: WebError) -> Response {
    tracing::error!("web API: {e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

/// `GET /api/session`: who is signed in, and the CSRF token for `POST`s.
pub(crate) async fn session(s: Signed) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "user": s.who.name,
            "role": s.who.role,
            "email": s.who.email,
            "via_proxy": s.who.via_proxy,
            "csrf_token": s.csrf,
        }),
    )
}

/// `GET /api/dashboard`.
pub(crate) async fn dashboard(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    match data::dashboard(&st.site, &st.store, &st.jobs, &s.who).await {
        Ok(d) => json_response(StatusCode::OK, &d),
        Err(e) => failed(e),
    }
}

/// `GET /api/faxes/in`.
pub(crate) async fn received(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    match data::received(&st.store, &s.who, LIST_LIMIT).await {
        Ok(v) => json_response(StatusCode::OK, &json!({ "faxes": v })),
        Err(e) => failed(e),
    }
}

/// `GET /api/faxes/out`.
pub(crate) async fn jobs(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    match data::jobs(&st.jobs, &s.who, LIST_LIMIT).await {
        Ok(v) => json_response(StatusCode::OK, &json!({ "jobs": v })),
        Err(e) => failed(e),
    }
}

/// `GET /api/faxes/out/{id}`: one job with its attempts and history.
pub(crate) async fn job(
    State(st): State<Arc<AppState>>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    let detail = match st.jobs.job(&id).await {
        Ok(d) => d,
        Err(crate::queue::QueueError::NotFound(_)) => {
            return error(StatusCode::NOT_FOUND, "no such fax job");
        }
        Err(e) => return failed(e.into()),
    };
    let view = data::JobView::from_summary(&detail.job);
    if !data::may_see_job(&s.who, &view, detail.job.report_to.as_deref()) {
        return error(StatusCode::NOT_FOUND, "no such fax job");
    }
    // A user is shown no ATA names (data::JobView::for_viewer).
    let route = detail.job.route.encode();
    let shown = |text: &str| {
        if s.who.role == Role::User {
            data::redact_route(text, &route)
        } else {
            text.to_string()
        }
    };
    let view = view.for_viewer(&s.who);
    let attempts: Vec<Value> = detail
        .attempts
        .iter()
        .map(|a| {
            json!({
                "number": a.number,
                "started_ms": a.started,
                "ended_ms": a.ended,
                "cause": a.cause.as_ref().map(|c| format!("{c:?}")),
                "sip_status": a.sip_status,
                "t30_code": a.t30_code,
                "t30_text": a.t30_text.as_deref().map(shown),
                "pages_confirmed": a.pages_confirmed,
                "success": a.success,
                "remote_ident": a.remote_ident,
            })
        })
        .collect();
    let events: Vec<Value> = detail
        .events
        .iter()
        .map(|e| json!({ "at_ms": e.at, "from": e.from, "to": e.to, "detail": shown(&e.detail) }))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({ "job": view, "attempts": attempts, "events": events }),
    )
}

async fn job_action(
    st: &AppState,
    s: &Signed,
    id: &str,
    headers: &HeaderMap,
    retry: bool,
) -> Response {
    if let Err(r) = s.require(&[Role::Admin], true) {
        return *r;
    }
    let token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    if let Err(r) = s.check_csrf(token, true) {
        return *r;
    }
    let by = format!("{} (web API)", s.who.name);
    let result = if retry {
        st.jobs.retry_now(id, &by, now_ms()).await
    } else {
        st.jobs.cancel(id, &by, now_ms()).await
    };
    match result {
        Ok(state) => json_response(StatusCode::OK, &json!({ "id": id, "state": state.name() })),
        Err(crate::queue::QueueError::NotFound(_)) => {
            error(StatusCode::NOT_FOUND, "no such fax job")
        }
        Err(e @ crate::queue::QueueError::Illegal { .. }) => {
            error(StatusCode::CONFLICT, &e.to_string())
        }
        Err(e) => failed(e.into()),
    }
}

/// `POST /api/faxes/out/{id}/cancel` (admin, `X-CSRF-Token`).
pub(crate) async fn cancel(
    State(st): State<Arc<AppState>>,
    s: Signed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    job_action(&st, &s, &id, &headers, false).await
}

/// `POST /api/faxes/out/{id}/retry` (admin, `X-CSRF-Token`).
pub(crate) async fn retry(
    State(st): State<Arc<AppState>>,
    s: Signed,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    job_action(&st, &s, &id, &headers, true).await
}

/// `GET /api/lines` (admin, finance).
pub(crate) async fn lines(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    if let Err(r) = s.require(&[Role::Admin, Role::Finance], true) {
        return *r;
    }
    match data::lines(&st.site, &st.store).await {
        Ok(v) => json_response(StatusCode::OK, &json!({ "units": v })),
        Err(e) => failed(e),
    }
}

/// `GET /api/pci` (admin, finance): the report as
/// [`crate::compliance::report::json`] writes it.
pub(crate) async fn pci(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    if let Err(r) = s.require(&[Role::Admin, Role::Finance], true) {
        return *r;
    }
    let suspected = match crate::compliance::ComplianceStore::new(st.store.clone())
        .suspected_lines()
        .await
    {
        Ok(s) => s,
        Err(e) => return failed(e.into()),
    };
    match data::flags(&st.store).await {
        Ok(flags) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            crate::compliance::report::json(&flags, &suspected, now_ms()),
        )
            .into_response(),
        Err(e) => failed(e),
    }
}

/// `GET /api/pci/calls?limit=N` (admin, finance): the latest bridged calls
/// of the ATA ports with the classifier's verdict, as
/// [`crate::compliance::report::calls_json`] writes them (100 by default,
/// at most 1000).
pub(crate) async fn pci_calls(
    State(st): State<Arc<AppState>>,
    s: Signed,
    axum::extract::Query(q): axum::extract::Query<CallsQuery>,
) -> Response {
    if let Err(r) = s.require(&[Role::Admin, Role::Finance], true) {
        return *r;
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    match crate::compliance::ComplianceStore::new(st.store.clone())
        .calls(limit)
        .await
    {
        Ok(calls) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            crate::compliance::report::calls_json(&calls, now_ms()),
        )
            .into_response(),
        Err(e) => failed(e.into()),
    }
}

/// Query of `GET /api/pci/calls`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct CallsQuery {
    limit: Option<u32>,
}

/// `GET /api/config` (admin).
pub(crate) async fn config_summary(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    if let Err(r) = s.require(&[Role::Admin], true) {
        return *r;
    }
    json_response(StatusCode::OK, &st.site.summary)
}

//! The HTML pages (maud, rendered on the server, no scripts).
//!
//! Every change is a `<form method="post">` carrying the session's CSRF
//! token in a hidden field, so the pages work in any browser without
//! JavaScript and a forged cross-site form is refused.

use std::sync::Arc;

use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::auth::{Auth, Signed};
use super::config::Role;
use super::data::{self, LIST_LIMIT};
use super::{AppState, WebError};
use crate::clock::now_ms;
use crate::compliance::report::{self, format_utc};
use crate::media::classifier::Direction;

const STYLE: &str = "body{font-family:sans-serif;margin:0;color:#222}\
header{background:#234;color:#fff;padding:.5em 1em;display:flex;gap:1em;align-items:center}\
header a{color:#fff}header form{margin-left:auto}main{padding:1em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;\
text-align:left;vertical-align:top}th{background:#eee}.bad{color:#a00}.ok{color:#070}\
img.thumb{width:120px;border:1px solid #999}.cards{display:flex;gap:1em;flex-wrap:wrap}\
.card{border:1px solid #ccc;padding:.5em 1em;min-width:10em}";

/// A page in the common frame.
fn page(title: &str, signed: Option<&Signed>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · faxbridge" }
                style { (STYLE) }
            }
            body {
                header {
                    strong { "faxbridge" }
                    @if let Some(s) = signed {
                        a href="/" { "Dashboard" }
                        a href="/faxes/in" { "Faxes in" }
                        a href="/faxes/out" { "Faxes out" }
                        @if s.who.role != Role::User {
                            a href="/lines" { "Lines" }
                            a href="/pci" { "PCI report" }
                        }
                        @if s.who.role == Role::Admin {
                            a href="/config" { "Configuration" }
                        }
                        form method="post" action="/logout" {
                            span { (s.who.name) " (" (s.who.role.as_str()) ") " }
                            input type="hidden" name="csrf" value=(s.csrf);
                            @if !s.who.via_proxy { button type="submit" { "Sign out" } }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, Html(markup.into_string())).into_response();
    // Pages show who is signed in and their faxes: never cache them, never
    // frame them (clickjacking).
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    r
}

/// A page with one message, e.g. for 403 and 404.
pub(crate) fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    respond(
        status,
        page(
            title,
            None,
            html! { p { (text) } p { a href="/" { "Back to the dashboard" } } },
        ),
    )
}

fn failed(e: WebError) -> Response {
    tracing::error!("web page: {e}");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error",
        &format!("The page could not be built: {e}"),
    )
}

fn when(ms: i64) -> String {
    format_utc(ms)
}

/// `GET /`: calls in progress, queue, last faxes, ATA health.
pub(crate) async fn dashboard(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    let d = match data::dashboard(&st.site, &st.store, &st.jobs, &s.who).await {
        Ok(d) => d,
        Err(e) => return failed(e),
    };
    // A user sees their own faxes only: no site-wide counts, no ATAs.
    let body = html! {
        @if let Some(site) = &d.site {
        div.cards {
            div.card { h3 { "Calls in progress" } p { (site.incoming_calls) " fax in, " (site.outgoing_calls) " fax out, " (site.bridged_calls) " bridged" } }
            div.card {
                h3 { "Queue" }
                @if site.queue.is_empty() { p { "empty" } }
                ul { @for (state, n) in &site.queue { li { (state) ": " (n) } } }
            }
            div.card {
                h3 { "Mail outbox" }
                @if site.outbox.is_empty() { p { "empty" } }
                ul { @for (state, n) in &site.outbox { li { (state) ": " (n) } } }
            }
            div.card {
                h3 { "ATAs" }
                p { (site.atas_reachable) " of " (site.atas_polled) " reachable" }
                @for u in &site.atas_with_problems { p.bad { (u) " needs attention" } }
            }
            @if let Some(open) = d.pci_open {
                div.card { h3 { "PCI-DSS" } p class=(if open > 0 { "bad" } else { "ok" }) { (open) " open flags" } }
            }
        }
        }
        h2 { "Last received faxes" }
        (received_table(&d.last_received))
        h2 { "Last outgoing faxes" }
        (jobs_table(&d.last_sent, &s))
    };
    respond(StatusCode::OK, page("Dashboard", Some(&s), body))
}

fn received_table(faxes: &[data::ReceivedFaxView]) -> Markup {
    html! {
        @if faxes.is_empty() { p { "No faxes." } } @else {
            table {
                tr { th { "Page 1" } th { "Received" } th { "From" } th { "To" } th { "Pages" } th { "Result" } th { "Recipients" } th { "PDF" } }
                @for f in faxes {
                    tr {
                        td { @if f.has_thumbnail {
                            img.thumb src={ "/faxes/in/" (f.id) "/thumbnail.png" } alt={ "page 1 of fax " (f.id) };
                        } }
                        td { (when(f.started_at_ms)) br; small { (f.id) } }
                        td { (f.caller) @if !f.remote_csi.is_empty() { br; small { (f.remote_csi) } } }
                        td { (f.called) }
                        td { (f.pages) }
                        td class=(if f.success { "ok" } else { "bad" }) { (f.result) }
                        td { @for r in &f.recipients { (r) br; } }
                        td { @if f.has_pdf { a href={ "/faxes/in/" (f.id) "/fax.pdf" } { "Download PDF" } } @else { (f.state) } }
                    }
                }
            }
        }
    }
}

fn jobs_table(jobs: &[data::JobView], s: &Signed) -> Markup {
    let admin = s.who.role == Role::Admin;
    html! {
        @if jobs.is_empty() { p { "No jobs." } } @else {
            table {
                tr { th { "Queued" } th { "To" } th { "Subject" } th { "From" } th { "State" } th { "Pages" } th { "Attempts" } @if admin { th { "Actions" } } }
                @for j in jobs {
                    tr {
                        td { (when(j.created_ms)) br; small { (j.id) } }
                        td { (j.destination) br; small { (j.route) } }
                        td { (j.subject) }
                        td { (j.submitter) }
                        td { (j.state) @if !j.state_detail.is_empty() { br; small { (j.state_detail) } } }
                        td { (j.pages_confirmed) "/" (j.pages_total) }
                        td { (j.attempts) }
                        @if admin {
                            td {
                                @if j.can_cancel {
                                    form method="post" action={ "/faxes/out/" (j.id) "/cancel" } {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        button type="submit" { "Cancel" }
                                    }
                                }
                                @if j.can_retry {
                                    form method="post" action={ "/faxes/out/" (j.id) "/retry" } {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        button type="submit" { "Retry now" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /login` (straight to the dashboard when already signed in).
pub(crate) async fn login_form(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if st.auth.identify(&headers, peer.ip()).is_some() {
        return Redirect::to("/").into_response();
    }
    login_page(StatusCode::OK, None)
}

fn login_page(status: StatusCode, error: Option<&str>) -> Response {
    let body = html! {
        @if let Some(e) = error { p.bad { (e) } }
        form method="post" action="/login" {
            p { label { "User name " input type="text" name="username" autocomplete="username" required; } }
            p { label { "Password " input type="password" name="password" autocomplete="current-password" required; } }
            p { button type="submit" { "Sign in" } }
        }
    };
    respond(status, page("Sign in", None, body))
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
}

/// `POST /login`: check the password, open a session, set the cookie.
///
/// A client address with too many recent failures is answered 429 with
/// `Retry-After`, before the password is checked. An account with recent
/// failures is never refused: the attempt waits (see `web::limit`) and then
/// signs in if the password is right.
pub(crate) async fn login(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    // Login CSRF: another site must not sign a browser in to an account
    // of its choosing.
    if super::auth::cross_site(&headers) {
        return message_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "Sign in from this site's own form.",
        );
    }
    let client = st.auth.client_address(&headers, peer.ip());
    let attempt = match st.auth.login_begin(client, &f.username) {
        Ok(attempt) => attempt,
        Err(locked) => {
            let secs =
                locked.retry_after.as_secs() + u64::from(locked.retry_after.subsec_nanos() > 0);
            // Logged once when the lockout starts; each refusal only counts.
            tracing::debug!(
                user = %f.username, %client, retry_after_secs = secs,
                "web sign-in refused: the client address is locked out"
            );
            let mut r = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!(
                    "Too many failed sign-ins from your address. Try again in {} minute(s).",
                    secs.div_ceil(60)
                )),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return r;
        }
    };
    if !attempt.delay().is_zero() {
        tracing::debug!(
            user = %f.username, %client, delay_ms = attempt.delay().as_millis() as u64,
            "web sign-in slowed: the account has recent failed attempts"
        );
        tokio::time::sleep(attempt.delay()).await;
    }
    let state = st.clone();
    let username = f.username.clone();
    // PBKDF2 is slow on purpose: keep it off the async workers.
    let who = tokio::task::spawn_blocking(move || state.auth.verify(&username, &f.password))
        .await
        .ok()
        .flatten();
    match who {
        Some(who) => {
            tracing::info!(user = %who.name, role = who.role.as_str(), %client, "web sign-in");
            st.auth.login_succeeded(attempt);
            let id = st.auth.open_session(who);
            let mut r = Redirect::to("/").into_response();
            let secure = st.auth.cookie_secure(&headers, peer.ip());
            if let Ok(v) = HeaderValue::from_str(&st.auth.cookie(&id, secure)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        None => {
            tracing::warn!(user = %f.username, %client, "web sign-in refused: wrong user name or password");
            if let Some(lockout) = st.auth.login_failed(attempt) {
                tracing::warn!(
                    address = %lockout.address, failures = lockout.failures,
                    locked_secs = lockout.lasts.as_secs(),
                    "web sign-in: client address locked out after {} failed attempts",
                    lockout.failures
                );
            }
            login_page(
                StatusCode::UNAUTHORIZED,
                Some("Wrong user name or password."),
            )
        }
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: Option<String>,
}

/// `POST /logout`.
pub(crate) async fn logout(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    s: Signed,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(r) = s.check_csrf(f.csrf.as_deref(), false) {
        return *r;
    }
    if let Some(id) = super::auth::session_id(&headers) {
        st.auth.close_session(id);
    }
    let mut r = Redirect::to("/login").into_response();
    let secure = st.auth.cookie_secure(&headers, peer.ip());
    if let Ok(v) = HeaderValue::from_str(&Auth::expired_cookie(secure)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `GET /faxes/in`.
pub(crate) async fn received(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    match data::received(&st.store, &s.who, LIST_LIMIT).await {
        Ok(faxes) => respond(
            StatusCode::OK,
            page("Received faxes", Some(&s), received_table(&faxes)),
        ),
        Err(e) => failed(e),
    }
}

async fn spool_file(
    st: &AppState,
    s: &Signed,
    id: &str,
    pick: fn(&data::ReceivedFaxView) -> Option<&std::path::Path>,
) -> Result<Vec<u8>, Box<Response>> {
    let not_found = || {
        Box::new(message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "No such fax, or it has no such file.",
        ))
    };
    let fax = data::received_one(&st.store, &s.who, id)
        .await
        .map_err(|e| Box::new(failed(e)))?
        .ok_or_else(not_found)?;
    let path = pick(&fax).ok_or_else(not_found)?;
    tokio::fs::read(path).await.map_err(|e| {
        tracing::warn!(fax = %id, path = %path.display(), "cannot read a fax file: {e}");
        not_found()
    })
}

/// `GET /faxes/in/{id}/thumbnail.png`: page 1 as the converter drew it.
pub(crate) async fn thumbnail(
    State(st): State<Arc<AppState>>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    match spool_file(&st, &s, &id, |f| f.thumb_path.as_deref()).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=3600"),
            ],
            bytes,
        )
            .into_response(),
        Err(r) => *r,
    }
}

/// `GET /faxes/in/{id}/fax.pdf`: the PDF, as an attachment.
pub(crate) async fn pdf(
    State(st): State<Arc<AppState>>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    match spool_file(&st, &s, &id, |f| f.pdf_path.as_deref()).await {
        Ok(bytes) => {
            // Fax ids are letters, digits and '-', but quote defensively.
            let name: String = id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"fax-{name}.pdf\""),
                    ),
                    (header::CACHE_CONTROL, "private, no-store".to_string()),
                ],
                bytes,
            )
                .into_response()
        }
        Err(r) => *r,
    }
}

/// `GET /faxes/out`.
pub(crate) async fn jobs(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    match data::jobs(&st.jobs, &s.who, LIST_LIMIT).await {
        Ok(jobs) => respond(
            StatusCode::OK,
            page("Outgoing faxes", Some(&s), jobs_table(&jobs, &s)),
        ),
        Err(e) => failed(e),
    }
}

async fn job_action(st: &AppState, s: &Signed, id: &str, f: &CsrfForm, retry: bool) -> Response {
    if let Err(r) = s.require(&[Role::Admin], false) {
        return *r;
    }
    if let Err(r) = s.check_csrf(f.csrf.as_deref(), false) {
        return *r;
    }
    let by = format!("{} (web)", s.who.name);
    let result = if retry {
        st.jobs.retry_now(id, &by, now_ms()).await
    } else {
        st.jobs.cancel(id, &by, now_ms()).await
    };
    match result {
        Ok(_) => Redirect::to("/faxes/out").into_response(),
        Err(crate::queue::QueueError::NotFound(_)) => {
            message_page(StatusCode::NOT_FOUND, "Not found", "No such fax job.")
        }
        Err(e @ crate::queue::QueueError::Illegal { .. }) => {
            message_page(StatusCode::CONFLICT, "Not possible now", &e.to_string())
        }
        Err(e) => failed(e.into()),
    }
}

/// `POST /faxes/out/{id}/cancel` (admin).
pub(crate) async fn cancel(
    State(st): State<Arc<AppState>>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    job_action(&st, &s, &id, &f, false).await
}

/// `POST /faxes/out/{id}/retry` (admin).
pub(crate) async fn retry(
    State(st): State<Arc<AppState>>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    job_action(&st, &s, &id, &f, true).await
}

/// `GET /lines` (admin, finance).
pub(crate) async fn lines(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    if let Err(r) = s.require(&[Role::Admin, Role::Finance], false) {
        return *r;
    }
    let units = match data::lines(&st.site, &st.store).await {
        Ok(u) => u,
        Err(e) => return failed(e),
    };
    let body = html! {
        @if units.is_empty() { p { "No ATAs are configured or polled." } }
        @for u in &units {
            h2 { (u.name) " " small { (u.model) " " (u.address) " — " (u.building) } }
            p {
                @match u.reachable {
                    Some(true) => span.ok { "reachable" },
                    Some(false) => span.bad { "unreachable" },
                    None => span { "not polled yet" },
                }
                @if let Some(t) = u.last_poll_ms { " · last poll " (when(t)) }
                @if let Some(fw) = &u.firmware { " · firmware " (fw) }
            }
            @for p in &u.problems { p.bad { (p) } }
            table {
                tr { th { "Port" } th { "Line" } th { "SIP user" } th { "Role" } th { "Owner" } th { "Payments" } th { "State" } th { "PCI-DSS" } th { "Call policy" } }
                @for p in &u.ports {
                    tr {
                        td { (p.number) } td { (p.line) } td { (p.sip_user) } td { (p.role) } td { (p.owner) }
                        td { @if p.takes_payments { "yes" } }
                        td { (p.state.as_deref().unwrap_or("")) }
                        td.bad { (p.pci_flags.join(", ")) }
                        td { (p.policy) }
                    }
                }
            }
        }
    };
    respond(StatusCode::OK, page("Lines", Some(&s), body))
}

/// `GET /pci` (admin, finance): the PCI-DSS report.
pub(crate) async fn pci(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    if let Err(r) = s.require(&[Role::Admin, Role::Finance], false) {
        return *r;
    }
    let flags = match data::flags(&st.store).await {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let suspected = match crate::compliance::ComplianceStore::new(st.store.clone())
        .suspected_lines()
        .await
    {
        Ok(s) => s,
        Err(e) => return failed(e.into()),
    };
    let open = flags.iter().filter(|f| f.acknowledged().is_none()).count();
    let body = html! {
        p {
            "Analogue card terminals (PDQ) over VoIP are outside PCI-DSS: each line below carries, or is registered for, card payments. "
            (flags.len()) " flagged lines, " (open) " not acknowledged. "
            a href="/pci.csv" { "Download CSV" }
            " · "
            a href="/pci/calls" { "Call history" }
        }
        @if !flags.is_empty() {
            table {
                tr { th { "Building" } th { "ATA" } th { "Port" } th { "Why" } th { "Requirements" } th { "First seen" } th { "Last seen" } th { "Calls" } th { "Evidence" } th { "Acknowledged" } }
                @for f in &flags {
                    tr {
                        td { (f.building) } td { (f.ata) } td { (f.port) }
                        td { (f.reason.description()) }
                        td { @for r in f.reason.requirements() { abbr title=(r.explanation) { (r.id) } " " } }
                        td { (when(f.first_seen_ms)) } td { (when(f.last_seen_ms)) } td { (f.calls) }
                        td { @for e in f.evidence.iter().take(5) {
                            (when(e.at_ms)) ": " (e.detail)
                            @if let Some(n) = &e.number { " (dialled " (n) ")" }
                            @if let Some(c) = e.confidence { " [confidence: " (c) "]" }
                            br;
                        } }
                        td { @match f.acknowledged() {
                            Some(a) => { (a.by) ", " (when(a.at_ms)) ": " (a.note) },
                            None => span.bad { "open" },
                        } }
                    }
                }
            }
        }
        @if !suspected.is_empty() {
            h3 { "Suspected lines (not findings)" }
            p { (crate::compliance::report::SUSPECTED_NOTE) }
            table {
                tr { th { "Building" } th { "ATA" } th { "Port" } th { "What was suspected" } th { "Signals heard (latest call)" } th { "First seen" } th { "Last seen" } th { "Calls" } }
                @for l in &suspected {
                    tr {
                        td { (l.building) } td { (l.ata) } td { (l.port) }
                        td { (l.verdicts.join("; ")) }
                        td { @for e in &l.signals { (e.signal.description()) " (" (e.direction) ")" br; } }
                        td { (when(l.first_seen_ms)) } td { (when(l.last_seen_ms)) } td { (l.calls) }
                    }
                }
            }
        }
    };
    respond(StatusCode::OK, page("PCI-DSS report", Some(&s), body))
}

/// Calls listed on `/pci/calls`.
const PCI_CALLS_LIMIT: u32 = 200;

/// `GET /pci/calls` (admin, finance): the latest bridged calls of the ATA
/// ports with what the classifier heard and the flags each raised — the
/// evidence behind the report, calls that raised nothing included. No
/// number, no audio: the history stores neither.
pub(crate) async fn pci_calls(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    if let Err(r) = s.require(&[Role::Admin, Role::Finance], false) {
        return *r;
    }
    let pci = crate::compliance::ComplianceStore::new(st.store.clone());
    let calls = match pci.calls(PCI_CALLS_LIMIT).await {
        Ok(c) => c,
        Err(e) => return failed(e.into()),
    };
    let flags = match data::flags(&st.store).await {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    // A flag id names its reason for the reader.
    let reason_of = |id: &str| {
        flags
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.reason.description())
    };
    let secs = |ms: i64| format!("{}.{}", ms / 1000, ms % 1000 / 100);
    let body = html! {
        p {
            "The latest " (calls.len()) " bridged calls of the ATA ports, newest first, with what they carried. "
            a href="/pci" { "Back to the PCI-DSS report" }
        }
        @if calls.is_empty() {
            p { "No bridged call recorded yet." }
        } @else {
            table {
                tr { th { "Time" } th { "Duration" } th { "Building" } th { "ATA" } th { "Port" } th { "Carried" } th { "Signals heard" } th { "Flags raised" } }
                @for c in &calls {
                    tr {
                        td { (when(c.started_ms)) }
                        td { (secs((c.ended_ms - c.started_ms).max(0))) " s" }
                        td { (c.building) } td { (c.ata) } td { (c.port) }
                        td {
                            (c.label)
                            @if !c.confidence.is_empty() { " (" (c.confidence) " confidence)" }
                            @if c.speech_ms > 0 { br; "speech " (secs(c.speech_ms)) " s of " (secs(c.analysed_ms)) " s" }
                        }
                        td { @for e in &c.signals {
                            "+" (secs(i64::try_from(e.at_ms).unwrap_or(i64::MAX))) " s: "
                            (e.signal.description()) ", "
                            (match e.direction {
                                Direction::CallerToCallee => "from the calling side",
                                Direction::CalleeToCaller => "from the called side",
                            })
                            ", for " (secs(i64::try_from(e.duration_ms).unwrap_or(i64::MAX))) " s"
                            br;
                        } }
                        td.bad { @for id in &c.flags {
                            (id) @if let Some(r) = reason_of(id) { ": " (r) }
                            br;
                        } }
                    }
                }
            }
        }
    };
    respond(StatusCode::OK, page("PCI-DSS call history", Some(&s), body))
}

/// `GET /pci.csv` (admin, finance).
pub(crate) async fn pci_csv(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    if let Err(r) = s.require(&[Role::Admin, Role::Finance], false) {
        return *r;
    }
    match data::flags(&st.store).await {
        Ok(flags) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"faxbridge-pci-report.csv\"",
                ),
                (header::CACHE_CONTROL, "no-store"),
            ],
            report::csv(&flags),
        )
            .into_response(),
        Err(e) => failed(e),
    }
}

/// `GET /config` (admin): the configuration without secrets.
pub(crate) async fn config_summary(State(st): State<Arc<AppState>>, s: Signed) -> Response {
    if let Err(r) = s.require(&[Role::Admin], false) {
        return *r;
    }
    let summary = &st.site.summary;
    let body = html! {
        p { "Passwords, hashes and shared secrets are never shown." }
        @if let Some(o) = summary.as_object() {
            @for (section, values) in o {
                h2 { (section) }
                table {
                    @if let Some(m) = values.as_object() {
                        @for (k, v) in m {
                            tr { th { (k) } td { (match v { serde_json::Value::String(s) => s.clone(), other => other.to_string() }) } }
                        }
                    }
                }
            }
        }
    };
    respond(StatusCode::OK, page("Configuration", Some(&s), body))
}

//! What the pages, the JSON API and `/metrics` show, read from the store.
//!
//! Every view is built here once, as plain serialisable values, so the HTML
//! pages and the JSON API cannot disagree. Visibility for the `user` role is
//! applied here too: a user sees only faxes whose recipients (received) or
//! submitter and report address (sent) are their own mail address, and
//! nothing of the site as a whole: no counts of other people's faxes, calls
//! or mail, and no ATA or trunk names (a job's route shows only its kind).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use sqlx::Row;

use super::WebError;
use super::auth::Principal;
use super::config::Role;
use crate::ata::status::UnitStatus;
use crate::compliance::{ComplianceStore, Flag};
use crate::queue::{JobState, JobStore, JobSummary, ListFilter};
use crate::store::Store;

/// Rows shown in lists (newest first).
pub(crate) const LIST_LIMIT: u32 = 200;

/// One received fax.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedFaxView {
    /// Fax id.
    pub id: String,
    /// Calling number, empty when withheld.
    pub caller: String,
    /// Called number (DID).
    pub called: String,
    /// The sender's TSI as it sent it.
    pub remote_csi: String,
    /// Pages received.
    pub pages: i64,
    /// When the call was answered, ms since the Unix epoch.
    pub started_at_ms: i64,
    /// Call duration in ms.
    pub duration_ms: i64,
    /// T.30 outcome.
    pub success: bool,
    /// T.30 result text.
    pub result: String,
    /// Mailboxes the fax goes to.
    pub recipients: Vec<String>,
    /// `received`, `converted` or `queued`.
    pub state: String,
    /// Whether a PDF exists.
    pub has_pdf: bool,
    /// Whether a page-1 thumbnail exists.
    pub has_thumbnail: bool,
    /// The PDF in the spool (never shown: paths stay on the server).
    #[serde(skip)]
    pub(crate) pdf_path: Option<PathBuf>,
    /// The page-1 PNG in the spool.
    #[serde(skip)]
    pub(crate) thumb_path: Option<PathBuf>,
}

/// One outgoing fax job.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    /// Job id.
    pub id: String,
    /// Number dialled.
    pub destination: String,
    /// Trunk or ATA port.
    pub route: String,
    /// Who submitted it.
    pub submitter: String,
    /// Subject.
    pub subject: String,
    /// State name.
    pub state: String,
    /// Failure reason or last retry cause, for people.
    pub state_detail: String,
    /// Pages confirmed / total.
    pub pages_confirmed: u32,
    /// Pages in the document.
    pub pages_total: u32,
    /// Attempts made.
    pub attempts: u32,
    /// When queued, ms since the Unix epoch.
    pub created_ms: i64,
    /// Whether an operator may cancel it now.
    pub can_cancel: bool,
    /// Whether an operator may retry it now.
    pub can_retry: bool,
}

impl JobView {
    /// The view of a stored job.
    pub(crate) fn from_summary(j: &JobSummary) -> JobView {
        let state_detail = match &j.state {
            JobState::Failed { reason } => reason.clone(),
            JobState::Deferred {
                next_attempt,
                last_cause,
            } => format!(
                "{last_cause:?}; next attempt {}",
                crate::compliance::report::format_utc(*next_attempt)
            ),
            _ => String::new(),
        };
        JobView {
            id: j.id.clone(),
            destination: j.destination.clone(),
            route: j.route.encode(),
            submitter: j.submitter.clone(),
            subject: j.subject.clone(),
            state: j.state.name().to_string(),
            state_detail,
            pages_confirmed: j.pages_confirmed,
            pages_total: j.pages_total,
            attempts: j.attempts,
            created_ms: j.created,
            can_cancel: matches!(j.state, JobState::Queued | JobState::Deferred { .. }),
            can_retry: matches!(
                j.state,
                JobState::Deferred { .. } | JobState::Failed { .. } | JobState::Cancelled
            ),
        }
    }
}

impl JobView {
    /// The view `who` gets: for `user`, the route's kind without its name
    /// (an ATA port's name names the unit), and that name taken out of the
    /// failure text.
    pub(crate) fn for_viewer(mut self, who: &Principal) -> JobView {
        if who.role != Role::User {
            return self;
        }
        self.state_detail = redact_route(&self.state_detail, &self.route);
        self.route = match self.route.split_once(':') {
            Some(("ata", _)) => "ATA port".to_string(),
            _ => "trunk".to_string(),
        };
        self
    }
}

/// `text` with the ATA port of `route` (in [`crate::queue::Route::encode`]'s
/// form) and its unit named only as "the ATA port" and "the ATA": what a
/// `user` is shown of a job's attempts.
pub(crate) fn redact_route(text: &str, route: &str) -> String {
    let Some(("ata", port)) = route.split_once(':') else {
        return text.to_string();
    };
    let mut out = text.replace(port, "the ATA port");
    if let Some((unit, _)) = port.split_once(':')
        && !unit.is_empty()
    {
        out = out.replace(unit, "the ATA");
    }
    out
}

/// One port of an ATA: inventory facts and the last polled state.
#[derive(Debug, Clone, Serialize)]
pub struct PortView {
    /// Port number on the unit.
    pub number: u32,
    /// Line id in the lineTable.
    pub line: String,
    /// SIP user.
    pub sip_user: String,
    /// What is plugged in.
    pub role: String,
    /// Who answers for the line.
    pub owner: String,
    /// The line takes card payments.
    pub takes_payments: bool,
    /// Last polled line state, when known.
    pub state: Option<String>,
    /// PCI-DSS flags raised on this port (reason ids).
    pub pci_flags: Vec<String>,
    /// The toll-fraud policy of its calls to the trunk, in one line
    /// ([`crate::numbering::policy::PortPolicy::summary`]); empty for a
    /// line no port names.
    pub policy: String,
}

/// One ATA with its ports and last status.
#[derive(Debug, Clone, Serialize)]
pub struct UnitView {
    /// Unit name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Building.
    pub building: String,
    /// Model.
    pub model: String,
    /// Reachable at the last poll (`None` when never polled).
    pub reachable: Option<bool>,
    /// Last poll, ms since the Unix epoch.
    pub last_poll_ms: Option<i64>,
    /// Firmware reported.
    pub firmware: Option<String>,
    /// Problems found at the last poll.
    pub problems: Vec<String>,
    /// Ports.
    pub ports: Vec<PortView>,
}

/// The dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// The site as a whole; `None` (and left out of the JSON) for `user`.
    #[serde(flatten)]
    pub site: Option<SiteOverview>,
    /// The last received faxes (for `user`, their own).
    pub last_received: Vec<ReceivedFaxView>,
    /// The last outgoing jobs (for `user`, their own).
    pub last_sent: Vec<JobView>,
    /// Open (unacknowledged) PCI-DSS flags; shown to admin and finance.
    pub pci_open: Option<usize>,
}

/// The dashboard's site-wide part: admin and finance only.
#[derive(Debug, Clone, Serialize)]
pub struct SiteOverview {
    /// Incoming fax calls in progress (call records in the spool).
    pub incoming_calls: usize,
    /// Calls through the analogue bridge in progress (ringing or connected).
    pub bridged_calls: usize,
    /// Outgoing fax calls in progress (jobs dialling or sending).
    pub outgoing_calls: usize,
    /// Jobs by state.
    pub queue: BTreeMap<String, i64>,
    /// Outgoing mail by delivery state.
    pub outbox: BTreeMap<String, i64>,
    /// ATAs reachable at their last poll.
    pub atas_reachable: usize,
    /// ATAs polled.
    pub atas_polled: usize,
    /// ATAs with problems.
    pub atas_with_problems: Vec<String>,
}

/// The bare address of a mailbox (`Name <a@b>` → `a@b`).
pub(crate) fn address_of(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(l), Some(r)) if l < r => mailbox[l + 1..r].trim(),
        _ => mailbox.trim(),
    }
}

fn is_own(who: &Principal, mailbox: &str) -> bool {
    who.email
        .as_deref()
        .is_some_and(|e| !e.is_empty() && address_of(mailbox).eq_ignore_ascii_case(e))
}

/// Whether `who` may see this received fax.
pub(crate) fn may_see_received(who: &Principal, fax: &ReceivedFaxView) -> bool {
    who.role != Role::User || fax.recipients.iter().any(|r| is_own(who, r))
}

/// Whether `who` may see this job.
pub(crate) fn may_see_job(who: &Principal, job: &JobView, report_to: Option<&str>) -> bool {
    who.role != Role::User
        || is_own(who, &job.submitter)
        || report_to.is_some_and(|r| is_own(who, r))
}

fn received_from_row(r: &sqlx::any::AnyRow) -> Result<ReceivedFaxView, sqlx::Error> {
    let recipients: String = r.try_get("recipients")?;
    let pdf: Option<String> = r.try_get("pdf_path")?;
    let thumb: Option<String> = r.try_get("thumb_path")?;
    Ok(ReceivedFaxView {
        id: r.try_get("id")?,
        caller: r.try_get("caller")?,
        called: r.try_get("called")?,
        remote_csi: r.try_get("remote_csi")?,
        pages: r.try_get("pages_received")?,
        started_at_ms: r.try_get("started_at_ms")?,
        duration_ms: r.try_get("duration_ms")?,
        success: r.try_get::<i64, _>("success")? != 0,
        result: r.try_get("result_text")?,
        recipients: recipients
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect(),
        state: r.try_get("state")?,
        has_pdf: pdf.is_some(),
        has_thumbnail: thumb.is_some(),
        pdf_path: pdf.map(PathBuf::from),
        thumb_path: thumb.map(PathBuf::from),
    })
}

const RECEIVED_COLUMNS: &str = "id, caller, called, remote_csi, pages_received, started_at_ms, \
     duration_ms, success, result_text, recipients, state, pdf_path, thumb_path";

/// Received faxes `who` may see, newest first.
pub(crate) async fn received(
    store: &Store,
    who: &Principal,
    limit: u32,
) -> Result<Vec<ReceivedFaxView>, WebError> {
    // A user's own faxes are found among more rows than they are shown.
    let fetch = if who.role == Role::User {
        limit.saturating_mul(20)
    } else {
        limit
    };
    let sql = format!(
        "SELECT {RECEIVED_COLUMNS} FROM received_fax ORDER BY started_at_ms DESC, id LIMIT {fetch}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(store.pool())
        .await
        .map_err(WebError::db("listing received faxes"))?;
    let mut out = Vec::new();
    for r in &rows {
        let fax = received_from_row(r).map_err(WebError::db("reading a received fax"))?;
        if may_see_received(who, &fax) {
            out.push(fax);
        }
        if out.len() >= limit as usize {
            break;
        }
    }
    Ok(out)
}

/// One received fax, when it exists and `who` may see it.
pub(crate) async fn received_one(
    store: &Store,
    who: &Principal,
    id: &str,
) -> Result<Option<ReceivedFaxView>, WebError> {
    let sql = format!("SELECT {RECEIVED_COLUMNS} FROM received_fax WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(store.pool())
        .await
        .map_err(WebError::db("reading a received fax"))?;
    match row {
        Some(r) => {
            let fax = received_from_row(&r).map_err(WebError::db("reading a received fax"))?;
            Ok(may_see_received(who, &fax).then_some(fax))
        }
        None => Ok(None),
    }
}

/// Outgoing jobs `who` may see, newest first.
pub(crate) async fn jobs(
    jobs: &JobStore,
    who: &Principal,
    limit: u32,
) -> Result<Vec<JobView>, WebError> {
    let all = jobs
        .list(&ListFilter {
            states: Vec::new(),
            limit: if who.role == Role::User { 0 } else { limit },
        })
        .await?;
    Ok(all
        .iter()
        .filter_map(|j| {
            let v = JobView::from_summary(j);
            may_see_job(who, &v, j.report_to.as_deref()).then(|| v.for_viewer(who))
        })
        .take(limit as usize)
        .collect())
}

/// Counts by the `state` column of a table (`fax_job`, `mail_outbox`).
pub(crate) async fn counts_by_state(
    store: &Store,
    table: &'static str,
) -> Result<BTreeMap<String, i64>, WebError> {
    let sql = format!("SELECT state, COUNT(*) FROM {table} GROUP BY state");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(store.pool())
        .await
        .map_err(WebError::db("counting by state"))?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(WebError::db("counting by state"))
}

/// The stored ATA statuses.
pub(crate) async fn ata_statuses(store: &Store) -> Result<Vec<UnitStatus>, WebError> {
    crate::ata::store::load_all(store)
        .await
        .map_err(WebError::db("reading ATA statuses"))
}

/// Every PCI-DSS flag.
pub(crate) async fn flags(store: &Store) -> Result<Vec<Flag>, WebError> {
    Ok(ComplianceStore::new(store.clone()).list().await?)
}

/// The ATAs of the inventory (and any unit only the store knows), with
/// their ports, last status and PCI-DSS flags.
pub(crate) async fn lines(site: &super::Site, store: &Store) -> Result<Vec<UnitView>, WebError> {
    let statuses = ata_statuses(store).await?;
    let flags = flags(store).await?;
    let mut units: Vec<UnitView> = site
        .ata
        .units
        .iter()
        .map(|u| UnitView {
            name: u.name.clone(),
            address: u.address.to_string(),
            building: u.building.clone(),
            model: u.model.clone(),
            reachable: None,
            last_poll_ms: None,
            firmware: None,
            problems: Vec::new(),
            ports: site
                .ata
                .ports
                .iter()
                .filter(|p| p.unit == u.name)
                .map(|p| PortView {
                    number: p.number,
                    line: p.line_id(),
                    sip_user: p.sip_user.clone(),
                    role: p.role.as_str().to_string(),
                    owner: p.owner.clone(),
                    takes_payments: p.takes_payments,
                    state: None,
                    pci_flags: Vec::new(),
                    policy: site
                        .policy
                        .for_port(&p.unit, p.number, p.role.as_str())
                        .summary(),
                })
                .collect(),
        })
        .collect();
    for s in &statuses {
        let i = match units.iter().position(|u| u.name == s.unit) {
            Some(i) => i,
            None => {
                units.push(UnitView {
                    name: s.unit.clone(),
                    address: String::new(),
                    building: String::new(),
                    model: String::new(),
                    reachable: None,
                    last_poll_ms: None,
                    firmware: None,
                    problems: Vec::new(),
                    ports: Vec::new(),
                });
                units.len() - 1
            }
        };
        let u = &mut units[i];
        u.reachable = Some(s.reachable);
        u.last_poll_ms = Some(s.last_poll);
        u.problems = s.problems.clone();
        if let Some(reading) = &s.reading {
            u.firmware = reading.firmware.clone();
            for (line, state) in &reading.lines {
                match u.ports.iter_mut().find(|p| &p.line == line) {
                    Some(p) => p.state = Some(format!("{state:?}")),
                    None => u.ports.push(PortView {
                        number: 0,
                        line: line.clone(),
                        sip_user: String::new(),
                        role: String::new(),
                        owner: String::new(),
                        takes_payments: false,
                        state: Some(format!("{state:?}")),
                        pci_flags: Vec::new(),
                        policy: String::new(),
                    }),
                }
            }
        }
    }
    for f in &flags {
        if let Some(u) = units.iter_mut().find(|u| u.name == f.ata)
            && let Some(p) = u.ports.iter_mut().find(|p| {
                p.line == f.port || p.number.to_string() == f.port || p.sip_user == f.port
            })
        {
            p.pci_flags.push(f.reason.as_str().to_string());
        }
    }
    Ok(units)
}

/// Incoming fax calls in progress: call records in the spool.
pub(crate) fn incoming_calls(site: &super::Site) -> usize {
    crate::spool::interrupted_calls(&site.spool_dir)
        .map(|v| v.len())
        .unwrap_or(0)
}

/// The dashboard for `who`.
pub(crate) async fn dashboard(
    site: &super::Site,
    store: &Store,
    job_store: &JobStore,
    who: &Principal,
) -> Result<Dashboard, WebError> {
    let last_received = received(store, who, 5).await?;
    let last_sent = jobs(job_store, who, 5).await?;
    if who.role == Role::User {
        return Ok(Dashboard {
            site: None,
            last_received,
            last_sent,
            pci_open: None,
        });
    }
    let queue = counts_by_state(store, "fax_job").await?;
    let outbox = counts_by_state(store, "mail_outbox").await?;
    let statuses = ata_statuses(store).await?;
    let pci_open = flags(store)
        .await?
        .iter()
        .filter(|f| f.acknowledged().is_none())
        .count();
    Ok(Dashboard {
        site: Some(SiteOverview {
            incoming_calls: incoming_calls(site),
            bridged_calls: crate::bridge::active_calls(),
            outgoing_calls: ["dialling", "sending"]
                .iter()
                .map(|s| queue.get(*s).copied().unwrap_or(0) as usize)
                .sum(),
            queue,
            outbox,
            atas_reachable: statuses.iter().filter(|s| s.reachable).count(),
            atas_polled: statuses.len(),
            atas_with_problems: statuses
                .iter()
                .filter(|s| !s.problems.is_empty() || !s.reachable)
                .map(|s| s.unit.clone())
                .collect(),
        }),
        last_received,
        last_sent,
        pci_open: Some(pci_open),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, email: Option<&str>) -> Principal {
        Principal {
            name: "p".into(),
            role,
            email: email.map(str::to_string),
            via_proxy: false,
        }
    }

    #[test]
    fn mailbox_addresses() {
        assert_eq!(address_of("Accounts <acc@example.org>"), "acc@example.org");
        assert_eq!(address_of(" acc@example.org "), "acc@example.org");
    }

    #[test]
    fn users_see_only_their_own_faxes() {
        let fax = ReceivedFaxView {
            id: "f".into(),
            caller: String::new(),
            called: String::new(),
            remote_csi: String::new(),
            pages: 1,
            started_at_ms: 0,
            duration_ms: 0,
            success: true,
            result: String::new(),
            recipients: vec!["Sales <Sales@example.org>".into()],
            state: "queued".into(),
            has_pdf: false,
            has_thumbnail: false,
            pdf_path: None,
            thumb_path: None,
        };
        assert!(may_see_received(
            &principal(Role::User, Some("sales@example.org")),
            &fax
        ));
        assert!(!may_see_received(
            &principal(Role::User, Some("ales@example.org")),
            &fax
        ));
        assert!(!may_see_received(&principal(Role::User, None), &fax));
        assert!(may_see_received(&principal(Role::Finance, None), &fax));
    }

    #[test]
    fn users_see_no_ata_names_in_their_jobs() {
        let route = "ata:ata-shop:2";
        for (text, want) in [
            (
                "ATA port \"ata-shop:2\" is no longer in [[bridge.lines]]",
                "ATA port \"the ATA port\" is no longer in [[bridge.lines]]",
            ),
            ("ata-shop did not answer", "the ATA did not answer"),
            ("busy", "busy"),
        ] {
            assert_eq!(redact_route(text, route), want);
        }
        assert_eq!(
            redact_route("trunk main busy", "trunk:main"),
            "trunk main busy"
        );
        let view = JobView {
            id: "j".into(),
            destination: "2002".into(),
            route: route.into(),
            submitter: "sales@example.org".into(),
            subject: String::new(),
            state: "failed".into(),
            state_detail: "ata-shop:2 unreachable".into(),
            pages_confirmed: 0,
            pages_total: 1,
            attempts: 1,
            created_ms: 0,
            can_cancel: false,
            can_retry: true,
        };
        let user = view
            .clone()
            .for_viewer(&principal(Role::User, Some("sales@example.org")));
        assert_eq!(
            (user.route.as_str(), user.state_detail.as_str()),
            ("ATA port", "the ATA port unreachable")
        );
        let admin = view.for_viewer(&principal(Role::Admin, None));
        assert_eq!(admin.route, route);
    }
}

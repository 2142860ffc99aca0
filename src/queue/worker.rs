//! The sending driver: the tokio task that turns due jobs into fax calls.
//!
//! Every [`OutgoingConfig::poll_interval_ms`] (and whenever woken after an
//! enqueue in this process) the worker claims due jobs up to the free call
//! slots of the trunk plus one per directly dialled ATA port (the store
//! keeps each route within its own limit) ([`JobStore::claim_due`] commits each as `Dialling`
//! before the INVITE goes out). Each claim gets its own task, which:
//!
//! 1. prepares the TIFF of the pages to send: the job's document, or a
//!    TIFF of only the unconfirmed pages when an earlier attempt got some
//!    pages through (the far end already printed those);
//! 2. places the call through the trunk, or straight to the ATA port for a
//!    job on an ATA route ([`super::routes`]: no trunk account, the port's
//!    own limit of one call), with the settings the fallback ladder chose ([`call_config`]: T.38 offered or not, ECM, top modem);
//! 3. while the call runs, commits `Sending` as soon as it is answered and
//!    each page the far end confirms (MCF) as it is confirmed
//!    ([`crate::media::fax_call::FaxCallConfig::progress`]), then
//! 4. records the outcome with [`JobStore::finish_attempt`]: a SIP failure
//!    status, a network error, or the T.30 result ([`call_outcome`]).
//!
//! A crash during a call leaves the job `Dialling` or `Sending` with the
//! pages confirmed so far committed; [`JobStore::recover`] defers it as
//! interrupted and the next attempt starts at the first page not confirmed,
//! so nothing the far end already printed is sent twice.
//!
//! The outcome recorded per attempt includes what the delivery report tells
//! the sender: the far end's CSI, the call's duration (answer to hang-up)
//! and the bit rate trained. A job that reaches a final state wakes the
//! delivery reporter ([`Worker::wake_on_final`]).
//!
//! Jobs may be queued by another process (`faxbridge send`) on the same
//! database: polling finds them within one interval.
//!
//! The worker runs when there is a trunk or at least one ATA port to dial
//! directly. Without `[outgoing] uri`, a job on the trunk route (queued
//! before the trunk was removed, or by an older intake) is not dialled: it
//! fails at once with [`NoTrunk`]'s reason ([`JobStore::fail_unroutable`])
//! instead of waiting in the queue for a trunk that may never come.
//!
//! Shutdown is a value: when the stop signal turns `true` no new job is
//! claimed, and calls in progress run to their end before [`Worker::run`]
//! returns.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use super::fallback::{Settings, Transport};
use super::{CallOutcome, CallResult, Claim, JobStore, NoTrunk, Route, Routes};
use crate::docs::tiff::{Compression, read_tiff, write_tiff};
use crate::fax::{FaxCompression, FaxJob, FaxStatus, Modem};
use crate::media::fax_call::{
    CallProgress, FaxCallConfig, FaxCallError, FaxCallReport, MediaPath, MediaSockets, place_call,
};
use crate::problem::{Problem, Validate};
use crate::sdp::OfferKind;
use crate::sip::acl::Account;
use crate::sip::{DialError, SipEndpoint};

/// SpanDSP's code for "the TIFF to send could not be read", used when our
/// own document cannot be prepared: the retry policy treats it as final.
const T30_FILE_ERROR: i32 = spandsp_sys::t30_err_e::T30_ERR_FILEERROR as i32;

/// `[outgoing]`: where queued faxes are sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutgoingConfig {
    /// Name of the trunk jobs go out through; its call limit is
    /// `[queue.trunks.NAME] max_calls` (else `queue.max_calls_per_trunk`).
    pub trunk: String,
    /// SIP URI template of the trunk, `{number}` standing for the dialled
    /// number, e.g. `sip:{number}@192.0.2.1:5060` (add `;transport=tcp` for
    /// TCP). Empty: outgoing faxes are off.
    pub uri: String,
    /// User part of our From URI (the fax number the trunk presents).
    pub from_user: String,
    /// Digest credentials for the trunk's challenges.
    pub account: Option<Account>,
    /// How often the queue is checked for due jobs, in milliseconds.
    pub poll_interval_ms: u64,
    /// Trunks for emergency calls from ATA ports (999, 112), tried in
    /// order when one does not answer within 5 s, refuses or cannot be
    /// reached; empty: `uri` alone.
    pub emergency_uris: Vec<String>,
}

impl Default for OutgoingConfig {
    fn default() -> Self {
        OutgoingConfig {
            trunk: "main".to_string(),
            uri: String::new(),
            from_user: "faxbridge".to_string(),
            account: None,
            poll_interval_ms: 1000,
            emergency_uris: Vec::new(),
        }
    }
}

impl OutgoingConfig {
    /// Whether outgoing faxes are configured (a trunk URI is set).
    pub fn enabled(&self) -> bool {
        !self.uri.trim().is_empty()
    }

    /// The route jobs are queued on.
    pub fn route(&self) -> Route {
        Route::Trunk(self.trunk.clone())
    }

    /// The SIP URI that reaches `number` through the trunk.
    pub fn target(&self, number: &str) -> String {
        self.uri.replace("{number}", number)
    }
}

impl Validate for OutgoingConfig {
    /// Every value that cannot work.
    fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.trunk.is_empty() || self.trunk.contains([':', ' ']) {
            out.push(Problem {
                key: "outgoing.trunk".into(),
                problem: format!("{:?} is not a usable trunk name", self.trunk),
                fix: "use a short name without spaces or colons, e.g. \"main\"".into(),
            });
        }
        if self.enabled() {
            let uri = self.uri.trim();
            if !(uri.starts_with("sip:") || uri.starts_with("sips:")) {
                out.push(Problem {
                    key: "outgoing.uri".into(),
                    problem: format!("{uri:?} is not a SIP URI"),
                    fix: "write e.g. \"sip:{number}@192.0.2.1:5060\"".into(),
                });
            } else if !uri.contains("{number}") {
                out.push(Problem {
                    key: "outgoing.uri".into(),
                    problem: format!("{uri:?} has no {{number}}, so every fax would go to one number"),
                    fix: "put {number} where the dialled number belongs, e.g. \"sip:{number}@192.0.2.1\"".into(),
                });
            }
        }
        if self.from_user.is_empty()
            || !self
                .from_user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-_.*#".contains(c))
        {
            out.push(Problem {
                key: "outgoing.from_user".into(),
                problem: format!("{:?} cannot be the user part of a SIP URI", self.from_user),
                fix: "use the fax number, e.g. \"+441632960000\"".into(),
            });
        }
        for (i, uri) in self.emergency_uris.iter().enumerate() {
            let uri = uri.trim();
            if !(uri.starts_with("sip:") || uri.starts_with("sips:")) || !uri.contains("{number}") {
                out.push(Problem {
                    key: "outgoing.emergency_uris".into(),
                    problem: format!(
                        "entry {i}, {uri:?}, is not a SIP URI with {{number}} in it"
                    ),
                    fix: "write e.g. \"sip:{number}@192.0.2.1:5060\" for each trunk, in the order to try them".into(),
                });
            }
        }
        if !(100..=60_000).contains(&self.poll_interval_ms) {
            out.push(Problem {
                key: "outgoing.poll_interval_ms".into(),
                problem: format!("is {} ms", self.poll_interval_ms),
                fix: "use 100 to 60000; 1000 picks up new jobs within a second".into(),
            });
        }
        out
    }
}

/// The media configuration of one attempt: `base` (from `[media]` and
/// `[fax]`) with the fallback rung's settings applied.
///
/// T.38 is offered by re-INVITE once the call is up on G.711 (and accepted
/// from the far end): a trunk that cannot carry T.38 answers 488 and the
/// call carries on as audio, whereas an image m-line in the first INVITE
/// gets some trunks to refuse the whole call. Without ECM, T.6 is not
/// offered (T.30 carries T.6 only in ECM frames). The modems offered are
/// the rung's top modem and every slower one.
pub fn call_config(base: &FaxCallConfig, settings: &Settings) -> FaxCallConfig {
    let mut c = base.clone();
    let t38 = settings.transport == Transport::T38;
    c.t38 = t38;
    c.t38_reinvite = t38;
    c.prefer_t38 = t38 && base.prefer_t38;
    c.initial_offer = OfferKind::Audio;
    c.fax.ecm = settings.ecm;
    if !settings.ecm {
        c.fax.compressions.remove(&FaxCompression::T6);
        if c.fax.compressions.is_empty() {
            c.fax.compressions.insert(FaxCompression::T4OneD);
        }
    }
    c.fax.modems = [Modem::V27ter, Modem::V29, Modem::V17]
        .into_iter()
        .filter(|m| *m <= settings.modem)
        .collect();
    c
}

/// The modem a trained bit rate implies, when it is unambiguous: 12 000
/// and 14 400 bit/s are V.17 only, 2400 and 4800 V.27ter only; 7200 and
/// 9600 are V.17 or V.29, V.29 when V.17 was not offered.
fn modem_for_rate(rate: u32, offered: Modem) -> Option<Modem> {
    match rate {
        2400 | 4800 => Some(Modem::V27ter),
        7200 | 9600 if offered == Modem::V29 => Some(Modem::V29),
        12000 | 14400 => Some(Modem::V17),
        _ => None,
    }
}

/// How a finished call reads for the queue.
pub fn call_outcome(
    result: &Result<FaxCallReport, FaxCallError>,
    settings: &Settings,
) -> CallOutcome {
    match result {
        Ok(report) => {
            let o = &report.outcome;
            let t30_text = match &o.status {
                FaxStatus::Success => "success".to_string(),
                FaxStatus::Failed { reason, .. } => reason.clone(),
            };
            CallOutcome {
                result: CallResult::Fax {
                    t30_code: o.code(),
                    t30_text,
                    pages_confirmed: o.pages_transferred,
                },
                transport: Some(match report.media {
                    MediaPath::T38 => Transport::T38,
                    MediaPath::Audio(_) => Transport::G711,
                }),
                ecm: o.bit_rate.map(|_| o.ecm),
                modem: o.bit_rate.and_then(|r| modem_for_rate(r, settings.modem)),
                remote_ident: o.remote_ident.clone().filter(|s| !s.trim().is_empty()),
                call_duration: Some(report.elapsed),
                bit_rate: o.bit_rate,
            }
        }
        Err(FaxCallError::Dial(DialError::Rejected { status, .. })) => CallOutcome {
            result: CallResult::NotAnswered {
                sip_status: *status,
            },
            transport: None,
            ecm: None,
            modem: None,
            remote_ident: None,
            call_duration: None,
            bit_rate: None,
        },
        Err(FaxCallError::Fax(e)) => document_error(e.to_string()),
        Err(e) => CallOutcome {
            result: CallResult::NetworkError {
                detail: e.to_string(),
            },
            transport: None,
            ecm: None,
            modem: None,
            remote_ident: None,
            call_duration: None,
            bit_rate: None,
        },
    }
}

/// Our document could not be sent: final, retrying cannot help.
fn document_error(detail: String) -> CallOutcome {
    CallOutcome {
        result: CallResult::Fax {
            t30_code: T30_FILE_ERROR,
            t30_text: format!("the document cannot be sent: {detail}"),
            pages_confirmed: 0,
        },
        transport: None,
        ecm: None,
        modem: None,
        remote_ident: None,
        call_duration: None,
        bit_rate: None,
    }
}

use crate::clock::now_ms;

/// The TIFF of the pages `claim` sends, and whether it is a temporary
/// file to remove after the call.
fn prepare_pages(claim: &Claim, tmp_dir: &Path) -> Result<(PathBuf, bool), String> {
    let document = PathBuf::from(&claim.document);
    let (first, last) = (*claim.pages.start(), *claim.pages.end());
    if first <= 1 && last >= claim.pages_total {
        if !document.is_file() {
            return Err(format!("{} is missing", document.display()));
        }
        return Ok((document, false));
    }
    let pages = read_tiff(&document).map_err(|e| e.to_string())?;
    let wanted = pages
        .get(first.saturating_sub(1) as usize..last as usize)
        .ok_or_else(|| {
            format!(
                "{} has {} pages, pages {first} to {last} were asked for",
                document.display(),
                pages.len()
            )
        })?;
    let path = tmp_dir.join(format!("{}-attempt{}.tif", claim.job_id, claim.attempt));
    write_tiff(&path, wanted, Compression::Group4).map_err(|e| e.to_string())?;
    Ok((path, true))
}

/// What every call task needs.
struct Shared {
    jobs: JobStore,
    endpoint: Arc<SipEndpoint>,
    outgoing: OutgoingConfig,
    routes: Routes,
    base: FaxCallConfig,
    media_ip: IpAddr,
    tmp_dir: PathBuf,
    /// Woken when a job reaches a final state (the delivery reporter).
    reports: OnceLock<Arc<Notify>>,
}

/// The sending worker of the daemon.
pub struct Worker {
    shared: Arc<Shared>,
    wake: Arc<Notify>,
}

impl Worker {
    /// A worker sending through `endpoint` with `[outgoing]`, media sockets
    /// on `media_ip` and the call settings `base` (from `[media]` and
    /// `[fax]`); temporary page files go to `<spool>/tmp`. Jobs on ATA
    /// routes are not dialled until [`Worker::with_routes`] names the ports.
    pub fn new(
        jobs: JobStore,
        endpoint: Arc<SipEndpoint>,
        outgoing: OutgoingConfig,
        base: FaxCallConfig,
        media_ip: IpAddr,
        spool: &Path,
    ) -> Worker {
        let routes = Routes::new(
            &outgoing,
            &crate::routing::BridgeConfig::default(),
            &crate::ata::AtaConfig::default(),
            &crate::numbering::DialPlan::default(),
        );
        Worker {
            shared: Arc::new(Shared {
                jobs,
                endpoint,
                outgoing,
                routes,
                base,
                media_ip,
                tmp_dir: spool.join("tmp"),
                reports: OnceLock::new(),
            }),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Dial jobs on ATA routes at the ports `routes` knows (built from the
    /// same configuration as the worker's `[outgoing]`). Call before
    /// [`Worker::run`].
    pub fn with_routes(mut self, routes: Routes) -> Worker {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.routes = routes;
        }
        self
    }

    /// Notify this to make the worker look at the queue at once (after an
    /// enqueue in this process).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Wake `reporter` (the delivery reporter's
    /// [`waker`](super::reporter::Reporter::waker)) whenever a job reaches a
    /// final state, so its report goes out at once instead of at the
    /// reporter's next poll. Only the first call has an effect.
    pub fn wake_on_final(&self, reporter: Arc<Notify>) {
        let _ = self.shared.reports.set(reporter);
    }

    /// Claim and send due jobs until `stop` turns `true` (or its sender is
    /// dropped), then wait for the calls in progress to end.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        // The trunk's calls plus one per port dialled directly; the store
        // keeps every route within its own limit when claiming.
        let limit = self
            .shared
            .jobs
            .config()
            .max_calls(&self.shared.outgoing.route()) as usize
            + self.shared.routes.ata_lines();
        let mut tick = tokio::time::interval(Duration::from_millis(
            self.shared.outgoing.poll_interval_ms.max(100),
        ));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut calls = JoinSet::new();
        info!(trunk = %self.shared.outgoing.trunk, limit, "outgoing fax worker started");
        loop {
            if *stop.borrow() {
                break;
            }
            let free = limit.saturating_sub(calls.len());
            if free > 0 {
                match self.shared.jobs.claim_due(now_ms(), free).await {
                    Ok(claims) => {
                        for claim in claims {
                            calls.spawn(send_job(self.shared.clone(), claim));
                        }
                    }
                    Err(e) => error!("cannot claim due fax jobs: {e}"),
                }
            }
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.wake.notified() => {}
                changed = stop.changed() => if changed.is_err() { break },
                Some(done) = calls.join_next(), if !calls.is_empty() => {
                    if let Err(e) = done { error!("a fax sending task failed: {e}"); }
                }
            }
        }
        if !calls.is_empty() {
            info!(calls = calls.len(), "waiting for outgoing fax calls to end");
        }
        while let Some(done) = calls.join_next().await {
            if let Err(e) = done {
                error!("a fax sending task failed: {e}");
            }
        }
        info!("outgoing fax worker stopped");
    }
}

/// One attempt of one job: prepare, call, record.
async fn send_job(shared: Arc<Shared>, claim: Claim) {
    let job = claim.job_id.clone();
    let attempt = claim.attempt;
    if matches!(claim.route, Route::Trunk(_)) && !shared.outgoing.enabled() {
        let reason = NoTrunk.to_string();
        match shared
            .jobs
            .fail_unroutable(&job, attempt, &reason, now_ms())
            .await
        {
            Ok(state) => {
                warn!(%job, %state, "fax job not sent: {reason}");
                if let Some(reporter) = shared.reports.get() {
                    reporter.notify_one();
                }
            }
            Err(e) => error!(%job, attempt, "ALERT: cannot record that the job has no trunk: {e}"),
        }
        return;
    }
    // Progress is committed as the call goes: `Sending` when answered, and
    // each page the far end confirms, so a crash mid-call resumes after the
    // last confirmed page instead of resending it.
    let (progress_tx, mut progress_rx) = watch::channel(CallProgress::default());
    let recorder = {
        let (jobs, job) = (shared.jobs.clone(), job.clone());
        tokio::spawn(async move {
            let mut sending = false;
            while progress_rx.changed().await.is_ok() {
                let p = *progress_rx.borrow_and_update();
                if p.answered && !sending {
                    match jobs.start_sending(&job, attempt, now_ms()).await {
                        Ok(()) => sending = true,
                        Err(e) => {
                            warn!(%job, attempt, "cannot record that the fax is sending: {e}")
                        }
                    }
                }
                if p.pages_confirmed > 0
                    && let Err(e) = jobs.confirm_pages(&job, attempt, p.pages_confirmed).await
                {
                    warn!(%job, attempt, "cannot record confirmed pages: {e}");
                }
            }
            sending
        })
    };
    let outcome = attempt_call(&shared, &claim, Arc::new(progress_tx)).await;
    // The sender is gone with the call: the recorder finishes its writes.
    let sending_recorded = recorder.await.unwrap_or(false);
    let now = now_ms();
    if let CallResult::Fax {
        pages_confirmed, ..
    } = &outcome.result
        && outcome.transport.is_some()
    {
        // The call was answered and a fax session ran.
        if !sending_recorded && let Err(e) = shared.jobs.start_sending(&job, attempt, now).await {
            warn!(%job, attempt, "cannot record that the fax was sending: {e}");
        }
        if let Err(e) = shared
            .jobs
            .confirm_pages(&job, attempt, *pages_confirmed)
            .await
        {
            warn!(%job, attempt, "cannot record confirmed pages: {e}");
        }
    }
    match shared
        .jobs
        .finish_attempt(&job, attempt, &outcome, now)
        .await
    {
        Ok(state) => {
            info!(%job, attempt, %state, "fax attempt finished");
            if state.is_final()
                && let Some(reporter) = shared.reports.get()
            {
                reporter.notify_one();
            }
        }
        // The job stays `Dialling`; the next start's recovery defers it.
        Err(e) => error!(%job, attempt, "ALERT: cannot record the end of the attempt: {e}"),
    }
}

async fn attempt_call(
    shared: &Shared,
    claim: &Claim,
    progress: Arc<watch::Sender<CallProgress>>,
) -> CallOutcome {
    let job = &claim.job_id;
    let (target, account) = match &claim.route {
        Route::Trunk(trunk) if *trunk == shared.outgoing.trunk => (
            shared.outgoing.target(&claim.destination),
            shared.outgoing.account.clone(),
        ),
        Route::Trunk(trunk) => {
            return network_error(format!(
                "trunk {trunk:?} is not configured; [outgoing] trunk is {:?}",
                shared.outgoing.trunk
            ));
        }
        // The port is ours: no trunk, no trunk credentials.
        // A port that registered is reached at its contact, else at the
        // unit's address (as the bridge reaches it).
        Route::Ata(port) => match shared.routes.ata_line(port) {
            Some(line) => (
                shared
                    .endpoint
                    .registered_contact(&line.unit, &line.sip_user)
                    .await
                    .unwrap_or_else(|| line.target.clone()),
                None,
            ),
            None => {
                return network_error(format!(
                    "ATA port {port:?} is no longer in [[bridge.lines]] / [[ata.ports]]; \
                     put it back or cancel the job"
                ));
            }
        },
    };
    // TIFF decoding and encoding block: off the runtime's threads.
    let prepared = {
        let (claim, tmp_dir) = (claim.clone(), shared.tmp_dir.clone());
        tokio::task::spawn_blocking(move || prepare_pages(&claim, &tmp_dir))
            .await
            .unwrap_or_else(|e| Err(format!("preparing the pages failed: {e}")))
    };
    let (tiff, temporary) = match prepared {
        Ok(x) => x,
        Err(e) => {
            error!(%job, "cannot prepare the pages to send: {e}");
            return document_error(e);
        }
    };
    let mut cfg = call_config(&shared.base, &claim.settings);
    cfg.progress = Some(progress);
    info!(
        %job, attempt = claim.attempt, %target,
        pages = %format!("{}-{}", claim.pages.start(), claim.pages.end()),
        settings = %claim.settings, "placing fax call"
    );
    let result = async {
        let sockets = MediaSockets::bind(shared.media_ip).await?;
        place_call(
            &shared.endpoint,
            &target,
            &shared.outgoing.from_user,
            account,
            FaxJob::Send(tiff.clone()),
            sockets,
            &cfg,
        )
        .await
    }
    .await;
    if temporary {
        let _ = tokio::fs::remove_file(&tiff).await;
    }
    match &result {
        Ok(report) => info!(%job, "{report}"),
        Err(e) => warn!(%job, "fax call failed: {e}"),
    }
    call_outcome(&result, &claim.settings)
}

fn network_error(detail: String) -> CallOutcome {
    CallOutcome {
        result: CallResult::NetworkError { detail },
        transport: None,
        ecm: None,
        modem: None,
        remote_ident: None,
        call_duration: None,
        bit_rate: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(transport: Transport, ecm: bool, modem: Modem) -> Settings {
        Settings {
            transport,
            ecm,
            modem,
        }
    }

    #[test]
    fn rung_settings_shape_the_call() {
        let base = FaxCallConfig {
            prefer_t38: true,
            ..FaxCallConfig::default()
        };
        let c = call_config(&base, &settings(Transport::T38, true, Modem::V17));
        assert!(c.t38 && c.t38_reinvite && c.prefer_t38);
        assert_eq!(c.initial_offer, OfferKind::Audio);
        assert!(c.fax.ecm);
        assert_eq!(c.fax.modems.len(), 3);
        assert!(c.fax.compressions.contains(&FaxCompression::T6));
        c.fax.validate().unwrap();

        let c = call_config(&base, &settings(Transport::G711, false, Modem::V29));
        assert!(!c.t38 && !c.t38_reinvite && !c.prefer_t38);
        assert!(!c.fax.ecm);
        assert!(!c.fax.compressions.contains(&FaxCompression::T6));
        assert_eq!(
            c.fax.modems.iter().copied().collect::<Vec<_>>(),
            vec![Modem::V27ter, Modem::V29]
        );
        c.fax.validate().unwrap();

        let c = call_config(&base, &settings(Transport::G711, true, Modem::V27ter));
        assert_eq!(
            c.fax.modems.iter().copied().collect::<Vec<_>>(),
            vec![Modem::V27ter]
        );
    }

    #[test]
    fn sip_rejections_and_network_errors_are_told_apart() {
        let s = settings(Transport::T38, true, Modem::V17);
        let rejected: Result<FaxCallReport, FaxCallError> =
            Err(FaxCallError::Dial(DialError::Rejected {
                status: 486,
                reason: "Busy Here".into(),
            }));
        assert_eq!(
            call_outcome(&rejected, &s).result,
            CallResult::NotAnswered { sip_status: 486 }
        );
        let silent: Result<FaxCallReport, FaxCallError> =
            Err(FaxCallError::Dial(DialError::NoAnswer));
        assert!(matches!(
            call_outcome(&silent, &s).result,
            CallResult::NetworkError { .. }
        ));
        let doc = document_error("gone".into());
        assert!(matches!(
            doc.result,
            CallResult::Fax { t30_code, .. } if t30_code == T30_FILE_ERROR
        ));
        assert_eq!(
            super::super::retry::classify_t30(T30_FILE_ERROR, 0),
            super::super::Cause::DocumentError
        );
    }

    #[test]
    fn modems_from_bit_rates() {
        assert_eq!(modem_for_rate(14400, Modem::V17), Some(Modem::V17));
        assert_eq!(modem_for_rate(9600, Modem::V17), None);
        assert_eq!(modem_for_rate(9600, Modem::V29), Some(Modem::V29));
        assert_eq!(modem_for_rate(4800, Modem::V17), Some(Modem::V27ter));
    }

    #[test]
    fn outgoing_config_problems_name_keys() {
        let ok = OutgoingConfig {
            uri: "sip:{number}@127.0.0.1:5080".into(),
            ..OutgoingConfig::default()
        };
        assert!(ok.problems().is_empty());
        assert_eq!(ok.target("100"), "sip:100@127.0.0.1:5080");
        assert!(OutgoingConfig::default().problems().is_empty());
        assert!(!OutgoingConfig::default().enabled());
        let bad = OutgoingConfig {
            uri: "sip:100@127.0.0.1".into(),
            from_user: "a b".into(),
            poll_interval_ms: 0,
            ..OutgoingConfig::default()
        };
        let keys: Vec<_> = bad.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            vec![
                "outgoing.uri",
                "outgoing.from_user",
                "outgoing.poll_interval_ms"
            ]
        );
        let e = toml::from_str::<OutgoingConfig>("url = \"x\"").unwrap_err();
        assert!(e.to_string().contains("url"), "{e}");
    }

    #[test]
    fn later_pages_are_cut_from_the_document() {
        use crate::docs::{Page, Resolution};
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("doc.tif");
        let pages: Vec<Page> = (0..3)
            .map(|n| {
                let mut p = Page::blank(1728, 40, Resolution::Standard);
                p.set(n * 10, 5, true);
                p
            })
            .collect();
        write_tiff(&doc, &pages, Compression::Group4).unwrap();
        let mut claim = Claim {
            job_id: "j1".into(),
            attempt: 2,
            destination: "100".into(),
            route: Route::Trunk("main".into()),
            document: doc.to_string_lossy().into_owned(),
            pages_total: 3,
            pages: 1..=3,
            settings: settings(Transport::G711, true, Modem::V17),
        };
        assert_eq!(prepare_pages(&claim, dir.path()).unwrap(), (doc, false));
        claim.pages = 2..=3;
        let (cut, temporary) = prepare_pages(&claim, dir.path()).unwrap();
        assert!(temporary);
        assert_eq!(read_tiff(&cut).unwrap(), pages[1..].to_vec());
        claim.pages = 3..=5;
        assert!(prepare_pages(&claim, dir.path()).is_err());
        claim.document = dir.path().join("nope.tif").to_string_lossy().into_owned();
        claim.pages = 1..=3;
        assert!(prepare_pages(&claim, dir.path()).is_err());
    }
}

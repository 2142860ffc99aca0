//! Fax reception: incoming calls the router sent to the fax receiver are
//! answered, their pages received into the spool and handed to the mail
//! outbox, durably at each step.
//!
//! Each call gets its own task ([`handle_call`]): a call record is written
//! durably, the call is answered, the pages are received into the spool, the
//! TIFF is fsynced, the fax is recorded for mail, and only then is the call
//! record removed. A process killed at any point leaves a state that the
//! next start finishes ([`recover_interrupted_calls`]).
//!
//! A full disk: while the spool has less free space than `[general]
//! spool_min_free_mb`, a fax call is answered 503 before anything is
//! written (the sending machine tries again later). A page that cannot be
//! written during a call is not confirmed to the sender (the call ends, see
//! [`crate::fax::FaxOutcome::output_failed`]); the pages confirmed before
//! it are kept, and their mail is retried until there is room again.
//!
//! Calls the router sent to the analogue bridge go to
//! [`crate::bridge::b2bua::bridge_call`] from here too, so that every
//! bridged call that ends is checked by the PCI-DSS guard
//! ([`crate::compliance::alert`]) with the ports the router decided on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::clock::now_ms;
use crate::fax::{FaxJob, FaxOutcome, FaxStatus};
use crate::mail::{Outbox, ReceivedFax, Route};
use crate::media::fax_call::{CallProgress, FaxCallConfig, MediaSockets, answer_call};
use crate::sip::{IncomingCall, SipEndpoint};
use crate::spool::{self, CallRecord};

/// What every call task needs.
pub struct CallContext {
    /// The units and ports, for the PCI-DSS evidence of bridged calls.
    pub inventory: crate::ata::Inventory,
    /// `[compliance]`.
    pub compliance: crate::compliance::ComplianceConfig,
    /// What the bridge needs: media address, trunk account, call counter,
    /// alerts.
    pub bridge: crate::bridge::b2bua::BridgeSettings,
    pub endpoint: Arc<SipEndpoint>,
    pub spool: PathBuf,
    pub outbox: Outbox,
    pub routes: Arc<RwLock<BTreeMap<String, Route>>>,
    pub media_ip: std::net::IpAddr,
    pub call: FaxCallConfig,
    /// PCI-DSS flags of bridged calls ([`crate::compliance::alert`]).
    pub pci: crate::compliance::ComplianceStore,
    /// The spool's free space: calls are refused for now while it is low.
    pub space: crate::spool::SpaceGuard,
    /// Turns `true` when the daemon stops taking work: a fax waiting for
    /// room to be mailed is left to the next start.
    pub stopping: watch::Receiver<bool>,
}

/// How long a received fax that could not be queued for mail (a full
/// disk) waits before the next try, at first and at most.
const REDELIVER_FIRST: Duration = Duration::from_secs(2);
const REDELIVER_MAX: Duration = Duration::from_secs(30);

/// Carry one call where the router sent it: fax reception, or the
/// analogue bridge.
pub async fn handle_call(call: IncomingCall, ctx: Arc<CallContext>) {
    if let Some(route) = call.fax_route() {
        let route = route.to_string();
        return receive_call(call, route, ctx).await;
    }
    let call_id = call.call_id.clone();
    // PCI-DSS: the ports this call involves, for its evidence when it ends.
    let started_at_ms = now_ms();
    let ports = crate::compliance::alert::ports_of_call(&ctx.inventory, &call.decision);
    match crate::bridge::b2bua::bridge_call(&ctx.endpoint, &ctx.bridge, call).await {
        crate::bridge::b2bua::BridgeOutcome::OwnFax(call, own) => {
            receive_call(*call, own.route, ctx.clone()).await;
        }
        crate::bridge::b2bua::BridgeOutcome::Ended(report) => {
            info!(%call_id, classification = ?report.classification, "bridged call ended");
            crate::compliance::alert::observe_bridged_call(
                &ctx.pci,
                &ctx.compliance,
                Some(&ctx.outbox),
                &call_id,
                &ports,
                (started_at_ms, now_ms()),
                report.classification.as_ref(),
            )
            .await;
        }
        other => info!(%call_id, outcome = ?other, "bridged call not connected"),
    }
}

/// Receive one fax call and hand its pages to the outbox.
async fn receive_call(call: IncomingCall, route: String, ctx: Arc<CallContext>) {
    let caller = crate::sip::wire::uri_user(&call.from).unwrap_or_default();
    let called = call.did.clone().unwrap_or_default();
    if let Err(low) = ctx.space.check() {
        // Nothing is written and nothing confirmed: the sending machine
        // keeps the fax and tries again later.
        warn!(call_id = %call.call_id, "{low}; answering 503");
        call.reject(503);
        return;
    }
    let record = CallRecord::new(&call.call_id, &caller, &called, &route);
    let write = {
        let (spool, record) = (ctx.spool.clone(), record.clone());
        blocking(move || spool::write_record(&spool, &record)).await
    };
    if let Err(e) = write {
        // Without a durable record a crash could lose the fax: refuse, so the
        // sending fax machine retries later instead of believing it was sent.
        error!(call_id = %call.call_id, "cannot write the call record: {e}; answering 503");
        ctx.space.note_write_error("writing a call record", &e);
        call.reject(503);
        return;
    }
    let sockets = match MediaSockets::bind(ctx.media_ip).await {
        Ok(s) => s,
        Err(e) => {
            error!(call_id = %call.call_id, "{e}; answering 503");
            call.reject(503);
            remove_record(&ctx.spool, &record.id).await;
            return;
        }
    };
    let tiff = spool::tiff_path(&ctx.spool, &record.id);
    info!(fax = %record.id, %caller, %called, %route, "incoming fax call");
    // The moment the last page is confirmed to the sender, the call record
    // says so (durably): a fax cut off after that is complete, not partial.
    let (progress, mut watch_progress) = watch::channel(CallProgress::default());
    let mut cfg = ctx.call.clone();
    cfg.progress = Some(Arc::new(progress));
    let marker = {
        let (spool, mut marked) = (ctx.spool.clone(), record.clone());
        tokio::spawn(async move {
            if watch_progress
                .wait_for(|p| p.document_confirmed)
                .await
                .is_err()
            {
                return false;
            }
            marked.document_confirmed = true;
            let id = marked.id.clone();
            match blocking(move || spool::write_record(&spool, &marked)).await {
                Ok(()) => info!(fax = %id, "every page confirmed to the sender"),
                Err(e) => warn!(fax = %id, "cannot record that every page was confirmed: {e}"),
            }
            true
        })
    };
    let answered = answer_call(call, FaxJob::Receive(tiff.clone()), sockets, &cfg).await;
    // The call is over: nothing publishes progress any more, so the marker
    // ends, and it ends before the record is removed.
    drop(cfg);
    let mut record = record;
    record.document_confirmed = marker.await.unwrap_or(false);
    match answered {
        Ok(report) => {
            info!(fax = %record.id, "{report}");
            if report.outcome.output_failed {
                error!(
                    fax = %record.id,
                    pages_kept = report.outcome.pages_stored,
                    "a page could not be written to the spool and was not confirmed; the pages confirmed before it will be mailed"
                );
                ctx.space.note_full(
                    "writing a received fax page",
                    "SpanDSP could not write the page to the TIFF",
                );
            }
            let mut wait = REDELIVER_FIRST;
            let mut stopping = ctx.stopping.clone();
            while finish_reception(&ctx, &record, Some(&report.outcome), report.elapsed).await
                == Delivery::Later
            {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopping.wait_for(|s| *s) => {
                        warn!(fax = %record.id, "stopping: the fax stays in the spool and is mailed at the next start");
                        break;
                    }
                }
                wait = (wait * 2).min(REDELIVER_MAX);
            }
        }
        Err(e) => {
            // Refused before the call was answered (SDP, sockets): no pages.
            warn!(fax = %record.id, "call not answered: {e}");
            let _ = tokio::fs::remove_file(&tiff).await;
            remove_record(&ctx.spool, &record.id).await;
        }
    }
}

/// What became of a received fax's delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// Queued for mail, or nothing to mail, or left for an operator.
    Done,
    /// Not queued for a reason that may pass (a full disk): try again.
    Later,
}

/// fsync the pages, record the fax for mail, then drop the call record.
/// `outcome` is `None` for a call interrupted by a crash.
async fn finish_reception(
    ctx: &CallContext,
    record: &CallRecord,
    outcome: Option<&FaxOutcome>,
    elapsed: Duration,
) -> Delivery {
    let route = ctx
        .routes
        .read()
        .expect("routes lock")
        .get(&record.route)
        .cloned();
    let delivery = deliver(&ctx.spool, &ctx.outbox, record, route, outcome, elapsed).await;
    if delivery == Delivery::Later {
        ctx.space.note_full(
            "queueing a received fax for mail",
            "the fax stays in the spool",
        );
    }
    delivery
}

async fn deliver(
    spool: &Path,
    outbox: &Outbox,
    record: &CallRecord,
    route: Option<Route>,
    outcome: Option<&FaxOutcome>,
    elapsed: Duration,
) -> Delivery {
    let tiff = spool::tiff_path(spool, &record.id);
    if let Some(o) = outcome.filter(|o| o.output_failed && o.pages_stored > 0) {
        // The page that could not be written may have left the last whole
        // page linked to a directory that is not in the file: end the
        // chain after the pages kept, so that they can be read.
        let (path, keep) = (tiff.clone(), o.pages_stored as usize);
        if let Err(e) = blocking(move || {
            crate::docs::tiff::keep_first_pages(&path, keep).map_err(std::io::Error::other)
        })
        .await
        {
            warn!(fax = %record.id, "cannot cut the fax after its {keep} whole page(s): {e}");
        }
    }
    let pages_on_disk = tokio::fs::metadata(&tiff).await.is_ok_and(|m| m.len() > 0);
    let pages = match outcome {
        Some(o) => o.pages_stored,
        None if pages_on_disk => {
            let tiff = tiff.clone();
            blocking(move || {
                crate::docs::tiff::read_tiff(&tiff)
                    .map(|p| p.len() as u32)
                    .map_err(std::io::Error::other)
            })
            .await
            .unwrap_or(0)
        }
        None => 0,
    };
    if !pages_on_disk || pages == 0 {
        // Nothing arrived (a voice call, a failed training): no fax to mail.
        info!(fax = %record.id, "no pages received; nothing to deliver");
        let _ = tokio::fs::remove_file(&tiff).await;
        remove_record(spool, &record.id).await;
        return Delivery::Done;
    }
    let synced = {
        let tiff = tiff.clone();
        blocking(move || spool::sync_file(&tiff)).await
    };
    if let Err(e) = synced {
        if spool::is_storage_full(&e) {
            warn!(fax = %record.id, "cannot sync {}: {e}; trying again", tiff.display());
            return Delivery::Later;
        }
        error!(fax = %record.id, "cannot sync {}: {e}; keeping the call record for the next start", tiff.display());
        return Delivery::Done;
    }
    let Some(route) = route else {
        error!(fax = %record.id, route = %record.route, "ALERT: route has no mailboxes; the fax stays in the spool until [routes.{}] is configured", record.route);
        return Delivery::Done;
    };
    let fax = received_fax(record, &tiff, pages, outcome, elapsed);
    match outbox.deliver_received_fax(&fax, &route).await {
        Ok(()) => {
            remove_record(spool, &record.id).await;
            Delivery::Done
        }
        Err(e) if e.is_storage_full() => {
            warn!(fax = %record.id, "cannot queue the fax for mail: {e}; the fax stays in the spool and is tried again when there is room");
            Delivery::Later
        }
        Err(e) => {
            error!(fax = %record.id, "ALERT: cannot queue the fax for mail: {e}; it will be retried at the next start");
            Delivery::Done
        }
    }
}

/// Run blocking file work (fsync, TIFF decoding) off the runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// Drop the call record of a call that needs it no more (its directory is
/// fsynced, off the runtime's threads).
async fn remove_record(spool: &Path, id: &str) {
    let (dir, owned) = (spool.to_path_buf(), id.to_string());
    if let Err(e) = blocking(move || spool::remove_record(&dir, &owned)).await {
        warn!(fax = %id, "cannot remove the call record: {e}");
    }
}

/// The mail's view of a received fax.
fn received_fax(
    record: &CallRecord,
    tiff: &Path,
    pages: u32,
    outcome: Option<&FaxOutcome>,
    elapsed: Duration,
) -> ReceivedFax {
    let (result, success) = match outcome.map(|o| &o.status) {
        Some(FaxStatus::Success) if pages == 1 => ("Received the whole fax (1 page).".into(), true),
        Some(FaxStatus::Success) => (format!("Received all {pages} pages."), true),
        // The sender was told every page arrived (MCF to its last page);
        // only the goodbye was missed.
        Some(FaxStatus::Failed { reason, .. }) if record.document_confirmed => (
            format!(
                "Received all {pages} page(s); the sender was told so, then the call ended without the usual goodbye ({reason})."
            ),
            true,
        ),
        None if record.document_confirmed => (
            format!(
                "Received all {pages} page(s); the sender was told so before the fax service stopped."
            ),
            true,
        ),
        Some(FaxStatus::Failed { reason, .. }) => (
            format!("The call ended early: {reason} {pages} page(s) arrived."),
            false,
        ),
        None => (
            format!(
                "The call was interrupted when the fax service stopped; {pages} page(s) arrived."
            ),
            false,
        ),
    };
    ReceivedFax {
        id: record.id.clone(),
        tiff: tiff.to_path_buf(),
        caller: record.caller.clone(),
        called: record.called.clone(),
        remote_csi: outcome
            .and_then(|o| o.remote_ident.clone())
            .unwrap_or_default(),
        pages_received: pages,
        pages_expected: match outcome {
            Some(o) if o.is_success() => Some(o.pages_transferred),
            _ if record.document_confirmed => Some(pages),
            _ => None,
        },
        started_at: record.started_at(),
        duration: outcome.map(|o| o.duration()).unwrap_or(elapsed),
        bit_rate: outcome.and_then(|o| o.bit_rate).unwrap_or(0),
        ecm: outcome.is_some_and(|o| o.ecm),
        result,
        success,
    }
}

/// Mail the pages of calls cut off by a crash (their call record is still in
/// the spool). Delivery is idempotent, so a fax already recorded just resumes.
pub async fn recover_interrupted_calls(
    spool: &Path,
    outbox: &Outbox,
    routes: &BTreeMap<String, Route>,
) {
    let found = match spool::interrupted_calls(spool) {
        Ok(f) => f,
        Err(e) => {
            error!("cannot scan {} for interrupted calls: {e}", spool.display());
            return;
        }
    };
    for entry in found {
        match entry {
            Ok(record) => {
                warn!(fax = %record.id, "finishing a call interrupted by a stop");
                let route = routes.get(&record.route).cloned();
                deliver(spool, outbox, &record, route, None, Duration::ZERO).await;
            }
            Err(path) => error!(
                "ALERT: unreadable call record {}; inspect it and the TIFF beside it",
                path.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupted_call_reads_as_partial() {
        let rec = CallRecord::new("c1", "0161", "100", "inbox");
        let fax = received_fax(&rec, Path::new("/x.tif"), 2, None, Duration::from_secs(5));
        assert!(!fax.success);
        assert_eq!(fax.pages_received, 2);
        assert!(fax.result.contains("interrupted"), "{}", fax.result);
    }
}

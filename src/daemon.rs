//! `faxbridge run`: the long-lived process.
//!
//! Start-up prepares the spool, opens the store, finishes what a previous
//! run left (the outbox's own recovery, then calls whose pages never reached
//! the store), and starts the mail worker and the SIP endpoint. Each incoming
//! call gets its own task, carried by [`crate::reception`]: fax reception
//! (durable at every step, so a daemon killed at any point leaves a state
//! that the next start finishes) or the analogue bridge.
//!
//! When `[outgoing] uri` is set or a `[[bridge.lines]]` port can be dialled
//! directly, the queue's sending worker ([`crate::queue::worker`]) runs
//! beside them on the same endpoint, after the queue's own recovery. The
//! delivery reporter ([`crate::queue::reporter`]) mails a report for every
//! job that reached a final state; with `[intake.smtp] listen` set, the SMTP
//! listener takes email-to-fax messages ([`crate::intake::Intake`]); the ATA
//! monitor polls the units of `[ata]` over SNMP; old faxes are purged per `[retention]`;
//! the web interface and `/metrics` run when `[web] listen` is set;
//! systemd is told about readiness and pinged ([`crate::systemd`]).
//! Every bridged call that ends is checked by the PCI-DSS guard: its flags,
//! evidence and classifier verdict are recorded, and a new finding is
//! alerted at once ([`crate::compliance::alert`]); ports the inventory
//! lists with role `pdq` are flagged at start.
//!
//! Signals: SIGTERM or SIGINT shut down in stages ([`crate::shutdown`]):
//! stop taking calls, mail and queued faxes; let calls in progress (both
//! directions) finish (at most [`DRAIN_LIMIT`]); write the last reports; then
//! stop the endpoint, the mail worker and the rest.
//! SIGHUP re-reads the configuration file and swaps in its mail routes and
//! its DID routing table (`[sip.routing]`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::config::{Config, RouteConfig};
use crate::intake::Intake;
use crate::mail::Outbox;
use crate::queue::JobStore;
use crate::queue::reporter::Reporter;
use crate::queue::worker::Worker;
use crate::reception::{CallContext, handle_call, recover_interrupted_calls};
use crate::shutdown::{Shutdown, Stage};
use crate::sip::SipEndpoint;
use crate::smtp::SmtpListener;
use crate::store::Store;
use crate::systemd::Notifier;

/// Sub-directories of the spool, created at start.
pub const SPOOL_DIRS: [&str; 3] = ["incoming", "outgoing", "tmp"];

/// Longest wait for calls in progress at shutdown: a long fax at low speed.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Raises the soft limit of open file descriptors to the hard limit (the
/// unit sets `LimitNOFILE=65536`; a soft limit of 1024 is the usual
/// default) and logs both. The SIP connection limits are derived from the
/// result ([`crate::sip::limits::plan_descriptors`]).
fn raise_descriptor_limit() {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE).ok();
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => info!(
            soft = soft,
            hard = before.map(|(_, h)| h),
            was = before.map(|(s, _)| s),
            "file descriptor limit"
        ),
        Err(e) => {
            warn!(error = %e, soft = before.map(|(s, _)| s), "cannot raise the file descriptor limit")
        }
    }
}

/// Run the daemon until SIGTERM or SIGINT. `config_path`, when the
/// configuration came from a file, is re-read on SIGHUP.
pub async fn run(config: Config, config_path: Option<PathBuf>) -> anyhow::Result<()> {
    run_with(config, config_path, Hooks::default()).await
}

/// Ways for an embedding program (`faxbridge demo`, tests) to follow and
/// stop a daemon running in its own process.
#[derive(Debug, Default)]
pub struct Hooks {
    /// Told the SIP UDP address once the daemon takes calls.
    pub ready: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
    /// When it turns `true` (or its sender is dropped), the daemon shuts
    /// down as on SIGTERM.
    pub stop: Option<watch::Receiver<bool>>,
}

/// [`run`] with [`Hooks`].
pub async fn run_with(
    config: Config,
    config_path: Option<PathBuf>,
    hooks: Hooks,
) -> anyhow::Result<()> {
    let Hooks { ready, stop } = hooks;
    // Without a stop hook, a channel whose sender lives as long as the
    // daemon: it never fires.
    let (_never, idle) = watch::channel(false);
    let mut stop = stop.unwrap_or(idle);
    crate::mail::install_crypto_provider();
    raise_descriptor_limit();
    let notifier = Arc::new(Notifier::from_env());
    let spool = config.general.spool_dir.clone();
    prepare_spool(&spool)?;
    let store = config
        .store
        .open(&spool)
        .await
        .context("opening the store")?;
    // One daemon per PostgreSQL database until nodes share work by leases;
    // held until this function returns.
    let _store_hold = store.hold_for_daemon().await.context("opening the store")?;
    info!(database = %config.store.describe(&spool), "store opened");
    let outbox = Outbox::open(&config.mail, &spool, store.clone())
        .await
        .context("opening the mail outbox")?;
    let recovered = outbox.recover().await.context("recovering the outbox")?;
    info!(?recovered, "outbox recovered");
    let routes = Arc::new(RwLock::new(config.routes.clone()));
    recover_interrupted_calls(&spool, &outbox, &config.routes).await;
    let health_store = store.clone();
    let jobs = JobStore::new(store, config.queue.clone());
    let recovered = jobs
        .recover(crate::clock::now_ms())
        .await
        .context("recovering the fax queue")?;
    info!(?recovered, "fax queue recovered");

    // Operator alerts: logged at ERROR and mailed to [alerts] to.
    let alerts: Arc<dyn crate::alert::Alerts> = Arc::new(crate::mail::alert::MailAlerts::new(
        Some(outbox.clone()),
        &config.alerts.to,
    ));
    // The "mail undeliverable" alert: the log at once, and a mail that
    // waits in the outbox with the rest until the relay is back.
    outbox.set_alerts(alerts.clone());
    // The spool's free space, shared by fax reception and the mail intake:
    // one disk-full episode, one alert.
    let space = crate::spool::SpaceGuard::new(
        &spool,
        config.general.spool_min_free_mb,
        Some(alerts.clone()),
    );

    // One shutdown signal in stages ([`crate::shutdown`]).
    let mut shutdown = Shutdown::new();
    let worker = {
        let outbox = outbox.clone();
        let mut stop = shutdown.subscribe(Stage::Stop);
        tokio::spawn(async move {
            outbox
                .run_worker(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await
        })
    };

    let (endpoint, mut calls) = SipEndpoint::start(&config.sip)
        .await
        .context("starting the SIP endpoint")?;
    let endpoint = Arc::new(endpoint);
    for w in config.warnings() {
        warn!("configuration: {w}");
    }
    // Every INVITE is decided by one router ([`crate::routing`]):
    // emergency calls first, then ports, fax numbers, the trunk.
    endpoint.set_router(Arc::new(router_for(&config, &config.sip.routing)));
    let mut emergencies = endpoint
        .take_emergency_calls()
        .context("taking the SIP endpoint's emergency calls")?;
    if !config.ata.units.is_empty() {
        info!(
            units = config.ata.units.len(),
            lines = config.bridge.lines.len(),
            "analogue bridge on"
        );
        // faxbridge is the ATAs' registrar: each port registers its SIP
        // user, and the bridge reaches it at the contact it registered.
        let units = config
            .ata
            .units
            .iter()
            .map(|u| crate::sip::registrar::RegistrarUnit {
                name: u.name.clone(),
                address: u.address,
                users: config
                    .ata
                    .ports
                    .iter()
                    .filter(|p| p.unit == u.name)
                    .map(|p| p.sip_user.clone())
                    .collect(),
            })
            .collect();
        let registrar = crate::sip::registrar::Registrar::open(
            units,
            config.sip.register_expiry(),
            Some(health_store.clone()),
        )
        .await
        .context("restoring the ATAs' SIP registrations")?;
        endpoint.set_registrar(Arc::new(registrar));
    }
    let media_ip = config.media.address.unwrap_or(config.sip.listen.ip());
    // Delivery reports of jobs that reached a final state (also jobs
    // cancelled from the command line or failed at recovery).
    let reporter = Reporter::new(jobs.clone(), outbox.clone());
    let report_waker = reporter.waker();
    let reporter = tokio::spawn(reporter.run(shutdown.subscribe(Stage::Drained)));
    let mut queue_waker = None;
    // Jobs to our own ATA ports need no trunk: the worker runs when either
    // can carry a fax.
    let send_routes = config.send_routes();
    let sender = if send_routes.can_send() {
        let worker = Worker::new(
            jobs.clone(),
            endpoint.clone(),
            config.outgoing.clone(),
            config.media.call_config(&config.fax),
            media_ip,
            &spool,
        )
        .with_routes(send_routes);
        worker.wake_on_final(report_waker);
        queue_waker = Some(worker.waker());
        Some(tokio::spawn(
            worker.run(shutdown.subscribe(Stage::StopTaking)),
        ))
    } else {
        info!("no [outgoing] uri and no [[bridge.lines]] port: queued faxes are not sent");
        None
    };
    // Email-to-fax over SMTP: refused at SMTP time when outgoing faxes are
    // not configured (or, without a trunk, for numbers that are not a
    // port's), so nothing is accepted that would never be sent.
    let mut smtp_addr = None;
    let smtp = match config.intake.smtp.listen {
        Some(_) => {
            let listener = SmtpListener::bind(&config.intake.smtp)
                .await
                .context("starting the SMTP listener ([intake.smtp])")?;
            smtp_addr = listener.local_addr().ok();
            info!(smtp = ?smtp_addr, "taking fax mail over SMTP");
            // PDF attachments are rendered in worker processes of this
            // binary, held to [documents]' memory and time limits.
            let workers = crate::docs::render::worker::this_program()
                .map(|exe| config.documents.workers(exe));
            if workers.is_none() {
                error!(
                    "cannot find this program to start document workers; rendering in the daemon"
                );
            }
            let intake =
                Intake::with_workers(config.intake_settings(), jobs.clone(), queue_waker, workers)
                    .with_space_guard(space.clone());
            let mut stop = shutdown.subscribe(Stage::StopTaking);
            Some(tokio::spawn(listener.run(Arc::new(intake), async move {
                let _ = stop.wait_for(|s| *s).await;
            })))
        }
        None => None,
    };
    // SNMP monitoring of the ATAs listed in [ata] (nothing to do without).
    let ata_monitor = crate::ata::poller::Monitor::new(&config.ata, Some(health_store.clone()));
    let ata_task = tokio::spawn(ata_monitor.run(shutdown.subscribe(Stage::Stop)));
    // The admin/finance web interface and /metrics ([web] listen; off when
    // unset). It stays up while calls drain and stops with the mail worker.
    let web = crate::web::serve(
        config.site(),
        health_store.clone(),
        shutdown.subscribe(Stage::Stop),
    )
    .await
    .context("starting the web interface ([web])")?;
    // Signals are handled from before the ready line: a stop asked for as
    // soon as the daemon says it is ready is a clean stop.
    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing SIGHUP handler")?;
    // Ready once every listener (SIP, SMTP, web) takes connections. The
    // line names each bound address (a field is left out when that
    // listener is off), so a listen port of 0 can be learnt from it.
    info!(
        udp = endpoint.udp_addr().map(display),
        tcp = endpoint.tcp_addr().map(display),
        tls = endpoint.tls_addr().map(display),
        smtp = smtp_addr.map(display),
        web = web.as_ref().map(|w| display(w.local_addr())),
        spool = %spool.display(),
        "faxbridge ready"
    );
    notifier.ready(&format!(
        "taking calls on {}",
        endpoint
            .udp_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|| config.sip.listen.to_string())
    ));
    // The PCI-DSS digest to finance ([compliance.finance_digest]).
    let digest = tokio::spawn(crate::compliance::digest::run(
        config.compliance.finance_digest.clone(),
        crate::compliance::store::ComplianceStore::new(health_store.clone()),
        outbox.clone(),
        shutdown.subscribe(Stage::Stop),
    ));
    let pci = crate::compliance::ComplianceStore::new(health_store.clone());
    // PCI-DSS: ports listed with role `pdq` are flagged from the start
    // (created once; restarts add nothing). [ata] is not reloaded on SIGHUP.
    if let Err(e) = crate::compliance::alert::observe_inventory(
        &pci,
        &config.compliance,
        Some(&outbox),
        &config.ata.inventory(),
        crate::clock::now_ms(),
    )
    .await
    {
        error!("PCI-DSS: inventory flags not recorded: {e}");
    }
    let retention = tokio::spawn(purge_periodically(
        health_store.clone(),
        spool.clone(),
        config.retention.clone(),
    ));
    if let Some(ready) = ready {
        let _ = ready.send(endpoint.udp_addr().unwrap_or(config.sip.listen));
    }
    let watchdog = notifier
        .ping_interval()
        .map(|every| tokio::spawn(watchdog(notifier.clone(), health_store, every)));

    let bridge = crate::bridge::b2bua::BridgeSettings {
        media_ip,
        trunk_account: config.outgoing.account.clone(),
        counter: crate::numbering::policy::CallCounter::new(),
        alerts: Some(alerts.clone()),
    };
    let ctx = Arc::new(CallContext {
        inventory: config.ata.inventory(),
        compliance: config.compliance.clone(),
        bridge,
        endpoint: endpoint.clone(),
        spool: spool.clone(),
        outbox: outbox.clone(),
        routes: routes.clone(),
        media_ip,
        call: config.media.call_config(&config.fax),
        pci,
        space: space.clone(),
        stopping: shutdown.subscribe(Stage::StopTaking),
    });
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = term.recv() => { info!("SIGTERM: finishing calls in progress"); break; }
            _ = int.recv() => { info!("SIGINT: finishing calls in progress"); break; }
            _ = stop.wait_for(|s| *s) => { info!("stop requested: finishing calls in progress"); break; }
            _ = hup.recv() => {
                notifier.reloading();
                reload_routes(config_path.as_deref(), &config, &routes, &endpoint);
                notifier.ready("configuration reloaded");
            }
            Some(call) = emergencies.recv() => { tasks.spawn(handle_call(call, ctx.clone())); }
            call = calls.recv() => match call {
                Some(call) => { tasks.spawn(handle_call(call, ctx.clone())); }
                None => { error!("the SIP endpoint stopped"); break; }
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = done { error!("a call task failed: {e}"); }
            }
        }
    }

    // New INVITEs are refused (503) once the receiver is gone; calls in
    // progress run to their end.
    drop(calls);
    notifier.stopping(&format!("finishing {} calls in progress", tasks.len()));
    shutdown.advance(Stage::StopTaking);
    let drained = tokio::time::timeout(DRAIN_LIMIT, async {
        // Emergency calls are still put through while others drain.
        loop {
            tokio::select! {
                Some(call) = emergencies.recv() => { tasks.spawn(handle_call(call, ctx.clone())); }
                done = tasks.join_next() => if done.is_none() { break },
            }
        }
        if let Some(smtp) = smtp {
            let _ = smtp.await;
        }
        if let Some(sender) = sender {
            let _ = sender.await;
        }
    })
    .await;
    if drained.is_err() {
        warn!("calls still in progress after {DRAIN_LIMIT:?}; ending them");
    }
    endpoint.shutdown().await;
    tasks.shutdown().await;
    // Reports of the last calls go into the outbox before it stops.
    shutdown.advance(Stage::Drained);
    let _ = reporter.await;
    shutdown.advance(Stage::Stop);
    let _ = worker.await;
    let _ = ata_task.await;
    if let Some(web) = web {
        web.join().await;
    }
    let _ = digest.await;
    if let Some(w) = watchdog {
        w.abort();
    }
    retention.abort();
    info!("faxbridge stopped");
    Ok(())
}

/// Purge old faxes now and every `[retention] interval_minutes`.
async fn purge_periodically(store: Store, spool: PathBuf, cfg: crate::retention::RetentionConfig) {
    let every = Duration::from_secs(u64::from(cfg.interval_minutes.max(1)) * 60);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = crate::retention::purge(&store, &spool, &cfg, crate::clock::now_ms()).await
        {
            warn!("{e}; trying again in {every:?}");
        }
    }
}

/// Ping systemd's watchdog every `every` while the store answers a query
/// within that time: a wedged database or runtime stops the pings, and
/// systemd restarts the service (`WatchdogSec=` in the unit).
async fn watchdog(notifier: Arc<Notifier>, store: Store, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match tokio::time::timeout(every, store.ping()).await {
            Ok(Ok(())) => notifier.watchdog(),
            Ok(Err(e)) => {
                error!("health check: the store does not answer: {e}; not pinging the watchdog")
            }
            Err(_) => error!(
                "health check: the store took longer than {every:?}; not pinging the watchdog"
            ),
        }
    }
}

/// The router of `config`, with the fax numbers of `routing` (the running
/// configuration's, or a reloaded file's).
fn router_for(
    config: &Config,
    routing: &crate::sip::config::RoutingConfig,
) -> crate::routing::Router {
    crate::routing::Router::new(
        config.ata.inventory(),
        config.intake.dialplan.clone(),
        config.bridge.clone(),
        &routing.routes,
        routing.default_route.clone(),
        &config.outgoing.uri,
        &config.outgoing.emergency_uris,
    )
}

/// SIGHUP: re-read the configuration file and swap in its routes. Other
/// settings need a restart; a file that does not validate changes nothing.
fn reload_routes(
    path: Option<&Path>,
    running: &Config,
    routes: &RwLock<BTreeMap<String, RouteConfig>>,
    endpoint: &SipEndpoint,
) {
    let Some(path) = path else {
        info!("SIGHUP: running on the embedded default; nothing to reload");
        return;
    };
    match Config::load(path) {
        Ok(new) => {
            let count = new.routes.len();
            // Mailboxes first: a DID newly routed to a new route must find
            // its mailboxes when its first call ends.
            *routes.write().expect("routes lock") = new.routes;
            endpoint.set_router(Arc::new(router_for(running, &new.sip.routing)));
            info!(
                routes = count,
                dids = new.sip.routing.routes.len(),
                "SIGHUP: [routes] and [sip.routing] reloaded from {}",
                path.display()
            );
        }
        Err(e) => error!("SIGHUP: {} not reloaded: {e}", path.display()),
    }
}

/// Create the spool directories and prove the spool is writable and syncable.
pub fn prepare_spool(spool: &Path) -> anyhow::Result<()> {
    for dir in SPOOL_DIRS {
        let path = spool.join(dir);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("creating spool directory {}", path.display()))?;
    }
    let probe = spool.join("tmp").join(".write-probe");
    let mut f = std::fs::File::create(&probe).with_context(|| {
        format!(
            "spool {} is not writable; make it writable by the user faxbridge runs as, or set \
             [general] spool_dir to a directory on a writable filesystem",
            spool.display()
        )
    })?;
    f.write_all(b"probe")
        .and_then(|()| f.sync_all())
        .with_context(|| format!("spool {} cannot be synced to disk", spool.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("s");
        prepare_spool(&spool).unwrap();
        for d in SPOOL_DIRS {
            assert!(spool.join(d).is_dir());
        }
    }

    #[test]
    fn unwritable_spool_is_an_error() {
        let err = prepare_spool(Path::new("/proc/faxbridge-spool")).unwrap_err();
        assert!(format!("{err:#}").contains("/proc/faxbridge-spool"));
    }
}

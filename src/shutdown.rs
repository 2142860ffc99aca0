//! Staged shutdown: one signal that tells every part of the daemon when to
//! stop, in the order that loses nothing.
//!
//! Like mini-redis's `Shutdown`, each task holds a receiver and stops when
//! it fires; unlike it, the signal has stages, because a fax gateway cannot
//! stop everything at once: the calls in progress must end first, their
//! reports must reach the outbox, and only then may the outbox stop.
//!
//! 1. [`Stage::StopTaking`]: no new work. New INVITEs are refused, the SMTP
//!    listener closes, the sending worker claims no new job; calls in
//!    progress (both directions) go on.
//! 2. [`Stage::Drained`]: the calls have ended (or the drain limit passed).
//!    The reporter mails the reports of the last jobs.
//! 3. [`Stage::Stop`]: everything else stops: the mail worker (after its
//!    attempt in progress), ATA monitoring, the web interface, the PCI-DSS
//!    digest.
//!
//! A task subscribes to the stage at which it must stop
//! ([`Shutdown::subscribe`]) and gets a `watch::Receiver<bool>` that turns
//! `true` then; [`Shutdown::advance`] fires every stage up to the one
//! asked for, in order, and never goes back.

use tokio::sync::watch;

/// A stage of the shutdown, in the order they are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Take no new work; what is in progress goes on.
    StopTaking,
    /// Calls in progress have ended; last reports are written.
    Drained,
    /// Everything stops.
    Stop,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 3] = [Stage::StopTaking, Stage::Drained, Stage::Stop];
}

/// The shutdown signal of one daemon.
#[derive(Debug)]
pub struct Shutdown {
    stages: [watch::Sender<bool>; 3],
    reached: Option<Stage>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    /// A signal at no stage yet.
    pub fn new() -> Shutdown {
        Shutdown {
            stages: std::array::from_fn(|_| watch::channel(false).0),
            reached: None,
        }
    }

    /// A receiver that turns `true` when `stage` is reached (at once if it
    /// already was).
    pub fn subscribe(&self, stage: Stage) -> watch::Receiver<bool> {
        self.stages[stage as usize].subscribe()
    }

    /// Reach `stage`, and every earlier stage not reached yet, in order. A
    /// stage already passed changes nothing.
    pub fn advance(&mut self, stage: Stage) {
        if self.reached.is_some_and(|r| r >= stage) {
            return;
        }
        for s in Stage::ALL.into_iter().filter(|s| *s <= stage) {
            self.stages[s as usize].send_replace(true);
        }
        self.reached = Some(stage);
    }

    /// The last stage reached.
    pub fn reached(&self) -> Option<Stage> {
        self.reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_subscriber_fires_at_its_own_stage_and_earlier_stages_come_first() {
        let mut shutdown = Shutdown::new();
        let taking = shutdown.subscribe(Stage::StopTaking);
        let reports = shutdown.subscribe(Stage::Drained);
        let rest = shutdown.subscribe(Stage::Stop);
        let fired = || [*taking.borrow(), *reports.borrow(), *rest.borrow()];
        assert_eq!(fired(), [false, false, false]);
        shutdown.advance(Stage::StopTaking);
        assert_eq!(fired(), [true, false, false]);
        // Straight to the end: the stage skipped fires too.
        shutdown.advance(Stage::Stop);
        assert_eq!(fired(), [true, true, true]);
        assert_eq!(shutdown.reached(), Some(Stage::Stop));
        // Never back.
        shutdown.advance(Stage::StopTaking);
        assert_eq!(shutdown.reached(), Some(Stage::Stop));
    }

    #[test]
    fn a_late_subscriber_sees_a_stage_already_reached() {
        let mut shutdown = Shutdown::new();
        shutdown.advance(Stage::Drained);
        assert!(*shutdown.subscribe(Stage::StopTaking).borrow());
        assert!(*shutdown.subscribe(Stage::Drained).borrow());
        assert!(!*shutdown.subscribe(Stage::Stop).borrow());
    }

    #[tokio::test]
    async fn a_task_waiting_for_its_stage_wakes() {
        let mut shutdown = Shutdown::new();
        let mut stop = shutdown.subscribe(Stage::Stop);
        let task = tokio::spawn(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
        shutdown.advance(Stage::Drained);
        tokio::task::yield_now().await;
        assert!(!task.is_finished());
        shutdown.advance(Stage::Stop);
        task.await.unwrap();
    }
}

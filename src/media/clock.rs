//! One media clock for every call: a few threads that each wake once per
//! 20 ms and step every media channel they hold.
//!
//! A fax modem consumes and produces exactly 160 samples per 20 ms, so
//! each call needs a 20 ms step. Giving every call its own timer makes the
//! cost of a call mostly the cost of waking it: with a timer per call, a
//! few hundred calls mean tens of thousands of thread wake-ups a second,
//! and the kernel's scheduler, not the fax engine, dominates the profile.
//! Here a channel is a value the clock owns; [`MediaClock::add`] gives it
//! to the worker thread holding the fewest, and that worker steps it on
//! its shared tick, together with all the others, then sleeps once for
//! all of them.
//!
//! * **Sample-exact.** Each channel keeps its own sample clock: one
//!   [`Channel::step`] is exactly 160 samples. When a worker wakes late
//!   (a scheduling hiccup, an overloaded machine) it runs the steps it
//!   missed back to back, so every channel gets one step per elapsed
//!   20 ms, never fewer or more. Only the wake-up is shared.
//! * **No wake-up per packet.** Channels read their sockets without
//!   waiting (non-blocking sockets not registered with any event loop), so
//!   an arriving datagram wakes nothing; it waits in the socket's buffer
//!   for the next step, which reads everything that came.
//! * **Control stays async.** Signalling (re-INVITEs, BYE) runs in the
//!   call's task, which shares the channel's state behind a mutex that the
//!   clock takes once per step; the channel tells the task what it needs
//!   to know (a fax tone heard, a page confirmed, the end) through a
//!   channel that wakes the task only then.
//!
//! The workers are plain threads, not runtime tasks: a step is short,
//! CPU-bound work (SpanDSP) that must not wait behind other tasks, and a
//! thread that sleeps on one absolute deadline is the cheapest timer
//! there is.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

/// The step of every channel: 20 ms, 160 samples at 8 kHz.
pub const STEP: Duration = Duration::from_millis(20);

/// Most missed steps run back to back after a late wake-up. Beyond this
/// (the process was stopped, or the machine swapped for seconds) the
/// clock skips ahead and counts the lost steps: a fax call that lost that
/// much time has failed anyway, and running seconds of steps at once
/// would only delay every other call.
const MAX_CATCH_UP: u32 = 50;

/// What a channel says after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Step it again in 20 ms.
    Continue,
    /// The channel is finished: drop it.
    Done,
}

/// Something the clock steps every 20 ms.
pub trait Channel: Send {
    /// One 20 ms step at `now` (the time the step is due, which after a
    /// late wake-up is earlier than the clock on the wall).
    fn step(&mut self, now: Instant) -> Step;
}

/// Counters of the clock, for `/metrics` and benchmarks.
#[derive(Debug, Default)]
pub struct ClockStats {
    /// Wake-ups of all workers.
    pub wakeups: AtomicU64,
    /// Channel steps run.
    pub steps: AtomicU64,
    /// Steps run late, back to back after a late wake-up.
    pub late_steps: AtomicU64,
    /// Steps skipped because a worker was more than [`MAX_CATCH_UP`] steps
    /// behind.
    pub skipped_steps: AtomicU64,
}

struct Worker {
    inbox: Mutex<mpsc::Sender<Box<dyn Channel>>>,
    /// Channels it holds (including those still in its inbox).
    load: AtomicUsize,
}

/// The media clock: one worker thread per core.
pub struct MediaClock {
    workers: Vec<Arc<Worker>>,
    stats: Arc<ClockStats>,
}

impl MediaClock {
    /// A clock with `threads` workers (at least one).
    pub fn new(threads: usize) -> MediaClock {
        let stats = Arc::new(ClockStats::default());
        let workers = (0..threads.max(1))
            .map(|i| {
                let (tx, rx) = mpsc::channel();
                let worker = Arc::new(Worker {
                    inbox: Mutex::new(tx),
                    load: AtomicUsize::new(0),
                });
                let (w, s) = (worker.clone(), stats.clone());
                std::thread::Builder::new()
                    .name(format!("media-clock-{i}"))
                    .spawn(move || run(rx, &w, &s))
                    .expect("cannot start a media clock thread");
                worker
            })
            .collect();
        MediaClock { workers, stats }
    }

    /// The process's clock, started on first use with one worker per core.
    pub fn global() -> &'static MediaClock {
        static CLOCK: OnceLock<MediaClock> = OnceLock::new();
        CLOCK.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            MediaClock::new(cores)
        })
    }

    /// Step `channel` every 20 ms from the next tick of the least loaded
    /// worker until it says [`Step::Done`].
    pub fn add(&self, channel: Box<dyn Channel>) {
        let worker = self
            .workers
            .iter()
            .min_by_key(|w| w.load.load(Ordering::Relaxed))
            .expect("at least one worker");
        worker.load.fetch_add(1, Ordering::Relaxed);
        let sent = worker
            .inbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(channel);
        if sent.is_err() {
            // Only if the worker thread died (a panic in a step).
            worker.load.fetch_sub(1, Ordering::Relaxed);
            warn!("a media clock worker is gone; the channel was not started");
        }
    }

    /// The clock's counters.
    pub fn stats(&self) -> &ClockStats {
        &self.stats
    }

    /// Channels held by all workers.
    pub fn channels(&self) -> usize {
        self.workers
            .iter()
            .map(|w| w.load.load(Ordering::Relaxed))
            .sum()
    }
}

/// A worker: takes new channels, steps all of them once per 20 ms, and
/// sleeps until the next step is due. Parks when it holds nothing.
fn run(inbox: mpsc::Receiver<Box<dyn Channel>>, worker: &Worker, stats: &ClockStats) {
    let mut channels: Vec<Box<dyn Channel>> = Vec::new();
    let mut due = Instant::now();
    loop {
        if channels.is_empty() {
            // Nothing to step: wait for a channel without ticking.
            match inbox.recv() {
                Ok(c) => channels.push(c),
                Err(_) => return,
            }
            due = Instant::now();
        }
        loop {
            match inbox.try_recv() {
                Ok(c) => channels.push(c),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        }
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        stats.wakeups.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        // Steps due by now: one, or more after a late wake-up.
        let behind = now.saturating_duration_since(due).as_micros() / STEP.as_micros();
        let mut steps = behind as u32 + 1;
        if steps > MAX_CATCH_UP {
            let skipped = steps - MAX_CATCH_UP;
            warn!(
                skipped,
                "the media clock was {} ms behind; {skipped} steps skipped",
                behind * 20
            );
            stats.skipped_steps.fetch_add(
                u64::from(skipped) * channels.len() as u64,
                Ordering::Relaxed,
            );
            due += STEP * skipped;
            steps = MAX_CATCH_UP;
        }
        for i in 0..steps {
            let before = channels.len();
            channels.retain_mut(|c| step_one(c.as_mut(), due));
            let done = before - channels.len();
            if done > 0 {
                worker.load.fetch_sub(done, Ordering::Relaxed);
                debug!(done, left = channels.len(), "media channels finished");
            }
            stats.steps.fetch_add(before as u64, Ordering::Relaxed);
            if i > 0 {
                stats.late_steps.fetch_add(before as u64, Ordering::Relaxed);
            }
            due += STEP;
        }
    }
}

/// Step one channel; false when it is done. A channel that panics is
/// dropped (its owner hears of it through the channel's own `Drop`) and the
/// other channels of the worker go on.
fn step_one(channel: &mut dyn Channel, due: Instant) -> bool {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| channel.step(due))) {
        Ok(step) => step == Step::Continue,
        Err(_) => {
            tracing::error!("a media channel failed (panic in its step); it was stopped");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter {
        steps: Arc<AtomicU64>,
        stop_after: u64,
        times: Arc<Mutex<Vec<Instant>>>,
    }

    impl Channel for Counter {
        fn step(&mut self, now: Instant) -> Step {
            self.times.lock().unwrap().push(now);
            if self.steps.fetch_add(1, Ordering::Relaxed) + 1 >= self.stop_after {
                Step::Done
            } else {
                Step::Continue
            }
        }
    }

    #[test]
    fn channels_are_stepped_every_20_ms_until_done() {
        let clock = MediaClock::new(2);
        let counters: Vec<_> = (0..4)
            .map(|_| {
                (
                    Arc::new(AtomicU64::new(0)),
                    Arc::new(Mutex::new(Vec::new())),
                )
            })
            .collect();
        for (steps, times) in &counters {
            clock.add(Box::new(Counter {
                steps: steps.clone(),
                stop_after: 10,
                times: times.clone(),
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while clock.channels() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(clock.channels(), 0, "channels not done in time");
        for (steps, times) in &counters {
            assert_eq!(steps.load(Ordering::Relaxed), 10);
            let times = times.lock().unwrap();
            // The due times are exactly one step apart, whatever the
            // wake-ups were like.
            for w in times.windows(2) {
                assert_eq!(w[1] - w[0], STEP);
            }
        }
        // Two workers, so at most about 2 wake-ups per step for all four.
        let wakeups = clock.stats().wakeups.load(Ordering::Relaxed);
        assert!(wakeups <= 2 * 11, "{wakeups} wake-ups for 4 × 10 steps");
    }

    struct Sleepy {
        steps: Arc<AtomicU64>,
        first: bool,
    }

    impl Channel for Sleepy {
        fn step(&mut self, _now: Instant) -> Step {
            if std::mem::take(&mut self.first) {
                // A step that overruns by 5 periods.
                std::thread::sleep(STEP * 5);
            }
            self.steps.fetch_add(1, Ordering::Relaxed);
            Step::Continue
        }
    }

    struct Panicky;

    impl Channel for Panicky {
        fn step(&mut self, _now: Instant) -> Step {
            panic!("a bug in one channel");
        }
    }

    #[test]
    fn a_channel_that_panics_is_dropped_and_the_others_go_on() {
        let clock = MediaClock::new(1);
        let steps = Arc::new(AtomicU64::new(0));
        clock.add(Box::new(Panicky));
        clock.add(Box::new(Counter {
            steps: steps.clone(),
            stop_after: 5,
            times: Arc::default(),
        }));
        let deadline = Instant::now() + Duration::from_secs(5);
        while clock.channels() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(clock.channels(), 0);
        assert_eq!(steps.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn missed_steps_run_back_to_back() {
        let clock = MediaClock::new(1);
        let steps = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        clock.add(Box::new(Sleepy {
            steps: steps.clone(),
            first: true,
        }));
        std::thread::sleep(Duration::from_millis(500));
        let elapsed = start.elapsed();
        let n = steps.load(Ordering::Relaxed);
        // One step per elapsed 20 ms (give or take the one in progress),
        // although the first step took 100 ms.
        let expected = (elapsed.as_millis() / 20) as u64;
        assert!(
            n + 2 >= expected && n <= expected + 1,
            "{n} steps in {} ms",
            elapsed.as_millis()
        );
        assert!(clock.stats().late_steps.load(Ordering::Relaxed) >= 4);
    }
}

//! The timer interrupt: the periodic scheduler tick, plus one interrupt at
//! the end of each timeout that a syscall waits for.
//!
//! axtask checks its sleep timers only when the timer interrupt comes. With
//! the periodic tick alone, every timeout ended at the next tick, up to one
//! period late, and all the timeouts that ended within one period woke
//! together, in the order they started. CPython's GIL hand-over depends on
//! the order in which its 5 ms waits end (see `tests/test_preemption.py`).
//! Here a wait that ends a timeout registers its deadline, and the timer is
//! set for the earliest deadline or the next tick, whichever comes first.
//!
//! The kernel's sampling profiler (boot argument `profile=HZ`) adds a third
//! event: a sample every 1/HZ seconds, which does not end the time slice.

use alloc::collections::BTreeSet;
use core::time::Duration;

use axhal::time::{monotonic_time_nanos, set_oneshot_timer};
use axtask::WaitQueue;
use kspin::SpinNoIrq;

/// The time added to a registered deadline, so that the interrupt comes
/// after the deadline that axtask computes a little later from the same
/// timeout. Linux threads inherit the same timer slack from init by default
/// (PR_SET_TIMERSLACK(2const)), so their timeouts also end up to 50 µs late.
const SLACK_NS: u64 = 50_000;

struct Timer {
    /// The period of the scheduler tick in nanoseconds; 0 until `init`.
    tick_period_ns: u64,
    /// The time of the next periodic tick, in nanoseconds of monotonic time.
    next_tick_ns: u64,
    /// The registered deadlines, each with a unique id, earliest first.
    deadlines: BTreeSet<(u64, u64)>,
    next_id: u64,
    /// The sampling period of the profiler in nanoseconds; 0 when it is off.
    sample_period_ns: u64,
    /// The time of the next profiler sample, when the profiler is on.
    next_sample_ns: u64,
}

impl Timer {
    /// Returns the time of the next event: the earliest of the next tick, the
    /// earliest deadline and the next profiler sample.
    fn next_event(&self) -> u64 {
        let mut next = self.next_tick_ns;
        if let Some(&(deadline, _)) = self.deadlines.first() {
            next = next.min(deadline);
        }
        if self.sample_period_ns != 0 {
            next = next.min(self.next_sample_ns);
        }
        next
    }

    /// Sets the hardware timer for the next event.
    fn program(&self) {
        set_oneshot_timer(self.next_event());
    }
}

/// Advances `next` by `period` on a fixed grid, or to one period after `now`
/// when interrupts were missed.
fn advance(next: &mut u64, period: u64, now: u64) {
    *next += period;
    if *next <= now {
        *next = now + period;
    }
}

static TIMER: SpinNoIrq<Timer> = SpinNoIrq::new(Timer {
    tick_period_ns: 0,
    next_tick_ns: 0,
    deadlines: BTreeSet::new(),
    next_id: 0,
    sample_period_ns: 0,
    next_sample_ns: 0,
});

/// The events that one timer interrupt handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupt {
    /// The periodic tick came: the running task's time slice ended.
    pub tick: bool,
    /// At least one registered deadline passed, so a task that waits for a
    /// timeout is woken.
    pub deadline_passed: bool,
    /// A profiler sample is due.
    pub sample: bool,
}

/// Sets the tick period. The kernel calls it once, before it enables
/// interrupts.
pub fn init(tick_period: Duration) {
    TIMER.lock().tick_period_ns = tick_period.as_nanos() as u64;
}

/// Starts timer interrupts every `period` for the sampling profiler.
pub fn set_sample_period(period: Duration) {
    let mut timer = TIMER.lock();
    timer.sample_period_ns = period.as_nanos() as u64;
    timer.next_sample_ns = monotonic_time_nanos() + timer.sample_period_ns;
    timer.program();
}

/// Returns the period of the scheduler tick, the time slice of a task in
/// user mode.
pub fn tick_period() -> Duration {
    Duration::from_nanos(TIMER.lock().tick_period_ns)
}

/// Handles a timer interrupt: advances the tick, drops the deadlines that
/// passed and sets the timer for the next event. The kernel's interrupt
/// handler calls it first and then lets axtask wake the sleepers.
pub fn on_interrupt() -> Interrupt {
    let now = monotonic_time_nanos();
    let mut timer = TIMER.lock();
    let timer = &mut *timer;
    let tick = now >= timer.next_tick_ns;
    if tick {
        advance(&mut timer.next_tick_ns, timer.tick_period_ns, now);
    }
    let sample = timer.sample_period_ns != 0 && now >= timer.next_sample_ns;
    if sample {
        advance(&mut timer.next_sample_ns, timer.sample_period_ns, now);
    }
    let mut deadline_passed = false;
    while let Some(&first) = timer.deadlines.first() {
        if first.0 > now {
            break;
        }
        timer.deadlines.remove(&first);
        deadline_passed = true;
    }
    timer.program();
    Interrupt { tick, deadline_passed, sample }
}

/// A registered deadline; dropping it unregisters it.
struct Registration(u64, u64);

impl Registration {
    fn new(timeout: Duration) -> Self {
        let deadline = monotonic_time_nanos()
            .saturating_add(timeout.as_nanos() as u64)
            .saturating_add(SLACK_NS);
        let mut timer = TIMER.lock();
        let id = timer.next_id;
        timer.next_id += 1;
        timer.deadlines.insert((deadline, id));
        if timer.next_event() == deadline {
            set_oneshot_timer(deadline);
        }
        Registration(deadline, id)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // The interrupt handler removed it already when its deadline passed.
        // An earlier deadline left set in the hardware only costs one
        // interrupt that finds nothing to do.
        TIMER.lock().deadlines.remove(&(self.0, self.1));
    }
}

/// Sleeps on `queue` until it is notified, for at most `interval`, or less
/// when `remaining`, the time left of a syscall's timeout, ends sooner.
/// Returns whether the sleep ended by time.
///
/// Only the end of `remaining` gets its own interrupt. A sleep of
/// `interval` is a periodic check for signals and ends at the first tick
/// after it.
pub fn wait_step(queue: &WaitQueue, remaining: Option<Duration>, interval: Duration) -> bool {
    match remaining {
        Some(remaining) if remaining <= interval => {
            let _registration = Registration::new(remaining);
            queue.wait_timeout(remaining)
        }
        _ => queue.wait_timeout(interval),
    }
}

/// Sleeps for `remaining` or `interval`, whichever is shorter; the end of
/// `remaining` gets its own interrupt, as in [`wait_step`].
pub fn sleep_step(remaining: Duration, interval: Duration) {
    if remaining <= interval {
        let _registration = Registration::new(remaining);
        axtask::sleep(remaining);
    } else {
        axtask::sleep(interval);
    }
}

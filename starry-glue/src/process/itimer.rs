//! Interval timers (getitimer, setitimer). ITIMER_REAL sends SIGALRM when it
//! expires, ITIMER_VIRTUAL SIGVTALRM and ITIMER_PROF SIGPROF.
//!
//! The timer interrupt only notes that the earliest deadline passed
//! ([`on_timer_tick`]). The signal is sent by [`raise_expired`], which runs
//! on every return to user mode and in every signal check of a waiting
//! thread, so it comes at most one timer tick (10 ms) late.
//!
//! ITIMER_REAL counts monotonic time, ITIMER_VIRTUAL the process's user
//! time and ITIMER_PROF its user and system time (`cputime`). While a
//! CPU-time timer is armed, every timer tick requests a scan, because the
//! interrupt cannot read the processes' clocks.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axerrno::LinuxError;
use syscall_abi::{Itimerval, Timeval};

use super::{Process, all_processes, cputime::process_times, fork::kill_process, signal};

/// The `which` values.
pub const ITIMER_REAL: i32 = 0;
pub const ITIMER_VIRTUAL: i32 = 1;
pub const ITIMER_PROF: i32 = 2;
/// The number of timers per process.
pub const ITIMER_COUNT: usize = 3;

/// The signal of each timer: SIGALRM, SIGVTALRM, SIGPROF.
const TIMER_SIGNALS: [u32; ITIMER_COUNT] = [14, 26, 27];

const NANOS_PER_MICRO: u64 = 1_000;
const MICROS_PER_SEC: u64 = 1_000_000;

/// One interval timer of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntervalTimer {
    /// The next expiry in nanoseconds of the timer's clock (`clock_now`);
    /// 0 when off.
    deadline_ns: u64,
    /// The period after an expiry; 0 for a one-shot timer.
    interval_ns: u64,
}

/// The earliest deadline of any armed timer; `u64::MAX` when none is armed
/// or after a scan found none.
static NEXT_DEADLINE: AtomicU64 = AtomicU64::new(u64::MAX);
/// Set by the timer interrupt once [`NEXT_DEADLINE`] has passed.
static EXPIRED: AtomicBool = AtomicBool::new(false);
/// Set while some process may have an armed ITIMER_VIRTUAL or ITIMER_PROF.
static CPU_TIMERS_ARMED: AtomicBool = AtomicBool::new(false);

/// Notes whether a timer expired by `now_ns`. Runs in the timer interrupt,
/// so it only touches atomics.
pub fn on_timer_tick(now_ns: u64) {
    if now_ns >= NEXT_DEADLINE.load(Ordering::Relaxed) || CPU_TIMERS_ARMED.load(Ordering::Relaxed) {
        EXPIRED.store(true, Ordering::Release);
    }
}

/// Returns the current value of the clock that timer `index` of `process`
/// counts, in nanoseconds.
fn clock_now(process: &Process, index: usize) -> u64 {
    let nanos = |time: core::time::Duration| time.as_nanos() as u64;
    match index as i32 {
        ITIMER_VIRTUAL => nanos(process_times(process).user_time()),
        ITIMER_PROF => nanos(process_times(process).total()),
        _ => axhal::time::monotonic_time_nanos(),
    }
}

/// Sends the signals of the timers that expired and rearms the periodic
/// ones. Cheap when no timer expired.
pub fn raise_expired() {
    if !EXPIRED.swap(false, Ordering::AcqRel) {
        return;
    }
    let mut next = u64::MAX;
    let mut cpu_timers_armed = false;
    for process in all_processes() {
        let mut due = [false; ITIMER_COUNT];
        {
            let mut timers = process.itimers.lock();
            for (index, (timer, due)) in timers.iter_mut().zip(&mut due).enumerate() {
                if timer.deadline_ns == 0 {
                    continue;
                }
                let now = clock_now(&process, index);
                if now >= timer.deadline_ns {
                    *due = true;
                    timer.deadline_ns = next_expiry(timer, now);
                }
                if timer.deadline_ns == 0 {
                    continue;
                }
                if index == ITIMER_REAL as usize {
                    next = next.min(timer.deadline_ns);
                } else {
                    cpu_timers_armed = true;
                }
            }
        }
        for (&sig, _) in TIMER_SIGNALS.iter().zip(due).filter(|(_, due)| *due) {
            let info = signal::SigInfo {
                code: signal::SI_KERNEL,
                value: 0,
            };
            // A process that exits meanwhile takes no signal; that is no error.
            let _ = kill_process(process.pid, sig, info);
        }
    }
    NEXT_DEADLINE.store(next, Ordering::Relaxed);
    CPU_TIMERS_ARMED.store(cpu_timers_armed, Ordering::Relaxed);
}

/// Returns the deadline after `timer` expired at `now`: 0 for a one-shot
/// timer, else the first multiple of the period after `now`. Expiries
/// missed meanwhile are dropped, as Linux counts them as one signal.
fn next_expiry(timer: &IntervalTimer, now: u64) -> u64 {
    if timer.interval_ns == 0 {
        return 0;
    }
    let missed = (now - timer.deadline_ns) / timer.interval_ns + 1;
    timer.deadline_ns + missed * timer.interval_ns
}

fn timer_index(which: i32) -> Result<usize, LinuxError> {
    match which {
        ITIMER_REAL | ITIMER_VIRTUAL | ITIMER_PROF => Ok(which as usize),
        _ => Err(LinuxError::EINVAL),
    }
}

fn timeval_to_nanos(value: &Timeval) -> Result<u64, LinuxError> {
    if value.tv_sec < 0 || !(0..MICROS_PER_SEC as i64).contains(&value.tv_usec) {
        return Err(LinuxError::EINVAL);
    }
    let micros = (value.tv_sec as u64)
        .saturating_mul(MICROS_PER_SEC)
        .saturating_add(value.tv_usec as u64);
    Ok(micros.saturating_mul(NANOS_PER_MICRO))
}

fn nanos_to_timeval(nanos: u64) -> Timeval {
    // Round up to a whole microsecond, as Linux does, so a timer that is
    // about to expire never reads as off.
    let micros = nanos.div_ceil(NANOS_PER_MICRO);
    Timeval {
        tv_sec: (micros / MICROS_PER_SEC) as i64,
        tv_usec: (micros % MICROS_PER_SEC) as i64,
    }
}

fn current_value(timer: &IntervalTimer, now: u64) -> Itimerval {
    let left = match timer.deadline_ns {
        0 => 0,
        deadline => deadline.saturating_sub(now).max(1),
    };
    Itimerval {
        it_interval: nanos_to_timeval(timer.interval_ns),
        it_value: nanos_to_timeval(left),
    }
}

/// getitimer: the time left on timer `which` of `process` and its period.
pub fn get(process: &Process, which: i32) -> Result<Itimerval, LinuxError> {
    let index = timer_index(which)?;
    let now = clock_now(process, index);
    Ok(current_value(&process.itimers.lock()[index], now))
}

/// setitimer: arms timer `which` of `process` with `new` (a zero
/// `it_value` disarms it) and returns the old setting. `EINVAL` for an
/// unknown timer or a negative or denormal time.
pub fn set(process: &Process, which: i32, new: &Itimerval) -> Result<Itimerval, LinuxError> {
    let index = timer_index(which)?;
    let value = timeval_to_nanos(&new.it_value)?;
    let interval = timeval_to_nanos(&new.it_interval)?;
    let now = clock_now(process, index);
    let mut timers = process.itimers.lock();
    let old = current_value(&timers[index], now);
    timers[index] = if value == 0 {
        IntervalTimer::default()
    } else {
        IntervalTimer {
            deadline_ns: now.saturating_add(value),
            interval_ns: interval,
        }
    };
    if value != 0 && index == ITIMER_REAL as usize {
        NEXT_DEADLINE.fetch_min(timers[index].deadline_ns, Ordering::Relaxed);
    } else if value != 0 {
        CPU_TIMERS_ARMED.store(true, Ordering::Relaxed);
    }
    Ok(old)
}

//! Sleeping while a file is not ready.
//!
//! Pipes, the console, sockets, eventfds and epoll instances have no wait
//! queues of their own. A thread that waits for one of them sleeps on
//! [`FILE_EVENT`] and polls the file again when it wakes. Another task can
//! only change what a file reports through a syscall or its exit, so the
//! kernel wakes the sleepers after every syscall and when a process closes
//! its files on exit ([`wake_file_waiters`]). Console input arrives by
//! interrupt, which does not wake them, so a sleep lasts at most
//! [`MAX_SLEEP`].

use core::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use axtask::WaitQueue;

/// The queue that threads waiting for a file sleep on.
static FILE_EVENT: WaitQueue = WaitQueue::new();
/// The number of threads sleeping on [`FILE_EVENT`]. When it is 0, a
/// syscall return skips the queue's lock.
static SLEEPERS: AtomicUsize = AtomicUsize::new(0);

/// The maximum sleep before a waiter polls again, and so the latency of
/// console input (plus up to one timer tick, 10 ms, until the timer fires).
const MAX_SLEEP: Duration = Duration::from_millis(10);

/// Sleeps until another task made a syscall, `MAX_SLEEP` passed or `limit`
/// passed, whichever comes first. The caller then polls its file again and
/// checks for signals.
pub fn sleep_until_file_event(limit: Option<Duration>) {
    SLEEPERS.fetch_add(1, Ordering::AcqRel);
    crate::timer::wait_step(&FILE_EVENT, limit, MAX_SLEEP);
    SLEEPERS.fetch_sub(1, Ordering::AcqRel);
}

/// Wakes every thread in [`sleep_until_file_event`]. Not for interrupt
/// handlers.
pub fn wake_file_waiters() {
    if SLEEPERS.load(Ordering::Acquire) != 0 {
        FILE_EVENT.notify_all(false);
    }
}

//! Futexes: wait queues keyed by the physical address of the futex word, so
//! that a futex in memory shared between processes (MAP_SHARED, kept across
//! fork) is one futex, and private futexes of different processes are not.
//!
//! Tasks are switched only when they block or yield (axtask without
//! preemption), so no wake-up can come between reading the futex word and
//! sleeping.

use alloc::{collections::BTreeMap, sync::Arc};
use core::time::Duration;

use axerrno::LinuxError;
use axhal::paging::MappingFlags;
use axtask::WaitQueue;
use memory_addr::VirtAddr;
use spin::Mutex;

use super::{Process, signal::Restart};

type SysResult<T = ()> = Result<T, LinuxError>;

/// How often a waiting task checks for signals.
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(10);

static QUEUES: Mutex<BTreeMap<usize, Arc<WaitQueue>>> = Mutex::new(BTreeMap::new());

/// Returns the key of the futex word at `uaddr` of `process`: its physical
/// address. `EFAULT` when the word is not mapped readable.
pub fn key(process: &Process, uaddr: usize) -> SysResult<usize> {
    let frame = process
        .aspace
        .lock()
        .populate_page(VirtAddr::from(uaddr), MappingFlags::READ)?;
    Ok(frame.as_usize() + uaddr % memory_addr::PAGE_SIZE_4K)
}

fn queue(key: usize) -> Arc<WaitQueue> {
    QUEUES
        .lock()
        .entry(key)
        .or_insert_with(|| Arc::new(WaitQueue::new()))
        .clone()
}

/// Sleeps on futex `key` after the caller checked its value: until a wake,
/// a signal (`EINTR`) or the end of `timeout` (`ETIMEDOUT`).
pub fn wait(key: usize, timeout: Option<Duration>) -> SysResult {
    let queue = queue(key);
    let deadline = timeout.map(|timeout| crate::time::monotonic() + timeout);
    loop {
        let remaining = match deadline {
            Some(deadline) => {
                let now = crate::time::monotonic();
                if now >= deadline {
                    return Err(LinuxError::ETIMEDOUT);
                }
                Some(deadline - now)
            }
            None => None,
        };
        if !crate::timer::wait_step(&queue, remaining, SIGNAL_CHECK_INTERVAL) {
            return Ok(());
        }
        if super::signal::has_pending_signal() {
            // Linux restarts an untimed wait after a handler with
            // SA_RESTART; a timed one ends with EINTR.
            let restart = match timeout {
                None => Restart::UnlessHandlerWithoutSaRestart,
                Some(_) => Restart::Never,
            };
            return Err(super::signal::interrupted(restart));
        }
    }
}

/// Wakes up to `count` waiters on futex `key`; returns how many woke.
pub fn wake(key: usize, count: usize) -> usize {
    let queue = QUEUES.lock().get(&key).cloned();
    match queue {
        Some(queue) => queue.notify_many(count, false),
        None => 0,
    }
}

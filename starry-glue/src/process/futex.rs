//! Futexes: wait queues keyed by user address.
//!
//! There is one address space, so the user address alone is the key. Tasks
//! are switched only when they block or yield (axtask without preemption),
//! so no wake-up can come between reading the futex word and sleeping.

use alloc::{collections::BTreeMap, sync::Arc};
use core::time::Duration;

use axerrno::LinuxError;
use axtask::WaitQueue;
use spin::Mutex;

type SysResult<T = ()> = Result<T, LinuxError>;

static QUEUES: Mutex<BTreeMap<usize, Arc<WaitQueue>>> = Mutex::new(BTreeMap::new());

fn queue(uaddr: usize) -> Arc<WaitQueue> {
    QUEUES
        .lock()
        .entry(uaddr)
        .or_insert_with(|| Arc::new(WaitQueue::new()))
        .clone()
}

/// Sleeps on `uaddr` after the caller checked its value: until a wake, or
/// for `timeout`. Fails with `ETIMEDOUT` when the time ran out.
pub fn wait(uaddr: usize, timeout: Option<Duration>) -> SysResult {
    let queue = queue(uaddr);
    match timeout {
        Some(timeout) => {
            if queue.wait_timeout(timeout) {
                Err(LinuxError::ETIMEDOUT)
            } else {
                Ok(())
            }
        }
        None => {
            queue.wait();
            Ok(())
        }
    }
}

/// Wakes up to `count` waiters on `uaddr`; returns how many woke.
pub fn wake(uaddr: usize, count: usize) -> usize {
    let queue = QUEUES.lock().get(&uaddr).cloned();
    match queue {
        Some(queue) => queue.notify_many(count, false),
        None => 0,
    }
}

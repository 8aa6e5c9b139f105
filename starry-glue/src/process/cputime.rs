//! CPU time of threads and processes: user time and system time, as
//! `times`, `getrusage`, `CLOCK_PROCESS_CPUTIME_ID` and
//! `CLOCK_THREAD_CPUTIME_ID` report them.
//!
//! Each user thread's task carries its [`CpuClock`] as axtask's task
//! extension, so the scheduler's switch hooks (`TaskExt::on_enter` and
//! `on_leave`) start and stop the clock, and time spent waiting is nobody's.
//! The exception entry from user mode (`enter_kernel`) and the return to it
//! (`leave_kernel`) move the running clock between user and system time.
//! An interrupt from user mode does not stop user time: its handler's few
//! microseconds count as user time, and the task switch of a preemption
//! ends the stretch.
//!
//! A process's time is the sum of its live threads' clocks and the totals
//! of its ended threads. The times of children add to their parent's
//! children totals when wait4 reaps them, as on Linux.

use alloc::sync::Arc;
use core::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::Duration,
};

use axtask::{AxTaskExt, TaskExt, TaskInner};
use spin::Mutex;

use super::{Process, Thread, process_threads};

fn now_nanos() -> u64 {
    axhal::time::monotonic_time_nanos()
}

/// User and system time, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub system: u64,
}

impl CpuTimes {
    pub fn user_time(&self) -> Duration {
        Duration::from_nanos(self.user)
    }

    pub fn system_time(&self) -> Duration {
        Duration::from_nanos(self.system)
    }

    /// Returns user plus system time.
    pub fn total(&self) -> Duration {
        Duration::from_nanos(self.user + self.system)
    }

    fn add(&mut self, other: CpuTimes) {
        self.user += other.user;
        self.system += other.system;
    }
}

/// The running clock of one thread.
#[derive(Default)]
pub struct CpuClock {
    user: AtomicU64,
    system: AtomicU64,
    /// When the current stretch began: the switch-in, the exception entry
    /// or the return to user mode. 0 while the task is switched out.
    since: AtomicU64,
    /// The current stretch is user time.
    in_user: AtomicBool,
}

impl CpuClock {
    /// Ends the current stretch at `now` and starts the next one.
    fn charge(&self, now: u64) {
        let since = self.since.swap(now, Ordering::Relaxed);
        if since == 0 {
            return;
        }
        let spent = now.saturating_sub(since);
        if self.in_user.load(Ordering::Relaxed) {
            self.user.fetch_add(spent, Ordering::Relaxed);
        } else {
            self.system.fetch_add(spent, Ordering::Relaxed);
        }
    }

    /// Returns the times so far. For the thread that calls it, this counts
    /// the current stretch up to now.
    pub fn times(&self) -> CpuTimes {
        let mut times = CpuTimes {
            user: self.user.load(Ordering::Relaxed),
            system: self.system.load(Ordering::Relaxed),
        };
        let since = self.since.load(Ordering::Relaxed);
        if since != 0 {
            let running = now_nanos().saturating_sub(since);
            if self.in_user.load(Ordering::Relaxed) {
                times.user += running;
            } else {
                times.system += running;
            }
        }
        times
    }
}

/// The task extension of a user thread's task: its clock.
struct TaskClock(Arc<CpuClock>);

#[extern_trait::extern_trait]
impl TaskExt for TaskClock {
    fn on_enter(&self) {
        self.0.since.store(now_nanos(), Ordering::Relaxed);
    }

    fn on_leave(&self) {
        self.0.charge(now_nanos());
        self.0.since.store(0, Ordering::Relaxed);
    }
}

/// Gives `task`, which will run `thread`, the thread's clock, so that the
/// scheduler starts and stops it.
pub fn attach_clock(task: &mut TaskInner, thread: &Thread) {
    *task.task_ext_mut() = Some(AxTaskExt::from_impl(TaskClock(thread.cpu.clone())));
}

/// Runs `f` with the clock of the current task. A kernel task has none.
fn with_current_clock(f: impl FnOnce(&CpuClock)) {
    let task = axtask::current();
    if let Some(ext) = task.task_ext() {
        f(&ext.downcast_ref::<TaskClock>().0);
    }
}

/// Moves the current thread's clock to system time; called on every
/// exception entry from user mode.
pub fn enter_kernel() {
    with_current_clock(|clock| {
        clock.charge(now_nanos());
        clock.in_user.store(false, Ordering::Relaxed);
    });
}

/// Moves the current thread's clock to user time; called right before
/// every return to user mode, and before a new thread's first entry.
pub fn leave_kernel() {
    with_current_clock(|clock| {
        clock.charge(now_nanos());
        clock.in_user.store(true, Ordering::Relaxed);
    });
}

/// The times of a process's ended threads and of its reaped children.
#[derive(Default)]
pub struct ProcessCpu {
    ended_threads: Mutex<CpuTimes>,
    children: Mutex<CpuTimes>,
}

impl ProcessCpu {
    /// Adds the time of a thread that ended.
    pub fn add_ended_thread(&self, thread: &Thread) {
        self.ended_threads.lock().add(thread.cpu.times());
    }

    /// Adds the time of a child that wait4 reaped (`reaped_times`).
    pub fn add_reaped_child(&self, child: &Process) {
        self.children.lock().add(reaped_times(child));
    }

    /// Returns the time of the reaped children.
    pub fn children(&self) -> CpuTimes {
        *self.children.lock()
    }
}

/// Returns the time that reaping `child` adds to its parent's children
/// totals: its own and that of the children it reaped.
pub fn reaped_times(child: &Process) -> CpuTimes {
    let mut times = process_times(child);
    times.add(child.cpu.children());
    times
}

/// Returns the time of `process`'s live and ended threads.
pub fn process_times(process: &Process) -> CpuTimes {
    let mut times = *process.cpu.ended_threads.lock();
    for thread in process_threads(process.pid) {
        times.add(thread.cpu.times());
    }
    times
}

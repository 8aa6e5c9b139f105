//! The process and thread types and the table that maps the running axtask
//! task to its thread.

use alloc::{collections::BTreeMap, string::String, sync::Arc, vec::Vec};

use axtask::WaitQueue;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use spin::{Mutex, Once};

use crate::mm::aspace::AddrSpace;

pub type Pid = u32;

/// The number of signals (1..=64), as Linux's `_NSIG`.
pub const NSIG: usize = 64;
/// The number of resource limits (`RLIMIT_*` 0..=15).
pub const RLIM_NLIMITS: usize = 16;
/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// The end of a process: its exit status or the signal that killed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// exit or exit_group with this status (the low 8 bits count).
    Code(i32),
    /// Killed by this signal.
    Signal(u32),
}

impl ExitStatus {
    /// Returns the status a shell shows: the low 8 bits of the code, or
    /// 128 + the signal number.
    pub fn shell_status(self) -> u8 {
        match self {
            ExitStatus::Code(code) => code as u8,
            ExitStatus::Signal(sig) => (128 + sig) as u8,
        }
    }
}

/// One entry of the signal-action table, in the layout of the kernel's
/// `struct sigaction` on aarch64 (handler, flags, restorer, mask).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: usize,
    pub flags: u64,
    pub restorer: usize,
    pub mask: u64,
}

/// A resource limit: soft and hard value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RLimit {
    pub cur: u64,
    pub max: u64,
}

/// Returns the limits a new process starts with, as Linux 6.1 gives init
/// (RLIMIT_STACK 8 MiB, RLIMIT_NOFILE 1024/4096, RLIMIT_CORE 0, MEMLOCK 8 MiB,
/// the rest unlimited).
fn default_rlimits() -> [RLimit; RLIM_NLIMITS] {
    let unlimited = RLimit {
        cur: RLIM_INFINITY,
        max: RLIM_INFINITY,
    };
    let mut limits = [unlimited; RLIM_NLIMITS];
    limits[3] = RLimit {
        cur: 8 << 20,
        max: RLIM_INFINITY,
    }; // RLIMIT_STACK
    limits[4] = RLimit {
        cur: 0,
        max: RLIM_INFINITY,
    }; // RLIMIT_CORE
    limits[7] = RLimit {
        cur: 1024,
        max: 4096,
    }; // RLIMIT_NOFILE
    limits[8] = RLimit {
        cur: 8 << 20,
        max: 8 << 20,
    }; // RLIMIT_MEMLOCK
    limits
}

/// User and group ids. Everything runs as root (0) unless the process
/// changes them; file permission checks ignore them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
}

/// The alternate signal stack set by sigaltstack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AltStack {
    pub sp: usize,
    pub flags: i32,
    pub size: usize,
}

/// `SS_DISABLE`: no alternate signal stack.
pub const SS_DISABLE: i32 = 2;

/// The program break: the heap that brk grows and shrinks.
#[derive(Debug, Clone, Copy)]
pub struct Brk {
    /// The lowest break (the page after the program's segments).
    pub start: usize,
    /// The current break as the process set it (not page-aligned).
    pub end: usize,
}

/// A process: an address space, file state, signal actions, limits and an
/// exit status, shared by its threads.
pub struct Process {
    pub pid: Pid,
    /// The parent's pid. init (pid 1) adopts the children of a process
    /// that exits.
    pub ppid: AtomicU32,
    /// The process group id: the pid of the group's leader.
    pub pgid: AtomicU32,
    /// The session id: the pid of the session's leader.
    pub sid: AtomicU32,
    /// Set by the first successful execve; setpgid by the parent then fails.
    pub did_exec: AtomicBool,
    /// The path of the running program (for AT_EXECFN and /proc/self/exe).
    pub exe_path: Mutex<String>,
    pub aspace: Mutex<AddrSpace>,
    pub brk: Mutex<Brk>,
    /// The file-system state: fd table, working directory, umask.
    pub fs: Mutex<starry_vfs::FsContext>,
    pub sigactions: Mutex<[SigAction; NSIG]>,
    pub rlimits: Mutex<[RLimit; RLIM_NLIMITS]>,
    pub exit_status: Mutex<Option<ExitStatus>>,
    pub creds: Mutex<Credentials>,
    /// The supplementary group ids, sorted (setgroups).
    pub groups: Mutex<Vec<u32>>,
    /// The nice value, -20 to 19 (setpriority). The scheduler ignores it.
    pub nice: AtomicI32,
    /// Monotonic time of the process's start, in nanoseconds since boot.
    pub start_nanos: u64,
    /// Whether membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ran.
    pub membarrier_registered: AtomicBool,
    /// Children that have not been reaped by wait4 yet.
    pub children: Mutex<Vec<Arc<Process>>>,
    /// Woken when a child exits.
    pub child_exit: WaitQueue,
    /// Set when a child created with CLONE_VFORK has called execve or
    /// exited, which lets its parent continue.
    pub vfork_done: AtomicBool,
    pub vfork_wait: WaitQueue,
    /// Signals sent to the process while every thread blocked them (index
    /// `n - 1` for signal `n`): the first thread that unblocks or waits for
    /// one takes it.
    pub shared_pending: super::signal::PendingSignals,
    /// ITIMER_REAL, ITIMER_VIRTUAL and ITIMER_PROF; a fork starts without.
    pub itimers: Mutex<[super::itimer::IntervalTimer; super::itimer::ITIMER_COUNT]>,
    /// The user and system time of ended threads and reaped children.
    pub cpu: super::cputime::ProcessCpu,
}

impl Process {
    /// Creates a process that leads its own group and session; fork
    /// overwrites both ids with the parent's.
    pub fn new(pid: Pid, ppid: Pid, exe_path: String, aspace: AddrSpace, brk_start: usize, fs: starry_vfs::FsContext) -> Arc<Self> {
        Arc::new(Self {
            pid,
            ppid: AtomicU32::new(ppid),
            pgid: AtomicU32::new(pid),
            sid: AtomicU32::new(pid),
            did_exec: AtomicBool::new(false),
            exe_path: Mutex::new(exe_path),
            aspace: Mutex::new(aspace),
            brk: Mutex::new(Brk {
                start: brk_start,
                end: brk_start,
            }),
            fs: Mutex::new(fs),
            sigactions: Mutex::new([SigAction::default(); NSIG]),
            rlimits: Mutex::new(default_rlimits()),
            exit_status: Mutex::new(None),
            creds: Mutex::new(Credentials::default()),
            groups: Mutex::new(Vec::new()),
            nice: AtomicI32::new(0),
            start_nanos: axhal::time::monotonic_time_nanos(),
            membarrier_registered: AtomicBool::new(false),
            children: Mutex::new(Vec::new()),
            child_exit: WaitQueue::new(),
            vfork_done: AtomicBool::new(false),
            vfork_wait: WaitQueue::new(),
            shared_pending: super::signal::PendingSignals::new(),
            itimers: Mutex::new([super::itimer::IntervalTimer::default(); super::itimer::ITIMER_COUNT]),
            cpu: super::cputime::ProcessCpu::default(),
        })
    }

    pub fn ppid(&self) -> Pid {
        self.ppid.load(Ordering::Relaxed)
    }

    pub fn pgid(&self) -> Pid {
        self.pgid.load(Ordering::Relaxed)
    }

    pub fn sid(&self) -> Pid {
        self.sid.load(Ordering::Relaxed)
    }
}

/// A thread of a process. Its registers, FP/SIMD state and TPIDR_EL0 (musl's
/// thread pointer) live in the axtask task that runs it: axcpu saves them on
/// every task switch.
pub struct Thread {
    pub tid: Pid,
    pub process: Arc<Process>,
    /// The address set by set_tid_address (cleared on exit for futex waiters).
    pub clear_child_tid: AtomicUsize,
    /// The blocked-signal mask (bit `n - 1` for signal `n`).
    pub sigmask: AtomicU64,
    pub altstack: Mutex<AltStack>,
    /// Pending signals with their siginfo.
    pub pending: super::signal::PendingSignals,
    /// The mask to restore after a wait that installed a temporary mask
    /// (rt_sigsuspend, ppoll, pselect6, epoll_pwait). A signal frame saves it
    /// in place of the temporary one.
    pub saved_sigmask: Mutex<Option<u64>>,
    /// The restart rule of the current syscall, set when it ends with
    /// `EINTR` because of a signal (see [`super::signal::Restart`]).
    pub restart: Mutex<Option<super::signal::Restart>>,
    /// The signals that the thread waits for in rt_sigtimedwait; 0 when it
    /// does not wait. A signal sent to the process goes to such a thread.
    pub sigwait_set: AtomicU64,
    /// Set when another thread ended the process or ran execve: the thread
    /// leaves on its next return to user mode, and its waits end at once.
    pub exit_requested: AtomicBool,
    /// The thread's user and system time.
    pub cpu: Arc<super::cputime::CpuClock>,
}

impl Thread {
    pub fn new(tid: Pid, process: Arc<Process>) -> Arc<Self> {
        Arc::new(Self {
            tid,
            process,
            clear_child_tid: AtomicUsize::new(0),
            sigmask: AtomicU64::new(0),
            altstack: Mutex::new(AltStack {
                sp: 0,
                flags: SS_DISABLE,
                size: 0,
            }),
            pending: super::signal::PendingSignals::new(),
            saved_sigmask: Mutex::new(None),
            restart: Mutex::new(None),
            sigwait_set: AtomicU64::new(0),
            exit_requested: AtomicBool::new(false),
            cpu: Arc::default(),
        })
    }

    pub fn sigmask(&self) -> u64 {
        self.sigmask.load(Ordering::Relaxed)
    }
}

/// Threads by the id of the axtask task that runs them.
static THREADS: Mutex<BTreeMap<u64, Arc<Thread>>> = Mutex::new(BTreeMap::new());

/// Records that the axtask task `task_id` runs `thread`.
pub fn register_thread(task_id: u64, thread: Arc<Thread>) {
    THREADS.lock().insert(task_id, thread);
}

/// Forgets the thread of task `task_id`.
pub fn unregister_thread(task_id: u64) -> Option<Arc<Thread>> {
    let thread = THREADS.lock().remove(&task_id)?;
    thread.process.cpu.add_ended_thread(&thread);
    Some(thread)
}

/// Makes every thread of `thread`'s process but `thread` itself leave, as
/// exit_group and execve do on Linux: each leaves on its next return to
/// user mode (`signal::deliver_pending`), and a wait it is in ends at once.
pub fn end_other_threads(thread: &Thread) {
    for other in process_threads(thread.process.pid) {
        if other.tid != thread.tid {
            other.exit_requested.store(true, Ordering::Release);
        }
    }
}

/// Ends the current thread without touching its process: for a thread
/// whose process ended or ran execve in another thread.
pub fn leave_current_thread() -> ! {
    unregister_thread(axtask::current().id().as_u64());
    axtask::exit(0)
}

/// Returns the number of threads of process `pid`.
pub fn threads_of(pid: Pid) -> usize {
    THREADS
        .lock()
        .values()
        .filter(|thread| thread.process.pid == pid)
        .count()
}

/// Returns the threads of process `pid`, its main thread first.
pub fn process_threads(pid: Pid) -> Vec<Arc<Thread>> {
    let mut threads: Vec<Arc<Thread>> = THREADS
        .lock()
        .values()
        .filter(|thread| thread.process.pid == pid)
        .cloned()
        .collect();
    threads.sort_by_key(|thread| thread.tid != pid);
    threads
}

/// Returns the thread `tid` of process `pid`.
pub fn find_thread(pid: Pid, tid: Pid) -> Option<Arc<Thread>> {
    THREADS
        .lock()
        .values()
        .find(|thread| thread.process.pid == pid && thread.tid == tid)
        .cloned()
}

/// Returns the thread that the current task runs, if it runs one.
pub fn try_current_thread() -> Option<Arc<Thread>> {
    let id = axtask::current().id().as_u64();
    THREADS.lock().get(&id).cloned()
}

/// Returns the thread that the current task runs. Panics when called from a
/// kernel task that runs no user thread, which is a kernel bug.
pub fn current_thread() -> Arc<Thread> {
    try_current_thread().expect("no user thread on the current task")
}

/// The function that runs when init ends (it syncs the disks and powers
/// off). The kernel registers it at boot.
static INIT_EXIT_HOOK: Once<fn(ExitStatus) -> !> = Once::new();

/// Registers the function that runs when init ends.
pub fn set_init_exit_hook(hook: fn(ExitStatus) -> !) {
    INIT_EXIT_HOOK.call_once(|| hook);
}

/// The next pid or tid; init is 1. Pids and tids share one number space,
/// as on Linux.
static NEXT_ID: AtomicU32 = AtomicU32::new(2);

/// Allocates a pid or tid.
pub fn alloc_id() -> Pid {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Processes by pid, until their parent reaps them.
static PROCESSES: Mutex<BTreeMap<Pid, Arc<Process>>> = Mutex::new(BTreeMap::new());

/// Records a new process.
pub fn register_process(process: Arc<Process>) {
    PROCESSES.lock().insert(process.pid, process);
}

/// Returns process `pid`, while it runs or waits to be reaped.
pub fn find_process(pid: Pid) -> Option<Arc<Process>> {
    PROCESSES.lock().get(&pid).cloned()
}

/// Returns the processes (zombies included) whose process group is `pgid`.
pub fn group_members(pgid: Pid) -> Vec<Arc<Process>> {
    PROCESSES
        .lock()
        .values()
        .filter(|process| process.pgid() == pgid)
        .cloned()
        .collect()
}

/// Returns every process, zombies included.
pub fn all_processes() -> Vec<Arc<Process>> {
    PROCESSES.lock().values().cloned().collect()
}

/// Forgets a reaped process.
pub fn remove_process(pid: Pid) {
    PROCESSES.lock().remove(&pid);
}

/// The pid of init, which adopts orphans.
const INIT_PID: Pid = 1;

/// Ends the current process with `status`. init's end runs the init-exit
/// hook (sync the disks, end QEMU). Any other process closes its files,
/// frees its memory, hands its children to init and stays a zombie until
/// its parent reaps it, unless the parent ignores SIGCHLD or set
/// SA_NOCLDWAIT: then the process is reaped at once, as on Linux. The
/// other threads leave on their next return to user mode
/// ([`end_other_threads`]).
pub fn exit_current_process(status: ExitStatus) -> ! {
    let Some(thread) = try_current_thread() else {
        panic!("exit_current_process called from a kernel task");
    };
    let process = thread.process.clone();
    let record = record_exit(&process, status);
    if record == ExitRecord::AlreadyExiting {
        // Another thread ended the process and keeps its status; this one
        // only leaves.
        unregister_thread(axtask::current().id().as_u64());
        drop(thread);
        drop(process);
        axtask::exit(0)
    }
    end_other_threads(&thread);
    *process.itimers.lock() = Default::default();
    if process.pid == INIT_PID {
        drop(thread);
        drop(process);
        match INIT_EXIT_HOOK.get() {
            Some(hook) => hook(status),
            None => panic!("init exited ({status:?}) before the kernel registered its exit hook"),
        }
    }
    process.fs.lock().fd_table.clear();
    // Closing the files may have ended pipes that others wait for.
    #[cfg(target_os = "none")]
    crate::wait::wake_file_waiters();
    process.aspace.lock().clear();
    process.vfork_done.store(true, Ordering::Release);
    process.vfork_wait.notify_all(false);
    hand_children_to_init(&process);
    if record == ExitRecord::Reaped {
        remove_process(process.pid);
    }
    if let Some(parent) = find_process(process.ppid()) {
        parent.child_exit.notify_all(false);
        // The parent learns of the exit by SIGCHLD too, which fork and
        // vfork children send on Linux.
        let info = super::signal::SigInfo {
            code: match status {
                ExitStatus::Code(_) => super::signal::CLD_EXITED,
                ExitStatus::Signal(_) => super::signal::CLD_KILLED,
            },
            value: process.pid as usize,
        };
        let _ = super::fork::kill_process(parent.pid, super::signal::SIGCHLD, info);
    }
    unregister_thread(axtask::current().id().as_u64());
    drop(thread);
    drop(process);
    axtask::exit(0)
}

/// The outcome of [`record_exit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExitRecord {
    /// Another thread recorded its status first.
    AlreadyExiting,
    /// The process stays in its parent's children until wait4 reaps it.
    Zombie,
    /// The parent ignores its children's exits, so no one will reap the
    /// process: it left the parent's children at once.
    Reaped,
}

/// Records `status` as the exit status of `process` unless another thread
/// did first. The parent's list of children stays locked meanwhile, so
/// that wait4 never finds an exited child that is reaped automatically.
fn record_exit(process: &Arc<Process>, status: ExitStatus) -> ExitRecord {
    let set_status = || {
        let mut exit_status = process.exit_status.lock();
        let first = exit_status.is_none();
        exit_status.get_or_insert(status);
        first
    };
    let with_parent = with_parent_children(process, |parent, children| {
        if !set_status() {
            return ExitRecord::AlreadyExiting;
        }
        if super::signal::ignores_children(parent) {
            children.retain(|child| child.pid != process.pid);
            return ExitRecord::Reaped;
        }
        ExitRecord::Zombie
    });
    match with_parent {
        Some(record) => record,
        // init has no parent.
        None if set_status() => ExitRecord::Zombie,
        None => ExitRecord::AlreadyExiting,
    }
}

/// Runs `f` on the parent of `process` and the parent's locked list of
/// children; `None` when the parent is gone. A parent that exits meanwhile
/// hands its children to init, so the parent is looked up again until it
/// is still the parent with its list locked.
fn with_parent_children<R>(
    process: &Process,
    f: impl FnOnce(&Arc<Process>, &mut Vec<Arc<Process>>) -> R,
) -> Option<R> {
    loop {
        let parent = find_process(process.ppid())?;
        let mut children = parent.children.lock();
        if process.ppid() == parent.pid {
            return Some(f(&parent, &mut children));
        }
    }
}

/// Hands the children of an exiting process to init, as Linux does
/// without a subreaper. Zombies among them wake init's wait4; init reaps
/// them only if it waits, as on Linux.
fn hand_children_to_init(process: &Process) {
    let Some(init) = find_process(INIT_PID) else {
        return;
    };
    let mut orphans = process.children.lock();
    if orphans.is_empty() {
        return;
    }
    let mut adopted = init.children.lock();
    let mut zombie_adopted = false;
    for orphan in orphans.drain(..) {
        orphan.ppid.store(INIT_PID, Ordering::Relaxed);
        zombie_adopted |= orphan.exit_status.lock().is_some();
        adopted.push(orphan);
    }
    drop(adopted);
    drop(orphans);
    if zombie_adopted {
        init.child_exit.notify_all(false);
    }
}

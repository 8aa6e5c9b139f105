//! Signal delivery: pending signals of a thread, the arm64 signal frame
//! (`struct rt_sigframe` of Linux's `arch/arm64/kernel/signal.c`) and
//! rt_sigreturn.
//!
//! Signals are delivered when the thread returns to user mode from a
//! synchronous exception (a syscall or a fault). The kernel's exception
//! entry calls [`deliver_pending`] there.

use core::{
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
    time::Duration,
};

use axcpu::FpState;
use axerrno::LinuxError;
use axhal::context::TrapFrame;
use axtask::WaitQueue;
use spin::Mutex;

use super::{ExitStatus, NSIG, Process, SS_DISABLE, Thread, current_thread, exit_current_process};

type SysResult<T = ()> = Result<T, LinuxError>;

pub const SIGBUS: u32 = 7;
pub const SIGKILL: u32 = 9;
pub const SIGCHLD: u32 = 17;
pub const SIGSEGV: u32 = 11;
pub const SIGSTOP: u32 = 19;

/// Signals whose default action is to do nothing: SIGCHLD, SIGCONT, SIGURG
/// and SIGWINCH. The stop signals (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) are
/// ignored too, because there is no job control.
const DEFAULT_IGNORED: [u32; 8] = [17, 18, 23, 28, 19, 20, 21, 22];

/// `SIG_DFL` and `SIG_IGN` as handler addresses.
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;

const SA_NOCLDWAIT: u64 = 0x0000_0002;
const SA_RESTART: u64 = 0x1000_0000;
const SA_ONSTACK: u64 = 0x0800_0000;
const SA_RESTORER: u64 = 0x0400_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_RESETHAND: u64 = 0x8000_0000;

/// Tells whether `parent` lets its children's exits go unreaped: its
/// SIGCHLD action is SIG_IGN or carries SA_NOCLDWAIT. Linux then reaps an
/// exiting child at once and wait4 gets ECHILD once no child is left.
pub fn ignores_children(parent: &Process) -> bool {
    let action = parent.sigactions.lock()[SIGCHLD as usize - 1];
    action.handler == SIG_IGN || action.flags & SA_NOCLDWAIT != 0
}

/// `si_code` values.
pub const SI_USER: i32 = 0;
pub const SI_TKILL: i32 = -6;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRERR: i32 = 2;
pub const ILL_ILLOPC: i32 = 1;
/// `si_code` values of SIGCHLD: the child exited or a signal killed it.
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;

/// Layout of the frame, in bytes (Linux 6.1, arm64).
const SIGINFO_SIZE: usize = 128;
/// `struct ucontext`: uc_flags, uc_link, uc_stack (24 bytes), uc_sigmask,
/// 120 unused bytes, then `struct sigcontext` aligned to 16.
const UC_STACK: usize = 16;
const UC_SIGMASK: usize = 40;
const UC_MCONTEXT: usize = 176;
/// `struct sigcontext`: fault_address, regs[31], sp, pc, pstate, then
/// `__reserved[4096]` aligned to 16.
const SC_FAULT_ADDRESS: usize = 0;
const SC_REGS: usize = 8;
const SC_SP: usize = 256;
const SC_PC: usize = 264;
const SC_PSTATE: usize = 272;
const SC_RESERVED: usize = 288;
const SC_RESERVED_SIZE: usize = 4096;
const UCONTEXT_SIZE: usize = UC_MCONTEXT + SC_RESERVED + SC_RESERVED_SIZE;
/// `struct frame_record` (fp, lr) after the frame, which x29 points at.
const FRAME_RECORD_SIZE: usize = 16;
const FRAME_SIZE: usize = SIGINFO_SIZE + UCONTEXT_SIZE + FRAME_RECORD_SIZE;
/// `struct fpsimd_context`: header (magic, size), fpsr, fpcr, vregs[32].
const FPSIMD_MAGIC: u32 = 0x4650_8001;
const FPSIMD_CONTEXT_SIZE: usize = 528;
/// The PSTATE bits user code may change through a signal frame: the
/// condition flags N, Z, C and V.
const PSTATE_USER_MASK: u64 = 0xf000_0000;

/// The `siginfo_t` data of a pending signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigInfo {
    pub code: i32,
    /// The sender's pid (kill, tgkill) or the fault address (faults).
    pub value: usize,
}

fn bit(sig: u32) -> u64 {
    1 << (sig - 1)
}

/// The restart rule of a syscall that a signal interrupted. Linux encodes it
/// in the internal return values ERESTARTSYS, ERESTARTNOHAND and
/// ERESTART_RESTARTBLOCK. Here a waiting syscall returns `EINTR` through
/// [`interrupted`], which records the rule, and signal delivery decides
/// whether user mode sees `EINTR` or the call runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Runs again unless a handler without `SA_RESTART` runs (ERESTARTSYS):
    /// read, write, wait4, accept, recv and futex waits without a timeout.
    UnlessHandlerWithoutSaRestart,
    /// Runs again only when no handler runs (ERESTARTNOHAND): ppoll,
    /// pselect6 and rt_sigsuspend.
    UnlessHandler,
    /// Always ends with `EINTR`, as epoll_pwait does on Linux. Linux's
    /// sleeps and timed futex waits use ERESTART_RESTARTBLOCK instead, which
    /// continues with the time left when no handler runs.
    // NOTE: a sleep ends with EINTR even when no handler ran. Here that only
    // happens when the action changed to SIG_IGN after the signal was sent,
    // because ignored signals are never made pending.
    Never,
}

/// Records how the current syscall continues after the pending signal and
/// returns `EINTR`, the value the waiting syscall returns.
pub fn interrupted(restart: Restart) -> LinuxError {
    if let Some(thread) = super::try_current_thread() {
        *thread.restart.lock() = Some(restart);
    }
    LinuxError::EINTR
}

/// Wakes the threads waiting in rt_sigsuspend when a signal is sent.
static SIGNAL_SENT: WaitQueue = WaitQueue::new();

/// How often a thread in rt_sigsuspend or rt_sigtimedwait checks for
/// signals that [`request_group_signal`] asked for from an interrupt
/// handler, and for expired interval timers, neither of which wakes
/// [`SIGNAL_SENT`].
const SUSPEND_CHECK_INTERVAL: Duration = Duration::from_millis(10);

/// Installs `mask` for the length of a wait (rt_sigsuspend and the `p`
/// forms of poll and select) and saves the thread's mask. The wait ends
/// with [`end_temporary_mask`] unless it is interrupted, when signal
/// delivery restores the saved mask instead.
pub fn begin_temporary_mask(thread: &Thread, mask: u64) {
    let old = thread.sigmask.swap(mask & !(bit(SIGKILL) | bit(SIGSTOP)), Ordering::Relaxed);
    thread.saved_sigmask.lock().get_or_insert(old);
}

/// Restores the mask that [`begin_temporary_mask`] saved, for a wait that
/// ends other than by a signal. `result` passes through unchanged.
pub fn end_temporary_mask<T>(thread: &Thread, result: Result<T, LinuxError>) -> Result<T, LinuxError> {
    if !matches!(result, Err(LinuxError::EINTR)) {
        if let Some(mask) = thread.saved_sigmask.lock().take() {
            thread.sigmask.store(mask, Ordering::Relaxed);
        }
    }
    result
}

/// rt_sigsuspend: waits with `mask` installed until a signal that it does
/// not block is pending, then ends with `EINTR`. The handler runs with
/// `mask`, and the old mask returns when the handler does.
pub fn suspend(thread: &Thread, mask: u64) -> LinuxError {
    begin_temporary_mask(thread, mask);
    while !has_pending_signal() {
        sleep_until_signal_sent(None);
    }
    interrupted(Restart::UnlessHandler)
}

/// Sleeps until a signal is sent, [`SUSPEND_CHECK_INTERVAL`] passes or the
/// monotonic time reaches `deadline` (nanoseconds). Returns `false`, without
/// sleeping, when the deadline has passed already.
fn sleep_until_signal_sent(deadline: Option<u64>) -> bool {
    let remaining = match deadline {
        None => None,
        Some(deadline) => {
            let now = axhal::time::monotonic_time_nanos();
            if now >= deadline {
                return false;
            }
            Some(Duration::from_nanos(deadline - now))
        }
    };
    crate::timer::wait_step(&SIGNAL_SENT, remaining, SUSPEND_CHECK_INTERVAL);
    true
}

/// rt_sigpending: the signals pending on `thread` or on its process that
/// the thread blocks.
pub fn pending_blocked(thread: &Thread) -> u64 {
    all_pending(thread) & thread.sigmask()
}

/// A table of pending signals with their siginfo (index `n - 1` for signal
/// `n`), and the set of signals it contains. Every return to user mode
/// checks for pending signals, and almost always finds none. Reading the
/// set takes one atomic load, without the lock and a scan of the 64
/// entries.
pub struct PendingSignals {
    table: Mutex<[Option<SigInfo>; NSIG]>,
    /// Bit `n - 1` is set while signal `n` has an entry. Written only with
    /// `table` locked.
    set: AtomicU64,
}

impl Default for PendingSignals {
    fn default() -> Self {
        Self::new()
    }
}

impl PendingSignals {
    pub const fn new() -> Self {
        Self {
            table: Mutex::new([None; NSIG]),
            set: AtomicU64::new(0),
        }
    }

    /// Returns the set of pending signals (bit `n - 1` for signal `n`).
    pub fn set(&self) -> u64 {
        self.set.load(Ordering::Acquire)
    }

    /// Makes `sig` pending with `info`, replacing an earlier siginfo of the
    /// same signal (standard signals do not queue).
    fn insert(&self, sig: u32, info: SigInfo) {
        let mut table = self.table.lock();
        table[sig as usize - 1] = Some(info);
        self.set.fetch_or(bit(sig), Ordering::Release);
    }

    /// Takes the lowest pending signal of `allowed`.
    fn take_lowest(&self, allowed: u64) -> Option<(u32, SigInfo)> {
        if self.set() & allowed == 0 {
            return None;
        }
        let mut table = self.table.lock();
        let candidates = self.set.load(Ordering::Relaxed) & allowed;
        if candidates == 0 {
            return None;
        }
        let sig = candidates.trailing_zeros() + 1;
        self.set.fetch_and(!bit(sig), Ordering::Release);
        table[sig as usize - 1].take().map(|info| (sig, info))
    }
}

/// Collects the signals pending on `thread` or on its process.
fn all_pending(thread: &Thread) -> u64 {
    thread.pending.set() | thread.process.shared_pending.set()
}

/// Takes the lowest signal of `allowed` (bit `n - 1` for signal `n`) that is
/// pending on `thread`, then on its process.
fn take_pending(thread: &Thread, allowed: u64) -> Option<(u32, SigInfo)> {
    thread
        .pending
        .take_lowest(allowed)
        .or_else(|| thread.process.shared_pending.take_lowest(allowed))
}

/// rt_sigtimedwait: takes the lowest pending signal of `wanted` (SIGKILL
/// and SIGSTOP left out), waiting until one comes or `timeout` passes
/// (`EAGAIN`). Another signal that runs a handler ends the wait with
/// `EINTR`, which Linux never restarts.
pub fn wait_for_signal(thread: &Thread, wanted: u64, timeout: Option<Duration>) -> Result<(u32, SigInfo), LinuxError> {
    let wanted = wanted & !(bit(SIGKILL) | bit(SIGSTOP));
    thread.sigwait_set.store(wanted, Ordering::Relaxed);
    let result = wait_for_signal_in(thread, wanted, timeout);
    thread.sigwait_set.store(0, Ordering::Relaxed);
    result
}

fn wait_for_signal_in(thread: &Thread, wanted: u64, timeout: Option<Duration>) -> Result<(u32, SigInfo), LinuxError> {
    let deadline = timeout.map(|timeout| axhal::time::monotonic_time_nanos().saturating_add(timeout.as_nanos() as u64));
    loop {
        raise_requested_signals();
        if let Some(taken) = take_pending(thread, wanted) {
            return Ok(taken);
        }
        if has_pending_signal() {
            return Err(interrupted(Restart::Never));
        }
        if !sleep_until_signal_sent(deadline) {
            return Err(LinuxError::EAGAIN);
        }
    }
}

/// The `siginfo_t` of signal `sig` as rt_sigtimedwait returns it.
pub fn siginfo(sig: u32, info: SigInfo) -> syscall_abi::Siginfo {
    let mut fields = [0u64; 14];
    // si_pid (with si_uid 0 above it) or si_addr.
    fields[0] = info.value as u64;
    syscall_abi::Siginfo {
        si_signo: sig as i32,
        si_code: info.code,
        fields,
        ..Default::default()
    }
}

/// Builds the `siginfo_t` that waitid reports for child `pid` with real
/// uid `uid` that ended with `status`: SIGCHLD with si_pid, si_uid and
/// si_status.
pub fn child_siginfo(pid: u32, uid: u32, status: ExitStatus) -> syscall_abi::Siginfo {
    let (code, value) = match status {
        ExitStatus::Code(code) => (CLD_EXITED, code as u32),
        ExitStatus::Signal(sig) => (CLD_KILLED, sig),
    };
    let mut fields = [0u64; 14];
    fields[0] = u64::from(pid) | u64::from(uid) << 32;
    fields[1] = u64::from(value);
    syscall_abi::Siginfo {
        si_signo: SIGCHLD as i32,
        si_code: code,
        fields,
        ..Default::default()
    }
}

/// `si_code` of a signal the kernel sends.
pub const SI_KERNEL: i32 = 0x80;

/// The signals (bit `n - 1` for signal `n`) that [`request_group_signal`]
/// asked for and that are not pending yet.
static REQUESTED_SIGNALS: AtomicU64 = AtomicU64::new(0);
/// The process group that gets [`REQUESTED_SIGNALS`].
static REQUESTED_GROUP: AtomicU32 = AtomicU32::new(1);

/// Asks for `sig` to every process of group `pgid` (Ctrl-C or Ctrl-\ on
/// the console). Safe in an interrupt handler: it only stores the request,
/// and the next [`deliver_pending`] or [`has_pending_signal`] on any thread
/// makes the signal pending. NOTE: a second request for another group
/// before that point moves the earlier request's signals to the new group.
pub fn request_group_signal(pgid: u32, sig: u32) {
    REQUESTED_GROUP.store(pgid, Ordering::Release);
    REQUESTED_SIGNALS.fetch_or(bit(sig), Ordering::AcqRel);
}

fn raise_requested_signals() {
    super::itimer::raise_expired();
    let signals = REQUESTED_SIGNALS.swap(0, Ordering::AcqRel);
    if signals == 0 {
        return;
    }
    let group = REQUESTED_GROUP.load(Ordering::Acquire);
    let info = SigInfo { code: SI_KERNEL, value: 0 };
    for process in super::group_members(group) {
        if process.exit_status.lock().is_some() {
            continue;
        }
        for sig in (1..=NSIG as u32).filter(|&sig| signals & bit(sig) != 0) {
            send_process_signal(process.pid, sig, info);
        }
    }
}

/// Sends `sig` to process `pid`, as kill does, and returns whether the
/// process has a thread. It goes to one thread, chosen in Linux's order of
/// preference: the calling thread when it belongs to the process and does
/// not block `sig`, then a thread in rt_sigtimedwait for `sig`, then a
/// thread that does not block it. When every thread blocks `sig`, it stays
/// pending on the process until a thread unblocks or waits for it.
pub fn send_process_signal(pid: super::Pid, sig: u32, info: SigInfo) -> bool {
    let threads = super::process_threads(pid);
    let Some(main) = threads.first() else {
        return false;
    };
    let blocks = |thread: &Thread| sig != SIGKILL && thread.sigmask() & bit(sig) != 0;
    let current = super::try_current_thread().filter(|thread| thread.process.pid == pid && !blocks(thread));
    let target = current
        .or_else(|| {
            threads
                .iter()
                .find(|thread| thread.sigwait_set.load(Ordering::Relaxed) & bit(sig) != 0)
                .cloned()
        })
        .or_else(|| threads.iter().find(|thread| !blocks(thread)).cloned());
    match target {
        Some(target) => send_signal(&target, sig, info),
        None => {
            // Blocked signals stay pending even when ignored, as in
            // send_signal.
            main.process.shared_pending.insert(sig, info);
            SIGNAL_SENT.notify_all(false);
        }
    }
    true
}

/// Returns whether the current thread has a pending signal that is not
/// blocked. A syscall that waits should then end with `EINTR`, so that the
/// signal is delivered.
pub fn has_pending_signal() -> bool {
    raise_requested_signals();
    let Some(thread) = super::try_current_thread() else {
        return false;
    };
    if thread.exit_requested.load(Ordering::Acquire) {
        return true;
    }
    let deliverable = bit(SIGKILL) | !thread.sigmask();
    all_pending(&thread) & deliverable != 0
}

/// Makes `sig` pending on `thread`, unless its action ignores it. SIGKILL
/// to the calling thread ends its process at once.
pub fn send_signal(thread: &Thread, sig: u32, info: SigInfo) {
    if sig == SIGKILL && super::try_current_thread().is_some_and(|current| core::ptr::eq(&*current, thread)) {
        exit_current_process(ExitStatus::Signal(sig));
    }
    let action = thread.process.sigactions.lock()[sig as usize - 1];
    let ignored = action.handler == SIG_IGN || (action.handler == SIG_DFL && DEFAULT_IGNORED.contains(&sig));
    // As on Linux, a blocked signal stays pending even when ignored: the
    // action may change before it is unblocked, and rt_sigtimedwait takes
    // it either way.
    if ignored && thread.sigmask() & bit(sig) == 0 {
        return;
    }
    thread.pending.insert(sig, info);
    SIGNAL_SENT.notify_all(false);
}

/// Returns whether a fault signal `sig` would run a handler now: a handler is
/// installed and the signal is not blocked. Otherwise the fault ends the
/// process, as on Linux.
pub fn has_live_handler(thread: &Thread, sig: u32) -> bool {
    let action = thread.process.sigactions.lock()[sig as usize - 1];
    action.handler != SIG_DFL && action.handler != SIG_IGN && thread.sigmask() & bit(sig) == 0
}

/// Takes the lowest pending signal that is not blocked, from the thread's
/// own signals first.
fn take_deliverable(thread: &Thread) -> Option<(u32, SigInfo)> {
    let mask = thread.sigmask();
    take_pending(thread, bit(SIGKILL) | !mask)
}

fn put(frame: &mut [u8], offset: usize, bytes: &[u8]) {
    frame[offset..offset + bytes.len()].copy_from_slice(bytes);
}

fn get_u64(frame: &[u8], offset: usize) -> u64 {
    u64::from_ne_bytes(frame[offset..offset + 8].try_into().unwrap())
}

/// Delivers the pending signals of the current thread that are not blocked:
/// runs the default action, or sets up a frame so that `tf` returns into the
/// handler. Called on every return to user mode from an exception other
/// than a syscall, which uses [`deliver_after_syscall`].
pub fn deliver_pending(tf: &mut TrapFrame) {
    deliver(tf, None);
}

/// Delivers pending signals on the return from a syscall whose first
/// argument was `syscall_x0`. When the syscall was interrupted (it returned
/// `EINTR` through [`interrupted`]) and its [`Restart`] kind allows it, `tf`
/// is rewound so that the `svc` instruction runs again after the handler,
/// or at once when no handler runs.
pub fn deliver_after_syscall(tf: &mut TrapFrame, syscall_x0: u64) {
    deliver(tf, Some(syscall_x0));
}

/// Rewinds `tf` to the `svc` instruction with its first argument back in
/// x0 (the syscall's return value overwrote it).
fn rewind_syscall(tf: &mut TrapFrame, syscall_x0: u64) {
    tf.r[0] = syscall_x0;
    tf.elr -= 4;
}

fn deliver(tf: &mut TrapFrame, syscall_x0: Option<u64>) {
    raise_requested_signals();
    let Some(thread) = super::try_current_thread() else {
        return;
    };
    if thread.exit_requested.load(Ordering::Acquire) {
        drop(thread);
        super::leave_current_thread();
    }
    let eintr = (LinuxError::EINTR.code() as i64).wrapping_neg() as u64;
    let restart = thread.restart.lock().take();
    let restart = match (restart, syscall_x0) {
        (Some(kind), Some(x0)) if tf.r[0] == eintr => Some((kind, x0)),
        _ => None,
    };
    while let Some((sig, info)) = take_deliverable(&thread) {
        let action = thread.process.sigactions.lock()[sig as usize - 1];
        match action.handler {
            SIG_IGN => continue,
            SIG_DFL if DEFAULT_IGNORED.contains(&sig) => continue,
            SIG_DFL => exit_current_process(ExitStatus::Signal(sig)),
            _ => {}
        }
        if let Some((Restart::UnlessHandlerWithoutSaRestart, x0)) = restart
            && action.flags & SA_RESTART != 0
        {
            rewind_syscall(tf, x0);
        }
        if let Err(err) = push_frame(&thread, tf, sig, info) {
            // Linux kills the process with SIGSEGV when the frame cannot be
            // written.
            debug!("signal {sig}: writing the signal frame failed ({err:?})");
            exit_current_process(ExitStatus::Signal(SIGSEGV));
        }
        if action.flags & SA_RESETHAND != 0 {
            thread.process.sigactions.lock()[sig as usize - 1].handler = SIG_DFL;
        }
        // One handler at a time: the next pending signal is delivered when
        // this handler returns through rt_sigreturn.
        return;
    }
    // No handler runs: the interrupted call continues, and a temporary
    // mask ends here.
    if let Some((kind, x0)) = restart
        && kind != Restart::Never
    {
        rewind_syscall(tf, x0);
    }
    if let Some(mask) = thread.saved_sigmask.lock().take() {
        thread.sigmask.store(mask, Ordering::Relaxed);
    }
}

fn push_frame(thread: &Thread, tf: &mut TrapFrame, sig: u32, info: SigInfo) -> SysResult {
    let action = thread.process.sigactions.lock()[sig as usize - 1];
    let altstack = *thread.altstack.lock();
    let user_sp = tf.usp as usize;
    let on_altstack = altstack.flags != SS_DISABLE
        && (altstack.sp..altstack.sp + altstack.size).contains(&user_sp);
    let top = if action.flags & SA_ONSTACK != 0 && altstack.flags != SS_DISABLE && !on_altstack {
        altstack.sp + altstack.size
    } else {
        user_sp
    };
    let frame_addr = top.checked_sub(FRAME_SIZE).ok_or(LinuxError::EFAULT)? & !0xf;

    let mut frame = alloc::vec![0u8; FRAME_SIZE];
    // siginfo_t: si_signo, si_errno, si_code, then the union at 16.
    put(&mut frame, 0, &(sig as i32).to_ne_bytes());
    put(&mut frame, 8, &info.code.to_ne_bytes());
    put(&mut frame, 16, &(info.value as u64).to_ne_bytes());

    let uc = SIGINFO_SIZE;
    put(&mut frame, uc + UC_STACK, &(altstack.sp as u64).to_ne_bytes());
    let stack_flags = if altstack.flags == SS_DISABLE {
        SS_DISABLE
    } else if on_altstack {
        1 // SS_ONSTACK
    } else {
        0
    };
    put(&mut frame, uc + UC_STACK + 8, &stack_flags.to_ne_bytes());
    put(&mut frame, uc + UC_STACK + 16, &(altstack.size as u64).to_ne_bytes());
    // The frame saves the mask to restore when the handler returns: the one
    // from before a temporary wait mask, if one is installed.
    let current_mask = thread.sigmask();
    let saved_mask = thread.saved_sigmask.lock().take();
    let old_mask = saved_mask.unwrap_or(current_mask);
    put(&mut frame, uc + UC_SIGMASK, &old_mask.to_ne_bytes());

    let sc = uc + UC_MCONTEXT;
    let fault_address = if info.code > 0 { info.value as u64 } else { 0 };
    put(&mut frame, sc + SC_FAULT_ADDRESS, &fault_address.to_ne_bytes());
    for (i, reg) in tf.r.iter().enumerate() {
        put(&mut frame, sc + SC_REGS + 8 * i, &reg.to_ne_bytes());
    }
    put(&mut frame, sc + SC_SP, &tf.usp.to_ne_bytes());
    put(&mut frame, sc + SC_PC, &tf.elr.to_ne_bytes());
    put(&mut frame, sc + SC_PSTATE, &tf.spsr.to_ne_bytes());

    // The FP/SIMD registers still hold the user's values: the kernel is
    // built soft-float and never touches them.
    let mut fp = FpState::default();
    fp.save();
    let fpsimd = sc + SC_RESERVED;
    put(&mut frame, fpsimd, &FPSIMD_MAGIC.to_ne_bytes());
    put(&mut frame, fpsimd + 4, &(FPSIMD_CONTEXT_SIZE as u32).to_ne_bytes());
    put(&mut frame, fpsimd + 8, &fp.fpsr.to_ne_bytes());
    put(&mut frame, fpsimd + 12, &fp.fpcr.to_ne_bytes());
    for (i, vreg) in fp.regs.iter().enumerate() {
        put(&mut frame, fpsimd + 16 + 16 * i, &vreg.to_ne_bytes());
    }
    // The zero header after fpsimd_context ends the record list.

    let record = SIGINFO_SIZE + UCONTEXT_SIZE;
    put(&mut frame, record, &tf.r[29].to_ne_bytes());
    put(&mut frame, record + 8, &tf.r[30].to_ne_bytes());

    thread.process.aspace.lock().write(frame_addr, &frame)?;

    let mut mask = current_mask | action.mask;
    if action.flags & SA_NODEFER == 0 {
        mask |= bit(sig);
    }
    thread
        .sigmask
        .store(mask & !(bit(SIGKILL) | bit(SIGSTOP)), core::sync::atomic::Ordering::Relaxed);

    tf.r[0] = sig as u64;
    tf.r[1] = frame_addr as u64;
    tf.r[2] = (frame_addr + uc) as u64;
    tf.r[29] = (frame_addr + record) as u64;
    // NOTE: without SA_RESTORER the handler returns to address 0 and
    // faults: there is no vDSO with a sigreturn trampoline. musl and glibc
    // always set SA_RESTORER.
    tf.r[30] = if action.flags & SA_RESTORER != 0 { action.restorer as u64 } else { 0 };
    tf.usp = frame_addr as u64;
    tf.elr = action.handler as u64;
    Ok(())
}

/// rt_sigreturn: restores the registers, FP/SIMD state and signal mask
/// saved in the frame at the user stack pointer. A frame that cannot be
/// read ends the process with SIGSEGV, as on Linux.
pub fn sigreturn(tf: &mut TrapFrame) {
    let thread = current_thread();
    if let Err(err) = restore_frame(&thread, tf) {
        debug!("rt_sigreturn: invalid signal frame at {:#x} ({err:?})", tf.usp);
        exit_current_process(ExitStatus::Signal(SIGSEGV));
    }
}

fn restore_frame(thread: &Thread, tf: &mut TrapFrame) -> SysResult {
    let frame_addr = tf.usp as usize;
    let mut uc = alloc::vec![0u8; UCONTEXT_SIZE];
    thread
        .process
        .aspace
        .lock()
        .read(frame_addr + SIGINFO_SIZE, &mut uc)?;
    let sc = UC_MCONTEXT;
    let fpsimd = sc + SC_RESERVED;
    let magic = u32::from_ne_bytes(uc[fpsimd..fpsimd + 4].try_into().unwrap());
    let size = u32::from_ne_bytes(uc[fpsimd + 4..fpsimd + 8].try_into().unwrap());
    if magic != FPSIMD_MAGIC || size as usize != FPSIMD_CONTEXT_SIZE {
        return Err(LinuxError::EINVAL);
    }

    for (i, reg) in tf.r.iter_mut().enumerate() {
        *reg = get_u64(&uc, sc + SC_REGS + 8 * i);
    }
    tf.usp = get_u64(&uc, sc + SC_SP);
    tf.elr = get_u64(&uc, sc + SC_PC);
    let pstate = get_u64(&uc, sc + SC_PSTATE);
    tf.spsr = (tf.spsr & !PSTATE_USER_MASK) | (pstate & PSTATE_USER_MASK);

    let mut fp = FpState::default();
    fp.fpsr = u32::from_ne_bytes(uc[fpsimd + 8..fpsimd + 12].try_into().unwrap());
    fp.fpcr = u32::from_ne_bytes(uc[fpsimd + 12..fpsimd + 16].try_into().unwrap());
    for (i, vreg) in fp.regs.iter_mut().enumerate() {
        let start = fpsimd + 16 + 16 * i;
        *vreg = u128::from_ne_bytes(uc[start..start + 16].try_into().unwrap());
    }
    fp.restore();

    let mask = get_u64(&uc, UC_SIGMASK);
    thread
        .sigmask
        .store(mask & !(bit(SIGKILL) | bit(SIGSTOP)), core::sync::atomic::Ordering::Relaxed);
    Ok(())
}

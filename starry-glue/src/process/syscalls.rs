//! The process syscalls: exit, ids, signal actions and masks, limits.
//! Signal delivery itself is in `signal`, process creation in `fork` and
//! `thread`.

use core::{convert::Infallible, sync::atomic::Ordering, time::Duration};

use syscall_abi::{
    CloneFlags, LinuxError, ProcessSyscalls, Rlimit, Rusage, Sigaction, Siginfo, SignalStack, Sigset,
    SysResult, SyscallContext, Timespec, Timeval, UserIn, UserInBytes, UserInSlice, UserOut, UserOutBytes, UserOutSlice,
    WaitOptions, WaitidOptions,
};

use super::{
    AltStack, ExitStatus, NSIG, RLIM_NLIMITS, RLimit, SS_DISABLE, SigAction, cputime, creds, current_thread,
    exit_current_process, find_thread, fork, futex,
    signal::{self, SI_TKILL, SI_USER, SigInfo},
    thread,
};
use crate::Handler;

/// Scheduling policies of sched_get_priority_max and _min.
const SCHED_OTHER: i32 = 0;
const SCHED_FIFO: i32 = 1;
const SCHED_RR: i32 = 2;
const SCHED_BATCH: i32 = 3;
const SCHED_IDLE: i32 = 5;
const SCHED_DEADLINE: i32 = 6;

const SIGKILL: i32 = 9;
const SIGSEGV: u32 = 11;
const SIGSTOP: i32 = 19;
/// Bits of the signals that can never be blocked.
const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

const SIG_BLOCK: i32 = 0;
const SIG_UNBLOCK: i32 = 1;
const SIG_SETMASK: i32 = 2;

/// `SS_ONSTACK` and `SS_AUTODISARM` of sigaltstack.
const SS_ONSTACK: i32 = 1;
const SS_AUTODISARM: i32 = 1 << 31;
/// The smallest alternate signal stack on arm64 (`MINSIGSTKSZ`).
const MINSIGSTKSZ: u64 = 5120;

/// `RLIMIT_NOFILE`, and the highest hard limit it may get (`fs.nr_open`).
const RLIMIT_NOFILE: u32 = 7;
const NR_OPEN: u64 = 1 << 20;

const RUSAGE_SELF: i32 = 0;
const RUSAGE_CHILDREN: i32 = -1;
const RUSAGE_THREAD: i32 = 1;

const FUTEX_WAIT: i32 = 0;
const FUTEX_WAKE: i32 = 1;
const FUTEX_WAIT_BITSET: i32 = 9;
const FUTEX_WAKE_BITSET: i32 = 10;
const FUTEX_REQUEUE: i32 = 3;
const FUTEX_CMP_REQUEUE: i32 = 4;
const FUTEX_PRIVATE_FLAG: i32 = 128;
const FUTEX_CLOCK_REALTIME: i32 = 256;

fn check_signal(sig: i32) -> SysResult<()> {
    if (1..=NSIG as i32).contains(&sig) {
        Ok(())
    } else {
        Err(LinuxError::EINVAL)
    }
}

impl Handler {
    fn is_self(&self, pid: i32) -> bool {
        pid == 0 || pid == self.process().pid as i32
    }

    /// kill(-1, sig): sends `sig` to every process but init and the caller;
    /// `ESRCH` when there is none.
    fn signal_all_others(&mut self, sig: u32, info: SigInfo) -> SysResult<()> {
        let own_pid = self.process().pid;
        let targets: alloc::vec::Vec<_> = super::all_processes()
            .into_iter()
            .filter(|process| process.pid != 1 && process.pid != own_pid)
            .collect();
        if targets.is_empty() {
            return Err(LinuxError::ESRCH);
        }
        for target in targets {
            // A process that exits meanwhile is no error.
            let _ = fork::kill_process(target.pid, sig, info);
        }
        Ok(())
    }

    /// Returns the process that `pid` names for getpgid and getsid: the
    /// caller for 0, else any process that has not been reaped.
    fn process_by_pid(&self, pid: i32) -> SysResult<alloc::sync::Arc<super::Process>> {
        if pid < 0 {
            return Err(LinuxError::ESRCH);
        }
        if self.is_self(pid) {
            return Ok(self.process().clone());
        }
        super::find_process(pid as u32).ok_or(LinuxError::ESRCH)
    }

    /// Sends `sig` to the calling process with `si_code` `code`. The
    /// calling thread takes it unless it blocks it; then it is delivered
    /// when the syscall returns. Signal 0 only checks that the target
    /// exists.
    fn signal_self(&mut self, sig: i32, code: i32) -> SysResult<()> {
        if sig == 0 {
            return Ok(());
        }
        check_signal(sig)?;
        let info = SigInfo {
            code,
            value: self.process().pid as usize,
        };
        signal::send_process_signal(self.process().pid, sig as u32, info);
        Ok(())
    }

    /// Sends `sig` to thread `tid` of process `tgid`; it is delivered when
    /// that thread next returns from a syscall or fault.
    fn signal_thread(&mut self, tgid: i32, tid: i32, sig: i32) -> SysResult<()> {
        if tgid != self.process().pid as i32 {
            return Err(LinuxError::ESRCH);
        }
        let Some(target) = find_thread(tgid as u32, tid as u32) else {
            return Err(LinuxError::ESRCH);
        };
        if sig == 0 {
            return Ok(());
        }
        let info = SigInfo {
            code: SI_TKILL,
            value: self.process().pid as usize,
        };
        signal::send_signal(&target, sig as u32, info);
        Ok(())
    }

    fn rlimit_index(resource: u32) -> SysResult<usize> {
        if (resource as usize) < RLIM_NLIMITS {
            Ok(resource as usize)
        } else {
            Err(LinuxError::EINVAL)
        }
    }

    fn set_rlimit(&mut self, resource: u32, new: Rlimit) -> SysResult<()> {
        let index = Self::rlimit_index(resource)?;
        if new.rlim_cur > new.rlim_max {
            return Err(LinuxError::EINVAL);
        }
        if resource == RLIMIT_NOFILE && new.rlim_max > NR_OPEN {
            return Err(LinuxError::EPERM);
        }
        // Root may raise hard limits (CAP_SYS_RESOURCE), so no other check.
        self.process().rlimits.lock()[index] = RLimit {
            cur: new.rlim_cur,
            max: new.rlim_max,
        };
        if resource == RLIMIT_NOFILE {
            let limit = new.rlim_cur.min(NR_OPEN) as usize;
            self.process().fs.lock().fd_table.set_limit(limit);
        }
        Ok(())
    }

    fn get_rlimit(&self, resource: u32) -> SysResult<Rlimit> {
        let index = Self::rlimit_index(resource)?;
        let limit = self.process().rlimits.lock()[index];
        Ok(Rlimit {
            rlim_cur: limit.cur,
            rlim_max: limit.max,
        })
    }

    /// Returns the user and system time of the calling process.
    pub(crate) fn process_cpu_times(&self) -> cputime::CpuTimes {
        cputime::process_times(self.process())
    }

    /// Returns the user and system time of the calling thread.
    pub(crate) fn thread_cpu_times(&self) -> cputime::CpuTimes {
        current_thread().cpu.times()
    }
}

impl ProcessSyscalls for Handler {
    fn sys_exit(&mut self, status: i32) -> SysResult<Infallible> {
        thread::exit_thread(status)
    }

    fn sys_exit_group(&mut self, status: i32) -> SysResult<Infallible> {
        exit_current_process(ExitStatus::Code(status & 0xff))
    }

    fn sys_set_tid_address(&mut self, tidptr: usize) -> SysResult<isize> {
        self.thread().clear_child_tid.store(tidptr, Ordering::Relaxed);
        Ok(self.thread().tid as isize)
    }

    fn sys_futex(
        &mut self,
        uaddr: usize,
        futex_op: i32,
        val: u32,
        timeout: usize,
        uaddr2: usize,
        val3: u32,
    ) -> SysResult<isize> {
        let cmd = futex_op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
        if !uaddr.is_multiple_of(4) {
            return Err(LinuxError::EINVAL);
        }
        match cmd {
            FUTEX_WAKE | FUTEX_WAKE_BITSET => {
                let key = futex::key(self.process(), uaddr)?;
                Ok(futex::wake(key, val as usize) as isize)
            }
            FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
                if cmd == FUTEX_CMP_REQUEUE {
                    let current: u32 = syscall_abi::UserMemory::read_val(self.mem(), uaddr)?;
                    if current != val3 {
                        return Err(LinuxError::EAGAIN);
                    }
                }
                // Waiters cannot move between axtask wait queues, so the
                // ones to requeue are woken instead; futex users re-check
                // their condition after every wake-up. `timeout` carries the
                // requeue count here.
                let key = futex::key(self.process(), uaddr)?;
                let woken = futex::wake(key, val as usize);
                let requeued = futex::wake(key, timeout.min(i32::MAX as usize));
                let _ = uaddr2;
                Ok((woken + requeued) as isize)
            }
            FUTEX_WAIT | FUTEX_WAIT_BITSET => {
                let current: u32 = syscall_abi::UserMemory::read_val(self.mem(), uaddr)?;
                if current != val {
                    return Err(LinuxError::EAGAIN);
                }
                let timeout = if timeout == 0 {
                    None
                } else {
                    let ts: syscall_abi::Timespec = syscall_abi::UserMemory::read_val(self.mem(), timeout)?;
                    let duration = crate::time::timespec_to_duration(&ts)?;
                    Some(if cmd == FUTEX_WAIT_BITSET {
                        // The bitset variant takes an absolute time.
                        let now = if futex_op & FUTEX_CLOCK_REALTIME != 0 {
                            crate::time::realtime()
                        } else {
                            crate::time::monotonic()
                        };
                        duration.saturating_sub(now)
                    } else {
                        duration
                    })
                };
                let key = futex::key(self.process(), uaddr)?;
                futex::wait(key, timeout)?;
                Ok(0)
            }
            _ => Err(LinuxError::ENOSYS),
        }
    }

    fn sys_set_robust_list(&mut self, _head: usize, len: usize) -> SysResult<()> {
        // The list is only walked when a thread dies holding a robust mutex,
        // which needs more than one thread.
        if len != 24 {
            return Err(LinuxError::EINVAL);
        }
        Ok(())
    }

    fn sys_kill(&mut self, pid: i32, sig: i32) -> SysResult<()> {
        if sig != 0 {
            check_signal(sig)?;
        }
        let own_pid = self.process().pid;
        let info = SigInfo {
            code: SI_USER,
            value: own_pid as usize,
        };
        let group = match pid {
            _ if pid == own_pid as i32 => return self.signal_self(sig, SI_USER),
            _ if pid > 0 => return fork::kill_process(pid as u32, sig as u32, info),
            -1 => return self.signal_all_others(sig as u32, info),
            0 => self.process().pgid(),
            _ => pid.unsigned_abs(),
        };
        fork::kill_group(group, own_pid, sig as u32, info)?;
        if self.process().pgid() == group {
            self.signal_self(sig, SI_USER)?;
        }
        Ok(())
    }

    fn sys_tkill(&mut self, tid: i32, sig: i32) -> SysResult<()> {
        if tid <= 0 {
            return Err(LinuxError::EINVAL);
        }
        if sig != 0 {
            check_signal(sig)?;
        }
        self.signal_thread(self.process().pid as i32, tid, sig)
    }

    fn sys_tgkill(&mut self, tgid: i32, tid: i32, sig: i32) -> SysResult<()> {
        if tgid <= 0 || tid <= 0 {
            return Err(LinuxError::EINVAL);
        }
        if sig != 0 {
            check_signal(sig)?;
        }
        self.signal_thread(tgid, tid, sig)
    }

    fn sys_sigaltstack(
        &mut self,
        ss: Option<UserIn<SignalStack>>,
        old_ss: Option<UserOut<SignalStack>>,
    ) -> SysResult<()> {
        let new = match ss {
            Some(ss) => Some(ss.read(self.mem())?),
            None => None,
        };
        let thread = self.thread().clone();
        let mut altstack = thread.altstack.lock();
        if let Some(old_ss) = old_ss {
            let old = SignalStack {
                ss_sp: altstack.sp as u64,
                ss_flags: altstack.flags,
                __pad: 0,
                ss_size: altstack.size as u64,
            };
            old_ss.write(self.mem(), &old)?;
        }
        if let Some(new) = new {
            let mode = new.ss_flags & !SS_AUTODISARM;
            if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
                return Err(LinuxError::EINVAL);
            }
            *altstack = if mode == SS_DISABLE {
                AltStack {
                    sp: 0,
                    flags: SS_DISABLE,
                    size: 0,
                }
            } else {
                if new.ss_size < MINSIGSTKSZ {
                    return Err(LinuxError::ENOMEM);
                }
                AltStack {
                    sp: new.ss_sp as usize,
                    flags: new.ss_flags & SS_AUTODISARM,
                    size: new.ss_size as usize,
                }
            };
        }
        Ok(())
    }

    fn sys_rt_sigsuspend(&mut self, mask: UserIn<Sigset>, sigsetsize: usize) -> SysResult<isize> {
        if sigsetsize != 8 {
            return Err(LinuxError::EINVAL);
        }
        let mask = mask.read(self.mem())?;
        Err(signal::suspend(self.thread(), mask))
    }

    fn sys_rt_sigaction(
        &mut self,
        signum: i32,
        act: Option<UserIn<Sigaction>>,
        oldact: Option<UserOut<Sigaction>>,
        sigsetsize: usize,
    ) -> SysResult<()> {
        if sigsetsize != 8 {
            return Err(LinuxError::EINVAL);
        }
        check_signal(signum)?;
        if act.is_some() && (signum == SIGKILL || signum == SIGSTOP) {
            return Err(LinuxError::EINVAL);
        }
        let new = match act {
            Some(act) => Some(act.read(self.mem())?),
            None => None,
        };
        let process = self.process().clone();
        let mut actions = process.sigactions.lock();
        let slot = &mut actions[signum as usize - 1];
        if let Some(oldact) = oldact {
            let old = Sigaction {
                sa_handler: slot.handler as u64,
                sa_flags: slot.flags,
                sa_restorer: slot.restorer as u64,
                sa_mask: slot.mask,
            };
            oldact.write(self.mem(), &old)?;
        }
        if let Some(new) = new {
            *slot = SigAction {
                handler: new.sa_handler as usize,
                flags: new.sa_flags,
                restorer: new.sa_restorer as usize,
                mask: new.sa_mask & !UNBLOCKABLE,
            };
        }
        Ok(())
    }

    fn sys_rt_sigpending(&mut self, set: UserOutBytes, sigsetsize: usize) -> SysResult<()> {
        let pending = signal::pending_blocked(self.thread()).to_ne_bytes();
        set.write_from(self.mem(), 0, &pending[..sigsetsize])
    }

    fn sys_rt_sigtimedwait(
        &mut self,
        set: UserIn<Sigset>,
        info: Option<UserOut<Siginfo>>,
        timeout: Option<UserIn<Timespec>>,
        sigsetsize: usize,
    ) -> SysResult<isize> {
        if sigsetsize != 8 {
            return Err(LinuxError::EINVAL);
        }
        let wanted = set.read(self.mem())?;
        let timeout = match timeout {
            Some(pointer) => Some(crate::time::timespec_to_duration(&pointer.read(self.mem())?)?),
            None => None,
        };
        let (sig, details) = signal::wait_for_signal(self.thread(), wanted, timeout)?;
        if let Some(info) = info {
            info.write(self.mem(), &signal::siginfo(sig, details))?;
        }
        Ok(sig as isize)
    }

    fn sys_rt_sigprocmask(
        &mut self,
        how: i32,
        set: Option<UserIn<Sigset>>,
        oldset: Option<UserOut<Sigset>>,
        sigsetsize: usize,
    ) -> SysResult<()> {
        if sigsetsize != 8 {
            return Err(LinuxError::EINVAL);
        }
        let new = match set {
            Some(set) => {
                if !matches!(how, SIG_BLOCK | SIG_UNBLOCK | SIG_SETMASK) {
                    return Err(LinuxError::EINVAL);
                }
                Some(set.read(self.mem())?)
            }
            None => None,
        };
        let old = self.thread().sigmask();
        if let Some(oldset) = oldset {
            oldset.write(self.mem(), &old)?;
        }
        if let Some(new) = new {
            let mask = match how {
                SIG_BLOCK => old | new,
                SIG_UNBLOCK => old & !new,
                _ => new,
            };
            self.thread().sigmask.store(mask & !UNBLOCKABLE, Ordering::Relaxed);
        }
        Ok(())
    }

    fn sys_rt_sigreturn(&mut self) -> SysResult<isize> {
        // The kernel's exception entry runs rt_sigreturn itself
        // (`signal::sigreturn`) because it needs the trap frame, so a call
        // that gets here has no frame to return to. Linux kills the process
        // with SIGSEGV for a bad frame.
        exit_current_process(ExitStatus::Signal(SIGSEGV))
    }

    fn sys_setgid(&mut self, gid: u32) -> SysResult<()> {
        if gid == u32::MAX {
            return Err(LinuxError::EINVAL);
        }
        let mut creds = self.process().creds.lock();
        if creds.euid == 0 {
            creds.gid = gid;
            creds.sgid = gid;
        } else if gid != creds.gid && gid != creds.sgid {
            return Err(LinuxError::EPERM);
        }
        creds.egid = gid;
        self.process().fs.lock().gid = gid;
        Ok(())
    }

    fn sys_setuid(&mut self, uid: u32) -> SysResult<()> {
        if uid == u32::MAX {
            return Err(LinuxError::EINVAL);
        }
        let mut creds = self.process().creds.lock();
        if creds.euid == 0 {
            creds.uid = uid;
            creds.suid = uid;
        } else if uid != creds.uid && uid != creds.suid {
            return Err(LinuxError::EPERM);
        }
        creds.euid = uid;
        self.process().fs.lock().uid = uid;
        Ok(())
    }

    fn sys_getresuid(&mut self, ruid: UserOut<u32>, euid: UserOut<u32>, suid: UserOut<u32>) -> SysResult<()> {
        let creds = *self.process().creds.lock();
        ruid.write(self.mem(), &creds.uid)?;
        euid.write(self.mem(), &creds.euid)?;
        suid.write(self.mem(), &creds.suid)
    }

    fn sys_getpriority(&mut self, which: i32, who: i32) -> SysResult<isize> {
        creds::get_priority(self.process(), which, who)
    }

    fn sys_setpriority(&mut self, which: i32, who: i32, prio: i32) -> SysResult<()> {
        creds::set_priority(self.process(), which, who, prio)
    }

    fn sys_setreuid(&mut self, ruid: u32, euid: u32) -> SysResult<()> {
        creds::set_re_uid(self.process(), ruid, euid)
    }

    fn sys_setregid(&mut self, rgid: u32, egid: u32) -> SysResult<()> {
        creds::set_re_gid(self.process(), rgid, egid)
    }

    fn sys_setresuid(&mut self, ruid: u32, euid: u32, suid: u32) -> SysResult<()> {
        creds::set_res_uid(self.process(), [ruid, euid, suid])
    }

    fn sys_setresgid(&mut self, rgid: u32, egid: u32, sgid: u32) -> SysResult<()> {
        creds::set_res_gid(self.process(), [rgid, egid, sgid])
    }

    fn sys_getgroups(&mut self, _size: i32, list: UserOutSlice<u32>) -> SysResult<usize> {
        // The decoder has rejected a negative size (EINVAL above max_len).
        let groups = creds::groups_for(self.process(), list.len())?;
        if !list.is_empty() {
            list.write_from(self.mem(), 0, &groups)?;
        }
        Ok(groups.len())
    }

    fn sys_setgroups(&mut self, _size: i32, list: UserInSlice<u32>) -> SysResult<()> {
        let groups = list.read_to_vec(self.mem())?;
        creds::set_groups(self.process(), groups)
    }

    fn sys_getresgid(&mut self, rgid: UserOut<u32>, egid: UserOut<u32>, sgid: UserOut<u32>) -> SysResult<()> {
        let creds = *self.process().creds.lock();
        rgid.write(self.mem(), &creds.gid)?;
        egid.write(self.mem(), &creds.egid)?;
        sgid.write(self.mem(), &creds.sgid)
    }

    fn sys_setpgid(&mut self, pid: i32, pgid: i32) -> SysResult<()> {
        if pgid < 0 {
            return Err(LinuxError::EINVAL);
        }
        let caller = self.process().clone();
        let target = if self.is_self(pid) {
            caller.clone()
        } else {
            let target = self.process_by_pid(pid)?;
            // Only the caller and its own children can be moved.
            if target.ppid() != caller.pid {
                return Err(LinuxError::ESRCH);
            }
            if target.sid() != caller.sid() {
                return Err(LinuxError::EPERM);
            }
            if target.did_exec.load(Ordering::Relaxed) {
                return Err(LinuxError::EACCES);
            }
            target
        };
        // A session leader cannot change its group, not even to its own.
        if target.sid() == target.pid {
            return Err(LinuxError::EPERM);
        }
        let pgid = if pgid == 0 { target.pid } else { pgid as u32 };
        // Joining an existing group needs a member in the caller's session.
        if pgid != target.pid
            && !super::group_members(pgid)
                .iter()
                .any(|member| member.sid() == caller.sid())
        {
            return Err(LinuxError::EPERM);
        }
        target.pgid.store(pgid, Ordering::Relaxed);
        Ok(())
    }

    fn sys_getpgid(&mut self, pid: i32) -> SysResult<isize> {
        Ok(self.process_by_pid(pid)?.pgid() as isize)
    }

    fn sys_getsid(&mut self, pid: i32) -> SysResult<isize> {
        Ok(self.process_by_pid(pid)?.sid() as isize)
    }

    fn sys_setsid(&mut self) -> SysResult<isize> {
        let process = self.process().clone();
        // Linux rejects the call while any group has the caller's pid as its
        // id, which covers a caller that leads its own group.
        if !super::group_members(process.pid).is_empty() {
            return Err(LinuxError::EPERM);
        }
        process.pgid.store(process.pid, Ordering::Relaxed);
        process.sid.store(process.pid, Ordering::Relaxed);
        Ok(process.pid as isize)
    }

    fn sys_getrlimit(&mut self, resource: u32, rlim: UserOut<Rlimit>) -> SysResult<()> {
        let limit = self.get_rlimit(resource)?;
        rlim.write(self.mem(), &limit)
    }

    fn sys_setrlimit(&mut self, resource: u32, rlim: UserIn<Rlimit>) -> SysResult<()> {
        let new = rlim.read(self.mem())?;
        self.set_rlimit(resource, new)
    }

    fn sys_prlimit64(
        &mut self,
        pid: i32,
        resource: u32,
        new_limit: Option<UserIn<Rlimit>>,
        old_limit: Option<UserOut<Rlimit>>,
    ) -> SysResult<()> {
        if !self.is_self(pid) {
            return Err(LinuxError::ESRCH);
        }
        let new = match new_limit {
            Some(new_limit) => Some(new_limit.read(self.mem())?),
            None => None,
        };
        let old = self.get_rlimit(resource)?;
        if let Some(old_limit) = old_limit {
            old_limit.write(self.mem(), &old)?;
        }
        if let Some(new) = new {
            self.set_rlimit(resource, new)?;
        }
        Ok(())
    }

    fn sys_getrusage(&mut self, who: i32, usage: UserOut<Rusage>) -> SysResult<()> {
        let mut result = Rusage::default();
        match who {
            RUSAGE_SELF => set_cpu_times(&mut result, self.process_cpu_times()),
            RUSAGE_THREAD => set_cpu_times(&mut result, self.thread_cpu_times()),
            RUSAGE_CHILDREN => set_cpu_times(&mut result, self.process().cpu.children()),
            _ => return Err(LinuxError::EINVAL),
        }
        usage.write(self.mem(), &result)
    }

    fn sys_umask(&mut self, mask: u32) -> SysResult<isize> {
        let old = self.process().fs.lock().set_umask(mask & 0o777);
        Ok(old as isize)
    }

    fn sys_getpid(&mut self) -> SysResult<isize> {
        Ok(self.process().pid as isize)
    }

    fn sys_execve(
        &mut self,
        _path: syscall_abi::UserPath,
        _argv: Option<syscall_abi::UserCStrArray>,
        _envp: Option<syscall_abi::UserCStrArray>,
    ) -> SysResult<()> {
        // The kernel's exception entry runs execve itself (`fork::execve`)
        // because it replaces the trap frame; a call that gets here is a
        // kernel bug.
        error!("execve reached the syscall table");
        Err(LinuxError::ENOSYS)
    }

    fn sys_execveat(
        &mut self,
        _dirfd: syscall_abi::DirFd,
        _path: syscall_abi::UserCStr,
        _argv: Option<syscall_abi::UserCStrArray>,
        _envp: Option<syscall_abi::UserCStrArray>,
        _flags: i32,
    ) -> SysResult<()> {
        // Like execve, the exception entry runs it (`fork::execveat`).
        error!("execveat reached the syscall table");
        Err(LinuxError::ENOSYS)
    }

    fn sys_getppid(&mut self) -> SysResult<isize> {
        Ok(self.process().ppid() as isize)
    }

    fn sys_getuid(&mut self) -> SysResult<isize> {
        Ok(self.process().creds.lock().uid as isize)
    }

    fn sys_geteuid(&mut self) -> SysResult<isize> {
        Ok(self.process().creds.lock().euid as isize)
    }

    fn sys_getgid(&mut self) -> SysResult<isize> {
        Ok(self.process().creds.lock().gid as isize)
    }

    fn sys_getegid(&mut self) -> SysResult<isize> {
        Ok(self.process().creds.lock().egid as isize)
    }

    fn sys_gettid(&mut self) -> SysResult<isize> {
        Ok(self.thread().tid as isize)
    }

    fn sys_sched_yield(&mut self) -> SysResult<()> {
        axtask::yield_now();
        Ok(())
    }

    fn sys_sched_setaffinity(&mut self, pid: i32, _cpusetsize: usize, mask: UserInBytes) -> SysResult<()> {
        if !self.is_self(pid) {
            return Err(LinuxError::ESRCH);
        }
        // Only the first byte can name CPU 0; Linux ignores the bytes
        // beyond its own mask's size, and so does this.
        let mut first = [0u8; 1];
        if !mask.is_empty() {
            mask.read_into(self.mem(), 0, &mut first)?;
        }
        if first[0] & 1 == 0 {
            return Err(LinuxError::EINVAL);
        }
        Ok(())
    }

    fn sys_sched_get_priority_max(&mut self, policy: i32) -> SysResult<isize> {
        match policy {
            SCHED_FIFO | SCHED_RR => Ok(99),
            SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok(0),
            _ => Err(LinuxError::EINVAL),
        }
    }

    fn sys_sched_get_priority_min(&mut self, policy: i32) -> SysResult<isize> {
        match policy {
            SCHED_FIFO | SCHED_RR => Ok(1),
            SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok(0),
            _ => Err(LinuxError::EINVAL),
        }
    }

    fn sys_sched_rr_get_interval(&mut self, pid: i32, tp: UserOut<Timespec>) -> SysResult<()> {
        if pid < 0 {
            return Err(LinuxError::EINVAL);
        }
        if !self.is_self(pid) {
            return Err(LinuxError::ESRCH);
        }
        // A task in user mode runs until the next tick.
        let period = crate::timer::tick_period();
        let slice = Timespec {
            tv_sec: period.as_secs() as i64,
            tv_nsec: i64::from(period.subsec_nanos()),
        };
        tp.write(self.mem(), &slice)
    }

    fn sys_sched_getaffinity(&mut self, pid: i32, cpusetsize: usize, mask: UserOutBytes) -> SysResult<usize> {
        if !self.is_self(pid) {
            return Err(LinuxError::ESRCH);
        }
        // The kernel's CPU mask is one `unsigned long`; a smaller or
        // unaligned buffer is EINVAL, as on Linux.
        if cpusetsize < 8 || !cpusetsize.is_multiple_of(8) {
            return Err(LinuxError::EINVAL);
        }
        let one_cpu = 1u64.to_ne_bytes();
        mask.write_from(self.mem(), 0, &one_cpu)?;
        Ok(8)
    }

    fn sys_clone(
        &mut self,
        flags: CloneFlags,
        stack: usize,
        parent_tid: usize,
        tls: usize,
        child_tid: usize,
    ) -> SysResult<isize> {
        thread::clone_thread(flags, stack, parent_tid, tls, child_tid)
    }

    fn sys_waitid(
        &mut self,
        which: i32,
        upid: i32,
        infop: Option<UserOut<Siginfo>>,
        options: WaitidOptions,
        rusage: Option<UserOut<Rusage>>,
    ) -> SysResult<()> {
        let pid = fork::waitid_selector(which, upid)?;
        let reported = WaitidOptions::EXITED | WaitidOptions::STOPPED | WaitidOptions::CONTINUED;
        if !options.intersects(reported) {
            return Err(LinuxError::EINVAL);
        }
        let exited = fork::wait_for_child(
            pid,
            options.contains(WaitidOptions::NOHANG),
            !options.contains(WaitidOptions::NOWAIT),
            options.contains(WaitidOptions::EXITED),
        )?;
        if let Some(infop) = infop {
            // With WNOHANG and no exited child, Linux zeroes the fields.
            let info = exited.as_ref().map_or_else(Siginfo::default, |(child, status)| {
                signal::child_siginfo(child.pid, child.creds.lock().uid, *status)
            });
            infop.write(self.mem(), &info)?;
        }
        if let Some(rusage) = rusage {
            // The child's times, with those of the children it reaped.
            let mut usage = Rusage::default();
            if let Some((child, _)) = &exited {
                set_cpu_times(&mut usage, cputime::reaped_times(child));
            }
            rusage.write(self.mem(), &usage)?;
        }
        Ok(())
    }

    fn sys_wait4(
        &mut self,
        pid: i32,
        wstatus: Option<UserOut<i32>>,
        options: WaitOptions,
        rusage: Option<UserOut<Rusage>>,
    ) -> SysResult<isize> {
        let Some((child, status)) = fork::wait4(pid, options)? else {
            return Ok(0);
        };
        if let Some(wstatus) = wstatus {
            wstatus.write(self.mem(), &status)?;
        }
        if let Some(rusage) = rusage {
            // The child's times, with those of the children it reaped.
            let mut usage = Rusage::default();
            set_cpu_times(&mut usage, cputime::reaped_times(&child));
            rusage.write(self.mem(), &usage)?;
        }
        Ok(child.pid as isize)
    }

    fn sys_rseq(&mut self, _rseq: usize, _rseq_len: u32, _flags: i32, _sig: u32) -> SysResult<()> {
        // Not supported; glibc and musl carry on without it.
        Err(LinuxError::ENOSYS)
    }
}

/// Sets the user and system time of `usage` to `times`.
fn set_cpu_times(usage: &mut Rusage, times: cputime::CpuTimes) {
    let timeval = |time: Duration| Timeval {
        tv_sec: time.as_secs() as i64,
        tv_usec: time.subsec_micros() as i64,
    };
    usage.ru_utime = timeval(times.user_time());
    usage.ru_stime = timeval(times.system_time());
}

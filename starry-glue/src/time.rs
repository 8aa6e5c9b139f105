//! Clocks and sleeping: the time syscalls, and the wall clock the file
//! systems use for timestamps.

use core::{
    sync::atomic::{AtomicI64, Ordering},
    time::Duration,
};

use axhal::time::{monotonic_time_nanos, wall_time_nanos};
use syscall_abi::{
    Itimerval, LinuxError, SysResult, SyscallContext, TimeSyscalls, Timespec, Timeval, Timezone, Tms, UserIn,
    UserOut,
};

use crate::{
    Handler,
    process::{cputime::process_times, current_thread, find_process, find_thread, itimer},
};

const NANOS_PER_SEC: u64 = 1_000_000_000;

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
const CLOCK_MONOTONIC_RAW: i32 = 4;
const CLOCK_REALTIME_COARSE: i32 = 5;
const CLOCK_MONOTONIC_COARSE: i32 = 6;
const CLOCK_BOOTTIME: i32 = 7;
const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_BOOTTIME_ALARM: i32 = 9;
const CLOCK_TAI: i32 = 11;

/// `TIMER_ABSTIME` of clock_nanosleep.
const TIMER_ABSTIME: i32 = 1;
/// How often a sleeping thread checks for signals.
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(10);
/// Clock ticks per second of `times` (`USER_HZ`).
const USER_HZ: u64 = 100;
/// Resolution of the coarse clocks: one scheduler tick (`ticks-per-sec` is
/// 100 in kernel/axconfig.toml).
const COARSE_RESOLUTION_NS: i64 = 10_000_000;

/// The change that clock_settime made to CLOCK_REALTIME, in nanoseconds.
static REALTIME_ADJUSTMENT_NS: AtomicI64 = AtomicI64::new(0);

/// CLOCK_REALTIME in nanoseconds since the epoch: the PL031 RTC read at
/// boot, plus the generic timer since, plus what clock_settime changed.
fn realtime_nanos() -> u64 {
    let adjustment = REALTIME_ADJUSTMENT_NS.load(Ordering::Relaxed);
    wall_time_nanos().saturating_add_signed(adjustment)
}

/// Returns the wall-clock time (CLOCK_REALTIME).
pub fn wall_clock() -> starry_vfs::TimeSpec {
    let nanos = realtime_nanos();
    starry_vfs::TimeSpec::new((nanos / NANOS_PER_SEC) as i64, (nanos % NANOS_PER_SEC) as u32)
}

/// CLOCK_REALTIME as a duration since the epoch.
pub fn realtime() -> Duration {
    Duration::from_nanos(realtime_nanos())
}

/// CLOCK_MONOTONIC (and CLOCK_BOOTTIME: the kernel never suspends).
pub fn monotonic() -> Duration {
    Duration::from_nanos(monotonic_time_nanos())
}

fn to_timespec(time: Duration) -> Timespec {
    Timespec {
        tv_sec: time.as_secs() as i64,
        tv_nsec: time.subsec_nanos() as i64,
    }
}

/// Converts a user `timespec` to a duration: `EINVAL` for a negative time
/// or nanoseconds outside 0..1e9.
pub fn timespec_to_duration(ts: &Timespec) -> SysResult<Duration> {
    if ts.tv_sec < 0 || !(0..NANOS_PER_SEC as i64).contains(&ts.tv_nsec) {
        return Err(LinuxError::EINVAL);
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

impl Handler {
    fn clock_now(&self, clockid: i32) -> SysResult<Duration> {
        match clockid {
            CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_REALTIME_ALARM | CLOCK_TAI => Ok(realtime()),
            CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME
            | CLOCK_BOOTTIME_ALARM => Ok(monotonic()),
            CLOCK_PROCESS_CPUTIME_ID => Ok(self.process_cpu_times().total()),
            CLOCK_THREAD_CPUTIME_ID => Ok(self.thread_cpu_times().total()),
            _ if clockid < 0 => self.cpu_clock_now(clockid),
            _ => Err(LinuxError::EINVAL),
        }
    }

    /// Reads the CPU-time clock that a negative id names, as
    /// `clock_getcpuclockid` and `pthread_getcpuclockid` build it. The id is
    /// the bitwise NOT of a pid or tid (0 for the caller) shifted left by 3.
    /// Bit 2 marks a thread clock, which must name a thread of the calling
    /// process, as on Linux. Bits 0 and 1 select the time: Linux's
    /// CPUCLOCK_PROF (0) and CPUCLOCK_SCHED (2) count user and system time,
    /// CPUCLOCK_VIRT (1) user time only.
    fn cpu_clock_now(&self, clockid: i32) -> SysResult<Duration> {
        const PER_THREAD: i32 = 4;
        const VIRT: i32 = 1;
        const WHICH_MASK: i32 = 3;
        let id = !(clockid >> 3) as u32;
        let times = if clockid & PER_THREAD != 0 {
            let process = self.process();
            let thread = match id {
                0 => current_thread(),
                tid => find_thread(process.pid, tid).ok_or(LinuxError::EINVAL)?,
            };
            thread.cpu.times()
        } else {
            let process = match id {
                0 => self.process().clone(),
                pid => find_process(pid).ok_or(LinuxError::EINVAL)?,
            };
            process_times(&process)
        };
        match clockid & WHICH_MASK {
            VIRT => Ok(times.user_time()),
            WHICH_MASK => Err(LinuxError::EINVAL),
            _ => Ok(times.total()),
        }
    }

    /// Sleeps until `request` of `clockid` (absolute) or for `request`.
    /// A signal ends the sleep with `EINTR`, writing the time left to
    /// `remain` for a relative sleep.
    fn sleep(
        &self,
        clockid: i32,
        absolute: bool,
        request: Duration,
        remain: Option<UserOut<Timespec>>,
    ) -> SysResult<()> {
        let start = monotonic();
        let duration = if absolute {
            request.saturating_sub(self.clock_now(clockid)?)
        } else {
            request
        };
        let deadline = start + duration;
        loop {
            let now = monotonic();
            if now >= deadline {
                return Ok(());
            }
            if crate::process::signal::has_pending_signal() {
                if let (Some(remain), false) = (remain, absolute) {
                    remain.write(self.mem(), &to_timespec(deadline - now))?;
                }
                return Err(LinuxError::EINTR);
            }
            // Short steps, so that a signal ends the sleep soon.
            crate::timer::sleep_step(deadline - now, SIGNAL_CHECK_INTERVAL);
        }
    }
}

impl TimeSyscalls for Handler {
    fn sys_getitimer(&mut self, which: i32, curr_value: UserOut<Itimerval>) -> SysResult<()> {
        let value = itimer::get(self.process(), which)?;
        curr_value.write(self.mem(), &value)
    }

    fn sys_setitimer(
        &mut self,
        which: i32,
        new_value: Option<UserIn<Itimerval>>,
        old_value: Option<UserOut<Itimerval>>,
    ) -> SysResult<()> {
        let new = match new_value {
            Some(pointer) => pointer.read(self.mem())?,
            None => Itimerval::default(),
        };
        let old = itimer::set(self.process(), which, &new)?;
        if let Some(pointer) = old_value {
            pointer.write(self.mem(), &old)?;
        }
        Ok(())
    }

    fn sys_nanosleep(&mut self, duration: UserIn<Timespec>, rem: Option<UserOut<Timespec>>) -> SysResult<()> {
        let request = timespec_to_duration(&duration.read(self.mem())?)?;
        self.sleep(CLOCK_MONOTONIC, false, request, rem)
    }

    fn sys_clock_gettime(&mut self, clockid: i32, tp: UserOut<Timespec>) -> SysResult<()> {
        let now = self.clock_now(clockid)?;
        tp.write(self.mem(), &to_timespec(now))
    }

    fn sys_clock_settime(&mut self, clockid: i32, tp: UserIn<Timespec>) -> SysResult<()> {
        // Linux's order: the clock, the copy, the time, the permission.
        // Only CLOCK_REALTIME can be set.
        if clockid != CLOCK_REALTIME {
            return Err(LinuxError::EINVAL);
        }
        let time = timespec_to_duration(&tp.read(self.mem())?)?;
        if self.process().creds.lock().euid != 0 {
            return Err(LinuxError::EPERM);
        }
        let target = i64::try_from(time.as_nanos()).map_err(|_| LinuxError::EINVAL)?;
        let adjustment = target - wall_time_nanos() as i64;
        REALTIME_ADJUSTMENT_NS.store(adjustment, Ordering::Relaxed);
        Ok(())
    }

    fn sys_clock_getres(&mut self, clockid: i32, res: Option<UserOut<Timespec>>) -> SysResult<()> {
        self.clock_now(clockid)?;
        let nanos = match clockid {
            CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => COARSE_RESOLUTION_NS,
            // Linux reports 1 ns for its high-resolution clocks too.
            _ => 1,
        };
        if let Some(res) = res {
            res.write(
                self.mem(),
                &Timespec {
                    tv_sec: 0,
                    tv_nsec: nanos,
                },
            )?;
        }
        Ok(())
    }

    fn sys_clock_nanosleep(
        &mut self,
        clockid: i32,
        flags: i32,
        request: UserIn<Timespec>,
        remain: Option<UserOut<Timespec>>,
    ) -> SysResult<()> {
        match clockid {
            CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_TAI | CLOCK_PROCESS_CPUTIME_ID => {}
            CLOCK_THREAD_CPUTIME_ID => return Err(LinuxError::EINVAL),
            _ => return Err(LinuxError::EINVAL),
        }
        let request = timespec_to_duration(&request.read(self.mem())?)?;
        self.sleep(clockid, flags & TIMER_ABSTIME != 0, request, remain)
    }

    fn sys_gettimeofday(&mut self, tv: Option<UserOut<Timeval>>, tz: Option<UserOut<Timezone>>) -> SysResult<()> {
        if let Some(tv) = tv {
            let now = realtime();
            let value = Timeval {
                tv_sec: now.as_secs() as i64,
                tv_usec: now.subsec_micros() as i64,
            };
            tv.write(self.mem(), &value)?;
        }
        if let Some(tz) = tz {
            tz.write(self.mem(), &Timezone::default())?;
        }
        Ok(())
    }

    fn sys_times(&mut self, buf: Option<UserOut<Tms>>) -> SysResult<isize> {
        let to_ticks = |time: Duration| (time.as_nanos() as u64 * USER_HZ / NANOS_PER_SEC) as i64;
        if let Some(buf) = buf {
            let own = self.process_cpu_times();
            let children = self.process().cpu.children();
            let tms = Tms {
                tms_utime: to_ticks(own.user_time()),
                tms_stime: to_ticks(own.system_time()),
                tms_cutime: to_ticks(children.user_time()),
                tms_cstime: to_ticks(children.system_time()),
            };
            buf.write(self.mem(), &tms)?;
        }
        Ok(to_ticks(monotonic()) as isize)
    }
}

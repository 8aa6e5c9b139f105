//! Syscall tracing: strace-style lines and per-syscall counts with the time
//! each call took, measured with the generic timer counter.
//!
//! The kernel turns tracing on at boot with [`configure`] and gives it a
//! sink for the text. When tracing is off, [`dispatch`] costs one relaxed
//! atomic load more than a plain `syscall_abi::dispatch`.

use core::sync::atomic::{AtomicBool, Ordering};

use axerrno::LinuxError;
use spin::Once;
use syscall_abi::{RetKind, SyscallContext};

use crate::{handler::Handler, process::signal::Restart};

/// Whether any tracing is on: lines or counts.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Whether each selected call is written as a line.
static LINES: AtomicBool = AtomicBool::new(false);
/// The destination of trace lines, set once by the kernel.
static SINK: Once<fn(&str)> = Once::new();

/// The parts of tracing to turn on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceConfig {
    /// Write one strace line per selected call.
    pub lines: bool,
    /// Count calls, errors and time per syscall.
    pub counts: bool,
}

/// Turn on the parts of tracing that `config` selects, writing lines through
/// `sink`. The
/// `-e trace=` filter is applied separately with
/// `syscall_abi::trace::filter::apply`.
pub fn configure(config: TraceConfig, sink: fn(&str)) {
    SINK.call_once(|| sink);
    LINES.store(config.lines, Ordering::Relaxed);
    ACTIVE.store(config.lines || config.counts, Ordering::Relaxed);
}

/// Run syscall `nr` through `syscall_abi::dispatch`, tracing it when
/// tracing is on.
pub fn dispatch(handler: &mut Handler, nr: usize, args: [usize; 6]) -> isize {
    if !ACTIVE.load(Ordering::Relaxed) {
        return syscall_abi::dispatch(handler, nr, args);
    }
    dispatch_traced(handler, nr, args)
}

fn now_nanos() -> u64 {
    axhal::time::ticks_to_nanos(axhal::time::current_ticks())
}

/// The process whose lines carry no `[pid N]` prefix: init, as strace
/// leaves out the prefix for the process it started.
const INIT_PID: u32 = 1;

/// Returns the result text of an interrupted call that may run again, in
/// the form strace gives the kernel's internal codes. `None` for a plain
/// `EINTR`.
fn restart_result(ret: Option<isize>) -> Option<&'static str> {
    let eintr = -(LinuxError::EINTR.code() as isize);
    if ret != Some(eintr) {
        return None;
    }
    match *crate::process::current_thread().restart.lock() {
        Some(Restart::UnlessHandlerWithoutSaRestart) => Some("? ERESTARTSYS (To be restarted if SA_RESTART is set)"),
        Some(Restart::UnlessHandler) => Some("? ERESTARTNOHAND (To be restarted if no handler)"),
        Some(Restart::Never) | None => None,
    }
}

/// The result text of a plain `EINTR`, which [`restart_result`] replaces.
const EINTR_RESULT: &str = "-1 EINTR (Interrupted system call)";

fn write_line(handler: &Handler, nr: usize, args: &[usize; 6], ret: Option<isize>) {
    let Some(sink) = SINK.get() else {
        return;
    };
    let mut call = syscall_abi::trace_line(handler.mem(), nr, args, ret);
    if let Some(restart) = restart_result(ret)
        && call.ends_with(EINTR_RESULT)
    {
        call.truncate(call.len() - EINTR_RESULT.len());
        call.push_str(restart);
    }
    let pid = handler.process().pid;
    let line = if pid == INIT_PID {
        alloc::format!("{call}\n")
    } else {
        alloc::format!("[pid {pid}] {call}\n")
    };
    sink(&line);
}

#[inline(never)]
fn dispatch_traced(handler: &mut Handler, nr: usize, args: [usize; 6]) -> isize {
    let info = syscall_abi::info(nr);
    let selected = match info {
        Some(info) => info.counters.selected(),
        None => syscall_abi::trace::filter::unknown_selected(),
    };
    let lines = selected && LINES.load(Ordering::Relaxed);

    // exit and exit_group do not return: count and write them first, with
    // `= ?` as strace shows them.
    if info.is_some_and(|info| info.ret == RetKind::NoReturn) {
        if let Some(info) = info {
            info.counters.record(0, 0);
        }
        if lines {
            write_line(handler, nr, &args, None);
        }
        return syscall_abi::dispatch(handler, nr, args);
    }

    let start = now_nanos();
    let ret = syscall_abi::dispatch(handler, nr, args);
    let elapsed = now_nanos().saturating_sub(start);
    match info {
        Some(info) => info.counters.record(ret, elapsed),
        None => syscall_abi::trace::record_unknown(nr, elapsed),
    }
    if lines {
        write_line(handler, nr, &args, Some(ret));
    }
    ret
}

//! Syscall analysis: strace-style call lines, per-call counters for an
//! `strace -c` summary, strace's `-e trace=` filter and the errno contract
//! check of the `checked` feature.
//!
//! The kernel decides when to trace and where the output goes. This module
//! only formats and counts, so that host tests can check every line.

pub mod filter;
pub mod format;
pub mod summary;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bitflags::bitflags;
use spin::Mutex;

use crate::{Level, LinuxError, SyscallInfo};

bitflags! {
    /// strace's `-e trace=%class` classes of a spec entry. `FILE`, `DESC`
    /// and `MEMORY` are derived from the entry's arguments and family; the
    /// spec's `class` field sets the others.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct TraceClasses: u8 {
        /// Takes a file name.
        const FILE = 1 << 0;
        /// Takes or returns a file descriptor.
        const DESC = 1 << 1;
        /// Maps or changes memory.
        const MEMORY = 1 << 2;
        /// Creates, ends or waits for processes.
        const PROCESS = 1 << 3;
        /// Handles signals.
        const SIGNAL = 1 << 4;
        /// Uses sockets.
        const NETWORK = 1 << 5;
    }
}

/// Class names as `-e trace=%name` spells them, with their bits.
pub const CLASS_NAMES: [(&str, TraceClasses); 6] = [
    ("file", TraceClasses::FILE),
    ("desc", TraceClasses::DESC),
    ("memory", TraceClasses::MEMORY),
    ("process", TraceClasses::PROCESS),
    ("signal", TraceClasses::SIGNAL),
    ("network", TraceClasses::NETWORK),
];

/// Counts of one syscall for the summary: calls, failed calls, time spent
/// and failures per errno. Also whether the filter selects it.
#[derive(Debug)]
pub struct CallCounters {
    selected: AtomicBool,
    calls: AtomicU64,
    errors: AtomicU64,
    nanos: AtomicU64,
    /// (errno, count), in the order the errors first happened.
    errnos: Mutex<Vec<(LinuxError, u64)>>,
}

impl CallCounters {
    pub const fn new() -> Self {
        Self {
            selected: AtomicBool::new(true),
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
            errnos: Mutex::new(Vec::new()),
        }
    }

    /// Add one call that took `nanos` nanoseconds and returned `ret`.
    pub fn record(&self, ret: isize, nanos: u64) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
        if let Some(errno) = result_errno(ret) {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let mut errnos = self.errnos.lock();
            match errnos.iter_mut().find(|(e, _)| *e == errno) {
                Some((_, count)) => *count += 1,
                None => errnos.push((errno, 1)),
            }
        }
    }

    /// Tell whether the `-e trace=` filter selects this syscall.
    pub fn selected(&self) -> bool {
        self.selected.load(Ordering::Relaxed)
    }

    pub fn set_selected(&self, selected: bool) {
        self.selected.store(selected, Ordering::Relaxed);
    }

    /// Copy the counts.
    pub fn snapshot(&self) -> CountSnapshot {
        CountSnapshot {
            calls: self.calls.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            nanos: self.nanos.load(Ordering::Relaxed),
            errnos: self.errnos.lock().clone(),
        }
    }

    /// Zero the counts (for tests and for a second run in one boot).
    pub fn reset(&self) {
        self.calls.store(0, Ordering::Relaxed);
        self.errors.store(0, Ordering::Relaxed);
        self.nanos.store(0, Ordering::Relaxed);
        self.errnos.lock().clear();
    }
}

impl Default for CallCounters {
    fn default() -> Self {
        Self::new()
    }
}

/// The counts of one syscall at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountSnapshot {
    pub calls: u64,
    pub errors: u64,
    pub nanos: u64,
    pub errnos: Vec<(LinuxError, u64)>,
}

/// Counts of the numbers that have no spec entry, by number.
static UNKNOWN_COUNTS: Mutex<BTreeMap<usize, CountSnapshot>> = Mutex::new(BTreeMap::new());

/// Add one call of a number that has no spec entry; it always fails with
/// `ENOSYS`.
pub fn record_unknown(nr: usize, nanos: u64) {
    let mut counts = UNKNOWN_COUNTS.lock();
    let entry = counts.entry(nr).or_default();
    entry.calls += 1;
    entry.errors += 1;
    entry.nanos += nanos;
    match entry.errnos.first_mut() {
        Some((_, count)) => *count += 1,
        None => entry.errnos.push((LinuxError::ENOSYS, 1)),
    }
}

/// Counts of the unknown numbers, by number.
pub fn unknown_counts() -> Vec<(usize, CountSnapshot)> {
    UNKNOWN_COUNTS
        .lock()
        .iter()
        .map(|(nr, counts)| (*nr, counts.clone()))
        .collect()
}

/// Return the errno of an encoded result, or `None` for a success value.
pub fn result_errno(value: isize) -> Option<LinuxError> {
    if (-4095..0).contains(&value) {
        LinuxError::try_from(-value as i32).ok()
    } else {
        None
    }
}

/// Message prefix of an errno contract violation; test runners search the
/// kernel log for it.
pub const CONTRACT_VIOLATION: &str = "errno contract violation:";

static VIOLATIONS: AtomicU64 = AtomicU64::new(0);

/// Number of errno contract violations reported so far.
pub fn contract_violations() -> u64 {
    VIOLATIONS.load(Ordering::Relaxed)
}

/// Tell whether a call to `info` may fail with `errno` under the spec: the
/// errno is in the entry's list, or it is `ENOSYS` from an entry the spec
/// does not call `full`.
pub fn errno_allowed(info: &SyscallInfo, errno: LinuxError) -> bool {
    info.errno.contains(&errno) || (errno == LinuxError::ENOSYS && info.level != Level::Full)
}

/// Check a failed call against its spec entry's errno list, and report a
/// violation as one `error!` line that starts with [`CONTRACT_VIOLATION`]
/// and names the call, its arguments (written by `format_call`, strace
/// style) and the errno. The generated shims call this when the `checked`
/// feature is on.
pub fn check_errno(
    info: &SyscallInfo,
    error: Option<&LinuxError>,
    format_call: impl FnOnce(&mut dyn core::fmt::Write) -> core::fmt::Result,
) {
    let Some(&errno) = error else {
        return;
    };
    if errno_allowed(info, errno) {
        return;
    }
    VIOLATIONS.fetch_add(1, Ordering::Relaxed);
    let mut call = alloc::string::String::new();
    let _ = format_call(&mut call);
    log::error!(
        "{CONTRACT_VIOLATION} {call} returned {errno:?}, which spec entry `{}` does not list (allowed: {:?})",
        info.name,
        info.errno
    );
}

/// Return the message strerror gives for `errno` in glibc, as strace
/// prints it after the name.
pub fn errno_message(errno: LinuxError) -> &'static str {
    use LinuxError::*;
    match errno {
        EPERM => "Operation not permitted",
        ENOENT => "No such file or directory",
        ESRCH => "No such process",
        EINTR => "Interrupted system call",
        EIO => "Input/output error",
        ENXIO => "No such device or address",
        E2BIG => "Argument list too long",
        ENOEXEC => "Exec format error",
        EBADF => "Bad file descriptor",
        ECHILD => "No child processes",
        EAGAIN => "Resource temporarily unavailable",
        ENOMEM => "Cannot allocate memory",
        EACCES => "Permission denied",
        EFAULT => "Bad address",
        EBUSY => "Device or resource busy",
        EEXIST => "File exists",
        EXDEV => "Invalid cross-device link",
        ENODEV => "No such device",
        ENOTDIR => "Not a directory",
        EISDIR => "Is a directory",
        EINVAL => "Invalid argument",
        ENFILE => "Too many open files in system",
        EMFILE => "Too many open files",
        ENOTTY => "Inappropriate ioctl for device",
        ETXTBSY => "Text file busy",
        EFBIG => "File too large",
        ENOSPC => "No space left on device",
        ESPIPE => "Illegal seek",
        EROFS => "Read-only file system",
        EMLINK => "Too many links",
        EPIPE => "Broken pipe",
        ERANGE => "Numerical result out of range",
        EDEADLK => "Resource deadlock avoided",
        ENAMETOOLONG => "File name too long",
        ENOSYS => "Function not implemented",
        ENOTEMPTY => "Directory not empty",
        ELOOP => "Too many levels of symbolic links",
        ENODATA => "No data available",
        EOVERFLOW => "Value too large for defined data type",
        ENOTSOCK => "Socket operation on non-socket",
        EOPNOTSUPP => "Operation not supported",
        EAFNOSUPPORT => "Address family not supported by protocol",
        EADDRINUSE => "Address already in use",
        ECONNREFUSED => "Connection refused",
        ETIMEDOUT => "Connection timed out",
        other => other.as_str(),
    }
}

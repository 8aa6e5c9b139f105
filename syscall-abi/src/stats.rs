//! Counters of default-body (`ENOSYS`) calls and unknown syscall numbers.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::{Arch, LinuxError, SYSCALLS, SysResult, SyscallInfo};

/// Per-entry state of the default method body: whether it warned, and how
/// many calls reached it.
#[derive(Debug)]
pub struct StubCounter {
    warned: AtomicBool,
    calls: AtomicU64,
}

impl StubCounter {
    pub const fn new() -> Self {
        Self {
            warned: AtomicBool::new(false),
            calls: AtomicU64::new(0),
        }
    }

    pub fn count(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Default for StubCounter {
    fn default() -> Self {
        Self::new()
    }
}

/// Body of every default handler method: warn once per syscall, count the
/// call and return `ENOSYS`.
pub fn not_implemented<T>(info: &'static SyscallInfo) -> SysResult<T> {
    if !info.stub_calls.warned.swap(true, Ordering::Relaxed) {
        log::warn!("syscall {} is not implemented; returning ENOSYS", info.name);
    }
    info.stub_calls.calls.fetch_add(1, Ordering::Relaxed);
    Err(LinuxError::ENOSYS)
}

/// Called on every call of an entry whose spec level is `stub`: its handler
/// returns without doing the work, so warn once per syscall with the spec's
/// note. The trace summary counts these calls with the other stub entries.
pub fn stub_called(info: &'static SyscallInfo) {
    if !info.stub_calls.warned.swap(true, Ordering::Relaxed) {
        log::warn!("syscall {} is a stub: {}", info.name, info.note);
    }
}

/// Numbers below this get one warning each; larger ones share one.
const WARN_BITMAP_BITS: usize = 1024;

static UNKNOWN_WARNED: [AtomicU64; WARN_BITMAP_BITS / 64] =
    [const { AtomicU64::new(0) }; WARN_BITMAP_BITS / 64];
static LARGE_UNKNOWN_WARNED: AtomicBool = AtomicBool::new(false);
static UNKNOWN_CALLS: AtomicU64 = AtomicU64::new(0);

/// Handle a number that has no spec entry: warn once per number and return
/// `-ENOSYS`.
pub fn unknown_syscall(arch: Arch, nr: usize) -> isize {
    UNKNOWN_CALLS.fetch_add(1, Ordering::Relaxed);
    let first = if nr < WARN_BITMAP_BITS {
        let bit = 1u64 << (nr % 64);
        UNKNOWN_WARNED[nr / 64].fetch_or(bit, Ordering::Relaxed) & bit == 0
    } else {
        !LARGE_UNKNOWN_WARNED.swap(true, Ordering::Relaxed)
    };
    if first {
        log::warn!(
            "unknown {} syscall number {nr}; returning ENOSYS",
            arch.as_str()
        );
    }
    -(LinuxError::ENOSYS as i32 as isize)
}

/// Number of calls with a number that has no spec entry.
pub fn unknown_calls() -> u64 {
    UNKNOWN_CALLS.load(Ordering::Relaxed)
}

/// Entries whose default body was reached, with their call counts.
pub fn stubs_hit() -> impl Iterator<Item = (&'static str, u64)> {
    SYSCALLS
        .iter()
        .map(|info| (info.name, info.enosys_count()))
        .filter(|(_, count)| *count > 0)
}

/// Number of distinct entries whose default body was reached.
pub fn stubs_hit_count() -> usize {
    stubs_hit().count()
}

//! Clocks and sleeping: the time syscalls, and the wall clock the file
//! systems use for timestamps.

use axhal::time::{monotonic_time_nanos, wall_time_nanos};

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// The wall-clock time (CLOCK_REALTIME), from the PL031 RTC read at boot plus
/// the generic timer since.
pub fn wall_clock() -> starry_vfs::TimeSpec {
    let nanos = wall_time_nanos();
    starry_vfs::TimeSpec::new((nanos / NANOS_PER_SEC) as i64, (nanos % NANOS_PER_SEC) as u32)
}

/// Nanoseconds since boot (CLOCK_MONOTONIC and CLOCK_BOOTTIME: the kernel
/// never suspends).
pub fn monotonic_nanos() -> u64 {
    monotonic_time_nanos()
}

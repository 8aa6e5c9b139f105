//! Benchmark counters, switched on by the boot argument `stats=on`.
//!
//! When on, the kernel counts syscalls (per number, with the time spent in
//! each), page faults and disk requests (with their time) and the peak of
//! allocated pages. It prints `starry-stats:` lines that scripts outside the
//! guest parse:
//!
//! - `starry-stats: user-entry uptime_ns=<n> used_kib=<n>` just before init's
//!   first user instruction;
//! - at init's exit, a summary line `starry-stats: exit ...`, a line on the
//!   disk requests, a line on the allocator's usage by kind, a line on the
//!   TLB invalidations after page-table edits and one
//!   `starry-stats: syscall ...` line for each of the syscalls that took the
//!   most time.
//!
//! Memory in use is the page allocator's used pages, which include the
//! kernel heap's pool, user pages, page tables and file caches; the kernel
//! image itself is not counted. The peak is sampled at the end of each
//! syscall and page fault, the only places where user memory grows.
//!
//! NOTE: the time of a syscall includes the time it slept (wait4, ppoll), and
//! the TLB flushes of axcpu's context switch are not counted.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use axalloc::UsageKind;

/// Syscall numbers at or above this are counted together in the last slot.
const MAX_SYSCALL_NR: usize = 512;
/// Syscalls listed in the exit report, those with the most time first.
const REPORTED_SYSCALLS: usize = 15;
const PAGE_SIZE: usize = 4096;

static ENABLED: AtomicBool = AtomicBool::new(false);

static SYSCALL_COUNT: [AtomicU64; MAX_SYSCALL_NR] = [const { AtomicU64::new(0) }; MAX_SYSCALL_NR];
static SYSCALL_NANOS: [AtomicU64; MAX_SYSCALL_NR] = [const { AtomicU64::new(0) }; MAX_SYSCALL_NR];
static USER_FAULTS: AtomicU64 = AtomicU64::new(0);
static KERNEL_FAULTS: AtomicU64 = AtomicU64::new(0);
static FAULT_NANOS: AtomicU64 = AtomicU64::new(0);
static PEAK_USED_PAGES: AtomicUsize = AtomicUsize::new(0);
static DISK_READS: AtomicU64 = AtomicU64::new(0);
static DISK_READ_SECTORS: AtomicU64 = AtomicU64::new(0);
static DISK_READ_NANOS: AtomicU64 = AtomicU64::new(0);
static DISK_WRITES: AtomicU64 = AtomicU64::new(0);
static DISK_WRITE_SECTORS: AtomicU64 = AtomicU64::new(0);
static DISK_WRITE_NANOS: AtomicU64 = AtomicU64::new(0);

/// Switches the counters on when the command line has the item `stats=on`.
pub fn init(cmdline: &str) {
    let on = cmdline.split_ascii_whitespace().any(|item| item == "stats=on");
    ENABLED.store(on, Ordering::Relaxed);
}

fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn now_nanos() -> u64 {
    axhal::time::monotonic_time_nanos()
}

fn used_pages() -> usize {
    axalloc::global_allocator().used_pages()
}

fn sample_memory() {
    PEAK_USED_PAGES.fetch_max(used_pages(), Ordering::Relaxed);
}

/// Returns the start time of an event to pass to `end_*`, or 0 when the
/// counters are off.
pub fn start() -> u64 {
    if enabled() { now_nanos() } else { 0 }
}

/// Counts one syscall that began at `start` (from [`start`]).
pub fn end_syscall(nr: usize, start: u64) {
    if !enabled() {
        return;
    }
    let slot = nr.min(MAX_SYSCALL_NR - 1);
    SYSCALL_COUNT[slot].fetch_add(1, Ordering::Relaxed);
    SYSCALL_NANOS[slot].fetch_add(now_nanos().saturating_sub(start), Ordering::Relaxed);
    sample_memory();
}

/// Counts one page fault that began at `start` (from [`start`]).
pub fn end_page_fault(is_user: bool, start: u64) {
    if !enabled() {
        return;
    }
    let counter = if is_user { &USER_FAULTS } else { &KERNEL_FAULTS };
    counter.fetch_add(1, Ordering::Relaxed);
    FAULT_NANOS.fetch_add(now_nanos().saturating_sub(start), Ordering::Relaxed);
    sample_memory();
}

/// Counts one disk request of `sectors` 512-byte sectors that began at
/// `start` (from [`start`]).
pub fn end_disk_request(write: bool, sectors: u32, start: u64) {
    if !enabled() {
        return;
    }
    let (requests, total_sectors, nanos) = if write {
        (&DISK_WRITES, &DISK_WRITE_SECTORS, &DISK_WRITE_NANOS)
    } else {
        (&DISK_READS, &DISK_READ_SECTORS, &DISK_READ_NANOS)
    };
    requests.fetch_add(1, Ordering::Relaxed);
    total_sectors.fetch_add(sectors as u64, Ordering::Relaxed);
    nanos.fetch_add(now_nanos().saturating_sub(start), Ordering::Relaxed);
}

/// Prints the user-entry marker. Called just before init's first user
/// instruction.
pub fn user_entry() {
    if !enabled() {
        return;
    }
    sample_memory();
    crate::console::write_fmt(format_args!(
        "starry-stats: user-entry uptime_ns={} used_kib={}\n",
        now_nanos(),
        used_pages() * PAGE_SIZE / 1024
    ));
}

/// Prints the exit report: totals, memory by kind and the syscalls that
/// took the most time.
pub fn report_exit(status: u8) {
    if !enabled() {
        return;
    }
    sample_memory();
    let mut syscalls = 0;
    let mut syscall_nanos = 0;
    for slot in 0..MAX_SYSCALL_NR {
        syscalls += SYSCALL_COUNT[slot].load(Ordering::Relaxed);
        syscall_nanos += SYSCALL_NANOS[slot].load(Ordering::Relaxed);
    }
    crate::console::write_fmt(format_args!(
        "starry-stats: exit status={status} uptime_ns={} used_kib={} peak_used_kib={} syscalls={syscalls} \
         syscall_ns={syscall_nanos} user_faults={} kernel_faults={} fault_ns={}\n",
        now_nanos(),
        used_pages() * PAGE_SIZE / 1024,
        PEAK_USED_PAGES.load(Ordering::Relaxed) * PAGE_SIZE / 1024,
        USER_FAULTS.load(Ordering::Relaxed),
        KERNEL_FAULTS.load(Ordering::Relaxed),
        FAULT_NANOS.load(Ordering::Relaxed),
    ));

    crate::console::write_fmt(format_args!(
        "starry-stats: disk reads={} read_sectors={} read_ns={} writes={} write_sectors={} write_ns={}\n",
        DISK_READS.load(Ordering::Relaxed),
        DISK_READ_SECTORS.load(Ordering::Relaxed),
        DISK_READ_NANOS.load(Ordering::Relaxed),
        DISK_WRITES.load(Ordering::Relaxed),
        DISK_WRITE_SECTORS.load(Ordering::Relaxed),
        DISK_WRITE_NANOS.load(Ordering::Relaxed),
    ));

    let usages = axalloc::global_allocator().usages();
    crate::console::write_fmt(format_args!(
        "starry-stats: memory heap_kib={} user_kib={} page_cache_kib={} page_table_kib={} dma_kib={}\n",
        usages.get(UsageKind::RustHeap) / 1024,
        usages.get(UsageKind::VirtMem) / 1024,
        usages.get(UsageKind::PageCache) / 1024,
        usages.get(UsageKind::PageTable) / 1024,
        usages.get(UsageKind::Dma) / 1024,
    ));

    let (full_invalidations, page_invalidations) = starry_glue::mm::tlb::invalidation_counts();
    crate::console::write_fmt(format_args!(
        "starry-stats: tlb full_flushes={full_invalidations} page_flushes={page_invalidations}\n"
    ));

    // Selection by repeated maximum: REPORTED_SYSCALLS passes over the table
    // need no allocation at exit.
    let mut reported = [usize::MAX; REPORTED_SYSCALLS];
    for rank in 0..REPORTED_SYSCALLS {
        let best = (0..MAX_SYSCALL_NR)
            .filter(|slot| !reported[..rank].contains(slot) && SYSCALL_COUNT[*slot].load(Ordering::Relaxed) > 0)
            .max_by_key(|slot| SYSCALL_NANOS[*slot].load(Ordering::Relaxed));
        let Some(slot) = best else {
            break;
        };
        reported[rank] = slot;
        crate::console::write_fmt(format_args!(
            "starry-stats: syscall nr={slot} name={} count={} total_ns={}\n",
            syscall_abi::syscall_name(slot).unwrap_or("?"),
            SYSCALL_COUNT[slot].load(Ordering::Relaxed),
            SYSCALL_NANOS[slot].load(Ordering::Relaxed),
        ));
    }
}

//! Changes to a user page table together with the TLB maintenance they
//! need, and counters of the TLB invalidations for the kernel's stats.
//!
//! The page-table crate's cursor (page_table_multiarch 0.6.2) invalidates
//! the TLB entry of every page it maps, unmaps or protects when it is
//! dropped: page by page up to 32 pages, else the whole TLB. `PageTableEdit`
//! invalidates only the pages whose old entry was valid. Under QEMU every
//! `tlbi` is costly, and a full invalidation also empties QEMU's own TLB
//! and its jump cache, so user code runs slower for a while afterwards.
//!
//! The kernel runs on one CPU (`max-cpu-num = 1` in kernel/axconfig.toml),
//! so page invalidations use the local form `TLBI VAAE1` rather than the
//! inner-shareable broadcast `TLBI VAAE1IS` that axcpu issues. QEMU 7.2
//! carries out a broadcast invalidation as "safe work": the vCPU leaves its
//! execution loop and stops every vCPU before the flush. The local form
//! flushes inside the instruction's helper.

use core::{
    mem::ManuallyDrop,
    sync::atomic::{AtomicU64, Ordering},
};

use aarch64_cpu::asm::barrier;
use axhal::paging::{MappingFlags, PageSize, PageTable, PageTableCursor, PagingResult};
use memory_addr::{PhysAddr, VirtAddr};

/// Changes of more pages than this invalidate the whole TLB instead of
/// each page (the page-table crate uses the same limit).
const MAX_PAGE_INVALIDATIONS: usize = 32;

static FULL_INVALIDATIONS: AtomicU64 = AtomicU64::new(0);
static PAGE_INVALIDATIONS: AtomicU64 = AtomicU64::new(0);

/// Returns how many times the kernel's page-table edits invalidated the
/// whole TLB and how many single pages they invalidated, since boot. The
/// invalidations of axcpu's context switch are not counted.
pub fn invalidation_counts() -> (u64, u64) {
    (
        FULL_INVALIDATIONS.load(Ordering::Relaxed),
        PAGE_INVALIDATIONS.load(Ordering::Relaxed),
    )
}

/// A batch of changes to a user page table. Dropping it makes the changes
/// visible to the translation table walker and invalidates the TLB entries
/// that changed pages had.
///
/// New entries need no invalidation: the Arm architecture (ARMv8-A) lets a
/// TLB cache only valid translations, never one that gave a Translation
/// fault, so no TLB contains an entry for a page whose entry was invalid. A
/// `DSB ISHST` makes the new entry visible to the walker and an `ISB` orders
/// the kernel's own later accesses after it. The return to user mode
/// (`ERET`) is a context synchronization event as well.
pub struct PageTableEdit<'a> {
    /// The crate's cursor. It is never dropped, so its own flush never runs.
    /// It borrows the page table and stores its flush list inline, so not
    /// dropping it leaks nothing.
    cursor: ManuallyDrop<PageTableCursor<'a>>,
    /// Pages whose valid entry was changed or removed.
    stale: [VirtAddr; MAX_PAGE_INVALIDATIONS],
    stale_len: usize,
    /// More than `MAX_PAGE_INVALIDATIONS` pages changed.
    invalidate_all: bool,
}

impl<'a> PageTableEdit<'a> {
    pub fn new(pt: &'a mut PageTable) -> Self {
        Self {
            cursor: ManuallyDrop::new(pt.cursor()),
            stale: [VirtAddr::from(0); MAX_PAGE_INVALIDATIONS],
            stale_len: 0,
            invalidate_all: false,
        }
    }

    /// Returns the page table being edited.
    pub fn page_table(&self) -> &PageTable {
        &self.cursor
    }

    fn record_stale(&mut self, vaddr: VirtAddr) {
        if self.invalidate_all {
            return;
        }
        if self.stale_len == MAX_PAGE_INVALIDATIONS {
            self.invalidate_all = true;
            return;
        }
        self.stale[self.stale_len] = vaddr;
        self.stale_len += 1;
    }

    /// Maps the 4 KiB page at `vaddr` to `frame`. Fails when the page has an
    /// entry already, so the entry this writes was always invalid before.
    pub fn map_new(&mut self, vaddr: VirtAddr, frame: PhysAddr, flags: MappingFlags) -> PagingResult {
        self.cursor.map(vaddr, frame, PageSize::Size4K, flags)
    }

    /// Removes the entry of the page at `vaddr` and returns its frame and
    /// flags. Fails with `NotMapped` when the page has no valid entry.
    pub fn unmap(&mut self, vaddr: VirtAddr) -> PagingResult<(PhysAddr, MappingFlags, PageSize)> {
        let result = self.cursor.unmap(vaddr);
        if result.is_ok() {
            self.record_stale(vaddr);
        }
        result
    }

    /// Changes the flags of the page at `vaddr`. Fails with `NotMapped` when
    /// the page has no valid entry.
    pub fn protect(&mut self, vaddr: VirtAddr, flags: MappingFlags) -> PagingResult<PageSize> {
        let result = self.cursor.protect(vaddr, flags);
        if result.is_ok() {
            self.record_stale(vaddr);
        }
        result
    }
}

impl Drop for PageTableEdit<'_> {
    fn drop(&mut self) {
        // The `tlbi` that follows must come after the entry writes, else the
        // walker could load an old entry again after the invalidation.
        barrier::dsb(barrier::ISHST);
        barrier::isb(barrier::SY);
        if self.invalidate_all {
            FULL_INVALIDATIONS.fetch_add(1, Ordering::Relaxed);
            axhal::asm::flush_tlb(None);
            return;
        }
        PAGE_INVALIDATIONS.fetch_add(self.stale_len as u64, Ordering::Relaxed);
        for &vaddr in &self.stale[..self.stale_len] {
            invalidate_page_local(vaddr);
        }
        // Completes the invalidations before any later access. `NSH` is
        // enough because no other CPU shares this TLB.
        barrier::dsb(barrier::NSH);
        barrier::isb(barrier::SY);
    }
}

/// Invalidates this CPU's TLB entries of the page at `vaddr`, for every
/// ASID and every level of the walk (`TLBI VAAE1`). The caller completes
/// it with a `DSB` and an `ISB`.
fn invalidate_page_local(vaddr: VirtAddr) {
    const _: () = assert!(axconfig::plat::MAX_CPU_NUM == 1, "local TLB invalidation needs a one-CPU kernel");
    // The operand contains VA[55:12] in bits [43:0].
    let operand = (vaddr.as_usize() >> 12) & ((1 << 44) - 1);
    // SAFETY: `TLBI` only drops cached translations, so the walker reloads
    // them from the page table. It reads and writes no memory and changes
    // no register.
    unsafe { core::arch::asm!("tlbi vaae1, {0}", in(reg) operand, options(nostack, preserves_flags)) };
}

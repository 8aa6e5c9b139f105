//! The user address space: memory areas in a B-tree by start address over
//! an aarch64 page table, with lazily allocated anonymous pages.
//!
//! axmm 0.3.0-preview.3 has an `AddrSpace` too, but its `protect` changes only
//! the page table and leaves the area flags stale, so a later fault or a
//! user-memory check would use the old permissions. This type keeps both in
//! step, which mprotect needs. The areas are kept here and not in
//! `memory_set::MemorySet` (0.4.1), whose `unmap`, `protect` and
//! `find_free_area` visit every area, so each mmap and munmap took time in
//! proportion to the number of mappings.

use alloc::{
    collections::BTreeMap,
    vec::{self, Vec},
};
use core::cell::RefCell;

use axalloc::{UsageKind, global_allocator};
use axerrno::LinuxError;
use axhal::{
    mem::{phys_to_virt, virt_to_phys},
    paging::{MappingFlags, PageTable},
};
use memory_addr::{MemoryAddr, PAGE_SIZE_4K, PageIter4K, PhysAddr, VirtAddr, VirtAddrRange};

use super::{
    free_ranges::FreeSpace,
    shared_frames::{mark_dirty, share_frame, unshare_frame},
    tlb::PageTableEdit,
};

mod file_pages;

pub use file_pages::FileBacking;
use file_pages::UnmappedFilePages;

/// The first address past user space (48-bit virtual addresses, as Linux on
/// aarch64).
pub const USER_ADDR_END: usize = 1 << 48;
/// The lowest address a mapping may start at (Linux's default
/// `vm.mmap_min_addr`).
pub const USER_ADDR_MIN: usize = 0x1_0000;
/// The lowest address of the zone where mmap places a mapping that gets no
/// usable hint, while that zone has room (see `FreeSpace`).
pub const MMAP_BASE: usize = 0x7f00_0000_0000;
/// The top of the main thread's stack. mmap places no mapping above it on
/// its own, as Linux places none above the stack; MAP_FIXED may.
pub const USER_STACK_TOP: usize = 0xffff_ffff_0000;

/// The backend of a memory area. A private area owns its frames; a shared
/// area (MAP_SHARED) shares them with the copies fork makes, counting the
/// mappings of each frame in `shared_frames`. Frames are allocated at map
/// time (`populate`) or on the first access. A shared mapping of a regular
/// file gets each page from the file on first access, and its dirty pages
/// go back to the file (`file_pages`).
#[derive(Clone)]
pub struct Backend {
    populate: bool,
    shared: bool,
    /// Mapped with MAP_NORESERVE: the overcommit check skips the area.
    no_reserve: bool,
    /// The file of a shared file mapping, with the file offset of the
    /// area's first page.
    file: Option<FileBacking>,
}

impl Backend {
    pub const fn new(populate: bool) -> Self {
        Self {
            populate,
            shared: false,
            no_reserve: false,
            file: None,
        }
    }

    pub const fn shared(populate: bool) -> Self {
        Self {
            populate,
            shared: true,
            no_reserve: false,
            file: None,
        }
    }

    /// Creates the backend of a MAP_SHARED mapping of a regular file.
    pub fn shared_file(file: FileBacking) -> Self {
        Self {
            populate: false,
            shared: true,
            no_reserve: false,
            file: Some(file),
        }
    }

    /// Returns the same backend for a MAP_NORESERVE mapping.
    pub fn without_reserve(self) -> Self {
        Self { no_reserve: true, ..self }
    }

    /// Returns whether Linux's overcommit heuristic counts the pages of a
    /// writable area with this backend: private and not MAP_NORESERVE.
    pub fn counts_when_writable(&self) -> bool {
        !self.shared && !self.no_reserve
    }

    /// Returns the same kind of backend, with frames allocated on first access.
    pub fn lazy(&self) -> Self {
        Self {
            populate: false,
            ..self.clone()
        }
    }

    /// Returns this backend for an area that starts `bytes` further on, so
    /// a file mapping's offset moves by `bytes`.
    pub fn skip(mut self, bytes: usize) -> Self {
        if let Some(file) = &mut self.file {
            file.offset += bytes as u64;
        }
        self
    }

    /// Returns the page-table flags of a page with protection `prot` that
    /// the process has not written since it was mapped or written back. A
    /// file mapping's page has no write permission then, so that the first
    /// write faults and marks the page dirty.
    fn clean_pte_flags(&self, prot: MappingFlags) -> MappingFlags {
        if self.file.is_some() {
            pte_flags(prot) - MappingFlags::WRITE
        } else {
            pte_flags(prot)
        }
    }
}

/// Frees the frame of an unmapped page of an area with backend `backend`.
fn release_frame(backend: &Backend, frame: PhysAddr) {
    if !backend.shared || unshare_frame(frame) {
        dealloc_frame(frame);
    }
}

/// Converts the protection of an area into page-table flags. A page that the
/// process may not access at all (PROT_NONE) stays mapped for the kernel only,
/// so that its frame is kept and freed with the area.
pub fn pte_flags(prot: MappingFlags) -> MappingFlags {
    let access = MappingFlags::READ | MappingFlags::WRITE | MappingFlags::EXECUTE;
    if prot.intersects(access) {
        (prot & access) | MappingFlags::READ | MappingFlags::USER
    } else {
        MappingFlags::READ
    }
}

/// Returns whether an area with protection `prot` allows an access of kind
/// `access` (READ, WRITE and/or EXECUTE). As on Linux for arm64, write and
/// execute permission imply read permission.
pub fn prot_allows(prot: MappingFlags, access: MappingFlags) -> bool {
    let mut effective = prot;
    if prot.intersects(MappingFlags::WRITE | MappingFlags::EXECUTE) {
        effective |= MappingFlags::READ;
    }
    let access = access & (MappingFlags::READ | MappingFlags::WRITE | MappingFlags::EXECUTE);
    effective.contains(access)
}

/// Ranges of at least this many pages are searched for pages with a frame
/// by walking the page table's present entries, not page by page. So the
/// time of fork, munmap, mprotect and exit grows with the pages a process
/// touched, not with the size of its mappings (a lazy mapping of 64 GiB
/// has 16 million pages).
const PAGE_WALK_MIN_PAGES: usize = 4096;
/// Level of the page-table entries that map 4 KiB pages (4 levels).
const LEAF_LEVEL: usize = 3;

/// The pages of a range that may have a frame, in address order.
enum CandidatePages {
    /// Every page of a small range.
    All(PageIter4K<VirtAddr>),
    /// The pages of a large range that the page table maps.
    Mapped(vec::IntoIter<VirtAddr>),
}

impl Iterator for CandidatePages {
    type Item = VirtAddr;

    fn next(&mut self) -> Option<VirtAddr> {
        match self {
            Self::All(pages) => pages.next(),
            Self::Mapped(pages) => pages.next(),
        }
    }
}

/// Returns the pages of `[start, end)` that may have a frame. A small range
/// yields all its pages without reading the page table (the caller's
/// `unmap` or `protect` fails on those without an entry), so it needs no
/// allocation. A large one yields only the pages with a valid entry.
fn candidate_pages(pt: &PageTable, start: VirtAddr, end: VirtAddr) -> CandidatePages {
    if (end - start) / PAGE_SIZE_4K < PAGE_WALK_MIN_PAGES {
        return CandidatePages::All(PageIter4K::new(start, end).unwrap());
    }
    let range = start.as_usize()..end.as_usize();
    let pages = RefCell::new(Vec::new());
    let collect = |level: usize, _index: usize, vaddr: VirtAddr, _entry: &_| {
        if level == LEAF_LEVEL && range.contains(&vaddr.as_usize()) {
            pages.borrow_mut().push(vaddr);
        }
    };
    pt.walk(usize::MAX, Some(&collect), None);
    CandidatePages::Mapped(pages.into_inner().into_iter())
}

/// Returns how many pages of `[start, end)` have no frame yet.
fn absent_pages(pt: &PageTable, start: VirtAddr, end: VirtAddr) -> usize {
    let present = candidate_pages(pt, start, end)
        .filter(|&page| pt.query(page).is_ok())
        .count();
    (end - start) / PAGE_SIZE_4K - present
}

/// Free pages that user memory never takes (8 MiB): the kernel's heap and
/// the page tables still grow from them when a process has used up the
/// rest, because axalloc panics when the heap cannot grow.
const KERNEL_RESERVE_PAGES: usize = 2048;

/// Allocates one page for user memory, unless only the kernel's reserve is
/// left. Returns its kernel virtual address.
fn alloc_user_page() -> Option<usize> {
    let allocator = global_allocator();
    if allocator.available_pages() <= KERNEL_RESERVE_PAGES {
        return None;
    }
    allocator.alloc_pages(1, PAGE_SIZE_4K, UsageKind::VirtMem).ok()
}

fn alloc_zeroed_frame() -> Option<PhysAddr> {
    let vaddr = alloc_user_page()?;
    // SAFETY: the allocator returned a page of kernel memory that nothing else
    // refers to yet.
    unsafe { core::ptr::write_bytes(vaddr as *mut u8, 0, PAGE_SIZE_4K) };
    Some(virt_to_phys(VirtAddr::from(vaddr)))
}

/// Allocates a frame that starts with `bytes` (at most one page) and is
/// zero past them.
fn alloc_frame_with(bytes: &[u8]) -> Option<PhysAddr> {
    assert!(bytes.len() <= PAGE_SIZE_4K);
    let vaddr = alloc_user_page()?;
    let frame = vaddr as *mut u8;
    // SAFETY: the allocator returned a page of kernel memory that nothing else
    // refers to yet, so it cannot overlap `bytes`, and `bytes` fits in it.
    unsafe {
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), frame, bytes.len());
        core::ptr::write_bytes(frame.add(bytes.len()), 0, PAGE_SIZE_4K - bytes.len());
    }
    Some(virt_to_phys(VirtAddr::from(vaddr)))
}

fn dealloc_frame(frame: PhysAddr) {
    global_allocator().dealloc_pages(phys_to_virt(frame).as_usize(), 1, UsageKind::VirtMem);
}

/// Removes the pages of `[start, end)` from the page table and frees their
/// frames, for an area with backend `backend`.
fn unmap_pages(edit: &mut PageTableEdit, backend: &Backend, start: VirtAddr, end: VirtAddr) {
    for vaddr in candidate_pages(edit.page_table(), start, end) {
        if let Ok((frame, _, _)) = edit.unmap(vaddr) {
            release_frame(backend, frame);
        }
    }
}

/// Removes the pages of `[start, end)`, in an area with backend `backend`,
/// from the page table. Their frames are freed, except those of a file
/// mapping: they go to `file_pages`, to be written back when dirty and
/// freed after the edit has invalidated their TLB entries.
fn remove_pages(
    edit: &mut PageTableEdit,
    backend: &Backend,
    start: VirtAddr,
    end: VirtAddr,
    file_pages: &mut Vec<UnmappedFilePages>,
) {
    match &backend.file {
        None => unmap_pages(edit, backend, start, end),
        Some(file) => file_pages.push(UnmappedFilePages::take(edit, file, start, end)),
    }
}

/// Sets the page-table flags of protection `prot` on the pages of
/// `[start, end)` that have a frame. Pages not allocated yet get them when
/// they are populated.
fn protect_pages(edit: &mut PageTableEdit, start: VirtAddr, end: VirtAddr, prot: MappingFlags) {
    for vaddr in candidate_pages(edit.page_table(), start, end) {
        let _ = edit.protect(vaddr, pte_flags(prot));
    }
}

/// Allocates and maps a frame for every page of `[start, end)`. When the
/// frames run out, the pages mapped so far are unmapped and freed again,
/// because the caller adds no area on failure, so nothing else would free
/// them.
fn populate_pages(pt: &mut PageTable, backend: &Backend, start: VirtAddr, end: VirtAddr, prot: MappingFlags) -> Result<(), LinuxError> {
    let mut edit = PageTableEdit::new(pt);
    for vaddr in PageIter4K::new(start, end).unwrap() {
        let mapped = match alloc_zeroed_frame() {
            Some(frame) => {
                let mapped = edit.map_new(vaddr, frame, pte_flags(prot)).is_ok();
                if !mapped {
                    dealloc_frame(frame);
                } else if backend.shared {
                    share_frame(frame);
                }
                mapped
            }
            None => false,
        };
        if !mapped {
            unmap_pages(&mut edit, backend, start, vaddr);
            return Err(LinuxError::ENOMEM);
        }
    }
    Ok(())
}

/// The reason a user page fault could not be served. Each kind has its own
/// signal on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultError {
    /// No mapping contains the address (SIGSEGV, `SEGV_MAPERR`).
    NotMapped,
    /// The mapping does not allow the access (SIGSEGV, `SEGV_ACCERR`).
    Denied,
    /// A page of a shared file mapping wholly past the end of the file, or
    /// one the file could not be read for (SIGBUS, `BUS_ADRERR`).
    BadFilePage,
    /// No frame was free. Linux's OOM killer would kill a process with
    /// SIGKILL.
    OutOfMemory,
}

/// One mapping of the address space: the pages from its start (the key in
/// `AddrSpace::areas`) up to `end`, with the same protection and backend.
struct Area {
    end: VirtAddr,
    prot: MappingFlags,
    backend: Backend,
    /// The page right after the pages of the area's last write fault: a
    /// write fault there continues a sequential fill (`fault_around`).
    next_sequential_write: VirtAddr,
}

/// How far past a write fault that continues a sequential fill the absent
/// pages of a private writable area get a frame too
/// (`AddrSpace::fault_around`).
const FAULT_AROUND_BYTES: usize = 64 * 1024;
/// Fault-around stops when fewer pages than this are free (64 MiB).
const FAULT_AROUND_MIN_FREE_PAGES: usize = 16 * 1024;

/// The address space of one process.
pub struct AddrSpace {
    /// The mappings by start address. They never overlap, and adjacent ones
    /// are not merged.
    areas: BTreeMap<VirtAddr, Area>,
    /// The ranges no area covers.
    free: FreeSpace,
    pt: PageTable,
}

fn new_free_space() -> FreeSpace {
    FreeSpace::new(USER_ADDR_MIN, MMAP_BASE, USER_STACK_TOP)
}

fn check_range(start: VirtAddr, size: usize) -> Result<(), LinuxError> {
    if !start.is_aligned_4k() || size == 0 || !size.is_multiple_of(PAGE_SIZE_4K) {
        return Err(LinuxError::EINVAL);
    }
    let end = start.as_usize().checked_add(size).ok_or(LinuxError::ENOMEM)?;
    if end > USER_ADDR_END {
        return Err(LinuxError::ENOMEM);
    }
    Ok(())
}

impl AddrSpace {
    /// Creates an empty address space with its own page-table root.
    pub fn new() -> Result<Self, LinuxError> {
        Ok(Self {
            areas: BTreeMap::new(),
            free: new_free_space(),
            pt: PageTable::try_new().map_err(|_| LinuxError::ENOMEM)?,
        })
    }

    /// Returns the physical address of the page-table root (for TTBR0_EL1).
    pub fn page_table_root(&self) -> PhysAddr {
        self.pt.root_paddr()
    }

    /// Returns the area containing `vaddr`, with its start.
    fn area_at(&self, vaddr: VirtAddr) -> Option<(VirtAddr, &Area)> {
        self.areas
            .range(..=vaddr)
            .next_back()
            .filter(|(_, area)| area.end > vaddr)
            .map(|(&start, area)| (start, area))
    }

    /// Splits the area that contains `addr` past its start into two areas
    /// that meet at `addr`.
    fn split_at(&mut self, addr: VirtAddr) {
        let Some((&start, area)) = self.areas.range_mut(..addr).next_back() else {
            return;
        };
        if area.end <= addr {
            return;
        }
        let right = Area {
            end: area.end,
            prot: area.prot,
            backend: area.backend.clone().skip(addr - start),
            next_sequential_write: area.next_sequential_write,
        };
        area.end = addr;
        self.areas.insert(addr, right);
    }

    /// Maps `[start, start + size)` with protection `prot`. An existing mapping
    /// in the range is replaced when `replace` is set, else the call fails with
    /// `EEXIST`.
    pub fn map(
        &mut self,
        start: VirtAddr,
        size: usize,
        prot: MappingFlags,
        populate: bool,
        replace: bool,
    ) -> Result<(), LinuxError> {
        self.map_with(start, size, prot, Backend::new(populate), replace)
    }

    /// Maps `[start, start + size)` as `map` does, with `backend`.
    pub fn map_with(
        &mut self,
        start: VirtAddr,
        size: usize,
        prot: MappingFlags,
        backend: Backend,
        replace: bool,
    ) -> Result<(), LinuxError> {
        check_range(start, size)?;
        if self.overlaps(start, size) {
            if !replace {
                return Err(LinuxError::EEXIST);
            }
            self.unmap(start, size)?;
        }
        let end = start + size;
        if backend.populate {
            populate_pages(&mut self.pt, &backend, start, end, prot)?;
        }
        // No page is 0, so the first write fault never counts as sequential.
        let next_sequential_write = VirtAddr::from(0);
        self.areas.insert(start, Area { end, prot, backend, next_sequential_write });
        self.free.reserve(start.as_usize(), end.as_usize());
        Ok(())
    }

    /// Removes every mapping in `[start, start + size)`; holes are allowed.
    pub fn unmap(&mut self, start: VirtAddr, size: usize) -> Result<(), LinuxError> {
        check_range(start, size)?;
        let end = start + size;
        self.split_at(start);
        self.split_at(end);
        let mut edit = PageTableEdit::new(&mut self.pt);
        let mut file_pages = Vec::new();
        while let Some(area_start) = self.areas.range(start..end).next().map(|(&s, _)| s) {
            let area = self.areas.remove(&area_start).unwrap();
            remove_pages(&mut edit, &area.backend, area_start, area.end, &mut file_pages);
        }
        drop(edit);
        file_pages::finish_unmap(file_pages);
        self.free.release(start.as_usize(), end.as_usize());
        Ok(())
    }

    /// Changes the protection of the mapped pages in `[start, start + size)`.
    /// Fails with `ENOMEM` when part of the range is not mapped, as Linux
    /// does, and with `EACCES` when `prot` allows writing to a shared
    /// mapping of a file that is not open for writing.
    pub fn protect(&mut self, start: VirtAddr, size: usize, prot: MappingFlags) -> Result<(), LinuxError> {
        check_range(start, size)?;
        if !self.is_fully_mapped(start, size) {
            return Err(LinuxError::ENOMEM);
        }
        let writes_read_only_file = |area: &Area| {
            prot.contains(MappingFlags::WRITE) && area.backend.file.as_ref().is_some_and(|file| !file.writable)
        };
        if !self.is_covered_by(start, size, |area| !writes_read_only_file(area)) {
            return Err(LinuxError::EACCES);
        }
        let end = start + size;
        self.split_at(start);
        self.split_at(end);
        let mut edit = PageTableEdit::new(&mut self.pt);
        for (&area_start, area) in self.areas.range_mut(start..end) {
            if area.prot == prot {
                continue;
            }
            area.prot = prot;
            if area.backend.file.is_some() {
                file_pages::protect_file_pages(&mut edit, &area.backend, area_start, area.end, prot);
            } else {
                protect_pages(&mut edit, area_start, area.end, prot);
            }
        }
        Ok(())
    }

    /// Returns whether every page of `[start, start + size)` belongs to an area.
    pub fn is_fully_mapped(&self, start: VirtAddr, size: usize) -> bool {
        self.is_covered_by(start, size, |_| true)
    }

    /// Returns whether the areas that overlap `[start, start + size)` cover it
    /// without holes and all satisfy `accept`.
    fn is_covered_by(&self, start: VirtAddr, size: usize, accept: impl Fn(&Area) -> bool) -> bool {
        let end = start + size;
        let Some((_, first)) = self.area_at(start) else {
            return false;
        };
        if !accept(first) {
            return false;
        }
        // Areas do not overlap, so the next one must start where the last
        // one ended.
        let mut next = first.end;
        while next < end {
            match self.areas.get(&next) {
                Some(area) if accept(area) => next = area.end,
                _ => return false,
            }
        }
        true
    }

    /// Returns whether `[start, start + size)` is mapped without holes by
    /// areas that all have protection `prot` and the same kind of backend.
    /// Adjacent areas like these are what Linux merges into one mapping,
    /// for example after mremap grew a mapping in place.
    /// Areas of a shared file mapping must also map the file without gaps.
    pub fn is_one_mapping(&self, start: VirtAddr, size: usize, prot: MappingFlags) -> bool {
        let end = start + size;
        let Some((mut area_start, mut area)) = self.area_at(start) else {
            return false;
        };
        let shared = area.backend.shared;
        loop {
            if area.prot != prot || area.backend.shared != shared {
                return false;
            }
            if area.end >= end {
                return true;
            }
            // Areas do not overlap, so the next one must start where this
            // one ends.
            let Some(next) = self.areas.get(&area.end) else {
                return false;
            };
            let continues = match (&area.backend.file, &next.backend.file) {
                (None, None) => true,
                (Some(file), Some(next_file)) => file.continues_with(next_file, area.end - area_start),
                _ => false,
            };
            if !continues {
                return false;
            }
            area_start = area.end;
            area = next;
        }
    }

    /// Returns the area containing `vaddr`: its range and protection.
    pub fn find_area(&self, vaddr: VirtAddr) -> Option<(VirtAddrRange, MappingFlags)> {
        self.area_at(vaddr)
            .map(|(start, area)| (VirtAddrRange::new(start, area.end), area.prot))
    }

    /// Returns the backend of the area containing `vaddr`, as the backend
    /// of an area that starts at `vaddr`'s page.
    pub fn area_backend(&self, vaddr: VirtAddr) -> Option<Backend> {
        self.area_at(vaddr)
            .map(|(start, area)| area.backend.clone().skip(vaddr.align_down_4k() - start))
    }

    /// Returns the bytes of `[start, start + size)` that would start to
    /// count against the overcommit limit if they became writable: those of
    /// areas that count when writable (`Backend::counts_when_writable`) and
    /// are not writable yet.
    pub fn bytes_counted_if_writable(&self, start: VirtAddr, size: usize) -> usize {
        let end = start + size;
        let first = self.area_at(start).map_or(start, |(area_start, _)| area_start);
        self.areas
            .range(first..end)
            .filter(|(_, area)| area.backend.counts_when_writable() && !area.prot.contains(MappingFlags::WRITE))
            .map(|(&area_start, area)| area.end.min(end) - area_start.max(start))
            .sum()
    }

    /// Returns whether any area overlaps `[start, start + size)`.
    pub fn overlaps(&self, start: VirtAddr, size: usize) -> bool {
        let end = start + size;
        // The area with the highest start below `end` is the only candidate
        // that can reach past `start`.
        self.areas
            .range(..end)
            .next_back()
            .is_some_and(|(_, area)| area.end > start)
    }

    /// Finds a free page-aligned range of `size` bytes: the shortest free
    /// range that fits at or above `MMAP_BASE`, else one below it. Returns
    /// `None` only when no free range of `size` bytes exists in
    /// `[USER_ADDR_MIN, USER_STACK_TOP)`.
    pub fn find_free_area(&self, size: usize) -> Option<VirtAddr> {
        self.free.find(size).map(VirtAddr::from)
    }

    /// Makes sure the page containing `vaddr` has a frame, and returns the
    /// frame's physical address. Fails with `ENOMEM` when no frame is free
    /// and with `EFAULT` for any other `FaultError`, as a syscall's user
    /// copy does on Linux.
    pub fn populate_page(&mut self, vaddr: VirtAddr, access: MappingFlags) -> Result<PhysAddr, LinuxError> {
        self.populate(vaddr, access).map_err(|err| match err {
            FaultError::OutOfMemory => LinuxError::ENOMEM,
            _ => LinuxError::EFAULT,
        })
    }

    fn populate(&mut self, vaddr: VirtAddr, access: MappingFlags) -> Result<PhysAddr, FaultError> {
        let (area_start, prot, shared, file_backed) = match self.area_at(vaddr) {
            Some((start, area)) => (start, area.prot, area.backend.shared, area.backend.file.is_some()),
            None => return Err(FaultError::NotMapped),
        };
        if !prot_allows(prot, access) {
            return Err(FaultError::Denied);
        }
        let page = vaddr.align_down_4k();
        if let Ok((paddr, _, _)) = self.pt.query(page) {
            return Ok(paddr);
        }
        if file_backed {
            return self.populate_file_page(area_start, page, access);
        }
        let frame = alloc_zeroed_frame().ok_or(FaultError::OutOfMemory)?;
        // A PROT_NONE page that was never touched has no entry yet either.
        self.map_new_frame(page, frame, pte_flags(prot), shared)
            .map_err(|_| FaultError::OutOfMemory)?;
        Ok(frame)
    }

    /// Maps `frame`, which nothing else refers to yet, at `page`, which has
    /// no entry, with page-table flags `flags`. On failure the frame is
    /// freed.
    fn map_new_frame(&mut self, page: VirtAddr, frame: PhysAddr, flags: MappingFlags, shared: bool) -> Result<(), LinuxError> {
        if PageTableEdit::new(&mut self.pt)
            .map_new(page, frame, flags)
            .is_err()
        {
            dealloc_frame(frame);
            return Err(LinuxError::ENOMEM);
        }
        if shared {
            share_frame(frame);
        }
        Ok(())
    }

    /// Serves a page fault at `vaddr` for an access of kind `access`. The
    /// error determines the signal that the caller raises.
    pub fn handle_page_fault(&mut self, vaddr: VirtAddr, access: MappingFlags) -> Result<(), FaultError> {
        if vaddr.as_usize() >= USER_ADDR_END {
            return Err(FaultError::NotMapped);
        }
        let page = vaddr.align_down_4k();
        if self.pt.query(page).is_ok() {
            // The page is present, so this is a permission fault. The first
            // write to a clean page of a file mapping takes one on purpose.
            if access.contains(MappingFlags::WRITE) && self.dirty_file_page(page) {
                return Ok(());
            }
            return Err(FaultError::Denied);
        }
        self.populate(vaddr, access)?;
        if !access.contains(MappingFlags::WRITE) {
            return Ok(());
        }
        let next = match self.area_at(page) {
            Some((_, area)) if area.next_sequential_write == page => self.fault_around(page),
            _ => page + PAGE_SIZE_4K,
        };
        if let Some((_, area)) = self.areas.range_mut(..=page).next_back() {
            area.next_sequential_write = next;
        }
        Ok(())
    }

    /// Gives frames to the absent pages of the `FAULT_AROUND_BYTES` that
    /// start at `page`, a page that a write fault just populated right after
    /// the previous write fault's pages, when its area is private and
    /// writable. Returns the address past the pages it covered.
    ///
    /// A program that writes fresh anonymous memory in address order (a
    /// heap, an arena, a growing array) would otherwise take one fault per
    /// page, and under QEMU each fault costs an exception round trip besides
    /// the kernel's work. Linux, with transparent huge pages, hands out
    /// 2 MiB at once for such areas. Only a second fault in a row starts
    /// the window, so a program that writes one page of a mapping pays for
    /// one page, and it is skipped when free memory runs low.
    fn fault_around(&mut self, page: VirtAddr) -> VirtAddr {
        let next_page = page + PAGE_SIZE_4K;
        let Some((_, area)) = self.area_at(page) else {
            return next_page;
        };
        if area.backend.shared || !area.prot.contains(MappingFlags::WRITE) {
            return next_page;
        }
        if global_allocator().available_pages() < FAULT_AROUND_MIN_FREE_PAGES {
            return next_page;
        }
        let flags = pte_flags(area.prot);
        let end = (page + FAULT_AROUND_BYTES).min(area.end);
        let mut edit = PageTableEdit::new(&mut self.pt);
        for other in PageIter4K::new(next_page, end).unwrap() {
            if edit.page_table().query(other).is_ok() {
                continue;
            }
            let Some(frame) = alloc_zeroed_frame() else {
                return other;
            };
            if edit.map_new(other, frame, flags).is_err() {
                dealloc_frame(frame);
            }
        }
        end
    }

    /// Frees the frames of `[start, start + size)` but keeps the mapping, so
    /// the next access reads zeros (MADV_DONTNEED on private anonymous pages).
    pub fn discard_pages(&mut self, start: VirtAddr, size: usize) -> Result<(), LinuxError> {
        check_range(start, size)?;
        if !self.is_fully_mapped(start, size) {
            return Err(LinuxError::ENOMEM);
        }
        let end = start + size;
        let mut edit = PageTableEdit::new(&mut self.pt);
        let mut file_pages = Vec::new();
        // The area holding `start` may begin below it.
        let first = self.areas.range(..=start).next_back().map(|(&s, _)| s);
        for (&area_start, area) in self.areas.range(first.unwrap_or(start)..end) {
            // NOTE: a page of a shared anonymous area is dropped from this
            // process only, and its data is gone once no process maps it. A
            // page of a file mapping is written back and read from the file
            // again on the next access, but it stops being shared with
            // another process that maps the same frame.
            let backend = area.backend.clone().skip(start.max(area_start) - area_start);
            remove_pages(&mut edit, &backend, area_start.max(start), area.end.min(end), &mut file_pages);
        }
        drop(edit);
        file_pages::finish_unmap(file_pages);
        Ok(())
    }

    /// Moves the pages of `[old, old + old_size)` to a new area
    /// `[new, new + new_size)` with protection `prot`, keeping their frames
    /// (mremap). The new range must be free; the old mapping is removed.
    /// Pages of the new area past `old_size` are lazily allocated.
    pub fn move_pages(
        &mut self,
        old: VirtAddr,
        old_size: usize,
        new: VirtAddr,
        new_size: usize,
        prot: MappingFlags,
    ) -> Result<(), LinuxError> {
        check_range(new, new_size)?;
        let backend = match self.area_backend(old) {
            Some(backend) => Backend {
                populate: false,
                ..backend
            },
            None => Backend::new(false),
        };
        self.map_with(new, new_size, prot, backend, false)?;
        let moved = old_size.min(new_size);
        {
            let mut edit = PageTableEdit::new(&mut self.pt);
            for page in candidate_pages(edit.page_table(), old, old + moved) {
                let offset = page - old;
                let Ok((frame, flags, _)) = edit.unmap(page) else {
                    continue;
                };
                // The new area was free, so its pages have no entries.
                if edit.map_new(new + offset, frame, flags).is_err() {
                    dealloc_frame(frame);
                }
            }
        }
        // The moved pages are no longer in the page table, so this frees
        // only the frames of pages past `new_size`.
        self.unmap(old, old_size)
    }

    /// Applies `f` to each page-sized piece of `[addr, addr + len)`, with the
    /// kernel virtual address of the piece (through the linear map) and its
    /// offset in the range. Pages are populated first, so lazy pages work and
    /// the copy never faults.
    fn for_each_chunk(
        &mut self,
        addr: usize,
        len: usize,
        access: MappingFlags,
        mut f: impl FnMut(*mut u8, usize, usize),
    ) -> Result<(), LinuxError> {
        if len == 0 {
            return Ok(());
        }
        let end = addr.checked_add(len).ok_or(LinuxError::EFAULT)?;
        if end > USER_ADDR_END {
            return Err(LinuxError::EFAULT);
        }
        // Check the whole range before changing anything.
        let mut page = VirtAddr::from(addr).align_down_4k();
        let mut writes_file_pages = false;
        while page.as_usize() < end {
            match self.area_at(page) {
                Some((_, area)) if prot_allows(area.prot, access) => {
                    writes_file_pages |= area.backend.file.is_some() && access.contains(MappingFlags::WRITE);
                }
                _ => return Err(LinuxError::EFAULT),
            }
            page += PAGE_SIZE_4K;
        }
        let mut done = 0;
        while done < len {
            let vaddr = VirtAddr::from(addr + done);
            let in_page = (PAGE_SIZE_4K - vaddr.align_offset_4k()).min(len - done);
            let frame = self.populate_page(vaddr, access)?;
            let kaddr = phys_to_virt(frame.align_down_4k() + vaddr.align_offset_4k());
            f(kaddr.as_mut_ptr(), done, in_page);
            // The write bypassed the page table, so no fault marked a clean
            // page of a file mapping dirty.
            if writes_file_pages && self.area_at(vaddr).is_some_and(|(_, area)| area.backend.file.is_some()) {
                mark_dirty(frame.align_down_4k());
            }
            done += in_page;
        }
        Ok(())
    }

    /// Copies `buf.len()` bytes from user address `addr` into `buf`.
    pub fn read(&mut self, addr: usize, buf: &mut [u8]) -> Result<(), LinuxError> {
        let dst = buf.as_mut_ptr();
        self.for_each_chunk(addr, buf.len(), MappingFlags::READ, |src, offset, len| {
            // SAFETY: `src` points at `len` bytes of one populated user frame
            // through the kernel's linear map, and `dst + offset` at `len`
            // bytes inside `buf`. A kernel buffer and a user frame never overlap.
            unsafe { core::ptr::copy_nonoverlapping(src, dst.add(offset), len) }
        })
    }

    /// Copies `buf` to user address `addr`.
    pub fn write(&mut self, addr: usize, buf: &[u8]) -> Result<(), LinuxError> {
        let src = buf.as_ptr();
        self.for_each_chunk(addr, buf.len(), MappingFlags::WRITE, |dst, offset, len| {
            // SAFETY: as in `read`, with the roles of the buffers swapped.
            unsafe { core::ptr::copy_nonoverlapping(src.add(offset), dst, len) }
        })
    }

    /// Copies the slices of `parts`, one after the other, to user address
    /// `addr`, and returns the number of bytes copied. Unlike [`Self::write`],
    /// it copies page by page and stops at the first page that is not
    /// mapped writable or fails to get a frame, so a short count is the
    /// number of bytes before that page.
    pub fn write_parts(&mut self, addr: usize, parts: &mut dyn Iterator<Item = &[u8]>) -> usize {
        let mut done = 0;
        let mut part: &[u8] = &[];
        loop {
            while part.is_empty() {
                match parts.next() {
                    Some(next) => part = next,
                    None => return done,
                }
            }
            let Some(vaddr) = addr.checked_add(done).filter(|vaddr| *vaddr < USER_ADDR_END) else {
                return done;
            };
            let vaddr = VirtAddr::from(vaddr);
            let Ok(frame) = self.populate_page(vaddr, MappingFlags::WRITE) else {
                return done;
            };
            // As in `for_each_chunk`: the copy bypasses the page table, so
            // no write fault marks a page of a shared file mapping dirty.
            if self.area_at(vaddr).is_some_and(|(_, area)| area.backend.file.is_some()) {
                mark_dirty(frame.align_down_4k());
            }
            let page = phys_to_virt(frame.align_down_4k()).as_mut_ptr();
            let mut offset = vaddr.align_offset_4k();
            while offset < PAGE_SIZE_4K {
                if part.is_empty() {
                    match parts.next() {
                        Some(next) => part = next,
                        None => break,
                    }
                    continue;
                }
                let len = part.len().min(PAGE_SIZE_4K - offset);
                // SAFETY: `page` points at the populated user frame of
                // `vaddr` through the kernel's linear map, and `offset + len`
                // stays within its 4 KiB. `part` is kernel memory, which
                // never overlaps a user frame.
                unsafe { core::ptr::copy_nonoverlapping(part.as_ptr(), page.add(offset), len) };
                part = &part[len..];
                offset += len;
                done += len;
            }
        }
    }

    /// Writes `buf` at `addr` whatever the area's protection (the ELF loader
    /// and file mmap fill read-only pages this way). A whole page without a
    /// frame gets a new frame filled with its bytes, which saves zeroing the
    /// frame first.
    pub fn write_ignoring_prot(&mut self, addr: usize, buf: &[u8]) -> Result<(), LinuxError> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = addr.checked_add(buf.len()).ok_or(LinuxError::EFAULT)?;
        if end > USER_ADDR_END {
            return Err(LinuxError::EFAULT);
        }
        // Check the whole range before changing anything.
        let first_page = VirtAddr::from(addr).align_down_4k();
        let last_end = VirtAddr::from(end).align_up_4k();
        if !self.is_fully_mapped(first_page, last_end - first_page) {
            return Err(LinuxError::EFAULT);
        }
        let mut done = 0;
        while done < buf.len() {
            let vaddr = VirtAddr::from(addr + done);
            let in_page = (PAGE_SIZE_4K - vaddr.align_offset_4k()).min(buf.len() - done);
            let bytes = &buf[done..done + in_page];
            if in_page < PAGE_SIZE_4K || !self.map_new_page_with(vaddr, bytes)? {
                let src = bytes.as_ptr();
                self.for_each_chunk(vaddr.as_usize(), in_page, MappingFlags::empty(), |dst, offset, len| {
                    // SAFETY: as in `read`, with the roles of the buffers swapped.
                    unsafe { core::ptr::copy_nonoverlapping(src.add(offset), dst, len) }
                })?;
            }
            done += in_page;
        }
        Ok(())
    }

    /// Maps the page at `page` to a new frame that contains `bytes` (one
    /// page), when the page has no frame yet. Returns whether it did.
    fn map_new_page_with(&mut self, page: VirtAddr, bytes: &[u8]) -> Result<bool, LinuxError> {
        let Some((_, area)) = self.area_at(page) else {
            return Err(LinuxError::EFAULT);
        };
        let (flags, shared) = (area.backend.clean_pte_flags(area.prot), area.backend.shared);
        if self.pt.query(page).is_ok() {
            return Ok(false);
        }
        let frame = alloc_frame_with(bytes).ok_or(LinuxError::ENOMEM)?;
        self.map_new_frame(page, frame, flags, shared)?;
        Ok(true)
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL)
    /// from user address `addr`.
    pub fn read_cstr(&mut self, addr: usize, max: usize) -> Result<Vec<u8>, LinuxError> {
        let mut out = Vec::new();
        let mut cur = addr;
        loop {
            let in_page = PAGE_SIZE_4K - (cur % PAGE_SIZE_4K);
            let mut chunk = [0u8; PAGE_SIZE_4K];
            self.read(cur, &mut chunk[..in_page])?;
            if let Some(nul) = chunk[..in_page].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..nul]);
                if out.len() > max {
                    return Err(LinuxError::ENAMETOOLONG);
                }
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..in_page]);
            if out.len() > max {
                return Err(LinuxError::ENAMETOOLONG);
            }
            cur += in_page;
        }
    }
}

impl AddrSpace {
    /// Removes every mapping and frees its frames; the page-table root stays
    /// (execve and exit).
    pub fn clear(&mut self) {
        let mut edit = PageTableEdit::new(&mut self.pt);
        let mut file_pages = Vec::new();
        for (&start, area) in &self.areas {
            remove_pages(&mut edit, &area.backend, start, area.end, &mut file_pages);
        }
        drop(edit);
        file_pages::finish_unmap(file_pages);
        self.areas.clear();
        self.free = new_free_space();
    }

    /// Creates a copy of this address space for fork: the same areas, with
    /// a private copy of every page of a private area that has a frame, and
    /// the same frames for shared areas. Untouched pages of private areas
    /// stay lazy.
    pub fn fork_copy(&mut self) -> Result<AddrSpace, LinuxError> {
        // Pages of shared areas get their frames now, so that both processes
        // see the same page even if it was never touched before.
        // NOTE: this takes time and memory in proportion to the size of the
        // shared areas, so a huge lazy MAP_SHARED mapping makes fork slow or
        // fail with ENOMEM, where Linux shares the untouched pages lazily.
        // Fork fails before it allocates anything when the untouched pages
        // need more frames than are free.
        let absent: usize = self
            .areas
            .iter()
            .filter(|(_, area)| area.backend.shared)
            .map(|(&start, area)| absent_pages(&self.pt, start, area.end))
            .sum();
        if absent > global_allocator().available_pages() {
            return Err(LinuxError::ENOMEM);
        }
        let shared_pages: Vec<VirtAddr> = self
            .areas
            .iter()
            .filter(|(_, area)| area.backend.shared)
            .flat_map(|(&start, area)| PageIter4K::new(start, area.end).unwrap())
            .collect();
        for page in shared_pages {
            self.populate_page(page, MappingFlags::empty())?;
        }
        let mut child = AddrSpace::new()?;
        for (&start, area) in &self.areas {
            let shared = area.backend.shared;
            // The child's first write to a page of a file mapping faults, so
            // that the page becomes dirty for the child too.
            let file_flags = area.backend.clean_pte_flags(area.prot);
            child.map_with(start, area.end - start, area.prot, area.backend.lazy(), false)?;
            // The child's page table is not in use yet, and all its entries
            // are new.
            let mut edit = PageTableEdit::new(&mut child.pt);
            for vaddr in candidate_pages(&self.pt, start, area.end) {
                let Ok((paddr, flags, _)) = self.pt.query(vaddr) else {
                    continue;
                };
                if shared {
                    // Both processes map the same frame.
                    let frame = paddr.align_down_4k();
                    let flags = if area.backend.file.is_some() { file_flags } else { flags };
                    if edit.map_new(vaddr, frame, flags).is_err() {
                        return Err(LinuxError::ENOMEM);
                    }
                    share_frame(frame);
                    continue;
                }
                let frame = alloc_zeroed_frame().ok_or(LinuxError::ENOMEM)?;
                // SAFETY: both frames are whole pages of RAM reached through
                // the kernel's linear map: the parent's page, and the new
                // child page that nothing else refers to yet.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        phys_to_virt(paddr.align_down_4k()).as_ptr(),
                        phys_to_virt(frame).as_mut_ptr(),
                        PAGE_SIZE_4K,
                    )
                };
                if edit.map_new(vaddr, frame, flags).is_err() {
                    dealloc_frame(frame);
                    return Err(LinuxError::ENOMEM);
                }
            }
        }
        Ok(child)
    }
}

impl Drop for AddrSpace {
    fn drop(&mut self) {
        self.clear();
    }
}

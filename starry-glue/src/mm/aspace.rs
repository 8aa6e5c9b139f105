//! The user address space: memory areas in a `memory_set::MemorySet` over an
//! aarch64 page table, with lazily allocated anonymous pages.
//!
//! axmm 0.3.0-preview.3 has an `AddrSpace` too, but its `protect` changes only
//! the page table and leaves the area flags stale, so a later fault or a
//! user-memory check would use the old permissions. This type keeps both in
//! step, which mprotect needs.

use alloc::{collections::BTreeMap, vec::Vec};
use core::cell::RefCell;

use axalloc::{UsageKind, global_allocator};
use axerrno::LinuxError;
use axhal::{
    mem::{phys_to_virt, virt_to_phys},
    paging::{MappingFlags, PageSize, PageTable},
};
use memory_addr::{MemoryAddr, PAGE_SIZE_4K, PageIter4K, PhysAddr, VirtAddr, VirtAddrRange};
use memory_set::{MappingBackend, MemoryArea, MemorySet};
use spin::Mutex;

/// The first address past user space (48-bit virtual addresses, as Linux on
/// aarch64).
pub const USER_ADDR_END: usize = 1 << 48;
/// The lowest address a mapping may start at (Linux's default
/// `vm.mmap_min_addr`).
pub const USER_ADDR_MIN: usize = 0x1_0000;
/// The start of the search for a free range when mmap gets no usable hint.
pub const MMAP_BASE: usize = 0x7f00_0000_0000;

/// The backend of a memory area. A private area owns its frames; a shared
/// area (MAP_SHARED) shares them with the copies fork makes, counting the
/// mappings of each frame in `SHARED_FRAMES`. Frames are allocated at map
/// time (`populate`) or on the first access.
#[derive(Clone)]
pub struct Backend {
    populate: bool,
    shared: bool,
}

impl Backend {
    pub const fn new(populate: bool) -> Self {
        Self {
            populate,
            shared: false,
        }
    }

    pub const fn shared(populate: bool) -> Self {
        Self {
            populate,
            shared: true,
        }
    }

    /// Returns the same kind of backend, with frames allocated on first access.
    pub const fn lazy(&self) -> Self {
        Self {
            populate: false,
            shared: self.shared,
        }
    }
}

/// The number of mappings of each frame of a shared area, by physical
/// address.
static SHARED_FRAMES: Mutex<BTreeMap<usize, usize>> = Mutex::new(BTreeMap::new());

fn share_frame(frame: PhysAddr) {
    *SHARED_FRAMES.lock().entry(frame.as_usize()).or_insert(0) += 1;
}

/// Drops one mapping of a frame of a shared area, freeing the frame with
/// its last mapping.
fn unshare_frame(frame: PhysAddr) {
    let mut frames = SHARED_FRAMES.lock();
    let last = match frames.get_mut(&frame.as_usize()) {
        Some(count) if *count > 1 => {
            *count -= 1;
            false
        }
        Some(_) => {
            frames.remove(&frame.as_usize());
            true
        }
        None => true,
    };
    drop(frames);
    if last {
        dealloc_frame(frame);
    }
}

/// Frees the frame of an unmapped page of an area with backend `backend`.
fn release_frame(backend: &Backend, frame: PhysAddr) {
    if backend.shared {
        unshare_frame(frame);
    } else {
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

/// Returns the pages of `[start, start + size)` that have a frame, in
/// address order.
fn mapped_pages(pt: &PageTable, start: VirtAddr, size: usize) -> Vec<VirtAddr> {
    let range = start.as_usize()..start.as_usize() + size;
    if size / PAGE_SIZE_4K < PAGE_WALK_MIN_PAGES {
        return PageIter4K::new(start, start + size)
            .unwrap()
            .filter(|&page| pt.query(page).is_ok())
            .collect();
    }
    let pages = RefCell::new(Vec::new());
    let collect = |level: usize, _index: usize, vaddr: VirtAddr, _entry: &_| {
        if level == LEAF_LEVEL && range.contains(&vaddr.as_usize()) {
            pages.borrow_mut().push(vaddr);
        }
    };
    pt.walk(usize::MAX, Some(&collect), None);
    pages.into_inner()
}

fn alloc_zeroed_frame() -> Option<PhysAddr> {
    let vaddr = global_allocator()
        .alloc_pages(1, PAGE_SIZE_4K, UsageKind::VirtMem)
        .ok()?;
    // SAFETY: the allocator returned a page of kernel memory that nothing else
    // refers to yet.
    unsafe { core::ptr::write_bytes(vaddr as *mut u8, 0, PAGE_SIZE_4K) };
    Some(virt_to_phys(VirtAddr::from(vaddr)))
}

fn dealloc_frame(frame: PhysAddr) {
    global_allocator().dealloc_pages(phys_to_virt(frame).as_usize(), 1, UsageKind::VirtMem);
}

impl MappingBackend for Backend {
    type Addr = VirtAddr;
    type Flags = MappingFlags;
    type PageTable = PageTable;

    /// Maps `[start, start + size)`. When a populated mapping runs out of
    /// frames, the pages mapped so far are unmapped and freed again: the
    /// caller adds no area on failure, so nothing else would free them.
    fn map(&self, start: VirtAddr, size: usize, prot: MappingFlags, pt: &mut PageTable) -> bool {
        if !self.populate {
            // Lazy pages get their frame in `AddrSpace::populate_page`.
            return true;
        }
        let mut cursor = pt.cursor();
        for vaddr in PageIter4K::new(start, start + size).unwrap() {
            let Some(frame) = alloc_zeroed_frame() else {
                drop(cursor);
                self.unmap(start, vaddr - start, pt);
                return false;
            };
            if cursor
                .map(vaddr, frame, PageSize::Size4K, pte_flags(prot))
                .is_err()
            {
                dealloc_frame(frame);
                drop(cursor);
                self.unmap(start, vaddr - start, pt);
                return false;
            }
            if self.shared {
                share_frame(frame);
            }
        }
        true
    }

    fn unmap(&self, start: VirtAddr, size: usize, pt: &mut PageTable) -> bool {
        let pages = mapped_pages(pt, start, size);
        let mut cursor = pt.cursor();
        for vaddr in pages {
            if let Ok((frame, _, _)) = cursor.unmap(vaddr) {
                release_frame(self, frame);
            }
        }
        true
    }

    fn protect(&self, start: VirtAddr, size: usize, prot: MappingFlags, pt: &mut PageTable) -> bool {
        let pages = mapped_pages(pt, start, size);
        let mut cursor = pt.cursor();
        for vaddr in pages {
            // Pages not allocated yet get the new flags when they are populated.
            let _ = cursor.protect(vaddr, pte_flags(prot));
        }
        true
    }
}

/// The address space of one process.
pub struct AddrSpace {
    areas: MemorySet<Backend>,
    pt: PageTable,
}

fn map_err(err: memory_set::MappingError) -> LinuxError {
    match err {
        memory_set::MappingError::InvalidParam => LinuxError::EINVAL,
        memory_set::MappingError::AlreadyExists => LinuxError::EEXIST,
        memory_set::MappingError::BadState => LinuxError::ENOMEM,
    }
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
            areas: MemorySet::new(),
            pt: PageTable::try_new().map_err(|_| LinuxError::ENOMEM)?,
        })
    }

    /// Returns the physical address of the page-table root (for TTBR0_EL1).
    pub fn page_table_root(&self) -> PhysAddr {
        self.pt.root_paddr()
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
        let area = MemoryArea::new(start, size, prot, backend);
        self.areas.map(area, &mut self.pt, replace).map_err(map_err)
    }

    /// Removes every mapping in `[start, start + size)`; holes are allowed.
    pub fn unmap(&mut self, start: VirtAddr, size: usize) -> Result<(), LinuxError> {
        check_range(start, size)?;
        self.areas.unmap(start, size, &mut self.pt).map_err(map_err)
    }

    /// Changes the protection of the mapped pages in `[start, start + size)`.
    /// Fails with `ENOMEM` when part of the range is not mapped, as Linux does.
    pub fn protect(&mut self, start: VirtAddr, size: usize, prot: MappingFlags) -> Result<(), LinuxError> {
        check_range(start, size)?;
        if !self.is_fully_mapped(start, size) {
            return Err(LinuxError::ENOMEM);
        }
        self.areas
            .protect(start, size, |_| Some(prot), &mut self.pt)
            .map_err(map_err)
    }

    /// Returns whether every page of `[start, start + size)` belongs to an area.
    pub fn is_fully_mapped(&self, start: VirtAddr, size: usize) -> bool {
        let end = start + size;
        let mut next = start;
        for area in self.areas.iter() {
            if area.end() <= next {
                continue;
            }
            if area.start() > next {
                return false;
            }
            next = area.end();
            if next >= end {
                return true;
            }
        }
        next >= end
    }

    /// Returns whether `[start, start + size)` is mapped without holes by
    /// areas that all have protection `prot` and the same kind of backend.
    /// Adjacent areas like these are what Linux merges into one mapping,
    /// for example after mremap grew a mapping in place.
    pub fn is_one_mapping(&self, start: VirtAddr, size: usize, prot: MappingFlags) -> bool {
        let Some(shared) = self.area_backend(start).map(|backend| backend.shared) else {
            return false;
        };
        let range = VirtAddrRange::from_start_size(start, size);
        let uniform = self
            .areas
            .iter()
            .filter(|area| area.va_range().overlaps(range))
            .all(|area| area.flags() == prot && area.backend().shared == shared);
        uniform && self.is_fully_mapped(start, size)
    }

    /// Returns the area containing `vaddr`: its range and protection.
    pub fn find_area(&self, vaddr: VirtAddr) -> Option<(VirtAddrRange, MappingFlags)> {
        self.areas
            .find(vaddr)
            .map(|area| (area.va_range(), area.flags()))
    }

    /// Returns the backend of the area containing `vaddr`.
    pub fn area_backend(&self, vaddr: VirtAddr) -> Option<Backend> {
        self.areas.find(vaddr).map(|area| area.backend().clone())
    }

    /// Returns whether any area overlaps `[start, start + size)`.
    pub fn overlaps(&self, start: VirtAddr, size: usize) -> bool {
        self.areas
            .overlaps(VirtAddrRange::from_start_size(start, size))
    }

    /// Finds a free page-aligned range of `size` bytes at or above `hint`,
    /// falling back to a search from `USER_ADDR_MIN`.
    pub fn find_free_area(&self, hint: VirtAddr, size: usize) -> Option<VirtAddr> {
        let limit = VirtAddrRange::new(VirtAddr::from(USER_ADDR_MIN), VirtAddr::from(USER_ADDR_END));
        self.areas
            .find_free_area(hint, size, limit, PAGE_SIZE_4K)
            .or_else(|| {
                self.areas
                    .find_free_area(VirtAddr::from(USER_ADDR_MIN), size, limit, PAGE_SIZE_4K)
            })
    }

    /// Makes sure the page containing `vaddr` has a frame, and returns the
    /// frame's physical address. Fails with `EFAULT` when no area contains
    /// `vaddr` or the area does not allow `access`.
    pub fn populate_page(&mut self, vaddr: VirtAddr, access: MappingFlags) -> Result<PhysAddr, LinuxError> {
        let (prot, shared) = match self.areas.find(vaddr) {
            Some(area) => (area.flags(), area.backend().shared),
            None => return Err(LinuxError::EFAULT),
        };
        if !prot_allows(prot, access) {
            return Err(LinuxError::EFAULT);
        }
        let page = vaddr.align_down_4k();
        if let Ok((paddr, _, _)) = self.pt.query(page) {
            return Ok(paddr);
        }
        let frame = alloc_zeroed_frame().ok_or(LinuxError::ENOMEM)?;
        let mut cursor = self.pt.cursor();
        // A PROT_NONE page that was never touched has no entry yet either.
        if cursor
            .map(page, frame, PageSize::Size4K, pte_flags(prot))
            .is_err()
        {
            drop(cursor);
            dealloc_frame(frame);
            return Err(LinuxError::ENOMEM);
        }
        if shared {
            share_frame(frame);
        }
        Ok(frame)
    }

    /// Serves a page fault at `vaddr` for an access of kind `access`. Returns
    /// `false` when the access is not allowed (the caller raises SIGSEGV).
    pub fn handle_page_fault(&mut self, vaddr: VirtAddr, access: MappingFlags) -> bool {
        if vaddr.as_usize() >= USER_ADDR_END {
            return false;
        }
        let page = vaddr.align_down_4k();
        if self.pt.query(page).is_ok() {
            // The page is present, so this is a permission fault.
            return false;
        }
        self.populate_page(vaddr, access).is_ok()
    }

    /// Frees the frames of `[start, start + size)` but keeps the mapping, so
    /// the next access reads zeros (MADV_DONTNEED on private anonymous pages).
    pub fn discard_pages(&mut self, start: VirtAddr, size: usize) -> Result<(), LinuxError> {
        check_range(start, size)?;
        if !self.is_fully_mapped(start, size) {
            return Err(LinuxError::ENOMEM);
        }
        for vaddr in mapped_pages(&self.pt, start, size) {
            let Some(backend) = self.area_backend(vaddr) else {
                continue;
            };
            if let Ok((frame, _, _)) = self.pt.cursor().unmap(vaddr) {
                // NOTE: a page of a shared area is dropped from this process
                // only; the data is gone once no process maps it.
                release_frame(&backend, frame);
            }
        }
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
            let pages = mapped_pages(&self.pt, old, moved);
            let mut cursor = self.pt.cursor();
            for page in pages {
                let offset = page - old;
                let Ok((frame, flags, _)) = cursor.unmap(page) else {
                    continue;
                };
                if cursor
                    .map(new + offset, frame, PageSize::Size4K, flags)
                    .is_err()
                {
                    dealloc_frame(frame);
                }
            }
        }
        // The moved pages are no longer in the page table, so this frees
        // only the frames of pages past `new_size`.
        self.areas.unmap(old, old_size, &mut self.pt).map_err(map_err)
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
        while page.as_usize() < end {
            match self.areas.find(page) {
                Some(area) if prot_allows(area.flags(), access) => {}
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

    /// Writes `buf` at `addr` whatever the area's protection (the ELF loader
    /// fills read-only segments this way).
    pub fn write_ignoring_prot(&mut self, addr: usize, buf: &[u8]) -> Result<(), LinuxError> {
        let src = buf.as_ptr();
        self.for_each_chunk(addr, buf.len(), MappingFlags::empty(), |dst, offset, len| {
            // SAFETY: as in `read`, with the roles of the buffers swapped.
            unsafe { core::ptr::copy_nonoverlapping(src.add(offset), dst, len) }
        })
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
        let _ = self.areas.clear(&mut self.pt);
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
        let shared_pages: Vec<VirtAddr> = self
            .areas
            .iter()
            .filter(|area| area.backend().shared)
            .flat_map(|area| PageIter4K::new(area.start(), area.end()).unwrap())
            .collect();
        for page in shared_pages {
            self.populate_page(page, MappingFlags::empty())?;
        }
        let mut child = AddrSpace::new()?;
        for area in self.areas.iter() {
            let shared = area.backend().shared;
            let backend = Backend {
                populate: false,
                shared,
            };
            child.map_with(area.start(), area.size(), area.flags(), backend, false)?;
            let pages = mapped_pages(&self.pt, area.start(), area.size());
            let mut cursor = child.pt.cursor();
            for vaddr in pages {
                let Ok((paddr, flags, _)) = self.pt.query(vaddr) else {
                    continue;
                };
                if shared {
                    // Both processes map the same frame.
                    let frame = paddr.align_down_4k();
                    if cursor.map(vaddr, frame, PageSize::Size4K, flags).is_err() {
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
                if cursor.map(vaddr, frame, PageSize::Size4K, flags).is_err() {
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
        let _ = self.areas.clear(&mut self.pt);
    }
}

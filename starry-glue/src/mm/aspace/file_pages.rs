//! Shared mappings of regular files: each page is read from the file on
//! its first access, and its changes go back to the file on msync, fsync,
//! munmap, mremap, execve and exit. Dirty pages are tracked per frame in
//! `shared_frames`, so a page is written back only when a process may have
//! changed it since its last write-back.

use alloc::{sync::Arc, vec::Vec};
use core::sync::atomic::{AtomicU64, Ordering};

use axerrno::LinuxError;
use axhal::{mem::phys_to_virt, paging::MappingFlags};
use memory_addr::{MemoryAddr, PAGE_SIZE_4K, PhysAddr, VirtAddr};
use starry_vfs::FileLike;

use super::{
    AddrSpace, Backend, FaultError, alloc_frame_with, candidate_pages, dealloc_frame, prot_allows, pte_flags,
};
use crate::mm::{
    shared_frames::{add_writer, mark_dirty, remove_writer, take_dirty, take_dirty_for_unmap, unshare_frame},
    tlb::PageTableEdit,
};

/// The file of a MAP_SHARED mapping of a regular file.
#[derive(Clone)]
pub struct FileBacking {
    file: Arc<dyn FileLike>,
    /// The file offset of the area's first page.
    pub(super) offset: u64,
    /// The file's device and inode numbers, which identify it for fsync.
    dev: u64,
    ino: u64,
    /// The file is open for writing, so the mapping may allow writes
    /// (Linux's VM_MAYWRITE).
    pub(super) writable: bool,
}

impl FileBacking {
    /// Creates the backing of a mapping of `file`, whose device and inode
    /// numbers are `dev` and `ino`, from byte `offset` on.
    pub fn new(file: Arc<dyn FileLike>, offset: u64, dev: u64, ino: u64) -> Self {
        let writable = file.status_flags().writable();
        Self { file, offset, dev, ino, writable }
    }

    /// Returns whether this backing maps the file with device number `dev`
    /// and inode number `ino`.
    pub fn maps_inode(&self, dev: u64, ino: u64) -> bool {
        self.dev == dev && self.ino == ino
    }

    /// Returns whether this backing maps a file of the file system with
    /// device number `dev`.
    pub fn is_on_device(&self, dev: u64) -> bool {
        self.dev == dev
    }

    /// Returns whether an area of `len` bytes with this backing and an area
    /// with backing `next` right after it map the file without a gap.
    pub(super) fn continues_with(&self, next: &FileBacking, len: usize) -> bool {
        self.maps_inode(next.dev, next.ino) && self.offset.checked_add(len as u64) == Some(next.offset)
    }
}

/// Reads the page at `offset` of `file` into a new frame: the file's bytes
/// up to its end, then zeros. Returns `None` when the page lies wholly past
/// the end of the file, where Linux raises SIGBUS.
fn read_file_page(file: &dyn FileLike, offset: u64) -> Result<Option<PhysAddr>, LinuxError> {
    let mut buf = [0u8; PAGE_SIZE_4K];
    let mut done = 0;
    while done < PAGE_SIZE_4K {
        let count = file.read_at(offset + done as u64, &mut buf[done..])?;
        if count == 0 {
            break;
        }
        done += count;
    }
    if done == 0 {
        return Ok(None);
    }
    alloc_frame_with(&buf[..done]).map(Some).ok_or(LinuxError::ENOMEM)
}

/// Writes the bytes of `frame` that lie below `file_size` to `file` at
/// `offset`, so a mapping never makes its file larger.
fn write_file_page(file: &dyn FileLike, file_size: u64, offset: u64, frame: PhysAddr) -> Result<(), LinuxError> {
    if offset >= file_size {
        return Ok(());
    }
    let len = (file_size - offset).min(PAGE_SIZE_4K as u64) as usize;
    let mut buf = [0u8; PAGE_SIZE_4K];
    // SAFETY: `frame` is a whole page of RAM that a mapping still owns,
    // reached through the kernel's linear map, and `buf` is a separate
    // kernel buffer of the same size.
    unsafe {
        core::ptr::copy_nonoverlapping(phys_to_virt(frame).as_ptr(), buf.as_mut_ptr(), len);
    }
    let mut done = 0;
    while done < len {
        let count = file.write_at(offset + done as u64, &buf[done..len])?;
        if count == 0 {
            return Err(LinuxError::EIO);
        }
        done += count;
    }
    Ok(())
}

/// Unmaps (munmap, mremap, execve, exit) whose write-back failed since
/// boot. No caller can receive their errors, so they are logged.
static FAILED_UNMAP_WRITE_BACKS: AtomicU64 = AtomicU64::new(0);

/// The first failed page write of an unmap, and how many failed in all.
struct LostPages {
    ino: u64,
    dev: u64,
    offset: u64,
    err: LinuxError,
    count: usize,
}

impl LostPages {
    /// Logs the failure at warn level: one line per unmap, and only for the
    /// 1st, 2nd, 4th, 8th... unmap that failed since boot.
    fn report(&self) {
        let failures = FAILED_UNMAP_WRITE_BACKS.fetch_add(1, Ordering::Relaxed) + 1;
        if failures.is_power_of_two() {
            warn!(
                "writing back {} pages of shared file mappings failed, so their changes are lost \
                 (first: inode {} on device {:#x} at offset {:#x}, {:?}); {failures} unmaps lost pages since boot",
                self.count, self.ino, self.dev, self.offset, self.err
            );
        }
    }
}

/// The pages that an unmap took from one file mapping. They are written
/// back if dirty and freed by `finish_unmap`, after the page-table edit has
/// invalidated their TLB entries, so that no write can reach a frame
/// during or after its write-back.
pub(super) struct UnmappedFilePages {
    /// The backing, with the file offset of `start`.
    file: FileBacking,
    start: VirtAddr,
    /// Each unmapped page: its address, its frame and whether its entry
    /// allowed writing.
    pages: Vec<(VirtAddr, PhysAddr, bool)>,
}

impl UnmappedFilePages {
    /// Removes the pages of `[start, end)` of an area with backing `file`
    /// from the page table. `file.offset` is the file offset of `start`.
    pub(super) fn take(edit: &mut PageTableEdit, file: &FileBacking, start: VirtAddr, end: VirtAddr) -> Self {
        let mut pages = Vec::new();
        for vaddr in candidate_pages(edit.page_table(), start, end) {
            if let Ok((frame, flags, _)) = edit.unmap(vaddr) {
                pages.push((vaddr, frame, flags.contains(MappingFlags::WRITE)));
            }
        }
        Self {
            file: file.clone(),
            start,
            pages,
        }
    }
}

/// Writes back the dirty frames of unmapped file pages and frees the frames
/// that no other mapping has. A failed write is logged, because munmap and
/// exit cannot report it.
pub(super) fn finish_unmap(unmapped: Vec<UnmappedFilePages>) {
    let mut lost: Option<LostPages> = None;
    for group in unmapped {
        let mut file_size = None;
        for (vaddr, frame, was_writable) in group.pages {
            if take_dirty_for_unmap(frame, was_writable) {
                let offset = group.file.offset + (vaddr - group.start) as u64;
                let size = *file_size.get_or_insert_with(|| group.file.file.stat().map(|stat| stat.size));
                let written = size.and_then(|size| write_file_page(group.file.file.as_ref(), size, offset, frame));
                if let Err(err) = written {
                    let file = &group.file;
                    lost.get_or_insert(LostPages { ino: file.ino, dev: file.dev, offset, err, count: 0 }).count += 1;
                    // Another mapping of the frame may still write it back.
                    mark_dirty(frame);
                }
            }
            if unshare_frame(frame) {
                dealloc_frame(frame);
            }
        }
    }
    if let Some(lost) = lost {
        lost.report();
    }
}

/// Sets the page-table flags of protection `prot` on the pages of
/// `[start, end)` of a file mapping with backend `backend` that have a
/// frame. A page that is writable now, and so dirty, stays writable if
/// `prot` allows writing. Every other page gets its clean flags.
pub(super) fn protect_file_pages(
    edit: &mut PageTableEdit,
    backend: &Backend,
    start: VirtAddr,
    end: VirtAddr,
    prot: MappingFlags,
) {
    for vaddr in candidate_pages(edit.page_table(), start, end) {
        let Ok((frame, flags, _)) = edit.page_table().query(vaddr) else {
            continue;
        };
        let was_writable = flags.contains(MappingFlags::WRITE);
        let stays_writable = was_writable && prot.contains(MappingFlags::WRITE);
        let new_flags = if stays_writable {
            pte_flags(prot)
        } else {
            backend.clean_pte_flags(prot)
        };
        let _ = edit.protect(vaddr, new_flags);
        if was_writable && !stays_writable {
            remove_writer(frame.align_down_4k());
        }
    }
}

impl AddrSpace {
    /// Maps a new frame with the file's bytes at `page`, which has no
    /// entry, in the file mapping that starts at `area_start`. A write
    /// access gets a writable page that is dirty already. Returns the
    /// frame.
    pub(super) fn populate_file_page(
        &mut self,
        area_start: VirtAddr,
        page: VirtAddr,
        access: MappingFlags,
    ) -> Result<PhysAddr, FaultError> {
        let area = &self.areas[&area_start];
        let Some(file) = &area.backend.file else {
            return Err(FaultError::NotMapped);
        };
        let offset = file.offset + (page - area_start) as u64;
        let write = access.contains(MappingFlags::WRITE);
        let flags = if write {
            pte_flags(area.prot)
        } else {
            area.backend.clean_pte_flags(area.prot)
        };
        // A syscall that copies to or from the page gets EFAULT for a file
        // that cannot be read, as for any address without memory.
        let frame = match read_file_page(file.file.as_ref(), offset) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Err(FaultError::BadFilePage),
            Err(LinuxError::ENOMEM) => return Err(FaultError::OutOfMemory),
            Err(_) => return Err(FaultError::BadFilePage),
        };
        let executable = area.prot.contains(MappingFlags::EXECUTE);
        self.map_new_frame(page, frame, flags, true)
            .map_err(|_| FaultError::OutOfMemory)?;
        if write {
            add_writer(frame);
        }
        if executable {
            axhal::asm::flush_icache_all();
        }
        Ok(frame)
    }

    /// Serves a write fault on `page`, which has an entry: when it is a
    /// clean page of a file mapping that allows writing, makes it writable
    /// and its frame dirty. Returns whether the write may go on.
    pub(super) fn dirty_file_page(&mut self, page: VirtAddr) -> bool {
        let Some((_, area)) = self.area_at(page) else {
            return false;
        };
        if area.backend.file.is_none() || !prot_allows(area.prot, MappingFlags::WRITE) {
            return false;
        }
        let flags = pte_flags(area.prot);
        let Ok((frame, old_flags, _)) = self.pt.query(page) else {
            return false;
        };
        if old_flags.contains(MappingFlags::WRITE) {
            // The entry allows writing already, so a stale TLB entry
            // raised this fault.
            return true;
        }
        if PageTableEdit::new(&mut self.pt).protect(page, flags).is_err() {
            return false;
        }
        add_writer(frame.align_down_4k());
        true
    }

    /// Writes the dirty pages of the file mappings in `[start, start +
    /// size)` back to their files (msync), and with `sync_files` also makes
    /// each such file durable as fsync does. Fails with `EIO` when a write
    /// fails, and with `ENOMEM` when part of the range is not mapped, after
    /// writing back the mapped parts. With `stop_at_hole`, Linux's rule for
    /// a plain MS_SYNC, it stops with `ENOMEM` at the first unmapped page.
    pub fn write_back_range(
        &mut self,
        start: VirtAddr,
        size: usize,
        sync_files: bool,
        stop_at_hole: bool,
    ) -> Result<(), LinuxError> {
        let end = start + size;
        // The area holding `start` may begin below it.
        let first = self.areas.range(..=start).next_back().map_or(start, |(&s, _)| s);
        let areas: Vec<(VirtAddr, VirtAddr, Option<FileBacking>, MappingFlags)> = self
            .areas
            .range(first..end)
            .filter(|(_, area)| area.end > start)
            .map(|(&area_start, area)| (area_start, area.end, area.backend.file.clone(), area.prot))
            .collect();
        let mut checked_to = start;
        let mut unmapped = false;
        for (area_start, area_end, file, prot) in areas {
            if area_start > checked_to {
                if stop_at_hole {
                    return Err(LinuxError::ENOMEM);
                }
                unmapped = true;
            }
            checked_to = area_end;
            let Some(file) = file else {
                continue;
            };
            self.write_back_pages(&file, area_start, area_start.max(start), area_end.min(end), prot)?;
            if sync_files {
                file.file.sync().map_err(|err| {
                    debug!("msync: syncing inode {} on device {:#x} failed with {err:?}", file.ino, file.dev);
                    LinuxError::EIO
                })?;
            }
        }
        if unmapped || checked_to < end {
            return Err(LinuxError::ENOMEM);
        }
        Ok(())
    }

    /// Writes back the dirty pages of every file mapping whose backing
    /// `matches` accepts (fsync, syncfs and sync). Tries them all, and
    /// fails with `EIO` when any write failed.
    pub fn write_back_files(&mut self, matches: impl Fn(&FileBacking) -> bool) -> Result<(), LinuxError> {
        let areas: Vec<(VirtAddr, VirtAddr, FileBacking, MappingFlags)> = self
            .areas
            .iter()
            .filter_map(|(&start, area)| {
                let file = area.backend.file.as_ref().filter(|file| matches(file))?;
                Some((start, area.end, file.clone(), area.prot))
            })
            .collect();
        let mut result = Ok(());
        for (start, end, file, prot) in areas {
            if let Err(err) = self.write_back_pages(&file, start, start, end, prot) {
                result = Err(err);
            }
        }
        result
    }

    /// Writes back the dirty pages of `[start, end)` in the file mapping
    /// that starts at `area_start`, with backing `file` and protection
    /// `prot`. The pages lose write permission first, so that a later
    /// write faults and marks them dirty again. Pages past the end of the
    /// file keep their state and are not written. Fails with `EIO`, and
    /// then the pages not yet written stay dirty.
    fn write_back_pages(
        &mut self,
        file: &FileBacking,
        area_start: VirtAddr,
        start: VirtAddr,
        end: VirtAddr,
        prot: MappingFlags,
    ) -> Result<(), LinuxError> {
        let file_size = file.file.stat().map_err(|_| LinuxError::EIO)?.size;
        let clean_flags = pte_flags(prot) - MappingFlags::WRITE;
        let mut dirty = Vec::new();
        {
            let mut edit = PageTableEdit::new(&mut self.pt);
            for vaddr in candidate_pages(edit.page_table(), start, end) {
                let offset = file.offset + (vaddr - area_start) as u64;
                if offset >= file_size {
                    // The pages come in address order, so the rest lie past
                    // the end of the file too.
                    break;
                }
                let Ok((frame, flags, _)) = edit.page_table().query(vaddr) else {
                    continue;
                };
                let frame = frame.align_down_4k();
                let was_writable = flags.contains(MappingFlags::WRITE);
                if was_writable {
                    let _ = edit.protect(vaddr, clean_flags);
                }
                if take_dirty(frame, was_writable) {
                    dirty.push((offset, frame));
                }
            }
        }
        // Dropping the edit invalidated the TLB entries of the pages that
        // lost write permission, so a write from here on faults.
        for (index, &(offset, frame)) in dirty.iter().enumerate() {
            if let Err(err) = write_file_page(file.file.as_ref(), file_size, offset, frame) {
                debug!(
                    "writing back inode {} on device {:#x} at offset {offset:#x} failed with {err:?}",
                    file.ino, file.dev
                );
                for &(_, unwritten) in &dirty[index..] {
                    mark_dirty(unwritten);
                }
                return Err(LinuxError::EIO);
            }
        }
        Ok(())
    }
}

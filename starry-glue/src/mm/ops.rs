//! The memory syscalls on a process: brk, mmap, munmap, mprotect, mremap,
//! msync and madvise, with Linux's argument checks.

use alloc::vec;

use axerrno::LinuxError;
use axhal::paging::MappingFlags;
use memory_addr::{MemoryAddr, PAGE_SIZE_4K, VirtAddr};
use starry_vfs::{FileLike, NodeType, OpenFlags};
use syscall_abi::{MmapFlags, MmapProt, MremapFlags, MsyncFlags};

use super::aspace::{Backend, FileBacking, USER_ADDR_END, USER_ADDR_MIN};
use crate::process::Process;

type SysResult<T = ()> = Result<T, LinuxError>;

/// `MADV_*` values that change memory contents (asm-generic).
pub const MADV_DONTNEED: i32 = 4;
pub const MADV_FREE: i32 = 8;
/// The largest `MADV_*` value of Linux 6.1 (MADV_COLLAPSE).
const MADV_MAX: i32 = 25;
/// Linux's `MADV_HWPOISON` and `MADV_SOFT_OFFLINE`, which sit above the rest.
const MADV_HWPOISON: i32 = 100;
const MADV_SOFT_OFFLINE: i32 = 101;

/// Converts `PROT_*` bits to area flags.
pub fn prot_to_flags(prot: MmapProt) -> MappingFlags {
    let mut flags = MappingFlags::empty();
    if prot.contains(MmapProt::READ) {
        flags |= MappingFlags::READ;
    }
    if prot.contains(MmapProt::WRITE) {
        flags |= MappingFlags::WRITE;
    }
    if prot.contains(MmapProt::EXEC) {
        flags |= MappingFlags::EXECUTE;
    }
    flags
}

/// Rounds `len` up to whole pages; `ENOMEM` when that overflows the user
/// address space.
fn page_len(len: usize) -> SysResult<usize> {
    let rounded = len
        .checked_add(PAGE_SIZE_4K - 1)
        .ok_or(LinuxError::ENOMEM)?
        & !(PAGE_SIZE_4K - 1);
    if rounded > USER_ADDR_END {
        return Err(LinuxError::ENOMEM);
    }
    Ok(rounded)
}

/// Bytes of RAM the page allocator manages. Linux's default overcommit
/// heuristic rejects a single request larger than RAM plus swap, and a
/// lazily mapped heap of terabytes would make fork walk every page of it.
fn total_ram() -> usize {
    let allocator = axalloc::global_allocator();
    (allocator.available_pages() + allocator.used_pages()) * PAGE_SIZE_4K
}

/// Bytes the page allocator can still hand out.
fn free_memory() -> usize {
    axalloc::global_allocator().available_pages() * PAGE_SIZE_4K
}

/// brk: moves the program break to `addr` and returns the new break, or the
/// current one when `addr` is below the heap start or memory is short (Linux
/// reports failure this way).
pub fn brk(process: &Process, addr: usize) -> usize {
    let mut brk = process.brk.lock();
    if addr < brk.start || addr >= USER_ADDR_END {
        return brk.end;
    }
    let old_top = brk.end.align_up_4k();
    let new_top = addr.align_up_4k();
    if new_top > old_top && new_top - old_top > total_ram() {
        return brk.end;
    }
    let mut aspace = process.aspace.lock();
    if new_top > old_top {
        let prot = MappingFlags::READ | MappingFlags::WRITE;
        if aspace
            .map(VirtAddr::from(old_top), new_top - old_top, prot, false, false)
            .is_err()
        {
            return brk.end;
        }
    } else if new_top < old_top
        && aspace
            .unmap(VirtAddr::from(new_top), old_top - new_top)
            .is_err()
    {
        return brk.end;
    }
    brk.end = addr;
    addr
}

/// mmap. `fd` is `None` for -1; `offset` is in bytes.
pub fn mmap(
    process: &Process,
    addr: usize,
    len: usize,
    prot: MmapProt,
    flags: MmapFlags,
    fd: Option<i32>,
    offset: u64,
) -> SysResult<usize> {
    if len == 0 || !offset.is_multiple_of(PAGE_SIZE_4K as u64) {
        return Err(LinuxError::EINVAL);
    }
    let map_type = flags & MmapFlags::SHARED_VALIDATE;
    if map_type.is_empty() {
        return Err(LinuxError::EINVAL);
    }
    let len = page_len(len)?;
    let anonymous = flags.contains(MmapFlags::ANONYMOUS);
    let file = match (anonymous, fd) {
        (true, _) => None,
        (false, Some(fd)) => Some(process.fs.lock().fd_table.get(fd)?),
        (false, None) => return Err(LinuxError::EBADF),
    };
    if offset.checked_add(len as u64).is_none() {
        return Err(LinuxError::EOVERFLOW);
    }
    if let Some(file) = &file {
        check_file_access(file.as_ref(), map_type, prot)?;
    }
    // Linux's overcommit heuristic counts private writable mappings and
    // shared anonymous ones, except MAP_NORESERVE ones.
    let counted = if map_type == MmapFlags::PRIVATE {
        prot.contains(MmapProt::WRITE)
    } else {
        anonymous
    };
    if counted && !flags.contains(MmapFlags::NORESERVE) && len > total_ram() {
        return Err(LinuxError::ENOMEM);
    }

    let fixed = flags.intersects(MmapFlags::FIXED | MmapFlags::FIXED_NOREPLACE);
    let mut aspace = process.aspace.lock();
    let start = if fixed {
        if !addr.is_multiple_of(PAGE_SIZE_4K) {
            return Err(LinuxError::EINVAL);
        }
        if addr < USER_ADDR_MIN || addr.checked_add(len).is_none_or(|end| end > USER_ADDR_END) {
            return Err(LinuxError::ENOMEM);
        }
        if flags.contains(MmapFlags::FIXED_NOREPLACE) && aspace.overlaps(VirtAddr::from(addr), len) {
            return Err(LinuxError::EEXIST);
        }
        addr
    } else {
        // A hint is used when the range there is free, as Linux does.
        let hint = addr.align_down_4k();
        let hint_free = hint >= USER_ADDR_MIN
            && hint.checked_add(len).is_some_and(|end| end <= USER_ADDR_END)
            && !aspace.overlaps(VirtAddr::from(hint), len);
        if hint_free {
            hint
        } else {
            aspace
                .find_free_area(len)
                .ok_or(LinuxError::ENOMEM)?
                .as_usize()
        }
    };

    let area_flags = prot_to_flags(prot);
    if let Some(file) = &file
        && map_type != MmapFlags::PRIVATE
    {
        let stat = file.stat()?;
        if stat.node_type() == Some(NodeType::Regular) {
            // TODO: the pages of a shared file mapping are copies of the
            // file's bytes, read on first access and written back on msync,
            // fsync, munmap and exit. Until then read() on the file returns
            // the old bytes. A page read already keeps its bytes after a
            // later write() to the file. Two mappings of the file share
            // their pages only when fork copied one from the other.
            let backing = FileBacking::new(file.clone(), offset, stat.dev, stat.ino);
            aspace.map_with(VirtAddr::from(start), len, area_flags, Backend::shared_file(backing), true)?;
            return Ok(start);
        }
    }
    // A private file mapping, and a shared one of a device, get the file's
    // bytes at once, each page in a new frame, and the pages past the end
    // of the file get a zeroed frame on first access. Such a mapping larger
    // than the free memory is rejected, because filling it would take
    // every frame before it failed.
    // NOTE: Linux raises SIGBUS past the end of the file for a private file
    // mapping, where this kernel reads zeros.
    if file.is_some() && len > free_memory() {
        return Err(LinuxError::ENOMEM);
    }
    let mut backend = if map_type == MmapFlags::PRIVATE {
        Backend::new(false)
    } else {
        Backend::shared(false)
    };
    if flags.contains(MmapFlags::NORESERVE) {
        backend = backend.without_reserve();
    }
    aspace.map_with(VirtAddr::from(start), len, area_flags, backend, true)?;
    if let Some(file) = file {
        // A private file mapping gets a copy of the file's bytes; the part
        // past the end of the file stays zero.
        let mut buf = vec![0u8; 64 * 1024];
        let mut done = 0;
        while done < len {
            let want = buf.len().min(len - done);
            let n = match file.read_at(offset + done as u64, &mut buf[..want]) {
                Ok(n) => n,
                Err(err) => {
                    let _ = aspace.unmap(VirtAddr::from(start), len);
                    // A directory, pipe, eventfd or socket has no mmap in Linux.
                    return Err(if matches!(err, LinuxError::EISDIR | LinuxError::ESPIPE) {
                        LinuxError::ENODEV
                    } else {
                        err
                    });
                }
            };
            if n == 0 {
                break;
            }
            aspace.write_ignoring_prot(start + done, &buf[..n])?;
            done += n;
        }
        if area_flags.contains(MappingFlags::EXECUTE) {
            axhal::asm::flush_icache_all();
        }
    }
    Ok(start)
}

/// Checks that `file` may be mapped with `map_type` and `prot`, as Linux
/// does. An `O_PATH` descriptor is `EBADF`. A file not open for reading, or
/// a shared writable mapping of a file not open for writing, is `EACCES`.
fn check_file_access(file: &dyn FileLike, map_type: MmapFlags, prot: MmapProt) -> SysResult {
    let flags = file.status_flags();
    if flags.contains(OpenFlags::O_PATH) {
        return Err(LinuxError::EBADF);
    }
    let shared = map_type != MmapFlags::PRIVATE;
    if shared && prot.contains(MmapProt::WRITE) && !flags.writable() {
        return Err(LinuxError::EACCES);
    }
    if !flags.readable() {
        return Err(LinuxError::EACCES);
    }
    Ok(())
}

/// munmap.
pub fn munmap(process: &Process, addr: usize, len: usize) -> SysResult {
    if !addr.is_multiple_of(PAGE_SIZE_4K) || len == 0 {
        return Err(LinuxError::EINVAL);
    }
    // Linux rejects a length beyond the address space with EINVAL here,
    // where mmap and mprotect give ENOMEM.
    let len = page_len(len).map_err(|_| LinuxError::EINVAL)?;
    if addr.checked_add(len).is_none_or(|end| end > USER_ADDR_END) {
        return Err(LinuxError::EINVAL);
    }
    process.aspace.lock().unmap(VirtAddr::from(addr), len)
}

/// mprotect.
pub fn mprotect(process: &Process, addr: usize, len: usize, prot: MmapProt) -> SysResult {
    if !addr.is_multiple_of(PAGE_SIZE_4K) {
        return Err(LinuxError::EINVAL);
    }
    if len == 0 {
        return Ok(());
    }
    let len = page_len(len)?;
    if addr.checked_add(len).is_none_or(|end| end > USER_ADDR_END) {
        return Err(LinuxError::ENOMEM);
    }
    let mut aspace = process.aspace.lock();
    // Making private pages writable counts them as mmap would have.
    if prot.contains(MmapProt::WRITE) && aspace.bytes_counted_if_writable(VirtAddr::from(addr), len) > total_ram() {
        return Err(LinuxError::ENOMEM);
    }
    aspace.protect(VirtAddr::from(addr), len, prot_to_flags(prot))
}

/// msync: writes the dirty pages of the shared file mappings in the range
/// back to their files, with every valid `flags`, because read() returns a
/// mapping's changes only after that (see `mmap`). MS_SYNC also makes the
/// files durable as fsync does. MS_INVALIDATE changes nothing more, because
/// Linux only checks that no page is locked, and this kernel has no mlock.
pub fn msync(process: &Process, addr: usize, len: usize, flags: MsyncFlags) -> SysResult {
    if !addr.is_multiple_of(PAGE_SIZE_4K) || flags.contains(MsyncFlags::ASYNC | MsyncFlags::SYNC) {
        return Err(LinuxError::EINVAL);
    }
    let len = len.checked_add(PAGE_SIZE_4K - 1).ok_or(LinuxError::ENOMEM)? & !(PAGE_SIZE_4K - 1);
    if len == 0 {
        return Ok(());
    }
    let end = addr.checked_add(len).ok_or(LinuxError::ENOMEM)?;
    if addr >= USER_ADDR_END {
        return Err(LinuxError::ENOMEM);
    }
    // Linux stops at the first unmapped page only for MS_SYNC alone.
    let stop_at_hole = flags == MsyncFlags::SYNC;
    let mapped_end = end.min(USER_ADDR_END);
    process.aspace.lock().write_back_range(
        VirtAddr::from(addr),
        mapped_end - addr,
        flags.contains(MsyncFlags::SYNC),
        stop_at_hole,
    )?;
    // No mapping reaches past the user address space.
    if end > mapped_end {
        return Err(LinuxError::ENOMEM);
    }
    Ok(())
}

/// Writes the process's dirty pages of shared mappings of `file` back to
/// the file (fsync and fdatasync). Fails with `EIO` when a write fails. The
/// pages that other processes changed are written by their own fsync, msync
/// or exit.
pub fn write_back_file(process: &Process, file: &dyn FileLike) -> SysResult {
    let stat = file.stat()?;
    process
        .aspace
        .lock()
        .write_back_files(|backing| backing.maps_inode(stat.dev, stat.ino))
}

/// Writes the process's dirty pages of shared mappings of the files on the
/// file system with device number `dev` back to them (syncfs), or those of
/// every file when `dev` is `None` (sync). Fails with `EIO` when a write
/// fails.
pub fn write_back_file_system(process: &Process, dev: Option<u64>) -> SysResult {
    process
        .aspace
        .lock()
        .write_back_files(|backing| dev.is_none_or(|dev| backing.is_on_device(dev)))
}

/// madvise. MADV_DONTNEED drops the pages, so the next access reads zeros
/// (the Linux result for private anonymous memory). MADV_FREE may keep the
/// old contents until the kernel needs the memory; keeping them always is
/// allowed, so it does nothing. Every other advice is only a hint.
pub fn madvise(process: &Process, addr: usize, len: usize, advice: i32) -> SysResult {
    if !addr.is_multiple_of(PAGE_SIZE_4K) {
        return Err(LinuxError::EINVAL);
    }
    if !(0..=MADV_MAX).contains(&advice) && advice != MADV_HWPOISON && advice != MADV_SOFT_OFFLINE {
        return Err(LinuxError::EINVAL);
    }
    if len == 0 {
        return Ok(());
    }
    let len = page_len(len)?;
    let aspace = &mut *process.aspace.lock();
    if !aspace.is_fully_mapped(VirtAddr::from(addr), len) {
        return Err(LinuxError::ENOMEM);
    }
    if advice == MADV_DONTNEED {
        aspace.discard_pages(VirtAddr::from(addr), len)?;
    }
    Ok(())
}

/// mremap: shrinks in place, grows in place when the pages after the
/// mapping are free, or moves the pages when `MREMAP_MAYMOVE` allows it.
pub fn mremap(
    process: &Process,
    old_addr: usize,
    old_size: usize,
    new_size: usize,
    flags: MremapFlags,
    new_addr: usize,
) -> SysResult<usize> {
    if !old_addr.is_multiple_of(PAGE_SIZE_4K) || new_size == 0 {
        return Err(LinuxError::EINVAL);
    }
    if flags.contains(MremapFlags::FIXED) && !flags.contains(MremapFlags::MAYMOVE) {
        return Err(LinuxError::EINVAL);
    }
    if flags.contains(MremapFlags::DONTUNMAP) {
        // NOTE: MREMAP_DONTUNMAP is not supported.
        return Err(LinuxError::EINVAL);
    }
    let old_size = page_len(old_size)?;
    let new_size = page_len(new_size)?;
    if old_size == 0 {
        // Duplicating a shared mapping (old_size 0) needs shared memory.
        return Err(LinuxError::EINVAL);
    }
    let old = VirtAddr::from(old_addr);
    let mut aspace = process.aspace.lock();
    let Some((_, prot)) = aspace.find_area(old) else {
        return Err(LinuxError::EFAULT);
    };
    if !aspace.is_one_mapping(old, old_size, prot) {
        // The old range must lie in one mapping.
        return Err(LinuxError::EFAULT);
    }

    if flags.contains(MremapFlags::FIXED) {
        if !new_addr.is_multiple_of(PAGE_SIZE_4K) || new_addr < USER_ADDR_MIN {
            return Err(LinuxError::EINVAL);
        }
        let new_end = new_addr.checked_add(new_size).ok_or(LinuxError::EINVAL)?;
        if new_end > USER_ADDR_END {
            return Err(LinuxError::EINVAL);
        }
        if new_addr < old_addr + old_size && old_addr < new_end {
            return Err(LinuxError::EINVAL);
        }
        aspace.unmap(VirtAddr::from(new_addr), new_size)?;
        aspace.move_pages(old, old_size, VirtAddr::from(new_addr), new_size, prot)?;
        return Ok(new_addr);
    }

    if new_size <= old_size {
        if new_size < old_size {
            aspace.unmap(old + new_size, old_size - new_size)?;
        }
        return Ok(old_addr);
    }
    let grow_start = old + old_size;
    let grow = new_size - old_size;
    // The growth of a writable mapping counts as for mmap.
    let counted = aspace.area_backend(old).is_some_and(|backend| backend.counts_when_writable());
    if counted && prot.contains(MappingFlags::WRITE) && grow > total_ram() {
        return Err(LinuxError::ENOMEM);
    }
    if grow_start.as_usize() + grow <= USER_ADDR_END && !aspace.overlaps(grow_start, grow) {
        let backend = aspace.area_backend(old).unwrap_or(Backend::new(false));
        aspace.map_with(grow_start, grow, prot, backend.lazy().skip(old_size), false)?;
        return Ok(old_addr);
    }
    if !flags.contains(MremapFlags::MAYMOVE) {
        return Err(LinuxError::ENOMEM);
    }
    let target = aspace
        .find_free_area(new_size)
        .ok_or(LinuxError::ENOMEM)?;
    aspace.move_pages(old, old_size, target, new_size, prot)?;
    Ok(target.as_usize())
}

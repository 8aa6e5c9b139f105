//! The frames of shared areas (MAP_SHARED), which the copies that fork
//! makes map too: how many page-table entries map each frame and, for the
//! frames of file mappings, whether a frame may differ from the file.
//!
//! A page of a file mapping is mapped without write permission until the
//! first write to it faults (`AddrSpace::handle_page_fault`), which makes
//! the entry writable and the frame dirty. A write-back takes write
//! permission away again, so that the next write marks the frame dirty
//! once more. Each process has its own entry for a frame, so a frame stays
//! dirty after a write-back while another process's entry is still
//! writable.

use alloc::collections::BTreeMap;

use memory_addr::PhysAddr;
use spin::Mutex;

/// The state of one frame of a shared area.
#[derive(Default)]
struct SharedFrame {
    /// Page-table entries that map the frame, in all address spaces.
    mappings: usize,
    /// The entries among them that allow writing to a frame of a file
    /// mapping. While there are any, a process may change the frame
    /// without the kernel seeing it.
    writable: usize,
    /// The frame may differ from the file.
    dirty: bool,
}

/// The frames of shared areas, by physical address.
static SHARED_FRAMES: Mutex<BTreeMap<usize, SharedFrame>> = Mutex::new(BTreeMap::new());

/// Counts one more page-table entry that maps `frame`.
pub fn share_frame(frame: PhysAddr) {
    SHARED_FRAMES.lock().entry(frame.as_usize()).or_default().mappings += 1;
}

/// Drops one mapping of a frame of a shared area. Returns whether it was
/// the last one, in which case the caller frees the frame.
pub fn unshare_frame(frame: PhysAddr) -> bool {
    let mut frames = SHARED_FRAMES.lock();
    match frames.get_mut(&frame.as_usize()) {
        Some(entry) if entry.mappings > 1 => {
            entry.mappings -= 1;
            false
        }
        Some(_) => {
            frames.remove(&frame.as_usize());
            true
        }
        None => true,
    }
}

/// Records that an entry of `frame` became writable on a write fault, so
/// the frame is dirty.
pub fn add_writer(frame: PhysAddr) {
    let mut frames = SHARED_FRAMES.lock();
    let entry = frames.entry(frame.as_usize()).or_default();
    entry.writable += 1;
    entry.dirty = true;
}

/// Records that a writable entry of `frame` lost write permission
/// (mprotect). The frame stays dirty until it is written back.
pub fn remove_writer(frame: PhysAddr) {
    if let Some(entry) = SHARED_FRAMES.lock().get_mut(&frame.as_usize()) {
        entry.writable = entry.writable.saturating_sub(1);
    }
}

/// Marks `frame` dirty: the kernel wrote to it for a syscall, or its
/// write-back failed and a later one should try again.
pub fn mark_dirty(frame: PhysAddr) {
    if let Some(entry) = SHARED_FRAMES.lock().get_mut(&frame.as_usize()) {
        entry.dirty = true;
    }
}

/// Starts the write-back of `frame` through one of its entries, which
/// loses write permission now if it had it (`was_writable`). Returns
/// whether the frame is dirty, so that the caller writes it. The frame
/// counts as clean from here on unless another writable entry maps it,
/// so a write during the write-back marks it dirty again.
pub fn take_dirty(frame: PhysAddr, was_writable: bool) -> bool {
    let mut frames = SHARED_FRAMES.lock();
    let Some(entry) = frames.get_mut(&frame.as_usize()) else {
        return false;
    };
    if was_writable {
        entry.writable = entry.writable.saturating_sub(1);
    }
    let dirty = entry.dirty;
    if entry.writable == 0 {
        entry.dirty = false;
    }
    dirty
}

/// Starts the removal of one entry of `frame` from a file mapping, and the
/// caller calls `unshare_frame` after any write-back. Returns whether the
/// frame must be written back first: it is dirty, and this entry was
/// writable (its process wrote the frame) or is the frame's last mapping.
/// A frame that another process wrote stays dirty for that process's
/// write-back.
pub fn take_dirty_for_unmap(frame: PhysAddr, was_writable: bool) -> bool {
    let mut frames = SHARED_FRAMES.lock();
    let Some(entry) = frames.get_mut(&frame.as_usize()) else {
        return false;
    };
    if was_writable {
        entry.writable = entry.writable.saturating_sub(1);
    }
    let write = entry.dirty && (was_writable || entry.mappings == 1);
    if write && entry.writable == 0 {
        entry.dirty = false;
    }
    write
}

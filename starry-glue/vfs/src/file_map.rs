//! Direct reads of regular ext4 files.
//!
//! On every call, rsext4 0.9.2's `read_inode` decodes the inode, walks its
//! extent tree, copies the blocks into a new buffer of its own and from
//! there into the caller's, and writes the inode back with a new access
//! time. [`ReadCache`] keeps, for each inode that a live node uses, a
//! [`FileMap`]: the size, the timestamps and the extents, decoded from the
//! block cache ([`crate::inode_record`]) or, for an inode that changed,
//! taken from rsext4's public `inode` and `inode_extents` calls.
//! [`FileMap::read`] then copies file data from the [`crate::BlockCache`]
//! straight into the caller's buffer, and [`FileMap::read_shared`] hands
//! out the cached blocks themselves ([`FileData`]) for the caller to copy
//! to user memory. Both read holes and unwritten extents as zeros.
//!
//! The owner ([`crate::Ext4Fs`]) keeps the cache exact, as it keeps its
//! attribute cache. It fills and reads entries with its mount lock held.
//! Every operation that may change an inode drops the inode's entry in the
//! same critical section as the change.
//!
//! Data written through rsext4 can stay in rsext4's own data-block cache
//! (32 blocks, `DATABLOCK_CACHE_MAX`), which writes a block back only when
//! it evicts it or at sync. Until then the block cache below has the old
//! data. So an inode written or truncated since the last sync is read
//! through rsext4, which overlays its dirty blocks.

use alloc::{
    collections::{BTreeMap, BTreeSet},
    vec::Vec,
};
use core::ops::Range;

use rsext4::{
    DirectoryEntryType, Ext4Error, Ext4Result, FileExtent, FileExtentMap, FileExtentState,
    InodeFlags, InodeInfo,
};

use crate::{block_cache::ByteSource, file_data::FileData, inode_record::FileLayout};

/// Age in seconds after which `relatime` updates an access time that is
/// newer than the modification and change times: one day, as in Linux's
/// `relatime_need_update` (fs/inode.c).
const RELATIME_MAX_AGE_SECS: i64 = 24 * 60 * 60;

/// Size, timestamps and extents of one regular file with an extent tree.
pub(crate) struct FileMap {
    size: u64,
    /// Access, modification and change times, in seconds. rsext4's
    /// [`InodeInfo`] has no nanoseconds.
    atime: u32,
    mtime: u32,
    ctime: u32,
    no_atime: bool,
    /// Extents in logical order, not overlapping, in bytes.
    extents: Vec<FileExtent>,
}

impl FileMap {
    /// Builds the map of the file `info` from its extents `map`, queried
    /// over its whole size. Returns `None` for a file that only rsext4 can
    /// read: not a regular file, no extent tree (inline data or block
    /// pointers), an incomplete map, or extents out of order.
    pub(crate) fn new(info: &InodeInfo, map: FileExtentMap) -> Option<Self> {
        if info.file_type() != DirectoryEntryType::RegularFile
            || !info.flags.contains(InodeFlags::EXTENTS)
            || info.flags.contains(InodeFlags::INLINE_DATA)
            || !map.complete
        {
            return None;
        }
        let mut file = Self::with_extents(info.size, map.extents)?;
        file.set_times(info);
        Some(file)
    }

    /// Builds the map of a file decoded from the block cache.
    pub(crate) fn from_layout(layout: FileLayout) -> Option<Self> {
        let mut file = Self::with_extents(layout.size, layout.extents)?;
        file.atime = layout.atime;
        file.mtime = layout.mtime;
        file.ctime = layout.ctime;
        file.no_atime = layout.no_atime;
        Some(file)
    }

    /// Builds the map of a file of `size` bytes with times 0, or returns
    /// `None` when `extents` overlap or contain inline data.
    fn with_extents(size: u64, mut extents: Vec<FileExtent>) -> Option<Self> {
        if extents.iter().any(|extent| extent.state == FileExtentState::Inline) {
            return None;
        }
        extents.sort_unstable_by_key(|extent| extent.logical_start);
        let mut previous_end = 0;
        for extent in &extents {
            if extent.logical_start < previous_end {
                return None;
            }
            previous_end = extent.logical_start.checked_add(extent.length)?;
        }
        Some(Self {
            size,
            atime: 0,
            mtime: 0,
            ctime: 0,
            no_atime: false,
            extents,
        })
    }

    /// Copies the timestamps and the `noatime` flag of `info`.
    pub(crate) fn set_times(&mut self, info: &InodeInfo) {
        self.atime = info.atime;
        self.mtime = info.mtime;
        self.ctime = info.ctime;
        self.no_atime = info.flags.contains(InodeFlags::NO_ATIME);
    }

    /// Reads file bytes from `offset` into `buffer`, stopping at the end of
    /// the file, and returns the number of bytes read.
    pub(crate) fn read(&self, source: &dyn ByteSource, offset: u64, buffer: &mut [u8]) -> Ext4Result<usize> {
        let count = self.readable(offset, buffer.len());
        self.for_each_part(offset, count, |part, physical| {
            let part = &mut buffer[(part.start - offset) as usize..(part.end - offset) as usize];
            match physical {
                Some(physical) => source.read_bytes(physical, part),
                None => {
                    part.fill(0);
                    Ok(())
                }
            }
        })?;
        Ok(count)
    }

    /// Appends up to `len` file bytes from `offset` to `out`, stopping at
    /// the end of the file, as shared parts of cached blocks (see
    /// [`ByteSource::share_bytes`]). Returns the number of bytes appended.
    pub(crate) fn read_shared(
        &self,
        source: &dyn ByteSource,
        offset: u64,
        len: usize,
        out: &mut FileData,
    ) -> Ext4Result<usize> {
        let count = self.readable(offset, len);
        self.for_each_part(offset, count, |part, physical| {
            let part_len = (part.end - part.start) as usize;
            match physical {
                Some(physical) => source.share_bytes(physical, part_len, out),
                None => {
                    out.push_zeros(part_len);
                    Ok(())
                }
            }
        })?;
        Ok(count)
    }

    /// Returns how many of `len` bytes from `offset` lie before the end of
    /// the file.
    fn readable(&self, offset: u64, len: usize) -> usize {
        if offset >= self.size {
            return 0;
        }
        (self.size - offset).min(len as u64) as usize
    }

    /// Calls `visit` for each part of the `count` file bytes from `offset`,
    /// in order. It gets the part's range of file offsets and the device
    /// byte where the part starts, or `None` for a hole or an unwritten
    /// extent, which read as zeros.
    fn for_each_part(
        &self,
        offset: u64,
        count: usize,
        mut visit: impl FnMut(Range<u64>, Option<u64>) -> Ext4Result<()>,
    ) -> Ext4Result<()> {
        let end = offset + count as u64;
        let mut position = offset;
        let mut index = self
            .extents
            .partition_point(|extent| extent.logical_start + extent.length <= position);
        while position < end {
            let extent = self.extents.get(index).filter(|extent| extent.logical_start < end);
            let part_end = match extent {
                Some(extent) if extent.logical_start <= position => {
                    (extent.logical_start + extent.length).min(end)
                }
                // A hole up to the next extent or the end of the read.
                Some(extent) => extent.logical_start,
                None => end,
            };
            let physical = match extent {
                Some(extent) if extent.logical_start <= position => {
                    index += 1;
                    if extent.state == FileExtentState::Initialized {
                        let physical = extent
                            .physical_start
                            .checked_add(position - extent.logical_start)
                            .ok_or_else(Ext4Error::overflow)?;
                        Some(physical)
                    } else {
                        None
                    }
                }
                _ => None,
            };
            visit(position..part_end, physical)?;
            position = part_end;
        }
        Ok(())
    }

    /// Returns whether a read at time `now` (seconds) updates the access
    /// time under `relatime`. It does when the access time is not newer than
    /// the modification or change time, or is a day old.
    ///
    /// NOTE: the times have whole seconds only, so a file modified in the
    /// same second as its last access is updated again, where Linux compares
    /// nanoseconds too.
    pub(crate) fn needs_atime_update(&self, now: i64) -> bool {
        if self.no_atime {
            return false;
        }
        let atime = i64::from(self.atime);
        atime <= i64::from(self.mtime)
            || atime <= i64::from(self.ctime)
            || now - atime >= RELATIME_MAX_AGE_SECS
    }
}

/// [`FileMap`]s of the inodes that live nodes use, by inode number, and the
/// inodes whose written data rsext4 may still hold.
#[derive(Default)]
pub(crate) struct ReadCache {
    /// `None` marks a file that is read through rsext4.
    maps: BTreeMap<u32, Option<FileMap>>,
    /// Inodes written or truncated since the last sync.
    written: BTreeSet<u32>,
}

impl ReadCache {
    /// Returns the entry of `ino`, or `None` when it has none.
    pub(crate) fn get_mut(&mut self, ino: u32) -> Option<&mut Option<FileMap>> {
        self.maps.get_mut(&ino)
    }

    pub(crate) fn insert(&mut self, ino: u32, map: Option<FileMap>) {
        self.maps.insert(ino, map);
    }

    /// Drops the entry of `ino`, after a change of the inode or when its
    /// last node goes.
    pub(crate) fn forget(&mut self, ino: u32) {
        self.maps.remove(&ino);
    }

    /// Drops the entry of `ino` and reads it through rsext4 until the next
    /// [`Self::synced`].
    pub(crate) fn mark_written(&mut self, ino: u32) {
        self.maps.remove(&ino);
        self.written.insert(ino);
    }

    pub(crate) fn is_written(&self, ino: u32) -> bool {
        self.written.contains(&ino)
    }

    /// Records that rsext4 has written back all its cached data.
    pub(crate) fn synced(&mut self) {
        self.written.clear();
    }
}

//! `stat` and extent maps of ext4 inodes decoded straight from the block
//! cache.
//!
//! rsext4 0.9.2's `inode` call checks the inode bitmap, copies the whole
//! inode-table block into a new buffer, decodes every field of the inode
//! and, on a miss of its 128-entry inode cache, scans all entries for the
//! oldest. [`InodeTable`] instead finds the inode's record with the
//! superblock and group-descriptor geometry, copies only its bytes out of
//! the [`crate::BlockCache`] and decodes the fields of a `stat`, or those
//! of the direct read path with the extent tree ([`crate::extent_tree`]).
//!
//! The block cache contains what rsext4 has written to the device, so it
//! has an inode's current record only while rsext4 holds no newer one. An
//! inode that rsext4 changes stays in its inode cache until eviction or
//! sync. With a journal, a sync commits the inode-table block to the
//! journal, and rsext4 writes the block to its home location only at a
//! checkpoint, when the journal needs room or at unmount. [`ChangedInodes`]
//! lists the inodes changed since the mount (or, without a journal, since
//! the last sync), and the owner ([`crate::Ext4Fs`]) stats those through
//! rsext4.

use alloc::{collections::BTreeSet, vec, vec::Vec};
use core::sync::atomic::{AtomicU64, Ordering};

use rsext4::{
    FileExtent,
    crc32c::{crc32c_append, crc32c_init},
};

use crate::{block_cache::ByteSource, extent_tree::decode_extents};

/// Offset of the superblock on the device.
const SUPERBLOCK_OFFSET: u64 = 1024;
/// Size of the superblock.
const SUPERBLOCK_SIZE: usize = 1024;
const EXT4_SUPER_MAGIC: u16 = 0xef53;

const COMPAT_HAS_JOURNAL: u32 = 0x4;
const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_CSUM_SEED: u32 = 0x2000;
const INCOMPAT_LARGEDIR: u32 = 0x4000;
const RO_COMPAT_HUGE_FILE: u32 = 0x8;
const RO_COMPAT_METADATA_CSUM: u32 = 0x400;

/// Size of an inode record of revision 0 file systems, and the part of
/// every record before `i_extra_isize`.
const GOOD_OLD_INODE_SIZE: usize = 128;
/// Largest inode record that [`InodeTable`] decodes. `mke2fs` makes 256
/// bytes by default and Linux accepts up to the block size.
const MAX_INODE_SIZE: usize = 1024;
/// Maximum number of block groups whose inode-table locations are kept: 512 KiB of
/// locations, for 8 TiB with 4 KiB blocks.
const MAX_GROUPS: u32 = 1 << 16;

const S_IFMT: u16 = 0o170000;
const S_IFREG: u16 = 0o100000;
const S_IFCHR: u16 = 0o020000;
const S_IFBLK: u16 = 0o060000;
/// `EXT4_HUGE_FILE_FL`: `i_blocks` counts file-system blocks, not sectors.
const HUGE_FILE_FL: u32 = 0x40000;
const NOATIME_FL: u32 = 0x80;
const EXTENTS_FL: u32 = 0x80000;
const INLINE_DATA_FL: u32 = 0x1000_0000;

/// Offsets of the inode fields, from the ext4 disk layout.
const I_MODE: usize = 0x00;
const I_UID: usize = 0x02;
const I_SIZE_LO: usize = 0x04;
const I_ATIME: usize = 0x08;
const I_CTIME: usize = 0x0c;
const I_MTIME: usize = 0x10;
const I_GID: usize = 0x18;
const I_LINKS_COUNT: usize = 0x1a;
const I_BLOCKS_LO: usize = 0x1c;
const I_FLAGS: usize = 0x20;
const I_BLOCK: usize = 0x28;
/// Size of `i_block`, the root node of an extent tree.
const I_BLOCK_SIZE: usize = 60;
const I_GENERATION: usize = 0x64;
const I_SIZE_HIGH: usize = 0x6c;
const I_BLOCKS_HIGH: usize = 0x74;
const I_UID_HIGH: usize = 0x78;
const I_GID_HIGH: usize = 0x7a;
const I_CHECKSUM_LO: usize = 0x7c;
const I_EXTRA_ISIZE: usize = 0x80;
const I_CHECKSUM_HI: usize = 0x82;

/// Reads the little-endian `u16` at `offset` of an on-disk record.
pub(crate) fn read_u16(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

/// Reads the little-endian `u32` at `offset` of an on-disk record.
pub(crate) fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}

/// The `stat` fields of one inode record, with rsext4's meaning of each
/// (`Ext4::inode` in rsext4 0.9.2), so that both paths return equal values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InodeAttrs {
    pub mode: u16,
    pub links: u16,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// 512-byte sectors.
    pub blocks: u64,
    /// Seconds of the 32-bit base fields.
    ///
    /// NOTE: rsext4 0.9.2's `InodeInfo` has only these, so `stat` through
    /// rsext4 has no nanoseconds and reads the seconds as unsigned, without
    /// the epoch bits that Linux adds from the `_extra` fields. The decoded
    /// times follow it, so that a file's times stay the same when its
    /// `stat` moves from one path to the other.
    pub atime: u32,
    pub mtime: u32,
    pub ctime: u32,
    /// Major and minor numbers of a character or block device.
    pub device: Option<(u32, u32)>,
}

/// Reason why an inode record was not decoded, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The inode number is 0 or past the last group.
    BadNumber,
    /// The block cache could not read the record.
    Io,
    /// `i_extra_isize` is not a multiple of 4 or reaches past the record.
    BadExtraSize,
    /// The stored checksum does not match the record.
    Checksum,
    /// The link count is 0: a free inode, which rsext4 reports as not found.
    Unlinked,
    /// An extent-tree node has a bad header, or the tree is too large.
    BadExtentTree,
}

/// The size, times and extents of a regular file with an extent tree: the
/// fields that the direct read path uses.
pub(crate) struct FileLayout {
    pub size: u64,
    pub atime: u32,
    pub mtime: u32,
    pub ctime: u32,
    /// `EXT4_NOATIME_FL`.
    pub no_atime: bool,
    /// Extents in logical order, in bytes.
    pub extents: Vec<FileExtent>,
}

/// The geometry of the inode tables of one ext4 file system, read once at
/// mount from the superblock and the group descriptors in the block cache.
pub(crate) struct InodeTable {
    block_size: u64,
    inode_size: usize,
    inodes_per_group: u32,
    /// First block of each group's inode table.
    table_starts: Vec<u64>,
    huge_file: bool,
    large_dir: bool,
    /// Seed of the inode checksums, when the file system has
    /// `metadata_csum`.
    checksum_seed: Option<u32>,
    /// Whether the file system has a journal (`has_journal`).
    journal: bool,
}

impl InodeTable {
    /// Reads the geometry from `source`. Returns `None` when the file
    /// system's layout is one that this module does not decode (`meta_bg`
    /// descriptors, inode records over [`MAX_INODE_SIZE`] bytes, more than
    /// [`MAX_GROUPS`] groups) or its superblock is invalid, and rsext4
    /// serves every `stat`.
    pub(crate) fn load(source: &dyn ByteSource) -> Option<Self> {
        let mut superblock = vec![0; SUPERBLOCK_SIZE];
        source.read_bytes(SUPERBLOCK_OFFSET, &mut superblock).ok()?;
        if read_u16(&superblock, 0x38) != EXT4_SUPER_MAGIC {
            return None;
        }
        let inodes_count = read_u32(&superblock, 0x00);
        let first_data_block = read_u32(&superblock, 0x14);
        let log_block_size = read_u32(&superblock, 0x18);
        let inodes_per_group = read_u32(&superblock, 0x28);
        let revision = read_u32(&superblock, 0x4c);
        let compat = read_u32(&superblock, 0x5c);
        let incompat = read_u32(&superblock, 0x60);
        let ro_compat = read_u32(&superblock, 0x64);
        if log_block_size > 6 || inodes_per_group == 0 || incompat & INCOMPAT_META_BG != 0 {
            return None;
        }
        let block_size = 1024u64 << log_block_size;
        let inode_size = if revision == 0 {
            GOOD_OLD_INODE_SIZE
        } else {
            usize::from(read_u16(&superblock, 0x58))
        };
        if !(GOOD_OLD_INODE_SIZE..=MAX_INODE_SIZE).contains(&inode_size)
            || !inode_size.is_power_of_two()
            || inode_size as u64 > block_size
        {
            return None;
        }
        let desc_size = if incompat & INCOMPAT_64BIT != 0 {
            u64::from(read_u16(&superblock, 0xfe))
        } else {
            32
        };
        if desc_size < 32 || !desc_size.is_power_of_two() || desc_size > block_size {
            return None;
        }
        let groups = inodes_count.div_ceil(inodes_per_group);
        if groups == 0 || groups > MAX_GROUPS {
            return None;
        }

        // The descriptors follow the superblock's block, as rsext4 reads
        // them. Only the inode-table fields are used, and rsext4 never moves
        // an inode table, so the copies on the device stay valid.
        let table_offset = (u64::from(first_data_block) + 1) * block_size;
        let mut descriptors = vec![0; groups as usize * desc_size as usize];
        source.read_bytes(table_offset, &mut descriptors).ok()?;
        let table_starts = descriptors
            .chunks_exact(desc_size as usize)
            .map(|descriptor| {
                let low = u64::from(read_u32(descriptor, 0x08));
                let high = if desc_size >= 64 {
                    u64::from(read_u32(descriptor, 0x28))
                } else {
                    0
                };
                high << 32 | low
            })
            .collect();

        let checksum_seed = (ro_compat & RO_COMPAT_METADATA_CSUM != 0).then(|| {
            if incompat & INCOMPAT_CSUM_SEED != 0 {
                read_u32(&superblock, 0x270)
            } else {
                crc32c_append(crc32c_init(), &superblock[0x68..0x78])
            }
        });
        Some(Self {
            block_size,
            inode_size,
            inodes_per_group,
            table_starts,
            huge_file: ro_compat & RO_COMPAT_HUGE_FILE != 0,
            large_dir: incompat & INCOMPAT_LARGEDIR != 0,
            checksum_seed,
            journal: compat & COMPAT_HAS_JOURNAL != 0,
        })
    }

    pub(crate) fn has_journal(&self) -> bool {
        self.journal
    }

    /// Returns the device byte offset of the record of inode `ino`.
    fn record_offset(&self, ino: u32) -> Option<u64> {
        let index = ino.checked_sub(1)?;
        let group = (index / self.inodes_per_group) as usize;
        let in_group = u64::from(index % self.inodes_per_group);
        let table_start = *self.table_starts.get(group)?;
        table_start
            .checked_mul(self.block_size)?
            .checked_add(in_group * self.inode_size as u64)
    }

    /// Reads the record of inode `ino` from `source`, checks it and decodes
    /// its `stat` fields. The caller makes sure that rsext4 has no newer
    /// copy of the record ([`ChangedInodes`]).
    pub(crate) fn read_attrs(&self, source: &dyn ByteSource, ino: u32) -> Result<InodeAttrs, DecodeError> {
        let mut buffer = [0; MAX_INODE_SIZE];
        let record = self.read_record(source, ino, &mut buffer)?;
        Ok(self.decode(record))
    }

    /// Reads the record of inode `ino` and its extent tree from `source`,
    /// as [`Self::read_attrs`] reads the record. Returns `None` for a file
    /// that is not a regular file with an extent tree (inline data, block
    /// pointers), which rsext4 reads.
    pub(crate) fn read_layout(&self, source: &dyn ByteSource, ino: u32) -> Result<Option<FileLayout>, DecodeError> {
        let mut buffer = [0; MAX_INODE_SIZE];
        let record = self.read_record(source, ino, &mut buffer)?;
        let attrs = self.decode(record);
        let flags = read_u32(record, I_FLAGS);
        if attrs.mode & S_IFMT != S_IFREG || flags & EXTENTS_FL == 0 || flags & INLINE_DATA_FL != 0 {
            return Ok(None);
        }
        let extents = decode_extents(
            source,
            self.block_size,
            self.checksum_seed,
            ino,
            read_u32(record, I_GENERATION),
            &record[I_BLOCK..I_BLOCK + I_BLOCK_SIZE],
        )?;
        Ok(Some(FileLayout {
            size: attrs.size,
            atime: attrs.atime,
            mtime: attrs.mtime,
            ctime: attrs.ctime,
            no_atime: flags & NOATIME_FL != 0,
            extents,
        }))
    }

    /// Reads the record of inode `ino` into `buffer` and checks it. Returns
    /// the record, or fails for a free inode too.
    fn read_record<'a>(
        &self,
        source: &dyn ByteSource,
        ino: u32,
        buffer: &'a mut [u8; MAX_INODE_SIZE],
    ) -> Result<&'a [u8], DecodeError> {
        let offset = self.record_offset(ino).ok_or(DecodeError::BadNumber)?;
        let record = &mut buffer[..self.inode_size];
        source.read_bytes(offset, record).map_err(|_| DecodeError::Io)?;
        self.check_record(ino, record)?;
        if read_u16(record, I_LINKS_COUNT) == 0 {
            return Err(DecodeError::Unlinked);
        }
        Ok(record)
    }

    /// Checks `i_extra_isize` as rsext4 does, and the checksum when the file
    /// system has `metadata_csum`. The checksum is CRC32C over the inode
    /// number, the generation and the whole record with its checksum fields
    /// zeroed (Linux's `ext4_inode_csum`), computed with rsext4's CRC32C,
    /// which uses the aarch64 CRC32C instructions when the CPU has them.
    /// NOTE: rsext4 0.9.2 itself does not check inode checksums on read, so
    /// a record with a bad checksum is left to rsext4, which returns it.
    fn check_record(&self, ino: u32, record: &mut [u8]) -> Result<(), DecodeError> {
        let extra_size = if record.len() > GOOD_OLD_INODE_SIZE {
            usize::from(read_u16(record, I_EXTRA_ISIZE))
        } else {
            0
        };
        if !extra_size.is_multiple_of(4) || GOOD_OLD_INODE_SIZE + extra_size > record.len() {
            return Err(DecodeError::BadExtraSize);
        }
        let Some(seed) = self.checksum_seed else {
            return Ok(());
        };
        let has_high = GOOD_OLD_INODE_SIZE + extra_size >= I_CHECKSUM_HI + 2;
        let mut stored = u32::from(read_u16(record, I_CHECKSUM_LO));
        record[I_CHECKSUM_LO..I_CHECKSUM_LO + 2].fill(0);
        if has_high {
            stored |= u32::from(read_u16(record, I_CHECKSUM_HI)) << 16;
            record[I_CHECKSUM_HI..I_CHECKSUM_HI + 2].fill(0);
        }
        let generation = read_u32(record, I_GENERATION);
        let mut checksum = crc32c_append(seed, &ino.to_le_bytes());
        checksum = crc32c_append(checksum, &generation.to_le_bytes());
        checksum = crc32c_append(checksum, record);
        if !has_high {
            checksum &= 0xffff;
        }
        if checksum != stored {
            return Err(DecodeError::Checksum);
        }
        Ok(())
    }

    fn decode(&self, record: &[u8]) -> InodeAttrs {
        let mode = read_u16(record, I_MODE);
        let file_type = mode & S_IFMT;
        let size_low = u64::from(read_u32(record, I_SIZE_LO));
        // Linux's `ext4_isize`: only regular files, and directories with
        // `large_dir`, use the high half.
        let size = if file_type == S_IFREG || self.large_dir {
            u64::from(read_u32(record, I_SIZE_HIGH)) << 32 | size_low
        } else {
            size_low
        };
        let device = matches!(file_type, S_IFCHR | S_IFBLK).then(|| {
            let legacy = read_u32(record, I_BLOCK);
            if legacy != 0 {
                let legacy = legacy as u16;
                (u32::from(legacy >> 8), u32::from(legacy & 0xff))
            } else {
                let modern = read_u32(record, I_BLOCK + 4);
                ((modern & 0xfff00) >> 8, (modern & 0xff) | ((modern >> 12) & 0xfff00))
            }
        });
        InodeAttrs {
            mode,
            links: read_u16(record, I_LINKS_COUNT),
            uid: u32::from(read_u16(record, I_UID_HIGH)) << 16 | u32::from(read_u16(record, I_UID)),
            gid: u32::from(read_u16(record, I_GID_HIGH)) << 16 | u32::from(read_u16(record, I_GID)),
            size,
            blocks: self.blocks(record),
            atime: read_u32(record, I_ATIME),
            mtime: read_u32(record, I_MTIME),
            ctime: read_u32(record, I_CTIME),
            device,
        }
    }

    /// Returns `i_blocks` in 512-byte sectors. With `huge_file`, the count
    /// has 48 bits, and an inode with `EXT4_HUGE_FILE_FL` counts file-system
    /// blocks (Linux's `ext4_inode_blocks`).
    fn blocks(&self, record: &[u8]) -> u64 {
        let low = u64::from(read_u32(record, I_BLOCKS_LO));
        if !self.huge_file {
            return low;
        }
        let count = u64::from(read_u16(record, I_BLOCKS_HIGH)) << 32 | low;
        if read_u32(record, I_FLAGS) & HUGE_FILE_FL != 0 {
            count * (self.block_size / 512)
        } else {
            count
        }
    }
}

/// Maximum number of inodes that [`ChangedInodes`] lists one by one. Past it, every
/// inode counts as changed until the set can be cleared.
const MAX_CHANGED_INODES: usize = 64 * 1024;

/// The inodes whose records in the block cache may be older than rsext4's.
pub(crate) struct ChangedInodes {
    inodes: BTreeSet<u32>,
    /// Set when more than [`MAX_CHANGED_INODES`] changed.
    all: bool,
    /// Whether the file system has a journal, which keeps written records
    /// away from their home blocks after a sync.
    journal: bool,
}

impl ChangedInodes {
    pub(crate) fn new(journal: bool) -> Self {
        Self {
            inodes: BTreeSet::new(),
            all: false,
            journal,
        }
    }

    pub(crate) fn insert(&mut self, ino: u32) {
        if self.all {
            return;
        }
        if self.inodes.len() >= MAX_CHANGED_INODES {
            self.inodes.clear();
            self.all = true;
            return;
        }
        self.inodes.insert(ino);
    }

    pub(crate) fn contains(&self, ino: u32) -> bool {
        self.all || self.inodes.contains(&ino)
    }

    /// Records a successful sync. rsext4 has then written every record to
    /// the device, or, with a journal, to the journal only.
    pub(crate) fn synced(&mut self) {
        if !self.journal {
            self.inodes.clear();
            self.all = false;
        }
    }
}

/// Counters of the `stat` calls that missed the attribute cache.
#[derive(Debug, Default)]
pub struct InodeReadStats {
    /// Records decoded from the block cache.
    pub decoded: AtomicU64,
    /// Extent maps of the direct read path built from records and extent
    /// trees decoded from the block cache.
    pub decoded_maps: AtomicU64,
    /// Calls served by rsext4: changed inodes, and records that failed to
    /// decode.
    pub rsext4: AtomicU64,
}

impl InodeReadStats {
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

//! Extent trees of ext4 inodes decoded straight from the block cache, for
//! the direct read path ([`crate::file_map`]).
//!
//! rsext4 0.9.2's `inode_extents` loads the inode through its 128-entry
//! inode cache, as its `inode` call does (see [`crate::inode_record`]).
//! [`decode_extents`] walks the tree from the root in the inode's `i_block`
//! and reads the index and leaf blocks from the block cache. The caller
//! makes sure, as for the inode record, that rsext4 has no newer copy of
//! the tree: rsext4 changes a tree only when it writes or truncates the
//! file, which lists the inode as changed.

use alloc::{vec, vec::Vec};

use rsext4::{
    FileExtent, FileExtentState,
    crc32c::crc32c_append,
};

use crate::{
    block_cache::ByteSource,
    inode_record::{DecodeError, read_u16, read_u32},
};

/// `eh_magic` of every extent-tree node.
const EXTENT_MAGIC: u16 = 0xf30a;
/// Size of the node header and of each entry (extent or index).
const ENTRY_SIZE: usize = 12;
/// Deepest tree that Linux builds (`EXT4_MAX_EXTENT_DEPTH`).
const MAX_DEPTH: u16 = 5;
/// `ee_len` values above this mark an unwritten extent of `ee_len - 32768`
/// blocks (`EXT_INIT_MAX_LEN`).
const INIT_MAX_LEN: u16 = 32768;
/// Maximum number of tree blocks read for one file. A larger tree is left
/// to rsext4, so that one read does not hold the locks for long.
const MAX_TREE_BLOCKS: usize = 256;

/// The source of the tree blocks and the checks applied to them.
struct TreeReader<'a> {
    source: &'a dyn ByteSource,
    block_size: u64,
    /// Seed of the tree blocks' checksums (CRC32C of the file system seed,
    /// the inode number and the generation), with `metadata_csum`.
    checksum_seed: Option<u32>,
    blocks_read: usize,
}

/// Returns the extents of the tree whose root node is `root` (the 60 bytes
/// of `i_block`), in bytes and in tree order, which is logical order.
/// `checksum_seed` is the file system's checksum seed when it has
/// `metadata_csum`. Fails on a node with a bad header or checksum, and on
/// a tree of more than [`MAX_TREE_BLOCKS`] blocks.
pub(crate) fn decode_extents(
    source: &dyn ByteSource,
    block_size: u64,
    checksum_seed: Option<u32>,
    ino: u32,
    generation: u32,
    root: &[u8],
) -> Result<Vec<FileExtent>, DecodeError> {
    let checksum_seed = checksum_seed.map(|seed| {
        let seed = crc32c_append(seed, &ino.to_le_bytes());
        crc32c_append(seed, &generation.to_le_bytes())
    });
    let mut reader = TreeReader {
        source,
        block_size,
        checksum_seed,
        blocks_read: 0,
    };
    let mut extents = Vec::new();
    reader.walk(root, None, &mut extents)?;
    Ok(extents)
}

impl TreeReader<'_> {
    /// Appends the extents under `node`, whose depth must be `depth` when
    /// given.
    fn walk(&mut self, node: &[u8], depth: Option<u16>, extents: &mut Vec<FileExtent>) -> Result<(), DecodeError> {
        if node.len() < ENTRY_SIZE {
            return Err(DecodeError::BadExtentTree);
        }
        let entries = usize::from(read_u16(node, 2));
        let max_entries = usize::from(read_u16(node, 4));
        let node_depth = read_u16(node, 6);
        if read_u16(node, 0) != EXTENT_MAGIC
            || entries > max_entries
            || ENTRY_SIZE * (max_entries + 1) > node.len()
            || node_depth > MAX_DEPTH
            || depth.is_some_and(|depth| depth != node_depth)
        {
            return Err(DecodeError::BadExtentTree);
        }
        for index in 1..=entries {
            let entry = &node[ENTRY_SIZE * index..ENTRY_SIZE * (index + 1)];
            if node_depth == 0 {
                extents.push(self.leaf_extent(entry)?);
                continue;
            }
            let child = u64::from(read_u16(entry, 8)) << 32 | u64::from(read_u32(entry, 4));
            let block = self.read_tree_block(child)?;
            self.walk(&block, Some(node_depth - 1), extents)?;
        }
        Ok(())
    }

    fn leaf_extent(&self, entry: &[u8]) -> Result<FileExtent, DecodeError> {
        let raw_length = read_u16(entry, 4);
        let (blocks, state) = if raw_length > INIT_MAX_LEN {
            (raw_length - INIT_MAX_LEN, FileExtentState::Unwritten)
        } else {
            (raw_length, FileExtentState::Initialized)
        };
        if blocks == 0 {
            return Err(DecodeError::BadExtentTree);
        }
        let physical = u64::from(read_u16(entry, 6)) << 32 | u64::from(read_u32(entry, 8));
        let to_bytes = |blocks: u64| blocks.checked_mul(self.block_size).ok_or(DecodeError::BadExtentTree);
        Ok(FileExtent {
            logical_start: to_bytes(u64::from(read_u32(entry, 0)))?,
            physical_start: to_bytes(physical)?,
            length: to_bytes(u64::from(blocks))?,
            state,
            merged: false,
        })
    }

    /// Reads tree block `block` and checks its checksum, which covers the
    /// node up to the `ext4_extent_tail` after its last possible entry.
    fn read_tree_block(&mut self, block: u64) -> Result<Vec<u8>, DecodeError> {
        self.blocks_read += 1;
        if self.blocks_read > MAX_TREE_BLOCKS {
            return Err(DecodeError::BadExtentTree);
        }
        let offset = block.checked_mul(self.block_size).ok_or(DecodeError::BadExtentTree)?;
        let mut bytes = vec![0; self.block_size as usize];
        self.source.read_bytes(offset, &mut bytes).map_err(|_| DecodeError::Io)?;
        let Some(seed) = self.checksum_seed else {
            return Ok(bytes);
        };
        let tail = ENTRY_SIZE * (usize::from(read_u16(&bytes, 4)) + 1);
        if tail + 4 > bytes.len() {
            return Err(DecodeError::BadExtentTree);
        }
        if crc32c_append(seed, &bytes[..tail]) != read_u32(&bytes, tail) {
            return Err(DecodeError::Checksum);
        }
        Ok(bytes)
    }
}

//! A write-through LRU cache of disk blocks below rsext4.
//!
//! rsext4 0.9.2 keeps only a few metadata blocks of its own and leaves the
//! reuse of disk blocks to the block layer under it. Without that layer,
//! every file read, path lookup and inode read goes to the disk again.
//! [`BlockCache`] wraps a [`BlockDevice`] and implements the same trait, so
//! that [`crate::Ext4Fs::mount`] takes it in place of the device.
//!
//! The cache keeps 4 KiB blocks, the ext4 block size of our images and of
//! `mke2fs -b 4096`. rsext4 reads and writes whole file-system blocks at
//! 4 KiB-aligned sectors (8 sectors of 512 bytes on virtio-blk, several
//! blocks in one request for contiguous file data), and reads the superblock
//! once as 2 sectors at sector 2. A request that is not block-aligned is
//! still served through the cache: the cache reads the whole blocks that
//! cover it.
//!
//! A read that misses the cache reads ahead: the device request covers at
//! least [`BlockCache::with_readahead`] blocks from the first missing one,
//! up to the next cached block, and the blocks after the request are cached
//! too. Python reads each `.pyc` file whole, and files written one after
//! the other mostly lie next to each other on the disk. In a traced run of
//! test___all__, 2163 of 3084 requests started where the previous one
//! ended. A virtio-blk request under QEMU 7.2 took a median 60 us for one
//! block and 64 us for 5 to 16 blocks in that trace, so the extra blocks
//! cost little.
//!
//! Writes are write-through: each write goes to the device before it returns,
//! and then updates the cached copies. Flush, barrier and discard pass
//! through. So what reaches the disk, and when, is the same as without the
//! cache.
//!
//! [`BlockDevice`] methods take `&mut self`, and [`crate::Ext4Fs`] calls them
//! with its mount lock held. [`crate::Ext4Fs::mount`] gives the cache to
//! rsext4 as it is. [`crate::Ext4Fs::mount_cached`] puts it behind a lock
//! that rsext4's device handle and the direct read path of ext4 files share,
//! and takes that lock only with the mount lock held.

use alloc::{sync::Arc, vec, vec::Vec};
use core::{
    num::NonZeroUsize,
    ops::Range,
    sync::atomic::{AtomicU64, Ordering},
};

use lru::LruCache;
use rsext4::{DeviceCapabilities, DeviceGeometry, Ext4Error, Ext4Result, SectorId, WriteFlags};
use spin::Mutex;

use crate::{BlockDevice, file_data::FileData};

/// Size of one cached block in bytes: the file-system block size.
pub const CACHE_BLOCK_SIZE: usize = 4096;

/// Default capacity in blocks: 32 MiB, about 3% of the 1 GiB guest that
/// scripts/qemu_run.py starts.
///
/// The blocks read more than once (directories, inode tables, bitmaps and
/// re-read file data) fit in it. Measured with `scripts/qemu_run.py --stats`
/// on test___all__ with its `.pyc` files already written: the run reads about
/// 63 MiB of distinct blocks, mostly once each. A 256 MiB cache cut its disk
/// requests only from 3085 to 3044 against this size.
pub const DEFAULT_CAPACITY_BLOCKS: usize = 32 * 1024 * 1024 / CACHE_BLOCK_SIZE;

/// Default readahead in blocks: 128 KiB, Linux's default `read_ahead_kb`.
///
/// Chosen by replaying the virtio-blk requests of test___all__ (QEMU's
/// `virtio_blk_handle_read` trace) through a model of this cache with
/// [`DEFAULT_CAPACITY_BLOCKS`]. With its `.pyc` files already written, the
/// run made 3084 requests without readahead, 590 with 32 blocks and 336
/// with 64 blocks. They read 63, 69 and 74 MiB. The run that writes the
/// `.pyc` files made 2426, 487 and 296 requests.
pub const DEFAULT_READAHEAD_BLOCKS: u64 = 32;

/// Counters of a [`BlockCache`], in cached blocks.
#[derive(Debug, Default)]
pub struct BlockCacheStats {
    /// Blocks served from the cache.
    pub hits: AtomicU64,
    /// Blocks of a request read from the device and then cached.
    pub misses: AtomicU64,
    /// Blocks read ahead of a request and cached.
    pub readahead: AtomicU64,
    /// Blocks dropped to make room for others.
    pub evictions: AtomicU64,
    /// Requests passed to the device uncached, because they reach past the
    /// last whole block of the device or the device's sector size does not
    /// divide [`CACHE_BLOCK_SIZE`].
    pub uncached_reads: AtomicU64,
}

impl BlockCacheStats {
    fn add(counter: &AtomicU64, count: u64) {
        counter.fetch_add(count, Ordering::Relaxed);
    }
}

/// A [`BlockDevice`] that keeps recently used blocks of `D` in memory.
pub struct BlockCache<D> {
    device: D,
    sector_size: usize,
    /// Device sectors per cached block, 0 when the cache is off.
    sectors_per_block: u64,
    /// Number of whole cached blocks on the device. Sectors after the last
    /// whole block are read and written uncached.
    device_blocks: u64,
    /// Block number (device offset / [`CACHE_BLOCK_SIZE`]) to its bytes, or
    /// `None` when the capacity is 0. A [`FileData`] may share a block's
    /// bytes, and a write to a shared block puts the new bytes in a new
    /// buffer.
    blocks: Option<LruCache<u64, Arc<[u8]>>>,
    /// Minimum number of blocks that a read of missing blocks requests.
    readahead: u64,
    /// Buffer of the device reads that reach past the caller's request,
    /// kept between reads so that it is allocated and zeroed only once.
    staging: Vec<u8>,
    stats: Arc<BlockCacheStats>,
}

impl<D: BlockDevice> BlockCache<D> {
    /// Wraps `device` with a cache of at most `capacity_blocks` blocks of
    /// [`CACHE_BLOCK_SIZE`] bytes. A capacity of 0, or a device whose sector
    /// size does not divide [`CACHE_BLOCK_SIZE`], passes every request
    /// through. The cache reads no blocks ahead until
    /// [`Self::with_readahead`] sets it.
    pub fn new(device: D, capacity_blocks: usize) -> Self {
        let geometry = device.geometry();
        let sector_size = geometry.logical_block_size as usize;
        let divides = sector_size != 0 && CACHE_BLOCK_SIZE.is_multiple_of(sector_size);
        let sectors_per_block = if divides {
            (CACHE_BLOCK_SIZE / sector_size) as u64
        } else {
            log::warn!(
                "block cache: sector size {sector_size} does not divide {CACHE_BLOCK_SIZE}, cache off"
            );
            0
        };
        let capacity = NonZeroUsize::new(capacity_blocks).filter(|_| divides);
        let device_blocks = geometry
            .block_count
            .checked_div(sectors_per_block)
            .unwrap_or(0);
        log::info!(
            "block cache: {} blocks of {CACHE_BLOCK_SIZE} bytes over {} sectors of {sector_size} bytes",
            capacity.map_or(0, NonZeroUsize::get),
            geometry.block_count
        );
        Self {
            device,
            sector_size,
            sectors_per_block,
            device_blocks,
            blocks: capacity.map(LruCache::new),
            readahead: 1,
            staging: Vec::new(),
            stats: Arc::new(BlockCacheStats::default()),
        }
    }

    /// Makes each read of missing blocks request at least `blocks` blocks,
    /// capped at the cache's capacity so that a read never evicts the
    /// blocks it has just read. 0 and 1 turn readahead off.
    pub fn with_readahead(mut self, blocks: u64) -> Self {
        let capacity = self
            .blocks
            .as_ref()
            .map_or(0, |blocks| blocks.cap().get() as u64);
        self.readahead = blocks.min(capacity).max(1);
        self
    }

    /// Returns the counters, shared with the cache, so that they can be read
    /// after the cache is handed to [`crate::Ext4Fs::mount`].
    pub fn stats(&self) -> Arc<BlockCacheStats> {
        self.stats.clone()
    }

    /// Number of blocks in the cache now.
    pub fn cached_blocks(&self) -> usize {
        self.blocks.as_ref().map_or(0, LruCache::len)
    }

    /// Returns the cached blocks that cover `count` sectors from `sector`, or
    /// `None` when the request is to be passed through uncached.
    fn covered_blocks(&self, sector: SectorId, count: u32) -> Option<Range<u64>> {
        if self.blocks.is_none() || count == 0 {
            return None;
        }
        let end_sector = sector.raw().checked_add(u64::from(count))?;
        let first = sector.raw() / self.sectors_per_block;
        let end = end_sector.div_ceil(self.sectors_per_block);
        (end <= self.device_blocks).then_some(first..end)
    }

    /// Returns the byte ranges where block `block` and the request of
    /// `count` sectors from `sector` overlap: first in the block, then in
    /// the request's buffer.
    fn overlap(&self, block: u64, sector: SectorId, count: u32) -> (Range<usize>, Range<usize>) {
        let sector_size = self.sector_size as u64;
        let block_start = block * CACHE_BLOCK_SIZE as u64;
        let request_start = sector.raw() * sector_size;
        let request_end = request_start + u64::from(count) * sector_size;
        let start = block_start.max(request_start);
        let end = (block_start + CACHE_BLOCK_SIZE as u64).min(request_end);
        let in_block = (start - block_start) as usize..(end - block_start) as usize;
        let in_request = (start - request_start) as usize..(end - request_start) as usize;
        (in_block, in_request)
    }

    /// Inserts a copy of `data` as block `block`, reusing the buffer of the
    /// least recently used block when the cache is full and no
    /// [`FileData`] shares it.
    fn insert(&mut self, block: u64, data: &[u8]) {
        let Some(blocks) = self.blocks.as_mut() else {
            return;
        };
        if let Some(cached) = blocks.get_mut(&block) {
            match Arc::get_mut(cached) {
                Some(bytes) => bytes.copy_from_slice(data),
                None => *cached = Arc::from(data),
            }
            return;
        }
        let evicted = if blocks.len() == blocks.cap().get() {
            BlockCacheStats::add(&self.stats.evictions, 1);
            blocks.pop_lru().map(|(_, buffer)| buffer)
        } else {
            None
        };
        blocks.put(block, block_with(evicted, data));
    }

    /// Updates the cache after `buffer` was written to `count` sectors from
    /// `sector`: whole blocks are cached, partly written blocks are patched
    /// where they are cached.
    fn written(&mut self, buffer: &[u8], sector: SectorId, count: u32) {
        let Some(covered) = self.covered_blocks(sector, count) else {
            return;
        };
        for block in covered {
            let (in_block, in_request) = self.overlap(block, sector, count);
            if in_block.len() == CACHE_BLOCK_SIZE {
                self.insert(block, &buffer[in_request]);
            } else if let Some(cached) = self
                .blocks
                .as_mut()
                .and_then(|blocks| blocks.peek_mut(&block))
            {
                if let Some(bytes) = Arc::get_mut(cached) {
                    bytes[in_block].copy_from_slice(&buffer[in_request]);
                } else {
                    let mut bytes = cached.to_vec();
                    bytes[in_block].copy_from_slice(&buffer[in_request]);
                    *cached = Arc::from(bytes);
                }
            }
        }
    }

    /// Drops the cached blocks that cover `count` sectors from `sector`.
    fn invalidate(&mut self, sector: SectorId, count: u32) {
        let Some(covered) = self.covered_blocks(sector, count) else {
            return;
        };
        if let Some(blocks) = self.blocks.as_mut() {
            for block in covered {
                blocks.pop(&block);
            }
        }
    }

    /// Returns the end of the run of uncached blocks from `start`, at most
    /// `limit`, or `start` when `start` is cached or not below `limit`.
    fn missing_run_end(&self, start: u64, limit: u64) -> u64 {
        let mut end = start;
        while end < limit
            && !self
                .blocks
                .as_ref()
                .is_some_and(|blocks| blocks.contains(&end))
        {
            end += 1;
        }
        end
    }

    fn request_len(&self, count: u32) -> usize {
        count as usize * self.sector_size
    }

    /// Copies `buffer.len()` bytes from device byte `offset` into `buffer`.
    /// Missing blocks are read as by [`BlockDevice::read`], with readahead.
    /// Unlike that call, the range need not be sector-aligned, so the direct
    /// read path of ext4 files copies each part of a file once, from the
    /// cached block to its buffer.
    pub fn read_bytes(&mut self, offset: u64, buffer: &mut [u8]) -> Ext4Result<()> {
        if buffer.is_empty() {
            return Ok(());
        }
        let end = offset
            .checked_add(buffer.len() as u64)
            .ok_or_else(Ext4Error::overflow)?;
        let covered_end = end.div_ceil(CACHE_BLOCK_SIZE as u64);
        if self.blocks.is_none() || covered_end > self.device_blocks {
            return self.read_bytes_uncached(offset, buffer);
        }

        let mut position = offset;
        while position < end {
            let block = position / CACHE_BLOCK_SIZE as u64;
            let block_start = block * CACHE_BLOCK_SIZE as u64;
            let part_end = end.min(block_start + CACHE_BLOCK_SIZE as u64);
            let in_block = (position - block_start) as usize..(part_end - block_start) as usize;
            let in_buffer = (position - offset) as usize..(part_end - offset) as usize;
            if let Some(cached) = self.blocks.as_mut().and_then(|blocks| blocks.get(&block)) {
                buffer[in_buffer].copy_from_slice(&cached[in_block]);
                BlockCacheStats::add(&self.stats.hits, 1);
                position = part_end;
                continue;
            }
            let run_end = self.missing_run_with_readahead(block, covered_end);
            self.read_missing_bytes(block..run_end, offset, buffer)?;
            position = end.min(run_end * CACHE_BLOCK_SIZE as u64);
        }
        Ok(())
    }

    /// Returns the end of the run of missing blocks from `block`, which is
    /// missing, for a request that ends before block `request_end`. A run
    /// that reaches the end of the request goes on with the blocks after
    /// it, up to the readahead size.
    fn missing_run_with_readahead(&self, block: u64, request_end: u64) -> u64 {
        let run_end = self.missing_run_end(block + 1, request_end);
        if run_end < request_end {
            return run_end;
        }
        let limit = block.saturating_add(self.readahead).min(self.device_blocks);
        self.missing_run_end(run_end, limit)
    }

    /// Appends the bytes from device byte `offset` to `offset + len` to
    /// `out` as shared parts of cached blocks. Missing blocks are read and
    /// cached as by [`Self::read_bytes`]. A range that the cache does not
    /// cover is copied into a buffer of its own.
    pub fn share_bytes(&mut self, offset: u64, len: usize, out: &mut FileData) -> Ext4Result<()> {
        if len == 0 {
            return Ok(());
        }
        let end = offset
            .checked_add(len as u64)
            .ok_or_else(Ext4Error::overflow)?;
        let covered_end = end.div_ceil(CACHE_BLOCK_SIZE as u64);
        if self.blocks.is_none() || covered_end > self.device_blocks {
            return self.copy_bytes(offset, len, out);
        }

        let mut position = offset;
        while position < end {
            let block = position / CACHE_BLOCK_SIZE as u64;
            if let Some(part_end) = self.share_cached(block, position, end, out) {
                BlockCacheStats::add(&self.stats.hits, 1);
                position = part_end;
                continue;
            }
            let run_end = self.missing_run_with_readahead(block, covered_end);
            let staging = self.read_run_staged(block..run_end)?;
            self.staging_done(staging);
            self.count_run(block..run_end, covered_end);
            // The blocks of the run that the request covers, all cached now
            // unless the run is longer than the cache.
            for run_block in block..run_end.min(covered_end) {
                match self.share_cached(run_block, position, end, out) {
                    Some(part_end) => position = part_end,
                    None => {
                        let rest = (end - position) as usize;
                        return self.copy_bytes(position, rest, out);
                    }
                }
            }
        }
        Ok(())
    }

    /// Appends the part of cached block `block` from device byte `position`
    /// up to `end` or the end of the block, and returns where the part
    /// ends. Returns `None` when the block is not cached.
    fn share_cached(&mut self, block: u64, position: u64, end: u64, out: &mut FileData) -> Option<u64> {
        let cached = self.blocks.as_mut()?.get(&block)?;
        let block_start = block * CACHE_BLOCK_SIZE as u64;
        let part_end = end.min(block_start + CACHE_BLOCK_SIZE as u64);
        let in_block = (position - block_start) as usize..(part_end - block_start) as usize;
        out.push_shared(cached.clone(), in_block);
        Some(part_end)
    }

    /// Appends a copy of `len` bytes from device byte `offset` to `out`.
    fn copy_bytes(&mut self, offset: u64, len: usize, out: &mut FileData) -> Ext4Result<()> {
        let mut bytes = vec![0; len];
        self.read_bytes(offset, &mut bytes)?;
        out.push_shared(Arc::from(bytes), 0..len);
        Ok(())
    }

    /// Reads blocks `run` from the device, copies their part of the byte
    /// range `offset..offset + buffer.len()` into `buffer` and caches them.
    fn read_missing_bytes(&mut self, run: Range<u64>, offset: u64, buffer: &mut [u8]) -> Ext4Result<()> {
        let run_sector = SectorId::new(run.start * self.sectors_per_block);
        let run_count = ((run.end - run.start) * self.sectors_per_block) as u32;
        let run_start = run.start * CACHE_BLOCK_SIZE as u64;
        let run_len = (run.end - run.start) as usize * CACHE_BLOCK_SIZE;
        let end = offset + buffer.len() as u64;
        let request_end_block = end.div_ceil(CACHE_BLOCK_SIZE as u64);

        // Reads straight into the caller's buffer when the run lies inside
        // the range, as it does for block-aligned parts of a file.
        if run_start >= offset && run_start + run_len as u64 <= end {
            let start = (run_start - offset) as usize;
            let data = &mut buffer[start..start + run_len];
            self.device.read(data, run_sector, run_count)?;
            for (block, block_data) in run.clone().zip(data.chunks_exact(CACHE_BLOCK_SIZE)) {
                self.insert(block, block_data);
            }
        } else {
            let staging = self.read_run_staged(run.clone())?;
            let copy_start = offset.max(run_start);
            let copy_end = end.min(run_start + run_len as u64);
            let in_staging = (copy_start - run_start) as usize..(copy_end - run_start) as usize;
            let in_buffer = (copy_start - offset) as usize..(copy_end - offset) as usize;
            buffer[in_buffer].copy_from_slice(&staging[in_staging]);
            self.staging_done(staging);
        }
        self.count_run(run, request_end_block);
        Ok(())
    }

    /// Reads blocks `run` from the device into the staging buffer and
    /// caches them. Returns the staging buffer, with the run's bytes first,
    /// for the caller to pass to [`Self::staging_done`].
    fn read_run_staged(&mut self, run: Range<u64>) -> Ext4Result<Vec<u8>> {
        let run_sector = SectorId::new(run.start * self.sectors_per_block);
        let run_count = ((run.end - run.start) * self.sectors_per_block) as u32;
        let run_len = (run.end - run.start) as usize * CACHE_BLOCK_SIZE;
        let mut staging = core::mem::take(&mut self.staging);
        if staging.len() < run_len {
            staging.resize(run_len, 0);
        }
        let result = self
            .device
            .read(&mut staging[..run_len], run_sector, run_count);
        if result.is_ok() {
            for (block, block_data) in run.zip(staging.chunks_exact(CACHE_BLOCK_SIZE)) {
                self.insert(block, block_data);
            }
        }
        match result {
            Ok(()) => Ok(staging),
            Err(error) => {
                self.staging_done(staging);
                Err(error)
            }
        }
    }

    /// Keeps `staging` for the next read, unless it grew past the readahead
    /// size.
    fn staging_done(&mut self, staging: Vec<u8>) {
        if staging.len() <= self.readahead as usize * CACHE_BLOCK_SIZE {
            self.staging = staging;
        }
    }

    /// Counts the blocks of `run`, read from the device for a request that
    /// ends before block `request_end_block`, as misses and readahead.
    fn count_run(&self, run: Range<u64>, request_end_block: u64) {
        let ahead = run.end.saturating_sub(request_end_block.max(run.start));
        BlockCacheStats::add(&self.stats.misses, run.end - run.start - ahead);
        BlockCacheStats::add(&self.stats.readahead, ahead);
    }

    /// Serves [`Self::read_bytes`] when the cache is off or the range
    /// reaches past the last whole cached block, with the sectors that
    /// cover the range read into a buffer of their own.
    fn read_bytes_uncached(&mut self, offset: u64, buffer: &mut [u8]) -> Ext4Result<()> {
        BlockCacheStats::add(&self.stats.uncached_reads, 1);
        let sector_size = self.sector_size as u64;
        if sector_size == 0 {
            return Err(Ext4Error::io());
        }
        let end = offset + buffer.len() as u64;
        let first = offset / sector_size;
        let count = u32::try_from(end.div_ceil(sector_size) - first).map_err(|_| Ext4Error::overflow())?;
        let mut sectors = vec![0; count as usize * self.sector_size];
        self.device.read(&mut sectors, SectorId::new(first), count)?;
        let skip = (offset - first * sector_size) as usize;
        buffer.copy_from_slice(&sectors[skip..skip + buffer.len()]);
        Ok(())
    }
}

impl<D: BlockDevice> BlockDevice for BlockCache<D> {
    fn read(&mut self, buffer: &mut [u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        // A short buffer goes to the device, which reports the error.
        let covered = self
            .covered_blocks(sector, count)
            .filter(|_| buffer.len() >= self.request_len(count));
        let Some(covered) = covered else {
            BlockCacheStats::add(&self.stats.uncached_reads, 1);
            return self.device.read(buffer, sector, count);
        };

        let mut block = covered.start;
        while block < covered.end {
            let (in_block, in_request) = self.overlap(block, sector, count);
            if let Some(cached) = self.blocks.as_mut().and_then(|blocks| blocks.get(&block)) {
                buffer[in_request].copy_from_slice(&cached[in_block]);
                BlockCacheStats::add(&self.stats.hits, 1);
                block += 1;
                continue;
            }
            // One device request for each run of consecutive missing blocks.
            let run_end = self.missing_run_with_readahead(block, covered.end);
            let request_start = sector.raw() * self.sector_size as u64;
            let request = &mut buffer[..self.request_len(count)];
            self.read_missing_bytes(block..run_end, request_start, request)?;
            block = run_end;
        }
        Ok(())
    }

    fn write(&mut self, buffer: &[u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        match self.device.write(buffer, sector, count) {
            Ok(()) => {
                if buffer.len() >= self.request_len(count) {
                    self.written(buffer, sector, count);
                }
                Ok(())
            }
            Err(error) => {
                // The blocks may be partly written, so the cached copies
                // may no longer match the disk.
                self.invalidate(sector, count);
                Err(error)
            }
        }
    }

    fn write_with_flags(
        &mut self,
        buffer: &[u8],
        sector: SectorId,
        count: u32,
        flags: WriteFlags,
    ) -> Ext4Result<()> {
        match self.device.write_with_flags(buffer, sector, count, flags) {
            Ok(()) => {
                if buffer.len() >= self.request_len(count) {
                    self.written(buffer, sector, count);
                }
                Ok(())
            }
            Err(error) => {
                self.invalidate(sector, count);
                Err(error)
            }
        }
    }

    fn geometry(&self) -> DeviceGeometry {
        self.device.geometry()
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.device.capabilities()
    }

    fn flush(&mut self) -> Ext4Result<()> {
        self.device.flush()
    }

    fn barrier(&mut self) -> Ext4Result<()> {
        self.device.barrier()
    }

    fn discard(&mut self, start: SectorId, count: u32) -> Ext4Result<()> {
        // Discarded sectors read back as the device chooses, so their cached
        // copies are dropped whether or not the discard succeeds.
        self.invalidate(start, count);
        self.device.discard(start, count)
    }
}

/// Byte-range reads of a [`BlockCache`] that rsext4 also uses as its device,
/// for the direct read path of ext4 files ([`crate::Ext4Fs::mount_cached`]).
pub(crate) trait ByteSource: Send + Sync {
    /// Copies `buffer.len()` bytes from device byte `offset` into `buffer`.
    fn read_bytes(&self, offset: u64, buffer: &mut [u8]) -> Ext4Result<()>;

    /// Appends `len` bytes from device byte `offset` to `out`, sharing the
    /// cached blocks (see [`BlockCache::share_bytes`]).
    fn share_bytes(&self, offset: u64, len: usize, out: &mut FileData) -> Ext4Result<()>;
}

impl<D: BlockDevice + Send> ByteSource for Mutex<BlockCache<D>> {
    fn read_bytes(&self, offset: u64, buffer: &mut [u8]) -> Ext4Result<()> {
        self.lock().read_bytes(offset, buffer)
    }

    fn share_bytes(&self, offset: u64, len: usize, out: &mut FileData) -> Ext4Result<()> {
        self.lock().share_bytes(offset, len, out)
    }
}

/// Returns a block with the bytes `data`: in the buffer of `old` when no
/// [`FileData`] shares it, else in a new one.
fn block_with(old: Option<Arc<[u8]>>, data: &[u8]) -> Arc<[u8]> {
    if let Some(mut old) = old
        && let Some(bytes) = Arc::get_mut(&mut old)
    {
        bytes.copy_from_slice(data);
        return old;
    }
    Arc::from(data)
}

/// A handle to a [`BlockCache`] shared with the direct read path, given to
/// rsext4 as its device. [`crate::Ext4Fs`] calls both with its mount lock
/// held, so the cache's own lock is never contended.
pub(crate) struct SharedBlockCache<D>(pub(crate) Arc<Mutex<BlockCache<D>>>);

impl<D: BlockDevice> BlockDevice for SharedBlockCache<D> {
    fn write(&mut self, buffer: &[u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        self.0.lock().write(buffer, sector, count)
    }

    fn read(&mut self, buffer: &mut [u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        self.0.lock().read(buffer, sector, count)
    }

    fn write_with_flags(
        &mut self,
        buffer: &[u8],
        sector: SectorId,
        count: u32,
        flags: WriteFlags,
    ) -> Ext4Result<()> {
        self.0.lock().write_with_flags(buffer, sector, count, flags)
    }

    fn geometry(&self) -> DeviceGeometry {
        self.0.lock().geometry()
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.0.lock().capabilities()
    }

    fn flush(&mut self) -> Ext4Result<()> {
        self.0.lock().flush()
    }

    fn barrier(&mut self) -> Ext4Result<()> {
        self.0.lock().barrier()
    }

    fn discard(&mut self, start: SectorId, count: u32) -> Ext4Result<()> {
        self.0.lock().discard(start, count)
    }
}

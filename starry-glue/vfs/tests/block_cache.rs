//! The block cache against an in-memory device that counts its requests,
//! and ext4 mounted through a cache small enough to evict all the time.

mod common;

use std::sync::{Arc, Mutex, atomic::Ordering};

use common::{Image, pattern};
use starry_vfs::rsext4::{
    DeviceCapabilities, DeviceGeometry, Ext4Error, Ext4Result, SectorId, WriteFlags,
};
use starry_vfs::{
    AT_FDCWD, BlockCache, BlockDevice, FileData, FileSystem, FsContext, MountTable, OpenFlags,
};

const SECTOR: usize = 512;
const BLOCK: usize = 4096;
const SECTORS_PER_BLOCK: u64 = (BLOCK / SECTOR) as u64;

/// State of a [`MemoryDevice`], shared with the test after the device is
/// moved into the cache.
#[derive(Default)]
struct DeviceState {
    data: Vec<u8>,
    /// Each read request as (first sector, sector count).
    reads: Vec<(u64, u32)>,
    writes: usize,
    flushes: usize,
    discards: usize,
    fail_writes: bool,
}

/// A 512-byte-sector device in memory.
struct MemoryDevice(Arc<Mutex<DeviceState>>);

impl MemoryDevice {
    /// Creates a device of `sectors` sectors filled with a pattern, and
    /// returns it with its shared state.
    fn new(sectors: usize) -> (Self, Arc<Mutex<DeviceState>>) {
        let state = Arc::new(Mutex::new(DeviceState {
            data: pattern(sectors * SECTOR, 9),
            ..DeviceState::default()
        }));
        (Self(state.clone()), state)
    }

    fn range(
        &self,
        sector: SectorId,
        count: u32,
        buffer_len: usize,
    ) -> Ext4Result<std::ops::Range<usize>> {
        let len = count as usize * SECTOR;
        if buffer_len < len {
            return Err(Ext4Error::buffer_too_small(buffer_len, len));
        }
        let start = sector.raw() as usize * SECTOR;
        if start + len > self.0.lock().unwrap().data.len() {
            return Err(Ext4Error::io());
        }
        Ok(start..start + len)
    }
}

impl BlockDevice for MemoryDevice {
    fn write(&mut self, buffer: &[u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        let range = self.range(sector, count, buffer.len())?;
        let mut state = self.0.lock().unwrap();
        if state.fail_writes {
            return Err(Ext4Error::io());
        }
        state.writes += 1;
        let len = range.len();
        state.data[range].copy_from_slice(&buffer[..len]);
        Ok(())
    }

    fn read(&mut self, buffer: &mut [u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        let range = self.range(sector, count, buffer.len())?;
        let mut state = self.0.lock().unwrap();
        state.reads.push((sector.raw(), count));
        let len = range.len();
        buffer[..len].copy_from_slice(&state.data[range]);
        Ok(())
    }

    fn geometry(&self) -> DeviceGeometry {
        DeviceGeometry::new(
            SECTOR as u32,
            (self.0.lock().unwrap().data.len() / SECTOR) as u64,
        )
    }

    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities {
            flush: true,
            discard: true,
            ..DeviceCapabilities::default()
        }
    }

    fn flush(&mut self) -> Ext4Result<()> {
        self.0.lock().unwrap().flushes += 1;
        Ok(())
    }

    fn discard(&mut self, start: SectorId, count: u32) -> Ext4Result<()> {
        let range = self.range(start, count, count as usize * SECTOR)?;
        let mut state = self.0.lock().unwrap();
        state.discards += 1;
        state.data[range].fill(0);
        Ok(())
    }
}

fn read_blocks(cache: &mut BlockCache<MemoryDevice>, block: u64, count: u64) -> Vec<u8> {
    let mut buffer = vec![0; count as usize * BLOCK];
    cache
        .read(
            &mut buffer,
            SectorId::new(block * SECTORS_PER_BLOCK),
            (count * SECTORS_PER_BLOCK) as u32,
        )
        .expect("read through the cache");
    buffer
}

fn device_bytes(state: &Mutex<DeviceState>, start: usize, len: usize) -> Vec<u8> {
    state.lock().unwrap().data[start..start + len].to_vec()
}

fn read_count(state: &Mutex<DeviceState>) -> usize {
    state.lock().unwrap().reads.len()
}

#[test]
fn repeated_read_hits_cache() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16);
    let stats = cache.stats();

    let first = read_blocks(&mut cache, 5, 1);
    let second = read_blocks(&mut cache, 5, 1);

    assert_eq!(first, device_bytes(&state, 5 * BLOCK, BLOCK));
    assert_eq!(second, first);
    assert_eq!(state.lock().unwrap().reads, vec![(40, 8)]);
    assert_eq!(stats.hits.load(Ordering::Relaxed), 1);
    assert_eq!(stats.misses.load(Ordering::Relaxed), 1);
}

#[test]
fn missing_runs_read_in_one_request_each() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16);
    read_blocks(&mut cache, 1, 1);
    read_blocks(&mut cache, 3, 1);
    state.lock().unwrap().reads.clear();

    let data = read_blocks(&mut cache, 0, 6);

    assert_eq!(data, device_bytes(&state, 0, 6 * BLOCK));
    // Blocks 1 and 3 come from the cache; 0, 2 and 4..6 from the device.
    assert_eq!(state.lock().unwrap().reads, vec![(0, 8), (16, 8), (32, 16)]);
    assert_eq!(cache.cached_blocks(), 6);
}

#[test]
fn eviction_drops_least_recently_used() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 4);
    let stats = cache.stats();
    for block in 0..4 {
        read_blocks(&mut cache, block, 1);
    }
    assert_eq!(cache.cached_blocks(), 4);
    // Block 0 becomes the most recently used, so block 1 is the oldest.
    read_blocks(&mut cache, 0, 1);

    read_blocks(&mut cache, 4, 1);
    assert_eq!(cache.cached_blocks(), 4);
    assert_eq!(stats.evictions.load(Ordering::Relaxed), 1);

    let reads = read_count(&state);
    read_blocks(&mut cache, 0, 1);
    assert_eq!(read_count(&state), reads, "block 0 was evicted");
    let data = read_blocks(&mut cache, 1, 1);
    assert_eq!(read_count(&state), reads + 1, "block 1 is still cached");
    assert_eq!(data, device_bytes(&state, BLOCK, BLOCK));
}

#[test]
fn write_reaches_device_before_returning() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16);
    read_blocks(&mut cache, 2, 1);
    let data = pattern(2 * BLOCK, 77);

    cache
        .write(&data, SectorId::new(2 * SECTORS_PER_BLOCK), 16)
        .unwrap();

    assert_eq!(device_bytes(&state, 2 * BLOCK, 2 * BLOCK), data);
    assert_eq!(state.lock().unwrap().flushes, 0);
    let reads = read_count(&state);
    assert_eq!(read_blocks(&mut cache, 2, 2), data);
    assert_eq!(
        read_count(&state),
        reads,
        "written blocks are served from the cache"
    );
}

#[test]
fn flagged_write_updates_cache() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16);
    read_blocks(&mut cache, 7, 1);
    let data = pattern(BLOCK, 12);

    cache
        .write_with_flags(
            &data,
            SectorId::new(7 * SECTORS_PER_BLOCK),
            8,
            WriteFlags::METADATA,
        )
        .unwrap();

    assert_eq!(device_bytes(&state, 7 * BLOCK, BLOCK), data);
    assert_eq!(read_blocks(&mut cache, 7, 1), data);
    assert_eq!(read_count(&state), 1);
}

#[test]
fn partial_write_patches_cached_block() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16);
    read_blocks(&mut cache, 3, 1);
    let sector = vec![0xa5; SECTOR];

    cache
        .write(&sector, SectorId::new(3 * SECTORS_PER_BLOCK + 5), 1)
        .unwrap();

    let data = read_blocks(&mut cache, 3, 1);
    assert_eq!(data, device_bytes(&state, 3 * BLOCK, BLOCK));
    assert_eq!(&data[5 * SECTOR..6 * SECTOR], &sector[..]);
    assert_eq!(read_count(&state), 1);
}

#[test]
fn unaligned_read_uses_whole_blocks() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16);

    // The superblock read of rsext4: 2 sectors at sector 2.
    let mut buffer = vec![0; 2 * SECTOR];
    cache.read(&mut buffer, SectorId::new(2), 2).unwrap();
    assert_eq!(buffer, device_bytes(&state, 2 * SECTOR, 2 * SECTOR));
    // Sectors 6..10 span the end of block 0 and the start of block 1.
    let mut buffer = vec![0; 4 * SECTOR];
    cache.read(&mut buffer, SectorId::new(6), 4).unwrap();
    assert_eq!(buffer, device_bytes(&state, 6 * SECTOR, 4 * SECTOR));

    assert_eq!(state.lock().unwrap().reads, vec![(0, 8), (8, 8)]);
}

#[test]
fn failed_write_drops_cached_blocks() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16);
    read_blocks(&mut cache, 4, 1);
    state.lock().unwrap().fail_writes = true;

    let result = cache.write(&pattern(BLOCK, 3), SectorId::new(4 * SECTORS_PER_BLOCK), 8);

    assert!(result.is_err());
    assert_eq!(cache.cached_blocks(), 0);
    let reads = read_count(&state);
    assert_eq!(
        read_blocks(&mut cache, 4, 1),
        device_bytes(&state, 4 * BLOCK, BLOCK)
    );
    assert_eq!(read_count(&state), reads + 1);
}

#[test]
fn discard_drops_cached_blocks() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16);
    read_blocks(&mut cache, 6, 1);

    cache
        .discard(SectorId::new(6 * SECTORS_PER_BLOCK), 8)
        .unwrap();

    assert_eq!(state.lock().unwrap().discards, 1);
    assert_eq!(read_blocks(&mut cache, 6, 1), vec![0; BLOCK]);
}

#[test]
fn tail_past_last_whole_block_uncached() {
    // 10 whole blocks and 3 sectors more.
    let (device, state) = MemoryDevice::new(10 * 8 + 3);
    let mut cache = BlockCache::new(device, 16);
    let stats = cache.stats();
    let mut buffer = vec![0; 3 * SECTOR];

    cache.read(&mut buffer, SectorId::new(80), 3).unwrap();
    cache.read(&mut buffer, SectorId::new(80), 3).unwrap();

    assert_eq!(buffer, device_bytes(&state, 80 * SECTOR, 3 * SECTOR));
    assert_eq!(state.lock().unwrap().reads, vec![(80, 3), (80, 3)]);
    assert_eq!(stats.uncached_reads.load(Ordering::Relaxed), 2);
    assert_eq!(cache.cached_blocks(), 0);
}

#[test]
fn zero_capacity_passes_through() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 0);

    let first = read_blocks(&mut cache, 1, 1);
    let second = read_blocks(&mut cache, 1, 1);

    assert_eq!(first, second);
    assert_eq!(read_count(&state), 2);
    assert_eq!(cache.cached_blocks(), 0);
}

#[test]
fn short_buffer_is_rejected() {
    let (device, _state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16);
    let mut buffer = vec![0; BLOCK - 1];

    let result = cache.read(&mut buffer, SectorId::new(0), 8);

    assert!(result.is_err());
    assert_eq!(cache.cached_blocks(), 0);
}

/// A small deterministic generator for the mixed-request test.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn readahead_reads_window_in_one_request() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16).with_readahead(8);
    let stats = cache.stats();

    let first = read_blocks(&mut cache, 5, 1);
    assert_eq!(first, device_bytes(&state, 5 * BLOCK, BLOCK));
    assert_eq!(state.lock().unwrap().reads, vec![(40, 64)]);
    assert_eq!(cache.cached_blocks(), 8);
    assert_eq!(stats.misses.load(Ordering::Relaxed), 1);
    assert_eq!(stats.readahead.load(Ordering::Relaxed), 7);

    let rest = read_blocks(&mut cache, 6, 7);
    assert_eq!(rest, device_bytes(&state, 6 * BLOCK, 7 * BLOCK));
    assert_eq!(read_count(&state), 1, "blocks 6..13 were read ahead");
}

#[test]
fn readahead_stops_at_cached_block() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16).with_readahead(8);
    let data = pattern(BLOCK, 31);
    cache
        .write(&data, SectorId::new(9 * SECTORS_PER_BLOCK), 8)
        .unwrap();

    read_blocks(&mut cache, 6, 1);

    assert_eq!(state.lock().unwrap().reads, vec![(48, 24)]);
    assert_eq!(read_blocks(&mut cache, 9, 1), data);
    assert_eq!(read_count(&state), 1);
}

#[test]
fn readahead_stops_at_device_end() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16).with_readahead(8);

    let data = read_blocks(&mut cache, 61, 1);

    assert_eq!(data, device_bytes(&state, 61 * BLOCK, BLOCK));
    assert_eq!(state.lock().unwrap().reads, vec![(61 * 8, 24)]);
}

#[test]
fn readahead_capped_at_capacity() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 4).with_readahead(32);

    read_blocks(&mut cache, 0, 1);

    assert_eq!(state.lock().unwrap().reads, vec![(0, 32)]);
    assert_eq!(cache.cached_blocks(), 4);
}

#[test]
fn readahead_after_unaligned_read() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16).with_readahead(4);
    let stats = cache.stats();

    // Sectors 6..10 span blocks 0 and 1; the request reads blocks 0..4.
    let mut buffer = vec![0; 4 * SECTOR];
    cache.read(&mut buffer, SectorId::new(6), 4).unwrap();

    assert_eq!(buffer, device_bytes(&state, 6 * SECTOR, 4 * SECTOR));
    assert_eq!(state.lock().unwrap().reads, vec![(0, 32)]);
    assert_eq!(stats.misses.load(Ordering::Relaxed), 2);
    assert_eq!(stats.readahead.load(Ordering::Relaxed), 2);
    assert_eq!(
        read_blocks(&mut cache, 2, 2),
        device_bytes(&state, 2 * BLOCK, 2 * BLOCK)
    );
    assert_eq!(read_count(&state), 1);
}

#[test]
fn readahead_keeps_reads_after_writes_exact() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16).with_readahead(8);
    read_blocks(&mut cache, 0, 1);
    let data = pattern(BLOCK + SECTOR, 8);

    // Blocks 3 and 4 were read ahead; the write covers block 3 and the
    // first sector of block 4.
    cache
        .write(&data, SectorId::new(3 * SECTORS_PER_BLOCK), 9)
        .unwrap();

    let read = read_blocks(&mut cache, 3, 2);
    assert_eq!(read, device_bytes(&state, 3 * BLOCK, 2 * BLOCK));
    assert_eq!(&read[..data.len()], &data[..]);
    assert_eq!(read_count(&state), 1);
}

#[test]
fn mixed_requests_match_model() {
    check_mixed_requests(0);
}

#[test]
fn mixed_requests_with_readahead_match_model() {
    check_mixed_requests(5);
}

/// Runs random reads and writes, aligned and not, through a cache of 6
/// blocks with `readahead`, and checks every read against a model of the
/// device.
fn check_mixed_requests(readahead: u64) {
    const SECTORS: u64 = 40 * 8;
    let (device, state) = MemoryDevice::new(SECTORS as usize);
    let mut model = device_bytes(&state, 0, SECTORS as usize * SECTOR);
    // 6 blocks for a 40-block device, so that most requests evict.
    let mut cache = BlockCache::new(device, 6).with_readahead(readahead);
    let stats = cache.stats();
    let mut random = Lcg(42);

    for step in 0..3000 {
        let aligned = random.below(2) == 0;
        let (sector, count) = if aligned {
            let blocks = 1 + random.below(4);
            let block = random.below(SECTORS / 8 - blocks + 1);
            (block * 8, (blocks * 8) as u32)
        } else {
            let count = 1 + random.below(20);
            (random.below(SECTORS - count + 1), count as u32)
        };
        let range = sector as usize * SECTOR..(sector + u64::from(count)) as usize * SECTOR;
        if random.below(3) == 0 {
            let data = pattern(range.len(), step as u8);
            cache.write(&data, SectorId::new(sector), count).unwrap();
            model[range.clone()].copy_from_slice(&data);
            assert_eq!(
                device_bytes(&state, range.start, range.len()),
                data,
                "step {step}: write not on the device"
            );
        } else {
            let mut buffer = vec![0; range.len()];
            cache
                .read(&mut buffer, SectorId::new(sector), count)
                .unwrap();
            assert_eq!(
                buffer, model[range],
                "step {step}: read of {count} sectors at {sector}"
            );
        }
    }

    assert_eq!(device_bytes(&state, 0, model.len()), model);
    assert!(stats.hits.load(Ordering::Relaxed) > 0);
    assert!(stats.evictions.load(Ordering::Relaxed) > 0);
}

#[test]
fn read_bytes_reads_ahead_once() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16).with_readahead(8);

    // 100 bytes inside block 2: one request of 8 blocks from block 2.
    let mut buffer = vec![0; 100];
    cache.read_bytes(2 * BLOCK as u64 + 50, &mut buffer).unwrap();
    assert_eq!(buffer, device_bytes(&state, 2 * BLOCK + 50, 100));
    assert_eq!(state.lock().unwrap().reads, vec![(2 * 8, 64)]);

    // The blocks read ahead serve a read across blocks 3 to 9.
    let mut buffer = vec![0; 6 * BLOCK + 10];
    cache.read_bytes(3 * BLOCK as u64 + 7, &mut buffer).unwrap();
    assert_eq!(buffer, device_bytes(&state, 3 * BLOCK + 7, 6 * BLOCK + 10));
    assert_eq!(read_count(&state), 1);
}

#[test]
fn read_bytes_longer_than_capacity() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 4).with_readahead(2);

    // 10 blocks through a cache of 4, from the middle of block 1.
    let mut buffer = vec![0; 10 * BLOCK];
    cache.read_bytes(BLOCK as u64 + 300, &mut buffer).unwrap();
    assert_eq!(buffer, device_bytes(&state, BLOCK + 300, 10 * BLOCK));
    assert_eq!(cache.cached_blocks(), 4);
}

#[test]
fn read_bytes_past_last_whole_block() {
    // 3 sectors after the last whole block are read uncached.
    let (device, state) = MemoryDevice::new(8 * 8 + 3);
    let mut cache = BlockCache::new(device, 16).with_readahead(4);
    let stats = cache.stats();

    let mut buffer = vec![0; 1000];
    cache.read_bytes(8 * BLOCK as u64 - 200, &mut buffer).unwrap();
    assert_eq!(buffer, device_bytes(&state, 8 * BLOCK - 200, 1000));
    assert_eq!(stats.uncached_reads.load(Ordering::Relaxed), 1);
}

#[test]
fn read_bytes_with_cache_off() {
    let (device, state) = MemoryDevice::new(16 * 8);
    let mut cache = BlockCache::new(device, 0);

    let mut buffer = vec![0; 5000];
    cache.read_bytes(777, &mut buffer).unwrap();
    assert_eq!(buffer, device_bytes(&state, 777, 5000));
    assert_eq!(cache.cached_blocks(), 0);
}

#[test]
fn read_bytes_out_of_range_fails() {
    let (device, _state) = MemoryDevice::new(16 * 8);
    let mut cache = BlockCache::new(device, 16);

    let mut buffer = vec![0; 10];
    assert!(cache.read_bytes(16 * BLOCK as u64 - 5, &mut buffer).is_err());
    assert!(cache.read_bytes(u64::MAX - 3, &mut buffer).is_err());
}

/// Runs random writes and random byte-range reads through a cache of 6
/// blocks, and checks every read against a model of the device.
#[test]
fn mixed_byte_reads_match_model() {
    const SECTORS: u64 = 40 * 8;
    let (device, state) = MemoryDevice::new(SECTORS as usize);
    let mut model = device_bytes(&state, 0, SECTORS as usize * SECTOR);
    let mut cache = BlockCache::new(device, 6).with_readahead(5);
    let mut random = Lcg(7);

    for step in 0..3000 {
        if random.below(3) == 0 {
            let count = 1 + random.below(20);
            let sector = random.below(SECTORS - count + 1);
            let range = sector as usize * SECTOR..(sector + count) as usize * SECTOR;
            let data = pattern(range.len(), step as u8);
            cache.write(&data, SectorId::new(sector), count as u32).unwrap();
            model[range].copy_from_slice(&data);
        } else {
            let len = 1 + random.below(12 * BLOCK as u64);
            let offset = random.below(model.len() as u64 - len + 1);
            let mut buffer = vec![0; len as usize];
            cache.read_bytes(offset, &mut buffer).unwrap();
            let range = offset as usize..(offset + len) as usize;
            assert_eq!(buffer, model[range], "step {step}: read of {len} bytes at {offset}");
        }
    }
}

/// Returns the bytes of a [`FileData`].
fn data_bytes(data: &FileData) -> Vec<u8> {
    let mut bytes = vec![0; data.len()];
    assert_eq!(data.copy_to(&mut bytes), data.len());
    bytes
}

/// Shares `len` bytes from `offset` and returns them.
fn share(cache: &mut BlockCache<MemoryDevice>, offset: u64, len: usize) -> FileData {
    let mut data = FileData::new();
    cache.share_bytes(offset, len, &mut data).unwrap();
    assert_eq!(data.len(), len);
    data
}

#[test]
fn shared_bytes_read_ahead_once() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 16).with_readahead(8);
    let stats = cache.stats();

    let data = share(&mut cache, 2 * BLOCK as u64 + 50, 100);
    assert_eq!(data_bytes(&data), device_bytes(&state, 2 * BLOCK + 50, 100));
    assert_eq!(state.lock().unwrap().reads, vec![(2 * 8, 64)]);
    assert_eq!(stats.misses.load(Ordering::Relaxed), 1);
    assert_eq!(stats.readahead.load(Ordering::Relaxed), 7);

    let data = share(&mut cache, 3 * BLOCK as u64 + 7, 6 * BLOCK + 10);
    assert_eq!(data_bytes(&data), device_bytes(&state, 3 * BLOCK + 7, 6 * BLOCK + 10));
    assert_eq!(read_count(&state), 1);
    assert_eq!(stats.hits.load(Ordering::Relaxed), 7);
}

#[test]
fn shared_bytes_longer_than_capacity() {
    let (device, state) = MemoryDevice::new(64 * 8);
    let mut cache = BlockCache::new(device, 4).with_readahead(2);

    let data = share(&mut cache, BLOCK as u64 + 300, 10 * BLOCK);
    assert_eq!(data_bytes(&data), device_bytes(&state, BLOCK + 300, 10 * BLOCK));
    assert_eq!(cache.cached_blocks(), 4);
}

#[test]
fn shared_bytes_uncached_ranges() {
    // 3 sectors after the last whole block are copied, not shared.
    let (device, state) = MemoryDevice::new(8 * 8 + 3);
    let mut cache = BlockCache::new(device, 16).with_readahead(4);
    let data = share(&mut cache, 8 * BLOCK as u64 - 200, 1000);
    assert_eq!(data_bytes(&data), device_bytes(&state, 8 * BLOCK - 200, 1000));

    let (device, state) = MemoryDevice::new(16 * 8);
    let mut cache = BlockCache::new(device, 0);
    let data = share(&mut cache, 777, 5000);
    assert_eq!(data_bytes(&data), device_bytes(&state, 777, 5000));
    assert_eq!(cache.cached_blocks(), 0);
}

#[test]
fn shared_bytes_out_of_range_fail() {
    let (device, _state) = MemoryDevice::new(16 * 8);
    let mut cache = BlockCache::new(device, 16);
    let mut data = FileData::new();
    assert!(cache.share_bytes(16 * BLOCK as u64 - 5, 10, &mut data).is_err());
    assert!(cache.share_bytes(u64::MAX - 3, 10, &mut data).is_err());
}

/// Runs random writes and random shared reads through a cache of 6
/// blocks. Every read matches a model of the device, and keeps the bytes
/// it had when taken while later writes change the blocks.
#[test]
fn mixed_shared_reads_match_model() {
    const SECTORS: u64 = 40 * 8;
    let (device, state) = MemoryDevice::new(SECTORS as usize);
    let mut model = device_bytes(&state, 0, SECTORS as usize * SECTOR);
    let mut cache = BlockCache::new(device, 6).with_readahead(5);
    let mut random = Lcg(11);
    let mut held: Vec<(FileData, Vec<u8>)> = Vec::new();

    for step in 0..3000 {
        if random.below(3) == 0 {
            let count = 1 + random.below(20);
            let sector = random.below(SECTORS - count + 1);
            let range = sector as usize * SECTOR..(sector + count) as usize * SECTOR;
            let data = pattern(range.len(), step as u8);
            cache.write(&data, SectorId::new(sector), count as u32).unwrap();
            model[range].copy_from_slice(&data);
        } else {
            let len = 1 + random.below(12 * BLOCK as u64);
            let offset = random.below(model.len() as u64 - len + 1);
            let data = share(&mut cache, offset, len as usize);
            let expected = model[offset as usize..(offset + len) as usize].to_vec();
            assert_eq!(data_bytes(&data), expected, "step {step}: read of {len} bytes at {offset}");
            held.push((data, expected));
            if held.len() > 4 {
                held.remove(0);
            }
        }
        for (data, expected) in &held {
            assert_eq!(&data_bytes(data), expected, "step {step}: held read changed");
        }
    }
}

#[test]
fn ext4_through_small_cache_stays_clean() {
    let image = Image::new(|tree| {
        std::fs::create_dir(tree.join("dev")).unwrap();
        std::fs::write(tree.join("big.bin"), pattern(300_000, 5)).unwrap();
    });
    // 16 blocks: far fewer than the metadata and data that the steps touch.
    let (fs, stats) = image.mount_with_cache(16);
    let root: Arc<dyn FileSystem> = fs.clone();
    let mut ctx = FsContext::new(Arc::new(MountTable::new(root)));

    let create = OpenFlags::O_RDWR | OpenFlags::O_CREAT | OpenFlags::O_TRUNC;
    for index in 0..20 {
        let data = pattern(10_000 + index * 997, index as u8);
        let path = format!("/file{index}");
        let fd = ctx.open_at(AT_FDCWD, &path, create, 0o644).unwrap();
        let file = ctx.fd_table.get(fd).unwrap();
        assert_eq!(file.write(&data).unwrap(), data.len());
        ctx.fd_table.remove(fd).unwrap();
    }
    for index in 0..20 {
        let expected = pattern(10_000 + index * 997, index as u8);
        let fd = ctx
            .open_at(AT_FDCWD, &format!("/file{index}"), OpenFlags::empty(), 0)
            .unwrap();
        let file = ctx.fd_table.get(fd).unwrap();
        let mut data = vec![0; expected.len() + 1];
        assert_eq!(file.read(&mut data).unwrap(), expected.len());
        assert_eq!(data[..expected.len()], expected[..], "/file{index}");
        ctx.fd_table.remove(fd).unwrap();
    }
    let fd = ctx
        .open_at(AT_FDCWD, "/big.bin", OpenFlags::empty(), 0)
        .unwrap();
    let file = ctx.fd_table.get(fd).unwrap();
    let mut data = vec![0; 300_001];
    let mut total = 0;
    loop {
        let count = file.read(&mut data[total..]).unwrap();
        if count == 0 {
            break;
        }
        total += count;
    }
    assert_eq!(data[..total], pattern(300_000, 5)[..]);
    ctx.fd_table.remove(fd).unwrap();

    drop(ctx);
    fs.unmount().unwrap();
    image.assert_clean();
    let listing = image.debugfs("ls -l /");
    assert!(listing.contains("file19"), "debugfs listing: {listing}");
    assert!(stats.hits.load(Ordering::Relaxed) > 0);
    assert!(stats.evictions.load(Ordering::Relaxed) > 0);
}

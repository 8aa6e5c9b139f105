//! Shared helpers of the host tests: an image file as block device, image
//! creation with `mke2fs -d`, and the e2fsprogs checks.

#![allow(dead_code)]

use std::{
    fs::{File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use starry_vfs::block_cache::{BlockCacheStats, DEFAULT_CAPACITY_BLOCKS, DEFAULT_READAHEAD_BLOCKS};
use starry_vfs::rsext4::{DeviceCapabilities, DeviceGeometry, Ext4Error, Ext4Result, SectorId};
use starry_vfs::{
    BlockCache, BlockDevice, CharDevice, Ext4Fs, FileSystem, FsContext, MountTable, TimeSpec,
    WallClock,
};

/// Sector size of the file-backed device, as virtio-blk's.
const SECTOR_SIZE: u64 = 512;

/// A block device on an image file.
pub struct FileDevice {
    file: File,
    sectors: u64,
}

impl FileDevice {
    pub fn open(path: &Path) -> Self {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .expect("open image");
        let sectors = file.metadata().expect("image metadata").len() / SECTOR_SIZE;
        Self { file, sectors }
    }

    fn seek_to(&mut self, sector: SectorId, count: u32, buffer_len: usize) -> Ext4Result<usize> {
        let bytes = count as usize * SECTOR_SIZE as usize;
        if buffer_len < bytes {
            return Err(Ext4Error::buffer_too_small(buffer_len, bytes));
        }
        if sector.raw() + u64::from(count) > self.sectors {
            return Err(Ext4Error::io());
        }
        self.file
            .seek(SeekFrom::Start(sector.raw() * SECTOR_SIZE))
            .map_err(|_| Ext4Error::io())?;
        Ok(bytes)
    }
}

impl BlockDevice for FileDevice {
    fn write(&mut self, buffer: &[u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        let bytes = self.seek_to(sector, count, buffer.len())?;
        self.file
            .write_all(&buffer[..bytes])
            .map_err(|_| Ext4Error::io())
    }

    fn read(&mut self, buffer: &mut [u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        let bytes = self.seek_to(sector, count, buffer.len())?;
        self.file
            .read_exact(&mut buffer[..bytes])
            .map_err(|_| Ext4Error::io())
    }

    fn geometry(&self) -> DeviceGeometry {
        DeviceGeometry::new(SECTOR_SIZE as u32, self.sectors)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        DeviceCapabilities {
            flush: true,
            ..DeviceCapabilities::default()
        }
    }

    fn flush(&mut self) -> Ext4Result<()> {
        self.file.sync_data().map_err(|_| Ext4Error::io())
    }
}

pub fn host_clock() -> TimeSpec {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    TimeSpec::new(now.as_secs() as i64, now.subsec_nanos())
}

/// Fills `buf` with a fixed byte pattern, standing in for an entropy source.
pub fn fake_entropy(buf: &mut [u8]) {
    for (index, byte) in buf.iter_mut().enumerate() {
        *byte = (index as u8).wrapping_mul(31).wrapping_add(7);
    }
}

/// A temporary folder with a source tree and the ext4 image made from it.
pub struct Image {
    pub dir: tempfile::TempDir,
    pub tree: PathBuf,
    pub image: PathBuf,
}

impl Image {
    /// Creates a tree with `build`, then a 64 MiB image of it with
    /// `mke2fs -t ext4 -b 4096 -d`.
    pub fn new(build: impl FnOnce(&Path)) -> Self {
        Self::with_mke2fs_options(build, &[])
    }

    /// Like [`Image::new`], with extra `mke2fs` options such as `-O ^dir_index`.
    pub fn with_mke2fs_options(build: impl FnOnce(&Path), options: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let tree = dir.path().join("tree");
        std::fs::create_dir(&tree).unwrap();
        build(&tree);
        let image = dir.path().join("root.img");
        let output = Command::new("mke2fs")
            .args(["-q", "-F", "-t", "ext4", "-b", "4096"])
            .args(options)
            .arg("-d")
            .arg(&tree)
            .arg(&image)
            .arg("64M")
            .output()
            .expect("run mke2fs (install e2fsprogs)");
        assert!(
            output.status.success(),
            "mke2fs failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Self { dir, tree, image }
    }

    /// Mounts the image through a [`BlockCache`] of the kernel's default
    /// capacity, as the kernel mounts its root disk.
    pub fn mount(&self) -> Arc<Ext4Fs> {
        self.mount_with_cache(DEFAULT_CAPACITY_BLOCKS).0
    }

    /// Mounts the image through a [`BlockCache`] of `capacity_blocks` blocks
    /// with the kernel's readahead, and returns the file system with the
    /// cache's counters.
    pub fn mount_with_cache(&self, capacity_blocks: usize) -> (Arc<Ext4Fs>, Arc<BlockCacheStats>) {
        let cache = BlockCache::new(FileDevice::open(&self.image), capacity_blocks)
            .with_readahead(DEFAULT_READAHEAD_BLOCKS);
        let stats = cache.stats();
        let fs = Ext4Fs::mount_cached(cache, host_clock, Some(fake_entropy))
            .expect("mount ext4 image");
        (fs, stats)
    }

    /// Mounts the image as root with devfs on /dev and returns the root
    /// file system and a process context.
    pub fn context(&self) -> (Arc<Ext4Fs>, FsContext) {
        self.context_with_clock(host_clock)
    }

    /// Like [`Image::context`], with `clock` setting the file timestamps.
    pub fn context_with_clock(&self, clock: WallClock) -> (Arc<Ext4Fs>, FsContext) {
        let cache = BlockCache::new(FileDevice::open(&self.image), DEFAULT_CAPACITY_BLOCKS)
            .with_readahead(DEFAULT_READAHEAD_BLOCKS);
        let fs =
            Ext4Fs::mount_cached(cache, clock, Some(fake_entropy)).expect("mount ext4 image");
        let root: Arc<dyn FileSystem> = fs.clone();
        let mounts = Arc::new(MountTable::new(root));
        starry_vfs::mount_devfs(&mounts, Arc::new(TestConsole), fake_entropy, host_clock)
            .expect("mount devfs");
        (fs, FsContext::new(mounts))
    }

    /// Runs `e2fsck -fn` and returns its exit status and output.
    pub fn fsck(&self) -> (i32, String) {
        let output = Command::new("e2fsck")
            .arg("-fn")
            .arg(&self.image)
            .output()
            .expect("run e2fsck");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), text)
    }

    /// Asserts that `e2fsck -fn` finds no error.
    pub fn assert_clean(&self) {
        let (status, text) = self.fsck();
        assert_eq!(status, 0, "e2fsck -fn reported problems:\n{text}");
    }

    /// Runs one `debugfs` request on the image and returns its output.
    pub fn debugfs(&self, request: &str) -> String {
        let output = Command::new("debugfs")
            .arg("-R")
            .arg(request)
            .arg(&self.image)
            .output()
            .expect("run debugfs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Returns the value after `key` in `debugfs -R 'stat PATH'` output.
    pub fn debugfs_field(&self, path: &str, key: &str) -> String {
        let output = self.debugfs(&format!("stat {path}"));
        let start = output
            .find(key)
            .unwrap_or_else(|| panic!("debugfs stat {path} has no {key}: {output}"));
        output[start + key.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }
}

/// A console that records nothing and reads nothing, reported as a terminal.
pub struct TestConsole;

impl CharDevice for TestConsole {
    fn read(&self, _buf: &mut [u8]) -> starry_vfs::VfsResult<usize> {
        Ok(0)
    }

    fn write(&self, buf: &[u8]) -> starry_vfs::VfsResult<usize> {
        Ok(buf.len())
    }

    fn is_tty(&self) -> bool {
        true
    }
}

/// Returns `len` bytes of a pattern that differs at every offset of a block.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2654435761)
                .rotate_left(seed as u32 % 32) as u8
                ^ seed
        })
        .collect()
}

//! ext4 through rsext4.
//!
//! rsext4 0.9.2 provides an owned, OS-independent mount ([`rsext4::Ext4`]) that
//! works on inode numbers: lookup of one name, inode read/write/truncate,
//! create, link, unlink, rename, metadata updates, sync and unmount. This
//! module adapts it to [`VfsNode`]: one node per (file system, inode number),
//! and one lock around the mount.
//!
//! A file whose last name is removed while nodes of it are alive (an open
//! file, a working directory) stays on ext4's orphan list. The last node
//! reaps it when dropped, and unmount reaps the rest.

use alloc::{
    boxed::Box,
    collections::{BTreeMap, BTreeSet},
    string::String,
    sync::Arc,
    vec::Vec,
};
use core::{
    any::Any,
    sync::atomic::{AtomicBool, Ordering},
};

use rsext4::{
    DeviceCapabilities, DeviceGeometry, DirectoryCursor, DirectoryEntryType,
    Ext4, Ext4Error, Ext4ErrorKind, Ext4Result, Ext4Timestamp, FileExtentTarget, FileName,
    FilePermissions,
    InodeInfo, InodeMetadataUpdate, InodeNumber, MountOptions, MountServices, MountedServices,
    MutationContext, NoopObserver, RenameOptions, SectorId, SpecialInodeKind, WriteFlags,
};
use spin::Mutex;

use crate::{
    CreateAttr, DirEntry, EXT4_SUPER_MAGIC, EntropySource, LinuxError, NAME_MAX, NodeType,
    RenameFlags, SetAttr,
    Stat, StatFs, TimeSpec, VfsResult, WallClock,
    attr_cache::{ATTR_CACHE_CAPACITY, AttrCache},
    block_cache::{BlockCache, ByteSource, SharedBlockCache},
    dcache::{DENTRY_CACHE_CAPACITY, Dentry, DentryCache},
    file_data::FileData,
    file_map::{FileMap, ReadCache},
    inode_record::{ChangedInodes, DecodeError, FileLayout, InodeAttrs, InodeReadStats, InodeTable},
    live_nodes::{LiveNodes, RECENT_NODE_CAPACITY},
    node::{FileSystem, NodeId, NodeRef, VfsNode},
    tmpfs::alloc_anonymous_dev,
};

/// The block-device trait that the kernel implements (on virtio-blk) and
/// host tests implement on an image file. It is rsext4's [`rsext4::BlockIo`]:
/// sectors are `geometry().logical_block_size` bytes (512 for virtio-blk).
pub use rsext4::BlockIo as BlockDevice;

/// `stat` block size of ext4 files.
const IO_BLOCK_SIZE: u32 = 4096;

/// Entries read from disk per `read_dir` step while skipping to an index.
const DIR_SKIP_BATCH: usize = 128;

type MountedExt4 = Ext4<DynDevice, MountedServices<EntropyAdapter, NoopObserver, ()>>;

/// A boxed block device, so that [`Ext4Fs`] is not generic over the device.
struct DynDevice(Box<dyn BlockDevice + Send>);

impl BlockDevice for DynDevice {
    fn write(&mut self, buffer: &[u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        self.0.write(buffer, sector, count)
    }

    fn read(&mut self, buffer: &mut [u8], sector: SectorId, count: u32) -> Ext4Result<()> {
        self.0.read(buffer, sector, count)
    }

    fn write_with_flags(
        &mut self,
        buffer: &[u8],
        sector: SectorId,
        count: u32,
        flags: WriteFlags,
    ) -> Ext4Result<()> {
        self.0.write_with_flags(buffer, sector, count, flags)
    }

    fn geometry(&self) -> DeviceGeometry {
        self.0.geometry()
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.0.capabilities()
    }

    fn flush(&mut self) -> Ext4Result<()> {
        self.0.flush()
    }

    fn barrier(&mut self) -> Ext4Result<()> {
        self.0.barrier()
    }

    fn discard(&mut self, start: SectorId, count: u32) -> Ext4Result<()> {
        self.0.discard(start, count)
    }
}

struct ClockAdapter(WallClock);

impl rsext4::Clock for ClockAdapter {
    fn now(&self) -> Ext4Result<Ext4Timestamp> {
        let now = (self.0)();
        Ok(Ext4Timestamp::new(now.sec, now.nsec))
    }
}

struct EntropyAdapter(Option<EntropySource>);

impl rsext4::EntropySource for EntropyAdapter {
    fn fill_bytes(&mut self, output: &mut [u8]) -> Ext4Result<()> {
        match self.0 {
            Some(fill) => {
                fill(output);
                Ok(())
            }
            None => Err(Ext4Error::unsupported_capability("runtime:entropy")),
        }
    }
}

/// Converts an rsext4 error to the errno Linux's ext4 returns in that case.
pub fn ext4_errno(error: Ext4Error) -> LinuxError {
    use Ext4ErrorKind::*;
    let errno = match error.kind() {
        Io => LinuxError::EIO,
        // Linux ext4 reports corruption as EFSCORRUPTED (EUCLEAN) and checksum
        // errors as EFSBADCRC (EBADMSG).
        Corrupted => LinuxError::EUCLEAN,
        ChecksumMismatch => LinuxError::EBADMSG,
        UnsupportedFeature | UnsupportedCapability | Unsupported => LinuxError::EOPNOTSUPP,
        ReadOnly | JournalAborted => LinuxError::EROFS,
        NoSpace => LinuxError::ENOSPC,
        NoMemory => LinuxError::ENOMEM,
        QuotaExceeded => LinuxError::EDQUOT,
        TooManyLinks => LinuxError::EMLINK,
        PermissionDenied => LinuxError::EPERM,
        NotFound => LinuxError::ENOENT,
        AlreadyExists => LinuxError::EEXIST,
        NotDirectory => LinuxError::ENOTDIR,
        IsDirectory => LinuxError::EISDIR,
        NotEmpty => LinuxError::ENOTEMPTY,
        Busy => LinuxError::EBUSY,
        BadFileDescriptor => LinuxError::EBADF,
        InvalidInput | BadSuperblock | InvalidMagic => LinuxError::EINVAL,
        Overflow => LinuxError::EOVERFLOW,
        FileTooLarge => LinuxError::EFBIG,
        Timeout => LinuxError::ETIMEDOUT,
    };
    if matches!(errno, LinuxError::EIO | LinuxError::EUCLEAN | LinuxError::EBADMSG) {
        log::warn!("ext4: {error}");
    } else {
        log::debug!("ext4: {error}");
    }
    errno
}

fn file_name(name: &str) -> VfsResult<FileName<'_>> {
    if name.len() > NAME_MAX {
        return Err(LinuxError::ENAMETOOLONG);
    }
    FileName::new(name.as_bytes()).map_err(|_| LinuxError::EINVAL)
}

fn node_type_of(info: &InodeInfo) -> NodeType {
    match info.file_type() {
        DirectoryEntryType::Directory => NodeType::Directory,
        DirectoryEntryType::Symlink => NodeType::Symlink,
        DirectoryEntryType::CharacterDevice => NodeType::CharDevice,
        DirectoryEntryType::BlockDevice => NodeType::BlockDevice,
        DirectoryEntryType::Fifo => NodeType::Fifo,
        DirectoryEntryType::Socket => NodeType::Socket,
        DirectoryEntryType::RegularFile | DirectoryEntryType::Unknown => NodeType::Regular,
    }
}

fn entry_type(file_type: DirectoryEntryType) -> NodeType {
    match file_type {
        DirectoryEntryType::Directory => NodeType::Directory,
        DirectoryEntryType::Symlink => NodeType::Symlink,
        DirectoryEntryType::CharacterDevice => NodeType::CharDevice,
        DirectoryEntryType::BlockDevice => NodeType::BlockDevice,
        DirectoryEntryType::Fifo => NodeType::Fifo,
        DirectoryEntryType::Socket => NodeType::Socket,
        DirectoryEntryType::RegularFile | DirectoryEntryType::Unknown => NodeType::Regular,
    }
}

fn timestamp(time: TimeSpec) -> Ext4Timestamp {
    Ext4Timestamp::new(time.sec, time.nsec)
}

/// Largest directory, in bytes of directory blocks, whose entries a lookup
/// miss caches all at once. 32 KiB contains at most 2730 entries (12 bytes is
/// the smallest ext4 entry), a third of [`DENTRY_CACHE_CAPACITY`], so one
/// fill cannot push most other entries out. In the userland image (read
/// with `debugfs`), `lib/python3.11` takes 4 KiB (about 200 entries) and
/// `lib/python3.11/test` 16 KiB (about 600).
const DENTRY_FILL_MAX_BYTES: u64 = 32 * 1024;

/// Smallest size of an ext4 directory entry: the 8-byte header plus a name
/// of up to 4 bytes.
const MIN_DIR_ENTRY_BYTES: u64 = 12;

/// Number of directories whose `read_dir` positions are kept.
const DIR_POSITION_SLOTS: usize = 16;

/// Entry index to cursor, for the entries returned by the last `read_dir`
/// call on one directory.
type DirPositions = Vec<(u64, DirectoryCursor)>;

struct Ext4Inner {
    mount: Mutex<MountedExt4>,
    dev: u64,
    root_ino: InodeNumber,
    /// Number of live [`Ext4Node`]s per inode number, and the recently
    /// returned nodes that are kept alive for the next lookup.
    live_nodes: Mutex<LiveNodes<Ext4Node>>,
    /// Inodes without names that live nodes still use.
    orphans: Mutex<BTreeSet<u32>>,
    /// `read_dir` positions by directory inode number, so that listing a
    /// directory in several calls does not read it again from the start.
    dir_positions: Mutex<BTreeMap<u32, DirPositions>>,
    /// Results of name lookups. Every directory change below updates it
    /// with the mount lock held, and so does every lookup that fills it.
    dentries: DentryCache,
    /// Attributes of inodes, for `stat`. Every operation below that may
    /// change an inode drops its entry with the mount lock held, and `stat`
    /// fills entries with the lock held. The entry of a freed inode stays
    /// until `create` or `symlink` reuses its number and drops it.
    attrs: AttrCache,
    /// Extent maps of regular files for the direct read path, kept exact as
    /// `attrs` is. Locked only with the mount lock held.
    reads: Mutex<ReadCache>,
    /// The block cache under rsext4, for the direct read path, or `None`
    /// when the mount reads every file through rsext4.
    data: Option<Arc<dyn ByteSource>>,
    /// Inode-table geometry for `stat` from the block cache `data` (see
    /// [`crate::inode_record`]), or `None` when rsext4 serves every `stat`.
    inode_table: Option<InodeTable>,
    /// Inodes that rsext4 may hold newer than the block cache. Every
    /// operation that drops an entry of `attrs` adds the inode here, with
    /// the mount lock held.
    changed: Mutex<ChangedInodes>,
    inode_reads: InodeReadStats,
    clock: WallClock,
    unmounted: AtomicBool,
}

/// A mounted ext4 file system.
pub struct Ext4Fs {
    inner: Arc<Ext4Inner>,
}

impl Ext4Fs {
    /// Mounts the ext4 file system on `device` read-write, replaying its
    /// journal. `clock` sets timestamps; `entropy` seeds ext4's hash and
    /// multi-mount protection, which fail without it where they need it.
    pub fn mount(
        device: Box<dyn BlockDevice + Send>,
        clock: WallClock,
        entropy: Option<EntropySource>,
    ) -> VfsResult<Arc<Self>> {
        Self::mount_device(device, None, clock, entropy)
    }

    /// Mounts the ext4 file system on the device of `cache`, as
    /// [`Self::mount`] does, and reads regular files with an extent tree
    /// straight from `cache` instead of through rsext4 (see
    /// [`crate::file_map`]).
    pub fn mount_cached<D: BlockDevice + Send + 'static>(
        cache: BlockCache<D>,
        clock: WallClock,
        entropy: Option<EntropySource>,
    ) -> VfsResult<Arc<Self>> {
        let shared = Arc::new(Mutex::new(cache));
        let device = Box::new(SharedBlockCache(shared.clone()));
        Self::mount_device(device, Some(shared), clock, entropy)
    }

    fn mount_device(
        device: Box<dyn BlockDevice + Send>,
        data: Option<Arc<dyn ByteSource>>,
        clock: WallClock,
        entropy: Option<EntropySource>,
    ) -> VfsResult<Arc<Self>> {
        let services = MountServices::new(
            ClockAdapter(clock),
            EntropyAdapter(entropy),
            NoopObserver,
        );
        let mount = Ext4::mount(DynDevice(device), services, MountOptions::read_write())
            .map_err(|error| {
                log::error!("ext4: mount failed: {error}");
                ext4_errno(error)
            })?;
        let root_ino = mount.root_inode();
        // After the journal replay of the mount, so that the geometry is
        // read from recovered blocks.
        let inode_table = data.as_deref().and_then(InodeTable::load);
        if data.is_some() && inode_table.is_none() {
            log::info!("ext4: inode-table layout not decoded, stat goes through rsext4");
        }
        let journal = inode_table.as_ref().is_none_or(InodeTable::has_journal);
        let stats = mount.statfs();
        log::info!(
            "ext4: mounted, {} blocks of {} bytes, {} free",
            stats.total_blocks,
            stats.block_size,
            stats.free_blocks
        );
        Ok(Arc::new(Self {
            inner: Arc::new(Ext4Inner {
                mount: Mutex::new(mount),
                dev: alloc_anonymous_dev(),
                root_ino,
                live_nodes: Mutex::new(LiveNodes::new(RECENT_NODE_CAPACITY)),
                orphans: Mutex::new(BTreeSet::new()),
                dir_positions: Mutex::new(BTreeMap::new()),
                dentries: DentryCache::new(DENTRY_CACHE_CAPACITY),
                attrs: AttrCache::new(ATTR_CACHE_CAPACITY),
                reads: Mutex::new(ReadCache::default()),
                data,
                inode_table,
                changed: Mutex::new(ChangedInodes::new(journal)),
                inode_reads: InodeReadStats::default(),
                clock,
                unmounted: AtomicBool::new(false),
            }),
        }))
    }
}

impl Ext4Fs {
    /// Returns the cache of name lookups, for its counters.
    pub fn dentry_cache(&self) -> &DentryCache {
        &self.inner.dentries
    }

    /// Returns the cache of inode attributes, for its counters.
    pub fn attr_cache(&self) -> &AttrCache {
        &self.inner.attrs
    }

    /// Returns the counters of the `stat` calls that missed the attribute
    /// cache, by the path that served them.
    pub fn inode_read_stats(&self) -> &InodeReadStats {
        &self.inner.inode_reads
    }
}

impl FileSystem for Ext4Fs {
    fn root(&self) -> NodeRef {
        Ext4Node::node_ref(&self.inner, self.inner.root_ino, NodeType::Directory)
    }

    fn statfs(&self) -> VfsResult<StatFs> {
        let stats = self.inner.mount.lock().statfs();
        Ok(StatFs {
            fs_type: EXT4_SUPER_MAGIC,
            block_size: stats.block_size,
            blocks: stats.total_blocks,
            blocks_free: stats.free_blocks,
            blocks_available: stats.free_blocks,
            files: u64::from(stats.total_inodes),
            files_free: u64::from(stats.free_inodes),
            name_max: NAME_MAX as u64,
        })
    }

    fn sync(&self) -> VfsResult<()> {
        if self.inner.unmounted.load(Ordering::Acquire) {
            return Ok(());
        }
        self.inner.sync(&mut self.inner.mount.lock())
    }

    fn unmount(&self) -> VfsResult<()> {
        if self.inner.unmounted.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // The cached nodes refer to the mount, so they go first. A node
        // that is the last of an orphan leaves it to the loop below.
        let cached = self.inner.live_nodes.lock().forget_all();
        drop(cached);
        let mut mount = self.inner.mount.lock();
        let orphans = core::mem::take(&mut *self.inner.orphans.lock());
        for ino in orphans {
            if let Ok(number) = InodeNumber::new(ino)
                && let Err(error) = mount.reap_unlinked_inode(number) {
                    log::warn!("ext4: reaping orphan inode {ino} failed: {error}");
                }
        }
        mount.unmount().map_err(|error| {
            log::error!("ext4: unmount failed: {error}");
            ext4_errno(error)
        })?;
        log::info!("ext4: unmounted cleanly");
        Ok(())
    }

    fn name(&self) -> &'static str {
        "ext4"
    }
}

impl Ext4Inner {
    /// Drops the cached attributes and extent map of `ino`, after a change
    /// of the inode or when the change may have failed part way. The caller
    /// holds the mount lock.
    fn inode_changed(&self, ino: InodeNumber) {
        self.attrs_changed(ino);
        self.reads.lock().forget(ino.raw());
    }

    /// Drops the cached attributes of `ino` and stats it through rsext4
    /// from now on ([`ChangedInodes`]), after a change of the inode. The
    /// caller holds the mount lock.
    fn attrs_changed(&self, ino: InodeNumber) {
        self.attrs.invalidate(ino.raw());
        self.changed.lock().insert(ino.raw());
    }

    /// Syncs the file system. After a successful sync, rsext4 holds no
    /// written data that the block cache lacks.
    fn sync(&self, mount: &mut MountedExt4) -> VfsResult<()> {
        mount.sync().map_err(ext4_errno)?;
        self.reads.lock().synced();
        self.changed.lock().synced();
        Ok(())
    }

    /// Caches the child `info` under `name` in directory `parent`. The
    /// caller holds the mount lock.
    fn cache_positive(&self, parent: InodeNumber, name: &str, info: &InodeInfo) {
        let dentry = Dentry::Positive {
            ino: info.number.raw(),
            node_type: node_type_of(info),
        };
        self.dentries.insert(parent.raw(), name, dentry);
    }

    /// Returns the value of a directory change to `name` in `parent`, or
    /// drops the cached entry when the change failed, because a failed
    /// change may have reached the disk in part. The caller holds the mount
    /// lock and caches the new entry after success.
    fn checked_change<T>(&self, parent: InodeNumber, name: &str, result: Ext4Result<T>) -> VfsResult<T> {
        result.map_err(|error| {
            self.dentries.invalidate(parent.raw(), name);
            ext4_errno(error)
        })
    }

    /// Drops the cached node of `ino`, if any. Other users of that node
    /// keep it alive.
    fn forget_node(&self, ino: InodeNumber) {
        let cached = self.live_nodes.lock().forget(ino.raw());
        drop(cached);
    }

    /// Reaps `ino` now when no node uses it, else when its last node is dropped.
    /// The caller holds the mount lock and has stored the negative entry of
    /// the removed name, so no lookup can return the inode again.
    fn release_inode(&self, mount: &mut MountedExt4, ino: InodeNumber) -> VfsResult<()> {
        self.forget_node(ino);
        let in_use = self.live_nodes.lock().is_live(ino.raw());
        if in_use {
            self.orphans.lock().insert(ino.raw());
            Ok(())
        } else {
            mount.reap_unlinked_inode(ino).map_err(ext4_errno)
        }
    }
}

/// An inode of a mounted [`Ext4Fs`].
pub struct Ext4Node {
    fs: Arc<Ext4Inner>,
    ino: InodeNumber,
    node_type: NodeType,
}

impl Ext4Node {
    /// Returns the node of inode `ino`: the cached one, or a new one that
    /// the cache keeps.
    fn node_ref(fs: &Arc<Ext4Inner>, ino: InodeNumber, node_type: NodeType) -> NodeRef {
        let (node, evicted) = Self::node_ref_locked(fs, &mut fs.live_nodes.lock(), ino, node_type);
        drop(evicted);
        node
    }

    /// Returns the node as [`Ext4Node::node_ref`] does, for a caller that
    /// holds the `live_nodes` lock. The node that the cache evicts is
    /// returned too, and the caller drops it after releasing the lock.
    fn node_ref_locked(
        fs: &Arc<Ext4Inner>,
        live_nodes: &mut LiveNodes<Ext4Node>,
        ino: InodeNumber,
        node_type: NodeType,
    ) -> (NodeRef, Option<Arc<Ext4Node>>) {
        if let Some(node) = live_nodes.recent(ino.raw(), |node| node.node_type == node_type) {
            return (node, None);
        }
        live_nodes.count_new(ino.raw());
        let node = Arc::new(Self {
            fs: fs.clone(),
            ino,
            node_type,
        });
        let evicted = live_nodes.keep(ino.raw(), node.clone());
        (node, evicted)
    }

    /// Looks `name` up in the dentry cache only. The node of a positive
    /// entry is counted live under the same `live_nodes` lock as the read.
    /// A removal stores its negative entry before it checks that count. So
    /// either the removal finds this node counted and keeps the inode as an
    /// orphan, or this read finds the negative entry.
    fn cached_lookup(&self, name: &str) -> Option<VfsResult<NodeRef>> {
        let (found, evicted) = {
            let mut live_nodes = self.fs.live_nodes.lock();
            match self.fs.dentries.get(self.ino.raw(), name)? {
                Dentry::Positive { ino, node_type } => match InodeNumber::new(ino) {
                    Ok(ino) => {
                        let (node, evicted) =
                            Self::node_ref_locked(&self.fs, &mut live_nodes, ino, node_type);
                        (Ok(node), evicted)
                    }
                    Err(error) => (Err(ext4_errno(error)), None),
                },
                Dentry::Negative => (Err(LinuxError::ENOENT), None),
            }
        };
        drop(evicted);
        Some(found)
    }

    fn from_info(fs: &Arc<Ext4Inner>, info: &InodeInfo) -> NodeRef {
        Self::node_ref(fs, info.number, node_type_of(info))
    }

    /// Builds the `stat` result of the inode `info` of this file system.
    fn stat_of(&self, info: &InodeInfo) -> Stat {
        let attrs = InodeAttrs {
            mode: info.mode,
            links: info.links,
            uid: info.uid,
            gid: info.gid,
            size: info.size,
            blocks: info.blocks,
            atime: info.atime,
            mtime: info.mtime,
            ctime: info.ctime,
            device: info
                .device_number
                .map(|number| (number.major(), number.minor())),
        };
        self.stat_of_attrs(info.number, &attrs)
    }

    /// Builds the `stat` result of inode `ino` of this file system.
    fn stat_of_attrs(&self, ino: InodeNumber, attrs: &InodeAttrs) -> Stat {
        let rdev = attrs
            .device
            .map_or(0, |(major, minor)| crate::devfs::make_dev(major, minor));
        Stat {
            dev: self.fs.dev,
            ino: ino.as_u64(),
            mode: u32::from(attrs.mode),
            nlink: u32::from(attrs.links),
            uid: attrs.uid,
            gid: attrs.gid,
            rdev,
            size: attrs.size,
            blksize: IO_BLOCK_SIZE,
            blocks: attrs.blocks,
            atime: TimeSpec::new(i64::from(attrs.atime), 0),
            mtime: TimeSpec::new(i64::from(attrs.mtime), 0),
            ctime: TimeSpec::new(i64::from(attrs.ctime), 0),
        }
    }

    /// Decodes this inode's `stat` from the block cache (see
    /// [`crate::inode_record`]). Returns `None` when rsext4 is to serve it:
    /// the inode changed since the records in the block cache were last
    /// known current, the mount has no decodable inode table, or the record
    /// failed to decode. The caller holds the mount lock.
    fn decoded_stat(&self) -> Option<Stat> {
        let (table, data) = self.decodable()?;
        let raw = self.ino.raw();
        match table.read_attrs(data, raw) {
            Ok(attrs) => Some(self.stat_of_attrs(self.ino, &attrs)),
            Err(error) => {
                Self::log_decode_error(raw, error);
                None
            }
        }
    }

    fn lock(&self) -> spin::MutexGuard<'_, MountedExt4> {
        self.fs.mount.lock()
    }

    fn same_fs<'a>(&self, node: &'a NodeRef) -> VfsResult<&'a Ext4Node> {
        match node.as_any().downcast_ref::<Ext4Node>() {
            Some(other) if Arc::ptr_eq(&other.fs, &self.fs) => Ok(other),
            _ => Err(LinuxError::EXDEV),
        }
    }

    fn context(attr: &CreateAttr) -> MutationContext {
        // The VFS applies the umask itself, so rsext4 gets none.
        MutationContext::new(attr.uid, attr.gid, 0, 0)
    }

    fn permissions(attr: &CreateAttr) -> VfsResult<FilePermissions> {
        FilePermissions::new((attr.mode & 0o7777) as u16).map_err(|_| LinuxError::EINVAL)
    }

    fn forget_dir_positions(&self) {
        self.fs.dir_positions.lock().remove(&self.ino.raw());
    }

    /// Caches every entry of this directory and marks it complete, when it
    /// is at most [`DENTRY_FILL_MAX_BYTES`] long. Returns whether it did.
    /// The caller holds the mount lock, so the entries cannot change while
    /// they are read and cached.
    fn fill_dentries(&self, mount: &mut MountedExt4) -> VfsResult<bool> {
        let info = mount.inode(self.ino).map_err(ext4_errno)?;
        // The directory's attributes come with its size, and Python stats
        // every directory that it searches for modules.
        self.fs.attrs.insert(self.ino.raw(), self.stat_of(&info));
        if info.size > DENTRY_FILL_MAX_BYTES {
            return Ok(false);
        }
        let max_entries = (DENTRY_FILL_MAX_BYTES / MIN_DIR_ENTRY_BYTES) as usize + 1;
        let entries = mount
            .read_directory(self.ino, DirectoryCursor::Start, max_entries)
            .map_err(ext4_errno)?;
        let mut dentries = Vec::with_capacity(entries.len());
        for entry in &entries {
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            // Without the type in the entry (no `filetype` feature), or with
            // a name that a lookup cannot spell, the fill would be wrong.
            if entry.file_type == DirectoryEntryType::Unknown {
                return Ok(false);
            }
            let Ok(name) = core::str::from_utf8(&entry.name) else {
                return Ok(false);
            };
            let dentry = Dentry::Positive {
                ino: entry.inode.raw(),
                node_type: entry_type(entry.file_type),
            };
            dentries.push((name, dentry));
        }
        self.fs.dentries.fill_directory(self.ino.raw(), dentries);
        Ok(self.fs.dentries.is_complete(self.ino.raw()))
    }

    /// Returns the cursor of entry `index`, from the positions of the last
    /// call or by reading from the start.
    fn cursor_at(&self, mount: &mut MountedExt4, index: u64) -> VfsResult<Option<DirectoryCursor>> {
        if index == 0 {
            return Ok(Some(DirectoryCursor::Start));
        }
        let cached = self.fs.dir_positions.lock().get(&self.ino.raw()).and_then(|positions| {
            positions
                .iter()
                .find(|(position, _)| *position == index)
                .map(|(_, cursor)| *cursor)
        });
        if let Some(cursor) = cached {
            return Ok(Some(cursor));
        }
        let mut reader = mount.open_directory_reader(self.ino).map_err(ext4_errno)?;
        let mut cursor = DirectoryCursor::Start;
        let mut position = 0;
        while position < index {
            let batch_size = DIR_SKIP_BATCH.min((index - position) as usize);
            let batch = mount
                .read_directory_with_reader(&mut reader, cursor, batch_size)
                .map_err(ext4_errno)?;
            let Some(last) = batch.last() else {
                return Ok(None);
            };
            position += batch.len() as u64;
            cursor = last.next_cursor;
        }
        Ok(Some(cursor))
    }

    /// Caches both names after a rename of `source` from `old_name` in this
    /// directory to `new_name` in `new_dir`, where `target` was the entry of
    /// `new_name` before. The caller holds the mount lock.
    fn cache_renamed(
        &self,
        old_name: &str,
        new_dir: &Ext4Node,
        new_name: &str,
        source: &InodeInfo,
        target: Option<&InodeInfo>,
        flags: RenameFlags,
    ) {
        let dentries = &self.fs.dentries;
        let moved = Dentry::Positive {
            ino: source.number.raw(),
            node_type: node_type_of(source),
        };
        dentries.insert(new_dir.ino.raw(), new_name, moved);
        match target {
            Some(target) if flags.contains(RenameFlags::EXCHANGE) => {
                self.fs.cache_positive(self.ino, old_name, target);
            }
            // The old name now refers to a new whiteout inode, left to the
            // next lookup.
            _ if flags.contains(RenameFlags::WHITEOUT) => dentries.invalidate(self.ino.raw(), old_name),
            _ => dentries.insert(self.ino.raw(), old_name, Dentry::Negative),
        }
    }

    /// Checks that the node `source` may replace `target` in a rename.
    fn check_replace(mount: &mut MountedExt4, source: &InodeInfo, target: &InodeInfo) -> VfsResult<()> {
        match (source.is_directory(), target.is_directory()) {
            (true, false) => Err(LinuxError::ENOTDIR),
            (false, true) => Err(LinuxError::EISDIR),
            (true, true) => Self::ensure_empty_directory(mount, target.number),
            (false, false) => Ok(()),
        }
    }

    /// Reads through the extent map of this file (see [`crate::file_map`])
    /// with `read`, which returns the number of bytes read, and updates the
    /// access time. Returns `None` when the file is to be read through
    /// rsext4: it has no map, was written since the last sync, or its map
    /// failed to load, in which case rsext4's read reports the error.
    fn read_direct(
        &self,
        mount: &mut MountedExt4,
        read: impl FnOnce(&FileMap) -> Ext4Result<usize>,
    ) -> VfsResult<Option<usize>> {
        let raw = self.ino.raw();
        let mut reads = self.fs.reads.lock();
        if reads.is_written(raw) {
            return Ok(None);
        }
        if reads.get_mut(raw).is_none() {
            let Ok(map) = self.load_file_map(mount) else {
                return Ok(None);
            };
            reads.insert(raw, map);
        }
        let Some(Some(map)) = reads.get_mut(raw) else {
            return Ok(None);
        };
        let count = read(map).map_err(ext4_errno)?;
        if count == 0 || !map.needs_atime_update((self.fs.clock)().sec) {
            return Ok(Some(count));
        }

        // rsext4 0.9.2 has no public call that sets only the access time
        // (`update_inode_metadata` sets the change time too), but its read
        // sets it, so a read of one byte does.
        let mut byte = [0; 1];
        let touched = mount
            .read_inode(self.ino, 0, &mut byte)
            .and_then(|_| mount.inode(self.ino));
        self.fs.attrs_changed(self.ino);
        match touched {
            Ok(info) => map.set_times(&info),
            Err(error) => {
                // Linux's `touch_atime` (fs/inode.c) ignores a failed
                // access-time update, and so does this read.
                log::debug!("ext4: access time update of inode {raw} failed: {error}");
                reads.forget(raw);
            }
        }
        Ok(Some(count))
    }

    /// Loads the extent map of this regular file, or `None` when the file
    /// is to be read through rsext4. The map comes from the block cache
    /// when the inode's record there is current (see [`Self::decoded_stat`]).
    fn load_file_map(&self, mount: &mut MountedExt4) -> Ext4Result<Option<FileMap>> {
        if let Some(layout) = self.decoded_layout() {
            let map = layout.and_then(FileMap::from_layout);
            if map.is_some() {
                InodeReadStats::count(&self.fs.inode_reads.decoded_maps);
            }
            return Ok(map);
        }
        let info = mount.inode(self.ino)?;
        let extents = if info.size == 0 {
            rsext4::FileExtentMap {
                extents: Vec::new(),
                mapped_extents: 0,
                complete: true,
            }
        } else {
            mount.inode_extents(self.ino, 0, info.size, FileExtentTarget::Data, usize::MAX)?
        };
        Ok(FileMap::new(&info, extents))
    }

    /// Decodes this file's record and extent tree from the block cache.
    /// Returns `None` when rsext4 is to load them, in the cases of
    /// [`Self::decoded_stat`], and `Some(None)` for a file that is not a
    /// regular file with an extent tree. The caller holds the mount lock.
    fn decoded_layout(&self) -> Option<Option<FileLayout>> {
        let (table, data) = self.decodable()?;
        let raw = self.ino.raw();
        match table.read_layout(data, raw) {
            Ok(layout) => Some(layout),
            Err(error) => {
                Self::log_decode_error(raw, error);
                None
            }
        }
    }

    /// Returns the inode-table geometry and the block cache when this
    /// inode's record and extent tree in the block cache are current. The
    /// caller holds the mount lock.
    fn decodable(&self) -> Option<(&InodeTable, &dyn ByteSource)> {
        let table = self.fs.inode_table.as_ref()?;
        let data = self.fs.data.as_deref()?;
        let changed = self.fs.changed.lock().contains(self.ino.raw());
        if changed || self.fs.unmounted.load(Ordering::Acquire) {
            return None;
        }
        Some((table, data))
    }

    fn log_decode_error(ino: u32, error: DecodeError) {
        if error == DecodeError::Checksum {
            log::warn!("ext4: inode {ino} or its extent tree has a bad checksum");
        } else {
            log::debug!("ext4: inode {ino} not decoded ({error:?})");
        }
    }

    fn ensure_empty_directory(mount: &mut MountedExt4, directory: InodeNumber) -> VfsResult<()> {
        let entries = mount
            .read_directory(directory, DirectoryCursor::Start, 3)
            .map_err(ext4_errno)?;
        let has_child = entries.iter().any(|e| e.name != b"." && e.name != b"..");
        if has_child { Err(LinuxError::ENOTEMPTY) } else { Ok(()) }
    }
}

impl Drop for Ext4Node {
    fn drop(&mut self) {
        let raw = self.ino.raw();
        let last = self.fs.live_nodes.lock().count_dropped(raw);
        if !last {
            return;
        }
        self.fs.reads.lock().forget(raw);
        if !self.fs.orphans.lock().contains(&raw) {
            return;
        }
        // A node dropped while its mount is locked must not wait for that
        // lock; its orphan is then reaped at unmount.
        let Some(mut mount) = self.fs.mount.try_lock() else {
            return;
        };
        if self.fs.unmounted.load(Ordering::Acquire) {
            return;
        }
        self.fs.orphans.lock().remove(&raw);
        if let Err(error) = mount.reap_unlinked_inode(self.ino) {
            log::warn!("ext4: reaping orphan inode {raw} failed: {error}");
        }
    }
}

impl VfsNode for Ext4Node {
    fn id(&self) -> NodeId {
        NodeId {
            dev: self.fs.dev,
            ino: self.ino.as_u64(),
        }
    }

    fn node_type(&self) -> NodeType {
        self.node_type
    }

    fn stat(&self) -> VfsResult<Stat> {
        if let Some(stat) = self.fs.attrs.get(self.ino.raw()) {
            return Ok(stat);
        }
        let mut mount = self.lock();
        if let Some(stat) = self.decoded_stat() {
            InodeReadStats::count(&self.fs.inode_reads.decoded);
            self.fs.attrs.insert(self.ino.raw(), stat);
            return Ok(stat);
        }
        InodeReadStats::count(&self.fs.inode_reads.rsext4);
        let info = mount.inode(self.ino).map_err(ext4_errno)?;
        let stat = self.stat_of(&info);
        self.fs.attrs.insert(self.ino.raw(), stat);
        Ok(stat)
    }

    fn set_attr(&self, attr: SetAttr) -> VfsResult<()> {
        let permissions = attr
            .mode
            .map(|mode| FilePermissions::new((mode & 0o7777) as u16))
            .transpose()
            .map_err(|_| LinuxError::EINVAL)?;
        let mut mount = self.lock();
        let owner = match (attr.uid, attr.gid) {
            (None, None) => None,
            (uid, gid) => {
                let current = mount.inode(self.ino).map_err(ext4_errno)?;
                Some((uid.unwrap_or(current.uid), gid.unwrap_or(current.gid)))
            }
        };
        let update = InodeMetadataUpdate {
            permissions,
            owner,
            atime: attr.atime.map(timestamp),
            mtime: attr.mtime.map(timestamp),
            ..InodeMetadataUpdate::default()
        };
        let updated = mount.update_inode_metadata(self.ino, update);
        self.fs.inode_changed(self.ino);
        updated.map_err(ext4_errno)?;
        Ok(())
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        if self.node_type != NodeType::Regular {
            return Err(self.not_a_file_error());
        }
        let mut mount = self.lock();
        if let Some(data) = &self.fs.data
            && let Some(count) = self.read_direct(&mut mount, |map| map.read(data.as_ref(), offset, buf))?
        {
            return Ok(count);
        }
        let read = mount.read_inode(self.ino, offset, buf);
        // rsext4 sets the access time on every read that returns data.
        // NOTE: so files read here (see `read_direct`) do not follow
        // `relatime`.
        if !matches!(read, Ok(0)) {
            self.fs.attrs_changed(self.ino);
        }
        read.map_err(ext4_errno)
    }

    /// Shares the cached blocks of files that `read_direct` reads. The
    /// caller copies them after this call has released the mount lock and
    /// the block cache's lock, so a page fault or an mmap of a file while
    /// it copies cannot wait for those locks.
    fn read_shared(&self, offset: u64, len: usize) -> VfsResult<Option<FileData>> {
        if self.node_type != NodeType::Regular {
            return Err(self.not_a_file_error());
        }
        let Some(data) = &self.fs.data else {
            return Ok(None);
        };
        let mut out = FileData::new();
        let mut mount = self.lock();
        let read = self.read_direct(&mut mount, |map| map.read_shared(data.as_ref(), offset, len, &mut out))?;
        Ok(read.map(|_| out))
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> VfsResult<usize> {
        if self.node_type != NodeType::Regular {
            return Err(self.not_a_file_error());
        }
        if buf.is_empty() {
            return Ok(0);
        }
        offset
            .checked_add(buf.len() as u64)
            .filter(|end| i64::try_from(*end).is_ok())
            .ok_or(LinuxError::EFBIG)?;
        let mut mount = self.lock();
        let written = mount.write_inode(self.ino, offset, buf);
        self.fs.attrs_changed(self.ino);
        self.fs.reads.lock().mark_written(self.ino.raw());
        written.map_err(ext4_errno)?;
        Ok(buf.len())
    }

    fn truncate(&self, size: u64) -> VfsResult<()> {
        if self.node_type != NodeType::Regular {
            return Err(self.not_a_file_error());
        }
        let mut mount = self.lock();
        let truncated = mount.truncate_inode(self.ino, size);
        self.fs.attrs_changed(self.ino);
        self.fs.reads.lock().mark_written(self.ino.raw());
        truncated.map_err(ext4_errno)
    }

    fn sync(&self) -> VfsResult<()> {
        // NOTE: rsext4 0.9.2 has no per-inode flush, so fsync syncs the
        // whole file system.
        self.fs.sync(&mut self.lock())
    }

    fn lookup(&self, name: &str) -> VfsResult<NodeRef> {
        if self.node_type != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        if let Some(found) = self.cached_lookup(name) {
            return found;
        }
        let raw_name = name;
        let name = file_name(name)?;
        // The cache is filled and the node created while the mount lock is
        // held, so no change of this directory can come in between.
        let mut mount = self.lock();
        if self.fill_dentries(&mut mount)?
            && let Some(found) = self.cached_lookup(raw_name)
        {
            return found;
        }
        let info = mount.lookup_child(self.ino, name).map_err(ext4_errno)?;
        match info {
            Some(info) => {
                self.fs.cache_positive(self.ino, raw_name, &info);
                // rsext4 has decoded the child's inode, so its first `stat`
                // need not read it again.
                self.fs.attrs.insert(info.number.raw(), self.stat_of(&info));
                Ok(Ext4Node::from_info(&self.fs, &info))
            }
            None => {
                self.fs
                    .dentries
                    .insert(self.ino.raw(), raw_name, Dentry::Negative);
                Err(LinuxError::ENOENT)
            }
        }
    }

    fn create(&self, raw_name: &str, node_type: NodeType, attr: CreateAttr) -> VfsResult<NodeRef> {
        if self.node_type != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        let name = file_name(raw_name)?;
        let context = Self::context(&attr);
        let permissions = Self::permissions(&attr)?;
        let node = {
            let mut mount = self.lock();
            if mount.lookup_child(self.ino, name).map_err(ext4_errno)?.is_some() {
                return Err(LinuxError::EEXIST);
            }
            let created = match node_type {
                NodeType::Regular => mount.create_regular_file(context, self.ino, name, permissions),
                NodeType::Directory => mount.create_directory(context, self.ino, name, permissions),
                NodeType::Fifo => mount.create_special_inode(
                    context,
                    self.ino,
                    name,
                    permissions,
                    SpecialInodeKind::Fifo,
                ),
                NodeType::Socket => mount.create_special_inode(
                    context,
                    self.ino,
                    name,
                    permissions,
                    SpecialInodeKind::Socket,
                ),
                // TODO: mknod of device nodes needs a device number argument.
                NodeType::CharDevice | NodeType::BlockDevice => return Err(LinuxError::EPERM),
                NodeType::Symlink => return Err(LinuxError::EINVAL),
            };
            self.fs.inode_changed(self.ino);
            let info = self.fs.checked_change(self.ino, raw_name, created)?;
            self.fs.inode_changed(info.number);
            self.fs.forget_node(info.number);
            if info.is_directory() {
                self.fs.dentries.invalidate_directory(info.number.raw());
            }
            self.fs.cache_positive(self.ino, raw_name, &info);
            Ext4Node::from_info(&self.fs, &info)
        };
        self.forget_dir_positions();
        Ok(node)
    }

    fn symlink(&self, raw_name: &str, target: &str, attr: CreateAttr) -> VfsResult<NodeRef> {
        if self.node_type != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        let name = file_name(raw_name)?;
        let node = {
            let mut mount = self.lock();
            if mount.lookup_child(self.ino, name).map_err(ext4_errno)?.is_some() {
                return Err(LinuxError::EEXIST);
            }
            let created =
                mount.create_symlink(Self::context(&attr), self.ino, name, target.as_bytes());
            self.fs.inode_changed(self.ino);
            let info = self.fs.checked_change(self.ino, raw_name, created)?;
            self.fs.inode_changed(info.number);
            self.fs.forget_node(info.number);
            self.fs.cache_positive(self.ino, raw_name, &info);
            Ext4Node::from_info(&self.fs, &info)
        };
        self.forget_dir_positions();
        Ok(node)
    }

    fn link(&self, raw_name: &str, target: &NodeRef) -> VfsResult<()> {
        if self.node_type != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        let target = self.same_fs(target)?;
        if target.node_type == NodeType::Directory {
            return Err(LinuxError::EPERM);
        }
        let name = file_name(raw_name)?;
        {
            let mut mount = self.lock();
            if mount.lookup_child(self.ino, name).map_err(ext4_errno)?.is_some() {
                return Err(LinuxError::EEXIST);
            }
            let linked = mount.hard_link(target.ino, self.ino, name);
            self.fs.inode_changed(self.ino);
            self.fs.inode_changed(target.ino);
            self.fs.checked_change(self.ino, raw_name, linked)?;
            let dentry = Dentry::Positive {
                ino: target.ino.raw(),
                node_type: target.node_type,
            };
            self.fs.dentries.insert(self.ino.raw(), raw_name, dentry);
        }
        self.forget_dir_positions();
        Ok(())
    }

    fn remove(&self, raw_name: &str, is_dir: bool) -> VfsResult<()> {
        if self.node_type != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        let name = file_name(raw_name)?;
        {
            let mut mount = self.lock();
            let child = mount
                .lookup_child(self.ino, name)
                .map_err(ext4_errno)?
                .ok_or(LinuxError::ENOENT)?;
            let outcome = match (is_dir, child.is_directory()) {
                (true, false) => return Err(LinuxError::ENOTDIR),
                (false, true) => return Err(LinuxError::EISDIR),
                (true, true) => {
                    Self::ensure_empty_directory(&mut mount, child.number)?;
                    self.fs.dentries.invalidate_directory(child.number.raw());
                    mount.remove_empty_directory(self.ino, name)
                }
                (false, false) => mount.unlink(self.ino, name),
            };
            self.fs.inode_changed(self.ino);
            self.fs.inode_changed(child.number);
            let outcome = self.fs.checked_change(self.ino, raw_name, outcome)?;
            self.fs
                .dentries
                .insert(self.ino.raw(), raw_name, Dentry::Negative);
            if outcome.requires_reap() {
                self.fs.release_inode(&mut mount, outcome.inode)?;
            }
        }
        self.forget_dir_positions();
        Ok(())
    }

    fn rename(
        &self,
        old_name: &str,
        new_parent: &NodeRef,
        new_name: &str,
        flags: RenameFlags,
    ) -> VfsResult<()> {
        let new_dir = self.same_fs(new_parent)?;
        let old = file_name(old_name)?;
        let new = file_name(new_name)?;
        if flags.contains(RenameFlags::WHITEOUT) {
            // NOTE: rsext4 0.9.2 cannot create a whiteout (it fails with
            // "unsupported"), so this is EINVAL, the Linux errno of a file
            // system without RENAME_WHITEOUT, as on tmpfs.
            return Err(LinuxError::EINVAL);
        }
        let options = if flags.contains(RenameFlags::EXCHANGE) {
            RenameOptions::EXCHANGE
        } else if flags.contains(RenameFlags::NOREPLACE) {
            RenameOptions::NO_REPLACE
        } else {
            RenameOptions::REPLACE
        };
        {
            let mut mount = self.lock();
            let source = mount
                .lookup_child(self.ino, old)
                .map_err(ext4_errno)?
                .ok_or(LinuxError::ENOENT)?;
            let target = mount.lookup_child(new_dir.ino, new).map_err(ext4_errno)?;
            match &target {
                None if flags.contains(RenameFlags::EXCHANGE) => return Err(LinuxError::ENOENT),
                Some(_) if flags.contains(RenameFlags::NOREPLACE) => {
                    return Err(LinuxError::EEXIST);
                }
                // Two names of one file: POSIX rename then does nothing.
                Some(target) if target.number == source.number => return Ok(()),
                Some(target) if !flags.contains(RenameFlags::EXCHANGE) => {
                    Self::check_replace(&mut mount, &source, target)?;
                }
                _ => {}
            }
            // A replaced directory's inode is freed, and its number may be reused.
            if let Some(target) = &target
                && target.is_directory()
                && !flags.contains(RenameFlags::EXCHANGE)
            {
                self.fs.dentries.invalidate_directory(target.number.raw());
            }
            let renamed = mount.rename(self.ino, old, new_dir.ino, new, options);
            self.fs.inode_changed(self.ino);
            self.fs.inode_changed(new_dir.ino);
            self.fs.inode_changed(source.number);
            if let Some(target) = &target {
                self.fs.inode_changed(target.number);
            }
            if renamed.is_err() {
                self.fs.dentries.invalidate(new_dir.ino.raw(), new_name);
            }
            let outcome = self.fs.checked_change(self.ino, old_name, renamed)?;
            self.cache_renamed(old_name, new_dir, new_name, &source, target.as_ref(), flags);
            if let Some(replaced) = outcome.replaced
                && replaced.requires_reap() {
                    self.fs.release_inode(&mut mount, replaced.inode)?;
                }
        }
        self.forget_dir_positions();
        new_dir.forget_dir_positions();
        Ok(())
    }

    fn read_dir(&self, start: u64, max: usize) -> VfsResult<Vec<DirEntry>> {
        if self.node_type != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        let mut mount = self.lock();
        let Some(cursor) = self.cursor_at(&mut mount, start)? else {
            return Ok(Vec::new());
        };
        let mut reader = mount.open_directory_reader(self.ino).map_err(ext4_errno)?;
        let batch = mount
            .read_directory_with_reader(&mut reader, cursor, max)
            .map_err(ext4_errno)?;
        drop(mount);

        let mut positions = Vec::with_capacity(batch.len());
        let mut entries = Vec::with_capacity(batch.len());
        for (offset, entry) in batch.into_iter().enumerate() {
            positions.push((start + offset as u64 + 1, entry.next_cursor));
            entries.push(DirEntry {
                ino: entry.inode.as_u64(),
                node_type: entry_type(entry.file_type),
                name: String::from_utf8_lossy(&entry.name).into_owned(),
            });
        }
        let mut cache = self.fs.dir_positions.lock();
        if cache.len() >= DIR_POSITION_SLOTS && !cache.contains_key(&self.ino.raw()) {
            cache.pop_first();
        }
        cache.insert(self.ino.raw(), positions);
        Ok(entries)
    }

    fn readlink(&self) -> VfsResult<String> {
        if self.node_type != NodeType::Symlink {
            return Err(LinuxError::EINVAL);
        }
        let mut mount = self.lock();
        let size = mount.inode(self.ino).map_err(ext4_errno)?.size;
        if size >= crate::PATH_MAX as u64 {
            // Linux never creates such a link, so the inode is corrupted.
            return Err(LinuxError::EUCLEAN);
        }
        let mut target = alloc::vec![0; size as usize];
        let read = mount.read_inode(self.ino, 0, &mut target);
        self.fs.attrs_changed(self.ino);
        let count = read.map_err(ext4_errno)?;
        target.truncate(count);
        String::from_utf8(target).map_err(|_| LinuxError::EINVAL)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

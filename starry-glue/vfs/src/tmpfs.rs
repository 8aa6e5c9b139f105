//! An in-memory file system, for `/dev/shm`, `/tmp` and the device directory.

use alloc::{
    collections::BTreeMap,
    string::{String, ToString},
    sync::Arc,
    vec::Vec,
};
use core::{
    any::Any,
    sync::atomic::{AtomicU64, Ordering},
};

use spin::Mutex;

use crate::{
    CreateAttr, DirEntry, LinuxError, NAME_MAX, NodeType, RenameFlags, SetAttr, Stat, StatFs,
    TMPFS_MAGIC, TimeSpec, VfsResult, WallClock,
    node::{FileSystem, NodeId, NodeRef, VfsNode},
};

/// Block size reported by `stat` and `statfs`.
const BLOCK_SIZE: u64 = 4096;
/// Largest file size in bytes. A file's contents are one contiguous
/// vector, so a write far past the end would ask the allocator for all the
/// bytes before it, and the kernel's allocator panics when it cannot
/// satisfy a request instead of returning an error.
// NOTE: Linux's tmpfs keeps holes and allows files up to 2^63 - 1 bytes.
const MAX_FILE_SIZE: usize = 1 << 30;

/// Returns the bytes of memory the kernel can still allocate; unset in host
/// tests, where growth is limited by `MAX_FILE_SIZE` alone.
static FREE_MEMORY: spin::Once<fn() -> usize> = spin::Once::new();

/// Sets the function that returns the free memory in bytes. A file may then
/// grow by at most half of it at a time, and a larger growth fails with
/// `ENOSPC` as a full tmpfs does on Linux.
pub fn set_free_memory_probe(probe: fn() -> usize) {
    FREE_MEMORY.call_once(|| probe);
}

/// Fails with `ENOSPC` when growing a file by `extra` bytes would take more
/// than half of the free memory.
fn check_growth(extra: usize) -> VfsResult<()> {
    match FREE_MEMORY.get() {
        Some(probe) if extra > probe() / 2 => Err(LinuxError::ENOSPC),
        _ => Ok(()),
    }
}

static NEXT_DEV: AtomicU64 = AtomicU64::new(1);

/// Allocates a device number for a file system without a device. The major
/// number 0 matches Linux's anonymous devices.
pub(crate) fn alloc_anonymous_dev() -> u64 {
    NEXT_DEV.fetch_add(1, Ordering::Relaxed)
}

/// An in-memory file system. Its content is lost at power-off.
pub struct TmpFs {
    inner: Arc<TmpFsInner>,
    root: Arc<TmpNode>,
}

struct TmpFsInner {
    dev: u64,
    next_ino: AtomicU64,
    clock: WallClock,
}

struct Metadata {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    atime: TimeSpec,
    mtime: TimeSpec,
    ctime: TimeSpec,
}

enum Content {
    File(Vec<u8>),
    Directory(BTreeMap<String, NodeRef>),
    Symlink(String),
    /// A FIFO or socket node; it has no data of its own.
    Special,
}

/// A node of a [`TmpFs`].
pub struct TmpNode {
    fs: Arc<TmpFsInner>,
    ino: u64,
    node_type: NodeType,
    state: Mutex<(Metadata, Content)>,
}

impl TmpFs {
    /// Creates an empty file system whose root has permission bits `root_mode`.
    pub fn new(clock: WallClock, root_mode: u32) -> Arc<Self> {
        let inner = Arc::new(TmpFsInner {
            dev: alloc_anonymous_dev(),
            next_ino: AtomicU64::new(1),
            clock,
        });
        let root = inner.new_node(
            NodeType::Directory,
            CreateAttr {
                mode: root_mode,
                uid: 0,
                gid: 0,
            },
            Content::Directory(BTreeMap::new()),
        );
        Arc::new(Self { inner, root })
    }

    /// Adds a node of another kind (a device) to the root directory.
    pub fn add_node(&self, name: &str, node: NodeRef) -> VfsResult<()> {
        self.root.insert_child(name, node)
    }

    /// Creates a directory in the root directory.
    pub fn add_directory(&self, name: &str, mode: u32) -> VfsResult<NodeRef> {
        self.root.create(
            name,
            NodeType::Directory,
            CreateAttr {
                mode,
                uid: 0,
                gid: 0,
            },
        )
    }

    /// Creates an empty regular file that no directory names. It has no
    /// links, as Linux's memfd inodes.
    pub fn new_detached_file(&self, attr: CreateAttr) -> NodeRef {
        let node = self.inner.new_node(NodeType::Regular, attr, Content::File(Vec::new()));
        node.state.lock().0.nlink = 0;
        node
    }

    /// Returns the device number shared by this file system's nodes.
    pub fn dev(&self) -> u64 {
        self.inner.dev
    }
}

impl FileSystem for TmpFs {
    fn root(&self) -> NodeRef {
        self.root.clone()
    }

    fn statfs(&self) -> VfsResult<StatFs> {
        Ok(StatFs {
            fs_type: TMPFS_MAGIC,
            block_size: BLOCK_SIZE,
            name_max: NAME_MAX as u64,
            ..StatFs::default()
        })
    }

    fn name(&self) -> &'static str {
        "tmpfs"
    }
}

impl TmpFsInner {
    fn new_node(self: &Arc<Self>, node_type: NodeType, attr: CreateAttr, content: Content) -> Arc<TmpNode> {
        let now = (self.clock)();
        let nlink = if node_type == NodeType::Directory { 2 } else { 1 };
        Arc::new(TmpNode {
            fs: self.clone(),
            ino: self.next_ino.fetch_add(1, Ordering::Relaxed),
            node_type,
            state: Mutex::new((
                Metadata {
                    mode: attr.mode & 0o7777,
                    uid: attr.uid,
                    gid: attr.gid,
                    nlink,
                    atime: now,
                    mtime: now,
                    ctime: now,
                },
                content,
            )),
        })
    }
}

impl TmpNode {
    fn now(&self) -> TimeSpec {
        (self.fs.clock)()
    }

    fn insert_child(&self, name: &str, node: NodeRef) -> VfsResult<()> {
        let now = self.now();
        let mut state = self.state.lock();
        let (metadata, content) = &mut *state;
        let Content::Directory(children) = content else {
            return Err(LinuxError::ENOTDIR);
        };
        if children.contains_key(name) {
            return Err(LinuxError::EEXIST);
        }
        children.insert(name.to_string(), node);
        metadata.mtime = now;
        metadata.ctime = now;
        Ok(())
    }

    fn child(&self, name: &str) -> VfsResult<NodeRef> {
        match &self.state.lock().1 {
            Content::Directory(children) => children.get(name).cloned().ok_or(LinuxError::ENOENT),
            _ => Err(LinuxError::ENOTDIR),
        }
    }

    fn is_empty_directory(&self) -> bool {
        matches!(&self.state.lock().1, Content::Directory(children) if children.is_empty())
    }

    fn change_links(&self, delta: i32) {
        let now = self.now();
        let mut state = self.state.lock();
        state.0.nlink = state.0.nlink.saturating_add_signed(delta);
        state.0.ctime = now;
    }

    fn same_fs<'a>(&self, node: &'a NodeRef) -> VfsResult<&'a TmpNode> {
        match node.as_any().downcast_ref::<TmpNode>() {
            Some(other) if Arc::ptr_eq(&other.fs, &self.fs) => Ok(other),
            _ => Err(LinuxError::EXDEV),
        }
    }

    /// Checks that `replacement` may replace `target` in a rename.
    fn check_replace(source: &NodeRef, target: &NodeRef) -> VfsResult<()> {
        let source_is_dir = source.node_type() == NodeType::Directory;
        let target_is_dir = target.node_type() == NodeType::Directory;
        match (source_is_dir, target_is_dir) {
            (true, false) => Err(LinuxError::ENOTDIR),
            (false, true) => Err(LinuxError::EISDIR),
            (true, true) => {
                let is_empty = target
                    .as_any()
                    .downcast_ref::<TmpNode>()
                    .is_some_and(TmpNode::is_empty_directory);
                if is_empty { Ok(()) } else { Err(LinuxError::ENOTEMPTY) }
            }
            (false, false) => Ok(()),
        }
    }

    /// Updates link counts after `node` left a directory entry.
    fn unlinked(node: &NodeRef, parent: &TmpNode) {
        if let Some(tmp) = node.as_any().downcast_ref::<TmpNode>() {
            if tmp.node_type == NodeType::Directory {
                tmp.change_links(-2);
                parent.change_links(-1);
            } else {
                tmp.change_links(-1);
            }
        }
    }
}

impl VfsNode for TmpNode {
    fn id(&self) -> NodeId {
        NodeId {
            dev: self.fs.dev,
            ino: self.ino,
        }
    }

    fn node_type(&self) -> NodeType {
        self.node_type
    }

    fn stat(&self) -> VfsResult<Stat> {
        let state = self.state.lock();
        let (metadata, content) = &*state;
        let size = match content {
            Content::File(data) => data.len() as u64,
            Content::Directory(_) => BLOCK_SIZE,
            Content::Symlink(target) => target.len() as u64,
            Content::Special => 0,
        };
        Ok(Stat {
            dev: self.fs.dev,
            ino: self.ino,
            mode: self.node_type.mode_bits() | metadata.mode,
            nlink: metadata.nlink,
            uid: metadata.uid,
            gid: metadata.gid,
            rdev: 0,
            size,
            blksize: BLOCK_SIZE as u32,
            blocks: size.div_ceil(BLOCK_SIZE) * (BLOCK_SIZE / 512),
            atime: metadata.atime,
            mtime: metadata.mtime,
            ctime: metadata.ctime,
        })
    }

    fn set_attr(&self, attr: SetAttr) -> VfsResult<()> {
        let now = self.now();
        let mut state = self.state.lock();
        let metadata = &mut state.0;
        if let Some(mode) = attr.mode {
            metadata.mode = mode & 0o7777;
        }
        if let Some(uid) = attr.uid {
            metadata.uid = uid;
        }
        if let Some(gid) = attr.gid {
            metadata.gid = gid;
        }
        if let Some(atime) = attr.atime {
            metadata.atime = atime;
        }
        if let Some(mtime) = attr.mtime {
            metadata.mtime = mtime;
        }
        metadata.ctime = now;
        Ok(())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        let state = self.state.lock();
        let Content::File(data) = &state.1 else {
            return Err(self.not_a_file_error());
        };
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        if start >= data.len() {
            return Ok(0);
        }
        let count = buf.len().min(data.len() - start);
        buf[..count].copy_from_slice(&data[start..start + count]);
        Ok(count)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> VfsResult<usize> {
        let now = self.now();
        let mut state = self.state.lock();
        let (metadata, content) = &mut *state;
        let Content::File(data) = content else {
            return Err(self.not_a_file_error());
        };
        let start = usize::try_from(offset).map_err(|_| LinuxError::EFBIG)?;
        let end = start
            .checked_add(buf.len())
            .filter(|&end| end <= MAX_FILE_SIZE)
            .ok_or(LinuxError::EFBIG)?;
        if end > data.len() {
            check_growth(end - data.len())?;
            data.try_reserve(end - data.len()).map_err(|_| LinuxError::ENOSPC)?;
            data.resize(end, 0);
        }
        data[start..end].copy_from_slice(buf);
        metadata.mtime = now;
        metadata.ctime = now;
        Ok(buf.len())
    }

    fn truncate(&self, size: u64) -> VfsResult<()> {
        let now = self.now();
        let mut state = self.state.lock();
        let (metadata, content) = &mut *state;
        let Content::File(data) = content else {
            return Err(self.not_a_file_error());
        };
        let size = usize::try_from(size)
            .ok()
            .filter(|&size| size <= MAX_FILE_SIZE)
            .ok_or(LinuxError::EFBIG)?;
        if size > data.len() {
            check_growth(size - data.len())?;
            data.try_reserve(size - data.len()).map_err(|_| LinuxError::ENOSPC)?;
        }
        data.resize(size, 0);
        metadata.mtime = now;
        metadata.ctime = now;
        Ok(())
    }

    fn lookup(&self, name: &str) -> VfsResult<NodeRef> {
        self.child(name)
    }

    fn create(&self, name: &str, node_type: NodeType, attr: CreateAttr) -> VfsResult<NodeRef> {
        let content = match node_type {
            NodeType::Regular => Content::File(Vec::new()),
            NodeType::Directory => Content::Directory(BTreeMap::new()),
            NodeType::Fifo | NodeType::Socket => Content::Special,
            // TODO: device nodes in a tmpfs need a device registry to open them.
            NodeType::CharDevice | NodeType::BlockDevice => return Err(LinuxError::EPERM),
            NodeType::Symlink => return Err(LinuxError::EINVAL),
        };
        let node = self.fs.new_node(node_type, attr, content);
        self.insert_child(name, node.clone())?;
        if node_type == NodeType::Directory {
            self.change_links(1);
        }
        Ok(node)
    }

    fn symlink(&self, name: &str, target: &str, attr: CreateAttr) -> VfsResult<NodeRef> {
        let attr = CreateAttr { mode: 0o777, ..attr };
        let node = self
            .fs
            .new_node(NodeType::Symlink, attr, Content::Symlink(target.to_string()));
        self.insert_child(name, node.clone())?;
        Ok(node)
    }

    fn link(&self, name: &str, target: &NodeRef) -> VfsResult<()> {
        let target_node = self.same_fs(target)?;
        if target_node.node_type == NodeType::Directory {
            return Err(LinuxError::EPERM);
        }
        self.insert_child(name, target.clone())?;
        target_node.change_links(1);
        Ok(())
    }

    fn remove(&self, name: &str, is_dir: bool) -> VfsResult<()> {
        let now = self.now();
        let removed = {
            let mut state = self.state.lock();
            let (metadata, content) = &mut *state;
            let Content::Directory(children) = content else {
                return Err(LinuxError::ENOTDIR);
            };
            let child = children.get(name).ok_or(LinuxError::ENOENT)?;
            let child_is_dir = child.node_type() == NodeType::Directory;
            if is_dir && !child_is_dir {
                return Err(LinuxError::ENOTDIR);
            }
            if !is_dir && child_is_dir {
                return Err(LinuxError::EISDIR);
            }
            if child_is_dir {
                let is_empty = child
                    .as_any()
                    .downcast_ref::<TmpNode>()
                    .is_none_or(TmpNode::is_empty_directory);
                if !is_empty {
                    return Err(LinuxError::ENOTEMPTY);
                }
            }
            metadata.mtime = now;
            metadata.ctime = now;
            children.remove(name).ok_or(LinuxError::ENOENT)?
        };
        Self::unlinked(&removed, self);
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
        if flags.contains(RenameFlags::WHITEOUT) {
            return Err(LinuxError::EINVAL);
        }

        let source = self.child(old_name)?;
        let target = match new_dir.child(new_name) {
            Ok(node) => Some(node),
            Err(LinuxError::ENOENT) => None,
            Err(error) => return Err(error),
        };

        if flags.contains(RenameFlags::EXCHANGE) {
            let target = target.ok_or(LinuxError::ENOENT)?;
            self.replace_child(old_name, target.clone());
            new_dir.replace_child(new_name, source.clone());
            let source_is_dir = source.node_type() == NodeType::Directory;
            let target_is_dir = target.node_type() == NodeType::Directory;
            if source_is_dir != target_is_dir && !core::ptr::eq(self, new_dir) {
                let delta = if source_is_dir { 1 } else { -1 };
                new_dir.change_links(delta);
                self.change_links(-delta);
            }
            return Ok(());
        }

        if let Some(target) = &target {
            if flags.contains(RenameFlags::NOREPLACE) {
                return Err(LinuxError::EEXIST);
            }
            if target.id() == source.id() {
                // Two names of one file: POSIX rename then does nothing.
                return Ok(());
            }
            Self::check_replace(&source, target)?;
        }

        // Remove the source first, so that a rename within one directory
        // never holds two locks of the same node.
        {
            let mut state = self.state.lock();
            if let Content::Directory(children) = &mut state.1 {
                children.remove(old_name);
            }
        }
        let replaced = new_dir.replace_child(new_name, source.clone());
        if let Some(replaced) = replaced {
            Self::unlinked(&replaced, new_dir);
        }
        if source.node_type() == NodeType::Directory && !core::ptr::eq(self, new_dir) {
            self.change_links(-1);
            new_dir.change_links(1);
        }
        let now = self.now();
        for dir in [self, new_dir] {
            let mut state = dir.state.lock();
            state.0.mtime = now;
            state.0.ctime = now;
        }
        Ok(())
    }

    fn read_dir(&self, start: u64, max: usize) -> VfsResult<Vec<DirEntry>> {
        let state = self.state.lock();
        let Content::Directory(children) = &state.1 else {
            return Err(LinuxError::ENOTDIR);
        };
        let dots = [(".", self.ino), ("..", self.ino)].map(|(name, ino)| DirEntry {
            ino,
            node_type: NodeType::Directory,
            name: name.to_string(),
        });
        let entries = dots.into_iter().chain(children.iter().map(|(name, node)| DirEntry {
            ino: node.id().ino,
            node_type: node.node_type(),
            name: name.clone(),
        }));
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        Ok(entries.skip(start).take(max).collect())
    }

    fn readlink(&self) -> VfsResult<String> {
        match &self.state.lock().1 {
            Content::Symlink(target) => Ok(target.clone()),
            _ => Err(LinuxError::EINVAL),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl TmpNode {
    /// Sets the entry `name` to `node` and returns the node it replaced.
    fn replace_child(&self, name: &str, node: NodeRef) -> Option<NodeRef> {
        let mut state = self.state.lock();
        match &mut state.1 {
            Content::Directory(children) => children.insert(name.to_string(), node),
            _ => None,
        }
    }
}

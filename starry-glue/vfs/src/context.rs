//! Per-process file-system state and the path-based operations of the
//! syscall layer.
//!
//! Every process runs as root here: permission bits are stored and reported,
//! but only `faccessat` evaluates them.

use alloc::{string::String, sync::Arc};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::{
    AT_FDCWD, CreateAttr, LinuxError, NodeType, OpenFlags, R_OK, RenameFlags, SetAttr, Stat,
    StatFs, VfsResult, W_OK, X_OK,
    fd::FdTable,
    file::{FileLike, open_location},
    node::NodeRef,
    path::{Location, MountTable, ParentAndName},
};

/// Default file-mode creation mask of a new process.
pub const DEFAULT_UMASK: u32 = 0o022;

/// The file-system state of one process: its descriptors, its working
/// directory and its umask.
#[derive(Clone)]
pub struct FsContext {
    pub fd_table: FdTable,
    cwd: Location,
    /// File-mode creation mask (`umask`), only the low 9 bits are used.
    pub umask: u32,
    /// Owner of created files.
    pub uid: u32,
    pub gid: u32,
    mounts: Arc<MountTable>,
}

impl FsContext {
    /// Creates the state of the first process: no descriptors, `/` as
    /// working directory, umask 022, running as root.
    pub fn new(mounts: Arc<MountTable>) -> Self {
        Self {
            fd_table: FdTable::new(),
            cwd: mounts.root(),
            umask: DEFAULT_UMASK,
            uid: 0,
            gid: 0,
            mounts,
        }
    }

    /// Returns the mount table of this process.
    pub fn mounts(&self) -> &Arc<MountTable> {
        &self.mounts
    }

    /// Opens `/dev/console` as descriptors 0, 1 and 2.
    pub fn open_stdio(&mut self) -> VfsResult<()> {
        for expected in 0..3 {
            let fd = self.open_at(AT_FDCWD, "/dev/console", OpenFlags::O_RDWR, 0)?;
            if fd != expected {
                log::warn!("vfs: console opened as fd {fd} instead of {expected}");
            }
        }
        Ok(())
    }

    /// Returns the working directory.
    pub fn cwd(&self) -> &Location {
        &self.cwd
    }

    /// Returns the absolute path of the working directory (`getcwd`).
    pub fn cwd_path(&self) -> String {
        self.cwd.path()
    }

    /// Changes the working directory to `path` (`chdir`).
    pub fn chdir(&mut self, path: &str) -> VfsResult<()> {
        let location = self.mounts.resolve(&self.cwd, path, true)?;
        if location.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        self.cwd = location;
        Ok(())
    }

    /// Changes the working directory to the directory open as `fd` (`fchdir`).
    pub fn fchdir(&mut self, fd: i32) -> VfsResult<()> {
        let file = self.fd_table.get(fd)?;
        let location = file.location().ok_or(LinuxError::ENOTDIR)?;
        if location.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        self.cwd = location.clone();
        Ok(())
    }

    /// Returns the directory that a relative `path` of a `*at` call starts
    /// from: the working directory for `AT_FDCWD`, else the directory open
    /// as `dirfd`. An absolute path ignores `dirfd`.
    pub fn base_location(&self, dirfd: i32, path: &str) -> VfsResult<Location> {
        self.with_base(dirfd, path, |base| Ok(base.clone()))
    }

    /// Calls `f` with the directory that [`FsContext::base_location`]
    /// returns, borrowed instead of copied.
    fn with_base<T>(
        &self,
        dirfd: i32,
        path: &str,
        f: impl FnOnce(&Location) -> VfsResult<T>,
    ) -> VfsResult<T> {
        if path.starts_with('/') {
            return f(self.mounts.root_location());
        }
        if dirfd == AT_FDCWD {
            return f(&self.cwd);
        }
        let file = self.fd_table.get(dirfd)?;
        let location = file.location().ok_or(LinuxError::ENOTDIR)?;
        if location.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        f(location)
    }

    /// Resolves `path` relative to `dirfd`.
    pub fn resolve_at(&self, dirfd: i32, path: &str, follow: bool) -> VfsResult<Location> {
        self.with_base(dirfd, path, |base| self.mounts.resolve(base, path, follow))
    }

    /// Resolves `path` relative to `dirfd` to its node only, for callers
    /// that do not keep the location.
    fn resolve_node_at(&self, dirfd: i32, path: &str, follow: bool) -> VfsResult<NodeRef> {
        self.with_base(dirfd, path, |base| self.mounts.resolve_node(base, path, follow))
    }

    fn resolve_parent_at<'a>(&self, dirfd: i32, path: &'a str) -> VfsResult<ParentAndName<'a>> {
        if path.is_empty() {
            return Err(LinuxError::ENOENT);
        }
        self.with_base(dirfd, path, |base| self.mounts.resolve_parent(base, path))
    }

    /// Returns the node named by `dirfd` and `path`, where an empty `path`
    /// with `empty_path` (`AT_EMPTY_PATH`) names `dirfd` itself.
    fn node_at(&self, dirfd: i32, path: &str, follow: bool, empty_path: bool) -> VfsResult<NodeRef> {
        if path.is_empty() && empty_path {
            if dirfd == AT_FDCWD {
                return Ok(self.cwd.node().clone());
            }
            let file = self.fd_table.get(dirfd)?;
            return file
                .location()
                .map(|location| location.node().clone())
                .ok_or(LinuxError::EBADF);
        }
        self.resolve_node_at(dirfd, path, follow)
    }

    fn create_attr(&self, mode: u32) -> CreateAttr {
        CreateAttr {
            mode: mode & !(self.umask & 0o777),
            uid: self.uid,
            gid: self.gid,
        }
    }

    /// Opens `path` and returns the open file description without
    /// installing a descriptor. `mode` is the permission of a created file
    /// before the umask.
    pub fn open_file(
        &self,
        dirfd: i32,
        path: &str,
        flags: OpenFlags,
        mode: u32,
    ) -> VfsResult<Arc<dyn FileLike>> {
        if flags.contains(OpenFlags::O_TMPFILE) {
            // TODO: O_TMPFILE needs unnamed inodes. Callers such as Python's
            // tempfile fall back to a named file on EOPNOTSUPP.
            static WARNED: AtomicBool = AtomicBool::new(false);
            if !WARNED.swap(true, Ordering::Relaxed) {
                log::warn!("vfs: O_TMPFILE is not supported; returning EOPNOTSUPP");
            }
            return Err(LinuxError::EOPNOTSUPP);
        }
        let follow = !flags.contains(OpenFlags::O_NOFOLLOW);
        let location = if flags.contains(OpenFlags::O_CREAT) {
            self.open_or_create(dirfd, path, flags, mode)?
        } else {
            self.resolve_at(dirfd, path, follow)?
        };

        let node = location.node();
        let node_type = node.node_type();
        if node_type == NodeType::Symlink && !flags.contains(OpenFlags::O_PATH) {
            // Only O_NOFOLLOW leaves a symbolic link unresolved.
            return Err(LinuxError::ELOOP);
        }
        if flags.contains(OpenFlags::O_DIRECTORY) && node_type != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        if !flags.contains(OpenFlags::O_PATH) {
            if node_type == NodeType::Directory
                && (flags.writable() || flags.contains(OpenFlags::O_TRUNC))
            {
                return Err(LinuxError::EISDIR);
            }
            if node_type == NodeType::Socket {
                return Err(LinuxError::ENXIO);
            }
            if node_type == NodeType::Fifo {
                // TODO: named pipes need a pipe shared by the openers of one inode.
                return Err(LinuxError::ENXIO);
            }
            if flags.contains(OpenFlags::O_TRUNC) && flags.writable() && node_type == NodeType::Regular {
                node.truncate(0)?;
            }
        }
        Ok(open_location(location, flags))
    }

    fn open_or_create(&self, dirfd: i32, path: &str, flags: OpenFlags, mode: u32) -> VfsResult<Location> {
        let target = self.resolve_parent_at(dirfd, path)?;
        if target.name == "." || target.name == ".." || target.trailing_slash {
            return Err(LinuxError::EISDIR);
        }
        match self.mounts.lookup_child(&target.parent, target.name) {
            Ok(existing) => {
                if flags.contains(OpenFlags::O_EXCL) {
                    return Err(LinuxError::EEXIST);
                }
                let existing = if existing.node().node_type() == NodeType::Symlink
                    && !flags.contains(OpenFlags::O_NOFOLLOW)
                {
                    // TODO: Linux creates the target of a dangling link; this returns ENOENT.
                    self.mounts.resolve(&target.parent, target.name, true)?
                } else {
                    existing
                };
                if existing.node().node_type() == NodeType::Directory {
                    return Err(LinuxError::EISDIR);
                }
                Ok(existing)
            }
            Err(LinuxError::ENOENT) => {
                let attr = self.create_attr(mode & 0o7777);
                let node = target
                    .parent
                    .node()
                    .create(target.name, NodeType::Regular, attr)?;
                Ok(target.parent.join(target.name, node))
            }
            Err(error) => Err(error),
        }
    }

    /// Opens `path` and installs it at the lowest free descriptor (`openat`).
    pub fn open_at(&mut self, dirfd: i32, path: &str, flags: OpenFlags, mode: u32) -> VfsResult<i32> {
        let file = self.open_file(dirfd, path, flags, mode)?;
        self.fd_table
            .insert(file, flags.contains(OpenFlags::O_CLOEXEC))
    }

    /// Returns the status of `path`, or of `dirfd` itself for an empty path
    /// with `empty_path` (`newfstatat`, `statx`).
    pub fn stat_at(&self, dirfd: i32, path: &str, follow: bool, empty_path: bool) -> VfsResult<Stat> {
        if path.is_empty() && empty_path && dirfd != AT_FDCWD {
            return self.fd_table.get(dirfd)?.stat();
        }
        self.node_at(dirfd, path, follow, empty_path)?.stat()
    }

    /// Creates a directory (`mkdirat`).
    pub fn mkdir_at(&self, dirfd: i32, path: &str, mode: u32) -> VfsResult<()> {
        let target = self.resolve_parent_at(dirfd, path)?;
        if target.name == "." || target.name == ".." {
            return Err(LinuxError::EEXIST);
        }
        let attr = self.create_attr(mode & 0o1777);
        target
            .parent
            .node()
            .create(target.name, NodeType::Directory, attr)?;
        Ok(())
    }

    /// Creates a FIFO or socket node (`mknodat`).
    pub fn mknod_at(&self, dirfd: i32, path: &str, node_type: NodeType, mode: u32) -> VfsResult<()> {
        let target = self.resolve_parent_at(dirfd, path)?;
        if target.name == "." || target.name == ".." || target.trailing_slash {
            return Err(LinuxError::EEXIST);
        }
        let attr = self.create_attr(mode & 0o7777);
        target.parent.node().create(target.name, node_type, attr)?;
        Ok(())
    }

    /// Removes a name (`unlinkat`), or an empty directory with `remove_dir`
    /// (`AT_REMOVEDIR`).
    pub fn unlink_at(&self, dirfd: i32, path: &str, remove_dir: bool) -> VfsResult<()> {
        let target = self.resolve_parent_at(dirfd, path)?;
        match (target.name, remove_dir) {
            (".", true) => return Err(LinuxError::EINVAL),
            ("..", true) => return Err(LinuxError::ENOTEMPTY),
            (".", false) | ("..", false) => return Err(LinuxError::EISDIR),
            _ => {}
        }
        let child = self.mounts.lookup_child(&target.parent, target.name)?;
        let is_dir = child.node().node_type() == NodeType::Directory;
        if !remove_dir && is_dir {
            return Err(LinuxError::EISDIR);
        }
        if (remove_dir || target.trailing_slash) && !is_dir {
            return Err(LinuxError::ENOTDIR);
        }
        if child.node().id().dev != target.parent.node().id().dev {
            // A mount point.
            return Err(LinuxError::EBUSY);
        }
        target.parent.node().remove(target.name, remove_dir)
    }

    /// Moves `old_path` to `new_path` (`renameat2`).
    pub fn rename_at(
        &self,
        old_dirfd: i32,
        old_path: &str,
        new_dirfd: i32,
        new_path: &str,
        flags: RenameFlags,
    ) -> VfsResult<()> {
        if flags.contains(RenameFlags::EXCHANGE)
            && flags.intersects(RenameFlags::NOREPLACE | RenameFlags::WHITEOUT)
        {
            return Err(LinuxError::EINVAL);
        }

        let old = self.resolve_parent_at(old_dirfd, old_path)?;
        let new = self.resolve_parent_at(new_dirfd, new_path)?;
        for name in [old.name, new.name] {
            if name == "." || name == ".." {
                return Err(LinuxError::EBUSY);
            }
        }

        let source = self.mounts.lookup_child(&old.parent, old.name)?;
        let source_is_dir = source.node().node_type() == NodeType::Directory;
        if (old.trailing_slash || new.trailing_slash) && !source_is_dir {
            return Err(LinuxError::ENOTDIR);
        }

        let dev = old.parent.node().id().dev;
        if new.parent.node().id().dev != dev {
            return Err(LinuxError::EXDEV);
        }
        if source.node().id().dev != dev {
            return Err(LinuxError::EBUSY);
        }
        if source_is_dir && source.is_ancestor_of(&new.parent) {
            // A directory cannot move below itself.
            return Err(LinuxError::EINVAL);
        }

        match self.mounts.lookup_child(&new.parent, new.name) {
            Ok(target) => {
                if target.node().id().dev != dev {
                    return Err(LinuxError::EBUSY);
                }
                if target.node().node_type() == NodeType::Directory
                    && target.is_ancestor_of(&old.parent)
                    && target.node().id() != source.node().id()
                {
                    // Replacing an ancestor of the source: it is not empty.
                    return Err(LinuxError::ENOTEMPTY);
                }
            }
            Err(LinuxError::ENOENT) => {}
            Err(error) => return Err(error),
        }
        old.parent
            .node()
            .rename(old.name, new.parent.node(), new.name, flags)
    }

    /// Adds the name `new_path` for the file `old_path` (`linkat`). `follow`
    /// is `AT_SYMLINK_FOLLOW`; `empty_path` is `AT_EMPTY_PATH`.
    pub fn link_at(
        &self,
        old_dirfd: i32,
        old_path: &str,
        new_dirfd: i32,
        new_path: &str,
        follow: bool,
        empty_path: bool,
    ) -> VfsResult<()> {
        let source = self.node_at(old_dirfd, old_path, follow, empty_path)?;
        if source.node_type() == NodeType::Directory {
            return Err(LinuxError::EPERM);
        }
        let target = self.resolve_parent_at(new_dirfd, new_path)?;
        if target.name == "." || target.name == ".." {
            return Err(LinuxError::EEXIST);
        }
        if target.trailing_slash {
            return Err(LinuxError::ENOENT);
        }
        if target.parent.node().id().dev != source.id().dev {
            return Err(LinuxError::EXDEV);
        }
        target.parent.node().link(target.name, &source)
    }

    /// Creates a symbolic link `path` that points to `target` (`symlinkat`).
    pub fn symlink_at(&self, target: &str, dirfd: i32, path: &str) -> VfsResult<()> {
        if target.is_empty() {
            return Err(LinuxError::ENOENT);
        }
        let link = self.resolve_parent_at(dirfd, path)?;
        if link.name == "." || link.name == ".." || link.trailing_slash {
            return Err(LinuxError::EEXIST);
        }
        let attr = self.create_attr(0o777);
        link.parent.node().symlink(link.name, target, attr)?;
        Ok(())
    }

    /// Returns the target of the symbolic link `path` (`readlinkat`); an
    /// empty path names `dirfd` itself. Fails with `EINVAL` on other nodes.
    pub fn readlink_at(&self, dirfd: i32, path: &str) -> VfsResult<String> {
        self.node_at(dirfd, path, false, true)?.readlink()
    }

    /// Checks access to `path` for `mode` (`R_OK`, `W_OK`, `X_OK`; 0 checks
    /// existence) as root does (`faccessat`).
    pub fn access_at(&self, dirfd: i32, path: &str, mode: u32, follow: bool) -> VfsResult<()> {
        if mode & !(R_OK | W_OK | X_OK) != 0 {
            return Err(LinuxError::EINVAL);
        }
        let stat = self.resolve_node_at(dirfd, path, follow)?.stat()?;
        // Root may read and write anything, and execute a file with any x bit.
        let is_dir = stat.node_type() == Some(NodeType::Directory);
        if mode & X_OK != 0 && !is_dir && stat.mode & 0o111 == 0 {
            return Err(LinuxError::EACCES);
        }
        Ok(())
    }

    /// Changes metadata of `path`, or of `dirfd` itself for an empty path
    /// with `empty_path` (`fchmodat`, `fchownat`, `utimensat`).
    pub fn set_attr_at(
        &self,
        dirfd: i32,
        path: &str,
        attr: SetAttr,
        follow: bool,
        empty_path: bool,
    ) -> VfsResult<()> {
        if path.is_empty() && empty_path && dirfd != AT_FDCWD {
            let file = self.fd_table.get(dirfd)?;
            let location = file.location().ok_or(LinuxError::EPERM)?;
            return location.node().set_attr(attr);
        }
        let node = self.node_at(dirfd, path, follow, empty_path)?;
        if node.node_type() == NodeType::Symlink && attr.mode.is_some() {
            // Linux does not change the mode of a symbolic link.
            return Err(LinuxError::EOPNOTSUPP);
        }
        node.set_attr(attr)
    }

    /// Sets the size of the regular file `path` (`truncate`).
    pub fn truncate_at(&self, dirfd: i32, path: &str, size: u64) -> VfsResult<()> {
        let node = self.resolve_node_at(dirfd, path, true)?;
        match node.node_type() {
            NodeType::Regular => node.truncate(size),
            NodeType::Directory => Err(LinuxError::EISDIR),
            _ => Err(LinuxError::EINVAL),
        }
    }

    /// Returns statistics of the file system that contains `path` (`statfs`).
    pub fn statfs_at(&self, dirfd: i32, path: &str, empty_path: bool) -> VfsResult<StatFs> {
        let node = self.node_at(dirfd, path, true, empty_path)?;
        self.mounts.filesystem_of_node(&node).statfs()
    }

    /// Returns statistics of the file system that contains the file `fd` (`fstatfs`).
    pub fn fstatfs(&self, fd: i32) -> VfsResult<StatFs> {
        let file = self.fd_table.get(fd)?;
        match file.location() {
            Some(location) => self.mounts.filesystem_of(location).statfs(),
            // Pipes and sockets live on Linux's internal pipefs/sockfs.
            None => Ok(StatFs {
                fs_type: 0x5049_5045,
                block_size: 4096,
                name_max: crate::NAME_MAX as u64,
                ..StatFs::default()
            }),
        }
    }

    /// Sets the umask and returns the previous one.
    pub fn set_umask(&mut self, mask: u32) -> u32 {
        core::mem::replace(&mut self.umask, mask & 0o777)
    }
}

//! The node and file-system traits that every file system implements.

use alloc::{string::String, sync::Arc, vec::Vec};
use core::any::Any;

use crate::{
    CreateAttr, DirEntry, LinuxError, NodeType, RenameFlags, SetAttr, Stat, StatFs, VfsResult,
    file::FileLike,
    file_data::FileData,
};

/// Shared handle to a node.
pub type NodeRef = Arc<dyn VfsNode>;

/// Identity of a node: the device number of its file system and its inode number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeId {
    pub dev: u64,
    pub ino: u64,
}

/// A file-system object: a regular file, a directory, a symbolic link or a device.
///
/// Names passed to the directory operations are single components: never
/// empty, never `.` or `..`, without `/`, and at most [`crate::NAME_MAX`]
/// bytes. [`crate::path`] checks that before it calls a node. The default
/// bodies return the errno Linux returns when the node type lacks the
/// operation.
pub trait VfsNode: Send + Sync {
    /// Returns the device and inode numbers; cheap, without I/O.
    fn id(&self) -> NodeId;

    /// Returns the node type; cheap, without I/O.
    fn node_type(&self) -> NodeType;

    fn stat(&self) -> VfsResult<Stat>;

    /// Changes permission bits, owner or timestamps, and sets ctime.
    fn set_attr(&self, attr: SetAttr) -> VfsResult<()>;

    /// Reads from byte offset `offset`; returns 0 at or past the end of file.
    fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> VfsResult<usize> {
        Err(self.not_a_file_error())
    }

    /// Reads up to `len` bytes from byte offset `offset` as [`read_at`]
    /// does, without copying them (see [`FileData`]). Returns `None` when
    /// the node reads only through [`read_at`], which the caller then calls.
    ///
    /// [`read_at`]: VfsNode::read_at
    fn read_shared(&self, _offset: u64, _len: usize) -> VfsResult<Option<FileData>> {
        Ok(None)
    }

    /// Writes at byte offset `offset`, extending the file when needed.
    fn write_at(&self, _offset: u64, _buf: &[u8]) -> VfsResult<usize> {
        Err(self.not_a_file_error())
    }

    /// Sets the size, dropping data past it or adding zeros up to it.
    fn truncate(&self, _size: u64) -> VfsResult<()> {
        Err(self.not_a_file_error())
    }

    /// Writes the node's cached data and metadata to the device.
    fn sync(&self) -> VfsResult<()> {
        Ok(())
    }

    /// Returns a file object of the node's own, for nodes such as a terminal
    /// whose open files are not plain offset-based files. `None` means the
    /// caller wraps the node in an [`crate::OpenFile`].
    fn open_special(&self) -> Option<Arc<dyn FileLike>> {
        None
    }

    /// Looks up one child of a directory.
    fn lookup(&self, _name: &str) -> VfsResult<NodeRef> {
        Err(LinuxError::ENOTDIR)
    }

    /// Creates a regular file, a directory or a special node in a directory.
    /// Fails with `EEXIST` when the name exists.
    fn create(&self, _name: &str, _node_type: NodeType, _attr: CreateAttr) -> VfsResult<NodeRef> {
        Err(LinuxError::ENOTDIR)
    }

    /// Creates a symbolic link named `name` that points to `target`.
    fn symlink(&self, _name: &str, _target: &str, _attr: CreateAttr) -> VfsResult<NodeRef> {
        Err(LinuxError::ENOTDIR)
    }

    /// Adds the name `name` for the existing node `target` of the same file system.
    fn link(&self, _name: &str, _target: &NodeRef) -> VfsResult<()> {
        Err(LinuxError::ENOTDIR)
    }

    /// Removes a non-directory entry (`unlink`) or an empty directory (`rmdir`).
    fn remove(&self, _name: &str, _is_dir: bool) -> VfsResult<()> {
        Err(LinuxError::ENOTDIR)
    }

    /// Moves the entry `old_name` to `new_name` in `new_parent`, which belongs
    /// to the same file system. An existing target is replaced as POSIX
    /// `rename` does, unless `flags` requests otherwise.
    fn rename(
        &self,
        _old_name: &str,
        _new_parent: &NodeRef,
        _new_name: &str,
        _flags: RenameFlags,
    ) -> VfsResult<()> {
        Err(LinuxError::ENOTDIR)
    }

    /// Returns up to `max` entries starting at entry index `start`, including
    /// `.` and `..`. An empty result means the end of the directory.
    fn read_dir(&self, _start: u64, _max: usize) -> VfsResult<Vec<DirEntry>> {
        Err(LinuxError::ENOTDIR)
    }

    /// Returns the target of a symbolic link.
    fn readlink(&self) -> VfsResult<String> {
        Err(LinuxError::EINVAL)
    }

    /// Returns `self` for downcasts, used to reach a file system's own node type.
    fn as_any(&self) -> &dyn Any;

    /// Errno of a file operation on a node that has no data.
    fn not_a_file_error(&self) -> LinuxError {
        match self.node_type() {
            NodeType::Directory => LinuxError::EISDIR,
            _ => LinuxError::EINVAL,
        }
    }
}

/// A mounted file system.
pub trait FileSystem: Send + Sync {
    /// Returns the root directory.
    fn root(&self) -> NodeRef;

    fn statfs(&self) -> VfsResult<StatFs>;

    /// Writes all cached data and metadata to the device.
    fn sync(&self) -> VfsResult<()> {
        Ok(())
    }

    /// Writes everything and marks the file system clean; later calls fail.
    fn unmount(&self) -> VfsResult<()> {
        Ok(())
    }

    /// Returns the file-system type name shown in `/proc/mounts` (`ext4`, `tmpfs`).
    fn name(&self) -> &'static str;
}

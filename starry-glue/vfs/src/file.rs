//! Open file descriptions: the objects that file descriptors refer to.

use alloc::{sync::Arc, vec::Vec};
use core::{
    any::Any,
    sync::atomic::{AtomicU32, Ordering},
};

use spin::Mutex;

use crate::{
    DirEntry, LinuxError, NodeType, OpenFlags, SeekFrom, Stat, VfsResult, file_data::FileData,
    node::NodeRef, path::Location,
};

/// Readiness of a file for `poll`/`select`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollState {
    pub readable: bool,
    pub writable: bool,
    /// The peer end of a pipe or socket was closed.
    pub hangup: bool,
}

/// An open file description: a file, a directory, a pipe end, a terminal or
/// a socket. Descriptors created by `dup` share one description, and with it
/// the offset and the status flags.
///
/// Operations that would block return `EAGAIN`; the syscall layer waits and
/// retries unless the description has `O_NONBLOCK`.
pub trait FileLike: Send + Sync {
    /// Reads at the current offset and advances it.
    fn read(&self, buf: &mut [u8]) -> VfsResult<usize>;

    /// Writes at the current offset (or the end with `O_APPEND`) and advances it.
    fn write(&self, buf: &[u8]) -> VfsResult<usize>;

    /// Reads at `offset` without moving the current offset.
    fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> VfsResult<usize> {
        Err(LinuxError::ESPIPE)
    }

    /// Writes at `offset` without moving the current offset.
    fn write_at(&self, _offset: u64, _buf: &[u8]) -> VfsResult<usize> {
        Err(LinuxError::ESPIPE)
    }

    /// Reads up to `len` bytes at `offset`, or at the current offset when
    /// `offset` is `None`, and passes them to `copy` without a copy in
    /// between (see [`FileData`]). `copy` returns how many bytes it
    /// copied, fewer than it got when its destination faulted, and a read
    /// at the current offset advances it by that number. Returns that
    /// number, or `None` when the file reads only through [`Self::read`]
    /// and [`Self::read_at`].
    fn read_to(
        &self,
        _offset: Option<u64>,
        _len: usize,
        _copy: &mut dyn FnMut(&FileData) -> usize,
    ) -> VfsResult<Option<usize>> {
        Ok(None)
    }

    /// Moves the current offset; returns the new offset.
    fn seek(&self, _pos: SeekFrom) -> VfsResult<u64> {
        Err(LinuxError::ESPIPE)
    }

    fn stat(&self) -> VfsResult<Stat>;

    /// Returns the access mode and status flags (`fcntl(F_GETFL)`).
    fn status_flags(&self) -> OpenFlags;

    /// Replaces the flags in [`OpenFlags::SETFL_MASK`] (`fcntl(F_SETFL)`).
    fn set_status_flags(&self, flags: OpenFlags);

    /// Returns the path location for files opened by name.
    fn location(&self) -> Option<&Location> {
        None
    }

    /// Returns whether the file is a terminal (`isatty`).
    fn is_tty(&self) -> bool {
        false
    }

    /// Runs a device-specific `ioctl`. `arg` is the raw user argument.
    fn ioctl(&self, _cmd: u32, _arg: usize) -> VfsResult<usize> {
        Err(LinuxError::ENOTTY)
    }

    fn poll(&self) -> PollState {
        PollState {
            readable: true,
            writable: true,
            hangup: false,
        }
    }

    /// Sets the size of a regular file (`ftruncate`).
    fn truncate(&self, _size: u64) -> VfsResult<()> {
        Err(LinuxError::EINVAL)
    }

    /// Writes cached data to the device (`fsync`).
    fn sync(&self) -> VfsResult<()> {
        Err(LinuxError::EINVAL)
    }

    /// Returns directory entries from the current position and advances it
    /// past those the caller consumed (see [`OpenFile::read_dir`]).
    fn read_dir(&self, _max: usize) -> VfsResult<Vec<DirEntry>> {
        Err(LinuxError::ENOTDIR)
    }

    /// Advances a directory position by `count` entries after `read_dir`.
    fn advance_dir(&self, _count: u64) {}

    fn as_any(&self) -> &dyn Any;
}

/// An open regular file, directory, symbolic link (`O_PATH`) or device node
/// reached by a path.
pub struct OpenFile {
    location: Location,
    /// Byte offset for files, entry index for directories.
    offset: Mutex<u64>,
    flags: AtomicU32,
}

impl OpenFile {
    pub fn new(location: Location, flags: OpenFlags) -> Self {
        Self {
            location,
            offset: Mutex::new(0),
            flags: AtomicU32::new(flags.bits()),
        }
    }

    pub fn node(&self) -> &NodeRef {
        self.location.node()
    }

    fn flags(&self) -> OpenFlags {
        OpenFlags::from_bits_retain(self.flags.load(Ordering::Relaxed))
    }

    fn is_path_only(&self) -> bool {
        self.flags().contains(OpenFlags::O_PATH)
    }

    fn check_readable(&self) -> VfsResult<()> {
        if self.is_path_only() || !self.flags().readable() {
            return Err(LinuxError::EBADF);
        }
        if self.node().node_type() == NodeType::Directory {
            return Err(LinuxError::EISDIR);
        }
        Ok(())
    }

    fn check_writable(&self) -> VfsResult<()> {
        if self.is_path_only() || !self.flags().writable() {
            return Err(LinuxError::EBADF);
        }
        Ok(())
    }
}

impl FileLike for OpenFile {
    fn read(&self, buf: &mut [u8]) -> VfsResult<usize> {
        self.check_readable()?;
        let mut offset = self.offset.lock();
        let count = self.node().read_at(*offset, buf)?;
        *offset += count as u64;
        Ok(count)
    }

    fn write(&self, buf: &[u8]) -> VfsResult<usize> {
        self.check_writable()?;
        let mut offset = self.offset.lock();
        if self.flags().contains(OpenFlags::O_APPEND) {
            *offset = self.node().stat()?.size;
        }
        let count = self.node().write_at(*offset, buf)?;
        *offset += count as u64;
        Ok(count)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        self.check_readable()?;
        self.node().read_at(offset, buf)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> VfsResult<usize> {
        self.check_writable()?;
        self.node().write_at(offset, buf)
    }

    fn read_to(
        &self,
        offset: Option<u64>,
        len: usize,
        copy: &mut dyn FnMut(&FileData) -> usize,
    ) -> VfsResult<Option<usize>> {
        self.check_readable()?;
        if let Some(offset) = offset {
            return Ok(self.node().read_shared(offset, len)?.map(|data| copy(&data)));
        }
        // The offset stays locked while `copy` runs, as in `read`, so that
        // reads of one description at once return consecutive parts.
        let mut position = self.offset.lock();
        let Some(data) = self.node().read_shared(*position, len)? else {
            return Ok(None);
        };
        let copied = copy(&data);
        *position += copied as u64;
        Ok(Some(copied))
    }

    fn seek(&self, pos: SeekFrom) -> VfsResult<u64> {
        if self.is_path_only() {
            return Err(LinuxError::EBADF);
        }
        let node_type = self.node().node_type();
        if matches!(node_type, NodeType::Fifo | NodeType::Socket) {
            return Err(LinuxError::ESPIPE);
        }
        let mut offset = self.offset.lock();
        let new_offset = match pos {
            SeekFrom::Start(position) => Some(position),
            SeekFrom::Current(delta) => offset.checked_add_signed(delta),
            SeekFrom::End(delta) => {
                if node_type == NodeType::Directory {
                    return Err(LinuxError::EINVAL);
                }
                self.node().stat()?.size.checked_add_signed(delta)
            }
        };
        let new_offset = new_offset
            .filter(|value| i64::try_from(*value).is_ok())
            .ok_or(LinuxError::EINVAL)?;
        *offset = new_offset;
        Ok(new_offset)
    }

    fn stat(&self) -> VfsResult<Stat> {
        self.node().stat()
    }

    fn status_flags(&self) -> OpenFlags {
        self.flags() - OpenFlags::O_CLOEXEC
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mask = OpenFlags::SETFL_MASK;
        let _ = self
            .flags
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some((old & !mask) | (flags.bits() & mask))
            });
    }

    fn location(&self) -> Option<&Location> {
        Some(&self.location)
    }

    fn truncate(&self, size: u64) -> VfsResult<()> {
        if self.is_path_only() || !self.flags().writable() {
            return Err(LinuxError::EINVAL);
        }
        match self.node().node_type() {
            NodeType::Regular => self.node().truncate(size),
            NodeType::Directory => Err(LinuxError::EISDIR),
            _ => Err(LinuxError::EINVAL),
        }
    }

    fn sync(&self) -> VfsResult<()> {
        if self.is_path_only() {
            return Err(LinuxError::EBADF);
        }
        self.node().sync()
    }

    /// Returns up to `max` entries from the current entry index without
    /// moving it, so that entries that do not fit in the caller's buffer are
    /// returned again by the next call. [`FileLike::advance_dir`] moves the
    /// index past the entries the caller stored.
    fn read_dir(&self, max: usize) -> VfsResult<Vec<DirEntry>> {
        if self.is_path_only() {
            return Err(LinuxError::EBADF);
        }
        let offset = *self.offset.lock();
        self.node().read_dir(offset, max)
    }

    fn advance_dir(&self, count: u64) {
        *self.offset.lock() += count;
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Wraps a node in an [`OpenFile`] or the node's own file object.
pub fn open_location(location: Location, flags: OpenFlags) -> Arc<dyn FileLike> {
    if !flags.contains(OpenFlags::O_PATH)
        && let Some(file) = location.node().open_special() {
            file.set_status_flags(flags);
            return file;
        }
    Arc::new(OpenFile::new(location, flags))
}

//! Anonymous pipes (`pipe2`).

use alloc::{collections::VecDeque, sync::Arc};
use core::{
    any::Any,
    sync::atomic::{AtomicU32, Ordering},
};

use spin::Mutex;

use crate::{
    LinuxError, OpenFlags, S_IFIFO, Stat, VfsResult,
    file::{FileLike, PollState},
    tmpfs::alloc_anonymous_dev,
};

/// Capacity of a new pipe in bytes, Linux's default of 16 pages.
pub const PIPE_CAPACITY: usize = 65536;
/// Writes of at most this many bytes are atomic: they wait until all of
/// them fit (POSIX's PIPE_BUF, 4096 on Linux).
const PIPE_BUF: usize = 4096;
/// The smallest capacity, one page, as Linux rounds F_SETPIPE_SZ up to.
const MIN_PIPE_CAPACITY: usize = 4096;
/// The largest capacity F_SETPIPE_SZ grants: Linux's default
/// `/proc/sys/fs/pipe-max-size`, 1 MiB.
pub const MAX_PIPE_CAPACITY: usize = 1 << 20;

struct PipeBuffer {
    data: VecDeque<u8>,
    /// The maximum number of bytes in the pipe, set by F_SETPIPE_SZ.
    capacity: usize,
    readers: usize,
    writers: usize,
}

/// One end of a pipe.
pub struct PipeEnd {
    buffer: Arc<Mutex<PipeBuffer>>,
    is_reader: bool,
    flags: AtomicU32,
    ino: u64,
}

/// Creates a pipe and returns its read end and its write end.
///
/// A read of an empty pipe with a live writer, and a write to a full pipe
/// with a live reader, return `EAGAIN`: the caller waits and retries unless
/// the end has `O_NONBLOCK`.
pub fn new_pipe(flags: OpenFlags) -> (Arc<PipeEnd>, Arc<PipeEnd>) {
    let buffer = Arc::new(Mutex::new(PipeBuffer {
        data: VecDeque::new(),
        capacity: PIPE_CAPACITY,
        readers: 1,
        writers: 1,
    }));
    let status = flags & OpenFlags::O_NONBLOCK;
    let ino = alloc_anonymous_dev();
    let reader = PipeEnd {
        buffer: buffer.clone(),
        is_reader: true,
        flags: AtomicU32::new(status.bits()),
        ino,
    };
    let writer = PipeEnd {
        buffer,
        is_reader: false,
        flags: AtomicU32::new((status | OpenFlags::O_WRONLY).bits()),
        ino,
    };
    (Arc::new(reader), Arc::new(writer))
}

impl PipeEnd {
    /// Returns the pipe's capacity in bytes (F_GETPIPE_SZ).
    pub fn capacity(&self) -> usize {
        self.buffer.lock().capacity
    }

    /// Sets the pipe's capacity to `size` rounded up to a power of two of
    /// at least one page, and returns it (F_SETPIPE_SZ). `EINVAL` for a
    /// size above 2^31, `EBUSY` when the pipe contains more data than the new
    /// capacity.
    ///
    /// NOTE: a size above `MAX_PIPE_CAPACITY` is `EPERM`, as for a process
    /// without CAP_SYS_RESOURCE, although every process runs as root: the
    /// limit bounds the kernel memory one pipe holds.
    pub fn set_capacity(&self, size: usize) -> VfsResult<usize> {
        if size > 1 << 31 {
            return Err(LinuxError::EINVAL);
        }
        let capacity = size.max(MIN_PIPE_CAPACITY).next_power_of_two();
        if capacity > MAX_PIPE_CAPACITY {
            return Err(LinuxError::EPERM);
        }
        let mut buffer = self.buffer.lock();
        if buffer.data.len() > capacity {
            return Err(LinuxError::EBUSY);
        }
        buffer.capacity = capacity;
        Ok(capacity)
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut buffer = self.buffer.lock();
        if self.is_reader {
            buffer.readers -= 1;
        } else {
            buffer.writers -= 1;
        }
    }
}

impl FileLike for PipeEnd {
    fn read(&self, buf: &mut [u8]) -> VfsResult<usize> {
        if !self.is_reader {
            return Err(LinuxError::EBADF);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let mut buffer = self.buffer.lock();
        if buffer.data.is_empty() {
            return if buffer.writers == 0 {
                Ok(0)
            } else {
                Err(LinuxError::EAGAIN)
            };
        }
        let count = buf.len().min(buffer.data.len());
        for (slot, byte) in buf.iter_mut().zip(buffer.data.drain(..count)) {
            *slot = byte;
        }
        Ok(count)
    }

    /// Writes what fits, or nothing while a write of at most `PIPE_BUF`
    /// bytes does not fit whole. The caller sends `SIGPIPE` on `EPIPE`.
    fn write(&self, buf: &[u8]) -> VfsResult<usize> {
        if self.is_reader {
            return Err(LinuxError::EBADF);
        }
        let mut buffer = self.buffer.lock();
        if buffer.readers == 0 {
            return Err(LinuxError::EPIPE);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let free = buffer.capacity.saturating_sub(buffer.data.len());
        if free == 0 || (buf.len() <= PIPE_BUF && free < buf.len()) {
            return Err(LinuxError::EAGAIN);
        }
        let count = buf.len().min(free);
        buffer.data.extend(&buf[..count]);
        Ok(count)
    }

    fn stat(&self) -> VfsResult<Stat> {
        Ok(Stat {
            ino: self.ino,
            mode: S_IFIFO | 0o600,
            nlink: 1,
            blksize: 4096,
            ..Stat::default()
        })
    }

    fn status_flags(&self) -> OpenFlags {
        OpenFlags::from_bits_retain(self.flags.load(Ordering::Relaxed))
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mask = OpenFlags::SETFL_MASK;
        let _ = self
            .flags
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some((old & !mask) | (flags.bits() & mask))
            });
    }

    fn poll(&self) -> PollState {
        let buffer = self.buffer.lock();
        if self.is_reader {
            PollState {
                readable: !buffer.data.is_empty() || buffer.writers == 0,
                writable: false,
                hangup: buffer.writers == 0,
            }
        } else {
            PollState {
                readable: false,
                writable: buffer.data.len() < buffer.capacity || buffer.readers == 0,
                hangup: buffer.readers == 0,
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

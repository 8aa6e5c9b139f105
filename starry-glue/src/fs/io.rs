//! Data transfer between open files and user memory: read, write and their
//! vector, positioned and in-kernel (`sendfile`) forms.

use alloc::{sync::Arc, vec, vec::Vec};
use core::ops::{Deref, DerefMut};

use axerrno::LinuxError;
use starry_vfs::{FileData, FileLike, OpenFlags, SeekFrom};
use spin::Mutex;
use syscall_abi::{SysResult, UserInBytes, UserMemory, UserOutBytes};

use crate::process::signal::{Restart, interrupted};

/// Size of the kernel buffer that data passes through, per step.
const CHUNK_SIZE: usize = 64 * 1024;

/// Maximum number of spare chunk buffers kept for reuse: a few per CPU.
const MAX_SPARE_CHUNKS: usize = 4;

/// Chunk buffers of [`CHUNK_SIZE`] bytes that earlier calls gave back.
/// Allocating and zeroing a buffer on each call cost a measurable share
/// of a `read` of a small file under QEMU.
static SPARE_CHUNKS: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A buffer of [`CHUNK_SIZE`] bytes taken from [`SPARE_CHUNKS`], or a new
/// one of at least the requested size when none is spare. A buffer of
/// [`CHUNK_SIZE`] bytes goes back when dropped. It contains bytes of earlier
/// calls, so callers copy out only the bytes that a file returned or that
/// they filled.
struct ChunkBuffer(Vec<u8>);

impl ChunkBuffer {
    fn take(len: usize) -> Self {
        let spare = SPARE_CHUNKS.lock().pop();
        Self(spare.unwrap_or_else(|| vec![0; len.min(CHUNK_SIZE)]))
    }
}

impl Deref for ChunkBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl DerefMut for ChunkBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl Drop for ChunkBuffer {
    fn drop(&mut self) {
        if self.0.len() != CHUNK_SIZE {
            return;
        }
        let mut spare = SPARE_CHUNKS.lock();
        if spare.len() < MAX_SPARE_CHUNKS {
            spare.push(core::mem::take(&mut self.0));
        }
    }
}

/// Largest byte count of one read or write, as Linux's `MAX_RW_COUNT`
/// (`INT_MAX` rounded down to a page).
pub const MAX_RW_COUNT: usize = 0x7fff_f000;

/// Returns whether the calling thread has a pending signal that it does not
/// block, which ends a wait with `EINTR`. It first raises a SIGINT that the
/// console requested (Ctrl-C), so that Ctrl-C ends a blocked console read.
pub fn signal_pending() -> bool {
    crate::process::signal::has_pending_signal()
}

/// Runs `operation` until it stops returning `EAGAIN`, sleeping in between
/// (`crate::wait`), unless the file or socket is non-blocking. A pending
/// signal ends the wait with `EINTR`, and the call runs again after a
/// handler with `SA_RESTART`.
pub fn wait_while_blocked<R>(
    file: &dyn FileLike,
    mut operation: impl FnMut() -> SysResult<R>,
) -> SysResult<R> {
    loop {
        match operation() {
            Err(LinuxError::EAGAIN) if !file.status_flags().contains(OpenFlags::O_NONBLOCK) => {
                if signal_pending() {
                    return Err(interrupted(Restart::UnlessHandlerWithoutSaRestart));
                }
                crate::wait::sleep_until_file_event(None);
            }
            result => return result,
        }
    }
}

/// Reads from `file` into the user buffer `buf`, at the file offset or at
/// `offset`. Stops at the first short read, so a regular file is read up to
/// its end and a pipe or terminal returns what it had.
///
/// Files that share their cached data ([`FileLike::read_to`]) are copied
/// once, straight to user memory, and a fault of the user buffer returns
/// the bytes copied before the bad page, or `EFAULT` when there are none,
/// as on Linux. Other files are read through a kernel buffer in steps, and
/// a fault in the copy of a step ends the read with the bytes of the
/// earlier steps, or `EFAULT` when there are none.
pub fn read_to_user(
    mem: &impl UserMemory,
    file: &Arc<dyn FileLike>,
    buf: &UserOutBytes,
    offset: Option<u64>,
) -> SysResult<usize> {
    let total = buf.len().min(MAX_RW_COUNT);
    let mut chunk = None;
    let mut done = 0;
    while done < total {
        let want = (total - done).min(CHUNK_SIZE);
        let position = offset.map(|start| start + done as u64);
        let step = match read_shared_step(mem, file, buf.addr() + done, position, want) {
            Ok(Some(step)) => Ok(step),
            Ok(None) => {
                let chunk = chunk.get_or_insert_with(|| ChunkBuffer::take(total - done));
                let want = want.min(chunk.len());
                read_copied_step(mem, file, buf, done, position, &mut chunk[..want])
            }
            Err(error) => Err(error),
        };
        let step = match step {
            Ok(step) => step,
            Err(LinuxError::EAGAIN) if done > 0 => break,
            Err(error) if done == 0 => return Err(error),
            Err(_) => break,
        };
        done += step.copied;
        if step.faulted {
            return if done == 0 { Err(LinuxError::EFAULT) } else { Ok(done) };
        }
        if step.copied < step.requested {
            break;
        }
    }
    Ok(done)
}

/// The outcome of one step of [`read_to_user`].
struct ReadStep {
    /// Bytes that the step asked the file for.
    requested: usize,
    /// Bytes copied to user memory.
    copied: usize,
    /// Whether the copy stopped at a page of the user buffer that is not
    /// mapped writable.
    faulted: bool,
}

/// Reads up to `want` bytes of `file` straight to user address `addr`
/// ([`FileLike::read_to`]). Returns `None` when the file does not share
/// its data.
fn read_shared_step(
    mem: &impl UserMemory,
    file: &Arc<dyn FileLike>,
    addr: usize,
    position: Option<u64>,
    want: usize,
) -> SysResult<Option<ReadStep>> {
    let mut read = 0;
    let mut copy = |data: &FileData| {
        read = data.len();
        mem.write_parts(addr, &mut data.slices())
    };
    let Some(copied) = file.read_to(position, want, &mut copy)? else {
        return Ok(None);
    };
    Ok(Some(ReadStep {
        requested: want,
        copied,
        faulted: copied < read,
    }))
}

/// Reads up to `chunk.len()` bytes of `file` into `chunk` and copies them
/// to `buf` from byte `done`.
fn read_copied_step(
    mem: &impl UserMemory,
    file: &Arc<dyn FileLike>,
    buf: &UserOutBytes,
    done: usize,
    position: Option<u64>,
    chunk: &mut [u8],
) -> SysResult<ReadStep> {
    let count = match position {
        Some(position) => file.read_at(position, chunk)?,
        // Only the first step may wait: later ones return what is there.
        None if done == 0 => wait_while_blocked(file.as_ref(), || file.read(chunk))?,
        None => file.read(chunk)?,
    };
    buf.write_from(mem, done, &chunk[..count])?;
    Ok(ReadStep {
        requested: chunk.len(),
        copied: count,
        faulted: false,
    })
}

/// Writes the user buffer `buf` to `file`, at the file offset or at `offset`.
///
/// A short write goes on with the rest, as a blocking write on Linux does,
/// so a full pipe or socket waits for room. The write ends with the bytes
/// written so far when a signal comes, when the file is non-blocking, or
/// when an error such as `ENOSPC` or `EPIPE` follows.
pub fn write_from_user(
    mem: &impl UserMemory,
    file: &Arc<dyn FileLike>,
    buf: &UserInBytes,
    offset: Option<u64>,
) -> SysResult<usize> {
    let total = buf.len().min(MAX_RW_COUNT);
    let mut chunk = ChunkBuffer::take(total);
    let mut done = 0;
    while done < total {
        let want = (total - done).min(chunk.len());
        buf.read_into(mem, done, &mut chunk[..want])?;
        let position = offset.map(|start| start + done as u64);
        let result = match position {
            Some(position) => file.write_at(position, &chunk[..want]),
            None => wait_while_blocked(file.as_ref(), || file.write(&chunk[..want])),
        };
        let count = match result {
            Ok(count) => count,
            Err(error) if done == 0 => return Err(error),
            Err(_) => break,
        };
        if count == 0 {
            break;
        }
        done += count;
    }
    Ok(done)
}

/// Copies up to `count` bytes from `input` to `output` (`sendfile`). With
/// `offset`, reads start there and the input's own offset stays; returns
/// the bytes copied and the offset after them.
pub fn copy_between_files(
    input: &Arc<dyn FileLike>,
    output: &Arc<dyn FileLike>,
    offset: Option<u64>,
    count: usize,
) -> SysResult<(usize, Option<u64>)> {
    let total = count.min(MAX_RW_COUNT);
    let mut chunk = ChunkBuffer::take(total);
    // The same seekable open file as input and output, without an offset:
    // Linux reads and writes at one position taken at the start, so the
    // file is copied onto itself and does not grow.
    if offset.is_none()
        && core::ptr::addr_eq(Arc::as_ptr(input), Arc::as_ptr(output))
        && let Ok(start) = input.seek(SeekFrom::Current(0))
    {
        let mut done = 0;
        while done < total {
            let want = (total - done).min(chunk.len());
            let position = start + done as u64;
            let read = match input.read_at(position, &mut chunk[..want]) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if done == 0 => return Err(error),
                Err(_) => break,
            };
            match output.write_at(position, &chunk[..read]) {
                Ok(written) => done += written,
                Err(error) if done == 0 => return Err(error),
                Err(_) => break,
            }
            if read < want {
                break;
            }
        }
        input.seek(SeekFrom::Start(start + done as u64))?;
        return Ok((done, None));
    }
    let mut done = 0;
    while done < total {
        let want = (total - done).min(chunk.len());
        let read = match offset {
            Some(start) => input.read_at(start + done as u64, &mut chunk[..want]),
            None => wait_while_blocked(input.as_ref(), || input.read(&mut chunk[..want])),
        };
        let read = match read {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if done == 0 => return Err(error),
            Err(_) => break,
        };
        let mut written = 0;
        while written < read {
            let result = wait_while_blocked(output.as_ref(), || output.write(&chunk[written..read]));
            match result {
                Ok(0) => return Err(LinuxError::EIO),
                Ok(count) => written += count,
                Err(error) if done == 0 && written == 0 => return Err(error),
                Err(_) => return Ok((done + written, offset.map(|start| start + (done + written) as u64))),
            }
        }
        done += read;
        if read < want {
            break;
        }
    }
    Ok((done, offset.map(|start| start + done as u64)))
}

//! `fcntl`, `flock`, `ioctl` and `getdents64`.

use alloc::{sync::Arc, vec::Vec};

use axerrno::LinuxError;
use log::warn;
use starry_vfs::{FileLike, FsContext, OpenFlags, SeekFrom, pipe::PipeEnd};
use syscall_abi::{
    DIRENT64_NAME_OFFSET, SysResult, UserMemory, UserOut, UserOutBytes,
};

pub const F_DUPFD: i32 = 0;
pub const F_GETFD: i32 = 1;
pub const F_SETFD: i32 = 2;
pub const F_GETFL: i32 = 3;
pub const F_SETFL: i32 = 4;
pub const F_GETLK: i32 = 5;
pub const F_SETLK: i32 = 6;
pub const F_SETLKW: i32 = 7;
pub const F_DUPFD_CLOEXEC: i32 = 1030;
const F_SETPIPE_SZ: i32 = 1031;
const F_GETPIPE_SZ: i32 = 1032;
pub const FD_CLOEXEC: usize = 1;
/// `l_type` of `struct flock` that means "no lock".
const F_UNLCK: i16 = 2;

/// `flock` operations; `LOCK_NB` may be added to any of them.
const LOCK_SH: u32 = 1;
const LOCK_EX: u32 = 2;
const LOCK_NB: u32 = 4;
const LOCK_UN: u32 = 8;
/// The removed "mandatory" flock bit, which Linux 6.1 ignores (returns 0).
const LOCK_MAND: u32 = 32;

pub const FIONBIO: u32 = 0x5421;
pub const FIONCLEX: u32 = 0x5450;
pub const FIOCLEX: u32 = 0x5451;

/// Runs `fcntl` on the descriptor `fd` of `fs`, except `F_GETLK`, which
/// [`fcntl_getlk`] handles after the lock on `fs` is released.
pub fn fcntl(fs: &mut FsContext, fd: i32, cmd: i32, arg: usize) -> SysResult<isize> {
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let file = fs.fd_table.get(fd)?;
            let min_fd = usize::try_from(arg as i32).map_err(|_| LinuxError::EINVAL)?;
            let new_fd = fs.fd_table.insert_from(min_fd, file, cmd == F_DUPFD_CLOEXEC)?;
            Ok(new_fd as isize)
        }
        F_GETFD => Ok(if fs.fd_table.close_on_exec(fd)? { FD_CLOEXEC as isize } else { 0 }),
        F_SETFD => {
            fs.fd_table.set_close_on_exec(fd, arg & FD_CLOEXEC != 0)?;
            Ok(0)
        }
        F_GETFL => Ok(fs.fd_table.get(fd)?.status_flags().bits() as isize),
        F_SETFL => {
            let file = fs.fd_table.get(fd)?;
            file.set_status_flags(OpenFlags::from_bits_retain(arg as u32));
            Ok(0)
        }
        F_GETPIPE_SZ | F_SETPIPE_SZ => {
            let file = fs.fd_table.get(fd)?;
            let Some(pipe) = file.as_any().downcast_ref::<PipeEnd>() else {
                return Err(LinuxError::EBADF);
            };
            let size = match cmd {
                F_GETPIPE_SZ => pipe.capacity(),
                // Linux reads the argument as an unsigned int.
                _ => pipe.set_capacity(arg as u32 as usize)?,
            };
            Ok(size as isize)
        }
        F_SETLK | F_SETLKW => {
            // TODO: record locks are granted without being recorded, which is
            // right while one process runs; with several they must conflict.
            fs.fd_table.get(fd)?;
            Ok(0)
        }
        _ => {
            static WARNED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
            if !WARNED.swap(true, core::sync::atomic::Ordering::Relaxed) {
                warn!("fcntl: command {cmd} is not supported; returning EINVAL (logged once)");
            }
            Err(LinuxError::EINVAL)
        }
    }
}

/// Runs `fcntl(F_GETLK)`: sets `l_type` of the `struct flock` at `arg` to
/// `F_UNLCK`, because record locks only conflict between processes and
/// there is one.
pub fn fcntl_getlk(mem: &impl UserMemory, arg: usize) -> SysResult<isize> {
    UserOut::<i16>::new(arg)?.write(mem, &F_UNLCK)?;
    Ok(0)
}

/// Runs `flock` on `file`: checks `operation` in Linux 6.1's order and
/// grants it. An `O_PATH` descriptor is `EBADF`, as for Linux's `fdget`.
// TODO: locks are granted without being recorded, as F_SETLK above, which
// is right only while no other process locks the same file.
pub fn flock(file: &Arc<dyn FileLike>, operation: u32) -> SysResult<()> {
    if operation & LOCK_MAND != 0 {
        return Ok(());
    }
    if !matches!(operation & !LOCK_NB, LOCK_SH | LOCK_EX | LOCK_UN) {
        return Err(LinuxError::EINVAL);
    }
    if file.status_flags().contains(OpenFlags::O_PATH) {
        return Err(LinuxError::EBADF);
    }
    Ok(())
}

/// Runs `ioctl` on `file`, open as descriptor `fd`. The caller holds no
/// lock, so that device handlers may copy to and from user memory.
pub fn ioctl(
    mem: &impl UserMemory,
    set_close_on_exec: impl FnOnce(bool) -> SysResult<()>,
    file: &Arc<dyn FileLike>,
    cmd: u32,
    arg: usize,
) -> SysResult<isize> {
    match cmd {
        FIOCLEX | FIONCLEX => {
            set_close_on_exec(cmd == FIOCLEX)?;
            return Ok(0);
        }
        FIONBIO => {
            let enable = syscall_abi::UserIn::<i32>::new(arg)?.read(mem)? != 0;
            let mut flags = file.status_flags();
            flags.set(OpenFlags::O_NONBLOCK, enable);
            file.set_status_flags(flags);
            return Ok(0);
        }
        _ => {}
    }
    if !file.is_tty() {
        return Err(LinuxError::ENOTTY);
    }
    // The terminal requests (termios, window size, process group, FIONREAD)
    // belong to the device, which keeps the terminal's state.
    file.ioctl(cmd, arg).map(|value| value as isize)
}

/// Fills `dirp` with `struct linux_dirent64` records from the directory
/// `file` and returns the bytes used; 0 at the end of the directory.
pub fn getdents64(mem: &impl UserMemory, file: &Arc<dyn FileLike>, dirp: &UserOutBytes) -> SysResult<usize> {
    let capacity = dirp.len();
    // The smallest record is 24 bytes, so no more entries than that can fit.
    let max_entries = (capacity / 24).clamp(1, 512);
    let entries = file.read_dir(max_entries)?;

    let mut position = file.seek(SeekFrom::Current(0))?;
    let mut buffer = Vec::with_capacity(capacity.min(64 * 1024));
    let mut used = 0u64;
    for entry in &entries {
        let name = entry.name.as_bytes();
        let record_len = (DIRENT64_NAME_OFFSET + name.len() + 1).next_multiple_of(8);
        if buffer.len() + record_len > capacity {
            break;
        }
        position += 1;
        // The fields of `Dirent64Header`: d_ino, d_off, d_reclen, d_type.
        let start = buffer.len();
        buffer.extend_from_slice(&entry.ino.to_le_bytes());
        buffer.extend_from_slice(&(position as i64).to_le_bytes());
        buffer.extend_from_slice(&(record_len as u16).to_le_bytes());
        buffer.push(entry.node_type.dirent_type());
        buffer.extend_from_slice(name);
        buffer.resize(start + record_len, 0);
        used += 1;
    }

    if used == 0 && !entries.is_empty() {
        return Err(LinuxError::EINVAL);
    }
    dirp.write_from(mem, 0, &buffer)?;
    file.advance_dir(used);
    Ok(buffer.len())
}

//! Requests about a byte range of a file: `fallocate` and `fadvise64`.

use alloc::sync::Arc;

use axerrno::LinuxError;
use starry_vfs::{FileLike, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK};
use syscall_abi::SysResult;

/// `POSIX_FADV_NORMAL` (0) to `POSIX_FADV_NOREUSE` (5).
const MAX_ADVICE: i32 = 5;

/// Runs `fallocate` with mode 0 on `file`: grows a regular file to at
/// least `offset + len`. The new range is a hole; no blocks are reserved.
pub fn allocate(file: &Arc<dyn FileLike>, mode: i32, offset: i64, len: i64) -> SysResult<()> {
    if offset < 0 || len <= 0 {
        return Err(LinuxError::EINVAL);
    }
    if !file.status_flags().writable() {
        return Err(LinuxError::EBADF);
    }
    let stat = file.stat()?;
    match stat.mode & S_IFMT {
        S_IFREG => {}
        S_IFDIR => return Err(LinuxError::EISDIR),
        S_IFIFO | S_IFSOCK => return Err(LinuxError::ESPIPE),
        _ => return Err(LinuxError::ENODEV),
    }
    let end = offset.checked_add(len).ok_or(LinuxError::EFBIG)? as u64;
    // TODO: FALLOC_FL_KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE and the other
    // modes need support from the file systems. Linux checks the mode
    // against the file system last, as here.
    if mode != 0 {
        return Err(LinuxError::EOPNOTSUPP);
    }
    if end > stat.size {
        file.truncate(end)?;
    }
    Ok(())
}

/// Checks a `fadvise64` request on `file`. The advice itself has no
/// effect, because there is no page cache to read ahead into or drop.
pub fn advise(file: &Arc<dyn FileLike>, len: i64, advice: i32) -> SysResult<()> {
    let kind = file.stat()?.mode & S_IFMT;
    if kind == S_IFIFO || kind == S_IFSOCK {
        return Err(LinuxError::ESPIPE);
    }
    if len < 0 || !(0..=MAX_ADVICE).contains(&advice) {
        return Err(LinuxError::EINVAL);
    }
    Ok(())
}

//! The file-system syscalls: `impl FsSyscalls for Handler` on starry-vfs.
//!
//! Each method holds the calling process's [`FsContext`] lock only for the
//! descriptor-table and path work, and releases it before a transfer that
//! may wait (a console or pipe read) or copy to user memory.

mod control;
mod convert;
pub(crate) mod io;
mod poll;
mod range;

use alloc::{string::String, sync::Arc, vec::Vec};

use axerrno::LinuxError;
use log::debug;
use starry_vfs::{FileLike, FsContext, SeekFrom, SetAttr};
use syscall_abi::{
    AtFlags, DirFd, Dup3Flags, EpollCreateFlags, EpollEvent, EventFdFlags, Fd, FdPair, FsSyscalls, Iovecs,
    OpenFlags, PipeFlags, Pollfd, RenameFlags, Sigset, Stat, Statfs, Statx, StatxMask, SysResult,
    SyscallContext, Timespec, TimespecPair, UserIn, UserInBytes, UserInOut, UserInOutSlice,
    UserCStr, UserOut, UserOutBytes, UserOutSlice, UserPath,
};

use self::convert::{open_flags, path_str};
use crate::{
    Handler, mm,
    process::signal::{self, Restart, SI_USER, SigInfo, send_signal},
    time::wall_clock,
};

/// memfd_create's flags and name limit.
const MFD_CLOEXEC: u32 = 0x1;
const MFD_ALLOW_SEALING: u32 = 0x2;
const MFD_NAME_MAX: usize = 249;

/// Signal number of `SIGPIPE`.
const SIGPIPE: u32 = 13;

impl Handler {
    /// Runs `operation` on the file-system state of the calling process.
    fn with_fs<R>(&self, operation: impl FnOnce(&mut FsContext) -> SysResult<R>) -> SysResult<R> {
        operation(&mut self.process().fs.lock())
    }

    /// Returns the open file of descriptor `fd` of the calling process.
    fn file_of(&self, fd: i32) -> SysResult<Arc<dyn FileLike>> {
        self.with_fs(|fs| fs.fd_table.get(fd))
    }

    /// Sends `SIGPIPE` to the calling thread when a write failed with
    /// `EPIPE`, as Linux does, and returns the result unchanged.
    fn raise_sigpipe<T>(&self, result: SysResult<T>) -> SysResult<T> {
        if matches!(result, Err(LinuxError::EPIPE)) {
            let info = SigInfo {
                code: SI_USER,
                value: 0,
            };
            send_signal(self.thread(), SIGPIPE, info);
        }
        result
    }

    /// Reads the signal mask that ppoll and epoll_pwait install for their
    /// wait: `EINVAL` unless `sigsetsize` is 8, `EFAULT` when it cannot be
    /// read.
    fn read_wait_sigmask(&self, sigmask: Option<UserIn<Sigset>>, sigsetsize: usize) -> SysResult<Option<Sigset>> {
        let Some(sigmask) = sigmask else { return Ok(None) };
        if sigsetsize != size_of::<Sigset>() {
            return Err(LinuxError::EINVAL);
        }
        sigmask.read(self.mem()).map(Some)
    }

    /// Reads pselect6's sixth argument, the address of a { sigset address,
    /// size } pair; either address may be null.
    fn read_pselect_sigmask(&self, argpack: usize) -> SysResult<Option<Sigset>> {
        let Some(argpack) = UserIn::<[u64; 2]>::new_nullable(argpack)? else {
            return Ok(None);
        };
        let [set, size] = argpack.read(self.mem())?;
        let set = UserIn::<Sigset>::new_nullable(set as usize)?;
        self.read_wait_sigmask(set, size as usize)
    }

    /// Runs the wait `wait` with `mask`, if given, installed as the signal
    /// mask. An interrupted wait keeps the mask until its signal's handler
    /// starts (`signal::deliver_after_syscall`).
    fn wait_with_sigmask<R>(&self, mask: Option<Sigset>, wait: impl FnOnce() -> SysResult<R>) -> SysResult<R> {
        let Some(mask) = mask else { return wait() };
        let thread = self.thread();
        signal::begin_temporary_mask(thread, mask);
        signal::end_temporary_mask(thread, wait())
    }
}

fn stat_flags(flags: AtFlags, allowed: AtFlags) -> SysResult<(bool, bool)> {
    if !allowed.contains(flags) {
        return Err(LinuxError::EINVAL);
    }
    let follow = !flags.contains(AtFlags::SYMLINK_NOFOLLOW);
    Ok((follow, flags.contains(AtFlags::EMPTY_PATH)))
}

/// Returns the status of `path` from `dirfd` as `newfstatat` and `statx` do.
fn stat_at(handler: &Handler, dirfd: DirFd, path: &UserPath, flags: AtFlags) -> SysResult<starry_vfs::Stat> {
    let allowed = AtFlags::SYMLINK_NOFOLLOW
        | AtFlags::EMPTY_PATH
        | AtFlags::NO_AUTOMOUNT
        | AtFlags::STATX_FORCE_SYNC
        | AtFlags::STATX_DONT_SYNC;
    let (follow, empty_path) = stat_flags(flags, allowed)?;
    let path = path_str(path)?;
    handler.with_fs(|fs| fs.stat_at(dirfd.raw(), path, follow, empty_path))
}

fn rename_at(
    handler: &Handler,
    old_dirfd: DirFd,
    old_path: &UserPath,
    new_dirfd: DirFd,
    new_path: &UserPath,
    flags: RenameFlags,
) -> SysResult<()> {
    let flags = starry_vfs::RenameFlags::from_bits_retain(flags.bits());
    let (old_path, new_path) = (path_str(old_path)?, path_str(new_path)?);
    handler.with_fs(|fs| {
        fs.rename_at(old_dirfd.raw(), old_path, new_dirfd.raw(), new_path, flags)
    })
}

fn set_attr_at(
    handler: &Handler,
    dirfd: i32,
    path: &str,
    attr: SetAttr,
    follow: bool,
    empty_path: bool,
) -> SysResult<()> {
    handler.with_fs(|fs| fs.set_attr_at(dirfd, path, attr, follow, empty_path))
}

fn chown_attr(uid: u32, gid: u32) -> SetAttr {
    // -1 leaves the id unchanged.
    SetAttr {
        uid: (uid != u32::MAX).then_some(uid),
        gid: (gid != u32::MAX).then_some(gid),
        ..SetAttr::default()
    }
}

fn mode_attr(mode: u32) -> SetAttr {
    SetAttr {
        mode: Some(mode & 0o7777),
        ..SetAttr::default()
    }
}

impl FsSyscalls for Handler {
    fn sys_openat(&mut self, dirfd: DirFd, path: UserPath, flags: OpenFlags, mode: u32) -> SysResult<i32> {
        debug!("openat({dirfd:?}, {path:?}, {flags:?}, {mode:#o})");
        let path = path_str(&path)?;
        self.with_fs(|fs| fs.open_at(dirfd.raw(), path, open_flags(flags), mode))
    }

    fn sys_close(&mut self, fd: Fd) -> SysResult<()> {
        debug!("close({fd:?})");
        // The file is dropped after the lock is released, so that closing
        // the last descriptor of an ext4 file may take the mount lock.
        let file = self.with_fs(|fs| fs.fd_table.remove(fd.raw()))?;
        drop(file);
        Ok(())
    }

    fn sys_read(&mut self, fd: Fd, buf: UserOutBytes, count: usize) -> SysResult<usize> {
        debug!("read({fd:?}, {:#x}, {count})", buf.addr());
        let file = self.file_of(fd.raw())?;
        io::read_to_user(self.mem(), &file, &buf, None)
    }

    fn sys_write(&mut self, fd: Fd, buf: UserInBytes, count: usize) -> SysResult<usize> {
        debug!("write({fd:?}, {:#x}, {count})", buf.addr());
        let file = self.file_of(fd.raw())?;
        self.raise_sigpipe(io::write_from_user(self.mem(), &file, &buf, None))
    }

    fn sys_readv(&mut self, fd: Fd, iov: Iovecs, iovcnt: i32) -> SysResult<usize> {
        debug!("readv({fd:?}, {iovcnt})");
        let file = self.file_of(fd.raw())?;
        let mut total = 0;
        for buf in iov.out_buffers() {
            // As on Linux, an error after some bytes returns those bytes.
            let count = match io::read_to_user(self.mem(), &file, &buf, None) {
                Ok(count) => count,
                Err(_) if total > 0 => break,
                Err(error) => return Err(error),
            };
            total += count;
            if count < buf.len() {
                break;
            }
        }
        Ok(total)
    }

    fn sys_writev(&mut self, fd: Fd, iov: Iovecs, iovcnt: i32) -> SysResult<usize> {
        debug!("writev({fd:?}, {iovcnt})");
        let file = self.file_of(fd.raw())?;
        let mut total = 0;
        for buf in iov.in_buffers() {
            let count = match io::write_from_user(self.mem(), &file, &buf, None) {
                Ok(count) => count,
                Err(_) if total > 0 => break,
                Err(error) => return self.raise_sigpipe(Err(error)),
            };
            total += count;
            if count < buf.len() {
                break;
            }
        }
        Ok(total)
    }

    fn sys_pread64(&mut self, fd: Fd, buf: UserOutBytes, count: usize, offset: i64) -> SysResult<usize> {
        debug!("pread64({fd:?}, {:#x}, {count}, {offset})", buf.addr());
        let offset = u64::try_from(offset).map_err(|_| LinuxError::EINVAL)?;
        let file = self.file_of(fd.raw())?;
        io::read_to_user(self.mem(), &file, &buf, Some(offset))
    }

    fn sys_pwrite64(&mut self, fd: Fd, buf: UserInBytes, count: usize, offset: i64) -> SysResult<usize> {
        debug!("pwrite64({fd:?}, {:#x}, {count}, {offset})", buf.addr());
        let offset = u64::try_from(offset).map_err(|_| LinuxError::EINVAL)?;
        let file = self.file_of(fd.raw())?;
        self.raise_sigpipe(io::write_from_user(self.mem(), &file, &buf, Some(offset)))
    }

    fn sys_preadv(&mut self, fd: Fd, iov: Iovecs, iovcnt: i32, pos_l: usize, pos_h: usize) -> SysResult<usize> {
        debug!("preadv({fd:?}, {iovcnt}, {pos_l:#x}, {pos_h:#x})");
        // On 64-bit architectures `pos_l` carries the whole offset.
        let _ = pos_h;
        let offset = u64::try_from(pos_l as i64).map_err(|_| LinuxError::EINVAL)?;
        let file = self.file_of(fd.raw())?;
        let mut total = 0;
        for buf in iov.out_buffers() {
            let position = Some(offset + total as u64);
            let count = match io::read_to_user(self.mem(), &file, &buf, position) {
                Ok(count) => count,
                Err(_) if total > 0 => break,
                Err(error) => return Err(error),
            };
            total += count;
            if count < buf.len() {
                break;
            }
        }
        Ok(total)
    }

    fn sys_pwritev(&mut self, fd: Fd, iov: Iovecs, iovcnt: i32, pos_l: usize, pos_h: usize) -> SysResult<usize> {
        debug!("pwritev({fd:?}, {iovcnt}, {pos_l:#x}, {pos_h:#x})");
        let _ = pos_h;
        let offset = u64::try_from(pos_l as i64).map_err(|_| LinuxError::EINVAL)?;
        let file = self.file_of(fd.raw())?;
        let mut total = 0;
        for buf in iov.in_buffers() {
            let count = io::write_from_user(self.mem(), &file, &buf, Some(offset + total as u64))?;
            total += count;
            if count < buf.len() {
                break;
            }
        }
        Ok(total)
    }

    fn sys_lseek(&mut self, fd: Fd, offset: i64, whence: i32) -> SysResult<isize> {
        debug!("lseek({fd:?}, {offset}, {whence})");
        let file = self.file_of(fd.raw())?;
        let position = match whence {
            0 => SeekFrom::Start(u64::try_from(offset).map_err(|_| LinuxError::EINVAL)?),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            // SEEK_DATA and SEEK_HOLE: the whole file is data, with the
            // implicit hole at its end.
            3 | 4 => {
                let size = file.stat()?.size;
                let start = u64::try_from(offset).map_err(|_| LinuxError::ENXIO)?;
                if start >= size {
                    return Err(LinuxError::ENXIO);
                }
                SeekFrom::Start(if whence == 3 { start } else { size })
            }
            _ => return Err(LinuxError::EINVAL),
        };
        Ok(file.seek(position)? as isize)
    }

    fn sys_fstat(&mut self, fd: Fd, statbuf: UserOut<Stat>) -> SysResult<()> {
        debug!("fstat({fd:?})");
        let stat = self.file_of(fd.raw())?.stat()?;
        statbuf.write(self.mem(), &convert::stat_to_user(&stat))
    }

    fn sys_newfstatat(&mut self, dirfd: DirFd, path: UserPath, statbuf: UserOut<Stat>, flags: AtFlags) -> SysResult<()> {
        debug!("newfstatat({dirfd:?}, {path:?}, {flags:?})");
        let stat = stat_at(self, dirfd, &path, flags)?;
        statbuf.write(self.mem(), &convert::stat_to_user(&stat))
    }

    fn sys_statx(&mut self, dirfd: DirFd, path: UserPath, flags: AtFlags, mask: StatxMask, statxbuf: UserOut<Statx>) -> SysResult<()> {
        debug!("statx({dirfd:?}, {path:?}, {flags:?}, {mask:?})");
        let stat = stat_at(self, dirfd, &path, flags)?;
        statxbuf.write(self.mem(), &convert::statx_to_user(&stat))
    }

    fn sys_getdents64(&mut self, fd: Fd, dirp: UserOutBytes, count: u32) -> SysResult<usize> {
        debug!("getdents64({fd:?}, {:#x}, {count})", dirp.addr());
        let file = self.file_of(fd.raw())?;
        control::getdents64(self.mem(), &file, &dirp)
    }

    fn sys_getcwd(&mut self, buf: UserOutBytes, size: usize) -> SysResult<usize> {
        debug!("getcwd({:#x}, {size})", buf.addr());
        let mut path = self.with_fs(|fs| Ok(fs.cwd_path()))?.into_bytes();
        path.push(0);
        if path.len() > buf.len() {
            return Err(LinuxError::ERANGE);
        }
        buf.write_from(self.mem(), 0, &path)?;
        Ok(path.len())
    }

    fn sys_chdir(&mut self, path: UserPath) -> SysResult<()> {
        debug!("chdir({path:?})");
        let path = path_str(&path)?;
        self.with_fs(|fs| fs.chdir(path))
    }

    fn sys_fchdir(&mut self, fd: Fd) -> SysResult<()> {
        debug!("fchdir({fd:?})");
        self.with_fs(|fs| fs.fchdir(fd.raw()))
    }

    fn sys_mkdirat(&mut self, dirfd: DirFd, path: UserPath, mode: u32) -> SysResult<()> {
        debug!("mkdirat({dirfd:?}, {path:?}, {mode:#o})");
        let path = path_str(&path)?;
        self.with_fs(|fs| fs.mkdir_at(dirfd.raw(), path, mode))
    }

    fn sys_mknodat(&mut self, dirfd: DirFd, path: UserPath, mode: u32, dev: u32) -> SysResult<()> {
        debug!("mknodat({dirfd:?}, {path:?}, {mode:#o}, {dev:#x})");
        let node_type = convert::mknod_type(mode)?;
        let path = path_str(&path)?;
        self.with_fs(|fs| fs.mknod_at(dirfd.raw(), path, node_type, mode))
    }

    fn sys_unlinkat(&mut self, dirfd: DirFd, path: UserPath, flags: AtFlags) -> SysResult<()> {
        debug!("unlinkat({dirfd:?}, {path:?}, {flags:?})");
        if !AtFlags::REMOVEDIR.contains(flags) {
            return Err(LinuxError::EINVAL);
        }
        let path = path_str(&path)?;
        self.with_fs(|fs| fs.unlink_at(dirfd.raw(), path, flags.contains(AtFlags::REMOVEDIR)))
    }

    fn sys_renameat(&mut self, olddirfd: DirFd, oldpath: UserPath, newdirfd: DirFd, newpath: UserPath) -> SysResult<()> {
        debug!("renameat({olddirfd:?}, {oldpath:?}, {newdirfd:?}, {newpath:?})");
        rename_at(self, olddirfd, &oldpath, newdirfd, &newpath, RenameFlags::empty())
    }

    fn sys_renameat2(
        &mut self,
        olddirfd: DirFd,
        oldpath: UserPath,
        newdirfd: DirFd,
        newpath: UserPath,
        flags: RenameFlags,
    ) -> SysResult<()> {
        debug!("renameat2({olddirfd:?}, {oldpath:?}, {newdirfd:?}, {newpath:?}, {flags:?})");
        rename_at(self, olddirfd, &oldpath, newdirfd, &newpath, flags)
    }

    fn sys_linkat(
        &mut self,
        olddirfd: DirFd,
        oldpath: UserPath,
        newdirfd: DirFd,
        newpath: UserPath,
        flags: AtFlags,
    ) -> SysResult<()> {
        debug!("linkat({olddirfd:?}, {oldpath:?}, {newdirfd:?}, {newpath:?}, {flags:?})");
        if !(AtFlags::SYMLINK_FOLLOW | AtFlags::EMPTY_PATH).contains(flags) {
            return Err(LinuxError::EINVAL);
        }
        let (old, new) = (path_str(&oldpath)?, path_str(&newpath)?);
        let follow = flags.contains(AtFlags::SYMLINK_FOLLOW);
        let empty_path = flags.contains(AtFlags::EMPTY_PATH);
        self.with_fs(|fs| fs.link_at(olddirfd.raw(), old, newdirfd.raw(), new, follow, empty_path))
    }

    fn sys_symlinkat(&mut self, target: UserPath, newdirfd: DirFd, linkpath: UserPath) -> SysResult<()> {
        debug!("symlinkat({target:?}, {newdirfd:?}, {linkpath:?})");
        let (target, link) = (path_str(&target)?, path_str(&linkpath)?);
        self.with_fs(|fs| fs.symlink_at(target, newdirfd.raw(), link))
    }

    fn sys_readlinkat(&mut self, dirfd: DirFd, path: UserPath, buf: UserOutBytes, bufsiz: i32) -> SysResult<usize> {
        debug!("readlinkat({dirfd:?}, {path:?}, {bufsiz})");
        if bufsiz <= 0 {
            return Err(LinuxError::EINVAL);
        }
        let path = path_str(&path)?;
        let target = self.with_fs(|fs| fs.readlink_at(dirfd.raw(), path))?;
        let count = target.len().min(buf.len());
        buf.write_from(self.mem(), 0, &target.as_bytes()[..count])?;
        Ok(count)
    }

    fn sys_faccessat(&mut self, dirfd: DirFd, path: UserPath, mode: i32) -> SysResult<()> {
        debug!("faccessat({dirfd:?}, {path:?}, {mode:#o})");
        let path = path_str(&path)?;
        self.with_fs(|fs| fs.access_at(dirfd.raw(), path, mode as u32, true))
    }

    fn sys_faccessat2(&mut self, dirfd: DirFd, path: UserPath, mode: i32, flags: AtFlags) -> SysResult<()> {
        debug!("faccessat2({dirfd:?}, {path:?}, {mode:#o}, {flags:?})");
        if !(AtFlags::SYMLINK_NOFOLLOW | AtFlags::EACCESS | AtFlags::EMPTY_PATH).contains(flags) {
            return Err(LinuxError::EINVAL);
        }
        let path = path_str(&path)?;
        let follow = !flags.contains(AtFlags::SYMLINK_NOFOLLOW);
        self.with_fs(|fs| fs.access_at(dirfd.raw(), path, mode as u32, follow))
    }

    fn sys_fchmodat(&mut self, dirfd: DirFd, path: UserPath, mode: u32) -> SysResult<()> {
        debug!("fchmodat({dirfd:?}, {path:?}, {mode:#o})");
        let path = path_str(&path)?;
        set_attr_at(self, dirfd.raw(), path, mode_attr(mode), true, false)
    }

    fn sys_fchmod(&mut self, fd: Fd, mode: u32) -> SysResult<()> {
        debug!("fchmod({fd:?}, {mode:#o})");
        set_attr_at(self, fd.raw(), "", mode_attr(mode), true, true)
    }

    fn sys_fchownat(&mut self, dirfd: DirFd, path: UserPath, owner: u32, group: u32, flags: AtFlags) -> SysResult<()> {
        debug!("fchownat({dirfd:?}, {path:?}, {owner}, {group}, {flags:?})");
        let (follow, empty_path) = stat_flags(flags, AtFlags::SYMLINK_NOFOLLOW | AtFlags::EMPTY_PATH)?;
        let path = path_str(&path)?;
        set_attr_at(self, dirfd.raw(), path, chown_attr(owner, group), follow, empty_path)
    }

    fn sys_fchown(&mut self, fd: Fd, owner: u32, group: u32) -> SysResult<()> {
        debug!("fchown({fd:?}, {owner}, {group})");
        set_attr_at(self, fd.raw(), "", chown_attr(owner, group), true, true)
    }

    fn sys_utimensat(
        &mut self,
        dirfd: DirFd,
        path: Option<UserPath>,
        times: Option<UserIn<TimespecPair>>,
        flags: AtFlags,
    ) -> SysResult<()> {
        debug!("utimensat({dirfd:?}, {path:?}, {flags:?})");
        let (follow, empty_path) = stat_flags(flags, AtFlags::SYMLINK_NOFOLLOW | AtFlags::EMPTY_PATH)?;
        let now = wall_clock();
        let (atime, mtime) = match times {
            Some(times) => {
                let times = times.read(self.mem())?;
                (convert::utime(&times.atime, now)?, convert::utime(&times.mtime, now)?)
            }
            None => (Some(now), Some(now)),
        };
        let (path, empty_path) = match &path {
            Some(path) => (path_str(path)?, empty_path),
            // A null path names dirfd itself (musl's futimens).
            None if dirfd == DirFd::Cwd => return Err(LinuxError::EBADF),
            None => ("", true),
        };
        let attr = SetAttr {
            atime,
            mtime,
            ..SetAttr::default()
        };
        set_attr_at(self, dirfd.raw(), path, attr, follow, empty_path)
    }

    fn sys_ftruncate(&mut self, fd: Fd, length: i64) -> SysResult<()> {
        debug!("ftruncate({fd:?}, {length})");
        let length = u64::try_from(length).map_err(|_| LinuxError::EINVAL)?;
        self.file_of(fd.raw())?.truncate(length)?;
        Ok(())
    }

    fn sys_fallocate(&mut self, fd: Fd, mode: i32, offset: i64, len: i64) -> SysResult<()> {
        debug!("fallocate({fd:?}, {mode:#x}, {offset}, {len})");
        range::allocate(&self.file_of(fd.raw())?, mode, offset, len)
    }

    fn sys_fadvise64(&mut self, fd: Fd, offset: i64, len: i64, advice: i32) -> SysResult<()> {
        debug!("fadvise64({fd:?}, {offset}, {len}, {advice})");
        range::advise(&self.file_of(fd.raw())?, len, advice)
    }

    fn sys_truncate(&mut self, path: UserPath, length: i64) -> SysResult<()> {
        debug!("truncate({path:?}, {length})");
        let length = u64::try_from(length).map_err(|_| LinuxError::EINVAL)?;
        let path = path_str(&path)?;
        self.with_fs(|fs| fs.truncate_at(starry_vfs::AT_FDCWD, path, length))
    }

    fn sys_fsync(&mut self, fd: Fd) -> SysResult<()> {
        debug!("fsync({fd:?})");
        let file = self.file_of(fd.raw())?;
        mm::ops::write_back_file(self.process(), file.as_ref())?;
        file.sync()
    }

    fn sys_sync(&mut self) -> SysResult<()> {
        debug!("sync()");
        // sync(2) reports no error; `sync_all` logs each failed file system.
        if let Err(err) = mm::ops::write_back_file_system(self.process(), None) {
            warn!("sync: writing back the shared file mappings of pid {} failed with {err:?}", self.process().pid);
        }
        let _ = self.with_fs(|fs| fs.mounts().sync_all());
        Ok(())
    }

    fn sys_syncfs(&mut self, fd: Fd) -> SysResult<()> {
        debug!("syncfs({fd:?})");
        let file = self.file_of(fd.raw())?;
        mm::ops::write_back_file_system(self.process(), Some(file.stat()?.dev))?;
        match file.sync() {
            // A pipe, socket or device has no file system to write back:
            // Linux's syncfs succeeds on them where fsync gives EINVAL.
            Ok(()) | Err(LinuxError::EINVAL) => Ok(()),
            Err(err) => Err(err),
        }
    }

    fn sys_fdatasync(&mut self, fd: Fd) -> SysResult<()> {
        debug!("fdatasync({fd:?})");
        let file = self.file_of(fd.raw())?;
        mm::ops::write_back_file(self.process(), file.as_ref())?;
        file.sync()
    }

    fn sys_statfs(&mut self, path: UserPath, buf: UserOut<Statfs>) -> SysResult<()> {
        debug!("statfs({path:?})");
        let path = path_str(&path)?;
        let stat = self.with_fs(|fs| fs.statfs_at(starry_vfs::AT_FDCWD, path, false))?;
        buf.write(self.mem(), &convert::statfs_to_user(&stat))
    }

    fn sys_fstatfs(&mut self, fd: Fd, buf: UserOut<Statfs>) -> SysResult<()> {
        debug!("fstatfs({fd:?})");
        let stat = self.with_fs(|fs| fs.fstatfs(fd.raw()))?;
        buf.write(self.mem(), &convert::statfs_to_user(&stat))
    }

    fn sys_fcntl(&mut self, fd: Fd, cmd: u32, arg: usize) -> SysResult<isize> {
        debug!("fcntl({fd:?}, {cmd}, {arg:#x})");
        let cmd = cmd as i32;
        if cmd == control::F_GETLK {
            self.file_of(fd.raw())?;
            return control::fcntl_getlk(self.mem(), arg);
        }
        self.with_fs(|fs| control::fcntl(fs, fd.raw(), cmd, arg))
    }

    fn sys_flock(&mut self, fd: Fd, operation: u32) -> SysResult<()> {
        debug!("flock({fd:?}, {operation:#x})");
        let file = self.file_of(fd.raw())?;
        control::flock(&file, operation)
    }

    fn sys_ioctl(&mut self, fd: Fd, request: u32, arg: usize) -> SysResult<isize> {
        debug!("ioctl({fd:?}, {request:#x}, {arg:#x})");
        let file = self.file_of(fd.raw())?;
        let set_close_on_exec =
            |close_on_exec| self.with_fs(|fs| fs.fd_table.set_close_on_exec(fd.raw(), close_on_exec));
        control::ioctl(self.mem(), set_close_on_exec, &file, request, arg)
    }

    fn sys_dup(&mut self, oldfd: Fd) -> SysResult<i32> {
        debug!("dup({oldfd:?})");
        self.with_fs(|fs| {
            let file = fs.fd_table.get(oldfd.raw())?;
            fs.fd_table.insert(file, false)
        })
    }

    fn sys_dup3(&mut self, oldfd: Fd, newfd: i32, flags: Dup3Flags) -> SysResult<i32> {
        debug!("dup3({oldfd:?}, {newfd}, {flags:?})");
        if oldfd.raw() == newfd {
            return Err(LinuxError::EINVAL);
        }
        let replaced = self.with_fs(|fs| {
            let file = fs.fd_table.get(oldfd.raw())?;
            fs.fd_table.insert_at(newfd, file, flags.contains(Dup3Flags::CLOEXEC))
        })?;
        // Close the replaced file outside the lock, as close does.
        drop(replaced);
        Ok(newfd)
    }

    fn sys_pipe2(&mut self, pipefd: UserOut<FdPair>, flags: PipeFlags) -> SysResult<()> {
        debug!("pipe2({:#x}, {flags:?})", pipefd.addr());
        if flags.contains(PipeFlags::NOTIFICATION_PIPE) {
            return Err(LinuxError::EINVAL);
        }
        let status = starry_vfs::OpenFlags::from_bits_retain(flags.bits()) & starry_vfs::OpenFlags::O_NONBLOCK;
        let (reader, writer) = starry_vfs::new_pipe(status);
        let close_on_exec = flags.contains(PipeFlags::CLOEXEC);
        let fds = self.with_fs(|fs| {
            let read_fd = fs.fd_table.insert(reader, close_on_exec)?;
            match fs.fd_table.insert(writer, close_on_exec) {
                Ok(write_fd) => Ok([read_fd, write_fd]),
                Err(error) => {
                    let _ = fs.fd_table.remove(read_fd);
                    Err(error)
                }
            }
        })?;
        if let Err(error) = pipefd.write(self.mem(), &FdPair { fds }) {
            let _ = self.with_fs(|fs| {
                let _ = fs.fd_table.remove(fds[0]);
                let _ = fs.fd_table.remove(fds[1]);
                Ok(())
            });
            return Err(error);
        }
        Ok(())
    }

    fn sys_sendfile(&mut self, out_fd: Fd, in_fd: Fd, offset: Option<UserInOut<i64>>, count: usize) -> SysResult<usize> {
        debug!("sendfile({out_fd:?}, {in_fd:?}, {count})");
        let (output, input) = (self.file_of(out_fd.raw())?, self.file_of(in_fd.raw())?);
        let start = match &offset {
            Some(pointer) => Some(u64::try_from(pointer.read(self.mem())?).map_err(|_| LinuxError::EINVAL)?),
            None => None,
        };
        // Linux gives EINVAL for an input it cannot read from, a directory
        // included.
        let copied = io::copy_between_files(&input, &output, start, count).map_err(|err| {
            if err == LinuxError::EISDIR { LinuxError::EINVAL } else { err }
        });
        let (count, end) = self.raise_sigpipe(copied)?;
        if let (Some(pointer), Some(end)) = (offset, end) {
            pointer.write(self.mem(), &(end as i64))?;
        }
        Ok(count)
    }

    fn sys_ppoll(
        &mut self,
        fds: UserInOutSlice<Pollfd>,
        nfds: u32,
        tmo_p: Option<UserIn<Timespec>>,
        sigmask: Option<UserIn<Sigset>>,
        sigsetsize: usize,
    ) -> SysResult<usize> {
        debug!("ppoll({:#x}, {nfds}, {sigsetsize})", fds.addr());
        // Linux reads the timeout, then the signal mask, then checks the
        // entry count against the descriptor limit, then reads the entries.
        let timeout = tmo_p.map(|pointer| pointer.read(self.mem())).transpose()?;
        let deadline = poll::Deadline::after(timeout)?;
        let mask = self.read_wait_sigmask(sigmask, sigsetsize)?;
        let limit = self.with_fs(|fs| Ok(fs.fd_table.limit()))?;
        if nfds as usize > limit {
            return Err(LinuxError::EINVAL);
        }
        let mut pollfds = fds.read_to_vec(self.mem())?;
        let entries = self.with_fs(|fs| {
            let requested = pollfds.iter().map(|p| (p.fd, u32::from(p.events as u16)));
            Ok(poll::resolve_poll_entries(fs, requested))
        })?;
        let mut revents = Vec::new();
        let ready = self.wait_with_sigmask(mask, || {
            poll::wait_until(&deadline, Restart::UnlessHandler, || {
                revents = poll::poll_entries(&entries);
                Ok(revents.iter().filter(|&&events| events != 0).count())
            })
        })?;
        for (pollfd, events) in pollfds.iter_mut().zip(&revents) {
            pollfd.revents = *events as i16;
        }
        fds.write_from(self.mem(), 0, &pollfds)?;
        Ok(ready)
    }

    fn sys_pselect6(
        &mut self,
        nfds: i32,
        readfds: usize,
        writefds: usize,
        exceptfds: usize,
        timeout: Option<UserInOut<Timespec>>,
        sigmask: usize,
    ) -> SysResult<usize> {
        debug!("pselect6({nfds}, {readfds:#x}, {writefds:#x}, {exceptfds:#x}, {sigmask:#x})");
        let mask = self.read_pselect_sigmask(sigmask)?;
        let count = usize::try_from(nfds).map_err(|_| LinuxError::EINVAL)?;
        if count > poll::FD_SETSIZE {
            return Err(LinuxError::EINVAL);
        }

        let words = poll::SelectSets::word_count(count);
        let mut sets: [Option<Vec<u64>>; 3] = [None, None, None];
        for (slot, addr) in sets.iter_mut().zip([readfds, writefds, exceptfds]) {
            if addr != 0 {
                *slot = Some(UserInOutSlice::<u64>::new(addr, words)?.read_to_vec(self.mem())?);
            }
        }

        let duration = timeout.as_ref().map(|pointer| pointer.read(self.mem())).transpose()?;
        let deadline = poll::Deadline::after(duration)?;
        let (selected, files) = self.with_fs(|fs| {
            let selected = poll::SelectSets::validate(nfds, fs, sets)?;
            let files = selected.files(fs);
            Ok((selected, files))
        })?;

        let mut ready_sets: [Option<Vec<u64>>; 3] = [None, None, None];
        let count = self.wait_with_sigmask(mask, || {
            poll::wait_until(&deadline, Restart::UnlessHandler, || {
                let (count, ready) = selected.poll(&files);
                ready_sets = ready;
                Ok(count)
            })
        })?;

        for (set, addr) in ready_sets.iter().zip([readfds, writefds, exceptfds]) {
            if let Some(words) = set {
                UserInOutSlice::<u64>::new(addr, words.len())?.write_from(self.mem(), 0, words)?;
            }
        }
        if let (Some(pointer), Some(left)) = (timeout, deadline.remaining()) {
            pointer.write(self.mem(), &left)?;
        }
        Ok(count)
    }

    fn sys_eventfd2(&mut self, initval: u32, flags: EventFdFlags) -> SysResult<i32> {
        debug!("eventfd2({initval}, {flags:?})");
        let status = starry_vfs::OpenFlags::from_bits_retain(flags.bits()) & starry_vfs::OpenFlags::O_NONBLOCK;
        let semaphore = flags.contains(EventFdFlags::SEMAPHORE);
        let counter: Arc<dyn FileLike> = Arc::new(starry_vfs::EventFd::new(u64::from(initval), semaphore, status));
        self.with_fs(|fs| fs.fd_table.insert(counter, flags.contains(EventFdFlags::CLOEXEC)))
    }

    fn sys_memfd_create(&mut self, name: UserCStr, flags: u32) -> SysResult<i32> {
        debug!("memfd_create({:#x}, {flags:#x})", name.addr());
        if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING) != 0 {
            return Err(LinuxError::EINVAL);
        }
        // Linux's limit, NAME_MAX less the "memfd:" prefix, plus the NUL.
        let name = name.read(self.mem(), MFD_NAME_MAX + 1).map_err(|err| match err {
            LinuxError::ENAMETOOLONG => LinuxError::EINVAL,
            other => other,
        })?;
        let name = String::from_utf8_lossy(&name);
        let (uid, gid) = {
            let creds = self.process().creds.lock();
            (creds.euid, creds.egid)
        };
        let file = starry_vfs::create_memfd(&name, uid, gid)?;
        self.with_fs(|fs| fs.fd_table.insert(file, flags & MFD_CLOEXEC != 0))
    }

    fn sys_epoll_create1(&mut self, flags: EpollCreateFlags) -> SysResult<i32> {
        debug!("epoll_create1({flags:?})");
        let epoll: Arc<dyn FileLike> = Arc::new(starry_vfs::Epoll::new());
        self.with_fs(|fs| fs.fd_table.insert(epoll, flags.contains(EpollCreateFlags::CLOEXEC)))
    }

    fn sys_epoll_ctl(&mut self, epfd: Fd, op: i32, fd: Fd, event: Option<UserIn<EpollEvent>>) -> SysResult<()> {
        debug!("epoll_ctl({epfd:?}, {op}, {fd:?})");
        let event = match event {
            Some(pointer) => pointer.read(self.mem())?,
            None if op == starry_vfs::poll::EPOLL_CTL_DEL => EpollEvent::default(),
            None => return Err(LinuxError::EFAULT),
        };
        let (epoll, file) = self.with_fs(|fs| Ok((poll::epoll_of(fs, epfd.raw())?, fs.fd_table.get(fd.raw())?)))?;
        let epoll = epoll
            .as_any()
            .downcast_ref::<starry_vfs::Epoll>()
            .ok_or(LinuxError::EINVAL)?;
        epoll.control(op, fd.raw(), &file, event.events, event.data)
    }

    fn sys_epoll_pwait(
        &mut self,
        epfd: Fd,
        events: UserOutSlice<EpollEvent>,
        maxevents: i32,
        timeout: i32,
        sigmask: Option<UserIn<Sigset>>,
        sigsetsize: usize,
    ) -> SysResult<usize> {
        debug!("epoll_pwait({epfd:?}, {maxevents}, {timeout}, {sigsetsize})");
        let mask = self.read_wait_sigmask(sigmask, sigsetsize)?;
        if maxevents <= 0 {
            return Err(LinuxError::EINVAL);
        }
        let file = self.with_fs(|fs| poll::epoll_of(fs, epfd.raw()))?;
        let epoll = file
            .as_any()
            .downcast_ref::<starry_vfs::Epoll>()
            .ok_or(LinuxError::EINVAL)?;
        let deadline = poll::Deadline::after_millis(timeout);
        let mut ready = Vec::new();
        // Linux never restarts epoll_wait after a signal.
        self.wait_with_sigmask(mask, || {
            poll::wait_until(&deadline, Restart::Never, || {
                ready = epoll.ready(maxevents as usize);
                Ok(ready.len())
            })
        })?;
        let records: Vec<EpollEvent> = ready
            .iter()
            .map(|&(events, data)| EpollEvent {
                events,
                __pad: 0,
                data,
            })
            .collect();
        events.write_from(self.mem(), 0, &records)?;
        Ok(records.len())
    }
}

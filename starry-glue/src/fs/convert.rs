//! Conversions between syscall-abi's user-facing types and starry-vfs's.

use axerrno::LinuxError;
use starry_vfs::{NodeType, OpenFlags as VfsOpenFlags, S_IFMT, TimeSpec};
use syscall_abi::{
    OpenFlags, Stat, Statfs, Statx, StatxTimestamp, SysResult, Timespec, UTIME_NOW, UTIME_OMIT,
    UserPath,
};

/// `statx` mask bits this kernel fills (`STATX_BASIC_STATS`).
pub const STATX_BASIC_STATS: u32 = 0x7ff;

/// Returns a path argument as UTF-8.
///
/// NOTE: starry-vfs names are UTF-8 strings, so a path with other bytes
/// cannot name an existing file and fails with `ENOENT`.
pub fn path_str(path: &UserPath) -> SysResult<&str> {
    path.to_str().map_err(|_| LinuxError::ENOENT)
}

/// Returns the node type that the `S_IFMT` bits of a `mknodat` mode name,
/// where 0 means a regular file. A directory is `EPERM` and bits that name
/// no type, or a symbolic link, are `EINVAL`, as Linux's `may_mknod` checks.
pub fn mknod_type(mode: u32) -> SysResult<NodeType> {
    if mode & S_IFMT == 0 {
        return Ok(NodeType::Regular);
    }
    match NodeType::from_mode(mode) {
        Some(NodeType::Directory) => Err(LinuxError::EPERM),
        Some(NodeType::Symlink) | None => Err(LinuxError::EINVAL),
        Some(node_type) => Ok(node_type),
    }
}

/// Converts open flags; both sides use the asm-generic bit values.
pub fn open_flags(flags: OpenFlags) -> VfsOpenFlags {
    VfsOpenFlags::from_bits_retain(flags.bits())
}

pub fn stat_to_user(stat: &starry_vfs::Stat) -> Stat {
    Stat {
        st_dev: stat.dev,
        st_ino: stat.ino,
        st_mode: stat.mode,
        st_nlink: stat.nlink,
        st_uid: stat.uid,
        st_gid: stat.gid,
        st_rdev: stat.rdev,
        st_size: stat.size as i64,
        st_blksize: stat.blksize as i32,
        st_blocks: stat.blocks as i64,
        st_atime: stat.atime.sec,
        st_atime_nsec: u64::from(stat.atime.nsec),
        st_mtime: stat.mtime.sec,
        st_mtime_nsec: u64::from(stat.mtime.nsec),
        st_ctime: stat.ctime.sec,
        st_ctime_nsec: u64::from(stat.ctime.nsec),
        ..Stat::default()
    }
}

/// Splits a Linux `dev_t` into major and minor numbers.
const fn dev_major_minor(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

fn statx_time(time: TimeSpec) -> StatxTimestamp {
    StatxTimestamp {
        tv_sec: time.sec,
        tv_nsec: time.nsec,
        __reserved: 0,
    }
}

pub fn statx_to_user(stat: &starry_vfs::Stat) -> Statx {
    let (rdev_major, rdev_minor) = dev_major_minor(stat.rdev);
    let (dev_major, dev_minor) = dev_major_minor(stat.dev);
    Statx {
        stx_mask: STATX_BASIC_STATS,
        stx_blksize: stat.blksize,
        stx_nlink: stat.nlink,
        stx_uid: stat.uid,
        stx_gid: stat.gid,
        stx_mode: stat.mode as u16,
        stx_ino: stat.ino,
        stx_size: stat.size,
        stx_blocks: stat.blocks,
        stx_atime: statx_time(stat.atime),
        stx_ctime: statx_time(stat.ctime),
        stx_mtime: statx_time(stat.mtime),
        stx_rdev_major: rdev_major,
        stx_rdev_minor: rdev_minor,
        stx_dev_major: dev_major,
        stx_dev_minor: dev_minor,
        ..Statx::default()
    }
}

pub fn statfs_to_user(stat: &starry_vfs::StatFs) -> Statfs {
    Statfs {
        f_type: stat.fs_type as i64,
        f_bsize: stat.block_size as i64,
        f_blocks: stat.blocks,
        f_bfree: stat.blocks_free,
        f_bavail: stat.blocks_available,
        f_files: stat.files,
        f_ffree: stat.files_free,
        f_namelen: stat.name_max as i64,
        f_frsize: stat.block_size as i64,
        ..Statfs::default()
    }
}

/// Converts one `utimensat` time: `None` for `UTIME_OMIT`, `now` for
/// `UTIME_NOW`, `EINVAL` for a nanosecond value out of range.
pub fn utime(time: &Timespec, now: TimeSpec) -> SysResult<Option<TimeSpec>> {
    match time.tv_nsec {
        UTIME_OMIT => Ok(None),
        UTIME_NOW => Ok(Some(now)),
        nsec if (0..1_000_000_000).contains(&nsec) => {
            Ok(Some(TimeSpec::new(time.tv_sec, nsec as u32)))
        }
        _ => Err(LinuxError::EINVAL),
    }
}

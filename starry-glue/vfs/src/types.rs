//! Plain data types shared by the nodes, the files and the syscall layer.
//!
//! Flag values are the Linux generic (asm-generic) ones that aarch64 uses.
//! They are spelled out here instead of taken from linux-raw-sys, because
//! linux-raw-sys picks its values by the build target and host tests run on
//! x86_64, where `O_DIRECTORY` and `O_NOFOLLOW` differ.

use alloc::string::String;

use bitflags::bitflags;

/// Maximum length of a path, including the terminating NUL (Linux `PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Maximum length of one path component (Linux `NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Maximum number of symbolic links followed in one lookup (Linux `MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;

/// File type bits of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

/// Kind of a node, as in the type bits of `st_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

impl NodeType {
    /// Returns the `S_IF*` bits of this type.
    pub const fn mode_bits(self) -> u32 {
        match self {
            Self::Regular => S_IFREG,
            Self::Directory => S_IFDIR,
            Self::Symlink => S_IFLNK,
            Self::CharDevice => S_IFCHR,
            Self::BlockDevice => S_IFBLK,
            Self::Fifo => S_IFIFO,
            Self::Socket => S_IFSOCK,
        }
    }

    /// Decodes the type bits of a mode; `None` when they name no known type.
    pub const fn from_mode(mode: u32) -> Option<Self> {
        match mode & S_IFMT {
            S_IFREG => Some(Self::Regular),
            S_IFDIR => Some(Self::Directory),
            S_IFLNK => Some(Self::Symlink),
            S_IFCHR => Some(Self::CharDevice),
            S_IFBLK => Some(Self::BlockDevice),
            S_IFIFO => Some(Self::Fifo),
            S_IFSOCK => Some(Self::Socket),
            _ => None,
        }
    }

    /// Returns the `d_type` value of `getdents64` (`DT_*`).
    pub const fn dirent_type(self) -> u8 {
        match self {
            Self::Fifo => 1,
            Self::CharDevice => 2,
            Self::Directory => 4,
            Self::BlockDevice => 6,
            Self::Regular => 8,
            Self::Symlink => 10,
            Self::Socket => 12,
        }
    }
}

/// A point in time: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct TimeSpec {
    pub sec: i64,
    pub nsec: u32,
}

impl TimeSpec {
    pub const fn new(sec: i64, nsec: u32) -> Self {
        Self { sec, nsec }
    }
}

/// Source of the wall-clock time for file timestamps, registered by the kernel.
pub type WallClock = fn() -> TimeSpec;

/// File status, with the fields of Linux `struct stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    /// Type and permission bits.
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    /// Device number of a character or block device node.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O size in bytes.
    pub blksize: u32,
    /// Allocated space in 512-byte units.
    pub blocks: u64,
    pub atime: TimeSpec,
    pub mtime: TimeSpec,
    pub ctime: TimeSpec,
}

impl Stat {
    /// Returns the node type encoded in `mode`.
    pub fn node_type(&self) -> Option<NodeType> {
        NodeType::from_mode(self.mode)
    }
}

/// File-system statistics, with the fields of Linux `struct statfs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatFs {
    /// Magic number of the file-system type (`EXT4_SUPER_MAGIC`, `TMPFS_MAGIC`).
    pub fs_type: u64,
    pub block_size: u64,
    pub blocks: u64,
    pub blocks_free: u64,
    pub blocks_available: u64,
    pub files: u64,
    pub files_free: u64,
    pub name_max: u64,
}

/// One directory entry returned by [`crate::VfsNode::read_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: u64,
    pub node_type: NodeType,
    pub name: String,
}

/// Owner and permission mask of a new node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateAttr {
    /// Permission bits after the umask was applied.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Metadata changes of chmod, chown and utimensat. `None` leaves a field as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetAttr {
    /// New permission bits (the low 12 bits of a mode).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub atime: Option<TimeSpec>,
    pub mtime: Option<TimeSpec>,
}

/// Origin and offset of an `lseek`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekFrom {
    Start(u64),
    Current(i64),
    End(i64),
}

bitflags! {
    /// Flags of `open`/`openat`, with the asm-generic (aarch64) values.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct OpenFlags: u32 {
        const O_WRONLY = 0o1;
        const O_RDWR = 0o2;
        const O_CREAT = 0o100;
        const O_EXCL = 0o200;
        const O_NOCTTY = 0o400;
        const O_TRUNC = 0o1000;
        const O_APPEND = 0o2000;
        const O_NONBLOCK = 0o4000;
        const O_DSYNC = 0o10000;
        const O_ASYNC = 0o20000;
        const O_DIRECTORY = 0o40000;
        const O_NOFOLLOW = 0o100000;
        const O_DIRECT = 0o200000;
        const O_LARGEFILE = 0o400000;
        const O_NOATIME = 0o1000000;
        const O_CLOEXEC = 0o2000000;
        const O_SYNC = 0o4010000;
        const O_PATH = 0o10000000;
        const O_TMPFILE = 0o20040000;
    }
}

impl OpenFlags {
    /// Mask of the access mode (`O_RDONLY`, `O_WRONLY`, `O_RDWR`).
    pub const ACCESS_MODE: u32 = 0o3;
    /// Flags that `fcntl(F_SETFL)` may change (Linux `SETFL_MASK`).
    pub const SETFL_MASK: u32 =
        Self::O_APPEND.bits() | Self::O_NONBLOCK.bits() | Self::O_ASYNC.bits() | Self::O_DIRECT.bits() | Self::O_NOATIME.bits();

    /// Returns whether the access mode allows reading.
    pub const fn readable(self) -> bool {
        self.bits() & Self::ACCESS_MODE != Self::O_WRONLY.bits()
    }

    /// Returns whether the access mode allows writing.
    pub const fn writable(self) -> bool {
        let mode = self.bits() & Self::ACCESS_MODE;
        mode == Self::O_WRONLY.bits() || mode == Self::O_RDWR.bits()
    }
}

bitflags! {
    /// Flags of `renameat2`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RenameFlags: u32 {
        const NOREPLACE = 1;
        const EXCHANGE = 2;
        const WHITEOUT = 4;
    }
}

/// The current working directory as a `dirfd` argument.
pub const AT_FDCWD: i32 = -100;
/// `*at` flags.
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_EACCESS: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_EMPTY_PATH: u32 = 0x1000;

/// Access bits of `faccessat`.
pub const R_OK: u32 = 4;
pub const W_OK: u32 = 2;
pub const X_OK: u32 = 1;

/// `statfs` magic numbers.
pub const EXT4_SUPER_MAGIC: u64 = 0xef53;
pub const TMPFS_MAGIC: u64 = 0x0102_1994;

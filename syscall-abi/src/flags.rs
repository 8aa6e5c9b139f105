//! Flag types of syscall arguments, with the values of aarch64 (the
//! asm-generic ABI). Values that differ between architectures are written
//! out here, because linux-raw-sys picks its constants by build target and
//! the host tests run on x86_64.

use bitflags::bitflags;

bitflags! {
    /// `open`/`openat` flags (asm-generic values; `O_DIRECTORY`,
    /// `O_NOFOLLOW`, `O_DIRECT` and `O_LARGEFILE` differ on x86_64).
    /// `O_RDONLY` is 0: test it with [`OpenFlags::access_mode`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct OpenFlags: u32 {
        const WRONLY = 0o1;
        const RDWR = 0o2;
        const CREAT = 0o100;
        const EXCL = 0o200;
        const NOCTTY = 0o400;
        const TRUNC = 0o1000;
        const APPEND = 0o2000;
        const NONBLOCK = 0o4000;
        const DSYNC = 0o10000;
        const ASYNC = 0o20000;
        const DIRECTORY = 0o40000;
        const NOFOLLOW = 0o100000;
        const DIRECT = 0o200000;
        const LARGEFILE = 0o400000;
        const NOATIME = 0o1000000;
        const CLOEXEC = 0o2000000;
        /// `O_SYNC` is `__O_SYNC | O_DSYNC`.
        const SYNC = 0o4000000 | 0o10000;
        const PATH = 0o10000000;
        /// `O_TMPFILE` is `__O_TMPFILE | O_DIRECTORY`.
        const TMPFILE = 0o20000000 | 0o40000;
    }
}

/// Access mode of an open: the low two bits of the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessMode {
    ReadOnly,
    WriteOnly,
    ReadWrite,
    /// The value 3, which Linux accepts as "no read, no write, ioctl only".
    Invalid,
}

impl OpenFlags {
    pub const fn access_mode(self) -> AccessMode {
        match self.bits() & 0o3 {
            0 => AccessMode::ReadOnly,
            1 => AccessMode::WriteOnly,
            2 => AccessMode::ReadWrite,
            _ => AccessMode::Invalid,
        }
    }
}

bitflags! {
    /// `AT_*` flags of the `*at` calls and `statx`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct AtFlags: u32 {
        const SYMLINK_NOFOLLOW = 0x100;
        /// `unlinkat`: remove a directory.
        const REMOVEDIR = 0x200;
        /// `faccessat`: check with the effective ids. Same bit as `REMOVEDIR`.
        const EACCESS = 0x200;
        const SYMLINK_FOLLOW = 0x400;
        const NO_AUTOMOUNT = 0x800;
        const EMPTY_PATH = 0x1000;
        const STATX_FORCE_SYNC = 0x2000;
        const STATX_DONT_SYNC = 0x4000;
        const RECURSIVE = 0x8000;
    }
}

bitflags! {
    /// `PROT_*` of `mmap` and `mprotect`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct MmapProt: u32 {
        const READ = 0x1;
        const WRITE = 0x2;
        const EXEC = 0x4;
        const SEM = 0x8;
        /// aarch64 only: branch target identification.
        const BTI = 0x10;
        /// aarch64 only: memory tagging.
        const MTE = 0x20;
        const GROWSDOWN = 0x0100_0000;
        const GROWSUP = 0x0200_0000;
    }
}

bitflags! {
    /// `MAP_*` of `mmap` (asm-generic values; `MAP_32BIT` exists only on
    /// x86_64 and is left out). The huge page size field (bits 26-31) is
    /// kept as unknown bits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct MmapFlags: u32 {
        const SHARED = 0x1;
        const PRIVATE = 0x2;
        const SHARED_VALIDATE = 0x3;
        const FIXED = 0x10;
        const ANONYMOUS = 0x20;
        const GROWSDOWN = 0x100;
        const DENYWRITE = 0x800;
        const EXECUTABLE = 0x1000;
        const LOCKED = 0x2000;
        const NORESERVE = 0x4000;
        const POPULATE = 0x8000;
        const NONBLOCK = 0x10000;
        const STACK = 0x20000;
        const HUGETLB = 0x40000;
        const SYNC = 0x80000;
        const FIXED_NOREPLACE = 0x100000;
        const UNINITIALIZED = 0x400_0000;
    }
}

bitflags! {
    /// `MREMAP_*`; other bits are `EINVAL`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct MremapFlags: u32 {
        const MAYMOVE = 0x1;
        const FIXED = 0x2;
        const DONTUNMAP = 0x4;
    }
}

bitflags! {
    /// `MS_*` of `msync`; other bits are `EINVAL`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct MsyncFlags: u32 {
        const ASYNC = 0x1;
        const INVALIDATE = 0x2;
        const SYNC = 0x4;
    }
}

bitflags! {
    /// `CLONE_*` of `clone`. The low byte (`CSIGNAL`) is the exit signal,
    /// read with [`CloneFlags::exit_signal`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct CloneFlags: u64 {
        const CSIGNAL = 0xff;
        const VM = 0x100;
        const FS = 0x200;
        const FILES = 0x400;
        const SIGHAND = 0x800;
        const PIDFD = 0x1000;
        const PTRACE = 0x2000;
        const VFORK = 0x4000;
        const PARENT = 0x8000;
        const THREAD = 0x10000;
        const NEWNS = 0x20000;
        const SYSVSEM = 0x40000;
        const SETTLS = 0x80000;
        const PARENT_SETTID = 0x100000;
        const CHILD_CLEARTID = 0x200000;
        const DETACHED = 0x400000;
        const UNTRACED = 0x800000;
        const CHILD_SETTID = 0x1000000;
        const NEWCGROUP = 0x2000000;
        const NEWUTS = 0x4000000;
        const NEWIPC = 0x8000000;
        const NEWUSER = 0x10000000;
        const NEWPID = 0x20000000;
        const NEWNET = 0x40000000;
        const IO = 0x80000000;
    }
}

impl CloneFlags {
    /// Signal sent to the parent when the child exits (0 for none).
    pub const fn exit_signal(self) -> u32 {
        (self.bits() & 0xff) as u32
    }
}

bitflags! {
    /// Flags of `pipe2`; other bits are `EINVAL`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct PipeFlags: u32 {
        /// `O_NOTIFICATION_PIPE`, which is `O_EXCL`'s bit.
        const NOTIFICATION_PIPE = 0o200;
        const NONBLOCK = 0o4000;
        const DIRECT = 0o200000;
        const CLOEXEC = 0o2000000;
    }
}

bitflags! {
    /// Flags of `dup3`: only `O_CLOEXEC`; other bits are `EINVAL`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Dup3Flags: u32 {
        const CLOEXEC = 0o2000000;
    }
}

bitflags! {
    /// Flags of `eventfd2`; other bits are `EINVAL`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct EventFdFlags: u32 {
        const SEMAPHORE = 0x1;
        const NONBLOCK = 0o4000;
        const CLOEXEC = 0o2000000;
    }
}

bitflags! {
    /// Flags of `epoll_create1`: only `EPOLL_CLOEXEC`; other bits are
    /// `EINVAL`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct EpollCreateFlags: u32 {
        const CLOEXEC = 0o2000000;
    }
}

bitflags! {
    /// `SOCK_NONBLOCK` and `SOCK_CLOEXEC` of `accept4`; other bits are
    /// `EINVAL`. `socket` and `socketpair` carry them inside the type
    /// argument, which stays an integer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct SockFlags: u32 {
        const NONBLOCK = 0o4000;
        const CLOEXEC = 0o2000000;
    }
}

bitflags! {
    /// Options of `wait4`; other bits are `EINVAL`. `WEXITED` and `WNOWAIT`
    /// belong to `waitid` only.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct WaitOptions: u32 {
        const NOHANG = 0x1;
        const UNTRACED = 0x2;
        const CONTINUED = 0x8;
        const NOTHREAD = 0x2000_0000;
        const ALL = 0x4000_0000;
        const CLONE = 0x8000_0000;
    }
}

bitflags! {
    /// Options of `waitid`; other bits are `EINVAL`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct WaitidOptions: u32 {
        const NOHANG = 0x1;
        const STOPPED = 0x2;
        const EXITED = 0x4;
        const CONTINUED = 0x8;
        const NOWAIT = 0x0100_0000;
        const NOTHREAD = 0x2000_0000;
        const ALL = 0x4000_0000;
        const CLONE = 0x8000_0000;
    }
}

bitflags! {
    /// `RENAME_*` of `renameat2`; other bits are `EINVAL`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct RenameFlags: u32 {
        const NOREPLACE = 0x1;
        const EXCHANGE = 0x2;
        const WHITEOUT = 0x4;
    }
}

bitflags! {
    /// `GRND_*` of `getrandom`; other bits are `EINVAL`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct GetrandomFlags: u32 {
        const NONBLOCK = 0x1;
        const RANDOM = 0x2;
        const INSECURE = 0x4;
    }
}

bitflags! {
    /// `STATX_*` mask bits requested from `statx`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct StatxMask: u32 {
        const TYPE = 0x1;
        const MODE = 0x2;
        const NLINK = 0x4;
        const UID = 0x8;
        const GID = 0x10;
        const ATIME = 0x20;
        const MTIME = 0x40;
        const CTIME = 0x80;
        const INO = 0x100;
        const SIZE = 0x200;
        const BLOCKS = 0x400;
        const BASIC_STATS = 0x7ff;
        const BTIME = 0x800;
        const MNT_ID = 0x1000;
        const DIOALIGN = 0x2000;
        /// Reserved: Linux returns `EINVAL` when it is set.
        const RESERVED = 0x8000_0000;
    }
}

bitflags! {
    /// `SA_*` flags of [`Sigaction::sa_flags`](crate::Sigaction).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct SaFlags: u64 {
        const NOCLDSTOP = 0x1;
        const NOCLDWAIT = 0x2;
        const SIGINFO = 0x4;
        const RESTORER = 0x0400_0000;
        const ONSTACK = 0x0800_0000;
        const RESTART = 0x1000_0000;
        const NODEFER = 0x4000_0000;
        const RESETHAND = 0x8000_0000;
    }
}

/// Command values of `fcntl` (the same on every architecture).
pub mod fcntl {
    pub const F_DUPFD: u32 = 0;
    pub const F_GETFD: u32 = 1;
    pub const F_SETFD: u32 = 2;
    pub const F_GETFL: u32 = 3;
    pub const F_SETFL: u32 = 4;
    pub const F_DUPFD_CLOEXEC: u32 = 1030;
    /// The one flag of `F_GETFD`/`F_SETFD`.
    pub const FD_CLOEXEC: u32 = 1;
}

/// Request values of `ioctl` that the userland uses (the same on aarch64
/// and x86_64).
pub mod ioctl {
    pub const TCGETS: u32 = 0x5401;
    pub const TCSETS: u32 = 0x5402;
    pub const TIOCGPGRP: u32 = 0x540f;
    pub const TIOCSPGRP: u32 = 0x5410;
    pub const TIOCGWINSZ: u32 = 0x5413;
    pub const FIONREAD: u32 = 0x541b;
    pub const FIONBIO: u32 = 0x5421;
    pub const FIONCLEX: u32 = 0x5450;
    pub const FIOCLEX: u32 = 0x5451;
}

//! Struct layouts that syscalls copy to and from user memory, as the aarch64
//! kernel defines them (asm-generic headers unless noted). Every size is
//! checked at compile time against the `sizeof` of Linux's header.

use core::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct stat` of asm-generic (`fstat`, `newfstatat`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_mode: u32,
    pub st_nlink: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub st_rdev: u64,
    pub __pad1: u64,
    pub st_size: i64,
    pub st_blksize: i32,
    pub __pad2: i32,
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: u64,
    pub st_mtime: i64,
    pub st_mtime_nsec: u64,
    pub st_ctime: i64,
    pub st_ctime_nsec: u64,
    pub __unused4: u32,
    pub __unused5: u32,
}

/// `struct timespec` (64-bit `time_t`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

/// The `times[2]` argument of `utimensat`: access time, then modification
/// time. `tv_nsec` may be `UTIME_NOW` or `UTIME_OMIT`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct TimespecPair {
    pub atime: Timespec,
    pub mtime: Timespec,
}

/// `tv_nsec` value of `utimensat` that sets the time to now.
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `tv_nsec` value of `utimensat` that leaves the time unchanged.
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

/// The `int fds[2]` result of `pipe2` and `socketpair`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct FdPair {
    pub fds: [i32; 2],
}

/// `struct timeval`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Timeval {
    pub tv_sec: i64,
    pub tv_usec: i64,
}

/// `struct itimerval` of `getitimer` and `setitimer`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Itimerval {
    /// The period after the first expiry; zero for a one-shot timer.
    pub it_interval: Timeval,
    /// The time until the next expiry; zero when the timer is off.
    pub it_value: Timeval,
}

/// `siginfo_t` (128 bytes on 64-bit Linux): the signal, its errno and code,
/// then a union whose first fields are the sender's pid and uid for kill
/// and tgkill, or the fault address for faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Siginfo {
    pub si_signo: i32,
    pub si_errno: i32,
    pub si_code: i32,
    pub _pad: i32,
    /// The union: `si_pid` and `si_uid` (two `i32`s) or `si_addr`.
    pub fields: [u64; 14],
}

impl Default for Siginfo {
    fn default() -> Self {
        Self {
            si_signo: 0,
            si_errno: 0,
            si_code: 0,
            _pad: 0,
            fields: [0; 14],
        }
    }
}

/// `struct timezone` of `gettimeofday`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Timezone {
    pub tz_minuteswest: i32,
    pub tz_dsttime: i32,
}

/// Length of each `struct utsname` field, including the NUL.
pub const UTSNAME_FIELD_LEN: usize = 65;

/// `struct new_utsname` of `uname`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Utsname {
    pub sysname: [u8; UTSNAME_FIELD_LEN],
    pub nodename: [u8; UTSNAME_FIELD_LEN],
    pub release: [u8; UTSNAME_FIELD_LEN],
    pub version: [u8; UTSNAME_FIELD_LEN],
    pub machine: [u8; UTSNAME_FIELD_LEN],
    pub domainname: [u8; UTSNAME_FIELD_LEN],
}

/// `struct iovec`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Iovec {
    pub iov_base: u64,
    pub iov_len: u64,
}

/// `struct winsize` of `TIOCGWINSZ`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Winsize {
    pub ws_row: u16,
    pub ws_col: u16,
    pub ws_xpixel: u16,
    pub ws_ypixel: u16,
}

/// Number of control characters in the kernel's `struct termios`.
pub const NCCS: usize = 19;

/// The kernel's `struct termios` of `TCGETS`/`TCSETS` (asm-generic; the C
/// library's `struct termios` is larger).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Termios {
    pub c_iflag: u32,
    pub c_oflag: u32,
    pub c_cflag: u32,
    pub c_lflag: u32,
    pub c_line: u8,
    pub c_cc: [u8; NCCS],
}

/// `struct rlimit` (`prlimit64`, `getrlimit`, `setrlimit`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Rlimit {
    pub rlim_cur: u64,
    pub rlim_max: u64,
}

/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// The kernel's `struct sigaction` of `rt_sigaction` on aarch64: handler,
/// flags, restorer, mask (one 64-bit word, `_NSIG` = 64).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Sigaction {
    /// Handler address, or `SIG_DFL` (0) / `SIG_IGN` (1).
    pub sa_handler: u64,
    /// `SA_*` bits, see [`SaFlags`](crate::SaFlags).
    pub sa_flags: u64,
    pub sa_restorer: u64,
    pub sa_mask: u64,
}

/// Kernel signal set: one bit per signal 1-64, signal N at bit N-1.
pub type Sigset = u64;

/// `stack_t` of `sigaltstack`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SignalStack {
    pub ss_sp: u64,
    pub ss_flags: i32,
    pub __pad: i32,
    pub ss_size: u64,
}

/// `struct statfs` of asm-generic on 64-bit architectures.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Statfs {
    pub f_type: i64,
    pub f_bsize: i64,
    pub f_blocks: u64,
    pub f_bfree: u64,
    pub f_bavail: u64,
    pub f_files: u64,
    pub f_ffree: u64,
    pub f_fsid: [i32; 2],
    pub f_namelen: i64,
    pub f_frsize: i64,
    pub f_flags: i64,
    pub f_spare: [i64; 4],
}

/// `struct sysinfo` on 64-bit architectures; `_f` is empty there, and the
/// padding fields are explicit.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Sysinfo {
    pub uptime: i64,
    pub loads: [u64; 3],
    pub totalram: u64,
    pub freeram: u64,
    pub sharedram: u64,
    pub bufferram: u64,
    pub totalswap: u64,
    pub freeswap: u64,
    pub procs: u16,
    pub pad: u16,
    pub __pad2: u32,
    pub totalhigh: u64,
    pub freehigh: u64,
    pub mem_unit: u32,
    pub __pad3: u32,
}

/// Fixed part of `struct linux_dirent64`; the NUL-terminated name follows at
/// [`DIRENT64_NAME_OFFSET`] and `d_reclen` rounds the record up to 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
pub struct Dirent64Header {
    pub d_ino: u64,
    pub d_off: i64,
    pub d_reclen: u16,
    pub d_type: u8,
}

/// Offset of `d_name` in `struct linux_dirent64`.
pub const DIRENT64_NAME_OFFSET: usize = size_of::<Dirent64Header>();

/// `struct tms` of `times`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Tms {
    pub tms_utime: i64,
    pub tms_stime: i64,
    pub tms_cutime: i64,
    pub tms_cstime: i64,
}

/// `struct rusage`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Rusage {
    pub ru_utime: Timeval,
    pub ru_stime: Timeval,
    pub ru_maxrss: i64,
    pub ru_ixrss: i64,
    pub ru_idrss: i64,
    pub ru_isrss: i64,
    pub ru_minflt: i64,
    pub ru_majflt: i64,
    pub ru_nswap: i64,
    pub ru_inblock: i64,
    pub ru_oublock: i64,
    pub ru_msgsnd: i64,
    pub ru_msgrcv: i64,
    pub ru_nsignals: i64,
    pub ru_nvcsw: i64,
    pub ru_nivcsw: i64,
}

/// `struct pollfd`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Pollfd {
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}

/// `struct epoll_event` on aarch64, which is not packed (16 bytes; x86_64
/// packs it into 12).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct EpollEvent {
    pub events: u32,
    pub __pad: u32,
    pub data: u64,
}

/// `struct statx_timestamp`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct StatxTimestamp {
    pub tv_sec: i64,
    pub tv_nsec: u32,
    pub __reserved: i32,
}

/// `struct statx`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Statx {
    pub stx_mask: u32,
    pub stx_blksize: u32,
    pub stx_attributes: u64,
    pub stx_nlink: u32,
    pub stx_uid: u32,
    pub stx_gid: u32,
    pub stx_mode: u16,
    pub __spare0: u16,
    pub stx_ino: u64,
    pub stx_size: u64,
    pub stx_blocks: u64,
    pub stx_attributes_mask: u64,
    pub stx_atime: StatxTimestamp,
    pub stx_btime: StatxTimestamp,
    pub stx_ctime: StatxTimestamp,
    pub stx_mtime: StatxTimestamp,
    pub stx_rdev_major: u32,
    pub stx_rdev_minor: u32,
    pub stx_dev_major: u32,
    pub stx_dev_minor: u32,
    pub stx_mnt_id: u64,
    pub stx_dio_mem_align: u32,
    pub stx_dio_offset_align: u32,
    pub __spare3: [u64; 12],
}

/// Size of `struct sockaddr_storage`, the largest socket address. Socket
/// calls pass addresses as byte buffers with their length.
pub const SOCKADDR_STORAGE_LEN: usize = 128;

// Sizes from Linux's uapi headers for aarch64 (LP64).
const _: () = assert!(size_of::<Stat>() == 128);
const _: () = assert!(size_of::<Timespec>() == 16);
const _: () = assert!(size_of::<Timeval>() == 16);
const _: () = assert!(size_of::<Itimerval>() == 32);
const _: () = assert!(size_of::<Siginfo>() == 128);
const _: () = assert!(size_of::<TimespecPair>() == 32);
const _: () = assert!(size_of::<FdPair>() == 8);
const _: () = assert!(size_of::<Timezone>() == 8);
const _: () = assert!(size_of::<Utsname>() == 390);
const _: () = assert!(size_of::<Iovec>() == 16);
const _: () = assert!(size_of::<Winsize>() == 8);
const _: () = assert!(size_of::<Termios>() == 36);
const _: () = assert!(size_of::<Rlimit>() == 16);
const _: () = assert!(size_of::<Sigaction>() == 32);
const _: () = assert!(size_of::<SignalStack>() == 24);
const _: () = assert!(size_of::<Statfs>() == 120);
const _: () = assert!(size_of::<Sysinfo>() == 112);
const _: () = assert!(size_of::<Dirent64Header>() == 19);
const _: () = assert!(size_of::<Tms>() == 32);
const _: () = assert!(size_of::<Rusage>() == 144);
const _: () = assert!(size_of::<Pollfd>() == 8);
const _: () = assert!(size_of::<EpollEvent>() == 16);
const _: () = assert!(size_of::<StatxTimestamp>() == 16);
const _: () = assert!(size_of::<Statx>() == 256);

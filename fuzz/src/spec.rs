//! The syscall table generated from spec/syscalls.toml by build.rs.

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Fd,
    DirFd,
    MmapFd,
    /// A C `int`-sized integer: the kernel must use only the low 32 bits.
    Int32,
    Int64,
    Flags,
    In,
    Out,
    InOut,
    Iovec,
    Path,
    Cstr,
    CstrArray,
    Raw,
    Addr,
}

impl Kind {
    /// Tells whether the argument is a user pointer that the kernel reads
    /// or writes whenever the call gets that far.
    pub fn is_pointer(self) -> bool {
        matches!(
            self,
            Kind::In | Kind::Out | Kind::InOut | Kind::Iovec | Kind::Path | Kind::Cstr | Kind::CstrArray
        )
    }

    /// Tells whether the kernel writes through the pointer.
    pub fn writes(self) -> bool {
        matches!(self, Kind::Out | Kind::InOut)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Fd,
    Size,
    Zero,
    Addr,
    Int,
    NoReturn,
}

pub struct Arg {
    pub name: &'static str,
    pub kind: Kind,
    /// Index of the argument that holds the element count, or `NO_LEN`.
    pub len: usize,
    /// Element or struct type of a pointer argument ("" for bytes).
    pub of: &'static str,
    pub nullable: bool,
}

pub const NO_LEN: usize = 255;

pub struct Call {
    pub name: &'static str,
    pub nr: usize,
    pub ret: Ret,
    pub args: &'static [Arg],
    pub errno: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/spec_table.rs"));

/// Size in bytes of a pointed-to type on aarch64 (asm-generic layouts).
/// Unknown types count as 8 bytes.
pub fn type_size(of: &str) -> usize {
    match of {
        "" | "u8" => 1,
        "i32" | "u32" => 4,
        "i64" | "u64" | "Sigset" | "Pollfd" | "FdPair" | "Timezone" => 8,
        "Timespec" | "Timeval" | "Rlimit" | "EpollEvent" => 16,
        "SignalStack" => 24,
        "Sigaction" | "TimespecPair" | "Tms" | "Itimerval" => 32,
        "Sysinfo" => 112,
        "Statfs" => 120,
        "Stat" | "Siginfo" => 128,
        "Rusage" => 144,
        "Statx" => 256,
        "Utsname" => 390,
        _ => 8,
    }
}

/// Numbers the spec does not list. Some are free on aarch64 Linux
/// (ENOSYS expected there too), some are harmless Linux calls that only
/// read state, and one sets bit 32, which Linux ignores because arm64
/// takes the syscall number from w8.
pub const EXTRA_NUMBERS: &[usize] = &[
    90, 102, 120, 121, 125, 126, 141, 158, 168, 244, 245, 250, 255, 259, 463, 470, 500, 1000,
    1023, 1024, 1079, 4095, 0x7fff_ffff, 0x8000_0000, usize::MAX, (1 << 32) | 172,
];

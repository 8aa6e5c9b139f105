//! Per-entry metadata, for logging, tracing and stub reports.

use crate::LinuxError;
use crate::stats::StubCounter;
use crate::trace::{CallCounters, TraceClasses};

/// Architectures the spec gives numbers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    Aarch64,
    Riscv64,
    X86_64,
    Loongarch64,
}

impl Arch {
    /// Index into [`SyscallInfo::nr`].
    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64",
            Arch::Riscv64 => "riscv64",
            Arch::X86_64 => "x86_64",
            Arch::Loongarch64 => "loongarch64",
        }
    }
}

/// Syscall family; each has its own handler trait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Fs,
    Mm,
    Process,
    Time,
    Misc,
}

/// How far the kernel implements an entry, as the spec states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    Full,
    Partial,
    Stub,
    Unimplemented,
}

/// Return kind of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetKind {
    /// A new file descriptor.
    Fd,
    /// A byte count.
    Size,
    /// Zero on success.
    Zero,
    /// A user address.
    Addr,
    /// A signed value whose meaning depends on the call.
    Int,
    /// The call does not return on success (exit, exit_group).
    NoReturn,
}

/// Direction of a user pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PtrDir {
    In,
    Out,
    InOut,
}

/// Kind of one argument, for tracing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgKind {
    Fd,
    DirFd,
    MmapFd,
    /// Integer of the named Rust type.
    Int(&'static str),
    /// Bitflags of the named type.
    Flags(&'static str),
    /// Pointer to one `of`, or to as many as the value of argument `len`.
    Ptr {
        dir: PtrDir,
        of: &'static str,
        len: Option<usize>,
        nullable: bool,
    },
    /// `struct iovec` array whose count is argument `len`.
    Iovec {
        len: usize,
    },
    Path {
        nullable: bool,
    },
    CStr {
        nullable: bool,
    },
    CStrArray {
        nullable: bool,
    },
    /// A `usize` whose meaning depends on another argument.
    Raw,
    /// A user address that is not dereferenced by the checks.
    Addr,
}

/// Name and kind of one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArgInfo {
    pub name: &'static str,
    pub kind: ArgKind,
}

/// Metadata of one spec entry.
#[derive(Debug)]
pub struct SyscallInfo {
    pub name: &'static str,
    pub family: Family,
    pub args: &'static [ArgInfo],
    pub ret: RetKind,
    pub level: Level,
    /// Errors that the man page lists for the call.
    pub errno: &'static [LinuxError],
    pub note: &'static str,
    /// Number per architecture, indexed by [`Arch::index`].
    pub nr: [Option<usize>; 4],
    /// Calls that reached the default (`ENOSYS`) body.
    pub stub_calls: StubCounter,
    /// strace classes (`-e trace=%file`), derived and from the spec.
    pub classes: TraceClasses,
    /// Counts for the summary, and whether the trace filter selects it.
    pub counters: CallCounters,
}

impl SyscallInfo {
    /// Number of calls that returned `ENOSYS` from the default method body.
    pub fn enosys_count(&self) -> u64 {
        self.stub_calls.count()
    }

    /// Syscall number on `arch`.
    pub fn number(&self, arch: Arch) -> Option<usize> {
        self.nr[arch.index()]
    }
}

/// Raw arguments of one call, formatted after its spec entry as
/// `name(arg, ...)`: integers in decimal with their C type's sign, `AT_FDCWD`
/// by name, flags and addresses in hex, and null pointers as `NULL`.
pub struct CallDisplay<'a> {
    info: &'a SyscallInfo,
    raw: &'a [usize; 6],
}

impl SyscallInfo {
    /// Format the raw arguments `raw` of a call to this entry.
    pub fn display_call<'a>(&'a self, raw: &'a [usize; 6]) -> CallDisplay<'a> {
        CallDisplay { info: self, raw }
    }
}

impl core::fmt::Display for CallDisplay<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}(", self.info.name)?;
        for (i, arg) in self.info.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let raw = self.raw[i];
            match arg.kind {
                ArgKind::Fd | ArgKind::MmapFd => write!(f, "{}", raw as i32)?,
                ArgKind::DirFd if raw as i32 == crate::AT_FDCWD => f.write_str("AT_FDCWD")?,
                ArgKind::DirFd => write!(f, "{}", raw as i32)?,
                ArgKind::Int("i32") => write!(f, "{}", raw as i32)?,
                ArgKind::Int("u32") => write!(f, "{}", raw as u32)?,
                ArgKind::Int("i64") | ArgKind::Int("isize") => write!(f, "{}", raw as i64)?,
                ArgKind::Int(_) => write!(f, "{raw}")?,
                ArgKind::Flags(_) | ArgKind::Raw => write!(f, "{raw:#x}")?,
                ArgKind::Ptr { .. }
                | ArgKind::Iovec { .. }
                | ArgKind::Path { .. }
                | ArgKind::CStr { .. }
                | ArgKind::CStrArray { .. }
                | ArgKind::Addr => {
                    if raw == 0 {
                        f.write_str("NULL")?;
                    } else {
                        write!(f, "{raw:#x}")?;
                    }
                }
            }
        }
        f.write_str(")")
    }
}

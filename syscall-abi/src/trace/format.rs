//! Formatting helpers of strace's output format, one per argument kind.
//!
//! The generated `formats::<name>` functions call these with the raw
//! register values. They follow strace 6.1's default output: data buffers
//! are quoted with C escapes and cut after [`MAX_STRLEN`] bytes with `...`,
//! paths are shown whole, structs show their main fields, output arguments
//! are decoded only after a successful call (else their address is shown),
//! and a line pads the call to column 40 before ` = result`.

use alloc::string::String;
use core::fmt::{self, Write};

use bitflags::Flags;

use crate::decode::FromArg;
use crate::{
    AtFlags, CloneFlags, Dup3Flags, EpollCreateFlags, EventFdFlags, FdPair, GetrandomFlags,
    LinuxError, MmapFlags, MmapProt, MremapFlags, MsyncFlags, OpenFlags, PATH_MAX, PipeFlags,
    Itimerval, Pollfd, RenameFlags, RetKind, Rlimit, SaFlags, Sigaction, Siginfo, SockFlags,
    Stat, StatxMask, Timespec, TimespecPair, Timeval, UserMemory, Utsname, WaitOptions, WaitidOptions,
};

/// Bytes of a data buffer shown before `...` (strace's default `-s 32`).
pub const MAX_STRLEN: usize = 32;

/// Elements of an array shown before `...`.
const MAX_ELEMENTS: usize = 16;

/// Strings of a `char *[]` (argv, envp) shown before `...`.
const MAX_STRINGS: usize = 32;

/// Column that ` = result` is padded to (strace's default `-a 40`).
pub const RESULT_COLUMN: usize = 40;

/// Build one trace line: the call text that `format` writes, padded to
/// [`RESULT_COLUMN`], then `= ` and the result in strace's form. `ret_kind`
/// is `None` for a number without a spec entry.
pub fn line(
    ret_kind: Option<RetKind>,
    ret: Option<isize>,
    format: impl FnOnce(&mut dyn Write) -> fmt::Result,
) -> String {
    let mut text = String::new();
    let _ = format(&mut text);
    let width = text.chars().count();
    if width < RESULT_COLUMN {
        text.extend(core::iter::repeat_n(' ', RESULT_COLUMN - width));
    } else {
        text.push(' ');
    }
    text.push_str("= ");
    let _ = result(&mut text, ret_kind, ret);
    text
}

/// Write a call's result: `?` when it did not return, `-1 ENAME (message)`
/// for an error, an address in hex, or a decimal value.
pub fn result(out: &mut dyn Write, ret_kind: Option<RetKind>, ret: Option<isize>) -> fmt::Result {
    let Some(value) = ret else {
        return out.write_str("?");
    };
    if let Some(errno) = super::result_errno(value) {
        return write!(
            out,
            "-1 {errno:?} ({})",
            super::errno_message(errno)
        );
    }
    match ret_kind {
        Some(RetKind::Addr) => write!(out, "{:#x}", value as usize),
        _ => write!(out, "{value}"),
    }
}

/// Tell whether an encoded result is a success.
pub fn succeeded(ret: Option<isize>) -> bool {
    matches!(ret, Some(value) if super::result_errno(value).is_none())
}

/// Successful result as a count of bytes or elements.
fn returned_len(ret: Option<isize>) -> Option<usize> {
    match ret {
        Some(value) if super::result_errno(value).is_none() && value >= 0 => Some(value as usize),
        _ => None,
    }
}

pub fn fd(out: &mut dyn Write, raw: usize) -> fmt::Result {
    write!(out, "{}", raw as i32)
}

pub fn dirfd(out: &mut dyn Write, raw: usize) -> fmt::Result {
    if raw as i32 == crate::AT_FDCWD {
        out.write_str("AT_FDCWD")
    } else {
        fd(out, raw)
    }
}

/// Write an integer argument of C type `T` (low 32 bits for `int`).
pub fn int<T: FromArg + fmt::Display>(out: &mut dyn Write, raw: usize) -> fmt::Result {
    write!(out, "{}", T::from_arg(raw))
}

/// Write a file mode in octal with a leading zero, as strace prints `0644`.
pub fn mode(out: &mut dyn Write, raw: usize) -> fmt::Result {
    write!(out, "0{:02o}", raw as u32)
}

/// Write a pointer or an opaque value: `NULL` or hex.
pub fn addr(out: &mut dyn Write, raw: usize) -> fmt::Result {
    if raw == 0 {
        out.write_str("NULL")
    } else {
        write!(out, "{raw:#x}")
    }
}

/// Names of the signals 1-31 without the `SIG` prefix.
const SIGNAL_NAMES: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// Name of signal `number` without `SIG`: `INT`, `RTMIN` (32), `RT_2` (34).
fn signal_short_name(number: u32, out: &mut dyn Write) -> fmt::Result {
    match number {
        1..=31 => out.write_str(SIGNAL_NAMES[number as usize - 1]),
        32 => out.write_str("RTMIN"),
        33..=64 => write!(out, "RT_{}", number - 32),
        _ => write!(out, "{number}"),
    }
}

/// Write a signal number: `SIGINT`, or the number when it has no name.
pub fn signal(out: &mut dyn Write, raw: usize) -> fmt::Result {
    let number = raw as i32;
    if (1..=64).contains(&number) {
        out.write_str("SIG")?;
        signal_short_name(number as u32, out)
    } else {
        write!(out, "{number}")
    }
}

/// Names of an integer argument's values.
pub type NamedValues = &'static [(i64, &'static str)];

pub const SEEK_WHENCE: NamedValues = &[
    (0, "SEEK_SET"),
    (1, "SEEK_CUR"),
    (2, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];

pub const MADVISE_ADVICE: NamedValues = &[
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"),
    (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"),
];

pub const FCNTL_CMD: NamedValues = &[
    (0, "F_DUPFD"),
    (1, "F_GETFD"),
    (2, "F_SETFD"),
    (3, "F_GETFL"),
    (4, "F_SETFL"),
    (5, "F_GETLK"),
    (6, "F_SETLK"),
    (7, "F_SETLKW"),
    (1030, "F_DUPFD_CLOEXEC"),
];

pub const IOCTL_REQUEST: NamedValues = &[
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x540f, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (0x5413, "TIOCGWINSZ"),
    (0x541b, "FIONREAD"),
    (0x5421, "FIONBIO"),
    (0x5450, "FIONCLEX"),
    (0x5451, "FIOCLEX"),
];

pub const SIGPROCMASK_HOW: NamedValues = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];

pub const RLIMIT_RESOURCE: NamedValues = &[
    (0, "RLIMIT_CPU"),
    (1, "RLIMIT_FSIZE"),
    (2, "RLIMIT_DATA"),
    (3, "RLIMIT_STACK"),
    (4, "RLIMIT_CORE"),
    (5, "RLIMIT_RSS"),
    (6, "RLIMIT_NPROC"),
    (7, "RLIMIT_NOFILE"),
    (8, "RLIMIT_MEMLOCK"),
    (9, "RLIMIT_AS"),
];

pub const SOCKET_DOMAIN: NamedValues = &[
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (10, "AF_INET6"),
    (16, "AF_NETLINK"),
];

pub const CLOCK_ID: NamedValues = &[
    (0, "CLOCK_REALTIME"),
    (1, "CLOCK_MONOTONIC"),
    (2, "CLOCK_PROCESS_CPUTIME_ID"),
    (3, "CLOCK_THREAD_CPUTIME_ID"),
    (4, "CLOCK_MONOTONIC_RAW"),
    (5, "CLOCK_REALTIME_COARSE"),
    (6, "CLOCK_MONOTONIC_COARSE"),
    (7, "CLOCK_BOOTTIME"),
];

/// Write a C `int` argument by name from `table`, or in decimal. `ioctl` requests
/// without a name are shown in hex, as strace does.
pub fn named(out: &mut dyn Write, table: NamedValues, raw: usize) -> fmt::Result {
    let value = raw as i32 as i64;
    match table.iter().find(|(v, _)| *v == value) {
        Some((_, name)) => out.write_str(name),
        None if core::ptr::eq(table, IOCTL_REQUEST) => write!(out, "{:#x}", raw as u32),
        None => write!(out, "{value}"),
    }
}

/// Flags types with the prefix strace puts before each constant name.
pub trait TraceFlags: Flags<Bits: FromArg + Into<u64>> {
    const PREFIX: &'static str;
    /// The text strace shows for no bits set.
    const ZERO: &'static str = "0";

    /// Write the raw argument as `PREFIX_NAME|PREFIX_NAME|0x...`, unknown
    /// bits last.
    fn write_flags(raw: usize, out: &mut dyn Write) -> fmt::Result {
        let flags = Self::from_bits_retain(Self::Bits::from_arg(raw));
        write_named_bits(flags, Self::PREFIX, Self::ZERO, false, out)
    }
}

/// Write the named bits of `flags` joined by `|`, then any unknown bits in
/// hex. `continued` is true when text was written before (so the first
/// name needs a `|`).
fn write_named_bits<F: Flags<Bits: Into<u64>>>(
    flags: F,
    prefix: &str,
    zero: &str,
    continued: bool,
    out: &mut dyn Write,
) -> fmt::Result {
    let mut first = !continued;
    for (name, _) in flags.iter_names() {
        if !first {
            out.write_str("|")?;
        }
        first = false;
        write!(out, "{prefix}{name}")?;
    }
    let mut known = 0u64;
    for flag in F::FLAGS {
        known |= flag.value().bits().into();
    }
    let unknown = flags.bits().into() & !known;
    if unknown != 0 {
        if !first {
            out.write_str("|")?;
        }
        first = false;
        write!(out, "{unknown:#x}")?;
    }
    if first {
        out.write_str(zero)?;
    }
    Ok(())
}

macro_rules! trace_flags {
    ($($ty:ty => $prefix:literal $(, zero = $zero:literal)?;)*) => {
        $(impl TraceFlags for $ty {
            const PREFIX: &'static str = $prefix;
            $(const ZERO: &'static str = $zero;)?
        })*
    };
}

trace_flags! {
    AtFlags => "AT_";
    MmapProt => "PROT_", zero = "PROT_NONE";
    MmapFlags => "MAP_";
    MremapFlags => "MREMAP_";
    MsyncFlags => "MS_";
    CloneFlags => "CLONE_";
    PipeFlags => "O_";
    Dup3Flags => "O_";
    EventFdFlags => "EFD_";
    EpollCreateFlags => "EPOLL_";
    SockFlags => "SOCK_";
    WaitOptions => "W";
    WaitidOptions => "W";
    RenameFlags => "RENAME_";
    GetrandomFlags => "GRND_";
    StatxMask => "STATX_";
}

impl TraceFlags for OpenFlags {
    const PREFIX: &'static str = "O_";

    /// Write the access mode first (`O_RDONLY` is 0), then the other bits.
    fn write_flags(raw: usize, out: &mut dyn Write) -> fmt::Result {
        let bits = raw as u32;
        out.write_str(match bits & 0o3 {
            0 => "O_RDONLY",
            1 => "O_WRONLY",
            2 => "O_RDWR",
            _ => "O_ACCMODE",
        })?;
        let rest = OpenFlags::from_bits_retain(bits & !0o3);
        if rest.is_empty() {
            return Ok(());
        }
        write_named_bits(rest, "O_", "", true, out)
    }
}

/// Write a flags argument of type `F`.
pub fn flags<F: TraceFlags>(out: &mut dyn Write, raw: usize) -> fmt::Result {
    F::write_flags(raw, out)
}

/// Tell whether open flags make `openat` read its mode argument.
pub fn open_takes_mode(raw_flags: usize) -> bool {
    let flags = OpenFlags::from_bits_retain(raw_flags as u32);
    flags.contains(OpenFlags::CREAT) || flags.contains(OpenFlags::TMPFILE)
}

/// Tell whether `fcntl` command `cmd` takes an argument (strace leaves it
/// out for the `F_GET*` commands).
pub fn fcntl_takes_arg(raw_cmd: usize) -> bool {
    !matches!(raw_cmd as u32, 1 | 3)
}

/// Write the third argument of `fcntl`, decoded after its command.
pub fn fcntl_arg(out: &mut dyn Write, raw_cmd: usize, raw: usize) -> fmt::Result {
    match raw_cmd as u32 {
        2 if raw == 1 => out.write_str("FD_CLOEXEC"),
        2 => write!(out, "{}", raw as i32),
        4 => flags::<OpenFlags>(out, raw),
        0 | 1030 => write!(out, "{}", raw as i32),
        _ => addr(out, raw),
    }
}

/// Write `bytes` as a C string literal with strace's escapes. `more` adds
/// `...` after the closing quote (the data went on).
pub fn quoted(out: &mut dyn Write, bytes: &[u8], more: bool) -> fmt::Result {
    out.write_char('"')?;
    for (i, &byte) in bytes.iter().enumerate() {
        match byte {
            b'"' => out.write_str("\\\"")?,
            b'\\' => out.write_str("\\\\")?,
            b'\n' => out.write_str("\\n")?,
            b'\t' => out.write_str("\\t")?,
            b'\r' => out.write_str("\\r")?,
            0x0b => out.write_str("\\v")?,
            0x0c => out.write_str("\\f")?,
            0x20..=0x7e => out.write_char(byte as char)?,
            _ => {
                // A short octal escape would swallow a following digit.
                let next_is_digit = bytes.get(i + 1).is_some_and(|b| (b'0'..=b'7').contains(b));
                if next_is_digit {
                    write!(out, "\\{byte:03o}")?;
                } else {
                    write!(out, "\\{byte:o}")?;
                }
            }
        }
    }
    out.write_char('"')?;
    if more {
        out.write_str("...")?;
    }
    Ok(())
}

/// Up to [`MAX_STRLEN`] bytes of a `len`-byte buffer at `addr`, quoted, or
/// the address when it cannot be read.
fn buffer<M: UserMemory>(out: &mut dyn Write, mem: &M, addr: usize, len: usize) -> fmt::Result {
    if addr == 0 {
        return out.write_str("NULL");
    }
    let shown = len.min(MAX_STRLEN);
    let mut bytes = [0u8; MAX_STRLEN];
    if mem.read(addr, &mut bytes[..shown]).is_err() {
        return addr_hex(out, addr);
    }
    quoted(out, &bytes[..shown], len > MAX_STRLEN)
}

fn addr_hex(out: &mut dyn Write, addr: usize) -> fmt::Result {
    write!(out, "{addr:#x}")
}

/// Write a buffer the call reads (`write`): its first bytes, quoted.
pub fn bytes_in<M: UserMemory>(out: &mut dyn Write, mem: &M, addr: usize, len: usize) -> fmt::Result {
    buffer(out, mem, addr, len)
}

/// Write a buffer the call fills (`read`): after a successful call the returned
/// number of bytes, quoted, else the address.
pub fn bytes_out<M: UserMemory>(
    out: &mut dyn Write,
    mem: &M,
    addr: usize,
    ret: Option<isize>,
) -> fmt::Result {
    match returned_len(ret) {
        Some(len) => buffer(out, mem, addr, len),
        None => self::addr(out, addr),
    }
}

/// Write the `getdents64` buffer: its address and the number of entries the call
/// returned, as `0x... /* 5 entries */`.
pub fn dirents<M: UserMemory>(
    out: &mut dyn Write,
    mem: &M,
    addr: usize,
    ret: Option<isize>,
) -> fmt::Result {
    addr_hex(out, addr)?;
    let Some(len) = returned_len(ret) else {
        return Ok(());
    };
    let mut count = 0usize;
    let mut offset = 0usize;
    while offset + crate::DIRENT64_NAME_OFFSET <= len {
        // d_reclen is the u16 after d_ino and d_off.
        let mut reclen = [0u8; 2];
        if mem.read(addr + offset + 16, &mut reclen).is_err() {
            break;
        }
        let reclen = u16::from_ne_bytes(reclen) as usize;
        if reclen == 0 {
            break;
        }
        count += 1;
        offset += reclen;
    }
    write!(out, " /* {count} entries */")
}

/// Write a path or a C string the call reads: quoted whole (strace does not cut
/// paths), `NULL`, or the address when it cannot be read.
pub fn path<M: UserMemory>(out: &mut dyn Write, mem: &M, addr: usize) -> fmt::Result {
    if addr == 0 {
        return out.write_str("NULL");
    }
    match mem.read_cstr(addr, PATH_MAX) {
        Ok(bytes) => quoted(out, &bytes, false),
        Err(LinuxError::ENAMETOOLONG) => match mem.read_cstr(addr, MAX_STRLEN * 4) {
            Ok(bytes) => quoted(out, &bytes, true),
            Err(_) => addr_hex(out, addr),
        },
        Err(_) => addr_hex(out, addr),
    }
}

/// Write a string the call fills and NUL-terminates (`getcwd`): the returned
/// length counts the NUL, which is not shown.
pub fn cstr_out<M: UserMemory>(
    out: &mut dyn Write,
    mem: &M,
    addr: usize,
    ret: Option<isize>,
) -> fmt::Result {
    match returned_len(ret) {
        Some(_) => path(out, mem, addr),
        None => self::addr(out, addr),
    }
}

/// Write a `char *[]` (argv, envp): `["a", "b"]`, cut after [`MAX_STRINGS`].
pub fn cstr_array<M: UserMemory>(out: &mut dyn Write, mem: &M, addr: usize) -> fmt::Result {
    if addr == 0 {
        return out.write_str("NULL");
    }
    out.write_char('[')?;
    for index in 0..=MAX_STRINGS {
        let Ok(pointer) = mem.read_val::<u64>(addr + index * 8) else {
            out.write_str("...")?;
            break;
        };
        if pointer == 0 {
            break;
        }
        if index > 0 {
            out.write_str(", ")?;
        }
        if index == MAX_STRINGS {
            out.write_str("...")?;
            break;
        }
        path(out, mem, pointer as usize)?;
    }
    out.write_char(']')
}

/// The bytes of an iovec array that a trace line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IovecData {
    /// The call reads the buffers (`writev`): each one's `iov_len` bytes.
    Given,
    /// The call fills the buffers (`readv`): the returned total, spread over
    /// the buffers in order; nothing after a failure.
    Returned(Option<isize>),
}

/// Write a `struct iovec` array: `[{iov_base="...", iov_len=5}, ...]`.
pub fn iovec<M: UserMemory>(
    out: &mut dyn Write,
    mem: &M,
    addr: usize,
    count: usize,
    data: IovecData,
) -> fmt::Result {
    let count = count as i32;
    let mut remaining = match data {
        IovecData::Given => usize::MAX,
        IovecData::Returned(ret) => match returned_len(ret) {
            Some(len) => len,
            None => return self::addr(out, addr),
        },
    };
    if !(0..=crate::IOV_MAX as i32).contains(&count) {
        return self::addr(out, addr);
    }
    out.write_char('[')?;
    for index in 0..count as usize {
        if index > 0 {
            out.write_str(", ")?;
        }
        if index == MAX_ELEMENTS {
            out.write_str("...")?;
            break;
        }
        let Ok(iov) = mem.read_val::<crate::Iovec>(addr + index * 16) else {
            out.write_str("...")?;
            break;
        };
        let shown = (iov.iov_len as usize).min(remaining);
        remaining -= shown;
        out.write_str("{iov_base=")?;
        buffer(out, mem, iov.iov_base as usize, shown)?;
        write!(out, ", iov_len={}}}", iov.iov_len)?;
    }
    out.write_char(']')
}

/// Write a kernel signal set: `[INT TERM]`, or `~[...]` listing the signals not
/// in the set when more than half are in it.
fn write_sigset(out: &mut dyn Write, set: u64) -> fmt::Result {
    let (prefix, shown) = if set.count_ones() > 32 {
        ("~[", !set)
    } else {
        ("[", set)
    };
    out.write_str(prefix)?;
    let mut first = true;
    for bit in 0..64u32 {
        if shown & (1 << bit) != 0 {
            if !first {
                out.write_char(' ')?;
            }
            first = false;
            signal_short_name(bit + 1, out)?;
        }
    }
    out.write_char(']')
}

/// Write a signal set the call reads.
pub fn sigset_in<M: UserMemory>(out: &mut dyn Write, mem: &M, addr: usize) -> fmt::Result {
    if addr == 0 {
        return out.write_str("NULL");
    }
    match mem.read_val::<u64>(addr) {
        Ok(set) => write_sigset(out, set),
        Err(_) => addr_hex(out, addr),
    }
}

/// Write a signal set the call fills.
pub fn sigset_out<M: UserMemory>(
    out: &mut dyn Write,
    mem: &M,
    addr: usize,
    ret: Option<isize>,
) -> fmt::Result {
    if succeeded(ret) {
        sigset_in(out, mem, addr)
    } else {
        self::addr(out, addr)
    }
}

/// Values of a struct or integer type that the trace decodes.
pub trait TraceValue: zerocopy::FromBytes + zerocopy::IntoBytes {
    /// `false` for types shown by address only.
    const DECODED: bool = true;

    fn write_value(&self, out: &mut dyn Write) -> fmt::Result;
}

/// Write one value the call reads: decoded, `NULL`, or the address.
pub fn value_in<T: TraceValue, M: UserMemory>(out: &mut dyn Write, mem: &M, addr: usize) -> fmt::Result {
    if addr == 0 {
        return out.write_str("NULL");
    }
    if !T::DECODED {
        return addr_hex(out, addr);
    }
    match mem.read_val::<T>(addr) {
        Ok(value) => value.write_value(out),
        Err(_) => addr_hex(out, addr),
    }
}

/// Write one value the call fills: decoded after a successful call, else the
/// address.
pub fn value_out<T: TraceValue, M: UserMemory>(
    out: &mut dyn Write,
    mem: &M,
    addr: usize,
    ret: Option<isize>,
) -> fmt::Result {
    if succeeded(ret) {
        value_in::<T, M>(out, mem, addr)
    } else {
        self::addr(out, addr)
    }
}

fn array<T: TraceValue, M: UserMemory>(
    out: &mut dyn Write,
    mem: &M,
    addr: usize,
    count: usize,
) -> fmt::Result {
    if addr == 0 {
        return out.write_str("NULL");
    }
    if !T::DECODED {
        return addr_hex(out, addr);
    }
    out.write_char('[')?;
    for index in 0..count {
        if index > 0 {
            out.write_str(", ")?;
        }
        if index == MAX_ELEMENTS {
            out.write_str("...")?;
            break;
        }
        match mem.read_val::<T>(addr + index * size_of::<T>()) {
            Ok(value) => value.write_value(out)?,
            Err(_) => {
                out.write_str("...")?;
                break;
            }
        }
    }
    out.write_char(']')
}

/// Write an array of `count` values the call reads (`ppoll`'s fds).
pub fn array_in<T: TraceValue, M: UserMemory>(
    out: &mut dyn Write,
    mem: &M,
    addr: usize,
    count: usize,
) -> fmt::Result {
    array::<T, M>(out, mem, addr, (count as i32).max(0) as usize)
}

/// Write an array the call fills with as many values as it returns
/// (`epoll_pwait`'s events).
pub fn array_out<T: TraceValue, M: UserMemory>(
    out: &mut dyn Write,
    mem: &M,
    addr: usize,
    ret: Option<isize>,
) -> fmt::Result {
    match returned_len(ret) {
        Some(count) => array::<T, M>(out, mem, addr, count),
        None => self::addr(out, addr),
    }
}

/// Write a number without a spec entry: `syscall_0x123(0x1, ...)` with all six
/// registers, as strace shows an unknown call.
pub fn unknown_call(out: &mut dyn Write, nr: usize, raw: &[usize; 6]) -> fmt::Result {
    write!(out, "syscall_{nr:#x}(")?;
    for (i, value) in raw.iter().enumerate() {
        if i > 0 {
            out.write_str(", ")?;
        }
        if *value == 0 {
            out.write_char('0')?;
        } else {
            write!(out, "{value:#x}")?;
        }
    }
    out.write_char(')')
}

macro_rules! trace_int_value {
    ($($ty:ty),*) => {
        $(impl TraceValue for $ty {
            fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
                write!(out, "[{self}]")
            }
        })*
    };
}

trace_int_value!(i32, u32, i64, u64);

macro_rules! trace_by_address {
    ($($ty:ty),*) => {
        $(impl TraceValue for $ty {
            const DECODED: bool = false;

            fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
                out.write_str("{...}")
            }
        })*
    };
}

trace_by_address!(
    crate::EpollEvent,
    crate::Statfs,
    crate::SignalStack,
    crate::Rusage,
    crate::Statx,
    crate::Timezone,
    crate::Tms,
    crate::Sysinfo
);

/// File type names of `st_mode`, by the `S_IFMT` bits.
fn file_type(mode: u32) -> &'static str {
    match mode & 0o170000 {
        0o140000 => "S_IFSOCK",
        0o120000 => "S_IFLNK",
        0o100000 => "S_IFREG",
        0o060000 => "S_IFBLK",
        0o040000 => "S_IFDIR",
        0o020000 => "S_IFCHR",
        0o010000 => "S_IFIFO",
        _ => "0",
    }
}

impl TraceValue for Stat {
    /// strace's short form: the type and mode, then the size, or the device
    /// number for devices.
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        write!(out, "{{st_mode={}|{:04o}, ", file_type(self.st_mode), self.st_mode & 0o7777)?;
        match self.st_mode & 0o170000 {
            0o020000 | 0o060000 => {
                // The asm-generic encoding: major in bits 8-19 and 32-43,
                // minor in bits 0-7 and 20-31.
                let dev = self.st_rdev;
                let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
                let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
                write!(out, "st_rdev=makedev({major:#x}, {minor:#x}), ...}}")
            }
            _ => write!(out, "st_size={}, ...}}", self.st_size),
        }
    }
}

impl TraceValue for Timespec {
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        write!(out, "{{tv_sec={}, tv_nsec={}}}", self.tv_sec, self.tv_nsec)
    }
}

impl TraceValue for TimespecPair {
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        out.write_char('[')?;
        self.atime.write_value(out)?;
        out.write_str(", ")?;
        self.mtime.write_value(out)?;
        out.write_char(']')
    }
}

impl TraceValue for Timeval {
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        write!(out, "{{tv_sec={}, tv_usec={}}}", self.tv_sec, self.tv_usec)
    }
}

impl TraceValue for Itimerval {
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        out.write_str("{it_interval=")?;
        self.it_interval.write_value(out)?;
        out.write_str(", it_value=")?;
        self.it_value.write_value(out)?;
        out.write_char('}')
    }
}

/// strace's names of the `si_code` values the kernel sends.
const SI_CODES: NamedValues = &[(0, "SI_USER"), (0x80, "SI_KERNEL"), (-6, "SI_TKILL")];
/// The `si_code` names of SIGCHLD, whose positive codes mean other things
/// for other signals.
const CLD_CODES: NamedValues = &[(1, "CLD_EXITED"), (2, "CLD_KILLED")];
const SIGCHLD: i32 = 17;

impl TraceValue for Siginfo {
    /// strace's form for a signal from kill or tgkill:
    /// `{si_signo=SIGUSR1, si_code=SI_USER, si_pid=2, si_uid=0}`.
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        out.write_str("{si_signo=")?;
        signal(out, self.si_signo as usize)?;
        out.write_str(", si_code=")?;
        let child = self.si_signo == SIGCHLD && self.si_code > 0;
        let names = if child { CLD_CODES } else { SI_CODES };
        match names.iter().find(|(value, _)| *value == i64::from(self.si_code)) {
            Some((_, name)) => out.write_str(name)?,
            None => write!(out, "{}", self.si_code)?,
        }
        if self.si_code == 0 || self.si_code == -6 || child {
            let pid = self.fields[0] as u32;
            let uid = (self.fields[0] >> 32) as u32;
            write!(out, ", si_pid={pid}, si_uid={uid}")?;
        }
        out.write_char('}')
    }
}

impl TraceValue for FdPair {
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        write!(out, "[{}, {}]", self.fds[0], self.fds[1])
    }
}

impl TraceValue for Pollfd {
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        write!(out, "{{fd={}, events={:#x}}}", self.fd, self.events)
    }
}

fn write_rlimit_value(out: &mut dyn Write, value: u64) -> fmt::Result {
    if value == crate::RLIM_INFINITY {
        out.write_str("RLIM64_INFINITY")
    } else if value >= 1024 && value % 1024 == 0 {
        write!(out, "{}*1024", value / 1024)
    } else {
        write!(out, "{value}")
    }
}

impl TraceValue for Rlimit {
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        out.write_str("{rlim_cur=")?;
        write_rlimit_value(out, self.rlim_cur)?;
        out.write_str(", rlim_max=")?;
        write_rlimit_value(out, self.rlim_max)?;
        out.write_char('}')
    }
}

impl TraceValue for Sigaction {
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        out.write_str("{sa_handler=")?;
        match self.sa_handler {
            0 => out.write_str("SIG_DFL")?,
            1 => out.write_str("SIG_IGN")?,
            handler => write!(out, "{handler:#x}")?,
        }
        out.write_str(", sa_mask=")?;
        write_sigset(out, self.sa_mask)?;
        out.write_str(", sa_flags=")?;
        let flags = SaFlags::from_bits_retain(self.sa_flags);
        let mut first = true;
        for (name, _) in flags.iter_names() {
            if !first {
                out.write_char('|')?;
            }
            first = false;
            write!(out, "SA_{name}")?;
        }
        if first {
            out.write_char('0')?;
        }
        if flags.contains(SaFlags::RESTORER) {
            write!(out, ", sa_restorer={:#x}", self.sa_restorer)?;
        }
        out.write_char('}')
    }
}

impl TraceValue for Utsname {
    fn write_value(&self, out: &mut dyn Write) -> fmt::Result {
        fn field(bytes: &[u8]) -> &[u8] {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            &bytes[..end]
        }
        out.write_str("{sysname=")?;
        quoted(out, field(&self.sysname), false)?;
        out.write_str(", nodename=")?;
        quoted(out, field(&self.nodename), false)?;
        out.write_str(", ...}")
    }
}

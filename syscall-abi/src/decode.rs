//! Helpers that the generated shims use to decode raw register values.

use core::convert::Infallible;

use bitflags::Flags;

use crate::{DirFd, Fd, LinuxError, MmapFd, SysResult, SyscallInfo};

/// Conversion of one raw register value into an argument type. C `int`
/// arguments take the low 32 bits, as Linux does.
pub trait FromArg {
    fn from_arg(raw: usize) -> Self;
}

macro_rules! from_arg_by_cast {
    ($($ty:ty),*) => {
        $(impl FromArg for $ty {
            fn from_arg(raw: usize) -> Self {
                raw as $ty
            }
        })*
    };
}

from_arg_by_cast!(u8, i8, u16, i16, u32, i32, u64, i64, usize, isize);

impl FromArg for Fd {
    fn from_arg(raw: usize) -> Self {
        Fd(raw as i32)
    }
}

impl FromArg for DirFd {
    fn from_arg(raw: usize) -> Self {
        DirFd::from_raw(raw as i32)
    }
}

impl FromArg for MmapFd {
    fn from_arg(raw: usize) -> Self {
        MmapFd(raw as i32)
    }
}

/// Integer argument that gives the length of a buffer or array.
pub trait LenArg: Copy {
    /// Convert to a length: `None` when the value is negative.
    fn to_len(self) -> Option<usize>;
}

macro_rules! len_arg_unsigned {
    ($($ty:ty),*) => {
        $(impl LenArg for $ty {
            fn to_len(self) -> Option<usize> {
                usize::try_from(self).ok()
            }
        })*
    };
}

len_arg_unsigned!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// Length from a length argument: `EINVAL` when it is negative or above
/// `max`.
pub fn len_arg<L: LenArg>(value: L, max: Option<usize>) -> SysResult<usize> {
    let len = value.to_len().ok_or(LinuxError::EINVAL)?;
    match max {
        Some(max) if len > max => Err(LinuxError::EINVAL),
        _ => Ok(len),
    }
}

/// Flags with unknown bits dropped.
pub fn flags_ignore<F>(raw: usize) -> F
where
    F: Flags,
    F::Bits: FromArg,
{
    F::from_bits_truncate(F::Bits::from_arg(raw))
}

/// Flags with unknown bits kept for the handler to see.
pub fn flags_keep<F>(raw: usize) -> F
where
    F: Flags,
    F::Bits: FromArg,
{
    F::from_bits_retain(F::Bits::from_arg(raw))
}

/// Flags, or `EINVAL` when a bit is unknown.
pub fn flags_einval<F>(raw: usize) -> SysResult<F>
where
    F: Flags,
    F::Bits: FromArg,
{
    F::from_bits(F::Bits::from_arg(raw)).ok_or(LinuxError::EINVAL)
}

/// Flags, or `EINVAL` when a bit outside `allowed` is set. For calls that
/// accept only some of a shared flags type's bits (`unlinkat` takes only
/// `AT_REMOVEDIR` of [`AtFlags`](crate::AtFlags)).
pub fn flags_einval_within<F>(raw: usize, allowed: F) -> SysResult<F>
where
    F: Flags + Copy,
    F::Bits: FromArg,
{
    let flags = F::from_bits_retain(F::Bits::from_arg(raw));
    if allowed.contains(flags) {
        Ok(flags)
    } else {
        Err(LinuxError::EINVAL)
    }
}

/// Value of a successful handler method, as the syscall returns it in `x0`.
pub trait SyscallRet {
    fn into_isize(self) -> isize;
}

impl SyscallRet for () {
    fn into_isize(self) -> isize {
        0
    }
}

impl SyscallRet for i32 {
    fn into_isize(self) -> isize {
        self as isize
    }
}

impl SyscallRet for isize {
    fn into_isize(self) -> isize {
        self
    }
}

impl SyscallRet for usize {
    fn into_isize(self) -> isize {
        self as isize
    }
}

impl SyscallRet for Infallible {
    fn into_isize(self) -> isize {
        match self {}
    }
}

/// Encode a handler result: `Ok(v)` as `v`, `Err(e)` as `-errno`.
pub fn encode<T: SyscallRet>(result: SysResult<T>) -> isize {
    match result {
        Ok(value) => value.into_isize(),
        Err(e) => -(e as i32 as isize),
    }
}

/// Log a call's arguments at trace level.
pub fn trace_entry(info: &SyscallInfo, raw: &[usize; 6]) {
    log::trace!("{}", info.display_call(raw));
}

/// Encode the result and log it at trace level.
pub fn finish<T: SyscallRet>(info: &SyscallInfo, raw: &[usize; 6], result: SysResult<T>) -> isize {
    let value = encode(result);
    match result_errno(value) {
        Some(e) => log::trace!("{} = -1 {e:?}", info.display_call(raw)),
        None => log::trace!("{} = {value}", info.display_call(raw)),
    }
    value
}

/// Return the errno of an encoded result, or `None` for a success value.
fn result_errno(value: isize) -> Option<LinuxError> {
    if (-4095..0).contains(&value) {
        LinuxError::try_from(-value as i32).ok()
    } else {
        None
    }
}

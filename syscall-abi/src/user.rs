//! User memory access and the typed user-pointer arguments.
//!
//! The generated checks only look at addresses: null, overflow and the end
//! of the user half. Whether the pages are mapped is found out when the
//! handler reads or writes through [`UserMemory`], which fails with `EFAULT`.

use alloc::vec::Vec;
use core::marker::PhantomData;
use core::mem::size_of;

use smallvec::SmallVec;
use zerocopy::{FromBytes, Immutable, IntoBytes};

use crate::{Iovec, LinuxError, SysResult};

/// End of the user address range (exclusive): 48-bit virtual addresses, as
/// Linux uses on aarch64 with 4 KiB pages.
pub const USER_ADDR_END: usize = 1 << 48;

/// Page size that string reads stay within before they need the next page.
pub const PAGE_SIZE: usize = 4096;

/// Maximum path length in bytes, including the terminating NUL.
pub const PATH_MAX: usize = 4096;

/// Maximum number of `struct iovec` entries in one call.
pub const IOV_MAX: usize = 1024;

/// Check that `[addr, addr + size)` lies below [`USER_ADDR_END`].
pub fn check_user_range(addr: usize, size: usize) -> SysResult<()> {
    match addr.checked_add(size) {
        Some(end) if end <= USER_ADDR_END => Ok(()),
        _ => Err(LinuxError::EFAULT),
    }
}

/// The calling task's memory, as the kernel or a test mock provides it.
pub trait UserMemory {
    /// Fill `buf` from user address `addr`: `EFAULT` when any byte is not
    /// mapped readable.
    fn read(&self, addr: usize, buf: &mut [u8]) -> SysResult<()>;

    /// Copy `data` to user address `addr`: `EFAULT` when any byte is not
    /// mapped writable.
    fn write(&self, addr: usize, data: &[u8]) -> SysResult<()>;

    /// Copy the slices of `parts`, one after the other, to user memory from
    /// `addr`, and return the number of bytes copied. The copy stops at the
    /// first page that is not mapped writable (or that fails to get a
    /// frame), so a short count is the number of bytes before that page.
    fn write_parts(&self, addr: usize, parts: &mut dyn Iterator<Item = &[u8]>) -> usize {
        write_parts_with(addr, parts, |addr, data| self.write(addr, data))
    }

    /// Read one value of a plain-data type.
    fn read_val<T: FromBytes + IntoBytes>(&self, addr: usize) -> SysResult<T> {
        check_user_range(addr, size_of::<T>())?;
        let mut value = T::new_zeroed();
        self.read(addr, value.as_mut_bytes())?;
        Ok(value)
    }

    /// Write one value of a plain-data type.
    fn write_val<T: IntoBytes + Immutable>(&self, addr: usize, value: &T) -> SysResult<()> {
        check_user_range(addr, size_of::<T>())?;
        self.write(addr, value.as_bytes())
    }

    /// Read a NUL-terminated string of at most `max_len` bytes including the
    /// NUL, and return it without the NUL. Reads go page by page, so bytes
    /// after the NUL's page are never touched. `ENAMETOOLONG` when the first
    /// `max_len` bytes hold no NUL, `EFAULT` when a byte before the NUL is
    /// unreadable.
    fn read_cstr(&self, addr: usize, max_len: usize) -> SysResult<Vec<u8>> {
        let mut out = Vec::new();
        read_cstr_chunks(self, addr, max_len, |chunk| out.extend_from_slice(chunk))?;
        Ok(out)
    }
}

/// Copies `parts` to user address `addr` with `write`, which copies one
/// slice whole or fails, as [`UserMemory::write_parts`] describes.
pub fn write_parts_with(
    addr: usize,
    parts: &mut dyn Iterator<Item = &[u8]>,
    mut write: impl FnMut(usize, &[u8]) -> SysResult<()>,
) -> usize {
    let mut done = 0;
    for part in parts {
        let Some(start) = addr.checked_add(done) else {
            break;
        };
        if write(start, part).is_ok() {
            done += part.len();
            continue;
        }
        // Copy the part page by page to find the first page that fails.
        let mut copied = 0;
        while copied < part.len() {
            let at = start + copied;
            let piece = (PAGE_SIZE - at % PAGE_SIZE).min(part.len() - copied);
            if write(at, &part[copied..copied + piece]).is_err() {
                return done + copied;
            }
            copied += piece;
        }
        done += copied;
    }
    done
}

/// Reads the NUL-terminated string at `addr` as [`UserMemory::read_cstr`]
/// does, passing its bytes to `sink` in chunks, without the NUL.
fn read_cstr_chunks<M: UserMemory + ?Sized>(
    mem: &M,
    addr: usize,
    max_len: usize,
    mut sink: impl FnMut(&[u8]),
) -> SysResult<()> {
    if addr == 0 || addr >= USER_ADDR_END {
        return Err(LinuxError::EFAULT);
    }
    let mut chunk = [0u8; 256];
    let mut cursor = addr;
    let mut copied = 0;
    while copied < max_len {
        if cursor >= USER_ADDR_END {
            return Err(LinuxError::EFAULT);
        }
        let page_left = PAGE_SIZE - cursor % PAGE_SIZE;
        let want = page_left.min(chunk.len()).min(max_len - copied);
        mem.read(cursor, &mut chunk[..want])?;
        if let Some(nul) = chunk[..want].iter().position(|&b| b == 0) {
            sink(&chunk[..nul]);
            return Ok(());
        }
        sink(&chunk[..want]);
        copied += want;
        cursor += want;
    }
    Err(LinuxError::ENAMETOOLONG)
}

/// Pointer to one `T` that the call reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserIn<T> {
    addr: usize,
    _marker: PhantomData<fn() -> T>,
}

/// Pointer to one `T` that the call writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserOut<T> {
    addr: usize,
    _marker: PhantomData<fn() -> T>,
}

/// Pointer to one `T` that the call reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserInOut<T> {
    addr: usize,
    _marker: PhantomData<fn() -> T>,
}

macro_rules! single_pointer {
    ($name:ident) => {
        impl<T> $name<T> {
            /// Check a non-nullable pointer: `EFAULT` when null or when
            /// `size_of::<T>()` bytes do not fit below [`USER_ADDR_END`].
            pub fn new(addr: usize) -> SysResult<Self> {
                if addr == 0 {
                    return Err(LinuxError::EFAULT);
                }
                check_user_range(addr, size_of::<T>())?;
                Ok(Self {
                    addr,
                    _marker: PhantomData,
                })
            }

            /// Check a nullable pointer: `None` for null.
            pub fn new_nullable(addr: usize) -> SysResult<Option<Self>> {
                if addr == 0 {
                    return Ok(None);
                }
                Self::new(addr).map(Some)
            }

            pub fn addr(&self) -> usize {
                self.addr
            }
        }
    };
}

single_pointer!(UserIn);
single_pointer!(UserOut);
single_pointer!(UserInOut);

macro_rules! single_read {
    ($name:ident) => {
        impl<T: FromBytes + IntoBytes> $name<T> {
            /// Copy the value in from user memory.
            pub fn read(&self, mem: &impl UserMemory) -> SysResult<T> {
                mem.read_val(self.addr)
            }
        }
    };
}

macro_rules! single_write {
    ($name:ident) => {
        impl<T: IntoBytes + Immutable> $name<T> {
            /// Copy `value` out to user memory.
            pub fn write(&self, mem: &impl UserMemory, value: &T) -> SysResult<()> {
                mem.write_val(self.addr, value)
            }
        }
    };
}

single_read!(UserIn);
single_read!(UserInOut);
single_write!(UserOut);
single_write!(UserInOut);

/// Array of `len` values of `T` that the call reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserInSlice<T> {
    addr: usize,
    len: usize,
    _marker: PhantomData<fn() -> T>,
}

/// Array of `len` values of `T` that the call writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserOutSlice<T> {
    addr: usize,
    len: usize,
    _marker: PhantomData<fn() -> T>,
}

/// Array of `len` values of `T` that the call reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserInOutSlice<T> {
    addr: usize,
    len: usize,
    _marker: PhantomData<fn() -> T>,
}

/// Byte buffer that the call reads (`write(fd, buf, count)`).
pub type UserInBytes = UserInSlice<u8>;
/// Byte buffer that the call writes (`read(fd, buf, count)`).
pub type UserOutBytes = UserOutSlice<u8>;
/// Byte buffer that the call reads and writes.
pub type UserInOutBytes = UserInOutSlice<u8>;

/// Element range `[start, start + count)` of a slice of `len` elements, as a
/// byte offset: `EFAULT` when it does not fit, which is a handler bug.
fn element_offset<T>(len: usize, start: usize, count: usize) -> SysResult<usize> {
    match start.checked_add(count) {
        Some(end) if end <= len => Ok(start * size_of::<T>()),
        _ => Err(LinuxError::EFAULT),
    }
}

macro_rules! slice_pointer {
    ($name:ident) => {
        impl<T> $name<T> {
            /// Check a non-nullable array of `len` elements. A zero-length
            /// array may be null (Linux accepts `read(fd, NULL, 0)`);
            /// otherwise null, an overflowing size or a range reaching
            /// [`USER_ADDR_END`] is `EFAULT`.
            pub fn new(addr: usize, len: usize) -> SysResult<Self> {
                let bytes = len.checked_mul(size_of::<T>()).ok_or(LinuxError::EFAULT)?;
                if addr == 0 && bytes != 0 {
                    return Err(LinuxError::EFAULT);
                }
                check_user_range(addr, bytes)?;
                Ok(Self {
                    addr,
                    len,
                    _marker: PhantomData,
                })
            }

            /// Check a nullable array: `None` for null.
            pub fn new_nullable(addr: usize, len: usize) -> SysResult<Option<Self>> {
                if addr == 0 {
                    return Ok(None);
                }
                Self::new(addr, len).map(Some)
            }

            pub fn addr(&self) -> usize {
                self.addr
            }

            /// Number of elements.
            pub fn len(&self) -> usize {
                self.len
            }

            pub fn is_empty(&self) -> bool {
                self.len == 0
            }

            pub fn byte_len(&self) -> usize {
                self.len * size_of::<T>()
            }
        }
    };
}

slice_pointer!(UserInSlice);
slice_pointer!(UserOutSlice);
slice_pointer!(UserInOutSlice);

macro_rules! slice_read {
    ($name:ident) => {
        impl<T: FromBytes + IntoBytes> $name<T> {
            /// Fill `out` from the elements starting at index `start`.
            pub fn read_into(
                &self,
                mem: &impl UserMemory,
                start: usize,
                out: &mut [T],
            ) -> SysResult<()> {
                if out.is_empty() {
                    return Ok(());
                }
                let offset = element_offset::<T>(self.len, start, out.len())?;
                mem.read(self.addr + offset, out.as_mut_bytes())
            }

            /// Copy all elements in.
            pub fn read_to_vec(&self, mem: &impl UserMemory) -> SysResult<Vec<T>> {
                let mut out = Vec::with_capacity(self.len);
                out.resize_with(self.len, T::new_zeroed);
                self.read_into(mem, 0, &mut out)?;
                Ok(out)
            }
        }
    };
}

macro_rules! slice_write {
    ($name:ident) => {
        impl<T: IntoBytes + Immutable> $name<T> {
            /// Copy `data` out to the elements starting at index `start`.
            pub fn write_from(
                &self,
                mem: &impl UserMemory,
                start: usize,
                data: &[T],
            ) -> SysResult<()> {
                if data.is_empty() {
                    return Ok(());
                }
                let offset = element_offset::<T>(self.len, start, data.len())?;
                mem.write(self.addr + offset, data.as_bytes())
            }
        }
    };
}

slice_read!(UserInSlice);
slice_read!(UserInOutSlice);
slice_write!(UserOutSlice);
slice_write!(UserInOutSlice);

/// Number of path bytes that a [`UserPath`] stores inline. Longer paths
/// move to the heap.
pub const PATH_INLINE_LEN: usize = 256;

/// A path, copied in before the handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPath {
    addr: usize,
    bytes: SmallVec<[u8; PATH_INLINE_LEN]>,
}

impl UserPath {
    /// Copy a path in: `EFAULT` when null or unreadable, `ENAMETOOLONG` when
    /// it has [`PATH_MAX`] bytes or more before the NUL. An empty path is
    /// returned as it is: the handler decides on `ENOENT`, because
    /// `AT_EMPTY_PATH` allows it.
    pub fn read_in(mem: &impl UserMemory, addr: usize) -> SysResult<Self> {
        let mut bytes = SmallVec::new();
        read_cstr_chunks(mem, addr, PATH_MAX, |chunk| bytes.extend_from_slice(chunk))?;
        Ok(Self { addr, bytes })
    }

    /// Like [`UserPath::read_in`], but null gives `None`.
    pub fn read_in_nullable(mem: &impl UserMemory, addr: usize) -> SysResult<Option<Self>> {
        if addr == 0 {
            return Ok(None);
        }
        Self::read_in(mem, addr).map(Some)
    }

    /// Build a path from bytes, for tests and kernel-internal callers.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self {
            addr: 0,
            bytes: SmallVec::from_slice(bytes),
        }
    }

    pub fn addr(&self) -> usize {
        self.addr
    }

    /// Return the path without its NUL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Return the path as UTF-8. Linux paths are bytes, so the caller chooses the
    /// errno for a path that is not UTF-8.
    pub fn to_str(&self) -> Result<&str, core::str::Utf8Error> {
        core::str::from_utf8(&self.bytes)
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn is_absolute(&self) -> bool {
        self.bytes.first() == Some(&b'/')
    }
}

/// A NUL-terminated string other than a path. Only the address is checked
/// before the handler runs; the handler copies it in with the limit and
/// errno of its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCStr {
    addr: usize,
}

impl UserCStr {
    /// `EFAULT` when null or not below [`USER_ADDR_END`].
    pub fn new(addr: usize) -> SysResult<Self> {
        if addr == 0 || addr >= USER_ADDR_END {
            return Err(LinuxError::EFAULT);
        }
        Ok(Self { addr })
    }

    pub fn new_nullable(addr: usize) -> SysResult<Option<Self>> {
        if addr == 0 {
            return Ok(None);
        }
        Self::new(addr).map(Some)
    }

    pub fn addr(&self) -> usize {
        self.addr
    }

    /// Copy the string in; see [`UserMemory::read_cstr`] for the errors.
    pub fn read(&self, mem: &impl UserMemory, max_len: usize) -> SysResult<Vec<u8>> {
        mem.read_cstr(self.addr, max_len)
    }
}

/// A null-terminated array of string pointers (`argv`, `envp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCStrArray {
    addr: usize,
}

impl UserCStrArray {
    /// `EFAULT` when null or not below [`USER_ADDR_END`].
    pub fn new(addr: usize) -> SysResult<Self> {
        if addr == 0 || addr >= USER_ADDR_END {
            return Err(LinuxError::EFAULT);
        }
        Ok(Self { addr })
    }

    pub fn new_nullable(addr: usize) -> SysResult<Option<Self>> {
        if addr == 0 {
            return Ok(None);
        }
        Self::new(addr).map(Some)
    }

    pub fn addr(&self) -> usize {
        self.addr
    }

    /// Copy every string in. `E2BIG` when there are more than `max_count`
    /// strings or their bytes, NULs included, exceed `max_total`; `EFAULT`
    /// when a pointer or a string is unreadable.
    pub fn read_all(
        &self,
        mem: &impl UserMemory,
        max_count: usize,
        max_total: usize,
    ) -> SysResult<Vec<Vec<u8>>> {
        let mut strings = Vec::new();
        let mut total = 0usize;
        loop {
            let slot = strings.len().checked_mul(8).ok_or(LinuxError::EFAULT)?;
            let pointer: u64 =
                mem.read_val(self.addr.checked_add(slot).ok_or(LinuxError::EFAULT)?)?;
            if pointer == 0 {
                return Ok(strings);
            }
            if strings.len() == max_count {
                return Err(LinuxError::E2BIG);
            }
            let left = max_total - total;
            let string = mem.read_cstr(pointer as usize, left).map_err(|e| {
                if e == LinuxError::ENAMETOOLONG {
                    LinuxError::E2BIG
                } else {
                    e
                }
            })?;
            total += string.len() + 1;
            strings.push(string);
        }
    }
}

/// A `struct iovec` array, copied in and checked before the handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iovecs {
    iovs: Vec<Iovec>,
}

impl Iovecs {
    /// Copy `count` iovecs in from `addr`. `count` above `max` and an entry
    /// length that is negative as `ssize_t` are `EINVAL`. An array that is
    /// unreadable or does not fit below [`USER_ADDR_END`] is `EFAULT`, and
    /// so is a non-empty entry that does not fit.
    pub fn read_in(
        mem: &impl UserMemory,
        addr: usize,
        count: usize,
        max: usize,
    ) -> SysResult<Self> {
        if count > max {
            return Err(LinuxError::EINVAL);
        }
        if count == 0 {
            return Ok(Self { iovs: Vec::new() });
        }
        let slice = UserInSlice::<Iovec>::new(addr, count)?;
        let iovs = slice.read_to_vec(mem)?;
        for iov in &iovs {
            if iov.iov_len > isize::MAX as u64 {
                return Err(LinuxError::EINVAL);
            }
        }
        for iov in &iovs {
            if iov.iov_len != 0 {
                if iov.iov_base == 0 {
                    return Err(LinuxError::EFAULT);
                }
                check_user_range(iov.iov_base as usize, iov.iov_len as usize)?;
            }
        }
        Ok(Self { iovs })
    }

    pub fn as_slice(&self) -> &[Iovec] {
        &self.iovs
    }

    pub fn len(&self) -> usize {
        self.iovs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.iovs.is_empty()
    }

    /// Sum of the entry lengths, saturating at `usize::MAX`.
    pub fn total_len(&self) -> usize {
        self.iovs
            .iter()
            .fold(0usize, |sum, iov| sum.saturating_add(iov.iov_len as usize))
    }

    /// Entries as buffers the call reads from (writev).
    pub fn in_buffers(&self) -> impl Iterator<Item = UserInBytes> + '_ {
        self.iovs.iter().map(|iov| UserInSlice {
            addr: iov.iov_base as usize,
            len: iov.iov_len as usize,
            _marker: PhantomData,
        })
    }

    /// Entries as buffers the call writes to (readv).
    pub fn out_buffers(&self) -> impl Iterator<Item = UserOutBytes> + '_ {
        self.iovs.iter().map(|iov| UserOutSlice {
            addr: iov.iov_base as usize,
            len: iov.iov_len as usize,
            _marker: PhantomData,
        })
    }
}

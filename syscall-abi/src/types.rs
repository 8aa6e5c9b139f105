//! File descriptor argument types.

/// `AT_FDCWD` as the `*at` calls receive it (-100 on every architecture).
pub const AT_FDCWD: i32 = linux_raw_sys::general::AT_FDCWD;

/// A file descriptor argument. The generated code passes it to
/// [`SyscallContext::check_fd`](crate::SyscallContext::check_fd) before any
/// pointer argument is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fd(pub i32);

impl Fd {
    pub const fn raw(self) -> i32 {
        self.0
    }
}

/// The directory argument of the `*at` calls. It is not checked before the
/// handler runs, because an absolute path ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirFd {
    /// `AT_FDCWD`: relative paths start at the working directory.
    Cwd,
    Fd(i32),
}

impl DirFd {
    pub const fn from_raw(raw: i32) -> Self {
        if raw == AT_FDCWD {
            DirFd::Cwd
        } else {
            DirFd::Fd(raw)
        }
    }

    pub const fn raw(self) -> i32 {
        match self {
            DirFd::Cwd => AT_FDCWD,
            DirFd::Fd(fd) => fd,
        }
    }
}

/// The fd argument of `mmap`: ignored with `MAP_ANONYMOUS`, where callers
/// pass -1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MmapFd(pub i32);

impl MmapFd {
    /// Return the fd, or `None` for -1.
    pub const fn get(self) -> Option<i32> {
        if self.0 == -1 { None } else { Some(self.0) }
    }

    pub const fn raw(self) -> i32 {
        self.0
    }
}

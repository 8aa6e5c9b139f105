//! The file descriptor table of a process.

use alloc::{sync::Arc, vec::Vec};

use crate::{LinuxError, VfsResult, file::FileLike};

/// Default `RLIMIT_NOFILE` soft limit, as on Linux.
pub const DEFAULT_NOFILE_LIMIT: usize = 1024;
/// Largest `RLIMIT_NOFILE` limit, Linux's default `fs.nr_open`.
pub const MAX_NOFILE_LIMIT: usize = 1 << 20;

#[derive(Clone)]
struct FdEntry {
    file: Arc<dyn FileLike>,
    close_on_exec: bool,
}

/// Maps descriptor numbers to open file descriptions.
///
/// New descriptors take the lowest free number, as POSIX requires, and
/// numbers at or above the `RLIMIT_NOFILE` limit are rejected with `EMFILE`.
#[derive(Clone)]
pub struct FdTable {
    entries: Vec<Option<FdEntry>>,
    limit: usize,
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    pub fn new() -> Self {
        Self {
            entries: Vec::new(),
            limit: DEFAULT_NOFILE_LIMIT,
        }
    }

    /// Returns the `RLIMIT_NOFILE` soft limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Sets the `RLIMIT_NOFILE` soft limit, at most [`MAX_NOFILE_LIMIT`].
    /// Open descriptors above it stay open.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(MAX_NOFILE_LIMIT);
    }

    /// Returns the file that `fd` refers to, or `EBADF`.
    pub fn get(&self, fd: i32) -> VfsResult<Arc<dyn FileLike>> {
        self.entry(fd).map(|entry| entry.file.clone())
    }

    /// Returns whether `fd` is open.
    pub fn contains(&self, fd: i32) -> bool {
        self.entry(fd).is_ok()
    }

    /// Installs `file` at the lowest free descriptor; `EMFILE` when none is
    /// free, a limit of 0 included.
    pub fn insert(&mut self, file: Arc<dyn FileLike>, close_on_exec: bool) -> VfsResult<i32> {
        if self.limit == 0 {
            return Err(LinuxError::EMFILE);
        }
        self.insert_from(0, file, close_on_exec)
    }

    /// Installs `file` at the lowest free descriptor not below `min_fd`
    /// (`fcntl(F_DUPFD)`). Fails with `EINVAL` when `min_fd` is at or above the
    /// limit and with `EMFILE` when no number is free below it.
    pub fn insert_from(
        &mut self,
        min_fd: usize,
        file: Arc<dyn FileLike>,
        close_on_exec: bool,
    ) -> VfsResult<i32> {
        if min_fd >= self.limit {
            return Err(LinuxError::EINVAL);
        }
        let free = (min_fd..self.limit)
            .find(|&fd| self.entries.get(fd).is_none_or(|entry| entry.is_none()))
            .ok_or(LinuxError::EMFILE)?;
        self.put(free, file, close_on_exec)?;
        Ok(free as i32)
    }

    /// Installs `file` at `fd`, closing what was there (`dup2`/`dup3`).
    /// Returns the file that was replaced, which the caller drops last.
    pub fn insert_at(
        &mut self,
        fd: i32,
        file: Arc<dyn FileLike>,
        close_on_exec: bool,
    ) -> VfsResult<Option<Arc<dyn FileLike>>> {
        let index = usize::try_from(fd).map_err(|_| LinuxError::EBADF)?;
        if index >= self.limit {
            return Err(LinuxError::EBADF);
        }
        let old = self.put(index, file, close_on_exec)?;
        Ok(old.map(|entry| entry.file))
    }

    /// Closes `fd` and returns its file, or `EBADF`.
    pub fn remove(&mut self, fd: i32) -> VfsResult<Arc<dyn FileLike>> {
        let index = usize::try_from(fd).map_err(|_| LinuxError::EBADF)?;
        let entry = self
            .entries
            .get_mut(index)
            .and_then(Option::take)
            .ok_or(LinuxError::EBADF)?;
        while matches!(self.entries.last(), Some(None)) {
            self.entries.pop();
        }
        Ok(entry.file)
    }

    /// Returns the close-on-exec flag of `fd` (`FD_CLOEXEC`).
    pub fn close_on_exec(&self, fd: i32) -> VfsResult<bool> {
        self.entry(fd).map(|entry| entry.close_on_exec)
    }

    /// Sets the close-on-exec flag of `fd`.
    pub fn set_close_on_exec(&mut self, fd: i32, close_on_exec: bool) -> VfsResult<()> {
        let index = usize::try_from(fd).map_err(|_| LinuxError::EBADF)?;
        let entry = self
            .entries
            .get_mut(index)
            .and_then(Option::as_mut)
            .ok_or(LinuxError::EBADF)?;
        entry.close_on_exec = close_on_exec;
        Ok(())
    }

    /// Closes every descriptor marked close-on-exec, as `execve` does.
    pub fn close_all_on_exec(&mut self) {
        for slot in &mut self.entries {
            if slot.as_ref().is_some_and(|entry| entry.close_on_exec) {
                *slot = None;
            }
        }
        while matches!(self.entries.last(), Some(None)) {
            self.entries.pop();
        }
    }

    /// Returns the open descriptor numbers in increasing order.
    pub fn open_fds(&self) -> Vec<i32> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.is_some())
            .map(|(fd, _)| fd as i32)
            .collect()
    }

    /// Closes every descriptor, as process exit does.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    fn entry(&self, fd: i32) -> VfsResult<&FdEntry> {
        let index = usize::try_from(fd).map_err(|_| LinuxError::EBADF)?;
        self.entries
            .get(index)
            .and_then(Option::as_ref)
            .ok_or(LinuxError::EBADF)
    }

    /// Stores `file` at `index` and returns the entry it replaced.
    fn put(
        &mut self,
        index: usize,
        file: Arc<dyn FileLike>,
        close_on_exec: bool,
    ) -> VfsResult<Option<FdEntry>> {
        if self.entries.len() <= index {
            self.entries
                .try_reserve(index + 1 - self.entries.len())
                .map_err(|_| LinuxError::ENOMEM)?;
            self.entries.resize(index + 1, None);
        }
        let entry = FdEntry {
            file,
            close_on_exec,
        };
        Ok(self.entries[index].replace(entry))
    }
}

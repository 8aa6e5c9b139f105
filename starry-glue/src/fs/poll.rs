//! Waiting for file readiness: `ppoll`, `pselect6` and `epoll`.
//!
//! Waits poll the files, then sleep (`crate::wait`) and poll again until an
//! event, a pending signal (`EINTR`) or the timeout. The signal mask arguments of
//! `ppoll`, `pselect6` and `epoll_pwait` are installed for the wait
//! (`signal::begin_temporary_mask`).

use alloc::{sync::Arc, vec, vec::Vec};
use core::time::Duration;

use axerrno::LinuxError;
use axhal::time::monotonic_time_nanos;
use starry_vfs::{
    Epoll, FileLike, FsContext,
    poll::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, ready_events},
};
use syscall_abi::{SysResult, Timespec};

use crate::process::signal::{self, Restart};

/// Maximum number of descriptors `select` handles (`FD_SETSIZE`).
pub const FD_SETSIZE: usize = 1024;

/// A point in monotonic time at which a wait ends; `None` waits forever.
pub struct Deadline(Option<u64>);

impl Deadline {
    /// Converts a relative timeout; `EINVAL` for a negative or invalid one.
    pub fn after(timeout: Option<Timespec>) -> SysResult<Self> {
        let Some(timeout) = timeout else {
            return Ok(Self(None));
        };
        if timeout.tv_sec < 0 || !(0..1_000_000_000).contains(&timeout.tv_nsec) {
            return Err(LinuxError::EINVAL);
        }
        let nanos = (timeout.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(timeout.tv_nsec as u64);
        Ok(Self(Some(monotonic_time_nanos().saturating_add(nanos))))
    }

    /// Converts an `epoll_wait` timeout in milliseconds; negative waits forever.
    pub fn after_millis(timeout: i32) -> Self {
        match u64::try_from(timeout) {
            Ok(millis) => Self(Some(monotonic_time_nanos() + millis * 1_000_000)),
            Err(_) => Self(None),
        }
    }

    fn expired(&self) -> bool {
        self.0.is_some_and(|end| monotonic_time_nanos() >= end)
    }

    /// Returns the time left; `None` for a wait without a timeout.
    fn remaining_duration(&self) -> Option<Duration> {
        let end = self.0?;
        Some(Duration::from_nanos(end.saturating_sub(monotonic_time_nanos())))
    }

    /// Returns the time left, for the updated `pselect6` timeout.
    pub fn remaining(&self) -> Option<Timespec> {
        let end = self.0?;
        let left = end.saturating_sub(monotonic_time_nanos());
        Some(Timespec {
            tv_sec: (left / 1_000_000_000) as i64,
            tv_nsec: (left % 1_000_000_000) as i64,
        })
    }
}

/// Calls `check` until it returns a non-zero count or the deadline passes.
/// A signal ends the wait with `EINTR`. `restart` is the rule that decides
/// whether the call runs again after the signal.
pub fn wait_until<R: Default + PartialEq>(
    deadline: &Deadline,
    restart: Restart,
    mut check: impl FnMut() -> SysResult<R>,
) -> SysResult<R> {
    loop {
        let result = check()?;
        if result != R::default() || deadline.expired() {
            return Ok(result);
        }
        if super::io::signal_pending() {
            return Err(signal::interrupted(restart));
        }
        crate::wait::sleep_until_file_event(deadline.remaining_duration());
    }
}

/// One `struct pollfd`, with the file it names resolved once.
pub struct PollEntry {
    pub fd: i32,
    pub events: u32,
    file: Option<Arc<dyn FileLike>>,
}

/// Resolves the descriptors of a `ppoll` call; a closed one gets `POLLNVAL`.
pub fn resolve_poll_entries(fs: &FsContext, fds: impl Iterator<Item = (i32, u32)>) -> Vec<PollEntry> {
    fds.map(|(fd, events)| PollEntry {
        fd,
        events,
        file: if fd < 0 { None } else { fs.fd_table.get(fd).ok() },
    })
    .collect()
}

/// Returns the `revents` of each entry.
pub fn poll_entries(entries: &[PollEntry]) -> Vec<u32> {
    entries
        .iter()
        .map(|entry| match &entry.file {
            _ if entry.fd < 0 => 0,
            None => POLLNVAL,
            Some(file) => ready_events(file.poll(), entry.events | POLLERR | POLLHUP),
        })
        .collect()
}

/// The three descriptor sets of `select`, as bit arrays of 64-bit words.
pub struct SelectSets {
    pub nfds: usize,
    pub sets: [Option<Vec<u64>>; 3],
}

impl SelectSets {
    pub fn word_count(nfds: usize) -> usize {
        nfds.div_ceil(64)
    }

    /// Checks `nfds` and that every descriptor in the sets is open.
    pub fn validate(nfds: i32, fs: &FsContext, sets: [Option<Vec<u64>>; 3]) -> SysResult<Self> {
        let nfds = usize::try_from(nfds).map_err(|_| LinuxError::EINVAL)?;
        if nfds > FD_SETSIZE {
            return Err(LinuxError::EINVAL);
        }
        let selected = Self { nfds, sets };
        for fd in 0..nfds {
            if selected.is_requested(fd) && !fs.fd_table.contains(fd as i32) {
                return Err(LinuxError::EBADF);
            }
        }
        Ok(selected)
    }

    fn bit(set: &Option<Vec<u64>>, fd: usize) -> bool {
        set.as_ref().is_some_and(|words| words[fd / 64] & (1 << (fd % 64)) != 0)
    }

    fn is_requested(&self, fd: usize) -> bool {
        self.sets.iter().any(|set| Self::bit(set, fd))
    }

    /// Returns the ready sets and the number of bits set in them.
    pub fn poll(&self, fs_files: &[(usize, Arc<dyn FileLike>)]) -> (usize, [Option<Vec<u64>>; 3]) {
        let words = Self::word_count(self.nfds);
        let mut ready: [Option<Vec<u64>>; 3] = core::array::from_fn(|index| {
            self.sets[index].as_ref().map(|_| vec![0u64; words])
        });
        let mut count = 0;
        for (fd, file) in fs_files {
            let revents = ready_events(file.poll(), POLLIN | POLLOUT | POLLPRI);
            let masks = [POLLIN | POLLHUP, POLLOUT, POLLPRI];
            for (index, mask) in masks.into_iter().enumerate() {
                if Self::bit(&self.sets[index], *fd)
                    && revents & mask != 0
                    && let Some(words) = ready[index].as_mut()
                {
                    words[fd / 64] |= 1 << (fd % 64);
                    count += 1;
                }
            }
        }
        (count, ready)
    }

    /// Returns the files of the requested descriptors.
    pub fn files(&self, fs: &FsContext) -> Vec<(usize, Arc<dyn FileLike>)> {
        (0..self.nfds)
            .filter(|&fd| self.is_requested(fd))
            .filter_map(|fd| fs.fd_table.get(fd as i32).ok().map(|file| (fd, file)))
            .collect()
    }
}

/// Returns the epoll instance open as `epfd`, or `EINVAL` for another file.
pub fn epoll_of(fs: &FsContext, epfd: i32) -> SysResult<Arc<dyn FileLike>> {
    let file = fs.fd_table.get(epfd)?;
    if file.as_any().downcast_ref::<Epoll>().is_none() {
        return Err(LinuxError::EINVAL);
    }
    Ok(file)
}

//! Readiness of files for `poll`, `select` and `epoll`.

use alloc::{
    collections::BTreeMap,
    sync::{Arc, Weak},
    vec::Vec,
};
use core::any::Any;

use spin::Mutex;

use crate::{
    LinuxError, OpenFlags, Stat, VfsResult,
    file::{FileLike, PollState},
};

/// `poll` event bits; `epoll` uses the same values for these.
pub const POLLIN: u32 = 0x1;
pub const POLLPRI: u32 = 0x2;
pub const POLLOUT: u32 = 0x4;
pub const POLLERR: u32 = 0x8;
pub const POLLHUP: u32 = 0x10;
pub const POLLNVAL: u32 = 0x20;
pub const POLLRDNORM: u32 = 0x40;
pub const POLLWRNORM: u32 = 0x100;

/// `epoll_ctl` operations.
pub const EPOLL_CTL_ADD: i32 = 1;
pub const EPOLL_CTL_DEL: i32 = 2;
pub const EPOLL_CTL_MOD: i32 = 3;

/// Returns the events of `requested` that `state` satisfies, plus the
/// error and hang-up events, which are reported whether requested or not.
pub fn ready_events(state: PollState, requested: u32) -> u32 {
    let mut events = 0;
    if state.readable {
        events |= POLLIN | POLLRDNORM;
    }
    if state.writable {
        events |= POLLOUT | POLLWRNORM;
    }
    (events & requested) | if state.hangup { POLLHUP } else { 0 }
}

struct Interest {
    file: Weak<dyn FileLike>,
    events: u32,
    data: u64,
}

/// An epoll instance: the files registered with `epoll_ctl`, by descriptor.
///
/// Readiness is level-triggered. A registration ends with `EPOLL_CTL_DEL` or
/// when its file is closed everywhere.
///
/// TODO: `EPOLLET` and `EPOLLONESHOT` are accepted but act level-triggered.
pub struct Epoll {
    interests: Mutex<BTreeMap<i32, Interest>>,
}

impl Default for Epoll {
    fn default() -> Self {
        Self::new()
    }
}

impl Epoll {
    pub fn new() -> Self {
        Self {
            interests: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds, changes or removes the registration of `file`, open as `fd`.
    pub fn control(&self, op: i32, fd: i32, file: &Arc<dyn FileLike>, events: u32, data: u64) -> VfsResult<()> {
        if file.as_any().downcast_ref::<Epoll>().is_some_and(|other| core::ptr::eq(other, self)) {
            return Err(LinuxError::EINVAL);
        }
        if file.location().is_some_and(|location| {
            matches!(
                location.node().node_type(),
                crate::NodeType::Regular | crate::NodeType::Directory
            )
        }) {
            // Linux rejects regular files and directories, which are always ready.
            return Err(LinuxError::EPERM);
        }
        let mut interests = self.interests.lock();
        interests.retain(|_, interest| interest.file.strong_count() > 0);
        match op {
            EPOLL_CTL_ADD => {
                if interests.contains_key(&fd) {
                    return Err(LinuxError::EEXIST);
                }
                interests.insert(
                    fd,
                    Interest {
                        file: Arc::downgrade(file),
                        events,
                        data,
                    },
                );
            }
            EPOLL_CTL_MOD => {
                let interest = interests.get_mut(&fd).ok_or(LinuxError::ENOENT)?;
                interest.events = events;
                interest.data = data;
            }
            EPOLL_CTL_DEL => {
                interests.remove(&fd).ok_or(LinuxError::ENOENT)?;
            }
            _ => return Err(LinuxError::EINVAL),
        }
        Ok(())
    }

    /// Returns up to `max` ready registrations as (events, data) pairs.
    pub fn ready(&self, max: usize) -> Vec<(u32, u64)> {
        let mut interests = self.interests.lock();
        interests.retain(|_, interest| interest.file.strong_count() > 0);
        interests
            .values()
            .filter_map(|interest| {
                let file = interest.file.upgrade()?;
                let events = ready_events(file.poll(), interest.events);
                (events != 0).then_some((events, interest.data))
            })
            .take(max)
            .collect()
    }
}

impl FileLike for Epoll {
    fn read(&self, _buf: &mut [u8]) -> VfsResult<usize> {
        Err(LinuxError::EINVAL)
    }

    fn write(&self, _buf: &[u8]) -> VfsResult<usize> {
        Err(LinuxError::EINVAL)
    }

    fn stat(&self) -> VfsResult<Stat> {
        Ok(Stat {
            mode: 0o600,
            nlink: 1,
            blksize: 4096,
            ..Stat::default()
        })
    }

    fn status_flags(&self) -> OpenFlags {
        OpenFlags::O_RDWR
    }

    fn set_status_flags(&self, _flags: OpenFlags) {}

    fn poll(&self) -> PollState {
        PollState {
            readable: !self.ready(1).is_empty(),
            writable: false,
            hangup: false,
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An eventfd counter (`eventfd2`).
pub struct EventFd {
    counter: Mutex<u64>,
    semaphore: bool,
    flags: core::sync::atomic::AtomicU32,
}

impl EventFd {
    /// Largest counter value, one below `u64::MAX` as on Linux.
    const MAX: u64 = u64::MAX - 1;

    /// Creates a counter starting at `initial`. With `semaphore`, each read
    /// takes 1 from the counter instead of all of it.
    pub fn new(initial: u64, semaphore: bool, flags: OpenFlags) -> Self {
        Self {
            counter: Mutex::new(initial),
            semaphore,
            flags: core::sync::atomic::AtomicU32::new((flags | OpenFlags::O_RDWR).bits()),
        }
    }
}

impl FileLike for EventFd {
    fn read(&self, buf: &mut [u8]) -> VfsResult<usize> {
        if buf.len() < 8 {
            return Err(LinuxError::EINVAL);
        }
        let mut counter = self.counter.lock();
        if *counter == 0 {
            return Err(LinuxError::EAGAIN);
        }
        let value = if self.semaphore { 1 } else { *counter };
        *counter -= value;
        buf[..8].copy_from_slice(&value.to_ne_bytes());
        Ok(8)
    }

    fn write(&self, buf: &[u8]) -> VfsResult<usize> {
        let bytes: [u8; 8] = buf
            .get(..8)
            .and_then(|head| head.try_into().ok())
            .ok_or(LinuxError::EINVAL)?;
        let value = u64::from_ne_bytes(bytes);
        if value == u64::MAX {
            return Err(LinuxError::EINVAL);
        }
        let mut counter = self.counter.lock();
        if value > Self::MAX - *counter {
            return Err(LinuxError::EAGAIN);
        }
        *counter += value;
        Ok(8)
    }

    fn stat(&self) -> VfsResult<Stat> {
        Ok(Stat {
            mode: 0o600,
            nlink: 1,
            blksize: 4096,
            ..Stat::default()
        })
    }

    fn status_flags(&self) -> OpenFlags {
        OpenFlags::from_bits_retain(self.flags.load(core::sync::atomic::Ordering::Relaxed))
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mask = OpenFlags::SETFL_MASK;
        let _ = self.flags.fetch_update(
            core::sync::atomic::Ordering::Relaxed,
            core::sync::atomic::Ordering::Relaxed,
            |old| Some((old & !mask) | (flags.bits() & mask)),
        );
    }

    fn poll(&self) -> PollState {
        let counter = *self.counter.lock();
        PollState {
            readable: counter > 0,
            writable: counter < Self::MAX,
            hangup: false,
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

//! The device directory `/dev`: null, zero, random, urandom, tty, console,
//! and the tmpfs mount point `shm`.

use alloc::sync::{Arc, Weak};
use core::{
    any::Any,
    sync::atomic::{AtomicU32, Ordering},
};

use spin::Mutex;

use crate::{
    CreateAttr, LinuxError, NodeType, OpenFlags, SetAttr, Stat, TimeSpec, VfsResult, WallClock,
    file::{FileLike, PollState},
    node::{FileSystem, NodeId, VfsNode},
    path::MountTable,
    tmpfs::TmpFs,
};

/// Fills a buffer with random bytes; the kernel registers one for
/// `/dev/random` and `/dev/urandom`.
pub type EntropySource = fn(&mut [u8]);

/// A character device that the kernel implements, such as the serial console.
pub trait CharDevice: Send + Sync {
    /// Reads available bytes; returns `EAGAIN` when none are available yet.
    fn read(&self, buf: &mut [u8]) -> VfsResult<usize>;

    /// Reads for a file without `O_NONBLOCK`. The default returns what
    /// [`Self::read`] returns, and the syscall layer waits while that is
    /// `EAGAIN`. A device whose wait has rules of its own (a terminal's
    /// VTIME) waits here instead.
    fn read_blocking(&self, buf: &mut [u8]) -> VfsResult<usize> {
        self.read(buf)
    }

    fn write(&self, buf: &[u8]) -> VfsResult<usize>;

    /// Returns whether the device is a terminal.
    fn is_tty(&self) -> bool {
        false
    }

    /// Runs a device-specific `ioctl`, such as a termios request. `arg` is
    /// the raw user argument. A terminal handles every terminal request
    /// here, because the syscall layer has no terminal state of its own.
    fn ioctl(&self, _cmd: u32, _arg: usize) -> VfsResult<usize> {
        Err(LinuxError::ENOTTY)
    }

    fn poll(&self) -> PollState {
        PollState {
            readable: true,
            writable: true,
            hangup: false,
        }
    }
}

/// Encodes a Linux device number (`makedev`).
pub const fn make_dev(major: u32, minor: u32) -> u64 {
    let major = major as u64;
    let minor = minor as u64;
    ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

enum Device {
    Null,
    Zero,
    Random(EntropySource),
    Char(Arc<dyn CharDevice>),
}

/// Permission bits, owner and timestamps of a device node.
#[derive(Clone, Copy)]
struct DevMetadata {
    mode: u32,
    uid: u32,
    gid: u32,
    atime: TimeSpec,
    mtime: TimeSpec,
    ctime: TimeSpec,
}

/// A device node of the device directory.
pub struct DevNode {
    id: NodeId,
    rdev: u64,
    device: Device,
    this: Weak<DevNode>,
    metadata: Mutex<DevMetadata>,
    clock: WallClock,
}

impl DevNode {
    fn new(dev: u64, ino: u64, rdev: u64, mode: u32, device: Device, clock: WallClock) -> Arc<Self> {
        let now = clock();
        Arc::new_cyclic(|this| Self {
            id: NodeId { dev, ino },
            rdev,
            device,
            this: this.clone(),
            metadata: Mutex::new(DevMetadata {
                mode,
                uid: 0,
                gid: 0,
                atime: now,
                mtime: now,
                ctime: now,
            }),
            clock,
        })
    }
}

impl VfsNode for DevNode {
    fn id(&self) -> NodeId {
        self.id
    }

    fn node_type(&self) -> NodeType {
        NodeType::CharDevice
    }

    fn stat(&self) -> VfsResult<Stat> {
        let metadata = *self.metadata.lock();
        Ok(Stat {
            dev: self.id.dev,
            ino: self.id.ino,
            mode: NodeType::CharDevice.mode_bits() | metadata.mode,
            nlink: 1,
            uid: metadata.uid,
            gid: metadata.gid,
            rdev: self.rdev,
            size: 0,
            blksize: 4096,
            blocks: 0,
            atime: metadata.atime,
            mtime: metadata.mtime,
            ctime: metadata.ctime,
        })
    }

    fn set_attr(&self, attr: SetAttr) -> VfsResult<()> {
        let now = (self.clock)();
        let mut metadata = self.metadata.lock();
        if let Some(mode) = attr.mode {
            metadata.mode = mode & 0o7777;
        }
        if let Some(uid) = attr.uid {
            metadata.uid = uid;
        }
        if let Some(gid) = attr.gid {
            metadata.gid = gid;
        }
        if let Some(atime) = attr.atime {
            metadata.atime = atime;
        }
        if let Some(mtime) = attr.mtime {
            metadata.mtime = mtime;
        }
        metadata.ctime = now;
        Ok(())
    }

    fn read_at(&self, _offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        match &self.device {
            Device::Null => Ok(0),
            Device::Zero => {
                buf.fill(0);
                Ok(buf.len())
            }
            Device::Random(fill) => {
                fill(buf);
                Ok(buf.len())
            }
            Device::Char(device) => device.read(buf),
        }
    }

    fn write_at(&self, _offset: u64, buf: &[u8]) -> VfsResult<usize> {
        match &self.device {
            Device::Null | Device::Zero | Device::Random(_) => Ok(buf.len()),
            Device::Char(device) => device.write(buf),
        }
    }

    fn truncate(&self, _size: u64) -> VfsResult<()> {
        // Linux ignores O_TRUNC and ftruncate on character devices.
        Ok(())
    }

    fn open_special(&self) -> Option<Arc<dyn FileLike>> {
        let Device::Char(device) = &self.device else {
            return None;
        };
        let node = self.this.upgrade()?;
        Some(Arc::new(CharFile {
            node,
            device: device.clone(),
            flags: AtomicU32::new(OpenFlags::O_RDWR.bits()),
        }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open kernel character device such as the console.
struct CharFile {
    node: Arc<DevNode>,
    device: Arc<dyn CharDevice>,
    flags: AtomicU32,
}

impl FileLike for CharFile {
    fn read(&self, buf: &mut [u8]) -> VfsResult<usize> {
        if self.status_flags().contains(OpenFlags::O_NONBLOCK) {
            self.device.read(buf)
        } else {
            self.device.read_blocking(buf)
        }
    }

    fn write(&self, buf: &[u8]) -> VfsResult<usize> {
        self.device.write(buf)
    }

    fn stat(&self) -> VfsResult<Stat> {
        self.node.stat()
    }

    fn status_flags(&self) -> OpenFlags {
        OpenFlags::from_bits_retain(self.flags.load(Ordering::Relaxed))
    }

    fn set_status_flags(&self, flags: OpenFlags) {
        let mask = OpenFlags::SETFL_MASK;
        let _ = self
            .flags
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some((old & !mask) | (flags.bits() & mask))
            });
    }

    fn is_tty(&self) -> bool {
        self.device.is_tty()
    }

    fn ioctl(&self, cmd: u32, arg: usize) -> VfsResult<usize> {
        self.device.ioctl(cmd, arg)
    }

    fn poll(&self) -> PollState {
        self.device.poll()
    }

    fn sync(&self) -> VfsResult<()> {
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Builds the device directory: `null`, `zero`, `random`, `urandom`, `tty`
/// and `console` (both on `console`), and an empty directory `shm`.
pub fn create_devfs(
    console: Arc<dyn CharDevice>,
    entropy: EntropySource,
    clock: WallClock,
) -> VfsResult<Arc<TmpFs>> {
    let devfs = TmpFs::new(clock, 0o755);
    let dev = devfs.dev();
    // Inode numbers of the device nodes sit far above the tmpfs ones.
    let mut ino = 1 << 32;
    let devices = [
        ("null", make_dev(1, 3), Device::Null),
        ("zero", make_dev(1, 5), Device::Zero),
        ("random", make_dev(1, 8), Device::Random(entropy)),
        ("urandom", make_dev(1, 9), Device::Random(entropy)),
        ("tty", make_dev(5, 0), Device::Char(console.clone())),
        ("console", make_dev(5, 1), Device::Char(console)),
    ];
    for (name, rdev, device) in devices {
        ino += 1;
        devfs.add_node(name, DevNode::new(dev, ino, rdev, 0o666, device, clock))?;
    }
    devfs.add_directory("shm", 0o1777)?;
    Ok(devfs)
}

/// Mounts the device directory on `/dev` and a tmpfs on `/dev/shm`.
/// Creates `/dev` on the root file system when it is missing.
pub fn mount_devfs(
    mounts: &MountTable,
    console: Arc<dyn CharDevice>,
    entropy: EntropySource,
    clock: WallClock,
) -> VfsResult<()> {
    let root = mounts.root();
    match root.node().lookup("dev") {
        Ok(_) => {}
        Err(LinuxError::ENOENT) => {
            log::info!("vfs: creating /dev on the root file system");
            let attr = CreateAttr {
                mode: 0o755,
                uid: 0,
                gid: 0,
            };
            root.node().create("dev", NodeType::Directory, attr)?;
        }
        Err(error) => return Err(error),
    }
    let devfs: Arc<dyn FileSystem> = create_devfs(console, entropy, clock)?;
    mounts.mount("/dev", devfs)?;
    let shm: Arc<dyn FileSystem> = TmpFs::new(clock, 0o1777);
    mounts.mount("/dev/shm", shm)?;
    crate::memfd::init_memfd(clock);
    Ok(())
}

//! Anonymous files for `memfd_create`: regular files of a tmpfs that is
//! mounted nowhere, so that no path reaches them.

use alloc::{format, sync::Arc};

use spin::Once;

use crate::{
    CreateAttr, FileLike, FileSystem, LinuxError, OpenFlags, VfsResult, WallClock,
    file::OpenFile, path::Location, tmpfs::TmpFs,
};

/// The tmpfs that contains every memfd's data.
static MEMFD_FS: Once<Arc<TmpFs>> = Once::new();

/// Creates the file system of memfds with the wall clock `clock`. The first
/// call wins; later ones change nothing.
pub fn init_memfd(clock: WallClock) {
    MEMFD_FS.call_once(|| TmpFs::new(clock, 0o1777));
}

/// Creates an empty memfd named `memfd:NAME`, open for reading and
/// writing, and owned by `uid` and `gid` with mode 0777 as on Linux. Its
/// data lives until the last descriptor closes. `ENODEV` before
/// [`init_memfd`].
///
/// NOTE: the file's path is `/memfd:NAME` below a root of its own, and
/// execveat with AT_EMPTY_PATH looks that path up in the real root, so a
/// memfd cannot be run as a program.
pub fn create_memfd(name: &str, uid: u32, gid: u32) -> VfsResult<Arc<dyn FileLike>> {
    let fs = MEMFD_FS.get().ok_or(LinuxError::ENODEV)?;
    let node = fs.new_detached_file(CreateAttr { mode: 0o777, uid, gid });
    let location = Location::new_root(fs.root()).join(&format!("memfd:{name}"), node);
    Ok(Arc::new(OpenFile::new(location, OpenFlags::O_RDWR)))
}

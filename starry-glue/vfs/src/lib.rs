//! File-system layer of the kernel.
//!
//! The crate is `no_std` + `alloc` and builds on the host for tests. It
//! provides:
//! - a write-through LRU cache of disk blocks under ext4 ([`block_cache`])
//!   and a cache of its name lookups ([`dcache`]);
//! - the node and file-system traits ([`VfsNode`], [`FileSystem`]) and their
//!   implementations: ext4 through rsext4 ([`ext4`]), an in-memory [`tmpfs`]
//!   and the device directory [`devfs`];
//! - a mount table and path resolution from a working directory ([`path`]);
//! - open file descriptions, pipes and the descriptor table ([`file`],
//!   [`pipe`], [`fd`]);
//! - [`FsContext`], the per-process file-system state, with the high-level
//!   operations that the syscall layer calls.
//! - the terminal line discipline of the console ([`tty`]).

#![no_std]

extern crate alloc;

pub mod attr_cache;
pub mod block_cache;
pub mod context;
pub mod dcache;
pub mod devfs;
pub mod ext4;
mod extent_tree;
pub mod fd;
pub mod file;
pub mod file_data;
pub mod file_map;
pub mod inode_record;
mod live_nodes;
pub mod memfd;
pub mod node;
pub mod path;
pub mod pipe;
pub mod poll;
pub mod tmpfs;
pub mod tty;
pub mod types;

pub use axerrno::LinuxError;
/// rsext4, for the types of [`BlockDevice`] (`SectorId`, `DeviceGeometry`, `Ext4Result`).
pub use rsext4;
pub use attr_cache::{ATTR_CACHE_CAPACITY, AttrCache, AttrCacheStats};
pub use block_cache::BlockCache;
pub use context::FsContext;
pub use dcache::{DENTRY_CACHE_CAPACITY, Dentry, DentryCache, DentryCacheStats};
pub use devfs::{CharDevice, EntropySource, create_devfs, mount_devfs};
pub use ext4::{BlockDevice, Ext4Fs};
pub use fd::FdTable;
pub use inode_record::InodeReadStats;
pub use memfd::{create_memfd, init_memfd};
pub use file::{FileLike, OpenFile, PollState};
pub use file_data::FileData;
pub use node::{FileSystem, NodeRef, VfsNode};
pub use path::{Location, MountTable};
pub use pipe::new_pipe;
pub use poll::{Epoll, EventFd};
pub use tmpfs::TmpFs;
pub use types::*;

/// Result type of every fallible operation in this crate.
pub type VfsResult<T = ()> = Result<T, LinuxError>;

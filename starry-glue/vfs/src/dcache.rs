//! A bounded LRU cache of directory entries, for the ext4 name lookups.
//!
//! rsext4 0.9.2 looks a name up by reading the directory's inode, scanning
//! its entries and decoding the child's inode, every time. Our images have no
//! `dir_index`, so the scan is linear, and directories such as
//! `lib/python3.11` have hundreds of entries. [`DentryCache`] maps
//! (directory inode number, name) to the child's inode number and type
//! (a positive entry) or to "no such name" (a negative entry), so that a
//! repeated lookup reads nothing.
//!
//! A directory can also be marked complete when all its entries are cached
//! ([`DentryCache::fill_directory`]). Then a name without an entry does not
//! exist, so the first lookups of many different names in a directory cost
//! one scan in total. The mark is dropped whenever an entry of the directory
//! leaves the cache (eviction, invalidation, a hash collision), because the
//! set of cached names is then no longer the whole directory.
//!
//! The cache does not know the file system, and its owner ([`crate::Ext4Fs`])
//! keeps it exact. The owner inserts and invalidates entries with its mount
//! lock held, in the same critical section as the directory change or the
//! disk lookup. So a lookup cannot insert a result that a concurrent change
//! has made stale. Reads of the cache take only the cache's own lock.

use alloc::string::String;
use core::{
    num::NonZeroUsize,
    sync::atomic::{AtomicU64, Ordering},
};

use lru::LruCache;
use spin::Mutex;

use crate::NodeType;

/// Maximum number of entries in an ext4 mount's cache.
///
/// An entry takes an estimated 100 bytes plus its name (the key, the name's
/// heap copy and the LRU links), so a full cache takes about 1 MiB. Python's
/// imports look up several file names per module and directory of
/// `sys.path`, and most of them do not exist, so negative entries make up
/// much of the cache. An evicted entry costs one more lookup on disk.
pub const DENTRY_CACHE_CAPACITY: usize = 8192;

/// Maximum number of directories marked complete. A dropped mark only sends
/// later misses in that directory to the disk again, so this bound limits
/// the memory of the marks, for example of many empty directories.
pub const COMPLETE_DIRECTORY_CAPACITY: usize = 1024;

/// The cached result of looking up one name in one directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dentry {
    /// The name exists and refers to this inode.
    Positive { ino: u32, node_type: NodeType },
    /// The name does not exist (`ENOENT`).
    Negative,
}

/// Counters of a [`DentryCache`].
#[derive(Debug, Default)]
pub struct DentryCacheStats {
    /// Lookups served from the cache.
    pub hits: AtomicU64,
    /// Lookups that found no entry and went to the file system.
    pub misses: AtomicU64,
    /// Directories whose entries were all cached and marked complete.
    pub directory_fills: AtomicU64,
}

/// One cached entry. The key holds only a hash of the name, so the value
/// keeps the name to tell colliding names apart.
struct Slot {
    name: String,
    dentry: Dentry,
}

/// The entries and the complete marks, under one lock.
struct Tables {
    entries: LruCache<(u32, u64), Slot>,
    /// Directory inode numbers whose every entry is in `entries`.
    complete: LruCache<u32, ()>,
}

impl Tables {
    /// Stores `slot` under `key`. Returns the directory that lost an entry
    /// to make room or to a hash collision, after dropping its complete mark.
    fn store(&mut self, key: (u32, u64), slot: Slot) -> Option<u32> {
        let collides = self
            .entries
            .peek(&key)
            .is_some_and(|old| old.name != slot.name);
        // `push` returns the old pair of the same key, or the evicted one.
        let evicted = match self.entries.push(key, slot) {
            Some((old_key, _)) if old_key != key => Some(old_key.0),
            _ => None,
        };
        let lost = if collides { Some(key.0) } else { evicted };
        if let Some(parent) = lost {
            self.complete.pop(&parent);
        }
        lost
    }
}

/// A bounded map from (directory inode number, name) to [`Dentry`], with
/// least-recently-used eviction.
pub struct DentryCache {
    tables: Mutex<Tables>,
    /// False for a cache of capacity 0, which stores nothing.
    enabled: bool,
    stats: DentryCacheStats,
}

impl DentryCache {
    /// Creates an empty cache of at most `capacity` entries; 0 turns it off.
    pub fn new(capacity: usize) -> Self {
        let entries = match NonZeroUsize::new(capacity) {
            Some(capacity) => LruCache::new(capacity),
            // Never filled, because `insert` and `fill_directory` check `enabled`.
            None => LruCache::new(NonZeroUsize::MIN),
        };
        let complete_capacity =
            NonZeroUsize::new(COMPLETE_DIRECTORY_CAPACITY).unwrap_or(NonZeroUsize::MIN);
        let tables = Tables {
            entries,
            complete: LruCache::new(complete_capacity),
        };
        Self {
            tables: Mutex::new(tables),
            enabled: capacity > 0,
            stats: DentryCacheStats::default(),
        }
    }

    /// Returns the cached entry for `name` in directory `parent`, or a
    /// negative entry when the directory is complete and has no such name.
    pub fn get(&self, parent: u32, name: &str) -> Option<Dentry> {
        let found = {
            let mut tables = self.tables.lock();
            let cached = match tables.entries.get(&key(parent, name)) {
                Some(slot) if slot.name == name => Some(slot.dentry),
                _ => None,
            };
            if cached.is_none() && tables.complete.get(&parent).is_some() {
                Some(Dentry::Negative)
            } else {
                cached
            }
        };
        let counter = if found.is_some() {
            &self.stats.hits
        } else {
            &self.stats.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Stores `dentry` for `name` in `parent`, replacing an entry of the same
    /// key and evicting the least recently used entry when full.
    pub fn insert(&self, parent: u32, name: &str, dentry: Dentry) {
        if !self.enabled {
            return;
        }
        let slot = Slot {
            name: String::from(name),
            dentry,
        };
        self.tables.lock().store(key(parent, name), slot);
    }

    /// Caches every entry of directory `parent` and marks it complete, so
    /// that names without an entry are negative. `entries` must be the whole
    /// directory, read with the owner's lock held, without `.` and `..`.
    /// The mark is not set when the cache could not keep all the entries.
    pub fn fill_directory<'a>(&self, parent: u32, entries: impl IntoIterator<Item = (&'a str, Dentry)>) {
        if !self.enabled {
            return;
        }
        let mut tables = self.tables.lock();
        let mut kept_all = true;
        for (name, dentry) in entries {
            let slot = Slot {
                name: String::from(name),
                dentry,
            };
            if tables.store(key(parent, name), slot) == Some(parent) {
                kept_all = false;
            }
        }
        if kept_all {
            tables.complete.put(parent, ());
            self.stats.directory_fills.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Returns whether directory `parent` is marked complete.
    pub fn is_complete(&self, parent: u32) -> bool {
        self.tables.lock().complete.contains(&parent)
    }

    /// Drops the entry for `name` in `parent`, if any, and the complete mark
    /// of `parent`.
    pub fn invalidate(&self, parent: u32, name: &str) {
        // A colliding name under the same key is dropped too, which only
        // costs it one more lookup.
        let mut tables = self.tables.lock();
        tables.entries.pop(&key(parent, name));
        tables.complete.pop(&parent);
    }

    /// Drops every entry of directory `parent`. The owner calls it when a
    /// directory inode is created or removed, so that a reused inode number
    /// never returns the entries of an earlier directory.
    pub fn invalidate_directory(&self, parent: u32) {
        let mut tables = self.tables.lock();
        tables.complete.pop(&parent);
        let mut stale = alloc::vec::Vec::new();
        for (entry_key, _) in tables.entries.iter() {
            if entry_key.0 == parent {
                stale.push(*entry_key);
            }
        }
        for entry_key in stale {
            tables.entries.pop(&entry_key);
        }
    }

    /// Returns the number of cached entries.
    pub fn len(&self) -> usize {
        self.tables.lock().entries.len()
    }

    /// Returns whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the hit and miss counters.
    pub fn stats(&self) -> &DentryCacheStats {
        &self.stats
    }
}

/// Returns the map key of `name` in `parent`: the inode number and the
/// 64-bit FNV-1a hash of the name's bytes.
fn key(parent: u32, name: &str) -> (u32, u64) {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (parent, hash)
}

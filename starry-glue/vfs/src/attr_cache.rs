//! A bounded LRU cache of inode attributes, for the ext4 `stat` calls.
//!
//! rsext4 0.9.2 keeps only 128 decoded inodes (`INODE_CACHE_MAX`). Its
//! `inode` call checks the inode bitmap, clones the cached record, and on a
//! miss scans all 128 entries for the oldest, copies the inode-table block
//! and verifies the inode's checksum. Python stats the same files and
//! directories many times while it imports, more than 128 apart.
//! [`AttrCache`] maps an inode number to the [`Stat`] built from it, so that
//! a repeated `stat` or `fstat` calls nothing in rsext4.
//!
//! The cache does not know the file system, and its owner ([`crate::Ext4Fs`])
//! keeps it exact. The owner fills an entry with its mount lock held. An
//! operation that may change an inode's data, size, links, owner, mode or
//! any timestamp drops the inode's entry in the same critical section as
//! the change. Reads, which set the access time, count as such changes.
//! Reads of the cache take only the cache's own lock.

use core::{
    num::NonZeroUsize,
    sync::atomic::{AtomicU64, Ordering},
};

use lru::LruCache;
use spin::Mutex;

use crate::Stat;

/// Maximum number of inodes in an ext4 mount's cache.
///
/// An entry takes an estimated 150 bytes ([`Stat`], the key and the LRU
/// links), so a full cache takes about 1.2 MiB. test___all__ stats
/// about 2300 different paths.
pub const ATTR_CACHE_CAPACITY: usize = 8192;

/// Counters of an [`AttrCache`].
#[derive(Debug, Default)]
pub struct AttrCacheStats {
    /// Calls served from the cache.
    pub hits: AtomicU64,
    /// Calls that found no entry.
    pub misses: AtomicU64,
}

/// A bounded map from inode number to [`Stat`], with least-recently-used
/// eviction.
pub struct AttrCache {
    /// `None` for a cache of capacity 0, which stores nothing.
    entries: Option<Mutex<LruCache<u32, Stat>>>,
    stats: AttrCacheStats,
}

impl AttrCache {
    /// Creates an empty cache of at most `capacity` inodes. A capacity of 0
    /// turns it off.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: NonZeroUsize::new(capacity)
                .map(|capacity| Mutex::new(LruCache::new(capacity))),
            stats: AttrCacheStats::default(),
        }
    }

    /// Returns the cached attributes of inode `ino`.
    pub fn get(&self, ino: u32) -> Option<Stat> {
        let found = self
            .entries
            .as_ref()
            .and_then(|entries| entries.lock().get(&ino).copied());
        let counter = if found.is_some() {
            &self.stats.hits
        } else {
            &self.stats.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Stores `stat` for inode `ino`, evicting the least recently used
    /// entry when full.
    pub fn insert(&self, ino: u32, stat: Stat) {
        if let Some(entries) = &self.entries {
            entries.lock().put(ino, stat);
        }
    }

    /// Drops the entry of inode `ino`, if any.
    pub fn invalidate(&self, ino: u32) {
        if let Some(entries) = &self.entries {
            entries.lock().pop(&ino);
        }
    }

    /// Returns the number of cached inodes.
    pub fn len(&self) -> usize {
        self.entries
            .as_ref()
            .map_or(0, |entries| entries.lock().len())
    }

    /// Returns whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the hit and miss counters.
    pub fn stats(&self) -> &AttrCacheStats {
        &self.stats
    }
}

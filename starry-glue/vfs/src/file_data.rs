//! File data handed out without a copy: parts of cached disk blocks and
//! runs of zeros.
//!
//! A `read` of a regular ext4 file copied the data twice: from the block
//! cache into a kernel buffer, and from there to user memory. A
//! [`FileData`] instead keeps references to the cached blocks, taken with
//! the file system's locks held, so that the caller copies the bytes to
//! user memory once, after it released those locks.

use alloc::sync::Arc;
use core::ops::Range;

use smallvec::SmallVec;

/// Zeros that holes and unwritten extents read as.
static ZEROS: [u8; ZEROS_LEN] = [0; ZEROS_LEN];
const ZEROS_LEN: usize = 4096;

/// Number of parts that a [`FileData`] stores inline: the 4 KiB blocks that
/// a 64 KiB read touches when it does not start at a block boundary.
const INLINE_PARTS: usize = 17;

enum DataPart {
    /// A range of a cached block. When the cache changes a block that a
    /// [`FileData`] still uses, it puts the new bytes in a new buffer, so the
    /// part keeps the bytes it had when it was taken.
    Shared { bytes: Arc<[u8]>, range: Range<usize> },
    Zeros(usize),
}

/// The bytes of one read, in order.
#[derive(Default)]
pub struct FileData {
    parts: SmallVec<[DataPart; INLINE_PARTS]>,
    len: usize,
}

impl FileData {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the number of bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `bytes[range]`. The caller makes sure that `range` lies
    /// inside `bytes`.
    pub(crate) fn push_shared(&mut self, bytes: Arc<[u8]>, range: Range<usize>) {
        debug_assert!(range.start <= range.end && range.end <= bytes.len());
        if range.is_empty() {
            return;
        }
        self.len += range.len();
        self.parts.push(DataPart::Shared { bytes, range });
    }

    /// Appends `len` zero bytes.
    pub(crate) fn push_zeros(&mut self, len: usize) {
        if len == 0 {
            return;
        }
        self.len += len;
        if let Some(DataPart::Zeros(previous)) = self.parts.last_mut() {
            *previous += len;
        } else {
            self.parts.push(DataPart::Zeros(len));
        }
    }

    /// Returns the bytes as consecutive slices. Runs of zeros come in
    /// slices of at most 4096 bytes.
    pub fn slices(&self) -> impl Iterator<Item = &[u8]> {
        self.parts.iter().flat_map(|part| {
            let (shared, zeros) = match part {
                DataPart::Shared { bytes, range } => (Some(&bytes[range.clone()]), 0),
                DataPart::Zeros(len) => (None, *len),
            };
            let zero_slices = (0..zeros.div_ceil(ZEROS_LEN)).map(move |index| {
                let start = index * ZEROS_LEN;
                &ZEROS[..ZEROS_LEN.min(zeros - start)]
            });
            shared.into_iter().chain(zero_slices)
        })
    }

    /// Copies the first `buffer.len()` bytes, or all when there are fewer,
    /// into `buffer` and returns their number.
    pub fn copy_to(&self, buffer: &mut [u8]) -> usize {
        let mut done = 0;
        for slice in self.slices() {
            let count = slice.len().min(buffer.len() - done);
            buffer[done..done + count].copy_from_slice(&slice[..count]);
            done += count;
            if done == buffer.len() {
                break;
            }
        }
        done
    }
}

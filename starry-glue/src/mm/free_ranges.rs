//! The free parts of a user address space, indexed by start and by length,
//! so that finding room for a new mapping takes O(log n) time in the number
//! of free ranges, where a scan over the mappings takes O(n).

use alloc::collections::{BTreeMap, BTreeSet};

/// The free ranges of one zone `[low, high)` of addresses. Adjacent free
/// ranges are always merged into one.
pub struct FreeRanges {
    low: usize,
    high: usize,
    /// Free ranges as start -> end.
    by_start: BTreeMap<usize, usize>,
    /// The same ranges as (length, start), for the best-fit search.
    by_len: BTreeSet<(usize, usize)>,
}

impl FreeRanges {
    /// Creates the index of a zone `[low, high)` that is entirely free.
    pub fn new(low: usize, high: usize) -> Self {
        let mut ranges = Self {
            low,
            high,
            by_start: BTreeMap::new(),
            by_len: BTreeSet::new(),
        };
        if low < high {
            ranges.insert(low, high);
        }
        ranges
    }

    fn insert(&mut self, start: usize, end: usize) {
        self.by_start.insert(start, end);
        self.by_len.insert((end - start, start));
    }

    fn remove(&mut self, start: usize, end: usize) {
        self.by_start.remove(&start);
        self.by_len.remove(&(end - start, start));
    }

    /// Clips `[start, end)` to the zone, or returns `None` when they do not
    /// overlap.
    fn clip(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let start = start.max(self.low);
        let end = end.min(self.high);
        (start < end).then_some((start, end))
    }

    /// Marks `[start, end)` as used. Parts of it that are outside the zone
    /// or already used are ignored.
    pub fn reserve(&mut self, start: usize, end: usize) {
        let Some((start, end)) = self.clip(start, end) else {
            return;
        };
        // The free range with the highest start below `end` overlaps the
        // request when it ends after `start`. Each pass removes one.
        while let Some((free_start, free_end)) = self
            .by_start
            .range(..end)
            .next_back()
            .map(|(&s, &e)| (s, e))
            .filter(|&(_, free_end)| free_end > start)
        {
            self.remove(free_start, free_end);
            if free_start < start {
                self.insert(free_start, start);
            }
            if free_end > end {
                self.insert(end, free_end);
            }
        }
    }

    /// Marks `[start, end)` as free, merging it with the free ranges that
    /// overlap or touch it. Parts outside the zone are ignored.
    pub fn release(&mut self, start: usize, end: usize) {
        let Some((mut start, mut end)) = self.clip(start, end) else {
            return;
        };
        // `..=end` also finds a free range that starts right at `end`.
        while let Some((free_start, free_end)) = self
            .by_start
            .range(..=end)
            .next_back()
            .map(|(&s, &e)| (s, e))
            .filter(|&(_, free_end)| free_end >= start)
        {
            self.remove(free_start, free_end);
            start = start.min(free_start);
            end = end.max(free_end);
        }
        self.insert(start, end);
    }

    /// Returns the start of the shortest free range of at least `size`
    /// bytes (the lowest one among equals).
    pub fn best_fit(&self, size: usize) -> Option<usize> {
        self.by_len.range((size, 0)..).next().map(|&(_, start)| start)
    }

    /// Returns the length of the free range that starts at `low`.
    fn free_at_low(&self) -> usize {
        self.by_start.get(&self.low).map_or(0, |&end| end - self.low)
    }

    /// Returns the length of the free range that ends at `high`, with its
    /// start.
    fn free_at_high(&self) -> Option<(usize, usize)> {
        self.by_start
            .range(..self.high)
            .next_back()
            .filter(|&(_, &end)| end == self.high)
            .map(|(&start, &end)| (start, end - start))
    }
}

/// The free parts of `[low, high)` in two zones split at `base`. Mappings
/// go into the upper zone while it has room, so that the zone below `base`
/// stays free for the program break, as on Linux where mmap allocates
/// from `mmap_base` and the heap grows up from the program.
pub struct FreeSpace {
    lower: FreeRanges,
    upper: FreeRanges,
}

impl FreeSpace {
    /// Creates the index of an address space with nothing mapped.
    pub fn new(low: usize, base: usize, high: usize) -> Self {
        Self {
            lower: FreeRanges::new(low, base),
            upper: FreeRanges::new(base, high),
        }
    }

    /// Marks `[start, end)` as mapped.
    pub fn reserve(&mut self, start: usize, end: usize) {
        self.lower.reserve(start, end);
        self.upper.reserve(start, end);
    }

    /// Marks `[start, end)` as unmapped.
    pub fn release(&mut self, start: usize, end: usize) {
        self.lower.release(start, end);
        self.upper.release(start, end);
    }

    /// Finds the start of a free range of `size` bytes: the best fit in the
    /// upper zone, else in the lower zone, else the one free range that
    /// crosses `base`. Returns `None` only when no free range of `size`
    /// bytes exists at all.
    pub fn find(&self, size: usize) -> Option<usize> {
        if let Some(start) = self.upper.best_fit(size) {
            return Some(start);
        }
        if let Some(start) = self.lower.best_fit(size) {
            return Some(start);
        }
        // The zones split a free range that crosses `base` in two.
        let (start, below) = self.lower.free_at_high()?;
        (below + self.upper.free_at_low() >= size).then_some(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(free: &FreeRanges) -> Vec<(usize, usize)> {
        free.by_start.iter().map(|(&s, &e)| (s, e)).collect()
    }

    #[test]
    fn reserve_splits_free_range() {
        let mut free = FreeRanges::new(0, 100);
        free.reserve(10, 20);
        assert_eq!(ranges(&free), [(0, 10), (20, 100)]);
        assert_eq!(free.by_len.len(), 2);
    }

    #[test]
    fn reserve_spanning_several_ranges() {
        let mut free = FreeRanges::new(0, 100);
        free.reserve(10, 20);
        free.reserve(30, 40);
        free.reserve(5, 35);
        assert_eq!(ranges(&free), [(0, 5), (40, 100)]);
    }

    #[test]
    fn reserve_outside_zone_is_ignored() {
        let mut free = FreeRanges::new(50, 100);
        free.reserve(0, 50);
        free.reserve(100, 200);
        assert_eq!(ranges(&free), [(50, 100)]);
        free.reserve(40, 60);
        assert_eq!(ranges(&free), [(60, 100)]);
    }

    #[test]
    fn release_merges_neighbours() {
        let mut free = FreeRanges::new(0, 100);
        free.reserve(0, 100);
        free.release(10, 20);
        free.release(30, 40);
        assert_eq!(ranges(&free), [(10, 20), (30, 40)]);
        free.release(20, 30);
        assert_eq!(ranges(&free), [(10, 40)]);
        assert_eq!(free.by_len.iter().copied().collect::<Vec<_>>(), [(30, 10)]);
    }

    #[test]
    fn release_over_free_and_used_parts() {
        let mut free = FreeRanges::new(0, 100);
        free.reserve(0, 100);
        free.release(10, 20);
        free.release(50, 60);
        free.release(15, 55);
        assert_eq!(ranges(&free), [(10, 60)]);
        free.release(0, 100);
        assert_eq!(ranges(&free), [(0, 100)]);
        assert_eq!(free.by_len.len(), 1);
    }

    #[test]
    fn best_fit_takes_shortest_then_lowest() {
        let mut free = FreeRanges::new(0, 1000);
        free.reserve(0, 1000);
        free.release(100, 130);
        free.release(200, 210);
        free.release(300, 310);
        free.release(500, 1000);
        assert_eq!(free.best_fit(10), Some(200));
        assert_eq!(free.best_fit(11), Some(100));
        assert_eq!(free.best_fit(31), Some(500));
        assert_eq!(free.best_fit(501), None);
    }

    #[test]
    fn space_prefers_upper_zone() {
        let mut space = FreeSpace::new(0, 100, 200);
        assert_eq!(space.find(50), Some(100));
        space.reserve(100, 190);
        assert_eq!(space.find(10), Some(190));
        assert_eq!(space.find(11), Some(0));
        assert_eq!(space.find(100), Some(0));
        assert_eq!(space.find(101), None);
    }

    #[test]
    fn space_finds_range_crossing_base() {
        let mut space = FreeSpace::new(0, 100, 200);
        space.reserve(0, 80);
        space.reserve(130, 200);
        // Free: [80, 100) below base and [100, 130) above it.
        assert_eq!(space.find(30), Some(100));
        assert_eq!(space.find(50), Some(80));
        assert_eq!(space.find(51), None);
        space.release(0, 200);
        assert_eq!(space.find(200), Some(0));
        assert_eq!(space.find(201), None);
    }
}

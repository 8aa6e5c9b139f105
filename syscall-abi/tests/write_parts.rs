//! `UserMemory::write_parts`: slices copied in order, and a short count at
//! the first page that faults.

mod common;

use common::MockMemory;
use syscall_abi::{PAGE_SIZE, UserMemory};

const BASE: usize = 0x10000;

#[test]
fn parts_copied_in_order() {
    let mem = MockMemory::new(BASE, 3 * PAGE_SIZE);
    let parts: [&[u8]; 3] = [b"abc", &[7; 5000], b"xyz"];

    let copied = mem.write_parts(BASE + 100, &mut parts.into_iter());

    assert_eq!(copied, 5006);
    assert_eq!(mem.get(BASE + 100, 3), b"abc");
    assert_eq!(mem.get(BASE + 103, 5000), vec![7; 5000]);
    assert_eq!(mem.get(BASE + 5103, 3), b"xyz");
}

#[test]
fn copy_stops_at_unmapped_page() {
    // Two pages are mapped; the copy from 100 bytes before the end of the
    // first runs into the unmapped third page.
    let mem = MockMemory::new(BASE, 2 * PAGE_SIZE);
    let start = BASE + PAGE_SIZE - 100;
    let parts: [&[u8]; 3] = [&[1; 50], &[2; 3 * PAGE_SIZE], &[3; 10]];

    let copied = mem.write_parts(start, &mut parts.into_iter());

    assert_eq!(copied, PAGE_SIZE + 100);
    assert_eq!(mem.get(start, 50), vec![1; 50]);
    assert_eq!(mem.get(start + 50, PAGE_SIZE + 50), vec![2; PAGE_SIZE + 50]);
}

#[test]
fn unmapped_start_copies_nothing() {
    let mem = MockMemory::new(BASE, PAGE_SIZE);
    let parts: [&[u8]; 1] = [b"data"];

    assert_eq!(mem.write_parts(BASE + PAGE_SIZE, &mut parts.into_iter()), 0);
    assert_eq!(mem.write_parts(BASE - 2, &mut parts.into_iter()), 0);
}

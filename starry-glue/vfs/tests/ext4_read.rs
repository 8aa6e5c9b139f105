//! Reads of regular ext4 files through the extent maps (`file_map`), checked
//! against the source tree, across writes, truncates and syncs, and the
//! `relatime` access times.

mod common;

use std::{
    fs,
    io::{Seek, SeekFrom, Write},
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
};

use common::{Image, pattern};
use starry_vfs::{
    AT_FDCWD, FileData, FileLike, FileSystem, FsContext, LinuxError, OpenFlags, SetAttr, TimeSpec,
};

const BLOCK: usize = 4096;
const BIG_LEN: usize = 100_000;

fn build_tree(tree: &Path) {
    fs::create_dir(tree.join("dev")).unwrap();
    fs::write(tree.join("big.bin"), pattern(BIG_LEN, 3)).unwrap();
    fs::write(tree.join("small.txt"), b"hello world\n").unwrap();
    fs::write(tree.join("empty"), b"").unwrap();
    // Data at 0, a hole, data at 1 MiB, and a hole up to the end.
    let mut sparse = fs::File::create(tree.join("sparse.bin")).unwrap();
    sparse.write_all(&pattern(5000, 4)).unwrap();
    sparse.seek(SeekFrom::Start(1 << 20)).unwrap();
    sparse.write_all(&pattern(3000, 5)).unwrap();
    sparse.set_len((1 << 21) + 100).unwrap();
    drop(sparse);
    fs::write(tree.join("fragmented.bin"), fragmented_contents()).unwrap();
}

/// Returns 4 KiB of data every 64 KiB, 40 times: 40 extents, more than the
/// 4 that fit in the inode, so the extent tree has a leaf block.
fn fragmented_contents() -> Vec<u8> {
    let mut data = vec![0; 39 * 65536 + BLOCK];
    for index in 0..40 {
        let start = index * 65536;
        data[start..start + BLOCK].copy_from_slice(&pattern(BLOCK, index as u8));
    }
    data
}

/// Returns the contents of the source tree's `sparse.bin`.
fn sparse_contents() -> Vec<u8> {
    let mut data = vec![0; (1 << 21) + 100];
    data[..5000].copy_from_slice(&pattern(5000, 4));
    data[1 << 20..(1 << 20) + 3000].copy_from_slice(&pattern(3000, 5));
    data
}

fn open(ctx: &mut FsContext, path: &str, flags: OpenFlags) -> (i32, Arc<dyn FileLike>) {
    let fd = ctx.open_at(AT_FDCWD, path, flags, 0o644).unwrap();
    let file = ctx.fd_table.get(fd).unwrap();
    (fd, file)
}

/// Reads `len` bytes at `offset` and returns what the read returned.
fn read_at(file: &Arc<dyn FileLike>, offset: u64, len: usize) -> Vec<u8> {
    let mut buffer = vec![0xa5; len];
    let count = file.read_at(offset, &mut buffer).unwrap();
    buffer.truncate(count);
    buffer
}

fn unmount(fs: &dyn FileSystem, ctx: FsContext) {
    drop(ctx);
    fs.unmount().expect("unmount");
}

#[test]
fn reads_across_block_boundaries() {
    let image = Image::new(build_tree);
    let expected = pattern(BIG_LEN, 3);
    // A cache of 4 blocks makes most reads miss and evict.
    for capacity in [8192, 4] {
        let (fs, _stats) = image.mount_with_cache(capacity);
        let root: Arc<dyn FileSystem> = fs.clone();
        let mut ctx = FsContext::new(Arc::new(starry_vfs::MountTable::new(root)));
        let (_, file) = open(&mut ctx, "/big.bin", OpenFlags::empty());
        let cases = [
            (0, BIG_LEN),
            (0, 1),
            (BLOCK as u64 - 1, 2),
            (BLOCK as u64 - 10, BLOCK + 20),
            (3 * BLOCK as u64 + 123, 5 * BLOCK + 7),
            (50_000, 1),
            (12_345, 40_000),
        ];
        for (offset, len) in cases {
            let start = offset as usize;
            assert_eq!(
                read_at(&file, offset, len),
                expected[start..start + len],
                "capacity {capacity}: {len} bytes at {offset}"
            );
        }
        drop(file);
        unmount(fs.as_ref(), ctx);
    }
}

#[test]
fn short_reads_at_end_of_file() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let expected = pattern(BIG_LEN, 3);
    let (_, big) = open(&mut ctx, "/big.bin", OpenFlags::empty());

    assert_eq!(read_at(&big, BIG_LEN as u64 - 10, 100), expected[BIG_LEN - 10..]);
    assert_eq!(read_at(&big, BIG_LEN as u64, 100), b"");
    assert_eq!(read_at(&big, BIG_LEN as u64 + 5000, 100), b"");
    assert_eq!(read_at(&big, 0, 0), b"");

    let (_, small) = open(&mut ctx, "/small.txt", OpenFlags::empty());
    let mut buffer = vec![0; 100];
    assert_eq!(small.read(&mut buffer).unwrap(), 12);
    assert_eq!(&buffer[..12], b"hello world\n");
    assert_eq!(small.read(&mut buffer).unwrap(), 0);

    let (_, empty) = open(&mut ctx, "/empty", OpenFlags::empty());
    assert_eq!(read_at(&empty, 0, 10), b"");
    drop((big, small, empty));
    unmount(fs.as_ref(), ctx);
}

#[test]
fn holes_read_as_zeros() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let expected = sparse_contents();
    let (_, file) = open(&mut ctx, "/sparse.bin", OpenFlags::empty());

    assert_eq!(read_at(&file, 0, expected.len() + 10), expected);
    for (offset, len) in [(4000, 3000), (500_000, 10_000), ((1 << 20) - 100, 200), ((1 << 20) + 2500, 1 << 20)] {
        let start = offset as usize;
        let end = (start + len).min(expected.len());
        assert_eq!(read_at(&file, offset, len), expected[start..end], "{len} bytes at {offset}");
    }
    drop(file);
    unmount(fs.as_ref(), ctx);
}

/// Reads up to `len` bytes through [`FileLike::read_to`], at `offset` or
/// at the current offset, and returns them, or `None` when the file reads
/// only through `read` and `read_at`.
fn read_shared(file: &Arc<dyn FileLike>, offset: Option<u64>, len: usize) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut copy = |data: &FileData| {
        bytes = vec![0; data.len()];
        data.copy_to(&mut bytes)
    };
    let count = file.read_to(offset, len, &mut copy).unwrap()?;
    assert_eq!(count, bytes.len());
    Some(bytes)
}

#[test]
fn shared_reads_match_read_at() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let cases = [
        (0, 10),
        (0, 70_000),
        (4090, 10),
        (5000, 3 * BLOCK + 1),
        (BIG_LEN as u64 - 5, 100),
        (BIG_LEN as u64, 10),
        ((1 << 20) - 100, 200),
        ((1 << 20) + 2500, 1 << 17),
        (1 << 21, 1000),
    ];
    for path in ["/big.bin", "/small.txt", "/empty", "/sparse.bin"] {
        let (_, file) = open(&mut ctx, path, OpenFlags::empty());
        for (offset, len) in cases {
            let shared = read_shared(&file, Some(offset), len).expect("shared read");
            assert_eq!(shared, read_at(&file, offset, len), "{path}: {len} bytes at {offset}");
        }
    }
    unmount(fs.as_ref(), ctx);
}

#[test]
fn shared_read_advances_by_bytes_copied() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let expected = pattern(BIG_LEN, 3);
    let (_, file) = open(&mut ctx, "/big.bin", OpenFlags::empty());

    // A copy that stops after 300 bytes, as at a bad page of user memory.
    let mut copy = |data: &FileData| {
        assert_eq!(data.len(), 1000);
        300
    };
    assert_eq!(file.read_to(None, 1000, &mut copy).unwrap(), Some(300));
    assert_eq!(read_shared(&file, None, 100).unwrap(), expected[300..400]);
    let mut rest = vec![0; 50];
    assert_eq!(file.read(&mut rest).unwrap(), 50);
    assert_eq!(rest, expected[400..450]);
    drop(file);
    unmount(fs.as_ref(), ctx);
}

#[test]
fn written_file_not_shared_until_sync() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let (_, file) = open(&mut ctx, "/small.txt", OpenFlags::O_RDWR);
    assert_eq!(read_shared(&file, Some(0), 100).unwrap(), b"hello world\n");

    // rsext4 may hold the written block, so reads go through it.
    file.write_at(0, b"HELLO").unwrap();
    assert_eq!(read_shared(&file, Some(0), 100), None);
    assert_eq!(read_at(&file, 0, 100), b"HELLO world\n");

    fs.sync().unwrap();
    assert_eq!(read_shared(&file, Some(0), 100).unwrap(), b"HELLO world\n");
    drop(file);
    unmount(fs.as_ref(), ctx);
}

#[test]
fn extent_tree_with_leaf_block_read() {
    let image = Image::new(build_tree);
    let tree = image.debugfs("ex /fragmented.bin");
    assert!(tree.contains(" 1/ 1   1/ 40"), "not a tree of depth 1:\n{tree}");
    let (fs, mut ctx) = image.context();
    let expected = fragmented_contents();
    let (_, file) = open(&mut ctx, "/fragmented.bin", OpenFlags::empty());

    assert_eq!(read_at(&file, 0, expected.len() + 10), expected);
    assert_eq!(read_shared(&file, Some(65536 - 10), 20).unwrap(), expected[65536 - 10..65546]);
    let decoded_maps = fs.inode_read_stats().decoded_maps.load(Ordering::Relaxed);
    assert_eq!(decoded_maps, 1);
    drop(file);
    unmount(fs.as_ref(), ctx);
}

#[test]
fn reads_see_writes_of_other_descriptors() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let mut expected = pattern(BIG_LEN, 3);
    let (_, reader) = open(&mut ctx, "/big.bin", OpenFlags::empty());
    assert_eq!(read_at(&reader, 0, BIG_LEN), expected);

    // A write inside one block stays in rsext4's data-block cache until
    // sync, and the reader must see it at once.
    let (_, writer) = open(&mut ctx, "/big.bin", OpenFlags::O_RDWR);
    writer.write_at(5000, b"inside one block").unwrap();
    expected[5000..5016].copy_from_slice(b"inside one block");
    assert_eq!(read_at(&reader, 0, BIG_LEN), expected);

    fs.sync().unwrap();
    assert_eq!(read_at(&reader, 0, BIG_LEN), expected);

    // Whole blocks, then a write that extends the file.
    let data = pattern(3 * BLOCK, 8);
    writer.write_at(8 * BLOCK as u64, &data).unwrap();
    expected[8 * BLOCK..11 * BLOCK].copy_from_slice(&data);
    writer.write_at(BIG_LEN as u64 - 2, b"tail").unwrap();
    expected.truncate(BIG_LEN - 2);
    expected.extend_from_slice(b"tail");
    assert_eq!(read_at(&reader, 0, BIG_LEN + 10), expected);
    fs.sync().unwrap();
    assert_eq!(read_at(&reader, 0, BIG_LEN + 10), expected);
    drop((reader, writer));

    unmount(fs.as_ref(), ctx);
    image.assert_clean();
    let dumped = image.dir.path().join("dump.bin");
    image.debugfs(&format!("dump /big.bin {}", dumped.display()));
    assert_eq!(fs::read(&dumped).unwrap(), expected);
}

#[test]
fn reads_follow_truncate() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let expected = pattern(BIG_LEN, 3);
    let (_, reader) = open(&mut ctx, "/big.bin", OpenFlags::empty());
    let (_, writer) = open(&mut ctx, "/big.bin", OpenFlags::O_RDWR);
    assert_eq!(read_at(&reader, 0, BIG_LEN), expected);

    for synced in [false, true] {
        writer.truncate(10_000).unwrap();
        if synced {
            fs.sync().unwrap();
        }
        assert_eq!(read_at(&reader, 0, BIG_LEN), expected[..10_000], "synced {synced}");

        // Growing adds zeros, including the rest of the old last block.
        writer.truncate(30_000).unwrap();
        if synced {
            fs.sync().unwrap();
        }
        let grown = read_at(&reader, 0, BIG_LEN);
        assert_eq!(grown.len(), 30_000);
        assert_eq!(grown[..10_000], expected[..10_000]);
        assert!(grown[10_000..].iter().all(|&byte| byte == 0), "synced {synced}");

        writer.write_at(0, &expected).unwrap();
        fs.sync().unwrap();
        assert_eq!(read_at(&reader, 0, BIG_LEN), expected);
    }
    drop((reader, writer));
    unmount(fs.as_ref(), ctx);
    image.assert_clean();
}

#[test]
fn reads_follow_append() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let (_, reader) = open(&mut ctx, "/small.txt", OpenFlags::empty());
    let (_, appender) = open(&mut ctx, "/small.txt", OpenFlags::O_WRONLY | OpenFlags::O_APPEND);
    let mut expected = b"hello world\n".to_vec();
    assert_eq!(read_at(&reader, 0, 100), expected);

    for round in 0..3u8 {
        let line = pattern(2000, round);
        appender.write(&line).unwrap();
        expected.extend_from_slice(&line);
        assert_eq!(read_at(&reader, 0, 10_000), expected, "round {round}");
        fs.sync().unwrap();
        assert_eq!(read_at(&reader, 0, 10_000), expected, "round {round} after sync");
    }
    drop((reader, appender));
    unmount(fs.as_ref(), ctx);
}

#[test]
fn unlinked_open_file_stays_readable() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let (fd, file) = open(&mut ctx, "/big.bin", OpenFlags::empty());
    assert_eq!(read_at(&file, 0, 100), pattern(BIG_LEN, 3)[..100]);
    ctx.unlink_at(AT_FDCWD, "/big.bin", false).unwrap();
    assert_eq!(read_at(&file, 0, BIG_LEN), pattern(BIG_LEN, 3));
    drop(file);
    ctx.fd_table.remove(fd).unwrap();

    // A new file may reuse the inode number, and reads its own data.
    let data = pattern(7000, 9);
    let (_, created) = open(&mut ctx, "/new.bin", OpenFlags::O_RDWR | OpenFlags::O_CREAT);
    created.write(&data).unwrap();
    fs.sync().unwrap();
    assert_eq!(read_at(&created, 0, 10_000), data);
    drop(created);
    unmount(fs.as_ref(), ctx);
    image.assert_clean();
}

#[test]
fn files_without_extents_read_through_rsext4() {
    let image = Image::with_mke2fs_options(build_tree, &["-O", "^extent,^64bit"]);
    let (fs, mut ctx) = image.context();
    let (_, big) = open(&mut ctx, "/big.bin", OpenFlags::empty());
    assert_eq!(read_at(&big, 0, BIG_LEN + 1), pattern(BIG_LEN, 3));
    assert_eq!(read_at(&big, 5000, 10), pattern(BIG_LEN, 3)[5000..5010]);
    let (_, sparse) = open(&mut ctx, "/sparse.bin", OpenFlags::empty());
    assert_eq!(read_at(&sparse, 0, 3 << 20), sparse_contents());
    drop((big, sparse));
    unmount(fs.as_ref(), ctx);
}

#[test]
fn directory_read_fails() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let (_, dir) = open(&mut ctx, "/dev", OpenFlags::empty());
    let mut buffer = [0; 10];
    assert_eq!(dir.read(&mut buffer), Err(LinuxError::EISDIR));
    drop(dir);
    unmount(fs.as_ref(), ctx);
}

/// Seconds that [`test_clock`] returns.
static CLOCK_SECS: AtomicI64 = AtomicI64::new(0);

fn test_clock() -> TimeSpec {
    TimeSpec::new(CLOCK_SECS.load(Ordering::SeqCst), 0)
}

#[test]
fn access_time_follows_relatime() {
    const DAY: i64 = 24 * 60 * 60;
    let base = 1_700_000_000;
    let image = Image::new(build_tree);
    CLOCK_SECS.store(base, Ordering::SeqCst);
    let (fs, mut ctx) = image.context_with_clock(test_clock);
    let times = SetAttr {
        atime: Some(TimeSpec::new(base + 100, 0)),
        mtime: Some(TimeSpec::new(base - 100, 0)),
        ..SetAttr::default()
    };
    ctx.set_attr_at(AT_FDCWD, "/big.bin", times, true, false).unwrap();
    fs.sync().unwrap();
    let (_, file) = open(&mut ctx, "/big.bin", OpenFlags::empty());
    let stat = |file: &Arc<dyn FileLike>| file.stat().unwrap();
    assert_eq!(stat(&file).ctime.sec, base);

    // The access time is newer than the modification and change times,
    // and less than a day old: reads leave it.
    CLOCK_SECS.store(base + 500, Ordering::SeqCst);
    read_at(&file, 0, 100);
    read_at(&file, 50_000, 100);
    assert_eq!(stat(&file).atime.sec, base + 100);

    // A day after the access time, a read sets it, and not the change time.
    CLOCK_SECS.store(base + 100 + DAY, Ordering::SeqCst);
    read_at(&file, 0, 100);
    assert_eq!(stat(&file).atime.sec, base + 100 + DAY);
    assert_eq!(stat(&file).ctime.sec, base);
    CLOCK_SECS.store(base + 200 + DAY, Ordering::SeqCst);
    read_at(&file, 0, 100);
    assert_eq!(stat(&file).atime.sec, base + 100 + DAY);

    // A read at the end of the file returns nothing and sets nothing.
    CLOCK_SECS.store(base + 300 + 2 * DAY, Ordering::SeqCst);
    read_at(&file, BIG_LEN as u64, 100);
    assert_eq!(stat(&file).atime.sec, base + 100 + DAY);

    // After a write, the access time is older than the modification time,
    // so the next read sets it.
    CLOCK_SECS.store(base + 400 + DAY, Ordering::SeqCst);
    let (_, writer) = open(&mut ctx, "/big.bin", OpenFlags::O_RDWR);
    writer.write_at(0, b"x").unwrap();
    fs.sync().unwrap();
    assert_eq!(stat(&file).mtime.sec, base + 400 + DAY);
    CLOCK_SECS.store(base + 500 + DAY, Ordering::SeqCst);
    read_at(&file, 0, 100);
    assert_eq!(stat(&file).atime.sec, base + 500 + DAY);
    CLOCK_SECS.store(base + 600 + DAY, Ordering::SeqCst);
    read_at(&file, 0, 100);
    assert_eq!(stat(&file).atime.sec, base + 500 + DAY);

    // A change of the inode (here its mode) makes the change time newer.
    CLOCK_SECS.store(base + 700 + DAY, Ordering::SeqCst);
    let mode = SetAttr {
        mode: Some(0o600),
        ..SetAttr::default()
    };
    ctx.set_attr_at(AT_FDCWD, "/big.bin", mode, true, false).unwrap();
    CLOCK_SECS.store(base + 800 + DAY, Ordering::SeqCst);
    read_at(&file, 0, 100);
    assert_eq!(stat(&file).atime.sec, base + 800 + DAY);
    drop((file, writer));

    unmount(fs.as_ref(), ctx);
    image.assert_clean();
}

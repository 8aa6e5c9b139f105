//! `stat` of ext4 inodes decoded from the block cache (`inode_record`),
//! checked against rsext4's `inode` call on a copy of the same image. Both
//! copies go through the same changes, and after each step every path of
//! both is compared.

mod common;

use std::{
    cell::Cell,
    fs,
    io::{Seek, SeekFrom, Write},
    os::unix::fs::{PermissionsExt, symlink},
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, atomic::Ordering},
    time::{Duration, UNIX_EPOCH},
};

use common::{FileDevice, Image, fake_entropy, pattern};
use starry_vfs::{
    AT_FDCWD, BlockCache, Ext4Fs, FileSystem, FsContext, MountTable, NodeType, OpenFlags,
    RenameFlags,
    SetAttr, Stat, TimeSpec,
    block_cache::{DEFAULT_CAPACITY_BLOCKS, DEFAULT_READAHEAD_BLOCKS},
};

thread_local! {
    /// Seconds that [`test_clock`] returns, so that both copies get the
    /// same timestamps. Each test runs in a thread of its own, so the tests
    /// that run at once do not move each other's clock.
    static CLOCK_SECS: Cell<i64> = const { Cell::new(1_750_000_000) };
}

fn test_clock() -> TimeSpec {
    TimeSpec::new(CLOCK_SECS.get(), 0)
}

fn advance_clock() {
    CLOCK_SECS.set(CLOCK_SECS.get() + 10);
}

fn set_mtime(path: &Path, secs: u64, nanos: u32) {
    let time = UNIX_EPOCH + Duration::new(secs, nanos);
    let file = fs::File::options().write(true).open(path).unwrap();
    file.set_times(fs::FileTimes::new().set_modified(time).set_accessed(time))
        .unwrap();
}

/// Builds a tree with regular files of several sizes, a sparse file,
/// directories, symbolic links, hard links, and, when the tests run as
/// root, device nodes, a FIFO and owners above 65535.
fn build_tree(tree: &Path) {
    fs::create_dir_all(tree.join("dir/sub")).unwrap();
    fs::write(tree.join("empty"), b"").unwrap();
    fs::write(tree.join("small.txt"), b"hello\n").unwrap();
    fs::write(tree.join("dir/big.bin"), pattern(300_000, 1)).unwrap();
    for index in 0..40 {
        fs::write(tree.join(format!("dir/sub/f{index}")), pattern(index * 100, 2)).unwrap();
    }
    let mut sparse = fs::File::create(tree.join("sparse.bin")).unwrap();
    sparse.write_all(b"start").unwrap();
    sparse.seek(SeekFrom::Start(5 << 20)).unwrap();
    sparse.write_all(b"end").unwrap();
    drop(sparse);
    fs::hard_link(tree.join("small.txt"), tree.join("dir/small-link")).unwrap();
    symlink("small.txt", tree.join("short-link")).unwrap();
    symlink("d".repeat(200), tree.join("long-link")).unwrap();
    fs::set_permissions(tree.join("empty"), fs::Permissions::from_mode(0o4751)).unwrap();
    set_mtime(&tree.join("small.txt"), 1_600_000_000, 123_456_789);
    set_mtime(&tree.join("dir/big.bin"), 2_000_000_000, 1);

    // These need root. Without it the tree lacks them, and the test still
    // covers the rest.
    let _ = Command::new("mknod").arg(tree.join("tty")).args(["c", "4", "1"]).status();
    let _ = Command::new("mknod").arg(tree.join("disk")).args(["b", "259", "300000"]).status();
    let _ = Command::new("mkfifo").arg(tree.join("fifo")).status();
    let _ = std::os::unix::fs::lchown(tree.join("dir/sub/f1"), Some(70_000), Some(80_000));
}

/// Two mounts of copies of one image: `decoded` through the block cache,
/// whose `stat` decodes inode records, and `reference` straight on the
/// device, whose `stat` calls rsext4.
struct Pair {
    decoded_image: PathBuf,
    reference_image: PathBuf,
    decoded: Arc<Ext4Fs>,
    reference: Arc<Ext4Fs>,
    decoded_ctx: FsContext,
    reference_ctx: FsContext,
}

fn context_of(fs: &Arc<Ext4Fs>) -> FsContext {
    let root: Arc<dyn FileSystem> = fs.clone();
    FsContext::new(Arc::new(MountTable::new(root)))
}

impl Pair {
    fn mount(decoded_image: PathBuf, reference_image: PathBuf) -> Self {
        let cache = BlockCache::new(FileDevice::open(&decoded_image), DEFAULT_CAPACITY_BLOCKS)
            .with_readahead(DEFAULT_READAHEAD_BLOCKS);
        let decoded = Ext4Fs::mount_cached(cache, test_clock, Some(fake_entropy)).unwrap();
        let device = Box::new(FileDevice::open(&reference_image));
        let reference = Ext4Fs::mount(device, test_clock, Some(fake_entropy)).unwrap();
        Self {
            decoded_ctx: context_of(&decoded),
            reference_ctx: context_of(&reference),
            decoded_image,
            reference_image,
            decoded,
            reference,
        }
    }

    /// Copies `image` and mounts the original and the copy.
    fn new(image: &Image) -> Self {
        let reference_image = image.dir.path().join("reference.img");
        fs::copy(&image.image, &reference_image).unwrap();
        Self::mount(image.image.clone(), reference_image)
    }

    /// Unmounts both copies and returns their image paths.
    fn unmount(self) -> (PathBuf, PathBuf) {
        drop((self.decoded_ctx, self.reference_ctx));
        self.decoded.unmount().unwrap();
        self.reference.unmount().unwrap();
        (self.decoded_image, self.reference_image)
    }

    fn unmount_and_remount(self) -> Self {
        let (decoded_image, reference_image) = self.unmount();
        Self::mount(decoded_image, reference_image)
    }

    /// Runs `change`, which unwraps its results, on both copies.
    fn apply(&mut self, change: impl Fn(&mut FsContext)) {
        change(&mut self.decoded_ctx);
        change(&mut self.reference_ctx);
    }

    fn sync(&self) {
        self.decoded.sync().unwrap();
        self.reference.sync().unwrap();
    }

    fn decoded_count(&self) -> u64 {
        self.decoded.inode_read_stats().decoded.load(Ordering::Relaxed)
    }

    /// Stats every path of both copies and asserts that the results are
    /// equal but for the device number. Returns the number of paths.
    fn assert_same_stats(&self) -> usize {
        let mut pending = vec![String::from("/")];
        let mut count = 0;
        while let Some(path) = pending.pop() {
            let decoded = self.decoded_ctx.stat_at(AT_FDCWD, &path, false, false).unwrap();
            let reference = self.reference_ctx.stat_at(AT_FDCWD, &path, false, false).unwrap();
            assert_eq!(without_dev(decoded), without_dev(reference), "stat of {path}");
            count += 1;
            if decoded.mode & 0o170000 != 0o040000 {
                continue;
            }
            let names = list_dir(&self.decoded_ctx, &path);
            assert_eq!(names, list_dir(&self.reference_ctx, &path), "entries of {path}");
            for name in names {
                pending.push(format!("{}/{name}", path.trim_end_matches('/')));
            }
        }
        count
    }
}

impl Pair {
    /// Reads every regular file of both copies whole and asserts that the
    /// contents are equal. Returns the number of distinct inodes read.
    fn assert_same_contents(&mut self) -> usize {
        let mut pending = vec![String::from("/")];
        let mut files = std::collections::BTreeSet::new();
        while let Some(path) = pending.pop() {
            let stat = self.decoded_ctx.stat_at(AT_FDCWD, &path, false, false).unwrap();
            match stat.mode & 0o170000 {
                0o040000 => {
                    for name in list_dir(&self.decoded_ctx, &path) {
                        pending.push(format!("{}/{name}", path.trim_end_matches('/')));
                    }
                }
                0o100000 => {
                    let decoded = read_whole(&mut self.decoded_ctx, &path, stat.size);
                    let reference = read_whole(&mut self.reference_ctx, &path, stat.size);
                    assert!(decoded == reference, "contents of {path}");
                    files.insert(stat.ino);
                }
                _ => {}
            }
        }
        files.len()
    }
}

fn read_whole(ctx: &mut FsContext, path: &str, size: u64) -> Vec<u8> {
    let fd = ctx.open_at(AT_FDCWD, path, OpenFlags::empty(), 0).unwrap();
    let file = ctx.fd_table.get(fd).unwrap();
    let mut data = vec![0; size as usize + 1];
    let count = file.read_at(0, &mut data).unwrap();
    ctx.fd_table.remove(fd).unwrap();
    data.truncate(count);
    data
}

fn without_dev(stat: Stat) -> Stat {
    Stat { dev: 0, ..stat }
}

fn list_dir(ctx: &FsContext, path: &str) -> Vec<String> {
    let location = ctx.resolve_at(AT_FDCWD, path, false).unwrap();
    let mut names: Vec<String> = location
        .node()
        .read_dir(0, 10_000)
        .unwrap()
        .into_iter()
        .map(|entry| entry.name)
        .filter(|name| name != "." && name != "..")
        .collect();
    names.sort();
    names
}

fn write_file(ctx: &mut FsContext, path: &str, offset: u64, data: &[u8]) {
    let flags = OpenFlags::O_RDWR | OpenFlags::O_CREAT;
    let fd = ctx.open_at(AT_FDCWD, path, flags, 0o640).unwrap();
    let file = ctx.fd_table.get(fd).unwrap();
    file.write_at(offset, data).unwrap();
    ctx.fd_table.remove(fd).unwrap();
}

/// Changes files, directories and links in both copies the same way.
fn change_tree(pair: &mut Pair) {
    advance_clock();
    pair.apply(|ctx| write_file(ctx, "/dir/sub/f3", 100, b"more"));
    pair.apply(|ctx| write_file(ctx, "/dir/new.txt", 0, &pattern(20_000, 7)));
    pair.apply(|ctx| ctx.truncate_at(AT_FDCWD, "/dir/big.bin", 5000).unwrap());

    advance_clock();
    pair.apply(|ctx| {
        let mode = SetAttr {
            mode: Some(0o600),
            ..SetAttr::default()
        };
        ctx.set_attr_at(AT_FDCWD, "/dir/sub/f4", mode, false, false).unwrap();
    });
    pair.apply(|ctx| {
        let owner = SetAttr {
            uid: Some(1234),
            gid: Some(90_000),
            ..SetAttr::default()
        };
        ctx.set_attr_at(AT_FDCWD, "/dir/sub/f5", owner, false, false).unwrap();
    });
    pair.apply(|ctx| {
        let times = SetAttr {
            atime: Some(TimeSpec::new(1_000_000_000, 5)),
            mtime: Some(TimeSpec::new(1_100_000_000, 7)),
            ..SetAttr::default()
        };
        ctx.set_attr_at(AT_FDCWD, "/dir/sub/f6", times, false, false).unwrap();
    });

    advance_clock();
    pair.apply(|ctx| ctx.mkdir_at(AT_FDCWD, "/dir/newdir", 0o755).unwrap());
    pair.apply(|ctx| ctx.mknod_at(AT_FDCWD, "/dir/newdir/pipe", NodeType::Fifo, 0o600).unwrap());
    pair.apply(|ctx| ctx.symlink_at("../small.txt", AT_FDCWD, "/dir/newdir/link").unwrap());
    pair.apply(|ctx| ctx.link_at(AT_FDCWD, "/dir/sub/f7", AT_FDCWD, "/dir/f7-link", false, false).unwrap());
    pair.apply(|ctx| ctx.unlink_at(AT_FDCWD, "/dir/sub/f8", false).unwrap());
    pair.apply(|ctx| ctx.rename_at(AT_FDCWD, "/dir/sub/f9", AT_FDCWD, "/dir/newdir/f9", RenameFlags::empty()).unwrap());
    pair.apply(|ctx| ctx.unlink_at(AT_FDCWD, "/dir/sub/f10", false).unwrap());
    pair.apply(|ctx| write_file(ctx, "/dir/sub/reused", 0, b"new inode"));
}

/// Changes two files that [`change_tree`] left alone.
fn change_more(pair: &mut Pair) {
    advance_clock();
    pair.apply(|ctx| write_file(ctx, "/dir/sub/f20", 0, b"rewritten"));
    pair.apply(|ctx| {
        let mode = SetAttr {
            mode: Some(0o444),
            ..SetAttr::default()
        };
        ctx.set_attr_at(AT_FDCWD, "/dir/sub/f21", mode, false, false).unwrap();
    });
}

fn rsext4_count(pair: &Pair) -> u64 {
    pair.decoded.inode_read_stats().rsext4.load(Ordering::Relaxed)
}

#[test]
fn decoded_stats_match_rsext4() {
    let image = Image::new(build_tree);
    let mut pair = Pair::new(&image);
    let paths = pair.assert_same_stats();
    assert!(paths > 50, "only {paths} paths");
    let decoded = pair.decoded_count();
    assert!(decoded > 40, "only {decoded} records decoded");

    // The journal keeps the changed records away from their home blocks
    // after a sync, so the changed inodes still go through rsext4.
    change_tree(&mut pair);
    pair.sync();
    let rsext4_before = rsext4_count(&pair);
    pair.assert_same_stats();
    assert!(rsext4_count(&pair) > rsext4_before + 10);

    change_more(&mut pair);
    pair.assert_same_stats();

    // After a remount, rsext4 has checkpointed the journal and every
    // record decodes from the block cache again.
    let pair = pair.unmount_and_remount();
    pair.assert_same_stats();
    assert!(pair.decoded_count() as usize >= paths);
    assert_eq!(rsext4_count(&pair), 0);

    // The direct reads of the decoded copy use extent maps decoded from the
    // block cache too.
    let mut pair = pair;
    let files = pair.assert_same_contents();
    let decoded_maps = pair.decoded.inode_read_stats().decoded_maps.load(Ordering::Relaxed);
    assert_eq!(decoded_maps as usize, files);
    pair.unmount();
    image.assert_clean();
}

#[test]
fn decoded_stats_match_after_sync_without_journal() {
    let image = Image::with_mke2fs_options(build_tree, &["-O", "^has_journal"]);
    let mut pair = Pair::new(&image);
    pair.assert_same_stats();
    change_tree(&mut pair);
    pair.assert_same_stats();

    // Without a journal a sync writes every record home, so inodes
    // changed before it decode from the block cache again, and only those
    // changed after it go through rsext4.
    change_more(&mut pair);
    pair.sync();
    advance_clock();
    pair.apply(|ctx| write_file(ctx, "/small.txt", 0, b"H"));
    let decoded_before = pair.decoded_count();
    let rsext4_before = rsext4_count(&pair);
    pair.assert_same_stats();
    assert!(pair.decoded_count() >= decoded_before + 2);
    assert_eq!(rsext4_count(&pair), rsext4_before + 1);
    pair.unmount();
    image.assert_clean();
}

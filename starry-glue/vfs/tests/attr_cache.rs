//! The ext4 attribute cache: every operation that changes an inode must drop
//! its cached `stat`. Each test fills the cache (and checks that the second
//! `stat` was a hit), moves the test clock on, changes the file system, and
//! checks the fields that the change sets. The images are checked with
//! `e2fsck -fn` at the end.

mod common;

use std::{cell::Cell, fs, path::Path, sync::atomic::Ordering};

use common::Image;
use starry_vfs::{
    AT_FDCWD, Ext4Fs, FileSystem, FsContext, OpenFlags, RenameFlags, SetAttr, Stat, TimeSpec,
    VfsResult,
};

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;

/// Seconds after the epoch of the first test timestamp, later than any time
/// at which mke2fs may have built the image (2033-05-18).
const START: i64 = 2_000_000_000;

thread_local! {
    /// The time that [`test_clock`] returns on this thread. Each test runs
    /// on its own thread, so tests do not see each other's clock.
    static NOW: Cell<i64> = const { Cell::new(START) };
}

fn test_clock() -> TimeSpec {
    TimeSpec::new(NOW.with(Cell::get), 0)
}

/// Moves the test clock on by `seconds` and returns the new time.
fn advance(seconds: i64) -> i64 {
    NOW.with(|now| {
        now.set(now.get() + seconds);
        now.get()
    })
}

fn build_tree(tree: &Path) {
    fs::create_dir_all(tree.join("d/sub")).unwrap();
    fs::write(tree.join("d/file"), b"file data").unwrap();
    fs::write(tree.join("d/other"), b"other").unwrap();
    fs::create_dir(tree.join("e")).unwrap();
    fs::create_dir(tree.join("dev")).unwrap();
}

fn context(image: &Image) -> (std::sync::Arc<Ext4Fs>, FsContext) {
    image.context_with_clock(test_clock)
}

fn hits(fs: &Ext4Fs) -> u64 {
    fs.attr_cache().stats().hits.load(Ordering::Relaxed)
}

fn stat(ctx: &FsContext, path: &str) -> VfsResult<Stat> {
    ctx.stat_at(AT_FDCWD, path, false, false)
}

/// Stats `path` twice without following the last link, asserts that the
/// second `stat` came from the attribute cache, and returns it.
fn stat_cached(fs: &Ext4Fs, ctx: &FsContext, path: &str) -> Stat {
    let first = stat(ctx, path).unwrap();
    let before = hits(fs);
    let second = stat(ctx, path).unwrap();
    assert!(hits(fs) > before, "second stat of {path} missed the cache");
    assert_eq!(first, second, "{path}");
    second
}

/// Stats the open file `fd` twice, asserting that the second came from the
/// attribute cache.
fn fstat_cached(fs: &Ext4Fs, ctx: &FsContext, fd: i32) -> Stat {
    let file = ctx.fd_table.get(fd).unwrap();
    file.stat().unwrap();
    let before = hits(fs);
    let second = file.stat().unwrap();
    assert!(
        hits(fs) > before,
        "second fstat of fd {fd} missed the cache"
    );
    second
}

fn fstat(ctx: &FsContext, fd: i32) -> Stat {
    ctx.fd_table.get(fd).unwrap().stat().unwrap()
}

fn open(ctx: &mut FsContext, path: &str, flags: OpenFlags) -> i32 {
    ctx.open_at(AT_FDCWD, path, flags, 0o644).unwrap()
}

fn finish(image: &Image, fs: &Ext4Fs, ctx: FsContext) {
    drop(ctx);
    fs.unmount().expect("unmount");
    image.assert_clean();
}

#[test]
fn write_sets_size_and_times() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = context(&image);
    let fd = open(
        &mut ctx,
        "/d/file",
        OpenFlags::O_WRONLY | OpenFlags::O_APPEND,
    );
    let before = fstat_cached(&fs, &ctx, fd);
    let later = advance(10);

    let file = ctx.fd_table.get(fd).unwrap();
    assert_eq!(file.write(b"more").unwrap(), 4);

    let after = fstat(&ctx, fd);
    assert_eq!(after.size, before.size + 4);
    assert_eq!(after.mtime.sec, later);
    assert_eq!(after.ctime.sec, later);
    assert_eq!(stat(&ctx, "/d/file").unwrap(), after);
    ctx.fd_table.remove(fd).unwrap();
    finish(&image, &fs, ctx);
}

#[test]
fn truncate_sets_size() {
    let image = Image::new(build_tree);
    let (fs, ctx) = context(&image);
    assert_eq!(stat_cached(&fs, &ctx, "/d/file").size, 9);
    let later = advance(10);

    ctx.truncate_at(AT_FDCWD, "/d/file", 2).unwrap();

    let after = stat(&ctx, "/d/file").unwrap();
    assert_eq!(after.size, 2);
    assert_eq!(after.mtime.sec, later);
    finish(&image, &fs, ctx);
}

#[test]
fn set_attr_sets_mode_owner_and_times() {
    let image = Image::new(build_tree);
    let (fs, ctx) = context(&image);
    let cases = [
        SetAttr {
            mode: Some(0o600),
            ..SetAttr::default()
        },
        SetAttr {
            uid: Some(1000),
            gid: Some(1001),
            ..SetAttr::default()
        },
        SetAttr {
            atime: Some(TimeSpec::new(1_234_567_890, 0)),
            mtime: Some(TimeSpec::new(1_234_567_891, 0)),
            ..SetAttr::default()
        },
    ];

    for attr in cases {
        stat_cached(&fs, &ctx, "/d/file");
        let later = advance(10);
        ctx.set_attr_at(AT_FDCWD, "/d/file", attr, false, false)
            .unwrap();
        let after = stat(&ctx, "/d/file").unwrap();
        if let Some(mode) = attr.mode {
            assert_eq!(after.mode, S_IFREG | mode);
        }
        if let Some(uid) = attr.uid {
            assert_eq!(after.uid, uid);
        }
        if let Some(gid) = attr.gid {
            assert_eq!(after.gid, gid);
        }
        if let Some(atime) = attr.atime {
            assert_eq!(after.atime.sec, atime.sec);
        }
        if let Some(mtime) = attr.mtime {
            assert_eq!(after.mtime.sec, mtime.sec);
        }
        assert_eq!(after.ctime.sec, later, "{attr:?}");
    }
    finish(&image, &fs, ctx);
}

#[test]
fn read_sets_access_time() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = context(&image);
    let fd = open(&mut ctx, "/d/file", OpenFlags::empty());
    fstat_cached(&fs, &ctx, fd);
    let later = advance(10);

    let mut data = [0; 32];
    let file = ctx.fd_table.get(fd).unwrap();
    assert_eq!(file.read(&mut data).unwrap(), 9);

    assert_eq!(fstat(&ctx, fd).atime.sec, later);
    ctx.fd_table.remove(fd).unwrap();
    finish(&image, &fs, ctx);
}

#[test]
fn readlink_sets_access_time() {
    let image = Image::new(build_tree);
    let (fs, ctx) = context(&image);
    ctx.symlink_at("file", AT_FDCWD, "/d/link").unwrap();
    stat_cached(&fs, &ctx, "/d/link");
    let later = advance(10);

    assert_eq!(ctx.readlink_at(AT_FDCWD, "/d/link").unwrap(), "file");

    assert_eq!(stat(&ctx, "/d/link").unwrap().atime.sec, later);
    finish(&image, &fs, ctx);
}

#[test]
fn create_sets_parent_times() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = context(&image);
    let steps: [(&str, fn(&mut FsContext)); 3] = [
        ("create", |ctx| {
            let flags = OpenFlags::O_WRONLY | OpenFlags::O_CREAT | OpenFlags::O_EXCL;
            let fd = open(ctx, "/d/new", flags);
            ctx.fd_table.remove(fd).unwrap();
        }),
        ("symlink", |ctx| {
            ctx.symlink_at("file", AT_FDCWD, "/d/soft").unwrap()
        }),
        ("link", |ctx| {
            ctx.link_at(AT_FDCWD, "/d/other", AT_FDCWD, "/d/hard", false, false)
                .unwrap()
        }),
    ];

    for (name, step) in steps {
        stat_cached(&fs, &ctx, "/d");
        let later = advance(10);
        step(&mut ctx);
        let after = stat(&ctx, "/d").unwrap();
        assert_eq!(after.mtime.sec, later, "{name}");
        assert_eq!(after.ctime.sec, later, "{name}");
    }
    finish(&image, &fs, ctx);
}

#[test]
fn mkdir_and_rmdir_set_parent_links() {
    let image = Image::new(build_tree);
    let (fs, ctx) = context(&image);
    let before = stat_cached(&fs, &ctx, "/d").nlink;

    ctx.mkdir_at(AT_FDCWD, "/d/newdir", 0o755).unwrap();
    assert_eq!(stat(&ctx, "/d").unwrap().nlink, before + 1);

    stat_cached(&fs, &ctx, "/d");
    ctx.unlink_at(AT_FDCWD, "/d/newdir", true).unwrap();
    assert_eq!(stat(&ctx, "/d").unwrap().nlink, before);
    finish(&image, &fs, ctx);
}

#[test]
fn link_and_unlink_set_link_count() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = context(&image);
    assert_eq!(stat_cached(&fs, &ctx, "/d/file").nlink, 1);

    ctx.link_at(AT_FDCWD, "/d/file", AT_FDCWD, "/e/again", false, false)
        .unwrap();
    assert_eq!(stat(&ctx, "/d/file").unwrap().nlink, 2);

    stat_cached(&fs, &ctx, "/e/again");
    let later = advance(10);
    ctx.unlink_at(AT_FDCWD, "/d/file", false).unwrap();
    let after = stat(&ctx, "/e/again").unwrap();
    assert_eq!(after.nlink, 1);
    assert_eq!(after.ctime.sec, later);

    let fd = open(&mut ctx, "/e/again", OpenFlags::empty());
    fstat_cached(&fs, &ctx, fd);
    ctx.unlink_at(AT_FDCWD, "/e/again", false).unwrap();
    assert_eq!(fstat(&ctx, fd).nlink, 0);
    ctx.fd_table.remove(fd).unwrap();
    finish(&image, &fs, ctx);
}

#[test]
fn rename_sets_parents_and_replaced_file() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = context(&image);
    let from = stat_cached(&fs, &ctx, "/d").nlink;
    let to = stat_cached(&fs, &ctx, "/e").nlink;
    stat_cached(&fs, &ctx, "/d/sub");
    let later = advance(10);

    ctx.rename_at(AT_FDCWD, "/d/sub", AT_FDCWD, "/e/sub", RenameFlags::empty())
        .unwrap();

    assert_eq!(stat(&ctx, "/d").unwrap().nlink, from - 1);
    assert_eq!(stat(&ctx, "/e").unwrap().nlink, to + 1);
    assert_eq!(stat(&ctx, "/e/sub").unwrap().ctime.sec, later);

    let fd = open(&mut ctx, "/d/other", OpenFlags::empty());
    assert_eq!(fstat_cached(&fs, &ctx, fd).nlink, 1);
    ctx.rename_at(
        AT_FDCWD,
        "/d/file",
        AT_FDCWD,
        "/d/other",
        RenameFlags::empty(),
    )
    .unwrap();
    assert_eq!(fstat(&ctx, fd).nlink, 0);
    assert_eq!(stat(&ctx, "/d/other").unwrap().size, 9);
    ctx.fd_table.remove(fd).unwrap();
    finish(&image, &fs, ctx);
}

#[test]
fn rename_over_linked_file_sets_its_links() {
    let image = Image::new(build_tree);
    let (fs, ctx) = context(&image);
    ctx.link_at(AT_FDCWD, "/d/other", AT_FDCWD, "/e/keep", false, false)
        .unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/e/keep").nlink, 2);

    ctx.rename_at(
        AT_FDCWD,
        "/d/file",
        AT_FDCWD,
        "/d/other",
        RenameFlags::empty(),
    )
    .unwrap();

    assert_eq!(stat(&ctx, "/e/keep").unwrap().nlink, 1);
    finish(&image, &fs, ctx);
}

/// Creates `/e/old`, unlinks it while open, caches its `fstat` (no links)
/// and closes it, so that its inode is freed with its entry still cached.
/// Returns the freed inode number.
fn free_cached_inode(fs: &Ext4Fs, ctx: &mut FsContext) -> u64 {
    let flags = OpenFlags::O_WRONLY | OpenFlags::O_CREAT | OpenFlags::O_EXCL;
    let fd = open(ctx, "/e/old", flags);
    ctx.unlink_at(AT_FDCWD, "/e/old", false).unwrap();
    let old = fstat_cached(fs, ctx, fd);
    assert_eq!(old.mode & S_IFMT, S_IFREG);
    assert_eq!(old.nlink, 0);
    ctx.fd_table.remove(fd).unwrap();
    old.ino
}

#[test]
fn reused_inode_number_shows_new_directory() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = context(&image);
    let freed = free_cached_inode(&fs, &mut ctx);

    ctx.mkdir_at(AT_FDCWD, "/e/new", 0o700).unwrap();

    let new = stat(&ctx, "/e/new").unwrap();
    assert_eq!(
        new.ino, freed,
        "the allocator did not reuse the freed inode"
    );
    assert_eq!(new.mode, S_IFDIR | 0o700);
    assert_eq!(new.nlink, 2);
    finish(&image, &fs, ctx);
}

#[test]
fn reused_inode_number_shows_new_symlink() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = context(&image);
    let freed = free_cached_inode(&fs, &mut ctx);

    ctx.symlink_at("target", AT_FDCWD, "/e/new").unwrap();

    let new = stat(&ctx, "/e/new").unwrap();
    assert_eq!(
        new.ino, freed,
        "the allocator did not reuse the freed inode"
    );
    assert_eq!(new.mode & S_IFMT, S_IFLNK);
    assert_eq!(new.nlink, 1);
    assert_eq!(new.size, 6);
    finish(&image, &fs, ctx);
}

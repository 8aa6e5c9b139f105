//! The ext4 lookup cache: every directory change must update or drop the
//! cached entries it affects. Each test fills the cache (and checks that the
//! second lookup was a hit), changes the directory, and checks what a lookup
//! returns afterwards. The images are checked with `e2fsck -fn` at the end.

mod common;

use std::{fs, path::Path, sync::atomic::Ordering};

use common::Image;
use starry_vfs::{
    AT_FDCWD, DENTRY_CACHE_CAPACITY, Dentry, DentryCache, Ext4Fs, FileSystem, FsContext,
    LinuxError, NodeType, OpenFlags, RenameFlags, Stat,
};

const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;
const S_IFIFO: u32 = 0o010000;

fn build_tree(tree: &Path) {
    fs::create_dir_all(tree.join("d/sub")).unwrap();
    fs::write(tree.join("d/file"), b"file").unwrap();
    fs::write(tree.join("d/other"), b"other").unwrap();
    fs::write(tree.join("d/sub/inner"), b"inner").unwrap();
    fs::create_dir(tree.join("e")).unwrap();
    fs::create_dir(tree.join("dev")).unwrap();
}

fn fills(fs: &Ext4Fs) -> u64 {
    fs.dentry_cache().stats().directory_fills.load(Ordering::Relaxed)
}

/// Returns whether the directory `path` is marked complete in the cache.
fn is_complete(fs: &Ext4Fs, ctx: &FsContext, path: &str) -> bool {
    let ino = stat(ctx, path).unwrap().ino;
    fs.dentry_cache().is_complete(u32::try_from(ino).unwrap())
}

fn hits(fs: &Ext4Fs) -> u64 {
    fs.dentry_cache().stats().hits.load(Ordering::Relaxed)
}

/// Stats `path` twice without following the last link, and asserts that the
/// second resolution was served from the cache.
fn stat_cached(fs: &Ext4Fs, ctx: &FsContext, path: &str) -> Result<Stat, LinuxError> {
    let first = ctx.stat_at(AT_FDCWD, path, false, false);
    let before = hits(fs);
    let second = ctx.stat_at(AT_FDCWD, path, false, false);
    assert!(hits(fs) > before, "second lookup of {path} missed the cache");
    assert_eq!(first.is_ok(), second.is_ok(), "{path}: {first:?} then {second:?}");
    second
}

fn stat(ctx: &FsContext, path: &str) -> Result<Stat, LinuxError> {
    ctx.stat_at(AT_FDCWD, path, false, false)
}

fn create_file(ctx: &mut FsContext, path: &str) {
    let flags = OpenFlags::O_WRONLY | OpenFlags::O_CREAT | OpenFlags::O_EXCL;
    let fd = ctx.open_at(AT_FDCWD, path, flags, 0o644).unwrap();
    ctx.fd_table.remove(fd).unwrap();
}

fn finish(image: &Image, fs: &Ext4Fs, ctx: FsContext) {
    drop(ctx);
    fs.unmount().expect("unmount");
    image.assert_clean();
}

#[test]
fn negative_turns_positive_on_create() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();

    assert_eq!(stat_cached(&fs, &ctx, "/d/new").unwrap_err(), LinuxError::ENOENT);
    create_file(&mut ctx, "/d/new");
    let created = stat_cached(&fs, &ctx, "/d/new").unwrap();
    assert_eq!(created.mode & S_IFMT, S_IFREG);
    assert_eq!(image_ino_after(&image, &fs, ctx, "/d/new"), created.ino);
}

/// Unmounts and returns the inode number that `debugfs` reads for `path`.
fn image_ino_after(image: &Image, fs: &Ext4Fs, ctx: FsContext, path: &str) -> u64 {
    finish(image, fs, ctx);
    let output = image.debugfs(&format!("stat {path}"));
    let start = output.find("Inode: ").expect("debugfs stat output") + "Inode: ".len();
    output[start..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn negative_turns_positive_on_mkdir_and_mknod() {
    let image = Image::new(build_tree);
    let (fs, ctx) = image.context();

    assert_eq!(stat_cached(&fs, &ctx, "/d/newdir").unwrap_err(), LinuxError::ENOENT);
    ctx.mkdir_at(AT_FDCWD, "/d/newdir", 0o755).unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/newdir").unwrap().mode & S_IFMT, S_IFDIR);
    // The new directory is empty, whatever its inode number held before.
    assert_eq!(stat_cached(&fs, &ctx, "/d/newdir/x").unwrap_err(), LinuxError::ENOENT);

    assert_eq!(stat_cached(&fs, &ctx, "/d/fifo").unwrap_err(), LinuxError::ENOENT);
    ctx.mknod_at(AT_FDCWD, "/d/fifo", NodeType::Fifo, 0o644).unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/fifo").unwrap().mode & S_IFMT, S_IFIFO);
    finish(&image, &fs, ctx);
}

#[test]
fn negative_turns_positive_on_symlink_and_link() {
    let image = Image::new(build_tree);
    let (fs, ctx) = image.context();

    assert_eq!(stat_cached(&fs, &ctx, "/d/soft").unwrap_err(), LinuxError::ENOENT);
    ctx.symlink_at("file", AT_FDCWD, "/d/soft").unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/soft").unwrap().mode & S_IFMT, S_IFLNK);
    assert_eq!(ctx.readlink_at(AT_FDCWD, "/d/soft").unwrap(), "file");

    let file = stat(&ctx, "/d/file").unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/e/hard").unwrap_err(), LinuxError::ENOENT);
    ctx.link_at(AT_FDCWD, "/d/file", AT_FDCWD, "/e/hard", false, false)
        .unwrap();
    let hard = stat_cached(&fs, &ctx, "/e/hard").unwrap();
    assert_eq!(hard.ino, file.ino);
    assert_eq!(hard.nlink, 2);
    finish(&image, &fs, ctx);
}

#[test]
fn unlink_and_rmdir_make_names_negative() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();

    let old = stat_cached(&fs, &ctx, "/d/file").unwrap();
    ctx.unlink_at(AT_FDCWD, "/d/file", false).unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/file").unwrap_err(), LinuxError::ENOENT);
    create_file(&mut ctx, "/d/file");
    let new = stat_cached(&fs, &ctx, "/d/file").unwrap();
    assert_eq!(new.size, 0, "the old file {} came back", old.ino);

    stat_cached(&fs, &ctx, "/d/sub/inner").unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/sub/gone").unwrap_err(), LinuxError::ENOENT);
    ctx.unlink_at(AT_FDCWD, "/d/sub/inner", false).unwrap();
    ctx.unlink_at(AT_FDCWD, "/d/sub", true).unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/sub").unwrap_err(), LinuxError::ENOENT);
    assert_eq!(stat(&ctx, "/d/sub/inner").unwrap_err(), LinuxError::ENOENT);

    // A directory made again under the same name starts empty, and a name
    // created in it is found.
    ctx.mkdir_at(AT_FDCWD, "/d/sub", 0o755).unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/sub/inner").unwrap_err(), LinuxError::ENOENT);
    create_file(&mut ctx, "/d/sub/gone");
    assert_eq!(stat_cached(&fs, &ctx, "/d/sub/gone").unwrap().mode & S_IFMT, S_IFREG);
    finish(&image, &fs, ctx);
}

#[test]
fn rename_moves_entries() {
    let image = Image::new(build_tree);
    let (fs, ctx) = image.context();

    let file = stat_cached(&fs, &ctx, "/d/file").unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/renamed").unwrap_err(), LinuxError::ENOENT);
    ctx.rename_at(AT_FDCWD, "/d/file", AT_FDCWD, "/d/renamed", RenameFlags::empty())
        .unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/file").unwrap_err(), LinuxError::ENOENT);
    assert_eq!(stat_cached(&fs, &ctx, "/d/renamed").unwrap().ino, file.ino);

    // To another directory.
    assert_eq!(stat_cached(&fs, &ctx, "/e/moved").unwrap_err(), LinuxError::ENOENT);
    ctx.rename_at(AT_FDCWD, "/d/renamed", AT_FDCWD, "/e/moved", RenameFlags::empty())
        .unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/renamed").unwrap_err(), LinuxError::ENOENT);
    assert_eq!(stat_cached(&fs, &ctx, "/e/moved").unwrap().ino, file.ino);
    finish(&image, &fs, ctx);
}

#[test]
fn rename_over_existing_target() {
    let image = Image::new(build_tree);
    let (fs, ctx) = image.context();

    let file = stat_cached(&fs, &ctx, "/d/file").unwrap();
    let other = stat_cached(&fs, &ctx, "/d/other").unwrap();
    assert_ne!(file.ino, other.ino);
    ctx.rename_at(AT_FDCWD, "/d/file", AT_FDCWD, "/d/other", RenameFlags::empty())
        .unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/file").unwrap_err(), LinuxError::ENOENT);
    assert_eq!(stat_cached(&fs, &ctx, "/d/other").unwrap().ino, file.ino);

    // An empty directory replaced by another directory.
    ctx.mkdir_at(AT_FDCWD, "/e/empty", 0o755).unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/e/empty/inner").unwrap_err(), LinuxError::ENOENT);
    let sub = stat_cached(&fs, &ctx, "/d/sub").unwrap();
    ctx.rename_at(AT_FDCWD, "/d/sub", AT_FDCWD, "/e/empty", RenameFlags::empty())
        .unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/e/empty").unwrap().ino, sub.ino);
    assert_eq!(stat_cached(&fs, &ctx, "/e/empty/inner").unwrap().mode & S_IFMT, S_IFREG);
    assert_eq!(stat_cached(&fs, &ctx, "/d/sub").unwrap_err(), LinuxError::ENOENT);
    finish(&image, &fs, ctx);
}

#[test]
fn directory_move_keeps_its_entries() {
    let image = Image::new(build_tree);
    let (fs, ctx) = image.context();

    let inner = stat_cached(&fs, &ctx, "/d/sub/inner").unwrap();
    ctx.rename_at(AT_FDCWD, "/d/sub", AT_FDCWD, "/e/sub2", RenameFlags::empty())
        .unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/sub/inner").unwrap_err(), LinuxError::ENOENT);
    assert_eq!(stat_cached(&fs, &ctx, "/e/sub2/inner").unwrap().ino, inner.ino);
    // ".." of the moved directory now leads to /e.
    let e = stat(&ctx, "/e").unwrap();
    assert_eq!(stat(&ctx, "/e/sub2/..").unwrap().ino, e.ino);
    finish(&image, &fs, ctx);
}

#[test]
fn rename_exchange_swaps_entries() {
    let image = Image::new(build_tree);
    let (fs, ctx) = image.context();

    let file = stat_cached(&fs, &ctx, "/d/file").unwrap();
    let sub = stat_cached(&fs, &ctx, "/d/sub").unwrap();
    ctx.rename_at(AT_FDCWD, "/d/file", AT_FDCWD, "/d/sub", RenameFlags::EXCHANGE)
        .unwrap();
    assert_eq!(stat_cached(&fs, &ctx, "/d/file").unwrap().ino, sub.ino);
    assert_eq!(stat_cached(&fs, &ctx, "/d/sub").unwrap().ino, file.ino);
    assert_eq!(stat_cached(&fs, &ctx, "/d/file/inner").unwrap().mode & S_IFMT, S_IFREG);
    finish(&image, &fs, ctx);
}

#[test]
fn failed_create_keeps_entries() {
    let image = Image::new(build_tree);
    let (fs, ctx) = image.context();

    let file = stat_cached(&fs, &ctx, "/d/file").unwrap();
    assert_eq!(ctx.mkdir_at(AT_FDCWD, "/d/file", 0o755), Err(LinuxError::EEXIST));
    assert_eq!(ctx.unlink_at(AT_FDCWD, "/d/missing", false), Err(LinuxError::ENOENT));
    assert_eq!(stat_cached(&fs, &ctx, "/d/file").unwrap().ino, file.ino);
    assert_eq!(stat_cached(&fs, &ctx, "/d/missing").unwrap_err(), LinuxError::ENOENT);
    finish(&image, &fs, ctx);
}

#[test]
fn cache_size_is_bounded() {
    let image = Image::new(build_big_tree);
    let (fs, ctx) = image.context();

    // Misses in a directory too large to fill each add a negative entry.
    for index in 0..DENTRY_CACHE_CAPACITY + 500 {
        let path = format!("/big/missing{index}");
        assert_eq!(stat(&ctx, &path).unwrap_err(), LinuxError::ENOENT);
    }
    assert_eq!(fs.dentry_cache().len(), DENTRY_CACHE_CAPACITY);
    // The oldest names were evicted and are still looked up correctly.
    assert_eq!(stat(&ctx, "/big/missing0").unwrap_err(), LinuxError::ENOENT);
    assert!(stat(&ctx, "/d/file").is_ok());
    finish(&image, &fs, ctx);
}

#[test]
fn cache_unit_operations() {
    let cache = DentryCache::new(4);
    let file = Dentry::Positive {
        ino: 12,
        node_type: NodeType::Regular,
    };
    cache.insert(2, "a", file);
    cache.insert(2, "b", Dentry::Negative);
    cache.insert(3, "a", Dentry::Negative);
    assert_eq!(cache.get(2, "a"), Some(file));
    assert_eq!(cache.get(2, "b"), Some(Dentry::Negative));
    assert_eq!(cache.get(2, "c"), None);

    cache.invalidate(2, "a");
    assert_eq!(cache.get(2, "a"), None);
    assert_eq!(cache.get(3, "a"), Some(Dentry::Negative));

    cache.invalidate_directory(2);
    assert_eq!(cache.get(2, "b"), None);
    assert_eq!(cache.get(3, "a"), Some(Dentry::Negative));

    for name in ["w", "x", "y", "z"] {
        cache.insert(4, name, Dentry::Negative);
    }
    assert_eq!(cache.len(), 4);
    assert_eq!(cache.get(3, "a"), None, "least recently used entry kept");

    let off = DentryCache::new(0);
    off.insert(2, "a", file);
    assert!(off.is_empty());
    assert_eq!(off.get(2, "a"), None);
}

#[test]
fn remount_sees_renamed_file() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    create_file(&mut ctx, "/d/new");
    ctx.rename_at(AT_FDCWD, "/d/new", AT_FDCWD, "/e/new", RenameFlags::empty())
        .unwrap();
    finish(&image, &fs, ctx);

    // A new mount starts with an empty cache and finds the same tree.
    let (fs, ctx) = image.context();
    assert!(stat_cached(&fs, &ctx, "/e/new").is_ok());
    assert_eq!(stat_cached(&fs, &ctx, "/d/new").unwrap_err(), LinuxError::ENOENT);
    finish(&image, &fs, ctx);
}

#[test]
fn miss_fills_whole_directory() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();

    let fills_before = fills(&fs);
    assert_eq!(stat(&ctx, "/d/missing").unwrap_err(), LinuxError::ENOENT);
    assert_eq!(fills(&fs), fills_before + 1);
    assert!(is_complete(&fs, &ctx, "/d"));

    // Names not looked up yet come from the fill, existing or not.
    let before = hits(&fs);
    assert_eq!(stat(&ctx, "/d/other").unwrap().size, 5);
    assert_eq!(stat(&ctx, "/d/sub").unwrap().mode & S_IFMT, S_IFDIR);
    assert_eq!(stat(&ctx, "/d/nothing").unwrap_err(), LinuxError::ENOENT);
    assert!(hits(&fs) >= before + 3);

    // Changes keep the directory complete and its names exact.
    create_file(&mut ctx, "/d/new");
    ctx.rename_at(AT_FDCWD, "/d/other", AT_FDCWD, "/d/renamed", RenameFlags::empty())
        .unwrap();
    ctx.unlink_at(AT_FDCWD, "/d/file", false).unwrap();
    assert!(is_complete(&fs, &ctx, "/d"));
    assert_eq!(stat(&ctx, "/d/new").unwrap().mode & S_IFMT, S_IFREG);
    assert_eq!(stat(&ctx, "/d/renamed").unwrap().size, 5);
    assert_eq!(stat(&ctx, "/d/other").unwrap_err(), LinuxError::ENOENT);
    assert_eq!(stat(&ctx, "/d/file").unwrap_err(), LinuxError::ENOENT);

    // A rename into another complete directory.
    assert_eq!(stat(&ctx, "/e/missing").unwrap_err(), LinuxError::ENOENT);
    assert!(is_complete(&fs, &ctx, "/e"));
    ctx.rename_at(AT_FDCWD, "/d/renamed", AT_FDCWD, "/e/moved", RenameFlags::empty())
        .unwrap();
    assert_eq!(stat(&ctx, "/e/moved").unwrap().size, 5);
    assert_eq!(stat(&ctx, "/d/renamed").unwrap_err(), LinuxError::ENOENT);
    finish(&image, &fs, ctx);
}

/// Adds to [`build_tree`] the directory `big`, with 1500 names of 40 bytes
/// that take about 70 KiB of entries, over the 32 KiB that a miss fills.
fn build_big_tree(tree: &Path) {
    build_tree(tree);
    fs::create_dir(tree.join("big")).unwrap();
    for index in 0..1500 {
        let name = format!("entry-with-a-long-name-number-{index:010}");
        fs::write(tree.join("big").join(name), b"x").unwrap();
    }
}

#[test]
fn large_directory_is_not_filled() {
    let image = Image::new(build_big_tree);
    let (fs, ctx) = image.context();

    assert_eq!(stat_cached(&fs, &ctx, "/big/missing").unwrap_err(), LinuxError::ENOENT);
    assert!(!is_complete(&fs, &ctx, "/big"));
    let found = stat_cached(&fs, &ctx, "/big/entry-with-a-long-name-number-0000001499");
    assert_eq!(found.unwrap().size, 1);
    assert_eq!(stat(&ctx, "/big/entry-with-a-long-name-number-0000001500").unwrap_err(), LinuxError::ENOENT);
    finish(&image, &fs, ctx);
}

#[test]
fn eviction_drops_complete_mark() {
    let cache = DentryCache::new(4);
    let file = Dentry::Positive {
        ino: 12,
        node_type: NodeType::Regular,
    };
    cache.fill_directory(2, [("a", file), ("b", Dentry::Negative)]);
    assert!(cache.is_complete(2));
    assert_eq!(cache.get(2, "other"), Some(Dentry::Negative));

    // Two more entries fit; the fifth evicts an entry of directory 2.
    cache.insert(3, "x", Dentry::Negative);
    cache.insert(3, "y", Dentry::Negative);
    assert!(cache.is_complete(2));
    cache.insert(3, "z", Dentry::Negative);
    assert!(!cache.is_complete(2));
    assert_eq!(cache.get(2, "other"), None);

    // A fill larger than the cache is not marked complete.
    let names: Vec<String> = (0..5).map(|index| format!("n{index}")).collect();
    cache.fill_directory(4, names.iter().map(|name| (name.as_str(), Dentry::Negative)));
    assert!(!cache.is_complete(4));

    // Invalidating one name drops the mark, inserting does not.
    cache.fill_directory(5, [("a", file)]);
    cache.insert(5, "b", Dentry::Negative);
    assert!(cache.is_complete(5));
    cache.invalidate(5, "a");
    assert!(!cache.is_complete(5));
    assert_eq!(cache.get(5, "a"), None);
}

//! Path resolution through the VFS on an ext4 image: `..` out of the
//! starting directory, symbolic links in the middle of a path, walks deeper
//! than the inline step storage, the length limits and the locations that
//! `getcwd` reports.

mod common;

use std::{fs, path::Path};

use common::Image;
use starry_vfs::{AT_FDCWD, FileSystem, FsContext, LinuxError, NodeType, OpenFlags};

/// Depth of the nested directories, more than the steps a walk keeps inline.
const DEEP_LEVELS: usize = 24;

fn build_tree(tree: &Path) {
    fs::write(tree.join("hello.txt"), b"hello world\n").unwrap();
    fs::create_dir_all(tree.join("sub/dir")).unwrap();
    fs::write(tree.join("sub/dir/file"), b"file").unwrap();
    std::os::unix::fs::symlink("../hello.txt", tree.join("sub/up_link")).unwrap();
    std::os::unix::fs::symlink("/sub/dir", tree.join("abs_dir_link")).unwrap();
    std::os::unix::fs::symlink("sub/dir", tree.join("rel_dir_link")).unwrap();
    std::os::unix::fs::symlink("hello.txt", tree.join("file_link")).unwrap();
    let mut deep = tree.join("deep");
    for level in 0..DEEP_LEVELS {
        deep = deep.join(format!("d{level}"));
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("leaf"), b"leaf").unwrap();
    fs::create_dir(tree.join("dev")).unwrap();
}

fn ino(ctx: &FsContext, path: &str) -> Result<u64, LinuxError> {
    ctx.stat_at(AT_FDCWD, path, true, false).map(|stat| stat.ino)
}

fn deep_path() -> String {
    let mut path = String::from("/deep");
    for level in 0..DEEP_LEVELS {
        path.push_str(&format!("/d{level}"));
    }
    path
}

fn open_dir(ctx: &mut FsContext, dirfd: i32, path: &str) -> Result<i32, LinuxError> {
    ctx.open_at(dirfd, path, OpenFlags::O_DIRECTORY, 0)
}

#[test]
fn dotdot_leaves_the_starting_directory() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let hello = ino(&ctx, "/hello.txt").unwrap();

    ctx.chdir("/sub/dir").unwrap();
    assert_eq!(ino(&ctx, "../../hello.txt"), Ok(hello));
    assert_eq!(ino(&ctx, "../../../../hello.txt"), Ok(hello));
    assert_eq!(ino(&ctx, "./../dir/./file"), ino(&ctx, "/sub/dir/file"));

    // A directory opened by a relative path keeps its absolute location.
    let dir = open_dir(&mut ctx, AT_FDCWD, "../../sub/./dir/..").unwrap();
    ctx.chdir("/").unwrap();
    ctx.fchdir(dir).unwrap();
    assert_eq!(ctx.cwd_path(), "/sub");

    // `..` from a dirfd goes above the dirfd's directory.
    let sub_dir = open_dir(&mut ctx, AT_FDCWD, "/sub/dir").unwrap();
    let stat = ctx.stat_at(sub_dir, "../../hello.txt", true, false).unwrap();
    assert_eq!(stat.ino, hello);
    let parent = open_dir(&mut ctx, sub_dir, "..").unwrap();
    ctx.fchdir(parent).unwrap();
    assert_eq!(ctx.cwd_path(), "/sub");
    ctx.chdir("..").unwrap();
    assert_eq!(ctx.cwd_path(), "/");
    ctx.chdir("..").unwrap();
    assert_eq!(ctx.cwd_path(), "/");

    drop(ctx);
    fs.unmount().unwrap();
    image.assert_clean();
}

#[test]
fn symlinks_inside_a_path() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let hello = ino(&ctx, "/hello.txt").unwrap();
    let file = ino(&ctx, "/sub/dir/file").unwrap();

    // A relative target resolves from the link's directory.
    assert_eq!(ino(&ctx, "/sub/up_link"), Ok(hello));
    assert_eq!(ino(&ctx, "/rel_dir_link/file"), Ok(file));
    // `..` after a link leaves the link's target, as on Linux.
    assert_eq!(ino(&ctx, "/abs_dir_link/../dir/file"), Ok(file));
    assert_eq!(ino(&ctx, "/rel_dir_link/../../hello.txt"), Ok(hello));

    // getcwd names the target, not the link.
    ctx.chdir("/rel_dir_link").unwrap();
    assert_eq!(ctx.cwd_path(), "/sub/dir");
    ctx.chdir("/sub/../abs_dir_link/..").unwrap();
    assert_eq!(ctx.cwd_path(), "/sub");

    // A trailing slash follows a link in the last component even without
    // follow, and requires a directory.
    let dir_link = ctx.stat_at(AT_FDCWD, "/abs_dir_link/", false, false).unwrap();
    assert_eq!(dir_link.node_type(), Some(NodeType::Directory));
    let link_itself = ctx.stat_at(AT_FDCWD, "/abs_dir_link", false, false).unwrap();
    assert_eq!(link_itself.node_type(), Some(NodeType::Symlink));
    assert_eq!(ino(&ctx, "/file_link/"), Err(LinuxError::ENOTDIR));
    assert_eq!(ino(&ctx, "/file_link/x"), Err(LinuxError::ENOTDIR));

    // A link's location is its own name; its target's is the target's.
    let fd = ctx
        .open_at(AT_FDCWD, "/rel_dir_link", OpenFlags::O_DIRECTORY, 0)
        .unwrap();
    ctx.fchdir(fd).unwrap();
    assert_eq!(ctx.cwd_path(), "/sub/dir");

    drop(ctx);
    fs.unmount().unwrap();
    image.assert_clean();
}

#[test]
fn deep_paths_beyond_inline_steps() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let deep = deep_path();

    let leaf = ctx.stat_at(AT_FDCWD, &format!("{deep}/leaf"), true, false).unwrap();
    assert_eq!(leaf.size, 4);
    ctx.chdir(&deep).unwrap();
    assert_eq!(ctx.cwd_path(), deep);
    assert_eq!(ino(&ctx, "leaf"), Ok(leaf.ino));

    // Up every level and back to the root.
    let up = "../".repeat(DEEP_LEVELS + 1);
    assert_eq!(ino(&ctx, &up), ino(&ctx, "/"));
    let back = format!("{up}deep/d0/d1");
    ctx.chdir(&back).unwrap();
    assert_eq!(ctx.cwd_path(), "/deep/d0/d1");

    // A location built from a deep relative walk.
    ctx.chdir("/deep").unwrap();
    let relative = deep.trim_start_matches("/deep/");
    let fd = ctx.open_at(AT_FDCWD, relative, OpenFlags::O_DIRECTORY, 0).unwrap();
    ctx.chdir("/").unwrap();
    ctx.fchdir(fd).unwrap();
    assert_eq!(ctx.cwd_path(), deep);

    drop(ctx);
    fs.unmount().unwrap();
    image.assert_clean();
}

#[test]
fn path_and_name_length_limits() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let hello = ino(&ctx, "/hello.txt").unwrap();

    // PATH_MAX counts the NUL: 4095 bytes resolve, 4096 do not.
    let prefix = "/".repeat(4095 - "hello.txt".len());
    let longest = format!("{prefix}hello.txt");
    assert_eq!(longest.len(), 4095);
    assert_eq!(ino(&ctx, &longest), Ok(hello));
    let too_long = format!("/{longest}");
    assert_eq!(ino(&ctx, &too_long), Err(LinuxError::ENAMETOOLONG));
    assert_eq!(
        ctx.open_at(AT_FDCWD, &too_long, OpenFlags::empty(), 0).err(),
        Some(LinuxError::ENAMETOOLONG)
    );

    // NAME_MAX: a 255-byte name is looked up, a 256-byte one is rejected,
    // also in the middle of a path and as the name to create.
    let name_255 = "n".repeat(255);
    let name_256 = "n".repeat(256);
    assert_eq!(ino(&ctx, &format!("/{name_255}")), Err(LinuxError::ENOENT));
    assert_eq!(ino(&ctx, &format!("/{name_256}")), Err(LinuxError::ENAMETOOLONG));
    assert_eq!(ino(&ctx, &format!("/{name_256}/x")), Err(LinuxError::ENAMETOOLONG));
    assert_eq!(
        ctx.mkdir_at(AT_FDCWD, &format!("/sub/{name_256}"), 0o755),
        Err(LinuxError::ENAMETOOLONG)
    );
    ctx.mkdir_at(AT_FDCWD, &format!("/sub/{name_255}"), 0o755).unwrap();
    ctx.chdir(&format!("/sub/{name_255}")).unwrap();
    assert_eq!(ctx.cwd_path(), format!("/sub/{name_255}"));
    ctx.chdir("/").unwrap();
    ctx.unlink_at(AT_FDCWD, &format!("/sub/{name_255}"), true).unwrap();

    // An empty path: ENOENT, or the dirfd itself with AT_EMPTY_PATH.
    assert_eq!(ino(&ctx, ""), Err(LinuxError::ENOENT));
    let root = ino(&ctx, "/").unwrap();
    assert_eq!(ctx.stat_at(AT_FDCWD, "", true, true).map(|s| s.ino), Ok(root));
    let dir = ctx.open_at(AT_FDCWD, "/sub", OpenFlags::O_DIRECTORY, 0).unwrap();
    let sub = ino(&ctx, "/sub").unwrap();
    assert_eq!(ctx.stat_at(dir, "", true, true).map(|s| s.ino), Ok(sub));
    assert_eq!(ctx.stat_at(dir, "", true, false).map(|s| s.ino), Err(LinuxError::ENOENT));

    drop(ctx);
    fs.unmount().unwrap();
    image.assert_clean();
}

#[test]
fn walks_across_mount_points() {
    let image = Image::new(build_tree);
    let (fs, mut ctx) = image.context();
    let sub = ino(&ctx, "/sub").unwrap();

    assert_eq!(ino(&ctx, "/dev/shm/../../sub"), Ok(sub));
    ctx.chdir("/dev/shm/..").unwrap();
    assert_eq!(ctx.cwd_path(), "/dev");
    assert_eq!(ino(&ctx, "../sub"), Ok(sub));
    let devfs_dev = ctx.stat_at(AT_FDCWD, ".", true, false).unwrap().dev;
    assert_ne!(devfs_dev, ctx.stat_at(AT_FDCWD, "/sub", true, false).unwrap().dev);

    // The parent of a name to create is resolved through `..` and mounts.
    ctx.mkdir_at(AT_FDCWD, "../sub/dir/../made", 0o755).unwrap();
    assert!(ino(&ctx, "/sub/made").is_ok());
    ctx.unlink_at(AT_FDCWD, "/dev/../sub/made/", true).unwrap();
    assert_eq!(ino(&ctx, "/sub/made"), Err(LinuxError::ENOENT));

    drop(ctx);
    let root: &dyn FileSystem = fs.as_ref();
    root.unmount().unwrap();
    image.assert_clean();
}

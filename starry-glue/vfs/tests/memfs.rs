//! tmpfs, devfs, pipes and the descriptor table, on a tmpfs root.

mod common;

use std::sync::{Arc, Mutex};

use common::{fake_entropy, host_clock};
use starry_vfs::{
    AT_FDCWD, CharDevice, FileLike, FileSystem, FsContext, LinuxError, MountTable, NodeType, OpenFlags,
    RenameFlags, TmpFs, VfsResult, new_pipe,
};

const RDONLY: OpenFlags = OpenFlags::empty();

/// A console that records what is written and serves queued input.
#[derive(Default)]
struct RecordingConsole {
    output: Mutex<Vec<u8>>,
    input: Mutex<Vec<u8>>,
}

impl CharDevice for RecordingConsole {
    fn read(&self, buf: &mut [u8]) -> VfsResult<usize> {
        let mut input = self.input.lock().unwrap();
        if input.is_empty() {
            return Err(LinuxError::EAGAIN);
        }
        let count = buf.len().min(input.len());
        buf[..count].copy_from_slice(&input[..count]);
        input.drain(..count);
        Ok(count)
    }

    fn write(&self, buf: &[u8]) -> VfsResult<usize> {
        self.output.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn is_tty(&self) -> bool {
        true
    }
}

fn tmpfs_context() -> (FsContext, Arc<RecordingConsole>) {
    let root: Arc<dyn FileSystem> = TmpFs::new(host_clock, 0o755);
    let mounts = Arc::new(MountTable::new(root));
    let console = Arc::new(RecordingConsole::default());
    starry_vfs::mount_devfs(&mounts, console.clone(), fake_entropy, host_clock).unwrap();
    (FsContext::new(mounts), console)
}

#[test]
fn devfs_nodes_behave_like_linux() {
    let (mut ctx, console) = tmpfs_context();
    ctx.open_stdio().unwrap();
    assert_eq!(ctx.fd_table.open_fds(), [0, 1, 2]);

    let null = ctx.open_at(AT_FDCWD, "/dev/null", OpenFlags::O_RDWR, 0).unwrap();
    let null = ctx.fd_table.get(null).unwrap();
    let mut buf = [7u8; 16];
    assert_eq!(null.read(&mut buf).unwrap(), 0);
    assert_eq!(null.write(b"discarded").unwrap(), 9);

    let zero = ctx.open_at(AT_FDCWD, "/dev/zero", RDONLY, 0).unwrap();
    assert_eq!(ctx.fd_table.get(zero).unwrap().read(&mut buf).unwrap(), 16);
    assert_eq!(buf, [0u8; 16]);

    let random = ctx.open_at(AT_FDCWD, "/dev/urandom", RDONLY, 0).unwrap();
    assert_eq!(ctx.fd_table.get(random).unwrap().read(&mut buf).unwrap(), 16);
    let mut expected = [0u8; 16];
    fake_entropy(&mut expected);
    assert_eq!(buf, expected);

    let stat = ctx.stat_at(AT_FDCWD, "/dev/null", true, false).unwrap();
    assert_eq!(stat.mode, 0o020666);
    assert_eq!(stat.rdev, (1 << 8) | 3);
    assert_eq!(ctx.stat_at(AT_FDCWD, "/dev/tty", true, false).unwrap().rdev, 5 << 8);

    // stdio on the console.
    let stdout = ctx.fd_table.get(1).unwrap();
    assert!(stdout.is_tty());
    assert_eq!(stdout.write(b"hello\n").unwrap(), 6);
    assert_eq!(console.output.lock().unwrap().as_slice(), b"hello\n");
    assert_eq!(stdout.stat().unwrap().node_type(), Some(NodeType::CharDevice));
    let stdin = ctx.fd_table.get(0).unwrap();
    assert_eq!(stdin.read(&mut buf), Err(LinuxError::EAGAIN));
    console.input.lock().unwrap().extend_from_slice(b"typed");
    assert_eq!(stdin.read(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"typed");
    // /dev/null is a character device, but not a terminal.
    assert!(!null.is_tty());
    assert_eq!(null.ioctl(0x5413, 0), Err(LinuxError::ENOTTY));

    let names: Vec<String> = {
        let dir = ctx.open_at(AT_FDCWD, "/dev", OpenFlags::O_DIRECTORY, 0).unwrap();
        let entries = ctx.fd_table.get(dir).unwrap().read_dir(100).unwrap();
        entries.into_iter().map(|e| e.name).collect()
    };
    for name in [".", "..", "null", "zero", "random", "urandom", "tty", "console", "shm"] {
        assert!(names.iter().any(|n| n == name), "/dev lacks {name}: {names:?}");
    }
}

#[test]
fn shm_supports_sem_open_pattern() {
    // musl's sem_open: create a temp file, write, link it to the final
    // name, unlink the temp name, then open the final name.
    let (mut ctx, _) = tmpfs_context();
    let flags = OpenFlags::O_RDWR | OpenFlags::O_CREAT | OpenFlags::O_EXCL;
    let fd = ctx.open_at(AT_FDCWD, "/dev/shm/tmp-123", flags, 0o600).unwrap();
    ctx.fd_table.get(fd).unwrap().write(&[1u8; 32]).unwrap();
    ctx.link_at(AT_FDCWD, "/dev/shm/tmp-123", AT_FDCWD, "/dev/shm/sem.mp-abc", false, false)
        .unwrap();
    assert_eq!(ctx.stat_at(AT_FDCWD, "/dev/shm/sem.mp-abc", true, false).unwrap().nlink, 2);
    ctx.unlink_at(AT_FDCWD, "/dev/shm/tmp-123", false).unwrap();
    let stat = ctx.stat_at(AT_FDCWD, "/dev/shm/sem.mp-abc", true, false).unwrap();
    assert_eq!(stat.nlink, 1);
    assert_eq!(stat.size, 32);
    assert_eq!(stat.mode, 0o100600 & !0o022);
    ctx.unlink_at(AT_FDCWD, "/dev/shm/sem.mp-abc", false).unwrap();
    assert_eq!(
        ctx.stat_at(AT_FDCWD, "/dev/shm/sem.mp-abc", true, false),
        Err(LinuxError::ENOENT)
    );
    // The open descriptor still reads the unlinked data.
    let mut buf = [0u8; 32];
    assert_eq!(ctx.fd_table.get(fd).unwrap().read_at(0, &mut buf).unwrap(), 32);
    assert_eq!(buf, [1u8; 32]);
}

#[test]
fn tmpfs_directory_operations() {
    let (mut ctx, _) = tmpfs_context();
    ctx.mkdir_at(AT_FDCWD, "/tmp", 0o1777).unwrap();
    assert_eq!(ctx.stat_at(AT_FDCWD, "/tmp", true, false).unwrap().mode, 0o041755);
    ctx.mkdir_at(AT_FDCWD, "/tmp/a", 0o755).unwrap();
    assert_eq!(ctx.stat_at(AT_FDCWD, "/tmp", true, false).unwrap().nlink, 3);
    let fd = ctx
        .open_at(AT_FDCWD, "/tmp/a/f", OpenFlags::O_WRONLY | OpenFlags::O_CREAT, 0o644)
        .unwrap();
    ctx.fd_table.get(fd).unwrap().write(b"data").unwrap();
    ctx.rename_at(AT_FDCWD, "/tmp/a", AT_FDCWD, "/tmp/b", RenameFlags::empty())
        .unwrap();
    assert_eq!(ctx.stat_at(AT_FDCWD, "/tmp/b/f", true, false).unwrap().size, 4);
    assert_eq!(ctx.unlink_at(AT_FDCWD, "/tmp/b", true), Err(LinuxError::ENOTEMPTY));
    ctx.mkdir_at(AT_FDCWD, "/tmp/c", 0o755).unwrap();
    ctx.rename_at(AT_FDCWD, "/tmp/b", AT_FDCWD, "/tmp/c", RenameFlags::empty())
        .unwrap();
    assert_eq!(ctx.stat_at(AT_FDCWD, "/tmp/c/f", true, false).unwrap().size, 4);
    assert_eq!(ctx.stat_at(AT_FDCWD, "/tmp", true, false).unwrap().nlink, 3);
    ctx.symlink_at("c/f", AT_FDCWD, "/tmp/l").unwrap();
    ctx.symlink_at("/tmp/c", AT_FDCWD, "/tmp/l2").unwrap();
    ctx.rename_at(AT_FDCWD, "/tmp/l", AT_FDCWD, "/tmp/l2", RenameFlags::EXCHANGE)
        .unwrap();
    assert_eq!(ctx.readlink_at(AT_FDCWD, "/tmp/l").unwrap(), "/tmp/c");
    assert_eq!(ctx.readlink_at(AT_FDCWD, "/tmp/l2").unwrap(), "c/f");
    assert_eq!(ctx.mkdir_at(AT_FDCWD, "/", 0o755), Err(LinuxError::EEXIST));
    assert_eq!(ctx.unlink_at(AT_FDCWD, "/tmp/.", true), Err(LinuxError::EINVAL));
    ctx.fd_table.remove(fd).unwrap();
    ctx.unlink_at(AT_FDCWD, "/tmp/c/f", false).unwrap();
    ctx.unlink_at(AT_FDCWD, "/tmp/c", true).unwrap();
    assert_eq!(ctx.stat_at(AT_FDCWD, "/tmp", true, false).unwrap().nlink, 2);
}

#[test]
fn fd_table_allocation_and_limits() {
    let (mut ctx, _) = tmpfs_context();
    ctx.fd_table.set_limit(8);
    let mut fds = Vec::new();
    for expected in 0..8 {
        let fd = ctx.open_at(AT_FDCWD, "/dev/null", RDONLY, 0).unwrap();
        assert_eq!(fd, expected);
        fds.push(fd);
    }
    assert_eq!(ctx.open_at(AT_FDCWD, "/dev/null", RDONLY, 0), Err(LinuxError::EMFILE));
    ctx.fd_table.remove(3).unwrap();
    ctx.fd_table.remove(5).unwrap();
    assert_eq!(ctx.fd_table.remove(5).map(|_| ()), Err(LinuxError::EBADF));
    assert_eq!(ctx.open_at(AT_FDCWD, "/dev/null", OpenFlags::O_CLOEXEC, 0), Ok(3));
    assert_eq!(ctx.fd_table.close_on_exec(3), Ok(true));
    assert_eq!(ctx.fd_table.close_on_exec(4), Ok(false));

    // dup shares the offset of one open file description.
    ctx.fd_table.set_limit(64);
    let mut writer = ctx.clone();
    let fd = writer
        .open_at(AT_FDCWD, "/file", OpenFlags::O_RDWR | OpenFlags::O_CREAT, 0o644)
        .unwrap();
    let file = writer.fd_table.get(fd).unwrap();
    let copy = writer.fd_table.insert_from(10, file.clone(), false).unwrap();
    assert_eq!(copy, 10);
    file.write(b"abc").unwrap();
    writer.fd_table.get(copy).unwrap().write(b"def").unwrap();
    assert_eq!(file.stat().unwrap().size, 6);
    assert_eq!(writer.fd_table.insert_from(64, file.clone(), false), Err(LinuxError::EINVAL));
    let replaced = writer.fd_table.insert_at(0, file.clone(), true).unwrap();
    assert!(replaced.is_some());
    writer.fd_table.close_all_on_exec();
    assert!(!writer.fd_table.contains(0));
    assert!(!writer.fd_table.contains(3));
    assert!(writer.fd_table.contains(10));
    // The cloned context kept its own table.
    assert!(ctx.fd_table.contains(0));

    ctx.fd_table.set_limit(usize::MAX);
    assert_eq!(ctx.fd_table.limit(), starry_vfs::fd::MAX_NOFILE_LIMIT);
    assert_eq!(ctx.fd_table.insert_at(1 << 20, file.clone(), false).map(|_| ()), Err(LinuxError::EBADF));
}

#[test]
fn pipe_reads_writes_and_hangs_up() {
    let (reader, writer) = new_pipe(OpenFlags::empty());
    let mut buf = [0u8; 8];
    assert_eq!(reader.read(&mut buf), Err(LinuxError::EAGAIN));
    assert_eq!(writer.write(b"hello").unwrap(), 5);
    assert!(reader.poll().readable);
    assert_eq!(reader.read(&mut buf[..3]).unwrap(), 3);
    assert_eq!(&buf[..3], b"hel");
    assert_eq!(reader.read(&mut buf).unwrap(), 2);
    assert_eq!(writer.read(&mut buf), Err(LinuxError::EBADF));
    assert_eq!(reader.seek(starry_vfs::SeekFrom::Start(0)), Err(LinuxError::ESPIPE));

    // A full pipe takes no more bytes.
    let big = vec![1u8; starry_vfs::pipe::PIPE_CAPACITY + 10];
    assert_eq!(writer.write(&big).unwrap(), starry_vfs::pipe::PIPE_CAPACITY);
    assert_eq!(writer.write(b"x"), Err(LinuxError::EAGAIN));

    drop(writer);
    let mut sink = vec![0u8; starry_vfs::pipe::PIPE_CAPACITY];
    assert_eq!(reader.read(&mut sink).unwrap(), starry_vfs::pipe::PIPE_CAPACITY);
    assert_eq!(reader.read(&mut buf).unwrap(), 0);
    assert!(reader.poll().hangup);

    let (reader, writer) = new_pipe(OpenFlags::O_NONBLOCK);
    assert!(writer.status_flags().contains(OpenFlags::O_NONBLOCK));
    assert!(writer.status_flags().writable());
    drop(reader);
    assert_eq!(writer.write(b"x"), Err(LinuxError::EPIPE));
}

#[test]
fn pipe_capacity_rounds_and_limits() {
    use starry_vfs::pipe::{MAX_PIPE_CAPACITY, PIPE_CAPACITY};

    let (reader, writer) = new_pipe(OpenFlags::empty());
    assert_eq!(writer.capacity(), PIPE_CAPACITY);
    // Sizes round up to a power of two of at least one page.
    assert_eq!(writer.set_capacity(1).unwrap(), 4096);
    assert_eq!(reader.set_capacity(5000).unwrap(), 8192);
    assert_eq!(writer.capacity(), 8192);
    assert_eq!(writer.set_capacity(0).unwrap(), 4096);
    assert_eq!(writer.set_capacity(5000).unwrap(), 8192);
    assert_eq!(writer.set_capacity((1 << 31) + 1), Err(LinuxError::EINVAL));
    assert_eq!(writer.set_capacity(MAX_PIPE_CAPACITY + 1), Err(LinuxError::EPERM));

    // Writes stop at the capacity.
    let big = vec![1u8; 10_000];
    assert_eq!(writer.write(&big).unwrap(), 8192);
    assert_eq!(writer.write(b"x"), Err(LinuxError::EAGAIN));
    assert!(!writer.poll().writable);

    // The pipe cannot shrink below the data it holds.
    assert_eq!(writer.set_capacity(4096), Err(LinuxError::EBUSY));
    assert_eq!(writer.set_capacity(MAX_PIPE_CAPACITY).unwrap(), MAX_PIPE_CAPACITY);
    assert!(writer.poll().writable);
    drop(reader);
}

#[test]
fn epoll_reports_pipe_readiness() {
    use starry_vfs::poll::{EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, POLLHUP, POLLIN, POLLOUT};

    let (mut ctx, _) = tmpfs_context();
    let epoll = starry_vfs::Epoll::new();
    let (reader, writer) = new_pipe(OpenFlags::empty());
    let (reader, writer): (Arc<dyn FileLike>, Arc<dyn FileLike>) = (reader, writer);
    epoll.control(EPOLL_CTL_ADD, 3, &reader, POLLIN, 30).unwrap();
    epoll.control(EPOLL_CTL_ADD, 4, &writer, POLLOUT, 40).unwrap();
    assert_eq!(epoll.control(EPOLL_CTL_ADD, 3, &reader, POLLIN, 30), Err(LinuxError::EEXIST));
    assert_eq!(epoll.ready(10), vec![(POLLOUT, 40)]);

    writer.write(b"x").unwrap();
    assert_eq!(epoll.ready(10), vec![(POLLIN, 30), (POLLOUT, 40)]);
    assert_eq!(epoll.ready(1).len(), 1);

    epoll.control(EPOLL_CTL_MOD, 3, &reader, POLLOUT, 31).unwrap();
    assert_eq!(epoll.ready(10), vec![(POLLOUT, 40)]);
    epoll.control(EPOLL_CTL_DEL, 4, &writer, 0, 0).unwrap();
    assert_eq!(epoll.control(EPOLL_CTL_DEL, 4, &writer, 0, 0), Err(LinuxError::ENOENT));
    // Closing the writer hangs the reader up, reported without being requested.
    drop(writer);
    assert_eq!(epoll.ready(10), vec![(POLLHUP, 31)]);
    // Closing the last reference ends the registration.
    drop(reader);
    assert!(epoll.ready(10).is_empty());

    let fd = ctx
        .open_at(AT_FDCWD, "/file", OpenFlags::O_RDWR | OpenFlags::O_CREAT, 0o644)
        .unwrap();
    let file = ctx.fd_table.get(fd).unwrap();
    assert_eq!(epoll.control(EPOLL_CTL_ADD, fd, &file, POLLIN, 0), Err(LinuxError::EPERM));
}

#[test]
fn eventfd_counts_and_blocks() {
    use starry_vfs::EventFd;

    let counter = EventFd::new(2, false, OpenFlags::empty());
    let mut buf = [0u8; 8];
    assert_eq!(counter.read(&mut buf[..4]), Err(LinuxError::EINVAL));
    assert_eq!(counter.read(&mut buf).unwrap(), 8);
    assert_eq!(u64::from_ne_bytes(buf), 2);
    assert_eq!(counter.read(&mut buf), Err(LinuxError::EAGAIN));
    assert!(!counter.poll().readable);
    counter.write(&5u64.to_ne_bytes()).unwrap();
    counter.write(&1u64.to_ne_bytes()).unwrap();
    assert!(counter.poll().readable);
    assert_eq!(counter.write(&u64::MAX.to_ne_bytes()), Err(LinuxError::EINVAL));
    assert_eq!(counter.write(&(u64::MAX - 2).to_ne_bytes()), Err(LinuxError::EAGAIN));
    counter.read(&mut buf).unwrap();
    assert_eq!(u64::from_ne_bytes(buf), 6);

    let semaphore = EventFd::new(2, true, OpenFlags::empty());
    semaphore.read(&mut buf).unwrap();
    assert_eq!(u64::from_ne_bytes(buf), 1);
    semaphore.read(&mut buf).unwrap();
    assert_eq!(u64::from_ne_bytes(buf), 1);
    assert_eq!(semaphore.read(&mut buf), Err(LinuxError::EAGAIN));
}

#[test]
fn tmpfs_rejects_writes_far_past_the_end() {
    let (mut ctx, _console) = tmpfs_context();
    let fd = ctx
        .open_at(AT_FDCWD, "/big", OpenFlags::O_RDWR | OpenFlags::O_CREAT, 0o644)
        .unwrap();
    let file = ctx.fd_table.get(fd).unwrap();

    // The syscall fuzzer found that a pwrite64 at this offset made the
    // kernel allocate the whole gap and panic.
    assert_eq!(file.write_at(6_129_094_583_902_302_517, b"x"), Err(LinuxError::EFBIG));
    assert_eq!(file.write_at(1 << 30, b"x"), Err(LinuxError::EFBIG));
    assert_eq!(file.write_at(4096, b"x").unwrap(), 1);
    assert_eq!(file.stat().unwrap().size, 4097);
}

#[test]
fn fd_limit_zero_gives_emfile() {
    // The syscall fuzzer set RLIMIT_NOFILE to 0, after which dup returned
    // EINVAL where Linux returns EMFILE.
    let (mut ctx, _) = tmpfs_context();
    let fd = ctx.open_at(AT_FDCWD, "/dev/null", RDONLY, 0).unwrap();
    let file = ctx.fd_table.get(fd).unwrap();
    ctx.fd_table.set_limit(0);

    assert_eq!(ctx.fd_table.insert(file.clone(), false), Err(LinuxError::EMFILE));
    assert_eq!(ctx.open_at(AT_FDCWD, "/dev/null", RDONLY, 0), Err(LinuxError::EMFILE));
    assert_eq!(ctx.fd_table.insert_from(0, file, false), Err(LinuxError::EINVAL));
}

#[test]
fn memfd_is_an_unlinked_private_file() {
    starry_vfs::init_memfd(host_clock);
    let first = starry_vfs::create_memfd("data", 1000, 100).unwrap();
    let second = starry_vfs::create_memfd("data", 0, 0).unwrap();
    assert_eq!(first.write(b"hello").unwrap(), 5);
    let stat = first.stat().unwrap();
    assert_eq!(stat.mode, starry_vfs::S_IFREG | 0o777);
    assert_eq!((stat.uid, stat.gid, stat.nlink, stat.size), (1000, 100, 0, 5));
    // Two memfds with the same name are separate files.
    assert_eq!(second.stat().unwrap().size, 0);
    assert_ne!(second.stat().unwrap().ino, stat.ino);
    let mut buf = [0u8; 5];
    assert_eq!(first.read_at(0, &mut buf).unwrap(), 5);
    assert_eq!(&buf, b"hello");
}

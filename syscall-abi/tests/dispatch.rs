//! Host tests of the generated decoding, validation and dispatch, through a
//! mock handler over mock user memory.

mod common;

use common::MockMemory;
use syscall_abi::{
    Arch, DirFd, Fd, FsSyscalls, Iovecs, LinuxError, MiscSyscalls, MmSyscalls, OpenFlags,
    ProcessSyscalls, Sigaction, SysResult, SyscallContext, TimeSyscalls, USER_ADDR_END, UserIn,
    UserOut, UserOutBytes, UserPath, aarch64, nr,
};

const BASE: usize = 0x10_000;
const SIZE: usize = 0x4000;

/// Handler that implements a few calls and records what it received.
struct MockHandler {
    mem: MockMemory,
    calls: Vec<String>,
}

impl MockHandler {
    fn new() -> Self {
        Self {
            mem: MockMemory::new(BASE, SIZE),
            calls: Vec::new(),
        }
    }
}

impl SyscallContext for MockHandler {
    type Mem = MockMemory;

    fn mem(&self) -> &MockMemory {
        &self.mem
    }

    fn check_fd(&self, fd: i32) -> SysResult<()> {
        if (0..=2).contains(&fd) {
            Ok(())
        } else {
            Err(LinuxError::EBADF)
        }
    }
}

impl FsSyscalls for MockHandler {
    fn sys_read(&mut self, fd: Fd, buf: UserOutBytes, count: usize) -> SysResult<usize> {
        self.calls
            .push(format!("read({}, {:#x}, {count})", fd.raw(), buf.addr()));
        let data = b"hello";
        let n = data.len().min(buf.len());
        buf.write_from(&self.mem, 0, &data[..n])?;
        Ok(n)
    }

    fn sys_openat(
        &mut self,
        dirfd: DirFd,
        path: UserPath,
        flags: OpenFlags,
        mode: u32,
    ) -> SysResult<i32> {
        self.calls.push(format!(
            "openat({dirfd:?}, {:?}, {:#o}, {mode:#o})",
            path.to_str().unwrap(),
            flags.bits()
        ));
        Ok(3)
    }

    fn sys_readv(&mut self, fd: Fd, iov: Iovecs, iovcnt: i32) -> SysResult<usize> {
        self.calls.push(format!(
            "readv({}, {} entries, {iovcnt})",
            fd.raw(),
            iov.len()
        ));
        Ok(iov.total_len())
    }
}

impl ProcessSyscalls for MockHandler {
    fn sys_rt_sigaction(
        &mut self,
        signum: i32,
        act: Option<UserIn<Sigaction>>,
        oldact: Option<UserOut<Sigaction>>,
        sigsetsize: usize,
    ) -> SysResult<()> {
        let act = act.map(|a| a.read(&self.mem)).transpose()?;
        self.calls.push(format!(
            "rt_sigaction({signum}, {:?}, {}, {sigsetsize})",
            act.map(|a| a.sa_handler),
            oldact.is_some()
        ));
        if let Some(oldact) = oldact {
            let old = Sigaction {
                sa_handler: 1,
                ..Default::default()
            };
            oldact.write(&self.mem, &old)?;
        }
        Ok(())
    }

    fn sys_getpid(&mut self) -> SysResult<isize> {
        Ok(42)
    }
}

impl MmSyscalls for MockHandler {}
impl TimeSyscalls for MockHandler {}
impl MiscSyscalls for MockHandler {}

fn dispatch(h: &mut MockHandler, nr: usize, args: [usize; 6]) -> isize {
    aarch64::dispatch(h, nr, args)
}

fn errno(e: LinuxError) -> isize {
    -(e as i32 as isize)
}

#[test]
fn read_dispatches_typed_arguments() {
    let mut h = MockHandler::new();
    let ret = dispatch(&mut h, nr::aarch64::READ, [1, BASE + 0x100, 16, 0, 0, 0]);
    assert_eq!(ret, 5);
    assert_eq!(h.calls, vec![format!("read(1, {:#x}, 16)", BASE + 0x100)]);
    assert_eq!(h.mem.get(BASE + 0x100, 5), b"hello");
}

#[test]
fn read_bad_fd_checked_before_buffer() {
    let mut h = MockHandler::new();
    let ret = dispatch(&mut h, nr::aarch64::READ, [-1isize as usize, 0, 5, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EBADF));
    assert!(h.calls.is_empty());
}

#[test]
fn read_null_buffer_is_efault() {
    let mut h = MockHandler::new();
    let ret = dispatch(&mut h, nr::aarch64::READ, [0, 0, 5, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EFAULT));
    assert!(h.calls.is_empty());
}

#[test]
fn read_null_buffer_zero_length_allowed() {
    let mut h = MockHandler::new();
    let ret = dispatch(&mut h, nr::aarch64::READ, [0, 0, 0, 0, 0, 0]);
    assert_eq!(ret, 0);
    assert_eq!(h.calls, vec!["read(0, 0x0, 0)".to_string()]);
}

#[test]
fn read_kernel_half_address_is_efault() {
    let mut h = MockHandler::new();
    let ret = dispatch(
        &mut h,
        nr::aarch64::READ,
        [0, 0xffff_0000_0000_0000, 5, 0, 0, 0],
    );
    assert_eq!(ret, errno(LinuxError::EFAULT));
    assert!(h.calls.is_empty());
}

#[test]
fn read_range_reaching_user_end_is_efault() {
    let mut h = MockHandler::new();
    let last_page = USER_ADDR_END - 0x1000;
    let ret = dispatch(&mut h, nr::aarch64::READ, [0, last_page, 0x1001, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EFAULT));
    let ret = dispatch(&mut h, nr::aarch64::READ, [0, usize::MAX - 2, 5, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EFAULT));
    assert!(h.calls.is_empty());
}

#[test]
fn read_range_ending_at_user_end_passes() {
    let mut h = MockHandler::new();
    let last_page = USER_ADDR_END - 0x1000;
    // The range check passes; the mock memory then faults on the write.
    let ret = dispatch(&mut h, nr::aarch64::READ, [0, last_page, 0x1000, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EFAULT));
    assert_eq!(h.calls.len(), 1);
}

#[test]
fn openat_copies_path_and_decodes_flags() {
    let mut h = MockHandler::new();
    h.mem.put(BASE, b"/etc/passwd\0");
    let flags = (OpenFlags::DIRECTORY | OpenFlags::CLOEXEC).bits() as usize;
    let ret = dispatch(
        &mut h,
        nr::aarch64::OPENAT,
        [-100isize as usize, BASE, flags | 0x8000_0000, 0o644, 0, 0],
    );
    assert_eq!(ret, 3);
    // O_DIRECTORY is 0o40000 on aarch64; the unknown bit 31 is dropped.
    assert_eq!(
        h.calls,
        vec!["openat(Cwd, \"/etc/passwd\", 0o2040000, 0o644)".to_string()]
    );
}

#[test]
fn openat_unterminated_long_path_is_enametoolong() {
    let mut h = MockHandler::new();
    h.mem.put(BASE, &[b'a'; 4096]);
    let ret = dispatch(&mut h, nr::aarch64::OPENAT, [3, BASE, 0, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::ENAMETOOLONG));
    assert!(h.calls.is_empty());
}

#[test]
fn openat_path_of_4095_bytes_accepted() {
    let mut h = MockHandler::new();
    let mut path = vec![b'a'; 4095];
    path.push(0);
    h.mem.put(BASE, &path);
    let ret = dispatch(&mut h, nr::aarch64::OPENAT, [3, BASE, 0, 0, 0, 0]);
    assert_eq!(ret, 3);
    assert_eq!(h.calls.len(), 1);
}

#[test]
fn openat_path_running_into_unmapped_memory_is_efault() {
    let mut h = MockHandler::new();
    let end = BASE + SIZE;
    h.mem.put(end - 4, b"abcd");
    let ret = dispatch(&mut h, nr::aarch64::OPENAT, [3, end - 4, 0, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EFAULT));
    let ret = dispatch(&mut h, nr::aarch64::OPENAT, [3, 0, 0, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EFAULT));
}

#[test]
fn openat_empty_path_reaches_handler() {
    let mut h = MockHandler::new();
    h.mem.put(BASE, b"\0");
    let ret = dispatch(&mut h, nr::aarch64::OPENAT, [3, BASE, 0, 0, 0, 0]);
    assert_eq!(ret, 3);
    assert_eq!(h.calls, vec!["openat(Fd(3), \"\", 0o0, 0o0)".to_string()]);
}

#[test]
fn rt_sigaction_null_act_accepted() {
    let mut h = MockHandler::new();
    let ret = dispatch(
        &mut h,
        nr::aarch64::RT_SIGACTION,
        [2, 0, BASE + 0x40, 8, 0, 0],
    );
    assert_eq!(ret, 0);
    assert_eq!(h.calls, vec!["rt_sigaction(2, None, true, 8)".to_string()]);
    // oldact got the handler SIG_IGN (1) in its first word.
    assert_eq!(h.mem.get(BASE + 0x40, 8), 1u64.to_ne_bytes());
}

#[test]
fn rt_sigaction_reads_act() {
    let mut h = MockHandler::new();
    let act = Sigaction {
        sa_handler: 0x4000,
        ..Default::default()
    };
    h.mem.put(BASE, zerocopy::IntoBytes::as_bytes(&act));
    let ret = dispatch(&mut h, nr::aarch64::RT_SIGACTION, [10, BASE, 0, 8, 0, 0]);
    assert_eq!(ret, 0);
    assert_eq!(
        h.calls,
        vec!["rt_sigaction(10, Some(16384), false, 8)".to_string()]
    );
}

#[test]
fn rt_sigaction_act_in_kernel_half_is_efault() {
    let mut h = MockHandler::new();
    let ret = dispatch(
        &mut h,
        nr::aarch64::RT_SIGACTION,
        [10, 0xffff_0000_0000_0000, 0, 8, 0, 0],
    );
    assert_eq!(ret, errno(LinuxError::EFAULT));
    assert!(h.calls.is_empty());
}

fn put_iovecs(h: &MockHandler, addr: usize, iovs: &[(u64, u64)]) {
    for (i, (base, len)) in iovs.iter().enumerate() {
        h.mem.put(addr + i * 16, &base.to_ne_bytes());
        h.mem.put(addr + i * 16 + 8, &len.to_ne_bytes());
    }
}

#[test]
fn readv_decodes_iovecs() {
    let mut h = MockHandler::new();
    put_iovecs(
        &h,
        BASE,
        &[((BASE + 0x100) as u64, 10), ((BASE + 0x200) as u64, 20)],
    );
    let ret = dispatch(&mut h, nr::aarch64::READV, [0, BASE, 2, 0, 0, 0]);
    assert_eq!(ret, 30);
    assert_eq!(h.calls, vec!["readv(0, 2 entries, 2)".to_string()]);
}

#[test]
fn readv_too_many_iovecs_is_einval() {
    let mut h = MockHandler::new();
    let ret = dispatch(&mut h, nr::aarch64::READV, [0, BASE, 1025, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EINVAL));
    let ret = dispatch(
        &mut h,
        nr::aarch64::READV,
        [0, BASE, -1i32 as u32 as usize, 0, 0, 0],
    );
    assert_eq!(ret, errno(LinuxError::EINVAL));
    assert!(h.calls.is_empty());
}

#[test]
fn readv_bad_fd_before_iovec_checks() {
    let mut h = MockHandler::new();
    let ret = dispatch(&mut h, nr::aarch64::READV, [7, 0, 1025, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EBADF));
}

#[test]
fn readv_unreadable_or_bad_entry_is_efault() {
    let mut h = MockHandler::new();
    let ret = dispatch(&mut h, nr::aarch64::READV, [0, 0x1000, 1, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EFAULT));
    put_iovecs(&h, BASE, &[(0xffff_0000_0000_0000, 8)]);
    let ret = dispatch(&mut h, nr::aarch64::READV, [0, BASE, 1, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EFAULT));
    put_iovecs(&h, BASE, &[(BASE as u64, 1 << 63)]);
    let ret = dispatch(&mut h, nr::aarch64::READV, [0, BASE, 1, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EINVAL));
    assert!(h.calls.is_empty());
}

#[test]
fn getpid_returns_handler_value() {
    let mut h = MockHandler::new();
    assert_eq!(dispatch(&mut h, nr::aarch64::GETPID, [0; 6]), 42);
}

#[test]
fn default_method_returns_enosys_and_counts() {
    let mut h = MockHandler::new();
    let info = aarch64::info(nr::aarch64::CLOSE).unwrap();
    let before = info.enosys_count();
    let ret = dispatch(&mut h, nr::aarch64::CLOSE, [0; 6]);
    assert_eq!(ret, errno(LinuxError::ENOSYS));
    assert_eq!(info.enosys_count(), before + 1);
    assert!(syscall_abi::stats::stubs_hit().any(|(name, _)| name == "close"));
}

#[test]
fn default_method_after_fd_check() {
    let mut h = MockHandler::new();
    let ret = dispatch(&mut h, nr::aarch64::CLOSE, [9, 0, 0, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EBADF));
}

#[test]
fn unknown_number_is_enosys() {
    let mut h = MockHandler::new();
    let before = syscall_abi::stats::unknown_calls();
    assert_eq!(dispatch(&mut h, 9999, [0; 6]), errno(LinuxError::ENOSYS));
    assert_eq!(dispatch(&mut h, 300, [0; 6]), errno(LinuxError::ENOSYS));
    assert!(syscall_abi::stats::unknown_calls() >= before + 2);
    assert!(h.calls.is_empty());
}

#[test]
fn numbers_and_names_per_architecture() {
    assert_eq!(nr::aarch64::OPENAT, 56);
    assert_eq!(nr::x86_64::OPENAT, 257);
    assert_eq!(aarch64::syscall_name(63), Some("read"));
    assert_eq!(syscall_abi::syscall_name_for(Arch::X86_64, 0), Some("read"));
    assert_eq!(
        syscall_abi::syscall_name_for(Arch::Riscv64, 94),
        Some("exit_group")
    );
    assert_eq!(aarch64::syscall_name(1000), None);
}

#[test]
fn metadata_describes_arguments() {
    let info = aarch64::info(nr::aarch64::READ).unwrap();
    assert_eq!(info.name, "read");
    assert_eq!(info.family, syscall_abi::Family::Fs);
    assert_eq!(info.args.len(), 3);
    assert_eq!(info.args[1].name, "buf");
    assert_eq!(
        info.args[1].kind,
        syscall_abi::ArgKind::Ptr {
            dir: syscall_abi::PtrDir::Out,
            of: "u8",
            len: Some(2),
            nullable: false
        }
    );
    assert!(info.errno.contains(&LinuxError::EBADF));
    assert_eq!(info.number(Arch::X86_64), Some(0));
}

#[test]
fn call_display_formats_like_strace() {
    let info = aarch64::info(nr::aarch64::OPENAT).unwrap();
    let raw = [-100isize as usize, 0x1000, 0o2000000, 0o644, 0, 0];
    assert_eq!(
        info.display_call(&raw).to_string(),
        "openat(AT_FDCWD, 0x1000, 0x80000, 420)"
    );
    let info = aarch64::info(nr::aarch64::READ).unwrap();
    let raw = [-1isize as usize, 0, 5, 0, 0, 0];
    assert_eq!(info.display_call(&raw).to_string(), "read(-1, NULL, 5)");
    let info = aarch64::info(nr::aarch64::GETPID).unwrap();
    assert_eq!(info.display_call(&[0; 6]).to_string(), "getpid()");
}

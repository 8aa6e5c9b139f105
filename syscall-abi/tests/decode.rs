//! Host tests of argument decoding: flags policies, fd kinds, nullable
//! paths, string arrays, arrays of structs, other architectures' tables and
//! the user-pointer types used directly.

mod common;

use std::convert::Infallible;

use common::MockMemory;
use syscall_abi::{
    AtFlags, Dup3Flags, EpollEvent, Fd, FsSyscalls, LinuxError, MiscSyscalls, MmSyscalls, MmapFd,
    MmapFlags, MmapProt, ProcessSyscalls, SysResult, SyscallContext, TimeSyscalls, TimespecPair,
    USER_ADDR_END, UserCStr, UserCStrArray, UserIn, UserInBytes, UserInSlice, UserMemory, UserOut,
    UserOutSlice, UserPath, aarch64, nr, riscv64, x86_64,
};

const BASE: usize = 0x20_000;
const SIZE: usize = 0x3000;

struct Recorder {
    mem: MockMemory,
    calls: Vec<String>,
}

impl Recorder {
    fn new() -> Self {
        Self {
            mem: MockMemory::new(BASE, SIZE),
            calls: Vec::new(),
        }
    }
}

impl SyscallContext for Recorder {
    type Mem = MockMemory;

    fn mem(&self) -> &MockMemory {
        &self.mem
    }

    fn check_fd(&self, fd: i32) -> SysResult<()> {
        if (0..=4).contains(&fd) {
            Ok(())
        } else {
            Err(LinuxError::EBADF)
        }
    }
}

impl FsSyscalls for Recorder {
    fn sys_dup3(&mut self, oldfd: Fd, newfd: i32, flags: Dup3Flags) -> SysResult<i32> {
        self.calls.push(format!(
            "dup3({}, {newfd}, {:#x})",
            oldfd.raw(),
            flags.bits()
        ));
        Ok(newfd)
    }

    fn sys_unlinkat(
        &mut self,
        dirfd: syscall_abi::DirFd,
        path: UserPath,
        flags: AtFlags,
    ) -> SysResult<()> {
        self.calls.push(format!(
            "unlinkat({dirfd:?}, {:?}, {:#x})",
            path.to_str().unwrap(),
            flags.bits()
        ));
        Ok(())
    }

    fn sys_epoll_pwait(
        &mut self,
        epfd: Fd,
        events: UserOutSlice<EpollEvent>,
        maxevents: i32,
        timeout: i32,
        sigmask: Option<UserIn<u64>>,
        sigsetsize: usize,
    ) -> SysResult<usize> {
        self.calls.push(format!(
            "epoll_pwait({}, {} events, {maxevents}, {timeout}, {}, {sigsetsize})",
            epfd.raw(),
            events.len(),
            sigmask.is_some()
        ));
        let event = EpollEvent {
            events: 1,
            __pad: 0,
            data: 0xabcd,
        };
        events.write_from(&self.mem, 0, &[event])?;
        Ok(1)
    }

    fn sys_utimensat(
        &mut self,
        dirfd: syscall_abi::DirFd,
        path: Option<UserPath>,
        times: Option<UserIn<TimespecPair>>,
        flags: AtFlags,
    ) -> SysResult<()> {
        self.calls.push(format!(
            "utimensat({dirfd:?}, {:?}, {}, {:#x})",
            path.map(|p| p.as_bytes().to_vec()),
            times.is_some(),
            flags.bits()
        ));
        Ok(())
    }

    fn sys_setxattr(
        &mut self,
        path: UserPath,
        attr_name: UserCStr,
        value: UserInBytes,
        size: usize,
        flags: i32,
    ) -> SysResult<()> {
        let name = attr_name.read(&self.mem, 256)?;
        let value = value.read_to_vec(&self.mem)?;
        self.calls.push(format!(
            "setxattr({:?}, {:?}, {:?}, {size}, {flags})",
            path.to_str().unwrap(),
            String::from_utf8(name).unwrap(),
            String::from_utf8(value).unwrap()
        ));
        Ok(())
    }
}

impl MmSyscalls for Recorder {
    fn sys_mmap(
        &mut self,
        addr: usize,
        length: usize,
        prot: MmapProt,
        flags: MmapFlags,
        fd: MmapFd,
        offset: i64,
    ) -> SysResult<usize> {
        self.calls.push(format!(
            "mmap({addr:#x}, {length:#x}, {:#x}, {:#x}, {:?}, {offset})",
            prot.bits(),
            flags.bits(),
            fd.get()
        ));
        Ok(0x4000_0000)
    }

    fn sys_mprotect(&mut self, addr: usize, length: usize, prot: MmapProt) -> SysResult<()> {
        self.calls.push(format!(
            "mprotect({addr:#x}, {length:#x}, {:#x})",
            prot.bits()
        ));
        Ok(())
    }
}

impl ProcessSyscalls for Recorder {
    fn sys_execve(
        &mut self,
        path: UserPath,
        argv: Option<UserCStrArray>,
        envp: Option<UserCStrArray>,
    ) -> SysResult<()> {
        let argv = match argv {
            Some(a) => a.read_all(&self.mem, 16, 256)?,
            None => Vec::new(),
        };
        self.calls.push(format!(
            "execve({:?}, {:?}, {})",
            path.to_str().unwrap(),
            argv.iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>(),
            envp.is_some()
        ));
        Ok(())
    }

    fn sys_exit(&mut self, status: i32) -> SysResult<Infallible> {
        self.calls.push(format!("exit({status})"));
        Err(LinuxError::EPERM)
    }
}

impl TimeSyscalls for Recorder {}
impl MiscSyscalls for Recorder {}

fn errno(e: LinuxError) -> isize {
    -(e as i32 as isize)
}

#[test]
fn flags_einval_checked_before_fd() {
    let mut h = Recorder::new();
    // dup3 rejects unknown flag bits before it looks at oldfd.
    let ret = aarch64::dispatch(&mut h, nr::aarch64::DUP3, [99, 5, 0x1, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EINVAL));
    let ret = aarch64::dispatch(&mut h, nr::aarch64::DUP3, [99, 5, 0o2000000, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EBADF));
    let ret = aarch64::dispatch(&mut h, nr::aarch64::DUP3, [1, 5, 0o2000000, 0, 0, 0]);
    assert_eq!(ret, 5);
    assert_eq!(h.calls, vec!["dup3(1, 5, 0x80000)".to_string()]);
}

#[test]
fn flags_outside_allow_list_are_einval() {
    let mut h = Recorder::new();
    h.mem.put(BASE, b"dir\0");
    let cwd = -100i64 as usize;
    // AT_EMPTY_PATH is an AtFlags bit, but unlinkat accepts only AT_REMOVEDIR.
    let ret = aarch64::dispatch(&mut h, nr::aarch64::UNLINKAT, [cwd, BASE, 0x1000, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EINVAL));
    let ret = aarch64::dispatch(
        &mut h,
        nr::aarch64::UNLINKAT,
        [cwd, BASE, 0x8000_0000, 0, 0, 0],
    );
    assert_eq!(ret, errno(LinuxError::EINVAL));
    let ret = aarch64::dispatch(&mut h, nr::aarch64::UNLINKAT, [cwd, BASE, 0x200, 0, 0, 0]);
    assert_eq!(ret, 0);
    let ret = aarch64::dispatch(&mut h, nr::aarch64::UNLINKAT, [cwd, BASE, 0, 0, 0, 0]);
    assert_eq!(ret, 0);
    assert_eq!(
        h.calls,
        vec![
            "unlinkat(Cwd, \"dir\", 0x200)".to_string(),
            "unlinkat(Cwd, \"dir\", 0x0)".to_string(),
        ]
    );
}

#[test]
fn flags_ignore_and_keep_policies() {
    let mut h = Recorder::new();
    // mmap's prot drops unknown bits; its flags keep them (MAP_HUGE_* bits).
    let prot = 0x3 | 0x100;
    let flags = 0x22 | (21 << 26);
    let args = [0, 0x2000, prot, flags, -1i64 as usize, 0];
    let ret = aarch64::dispatch(&mut h, nr::aarch64::MMAP, args);
    assert_eq!(ret, 0x4000_0000);
    assert_eq!(
        h.calls,
        vec![format!("mmap(0x0, 0x2000, 0x3, {:#x}, None, 0)", flags)]
    );
}

#[test]
fn mmap_fd_passed_unchecked() {
    let mut h = Recorder::new();
    let ret = aarch64::dispatch(&mut h, nr::aarch64::MMAP, [0, 0x1000, 1, 2, 77, 4096]);
    assert_eq!(ret, 0x4000_0000);
    assert_eq!(
        h.calls,
        vec!["mmap(0x0, 0x1000, 0x1, 0x2, Some(77), 4096)".to_string()]
    );
}

#[test]
fn mprotect_unknown_prot_is_einval() {
    let mut h = Recorder::new();
    let ret = aarch64::dispatch(
        &mut h,
        nr::aarch64::MPROTECT,
        [0x1000, 0x1000, 0x40, 0, 0, 0],
    );
    assert_eq!(ret, errno(LinuxError::EINVAL));
    assert!(h.calls.is_empty());
}

#[test]
fn int_arguments_take_low_32_bits() {
    let mut h = Recorder::new();
    // newfd is a C int: the upper half of the register is ignored.
    let ret = aarch64::dispatch(
        &mut h,
        nr::aarch64::DUP3,
        [0, 0xffff_ffff_0000_0007, 0, 0, 0, 0],
    );
    assert_eq!(ret, 7);
}

#[test]
fn struct_array_with_max_len() {
    let mut h = Recorder::new();
    let args = [3, BASE, 4, 1000, 0, 8];
    let ret = aarch64::dispatch(&mut h, nr::aarch64::EPOLL_PWAIT, args);
    assert_eq!(ret, 1);
    assert_eq!(
        h.calls,
        vec!["epoll_pwait(3, 4 events, 4, 1000, false, 8)".to_string()]
    );
    assert_eq!(h.mem.get(BASE + 8, 8), 0xabcdu64.to_ne_bytes());

    // Above EP_MAX_EVENTS, or negative: EINVAL.
    let ret = aarch64::dispatch(
        &mut h,
        nr::aarch64::EPOLL_PWAIT,
        [3, BASE, 134217728, 0, 0, 8],
    );
    assert_eq!(ret, errno(LinuxError::EINVAL));
    let ret = aarch64::dispatch(
        &mut h,
        nr::aarch64::EPOLL_PWAIT,
        [3, BASE, -1i32 as u32 as usize, 0, 0, 8],
    );
    assert_eq!(ret, errno(LinuxError::EINVAL));
    // 1000 elements of 16 bytes do not fit in the last user page.
    let last_page = USER_ADDR_END - 0x1000;
    let ret = aarch64::dispatch(
        &mut h,
        nr::aarch64::EPOLL_PWAIT,
        [3, last_page, 1000, 0, 0, 8],
    );
    assert_eq!(ret, errno(LinuxError::EFAULT));
    assert_eq!(h.calls.len(), 1);
}

#[test]
fn nullable_path_accepts_null() {
    let mut h = Recorder::new();
    let ret = aarch64::dispatch(&mut h, nr::aarch64::UTIMENSAT, [3, 0, 0, 0, 0, 0]);
    assert_eq!(ret, 0);
    h.mem.put(BASE, b"f\0");
    let ret = aarch64::dispatch(
        &mut h,
        nr::aarch64::UTIMENSAT,
        [-100i64 as usize, BASE, BASE + 16, 0x100, 0, 0],
    );
    assert_eq!(ret, 0);
    assert_eq!(
        h.calls,
        vec![
            "utimensat(Fd(3), None, false, 0x0)".to_string(),
            "utimensat(Cwd, Some([102]), true, 0x100)".to_string(),
        ]
    );
}

#[test]
fn cstr_and_byte_buffer_arguments() {
    let mut h = Recorder::new();
    h.mem.put(BASE, b"/tmp/x\0");
    h.mem.put(BASE + 0x10, b"user.test\0");
    h.mem.put(BASE + 0x20, b"value");
    let args = [BASE, BASE + 0x10, BASE + 0x20, 5, 1, 0];
    let ret = aarch64::dispatch(&mut h, nr::aarch64::SETXATTR, args);
    assert_eq!(ret, 0);
    assert_eq!(
        h.calls,
        vec!["setxattr(\"/tmp/x\", \"user.test\", \"value\", 5, 1)".to_string()]
    );
    let ret = aarch64::dispatch(
        &mut h,
        nr::aarch64::SETXATTR,
        [BASE, 0, BASE + 0x20, 5, 1, 0],
    );
    assert_eq!(ret, errno(LinuxError::EFAULT));
}

#[test]
fn execve_reads_argv() {
    let mut h = Recorder::new();
    h.mem.put(BASE, b"/bin/python3\0");
    h.mem.put(BASE + 0x20, b"python3\0-c\0");
    let argv = BASE + 0x100;
    h.mem.put(argv, &((BASE + 0x20) as u64).to_ne_bytes());
    h.mem.put(argv + 8, &((BASE + 0x28) as u64).to_ne_bytes());
    h.mem.put(argv + 16, &0u64.to_ne_bytes());
    let ret = aarch64::dispatch(&mut h, nr::aarch64::EXECVE, [BASE, argv, 0, 0, 0, 0]);
    assert_eq!(ret, 0);
    assert_eq!(
        h.calls,
        vec!["execve(\"/bin/python3\", [\"python3\", \"-c\"], false)".to_string()]
    );
}

#[test]
fn cstr_array_limits_are_e2big() {
    let h = Recorder::new();
    h.mem.put(BASE, b"abcdef\0");
    for i in 0..3 {
        h.mem
            .put(BASE + 0x100 + i * 8, &(BASE as u64).to_ne_bytes());
    }
    h.mem.put(BASE + 0x118, &0u64.to_ne_bytes());
    let array = UserCStrArray::new(BASE + 0x100).unwrap();
    assert_eq!(array.read_all(&h.mem, 3, 100).unwrap().len(), 3);
    assert_eq!(array.read_all(&h.mem, 2, 100), Err(LinuxError::E2BIG));
    assert_eq!(array.read_all(&h.mem, 3, 20), Err(LinuxError::E2BIG));
}

#[test]
fn noreturn_error_is_returned() {
    let mut h = Recorder::new();
    let ret = aarch64::dispatch(&mut h, nr::aarch64::EXIT, [3, 0, 0, 0, 0, 0]);
    assert_eq!(ret, errno(LinuxError::EPERM));
    assert_eq!(h.calls, vec!["exit(3)".to_string()]);
}

#[test]
fn x86_64_table_uses_its_numbers() {
    let mut h = Recorder::new();
    // x86_64 mmap is 9; aarch64's 222 is a different call there.
    let ret = x86_64::dispatch(
        &mut h,
        nr::x86_64::MMAP,
        [0, 0x1000, 1, 0x22, -1i64 as usize, 0],
    );
    assert_eq!(ret, 0x4000_0000);
    assert_eq!(x86_64::syscall_name(9), Some("mmap"));
    assert_eq!(x86_64::syscall_name(222), None);
    assert_eq!(nr::x86_64::MMAP, 9);
}

#[test]
fn riscv64_has_no_renameat() {
    assert_eq!(riscv64::syscall_name(38), None);
    assert_eq!(riscv64::syscall_name(276), Some("renameat2"));
    assert_eq!(aarch64::syscall_name(38), Some("renameat"));
}

#[test]
fn user_in_rejects_null_and_kernel_addresses() {
    assert_eq!(UserIn::<u64>::new(0), Err(LinuxError::EFAULT));
    assert_eq!(
        UserIn::<u64>::new(0xffff_0000_0000_0000),
        Err(LinuxError::EFAULT)
    );
    assert_eq!(
        UserIn::<u64>::new(USER_ADDR_END - 4),
        Err(LinuxError::EFAULT)
    );
    assert_eq!(
        UserIn::<u64>::new(USER_ADDR_END - 8).unwrap().addr(),
        USER_ADDR_END - 8
    );
    assert_eq!(UserOut::<u64>::new_nullable(0), Ok(None));
}

#[test]
fn slices_check_element_size() {
    // 2^60 elements of 16 bytes overflow usize.
    assert_eq!(
        UserOutSlice::<EpollEvent>::new(BASE, 1 << 60),
        Err(LinuxError::EFAULT)
    );
    assert_eq!(UserInSlice::<u8>::new(0, 0).unwrap().len(), 0);
    assert_eq!(UserInSlice::<u8>::new(0, 1), Err(LinuxError::EFAULT));
    assert_eq!(UserInSlice::<u8>::new_nullable(0, 10), Ok(None));
    assert_eq!(UserInSlice::<u32>::new(BASE, 3).unwrap().byte_len(), 12);
}

#[test]
fn slice_access_outside_length_is_efault() {
    let mem = MockMemory::new(BASE, SIZE);
    let slice = UserOutSlice::<u8>::new(BASE, 4).unwrap();
    assert_eq!(slice.write_from(&mem, 2, b"abc"), Err(LinuxError::EFAULT));
    assert_eq!(slice.write_from(&mem, 1, b"abc"), Ok(()));
    assert_eq!(mem.get(BASE, 4), b"\0abc");
}

#[test]
fn read_cstr_stops_at_page_end() {
    let mem = MockMemory::new(BASE, SIZE);
    let page_end = BASE + 0x1000;
    mem.put(page_end - 4, b"abc\0");
    assert_eq!(mem.read_cstr(page_end - 4, 4096).unwrap(), b"abc");
    // One read, of the 4 bytes up to the page end: the next page is untouched.
    assert_eq!(*mem.reads.borrow(), vec![(page_end - 4, 4)]);
}

#[test]
fn read_cstr_at_mapping_end_is_efault() {
    let mem = MockMemory::new(BASE, SIZE);
    let end = BASE + SIZE;
    mem.put(end - 3, b"abc");
    assert_eq!(mem.read_cstr(end - 3, 4096), Err(LinuxError::EFAULT));
    assert_eq!(mem.read_cstr(0, 4096), Err(LinuxError::EFAULT));
    assert_eq!(mem.read_cstr(USER_ADDR_END, 4096), Err(LinuxError::EFAULT));
}

#[test]
fn read_cstr_limit_counts_the_nul() {
    let mem = MockMemory::new(BASE, SIZE);
    mem.put(BASE, b"abcd\0");
    assert_eq!(mem.read_cstr(BASE, 5).unwrap(), b"abcd");
    assert_eq!(mem.read_cstr(BASE, 4), Err(LinuxError::ENAMETOOLONG));
}

#[test]
fn path_read_in_limits_and_faults() {
    let mem = MockMemory::new(BASE, SIZE);
    // A path longer than the inline storage that crosses a page end.
    let long: Vec<u8> = (0..700).map(|i| b'a' + (i % 26) as u8).collect();
    let start = BASE + 0x1000 - 300;
    mem.put(start, &long);
    mem.put(start + long.len(), b"\0");
    let path = UserPath::read_in(&mem, start).unwrap();
    assert_eq!(path.as_bytes(), &long[..]);
    assert_eq!(path.addr(), start);

    // 4095 bytes before the NUL fit PATH_MAX, 4096 do not.
    let fill = vec![b'/'; 4096];
    mem.put(BASE, &fill);
    mem.put(BASE + 4095, b"\0");
    assert_eq!(UserPath::read_in(&mem, BASE).unwrap().as_bytes().len(), 4095);
    mem.put(BASE + 4095, b"/\0");
    assert_eq!(UserPath::read_in(&mem, BASE), Err(LinuxError::ENAMETOOLONG));

    // An empty path is returned; null, unmapped and unterminated are EFAULT.
    mem.put(BASE, b"\0");
    assert!(UserPath::read_in(&mem, BASE).unwrap().is_empty());
    assert_eq!(UserPath::read_in(&mem, 0), Err(LinuxError::EFAULT));
    assert_eq!(UserPath::read_in(&mem, BASE + SIZE), Err(LinuxError::EFAULT));
    mem.put(BASE + SIZE - 3, b"abc");
    assert_eq!(UserPath::read_in(&mem, BASE + SIZE - 3), Err(LinuxError::EFAULT));
    assert_eq!(UserPath::read_in_nullable(&mem, 0), Ok(None));
}

#[test]
fn path_helpers() {
    let path = UserPath::from_bytes(b"/usr/lib");
    assert!(path.is_absolute());
    assert!(!path.is_empty());
    assert_eq!(path.to_str(), Ok("/usr/lib"));
    assert!(UserPath::from_bytes(b"").is_empty());
    assert!(UserPath::from_bytes(b"\xff").to_str().is_err());
}

#[test]
fn dirfd_decoding() {
    assert_eq!(syscall_abi::DirFd::from_raw(-100), syscall_abi::DirFd::Cwd);
    assert_eq!(syscall_abi::DirFd::from_raw(5), syscall_abi::DirFd::Fd(5));
    assert_eq!(syscall_abi::DirFd::Cwd.raw(), -100);
    assert_eq!(MmapFd(-1).get(), None);
    assert_eq!(MmapFd(3).get(), Some(3));
}

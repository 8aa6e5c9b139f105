//! The errno contract check of the `checked` feature (on in the host tests,
//! through the crate's dev-dependency on itself): a handler that fails with
//! an errno its spec entry does not list is reported in one `error!` line.

mod common;

use std::sync::Mutex;

use common::MockMemory;
use syscall_abi::trace::{CONTRACT_VIOLATION, contract_violations, errno_allowed};
use syscall_abi::{
    Fd, FsSyscalls, LinuxError, MiscSyscalls, MmSyscalls, ProcessSyscalls, SysResult,
    SyscallContext, TimeSyscalls, UserOutBytes, aarch64, nr,
};

/// Logger that keeps every error message, for the assertions below.
struct CaptureLogger {
    errors: Mutex<Vec<String>>,
}

impl log::Log for CaptureLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Error
    }

    fn log(&self, record: &log::Record) {
        if record.level() == log::Level::Error {
            self.errors.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static LOGGER: CaptureLogger = CaptureLogger {
    errors: Mutex::new(Vec::new()),
};

fn install_logger() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Error);
}

/// Handler whose `read` fails with a configurable errno.
struct WrongErrno {
    mem: MockMemory,
    read_error: LinuxError,
}

impl SyscallContext for WrongErrno {
    type Mem = MockMemory;

    fn mem(&self) -> &MockMemory {
        &self.mem
    }

    fn check_fd(&self, _fd: i32) -> SysResult<()> {
        Ok(())
    }
}

impl FsSyscalls for WrongErrno {
    fn sys_read(&mut self, _fd: Fd, _buf: UserOutBytes, _count: usize) -> SysResult<usize> {
        Err(self.read_error)
    }
}
impl MmSyscalls for WrongErrno {}
impl ProcessSyscalls for WrongErrno {}
impl TimeSyscalls for WrongErrno {}
impl MiscSyscalls for WrongErrno {}

const BASE: usize = 0x10_000;

fn read_with(error: LinuxError) -> isize {
    let mut handler = WrongErrno {
        mem: MockMemory::new(BASE, 0x1000),
        read_error: error,
    };
    aarch64::dispatch(&mut handler, nr::aarch64::READ, [7, BASE, 16, 0, 0, 0])
}

/// Both cases run in one test because the logger and the counter are
/// global to the test binary.
#[test]
fn wrong_errno_reported_listed_errno_not() {
    install_logger();

    let before = contract_violations();
    assert_eq!(read_with(LinuxError::EPERM), -(LinuxError::EPERM as i32 as isize));
    assert_eq!(contract_violations(), before + 1);
    let errors = LOGGER.errors.lock().unwrap().clone();
    let line = errors
        .iter()
        .find(|e| e.starts_with(CONTRACT_VIOLATION))
        .expect("a violation line");
    assert!(line.contains(&format!("read(7, {BASE:#x}, 16) returned EPERM")), "{line}");
    assert!(line.contains("returned EPERM"), "{line}");

    let before = contract_violations();
    assert_eq!(read_with(LinuxError::EAGAIN), -(LinuxError::EAGAIN as i32 as isize));
    assert_eq!(contract_violations(), before);
}

#[test]
fn enosys_allowed_unless_level_full() {
    let getpid = aarch64::info(nr::aarch64::GETPID).unwrap();
    let read = aarch64::info(nr::aarch64::READ).unwrap();
    let setxattr = aarch64::info(nr::aarch64::SETXATTR).unwrap();
    assert_eq!(read.level, syscall_abi::Level::Full);
    assert!(!errno_allowed(read, LinuxError::ENOSYS));
    assert!(errno_allowed(read, LinuxError::EBADF));
    assert!(!errno_allowed(getpid, LinuxError::EPERM));
    assert_eq!(setxattr.level, syscall_abi::Level::Unimplemented);
    assert!(errno_allowed(setxattr, LinuxError::ENOSYS));
}

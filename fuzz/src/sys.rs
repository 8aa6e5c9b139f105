//! Raw system calls and the few Linux constants the fuzzer uses itself.

use core::arch::asm;

pub const SYS_FCNTL: usize = 25;
pub const SYS_MKDIRAT: usize = 34;
pub const SYS_OPENAT: usize = 56;
pub const SYS_CLOSE: usize = 57;
pub const SYS_PIPE2: usize = 59;
pub const SYS_WRITE: usize = 64;
pub const SYS_EXIT_GROUP: usize = 94;
pub const SYS_RT_SIGACTION: usize = 134;
pub const SYS_GETPID: usize = 172;
pub const SYS_GETTID: usize = 178;
pub const SYS_MUNMAP: usize = 215;
pub const SYS_CLONE: usize = 220;
pub const SYS_MMAP: usize = 222;
pub const SYS_MPROTECT: usize = 226;
pub const SYS_WAIT4: usize = 260;
pub const SYS_EVENTFD2: usize = 19;
pub const SYS_EXIT: usize = 93;
pub const SYS_FUTEX: usize = 98;
pub const SYS_NANOSLEEP: usize = 101;
pub const SYS_CLOCK_GETTIME: usize = 113;
pub const SYS_KILL: usize = 129;
pub const SYS_EPOLL_CREATE1: usize = 20;

pub const AT_FDCWD: isize = -100;
pub const O_RDONLY: usize = 0;
pub const O_RDWR: usize = 2;
pub const O_CREAT: usize = 0o100;
pub const O_NONBLOCK: usize = 0o4000;
pub const O_DIRECTORY: usize = 0o40000;
pub const O_CLOEXEC: usize = 0o2000000;
pub const O_PATH: usize = 0o10000000;
pub const O_ASYNC: usize = 0o20000;

pub const PROT_NONE: usize = 0;
pub const PROT_READ: usize = 1;
pub const PROT_WRITE: usize = 2;
pub const MAP_SHARED: usize = 0x01;
pub const MAP_PRIVATE: usize = 0x02;
pub const MAP_FIXED: usize = 0x10;
pub const MAP_ANONYMOUS: usize = 0x20;
pub const MAP_FIXED_NOREPLACE: usize = 0x10_0000;
pub const MREMAP_FIXED: usize = 2;

pub const PAGE: usize = 4096;
/// First address above user space (48-bit virtual addresses, as Linux on
/// aarch64 with 4 KiB pages).
pub const USER_END: usize = 1 << 48;
pub const WALL: usize = 0x4000_0000;
pub const WNOHANG: usize = 1;
pub const SIGCHLD: usize = 17;
pub const SIGKILL: usize = 9;
pub const FUTEX_WAIT: usize = 0;
pub const CLOCK_MONOTONIC: usize = 1;

/// Makes system call `nr` with six arguments and returns x0: a value, or a
/// negative errno.
///
/// A child created by `clone` (x0 = 0 after the call) calls `exit_group(0)`
/// at once, before it touches the stack, because it may share memory with
/// the parent or run on a stack that the fuzzer chose at random.
#[inline(never)]
pub fn syscall(nr: usize, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the kernel may write any user memory that the arguments name,
    // but the fuzzer only passes its own arenas, probe pages and addresses
    // outside its image and stack (see `Layout::steer`), so no Rust object
    // is changed behind the compiler's back. Registers other than x0 are
    // preserved by the Linux syscall ABI.
    unsafe {
        asm!(
            "mov x9, x8",
            "svc #0",
            "cmp x9, #{clone}",
            "b.ne 2f",
            "cbnz x0, 2f",
            "mov x8, #{exit_group}",
            "mov x0, #0",
            "svc #0",
            "2:",
            clone = const SYS_CLONE,
            exit_group = const SYS_EXIT_GROUP,
            inlateout("x0") args[0] => ret,
            in("x1") args[1],
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x5") args[5],
            in("x8") nr,
            out("x9") _,
            options(nostack),
        );
    }
    ret
}

/// Starts a thread with `clone(flags, stack_top, parent_tid, tls,
/// child_tid)` that runs `entry(arg)` on the new stack. Returns the thread
/// id or a negative errno.
///
/// The new thread never returns into the caller's frames: it gets `arg` in
/// x0 and a zero frame pointer and link register, and if `entry` returned
/// it would end with a plain `exit(0)`.
pub fn spawn_thread(
    flags: usize,
    stack_top: usize,
    parent_tid: usize,
    tls: usize,
    child_tid: usize,
    entry: extern "C" fn(usize) -> !,
    arg: usize,
) -> isize {
    let ret: isize;
    // SAFETY: the kernel writes only `parent_tid` and `child_tid`, which the
    // caller owns, and the child runs on `stack_top`, memory that the caller
    // reserved for it and that no Rust object uses. The parent's registers
    // other than x0 are preserved by the Linux syscall ABI.
    unsafe {
        asm!(
            "svc #0",
            "cbnz x0, 2f",
            "mov x0, x6",
            "mov x29, xzr",
            "mov x30, xzr",
            "blr x5",
            "mov x8, #{exit}",
            "mov x0, #0",
            "svc #0",
            "2:",
            exit = const SYS_EXIT,
            inlateout("x0") flags => ret,
            in("x1") stack_top,
            in("x2") parent_tid,
            in("x3") tls,
            in("x4") child_tid,
            in("x5") entry as usize,
            in("x6") arg,
            in("x8") SYS_CLONE,
            options(nostack),
        );
    }
    ret
}

/// Sets the action of `signal` to SIG_DFL with no flags.
pub fn set_default_action(signal: usize) {
    // struct sigaction of the kernel: handler, flags, restorer, mask.
    let action: [u64; 4] = [0; 4];
    syscall(SYS_RT_SIGACTION, [signal, action.as_ptr() as usize, 0, 8, 0, 0]);
}

/// Creates a child process as `fork` does (`clone(SIGCHLD, 0, ...)`).
/// Returns the child's pid in the parent, 0 in the child, or a negative
/// errno. Unlike [`syscall`], the child goes on running the caller's code
/// on its own copy of the stack.
pub fn fork() -> isize {
    let ret: isize;
    // SAFETY: without CLONE_VM the child runs on a copy of the address
    // space, so the parent's memory stays as the compiler expects, and the
    // child's copy of the stack is exactly as the caller left it.
    unsafe {
        asm!(
            "svc #0",
            inlateout("x0") SIGCHLD => ret,
            in("x1") 0usize,
            in("x2") 0usize,
            in("x3") 0usize,
            in("x4") 0usize,
            in("x8") SYS_CLONE,
            options(nostack),
        );
    }
    ret
}

/// Returns the time of CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut time = [0u64; 2];
    syscall(SYS_CLOCK_GETTIME, [CLOCK_MONOTONIC, time.as_mut_ptr() as usize, 0, 0, 0, 0]);
    time[0].saturating_mul(1_000_000_000).saturating_add(time[1])
}

/// Sleeps for `nanoseconds` (less than a second).
pub fn sleep_ns(nanoseconds: u64) {
    let time = [0u64, nanoseconds];
    syscall(SYS_NANOSLEEP, [time.as_ptr() as usize, 0, 0, 0, 0, 0]);
}

/// Waits on the futex word at `addr` while it contains `value`, for at most
/// `nanoseconds` (less than a second).
pub fn futex_wait(addr: usize, value: u32, nanoseconds: u64) {
    let timeout = [0u64, nanoseconds];
    syscall(SYS_FUTEX, [addr, FUTEX_WAIT, value as usize, timeout.as_ptr() as usize, 0, 0]);
}

pub fn call0(nr: usize) -> isize {
    syscall(nr, [0; 6])
}

pub fn write_all(fd: usize, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let n = syscall(SYS_WRITE, [fd, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0]);
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

pub fn exit_group(status: usize) -> ! {
    syscall(SYS_EXIT_GROUP, [status, 0, 0, 0, 0, 0]);
    loop {
        core::hint::spin_loop();
    }
}

/// Maps `len` bytes of anonymous memory, optionally at a fixed address.
pub fn mmap_anon(addr: usize, len: usize, prot: usize, fixed: bool) -> Option<usize> {
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | if fixed { MAP_FIXED } else { 0 };
    let ret = syscall(SYS_MMAP, [addr, len, prot, flags, usize::MAX, 0]);
    if ret < 0 { None } else { Some(ret as usize) }
}

/// Maps `len` bytes of anonymous memory shared with child processes.
pub fn mmap_shared(len: usize) -> Option<usize> {
    let ret = syscall(SYS_MMAP, [0, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, usize::MAX, 0]);
    if ret < 0 { None } else { Some(ret as usize) }
}

/// Opens `path` (NUL-terminated) relative to the working directory.
pub fn open(path: &[u8], flags: usize, mode: usize) -> isize {
    syscall(SYS_OPENAT, [AT_FDCWD as usize, path.as_ptr() as usize, flags | O_CLOEXEC, mode, 0, 0])
}

pub fn close(fd: isize) {
    if fd >= 0 {
        syscall(SYS_CLOSE, [fd as usize, 0, 0, 0, 0, 0]);
    }
}

/// Linux's errno names by number (asm-generic/errno-base.h and errno.h).
pub const ERRNO_NAMES: [&str; 134] = [
    "0", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF",
    "ECHILD", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV",
    "ENODEV", "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG",
    "ENOSPC", "ESPIPE", "EROFS", "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG",
    "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP", "41", "ENOMSG", "EIDRM", "ECHRNG", "EL2NSYNC",
    "EL3HLT", "EL3RST", "ELNRNG", "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR", "EXFULL",
    "ENOANO", "EBADRQC", "EBADSLT", "58", "EBFONT", "ENOSTR", "ENODATA", "ETIME", "ENOSR",
    "ENONET", "ENOPKG", "EREMOTE", "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO", "EMULTIHOP",
    "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD", "EREMCHG", "ELIBACC", "ELIBBAD",
    "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ", "ERESTART", "ESTRPIPE", "EUSERS", "ENOTSOCK",
    "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT", "EADDRINUSE",
    "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED", "ECONNRESET",
    "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT", "ECONNREFUSED",
    "EHOSTDOWN", "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE", "EUCLEAN", "ENOTNAM",
    "ENAVAIL", "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE", "ECANCELED",
    "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED", "EKEYREJECTED", "EOWNERDEAD", "ENOTRECOVERABLE",
    "ERFKILL", "EHWPOISON",
];

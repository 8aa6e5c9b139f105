//! Per-syscall adjustments: argument values that make calls useful (open
//! flags, fcntl commands) and the changes that keep the fuzzer alive. No
//! call may block without a timeout, kill the fuzzer, replace its program,
//! or unmap, remap or overwrite its image, stack, slots or probe pages.

use crate::generate::{Class, EXEC_PATHS, Generator, Prepared};
use crate::layout::{self, KERNEL_HALF, LOW_UNMAPPED, VICTIM_LEN};
use crate::sys::{self, PAGE};

/// execveat's flag to run the file open as dirfd.
const AT_EMPTY_PATH: usize = 0x1000;

/// Calls that end or replace the process; the fuzzer never makes them.
pub const SKIPPED: &[&str] = &["exit", "exit_group", "rt_sigreturn"];

/// Signals whose default action is to ignore them (or 0 and invalid
/// numbers): the only ones the fuzzer sends to itself.
const HARMLESS_SIGNALS: &[usize] = &[0, 17, 23, 28, 65, u32::MAX as usize, 1000];
const NO_SUCH_PID: usize = 0x3fff_fff0;

const F_SETFL: usize = 4;
const F_SETLK: usize = 6;
const F_SETLKW: usize = 7;
const F_SETSIG: usize = 10;
const F_NOTIFY: usize = 1026;
const FCNTL_COMMANDS: &[usize] =
    &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 36, 37, 38, 1024, 1025, 1030, 1031, 1032, 1033, 1034];
const FIONBIO: usize = 0x5421;
const IOCTL_REQUESTS: &[usize] = &[
    0x5401, 0x5402, 0x5413, 0x5414, 0x541b, FIONBIO, 0x5450, 0x5451, 0x540f, 0x5410, 0x5452,
];
const OPEN_FLAGS: &[usize] = &[
    0, 1, 2, 0o1101, 0o102, 0o302, 0o200000, 0o10000000, 0o4000, 0o20200000, 0o2000000,
];

/// Bits of `clone` flags that never create a thread sharing the fuzzer's
/// memory: no CLONE_VM (0x100), CLONE_PARENT, CLONE_PTRACE or CLONE_PIDFD.
/// CLONE_THREAD and CLONE_SIGHAND without CLONE_VM are invalid.
const CLONE_BITS: &[usize] = &[
    0x200, 0x400, 0x800, 0x4000, 0x1_0000, 0x2_0000, 0x4_0000, 0x8_0000, 0x10_0000, 0x20_0000,
    0x40_0000, 0x80_0000, 0x100_0000, 0x400_0000, 0x8000_0000, 1 << 33,
];

/// Adjusts the generated arguments of `name` in place.
pub fn steer(name: &str, generator: &mut Generator, call: &mut Prepared) {
    let args = &mut call.args;
    match name {
        "openat" => {
            if generator.rng.percent() < 60 {
                args[2] = generator.rng.pick(OPEN_FLAGS);
            }
            if generator.rng.percent() < 60 {
                args[3] = 0o644;
            }
        }
        "fcntl" => {
            if generator.rng.percent() < 85 {
                args[1] = generator.rng.pick(FCNTL_COMMANDS);
            }
            match args[1] as u32 as usize {
                // Pool fds stay non-blocking, and O_ASYNC would send SIGIO.
                F_SETFL => args[2] = (args[2] | sys::O_NONBLOCK) & !sys::O_ASYNC,
                F_SETSIG | F_NOTIFY => args[1] = 1,
                // A child that waits for a record lock of its parent waits
                // forever, because the parent waits for the child.
                F_SETLKW if generator.in_child => args[1] = F_SETLK,
                _ => {}
            }
        }
        "ioctl" => {
            if generator.rng.percent() < 80 {
                args[1] = generator.rng.pick(IOCTL_REQUESTS);
            }
            if args[1] as u32 as usize == FIONBIO && call.info[2].class != Class::KernelHalf {
                // A zero would make a pool fd blocking.
                let addr = generator.layout.slots[2];
                layout::write_u64(addr, 1);
                args[2] = addr;
            }
        }
        "dup3" => {
            // Replacing fd 1 would lose the output, and replacing a pool fd
            // would change what the later checks assume about it.
            let newfd = args[1] as u32 as i32 as isize;
            if matches!(newfd, 1 | 2) || generator.layout.is_pool_fd(newfd) {
                args[1] = 100 + generator.rng.below(4) as usize;
            }
        }
        "kill" => {
            args[0] = generator.rng.pick(&[generator.layout.pid, NO_SUCH_PID, -(NO_SUCH_PID as isize) as usize]);
            args[1] = generator.rng.pick(HARMLESS_SIGNALS);
        }
        "tkill" => {
            args[0] = generator.rng.pick(&[generator.layout.tid, NO_SUCH_PID, usize::MAX, 0]);
            args[1] = generator.rng.pick(HARMLESS_SIGNALS);
        }
        "tgkill" => {
            args[0] = generator.rng.pick(&[generator.layout.pid, NO_SUCH_PID, usize::MAX]);
            args[1] = generator.rng.pick(&[generator.layout.tid, NO_SUCH_PID, 0]);
            args[2] = generator.rng.pick(HARMLESS_SIGNALS);
        }
        "rt_sigaction" => {
            // Every handler installed is SIG_IGN, so no signal runs code
            // and the signals ignored at start stay ignored. An action the
            // fuzzer cannot write (the text page, the read-only page, a
            // random address) would install the bytes found there, so a
            // signal would jump to code bytes or kill the fuzzer. It
            // becomes a pointer into the slot. A straddling action stays,
            // because every kernel must reject it whole.
            let class = call.info[1].class;
            let readable = !is_invalid(class) && !matches!(class, Class::NonCanonical | Class::Straddle);
            if args[1] != 0 && readable && generator.layout.access(args[1], 8, true) != layout::Access::Whole {
                args[1] = generator.layout.slots[1];
                call.info[1].class = Class::Valid;
            }
            write_if_writable(generator, args[1], 1);
            sigset_size(generator, &mut args[3]);
        }
        "rt_sigprocmask" => sigset_size(generator, &mut args[3]),
        "rt_sigtimedwait" => {
            // Without a timeout it would wait for a signal forever.
            sigset_size(generator, &mut args[3]);
            zero_timeout(generator, call, 2);
        }
        "rt_sigsuspend" => {
            sigset_size(generator, &mut args[1]);
            if args[1] == 8 && !is_invalid(call.info[0].class) {
                // A valid mask would wait for a signal forever.
                args[0] = KERNEL_HALF;
                call.info[0].class = Class::KernelHalf;
            }
        }
        "ppoll" => {
            sigset_size(generator, &mut args[4]);
            for i in 0..args[1].min(64) {
                let entry = args[0] + 8 * i;
                if generator.layout.access(entry, 8, true) == layout::Access::Whole {
                    let fd = generator.pool_fd() as u32 as u64;
                    layout::write_u64(entry, fd | (generator.rng.next() & 0xffff) << 32);
                }
            }
            zero_timeout(generator, call, 2);
        }
        "pselect6" => {
            let small = generator.rng.below(64) as usize;
            args[0] = generator.rng.pick(&[0, 1, 8, 64, 1024, 1025, usize::MAX, small]);
            zero_timeout(generator, call, 4);
        }
        "epoll_pwait" => {
            // -1 and every negative timeout wait forever.
            call.args[3] = 0;
            sigset_size(generator, &mut call.args[5]);
        }
        "nanosleep" | "clock_nanosleep" => {
            if name == "clock_nanosleep" {
                // Negative ids name CPU-time clocks, and a process or thread
                // that never runs would make the sleep last forever, as
                // would the fuzzer's own CPU-time clocks (2 and 3).
                args[0] = generator.rng.pick(&[0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 100, 1000]);
            }
            let index = if name == "nanosleep" { 0 } else { 2 };
            short_sleep(generator, call, index);
        }
        "futex" => futex(generator, call),
        "wait4" => args[2] |= sys::WNOHANG,
        // A blocking pipe or eventfd that another thread reads through a
        // reused fd number (the pool's closed fd) before this thread closes
        // it would block that thread, forever for an eventfd.
        "pipe2" | "eventfd2" if generator.fds_shared => args[1] |= sys::O_NONBLOCK,
        "set_tid_address" if generator.clear_tid != 0 => {
            // A worker thread is joined through the word its clear-tid
            // address names, so it keeps that address.
            args[0] = generator.clear_tid;
        }
        "clone" => {
            let mut flags = generator.rng.pick(&[0, 17, 23, 28, 65]);
            for _ in 0..generator.rng.below(4) {
                flags |= generator.rng.pick(CLONE_BITS);
            }
            args[0] = flags;
        }
        "execve" => {
            if call.info[0].class == Class::Valid {
                let path = generator.rng.pick(EXEC_PATHS);
                layout::poke(args[0], path);
            }
        }
        "execveat" => {
            // Absolute paths only, and no AT_EMPTY_PATH: a descriptor may
            // name a file that a fuzzed rename turned into a program.
            if call.info[1].class == Class::Valid {
                let path = generator.rng.pick(EXEC_PATHS);
                layout::poke(args[1], path);
            }
            args[4] &= !AT_EMPTY_PATH;
        }
        "setrlimit" | "prlimit64" => {
            let (rlim, pid) = if name == "setrlimit" { (1, None) } else { (2, Some(0)) };
            // Limits are only raised to infinity or made invalid (cur >
            // max), so the fuzzer never runs out of fds, memory or time.
            if generator.layout.access(args[rlim], 16, true) == layout::Access::Whole {
                let (cur, max) = generator.rng.pick(&[(u64::MAX, u64::MAX), (2, 1)]);
                layout::write_u64(args[rlim], cur);
                layout::write_u64(args[rlim] + 8, max);
            }
            if let Some(pid) = pid {
                args[pid] = generator.rng.pick(&[0, generator.layout.pid, NO_SUCH_PID]);
            }
        }
        "rseq" => {
            // A registered rseq area is written on every return to user
            // space, and an unwritable one is a SIGSEGV later: pass only
            // addresses Linux rejects at registration.
            args[0] = generator.rng.pick(&[0, KERNEL_HALF, generator.layout.slots[0] + 4, LOW_UNMAPPED + 4]);
        }
        "recvfrom" | "accept4" | "getsockname" | "getpeername" | "getsockopt" => {
            // qemu-user allocates the socket address length on its own
            // stack (alloca), so a large one crashes the Linux reference.
            let index = match name {
                "recvfrom" => 5,
                "getsockopt" => 4,
                _ => 2,
            };
            if generator.layout.access(args[index], 4, true) == layout::Access::Whole {
                let len = generator.rng.pick(&[0u32, 16, 110, 128, 1 << 31, u32::MAX]);
                layout::poke(args[index], &len.to_ne_bytes());
            }
        }
        "bind" | "connect" | "sendto" if generator.reference => {
            // qemu-user reads the address family even when the length is
            // zero, and crashes on an invalid address.
            let len = if name == "sendto" { 5 } else { 2 };
            if args[len] as u32 == 0 {
                args[len] = 16;
            }
        }
        "setuid" | "setgid" => {
            // Linux really drops root, which would turn the rest of a Linux
            // run into EACCES and EPERM; -1 is invalid (EINVAL).
            args[0] = generator.rng.pick(&[0, u32::MAX as usize]);
        }
        "mmap" => mmap(generator, call),
        "munmap" | "mprotect" | "madvise" | "msync" => {
            if generator.rng.percent() < 85 {
                args[1] = generator.rng.below(4 * PAGE as u64 + 1) as usize;
            }
            steer_range(generator, args, 0, 1);
        }
        "mremap" => {
            if generator.rng.percent() < 85 {
                args[1] = generator.rng.below(4 * PAGE as u64 + 1) as usize;
                args[2] = generator.rng.below(8 * PAGE as u64 + 1) as usize;
            }
            steer_range(generator, args, 0, 1);
            if args[3] & sys::MREMAP_FIXED != 0 || generator.layout.touches_protected(args[4], args[2]) {
                steer_range(generator, args, 4, 2);
            }
        }
        _ => {}
    }
}

/// Tells whether a pointer makes every kernel fail at once. Non-canonical
/// addresses do not count: qemu-user drops their high bits and may find
/// memory there.
fn is_invalid(class: Class) -> bool {
    matches!(class, Class::Null | Class::KernelHalf | Class::Unmapped | Class::Unterminated)
}

fn sigset_size(generator: &mut Generator, size: &mut usize) {
    if generator.rng.percent() < 60 {
        *size = 8;
    }
}

fn write_if_writable(generator: &mut Generator, addr: usize, value: u64) {
    if generator.layout.access(addr, 8, true) == layout::Access::Whole {
        layout::write_u64(addr, value);
    }
}

/// Makes the timespec argument `index` a zero timeout unless it is an
/// invalid pointer, so the call returns at once.
fn zero_timeout(generator: &mut Generator, call: &mut Prepared, index: usize) {
    if is_invalid(call.info[index].class) && call.args[index] != 0 {
        return;
    }
    let addr = generator.layout.slots[index];
    layout::write_u64(addr, 0);
    layout::write_u64(addr + 8, 0);
    call.args[index] = addr;
    call.info[index].class = Class::Valid;
}

/// Gives a sleep call a duration of at most a microsecond, or an invalid
/// one, or an invalid pointer.
fn short_sleep(generator: &mut Generator, call: &mut Prepared, index: usize) {
    if is_invalid(call.info[index].class) {
        return;
    }
    let addr = generator.layout.slots[index];
    let nanoseconds = generator.rng.below(1000);
    let (sec, nsec) = generator.rng.pick(&[
        (0, 0),
        (0, nanoseconds),
        (u64::MAX, 0),
        (0, 1_000_000_000),
        (0, u64::MAX),
    ]);
    layout::write_u64(addr, sec);
    layout::write_u64(addr + 8, nsec);
    call.args[index] = addr;
    call.info[index].class = Class::Valid;
}

fn futex(generator: &mut Generator, call: &mut Prepared) {
    let args = &mut call.args;
    if generator.rng.percent() < 90 {
        let mut op = generator.rng.below(14) as usize;
        if generator.rng.percent() < 50 {
            op |= 128;
        }
        if generator.rng.percent() < 20 {
            op |= 256;
        }
        args[1] = op;
    }
    if generator.rng.percent() < 50 {
        args[0] = generator.layout.slots[0] + 4 * generator.rng.below(16) as usize;
    }
    // FUTEX_WAIT, FUTEX_LOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI
    // and FUTEX_LOCK_PI2 wait: their timeout must be a zero timespec or an
    // invalid pointer, never null.
    if matches!(args[1] & 0x7f, 0 | 6 | 9 | 11 | 13) {
        let invalid = matches!(args[3] as u64, 1..0x1_0000) || args[3] >= KERNEL_HALF;
        if !invalid {
            let addr = generator.layout.slots[3];
            layout::write_u64(addr, 0);
            layout::write_u64(addr + 8, 0);
            args[3] = addr;
        }
    }
}

fn mmap(generator: &mut Generator, call: &mut Prepared) {
    let args = &mut call.args;
    if generator.rng.percent() < 75 {
        args[1] = 1 + generator.rng.below(16 * PAGE as u64) as usize;
    }
    if generator.rng.percent() < 70 {
        let kind = generator.rng.pick(&[0x22, 0x21, 0x02, 0x01, 0x00, 0x03]);
        let mut extra = 0;
        for _ in 0..generator.rng.below(3) {
            extra |= generator.rng.pick(&[
                sys::MAP_FIXED,
                sys::MAP_FIXED_NOREPLACE,
                0x8000,
                0x4000,
                0x100,
                0x2_0000,
                0x4_0000,
                1 << 40,
            ]);
        }
        args[3] = kind | extra;
    }
    if generator.rng.percent() < 60 {
        args[0] = 0;
    }
    if args[3] & (sys::MAP_FIXED | sys::MAP_FIXED_NOREPLACE) != 0 {
        steer_range(generator, args, 0, 1);
    }
    if generator.rng.percent() < 80 {
        args[5] = generator.rng.below(4) as usize * PAGE;
    }
}

/// Moves a memory-management range into the victim region when it would
/// touch a protected range. A length that wraps around the address space
/// is kept, because the kernel must reject it. Any other length is cut to
/// the end of the victim region: Linux's mprotect and madvise change every
/// mapping from the start up to the first hole before they fail.
fn steer_range(generator: &mut Generator, args: &mut [usize; 6], addr: usize, len: usize) {
    if args[addr] >= sys::USER_END || !generator.layout.touches_protected(args[addr], args[len]) {
        return;
    }
    let pages = (VICTIM_LEN / PAGE) as u64;
    args[addr] = generator.layout.victim + PAGE * generator.rng.below(pages) as usize;
    let wraps = args[addr].checked_add(args[len]).is_none();
    if !wraps && generator.layout.touches_protected(args[addr], args[len]) {
        args[len] = generator.layout.victim + VICTIM_LEN - args[addr];
    }
}

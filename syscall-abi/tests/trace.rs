//! Host tests of the strace-style formatters, the `-e trace=` filter and the
//! `strace -c` table. Expected lines follow strace 6.1's output for the
//! same calls on Linux; addresses that depend on the mock are masked.

mod common;

use common::MockMemory;
use syscall_abi::trace::filter::Filter;
use syscall_abi::trace::summary::{self, Row};
use syscall_abi::trace::{CountSnapshot, TraceClasses};
use syscall_abi::{LinuxError, Level, SYSCALLS, Stat, aarch64, nr};
use zerocopy::IntoBytes;

const BASE: usize = 0x10_000;
const SIZE: usize = 0x4000;
const PATH: usize = BASE;
const BUF: usize = BASE + 0x1000;
const STRUCT: usize = BASE + 0x2000;

fn errno(e: LinuxError) -> isize {
    -(e as i32 as isize)
}

fn put_cstr(mem: &MockMemory, addr: usize, s: &str) {
    mem.put(addr, s.as_bytes());
    mem.put(addr + s.len(), &[0]);
}

fn line(mem: &MockMemory, nr: usize, raw: [usize; 6], ret: Option<isize>) -> String {
    aarch64::trace_line(mem, nr, &raw, ret)
}

/// Replace every `0x` address of the mock's range by `0xADDR`.
fn mask(text: &str) -> String {
    let mut out = text.to_string();
    for addr in [PATH, BUF, STRUCT] {
        out = out.replace(&format!("{addr:#x}"), "0xADDR");
    }
    out
}

const AT_FDCWD: usize = -100isize as usize;
const O_CLOEXEC: usize = 0o2000000;
const O_LARGEFILE: usize = 0o400000;

#[test]
fn openat_success_line() {
    let mem = MockMemory::new(BASE, SIZE);
    let path = "/opt/python3.11/lib/python3.11/json/__init__.py";
    put_cstr(&mem, PATH, path);
    let raw = [AT_FDCWD, PATH, O_LARGEFILE | O_CLOEXEC, 0, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::OPENAT, raw, Some(3)),
        format!("openat(AT_FDCWD, \"{path}\", O_RDONLY|O_LARGEFILE|O_CLOEXEC) = 3")
    );
}

#[test]
fn openat_enoent_line() {
    let mem = MockMemory::new(BASE, SIZE);
    put_cstr(&mem, PATH, "/nonexist");
    let raw = [AT_FDCWD, PATH, O_CLOEXEC, 0, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::OPENAT, raw, Some(errno(LinuxError::ENOENT))),
        "openat(AT_FDCWD, \"/nonexist\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)"
    );
}

#[test]
fn openat_shows_mode_with_creat() {
    let mem = MockMemory::new(BASE, SIZE);
    put_cstr(&mem, PATH, "out.txt");
    // O_WRONLY|O_CREAT|O_TRUNC, mode 0644.
    let raw = [AT_FDCWD, PATH, 0o1101, 0o644, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::OPENAT, raw, Some(4)),
        "openat(AT_FDCWD, \"out.txt\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4"
    );
}

#[test]
fn newfstatat_decodes_stat_after_success() {
    let mem = MockMemory::new(BASE, SIZE);
    put_cstr(&mem, PATH, "/etc/passwd");
    let stat = Stat {
        st_mode: 0o100644,
        st_size: 12345,
        ..Default::default()
    };
    mem.put(STRUCT, stat.as_bytes());
    let raw = [AT_FDCWD, PATH, STRUCT, 0, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::NEWFSTATAT, raw, Some(0)),
        "newfstatat(AT_FDCWD, \"/etc/passwd\", {st_mode=S_IFREG|0644, st_size=12345, ...}, 0) = 0"
    );
}

#[test]
fn newfstatat_failure_shows_address() {
    let mem = MockMemory::new(BASE, SIZE);
    put_cstr(&mem, PATH, "missing");
    let raw = [AT_FDCWD, PATH, STRUCT, 0, 0, 0];
    let text = line(&mem, nr::aarch64::NEWFSTATAT, raw, Some(errno(LinuxError::ENOENT)));
    assert_eq!(
        mask(&text),
        "newfstatat(AT_FDCWD, \"missing\", 0xADDR, 0) = -1 ENOENT (No such file or directory)"
    );
}

#[test]
fn fstat_of_character_device() {
    let mem = MockMemory::new(BASE, SIZE);
    let stat = Stat {
        st_mode: 0o020620,
        st_rdev: (5 << 8) | 1,
        ..Default::default()
    };
    mem.put(STRUCT, stat.as_bytes());
    let raw = [1, STRUCT, 0, 0, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::FSTAT, raw, Some(0)),
        "fstat(1, {st_mode=S_IFCHR|0620, st_rdev=makedev(0x5, 0x1), ...}) = 0"
    );
}

#[test]
fn write_pads_result_to_column_40() {
    let mem = MockMemory::new(BASE, SIZE);
    mem.put(BUF, b"hello\n");
    let raw = [1, BUF, 6, 0, 0, 0];
    let text = line(&mem, nr::aarch64::WRITE, raw, Some(6));
    assert_eq!(text, "write(1, \"hello\\n\", 6)                  = 6");
    assert_eq!(text.find('='), Some(40));
}

#[test]
fn read_cuts_data_after_32_bytes() {
    let mem = MockMemory::new(BASE, SIZE);
    let mut data = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    data.extend_from_slice(&[0; 8]);
    data.extend_from_slice(&[3, 0, 0xb7, 0, 1, 0, 0, 0]);
    data.extend_from_slice(b"0123456789");
    mem.put(BUF, &data);
    let raw = [3, BUF, 832, 0, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::READ, raw, Some(832)),
        "read(3, \"\\177ELF\\2\\1\\1\\0\\0\\0\\0\\0\\0\\0\\0\\0\\3\\0\\267\\0\\1\\0\\0\\00001234567\"..., 832) = 832"
    );
}

#[test]
fn read_shows_returned_length_only() {
    let mem = MockMemory::new(BASE, SIZE);
    mem.put(BUF, b"abcdef");
    let raw = [0, BUF, 4096, 0, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::READ, raw, Some(3)),
        "read(0, \"abc\", 4096)                    = 3"
    );
    assert_eq!(
        line(&mem, nr::aarch64::READ, raw, Some(0)),
        "read(0, \"\", 4096)                       = 0"
    );
}

#[test]
fn read_failure_shows_address() {
    let mem = MockMemory::new(BASE, SIZE);
    let raw = [0, BUF, 16, 0, 0, 0];
    assert_eq!(
        mask(&line(&mem, nr::aarch64::READ, raw, Some(errno(LinuxError::EAGAIN)))),
        "read(0, 0xADDR, 16)                    = -1 EAGAIN (Resource temporarily unavailable)"
    );
}

#[test]
fn writev_shows_each_buffer() {
    let mem = MockMemory::new(BASE, SIZE);
    mem.put(BUF, b"hello");
    mem.put(BUF + 0x100, b"\n");
    let iov: [u64; 4] = [BUF as u64, 5, BUF as u64 + 0x100, 1];
    mem.put(STRUCT, iov.as_bytes());
    let raw = [1, STRUCT, 2, 0, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::WRITEV, raw, Some(6)),
        "writev(1, [{iov_base=\"hello\", iov_len=5}, {iov_base=\"\\n\", iov_len=1}], 2) = 6"
    );
}

#[test]
fn exit_group_has_no_result() {
    let mem = MockMemory::new(BASE, SIZE);
    assert_eq!(
        line(&mem, nr::aarch64::EXIT_GROUP, [0; 6], None),
        "exit_group(0)                           = ?"
    );
}

#[test]
fn mmap_flags_and_address_result() {
    let mem = MockMemory::new(BASE, SIZE);
    // PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, fd -1.
    let raw = [0, 4096, 3, 0x22, -1isize as usize, 0];
    assert_eq!(
        line(&mem, nr::aarch64::MMAP, raw, Some(0xffff_8000_0000)),
        "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0xffff80000000"
    );
    let raw = [0x1000, 4096, 0, 0x32, -1isize as usize, 0];
    assert_eq!(
        line(&mem, nr::aarch64::MPROTECT, raw, Some(0)),
        "mprotect(0x1000, 4096, PROT_NONE)       = 0"
    );
}

#[test]
fn fcntl_and_ioctl_commands_by_name() {
    let mem = MockMemory::new(BASE, SIZE);
    assert_eq!(
        line(&mem, nr::aarch64::FCNTL, [3, 2, 1, 0, 0, 0], Some(0)),
        "fcntl(3, F_SETFD, FD_CLOEXEC)           = 0"
    );
    assert_eq!(
        line(&mem, nr::aarch64::FCNTL, [3, 1, 0, 0, 0, 0], Some(1)),
        "fcntl(3, F_GETFD)                       = 1"
    );
    assert_eq!(
        mask(&line(&mem, nr::aarch64::IOCTL, [3, 0x5413, STRUCT, 0, 0, 0], Some(errno(LinuxError::ENOTTY)))),
        "ioctl(3, TIOCGWINSZ, 0xADDR)           = -1 ENOTTY (Inappropriate ioctl for device)"
    );
}

#[test]
fn sigprocmask_sets_by_signal_name() {
    let mem = MockMemory::new(BASE, SIZE);
    // Every signal but 32 and 33.
    let set: u64 = !((1 << 31) | (1 << 32));
    mem.put(STRUCT, set.as_bytes());
    mem.put(STRUCT + 8, 0u64.as_bytes());
    let raw = [0, STRUCT, STRUCT + 8, 8, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::RT_SIGPROCMASK, raw, Some(0)),
        "rt_sigprocmask(SIG_BLOCK, ~[RTMIN RT_1], [], 8) = 0"
    );
    let set: u64 = (1 << 1) | (1 << 14);
    mem.put(STRUCT, set.as_bytes());
    let raw = [2, STRUCT, 0, 8, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::RT_SIGPROCMASK, raw, Some(0)),
        "rt_sigprocmask(SIG_SETMASK, [INT TERM], NULL, 8) = 0"
    );
}

#[test]
fn unknown_number_lists_raw_registers() {
    let mem = MockMemory::new(BASE, SIZE);
    assert_eq!(
        line(&mem, 999, [1, 2, 0, 0, 0, 0], Some(errno(LinuxError::ENOSYS))),
        "syscall_0x3e7(0x1, 0x2, 0, 0, 0, 0)     = -1 ENOSYS (Function not implemented)"
    );
}

#[test]
fn bad_path_pointer_shows_address() {
    let mem = MockMemory::new(BASE, SIZE);
    let raw = [AT_FDCWD, 0x10, 0, 0, 0, 0];
    assert_eq!(
        line(&mem, nr::aarch64::OPENAT, raw, Some(errno(LinuxError::EFAULT))),
        "openat(AT_FDCWD, 0x10, O_RDONLY)        = -1 EFAULT (Bad address)"
    );
}

fn info(name: &str) -> &'static syscall_abi::SyscallInfo {
    SYSCALLS.iter().find(|i| i.name == name).copied().unwrap()
}

#[test]
fn classes_derived_and_from_spec() {
    assert_eq!(info("openat").classes, TraceClasses::FILE | TraceClasses::DESC);
    assert_eq!(info("read").classes, TraceClasses::DESC);
    assert_eq!(info("mmap").classes, TraceClasses::MEMORY | TraceClasses::DESC);
    assert_eq!(info("exit_group").classes, TraceClasses::PROCESS);
    assert_eq!(info("kill").classes, TraceClasses::PROCESS | TraceClasses::SIGNAL);
    assert_eq!(info("rt_sigaction").classes, TraceClasses::SIGNAL);
    assert_eq!(info("getpid").classes, TraceClasses::empty());
}

#[test]
fn filter_by_names_and_classes() {
    let filter = Filter::parse("trace=openat,%memory", &SYSCALLS).unwrap();
    assert!(filter.selects(info("openat")));
    assert!(filter.selects(info("munmap")));
    assert!(!filter.selects(info("read")));
    assert!(!filter.selects_unknown());

    let filter = Filter::parse("file", &SYSCALLS).unwrap();
    assert!(filter.selects(info("newfstatat")));
    assert!(!filter.selects(info("fstat")));

    let filter = Filter::parse("!desc", &SYSCALLS).unwrap();
    assert!(!filter.selects(info("read")));
    assert!(filter.selects(info("brk")));

    let filter = Filter::parse("all", &SYSCALLS).unwrap();
    assert!(filter.selects(info("getpid")));
    assert!(filter.selects_unknown());
}

#[test]
fn filter_rejects_unknown_item() {
    let err = Filter::parse("openat,frobnicate", &SYSCALLS).unwrap_err();
    assert_eq!(err.item, "frobnicate");
    assert!(err.to_string().contains("`frobnicate`"));
}

fn row(name: &str, nr: usize, calls: u64, errors: u64, nanos: u64, level: Option<Level>) -> Row {
    Row {
        name: name.to_string(),
        nr,
        counts: CountSnapshot {
            calls,
            errors,
            nanos,
            errnos: if errors > 0 {
                vec![(LinuxError::ENOENT, errors)]
            } else {
                Vec::new()
            },
        },
        level,
        default_body_calls: 0,
    }
}

#[test]
fn summary_table_layout() {
    let rows = vec![
        row("read", 63, 10, 0, 1_000_000, Some(Level::Full)),
        row("openat", 56, 20, 8, 3_000_000, Some(Level::Full)),
        row("close", 57, 5, 0, 0, Some(Level::Full)),
        row("getpid", 172, 1, 0, 0, Some(Level::Full)),
    ];
    let mut text = String::new();
    summary::write_table(&mut text, &rows).unwrap();
    let expected = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 75.00    0.003000         150        20         8 openat
 25.00    0.001000         100        10           read
  0.00    0.000000           0         5           close
  0.00    0.000000           0         1           getpid
------ ----------- ----------- --------- --------- ----------------
100.00    0.004000         111        36         8 total
";
    assert_eq!(text, expected);
}

#[test]
fn coverage_counts_default_bodies_and_unknown() {
    let mut stubbed = row("membarrier", 283, 1, 1, 0, Some(Level::Unimplemented));
    stubbed.default_body_calls = 1;
    let rows = vec![
        row("read", 63, 9, 0, 0, Some(Level::Full)),
        row("madvise", 233, 4, 0, 0, Some(Level::Stub)),
        stubbed,
        row("syscall_293", 293, 1, 1, 0, None),
    ];
    let mut text = String::new();
    summary::write_coverage(&mut text, &rows).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "coverage: 2 of 4 called syscalls served by a handler (50.0%), 13 of 15 calls (86.67%)"
    );
    assert_eq!(lines[1], "ENOSYS from the default method: membarrier x1");
    assert_eq!(lines[2], "stub and partial entries called: madvise x4");
    assert_eq!(lines[3], "unknown numbers: syscall_293 x1");
}

#[test]
fn count_lines_for_tools() {
    let rows = vec![row("openat", 56, 20, 8, 3_000, Some(Level::Full))];
    let mut text = String::new();
    summary::write_counts(&mut text, &rows).unwrap();
    assert_eq!(text, "@count openat 20 8 3000 ENOENT=8\n");
}

#[test]
fn counters_record_errors_by_errno() {
    let counters = syscall_abi::trace::CallCounters::new();
    counters.record(3, 100);
    counters.record(errno(LinuxError::ENOENT), 50);
    counters.record(errno(LinuxError::ENOENT), 50);
    counters.record(errno(LinuxError::EACCES), 10);
    let snapshot = counters.snapshot();
    assert_eq!(snapshot.calls, 4);
    assert_eq!(snapshot.errors, 3);
    assert_eq!(snapshot.nanos, 210);
    assert_eq!(
        snapshot.errnos,
        vec![(LinuxError::ENOENT, 2), (LinuxError::EACCES, 1)]
    );
}

//! Times system calls and page faults with `clock_gettime(CLOCK_MONOTONIC)`.
//!
//! Usage: syscall-bench [DIR]
//!
//! Each case runs in batches until it has run for at least `MIN_CASE_TIME`,
//! then prints one line `syscall-bench: <case> <nanoseconds per operation>`.
//! The scratch file is `DIR/syscall-bench.dat` (default DIR: /tmp) and is
//! removed at the end. The exit status is 0 when every case ran, 1 when a
//! call failed (the message names it and its errno).

use std::ffi::CString;
use std::io::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Minimum run time of one case, so that the clock's resolution and the
/// loop's start-up do not matter.
const MIN_CASE_TIME: Duration = Duration::from_millis(300);
/// Operations between two clock reads.
const BATCH: u64 = 200;
/// Pages touched by the page-fault case, per mapping.
const FAULT_PAGES: usize = 1024;
const PAGE_SIZE: usize = 4096;
const MMAP_SIZE: usize = 64 * 1024;

type CaseResult = Result<(), String>;

/// Fails with the call's name and the current errno when `ret` is negative.
fn check(call: &str, ret: i64) -> CaseResult {
    if ret < 0 {
        return Err(format!("{call} failed: {}", Error::last_os_error()));
    }
    Ok(())
}

/// Runs `op` in batches of `BATCH` until `MIN_CASE_TIME` has passed and
/// returns the mean time of one operation in nanoseconds.
fn time_per_op(mut op: impl FnMut() -> CaseResult) -> Result<f64, String> {
    let start = Instant::now();
    let mut done = 0u64;
    loop {
        for _ in 0..BATCH {
            op()?;
        }
        done += BATCH;
        let elapsed = start.elapsed();
        if elapsed >= MIN_CASE_TIME {
            return Ok(elapsed.as_nanos() as f64 / done as f64);
        }
    }
}

fn bench_getpid() -> Result<f64, String> {
    // SAFETY (all libc calls in this file): plain system calls whose pointer
    // arguments point at live buffers of the stated sizes.
    time_per_op(|| check("getpid", unsafe { libc::syscall(libc::SYS_getpid) }))
}

fn bench_read(path: &CString) -> Result<f64, String> {
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    check("open", fd as i64)?;
    let mut buf = vec![0u8; PAGE_SIZE];
    let result = time_per_op(|| {
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), PAGE_SIZE, 0) };
        check("pread", n as i64)?;
        if n as usize != PAGE_SIZE {
            return Err(format!("pread returned {n} bytes, expected {PAGE_SIZE}"));
        }
        Ok(())
    });
    unsafe { libc::close(fd) };
    result
}

fn bench_stat(path: &CString) -> Result<f64, String> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    time_per_op(|| check("stat", unsafe { libc::stat(path.as_ptr(), &mut st) } as i64))
}

fn bench_open_close(path: &CString) -> Result<f64, String> {
    time_per_op(|| {
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
        check("open", fd as i64)?;
        check("close", unsafe { libc::close(fd) } as i64)
    })
}

/// Maps an anonymous private read-write region of `len` bytes.
fn map_anonymous(len: usize) -> Result<*mut u8, String> {
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(format!("mmap of {len} bytes failed: {}", Error::last_os_error()));
    }
    Ok(addr.cast())
}

fn bench_mmap_munmap() -> Result<f64, String> {
    time_per_op(|| {
        let addr = map_anonymous(MMAP_SIZE)?;
        // SAFETY: the mapping is MMAP_SIZE bytes long and writable.
        unsafe { addr.write_volatile(1) };
        check("munmap", unsafe { libc::munmap(addr.cast(), MMAP_SIZE) } as i64)
    })
}

/// Returns the mean cost of the first write to a fresh anonymous page. The
/// mmap and munmap calls are outside the timed part.
fn bench_page_fault() -> Result<f64, String> {
    let len = FAULT_PAGES * PAGE_SIZE;
    let mut total = Duration::ZERO;
    let mut faults = 0u64;
    while total < MIN_CASE_TIME {
        let addr = map_anonymous(len)?;
        let start = Instant::now();
        for page in 0..FAULT_PAGES {
            // SAFETY: the offset is inside the writable mapping of `len` bytes.
            unsafe { addr.add(page * PAGE_SIZE).write_volatile(1) };
        }
        total += start.elapsed();
        faults += FAULT_PAGES as u64;
        check("munmap", unsafe { libc::munmap(addr.cast(), len) } as i64)?;
    }
    Ok(total.as_nanos() as f64 / faults as f64)
}

/// Creates the scratch file with 64 KiB of data.
fn create_scratch(path: &str) -> CaseResult {
    std::fs::write(path, vec![0x5au8; 64 * 1024]).map_err(|err| format!("cannot create {path}: {err}"))
}

fn run(dir: &str) -> CaseResult {
    let path = format!("{}/syscall-bench.dat", dir.trim_end_matches('/'));
    create_scratch(&path)?;
    let c_path = CString::new(path.clone()).map_err(|_| format!("{path} contains a NUL byte"))?;

    let cases: [(&str, &dyn Fn() -> Result<f64, String>); 6] = [
        ("getpid", &bench_getpid),
        ("read_4k", &|| bench_read(&c_path)),
        ("stat", &|| bench_stat(&c_path)),
        ("open_close", &|| bench_open_close(&c_path)),
        ("mmap_munmap_64k", &bench_mmap_munmap),
        ("page_fault", &bench_page_fault),
    ];
    let mut result = Ok(());
    for (name, case) in cases {
        match case() {
            Ok(ns) => println!("syscall-bench: {name} {ns:.1}"),
            Err(message) => {
                eprintln!("syscall-bench: {name}: {message}");
                result = Err(format!("case {name} failed"));
            }
        }
    }
    // A failed removal leaves only a scratch file behind.
    let _ = std::fs::remove_file(&path);
    result
}

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).unwrap_or_else(|| String::from("/tmp"));
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("syscall-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

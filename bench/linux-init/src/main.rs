//! The init of the Linux baseline's initramfs.
//!
//! It loads the modules in `/modules` in the order of `MODULES` and mounts the
//! virtio disk `/dev/vda` read-write on `/mnt`. Below it go devtmpfs on
//! `/mnt/dev` and a tmpfs on `/mnt/dev/shm`, the mounts the Starry kernel
//! makes. Then it runs one program chrooted into `/mnt` and powers off.
//!
//! The program comes from the kernel command line, in the Starry runner's
//! protocol with a `bench_` prefix, because Linux itself reads `init=`:
//! `bench_init=<path> bench_cwd=<dir> bench_argv=<hex>,... bench_env=<hex>,...`,
//! and `bench_sample_ms=<n>` sets the interval of the memory sampler (10 ms by
//! default, 0 for none).
//!
//! It prints these lines on the console, which scripts/bench.py reads:
//! - `linux-init: exec` just before the program's execve;
//! - `linux-init: exit status=<n> ...` with the program's status (128+N for
//!   signal N), its peak RSS and page-fault counts from wait4, and the memory
//!   in use (MemTotal - MemAvailable) after boot and at its peak, in KiB.
//!
//! The status 0 of QEMU after the power-off tells nothing: the status line
//! does. Any setup failure prints `linux-init: error: ...` and powers off.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Modules of Debian's arm64 kernel that the disk needs, in load order.
const MODULES: [&str; 7] = [
    "crc16",
    "mbcache",
    "jbd2",
    "crc32c_generic",
    "ext4",
    "virtio_mmio",
    "virtio_blk",
];
const DISK: &str = "/dev/vda";
const ROOT: &str = "/mnt";
/// How long to wait for the disk's device node after loading virtio_blk.
const DISK_TIMEOUT: Duration = Duration::from_secs(10);
/// Default interval of the memory sampler that finds the peak of memory in
/// use, in milliseconds; `bench_sample_ms=0` switches the sampler off.
const DEFAULT_SAMPLE_MS: u64 = 10;

/// The program to run, from the command line.
struct Program {
    path: String,
    cwd: String,
    argv: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    /// Interval of the memory sampler in milliseconds, 0 for none.
    sample_ms: u64,
}

fn os_error(context: &str) -> String {
    format!("{context}: {}", std::io::Error::last_os_error())
}

fn c_string(value: &str) -> Result<CString, String> {
    CString::new(value).map_err(|_| format!("{value:?} contains a NUL byte"))
}

/// Mounts `source` on `target`, creating `target` first.
fn mount(source: &str, target: &str, fstype: &str) -> Result<(), String> {
    fs::create_dir_all(target).map_err(|err| format!("cannot create {target}: {err}"))?;
    let (source_c, target_c, fstype_c) = (c_string(source)?, c_string(target)?, c_string(fstype)?);
    // SAFETY: the three pointers are NUL-terminated strings that outlive the
    // call, and a null data pointer is allowed.
    let ret = unsafe { libc::mount(source_c.as_ptr(), target_c.as_ptr(), fstype_c.as_ptr(), 0, std::ptr::null()) };
    if ret != 0 {
        return Err(os_error(&format!("mounting {source} ({fstype}) on {target} failed")));
    }
    Ok(())
}

/// Loads one module with finit_module; a module already present is fine.
fn load_module(name: &str) -> Result<(), String> {
    let path = format!("/modules/{name}.ko");
    let file = fs::File::open(&path).map_err(|err| format!("cannot open {path}: {err}"))?;
    let params = c_string("")?;
    // SAFETY: the fd is open for the call's duration and `params` is a
    // NUL-terminated string.
    let ret = unsafe {
        libc::syscall(libc::SYS_finit_module, std::os::fd::AsRawFd::as_raw_fd(&file), params.as_ptr(), 0)
    };
    if ret != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
        return Err(os_error(&format!("loading {path} failed")));
    }
    Ok(())
}

fn wait_for_disk() -> Result<(), String> {
    let start = Instant::now();
    while !std::path::Path::new(DISK).exists() {
        if start.elapsed() > DISK_TIMEOUT {
            return Err(format!("{DISK} did not appear within {} s", DISK_TIMEOUT.as_secs()));
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

fn decode_hex_list(key: &str, value: &str) -> Result<Vec<Vec<u8>>, String> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|item| {
            if item.len() % 2 != 0 {
                return Err(format!("{key}: item {item:?} has an odd number of hex digits"));
            }
            (0..item.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&item[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| format!("{key}: item {item:?} is not hex"))
        })
        .collect()
}

fn parse_cmdline(cmdline: &str) -> Result<Program, String> {
    let mut program = Program {
        path: String::new(),
        cwd: String::from("/"),
        argv: Vec::new(),
        env: Vec::new(),
        sample_ms: DEFAULT_SAMPLE_MS,
    };
    for item in cmdline.split_ascii_whitespace() {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        match key {
            "bench_init" => program.path = String::from(value),
            "bench_cwd" => program.cwd = String::from(value),
            "bench_argv" => program.argv = decode_hex_list(key, value)?,
            "bench_env" => program.env = decode_hex_list(key, value)?,
            "bench_sample_ms" => {
                program.sample_ms = value
                    .parse()
                    .map_err(|_| format!("bench_sample_ms: expected milliseconds, got {value:?}"))?
            }
            _ => {}
        }
    }
    if !program.path.starts_with('/') {
        return Err(format!("bench_init must be an absolute path, got {:?}", program.path));
    }
    if program.argv.is_empty() {
        program.argv.push(program.path.clone().into_bytes());
    }
    Ok(program)
}

/// Returns MemTotal - MemAvailable from /proc/meminfo, in KiB.
fn memory_in_use_kib() -> Result<u64, String> {
    let text = fs::read_to_string("/proc/meminfo").map_err(|err| format!("cannot read /proc/meminfo: {err}"))?;
    let field = |name: &str| -> Result<u64, String> {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("/proc/meminfo has no {name} line"))
    };
    Ok(field("MemTotal:")?.saturating_sub(field("MemAvailable:")?))
}

/// Samples the memory in use every `interval` until `stop` is set and keeps
/// the maximum.
fn spawn_memory_sampler(interval: Duration, peak: Arc<AtomicU64>, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if let Ok(used) = memory_in_use_kib() {
                peak.fetch_max(used, Ordering::Relaxed);
            }
            thread::sleep(interval);
        }
    })
}

/// Runs the program chrooted into ROOT, waits for it and prints its status line.
fn run_program(program: &Program) -> Result<(), String> {
    let boot_used = memory_in_use_kib()?;
    let peak = Arc::new(AtomicU64::new(boot_used));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = (program.sample_ms > 0)
        .then(|| spawn_memory_sampler(Duration::from_millis(program.sample_ms), peak.clone(), stop.clone()));

    let (arg0, args) = program.argv.split_first().expect("argv has argv[0]");
    let mut command = Command::new(&program.path);
    command.arg0(std::ffi::OsStr::from_bytes(arg0));
    command.args(args.iter().map(|arg| std::ffi::OsStr::from_bytes(arg)));
    command.env_clear();
    for item in &program.env {
        let (name, value) = match item.iter().position(|&byte| byte == b'=') {
            Some(at) => (&item[..at], &item[at + 1..]),
            None => (&item[..], &b""[..]),
        };
        command.env(std::ffi::OsStr::from_bytes(name), std::ffi::OsStr::from_bytes(value));
    }
    let root = c_string(ROOT)?;
    let cwd = c_string(&program.cwd)?;
    // SAFETY: the closure runs in the forked child before execve and only
    // makes async-signal-safe system calls on strings allocated before fork.
    unsafe {
        command.pre_exec(move || {
            if libc::chroot(root.as_ptr()) != 0 || libc::chdir(cwd.as_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let marker = b"linux-init: exec\n";
            libc::write(1, marker.as_ptr().cast(), marker.len());
            Ok(())
        });
    }
    let child = command.spawn().map_err(|err| format!("cannot start {}: {err}", program.path))?;

    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for the kernel to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers point at live locals of the right types.
    let ret = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    if ret < 0 {
        return Err(os_error("wait4 failed"));
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(sampler) = sampler {
        sampler.join().map_err(|_| String::from("the memory sampler panicked"))?;
    }
    if let Ok(used) = memory_in_use_kib() {
        peak.fetch_max(used, Ordering::Relaxed);
    }

    let shell_status = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    println!(
        "linux-init: exit status={shell_status} maxrss_kib={} minflt={} majflt={} boot_used_kib={boot_used} peak_used_kib={}",
        usage.ru_maxrss,
        usage.ru_minflt,
        usage.ru_majflt,
        peak.load(Ordering::Relaxed),
    );
    Ok(())
}

fn setup_and_run() -> Result<(), String> {
    mount("proc", "/proc", "proc")?;
    mount("devtmpfs", "/dev", "devtmpfs")?;
    let cmdline = fs::read_to_string("/proc/cmdline").map_err(|err| format!("cannot read /proc/cmdline: {err}"))?;
    let program = parse_cmdline(&cmdline)?;

    for module in MODULES {
        load_module(module)?;
    }
    wait_for_disk()?;
    mount(DISK, ROOT, "ext4")?;
    mount("devtmpfs", &format!("{ROOT}/dev"), "devtmpfs")?;
    mount("tmpfs", &format!("{ROOT}/dev/shm"), "tmpfs")?;

    let result = run_program(&program);
    for target in [format!("{ROOT}/dev/shm"), format!("{ROOT}/dev"), String::from(ROOT)] {
        let target_c = c_string(&target)?;
        // SAFETY: `target_c` is a NUL-terminated string.
        if unsafe { libc::umount(target_c.as_ptr()) } != 0 {
            eprintln!("linux-init: {}", os_error(&format!("unmounting {target} failed")));
        }
    }
    result
}

fn main() {
    if let Err(message) = setup_and_run() {
        println!("linux-init: error: {message}");
    }
    // SAFETY: sync and reboot take no pointers.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    println!("linux-init: error: {}", os_error("power-off failed"));
    loop {
        thread::sleep(Duration::from_secs(1));
    }
}

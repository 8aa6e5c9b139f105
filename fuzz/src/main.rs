//! starry-fuzz: a seeded syscall fuzzer for the kernel and for Linux.
//!
//! Usage: starry-fuzz [--seed N] [--count N] [--log-every N] [--trace-from N] [--reference] [--sequential]
//!
//! It calls every syscall of spec/syscalls.toml and some numbers the spec
//! does not list, with arguments that mix valid values and edge cases, and
//! prints JSON lines: progress, violations of its checks, one summary line
//! per syscall with the count of each result, and a final line. The exit
//! status is 0 when no check failed, 1 otherwise.
//!
//! Unless `--sequential` is given, some of the calls are made by worker
//! threads, concurrently with the main thread, and by forked child
//! processes (see `concurrent`). `--count` counts the calls of all of them.
//!
//! `--trace-from N` prints each call from the Nth on before making it, to
//! find the call that crashed or hung a run. `--reference` is for runs
//! under qemu-aarch64: it replaces non-canonical addresses, on which
//! qemu-user itself crashes, with kernel-half ones.
//!
//! The program has no C runtime: it is a static ELF with its own `_start`,
//! so the same file runs on the kernel and under qemu-aarch64.

#![no_std]
#![no_main]

mod concurrent;
mod generate;
mod layout;
mod out;
mod spec;
mod steer;
mod sys;

use core::{
    arch::global_asm,
    ops::Range,
    panic::PanicInfo,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
};

use generate::{Class, Generator, Prepared, Rng};
use concurrent::{Children, Threads};
use layout::{Access, Layout};
use out::Out;
use spec::{CALLS, Call, EXTRA_NUMBERS, Kind, Ret};

global_asm!(
    ".globl _start",
    "_start:",
    "mov x0, sp",
    "mov x29, #0",
    "mov x30, #0",
    "bl fuzz_main",
);

/// Result columns: index 0 counts successes, index N counts errno N, and
/// the last one counts values outside both.
const RESULTS: usize = 135;
/// Room for every spec entry and every extra number.
const MAX_CALLS: usize = CALLS.len() + EXTRA_NUMBERS.len();
/// Violations printed in full; later ones are only counted.
const MAX_PRINTED: u32 = 200;

/// Signals ignored from the start: their default action would end the
/// fuzzer when a fuzzed call provokes them (SIGHUP, SIGPIPE, SIGALRM, SIGIO,
/// SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGUSR1, SIGUSR2).
const IGNORED_SIGNALS: &[usize] = &[1, 13, 14, 29, 24, 25, 26, 27, 10, 12];

/// Calls per phase: at the start of each phase the main thread joins the
/// worker threads of the last one and picks what runs in the next.
const PHASE_CALLS: u64 = 2048;
/// Milliseconds of the monotonic clock from which a call and its cleanup
/// count as slow and get a `slow-call` line. They take well under a
/// millisecond, except when another task runs in between.
const SLOW_CALL_MS: u64 = 1000;

struct Options {
    seed: u64,
    count: u64,
    log_every: u64,
    trace_from: u64,
    reference: bool,
    sequential: bool,
}

/// Result counts of the whole run. They live in memory shared with forked
/// children, so the calls of every thread and child count.
struct Stats {
    results: [[AtomicU32; RESULTS]; MAX_CALLS],
    kernel_half: [[AtomicU32; RESULTS]; MAX_CALLS],
    violations: AtomicU32,
}

impl Stats {
    /// Maps zeroed counters shared with child processes, protected from
    /// the fuzzed memory calls.
    fn map_shared(layout: &mut Layout) -> &'static Stats {
        let len = size_of::<Stats>().next_multiple_of(sys::PAGE);
        let addr = sys::mmap_shared(len).unwrap_or_else(|| layout::fatal(b"cannot map the result counts\n"));
        layout.protect(addr, addr + len);
        // SAFETY: the mapping is page-aligned, zero-filled (all-zero bytes
        // are valid `AtomicU32`s) and never unmapped, because fuzzed
        // memory calls are kept off protected ranges.
        unsafe { &*(addr as *const Stats) }
    }

    fn add_violation(&self) -> u32 {
        self.violations.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// State of one run that the main thread, the worker threads and the
/// children share: the options, the call list, the counts and the next call
/// index.
struct Run<'a> {
    options: &'a Options,
    targets: &'a [Target],
    spec_count: usize,
    stats: &'a Stats,
    next_call: AtomicU64,
}

impl Run<'_> {
    /// Claims the next call index below `end` and below the run's count.
    fn claim(&self, end: u64) -> Option<u64> {
        let end = end.min(self.options.count);
        self.next_call
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |i| (i < end).then_some(i + 1))
            .ok()
    }

    /// Claims up to `len` consecutive call indices.
    fn claim_block(&self, len: u64) -> Range<u64> {
        let count = self.options.count;
        let start = self
            .next_call
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |i| Some((i + len).min(count).max(i)))
            .unwrap_or(count);
        start..(start + len).min(count).max(start)
    }
}

/// One entry of the call list: a spec entry or a number the spec lacks.
#[derive(Clone, Copy)]
enum Target {
    Spec(&'static Call),
    Extra(usize),
}

impl Target {
    fn nr(self) -> usize {
        match self {
            Target::Spec(call) => call.nr,
            Target::Extra(nr) => nr,
        }
    }
}

#[unsafe(no_mangle)]
extern "C" fn fuzz_main(sp: usize) -> ! {
    let options = parse_options(sp);
    let mut out = Out::new();
    for &signal in IGNORED_SIGNALS {
        ignore_signal(signal);
    }
    // Files and directories the pool and the path list name.
    sys::syscall(sys::SYS_MKDIRAT, [sys::AT_FDCWD as usize, b"/tmp/fuzz-d\0".as_ptr() as usize, 0o755, 0, 0, 0]);
    create_not_a_program();
    let mut layout = Layout::new(sp, strings_end(sp));
    let stats = Stats::map_shared(&mut layout);
    let mut threads = Threads::map(&mut layout);

    let mut targets = [Target::Extra(0); MAX_CALLS];
    let mut target_count = 0;
    for call in CALLS {
        if !steer::SKIPPED.contains(&call.name) {
            targets[target_count] = Target::Spec(call);
            target_count += 1;
        }
    }
    let spec_count = target_count;
    for &nr in EXTRA_NUMBERS {
        if !CALLS.iter().any(|call| call.nr == nr) {
            targets[target_count] = Target::Extra(nr);
            target_count += 1;
        }
    }

    outln!(out, "{{\"fuzz\":\"start\",\"seed\":{},\"count\":{},\"syscalls\":{},\"extra_numbers\":{},\"sequential\":{}}}",
           options.seed, options.count, spec_count, target_count - spec_count, options.sequential);
    let run = Run { options: &options, targets: &targets[..target_count], spec_count, stats, next_call: AtomicU64::new(0) };
    let mut children = Children::default();
    let mut generator = Generator { rng: Rng::new(options.seed), layout: &mut layout, reference: options.reference, clear_tid: 0, in_child: false, fds_shared: false };
    let mut refreshed = u64::MAX;
    let mut phase = u64::MAX;
    while let Some(i) = run.claim(u64::MAX) {
        if i / 256 != refreshed {
            refreshed = i / 256;
            generator.layout.refresh();
        }
        if !options.sequential && i / PHASE_CALLS != phase {
            phase = i / PHASE_CALLS;
            if threads.join_all(&run, &mut out).is_err() {
                finish(&run, &mut out, &threads, &children, i);
            }
            generator.fds_shared = false;
            let phase_end = (phase + 1) * PHASE_CALLS;
            match generator.rng.percent() {
                0..50 => {
                    let count = 1 + generator.rng.below(concurrent::MAX_THREADS as u64) as usize;
                    outln!(out, "{{\"fuzz\":\"phase\",\"call\":{i},\"threads\":{count}}}");
                    threads.start(&run, &mut generator, &mut out, count, phase_end);
                    generator.fds_shared = threads.any_running();
                }
                50..75 => {
                    outln!(out, "{{\"fuzz\":\"phase\",\"call\":{i},\"child\":true}}");
                    let waited = children.run_one(&run, &mut generator, &mut out);
                    if waited.is_err() {
                        finish(&run, &mut out, &threads, &children, i);
                    }
                }
                _ => {}
            }
        }
        make_call(&run, &mut generator, &mut out, i);
    }
    if threads.join_all(&run, &mut out).is_err() {
        finish(&run, &mut out, &threads, &children, options.count);
    }
    finish(&run, &mut out, &threads, &children, options.count)
}

/// Prints the summary lines and the final line, and exits: with 0 when no
/// check failed, with 1 otherwise. `calls` is the number of calls claimed.
fn finish(run: &Run, out: &mut Out, threads: &Threads, children: &Children, calls: u64) -> ! {
    for (index, target) in run.targets.iter().enumerate() {
        print_summary(out, run.stats, index, *target);
    }
    let violations = run.stats.violations.load(Ordering::Relaxed);
    outln!(out, "{{\"fuzz\":\"end\",\"calls\":{calls},\"violations\":{violations},\"threads\":{},\"children\":{}}}",
           threads.started, children.started);
    out.flush();
    sys::exit_group(if violations == 0 { 0 } else { 1 })
}

/// Makes call number `i`: picks a target, generates and steers its
/// arguments, makes the call, counts the result and checks it. Returns the
/// number of failed checks.
fn make_call(run: &Run, generator: &mut Generator, out: &mut Out, i: u64) -> u32 {
    let options = run.options;
    if i > 0 && i % options.log_every == 0 {
        // Milliseconds of the monotonic clock, to tell a stalled kernel from
        // a slow host.
        outln!(out, "{{\"fuzz\":\"progress\",\"calls\":{i},\"violations\":{},\"ms\":{}}}",
               run.stats.violations.load(Ordering::Relaxed), sys::monotonic_ns() / 1_000_000);
    }
    let target_count = run.targets.len();
    let index = if generator.rng.percent() < 92 {
        generator.rng.below(run.spec_count as u64) as usize
    } else {
        run.spec_count + generator.rng.below((target_count - run.spec_count) as u64) as usize
    };
    let target = run.targets[index];

    let (call, mut prepared) = match target {
        Target::Spec(call) => {
            let mut prepared = generator.prepare(call);
            steer::steer(call.name, generator, &mut prepared);
            generator.classify(call, &mut prepared);
            (Some(call), prepared)
        }
        Target::Extra(_) => (None, extra_arguments(generator)),
    };
    if i >= options.trace_from {
        print_call(out, "call", i, target, &prepared.args, None);
    }

    let started = sys::monotonic_ns();
    let ret = sys::syscall(target.nr(), prepared.args);
    record(run.stats, index, ret, call, &prepared);

    let Some(call) = call else {
        report_slow_call(out, i, target, &prepared.args, started, ret);
        return 0;
    };
    let found = check(out, run.stats, generator, i, call, &prepared, ret);
    // The cleanup counts too: it unmaps what the call mapped and reaps the
    // child of a fuzzed clone.
    cleanup(generator, call, &mut prepared, ret);
    report_slow_call(out, i, target, &prepared.args, started, ret);
    found
}

/// Prints a `slow-call` line when the call that started at `started`
/// (monotonic nanoseconds) took `SLOW_CALL_MS` or more.
fn report_slow_call(out: &mut Out, i: u64, target: Target, args: &[usize; 6], started: u64, ret: isize) {
    let ms = sys::monotonic_ns().saturating_sub(started) / 1_000_000;
    if ms >= SLOW_CALL_MS {
        print_slow_call(out, i, target, args, ms, ret);
    }
}

/// Writes the executable file that is not a program (see `EXEC_PATHS`).
fn create_not_a_program() {
    let fd = sys::open(generate::NOT_A_PROGRAM, sys::O_RDWR | sys::O_CREAT, 0o755);
    if fd < 0 {
        layout::fatal(b"cannot create /tmp/fuzz-noexec\n");
    }
    let text = b"not a program\n";
    sys::syscall(sys::SYS_WRITE, [fd as usize, text.as_ptr() as usize, text.len(), 0, 0, 0]);
    sys::close(fd);
}

fn ignore_signal(signal: usize) {
    // struct sigaction of the kernel: handler, flags, restorer, mask.
    let action: [u64; 4] = [1, 0, 0, 0];
    sys::syscall(sys::SYS_RT_SIGACTION, [signal, action.as_ptr() as usize, 0, 8, 0, 0]);
}

/// Arguments for a number the spec does not list: any mix of integers and
/// pointers.
fn extra_arguments(generator: &mut Generator) -> Prepared {
    let mut prepared = generator.prepare(&Call { name: "", nr: 0, ret: Ret::Int, args: &[], errno: &[] });
    for i in 0..6 {
        prepared.args[i] = match generator.rng.percent() {
            0..40 => generator.int64(),
            40..60 => generator.fd(),
            _ => generator.address(i, 64).0,
        };
    }
    prepared
}

fn record(stats: &Stats, index: usize, ret: isize, call: Option<&Call>, prepared: &Prepared) {
    let column = result_column(ret);
    stats.results[index][column].fetch_add(1, Ordering::Relaxed);
    let Some(call) = call else { return };
    let kernel_half = call
        .args
        .iter()
        .zip(&prepared.info)
        .any(|(arg, info)| arg.kind.is_pointer() && info.class == Class::KernelHalf);
    if kernel_half {
        stats.kernel_half[index][column].fetch_add(1, Ordering::Relaxed);
    }
}

fn result_column(ret: isize) -> usize {
    if ret >= 0 {
        0
    } else if ret >= -133 {
        (-ret) as usize
    } else {
        RESULTS - 1
    }
}

/// Checks one call's result: no success on a pointer the kernel cannot
/// have used, no write outside an output buffer, no mapping over the
/// fuzzer's own memory. Returns the number of failed checks.
fn check(out: &mut Out, stats: &Stats, generator: &Generator, i: u64, call: &'static Call, prepared: &Prepared, ret: isize) -> u32 {
    let mut found = 0;
    // /dev/null takes any write without reading the buffer, as Linux does.
    let on_null = call.args.iter().zip(&prepared.args).any(|(arg, &value)| {
        arg.kind == Kind::Fd && generator.layout.is_null_fd(value as u32 as i32 as isize)
    });
    if ret >= 0 && !on_null {
        for (index, arg) in call.args.iter().enumerate() {
            let info = prepared.info[index];
            if !arg.kind.is_pointer() || info.access != Access::None && info.class != Class::Unterminated {
                continue;
            }
            if arg.nullable && prepared.args[index] == 0 {
                continue;
            }
            // Nothing to access: a zero length, or an output call that
            // wrote nothing (end of file, no events).
            if info.bytes == 0 || arg.kind == Kind::Out && ret == 0 && call.ret != Ret::Zero {
                continue;
            }
            if exempt(call.name, index, prepared) {
                continue;
            }
            let what = if info.class == Class::KernelHalf { "kernel-half-success" } else { "invalid-pointer-success" };
            violation(out, stats, i, call, prepared, ret, what, index);
            found += 1;
        }
    }
    for (index, arg) in call.args.iter().enumerate() {
        let info = prepared.info[index];
        if arg.kind == Kind::Out && matches!(info.class, Class::Valid) && info.access == Access::Whole
            && !canary_intact(generator, prepared.args[index], info.bytes)
        {
            violation(out, stats, i, call, prepared, ret, "write-outside-buffer", index);
            found += 1;
        }
    }
    if matches!(call.name, "mmap" | "mremap") && ret >= 0 {
        let len = if call.name == "mmap" { prepared.args[1] } else { prepared.args[2] };
        if ret as usize >= sys::USER_END || generator.layout.touches_protected(ret as usize, len) {
            violation(out, stats, i, call, prepared, ret, "mapping-over-fuzzer", 0);
            found += 1;
        }
    }
    found
}

/// Arguments Linux reads only for some values of another argument, so a
/// success with an invalid pointer there is no fault.
fn exempt(name: &str, index: usize, prepared: &Prepared) -> bool {
    let args = &prepared.args;
    match (name, index) {
        // EPOLL_CTL_DEL (2) ignores the event.
        ("epoll_ctl", 3) => args[1] as u32 == 2,
        // The remaining time is written only when a signal ends the sleep.
        ("nanosleep", 1) | ("clock_nanosleep", 3) => true,
        _ => false,
    }
}

fn canary_intact(generator: &Generator, addr: usize, bytes: usize) -> bool {
    let Some(slot) = generator.layout.slot_of(addr) else { return true };
    let start = addr.saturating_sub(layout::CANARY_WINDOW).max(slot);
    let end = (addr + bytes + layout::CANARY_WINDOW).min(slot + layout::SLOT);
    (start..addr).chain(addr + bytes..end).all(|byte| layout::peek(byte) == layout::CANARY)
}

#[allow(clippy::too_many_arguments)]
fn violation(out: &mut Out, stats: &Stats, i: u64, call: &'static Call, prepared: &Prepared, ret: isize, what: &str, arg: usize) {
    if stats.add_violation() > MAX_PRINTED {
        return;
    }
    let class = prepared.info[arg].class.name();
    let arg_name = call.args.get(arg).map_or("", |arg| arg.name);
    print_call(out, "violation", i, Target::Spec(call), &prepared.args,
               Some((what, ret, arg_name, class)));
}

fn print_call(out: &mut Out, kind: &str, i: u64, target: Target, args: &[usize; 6],
              detail: Option<(&str, isize, &str, &str)>) {
    use core::fmt::Write as _;
    write_call_fields(out, kind, i, target, args);
    if let Some((what, ret, arg, class)) = detail {
        let _ = write!(out, ",\"check\":\"{what}\",\"ret\":{ret},\"arg\":\"{arg}\",\"class\":\"{class}\"");
    }
    outln!(out, "}}");
}

/// Prints a call that took at least `SLOW_CALL_MS`, with its duration in
/// milliseconds and its return value.
fn print_slow_call(out: &mut Out, i: u64, target: Target, args: &[usize; 6], ms: u64, ret: isize) {
    write_call_fields(out, "slow-call", i, target, args);
    outln!(out, ",\"ms\":{ms},\"ret\":{ret}}}");
}

/// Writes the start of a call's JSON line, up to and including its
/// arguments, without the closing brace.
fn write_call_fields(out: &mut Out, kind: &str, i: u64, target: Target, args: &[usize; 6]) {
    use core::fmt::Write as _;
    let name = match target {
        Target::Spec(call) => call.name,
        Target::Extra(_) => "?",
    };
    let _ = write!(out, "{{\"fuzz\":\"{kind}\",\"i\":{i},\"syscall\":\"{name}\",\"nr\":{},\"args\":[", target.nr());
    for (n, arg) in args.iter().enumerate() {
        let _ = write!(out, "{}\"{arg:#x}\"", if n == 0 { "" } else { "," });
    }
    let _ = write!(out, "]");
}

/// Closes fds that a call created and unmaps what it mapped, so that a
/// long run does not run out of either. Pool fds that a call closed are
/// noted for the next refresh.
fn cleanup(generator: &mut Generator, call: &Call, prepared: &mut Prepared, ret: isize) {
    let args = &prepared.args;
    if ret < 0 {
        return;
    }
    match call.name {
        "close" => {
            let fd = args[0] as u32 as i32 as isize;
            if generator.layout.is_pool_fd(fd) {
                generator.layout.forget_pool_fd(fd);
            }
        }
        "pipe2" | "socketpair" => {
            let addr = args[if call.name == "pipe2" { 0 } else { 3 }];
            if generator.layout.access(addr, 8, true) == Access::Whole {
                let pair = layout::read_u64(addr);
                close_new(generator, pair as u32 as i32 as isize);
                close_new(generator, (pair >> 32) as u32 as i32 as isize);
            }
        }
        "dup3" => close_new(generator, ret),
        "fcntl" if matches!(args[1] as u32, 0 | 1030) => close_new(generator, ret),
        "clone" => {
            sys::syscall(sys::SYS_WAIT4, [ret as usize, 0, sys::WALL, 0, 0, 0]);
        }
        "mmap" => {
            if !generator.layout.touches_protected(ret as usize, args[1]) && !generator.layout.in_victim(ret as usize, args[1]) {
                sys::syscall(sys::SYS_MUNMAP, [ret as usize, args[1], 0, 0, 0, 0]);
            }
        }
        "mremap" => {
            if !generator.layout.touches_protected(ret as usize, args[2]) && !generator.layout.in_victim(ret as usize, args[2]) {
                sys::syscall(sys::SYS_MUNMAP, [ret as usize, args[2], 0, 0, 0, 0]);
            }
        }
        _ if call.ret == Ret::Fd => close_new(generator, ret),
        _ => {}
    }
}

/// Closes an fd a call created, unless it is fd 1 or 2 or in the pool. A
/// new fd 0 (after a fuzzed close of the pool's fd 0) is closed too, so
/// that the next refresh puts /dev/null back there.
fn close_new(generator: &mut Generator, fd: isize) {
    if fd >= 0 && fd != 1 && fd != 2 && !generator.layout.is_pool_fd(fd) {
        sys::close(fd);
    }
}

fn print_summary(out: &mut Out, stats: &Stats, index: usize, target: Target) {
    use core::fmt::Write as _;
    let results: [u32; RESULTS] = core::array::from_fn(|column| stats.results[index][column].load(Ordering::Relaxed));
    let kernel_half: [u32; RESULTS] = core::array::from_fn(|column| stats.kernel_half[index][column].load(Ordering::Relaxed));
    let calls: u32 = results.iter().sum();
    let name = match target {
        Target::Spec(call) => call.name,
        Target::Extra(_) => "",
    };
    let _ = write!(out, "{{\"fuzz\":\"syscall\",\"name\":\"{name}\",\"nr\":{},\"calls\":{calls},\"results\":", target.nr());
    print_counts(out, &results);
    let _ = write!(out, ",\"kernel_half\":");
    print_counts(out, &kernel_half);
    let _ = write!(out, ",\"outside_spec\":[");
    if let Target::Spec(call) = target {
        let mut first = true;
        for (errno, &count) in results.iter().enumerate().skip(1).take(133) {
            let errno_name = sys::ERRNO_NAMES[errno];
            if count > 0 && !call.errno.contains(&errno_name) {
                let _ = write!(out, "{}\"{errno_name}\"", if first { "" } else { "," });
                first = false;
            }
        }
    }
    outln!(out, "]}}");
}

fn print_counts(out: &mut Out, counts: &[u32; RESULTS]) {
    use core::fmt::Write as _;
    let _ = write!(out, "{{");
    let mut first = true;
    for (column, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let label = match column {
            0 => "ok",
            column if column < RESULTS - 1 => sys::ERRNO_NAMES[column],
            _ => "other",
        };
        let _ = write!(out, "{}\"{label}\":{count}", if first { "" } else { "," });
        first = false;
    }
    let _ = write!(out, "}}");
}

fn parse_options(sp: usize) -> Options {
    let mut options = Options {
        seed: 1,
        count: 10_000,
        log_every: 10_000,
        trace_from: u64::MAX,
        reference: false,
        sequential: false,
    };
    // SAFETY: at entry the stack holds argc and argc argv pointers to
    // NUL-terminated strings, as the ELF ABI of Linux defines.
    let argc = unsafe { *(sp as *const usize) };
    let arg = |n: usize| -> &'static [u8] {
        // SAFETY: as above; n < argc.
        unsafe {
            let ptr = *((sp + 8 * (n + 1)) as *const *const u8);
            let mut len = 0;
            while *ptr.add(len) != 0 {
                len += 1;
            }
            core::slice::from_raw_parts(ptr, len)
        }
    };
    let mut n = 1;
    while n < argc {
        let name = arg(n);
        if name == b"--reference" || name == b"--sequential" {
            if name == b"--reference" {
                options.reference = true;
            } else {
                options.sequential = true;
            }
            n += 1;
            continue;
        }
        let value = if n + 1 < argc { parse_number(arg(n + 1)) } else { None };
        let Some(value) = value else {
            layout::fatal(b"usage: starry-fuzz [--seed N] [--count N] [--log-every N] [--trace-from N] [--reference] [--sequential]\n");
        };
        match name {
            b"--seed" => options.seed = value,
            b"--count" => options.count = value,
            b"--log-every" => options.log_every = value.max(1),
            b"--trace-from" => options.trace_from = value,
            _ => layout::fatal(b"unknown option; expected --seed, --count, --log-every or --trace-from\n"),
        }
        n += 2;
    }
    options
}

/// Returns the end of the highest argv or envp string: the part of the
/// stack above the entry stack pointer that the fuzzer must not unmap.
fn strings_end(sp: usize) -> usize {
    let mut end = sp;
    // SAFETY: at entry the stack holds argc, the argv pointers, a null
    // pointer, the envp pointers and a null pointer, each string
    // NUL-terminated (the ELF ABI of Linux).
    unsafe {
        let mut slot = (sp as *const usize).add(1);
        for _ in 0..2 {
            while *slot != 0 {
                let string = *slot as *const u8;
                let mut len = 0;
                while *string.add(len) != 0 {
                    len += 1;
                }
                end = end.max(string as usize + len + 1);
                slot = slot.add(1);
            }
            slot = slot.add(1);
        }
    }
    end
}

fn parse_number(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |value, &digit| {
        digit.is_ascii_digit().then_some(())?;
        value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    use core::fmt::Write as _;
    let mut out = Out::new();
    let _ = write!(out, "{{\"fuzz\":\"panic\",\"message\":\"{}\"", info.message());
    if let Some(location) = info.location() {
        let _ = write!(out, ",\"at\":\"{location}\"");
    }
    let _ = writeln!(out, "}}");
    sys::exit_group(3)
}

//! Worker threads and child processes that make fuzzed calls.
//!
//! A worker thread is created with the flags of a pthread (shared memory,
//! fds and signal handlers, its own stack and TLS, CLONE_PARENT_SETTID and
//! CLONE_CHILD_CLEARTID on one word). It makes calls concurrently with the
//! main thread until the phase ends, then calls `exit`, and the main thread
//! joins it by waiting until the kernel has cleared that word. Each worker
//! has its own stack, slots and scratch area, all inside ranges that the
//! memory calls of every thread are kept off.
//!
//! A child process is forked by the main thread, makes a block of calls on
//! its own copy of the address space and fd table, and ends with
//! `exit_group`: status 0 when its checks passed, 1 when one failed. Its
//! result counts go to the shared counts of the run. The main thread reaps
//! it with `wait4` and checks the status.
//!
//! Joins and waits have timeouts, so a kernel that never ends a thread or
//! a child shows as a failed check rather than a silent hang.
//!
//! NOTE: these timeouts do not catch a stall inside a syscall. It shows as
//! a `slow-call` line when the call returns, or as QEMU's timeout.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::generate::{Generator, Rng};
use crate::layout::{self, Layout, SLOTS_LEN};
use crate::out::Out;
use crate::sys::{self, PAGE};
use crate::{Run, make_call, outln};

pub const MAX_THREADS: usize = 3;
/// CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
/// CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
/// the flags musl's and glibc's pthread_create pass.
const THREAD_FLAGS: usize = 0x100 | 0x200 | 0x400 | 0x800 | 0x1_0000 | 0x4_0000 | 0x8_0000 | 0x10_0000 | 0x20_0000;
const STACK_LEN: usize = 256 * 1024;
/// Bytes for a worker's clear-tid word and its `Worker` record.
const RECORD_LEN: usize = 4 * PAGE;
/// Bytes of one worker's memory: a guard page, the stack, the record, the
/// slots and the scratch area.
const WORKER_LEN: usize = PAGE + STACK_LEN + RECORD_LEN + SLOTS_LEN;
/// Offset of the `Worker` record after the clear-tid word.
const WORKER_OFFSET: usize = 64;
const _: () = assert!(WORKER_OFFSET + size_of::<Worker>() <= RECORD_LEN);

/// Calls of one child process.
const CHILD_CALLS: u64 = 256;
/// Nanoseconds a join or a child wait may take before it counts as a hang.
/// A phase of 2,048 calls should take a fraction of a second (an estimate
/// from the 8 s that 100,000 calls in one thread took under QEMU).
const JOIN_TIMEOUT_NS: u64 = 60_000_000_000;
/// Nanoseconds of one futex wait or sleep while joining or waiting.
const POLL_NS: u64 = 10_000_000;

/// Start data of a worker thread: everything but the clear-tid word, which
/// the main thread reads while the worker runs.
struct Worker {
    /// Address of the run's `Run`, which outlives every worker because the
    /// main thread joins them all before it returns.
    run: usize,
    layout: Layout,
    seed: u64,
    /// End of the call indices this worker may claim (its phase's end).
    end: u64,
}

/// The worker threads' memory and which of them run.
pub struct Threads {
    arena: usize,
    running: [bool; MAX_THREADS],
    pub started: u64,
}

impl Threads {
    /// Maps the memory of every worker, with guard pages below the stacks
    /// and after the slots, and protects it from the fuzzed memory calls.
    pub fn map(layout: &mut Layout) -> Threads {
        let len = MAX_THREADS * WORKER_LEN;
        let arena = sys::mmap_anon(0, len, sys::PROT_READ | sys::PROT_WRITE, false)
            .unwrap_or_else(|| layout::fatal(b"cannot map the worker threads' memory\n"));
        layout.protect(arena, arena + len);
        let threads = Threads { arena, running: [false; MAX_THREADS], started: 0 };
        for n in 0..MAX_THREADS {
            layout::protect_none(threads.base(n));
            layout::place_slots(threads.slots(n));
        }
        threads
    }

    pub fn any_running(&self) -> bool {
        self.running.contains(&true)
    }

    fn base(&self, n: usize) -> usize {
        self.arena + n * WORKER_LEN
    }

    fn stack_top(&self, n: usize) -> usize {
        self.base(n) + PAGE + STACK_LEN
    }

    /// Address of worker `n`'s clear-tid word, at the start of its record.
    fn clear_tid(&self, n: usize) -> usize {
        self.stack_top(n)
    }

    fn slots(&self, n: usize) -> usize {
        self.stack_top(n) + RECORD_LEN
    }

    fn tid_word(&self, n: usize) -> &AtomicU32 {
        // SAFETY: the word lies in this worker's record page, which stays
        // mapped and protected for the whole run, and is only accessed
        // atomically (by this thread and by the kernel).
        unsafe { &*(self.clear_tid(n) as *const AtomicU32) }
    }

    /// Starts `count` worker threads that make calls until `end`, each with
    /// a seed from the main generator and a copy of its layout.
    pub fn start(&mut self, run: &Run, generator: &mut Generator, out: &mut Out, count: usize, end: u64) {
        for n in 0..count.min(MAX_THREADS) {
            let worker = Worker {
                run: run as *const Run as usize,
                layout: generator.layout.with_slots(self.slots(n)),
                seed: generator.rng.next(),
                end,
            };
            let record = self.clear_tid(n) + WORKER_OFFSET;
            // SAFETY: worker `n` is not running, so nothing else uses its
            // record, which is mapped read-write and large enough (see the
            // assertion on RECORD_LEN).
            unsafe { (record as *mut Worker).write(worker) };
            // Any non-zero value: CLONE_PARENT_SETTID replaces it with the
            // thread id before the thread runs.
            self.tid_word(n).store(u32::MAX, Ordering::Release);
            let clear_tid = self.clear_tid(n);
            let tid = sys::spawn_thread(THREAD_FLAGS, self.stack_top(n), clear_tid, record, clear_tid, worker_main, record);
            if tid < 0 {
                // Not a kernel fault by itself (EAGAIN when out of tasks);
                // the claimed calls go to the other threads.
                outln!(out, "{{\"fuzz\":\"thread-not-started\",\"errno\":{}}}", -tid);
                self.tid_word(n).store(0, Ordering::Release);
                continue;
            }
            self.running[n] = true;
            self.started += 1;
        }
    }

    /// Waits until every running worker has ended. A worker whose clear-tid
    /// word is not cleared within `JOIN_TIMEOUT_NS` fails the run: the
    /// error is the thread id it still holds.
    pub fn join_all(&mut self, run: &Run, out: &mut Out) -> Result<(), u32> {
        for n in 0..MAX_THREADS {
            if !self.running[n] {
                continue;
            }
            let deadline = sys::monotonic_ns().saturating_add(JOIN_TIMEOUT_NS);
            loop {
                let tid = self.tid_word(n).load(Ordering::Acquire);
                if tid == 0 {
                    break;
                }
                if sys::monotonic_ns() > deadline {
                    run.stats.add_violation();
                    outln!(out, "{{\"fuzz\":\"violation\",\"check\":\"thread-join-timeout\",\"tid\":{tid},\"seconds\":{}}}",
                           JOIN_TIMEOUT_NS / 1_000_000_000);
                    return Err(tid);
                }
                sys::futex_wait(self.clear_tid(n), tid, POLL_NS);
            }
            self.running[n] = false;
        }
        Ok(())
    }
}

/// Runs one worker thread: claims call indices until its phase ends or
/// the run's count is reached, then exits the thread.
extern "C" fn worker_main(record: usize) -> ! {
    // SAFETY: `record` is the `Worker` that `Threads::start` wrote for this
    // thread, which only this thread uses until it ends.
    let worker = unsafe { &mut *(record as *mut Worker) };
    // SAFETY: the main thread joins this thread before `Run` goes out of
    // scope (see `Worker::run`), and `Run` is only read or changed
    // atomically.
    let run = unsafe { &*(worker.run as *const Run) };
    worker.layout.tid = sys::call0(sys::SYS_GETTID) as usize;
    let clear_tid = record - WORKER_OFFSET;
    let mut out = Out::new();
    let mut generator = Generator {
        rng: Rng::new(worker.seed),
        layout: &mut worker.layout,
        reference: run.options.reference,
        clear_tid,
        in_child: false,
        fds_shared: true,
    };
    while let Some(i) = run.claim(worker.end) {
        make_call(run, &mut generator, &mut out, i);
    }
    out.flush();
    sys::syscall(sys::SYS_EXIT, [0; 6]);
    loop {
        core::hint::spin_loop();
    }
}

#[derive(Default)]
pub struct Children {
    pub started: u64,
}

/// A child process that did not end within `JOIN_TIMEOUT_NS`.
pub struct ChildHang;

impl Children {
    /// Forks a child that makes the next `CHILD_CALLS` calls, waits for it
    /// and checks its exit status. When the fork fails, the main thread
    /// makes the calls itself.
    pub fn run_one(&mut self, run: &Run, generator: &mut Generator, out: &mut Out) -> Result<(), ChildHang> {
        let block = run.claim_block(CHILD_CALLS);
        if block.is_empty() {
            return Ok(());
        }
        let seed = generator.rng.next();
        // A fuzzed rt_sigaction may have set SIGCHLD to SIG_IGN or given
        // it SA_NOCLDWAIT, and then the kernel reaps the child itself and
        // wait4 gets ECHILD. The default action keeps the child's status.
        sys::set_default_action(sys::SIGCHLD);
        let pid = sys::fork();
        if pid == 0 {
            run_child(run, generator, out, block, seed);
        }
        if pid < 0 {
            outln!(out, "{{\"fuzz\":\"child-not-started\",\"errno\":{}}}", -pid);
            for i in block {
                make_call(run, generator, out, i);
            }
            return Ok(());
        }
        self.started += 1;
        let status = wait_child(pid, run, out)?;
        // Exit status 1 means a check in the child failed, and the child
        // has already counted and printed it.
        let exited = status & 0x7f == 0;
        let code = (status >> 8) & 0xff;
        if !exited || code > 1 {
            run.stats.add_violation();
            outln!(out, "{{\"fuzz\":\"violation\",\"check\":\"child-status\",\"pid\":{pid},\"status\":{status:#x}}}");
        }
        Ok(())
    }
}

/// Makes the calls of `block` in a forked child, then ends it.
fn run_child(run: &Run, generator: &mut Generator, out: &mut Out, block: core::ops::Range<u64>, seed: u64) -> ! {
    generator.layout.pid = sys::call0(sys::SYS_GETPID) as usize;
    generator.layout.tid = sys::call0(sys::SYS_GETTID) as usize;
    generator.rng = Rng::new(seed);
    generator.in_child = true;
    let mut found = 0;
    for i in block {
        found += make_call(run, generator, out, i);
    }
    out.flush();
    sys::exit_group(if found == 0 { 0 } else { 1 })
}

/// Reaps child `pid` and returns its wait status. A child that has not
/// ended within `JOIN_TIMEOUT_NS` is killed, and the run fails.
fn wait_child(pid: isize, run: &Run, out: &mut Out) -> Result<u32, ChildHang> {
    let deadline = sys::monotonic_ns().saturating_add(JOIN_TIMEOUT_NS);
    let mut status = 0u32;
    loop {
        let status_addr = &mut status as *mut u32 as usize;
        let ret = sys::syscall(sys::SYS_WAIT4, [pid as usize, status_addr, sys::WNOHANG | sys::WALL, 0, 0, 0]);
        if ret == pid {
            return Ok(status);
        }
        if ret < 0 {
            run.stats.add_violation();
            outln!(out, "{{\"fuzz\":\"violation\",\"check\":\"child-wait\",\"pid\":{pid},\"errno\":{}}}", -ret);
            return Ok(0);
        }
        if sys::monotonic_ns() > deadline {
            run.stats.add_violation();
            outln!(out, "{{\"fuzz\":\"violation\",\"check\":\"child-wait-timeout\",\"pid\":{pid},\"seconds\":{}}}",
                   JOIN_TIMEOUT_NS / 1_000_000_000);
            sys::syscall(sys::SYS_KILL, [pid as usize, sys::SIGKILL, 0, 0, 0, 0]);
            return Err(ChildHang);
        }
        sys::sleep_ns(POLL_NS / 10);
    }
}

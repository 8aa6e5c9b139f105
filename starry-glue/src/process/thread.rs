//! Threads of a process: clone with CLONE_THREAD, and a thread's exit.
//!
//! NOTE: tasks switch only when one blocks or yields (axtask runs without
//! preemption), so a thread that computes without syscalls keeps the CPU
//! until it blocks or ends.

use alloc::{format, string::String};
use core::sync::atomic::Ordering;

use axerrno::LinuxError;
use axhal::{context::TrapFrame, uspace::UspaceContext};
use axtask::TaskInner;
use syscall_abi::CloneFlags;

use super::{ExitStatus, Pid, Thread, current_thread, exit_current_process, futex, register_thread, unregister_thread};

type SysResult<T = ()> = Result<T, LinuxError>;

/// Kernel stack size of a user thread's task (as `task-stack-size` in
/// kernel/axconfig.toml).
const USER_TASK_KERNEL_STACK: usize = 0x40000;

/// Returns a copy of the current task's user registers. A task that runs
/// user code enters the kernel only from EL0, on an empty kernel stack, so
/// axcpu's entry code saved the frame at the top of that stack.
pub(super) fn current_user_frame() -> TrapFrame {
    let top = axtask::current()
        .kernel_stack_top()
        .expect("a user thread's task has a kernel stack");
    let frame = (top.as_usize() - core::mem::size_of::<TrapFrame>()) as *const TrapFrame;
    // SAFETY: the frame of the current exception lies at the top of the
    // current task's kernel stack, which stays allocated while the task
    // runs. The frame is only copied.
    unsafe { frame.read() }
}

/// Creates the task of a new user thread that returns from the caller's
/// clone with x0 = 0, on `stack` unless it is 0. Under CLONE_SETTLS its
/// thread pointer is `tls`, else the caller's, because a new task starts
/// with TPIDR_EL0 = 0. The caller sets the page table, registers the thread
/// and spawns the task.
pub(super) fn new_user_task(flags: CloneFlags, stack: usize, tls: usize, name: String) -> TaskInner {
    let mut frame = current_user_frame();
    frame.r[0] = 0;
    if stack != 0 {
        frame.usp = stack as u64;
    }
    let tls = if flags.contains(CloneFlags::SETTLS) {
        tls
    } else {
        axhal::asm::read_thread_pointer()
    };
    TaskInner::new(
        move || {
            // SAFETY: TPIDR_EL0 is the user thread pointer; the kernel
            // does not use it.
            unsafe { axhal::asm::write_thread_pointer(tls) };
            let kstack_top = axtask::current()
                .kernel_stack_top()
                .expect("a user thread's task has a kernel stack");
            super::cputime::leave_kernel();
            // SAFETY: the caller sets the task's page table (with
            // `set_page_table_root`) to the address space of `frame`, and
            // `kstack_top` is the top of this task's own kernel stack,
            // unused from here on.
            unsafe { UspaceContext::from(&frame).enter_uspace(kstack_top) }
        },
        name,
        USER_TASK_KERNEL_STACK,
    )
}

/// clone: a new thread in the calling process (`CLONE_VM | CLONE_THREAD
/// | CLONE_SIGHAND`, as pthread_create passes), or without CLONE_THREAD a
/// new process (`fork::fork`).
pub fn clone_thread(flags: CloneFlags, stack: usize, parent_tid: usize, tls: usize, child_tid: usize) -> SysResult<isize> {
    let thread_flags = CloneFlags::VM | CloneFlags::THREAD | CloneFlags::SIGHAND;
    if !flags.contains(CloneFlags::THREAD) {
        return super::fork::fork(flags, stack, parent_tid, tls, child_tid);
    }
    if !flags.contains(thread_flags) {
        return Err(LinuxError::EINVAL);
    }
    if !flags.contains(CloneFlags::FS | CloneFlags::FILES) {
        return Err(LinuxError::EINVAL);
    }
    let parent = current_thread();
    let process = parent.process.clone();
    let tid: Pid = super::alloc_id();
    let child = Thread::new(tid, process.clone());
    child.sigmask.store(parent.sigmask(), Ordering::Relaxed);
    if flags.contains(CloneFlags::CHILD_CLEARTID) {
        child.clear_child_tid.store(child_tid, Ordering::Relaxed);
    }
    {
        // Linux ignores a failed write of either tid, and the thread is
        // made anyway.
        let mut aspace = process.aspace.lock();
        if flags.contains(CloneFlags::PARENT_SETTID) {
            let _ = aspace.write(parent_tid, &tid.to_ne_bytes());
        }
        if flags.contains(CloneFlags::CHILD_SETTID) {
            let _ = aspace.write(child_tid, &tid.to_ne_bytes());
        }
    }

    let mut task = new_user_task(flags, stack, tls, format!("thread {tid}"));
    task.ctx_mut()
        .set_page_table_root(process.aspace.lock().page_table_root());
    super::cputime::attach_clock(&mut task, &child);
    register_thread(task.id().as_u64(), child);
    axtask::spawn_task(task);
    Ok(tid as isize)
}

/// Ends the calling thread with `status`; the last thread's exit ends the
/// process. Clears and wakes the `set_tid_address` word, as pthread_join
/// expects.
pub fn exit_thread(status: i32) -> ! {
    let thread = current_thread();
    let others = super::threads_of(thread.process.pid) - 1;
    if others == 0 {
        exit_current_process(ExitStatus::Code(status & 0xff));
    }
    let clear = thread.clear_child_tid.load(Ordering::Relaxed);
    if clear != 0 && thread.process.aspace.lock().write(clear, &0u32.to_ne_bytes()).is_ok() {
        if let Ok(key) = futex::key(&thread.process, clear) {
            futex::wake(key, 1);
        }
    }
    unregister_thread(axtask::current().id().as_u64());
    drop(thread);
    axtask::exit(status)
}

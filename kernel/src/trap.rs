//! The trap handlers registered with axcpu: syscalls and page faults.

use axhal::{
    context::TrapFrame,
    trap::{PAGE_FAULT, PageFaultFlags, register_trap_handler},
};
use axcpu::trap::SYSCALL;
use memory_addr::VirtAddr;
use starry_glue::process::{ExitStatus, exit_current_process, try_current_thread};

/// SIGSEGV, the signal of a bad memory access.
const SIGSEGV: u32 = 11;

#[register_trap_handler(SYSCALL)]
fn handle_syscall(tf: &TrapFrame, nr: usize) -> isize {
    let args = [tf.arg0(), tf.arg1(), tf.arg2(), tf.arg3(), tf.arg4(), tf.arg5()];
    // The exception entry masked interrupts; a syscall may sleep, so it runs
    // with them enabled.
    axhal::asm::enable_irqs();
    let ret = starry_glue::handle_syscall(nr, args);
    axhal::asm::disable_irqs();
    ret
}

#[register_trap_handler(PAGE_FAULT)]
fn handle_page_fault(vaddr: VirtAddr, access: PageFaultFlags, is_user: bool) -> bool {
    let Some(thread) = try_current_thread() else {
        return false;
    };
    if thread.process.aspace.lock().handle_page_fault(vaddr, access) {
        return true;
    }
    if is_user {
        // NOTE: signals are not delivered yet, so a bad access kills the
        // process even when it installed a SIGSEGV handler.
        debug!("SIGSEGV: {access:?} access to {vaddr:#x}");
        exit_current_process(ExitStatus::Signal(SIGSEGV));
    }
    // A kernel access to an unmapped user address: user copies check the
    // address space first, so this is a kernel bug and axcpu panics.
    false
}

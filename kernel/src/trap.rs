//! The trap handlers registered with axcpu: syscalls and page faults.

use axhal::{
    context::TrapFrame,
    trap::{PAGE_FAULT, PageFaultFlags, register_trap_handler},
};
use axcpu::trap::SYSCALL;
use memory_addr::VirtAddr;
use starry_glue::mm::aspace::FaultError;
use starry_glue::process::{
    ExitStatus, Thread, cputime, current_thread, exit_current_process, fork, signal, try_current_thread,
};

/// SIGSEGV, the signal of a bad memory access.
const SIGSEGV: u32 = 11;
/// The rt_sigreturn, execve and execveat syscall numbers on aarch64, which
/// the exception entry runs itself because they replace the trap frame.
const SYS_RT_SIGRETURN: usize = 139;
const SYS_EXECVE: usize = 221;
const SYS_EXECVEAT: usize = 281;

#[register_trap_handler(SYSCALL)]
fn handle_syscall(tf: &TrapFrame, nr: usize) -> isize {
    let args = [tf.arg0(), tf.arg1(), tf.arg2(), tf.arg3(), tf.arg4(), tf.arg5()];
    // The exception entry masked interrupts; a syscall may sleep, so it runs
    // with them enabled.
    axhal::asm::enable_irqs();
    let start = crate::stats::start();
    let ret = starry_glue::handle_syscall(nr, args);
    crate::stats::end_syscall(nr, start);
    axhal::asm::disable_irqs();
    ret
}

#[register_trap_handler(PAGE_FAULT)]
fn handle_page_fault(vaddr: VirtAddr, access: PageFaultFlags, is_user: bool) -> bool {
    let Some(thread) = try_current_thread() else {
        return false;
    };
    let start = crate::stats::start();
    let result = thread.process.aspace.lock().handle_page_fault(vaddr, access);
    crate::stats::end_page_fault(is_user, start);
    let Err(err) = result else {
        return true;
    };
    if is_user {
        debug!("{err:?}: {access:?} access to {vaddr:#x}");
        let (sig, code) = match err {
            FaultError::NotMapped => (SIGSEGV, signal::SEGV_MAPERR),
            FaultError::Denied => (SIGSEGV, signal::SEGV_ACCERR),
            FaultError::BadFilePage => (signal::SIGBUS, signal::BUS_ADRERR),
            FaultError::OutOfMemory => {
                // Linux's OOM killer picks the process with the most memory.
                // Here the process that needed the page ends, which is the
                // same process when it is the only large one.
                let user_kib = axalloc::global_allocator().usages().get(axalloc::UsageKind::VirtMem) / 1024;
                warn!(
                    "out of memory: killed process {} on a fault at {:#x}; user pages use {user_kib} KiB",
                    thread.process.pid,
                    vaddr.as_usize(),
                );
                exit_current_process(ExitStatus::Signal(signal::SIGKILL));
            }
        };
        raise_fault_signal(&thread, sig, code, vaddr.as_usize());
        // The handler runs when the exception returns (`deliver_pending`).
        return true;
    }
    // A kernel access to an unmapped user address: user copies check the
    // address space first, so this is a kernel bug and axcpu panics.
    false
}

// The kernel's exception vector table. It forwards every entry to axcpu's
// table (`exception_vector_base`) except synchronous exceptions from EL0,
// which go to `handle_user_sync_exception` first. axcpu 0.3.1 panics on
// anything from EL0 but syscalls and aborts, while a user program that runs
// an undefined instruction must only get a signal. The handler also
// delivers pending signals and runs rt_sigreturn, which need the frame.
core::arch::global_asm!(
    r#"
.macro FORWARD offset
.p2align 7
    b       exception_vector_base + \offset
.endm

// Saves the registers as axcpu's trap frame (34 words) on the kernel stack.
.macro SAVE_USER_FRAME
    sub     sp, sp, 34 * 8
    stp     x0, x1, [sp]
    stp     x2, x3, [sp, 2 * 8]
    stp     x4, x5, [sp, 4 * 8]
    stp     x6, x7, [sp, 6 * 8]
    stp     x8, x9, [sp, 8 * 8]
    stp     x10, x11, [sp, 10 * 8]
    stp     x12, x13, [sp, 12 * 8]
    stp     x14, x15, [sp, 14 * 8]
    stp     x16, x17, [sp, 16 * 8]
    stp     x18, x19, [sp, 18 * 8]
    stp     x20, x21, [sp, 20 * 8]
    stp     x22, x23, [sp, 22 * 8]
    stp     x24, x25, [sp, 24 * 8]
    stp     x26, x27, [sp, 26 * 8]
    stp     x28, x29, [sp, 28 * 8]
    mrs     x9, sp_el0
    mrs     x10, elr_el1
    mrs     x11, spsr_el1
    msr     sp_el0, xzr
    stp     x30, x9, [sp, 30 * 8]
    stp     x10, x11, [sp, 32 * 8]
.endm

// Restores the registers from the trap frame and returns to EL0.
.macro RESTORE_USER_FRAME_AND_RETURN
    ldp     x10, x11, [sp, 32 * 8]
    ldp     x30, x9, [sp, 30 * 8]
    msr     sp_el0, x9
    msr     elr_el1, x10
    msr     spsr_el1, x11
    ldp     x28, x29, [sp, 28 * 8]
    ldp     x26, x27, [sp, 26 * 8]
    ldp     x24, x25, [sp, 24 * 8]
    ldp     x22, x23, [sp, 22 * 8]
    ldp     x20, x21, [sp, 20 * 8]
    ldp     x18, x19, [sp, 18 * 8]
    ldp     x16, x17, [sp, 16 * 8]
    ldp     x14, x15, [sp, 14 * 8]
    ldp     x12, x13, [sp, 12 * 8]
    ldp     x10, x11, [sp, 10 * 8]
    ldp     x8, x9, [sp, 8 * 8]
    ldp     x6, x7, [sp, 6 * 8]
    ldp     x4, x5, [sp, 4 * 8]
    ldp     x2, x3, [sp, 2 * 8]
    ldp     x0, x1, [sp]
    add     sp, sp, 34 * 8
    eret
.endm

.section .text
.p2align 11
.global starry_exception_vectors
starry_exception_vectors:
    FORWARD 0x000
    FORWARD 0x080
    FORWARD 0x100
    FORWARD 0x180
    FORWARD 0x200
    FORWARD 0x280
    FORWARD 0x300
    FORWARD 0x380
.p2align 7
    b       starry_user_sync_entry
.p2align 7
    b       starry_user_irq_entry
    FORWARD 0x500
    FORWARD 0x580
    FORWARD 0x600
    FORWARD 0x680
    FORWARD 0x700
    FORWARD 0x780

starry_user_sync_entry:
    SAVE_USER_FRAME
    mov     x0, sp
    bl      handle_user_sync_exception
    RESTORE_USER_FRAME_AND_RETURN

// An interrupt while user code ran: axcpu's handler, then the delivery of
// signals the interrupt raised (Ctrl-C on the console).
starry_user_irq_entry:
    SAVE_USER_FRAME
    mov     x0, sp
    bl      handle_irq_exception
    mov     x0, sp
    bl      handle_user_irq_return
    RESTORE_USER_FRAME_AND_RETURN
"#
);

unsafe extern "C" {
    fn starry_exception_vectors();
}

unsafe extern "Rust" {
    /// axcpu's handler of synchronous exceptions (syscalls and aborts).
    fn handle_sync_exception(tf: &mut TrapFrame);
}

/// Exception classes (ESR_EL1.EC) of synchronous exceptions from EL0.
const EC_SVC64: u64 = 0x15;
const EC_IABT_LOWER: u64 = 0x20;
const EC_PC_ALIGNMENT: u64 = 0x22;
const EC_DABT_LOWER: u64 = 0x24;
const EC_SP_ALIGNMENT: u64 = 0x26;
const EC_FP_EXCEPTION: u64 = 0x2c;
const EC_BRK64: u64 = 0x3c;

const SIGILL: u32 = 4;
const SIGTRAP: u32 = 5;
const SIGBUS: u32 = 7;
const SIGFPE: u32 = 8;

/// Installs the kernel's exception vector table. Runs after axhal's early
/// initialization, which installs axcpu's.
pub fn init() {
    // SAFETY: `starry_exception_vectors` is a 2 KiB-aligned table of 16
    // entries that forward to axcpu's handlers or save a complete trap frame.
    unsafe { axhal::asm::write_exception_vector_base(starry_exception_vectors as *const () as usize) };
}

#[unsafe(no_mangle)]
extern "C" fn handle_user_sync_exception(tf: &mut TrapFrame) {
    cputime::enter_kernel();
    handle_sync_from_user(tf);
    cputime::leave_kernel();
}

fn handle_sync_from_user(tf: &mut TrapFrame) {
    let esr: u64;
    // SAFETY: reading ESR_EL1 at EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, esr_el1", out(reg) esr, options(nomem, nostack)) };
    let class = esr >> 26;
    let signal = match class {
        EC_SVC64 if tf.r[8] as usize == SYS_RT_SIGRETURN => {
            signal::sigreturn(tf);
            signal::deliver_pending(tf);
            return;
        }
        EC_SVC64 if matches!(tf.r[8] as usize, SYS_EXECVE | SYS_EXECVEAT) => {
            axhal::asm::enable_irqs();
            if tf.r[8] as usize == SYS_EXECVE {
                fork::execve(tf);
            } else {
                fork::execveat(tf);
            }
            // execve closed the close-on-exec files (subprocess's error pipe).
            starry_glue::wait::wake_file_waiters();
            axhal::asm::disable_irqs();
            signal::deliver_pending(tf);
            return;
        }
        EC_SVC64 => {
            // The return value replaces x0; a restarted syscall needs it.
            let syscall_x0 = tf.r[0];
            // SAFETY: this is axcpu's own handler for syscalls, called with
            // the frame its entry code would pass.
            unsafe { handle_sync_exception(tf) };
            starry_glue::wait::wake_file_waiters();
            signal::deliver_after_syscall(tf, syscall_x0);
            return;
        }
        EC_IABT_LOWER | EC_DABT_LOWER => {
            // SAFETY: this is axcpu's own handler for aborts, called with
            // the frame its entry code would pass.
            unsafe { handle_sync_exception(tf) };
            signal::deliver_pending(tf);
            return;
        }
        EC_BRK64 => SIGTRAP,
        EC_PC_ALIGNMENT | EC_SP_ALIGNMENT => SIGBUS,
        EC_FP_EXCEPTION => SIGFPE,
        // Undefined instructions (class 0x00), trapped system-register
        // accesses (0x18) and every other class.
        _ => SIGILL,
    };
    debug!(
        "signal {signal}: exception class {class:#x} at {:#x} (ESR {esr:#x})",
        tf.elr
    );
    let thread = current_thread();
    raise_fault_signal(&thread, signal, signal::ILL_ILLOPC, tf.elr as usize);
    signal::deliver_pending(tf);
}

#[unsafe(no_mangle)]
extern "C" fn handle_user_irq_return(tf: &mut TrapFrame) {
    // Tasks are preempted only here, in user mode: axtask is built without
    // its `preempt` feature, so kernel code runs until it blocks or yields.
    // A program that loops in user mode thus shares the CPU in timer ticks
    // (`axconfig::TICKS_PER_SEC`).
    cputime::enter_kernel();
    if crate::runtime::take_time_slice_end() {
        axtask::yield_now();
    }
    signal::deliver_pending(tf);
    cputime::leave_kernel();
}

/// Raises the fault signal `sig` on `thread`: its handler runs when the
/// exception returns, or the process ends when no handler can run (none is
/// installed or the signal is blocked), as on Linux.
fn raise_fault_signal(thread: &Thread, sig: u32, code: i32, addr: usize) {
    if !signal::has_live_handler(thread, sig) {
        exit_current_process(ExitStatus::Signal(sig));
    }
    signal::send_signal(thread, sig, signal::SigInfo { code, value: addr });
}

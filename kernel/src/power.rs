//! Ending QEMU with a status, and the panic handler.
//!
//! QEMU runs with `-semihosting-config enable=on,target=native`, so the
//! semihosting call SYS_EXIT makes `qemu-system-aarch64` exit with the status
//! the kernel passes.

use core::panic::PanicInfo;

/// The status after a kernel panic.
pub const STATUS_PANIC: u8 = 250;
/// The status after a boot failure (no disk, mount failed, init not loadable).
pub const STATUS_BOOT_FAILURE: u8 = 251;

/// Semihosting operation SYS_EXIT.
const SYS_EXIT: u64 = 0x18;
/// The SYS_EXIT reason ADP_Stopped_ApplicationExit; its subcode is the status.
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

/// Ends QEMU with `status`.
pub fn exit_qemu(status: u8) -> ! {
    let block: [u64; 2] = [ADP_STOPPED_APPLICATION_EXIT, status as u64];
    // SAFETY: `hlt #0xf000` is the AArch64 semihosting trap; QEMU reads the
    // two-word parameter block that x1 points at and exits. Without
    // semihosting the instruction would trap, so nothing after it runs.
    unsafe {
        core::arch::asm!(
            "hlt #0xf000",
            in("x0") SYS_EXIT,
            in("x1") block.as_ptr(),
            options(nostack),
        );
    }
    // Only reached if QEMU ignored the call: power off instead.
    axhal::power::system_off()
}

/// Prints `boot failed: <reason>` and ends QEMU with status 251.
pub fn boot_failure(reason: &str) -> ! {
    crate::console::write_fmt(format_args!("boot failed: {reason}\n"));
    exit_qemu(STATUS_BOOT_FAILURE)
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    axhal::asm::disable_irqs();
    match info.location() {
        Some(location) => crate::console::write_fmt_unlocked(format_args!(
            "kernel panic: {} (at {}:{})\n",
            info.message(),
            location.file(),
            location.line()
        )),
        None => crate::console::write_fmt_unlocked(format_args!("kernel panic: {}\n", info.message())),
    }
    exit_qemu(STATUS_PANIC)
}

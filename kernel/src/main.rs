//! The bootable kernel: boot, traps, the console, the disk and the init
//! process. It links `starry-glue` (the syscall handlers) and `starry-vfs`.
//!
//! On the host this crate builds as an empty program, so that
//! `cargo test --workspace` can run the tests of its target-independent
//! modules.

#![cfg_attr(target_os = "none", no_std, no_main)]

extern crate alloc;
#[cfg(target_os = "none")]
#[macro_use]
extern crate log;

mod bootargs;

#[cfg(target_os = "none")]
mod bootinfo;
#[cfg(target_os = "none")]
mod console;
#[cfg(target_os = "none")]
mod disk;
#[cfg(target_os = "none")]
mod init;
#[cfg(target_os = "none")]
mod logger;
#[cfg(target_os = "none")]
mod power;
#[cfg(target_os = "none")]
mod profile;
#[cfg(target_os = "none")]
mod runtime;
#[cfg(target_os = "none")]
mod semihosting;
#[cfg(target_os = "none")]
mod stats;
#[cfg(target_os = "none")]
mod trace;
#[cfg(target_os = "none")]
mod trap;

#[cfg(not(target_os = "none"))]
fn main() {}

/// Runs after the runtime initialized memory, tasks, devices and interrupts.
#[cfg(target_os = "none")]
fn kernel_main(devices: axdriver::AllDevices) -> ! {
    let cmdline = bootinfo::bootargs();
    stats::init(cmdline);
    profile::init(cmdline);
    let args = match bootargs::parse(cmdline) {
        Ok(args) => args,
        Err(err) => power::boot_failure(&alloc::format!("{err}")),
    };
    logger::set_level(&args.log);
    console::set_window_size(args.cols, args.rows);
    trace::init(cmdline);
    info!("starting {} in {}", args.init, args.cwd);
    init::run_init(args, devices)
}

//! The boot information from the device tree: the command line
//! (`/chosen/bootargs`) and the random seed QEMU passes (`/chosen/rng-seed`).
//!
//! Both are copied into kernel memory before the allocator starts, because
//! the device tree sits in RAM that the allocator then hands out.

use core::sync::atomic::{AtomicBool, Ordering};

/// The maximum length of the command line; a longer one is a boot failure.
const BOOTARGS_MAX: usize = 64 * 1024;
/// The most rng-seed bytes kept (QEMU 7.2 passes 32).
const RNG_SEED_MAX: usize = 64;

struct BootInfo {
    bootargs: [u8; BOOTARGS_MAX],
    bootargs_len: usize,
    rng_seed: [u8; RNG_SEED_MAX],
    rng_seed_len: usize,
}

/// Written once by `capture`, read-only afterwards.
static mut BOOT_INFO: BootInfo = BootInfo {
    bootargs: [0; BOOTARGS_MAX],
    bootargs_len: 0,
    rng_seed: [0; RNG_SEED_MAX],
    rng_seed_len: 0,
};
static CAPTURED: AtomicBool = AtomicBool::new(false);

/// Copies the command line and the random seed out of the device tree.
/// Runs once, on the boot CPU, before the allocator is initialized.
pub fn capture() {
    let Some(fdt) = axhal::dtb::get_fdt() else {
        crate::power::boot_failure("no device tree");
    };
    let chosen = fdt.find_nodes("/chosen").next();
    let bootargs = chosen
        .as_ref()
        .and_then(|node| node.find_property("bootargs"))
        .map(|prop| prop.raw_value())
        .unwrap_or(&[]);
    let bootargs = match bootargs.iter().position(|&b| b == 0) {
        Some(nul) => &bootargs[..nul],
        None => bootargs,
    };
    if bootargs.len() > BOOTARGS_MAX {
        crate::power::boot_failure("the kernel command line is longer than 64 KiB");
    }
    let seed = chosen
        .as_ref()
        .and_then(|node| node.find_property("rng-seed"))
        .map(|prop| prop.raw_value())
        .unwrap_or(&[]);
    let seed = &seed[..seed.len().min(RNG_SEED_MAX)];

    if CAPTURED.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: only the first call gets here (CAPTURED), on the only running
    // CPU, and the readers below run after it.
    let info = unsafe { &mut *core::ptr::addr_of_mut!(BOOT_INFO) };
    info.bootargs[..bootargs.len()].copy_from_slice(bootargs);
    info.bootargs_len = bootargs.len();
    info.rng_seed[..seed.len()].copy_from_slice(seed);
    info.rng_seed_len = seed.len();
}

fn info() -> &'static BootInfo {
    assert!(CAPTURED.load(Ordering::Acquire), "boot information read before capture");
    // SAFETY: BOOT_INFO is no longer written once CAPTURED is set.
    unsafe { &*core::ptr::addr_of!(BOOT_INFO) }
}

/// The kernel command line (empty when QEMU passed none). Bytes that are not
/// UTF-8 make it a boot failure.
pub fn bootargs() -> &'static str {
    let info = info();
    match core::str::from_utf8(&info.bootargs[..info.bootargs_len]) {
        Ok(cmdline) => cmdline,
        Err(_) => crate::power::boot_failure("the kernel command line is not UTF-8"),
    }
}

/// The random seed from the device tree (empty when there is none).
pub fn rng_seed() -> &'static [u8] {
    let info = info();
    &info.rng_seed[..info.rng_seed_len]
}

//! The boot sequence from the platform entry to `crate::kernel_main`.
//!
//! It replaces axruntime 0.3.0-preview.3, whose entry prints a banner of
//! about 20 lines and whose panic handler powers off with status 0. This
//! kernel keeps the boot quiet and ends QEMU with a status that names what
//! happened.

use core::sync::atomic::{AtomicBool, Ordering};

use axhal::mem::{MemRegionFlags, memory_regions, phys_to_virt};

/// Gives the page allocator the largest free RAM region and the byte
/// allocator the others. Anything needed from the device tree must be copied
/// out before (see `bootinfo`), because QEMU places it in free RAM.
fn init_allocator() {
    let largest = memory_regions()
        .filter(|region| region.flags.contains(MemRegionFlags::FREE))
        .max_by_key(|region| region.size);
    let Some(largest) = largest else {
        crate::power::boot_failure("no free memory region");
    };
    axalloc::global_init(phys_to_virt(largest.paddr).as_usize(), largest.size);
    for region in memory_regions() {
        if !region.flags.contains(MemRegionFlags::FREE) || region.paddr == largest.paddr {
            continue;
        }
        let vaddr = phys_to_virt(region.paddr).as_usize();
        if let Err(err) = axalloc::global_add_memory(vaddr, region.size) {
            warn!("memory region {:#x}+{:#x} not added: {err:?}", region.paddr.as_usize(), region.size);
        }
    }
}

/// Set by each timer tick and by each timer interrupt that ends a timeout.
/// The next return to user mode from an interrupt takes it and lets the
/// scheduler switch tasks. So a task whose timeout ended does not wait for
/// the next tick to run, as on Linux, where a woken sleeper usually preempts
/// a task that keeps the CPU.
static TIME_SLICE_ENDED: AtomicBool = AtomicBool::new(false);

/// Returns whether a timer tick or the end of a timeout came since the last
/// call, so that the task that was interrupted in user mode should give up
/// the CPU.
pub fn take_time_slice_end() -> bool {
    TIME_SLICE_ENDED.swap(false, Ordering::Relaxed)
}

fn init_interrupts() {
    let tick_period = axhal::time::NANOS_PER_SEC / axconfig::TICKS_PER_SEC as u64;
    starry_glue::timer::init(core::time::Duration::from_nanos(tick_period));
    axhal::irq::register(axhal::time::irq_num(), || {
        let interrupt = starry_glue::timer::on_interrupt();
        if interrupt.sample {
            crate::profile::sample();
        }
        axtask::on_timer_tick();
        starry_glue::process::itimer::on_timer_tick(axhal::time::monotonic_time_nanos());
        if interrupt.tick || interrupt.deadline_passed {
            TIME_SLICE_ENDED.store(true, Ordering::Relaxed);
        }
    });
    if let Some(irq) = axhal::console::irq_num() {
        axhal::irq::register(irq, crate::console::on_receive_interrupt);
    }
    axhal::asm::enable_irqs();
}

/// Initializes the kernel on the boot CPU, after the boot code set up the
/// MMU and the stack, then starts init.
#[axplat::main]
fn rust_main(cpu_id: usize, dtb: usize) -> ! {
    // SAFETY: runs once, first thing, before anything uses .bss.
    unsafe { axhal::mem::clear_bss() };
    axhal::percpu::init_primary(cpu_id);
    axhal::init_early(cpu_id, dtb);
    crate::trap::init();
    // The ArceOS crates log their start-up at info; only warnings show until
    // the command line sets the level.
    crate::logger::init(log::LevelFilter::Warn);
    crate::bootinfo::capture();

    init_allocator();
    axmm::init_memory_management();
    axhal::init_later(cpu_id, dtb);
    axtask::init_scheduler();
    let devices = axdriver::init_drivers();
    init_interrupts();
    ctor_bare::call_ctors();

    crate::kernel_main(devices)
}

//! A sampling profiler of the kernel, switched on by the boot argument
//! `profile=HZ` (for example `profile=1000`).
//!
//! From init's first user instruction on, the timer interrupts HZ times a
//! second (`starry_glue::timer`). Each interrupt that came from user mode
//! counts one user sample. One that came from the kernel records the
//! interrupted program counter (ELR_EL1) and the return addresses of the
//! interrupted code's frame records, which the kernel has because it is
//! built with frame pointers (.cargo/config.toml).
//! At init's exit the kernel prints:
//!
//! - `starry-profile: hz=<n> user=<n> kernel=<n> dropped=<n>`;
//! - one `starry-profile: <count> <pc>,<return address>,...` line per
//!   distinct kernel stack, innermost first, in hexadecimal.
//!
//! `scripts/profile.py` (`just profile`) boots with the argument and names the
//! addresses from the kernel's symbol table.
//!
//! The walk finds the interrupted code's frames through the trap entry: the
//! interrupt handlers run on the interrupted task's kernel stack, and an
//! interrupt of kernel code enters through axcpu's vector table (our table in
//! `trap` forwards it there). That vector code keeps x29, and its `bl` to the
//! Rust handler leaves a return address inside the table. The frame records
//! after that one belong to the interrupted code.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use aarch64_cpu::registers::{ELR_EL1, Readable, SPSR_EL1};
use kspin::SpinNoIrq;

/// Return addresses kept per sample, the interrupted PC included.
const MAX_DEPTH: usize = 24;
/// Kernel samples kept; later ones are counted as dropped. At 1000 Hz this
/// is more than a minute of kernel time.
const MAX_SAMPLES: usize = 65_536;
/// Frame records walked before the trap entry is found.
const MAX_HANDLER_FRAMES: usize = 32;
/// The size of the exception vector table.
const VECTOR_TABLE_SIZE: usize = 0x800;

type Stack = [usize; MAX_DEPTH];

unsafe extern "C" {
    /// axcpu's exception vector table, which handles exceptions taken from
    /// the kernel itself.
    safe fn exception_vector_base();
}

static HZ: AtomicU64 = AtomicU64::new(0);
static USER_SAMPLES: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static SAMPLES: SpinNoIrq<Vec<Stack>> = SpinNoIrq::new(Vec::new());

/// Reads `profile=HZ` from the command line; `start` then starts the
/// sampling. A value that is not a number from 1 to 100000 is reported and
/// ignored.
pub fn init(cmdline: &str) {
    let Some(value) = cmdline
        .split_ascii_whitespace()
        .find_map(|item| item.strip_prefix("profile="))
    else {
        return;
    };
    let hz = match value.parse::<u64>() {
        Ok(hz @ 1..=100_000) => hz,
        _ => {
            warn!("profile={value}: expected samples per second from 1 to 100000; profiler off");
            return;
        }
    };
    SAMPLES.lock().reserve_exact(MAX_SAMPLES);
    HZ.store(hz, Ordering::Relaxed);
}

/// Starts the sampling timer, when `profile=HZ` asked for it. The kernel
/// calls it just before init's first user instruction, so the boot and the
/// loading of init are not sampled.
pub fn start() {
    let hz = HZ.load(Ordering::Relaxed);
    if hz != 0 {
        starry_glue::timer::set_sample_period(Duration::from_nanos(1_000_000_000 / hz));
    }
}

/// Records one sample. Called by the timer interrupt handler when a sample
/// is due, with interrupts masked.
pub fn sample() {
    if HZ.load(Ordering::Relaxed) == 0 {
        return;
    }
    // SPSR_EL1.M[3:0] is 0 (EL0t) when the interrupt came from user mode.
    if SPSR_EL1.get() & 0xf == 0 {
        USER_SAMPLES.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let mut stack = [0; MAX_DEPTH];
    stack[0] = ELR_EL1.get() as usize;
    walk_interrupted_frames(&mut stack[1..]);
    let mut samples = SAMPLES.lock();
    if samples.len() < samples.capacity() {
        samples.push(stack);
    } else {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Returns the bounds of the current task's kernel stack, where every frame
/// record of the handler and of the interrupted code lies.
fn kernel_stack() -> Option<core::ops::Range<usize>> {
    let top = axtask::current().kernel_stack_top()?.as_usize();
    Some(top - axconfig::TASK_STACK_SIZE..top)
}

/// Fills `out` with the return addresses of the interrupted code, innermost
/// first, and leaves the rest 0.
fn walk_interrupted_frames(out: &mut [usize]) {
    let Some(stack) = kernel_stack() else {
        return;
    };
    let base = exception_vector_base as *const () as usize;
    let vectors = base..base + VECTOR_TABLE_SIZE;
    let mut fp: usize;
    // SAFETY: reads the frame-pointer register; no memory is accessed.
    unsafe { core::arch::asm!("mov {}, x29", out(reg) fp) };
    let mut seen_trap = false;
    let mut filled = 0;
    for _ in 0..MAX_HANDLER_FRAMES + out.len() {
        if !fp.is_multiple_of(16) || !stack.contains(&fp) || !stack.contains(&(fp + 15)) {
            break;
        }
        // SAFETY: `fp` is 16-byte aligned and the record [fp, fp + 16) lies in
        // the current task's kernel stack, which is mapped and not freed
        // while the task runs this handler. A frame record is two words: the
        // caller's frame pointer and the return address.
        let [next_fp, return_address] = unsafe { core::ptr::read(fp as *const [usize; 2]) };
        if seen_trap {
            if filled == out.len() {
                break;
            }
            out[filled] = return_address;
            filled += 1;
        } else if vectors.contains(&return_address) {
            seen_trap = true;
        }
        // Frame records go up the stack; anything else ends the walk.
        if next_fp <= fp {
            break;
        }
        fp = next_fp;
    }
}

/// Prints the samples, one line per distinct stack with its count.
pub fn report() {
    let hz = HZ.load(Ordering::Relaxed);
    if hz == 0 {
        return;
    }
    let mut samples = core::mem::take(&mut *SAMPLES.lock());
    crate::console::write_fmt(format_args!(
        "starry-profile: hz={hz} user={} kernel={} dropped={}\n",
        USER_SAMPLES.load(Ordering::Relaxed),
        samples.len(),
        DROPPED.load(Ordering::Relaxed),
    ));
    samples.sort_unstable();
    for run in samples.chunk_by(|a, b| a == b) {
        let stack = &run[0];
        let depth = stack.iter().position(|&address| address == 0).unwrap_or(MAX_DEPTH);
        let mut line = alloc::format!("starry-profile: {}", run.len());
        for (index, address) in stack[..depth].iter().enumerate() {
            let separator = if index == 0 { ' ' } else { ',' };
            line.push_str(&alloc::format!("{separator}{address:x}"));
        }
        line.push('\n');
        crate::console::write_fmt(format_args!("{line}"));
    }
}

//! The fuzzer's memory and file descriptors: argument slots with guard
//! pages, probe pages, a victim region for memory-management calls, the
//! ranges those calls must not touch, and the pool of open fds.

use core::{
    ptr,
    sync::atomic::{AtomicIsize, Ordering},
};

use crate::sys::{self, PAGE};

/// Bytes of one argument slot; a PROT_NONE guard page follows each slot.
pub const SLOT: usize = 16 * 1024;
/// Bytes of the scratch area that holds iovec buffers and argv strings.
pub const SCRATCH: usize = 64 * 1024;
pub const VICTIM_LEN: usize = 16 * PAGE;
/// Bytes of the six slots, their guard pages, the scratch area and its
/// guard page.
pub const SLOTS_LEN: usize = 6 * (SLOT + PAGE) + SCRATCH + PAGE;
/// Entries of `Layout::regions` that describe the slots and the scratch
/// area: they come first, and a thread's layout replaces them.
const SLOT_REGIONS: usize = 14;
/// Bytes filled with `CANARY` around an output buffer.
pub const CANARY_WINDOW: usize = 64;
pub const CANARY: u8 = 0xa5;

/// Never mapped: Linux maps nothing below `mmap_min_addr` (32 KiB on
/// Debian's arm64 kernel, 64 KiB by default).
pub const LOW_UNMAPPED: usize = 0x1000;
pub const KERNEL_HALF: usize = 0xffff_0000_0000_0000;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every byte can be accessed as needed.
    Whole,
    /// The first byte can be accessed, a later one cannot.
    Partial,
    /// The first byte cannot be accessed.
    None,
    /// The fuzzer does not know (the victim region or a random address).
    Unknown,
}

#[derive(Clone, Copy)]
struct Region {
    start: usize,
    end: usize,
    read: bool,
    write: bool,
}

unsafe extern "C" {
    static __ehdr_start: u8;
    static etext: u8;
    static _end: u8;
}

pub const POOL_SIZE: usize = 10;

/// The pool's fds, -1 for a closed one. Threads share the fd table, so they
/// share the pool too; a forked child has its own copy of both.
static POOL: [AtomicIsize; POOL_SIZE] = [const { AtomicIsize::new(-1) }; POOL_SIZE];
/// The last pool fd that a fuzzed call closed, usually a number that no
/// file uses.
static CLOSED_FD: AtomicIsize = AtomicIsize::new(-1);

#[derive(Clone)]
pub struct Layout {
    pub slots: [usize; 6],
    pub scratch: usize,
    pub ro_page: usize,
    pub text: usize,
    pub victim: usize,
    pub image: (usize, usize),
    regions: [Region; 24],
    region_count: usize,
    protected: [(usize, usize); 16],
    protected_count: usize,
    pub pid: usize,
    pub tid: usize,
}

/// Paths the pool opens, NUL-terminated; index matches `Layout::pool`.
const POOL_PATHS: [(&[u8], usize); POOL_SIZE] = [
    (b"/dev/null\0", sys::O_RDONLY),
    (b"/dev/null\0", sys::O_RDWR),
    (b"/tmp/fuzz-file\0", sys::O_RDWR | sys::O_CREAT),
    (b"/opt/python3.11/bin\0", sys::O_RDONLY | sys::O_DIRECTORY),
    (b"/\0", sys::O_RDONLY | sys::O_DIRECTORY),
    (b"/dev/null\0", sys::O_PATH),
    // Pipe ends, an eventfd and an epoll fd: opened by `open_special`.
    (b"\0", 0),
    (b"\0", 0),
    (b"\0", 0),
    (b"\0", 0),
];

impl Layout {
    /// Maps the slots and probe pages and opens the fd pool. `sp` is the
    /// stack pointer at entry and `stack_top` the end of the strings above
    /// it.
    pub fn new(sp: usize, stack_top: usize) -> Layout {
        let total = SLOTS_LEN;
        let arena = sys::mmap_anon(0, total, sys::PROT_READ | sys::PROT_WRITE, false)
            .unwrap_or_else(|| fatal(b"cannot map the argument slots\n"));
        let (slots, scratch) = place_slots(arena);
        let ro_page = sys::mmap_anon(0, PAGE, sys::PROT_READ, false)
            .unwrap_or_else(|| fatal(b"cannot map the read-only page\n"));
        let victim = sys::mmap_anon(0, VICTIM_LEN, sys::PROT_READ | sys::PROT_WRITE, false)
            .unwrap_or_else(|| fatal(b"cannot map the victim region\n"));

        let (image_start, text_end, image_end) = (
            ptr::addr_of!(__ehdr_start) as usize,
            ptr::addr_of!(etext) as usize,
            ptr::addr_of!(_end) as usize,
        );
        let page_down = |addr: usize| addr & !(PAGE - 1);
        let page_up = |addr: usize| (addr + PAGE - 1) & !(PAGE - 1);
        let stack = (page_down(sp).saturating_sub(9 << 20), page_up(stack_top));

        let mut layout = Layout {
            slots,
            scratch,
            ro_page,
            text: page_down(text_end.saturating_sub(1)).max(image_start),
            victim,
            image: (page_down(image_start), page_up(image_end)),
            regions: [Region { start: 0, end: 0, read: false, write: false }; 24],
            region_count: 0,
            protected: [(0, 0); 16],
            protected_count: 0,
            pid: sys::call0(sys::SYS_GETPID) as usize,
            tid: sys::call0(sys::SYS_GETTID) as usize,
        };
        for region in slot_regions(slots, scratch) {
            layout.add_region(region.start, region.end, region.read, region.write);
        }
        layout.add_region(ro_page, ro_page + PAGE, true, false);
        layout.add_region(page_down(image_start), page_up(text_end), true, false);
        layout.add_region(0, LOW_UNMAPPED + PAGE, false, false);

        layout.protect(arena, arena + total);
        layout.protect(ro_page, ro_page + PAGE);
        layout.protect(layout.image.0, layout.image.1);
        layout.protect(stack.0, stack.1);
        layout.protect(0, LOW_UNMAPPED + PAGE);

        // fd 0 is the console: reading it would block, so it becomes
        // /dev/null before anything else is opened.
        sys::close(0);
        layout.refresh();
        let spare = sys::open(b"/dev/null\0", sys::O_RDONLY, 0);
        sys::close(spare);
        CLOSED_FD.store(spare, Ordering::Relaxed);
        layout
    }

    /// Returns a copy of this layout for a thread whose slots and scratch
    /// area are at `arena` (`SLOTS_LEN` bytes that [`place_slots`] set up).
    /// The protected ranges stay those of the whole process.
    pub fn with_slots(&self, arena: usize) -> Layout {
        let mut layout = self.clone();
        let (slots, scratch) = (core::array::from_fn(|i| arena + i * (SLOT + PAGE)), arena + 6 * (SLOT + PAGE));
        layout.slots = slots;
        layout.scratch = scratch;
        layout.regions[..SLOT_REGIONS].copy_from_slice(&slot_regions(slots, scratch));
        layout
    }

    fn add_region(&mut self, start: usize, end: usize, read: bool, write: bool) {
        self.regions[self.region_count] = Region { start, end, read, write };
        self.region_count += 1;
    }

    /// Adds `[start, end)` to the ranges that no memory call may touch.
    pub fn protect(&mut self, start: usize, end: usize) {
        self.protected[self.protected_count] = (start, end);
        self.protected_count += 1;
    }

    /// Tells whether `[start, start + len)` touches memory the fuzzer needs.
    /// A range that wraps around the address space counts as touching.
    pub fn touches_protected(&self, start: usize, len: usize) -> bool {
        let len = len.max(1).saturating_add(PAGE - 1) & !(PAGE - 1);
        let Some(end) = start.checked_add(len) else { return true };
        self.protected[..self.protected_count]
            .iter()
            .any(|&(p_start, p_end)| start < p_end && p_start < end)
    }

    /// Tells whether `[start, start + len)` is inside the victim region.
    pub fn in_victim(&self, start: usize, len: usize) -> bool {
        start >= self.victim
            && start.checked_add(len).is_some_and(|end| end <= self.victim + VICTIM_LEN)
    }

    /// Classifies the `len` bytes at `addr` for a read (or a write).
    pub fn access(&self, addr: usize, len: usize, write: bool) -> Access {
        if len == 0 {
            return Access::Whole;
        }
        if addr >= sys::USER_END {
            return Access::None;
        }
        let Some(region) = self.regions[..self.region_count]
            .iter()
            .find(|region| region.start <= addr && addr < region.end)
        else {
            return Access::Unknown;
        };
        let allowed = if write { region.write } else { region.read };
        if !allowed {
            return Access::None;
        }
        match addr.checked_add(len) {
            Some(end) if end <= region.end => Access::Whole,
            _ => Access::Partial,
        }
    }

    /// Returns the slot that contains `addr`, if any.
    pub fn slot_of(&self, addr: usize) -> Option<usize> {
        self.slots.iter().copied().find(|&slot| slot <= addr && addr < slot + SLOT)
    }

    /// Reopens pool fds that a fuzzed call closed and remaps the victim
    /// region.
    pub fn refresh(&mut self) {
        for (i, &(path, flags)) in POOL_PATHS.iter().enumerate() {
            let fd = POOL[i].load(Ordering::Relaxed);
            if fd >= 0 && sys::syscall(sys::SYS_FCNTL, [fd as usize, 1, 0, 0, 0, 0]) >= 0 {
                continue;
            }
            let fd = if path.len() > 1 {
                sys::open(path, flags | sys::O_NONBLOCK, 0o644)
            } else {
                self.open_special(i)
            };
            POOL[i].store(fd, Ordering::Relaxed);
        }
        sys::mmap_anon(self.victim, VICTIM_LEN, sys::PROT_READ | sys::PROT_WRITE, true);
    }

    fn open_special(&mut self, index: usize) -> isize {
        match index {
            6 | 7 => {
                // Both ends are reopened together, non-blocking, so that
                // reads and writes never wait.
                sys::close(POOL[6].swap(-1, Ordering::Relaxed));
                sys::close(POOL[7].swap(-1, Ordering::Relaxed));
                let fds = self.scratch;
                let flags = sys::O_NONBLOCK | sys::O_CLOEXEC;
                if sys::syscall(sys::SYS_PIPE2, [fds, flags, 0, 0, 0, 0]) < 0 {
                    return -1;
                }
                let pair = read_u64(fds);
                let (read_end, write_end) = (pair as u32 as isize, (pair >> 32) as u32 as isize);
                POOL[6].store(read_end, Ordering::Relaxed);
                POOL[7].store(write_end, Ordering::Relaxed);
                if index == 6 { read_end } else { write_end }
            }
            8 => sys::syscall(sys::SYS_EVENTFD2, [0, sys::O_NONBLOCK | sys::O_CLOEXEC, 0, 0, 0, 0]),
            _ => sys::syscall(sys::SYS_EPOLL_CREATE1, [sys::O_CLOEXEC, 0, 0, 0, 0, 0]),
        }
    }

    /// Tells whether `fd` is one of the pool's /dev/null fds.
    pub fn is_null_fd(&self, fd: isize) -> bool {
        fd >= 0 && self.pool()[..2].contains(&fd)
    }

    pub fn is_pool_fd(&self, fd: isize) -> bool {
        fd >= 0 && self.pool().contains(&fd)
    }

    /// Returns the pool's fds as they are now.
    pub fn pool(&self) -> [isize; POOL_SIZE] {
        core::array::from_fn(|i| POOL[i].load(Ordering::Relaxed))
    }

    pub fn closed_fd(&self) -> isize {
        CLOSED_FD.load(Ordering::Relaxed)
    }

    /// Notes that a fuzzed call closed the pool's `fd`, for the next refresh.
    pub fn forget_pool_fd(&self, fd: isize) {
        for entry in &POOL {
            let _ = entry.compare_exchange(fd, -1, Ordering::Relaxed, Ordering::Relaxed);
        }
        CLOSED_FD.store(fd, Ordering::Relaxed);
    }
}

/// Makes the guard pages of the slots and the scratch area at `arena`
/// (`SLOTS_LEN` bytes, read-write) and returns the slot and scratch
/// addresses.
pub fn place_slots(arena: usize) -> ([usize; 6], usize) {
    let slots: [usize; 6] = core::array::from_fn(|i| arena + i * (SLOT + PAGE));
    for &slot in &slots {
        protect_none(slot + SLOT);
    }
    let scratch = arena + 6 * (SLOT + PAGE);
    protect_none(scratch + SCRATCH);
    (slots, scratch)
}

/// Describes the slots, the scratch area and their guard pages.
fn slot_regions(slots: [usize; 6], scratch: usize) -> [Region; SLOT_REGIONS] {
    let mut regions = [Region { start: 0, end: 0, read: false, write: false }; SLOT_REGIONS];
    for (i, &slot) in slots.iter().enumerate() {
        regions[2 * i] = Region { start: slot, end: slot + SLOT, read: true, write: true };
        regions[2 * i + 1] = Region { start: slot + SLOT, end: slot + SLOT + PAGE, read: false, write: false };
    }
    regions[12] = Region { start: scratch, end: scratch + SCRATCH, read: true, write: true };
    regions[13] = Region { start: scratch + SCRATCH, end: scratch + SCRATCH + PAGE, read: false, write: false };
    regions
}

pub fn protect_none(addr: usize) {
    if sys::syscall(sys::SYS_MPROTECT, [addr, PAGE, sys::PROT_NONE, 0, 0, 0]) < 0 {
        fatal(b"cannot make a guard page\n");
    }
}

pub fn fatal(message: &[u8]) -> ! {
    sys::write_all(2, b"starry-fuzz: ");
    sys::write_all(2, message);
    sys::exit_group(2)
}

/// Copies `bytes` to user memory the fuzzer mapped itself.
pub fn poke(addr: usize, bytes: &[u8]) {
    // SAFETY: callers pass only addresses inside the slots or the scratch
    // area, which stay mapped read-write (they are protected ranges), and
    // check that `bytes` fits before the following guard page.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) }
}

pub fn fill(addr: usize, byte: u8, len: usize) {
    // SAFETY: as in `poke`.
    unsafe { ptr::write_bytes(addr as *mut u8, byte, len) }
}

pub fn peek(addr: usize) -> u8 {
    // SAFETY: as in `poke`; the byte may have been written by the kernel.
    unsafe { ptr::read_volatile(addr as *const u8) }
}

pub fn read_u64(addr: usize) -> u64 {
    // SAFETY: as in `poke`; the address may be unaligned.
    unsafe { ptr::read_unaligned(addr as *const u64) }
}

pub fn write_u64(addr: usize, value: u64) {
    poke(addr, &value.to_ne_bytes());
}

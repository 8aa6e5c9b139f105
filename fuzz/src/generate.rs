//! Seeded generation of syscall arguments: valid values from the layout
//! mixed with edge cases.

use rand_xoshiro::{
    Xoshiro256PlusPlus,
    rand_core::{RngCore, SeedableRng},
};

use crate::layout::{self, Access, KERNEL_HALF, LOW_UNMAPPED, Layout, SCRATCH, SLOT};
use crate::spec::{Arg, Call, Kind, NO_LEN, type_size};
use crate::sys::{PAGE, USER_END};

pub struct Rng(Xoshiro256PlusPlus);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Returns a number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    pub fn percent(&mut self) -> u64 {
        self.below(100)
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Elements the pointer argument `arg` names: its length argument, of
/// which the kernel reads only the low 32 bits when it is a C int.
fn element_count(call: &Call, arg: &Arg, args: &[usize; 6]) -> usize {
    if arg.len == NO_LEN {
        return 1;
    }
    match call.args[arg.len].kind {
        Kind::Int32 => args[arg.len] as u32 as usize,
        _ => args[arg.len],
    }
}

/// The kind of pointer the generator made for an argument.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Class {
    NotPointer,
    Valid,
    Unaligned,
    /// Ends past its mapping: the first bytes are mapped, the last are not.
    Straddle,
    Null,
    KernelHalf,
    NonCanonical,
    Unmapped,
    ReadOnly,
    Text,
    /// A string with no NUL before the end of its mapping.
    Unterminated,
    Victim,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::NotPointer => "-",
            Class::Valid => "valid",
            Class::Unaligned => "unaligned",
            Class::Straddle => "straddle",
            Class::Null => "null",
            Class::KernelHalf => "kernel-half",
            Class::NonCanonical => "non-canonical",
            Class::Unmapped => "unmapped",
            Class::ReadOnly => "read-only",
            Class::Text => "text",
            Class::Unterminated => "unterminated",
            Class::Victim => "victim",
        }
    }
}

#[derive(Clone, Copy)]
pub struct ArgInfo {
    pub class: Class,
    /// Bytes the kernel would access (saturating), for pointer arguments.
    pub bytes: usize,
    pub access: Access,
}

pub struct Prepared {
    pub args: [usize; 6],
    pub info: [ArgInfo; 6],
}

const NO_INFO: ArgInfo = ArgInfo { class: Class::NotPointer, bytes: 0, access: Access::Unknown };

/// Paths for path arguments, NUL-terminated. Writes go to /tmp/fuzz-* and
/// to relative names.
const PATHS: &[&[u8]] = &[
    b"/opt/python3.11/bin\0",
    b"/opt/python3.11/bin/python3.11\0",
    b"/tmp/fuzz-x\0",
    b"/tmp/fuzz-d\0",
    b"/tmp/fuzz-link\0",
    b"/tmp/fuzz-file\0",
    b"/dev/null\0",
    b"fuzz-y\0",
    b".\0",
    b"..\0",
    b"/\0",
    b"\0",
    b"/nonexistent/a\0",
    b"/tmp/fuzz-x/sub\0",
    b"/dev/null/x\0",
    b"/tmp/fuzz-d/../fuzz-x\0",
    b"user.fuzz\0",
    b"/dev/shm/fuzz\0",
];

/// Paths execve may get: none of them is a program that could run.
/// `/tmp/fuzz-noexec` is an executable file that is not a program. No other
/// fuzzed call names it, so no rename or link can put a program there, as
/// one can at `/tmp/fuzz-file`.
pub const EXEC_PATHS: &[&[u8]] =
    &[b"/dev/null\0", b"/tmp\0", b"/nonexistent\0", b"\0", NOT_A_PROGRAM, b"/opt/python3.11/bin\0"];

/// The executable file that `execve` fails on with ENOEXEC.
pub const NOT_A_PROGRAM: &[u8] = b"/tmp/fuzz-noexec\0";

pub struct Generator<'a> {
    pub rng: Rng,
    pub layout: &'a mut Layout,
    /// Running under qemu-user, which crashes on some non-canonical
    /// addresses: such pointers become kernel-half ones.
    pub reference: bool,
    /// In a worker thread, the address of its CLONE_CHILD_CLEARTID word,
    /// through which it is joined; 0 elsewhere.
    pub clear_tid: usize,
    /// Running in a forked child process.
    pub in_child: bool,
    /// Other threads use the same fd table now, so they may reach an fd
    /// this thread creates before it closes it again.
    pub fds_shared: bool,
}

impl Generator<'_> {
    /// Generates the arguments of `call`: integers first, then pointers
    /// sized from their length arguments.
    pub fn prepare(&mut self, call: &Call) -> Prepared {
        let mut prepared = Prepared { args: [0; 6], info: [NO_INFO; 6] };
        let is_len = |index: usize| call.args.iter().any(|arg| arg.len == index);
        for (i, arg) in call.args.iter().enumerate() {
            if arg.kind.is_pointer() {
                continue;
            }
            prepared.args[i] = if is_len(i) {
                let owner = call.args.iter().find(|other| other.len == i).unwrap();
                self.length(owner)
            } else {
                self.scalar(arg.kind, i)
            };
        }
        for (i, arg) in call.args.iter().enumerate() {
            if !arg.kind.is_pointer() {
                continue;
            }
            let count = element_count(call, arg, &prepared.args);
            let bytes = count.saturating_mul(type_size(arg.of));
            let (addr, class) = self.pointer(arg, i, bytes, count);
            prepared.args[i] = addr;
            prepared.info[i].class = class;
            prepared.info[i].bytes = bytes;
        }
        prepared
    }

    /// Fills in `info[i].access` once the arguments are final.
    pub fn classify(&self, call: &Call, prepared: &mut Prepared) {
        for (i, arg) in call.args.iter().enumerate() {
            if !arg.kind.is_pointer() {
                continue;
            }
            let info = &mut prepared.info[i];
            let addr = prepared.args[i];
            let count = element_count(call, arg, &prepared.args);
            info.bytes = count.saturating_mul(type_size(arg.of));
            info.access = match info.class {
                Class::Unterminated => Access::Partial,
                Class::Victim => Access::Unknown,
                _ if addr == 0 => Access::None,
                _ => self.layout.access(addr, info.bytes, arg.kind.writes()),
            };
            if matches!(arg.kind, Kind::Path | Kind::Cstr | Kind::CstrArray | Kind::Iovec)
                && info.class == Class::Valid
            {
                info.access = Access::Whole;
            }
        }
    }

    fn scalar(&mut self, kind: Kind, index: usize) -> usize {
        match kind {
            Kind::Fd => self.fd(),
            Kind::DirFd => match self.rng.percent() {
                0..50 => crate::sys::AT_FDCWD as usize,
                50..80 => self.pool_fd(),
                _ => self.bad_fd(),
            },
            Kind::MmapFd => match self.rng.percent() {
                0..50 => usize::MAX,
                50..60 => u32::MAX as usize,
                60..90 => self.pool_fd(),
                _ => self.bad_fd(),
            },
            Kind::Int32 => self.int32(),
            Kind::Int64 => self.int64(),
            Kind::Flags => self.flags(),
            Kind::Raw => match self.rng.percent() {
                0..40 => self.int64(),
                40..60 => self.int32(),
                _ => self.address(index, 64).0,
            },
            Kind::Addr => self.address(index, 64).0,
            _ => 0,
        }
    }

    pub fn fd(&mut self) -> usize {
        if self.rng.percent() < 75 { self.pool_fd() } else { self.bad_fd() }
    }

    pub fn pool_fd(&mut self) -> usize {
        let fd = self.rng.pick(&self.layout.pool());
        if fd < 0 { self.bad_fd() } else { fd as usize }
    }

    fn bad_fd(&mut self) -> usize {
        let pool_fd = self.rng.pick(&self.layout.pool()).max(0) as usize;
        match self.rng.below(9) {
            0 => usize::MAX,
            1 => -100isize as usize,
            2 => self.layout.closed_fd() as usize,
            3 => 1 << 20,
            4 => i32::MAX as usize,
            // High bits set: a kernel must look only at the low 32 bits.
            5 => (1 << 32) | pool_fd,
            6 => 1024,
            7 => i32::MIN as isize as usize,
            _ => -2isize as usize,
        }
    }

    pub fn int32(&mut self) -> usize {
        match self.rng.percent() {
            0..15 => 0,
            15..20 => 1,
            20..45 => self.rng.below(64) as usize,
            45..60 => self.rng.next() as u32 as usize,
            60..65 => u32::MAX as usize,
            65..68 => i32::MIN as u32 as usize,
            68..71 => i32::MAX as usize,
            71..78 => self.rng.next() as usize,
            78..83 => (-(self.rng.below(64) as i64) as u32) as usize,
            _ => 1 << self.rng.below(32),
        }
    }

    pub fn int64(&mut self) -> usize {
        match self.rng.percent() {
            0..15 => 0,
            15..20 => 1,
            20..40 => self.rng.below(64) as usize,
            40..50 => self.rng.next() as usize,
            50..55 => usize::MAX,
            55..58 => isize::MAX as usize,
            58..61 => isize::MIN as usize,
            61..70 => 1 << self.rng.below(64),
            70..80 => (self.rng.below(64) as usize) * PAGE,
            _ => self.rng.below(1 << 20) as usize,
        }
    }

    pub fn flags(&mut self) -> usize {
        match self.rng.percent() {
            0..30 => 0,
            30..55 => 1 << self.rng.below(32),
            55..75 => {
                let mut value = 0;
                for _ in 0..1 + self.rng.below(3) {
                    value |= 1 << self.rng.below(20);
                }
                value
            }
            75..85 => self.rng.next() as u32 as usize,
            85..90 => u32::MAX as usize,
            90..95 => self.rng.next() as usize,
            _ => 0o2000000,
        }
    }

    /// Generates a count for the array argument `owner` (bytes when it has
    /// no type).
    fn length(&mut self, owner: &Arg) -> usize {
        let per_slot = SLOT / type_size(owner.of);
        if owner.kind == Kind::Iovec {
            return match self.rng.percent() {
                0..10 => 0,
                10..70 => 1 + self.rng.below(4) as usize,
                70..80 => self.rng.below(32) as usize,
                80..85 => 1024,
                85..90 => 1025,
                90..95 => u32::MAX as usize,
                _ => usize::MAX,
            };
        }
        match self.rng.percent() {
            0..8 => 0,
            8..16 => 1,
            16..36 => 2 + self.rng.below(62) as usize,
            36..60 => self.rng.below(per_slot as u64 + 1) as usize,
            60..66 => per_slot,
            66..72 => per_slot + 1 + self.rng.below(PAGE as u64) as usize,
            72..84 => self.rng.pick(&[
                usize::MAX,
                usize::MAX - 1,
                isize::MAX as usize,
                1 << 31,
                1 << 32,
                u32::MAX as usize,
                USER_END,
            ]),
            _ => self.rng.below(16) as usize,
        }
    }

    /// Generates an address for an `addr` or `raw` argument: mostly pointers
    /// into the slot of argument `index`, sometimes edge values.
    pub fn address(&mut self, index: usize, bytes: usize) -> (usize, Class) {
        match self.rng.percent() {
            0..35 => self.in_slot(index, bytes, false),
            35..45 => (0, Class::Null),
            45..55 => self.kernel_half(),
            55..60 => (self.layout.victim + self.rng.below(16) as usize * PAGE, Class::Victim),
            60..65 => (LOW_UNMAPPED, Class::Unmapped),
            65..70 => (self.layout.ro_page, Class::ReadOnly),
            70..75 => self.in_slot(index, bytes, true),
            75..80 => (self.layout.slots[index] + SLOT - 1, Class::Straddle),
            80..85 => {
                let offset = (self.rng.below(1 << 20) as usize) * PAGE;
                self.non_canonical(offset)
            }
            85..92 => ((self.rng.next() as usize % USER_END) & !(PAGE - 1), Class::Victim),
            _ => (self.layout.text, Class::Text),
        }
    }

    /// Returns an address just above user space, or in reference mode the
    /// same offset into the kernel half.
    fn non_canonical(&self, offset: usize) -> (usize, Class) {
        if self.reference {
            (KERNEL_HALF + offset, Class::KernelHalf)
        } else {
            (USER_END + offset, Class::NonCanonical)
        }
    }

    fn kernel_half(&mut self) -> (usize, Class) {
        let addr = match self.rng.below(4) {
            0 => KERNEL_HALF,
            1 => usize::MAX - PAGE + 1,
            2 => 0xffff_8000_0000_0000,
            _ => KERNEL_HALF | (self.rng.next() as usize & 0x0000_ffff_ffff_fff8),
        };
        (addr, Class::KernelHalf)
    }

    /// Returns a pointer into slot `index` with room for `bytes` when they
    /// fit, and writes random bytes at its start.
    fn in_slot(&mut self, index: usize, bytes: usize, unaligned: bool) -> (usize, Class) {
        let slot = self.layout.slots[index];
        let room = SLOT.saturating_sub(bytes);
        let mut offset = (self.rng.below(room as u64 / 8 + 1) as usize) * 8;
        if unaligned && offset + bytes < SLOT {
            offset += 1 + self.rng.below(7) as usize;
        }
        let addr = slot + offset;
        self.randomize(addr, bytes.min(SLOT - offset).min(256));
        let class = if unaligned { Class::Unaligned } else { Class::Valid };
        (addr, class)
    }

    pub fn randomize(&mut self, addr: usize, len: usize) {
        let mut done = 0;
        while done < len {
            let word = self.rng.next().to_ne_bytes();
            let take = (len - done).min(8);
            layout::poke(addr + done, &word[..take]);
            done += take;
        }
    }

    fn pointer(&mut self, arg: &Arg, index: usize, bytes: usize, count: usize) -> (usize, Class) {
        let slot = self.layout.slots[index];
        let roll = self.rng.percent();
        let null_share = if arg.nullable { 15 } else { 6 };
        if roll < null_share {
            return (0, Class::Null);
        }
        let roll = self.rng.percent();
        match roll {
            0..8 => return self.kernel_half(),
            8..11 => {
                let offset = PAGE * self.rng.below(16) as usize;
                return self.non_canonical(offset);
            }
            11..16 => return (LOW_UNMAPPED, Class::Unmapped),
            16..21 => return (self.layout.ro_page + 8 * self.rng.below(64) as usize, Class::ReadOnly),
            21..23 => return (self.layout.text, Class::Text),
            _ => {}
        }
        match arg.kind {
            Kind::Path | Kind::Cstr => self.path(slot, roll),
            Kind::CstrArray => self.string_array(slot, roll),
            Kind::Iovec => self.iovec(slot, count, roll),
            _ if roll < 33 => {
                // The last `bytes - 1` bytes of the slot: one byte too few.
                let inside = bytes.clamp(1, SLOT) - 1;
                let addr = slot + SLOT - inside;
                self.randomize(addr, inside.min(256));
                (addr, Class::Straddle)
            }
            _ if roll < 41 => self.in_slot(index, bytes, true),
            _ => {
                let (addr, class) = self.in_slot(index, bytes, false);
                if arg.kind == Kind::Out && bytes < SLOT {
                    self.paint_canary(addr, bytes);
                }
                (addr, class)
            }
        }
    }

    /// Fills the bytes around an output buffer, inside its slot, so that a
    /// write past either end shows afterwards.
    pub fn paint_canary(&mut self, addr: usize, bytes: usize) {
        let Some(slot) = self.layout.slot_of(addr) else { return };
        let start = addr.saturating_sub(layout::CANARY_WINDOW).max(slot);
        let end = (addr + bytes + layout::CANARY_WINDOW).min(slot + SLOT);
        layout::fill(start, layout::CANARY, end - start);
    }

    fn path(&mut self, slot: usize, roll: u64) -> (usize, Class) {
        match roll {
            23..28 => {
                // Longer than PATH_MAX (4096).
                let len = 4097 + self.rng.below(64) as usize;
                layout::fill(slot, b'a', len);
                for i in (0..len).step_by(2) {
                    layout::poke(slot + i, b"/");
                }
                layout::poke(slot + len, b"\0");
                (slot, Class::Valid)
            }
            28..33 => {
                // One component longer than NAME_MAX (255).
                layout::poke(slot, b"/tmp/");
                layout::fill(slot + 5, b'n', 300);
                layout::poke(slot + 305, b"\0");
                (slot, Class::Valid)
            }
            33..40 => {
                let len = 1 + self.rng.below(64) as usize;
                let addr = slot + SLOT - len;
                layout::fill(addr, b'u', len);
                (addr, Class::Unterminated)
            }
            _ => {
                let path = self.rng.pick(PATHS);
                let addr = slot + 8 * self.rng.below(64) as usize;
                layout::poke(addr, path);
                (addr, Class::Valid)
            }
        }
    }

    /// Writes an argv-style array into the slot, with strings in the scratch
    /// area.
    fn string_array(&mut self, slot: usize, roll: u64) -> (usize, Class) {
        let strings = self.layout.scratch + SCRATCH / 2;
        layout::poke(strings, b"fuzz\0");
        let count = self.rng.below(4) as usize;
        if roll < 33 {
            // No terminating null pointer before the guard page.
            let entries = 8;
            let addr = slot + SLOT - 8 * entries;
            for i in 0..entries {
                layout::write_u64(addr + 8 * i, strings as u64);
            }
            return (addr, Class::Unterminated);
        }
        for i in 0..count {
            let entry = match self.rng.percent() {
                0..80 => strings,
                80..90 => KERNEL_HALF,
                _ => LOW_UNMAPPED,
            };
            layout::write_u64(slot + 8 * i, entry as u64);
        }
        layout::write_u64(slot + 8 * count, 0);
        (slot, Class::Valid)
    }

    /// Writes an iovec array of `count` entries into the slot (as many as
    /// fit), with buffers in the scratch area.
    fn iovec(&mut self, slot: usize, count: usize, roll: u64) -> (usize, Class) {
        let fits = count.min(SLOT / 16);
        for i in 0..fits.min(64) {
            let len = match self.rng.percent() {
                0..70 => self.rng.below(512) as usize,
                70..80 => 0,
                80..90 => usize::MAX,
                _ => isize::MAX as usize,
            };
            let base = match self.rng.percent() {
                0..70 => self.layout.scratch + 1024 * self.rng.below(32) as usize,
                70..80 => KERNEL_HALF,
                80..90 => LOW_UNMAPPED,
                _ => self.layout.scratch + SCRATCH - 8,
            };
            layout::write_u64(slot + 16 * i, base as u64);
            layout::write_u64(slot + 16 * i + 8, len as u64);
        }
        if roll < 33 && count > 0 {
            let addr = slot + SLOT - 16 * count.min(SLOT / 16) + 8;
            return (addr, Class::Straddle);
        }
        (slot, Class::Valid)
    }
}

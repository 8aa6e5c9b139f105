//! The ELF loader: maps a program and its interpreter (the dynamic linker)
//! into an address space and builds the initial stack. Used for init and, later,
//! by execve.

use alloc::{string::String, vec::Vec};

use axerrno::LinuxError;
use axhal::paging::MappingFlags;
use kernel_elf_parser::ELFHeadersBuilder;
use memory_addr::{MemoryAddr, PAGE_SIZE_4K, VirtAddr};
use xmas_elf::{
    header::{Machine, Type as ElfType},
    program::{ProgramHeader64, Type as SegmentType},
};

use super::stack::{at, build_initial_stack};
use crate::mm::aspace::AddrSpace;

/// Where a position-independent main program (ET_DYN) is loaded, as Linux's
/// `ELF_ET_DYN_BASE` for 48-bit arm64 (two thirds of the address space).
pub const ET_DYN_BASE: usize = 0xaaaa_aaaa_0000;
pub use crate::mm::aspace::USER_STACK_TOP;
/// The size of the main thread's stack area (RLIMIT_STACK's default).
pub const USER_STACK_SIZE: usize = 8 << 20;

/// AT_HWCAP for QEMU's cortex-a72: FP, ASIMD, AES, PMULL, SHA1, SHA2 and
/// CRC32 (bits 0, 1, 3, 4, 5, 6 and 7 of Linux's `HWCAP_*` for arm64).
pub const HWCAP_CORTEX_A72: usize = 0b1111_1011;

/// What the kernel needs to start the loaded program.
#[derive(Debug)]
pub struct LoadedProgram {
    /// The first user instruction: the interpreter's entry, or the program's.
    pub entry: usize,
    /// The initial stack pointer (points at argc).
    pub sp: usize,
    /// The page after the program's highest segment: the start of the heap.
    pub brk_start: usize,
}

/// The part of an ELF file the loader uses.
struct ElfImage {
    data: Vec<u8>,
    elf_type: ElfType,
    entry: usize,
    phoff: usize,
    phentsize: usize,
    phdrs: Vec<ProgramHeader64>,
}

fn parse(data: Vec<u8>) -> Result<ElfImage, LinuxError> {
    let builder = ELFHeadersBuilder::new(&data).map_err(|_| LinuxError::ENOEXEC)?;
    let range = builder.ph_range();
    let ph_bytes = data
        .get(range.start as usize..range.end as usize)
        .ok_or(LinuxError::ENOEXEC)?;
    let headers = builder.build(ph_bytes).map_err(|_| LinuxError::ENOEXEC)?;
    let pt2 = &headers.header.pt2;
    if headers.header.pt1.class() != xmas_elf::header::Class::SixtyFour
        || pt2.machine().as_machine() != Machine::AArch64
    {
        return Err(LinuxError::ENOEXEC);
    }
    let elf_type = pt2.type_().as_type();
    if !matches!(elf_type, ElfType::Executable | ElfType::SharedObject) {
        return Err(LinuxError::ENOEXEC);
    }
    let (entry, phoff, phentsize) = (
        pt2.entry_point() as usize,
        pt2.ph_offset() as usize,
        pt2.ph_entry_size() as usize,
    );
    let phdrs = headers.ph.clone();
    drop(headers);
    Ok(ElfImage {
        data,
        elf_type,
        entry,
        phoff,
        phentsize,
        phdrs,
    })
}

impl ElfImage {
    fn loads(&self) -> impl Iterator<Item = &ProgramHeader64> {
        self.phdrs
            .iter()
            .filter(|ph| matches!(ph.get_type(), Ok(SegmentType::Load)))
    }

    /// The page-aligned range `[start, end)` that the PT_LOAD segments span
    /// before relocation.
    fn span(&self) -> Result<(usize, usize), LinuxError> {
        let start = self.loads().map(|ph| ph.virtual_addr as usize).min();
        let end = self
            .loads()
            .map(|ph| ph.virtual_addr.saturating_add(ph.mem_size) as usize)
            .max();
        match (start, end) {
            (Some(start), Some(end)) if start < end => Ok((
                start.align_down_4k(),
                end.checked_add(PAGE_SIZE_4K - 1).ok_or(LinuxError::ENOEXEC)? & !(PAGE_SIZE_4K - 1),
            )),
            _ => Err(LinuxError::ENOEXEC),
        }
    }

    fn interpreter(&self) -> Result<Option<String>, LinuxError> {
        let Some(ph) = self
            .phdrs
            .iter()
            .find(|ph| matches!(ph.get_type(), Ok(SegmentType::Interp)))
        else {
            return Ok(None);
        };
        let start = ph.offset as usize;
        let bytes = self
            .data
            .get(start..start.saturating_add(ph.file_size as usize))
            .ok_or(LinuxError::ENOEXEC)?;
        let bytes = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
        let path = core::str::from_utf8(bytes).map_err(|_| LinuxError::ENOEXEC)?;
        Ok(Some(String::from(path)))
    }

    /// The address of the program headers once loaded at `bias`: PT_PHDR if
    /// present, else the PT_LOAD segment holding file offset `phoff`.
    fn phdr_addr(&self, bias: usize) -> usize {
        if let Some(ph) = self
            .phdrs
            .iter()
            .find(|ph| matches!(ph.get_type(), Ok(SegmentType::Phdr)))
        {
            return bias + ph.virtual_addr as usize;
        }
        self.loads()
            .find(|ph| (ph.offset..ph.offset + ph.file_size).contains(&(self.phoff as u64)))
            .map(|ph| bias + ph.virtual_addr as usize + self.phoff - ph.offset as usize)
            .unwrap_or(0)
    }
}

fn segment_prot(ph: &ProgramHeader64) -> MappingFlags {
    let mut prot = MappingFlags::empty();
    if ph.flags.is_read() {
        prot |= MappingFlags::READ;
    }
    if ph.flags.is_write() {
        prot |= MappingFlags::WRITE;
    }
    if ph.flags.is_execute() {
        prot |= MappingFlags::EXECUTE;
    }
    prot
}

/// Maps the PT_LOAD segments of `image` at `bias` and copies their file bytes.
/// Segments that share a page get the union of their permissions there.
fn map_segments(aspace: &mut AddrSpace, image: &ElfImage, bias: usize) -> Result<(), LinuxError> {
    for ph in image.loads() {
        if ph.file_size > ph.mem_size {
            return Err(LinuxError::ENOEXEC);
        }
        let vaddr = bias
            .checked_add(ph.virtual_addr as usize)
            .ok_or(LinuxError::ENOEXEC)?;
        let end = vaddr
            .checked_add(ph.mem_size as usize)
            .ok_or(LinuxError::ENOEXEC)?;
        let prot = segment_prot(ph);
        let mut page = vaddr.align_down_4k();
        let page_end = end.align_up_4k();
        // Pages already mapped by an earlier segment.
        while page < page_end {
            match aspace.find_area(VirtAddr::from(page)) {
                Some((_, old)) => {
                    aspace.protect(VirtAddr::from(page), PAGE_SIZE_4K, old | prot)?;
                    page += PAGE_SIZE_4K;
                }
                None => break,
            }
        }
        if page < page_end {
            aspace.map(VirtAddr::from(page), page_end - page, prot, true, false)?;
        }
        let offset = ph.offset as usize;
        let bytes = image
            .data
            .get(offset..offset.saturating_add(ph.file_size as usize))
            .ok_or(LinuxError::ENOEXEC)?;
        aspace.write_ignoring_prot(vaddr, bytes)?;
    }
    Ok(())
}

/// Loads the program at `path` with its interpreter into the empty address
/// space `aspace`, and builds the initial stack.
///
/// `read_file` returns the whole contents of a file; `args[0]` is argv[0].
pub fn load_program(
    aspace: &mut AddrSpace,
    path: &str,
    args: &[Vec<u8>],
    envs: &[Vec<u8>],
    random: &[u8; 16],
    read_file: &mut dyn FnMut(&str) -> Result<Vec<u8>, LinuxError>,
) -> Result<LoadedProgram, LinuxError> {
    let program = parse(read_file(path)?)?;
    let (span_start, span_end) = program.span()?;
    let bias = match program.elf_type {
        ElfType::SharedObject => ET_DYN_BASE - span_start,
        _ => 0,
    };
    map_segments(aspace, &program, bias)?;
    let brk_start = bias + span_end;
    let program_entry = bias + program.entry;

    let mut entry = program_entry;
    let mut interp_base = 0;
    if let Some(interp_path) = program.interpreter()? {
        let interp = parse(read_file(&interp_path)?)?;
        if interp.elf_type != ElfType::SharedObject {
            return Err(LinuxError::ELIBBAD);
        }
        let (start, end) = interp.span()?;
        let base = aspace
            .find_free_area(end - start)
            .ok_or(LinuxError::ENOMEM)?
            .as_usize();
        let interp_bias = base - start;
        map_segments(aspace, &interp, interp_bias)?;
        interp_base = interp_bias;
        entry = interp_bias + interp.entry;
    }

    let stack_bottom = USER_STACK_TOP - USER_STACK_SIZE;
    aspace.map(
        VirtAddr::from(stack_bottom),
        USER_STACK_SIZE,
        MappingFlags::READ | MappingFlags::WRITE,
        false,
        false,
    )?;
    let auxv = [
        (at::PHDR, program.phdr_addr(bias)),
        (at::PHENT, program.phentsize),
        (at::PHNUM, program.phdrs.len()),
        (at::PAGESZ, PAGE_SIZE_4K),
        (at::BASE, interp_base),
        (at::FLAGS, 0),
        (at::ENTRY, program_entry),
        (at::UID, 0),
        (at::EUID, 0),
        (at::GID, 0),
        (at::EGID, 0),
        (at::HWCAP, HWCAP_CORTEX_A72),
        (at::HWCAP2, 0),
        (at::CLKTCK, 100),
        (at::SECURE, 0),
    ];
    let stack = build_initial_stack(USER_STACK_TOP, args, envs, &auxv, random, path.as_bytes());
    if stack.bytes.len() > USER_STACK_SIZE / 4 {
        return Err(LinuxError::E2BIG);
    }
    aspace.write(stack.sp, &stack.bytes)?;
    axhal::asm::flush_icache_all();
    Ok(LoadedProgram {
        entry,
        sp: stack.sp,
        brk_start,
    })
}

//! The initial user stack of a new program: argc, argv, envp, the auxiliary
//! vector and the strings they point at, laid out as the Linux ELF loader
//! does on aarch64.

use alloc::vec::Vec;

/// Auxiliary vector keys (`AT_*` from Linux's `include/uapi/linux/auxvec.h`).
pub mod at {
    pub const NULL: usize = 0;
    pub const PHDR: usize = 3;
    pub const PHENT: usize = 4;
    pub const PHNUM: usize = 5;
    pub const PAGESZ: usize = 6;
    pub const BASE: usize = 7;
    pub const FLAGS: usize = 8;
    pub const ENTRY: usize = 9;
    pub const UID: usize = 11;
    pub const EUID: usize = 12;
    pub const GID: usize = 13;
    pub const EGID: usize = 14;
    pub const HWCAP: usize = 16;
    pub const CLKTCK: usize = 17;
    pub const SECURE: usize = 23;
    pub const RANDOM: usize = 25;
    pub const HWCAP2: usize = 26;
    pub const EXECFN: usize = 31;
}

/// The bytes to copy to the top of the new stack and the initial stack
/// pointer; `bytes` starts at `sp` and ends at the stack top.
#[derive(Debug)]
pub struct InitialStack {
    pub sp: usize,
    pub bytes: Vec<u8>,
}

/// Lays out the initial stack below `top`.
///
/// `auxv` holds the entries that depend on the program; this function adds
/// `AT_RANDOM` (pointing at `random`, copied onto the stack), `AT_EXECFN`
/// (pointing at a copy of `execfn`) and the final `AT_NULL`. The returned
/// `sp` is 16-byte aligned and points at argc.
pub fn build_initial_stack(
    top: usize,
    args: &[Vec<u8>],
    envs: &[Vec<u8>],
    auxv: &[(usize, usize)],
    random: &[u8; 16],
    execfn: &[u8],
) -> InitialStack {
    // The string area is built downwards from the top, as `strings` reversed.
    let mut strings: Vec<u8> = Vec::new();
    let mut push = |data: &[u8], nul: bool| -> usize {
        if nul {
            strings.push(0);
        }
        strings.extend(data.iter().rev());
        top - strings.len()
    };

    // An 8-byte end marker, as Linux leaves below the stack top.
    push(&[0; 8], false);
    let execfn_addr = push(execfn, true);
    let env_addrs: Vec<usize> = envs.iter().rev().map(|env| push(env, true)).collect();
    let arg_addrs: Vec<usize> = args.iter().rev().map(|arg| push(arg, true)).collect();
    let random_addr = push(random, false);
    let strings_start = top - strings.len();

    let mut words: Vec<usize> = Vec::new();
    words.push(args.len());
    words.extend(arg_addrs.iter().rev());
    words.push(0);
    words.extend(env_addrs.iter().rev());
    words.push(0);
    for &(key, value) in auxv {
        words.extend([key, value]);
    }
    words.extend([at::RANDOM, random_addr, at::EXECFN, execfn_addr, at::NULL, 0]);

    let word = core::mem::size_of::<usize>();
    let sp = (strings_start - words.len() * word) & !0xf;
    let mut bytes = Vec::with_capacity(top - sp);
    for w in &words {
        bytes.extend_from_slice(&w.to_ne_bytes());
    }
    // Padding between the pointer area and the strings.
    bytes.resize(strings_start - sp, 0);
    bytes.extend(strings.iter().rev());
    debug_assert_eq!(bytes.len(), top - sp);
    InitialStack { sp, bytes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const TOP: usize = 0x7fff_0000;

    fn word_at(stack: &InitialStack, addr: usize) -> usize {
        let off = addr - stack.sp;
        usize::from_ne_bytes(stack.bytes[off..off + 8].try_into().unwrap())
    }

    fn cstr_at(stack: &InitialStack, addr: usize) -> Vec<u8> {
        let off = addr - stack.sp;
        let len = stack.bytes[off..].iter().position(|&b| b == 0).unwrap();
        stack.bytes[off..off + len].to_vec()
    }

    fn sample() -> InitialStack {
        let args = vec![b"/opt/python3.11/bin/python3.11".to_vec(), b"-c".to_vec(), b"print('a b')".to_vec()];
        let envs = vec![b"HOME=/root".to_vec(), b"PATH=/bin".to_vec()];
        let auxv = [(at::PAGESZ, 4096), (at::ENTRY, 0x1234)];
        build_initial_stack(TOP, &args, &envs, &auxv, &[7; 16], b"/opt/python3.11/bin/python3.11")
    }

    #[test]
    fn stack_is_aligned_and_fits() {
        let stack = sample();
        assert_eq!(stack.sp % 16, 0);
        assert_eq!(stack.sp + stack.bytes.len(), TOP);
    }

    #[test]
    fn argv_and_envp_point_at_strings() {
        let stack = sample();
        assert_eq!(word_at(&stack, stack.sp), 3);
        assert_eq!(cstr_at(&stack, word_at(&stack, stack.sp + 8)), b"/opt/python3.11/bin/python3.11");
        assert_eq!(cstr_at(&stack, word_at(&stack, stack.sp + 16)), b"-c");
        assert_eq!(cstr_at(&stack, word_at(&stack, stack.sp + 24)), b"print('a b')");
        assert_eq!(word_at(&stack, stack.sp + 32), 0);
        assert_eq!(cstr_at(&stack, word_at(&stack, stack.sp + 40)), b"HOME=/root");
        assert_eq!(cstr_at(&stack, word_at(&stack, stack.sp + 48)), b"PATH=/bin");
        assert_eq!(word_at(&stack, stack.sp + 56), 0);
    }

    #[test]
    fn auxv_has_random_execfn_and_null() {
        let stack = sample();
        let mut addr = stack.sp + 64;
        let mut entries = Vec::new();
        loop {
            let key = word_at(&stack, addr);
            let value = word_at(&stack, addr + 8);
            entries.push((key, value));
            addr += 16;
            if key == at::NULL {
                break;
            }
        }
        assert_eq!(entries[0], (at::PAGESZ, 4096));
        assert_eq!(entries[1], (at::ENTRY, 0x1234));
        assert_eq!(entries[2].0, at::RANDOM);
        let random_off = entries[2].1 - stack.sp;
        assert_eq!(&stack.bytes[random_off..random_off + 16], &[7; 16]);
        assert_eq!(entries[3].0, at::EXECFN);
        assert_eq!(cstr_at(&stack, entries[3].1), b"/opt/python3.11/bin/python3.11");
        assert_eq!(entries[4], (at::NULL, 0));
    }

    #[test]
    fn empty_strings_are_kept() {
        let args = vec![b"prog".to_vec(), Vec::new()];
        let stack = build_initial_stack(TOP, &args, &[], &[], &[0; 16], b"prog");
        assert_eq!(word_at(&stack, stack.sp), 2);
        assert_eq!(cstr_at(&stack, word_at(&stack, stack.sp + 16)), b"");
        assert_eq!(stack.sp % 16, 0);
    }
}

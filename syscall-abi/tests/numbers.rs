//! Checks every spec entry's syscall numbers against the `syscalls` crate's
//! tables (version 0.8.1), per architecture, so that
//! a wrong or missing number fails the host tests.

use std::str::FromStr;

use syscall_abi::{Arch, SYSCALLS};

/// Names that the crate's asm-generic tables spell differently: Linux's
/// asm-generic `unistd.h` calls number 79 `__NR3264_fstatat`, which 64-bit
/// architectures export as `newfstatat`.
const GENERIC_ALIASES: &[(&str, &str)] = &[("newfstatat", "fstatat")];

fn lookup<S: FromStr>(name: &str, id: impl Fn(S) -> i32) -> Option<usize> {
    let alias = GENERIC_ALIASES
        .iter()
        .find(|(spec, _)| *spec == name)
        .map(|(_, alias)| *alias);
    S::from_str(name)
        .ok()
        .or_else(|| alias.and_then(|a| S::from_str(a).ok()))
        .map(|s| id(s) as usize)
}

/// Numbers of `name` on each architecture, in [`Arch::index`] order, from
/// the `syscalls` crate.
fn crate_numbers(name: &str) -> [Option<usize>; 4] {
    [
        lookup(name, |s: syscalls::aarch64::Sysno| s.id()),
        lookup(name, |s: syscalls::riscv64::Sysno| s.id()),
        lookup(name, |s: syscalls::x86_64::Sysno| s.id()),
        lookup(name, |s: syscalls::loongarch64::Sysno| s.id()),
    ]
}

const ARCHES: [Arch; 4] = [Arch::Aarch64, Arch::Riscv64, Arch::X86_64, Arch::Loongarch64];

/// Calls that the spec leaves out on loongarch64 although the crate's
/// table lists them. The spec follows Linux 6.1, whose loongarch64 build
/// leaves out the asm-generic calls behind `__ARCH_WANT_RENAMEAT`,
/// `__ARCH_WANT_SET_GET_RLIMIT` and `__ARCH_WANT_NEW_STAT`; Linux 6.11
/// added `fstat` and `newfstatat` back.
const NEWER_THAN_SPEC: &[(&str, Arch)] = &[
    ("renameat", Arch::Loongarch64),
    ("getrlimit", Arch::Loongarch64),
    ("setrlimit", Arch::Loongarch64),
    ("fstat", Arch::Loongarch64),
    ("newfstatat", Arch::Loongarch64),
];

#[test]
fn spec_numbers_match_syscalls_crate() {
    let mut mismatches = Vec::new();
    for info in SYSCALLS.iter() {
        let expected = crate_numbers(info.name);
        for arch in ARCHES {
            let ours = info.number(arch);
            let theirs = expected[arch.index()];
            let allowed_gap = NEWER_THAN_SPEC.contains(&(info.name, arch)) && ours.is_none();
            if ours == theirs || allowed_gap {
                continue;
            }
            mismatches.push(format!(
                "{} on {}: spec {:?}, syscalls crate {:?}",
                info.name,
                arch.as_str(),
                ours,
                theirs
            ));
        }
    }
    assert!(mismatches.is_empty(), "numbers differ:\n{}", mismatches.join("\n"));
}

#[test]
fn syscalls_crate_knows_openat() {
    // A sanity check of the comparison itself: known numbers from Linux's
    // tables.
    assert_eq!(crate_numbers("openat"), [Some(56), Some(56), Some(257), Some(56)]);
    assert_eq!(crate_numbers("renameat")[Arch::Riscv64.index()], None);
}

//! Cross-check of the spec's syscall numbers against the `syscalls` crate.
//!
//! The crate (0.8) has Linux's tables for the four architectures of [`ARCHES`], so a typo
//! in `nr`, a number for an architecture that lacks the call, or a missing
//! number fails the build, naming the entry and the field.

use std::str::FromStr;

use super::{ARCHES, Entry, SpecError, error};

/// Names that the crate's asm-generic tables spell differently: Linux's
/// asm-generic `unistd.h` calls number 79 `__NR3264_fstatat`, which 64-bit
/// architectures export as `newfstatat`.
const GENERIC_ALIASES: &[(&str, &str)] = &[("newfstatat", "fstatat")];

/// Calls that the spec leaves out on an architecture although the crate's
/// table lists them. The spec follows Linux 6.1, whose loongarch64 build
/// leaves out the asm-generic calls behind `__ARCH_WANT_RENAMEAT`,
/// `__ARCH_WANT_SET_GET_RLIMIT` and `__ARCH_WANT_NEW_STAT`; Linux 6.11
/// added `fstat` and `newfstatat` back.
const NEWER_THAN_SPEC: &[(&str, &str)] = &[
    ("renameat", "loongarch64"),
    ("getrlimit", "loongarch64"),
    ("setrlimit", "loongarch64"),
    ("fstat", "loongarch64"),
    ("newfstatat", "loongarch64"),
];

fn lookup<S: FromStr>(name: &str, id: impl Fn(S) -> i32) -> Option<u32> {
    let alias = GENERIC_ALIASES
        .iter()
        .find(|(spec, _)| *spec == name)
        .map(|(_, alias)| *alias);
    let sysno = S::from_str(name)
        .ok()
        .or_else(|| alias.and_then(|a| S::from_str(a).ok()))?;
    u32::try_from(id(sysno)).ok()
}

/// Number of `name` on each architecture, indexed like [`ARCHES`], from the
/// `syscalls` crate.
pub fn linux_numbers(name: &str) -> [Option<u32>; 4] {
    [
        lookup(name, |s: syscalls::aarch64::Sysno| s.id()),
        lookup(name, |s: syscalls::riscv64::Sysno| s.id()),
        lookup(name, |s: syscalls::x86_64::Sysno| s.id()),
        lookup(name, |s: syscalls::loongarch64::Sysno| s.id()),
    ]
}

/// Check every number of `entry` against Linux's tables.
pub fn check(entry: &Entry) -> Result<(), SpecError> {
    let linux = linux_numbers(&entry.name);
    for (slot, arch) in ARCHES.iter().enumerate() {
        let ours = entry.nr[slot];
        let theirs = linux[slot];
        let left_out = ours.is_none() && NEWER_THAN_SPEC.contains(&(entry.name.as_str(), *arch));
        if ours == theirs || left_out {
            continue;
        }
        let message = match (ours, theirs) {
            (Some(n), Some(expected)) => {
                format!("number {n} differs from Linux's {expected} (syscalls crate 0.8)")
            }
            (Some(n), None) => format!(
                "number {n} given, but Linux has no `{}` on {arch} (syscalls crate 0.8)",
                entry.name
            ),
            (None, Some(expected)) => format!(
                "missing: Linux numbers `{}` {expected} on {arch} (syscalls crate 0.8)",
                entry.name
            ),
            (None, None) => unreachable!("equal numbers were skipped"),
        };
        return Err(error(&entry.name, format!("nr.{arch}"), message));
    }
    Ok(())
}

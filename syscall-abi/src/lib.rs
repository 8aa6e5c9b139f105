//! Linux syscall ABI layer, generated from `spec/syscalls.toml`.
//!
//! The kernel implements the five family traits ([`FsSyscalls`],
//! [`MmSyscalls`], [`ProcessSyscalls`], [`TimeSyscalls`], [`MiscSyscalls`])
//! and [`SyscallContext`] on one handler type, and calls [`dispatch`] from
//! its trap entry. [`dispatch`] decodes the six raw arguments into typed
//! values, checks fds, validates user pointers, copies paths in and calls
//! the handler method named `sys_<name>`.

#![no_std]

extern crate alloc;

pub mod decode;
mod flags;
mod info;
pub mod stats;
mod structs;
pub mod trace;
mod types;
mod user;

pub use axerrno::LinuxError;
pub use flags::*;
pub use info::*;
pub use structs::*;
pub use trace::TraceClasses;
pub use types::*;
pub use user::*;

/// Result of a handler method: a value, or the errno to return negated.
pub type SysResult<T = ()> = Result<T, LinuxError>;

/// Access to the calling task's state that the generated checks need.
pub trait SyscallContext {
    /// The calling task's user memory.
    type Mem: UserMemory;

    fn mem(&self) -> &Self::Mem;

    /// Check that `fd` is an open file descriptor of the calling task:
    /// `Err(EBADF)` otherwise. Runs before any pointer argument is looked at.
    fn check_fd(&self, fd: i32) -> SysResult<()>;
}

abi_gen::generate_abi!("../spec/syscalls.toml");

#[cfg(target_arch = "aarch64")]
pub use aarch64::{ARCH, dispatch, format_call, info, syscall_name, trace_line};
#[cfg(not(any(
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "x86_64",
    target_arch = "loongarch64"
)))]
pub use aarch64::{ARCH, dispatch, format_call, info, syscall_name, trace_line};
#[cfg(target_arch = "loongarch64")]
pub use loongarch64::{ARCH, dispatch, format_call, info, syscall_name, trace_line};
#[cfg(target_arch = "riscv64")]
pub use riscv64::{ARCH, dispatch, format_call, info, syscall_name, trace_line};
#[cfg(target_arch = "x86_64")]
pub use x86_64::{ARCH, dispatch, format_call, info, syscall_name, trace_line};

/// Name of syscall number `nr` on architecture `arch`.
pub fn syscall_name_for(arch: Arch, nr: usize) -> Option<&'static str> {
    match arch {
        Arch::Aarch64 => aarch64::syscall_name(nr),
        Arch::Riscv64 => riscv64::syscall_name(nr),
        Arch::X86_64 => x86_64::syscall_name(nr),
        Arch::Loongarch64 => loongarch64::syscall_name(nr),
    }
}

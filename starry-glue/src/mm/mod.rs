//! Memory management: the user address space, user-memory access and the
//! memory syscalls.

pub mod aspace;
pub mod ops;
mod syscalls;

//! Memory management: the user address space and the memory syscalls.

pub mod aspace;

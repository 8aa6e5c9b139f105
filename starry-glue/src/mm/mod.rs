//! Memory management: the user address space, user-memory access and the
//! memory syscalls.

#[cfg(target_os = "none")]
pub mod aspace;
// Builds on the host too, for its unit tests.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
mod free_ranges;
#[cfg(target_os = "none")]
pub mod ops;
#[cfg(target_os = "none")]
mod shared_frames;
#[cfg(target_os = "none")]
mod syscalls;
#[cfg(target_os = "none")]
pub mod tlb;

//! Implements the Linux syscall handler traits that `syscall-abi` generates
//! on ArceOS components (axhal, axtask, axalloc) and `starry-vfs`.
//!
//! One module per syscall family: `fs` (the file-system layer's), `mm`,
//! `process`, `time` and `misc`. Besides the handlers, `process` contains the
//! process and thread types and the ELF loader, and `mm` the user address
//! space.

#![cfg_attr(not(test), no_std)]

#[macro_use]
extern crate log;

extern crate alloc;

#[cfg(target_os = "none")]
mod fs;
#[cfg(target_os = "none")]
mod handler;
#[cfg(target_os = "none")]
pub mod misc;
pub mod mm;
pub mod process;
#[cfg(target_os = "none")]
pub mod time;
#[cfg(target_os = "none")]
pub mod timer;
#[cfg(target_os = "none")]
pub mod trace;
#[cfg(target_os = "none")]
pub mod wait;

#[cfg(target_os = "none")]
pub use handler::{Handler, UserMem, handle_syscall};

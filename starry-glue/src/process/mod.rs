//! Processes and threads, the ELF loader and the initial stack.

pub mod stack;

#[cfg(target_os = "none")]
mod creds;
#[cfg(target_os = "none")]
pub mod cputime;
#[cfg(target_os = "none")]
pub mod loader;
#[cfg(target_os = "none")]
pub mod fork;
#[cfg(target_os = "none")]
mod futex;
#[cfg(target_os = "none")]
pub mod itimer;
#[cfg(target_os = "none")]
pub mod signal;
#[cfg(target_os = "none")]
mod state;
#[cfg(target_os = "none")]
mod syscalls;
#[cfg(target_os = "none")]
mod thread;

#[cfg(target_os = "none")]
pub use state::*;

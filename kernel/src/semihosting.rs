//! Semihosting file calls, for writing trace output to a host file.
//!
//! QEMU runs with `-semihosting-config enable=on,target=native`, so the
//! AArch64 semihosting trap (`hlt #0xf000`) reaches QEMU, which opens and
//! writes files on the host, relative to its working directory. Parameter
//! blocks are read through the kernel's page tables, so they may live on
//! the kernel stack or heap.

/// Semihosting operation numbers (Arm's semihosting specification).
const SYS_OPEN: u64 = 0x01;
const SYS_WRITE: u64 = 0x05;

/// The `SYS_OPEN` mode for `fopen(path, "wb")`.
const MODE_WRITE_BINARY: u64 = 5;

/// Runs semihosting operation `op` with the parameter block at `block`.
fn call(op: u64, block: &[u64]) -> i64 {
    let ret: i64;
    // SAFETY: the semihosting trap reads `block.len()` words at `block`,
    // which stay borrowed for the call, and the memory those words point to
    // (checked by each caller). QEMU returns the result in x0 and changes no
    // other register.
    unsafe {
        core::arch::asm!(
            "hlt #0xf000",
            inlateout("x0") op => ret,
            in("x1") block.as_ptr(),
            options(nostack),
        );
    }
    ret
}

/// An open host file.
#[derive(Debug)]
pub struct HostFile {
    handle: u64,
}

impl HostFile {
    /// Creates or truncates the host file at `path` for writing; `None` when
    /// QEMU cannot open it.
    pub fn create(path: &str) -> Option<Self> {
        // SYS_OPEN takes a NUL-terminated name and its length without the NUL.
        let mut name = alloc::vec::Vec::with_capacity(path.len() + 1);
        name.extend_from_slice(path.as_bytes());
        name.push(0);
        let block = [name.as_ptr() as u64, MODE_WRITE_BINARY, path.len() as u64];
        let handle = call(SYS_OPEN, &block);
        (handle >= 0).then_some(Self { handle: handle as u64 })
    }

    /// Writes all of `data`; returns `false` when QEMU wrote less.
    pub fn write_all(&self, data: &[u8]) -> bool {
        if data.is_empty() {
            return true;
        }
        let block = [self.handle, data.as_ptr() as u64, data.len() as u64];
        // SYS_WRITE returns the number of bytes not written.
        call(SYS_WRITE, &block) == 0
    }

}

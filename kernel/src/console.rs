//! The serial console (the PL011 UART through axhal): kernel messages and
//! the character device behind fds 0, 1 and 2, /dev/console and /dev/tty.
//!
//! Input is polled for now. All UART access stays in this module so that
//! interrupt-driven input can replace the polling here alone.

use core::fmt::{self, Write};

use kspin::SpinNoIrq;

/// Serializes console output so that lines of the kernel and of user
/// programs do not interleave mid-line.
static OUTPUT_LOCK: SpinNoIrq<()> = SpinNoIrq::new(());

/// Writes raw bytes to the console.
pub fn write_bytes(bytes: &[u8]) {
    let _guard = OUTPUT_LOCK.lock();
    axhal::console::write_bytes(bytes);
}

struct ConsoleWriter;

impl Write for ConsoleWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        axhal::console::write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Writes formatted text to the console.
pub fn write_fmt(args: fmt::Arguments) {
    let _guard = OUTPUT_LOCK.lock();
    let _ = ConsoleWriter.write_fmt(args);
}

/// Reads the bytes that are waiting in the UART without blocking, and
/// returns how many were read.
pub fn read_available(buf: &mut [u8]) -> usize {
    axhal::console::read_bytes(buf)
}

/// Writes formatted text without taking the output lock; for the panic
/// handler, which may run while the lock is held.
pub fn write_fmt_unlocked(args: fmt::Arguments) {
    let _ = ConsoleWriter.write_fmt(args);
}

/// The console as the character device behind /dev/console and /dev/tty.
pub struct ConsoleDevice;

impl starry_vfs::CharDevice for ConsoleDevice {
    fn read(&self, buf: &mut [u8]) -> starry_vfs::VfsResult<usize> {
        match read_available(buf) {
            0 => Err(starry_vfs::LinuxError::EAGAIN),
            n => Ok(n),
        }
    }

    fn write(&self, buf: &[u8]) -> starry_vfs::VfsResult<usize> {
        write_bytes(buf);
        Ok(buf.len())
    }

    fn is_tty(&self) -> bool {
        true
    }
}

//! The serial console (the PL011 UART through axhal): kernel messages and
//! the character device behind fds 0, 1 and 2, /dev/console and /dev/tty.
//!
//! Input arrives by the UART's receive interrupt into a buffer that reads
//! take from; reads also drain the UART, in case its interrupt was masked.
//! Ctrl-C (0x03) sends SIGINT to init instead of being read.
//!
//! NOTE: Ctrl-C always means SIGINT; the terminal modes (ISIG) that the fs
//! layer emulates are not consulted.

use alloc::collections::VecDeque;
use core::fmt::{self, Write};

use kspin::SpinNoIrq;
use starry_glue::process::signal;

/// Bytes received and not read yet; older bytes are kept when it is full.
static INPUT: SpinNoIrq<VecDeque<u8>> = SpinNoIrq::new(VecDeque::new());
/// The maximum number of bytes `INPUT` keeps.
const INPUT_CAPACITY: usize = 4096;
/// The byte of Ctrl-C (ETX).
const CTRL_C: u8 = 0x03;

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

/// Moves the bytes waiting in the UART into `INPUT`. The lock (which also
/// masks interrupts) is held from the UART read to the queue insert, so
/// that the interrupt handler cannot queue later bytes in between.
fn drain_uart() {
    let mut input = INPUT.lock();
    let mut chunk = [0u8; 64];
    loop {
        let n = axhal::console::read_bytes(&mut chunk);
        if n == 0 {
            return;
        }
        for &byte in &chunk[..n] {
            if byte == CTRL_C {
                signal::request_interrupt();
            } else if input.len() < INPUT_CAPACITY {
                input.push_back(byte);
            }
        }
    }
}

/// The UART's receive interrupt handler.
pub fn on_receive_interrupt() {
    drain_uart();
}

/// Reads the received bytes without blocking, and returns how many were
/// read.
pub fn read_available(buf: &mut [u8]) -> usize {
    drain_uart();
    let mut input = INPUT.lock();
    let n = buf.len().min(input.len());
    for (slot, byte) in buf.iter_mut().zip(input.drain(..n)) {
        *slot = byte;
    }
    n
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

//! The serial console (the PL011 UART through axhal): kernel messages and
//! the terminal behind fds 0, 1 and 2, /dev/console and /dev/tty.
//!
//! Input arrives by the UART's receive interrupt and goes through the line
//! discipline (`starry_vfs::tty`), which edits lines, echoes and turns VINTR
//! (Ctrl-C) and VQUIT (Ctrl-\) into SIGINT and SIGQUIT for every process
//! of the foreground process group. Reads also drain the UART, in case its
//! interrupt was masked. When the line discipline's input is full, the
//! console masks the UART interrupt and leaves bytes in the UART. QEMU then
//! stops reading its input, so no byte is dropped.

use core::{
    fmt::{self, Write},
    sync::atomic::{AtomicBool, AtomicI32, Ordering},
};

use kspin::SpinNoIrq;
use starry_glue::{
    UserMem, process,
    process::signal::{self, Restart},
};
use starry_vfs::{LinuxError, VfsResult};
use syscall_abi::{Termios, UserIn, UserOut, Winsize};

use starry_vfs::tty::{LineDiscipline, ReadOutcome};

/// The console's line discipline: its settings and the input not read yet.
static TTY: SpinNoIrq<LineDiscipline> = SpinNoIrq::new(LineDiscipline::new());
/// Set while the UART interrupt is masked because `TTY` is full.
static INPUT_PAUSED: AtomicBool = AtomicBool::new(false);
/// The foreground process group (TIOCGPGRP, TIOCSPGRP); init's at boot.
static FOREGROUND_GROUP: AtomicI32 = AtomicI32::new(1);
/// The session whose controlling terminal the console is: init's. NOTE:
/// no other session can acquire the console (TIOCSCTTY is not supported).
const CONSOLE_SESSION: u32 = 1;

/// Serializes console output so that lines of the kernel and of user
/// programs do not interleave mid-line.
static OUTPUT_LOCK: SpinNoIrq<()> = SpinNoIrq::new(());

// Terminal ioctl requests (asm-generic/ioctls.h).
const TCGETS: u32 = 0x5401;
const TCSETS: u32 = 0x5402;
const TCSETSW: u32 = 0x5403;
const TCSETSF: u32 = 0x5404;
const TCSBRK: u32 = 0x5409;
const TCFLSH: u32 = 0x540b;
const TIOCGPGRP: u32 = 0x540f;
const TIOCSPGRP: u32 = 0x5410;
const TIOCGWINSZ: u32 = 0x5413;
const TIOCSWINSZ: u32 = 0x5414;
const FIONREAD: u32 = 0x541b;
/// The signal of a window size change.
const SIGWINCH: u32 = 28;
/// TCFLSH arguments.
const TCIFLUSH: usize = 0;
const TCOFLUSH: usize = 1;
const TCIOFLUSH: usize = 2;

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

/// Writes formatted text without taking the output lock; for the panic
/// handler, which may run while the lock is held.
pub fn write_fmt_unlocked(args: fmt::Arguments) {
    let _ = ConsoleWriter.write_fmt(args);
}

/// Sets the window size that TIOCGWINSZ reports (from the boot arguments).
pub fn set_window_size(columns: u16, rows: u16) {
    TTY.lock().set_window_size(Winsize {
        ws_row: rows,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
}

/// Moves the bytes waiting in the UART through the line discipline while it
/// has room, then writes their echo. The lock (which also masks interrupts)
/// is held from the UART read until the echo is written, so that the
/// interrupt handler cannot take or echo later bytes in between.
fn drain_uart() {
    let mut tty = TTY.lock();
    let mut signals = [None; 2];
    let mut byte = [0u8; 1];
    while tty.can_receive() {
        if axhal::console::read_bytes(&mut byte) == 0 {
            break;
        }
        tty.note_input(axhal::time::monotonic_time_nanos());
        if let Some(signal) = tty.receive(byte[0]) {
            // Keep the first two distinct signals (SIGINT and SIGQUIT are
            // all the line discipline raises).
            if signals[0].is_none_or(|first| first == signal) {
                signals[0] = Some(signal);
            } else {
                signals[1] = Some(signal);
            }
        }
    }
    set_input_paused(!tty.can_receive());
    let echo = tty.take_echo();
    if !echo.is_empty() {
        write_bytes(&echo);
    }
    drop(tty);
    let group = FOREGROUND_GROUP.load(Ordering::Relaxed) as u32;
    for signal in signals.into_iter().flatten() {
        process::signal::request_group_signal(group, signal);
    }
}

/// Masks or unmasks the UART receive interrupt. While it is masked, the
/// UART's FIFO fills and QEMU stops reading its input.
fn set_input_paused(paused: bool) {
    if INPUT_PAUSED.swap(paused, Ordering::Relaxed) == paused {
        return;
    }
    if let Some(irq) = axhal::console::irq_num() {
        axhal::irq::set_enable(irq, !paused);
    }
}

/// The UART's receive interrupt handler.
pub fn on_receive_interrupt() {
    drain_uart();
}

/// Reads input through the line discipline; `EAGAIN` when a reader must
/// wait.
fn read_input(buf: &mut [u8]) -> VfsResult<usize> {
    drain_uart();
    let outcome = TTY.lock().read(buf);
    // The read may have made room for input the UART still holds.
    drain_uart();
    match outcome {
        ReadOutcome::Data(count) => Ok(count),
        ReadOutcome::WouldBlock => Err(LinuxError::EAGAIN),
    }
}

/// Reads input for a blocking read: waits until the line discipline's rules
/// (canonical lines, VMIN, VTIME) let the read return, or a signal comes.
fn read_input_blocking(buf: &mut [u8]) -> VfsResult<usize> {
    let started = axhal::time::monotonic_time_nanos();
    loop {
        drain_uart();
        let outcome = TTY.lock().read_blocking(buf, started, axhal::time::monotonic_time_nanos());
        drain_uart();
        if let ReadOutcome::Data(count) = outcome {
            return Ok(count);
        }
        if signal::has_pending_signal() {
            return Err(signal::interrupted(Restart::UnlessHandlerWithoutSaRestart));
        }
        starry_glue::wait::sleep_until_file_event(None);
    }
}

/// Returns the user memory of the calling process, for ioctl arguments.
fn caller_memory() -> UserMem {
    UserMem::new(process::current_thread().process.clone())
}

/// Runs a terminal ioctl on the console. The `TTY` lock is never held
/// while user memory is copied, because a copy may fault pages in.
fn terminal_ioctl(cmd: u32, arg: usize) -> VfsResult<usize> {
    let mem = caller_memory();
    match cmd {
        TCGETS => {
            let termios = TTY.lock().termios();
            UserOut::<Termios>::new(arg)?.write(&mem, &termios)?;
        }
        TCSETS | TCSETSW | TCSETSF => {
            // Output is written synchronously, so TCSETSW has nothing to
            // wait for.
            let termios = UserIn::<Termios>::new(arg)?.read(&mem)?;
            TTY.lock().set_termios(termios, cmd == TCSETSF);
            drain_uart();
        }
        TCSBRK => {}
        TCFLSH => match arg {
            TCIFLUSH | TCIOFLUSH => {
                TTY.lock().flush_input();
                drain_uart();
            }
            TCOFLUSH => {}
            _ => return Err(LinuxError::EINVAL),
        },
        TIOCGWINSZ => {
            let size = TTY.lock().window_size();
            UserOut::<Winsize>::new(arg)?.write(&mem, &size)?;
        }
        TIOCSWINSZ => {
            let size = UserIn::<Winsize>::new(arg)?.read(&mem)?;
            let changed = {
                let mut tty = TTY.lock();
                let old = tty.window_size();
                tty.set_window_size(size);
                old != size
            };
            // As on Linux, a new size sends SIGWINCH to the foreground group.
            if changed {
                let group = FOREGROUND_GROUP.load(Ordering::Relaxed) as u32;
                process::signal::request_group_signal(group, SIGWINCH);
            }
        }
        TIOCGPGRP => {
            let group = FOREGROUND_GROUP.load(Ordering::Relaxed);
            UserOut::<i32>::new(arg)?.write(&mem, &group)?;
        }
        TIOCSPGRP => {
            let group = UserIn::<i32>::new(arg)?.read(&mem)?;
            if group < 0 {
                return Err(LinuxError::EINVAL);
            }
            let caller_session = process::current_thread().process.sid();
            if caller_session != CONSOLE_SESSION {
                // As on Linux, the console is not the controlling terminal
                // of another session.
                return Err(LinuxError::ENOTTY);
            }
            let members = process::group_members(group as u32);
            let Some(member) = members.first() else {
                return Err(LinuxError::ESRCH);
            };
            if member.sid() != caller_session {
                return Err(LinuxError::EPERM);
            }
            FOREGROUND_GROUP.store(group, Ordering::Relaxed);
        }
        FIONREAD => {
            drain_uart();
            let available = TTY.lock().available();
            let count = i32::try_from(available).unwrap_or(i32::MAX);
            UserOut::<i32>::new(arg)?.write(&mem, &count)?;
        }
        _ => return Err(LinuxError::ENOTTY),
    }
    Ok(0)
}

/// The console as the character device behind /dev/console and /dev/tty.
pub struct ConsoleDevice;

impl starry_vfs::CharDevice for ConsoleDevice {
    fn read(&self, buf: &mut [u8]) -> VfsResult<usize> {
        read_input(buf)
    }

    fn read_blocking(&self, buf: &mut [u8]) -> VfsResult<usize> {
        read_input_blocking(buf)
    }

    fn write(&self, buf: &[u8]) -> VfsResult<usize> {
        write_bytes(buf);
        Ok(buf.len())
    }

    fn is_tty(&self) -> bool {
        true
    }

    fn ioctl(&self, cmd: u32, arg: usize) -> VfsResult<usize> {
        terminal_ioctl(cmd, arg)
    }

    fn poll(&self) -> starry_vfs::PollState {
        drain_uart();
        starry_vfs::PollState {
            readable: TTY.lock().is_readable(),
            writable: true,
            hangup: false,
        }
    }
}

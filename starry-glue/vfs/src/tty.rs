//! The terminal line discipline of the console, after Linux's n_tty.
//! It covers input translation (ICRNL, INLCR, IGNCR, ISTRIP) and
//! canonical-mode line editing (ICANON with VERASE, VKILL, VWERASE,
//! VREPRINT, VLNEXT, VEOF, VEOL). It also covers echo (ECHO, ECHOE, ECHOK,
//! ECHOKE, ECHONL, ECHOCTL), the signal characters (ISIG) and the VMIN and
//! VTIME rules of non-canonical reads.
//!
//! It holds no device: the console feeds it received bytes, writes out the
//! echo it collects and raises the signals it returns. It has no `unsafe`
//! and no kernel dependency, so its tests run on the host.
//!
//! Deviations from n_tty, each kept because a serial console needs it:
//! - Backspace (^H) erases like VERASE in canonical mode, because terminals
//!   send either DEL or ^H for the Backspace key.
//! - IXON's VSTART and VSTOP are dropped without stopping output.
//! - VSUSP is echoed and dropped: job control (SIGTSTP) is not supported.
//! - Output post-processing (OPOST, ONLCR) is not done here: the UART driver
//!   always turns "\n" into "\r\n".

use alloc::{collections::VecDeque, vec::Vec};

use syscall_abi::{NCCS, Termios, Winsize};

// c_iflag bits.
pub const ISTRIP: u32 = 0o40;
pub const INLCR: u32 = 0o100;
pub const IGNCR: u32 = 0o200;
pub const ICRNL: u32 = 0o400;
pub const IXON: u32 = 0o2000;
pub const IUTF8: u32 = 0o40000;
// c_oflag bits.
pub const OPOST: u32 = 0o1;
pub const ONLCR: u32 = 0o4;
// c_cflag bits: B38400, CS8, CREAD, HUPCL.
const B38400: u32 = 0o17;
const CS8: u32 = 0o60;
const CREAD: u32 = 0o200;
const HUPCL: u32 = 0o2000;
// c_lflag bits.
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const ECHO: u32 = 0o10;
pub const ECHOE: u32 = 0o20;
pub const ECHOK: u32 = 0o40;
pub const ECHONL: u32 = 0o100;
pub const NOFLSH: u32 = 0o200;
pub const ECHOCTL: u32 = 0o1000;
pub const ECHOKE: u32 = 0o4000;
pub const IEXTEN: u32 = 0o100000;

// Indices into c_cc.
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;

/// The signal numbers that control characters raise.
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;

const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7f;

/// The maximum length of a line in canonical mode: Linux's `N_TTY_BUF_SIZE`
/// minus one byte for the line terminator. Further characters are dropped.
pub const MAX_LINE: usize = 4095;
/// The number of bytes that wait for readers before the console stops taking
/// input from the UART (the UART and QEMU then hold the rest).
pub const INPUT_CAPACITY: usize = 64 * 1024;

/// Builds the termios of a serial console as Linux's `tty_std_termios` sets
/// it, plus IUTF8 so that VERASE removes a whole UTF-8 character. The flags
/// are ICRNL IXON IUTF8, OPOST ONLCR, B38400 CS8 CREAD HUPCL and ISIG ICANON
/// ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN, with the default control characters.
pub const fn default_termios() -> Termios {
    let mut control = [0u8; NCCS];
    let defaults: [u8; 17] = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
    let mut index = 0;
    while index < defaults.len() {
        control[index] = defaults[index];
        index += 1;
    }
    Termios {
        c_iflag: ICRNL | IXON | IUTF8,
        c_oflag: OPOST | ONLCR,
        c_cflag: B38400 | CS8 | CREAD | HUPCL,
        c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
        c_line: 0,
        c_cc: control,
    }
}

/// The result of a read from the line discipline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// `n` bytes were copied; 0 means end of file (VEOF on an empty line).
    Data(usize),
    /// Not enough input yet: the reader must wait.
    WouldBlock,
}

/// The input side of a terminal.
pub struct LineDiscipline {
    termios: Termios,
    winsize: Winsize,
    /// The line being edited in canonical mode.
    line: Vec<u8>,
    /// Bytes that readers may take.
    ready: VecDeque<u8>,
    /// In canonical mode, the length of each complete line in `ready`, in
    /// order; 0 is an end of file. Their sum is `ready.len()`.
    line_lengths: VecDeque<usize>,
    /// Set by VLNEXT: the next byte is taken literally.
    literal_next: bool,
    /// Echo output not written yet.
    echo: Vec<u8>,
    /// When the last input byte arrived, in nanoseconds of the caller's
    /// clock ([`LineDiscipline::note_input`]); VTIME's inter-byte timer.
    last_input_ns: u64,
}

/// One VTIME unit (a tenth of a second) in nanoseconds.
const VTIME_UNIT_NS: u64 = 100_000_000;

impl Default for LineDiscipline {
    fn default() -> Self {
        Self::new()
    }
}

impl LineDiscipline {
    /// Creates a line discipline with [`default_termios`] and an 80x24 window.
    pub const fn new() -> Self {
        Self {
            termios: default_termios(),
            winsize: Winsize {
                ws_row: 24,
                ws_col: 80,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
            line: Vec::new(),
            ready: VecDeque::new(),
            line_lengths: VecDeque::new(),
            literal_next: false,
            echo: Vec::new(),
            last_input_ns: 0,
        }
    }

    /// Records that input arrived at `now_ns`, for VTIME's inter-byte timer.
    pub fn note_input(&mut self, now_ns: u64) {
        self.last_input_ns = now_ns;
    }

    pub fn termios(&self) -> Termios {
        self.termios
    }

    /// Applies new settings (TCSETS); `flush_input` discards unread input
    /// first (TCSETSF). Leaving canonical mode makes the edited line
    /// readable, and entering it makes the unread bytes one line.
    pub fn set_termios(&mut self, termios: Termios, flush_input: bool) {
        if flush_input {
            self.flush_input();
        }
        let was_canonical = self.is_canonical();
        self.termios = termios;
        match (was_canonical, self.is_canonical()) {
            (true, false) => {
                self.ready.extend(self.line.drain(..));
                self.line_lengths.clear();
            }
            (false, true) => {
                self.line_lengths.clear();
                if !self.ready.is_empty() {
                    self.line_lengths.push_back(self.ready.len());
                }
            }
            _ => {}
        }
    }

    pub fn window_size(&self) -> Winsize {
        self.winsize
    }

    pub fn set_window_size(&mut self, size: Winsize) {
        self.winsize = size;
    }

    /// Discards the edited line and every unread byte.
    pub fn flush_input(&mut self) {
        self.line.clear();
        self.ready.clear();
        self.line_lengths.clear();
        self.literal_next = false;
    }

    /// Returns whether another received byte fits; when it does not, the
    /// console leaves input in the UART until a reader makes room.
    pub fn can_receive(&self) -> bool {
        self.ready.len() < INPUT_CAPACITY
    }

    /// Returns the number of bytes a read could take now (FIONREAD): the
    /// complete lines in canonical mode, every unread byte otherwise.
    pub fn available(&self) -> usize {
        self.ready.len()
    }

    /// Returns whether a read would return without waiting (poll's POLLIN).
    pub fn is_readable(&self) -> bool {
        if self.is_canonical() {
            !self.line_lengths.is_empty()
        } else {
            !self.ready.is_empty()
        }
    }

    /// Takes the echo output collected since the last call.
    pub fn take_echo(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.echo)
    }

    fn is_canonical(&self) -> bool {
        self.termios.c_lflag & ICANON != 0
    }

    fn lflag(&self, bit: u32) -> bool {
        self.termios.c_lflag & bit != 0
    }

    fn iflag(&self, bit: u32) -> bool {
        self.termios.c_iflag & bit != 0
    }

    /// Returns whether `byte` is the enabled control character `index`
    /// (a control character of 0 is disabled, as `_POSIX_VDISABLE`).
    fn is_control(&self, byte: u8, index: usize) -> bool {
        let control = self.termios.c_cc[index];
        control != 0 && control == byte
    }

    /// Processes one received byte and returns the signal it raises, if any.
    pub fn receive(&mut self, byte: u8) -> Option<u32> {
        let mut byte = byte;
        if self.iflag(ISTRIP) {
            byte &= 0x7f;
        }
        if self.literal_next {
            self.literal_next = false;
            // Removes the "^\b" that VLNEXT echoed.
            if self.lflag(ECHO) && self.lflag(ECHOCTL) {
                self.echo.extend_from_slice(b"\x08\x08");
            }
            self.insert(byte);
            return None;
        }
        if byte == b'\r' {
            if self.iflag(IGNCR) {
                return None;
            }
            if self.iflag(ICRNL) {
                byte = b'\n';
            }
        } else if byte == b'\n' && self.iflag(INLCR) {
            byte = b'\r';
        }
        if self.lflag(ISIG) {
            if self.is_control(byte, VINTR) {
                return self.signal_character(byte, Some(SIGINT));
            }
            if self.is_control(byte, VQUIT) {
                return self.signal_character(byte, Some(SIGQUIT));
            }
            if self.is_control(byte, VSUSP) {
                return self.signal_character(byte, None);
            }
        }
        if self.iflag(IXON) && (self.is_control(byte, VSTART) || self.is_control(byte, VSTOP)) {
            return None;
        }
        if self.is_canonical() {
            self.receive_canonical(byte);
        } else {
            self.echo_byte(byte);
            self.ready.push_back(byte);
        }
        None
    }

    /// Handles VINTR, VQUIT or VSUSP: flushes input unless NOFLSH, echoes
    /// the character and returns `signal`.
    fn signal_character(&mut self, byte: u8, signal: Option<u32>) -> Option<u32> {
        if !self.lflag(NOFLSH) {
            self.flush_input();
        }
        self.echo_byte(byte);
        signal
    }

    fn receive_canonical(&mut self, byte: u8) {
        let extended = self.lflag(IEXTEN);
        if self.is_control(byte, VERASE) || byte == BACKSPACE {
            self.erase_character();
        } else if self.is_control(byte, VKILL) {
            self.kill_line(byte);
        } else if extended && self.is_control(byte, VWERASE) {
            self.erase_word();
        } else if extended && self.is_control(byte, VREPRINT) {
            self.reprint_line(byte);
        } else if extended && self.is_control(byte, VLNEXT) {
            self.literal_next = true;
            if self.lflag(ECHO) && self.lflag(ECHOCTL) {
                self.echo.extend_from_slice(b"^\x08");
            }
        } else if self.is_control(byte, VEOF) {
            self.finish_line();
        } else if byte == b'\n' || self.is_control(byte, VEOL) || self.is_control(byte, VEOL2) {
            if self.lflag(ECHO) || (byte == b'\n' && self.lflag(ECHONL)) {
                self.echo.push(byte);
            }
            self.line.push(byte);
            self.finish_line();
        } else {
            self.insert(byte);
        }
    }

    /// Adds `byte` to the edited line (canonical mode) or to the unread
    /// input, and echoes it.
    fn insert(&mut self, byte: u8) {
        if !self.is_canonical() {
            self.echo_byte(byte);
            self.ready.push_back(byte);
            return;
        }
        if self.line.len() >= MAX_LINE {
            return;
        }
        self.echo_byte(byte);
        self.line.push(byte);
    }

    /// Moves the edited line to the unread input as one complete line.
    fn finish_line(&mut self) {
        self.line_lengths.push_back(self.line.len());
        self.ready.extend(self.line.drain(..));
    }

    /// Echoes `byte` when ECHO is set: control characters as `^X` under
    /// ECHOCTL, except tab and newline.
    fn echo_byte(&mut self, byte: u8) {
        if !self.lflag(ECHO) {
            return;
        }
        if self.lflag(ECHOCTL) && is_caret_echoed(byte) {
            self.echo.push(b'^');
            self.echo.push(byte ^ 0x40);
        } else {
            self.echo.push(byte);
        }
    }

    /// Removes the last character of the edited line (a whole UTF-8
    /// sequence under IUTF8) and, under ECHO and ECHOE, wipes it from the
    /// screen. Returns whether there was one.
    fn erase_character(&mut self) -> bool {
        let Some(last) = self.line.pop() else {
            return false;
        };
        if self.iflag(IUTF8) && is_utf8_continuation(last) {
            while let Some(&byte) = self.line.last() {
                self.line.pop();
                if !is_utf8_continuation(byte) {
                    break;
                }
            }
        }
        if self.lflag(ECHO) {
            if self.lflag(ECHOE) {
                // NOTE: a tab is wiped as one column, where n_tty moves back
                // to the column before the tab.
                let columns = if self.lflag(ECHOCTL) && is_caret_echoed(last) { 2 } else { 1 };
                for _ in 0..columns {
                    self.echo.extend_from_slice(b"\x08 \x08");
                }
            } else {
                self.echo_byte(self.termios.c_cc[VERASE]);
            }
        }
        true
    }

    /// Handles VKILL: discards the edited line, wiping it character by
    /// character under ECHOKE, or echoing the kill character and a newline
    /// under ECHOK.
    fn kill_line(&mut self, byte: u8) {
        if self.lflag(ECHO) && self.lflag(ECHOKE) && self.lflag(ECHOE) {
            while self.erase_character() {}
            return;
        }
        self.line.clear();
        if self.lflag(ECHO) {
            self.echo_byte(byte);
            if self.lflag(ECHOK) {
                self.echo.push(b'\n');
            }
        }
    }

    /// Handles VWERASE: erases the spaces before the cursor, then the word.
    fn erase_word(&mut self) {
        while self.line.last().is_some_and(|byte| byte.is_ascii_whitespace()) {
            self.erase_character();
        }
        while self.line.last().is_some_and(|byte| !byte.is_ascii_whitespace()) {
            self.erase_character();
        }
    }

    /// Handles VREPRINT: echoes the character, a newline and the line.
    fn reprint_line(&mut self, byte: u8) {
        if !self.lflag(ECHO) {
            return;
        }
        self.echo_byte(byte);
        self.echo.push(b'\n');
        let line = core::mem::take(&mut self.line);
        for &byte in &line {
            self.echo_byte(byte);
        }
        self.line = line;
    }

    /// Copies input into `buf` for a non-blocking read. In canonical mode a
    /// read returns at most one line. Otherwise it waits until
    /// `min(VMIN, buf.len())` bytes are there, so with VMIN 0 it returns
    /// what there is at once. With VMIN 0 and VTIME set, a read that finds
    /// nothing would block, as on Linux.
    pub fn read(&mut self, buf: &mut [u8]) -> ReadOutcome {
        if self.is_canonical() {
            return self.read_line(buf);
        }
        let minimum = usize::from(self.termios.c_cc[VMIN]).min(buf.len());
        let timed = self.termios.c_cc[VTIME] != 0;
        if self.ready.len() < minimum || (self.ready.is_empty() && timed) {
            return ReadOutcome::WouldBlock;
        }
        ReadOutcome::Data(self.take_ready(buf))
    }

    /// Copies input into `buf` for a blocking read that started at
    /// `started_ns`, at `now_ns` (the clock of [`Self::note_input`]). It
    /// adds VTIME, in tenths of a second, to the rules of [`Self::read`].
    /// With VMIN 0 it limits the wait for the first byte, after which the
    /// read returns 0. With VMIN above 0 it limits the gap after the last
    /// byte (or the start of the read), after which the read returns what
    /// arrived.
    pub fn read_blocking(&mut self, buf: &mut [u8], started_ns: u64, now_ns: u64) -> ReadOutcome {
        let vtime_ns = u64::from(self.termios.c_cc[VTIME]) * VTIME_UNIT_NS;
        if self.is_canonical() || vtime_ns == 0 {
            return self.read(buf);
        }
        let minimum = usize::from(self.termios.c_cc[VMIN]).min(buf.len());
        if self.ready.is_empty() {
            let expired = minimum == 0 && now_ns.saturating_sub(started_ns) >= vtime_ns;
            return if expired { ReadOutcome::Data(0) } else { ReadOutcome::WouldBlock };
        }
        let gap = now_ns.saturating_sub(self.last_input_ns.max(started_ns));
        if self.ready.len() >= minimum || gap >= vtime_ns {
            return ReadOutcome::Data(self.take_ready(buf));
        }
        ReadOutcome::WouldBlock
    }

    fn read_line(&mut self, buf: &mut [u8]) -> ReadOutcome {
        let Some(&length) = self.line_lengths.front() else {
            return ReadOutcome::WouldBlock;
        };
        if length == 0 {
            self.line_lengths.pop_front();
            return ReadOutcome::Data(0);
        }
        let wanted = buf.len().min(length);
        let count = self.take_ready(&mut buf[..wanted]);
        if count == length {
            self.line_lengths.pop_front();
        } else if let Some(front) = self.line_lengths.front_mut() {
            *front -= count;
        }
        ReadOutcome::Data(count)
    }

    fn take_ready(&mut self, buf: &mut [u8]) -> usize {
        let count = buf.len().min(self.ready.len());
        for (slot, byte) in buf.iter_mut().zip(self.ready.drain(..count)) {
            *slot = byte;
        }
        count
    }
}

/// Returns whether ECHOCTL shows `byte` as `^X`: the ASCII control
/// characters and DEL, except tab and newline.
fn is_caret_echoed(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t' && byte != b'\n') || byte == DELETE
}

fn is_utf8_continuation(byte: u8) -> bool {
    byte & 0xc0 == 0x80
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    fn feed(tty: &mut LineDiscipline, input: &[u8]) -> Vec<Option<u32>> {
        input.iter().map(|&byte| tty.receive(byte)).collect()
    }

    fn read_all(tty: &mut LineDiscipline) -> ReadOutcome {
        let mut buf = [0u8; 256];
        tty.read(&mut buf)
    }

    fn read_bytes(tty: &mut LineDiscipline, size: usize) -> Vec<u8> {
        let mut buf = vec![0u8; size];
        match tty.read(&mut buf) {
            ReadOutcome::Data(n) => buf[..n].to_vec(),
            ReadOutcome::WouldBlock => panic!("read would block"),
        }
    }

    #[test]
    fn canonical_line_waits_for_newline() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"abc");
        assert_eq!(read_all(&mut tty), ReadOutcome::WouldBlock);
        assert!(!tty.is_readable());
        feed(&mut tty, b"\r");
        assert!(tty.is_readable());
        assert_eq!(tty.available(), 4);
        assert_eq!(read_bytes(&mut tty, 64), b"abc\n");
        assert_eq!(tty.take_echo(), b"abc\n");
    }

    #[test]
    fn canonical_read_returns_one_line() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"one\ntwo\n");
        assert_eq!(read_bytes(&mut tty, 64), b"one\n");
        assert_eq!(read_bytes(&mut tty, 2), b"tw");
        assert_eq!(read_bytes(&mut tty, 64), b"o\n");
        assert_eq!(read_all(&mut tty), ReadOutcome::WouldBlock);
    }

    #[test]
    fn erase_removes_character_and_wipes_echo() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"prinx\x7f\x08t\r");
        assert_eq!(read_bytes(&mut tty, 64), b"prit\n");
        assert_eq!(tty.take_echo(), b"prinx\x08 \x08\x08 \x08t\n");
    }

    #[test]
    fn erase_on_empty_line_echoes_nothing() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"\x7f\x7f");
        assert!(tty.take_echo().is_empty());
    }

    #[test]
    fn erase_removes_whole_utf8_character() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, "aé".as_bytes());
        feed(&mut tty, b"\x7f\n");
        assert_eq!(read_bytes(&mut tty, 64), b"a\n");
    }

    #[test]
    fn erase_of_control_character_wipes_two_columns() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"\x01");
        assert_eq!(tty.take_echo(), b"^A");
        feed(&mut tty, b"\x7f");
        assert_eq!(tty.take_echo(), b"\x08 \x08\x08 \x08");
    }

    #[test]
    fn kill_erases_line() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"junk\x15ok\n");
        assert_eq!(read_bytes(&mut tty, 64), b"ok\n");
        let echo = tty.take_echo();
        assert_eq!(echo, b"junk\x08 \x08\x08 \x08\x08 \x08\x08 \x08ok\n");
    }

    #[test]
    fn word_erase_keeps_earlier_words() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"print(1) junk  \x17\n");
        assert_eq!(read_bytes(&mut tty, 64), b"print(1) \n");
    }

    #[test]
    fn eof_on_empty_line_reads_zero() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"\x04");
        assert_eq!(read_all(&mut tty), ReadOutcome::Data(0));
        assert_eq!(read_all(&mut tty), ReadOutcome::WouldBlock);
        assert!(tty.take_echo().is_empty());
    }

    #[test]
    fn eof_after_text_ends_line_without_newline() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"ab\x04\x04");
        assert_eq!(read_bytes(&mut tty, 64), b"ab");
        assert_eq!(read_all(&mut tty), ReadOutcome::Data(0));
    }

    #[test]
    fn interrupt_raises_sigint_and_flushes() {
        let mut tty = LineDiscipline::new();
        let signals = feed(&mut tty, b"1\n23\x03");
        assert_eq!(signals, [None, None, None, None, Some(SIGINT)]);
        assert_eq!(read_all(&mut tty), ReadOutcome::WouldBlock);
        assert_eq!(tty.take_echo(), b"1\n23^C");
    }

    #[test]
    fn quit_raises_sigquit_and_flushes() {
        let mut tty = LineDiscipline::new();
        let signals = feed(&mut tty, b"ab\x1c");
        assert_eq!(signals, [None, None, Some(SIGQUIT)]);
        assert_eq!(read_all(&mut tty), ReadOutcome::WouldBlock);
        assert_eq!(tty.take_echo(), b"ab^\\");
    }

    #[test]
    fn interrupt_is_plain_byte_without_isig() {
        let mut tty = LineDiscipline::new();
        let mut termios = tty.termios();
        termios.c_lflag &= !(ISIG | ICANON);
        tty.set_termios(termios, false);
        assert_eq!(feed(&mut tty, b"\x03"), [None]);
        assert_eq!(read_bytes(&mut tty, 8), b"\x03");
    }

    #[test]
    fn literal_next_inserts_control_character() {
        let mut tty = LineDiscipline::new();
        assert_eq!(feed(&mut tty, b"\x16\x03\n"), [None, None, None]);
        assert_eq!(read_bytes(&mut tty, 8), b"\x03\n");
    }

    #[test]
    fn cbreak_mode_returns_each_byte_without_echo() {
        let mut tty = LineDiscipline::new();
        let mut termios = tty.termios();
        termios.c_lflag &= !(ICANON | ECHO);
        termios.c_cc[VMIN] = 1;
        tty.set_termios(termios, false);
        assert_eq!(read_all(&mut tty), ReadOutcome::WouldBlock);
        feed(&mut tty, b"q");
        assert_eq!(read_bytes(&mut tty, 64), b"q");
        assert!(tty.take_echo().is_empty());
    }

    #[test]
    fn raw_mode_keeps_carriage_return_without_icrnl() {
        let mut tty = LineDiscipline::new();
        let mut termios = tty.termios();
        termios.c_lflag &= !(ICANON | ECHO | ISIG);
        termios.c_iflag &= !ICRNL;
        tty.set_termios(termios, false);
        feed(&mut tty, b"\r\x7f");
        assert_eq!(read_bytes(&mut tty, 64), b"\r\x7f");
    }

    #[test]
    fn vmin_zero_read_does_not_wait() {
        let mut tty = LineDiscipline::new();
        let mut termios = tty.termios();
        termios.c_lflag &= !ICANON;
        termios.c_cc[VMIN] = 0;
        tty.set_termios(termios, false);
        assert_eq!(read_all(&mut tty), ReadOutcome::Data(0));
    }

    #[test]
    fn vmin_waits_for_enough_bytes() {
        let mut tty = LineDiscipline::new();
        let mut termios = tty.termios();
        termios.c_lflag &= !ICANON;
        termios.c_cc[VMIN] = 3;
        tty.set_termios(termios, false);
        feed(&mut tty, b"ab");
        assert_eq!(read_all(&mut tty), ReadOutcome::WouldBlock);
        feed(&mut tty, b"c");
        assert_eq!(read_bytes(&mut tty, 64), b"abc");
    }

    fn set_vmin_vtime(tty: &mut LineDiscipline, vmin: u8, vtime: u8) {
        let mut termios = tty.termios();
        termios.c_lflag &= !ICANON;
        termios.c_cc[VMIN] = vmin;
        termios.c_cc[VTIME] = vtime;
        tty.set_termios(termios, false);
    }

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn vtime_limits_wait_for_first_byte() {
        let mut tty = LineDiscipline::new();
        set_vmin_vtime(&mut tty, 0, 5);
        let mut buf = [0u8; 8];
        assert_eq!(tty.read_blocking(&mut buf, SECOND, SECOND + SECOND / 4), ReadOutcome::WouldBlock);
        assert_eq!(tty.read_blocking(&mut buf, SECOND, SECOND + SECOND / 2), ReadOutcome::Data(0));
        // A non-blocking read finds nothing and would block, as on Linux.
        assert_eq!(tty.read(&mut buf), ReadOutcome::WouldBlock);
    }

    #[test]
    fn vtime_returns_first_byte_at_once() {
        let mut tty = LineDiscipline::new();
        set_vmin_vtime(&mut tty, 0, 5);
        feed(&mut tty, b"x");
        tty.note_input(SECOND + 1);
        let mut buf = [0u8; 8];
        assert_eq!(tty.read_blocking(&mut buf, SECOND, SECOND + 2), ReadOutcome::Data(1));
        assert_eq!(buf[0], b'x');
    }

    #[test]
    fn vtime_is_gap_after_last_byte() {
        let mut tty = LineDiscipline::new();
        set_vmin_vtime(&mut tty, 4, 2);
        let mut buf = [0u8; 8];
        // Without input the read waits for the first byte however long.
        assert_eq!(tty.read_blocking(&mut buf, 0, 10 * SECOND), ReadOutcome::WouldBlock);
        feed(&mut tty, b"ab");
        tty.note_input(10 * SECOND);
        let just_after = 10 * SECOND + SECOND / 10;
        assert_eq!(tty.read_blocking(&mut buf, 0, just_after), ReadOutcome::WouldBlock);
        let after_gap = 10 * SECOND + SECOND / 5;
        assert_eq!(tty.read_blocking(&mut buf, 0, after_gap), ReadOutcome::Data(2));
        assert_eq!(&buf[..2], b"ab");
    }

    #[test]
    fn vtime_returns_once_vmin_bytes_arrive() {
        let mut tty = LineDiscipline::new();
        set_vmin_vtime(&mut tty, 2, 50);
        feed(&mut tty, b"abc");
        tty.note_input(SECOND);
        let mut buf = [0u8; 8];
        assert_eq!(tty.read_blocking(&mut buf, SECOND, SECOND), ReadOutcome::Data(3));
    }

    #[test]
    fn leaving_canonical_mode_releases_edited_line() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"done\npart");
        let mut termios = tty.termios();
        termios.c_lflag &= !ICANON;
        tty.set_termios(termios, false);
        assert_eq!(read_bytes(&mut tty, 64), b"done\npart");
    }

    #[test]
    fn flush_on_set_discards_input() {
        let mut tty = LineDiscipline::new();
        feed(&mut tty, b"typed ahead\n");
        tty.set_termios(default_termios(), true);
        assert_eq!(tty.available(), 0);
        assert_eq!(read_all(&mut tty), ReadOutcome::WouldBlock);
    }

    #[test]
    fn echo_off_hides_input() {
        let mut tty = LineDiscipline::new();
        let mut termios = tty.termios();
        termios.c_lflag &= !ECHO;
        tty.set_termios(termios, false);
        feed(&mut tty, b"secret\n");
        assert!(tty.take_echo().is_empty());
        assert_eq!(read_bytes(&mut tty, 64), b"secret\n");
    }

    #[test]
    fn echonl_echoes_only_newline() {
        let mut tty = LineDiscipline::new();
        let mut termios = tty.termios();
        termios.c_lflag = (termios.c_lflag & !ECHO) | ECHONL;
        tty.set_termios(termios, false);
        feed(&mut tty, b"pw\n");
        assert_eq!(tty.take_echo(), b"\n");
    }

    #[test]
    fn overlong_line_drops_extra_characters() {
        let mut tty = LineDiscipline::new();
        for _ in 0..MAX_LINE + 100 {
            tty.receive(b'x');
        }
        tty.receive(b'\n');
        assert_eq!(tty.available(), MAX_LINE + 1);
        let mut buf = vec![0u8; 2 * MAX_LINE];
        assert_eq!(tty.read(&mut buf), ReadOutcome::Data(MAX_LINE + 1));
        assert_eq!(buf[MAX_LINE], b'\n');
    }

    #[test]
    fn full_input_stops_receiving() {
        let mut tty = LineDiscipline::new();
        let line = [b'y'; 1023];
        while tty.can_receive() {
            feed(&mut tty, &line);
            tty.receive(b'\n');
        }
        assert!(tty.available() >= INPUT_CAPACITY);
        let mut buf = [0u8; 1024];
        assert_eq!(tty.read(&mut buf), ReadOutcome::Data(1024));
        assert!(tty.can_receive());
    }

    #[test]
    fn window_size_defaults_and_changes() {
        let mut tty = LineDiscipline::new();
        assert_eq!((tty.window_size().ws_col, tty.window_size().ws_row), (80, 24));
        tty.set_window_size(Winsize { ws_row: 50, ws_col: 132, ws_xpixel: 0, ws_ypixel: 0 });
        assert_eq!((tty.window_size().ws_col, tty.window_size().ws_row), (132, 50));
    }
}

//! Line-buffered output to standard output, formatted with `core::fmt`.

use core::fmt;

use crate::sys;

pub struct Out {
    buf: [u8; 4096],
    len: usize,
}

impl Out {
    pub const fn new() -> Self {
        Out { buf: [0; 4096], len: 0 }
    }

    /// Writes the buffered bytes to fd 1.
    pub fn flush(&mut self) {
        sys::write_all(1, &self.buf[..self.len]);
        self.len = 0;
    }
}

impl fmt::Write for Out {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &byte in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = byte;
            self.len += 1;
            if byte == b'\n' {
                self.flush();
            }
        }
        Ok(())
    }
}

/// Prints one line to standard output.
#[macro_export]
macro_rules! outln {
    ($out:expr, $($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

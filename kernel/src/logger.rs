//! The kernel's `log` backend: one plain line per record on the console,
//! `[seconds.micros LEVEL target] message`.
//!
//! axlog 0.3.0-preview.3 colors its lines and writes the final color reset
//! after the newline, so the line after every log record started with an
//! escape sequence. These lines carry no escape sequences at all.

use log::{LevelFilter, Log, Metadata, Record};

struct ConsoleLogger;

impl Log for ConsoleLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let now = axhal::time::monotonic_time();
        crate::console::write_fmt(format_args!(
            "[{:>4}.{:06} {:<5} {}] {}\n",
            now.as_secs(),
            now.subsec_micros(),
            record.level(),
            record.target(),
            record.args()
        ));
    }

    fn flush(&self) {}
}

static LOGGER: ConsoleLogger = ConsoleLogger;

/// Installs the logger with `level` as the maximum level.
pub fn init(level: LevelFilter) {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}

/// Sets the maximum level from its name (off, error, warn, info, debug or
/// trace); `crate::bootargs` has checked the name.
pub fn set_level(name: &str) {
    let level = name.parse().unwrap_or(LevelFilter::Info);
    log::set_max_level(level);
}

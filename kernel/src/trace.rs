//! Syscall tracing from the command line, and where its output goes.
//!
//! Boot arguments (all optional; tracing stays off without `trace`):
//!
//! ```text
//! trace=lines,summary,counts  what to produce (any of the three)
//! trace-filter=<hex>          strace's -e trace= expression
//! trace-out=<hex>             host file for the output (semihosting)
//! ```
//!
//! `lines` writes one strace line per selected call, `summary` the
//! `strace -c` table and coverage lines when init exits, and `counts` one
//! machine-readable `@count` line per syscall (for `just trace --compare`).
//! Without `trace-out` the output goes to the console. With it, the output
//! goes to a host file through semihosting: the kernel buffers it and writes
//! it when the buffer fills and when init exits.

use alloc::{string::String, vec::Vec};

use kspin::SpinNoIrq;
use spin::Once;
use starry_glue::trace::TraceConfig;
use syscall_abi::trace::{filter, summary};

use crate::{power, semihosting::HostFile};

/// Bytes buffered before they go to the host file in one write.
const BUFFER_SIZE: usize = 64 * 1024;

/// The trace settings from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Settings {
    lines: bool,
    summary: bool,
    counts: bool,
    filter: Option<String>,
    output: Option<String>,
}

fn decode_hex(key: &str, value: &str) -> String {
    match hex::decode(value).ok().and_then(|bytes| String::from_utf8(bytes).ok()) {
        Some(text) => text,
        None => power::boot_failure(&alloc::format!(
            "invalid boot argument `{key}`: expected the hex encoding of UTF-8 text"
        )),
    }
}

fn parse(cmdline: &str) -> Settings {
    let mut settings = Settings::default();
    for item in cmdline.split_ascii_whitespace() {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        match key {
            "trace" => {
                for part in value.split(',') {
                    match part {
                        "lines" => settings.lines = true,
                        "summary" => settings.summary = true,
                        "counts" => settings.counts = true,
                        other => power::boot_failure(&alloc::format!(
                            "invalid boot argument `trace`: unknown item `{other}`; expected lines, summary or counts"
                        )),
                    }
                }
            }
            "trace-filter" => settings.filter = Some(decode_hex(key, value)),
            "trace-out" => settings.output = Some(decode_hex(key, value)),
            _ => {}
        }
    }
    settings
}

/// The destination of trace text.
enum Output {
    Console,
    Host { file: HostFile, buffer: Vec<u8> },
}

static OUTPUT: Once<SpinNoIrq<Output>> = Once::new();
static SETTINGS: Once<Settings> = Once::new();

fn write_to_output(text: &str) {
    let Some(output) = OUTPUT.get() else {
        return;
    };
    let mut output = output.lock();
    match &mut *output {
        Output::Console => crate::console::write_bytes(text.as_bytes()),
        Output::Host { file, buffer } => {
            buffer.extend_from_slice(text.as_bytes());
            if buffer.len() >= BUFFER_SIZE {
                if !file.write_all(buffer) {
                    warn!("writing {} bytes of trace output failed", buffer.len());
                }
                buffer.clear();
            }
        }
    }
}

/// Reads the trace settings from the command line and turns tracing on if
/// they ask for it. A bad setting or an output file QEMU cannot create is a
/// boot failure.
pub fn init(cmdline: &str) {
    let settings = parse(cmdline);
    if !(settings.lines || settings.summary || settings.counts) {
        return;
    }
    if let Some(expr) = &settings.filter
        && let Err(err) = filter::apply(expr)
    {
        power::boot_failure(&alloc::format!("{err}"));
    }
    let output = match &settings.output {
        None => Output::Console,
        Some(path) => match HostFile::create(path) {
            Some(file) => Output::Host {
                file,
                buffer: Vec::with_capacity(BUFFER_SIZE + 4096),
            },
            None => power::boot_failure(&alloc::format!(
                "cannot create the trace output file {path} on the host (semihosting SYS_OPEN failed)"
            )),
        },
    };
    OUTPUT.call_once(|| SpinNoIrq::new(output));
    let config = TraceConfig {
        lines: settings.lines,
        counts: settings.summary || settings.counts,
    };
    info!("syscall tracing on: {settings:?}");
    SETTINGS.call_once(|| settings);
    starry_glue::trace::configure(config, write_to_output);
}

/// Writes the summary and the counts if they were requested, then the rest
/// of the buffered output. Runs when init exits, before QEMU ends.
pub fn finish() {
    let Some(settings) = SETTINGS.get() else {
        return;
    };
    let rows = summary::collect(syscall_abi::ARCH);
    let mut text = String::new();
    if settings.summary {
        let _ = summary::write_table(&mut text, &rows);
        let _ = summary::write_coverage(&mut text, &rows);
    }
    if settings.counts {
        let _ = summary::write_counts(&mut text, &rows);
    }
    write_to_output(&text);

    let Some(output) = OUTPUT.get() else {
        return;
    };
    let mut output = output.lock();
    if let Output::Host { file, buffer } = &mut *output {
        if !file.write_all(buffer) {
            warn!("writing {} bytes of trace output failed", buffer.len());
        }
        buffer.clear();
    }
    // The host file stays open: QEMU closes it when it exits, right after.
}

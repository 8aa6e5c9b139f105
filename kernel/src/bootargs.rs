//! The kernel command line from `/chosen/bootargs`:
//! `init=<path> cwd=<dir> argv=<hex>,<hex>,... env=<hex>,... log=<level>`,
//! optionally with `cols=<n> rows=<n>`, the console's window size.
//! Each argv and env item is the hex encoding of its bytes, so spaces,
//! quotes and `$` survive the command line.

use alloc::{string::String, vec::Vec};
use core::fmt;

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootArgs {
    /// The program to run as init.
    pub init: String,
    /// init's working directory.
    pub cwd: String,
    /// init's arguments; argv[0] comes first.
    pub argv: Vec<Vec<u8>>,
    /// init's environment, `NAME=value` items.
    pub env: Vec<Vec<u8>>,
    /// The log level: off, error, warn, info, debug or trace.
    pub log: String,
    /// The console's window size in character cells.
    pub cols: u16,
    pub rows: u16,
}

/// The default init and log level when the command line leaves them out.
pub const DEFAULT_INIT: &str = "/opt/python3.11/bin/python3.11";
pub const DEFAULT_LOG: &str = "info";
/// The window size of a serial console when the command line gives none.
pub const DEFAULT_COLS: u16 = 80;
pub const DEFAULT_ROWS: u16 = 24;

/// A command-line item that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootArgsError {
    pub key: String,
    pub reason: &'static str,
}

impl fmt::Display for BootArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid boot argument `{}`: {}", self.key, self.reason)
    }
}

fn decode_list(key: &str, value: &str) -> Result<Vec<Vec<u8>>, BootArgsError> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|item| {
            hex::decode(item).map_err(|_| BootArgsError {
                key: String::from(key),
                reason: "an item is not an even number of hex digits",
            })
        })
        .collect()
}

/// Parses a window dimension: a whole number from 1 to 65535.
fn parse_dimension(key: &str, value: &str) -> Result<u16, BootArgsError> {
    match value.parse::<u16>() {
        Ok(size) if size > 0 => Ok(size),
        _ => Err(BootArgsError {
            key: String::from(key),
            reason: "expected a whole number from 1 to 65535",
        }),
    }
}

const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Parses the command line. Unknown `key=value` items and bare words are
/// ignored (QEMU or a boot loader may add their own).
pub fn parse(cmdline: &str) -> Result<BootArgs, BootArgsError> {
    let mut args = BootArgs {
        init: String::from(DEFAULT_INIT),
        cwd: String::from("/"),
        argv: Vec::new(),
        env: Vec::new(),
        log: String::from(DEFAULT_LOG),
        cols: DEFAULT_COLS,
        rows: DEFAULT_ROWS,
    };
    for item in cmdline.split_ascii_whitespace() {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        match key {
            "init" => args.init = String::from(value),
            "cwd" => args.cwd = String::from(value),
            "argv" => args.argv = decode_list(key, value)?,
            "env" => args.env = decode_list(key, value)?,
            "cols" => args.cols = parse_dimension(key, value)?,
            "rows" => args.rows = parse_dimension(key, value)?,
            "log" => {
                let level = value.to_ascii_lowercase();
                if !LOG_LEVELS.contains(&level.as_str()) {
                    return Err(BootArgsError {
                        key: String::from(key),
                        reason: "expected off, error, warn, info, debug or trace",
                    });
                }
                args.log = level;
            }
            _ => {}
        }
    }
    if !args.init.starts_with('/') {
        return Err(BootArgsError {
            key: String::from("init"),
            reason: "must be an absolute path",
        });
    }
    if args.argv.is_empty() {
        args.argv.push(args.init.clone().into_bytes());
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(s: &str) -> String {
        hex::encode(s.as_bytes())
    }

    #[test]
    fn parse_full_command_line() {
        let cmdline = alloc::format!(
            "init=/bin/prog cwd=/tmp argv={},{},{} env={} log=debug",
            hex_of("/bin/prog"),
            hex_of("-c"),
            hex_of("print('a b $HOME \"q\"')"),
            hex_of("HOME=/root"),
        );
        let args = parse(&cmdline).unwrap();
        assert_eq!(args.init, "/bin/prog");
        assert_eq!(args.cwd, "/tmp");
        assert_eq!(args.argv.len(), 3);
        assert_eq!(args.argv[2], b"print('a b $HOME \"q\"')");
        assert_eq!(args.env, [b"HOME=/root".to_vec()]);
        assert_eq!(args.log, "debug");
    }

    #[test]
    fn parse_defaults_when_empty() {
        let args = parse("").unwrap();
        assert_eq!(args.init, DEFAULT_INIT);
        assert_eq!(args.cwd, "/");
        assert_eq!(args.argv, [DEFAULT_INIT.as_bytes().to_vec()]);
        assert!(args.env.is_empty());
        assert_eq!(args.log, DEFAULT_LOG);
        assert_eq!((args.cols, args.rows), (DEFAULT_COLS, DEFAULT_ROWS));
    }

    #[test]
    fn parse_window_size() {
        let args = parse("cols=132 rows=50").unwrap();
        assert_eq!((args.cols, args.rows), (132, 50));
    }

    #[test]
    fn parse_rejects_bad_window_size() {
        assert_eq!(parse("cols=0").unwrap_err().key, "cols");
        assert_eq!(parse("rows=70000").unwrap_err().key, "rows");
        assert_eq!(parse("rows=-1").unwrap_err().key, "rows");
    }

    #[test]
    fn parse_keeps_empty_argument() {
        let cmdline = alloc::format!("argv={},", hex_of("prog"));
        let args = parse(&cmdline).unwrap();
        assert_eq!(args.argv, [b"prog".to_vec(), Vec::new()]);
    }

    #[test]
    fn parse_rejects_bad_hex() {
        let err = parse("argv=abc").unwrap_err();
        assert_eq!(err.key, "argv");
        assert!(parse("env=zz").is_err());
    }

    #[test]
    fn parse_rejects_bad_log_level() {
        assert_eq!(parse("log=loud").unwrap_err().key, "log");
    }

    #[test]
    fn parse_rejects_relative_init() {
        assert_eq!(parse("init=python").unwrap_err().key, "init");
    }

    #[test]
    fn parse_ignores_unknown_items() {
        let args = parse("console=ttyAMA0 quiet log=warn").unwrap();
        assert_eq!(args.log, "warn");
    }
}

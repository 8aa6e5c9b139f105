//! The `strace -c` table, the coverage lines under it and the per-errno
//! counts that `just trace --compare` reads.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use super::{CountSnapshot, filter, unknown_counts};
use crate::{Arch, Level, SYSCALLS};

/// One row of the table: a syscall with its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The spec name, or `syscall_<nr>` for a number without an entry.
    pub name: String,
    /// The number on the traced architecture, which orders equal times.
    pub nr: usize,
    pub counts: CountSnapshot,
    /// The entry's level; `None` for an unknown number.
    pub level: Option<Level>,
    /// Calls that reached the default (`ENOSYS`) method body.
    pub default_body_calls: u64,
}

/// Rows of every called syscall that the filter selects, numbers for `arch`.
pub fn collect(arch: Arch) -> Vec<Row> {
    let mut rows: Vec<Row> = SYSCALLS
        .iter()
        .filter(|info| info.counters.selected())
        .filter_map(|info| {
            let counts = info.counters.snapshot();
            (counts.calls > 0).then(|| Row {
                name: String::from(info.name),
                nr: info.number(arch).unwrap_or(usize::MAX),
                counts,
                level: Some(info.level),
                default_body_calls: info.enosys_count(),
            })
        })
        .collect();
    if filter::unknown_selected() {
        rows.extend(unknown_counts().into_iter().map(|(nr, counts)| Row {
            name: alloc::format!("syscall_{nr}"),
            nr,
            counts,
            level: None,
            default_body_calls: 0,
        }));
    }
    rows
}

const HEADER: &str = "% time     seconds  usecs/call     calls    errors syscall";
const RULE: &str = "------ ----------- ----------- --------- --------- ----------------";

fn write_row(
    out: &mut dyn Write,
    percent: f64,
    nanos: u64,
    calls: u64,
    errors: u64,
    name: &str,
) -> fmt::Result {
    let usecs_per_call = if calls == 0 { 0 } else { nanos / 1000 / calls };
    let seconds = nanos as f64 / 1e9;
    write!(out, "{percent:6.2} {seconds:11.6} {usecs_per_call:11} {calls:9} ")?;
    // strace leaves the errors column blank when there were none.
    if errors == 0 {
        write!(out, "{:9}", "")?;
    } else {
        write!(out, "{errors:9}")?;
    }
    writeln!(out, " {name}")
}

/// Write `rows` as `strace -c` does: sorted by time, most first (equal
/// times by number), then the total line.
pub fn write_table(out: &mut dyn Write, rows: &[Row]) -> fmt::Result {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| b.counts.nanos.cmp(&a.counts.nanos).then(a.nr.cmp(&b.nr)));
    let total_nanos: u64 = rows.iter().map(|r| r.counts.nanos).sum();
    let total_calls: u64 = rows.iter().map(|r| r.counts.calls).sum();
    let total_errors: u64 = rows.iter().map(|r| r.counts.errors).sum();

    writeln!(out, "{HEADER}")?;
    writeln!(out, "{RULE}")?;
    for row in sorted {
        let percent = if total_nanos == 0 {
            0.0
        } else {
            row.counts.nanos as f64 * 100.0 / total_nanos as f64
        };
        write_row(out, percent, row.counts.nanos, row.counts.calls, row.counts.errors, &row.name)?;
    }
    writeln!(out, "{RULE}")?;
    write_row(out, 100.0, total_nanos, total_calls, total_errors, "total")
}

/// Write the coverage lines under the table: how many of the called
/// syscalls and of the calls a handler served, which calls reached the
/// default `ENOSYS` body, which stub entries ran, and unknown numbers.
pub fn write_coverage(out: &mut dyn Write, rows: &[Row]) -> fmt::Result {
    let called = rows.len();
    let total_calls: u64 = rows.iter().map(|r| r.counts.calls).sum();
    // An unknown number is never served; an entry is served when at least
    // one call reached a handler method rather than the default body.
    let served = rows
        .iter()
        .filter(|r| r.level.is_some() && r.default_body_calls < r.counts.calls)
        .count();
    let unserved_calls: u64 = rows
        .iter()
        .map(|r| match r.level {
            None => r.counts.calls,
            Some(_) => r.default_body_calls.min(r.counts.calls),
        })
        .sum();
    let percent = |part: u64, whole: u64| {
        if whole == 0 {
            100.0
        } else {
            part as f64 * 100.0 / whole as f64
        }
    };
    writeln!(
        out,
        "coverage: {served} of {called} called syscalls served by a handler ({:.1}%), {} of {total_calls} calls ({:.2}%)",
        percent(served as u64, called as u64),
        total_calls - unserved_calls,
        percent(total_calls - unserved_calls, total_calls)
    )?;

    write!(out, "ENOSYS from the default method:")?;
    write_list(out, rows.iter().filter(|r| r.level.is_some() && r.default_body_calls > 0), |r| {
        r.default_body_calls
    })?;
    write!(out, "stub and partial entries called:")?;
    write_list(
        out,
        rows.iter().filter(|r| matches!(r.level, Some(Level::Stub | Level::Partial))),
        |r| r.counts.calls,
    )?;
    write!(out, "unknown numbers:")?;
    write_list(out, rows.iter().filter(|r| r.level.is_none()), |r| r.counts.calls)
}

/// Write ` name xN, name xN` and a newline, or ` none`.
fn write_list<'a>(
    out: &mut dyn Write,
    rows: impl Iterator<Item = &'a Row>,
    count: impl Fn(&Row) -> u64,
) -> fmt::Result {
    let mut any = false;
    for row in rows {
        out.write_str(if any { ", " } else { " " })?;
        any = true;
        write!(out, "{} x{}", row.name, count(row))?;
    }
    if !any {
        out.write_str(" none")?;
    }
    writeln!(out)
}

/// Prefix of the machine-readable count lines.
pub const COUNT_PREFIX: &str = "@count";

/// Write one line per row for tools: `@count NAME CALLS ERRORS NANOS
/// ERRNO=N ...`, errnos by name in the order they first happened.
pub fn write_counts(out: &mut dyn Write, rows: &[Row]) -> fmt::Result {
    for row in rows {
        write!(
            out,
            "{COUNT_PREFIX} {} {} {} {}",
            row.name, row.counts.calls, row.counts.errors, row.counts.nanos
        )?;
        for (errno, count) in &row.counts.errnos {
            write!(out, " {errno:?}={count}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

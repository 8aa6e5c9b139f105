//! strace's `-e trace=` expression: which syscalls a trace shows.
//!
//! The expression is a comma-separated list of syscall names, classes
//! (`%file` or `file`, from [`CLASS_NAMES`](super::CLASS_NAMES)), `all` and
//! `none`, optionally preceded by `trace=` and negated as a whole by a
//! leading `!`. Numbers without a spec entry are selected by `all` only.

use alloc::string::String;
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use super::{CLASS_NAMES, TraceClasses};
use crate::{SYSCALLS, SyscallInfo};

static UNKNOWN_SELECTED: AtomicBool = AtomicBool::new(true);

/// Whether the filter selects numbers that have no spec entry.
pub fn unknown_selected() -> bool {
    UNKNOWN_SELECTED.load(Ordering::Relaxed)
}

/// An expression item that names no syscall and no class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub item: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid trace filter item `{}`: not a syscall of the spec, a class (%file, %desc, %memory, %process, %signal, %network), `all` or `none`",
            self.item
        )
    }
}

/// The parsed expression: selected classes and names, `all`, negation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    negated: bool,
    all: bool,
    classes: TraceClasses,
    names: alloc::vec::Vec<&'static str>,
}

impl Filter {
    /// Parse `expr` against the spec entries `entries`.
    pub fn parse(expr: &str, entries: &[&'static SyscallInfo]) -> Result<Self, FilterError> {
        let mut filter = Filter::default();
        let mut items = expr.trim();
        items = items.strip_prefix("trace=").unwrap_or(items);
        if let Some(rest) = items.strip_prefix('!') {
            filter.negated = true;
            items = rest;
        }
        for item in items.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "all" => filter.all = true,
                "none" => {}
                _ => {
                    let class = item.strip_prefix('%').unwrap_or(item);
                    if let Some((_, bits)) = CLASS_NAMES.iter().find(|(name, _)| *name == class) {
                        filter.classes |= *bits;
                    } else if let Some(info) = entries.iter().find(|info| info.name == item) {
                        filter.names.push(info.name);
                    } else {
                        return Err(FilterError {
                            item: String::from(item),
                        });
                    }
                }
            }
        }
        Ok(filter)
    }

    /// Tell whether the filter selects `info`.
    pub fn selects(&self, info: &SyscallInfo) -> bool {
        let listed =
            self.all || info.classes.intersects(self.classes) || self.names.contains(&info.name);
        listed != self.negated
    }

    /// Tell whether the filter selects numbers without a spec entry.
    pub fn selects_unknown(&self) -> bool {
        self.all != self.negated
    }
}

/// Parse `expr` and mark every spec entry selected or not. Returns the
/// number of selected entries.
pub fn apply(expr: &str) -> Result<usize, FilterError> {
    let filter = Filter::parse(expr, &SYSCALLS)?;
    let mut selected = 0;
    for info in SYSCALLS.iter() {
        let on = filter.selects(info);
        info.counters.set_selected(on);
        selected += usize::from(on);
    }
    UNKNOWN_SELECTED.store(filter.selects_unknown(), Ordering::Relaxed);
    Ok(selected)
}

//! Parser and checker of `spec/syscalls.toml`.
//!
//! This module is shared by the proc macro and the `abi-gen` program, so it
//! uses neither `proc_macro` nor `syn`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;

// The `abi-gen` program includes this file by path, so the path is spelled
// out to resolve the same from both crates.
#[path = "spec_numbers.rs"]
mod numbers;

/// Architectures that a spec entry can give a number for, in table order.
pub const ARCHES: [&str; 4] = ["aarch64", "riscv64", "x86_64", "loongarch64"];

/// Families, in the order the traits and the docs list them.
pub const FAMILIES: [&str; 5] = ["fs", "mm", "process", "time", "misc"];

/// strace's `-e trace=` classes that an entry can belong to. `file`, `desc`
/// and `memory` are derived from the arguments and the family; the spec's
/// `class` field adds the others (and may repeat a derived one).
pub const TRACE_CLASSES: [&str; 6] = ["file", "desc", "memory", "process", "signal", "network"];

/// Maximum number of arguments a Linux system call takes.
pub const MAX_ARGS: usize = 6;

/// Errno names of Linux's asm-generic `errno-base.h` and `errno.h`, which are
/// the variants of `axerrno::LinuxError` 0.2. Aliases such as `EWOULDBLOCK`
/// are not variants, so the spec uses the primary name (`EAGAIN`).
pub const ERRNO_NAMES: &[&str] = &[
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EAGAIN",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EDEADLK",
    "ENAMETOOLONG",
    "ENOLCK",
    "ENOSYS",
    "ENOTEMPTY",
    "ELOOP",
    "ENOMSG",
    "EIDRM",
    "ECHRNG",
    "EL2NSYNC",
    "EL3HLT",
    "EL3RST",
    "ELNRNG",
    "EUNATCH",
    "ENOCSI",
    "EL2HLT",
    "EBADE",
    "EBADR",
    "EXFULL",
    "ENOANO",
    "EBADRQC",
    "EBADSLT",
    "EBFONT",
    "ENOSTR",
    "ENODATA",
    "ETIME",
    "ENOSR",
    "ENONET",
    "ENOPKG",
    "EREMOTE",
    "ENOLINK",
    "EADV",
    "ESRMNT",
    "ECOMM",
    "EPROTO",
    "EMULTIHOP",
    "EDOTDOT",
    "EBADMSG",
    "EOVERFLOW",
    "ENOTUNIQ",
    "EBADFD",
    "EREMCHG",
    "ELIBACC",
    "ELIBBAD",
    "ELIBSCN",
    "ELIBMAX",
    "ELIBEXEC",
    "EILSEQ",
    "ERESTART",
    "ESTRPIPE",
    "EUSERS",
    "ENOTSOCK",
    "EDESTADDRREQ",
    "EMSGSIZE",
    "EPROTOTYPE",
    "ENOPROTOOPT",
    "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT",
    "EOPNOTSUPP",
    "EPFNOSUPPORT",
    "EAFNOSUPPORT",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "ENETDOWN",
    "ENETUNREACH",
    "ENETRESET",
    "ECONNABORTED",
    "ECONNRESET",
    "ENOBUFS",
    "EISCONN",
    "ENOTCONN",
    "ESHUTDOWN",
    "ETOOMANYREFS",
    "ETIMEDOUT",
    "ECONNREFUSED",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "EALREADY",
    "EINPROGRESS",
    "ESTALE",
    "EUCLEAN",
    "ENOTNAM",
    "ENAVAIL",
    "EISNAM",
    "EREMOTEIO",
    "EDQUOT",
    "ENOMEDIUM",
    "EMEDIUMTYPE",
    "ECANCELED",
    "ENOKEY",
    "EKEYEXPIRED",
    "EKEYREVOKED",
    "EKEYREJECTED",
    "EOWNERDEAD",
    "ENOTRECOVERABLE",
    "ERFKILL",
    "EHWPOISON",
];

/// Rust keywords, which cannot name an argument or a syscall method.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Integer argument types: spec name and Rust type.
pub const INT_TYPES: &[(&str, &str)] = &[
    ("int", "i32"),
    ("uint", "u32"),
    ("i32", "i32"),
    ("u32", "u32"),
    ("i64", "i64"),
    ("u64", "u64"),
    ("usize", "usize"),
    ("isize", "isize"),
    ("off_t", "i64"),
    ("mode", "u32"),
    ("pid", "i32"),
    ("uid", "u32"),
    ("gid", "u32"),
    ("clockid", "i32"),
    ("signal", "i32"),
];

/// Primitive element types allowed in `of` without a `crate::` prefix.
pub const PRIMITIVES: &[&str] = &[
    "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "usize", "isize",
];

/// A spec error: the entry, the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// Syscall name, or `#N` (1-based) when the entry has no usable name.
    pub entry: String,
    /// Field path inside the entry, such as `args[1].len`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "spec entry `{}`, field `{}`: {}",
            self.entry, self.field, self.message
        )
    }
}

impl std::error::Error for SpecError {}

fn error(entry: &str, field: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError {
        entry: entry.to_string(),
        field: field.into(),
        message: message.into(),
    }
}

/// Entry as written in the TOML file, before checking.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    nr: BTreeMap<String, u32>,
    family: String,
    args: Vec<RawArg>,
    ret: String,
    errno: Vec<String>,
    level: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    class: Vec<String>,
}

/// Argument as written in the TOML file, before checking.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArg {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    flags: Option<String>,
    unknown: Option<String>,
    of: Option<String>,
    len: Option<String>,
    nullable: Option<bool>,
    max_len: Option<u64>,
    allow: Option<Vec<String>>,
}

/// The checked spec, entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub entries: Vec<Entry>,
}

impl Spec {
    /// Check every entry's numbers against Linux's tables in the `syscalls`
    /// crate. [`parse`] leaves this out so that its tests can use made-up
    /// entries.
    pub fn check_linux_numbers(&self) -> Result<(), SpecError> {
        self.entries.iter().try_for_each(numbers::check)
    }
}

/// One checked syscall entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// Number per architecture, indexed like [`ARCHES`].
    pub nr: [Option<u32>; 4],
    pub family: Family,
    pub args: Vec<Arg>,
    pub ret: Ret,
    pub errno: Vec<String>,
    pub level: Level,
    pub note: String,
    /// strace classes as a bit set indexed like [`TRACE_CLASSES`]: the
    /// derived ones and those the spec lists.
    pub classes: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Fs,
    Mm,
    Process,
    Time,
    Misc,
}

impl Family {
    pub const ALL: [Family; 5] = [
        Family::Fs,
        Family::Mm,
        Family::Process,
        Family::Time,
        Family::Misc,
    ];

    pub fn as_str(self) -> &'static str {
        FAMILIES[self as usize]
    }

    /// Name of the generated trait that contains this family's methods.
    pub fn trait_name(self) -> &'static str {
        match self {
            Family::Fs => "FsSyscalls",
            Family::Mm => "MmSyscalls",
            Family::Process => "ProcessSyscalls",
            Family::Time => "TimeSyscalls",
            Family::Misc => "MiscSyscalls",
        }
    }

    /// Variant name of `syscall_abi::Family`.
    pub fn variant(self) -> &'static str {
        match self {
            Family::Fs => "Fs",
            Family::Mm => "Mm",
            Family::Process => "Process",
            Family::Time => "Time",
            Family::Misc => "Misc",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Full,
    Partial,
    Stub,
    Unimplemented,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Full => "full",
            Level::Partial => "partial",
            Level::Stub => "stub",
            Level::Unimplemented => "unimplemented",
        }
    }

    pub fn variant(self) -> &'static str {
        match self {
            Level::Full => "Full",
            Level::Partial => "Partial",
            Level::Stub => "Stub",
            Level::Unimplemented => "Unimplemented",
        }
    }
}

/// Return kind of a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Fd,
    Size,
    Zero,
    Addr,
    Int,
    NoReturn,
}

impl Ret {
    pub fn as_str(self) -> &'static str {
        match self {
            Ret::Fd => "fd",
            Ret::Size => "size",
            Ret::Zero => "zero",
            Ret::Addr => "addr",
            Ret::Int => "int",
            Ret::NoReturn => "noreturn",
        }
    }

    /// Rust type inside `SysResult<..>` that the handler method returns.
    pub fn rust_type(self) -> &'static str {
        match self {
            Ret::Fd => "i32",
            Ret::Size => "usize",
            Ret::Zero => "()",
            Ret::Addr => "usize",
            Ret::Int => "isize",
            Ret::NoReturn => "Infallible",
        }
    }

    pub fn variant(self) -> &'static str {
        match self {
            Ret::Fd => "Fd",
            Ret::Size => "Size",
            Ret::Zero => "Zero",
            Ret::Addr => "Addr",
            Ret::Int => "Int",
            Ret::NoReturn => "NoReturn",
        }
    }
}

/// How a flags argument treats bits that its type does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// Drop unknown bits (`from_bits_truncate`).
    Ignore,
    /// Fail with `EINVAL` before any fd or pointer check.
    Einval,
    /// Pass unknown bits through to the handler (`from_bits_retain`).
    Keep,
}

impl Unknown {
    pub fn as_str(self) -> &'static str {
        match self {
            Unknown::Ignore => "ignore",
            Unknown::Einval => "einval",
            Unknown::Keep => "keep",
        }
    }
}

/// Direction of a user pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    In,
    Out,
    InOut,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::In => "in",
            Dir::Out => "out",
            Dir::InOut => "inout",
        }
    }

    fn type_stem(self) -> &'static str {
        match self {
            Dir::In => "UserIn",
            Dir::Out => "UserOut",
            Dir::InOut => "UserInOut",
        }
    }
}

/// Checked argument kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgKind {
    Fd,
    DirFd,
    MmapFd,
    /// Integer: spec name and Rust type.
    Int {
        spec: String,
        rust: String,
    },
    /// Bitflags type `ty`. With `allow`, only the named constants are valid
    /// and any other bit is `EINVAL`.
    Flags {
        ty: String,
        unknown: Unknown,
        allow: Option<Vec<String>>,
    },
    /// User pointer to one `of`, or to `len` elements of `of` when `len` is set.
    Ptr {
        dir: Dir,
        of: String,
        len: Option<usize>,
        max_len: Option<u64>,
        nullable: bool,
    },
    /// Array of `struct iovec` whose count is argument `len`.
    Iovec {
        len: usize,
        max_len: Option<u64>,
    },
    Path {
        nullable: bool,
    },
    CStr {
        nullable: bool,
    },
    CStrArray {
        nullable: bool,
    },
    Raw,
    Addr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub name: String,
    pub kind: ArgKind,
}

impl Arg {
    /// Spec form of the type, as the docs show it (`out u8[count]`).
    pub fn spec_type(&self, args: &[Arg]) -> String {
        let nullable = |n: bool| if n { " (nullable)" } else { "" };
        match &self.kind {
            ArgKind::Fd => "fd".into(),
            ArgKind::DirFd => "dirfd".into(),
            ArgKind::MmapFd => "mmap_fd".into(),
            ArgKind::Int { spec, .. } => spec.clone(),
            ArgKind::Flags {
                ty,
                allow: Some(allow),
                ..
            } => format!(
                "flags {ty} (allowed: {}; other bits: einval)",
                allow.join(", ")
            ),
            ArgKind::Flags { ty, unknown, .. } => {
                format!("flags {ty} (unknown bits: {})", unknown.as_str())
            }
            ArgKind::Ptr {
                dir,
                of,
                len,
                nullable: n,
                ..
            } => match len {
                Some(i) => format!("{} {of}[{}]{}", dir.as_str(), args[*i].name, nullable(*n)),
                None => format!("{} {of}{}", dir.as_str(), nullable(*n)),
            },
            ArgKind::Iovec { len, .. } => format!("iovec[{}]", args[*len].name),
            ArgKind::Path { nullable: n } => format!("path{}", nullable(*n)),
            ArgKind::CStr { nullable: n } => format!("cstr{}", nullable(*n)),
            ArgKind::CStrArray { nullable: n } => format!("cstr_array{}", nullable(*n)),
            ArgKind::Raw => "raw".into(),
            ArgKind::Addr => "addr".into(),
        }
    }

    /// Rust type that the handler method receives, written relative to the
    /// root of `syscall-abi`.
    pub fn rust_type(&self) -> String {
        let option = |n: bool, t: String| if n { format!("Option<{t}>") } else { t };
        match &self.kind {
            ArgKind::Fd => "Fd".into(),
            ArgKind::DirFd => "DirFd".into(),
            ArgKind::MmapFd => "MmapFd".into(),
            ArgKind::Int { rust, .. } => rust.clone(),
            ArgKind::Flags { ty, .. } => ty.clone(),
            ArgKind::Ptr {
                dir,
                of,
                len,
                nullable,
                ..
            } => {
                let ty = match (len, of.as_str()) {
                    (Some(_), "u8") => format!("{}Bytes", dir.type_stem()),
                    (Some(_), _) => format!("{}Slice<{of}>", dir.type_stem()),
                    (None, _) => format!("{}<{of}>", dir.type_stem()),
                };
                option(*nullable, ty)
            }
            ArgKind::Iovec { .. } => "Iovecs".into(),
            ArgKind::Path { nullable } => option(*nullable, "UserPath".into()),
            ArgKind::CStr { nullable } => option(*nullable, "UserCStr".into()),
            ArgKind::CStrArray { nullable } => option(*nullable, "UserCStrArray".into()),
            ArgKind::Raw | ArgKind::Addr => "usize".into(),
        }
    }
}

impl Entry {
    /// Signature of the handler method, as the docs and skeletons show it.
    pub fn method_signature(&self) -> String {
        let mut params = String::from("&mut self");
        for arg in &self.args {
            params.push_str(&format!(", {}: {}", arg.name, arg.rust_type()));
        }
        format!(
            "fn sys_{}({params}) -> SysResult<{}>",
            self.name,
            self.ret.rust_type()
        )
    }
}

/// Parse and check the spec text. The first error found is returned.
pub fn parse(text: &str) -> Result<Spec, SpecError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| error("(file)", "(syntax)", e.to_string()))?;
    for key in table.keys() {
        if key != "syscall" {
            return Err(error(
                "(file)",
                key.as_str(),
                "unknown top-level key: only `[[syscall]]` tables are allowed",
            ));
        }
    }
    let Some(list) = table.get("syscall") else {
        return Ok(Spec {
            entries: Vec::new(),
        });
    };
    let toml::Value::Array(items) = list else {
        return Err(error(
            "(file)",
            "syscall",
            "must be an array of `[[syscall]]` tables",
        ));
    };

    let mut entries = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let label = item
            .get("name")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{}", index + 1));
        let raw = RawEntry::deserialize(item.clone())
            .map_err(|e| error(&label, field_of_serde_error(&e.to_string()), e.to_string()))?;
        entries.push(check_entry(&label, raw)?);
    }
    check_uniqueness(&entries)?;
    Ok(Spec { entries })
}

/// Best-effort field name from a serde message such as "missing field `family`".
fn field_of_serde_error(message: &str) -> String {
    let mut parts = message.split('`');
    match (parts.next(), parts.next()) {
        (Some(_), Some(field)) => field.to_string(),
        _ => "(entry)".to_string(),
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !KEYWORDS.contains(&name)
}

/// Tell whether `name` is a type name that `of` and `flags` accept: a
/// primitive or an identifier in UpperCamelCase.
fn is_type_name(name: &str) -> bool {
    if PRIMITIVES.contains(&name) {
        return true;
    }
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Tell whether `name` is an UPPER_CASE constant name, as bitflags names
/// its flags.
fn is_constant_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn check_entry(label: &str, raw: RawEntry) -> Result<Entry, SpecError> {
    if !is_identifier(&raw.name) {
        return Err(error(
            label,
            "name",
            format!("`{}` is not a lowercase Rust identifier", raw.name),
        ));
    }

    let mut nr = [None; 4];
    for (arch, number) in &raw.nr {
        let Some(slot) = ARCHES.iter().position(|a| a == arch) else {
            return Err(error(
                label,
                format!("nr.{arch}"),
                format!(
                    "unknown architecture; expected one of {}",
                    ARCHES.join(", ")
                ),
            ));
        };
        nr[slot] = Some(*number);
    }
    if nr.iter().all(Option::is_none) {
        return Err(error(label, "nr", "no number for any architecture"));
    }

    let family = match FAMILIES.iter().position(|f| *f == raw.family) {
        Some(i) => Family::ALL[i],
        None => {
            return Err(error(
                label,
                "family",
                format!(
                    "unknown family `{}`; expected one of {}",
                    raw.family,
                    FAMILIES.join(", ")
                ),
            ));
        }
    };

    let ret = match raw.ret.as_str() {
        "fd" => Ret::Fd,
        "size" => Ret::Size,
        "zero" => Ret::Zero,
        "addr" => Ret::Addr,
        "int" => Ret::Int,
        "noreturn" => Ret::NoReturn,
        other => {
            return Err(error(
                label,
                "ret",
                format!(
                    "unknown return kind `{other}`; expected fd, size, zero, addr, int or noreturn"
                ),
            ));
        }
    };

    let level = match raw.level.as_str() {
        "full" => Level::Full,
        "partial" => Level::Partial,
        "stub" => Level::Stub,
        "unimplemented" => Level::Unimplemented,
        other => {
            return Err(error(
                label,
                "level",
                format!("unknown level `{other}`; expected full, partial, stub or unimplemented"),
            ));
        }
    };
    if matches!(level, Level::Partial | Level::Stub) && raw.note.trim().is_empty() {
        return Err(error(
            label,
            "note",
            format!("a `{}` entry must name its gaps in `note`", level.as_str()),
        ));
    }

    let mut seen_errno = BTreeSet::new();
    for (i, name) in raw.errno.iter().enumerate() {
        if !ERRNO_NAMES.contains(&name.as_str()) {
            return Err(error(
                label,
                format!("errno[{i}]"),
                format!(
                    "unknown errno name `{name}` (use the primary name, e.g. EAGAIN for EWOULDBLOCK)"
                ),
            ));
        }
        if !seen_errno.insert(name) {
            return Err(error(
                label,
                format!("errno[{i}]"),
                format!("`{name}` is listed twice"),
            ));
        }
    }

    let args = check_args(label, &raw.args)?;

    let mut classes = derived_classes(family, &args, ret);
    for (i, class) in raw.class.iter().enumerate() {
        let Some(bit) = TRACE_CLASSES.iter().position(|c| c == class) else {
            return Err(error(
                label,
                format!("class[{i}]"),
                format!(
                    "unknown trace class `{class}`; expected one of {}",
                    TRACE_CLASSES.join(", ")
                ),
            ));
        };
        classes |= 1 << bit;
    }

    Ok(Entry {
        name: raw.name,
        nr,
        family,
        args,
        ret,
        errno: raw.errno,
        level,
        note: raw.note.trim().to_string(),
        classes,
    })
}

/// Classes that follow from an entry's shape, as strace assigns them: `file`
/// for calls that take a path, `desc` for calls that take or return a file
/// descriptor, `memory` for the mm family.
fn derived_classes(family: Family, args: &[Arg], ret: Ret) -> u8 {
    let class_bit = |name: &str| {
        1u8 << TRACE_CLASSES
            .iter()
            .position(|c| *c == name)
            .expect("the class is listed in TRACE_CLASSES")
    };
    let mut classes = 0;
    if args.iter().any(|a| matches!(a.kind, ArgKind::Path { .. })) {
        classes |= class_bit("file");
    }
    let takes_fd = args
        .iter()
        .any(|a| matches!(a.kind, ArgKind::Fd | ArgKind::DirFd | ArgKind::MmapFd));
    if takes_fd || ret == Ret::Fd {
        classes |= class_bit("desc");
    }
    if family == Family::Mm {
        classes |= class_bit("memory");
    }
    classes
}

impl Entry {
    /// Names of the entry's trace classes, in [`TRACE_CLASSES`] order.
    pub fn class_names(&self) -> Vec<&'static str> {
        TRACE_CLASSES
            .iter()
            .enumerate()
            .filter(|(bit, _)| self.classes & (1 << bit) != 0)
            .map(|(_, name)| *name)
            .collect()
    }
}

fn check_args(label: &str, raw_args: &[RawArg]) -> Result<Vec<Arg>, SpecError> {
    if raw_args.len() > MAX_ARGS {
        return Err(error(
            label,
            "args",
            format!(
                "{} arguments; a syscall takes at most {MAX_ARGS}",
                raw_args.len()
            ),
        ));
    }
    let names: Vec<&str> = raw_args.iter().map(|a| a.name.as_str()).collect();
    let mut args = Vec::with_capacity(raw_args.len());
    for (i, raw) in raw_args.iter().enumerate() {
        let at = |field: &str| format!("args[{i}].{field}");
        if !is_identifier(&raw.name) {
            return Err(error(
                label,
                at("name"),
                format!(
                    "`{}` is not a lowercase Rust identifier that is not a keyword",
                    raw.name
                ),
            ));
        }
        if names[..i].contains(&raw.name.as_str()) {
            return Err(error(
                label,
                at("name"),
                format!("argument `{}` is named twice", raw.name),
            ));
        }
        let kind = check_arg_kind(label, i, raw, raw_args)?;
        args.push(Arg {
            name: raw.name.clone(),
            kind,
        });
    }
    Ok(args)
}

fn check_arg_kind(
    label: &str,
    i: usize,
    raw: &RawArg,
    raw_args: &[RawArg],
) -> Result<ArgKind, SpecError> {
    let at = |field: &str| format!("args[{i}].{field}");
    let ty = raw.ty.as_str();

    // Which optional fields each type accepts.
    let allowed: &[&str] = match ty {
        "flags" => &["flags", "unknown", "allow"],
        "in" | "out" | "inout" => &["of", "len", "nullable", "max_len"],
        "iovec" => &["len", "max_len"],
        "path" | "cstr" | "cstr_array" => &["nullable"],
        _ => &[],
    };
    let present = [
        ("flags", raw.flags.is_some()),
        ("unknown", raw.unknown.is_some()),
        ("of", raw.of.is_some()),
        ("len", raw.len.is_some()),
        ("nullable", raw.nullable.is_some()),
        ("max_len", raw.max_len.is_some()),
        ("allow", raw.allow.is_some()),
    ];
    for (field, is_set) in present {
        if is_set && !allowed.contains(&field) {
            return Err(error(
                label,
                at(field),
                format!("field `{field}` is not valid for type `{ty}`"),
            ));
        }
    }

    // Resolve `len` to the index of an integer argument.
    let len_index = |required: bool| -> Result<Option<usize>, SpecError> {
        let Some(len) = &raw.len else {
            if required {
                return Err(error(label, at("len"), format!("type `{ty}` needs `len`")));
            }
            return Ok(None);
        };
        let Some(j) = raw_args.iter().position(|a| &a.name == len) else {
            return Err(error(
                label,
                at("len"),
                format!("no argument named `{len}`"),
            ));
        };
        if !INT_TYPES.iter().any(|(name, _)| *name == raw_args[j].ty) {
            return Err(error(
                label,
                at("len"),
                format!(
                    "length argument `{len}` has type `{}`; it must be an integer type",
                    raw_args[j].ty
                ),
            ));
        }
        Ok(Some(j))
    };

    let nullable = raw.nullable.unwrap_or(false);
    let kind = match ty {
        "fd" => ArgKind::Fd,
        "dirfd" => ArgKind::DirFd,
        "mmap_fd" => ArgKind::MmapFd,
        "raw" => ArgKind::Raw,
        "addr" => ArgKind::Addr,
        "path" => ArgKind::Path { nullable },
        "cstr" => ArgKind::CStr { nullable },
        "cstr_array" => ArgKind::CStrArray { nullable },
        "flags" => {
            let Some(flags) = &raw.flags else {
                return Err(error(
                    label,
                    at("flags"),
                    "type `flags` needs `flags = \"TypeName\"`",
                ));
            };
            if !is_type_name(flags) {
                return Err(error(
                    label,
                    at("flags"),
                    format!("`{flags}` is not a type name"),
                ));
            }
            let unknown = match raw.unknown.as_deref() {
                Some("ignore") => Unknown::Ignore,
                Some("einval") => Unknown::Einval,
                Some("keep") => Unknown::Keep,
                Some(other) => {
                    return Err(error(
                        label,
                        at("unknown"),
                        format!("unknown value `{other}`; expected ignore, einval or keep"),
                    ));
                }
                None => {
                    return Err(error(
                        label,
                        at("unknown"),
                        "type `flags` needs `unknown` (ignore, einval or keep)",
                    ));
                }
            };
            if let Some(allow) = &raw.allow {
                if unknown != Unknown::Einval {
                    return Err(error(
                        label,
                        at("allow"),
                        "`allow` needs `unknown = \"einval\"`",
                    ));
                }
                for (k, constant) in allow.iter().enumerate() {
                    if !is_constant_name(constant) {
                        return Err(error(
                            label,
                            at(&format!("allow[{k}]")),
                            format!("`{constant}` is not an UPPER_CASE constant name"),
                        ));
                    }
                }
            }
            ArgKind::Flags {
                ty: flags.clone(),
                unknown,
                allow: raw.allow.clone(),
            }
        }
        "in" | "out" | "inout" => {
            let dir = match ty {
                "in" => Dir::In,
                "out" => Dir::Out,
                _ => Dir::InOut,
            };
            let len = len_index(false)?;
            let of = match (&raw.of, len) {
                (Some(of), _) => of.clone(),
                (None, Some(_)) => "u8".to_string(),
                (None, None) => {
                    return Err(error(
                        label,
                        at("of"),
                        "a pointer needs `of` (element type) or `len` (byte buffer)",
                    ));
                }
            };
            if !is_type_name(&of) {
                return Err(error(label, at("of"), format!("`{of}` is not a type name")));
            }
            if raw.max_len.is_some() && len.is_none() {
                return Err(error(label, at("max_len"), "`max_len` needs `len`"));
            }
            ArgKind::Ptr {
                dir,
                of,
                len,
                max_len: raw.max_len,
                nullable,
            }
        }
        "iovec" => ArgKind::Iovec {
            len: len_index(true)?.expect("len_index(true) returns Some or an error"),
            max_len: raw.max_len,
        },
        other => match INT_TYPES.iter().find(|(name, _)| *name == other) {
            Some((name, rust)) => ArgKind::Int {
                spec: name.to_string(),
                rust: rust.to_string(),
            },
            None => {
                return Err(error(
                    label,
                    at("type"),
                    format!(
                        "unknown type `{other}`; expected fd, dirfd, mmap_fd, flags, in, out, inout, iovec, path, cstr, cstr_array, raw, addr or an integer type ({})",
                        INT_TYPES
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        },
    };
    Ok(kind)
}

fn check_uniqueness(entries: &[Entry]) -> Result<(), SpecError> {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        if names.insert(&entry.name, i).is_some() {
            return Err(error(
                &entry.name,
                "name",
                "another entry has the same name",
            ));
        }
    }
    for (slot, arch) in ARCHES.iter().enumerate() {
        let mut numbers: BTreeMap<u32, &str> = BTreeMap::new();
        for entry in entries {
            let Some(number) = entry.nr[slot] else {
                continue;
            };
            if let Some(other) = numbers.insert(number, &entry.name) {
                return Err(error(
                    &entry.name,
                    format!("nr.{arch}"),
                    format!("number {number} is also used by `{other}`"),
                ));
            }
        }
    }
    Ok(())
}

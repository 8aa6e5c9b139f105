//! Generates the syscall table of the fuzzer from spec/syscalls.toml: for
//! each entry its aarch64 number, argument kinds, return kind and the
//! errno names the spec allows.

use std::{env, fmt::Write as _, fs, path::PathBuf};

use serde::Deserialize;

#[derive(Deserialize)]
struct Spec {
    syscall: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    nr: Numbers,
    #[serde(default)]
    args: Vec<Arg>,
    ret: String,
    #[serde(default)]
    errno: Vec<String>,
}

#[derive(Deserialize)]
struct Numbers {
    aarch64: Option<u32>,
}

#[derive(Deserialize)]
struct Arg {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    len: Option<String>,
    of: Option<String>,
    #[serde(default)]
    nullable: bool,
}

fn kind_variant(kind: &str) -> &'static str {
    match kind {
        "fd" => "Fd",
        "dirfd" => "DirFd",
        "mmap_fd" => "MmapFd",
        "int" | "uint" | "i32" | "u32" | "mode" | "pid" | "uid" | "gid" | "clockid"
        | "signal" => "Int32",
        "i64" | "u64" | "usize" | "isize" | "off_t" => "Int64",
        "flags" => "Flags",
        "in" => "In",
        "out" => "Out",
        "inout" => "InOut",
        "iovec" => "Iovec",
        "path" => "Path",
        "cstr" => "Cstr",
        "cstr_array" => "CstrArray",
        "raw" => "Raw",
        "addr" => "Addr",
        other => panic!("spec/syscalls.toml: unknown argument type {other:?}"),
    }
}

fn ret_variant(ret: &str) -> &'static str {
    match ret {
        "fd" => "Fd",
        "size" => "Size",
        "zero" => "Zero",
        "addr" => "Addr",
        "int" => "Int",
        "noreturn" => "NoReturn",
        other => panic!("spec/syscalls.toml: unknown return kind {other:?}"),
    }
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let spec_path = manifest.join("../spec/syscalls.toml");
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let text = fs::read_to_string(&spec_path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", spec_path.display()));
    let spec: Spec = toml::from_str(&text)
        .unwrap_or_else(|err| panic!("cannot parse {}: {err}", spec_path.display()));

    let mut out = String::from("pub const CALLS: &[Call] = &[\n");
    for entry in &spec.syscall {
        let Some(nr) = entry.nr.aarch64 else { continue };
        write!(out, "    Call {{ name: {:?}, nr: {nr}, ret: Ret::{}, args: &[", entry.name,
               ret_variant(&entry.ret)).unwrap();
        for arg in &entry.args {
            let len = match &arg.len {
                Some(name) => entry
                    .args
                    .iter()
                    .position(|other| &other.name == name)
                    .unwrap_or_else(|| panic!("{}: len = {name:?} names no argument", entry.name)),
                None => NO_LEN,
            };
            write!(out, "Arg {{ name: {:?}, kind: Kind::{}, len: {len}, of: {:?}, nullable: {} }}, ",
                   arg.name, kind_variant(&arg.kind), arg.of.as_deref().unwrap_or(""),
                   arg.nullable).unwrap();
        }
        out.push_str("], errno: &[");
        for name in &entry.errno {
            write!(out, "{name:?}, ").unwrap();
        }
        out.push_str("] },\n");
    }
    out.push_str("];\n");

    // Only the aarch64 Linux target is supported; the program has its own
    // entry point and no C runtime.
    println!("cargo:rustc-link-arg-bins=-static");
    println!("cargo:rustc-link-arg-bins=-no-pie");
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap()).join("spec_table.rs");
    fs::write(dest, out).unwrap();
}

/// Marks an argument without a length argument.
const NO_LEN: usize = 255;
